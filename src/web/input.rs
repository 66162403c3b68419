//! No NUL byte reaches a handler: PostgreSQL cannot store one in text, and no
//! field of ours has a use for it. [`refuse_nul`] answers `400` before any
//! handler runs when the path or query decodes to a NUL, or a form (`%00`),
//! JSON (`\u0000`) or any other body holds one.
//!
//! A body is read up to [`SCANNED_BODY_BYTES`] (the extractors' cap) and put
//! back; a longer one is passed on unread past that point, so the extractor
//! still answers it with `413`. That read has `GATEHOUSE_BODY_TIMEOUT`: a
//! body trickling in slower answers `408` (the request head's own deadline is
//! actix-web's client request timeout, `GATEHOUSE_REQUEST_TIMEOUT`).

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{Error, HttpMessage, ResponseError};
use futures_util::{Stream, StreamExt};

use crate::error::{AppError, PageError};

/// The body's deadline when the app state is missing (`GATEHOUSE_BODY_TIMEOUT`'s default).
const DEFAULT_BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The form and JSON extractors' cap (`web::routes`).
pub const SCANNED_BODY_BYTES: usize = 16 * 1024;

/// The catalogue key of the refusal.
const MESSAGE: &str = "error-nul";

/// Whether `bytes`, read as a urlencoded string, decodes to a NUL anywhere.
fn urlencoded_has_nul(bytes: &[u8]) -> bool {
    bytes.contains(&0)
        || url::form_urlencoded::parse(bytes).any(|(k, v)| k.contains('\0') || v.contains('\0'))
}

fn json_has_nul(v: &serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(json_has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || json_has_nul(v)),
        _ => false,
    }
}

/// A whole body: a raw 0 byte, or a NUL its content type decodes to. A JSON
/// body that does not parse is left to the extractor (it answers 400).
/// Public for the `bodies` fuzz target.
pub fn body_has_nul(content_type: &str, body: &[u8]) -> bool {
    if body.contains(&0) {
        return true;
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        return urlencoded_has_nul(body);
    }
    if content_type.contains("json") {
        return serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| json_has_nul(&v));
    }
    false
}

type BoxedStream = std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>;

/// Reads the body up to the cap. `Ok((bytes, None))`: all of it; `Ok((head,
/// Some(rest)))`: longer than the cap, `head` read and `rest` untouched.
async fn read_capped(mut payload: Payload) -> Result<(Bytes, Option<Payload>), PayloadError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        body.extend_from_slice(&chunk?);
        if body.len() > SCANNED_BODY_BYTES {
            return Ok((body.freeze(), Some(payload)));
        }
    }
    Ok((body.freeze(), None))
}

pub async fn refuse_nul(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let mut nul = percent_encoding::percent_decode_str(req.path()).any(|b| b == 0)
        || urlencoded_has_nul(req.query_string().as_bytes());
    let has_body = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !nul && has_body {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let deadline = req
            .app_data::<actix_web::web::Data<crate::AppState>>()
            .map_or(DEFAULT_BODY_TIMEOUT, |s| s.config.running.body_timeout);
        let Ok(read) = tokio::time::timeout(deadline, read_capped(req.take_payload())).await else {
            // A client trickling its body (slowloris) holds nothing longer.
            return Ok(refuse(req, AppError::RequestTimeout));
        };
        match read {
            Ok((body, None)) => {
                nul = body_has_nul(&content_type, &body);
                let stream: BoxedStream = Box::pin(futures_util::stream::once(async { Ok(body) }));
                req.set_payload(Payload::from(stream));
            }
            Ok((head, Some(rest))) => {
                // Too long to be accepted anyway: the extractor answers 413.
                let stream: BoxedStream =
                    Box::pin(futures_util::stream::once(async { Ok(head) }).chain(rest));
                req.set_payload(Payload::from(stream));
            }
            Err(e) => {
                let stream: BoxedStream = Box::pin(futures_util::stream::once(async { Err(e) }));
                req.set_payload(Payload::from(stream));
            }
        }
    }
    if nul {
        return Ok(refuse(
            req,
            AppError::BadRequest(crate::i18n::Msg::key(MESSAGE)),
        ));
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// The refusal `e` as JSON or as a page, answered here (not raised) so the
/// outer header middleware still runs.
fn refuse<B>(req: ServiceRequest, e: AppError) -> ServiceResponse<EitherBody<B>> {
    let api = super::is_api_path(&super::mount_of(req.request()), req.path());
    let res = if api {
        e.error_response()
    } else {
        PageError(e).error_response()
    };
    req.into_response(res).map_into_right_body()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_found_however_it_is_spelled() {
        assert!(urlencoded_has_nul(b"q=a%00b"));
        assert!(urlencoded_has_nul(b"a%00=1"));
        assert!(
            !urlencoded_has_nul(b"q=a%2500b"),
            "an encoded percent is not a NUL"
        );
        assert!(!urlencoded_has_nul(b"q=100%25"));
        let form = "application/x-www-form-urlencoded";
        assert!(body_has_nul(form, b"email=a%00%40x.org"));
        assert!(body_has_nul("text/plain", b"raw\0byte"));
        assert!(body_has_nul("application/json", br#"{"name":"a\u0000b"}"#));
        assert!(body_has_nul("application/json", br#"{"x":[{"\u0000":1}]}"#));
        assert!(!body_has_nul(
            "application/json",
            br#"{"name":"a\\u0000b"}"#
        ));
        assert!(!body_has_nul("application/json", b"{not json"));
    }
}

//! CSRF: a double-submit token bound to a random HttpOnly cookie by HMAC, plus an
//! Origin/Referer check. Every POST, PATCH, PUT and DELETE passes through
//! [`csrf_guard`]; the token comes from the `X-CSRF-Token` header or the
//! `csrf_token` form field.

use std::future::{Ready, ready};

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut, Data};
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::AppState;
use crate::error::{AppError, PageError};
use crate::session::PlainToken;

/// Form bodies larger than this are refused before they are parsed.
pub const MAX_FORM_BYTES: usize = 64 * 1024;
pub const HEADER: &str = "x-csrf-token";
pub const FIELD: &str = "csrf_token";

fn mac(key: &[u8], cookie_value: &str) -> Hmac<Sha256> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(cookie_value.as_bytes());
    m
}

pub fn token_for(key: &[u8], cookie_value: &str) -> String {
    URL_SAFE_NO_PAD.encode(mac(key, cookie_value).finalize().into_bytes())
}

/// Constant-time check of `token` against the cookie.
pub fn verify(key: &[u8], cookie_value: &str, token: &str) -> bool {
    match URL_SAFE_NO_PAD.decode(token.trim()) {
        Ok(bytes) => mac(key, cookie_value).verify_slice(&bytes).is_ok(),
        Err(_) => false,
    }
}

/// A CSRF cookie value minted during this request, set on its response.
#[derive(Clone)]
struct NewCsrfCookie(String);

/// Gives this browser a new CSRF cookie on this response, replacing any other
/// value: called when a session begins or ends, so a token planted or seen
/// before the change (an attacker's known value) no longer fits.
pub fn rotate(req: &HttpRequest) {
    req.extensions_mut()
        .insert(NewCsrfCookie(PlainToken::generate().expose()));
}

/// The token for this browser's forms and `GET /api/auth/csrf`. Mints the
/// cookie when the browser has none yet.
pub struct CsrfToken(pub String);

impl CsrfToken {
    pub fn of(req: &HttpRequest) -> Result<Self, AppError> {
        let state = req
            .app_data::<Data<AppState>>()
            .ok_or_else(|| AppError::Internal("app state missing".into()))?;
        let existing = req
            .cookie(&state.cookies.csrf_name)
            .map(|c| c.value().to_owned())
            .filter(|v| PlainToken::parse(v).is_some());
        let minted = req.extensions().get::<NewCsrfCookie>().map(|c| c.0.clone());
        let value = match existing.or(minted) {
            Some(v) => v,
            None => {
                let v = PlainToken::generate().expose();
                req.extensions_mut().insert(NewCsrfCookie(v.clone()));
                v
            }
        };
        Ok(CsrfToken(token_for(state.keys.csrf_key(), &value)))
    }
}

impl FromRequest for CsrfToken {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(CsrfToken::of(req))
    }
}

/// Whether `Origin` (or, without it, `Referer`) names this site: the configured
/// public origin or the host the request was addressed to. Absent both: allowed,
/// the token still decides.
fn origin_allowed(req: &ServiceRequest, public_origin: &str) -> bool {
    let header_str = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let claimed = match (header_str(header::ORIGIN), header_str(header::REFERER)) {
        (Some(origin), _) => origin.to_owned(),
        (None, Some(referer)) => match url::Url::parse(referer) {
            Ok(u) => u.origin().ascii_serialization(),
            Err(_) => return false,
        },
        (None, None) => return true,
    };
    if claimed == public_origin {
        return true;
    }
    let Ok(url) = url::Url::parse(&claimed) else {
        return false;
    };
    let authority = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => return false,
    };
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    host.is_some_and(|h| h.eq_ignore_ascii_case(&authority))
}

fn is_form(req: &ServiceRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
}

/// Reads the whole form body (up to the cap) and puts it back for the handler.
async fn token_from_form(req: &mut ServiceRequest) -> Result<Option<String>, AppError> {
    let mut payload = req.take_payload();
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|_| AppError::BadRequest(crate::i18n::Msg::key("error-body-unreadable")))?;
        if body.len() + chunk.len() > MAX_FORM_BYTES {
            return Err(AppError::PayloadTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    let body: Bytes = body.freeze();
    let token = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == FIELD)
        .map(|(_, v)| v.into_owned());
    let replay = body.clone();
    let stream: std::pin::Pin<
        Box<dyn futures_util::Stream<Item = Result<Bytes, actix_web::error::PayloadError>>>,
    > = Box::pin(futures_util::stream::once(async move { Ok(replay) }));
    req.set_payload(Payload::from(stream));
    Ok(token)
}

pub async fn csrf_guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let state = req
        .app_data::<Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::Internal("app state missing".into()))?;
    let safe = matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );
    if !safe {
        // A refused form gets a page; a refused script gets JSON.
        let refuse = |form: bool, e: AppError| -> Error {
            if form { PageError(e).into() } else { e.into() }
        };
        let form = is_form(&req);
        if !origin_allowed(&req, &state.public_origin) {
            return Err(refuse(form, AppError::Csrf));
        }
        let cookie = req
            .cookie(&state.cookies.csrf_name)
            .map(|c| c.value().to_owned());
        let header_token = req
            .headers()
            .get(HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let token = match header_token {
            Some(t) => Some(t),
            None if form => token_from_form(&mut req)
                .await
                .map_err(|e| refuse(form, e))?,
            None => None,
        };
        let valid = match (cookie, token) {
            // A page served before a secret rotation still posts.
            (Some(c), Some(t)) => state.keys.csrf_keys().any(|key| verify(key, &c, &t)),
            _ => false,
        };
        if !valid {
            return Err(refuse(form, AppError::Csrf));
        }
    }
    let mut res = next.call(req).await?;
    let minted = res.request().extensions().get::<NewCsrfCookie>().cloned();
    if let Some(NewCsrfCookie(value)) = minted {
        let cookie = state.cookies.csrf_cookie(value);
        if let Ok(v) = header::HeaderValue::from_str(&cookie.to_string()) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_bound_to_cookie_and_key() {
        let key = [7u8; 32];
        let t = token_for(&key, "cookie-a");
        assert!(verify(&key, "cookie-a", &t));
        assert!(!verify(&key, "cookie-b", &t));
        assert!(!verify(&[8u8; 32], "cookie-a", &t));
        assert!(!verify(&key, "cookie-a", ""));
        assert!(!verify(&key, "cookie-a", "%%%"));
    }
}

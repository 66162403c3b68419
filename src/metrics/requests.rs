//! The request middleware: each request is timed once, then counted in the
//! metrics and written to the access log (text or JSON, `LOG_FORMAT`), and
//! answered with its `X-Request-Id`. The log names the route pattern (JSON)
//! or the path without its query (text): never a query string, a cookie or a
//! token.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web::Data;
use prometheus::{Histogram, IntCounter};

use super::Recorded;
use crate::config::running::LogFormat;
use crate::{AppState, WithHeaders};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The route label of a request no route matched.
pub const UNMATCHED: &str = "unmatched";

/// Longest incoming `X-Request-Id` adopted.
const MAX_ID_LEN: usize = 64;

/// The `X-Request-Id` a proxy sent, when it is short and plain
/// (`[A-Za-z0-9._-]`, at most 64); otherwise a new one, 16 hex digits.
pub fn request_id(incoming: Option<&HeaderValue>) -> String {
    if let Some(v) = incoming
        && let Ok(s) = v.to_str()
        && (1..=MAX_ID_LEN).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return s.to_owned();
    }
    format!("{:016x}", rand::random::<u64>())
}

/// The method label: the standard ones, or `other` (a client may send any).
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Outermost: times the request, counts it, logs it, and adds `X-Request-Id`.
/// Everything it needs of the request is read before the request goes on
/// (routing needs the request unshared); a middleware's error keeps going out
/// as an error, with the id added to the response it becomes.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let id = request_id(req.headers().get(&REQUEST_ID));
    let (metrics, json) = match req.app_data::<Data<AppState>>() {
        Some(s) => (
            s.metrics.clone(),
            s.config.running.log_format == LogFormat::Json,
        ),
        None => (super::Metrics::off(), false),
    };
    let logging = log::log_enabled!(target: "gatehouse::access", log::Level::Info);
    let method = method_label(req.method());
    // Only what is needed: the route pattern costs a walk of the routes.
    let route = (metrics.is_on() || (logging && json)).then(|| req.match_pattern());
    let text = (logging && !json).then(|| format!("\"{} {}\"", req.method(), req.path()));
    let peer = logging.then(|| {
        crate::session::extract::client_ip(req.request())
            .map_or_else(|| "-".to_owned(), |ip| ip.to_string())
    });
    let answered = next.call(req).await;
    let took = started.elapsed();
    let id_value = HeaderValue::from_str(&id).ok();
    let (status, size, answered) = match answered {
        Ok(mut res) => {
            if let Some(v) = id_value {
                res.headers_mut().insert(REQUEST_ID, v);
            }
            let size = match res.response().body().size() {
                BodySize::Sized(n) => n.to_string(),
                _ => "-".into(),
            };
            (res.status().as_u16(), size, Ok(res))
        }
        Err(e) => {
            let status = e.as_response_error().status_code().as_u16();
            let add_id = move |headers: &mut HeaderMap| {
                if let Some(v) = &id_value {
                    headers.insert(REQUEST_ID, v.clone());
                }
            };
            (status, "-".into(), Err(WithHeaders(e, add_id).into()))
        }
    };
    let route = route.as_ref().map(|r| r.as_deref().unwrap_or(UNMATCHED));
    if let Some(route) = route {
        metrics.request(method, route, status, took);
    }
    if let Some(peer) = peer {
        let ms = took.as_secs_f64() * 1_000.0;
        if let Some(line) = text {
            // The path only: a query string may carry a setup token.
            log::info!(
                target: "gatehouse::access",
                "{peer} {line} {status} {size} {ms:.3}ms {id}"
            );
        } else {
            let route = route.unwrap_or(UNMATCHED);
            let duration_ms = (ms * 1_000.0).round() / 1_000.0;
            log::info!(
                target: "gatehouse::access",
                request_id = id.as_str(), method = method, route = route, status = status,
                duration_ms = duration_ms, peer = peer.as_str();
                "{method} {route} {status}"
            );
        }
    }
    answered
}

/// Around the provider callback: a sign-in through provider `{provider}`,
/// its result read from the answer (`ok` is the redirect onward; linking a
/// provider from Settings counts too). An unknown provider (404) is not
/// counted, so the label holds configured ids only.
pub async fn count_provider_sign_in(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let Some(metrics) = req
        .app_data::<Data<AppState>>()
        .map(|s| s.metrics.clone())
        .filter(|m| m.is_on())
    else {
        return next.call(req).await;
    };
    let provider = req.match_info().get("provider").map(str::to_owned);
    let answered = next.call(req).await;
    let status = match &answered {
        Ok(res) => res.status(),
        Err(e) => e.as_response_error().status_code(),
    };
    let result = match status.as_u16() {
        404 => return answered,
        300..=399 => "ok",
        400 => "failed",
        403 => "refused",
        409 => "conflict",
        502 => "provider_error",
        503 => "unavailable",
        _ => "error",
    };
    if let Some(provider) = provider {
        metrics.sign_in(&provider, result);
    }
    answered
}

static NEXT_REGISTRY: AtomicU64 = AtomicU64::new(1);

/// A registry's id for the per-thread cache below.
pub(super) fn next_registry_id() -> u64 {
    NEXT_REGISTRY.fetch_add(1, Ordering::Relaxed)
}

type Series = (IntCounter, Histogram);
/// (registry, method, status) → route → its series.
type SeriesCache = HashMap<(u64, &'static str, u16), HashMap<String, Series>>;

thread_local! {
    /// Each worker resolves a (registry, method, status, route) once and
    /// keeps the handles: no shared lock per request, only the counters'
    /// atomics, and no allocation once a route has been seen.
    static SERIES: RefCell<SeriesCache> =
        RefCell::new(HashMap::new());
}

pub(super) fn record(m: &Recorded, method: &'static str, route: &str, status: u16, took: Duration) {
    SERIES.with(|cache| {
        let mut cache = cache.borrow_mut();
        let routes = cache.entry((m.id, method, status)).or_default();
        if !routes.contains_key(route) {
            routes.insert(route.to_owned(), m.request_series(method, route, status));
        }
        if let Some((count, time)) = routes.get(route) {
            count.inc();
            time.observe(took.as_secs_f64());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_incoming_id_is_kept_and_anything_else_replaced() {
        let kept = HeaderValue::from_static("abc-123_X.9");
        assert_eq!(request_id(Some(&kept)), "abc-123_X.9");
        for bad in ["", "a b", "a;b", "x".repeat(65).as_str(), "é"] {
            let v = HeaderValue::from_bytes(bad.as_bytes()).unwrap();
            let id = request_id(Some(&v));
            assert_ne!(id, bad);
            assert_eq!(id.len(), 16, "{id}");
            assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        }
        assert_ne!(request_id(None), request_id(None));
    }
}

//! The headers every answer carries (`Cache-Control: no-store`, `nosniff`,
//! `X-Frame-Options`, `Referrer-Policy`, the pages' `Content-Security-Policy`),
//! also on errors raised by a middleware.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError};

use crate::AppState;

/// What every answer carries, unless the handler set the header itself (the
/// static assets' `Cache-Control`); and the `Content-Security-Policy`.
const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("cache-control", "no-store"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
];

/// The pages' policy. A form may post to this site only, and a form's
/// redirect may lead only to this site or to `form_targets` (the origins of
/// the providers' authorization endpoints: the provider buttons post to
/// `/api/auth/signin/…`, which answers `303` to the provider, and browsers
/// check `form-action` on that redirect too).
pub fn content_security_policy(form_targets: &[String]) -> HeaderValue {
    let mut form_action = String::from("'self'");
    for origin in form_targets {
        form_action.push(' ');
        form_action.push_str(origin);
    }
    HeaderValue::from_str(&format!(
        "default-src 'self'; img-src 'self' https: http: data:; frame-ancestors 'none'; \
         form-action {form_action}; base-uri 'none'"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(STRICT_CSP))
}

/// The policy with no provider origin (and where no app state is at hand).
const STRICT_CSP: &str = "default-src 'self'; img-src 'self' https: http: data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

fn add_security_headers(headers: &mut HeaderMap, csp: &HeaderValue) {
    for (name, value) in SECURITY_HEADERS {
        let name = HeaderName::from_static(name);
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    if !headers.contains_key(actix_web::http::header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            actix_web::http::header::CONTENT_SECURITY_POLICY,
            csp.clone(),
        );
    }
}

/// Outermost but for the log: every answer gets [`SECURITY_HEADERS`]. An error
/// raised by a middleware (CSRF, the body cap, the session store, a rate limit)
/// is an `Err` that skips the usual response path; it is wrapped so that the
/// response it becomes carries the headers too.
pub(crate) async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let csp = req
        .app_data::<actix_web::web::Data<AppState>>()
        .map(|s| s.csp.clone())
        .unwrap_or_else(|| HeaderValue::from_static(STRICT_CSP));
    match next.call(req).await {
        Ok(mut res) => {
            add_security_headers(res.headers_mut(), &csp);
            Ok(res)
        }
        Err(e) => {
            Err(WithHeaders(e, move |h: &mut HeaderMap| add_security_headers(h, &csp)).into())
        }
    }
}

/// A middleware's error, answered as it would be, with `add` applied to the
/// headers of the response it becomes.
pub(crate) struct WithHeaders<F: Fn(&mut HeaderMap)>(pub actix_web::Error, pub F);

impl<F: Fn(&mut HeaderMap)> std::fmt::Debug for WithHeaders<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.0, f)
    }
}

impl<F: Fn(&mut HeaderMap)> std::fmt::Display for WithHeaders<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

impl<F: Fn(&mut HeaderMap) + 'static> ResponseError for WithHeaders<F> {
    fn status_code(&self) -> actix_web::http::StatusCode {
        self.0.as_response_error().status_code()
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = self.0.error_response();
        (self.1)(res.headers_mut());
        res
    }
}

//! The reader's language for pages: the signed-in user's preference, else the
//! request's `Accept-Language`, else English ([`Lang::negotiate`]). Error
//! pages are built without the request (`ResponseError`), in English; one
//! middleware renders them again in the reader's language.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::ACCEPT_LANGUAGE;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, ResponseError};
use askama::Template;

use crate::error::{ErrorPage, PageError, RenderedErrorPage};
use crate::i18n::Lang;
use crate::session::callback::Lookup;
use crate::session::extract::SignedIn;

/// The `Accept-Language` header, if it is readable text.
pub fn accept_language(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
}

/// The language of a page for `viewer` (anonymous: `None`).
pub fn of(viewer: Option<&SignedIn>, req: &HttpRequest) -> Lang {
    Lang::negotiate(
        viewer.map(|s| s.user.language.as_str()),
        accept_language(req),
    )
}

/// The language of an error page: the user's preference when this request
/// has read its session already (no second query for an error), else
/// `Accept-Language`.
fn of_error(req: &HttpRequest) -> Lang {
    let preference = match req.extensions().get::<Lookup>() {
        Some(Lookup::Live(loaded)) => Some(loaded.user.language.clone()),
        _ => None,
    };
    Lang::negotiate(preference.as_deref(), accept_language(req))
}

/// Renders error pages (a handler's, or a middleware's such as the CSRF
/// guard's) again in the reader's language, keeping status and headers.
pub async fn localize_error_pages(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let http = req.request().clone();
    let res = match next.call(req).await {
        Ok(res) => res.map_into_boxed_body(),
        Err(e) => match e.as_error::<PageError>() {
            Some(page_error) => ServiceResponse::new(http.clone(), page_error.error_response()),
            None => return Err(e),
        },
    };
    let Some(RenderedErrorPage(message)) = res.response().extensions().get().cloned() else {
        return Ok(res);
    };
    let lang = of_error(&http);
    if lang == Lang::En {
        return Ok(res);
    }
    let page = ErrorPage::of(&message, res.status(), lang);
    let Ok(body) = page.render() else {
        return Ok(res);
    };
    Ok(res.map_body(|_, _| BoxBody::new(body)))
}

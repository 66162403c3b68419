//! The reader's language for pages: the signed-in user's preference, else the
//! request's `Accept-Language`, else English ([`Lang::negotiate`]). Error
//! pages are built without the request (`ResponseError`), in English; one
//! middleware renders them again in the reader's language.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::ACCEPT_LANGUAGE;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError};
use askama::Template;

use crate::error::{ErrorPage, PageError, RenderedErrorPage};
use crate::i18n::{Lang, Msg};
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
fn of_error(req: Option<&HttpRequest>, accept: Option<&str>) -> Lang {
    let preference = req.and_then(|r| match r.extensions().get::<Lookup>() {
        Some(Lookup::Live(loaded)) => Some(loaded.user.language.clone()),
        _ => None,
    });
    Lang::negotiate(preference.as_deref(), accept)
}

/// `response` with the error page of `message` in `lang` as its body.
fn rendered(response: HttpResponse, message: &Msg, lang: Lang) -> HttpResponse {
    match ErrorPage::of(message, response.status(), lang).render() {
        Ok(body) => response.set_body(BoxBody::new(body)),
        Err(_) => response,
    }
}

/// Renders error pages (a handler's, or a middleware's such as the CSRF
/// guard's) again in the reader's language, keeping status and headers.
pub async fn localize_error_pages(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // Not a clone of the request: inner middleware needs it unshared.
    let accept = accept_language(req.request()).map(str::to_owned);
    match next.call(req).await {
        Ok(res) => {
            let found = res
                .response()
                .extensions()
                .get::<RenderedErrorPage>()
                .cloned();
            let res = res.map_into_boxed_body();
            let Some(RenderedErrorPage(message)) = found else {
                return Ok(res);
            };
            let lang = of_error(Some(res.request()), accept.as_deref());
            if lang == Lang::En {
                return Ok(res);
            }
            let (http, response) = res.into_parts();
            Ok(ServiceResponse::new(
                http,
                rendered(response, &message, lang),
            ))
        }
        Err(e) => {
            let Some(page_error) = e.as_error::<PageError>() else {
                return Err(e);
            };
            let lang = of_error(None, accept.as_deref());
            if lang == Lang::En {
                return Err(e);
            }
            let response = rendered(page_error.error_response(), &page_error.0.msg(), lang);
            Err(InternalError::from_response(page_error.to_string(), response).into())
        }
    }
}

//! The reader's language for pages: the signed-in user's preference, else the
//! request's `Accept-Language`, else English ([`Lang::negotiate`]). Error
//! pages are built without the request (`ResponseError`), in English and at
//! the site root; one middleware renders them again in the reader's language
//! with the mount prefix in their links and in a redirect's `Location`.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{ACCEPT_LANGUAGE, HeaderValue, LOCATION};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError};
use askama::Template;

use crate::config::MountPath;
use crate::error::{ErrorPage, PageError, RenderedErrorPage, ToGatehouseForm};
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

/// `response` with the error page of `message` in `lang` as its body, its
/// links under `mount`.
fn rendered(response: HttpResponse, message: &Msg, lang: Lang, mount: &MountPath) -> HttpResponse {
    let mut page = ErrorPage::of(message, response.status(), lang);
    page.base = mount.as_str().to_owned();
    match page.render() {
        Ok(body) => response.set_body(BoxBody::new(body)),
        Err(_) => response,
    }
}

/// A `303` to `/signin` or `/reauth` gets the mount prefix in front.
fn under_mount(mut response: HttpResponse, mount: &MountPath) -> HttpResponse {
    if mount.is_root() || response.extensions().get::<ToGatehouseForm>().is_none() {
        return response;
    }
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(|at| mount.join(at));
    if let Some(value) = location.and_then(|at| HeaderValue::from_str(&at).ok()) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

/// Renders error pages (a handler's, or a middleware's such as the CSRF
/// guard's) again in the reader's language and under the mount prefix,
/// keeping status and headers.
pub async fn localize_error_pages(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // Not a clone of the request: inner middleware needs it unshared.
    let accept = accept_language(req.request()).map(str::to_owned);
    let mount = super::mount_of(req.request());
    match next.call(req).await {
        Ok(res) => {
            let found = res
                .response()
                .extensions()
                .get::<RenderedErrorPage>()
                .cloned();
            let (http, response) = res.map_into_boxed_body().into_parts();
            let response = under_mount(response, &mount);
            let Some(RenderedErrorPage(message)) = found else {
                return Ok(ServiceResponse::new(http, response));
            };
            let lang = of_error(Some(&http), accept.as_deref());
            if lang == Lang::En && mount.is_root() {
                return Ok(ServiceResponse::new(http, response));
            }
            Ok(ServiceResponse::new(
                http,
                rendered(response, &message, lang, &mount),
            ))
        }
        Err(e) => {
            let Some(page_error) = e.as_error::<PageError>() else {
                return Err(e);
            };
            let lang = of_error(None, accept.as_deref());
            if lang == Lang::En && mount.is_root() {
                return Err(e);
            }
            let response = page_error.error_response();
            let page = response.extensions().get::<RenderedErrorPage>().is_some();
            let response = under_mount(response, &mount);
            let response = match page {
                true => rendered(response, &page_error.0.msg(), lang, &mount),
                false => response,
            };
            Err(InternalError::from_response(page_error.to_string(), response).into())
        }
    }
}

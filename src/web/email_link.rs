//! Sign-in by link: the request (page and JSON), the page a link opens (one
//! button, nothing spent: mail scanners prefetch links), and the button's POST
//! that signs in. The work is in `crate::email::signin_link`.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::email::{MailSentPage, refuse_impersonation, send_counted};
use super::form_error::{FieldError as _, FormError};
use super::{Head, callback, render, render_with_retry};
use crate::AppState;
use crate::auth::csrf::CsrfToken;
use crate::auth::gate::Refusal;
use crate::email::signin_link::{self, NotSignedIn};
use crate::error::{AppError, PageError};
use crate::session::PlainToken;
use crate::session::extract::{MaybeUser, PageViewer, device_of};

/// `/signin/email`: the request form (again, with its error), the button a
/// live link opens, or the page of a dead link.
#[derive(Template)]
#[template(path = "signin_email.html")]
struct LinkPage {
    head: Head,
    /// A live link: the page shows the one button that spends it.
    token: Option<String>,
    /// The link is unknown, used or expired.
    dead: bool,
    email: String,
    callback: String,
    error: Option<FormError>,
}

impl LinkPage {
    fn form(head: Head, email: String, callback: String, error: Option<FormError>) -> Self {
        LinkPage {
            head,
            token: None,
            dead: false,
            email,
            callback,
            error,
        }
    }
}

fn dead_link_page(head: Head) -> Result<HttpResponse, PageError> {
    render(
        StatusCode::BAD_REQUEST,
        &LinkPage {
            dead: true,
            ..LinkPage::form(head, String::new(), "/".into(), None)
        },
    )
}

/// A link request for `raw` (as typed): `Ok` whether or not it has an account.
async fn request_link(
    state: &AppState,
    req: &HttpRequest,
    raw: &str,
    callback: String,
) -> Result<(), AppError> {
    let address = crate::users::normalize_email(raw).map_err(|m| AppError::invalid("email", m))?;
    send_counted(
        state,
        address,
        device_of(req),
        move |conn, site, address, device| {
            signin_link::request(conn, site, address, &callback, device)
        },
    )
    .await
}

/// A sign-in link whose token is live now, or `None`.
async fn live_token(state: &AppState, raw: &str) -> Result<Option<PlainToken>, AppError> {
    let Some(token) = PlainToken::parse(raw) else {
        return Ok(None);
    };
    state
        .db
        .run(move |conn| Ok(signin_link::is_live(conn, &token)?.then_some(token)))
        .await
}

#[derive(Deserialize)]
pub struct LinkQuery {
    #[serde(default)]
    token: String,
    #[serde(rename = "callbackUrl")]
    callback_url: Option<String>,
}

/// `GET /signin/email?token=…&callbackUrl=…`: the page with the button, after
/// a look at the token; nothing is spent or changed here.
pub async fn link_page(
    req: HttpRequest,
    viewer: PageViewer,
    csrf: CsrfToken,
    query: web::Query<LinkQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let head = Head::new(viewer.0.as_ref(), Some(csrf.0), &req);
    if live_token(&state, &query.token).await?.is_none() {
        return dead_link_page(head);
    }
    let callback = callback::sanitize(query.callback_url.as_deref(), &state.config.public_url);
    render(
        StatusCode::OK,
        &LinkPage {
            token: Some(query.token.clone()),
            ..LinkPage::form(head, String::new(), callback, None)
        },
    )
}

#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    email: String,
    /// Present on the button's POST: spend this link.
    token: Option<String>,
    #[serde(rename = "callbackUrl")]
    callback_url: Option<String>,
}

/// `POST /signin/email`: with `token`, signs in (`303` to the callback); with
/// `email`, mails a link and answers the same page for any well-formed
/// address.
pub async fn submit(
    req: HttpRequest,
    viewer: PageViewer,
    csrf: CsrfToken,
    session: Session,
    form: web::Form<LinkForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let callback = callback::sanitize(form.callback_url.as_deref(), &state.config.public_url);
    let head = Head::new(viewer.0.as_ref(), Some(csrf.0), &req);
    refuse_impersonation(&req, viewer.0.as_ref(), "signin_email").await?;
    if let Some(token) = form.token {
        let outcome = spend(&state, &req, &token, &callback).await;
        state.metrics.sign_in("email", metric_result(&outcome));
        return match outcome? {
            Ok(done) => Ok(super::two_factor_signin::proceed(
                &state, &session, done.begun, &callback,
            )?),
            Err(NotSignedIn::DeadLink) => dead_link_page(head),
            Err(NotSignedIn::Refused(refusal)) => {
                let e = AppError::Refused(refusal);
                render_with_retry(
                    &e,
                    &LinkPage::form(head, String::new(), callback, Some(FormError::of(&e))),
                )
            }
        };
    }
    match request_link(&state, &req, &form.email, callback.clone()).await {
        Ok(()) => render(
            StatusCode::OK,
            &MailSentPage {
                head,
                message: "mail-sent-signin-link",
            },
        ),
        Err(e @ (AppError::Invalid { .. } | AppError::RateLimited { .. })) => render_with_retry(
            &e,
            &LinkPage::form(head, form.email, callback, Some(FormError::of(&e))),
        ),
        Err(e) => Err(e.into()),
    }
}

/// Spends the link `raw` on a session for this browser.
async fn spend(
    state: &AppState,
    req: &HttpRequest,
    raw: &str,
    callback: &str,
) -> Result<Result<signin_link::SignedIn, NotSignedIn>, AppError> {
    let Some(token) = PlainToken::parse(raw) else {
        return Ok(Err(NotSignedIn::DeadLink));
    };
    let (rules, device, policy) = (state.sign_in_rules(), device_of(req), state.expiry);
    let to = callback.to_owned();
    let outcome = state
        .db
        .run(move |conn| signin_link::sign_in(conn, &token, &rules, &device, &policy, &to))
        .await;
    if let Ok(Ok(done)) = &outcome {
        // The link verified the address: open pages of the user say so.
        state.events.user_changed(done.user_id).await;
    }
    outcome
}

/// The `result` label of `gatehouse_sign_ins_total{method="email"}`.
fn metric_result<T>(outcome: &Result<Result<T, NotSignedIn>, AppError>) -> &'static str {
    match outcome {
        Ok(Ok(_)) => "ok",
        Ok(Err(NotSignedIn::DeadLink)) => "invalid_link",
        Ok(Err(NotSignedIn::Refused(Refusal::Banned { .. }))) => "banned",
        Ok(Err(NotSignedIn::Refused(_))) => "refused",
        Err(AppError::Unavailable) => "unavailable",
        Err(_) => "error",
    }
}

#[derive(Deserialize)]
pub struct LinkRequestJson {
    #[serde(default)]
    email: String,
    #[serde(default, rename = "callbackUrl")]
    callback_url: Option<String>,
}

/// `POST /api/auth/signin/email` `{"email","callbackUrl"}`: `200 {"ok":true}`
/// for any well-formed address.
pub async fn request_json(
    req: HttpRequest,
    viewer: MaybeUser,
    body: web::Json<LinkRequestJson>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    refuse_impersonation(&req, viewer.0.as_ref(), "signin_email").await?;
    let body = body.into_inner();
    let callback = callback::sanitize(body.callback_url.as_deref(), &state.config.public_url);
    request_link(&state, &req, &body.email, callback).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "ok": true })))
}

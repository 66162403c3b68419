//! Pages and JSON for the email flows: forgot and reset password, the
//! verification link and its resend. The work is in `crate::email`; a mail is
//! handed to the mailer only after its token is committed.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::form_error::{FieldError as _, FormError};
use super::{Head, render, render_with_retry, see_other, see_page};
use crate::AppState;
use crate::auth::csrf::CsrfToken;
use crate::email::{self, Site, reset, verify};
use crate::error::{AppError, PageError};
use crate::i18n::Msg;
use crate::session::extract::{MaybeUser, PageViewer, SignedIn, begin_issued_session, device_of};
use crate::session::{Device, PlainToken};

#[derive(Template)]
#[template(path = "forgot_password.html")]
struct ForgotPage {
    head: Head,
    email: String,
    /// The request went through: say so (the same words for any address).
    sent: bool,
    error: Option<FormError>,
}

#[derive(Template)]
#[template(path = "reset_password.html")]
struct ResetPage {
    head: Head,
    /// `None`: the link is unknown, used or expired.
    token: Option<String>,
    error: Option<FormError>,
}

#[derive(Template)]
#[template(path = "mail_sent.html")]
pub(super) struct MailSentPage {
    pub(super) head: Head,
    pub(super) message: &'static str,
}

/// Refuses mail and token work from a session an admin holds as someone else.
pub(super) async fn refuse_impersonation(
    req: &HttpRequest,
    viewer: Option<&SignedIn>,
    what: &'static str,
) -> Result<(), AppError> {
    match viewer {
        Some(s) => crate::auth::guard::refuse_while_impersonating(req, s, what).await,
        None => Ok(()),
    }
}

/// Counts the mail under `RATE_LIMIT_EMAIL`, then runs `prepare` and sends
/// what it answers. Answers the same for an address with or without an
/// account (`prepare` does comparable work for both).
pub(super) async fn send_counted(
    state: &AppState,
    address: String,
    device: Device,
    prepare: impl FnOnce(
        &mut crate::db::DbConn,
        &Site,
        &str,
        &Device,
    ) -> diesel::QueryResult<Option<crate::mail::Outgoing>>
    + Send
    + 'static,
) -> Result<(), AppError> {
    let rule = state.config.rate_limits.email;
    let site = Site::new(&state.config.mounted_url());
    let outcome = state
        .db
        .run(move |conn| {
            if let Some(retry_after) = email::budget(conn, rule, &address, &device)? {
                return Ok(Err(retry_after));
            }
            Ok(Ok(prepare(conn, &site, &address, &device)?))
        })
        .await?;
    match outcome {
        Err(retry_after) => {
            state.metrics.rate_limit_trip("email");
            Err(AppError::RateLimited { retry_after })
        }
        Ok(Some(mail)) => {
            state.mailer.send(mail);
            Ok(())
        }
        Ok(None) => Ok(()),
    }
}

/// A reset request for `raw` (as typed): `Ok` whether or not it has an account.
async fn request_reset(state: &AppState, req: &HttpRequest, raw: &str) -> Result<(), AppError> {
    let address = crate::users::normalize_email(raw).map_err(|m| AppError::invalid("email", m))?;
    send_counted(state, address, device_of(req), reset::request).await
}

pub async fn forgot_page(
    req: HttpRequest,
    viewer: PageViewer,
    csrf: CsrfToken,
) -> Result<HttpResponse, PageError> {
    render(
        StatusCode::OK,
        &ForgotPage {
            head: Head::new(viewer.0.as_ref(), Some(csrf.0), &req),
            email: String::new(),
            sent: false,
            error: None,
        },
    )
}

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
}

pub async fn forgot_submit(
    req: HttpRequest,
    viewer: PageViewer,
    csrf: CsrfToken,
    form: web::Form<EmailForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    refuse_impersonation(&req, viewer.0.as_ref(), "forgot_password").await?;
    let outcome = request_reset(&state, &req, &form.email).await;
    let mut page = ForgotPage {
        head: Head::new(viewer.0.as_ref(), Some(csrf.0), &req),
        email: form.email.clone(),
        sent: false,
        error: None,
    };
    match outcome {
        Ok(()) => {
            page.sent = true;
            render(StatusCode::OK, &page)
        }
        Err(e @ (AppError::Invalid { .. } | AppError::RateLimited { .. })) => {
            page.error = Some(FormError::of(&e));
            render_with_retry(&e, &page)
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /api/auth/forgot-password` `{"email"}`: `200 {"ok":true}` for any
/// well-formed address.
pub async fn forgot_json(
    req: HttpRequest,
    viewer: MaybeUser,
    body: web::Json<EmailForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    refuse_impersonation(&req, viewer.0.as_ref(), "forgot_password").await?;
    request_reset(&state, &req, &body.email).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "ok": true })))
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    pub(super) token: String,
}

/// A reset link whose token is live now, or `None`.
async fn live_reset_token(state: &AppState, raw: &str) -> Result<Option<PlainToken>, AppError> {
    let Some(token) = PlainToken::parse(raw) else {
        return Ok(None);
    };
    state
        .db
        .run(move |conn| Ok(reset::is_live(conn, &token)?.then_some(token)))
        .await
}

fn invalid_link_page(head: Head) -> Result<HttpResponse, PageError> {
    render(
        StatusCode::BAD_REQUEST,
        &ResetPage {
            head,
            token: None,
            error: None,
        },
    )
}

pub async fn reset_page(
    req: HttpRequest,
    viewer: PageViewer,
    csrf: CsrfToken,
    query: web::Query<TokenQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let head = Head::new(viewer.0.as_ref(), Some(csrf.0), &req);
    match live_reset_token(&state, &query.token).await? {
        Some(_) => render(
            StatusCode::OK,
            &ResetPage {
                head,
                token: Some(query.token.clone()),
                error: None,
            },
        ),
        None => invalid_link_page(head),
    }
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    new_password: String,
}

/// Why a reset did not go through.
enum ResetRefused {
    /// The link is unknown, used or expired.
    Link,
    Other(AppError),
}

impl From<AppError> for ResetRefused {
    fn from(e: AppError) -> Self {
        ResetRefused::Other(e)
    }
}

/// Checks the new password and hashes it on a hashing thread, then spends
/// the link: the user and this browser's new session token.
async fn do_reset(
    state: &AppState,
    req: &HttpRequest,
    form: ResetForm,
) -> Result<reset::Reset, ResetRefused> {
    // A dead link costs no hashing.
    let token = PlainToken::parse(&form.token).ok_or(ResetRefused::Link)?;
    let (token, account) = state
        .db
        .run(move |conn| Ok(reset::account_of(conn, &token)?.map(|a| (token, a))))
        .await?
        .ok_or(ResetRefused::Link)?;
    let (password, policy) = (form.new_password, state.config.password_policy);
    let hash = state
        .hasher
        .run(move || {
            policy
                .check(&password, &[&account.0, &account.1])
                .map_err(|m| AppError::invalid("new_password", m))?;
            crate::auth::password::hash_password(&password)
        })
        .await?;
    let (rules, device, policy) = (state.sign_in_rules(), device_of(req), state.expiry);
    let done = state
        .db
        .run(move |conn| reset::reset(conn, &token, &hash, &rules, &device, &policy))
        .await?
        .ok_or(ResetRefused::Link)?;
    let reason = crate::events::Reason::PasswordChanged;
    state.events.sessions_of_ended(done.user_id, reason).await;
    Ok(done)
}

pub async fn reset_submit(
    req: HttpRequest,
    viewer: PageViewer,
    csrf: CsrfToken,
    session: Session,
    form: web::Form<ResetForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    refuse_impersonation(&req, viewer.0.as_ref(), "reset_password").await?;
    let form = form.into_inner();
    let token = form.token.clone();
    let head = Head::new(viewer.0.as_ref(), Some(csrf.0), &req);
    match do_reset(&state, &req, form).await {
        Ok(done) => Ok(super::two_factor_signin::proceed(
            &state, &session, done.begun, "/",
        )?),
        Err(ResetRefused::Link) => invalid_link_page(head),
        Err(ResetRefused::Other(e @ (AppError::Invalid { .. } | AppError::Busy))) => {
            render_with_retry(
                &e,
                &ResetPage {
                    head,
                    token: Some(token),
                    error: Some(FormError::of(&e)),
                },
            )
        }
        Err(ResetRefused::Other(e)) => Err(e.into()),
    }
}

/// `POST /api/auth/reset-password` `{"token","new_password"}`: the fresh
/// session, as `GET /api/auth/session` answers it; `400` for a dead link.
pub async fn reset_json(
    req: HttpRequest,
    viewer: MaybeUser,
    session: Session,
    body: web::Json<ResetForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    refuse_impersonation(&req, viewer.0.as_ref(), "reset_password").await?;
    let done = match do_reset(&state, &req, body.into_inner()).await {
        Ok(done) => done,
        Err(ResetRefused::Link) => {
            return Err(AppError::BadRequest(Msg::key("link-dead-reset")));
        }
        Err(ResetRefused::Other(e)) => return Err(e),
    };
    let token = match done.begun {
        crate::twofactor::Begun::Session(token) => token,
        // Two factors on: no session until the code (`/signin/two-factor`,
        // whose cookie this answer sets); the answer is `null`, as for no
        // session.
        begun @ crate::twofactor::Begun::Pending(_) => {
            // The redirect's cookie (the pending sign-in's) on a JSON answer.
            let redirect = super::two_factor_signin::proceed(&state, &session, begun, "/")?;
            let mut json = HttpResponse::Ok().json(serde_json::Value::Null);
            for c in redirect.cookies() {
                let _ = json.add_cookie(&c.into_owned());
            }
            return Ok(json);
        }
    };
    let hash = token.hash();
    let policy = state.expiry;
    let loaded = state
        .db
        .run(move |conn| Ok(crate::session::load_session_user(conn, &hash, &policy)?))
        .await?
        .ok_or(AppError::Unauthorized)?;
    begin_issued_session(&session, token)?;
    let mut view = SignedIn::from_loaded(loaded, false);
    view.app = crate::session::extract::app_fields(&state, &view).await?;
    Ok(super::api::session_json(&view))
}

/// `GET /verify-email?token=…`: marks the address verified, `303` to `/`.
pub async fn verify_link(
    req: HttpRequest,
    query: web::Query<TokenQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let device = device_of(&req);
    let verified = match PlainToken::parse(&query.token) {
        Some(token) => {
            state
                .db
                .run(move |conn| Ok(verify::verify(conn, &token, &device)?))
                .await?
        }
        None => None,
    };
    if let Some(user) = verified {
        state.events.user_changed(user).await;
    }
    match verified {
        Some(_) => Ok(see_other("/")),
        None => Err(PageError(AppError::BadRequest(Msg::key(
            "link-dead-verify",
        )))),
    }
}

/// `POST /settings/verify-email`: sends the verification link again, to the
/// signed-in user; or, from the page that refused an unverified sign-in, to
/// the typed address (the same answer whether or not it has an account).
pub async fn resend(
    req: HttpRequest,
    viewer: PageViewer,
    csrf: CsrfToken,
    form: web::Form<EmailForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    if !state.config.email_verification.is_on() {
        return Err(AppError::NotFound.into());
    }
    let head = Head::new(viewer.0.as_ref(), Some(csrf.0), &req);
    let device = device_of(&req);
    let outcome = match &viewer.0 {
        Some(user) => {
            crate::auth::guard::refuse_while_impersonating(&req, user, "verify_email").await?;
            if user.user.email_verified {
                return Ok(see_page(&state.config.mount, "/settings?saved=verified"));
            }
            let parties = user.audit_parties();
            send_counted(
                &state,
                user.user.email.clone(),
                device,
                move |conn, site, _, device| verify::mail_for(conn, site, parties, device),
            )
            .await
            .map(|()| None)
        }
        None => match crate::users::normalize_email(&form.email) {
            Ok(address) => send_counted(&state, address, device, verify::mail_for_address)
                .await
                .map(|()| Some(())),
            Err(m) => Err(AppError::invalid("email", m)),
        },
    };
    match outcome {
        Ok(None) => Ok(see_page(
            &state.config.mount,
            "/settings?saved=verification",
        )),
        Ok(Some(())) => render(
            StatusCode::OK,
            &MailSentPage {
                head,
                message: "mail-sent-resend",
            },
        ),
        Err(e) => Err(e.into()),
    }
}

/// After a sign-up: the verification mail (unless `EMAIL_VERIFICATION=off`).
/// The account stands whatever happens here; a failure is logged, and the
/// user can ask again from the banner.
pub async fn after_sign_up(state: &AppState, user_id: i64, device: Device) {
    if !state.config.email_verification.is_on() {
        return;
    }
    let site = Site::new(&state.config.mounted_url());
    let mail = state
        .db
        .run(move |conn| Ok(verify::mail_for(conn, &site, (user_id, user_id), &device)?))
        .await;
    match mail {
        Ok(Some(mail)) => state.mailer.send(mail),
        Ok(None) => {}
        Err(e) => log::warn!("verification mail after sign-up not prepared: {e}"),
    }
}

/// A sign-up under `EMAIL_VERIFICATION=required`: the account exists, with no
/// session until the address is confirmed; the page says to open the link.
pub async fn signed_up_unverified(
    state: &AppState,
    head: Head,
    user_id: i64,
    device: Device,
) -> Result<HttpResponse, PageError> {
    crate::audit::after(&state.db, device, move |conn, d| {
        crate::audit::record(
            conn,
            crate::audit::Event::by(user_id, crate::audit::action::SIGN_UP, d),
        )
    })
    .await;
    render(
        StatusCode::OK,
        &MailSentPage {
            head,
            message: "mail-sent-signed-up",
        },
    )
}

//! The email change: `POST /settings/email` asks for it (the settings form),
//! `GET /settings/email/confirm?token=…` is the link mailed to the new
//! address. The work is in `crate::email::change`; the two mails are handed to
//! the mailer only after the token is committed. There is no JSON twin (the
//! SPEC lists none).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;
use serde::Deserialize;

use super::email::TokenQuery;
use super::{Head, render, see_page, settings};
use crate::AppState;
use crate::auth::attempts::{self, Attempt};
use crate::auth::csrf::CsrfToken;
use crate::auth::guard::refuse_while_impersonating;
use crate::email::change::{self, Refused};
use crate::email::{self, Site};
use crate::error::{AppError, PageError};
use crate::i18n::Msg;
use crate::session::PlainToken;
use crate::session::extract::{PageUser, PageViewer, SignedIn, device_of};

/// What the impersonation refusal's event names.
const WHAT: &str = "email_change";

#[derive(Deserialize)]
pub struct EmailChangeForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    current_password: String,
}

/// Why a request was refused, and whether the user has a password (when the
/// check got that far), for the form shown again.
struct Refusal {
    error: AppError,
    has_password: Option<bool>,
}

impl From<AppError> for Refusal {
    fn from(error: AppError) -> Self {
        Refusal {
            error,
            has_password: None,
        }
    }
}

/// The address normalised, the current password checked (counted as the
/// password form counts it), `RATE_LIMIT_EMAIL` counted for the new address
/// and this client, the link issued; then both mails are sent.
async fn ask(
    state: &AppState,
    req: &HttpRequest,
    user: &SignedIn,
    form: EmailChangeForm,
) -> Result<(), Refusal> {
    let address =
        crate::users::normalize_email(&form.email).map_err(|m| AppError::invalid("email", m))?;
    let user_id = user.user.id;
    let attempt = Attempt {
        email: user.user.email.clone(),
        user_id: Some(user_id),
        method: "current_password",
        device: device_of(req),
    };
    let db = state.db.clone();
    let current = form.current_password;
    let has_password = attempts::checked(
        &state.db,
        &state.hasher,
        &state.config.rate_limits,
        attempt,
        move || crate::auth::check_current_password(&db, user_id, &current),
    )
    .await
    .map_err(|error| Refusal {
        has_password: matches!(error, AppError::BadCredentials).then_some(true),
        error,
    })?;
    let known = |error| Refusal {
        error,
        has_password: Some(has_password),
    };
    let rule = state.config.rate_limits.email;
    let site = Site::new(&state.config.mounted_url());
    let (parties, device) = (user.audit_parties(), device_of(req));
    let outcome = state
        .db
        .run(move |conn| {
            if let Some(retry_after) = email::budget(conn, rule, &address, &device)? {
                return Ok(Err(AppError::RateLimited { retry_after }));
            }
            Ok(change::request(conn, &site, parties, &address, &device))
        })
        .await
        .map_err(known)?;
    let mails = outcome.map_err(|e| {
        if matches!(e, AppError::RateLimited { .. }) {
            state.metrics.rate_limit_trip("email");
        }
        known(e)
    })?;
    state.mailer.send(mails.confirmation);
    state.mailer.send(mails.notice);
    Ok(())
}

/// `POST /settings/email` (`email`, `current_password` when the user has a
/// password): `303 /settings?saved=email-change`, or the settings page again
/// with the error (`401` wrong password, `409` a taken address, `422`, `429`).
pub async fn request(
    req: HttpRequest,
    user: PageUser,
    csrf: CsrfToken,
    form: web::Form<EmailChangeForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    refuse_while_impersonating(&req, &user.0, WHAT).await?;
    crate::auth::fresh::require_fresh(
        &user.0,
        state.config.session_fresh_age,
        &state.config.mount.join("/settings"),
    )?;
    let form = form.into_inner();
    let typed = form.email.clone();
    let refusal = match ask(&state, &req, &user.0, form).await {
        Ok(()) => {
            return Ok(see_page(
                &state.config.mount,
                "/settings?saved=email-change",
            ));
        }
        Err(r) => r,
    };
    let text = match refusal.error {
        AppError::BadCredentials => Some(Msg::key("wrong-current-password")),
        AppError::Invalid { .. }
        | AppError::Conflict(_)
        | AppError::Busy
        | AppError::RateLimited { .. } => None,
        e => return Err(e.into()),
    };
    settings::email_change_refused(
        &req,
        &user.0,
        csrf.0,
        &typed,
        refusal.has_password,
        &refusal.error,
        text,
    )
}

#[derive(Template)]
#[template(path = "link_refused.html")]
struct LinkRefusedPage {
    head: Head,
    message: &'static str,
}

/// How long a confirmation link opened before signing in waits in its
/// cookie for the sign-in to finish (a provider or a second factor included).
const PARKED_FOR: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// The confirm route under the mount: the parked link's cookie path, and the
/// `callbackUrl` of the sign-in it waits for (with no token in it).
fn confirm_path(state: &AppState) -> String {
    state.config.mount.join("/settings/email/confirm")
}

/// `GET /settings/email/confirm?token=…`: the signed-in user the link was
/// issued for gets the new address (`303 /settings?saved=email`). Anonymous:
/// the token is parked in a cookie of its own (this browser only, never the
/// database) and the browser goes to sign in and come back here without it.
/// Another user: `403`, the link kept. A dead link: `400`; an address taken
/// meanwhile: `409`. The parked cookie is cleared once its link is spent or
/// dead.
pub async fn confirm(
    req: HttpRequest,
    viewer: PageViewer,
    csrf: CsrfToken,
    query: web::Query<TokenQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (cookies, path) = (&state.cookies, confirm_path(&state));
    let Some(user) = viewer.0 else {
        let mut res = PageError(AppError::SignInRequired(path.clone())).error_response();
        if let Some(token) = PlainToken::parse(&query.token) {
            let parked = cookies.cookie_at(
                &cookies.email_confirm_name,
                token.expose().to_owned(),
                PARKED_FOR,
                &path,
            );
            let _ = res.add_cookie(&parked);
        }
        return Ok(res);
    };
    refuse_while_impersonating(&req, &user, WHAT).await?;
    let parked = req.cookie(&cookies.email_confirm_name);
    let (raw, from_cookie) = match (query.token.as_str(), &parked) {
        ("", Some(c)) => (c.value().to_owned(), true),
        (raw, _) => (raw.to_owned(), false),
    };
    let outcome = match PlainToken::parse(&raw) {
        Some(token) => {
            let (user_id, device) = (user.user.id, device_of(&req));
            state
                .db
                .run(move |conn| Ok(change::confirm(conn, &token, user_id, &device)))
                .await?
        }
        None => Err(Refused::DeadLink),
    };
    if outcome.is_ok() {
        state.events.user_changed(user.user.id).await;
    }
    // Spent (every change link of the user goes with it), or itself dead.
    let clear = parked.is_some()
        && (outcome.is_ok() || (from_cookie && matches!(outcome, Err(Refused::DeadLink))));
    let mut res = match outcome {
        Ok(_) => see_page(&state.config.mount, "/settings?saved=email"),
        Err(Refused::DeadLink) => {
            PageError(AppError::BadRequest(Msg::key("link-dead-settings"))).error_response()
        }
        Err(Refused::NotYours) => render(
            StatusCode::FORBIDDEN,
            &LinkRefusedPage {
                head: Head::new(Some(&user), Some(csrf.0), &req),
                message: "link-not-yours",
            },
        )?,
        Err(Refused::Taken) => return Err(PageError(change::taken())),
        Err(Refused::Other(e)) => return Err(e.into()),
    };
    if clear {
        let _ = res.add_cookie(&cookies.removal_at(&cookies.email_confirm_name, &path));
    }
    Ok(res)
}

//! The email change: `POST /settings/email` asks for it (the settings form),
//! `GET /settings/email/confirm?token=…` is the link mailed to the new
//! address. The work is in `crate::email::change`; the two mails are handed to
//! the mailer only after the token is committed. There is no JSON twin (the
//! SPEC lists none).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
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
use crate::session::extract::{PageUser, SignedIn, device_of};

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

/// `GET /settings/email/confirm?token=…`: the signed-in user the link was
/// issued for gets the new address (`303 /settings?saved=email`). Anonymous:
/// `303` to sign in and come back (the extractor). Another user: `403`, the
/// link kept. A dead link: `400`; an address taken meanwhile: `409`.
pub async fn confirm(
    req: HttpRequest,
    user: PageUser,
    csrf: CsrfToken,
    query: web::Query<TokenQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    refuse_while_impersonating(&req, &user.0, WHAT).await?;
    let outcome = match PlainToken::parse(&query.token) {
        Some(token) => {
            let (user_id, device) = (user.0.user.id, device_of(&req));
            state
                .db
                .run(move |conn| Ok(change::confirm(conn, &token, user_id, &device)))
                .await?
        }
        None => Err(Refused::DeadLink),
    };
    if outcome.is_ok() {
        state.events.user_changed(user.0.user.id).await;
    }
    match outcome {
        Ok(_) => Ok(see_page(&state.config.mount, "/settings?saved=email")),
        Err(Refused::DeadLink) => Err(PageError(AppError::BadRequest(Msg::key(
            "link-dead-settings",
        )))),
        Err(Refused::NotYours) => render(
            StatusCode::FORBIDDEN,
            &LinkRefusedPage {
                head: Head::new(Some(&user.0), Some(csrf.0), &req),
                message: "link-not-yours",
            },
        ),
        Err(Refused::Taken) => Err(PageError(change::taken())),
        Err(Refused::Other(e)) => Err(e.into()),
    }
}

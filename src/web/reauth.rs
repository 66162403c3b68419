//! `/reauth`: re-confirming that the person at a signed-in session is its user,
//! before a sensitive change (`crate::auth::fresh`). `GET` shows the ways this
//! user has; `POST /reauth` checks the password and `POST /reauth/two-factor`
//! a TOTP or recovery code (each counted as a sign-in attempt); either marks
//! the session authenticated now and goes back to the sanitised `callbackUrl`.
//! Any one proof the user has will do, as with GitHub's sudo mode. A passkey
//! verifies itself (`web::passkeys::reauth`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::form_error::{FieldError as _, FormError};
use super::{Head, callback, render, render_with_retry, see_other};
use crate::AppState;
use crate::auth::attempts::{self, Attempt};
use crate::auth::csrf::CsrfToken;
use crate::auth::fresh::{self, Proof};
use crate::auth::guard::refuse_while_impersonating;
use crate::error::{AppError, PageError};
use crate::i18n::Msg;
use crate::session::extract::{PageViewer, SignedIn, device_of};
use crate::twofactor::{self, FactorKeys, Reconfirmed};

/// What the impersonation refusal's event names.
const WHAT: &str = "reauth";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/reauth", web::get().to(page))
        .route("/reauth", web::post().to(submit))
        .route("/reauth/two-factor", web::post().to(submit_code));
}

#[derive(Template)]
#[template(path = "reauth.html")]
struct ReauthPage {
    head: Head,
    /// Where to go once confirmed: a local path (sanitised).
    callback: String,
    error: Option<FormError>,
    /// The user has a password: the password form is shown.
    has_password: bool,
    /// `(id, name)` of the enabled providers linked to this user: signing in
    /// again with one also makes the session fresh (a user with no password).
    providers: Vec<(&'static str, String)>,
    /// The user has a passkey (and passkeys are on): a button re-confirms
    /// with it (`web::passkeys::reauth`).
    passkey: bool,
    /// The user has two factors on: a code form re-confirms with a TOTP or
    /// recovery code ([`submit_code`]).
    two_factor: bool,
}

impl ReauthPage {
    /// The page for `user`, reading whether they have a password and which
    /// providers they linked.
    async fn load(
        state: &AppState,
        req: &HttpRequest,
        user: &SignedIn,
        csrf: String,
        callback: String,
    ) -> Result<Self, AppError> {
        let user_id = user.user.id;
        let with_providers = !state.oauth.providers.is_empty();
        let (has_password, linked) = state
            .db
            .run(move |conn| {
                let has_password = crate::users::password_hash_of(conn, user_id)?.is_some();
                let linked = if with_providers {
                    crate::oauth::accounts::linked(conn, user_id)?
                } else {
                    Vec::new()
                };
                Ok((has_password, linked))
            })
            .await?;
        let providers = state
            .oauth
            .providers
            .iter()
            .filter(|p| linked.iter().any(|l| l.provider == p.id))
            .map(|p| (p.id, p.name.clone()))
            .collect();
        let passkey = super::passkeys::reauth::offered(state, user_id).await?;
        Ok(ReauthPage {
            passkey,
            two_factor: user.user.two_factor,
            head: Head::new(Some(user), Some(csrf), req),
            callback,
            error: None,
            has_password,
            providers,
        })
    }
}

#[derive(Deserialize)]
pub struct ReauthQuery {
    #[serde(rename = "callbackUrl")]
    callback_url: Option<String>,
}

/// The signed-in user who may re-confirm: anonymous visitors sign in instead
/// (and come back to the callback, fresh); an impersonating admin is refused.
async fn reconfirming_user(
    req: &HttpRequest,
    viewer: PageViewer,
    callback: &str,
) -> Result<SignedIn, PageError> {
    let Some(user) = viewer.0 else {
        return Err(PageError(AppError::SignInRequired(callback.to_owned())));
    };
    refuse_while_impersonating(req, &user, WHAT).await?;
    Ok(user)
}

/// `GET /reauth?callbackUrl=…`
pub async fn page(
    req: HttpRequest,
    viewer: PageViewer,
    csrf: CsrfToken,
    query: web::Query<ReauthQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let callback = callback::sanitize(query.callback_url.as_deref(), &state.config.public_url);
    let user = reconfirming_user(&req, viewer, &callback).await?;
    let page = ReauthPage::load(&state, &req, &user, csrf.0, callback).await?;
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct ReauthForm {
    #[serde(default)]
    password: String,
    #[serde(default, rename = "callbackUrl")]
    callback_url: Option<String>,
}

/// `POST /reauth` (`password`, `callbackUrl`): `303` to the callback, or the
/// page again with `401` (wrong password, counted toward `RATE_LIMIT_SIGNIN`),
/// `422` (no password on this account), `429` or `503`.
pub async fn submit(
    req: HttpRequest,
    viewer: PageViewer,
    csrf: CsrfToken,
    form: web::Form<ReauthForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let callback = callback::sanitize(form.callback_url.as_deref(), &state.config.public_url);
    let user = reconfirming_user(&req, viewer, &callback).await?;
    let user_id = user.user.id;
    let attempt = Attempt {
        email: user.user.email.clone(),
        user_id: Some(user_id),
        method: "reauth",
        device: device_of(&req),
    };
    let db = state.db.clone();
    let password = form.password;
    let outcome = attempts::checked(
        &state.db,
        &state.hasher,
        &state.config.rate_limits,
        attempt,
        move || crate::auth::check_current_password(&db, user_id, &password),
    )
    .await;
    let e = match outcome {
        Ok(true) => return confirmed(&state, &req, &user, Proof::Password, &callback).await,
        Ok(false) => AppError::invalid("password", Msg::key("reauth-no-password-set")),
        Err(e @ (AppError::BadCredentials | AppError::Busy | AppError::RateLimited { .. })) => e,
        Err(e) => return Err(e.into()),
    };
    let mut page = ReauthPage::load(&state, &req, &user, csrf.0, callback).await?;
    let mut error = FormError::at("password", &e);
    if matches!(e, AppError::BadCredentials) {
        error.message = Msg::key("reauth-wrong-password");
    }
    page.error = Some(error);
    render_with_retry(&e, &page)
}

/// The user proved it is them with `proof`: the session is authenticated now
/// (`reauthenticated` recorded) and the browser goes to `callback`, which
/// must already be sanitised. A session that ended meanwhile signs in again.
pub async fn confirmed(
    state: &AppState,
    req: &HttpRequest,
    user: &SignedIn,
    proof: Proof,
    callback: &str,
) -> Result<HttpResponse, PageError> {
    let (session_id, user_id, device) = (user.session_id, user.user.id, device_of(req));
    let done = state
        .db
        .run(move |conn| Ok(fresh::reconfirm(conn, session_id, user_id, proof, &device)?))
        .await?;
    back(done, callback)
}

/// To `callback` once re-confirmed; a session that ended meanwhile signs in
/// again (and comes back there).
fn back(done: bool, callback: &str) -> Result<HttpResponse, PageError> {
    if !done {
        return Err(PageError(AppError::SignInRequired(callback.to_owned())));
    }
    Ok(see_other(callback))
}

#[derive(Deserialize)]
pub struct ReauthCodeForm {
    #[serde(default)]
    code: String,
    #[serde(default, rename = "callbackUrl")]
    callback_url: Option<String>,
}

/// `POST /reauth/two-factor` (`code`: a TOTP code or an unused recovery code,
/// `callbackUrl`): the code is spent and the session re-confirmed in one
/// transaction, `303` to the callback; a wrong or used code re-renders with
/// `401`, counted toward `RATE_LIMIT_SIGNIN` and audited `two_factor_failed`.
pub async fn submit_code(
    req: HttpRequest,
    viewer: PageViewer,
    csrf: CsrfToken,
    form: web::Form<ReauthCodeForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let callback = callback::sanitize(form.callback_url.as_deref(), &state.config.public_url);
    let user = reconfirming_user(&req, viewer, &callback).await?;
    let (session_id, user_id, device) = (user.session_id, user.user.id, device_of(&req));
    let attempt = Attempt {
        email: user.user.email.clone(),
        user_id: Some(user_id),
        method: "two_factor",
        device: device.clone(),
    };
    let (db, keys, code) = (state.db.clone(), FactorKeys::new(&state.keys), form.code);
    let outcome = attempts::checked(
        &state.db,
        &state.hasher,
        &state.config.rate_limits,
        attempt,
        move || {
            let mut conn = db.get()?;
            match twofactor::reconfirm(&mut conn, &keys, session_id, user_id, &code, &device)? {
                Reconfirmed::WrongCode => Err(AppError::BadCredentials),
                Reconfirmed::Done(_) => Ok(true),
                Reconfirmed::SessionGone => Ok(false),
            }
        },
    )
    .await;
    let e = match outcome {
        Ok(done) => return back(done, &callback),
        Err(e @ (AppError::BadCredentials | AppError::Busy | AppError::RateLimited { .. })) => e,
        Err(e) => return Err(e.into()),
    };
    let mut page = ReauthPage::load(&state, &req, &user, csrf.0, callback).await?;
    let mut error = FormError::at("code", &e);
    if matches!(e, AppError::BadCredentials) {
        error.message = Msg::key("two-factor-wrong-code");
    }
    page.error = Some(error);
    render_with_retry(&e, &page)
}

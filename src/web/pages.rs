//! Home, sign-in, sign-up and sign-out pages.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::form_error::{FieldError as _, FormError};
use super::{Head, callback, render, render_with_retry, see_other};
use crate::AppState;
use crate::audit::{self, action};
use crate::auth::attempts::{self, Attempt};
use crate::auth::csrf::CsrfToken;
use crate::error::{AppError, PageError};
use crate::session::extract::{
    MaybeUser, PageViewer, begin_session_audited, device_of, end_session,
};

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    head: Head,
    /// `/?deleted=1`, where an account deletion lands: a notice says so.
    deleted: bool,
}

pub async fn home(viewer: PageViewer, req: HttpRequest) -> Result<HttpResponse, PageError> {
    // Anonymous visitors get no form, so no CSRF cookie is minted for them.
    let csrf = match &viewer.0 {
        Some(_) => Some(CsrfToken::of(&req)?.0),
        None => None,
    };
    render(
        StatusCode::OK,
        &HomePage {
            // Read leniently: any other query on the home page is ignored.
            deleted: viewer.0.is_none()
                && url::form_urlencoded::parse(req.query_string().as_bytes())
                    .any(|(k, _)| k == "deleted"),
            head: Head::new(viewer.0.as_ref(), csrf, &req),
        },
    )
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage {
    head: Head,
    email: String,
    callback: String,
    error: Option<FormError>,
    /// `(id, name)` of each enabled OAuth provider, one button each.
    providers: Vec<(&'static str, String)>,
    /// The right password of an unverified address (`EMAIL_VERIFICATION=required`):
    /// the page offers the confirmation link again.
    unverified: bool,
    /// Why the last session ended, when a live page was sent here
    /// (`?reason=` from `/static/live.js`).
    ended: Option<&'static str>,
    /// Passkeys are on: the page offers a passkey button (shown by
    /// `/static/passkeys.js`).
    passkeys: bool,
}

/// The catalogue key of the sentence the sign-in page shows for `?reason=`
/// (SPEC "Live updates").
fn ended_sentence(reason: Option<&str>) -> Option<&'static str> {
    use crate::events::Reason;
    Some(match Reason::parse(reason?)? {
        Reason::SignedOut => "signin-ended-signed-out",
        Reason::Revoked => "signin-ended-revoked",
        Reason::Banned => "signin-ended-banned",
        Reason::PasswordChanged => "signin-ended-password",
        Reason::Expired => "signin-ended-expired",
        Reason::Deleted => "signin-ended-deleted",
    })
}

fn provider_buttons(state: &AppState) -> Vec<(&'static str, String)> {
    state
        .oauth
        .providers
        .iter()
        .map(|p| (p.id, p.name.clone()))
        .collect()
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    #[serde(rename = "callbackUrl")]
    callback_url: Option<String>,
    /// Why a live page came here (`signed_out`, `revoked`, ...).
    reason: Option<String>,
}

pub async fn signin_page(
    req: HttpRequest,
    viewer: PageViewer,
    query: web::Query<CallbackQuery>,
    csrf: CsrfToken,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let callback = callback::sanitize(query.callback_url.as_deref(), &state.config.public_url);
    render(
        StatusCode::OK,
        &SignInPage {
            providers: provider_buttons(&state),
            head: Head::new(viewer.0.as_ref(), Some(csrf.0), &req),
            email: String::new(),
            callback,
            error: None,
            unverified: false,
            ended: ended_sentence(query.reason.as_deref()),
            passkeys: state.passkeys.is_on(),
        },
    )
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default, rename = "callbackUrl")]
    callback_url: Option<String>,
}

pub async fn signin_submit(
    req: HttpRequest,
    form: web::Form<SignInForm>,
    session: Session,
    viewer: PageViewer,
    csrf: CsrfToken,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let callback = callback::sanitize(form.callback_url.as_deref(), &state.config.public_url);
    let db = state.db.clone();
    let (email, password) = (form.email.clone(), form.password);
    let rules = state.sign_in_rules();
    let require_verified = state.config.email_verification == crate::email::Verification::Required;
    let device = device_of(&req);
    let attempt = Attempt {
        email: form.email.clone(),
        user_id: None,
        method: "password",
        device: device.clone(),
    };
    let outcome = attempts::checked(
        &state.db,
        &state.hasher,
        &state.config.rate_limits,
        attempt,
        move || crate::auth::authenticate(&db, &email, &password, &rules, require_verified),
    )
    .await;
    state.metrics.password_sign_in(&outcome);
    match outcome {
        Ok(user_id) => Ok(super::two_factor_signin::sign_in(
            &state,
            &session,
            user_id,
            device,
            serde_json::json!({"method": "password"}),
            &callback,
        )
        .await?),
        Err(
            e @ (AppError::BadCredentials
            | AppError::Invalid { .. }
            | AppError::Busy
            | AppError::RateLimited { .. }
            | AppError::Refused(_)),
        ) => render_with_retry(
            &e,
            &SignInPage {
                providers: provider_buttons(&state),
                head: Head::new(viewer.0.as_ref(), Some(csrf.0), &req),
                email: form.email,
                callback,
                error: Some(FormError::of(&e)),
                unverified: matches!(
                    e,
                    AppError::Refused(crate::auth::gate::Refusal::EmailUnverified)
                ),
                ended: None,
                passkeys: state.passkeys.is_on(),
            },
        ),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "signup.html")]
struct SignUpPage {
    head: Head,
    name: String,
    email: String,
    callback: String,
    error: Option<FormError>,
}

pub async fn signup_page(
    req: HttpRequest,
    viewer: PageViewer,
    query: web::Query<CallbackQuery>,
    csrf: CsrfToken,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    render(
        StatusCode::OK,
        &SignUpPage {
            head: Head::new(viewer.0.as_ref(), Some(csrf.0), &req),
            name: String::new(),
            email: String::new(),
            callback: callback::sanitize(query.callback_url.as_deref(), &state.config.public_url),
            error: None,
        },
    )
}

#[derive(Deserialize)]
pub struct SignUpForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default, rename = "callbackUrl")]
    callback_url: Option<String>,
}

pub async fn signup_submit(
    req: HttpRequest,
    form: web::Form<SignUpForm>,
    session: Session,
    viewer: PageViewer,
    csrf: CsrfToken,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let callback = callback::sanitize(form.callback_url.as_deref(), &state.config.public_url);
    let (db, policy) = (state.db.clone(), state.config.password_policy);
    let (name, email, password) = (form.name.clone(), form.email.clone(), form.password);
    let device = device_of(&req);
    // The new user's preference: the language this page was shown in to a
    // visitor (`Accept-Language`), so the verification mail speaks it too.
    let lang = crate::i18n::Lang::negotiate(None, super::lang::accept_language(&req));
    let signup_rule = state.config.rate_limits.signup;
    let over = match signup_rule {
        Some(rule) => {
            let (key, d) = (
                format!("signup:ip:{}", crate::ratelimit::client_key(&device.ip)),
                device.clone(),
            );
            state
                .db
                .run(move |conn| {
                    let hit = crate::ratelimit::hit(conn, &key, &rule)?;
                    if hit.first_refused() {
                        audit::record(
                            conn,
                            crate::ratelimit::trip(&d, "signup", &key, hit.retry_after),
                        )?;
                    }
                    Ok(hit.refused())
                })
                .await?
        }
        None => None,
    };
    let outcome = if let Some(retry_after) = over {
        state.metrics.rate_limit_trip("signup");
        Err(AppError::RateLimited { retry_after })
    } else if crate::auth::gate::domain_allowed(
        // The stored form, which the allow-list entries are in (an address
        // the rule refuses is answered by `register`).
        &crate::users::normalize_email(&email).unwrap_or_else(|_| email.trim().to_lowercase()),
        &state.config.email_domains,
    ) {
        let rules = state.sign_in_rules();
        state
            .hasher
            .run(move || {
                // The app's gate, before the account exists (a valid address
                // only: an invalid one is answered by `register`).
                if let Ok(normal) = crate::users::normalize_email(&email) {
                    rules
                        .new_account(&normal, name.trim())
                        .map_err(AppError::Refused)?;
                }
                crate::auth::Registration::validate(&policy, &name, &email, &password)?
                    .in_language(lang)
                    .create(&db, "user")
            })
            .await
    } else {
        Err(AppError::invalid(
            "email",
            crate::auth::gate::Refusal::Domain.msg(),
        ))
    };
    match outcome {
        Ok(user_id) => {
            super::email::after_sign_up(&state, user_id, device.clone()).await;
            if state.config.email_verification == crate::email::Verification::Required {
                // No session before the address is confirmed.
                let head = Head::new(viewer.0.as_ref(), Some(csrf.0), &req);
                return super::email::signed_up_unverified(&state, head, user_id, device).await;
            }
            begin_session_audited(
                &session,
                user_id,
                &device,
                1,
                action::SIGN_UP,
                serde_json::json!({}),
            )?;
            Ok(see_other(&callback))
        }
        Err(
            e @ (AppError::Invalid { .. }
            | AppError::Conflict(_)
            | AppError::Busy
            | AppError::Refused(_)
            | AppError::RateLimited { .. }),
        ) => render_with_retry(
            &e,
            &SignUpPage {
                head: Head::new(viewer.0.as_ref(), Some(csrf.0), &req),
                name: form.name,
                email: form.email,
                callback,
                // A taken address is the email field's.
                error: Some(match e {
                    AppError::Conflict(_) => FormError::at("email", &e),
                    _ => FormError::of(&e),
                }),
            },
        ),
        Err(e) => Err(e.into()),
    }
}

/// Ends the session (the row is deleted, the cookie cleared) and goes home.
pub async fn signout(
    req: HttpRequest,
    session: Session,
    viewer: MaybeUser,
    state: web::Data<AppState>,
) -> HttpResponse {
    end_session(&session);
    crate::web::api::record_sign_out(&req, &viewer, &state).await;
    see_other("/")
}

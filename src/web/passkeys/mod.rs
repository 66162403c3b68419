//! Passkey routes: the two WebAuthn ceremonies as JSON (options, then the
//! authenticator's answer), the list and removal, and the page section of
//! `/settings/security`. A ceremony's options set a short-lived cookie whose
//! SHA-256 keys its server-side state, so only this browser can finish it.
//! While passkeys are off (an IP address in `GATEHOUSE_URL`) every route
//! answers 404. The work is in `crate::passkeys`.

pub mod reauth;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use super::{callback, see_page};
use crate::AppState;
use crate::auth::guard::refuse_while_impersonating;
use crate::error::{AppError, PageError};
use crate::i18n::{Lang, Msg};
use crate::passkeys::{self, Failure, Refused, challenges};
use crate::session::PlainToken;
use crate::session::extract::{
    ApiUser, MaybeUser, PageUser, SignedIn, begin_issued_session, device_of,
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/settings/passkeys/{id}/remove",
        web::post().to(remove_form),
    )
    .service(
        web::scope("/api/auth/passkey")
            .wrap(actix_web::middleware::from_fn(crate::ratelimit::api_budget))
            .wrap(actix_web::middleware::from_fn(only_when_on))
            .route("/register/options", web::post().to(register_options))
            .route("/register/verify", web::post().to(register_verify))
            .route("/signin/options", web::post().to(signin_options))
            .route("/signin/verify", web::post().to(signin_verify))
            .route("/reauth/options", web::post().to(reauth::options))
            .route("/reauth/verify", web::post().to(reauth::verify)),
    )
    .service(
        web::scope("/api/auth/passkeys")
            .wrap(actix_web::middleware::from_fn(crate::ratelimit::api_budget))
            .wrap(actix_web::middleware::from_fn(only_when_on))
            .route("", web::get().to(list_json))
            .route("/{id}", web::delete().to(remove_json)),
    );
}

/// Outermost on the JSON routes: while passkeys are off they answer 404
/// before anything else reads the request (its body, the API budget).
async fn only_when_on(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let on = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.passkeys.is_on());
    if !on {
        return Ok(req.error_response(AppError::NotFound));
    }
    next.call(req).await.map(|res| res.map_into_boxed_body())
}

/// The cookie that binds a ceremony to this browser.
fn cookie_name(state: &AppState) -> String {
    let prefix = if state.cookies.secure { "__Host-" } else { "" };
    format!("{prefix}gatehouse_passkey")
}

fn binding_of(req: &HttpRequest, state: &AppState) -> Option<PlainToken> {
    req.cookie(&cookie_name(state))
        .and_then(|c| PlainToken::parse(c.value()))
}

/// The options for the browser, with the cookie that binds them to it.
fn options_response(state: &AppState, started: passkeys::Started) -> HttpResponse {
    let lifetime = std::time::Duration::from_secs(challenges::LIFETIME_SECS as u64);
    HttpResponse::Ok()
        .cookie(state.cookies.cookie(
            &cookie_name(state),
            started.binding.expose().to_owned(),
            lifetime,
        ))
        .json(started.options)
}

/// A refused ceremony as JSON: `{"error","message"}`, with the status that
/// fits; the cookie is cleared, since its challenge is spent.
fn refusal_response(state: &AppState, refused: Refused) -> HttpResponse {
    let (status, code, key) = match &refused {
        Refused::Gate(r) => return refused_by_gate(state, r.clone()),
        Refused::NoChallenge => (
            StatusCode::BAD_REQUEST,
            "no_challenge",
            "passkey-no-challenge",
        ),
        Refused::Invalid => (
            StatusCode::UNAUTHORIZED,
            "invalid_passkey",
            "passkey-invalid",
        ),
        Refused::UnknownPasskey => (
            StatusCode::UNAUTHORIZED,
            "unknown_passkey",
            "passkey-unknown",
        ),
        Refused::CounterWentBack => (
            StatusCode::UNAUTHORIZED,
            "passkey_counter",
            "passkey-counter",
        ),
        Refused::AlreadyRegistered => (
            StatusCode::CONFLICT,
            "already_registered",
            "passkey-already-registered",
        ),
    };
    HttpResponse::build(status)
        .cookie(state.cookies.removal(&cookie_name(state)))
        .json(serde_json::json!({
            "error": code,
            "message": Lang::En.msg(Msg::key(key)),
        }))
}

fn refused_by_gate(state: &AppState, refusal: crate::auth::gate::Refusal) -> HttpResponse {
    let mut res = actix_web::ResponseError::error_response(&AppError::Refused(refusal));
    if let Ok(v) = state
        .cookies
        .removal(&cookie_name(state))
        .to_string()
        .parse()
    {
        res.headers_mut()
            .append(actix_web::http::header::SET_COOKIE, v);
    }
    res
}

/// The signed-in user who may change their passkeys: passkeys on, signed in,
/// not an admin acting as them.
async fn owner(
    req: &HttpRequest,
    state: &AppState,
    viewer: Option<SignedIn>,
    what: &'static str,
) -> Result<SignedIn, AppError> {
    state.passkeys.relying_party()?;
    let user = viewer.ok_or(AppError::Unauthorized)?;
    refuse_while_impersonating(req, &user, what).await?;
    // Adding or removing a passkey needs a recent sign-in (SESSION_FRESH_AGE).
    crate::auth::fresh::require_fresh(
        &user,
        state.config.session_fresh_age,
        &state.config.mount.join(SECURITY_PAGE),
    )?;
    Ok(user)
}

/// Where the passkeys are managed (and a re-confirmation comes back to).
const SECURITY_PAGE: &str = "/settings/security";

/// An admin acting as someone does not sign in as anyone else from that
/// session (as with a sign-in link).
async fn refuse_while_acting(req: &HttpRequest, viewer: Option<&SignedIn>) -> Result<(), AppError> {
    match viewer {
        Some(user) => refuse_while_impersonating(req, user, "passkey_sign_in").await,
        None => Ok(()),
    }
}

/// `POST /api/auth/passkey/register/options`: options for
/// `navigator.credentials.create`.
pub async fn register_options(
    req: HttpRequest,
    viewer: MaybeUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let user = owner(&req, &state, viewer.0, "passkey_register").await?;
    let passkeys = state.passkeys.clone();
    let (id, email, name) = (
        user.user.id,
        user.user.email.clone(),
        user.user.name.clone(),
    );
    let started = state
        .db
        .run(move |conn| passkeys.start_registration(conn, id, &email, &name))
        .await?;
    Ok(options_response(&state, started))
}

#[derive(Deserialize)]
pub struct RegisterBody {
    #[serde(default)]
    name: String,
    credential: RegisterPublicKeyCredential,
}

/// `POST /api/auth/passkey/register/verify` `{"name","credential"}`: stores
/// the new passkey; `200 {"passkey":{"id","name"}}`.
pub async fn register_verify(
    req: HttpRequest,
    viewer: MaybeUser,
    body: web::Json<RegisterBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let user = owner(&req, &state, viewer.0, "passkey_register").await?;
    let body = body.into_inner();
    let name = passkeys::validate_name(&body.name).map_err(|m| AppError::invalid("name", m))?;
    let Some(binding) = binding_of(&req, &state) else {
        return Ok(refusal_response(&state, Refused::NoChallenge));
    };
    let passkeys = state.passkeys.clone();
    let (parties, device) = (user.audit_parties(), device_of(&req));
    let outcome = state
        .db
        .run(move |conn| {
            passkeys.finish_registration(conn, &binding, parties, name, &body.credential, &device)
        })
        .await?;
    Ok(match outcome {
        Ok(added) => HttpResponse::Ok()
            .cookie(state.cookies.removal(&cookie_name(&state)))
            .json(serde_json::json!({ "passkey": added })),
        Err(Failure { refused, .. }) => refusal_response(&state, refused),
    })
}

/// `POST /api/auth/passkey/signin/options`: options for
/// `navigator.credentials.get`, naming no user.
pub async fn signin_options(
    req: HttpRequest,
    viewer: MaybeUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    state.passkeys.relying_party()?;
    refuse_while_acting(&req, viewer.0.as_ref()).await?;
    let passkeys = state.passkeys.clone();
    let started = state
        .db
        .run(move |conn| passkeys.start_sign_in(conn))
        .await?;
    Ok(options_response(&state, started))
}

#[derive(Deserialize)]
pub struct SignInBody {
    credential: PublicKeyCredential,
    #[serde(default, rename = "callbackUrl")]
    callback_url: Option<String>,
}

/// `POST /api/auth/passkey/signin/verify` `{"credential","callbackUrl"}`:
/// signs this browser in; `200 {"ok":true,"url":…}` with the session
/// cookie. Failures count toward `RATE_LIMIT_SIGNIN` for this address.
pub async fn signin_verify(
    req: HttpRequest,
    viewer: MaybeUser,
    session: Session,
    body: web::Json<SignInBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    state.passkeys.relying_party()?;
    refuse_while_acting(&req, viewer.0.as_ref()).await?;
    let body = body.into_inner();
    let url = callback::sanitize(body.callback_url.as_deref(), &state.config.public_url);
    let (limits, device) = (state.config.rate_limits, device_of(&req));
    let wait = {
        let device = device.clone();
        state
            .db
            .run(move |conn| Ok(passkeys::locked_out(conn, &limits, &device)?))
            .await?
    };
    if let Some(retry_after) = wait {
        state.metrics.sign_in("passkey", "rate_limited");
        return Err(AppError::RateLimited { retry_after });
    }
    let binding = binding_of(&req, &state);
    let passkeys = state.passkeys.clone();
    let (rules, policy) = (state.sign_in_rules(), state.expiry);
    let outcome = state
        .db
        .run(move |conn| {
            let outcome = match binding {
                Some(binding) => passkeys.finish_sign_in(
                    conn,
                    &binding,
                    &body.credential,
                    &rules,
                    &device,
                    &policy,
                )?,
                None => Err(Failure {
                    refused: Refused::NoChallenge,
                    user_id: None,
                }),
            };
            if let Err(failure) = &outcome {
                passkeys::record_failure(conn, &limits, &device, "passkey", failure)?;
            }
            Ok(outcome)
        })
        .await;
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            state.metrics.sign_in("passkey", "unavailable");
            return Err(e);
        }
    };
    match outcome {
        Ok(done) => {
            state.metrics.sign_in("passkey", "ok");
            begin_issued_session(&session, done.session)?;
            Ok(HttpResponse::Ok()
                .cookie(state.cookies.removal(&cookie_name(&state)))
                .json(serde_json::json!({ "ok": true, "url": url })))
        }
        Err(Failure { refused, .. }) => {
            state.metrics.sign_in("passkey", refused.reason());
            Ok(refusal_response(&state, refused))
        }
    }
}

/// `GET /api/auth/passkeys`: the signed-in user's passkeys.
pub async fn list_json(
    user: ApiUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    state.passkeys.relying_party()?;
    let id = user.0.user.id;
    let list = state
        .db
        .run(move |conn| Ok(passkeys::store::list(conn, id)?))
        .await?;
    let list: Vec<serde_json::Value> = list
        .into_iter()
        .map(|p| {
            serde_json::json!({
                "id": p.id.to_string(),
                "name": p.name,
                "created_at": super::rfc3339(p.created_at),
                "last_used_at": p.last_used_at.map(super::rfc3339),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "passkeys": list })))
}

/// Removes the signed-in user's passkey `raw_id`: `NotFound` for an id that
/// is not theirs (or not a number).
async fn remove(
    req: &HttpRequest,
    state: &AppState,
    user: Option<SignedIn>,
    raw_id: &str,
) -> Result<(), AppError> {
    let user = owner(req, state, user, "passkey_remove").await?;
    let id: i64 = raw_id.parse().map_err(|_| AppError::NotFound)?;
    let (user_id, parties, device) = (user.user.id, user.audit_parties(), device_of(req));
    let removed = state
        .db
        .run(move |conn| passkeys::remove(conn, user_id, id, parties, &device))
        .await?;
    if removed {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// `DELETE /api/auth/passkeys/<id>`: `204`.
pub async fn remove_json(
    req: HttpRequest,
    viewer: MaybeUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    remove(&req, &state, viewer.0, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /settings/passkeys/<id>/remove`: the page's button; `303` back.
pub async fn remove_form(
    req: HttpRequest,
    user: PageUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    remove(&req, &state, Some(user.0), &path).await?;
    Ok(see_page(&state.config.mount, SECURITY_PAGE))
}

/// One passkey as the security page lists it.
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    /// RFC 3339, for `<time>` and `Lang::datetime`.
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// The passkeys part of `/settings/security`: `None` while passkeys are
/// off (the page does not offer them).
pub async fn section(state: &AppState, user_id: i64) -> Result<Option<Vec<PasskeyView>>, AppError> {
    if !state.passkeys.is_on() {
        return Ok(None);
    }
    let list = state
        .db
        .run(move |conn| Ok(passkeys::store::list(conn, user_id)?))
        .await?;
    Ok(Some(
        list.into_iter()
            .map(|p| PasskeyView {
                id: p.id.to_string(),
                name: p.name,
                created_at: super::rfc3339(p.created_at),
                last_used_at: p.last_used_at.map(super::rfc3339),
            })
            .collect(),
    ))
}

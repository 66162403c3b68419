//! Re-confirming a session with a passkey (the `/reauth` page's button): the
//! signed-in user's own passkeys are offered; a verified assertion marks the
//! session authenticated now (`auth::fresh::reconfirm`, audited
//! `reauthenticated` with `method: passkey`) and, since a passkey verified
//! the person, at assurance level 2. Failures count toward
//! `RATE_LIMIT_SIGNIN` like a wrong password there.

use actix_web::{HttpRequest, HttpResponse, web};
use diesel::prelude::*;
use serde::Deserialize;
use webauthn_rs::prelude::PublicKeyCredential;

use super::{binding_of, options_response, refusal_response};
use crate::AppState;
use crate::auth::fresh::{self, Proof};
use crate::auth::guard::refuse_while_impersonating;
use crate::db::schema::sessions;
use crate::error::AppError;
use crate::passkeys::{self, Failure, Refused};
use crate::session::extract::{MaybeUser, SignedIn, device_of};
use crate::web::callback;

/// The signed-in user re-confirming (an impersonating admin cannot).
async fn reconfirming(req: &HttpRequest, viewer: MaybeUser) -> Result<SignedIn, AppError> {
    let user = viewer.0.ok_or(AppError::Unauthorized)?;
    refuse_while_impersonating(req, &user, "reauth").await?;
    Ok(user)
}

/// `POST /api/auth/passkey/reauth/options`: options naming the user's
/// passkeys; `404` when they have none.
pub async fn options(
    req: HttpRequest,
    viewer: MaybeUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let user = reconfirming(&req, viewer).await?;
    let (passkeys, user_id) = (state.passkeys.clone(), user.user.id);
    let started = state
        .db
        .run(move |conn| passkeys.start_reauth(conn, user_id))
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(options_response(&state, started))
}

#[derive(Deserialize)]
pub struct ReauthBody {
    credential: PublicKeyCredential,
    #[serde(default, rename = "callbackUrl")]
    callback_url: Option<String>,
}

/// `POST /api/auth/passkey/reauth/verify` `{"credential","callbackUrl"}`:
/// `200 {"ok":true,"url":…}`, the session fresh again.
pub async fn verify(
    req: HttpRequest,
    viewer: MaybeUser,
    body: web::Json<ReauthBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let user = reconfirming(&req, viewer).await?;
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
        return Err(AppError::RateLimited { retry_after });
    }
    let binding = binding_of(&req, &state);
    let passkeys = state.passkeys.clone();
    let (session_id, user_id) = (user.session_id, user.user.id);
    let outcome = state
        .db
        .run(move |conn| {
            let outcome = match binding {
                Some(binding) => {
                    passkeys.finish_reauth(conn, &binding, user_id, &body.credential)?
                }
                None => Err(Failure {
                    refused: Refused::NoChallenge,
                    user_id: Some(user_id),
                }),
            };
            match outcome {
                Ok(()) => Ok(Ok(reconfirm_at_two(conn, session_id, user_id, &device)?)),
                Err(failure) => {
                    passkeys::record_failure(conn, &limits, &device, "reauth_passkey", &failure)?;
                    Ok(Err(failure))
                }
            }
        })
        .await?;
    match outcome {
        Ok(true) => Ok(HttpResponse::Ok()
            .cookie(state.cookies.removal(&super::cookie_name(&state)))
            .json(serde_json::json!({ "ok": true, "url": url }))),
        // The session ended meanwhile.
        Ok(false) => Err(AppError::Unauthorized),
        Err(Failure { refused, .. }) => Ok(refusal_response(&state, refused)),
    }
}

/// The session is authenticated now and, as a passkey verified the person,
/// at level 2; with the `reauthenticated` event, in one transaction.
fn reconfirm_at_two(
    conn: &mut crate::db::DbConn,
    session_id: i64,
    user_id: i64,
    device: &crate::session::Device,
) -> QueryResult<bool> {
    conn.write_transaction(|conn| {
        if !fresh::reconfirm(conn, session_id, user_id, Proof::Passkey, device)? {
            return Ok(false);
        }
        diesel::update(sessions::table.find(session_id))
            .set(sessions::aal.eq(2))
            .execute(conn)?;
        Ok(true)
    })
}

/// Whether `/reauth` offers this user a passkey: passkeys on and they have
/// one.
pub async fn offered(state: &AppState, user_id: i64) -> Result<bool, AppError> {
    if !state.passkeys.is_on() {
        return Ok(false);
    }
    let n = state
        .db
        .run(move |conn| Ok(passkeys::store::count(conn, user_id)?))
        .await?;
    Ok(n > 0)
}

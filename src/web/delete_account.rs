//! Deleting one's own account: `POST /settings/delete` (the form on
//! `/settings`, `email` typed to confirm) and its JSON twin
//! `POST /api/auth/delete` `{"email"}`. A fresh session only; never while an
//! admin impersonates the user. The work is `crate::users::delete`.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{see_page, settings};
use crate::AppState;
use crate::auth::csrf::CsrfToken;
use crate::auth::fresh::require_fresh;
use crate::auth::guard::refuse_while_impersonating;
use crate::error::{AppError, PageError};
use crate::events::Reason;
use crate::session::extract::{ApiUser, PageUser, SignedIn, device_of, end_session};

/// What the impersonation refusal's event names.
const WHAT: &str = "account_delete";

/// Where `/reauth` sends the user back: the form is on the settings page.
const CALLBACK: &str = "/settings";

/// Where a deleted user lands, signed out, with a notice: gatehouse's home
/// (under the mount prefix), which shows it.
pub const DELETED_HOME: &str = "/?deleted=1";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/settings/delete", web::post().to(form)).service(
        // Inside the API's budget like the rest of `/api/auth`; registered
        // before that scope, which would answer 404 for it otherwise.
        web::resource("/api/auth/delete")
            .wrap(actix_web::middleware::from_fn(crate::ratelimit::api_budget))
            .route(web::post().to(json)),
    );
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    email: String,
}

/// Deletes the signed-in user, then tells their live streams (and those of
/// any impersonation they held) that the session ended: `deleted`.
async fn delete(
    state: &AppState,
    req: &HttpRequest,
    user: &SignedIn,
    typed: String,
) -> Result<(), AppError> {
    refuse_while_impersonating(req, user, WHAT).await?;
    require_fresh(
        user,
        state.config.session_fresh_age,
        &state.config.mount.join(CALLBACK),
    )?;
    let (user_id, device) = (user.user.id, device_of(req));
    state
        .db
        .run(move |conn| crate::users::delete::delete_own_account(conn, user_id, &typed, &device))
        .await?;
    state
        .events
        .sessions_of_ended(user_id, Reason::Deleted)
        .await;
    Ok(())
}

/// `POST /settings/delete`: `303` to `/?deleted=1`, signed out; the settings
/// page again with `422` (the typed address is not the account's) or `409`
/// (the last admin); `303 /reauth?callbackUrl=%2Fsettings` when not fresh.
pub async fn form(
    req: HttpRequest,
    user: PageUser,
    csrf: CsrfToken,
    session: Session,
    form: web::Form<DeleteForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let typed = form.into_inner().email;
    match delete(&state, &req, &user.0, typed.clone()).await {
        Ok(()) => {
            end_session(&session);
            Ok(see_page(&state.config.mount, DELETED_HOME))
        }
        Err(e @ (AppError::Invalid { .. } | AppError::Conflict(_))) => {
            settings::delete_refused(&req, &user.0, csrf.0, &typed, &e)
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /api/auth/delete` `{"email"}`: `200 {"ok":true}` and the cookie
/// removed; `403 reauth_required`, `422`, `409` as the form.
pub async fn json(
    req: HttpRequest,
    user: ApiUser,
    session: Session,
    body: web::Json<DeleteForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    delete(&state, &req, &user.0, body.into_inner().email).await?;
    end_session(&session);
    Ok(HttpResponse::Ok().json(serde_json::json!({ "ok": true })))
}

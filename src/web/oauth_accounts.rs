//! A linked provider account: the app's provider token
//! (`GET /api/auth/accounts/<p>/token`, refreshed once when stale) and
//! unlinking from Settings (`POST /settings/accounts/<p>/unlink`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use super::oauth::failure;
use super::see_page;
use crate::AppState;
use crate::audit::{self, Event, action};
use crate::error::{AppError, PageError};
use crate::i18n::Msg;
use crate::oauth::accounts;
use crate::oauth::refresh::{self, TokenError};
use crate::session::extract::{ApiUser, MaybeUser, PageUser, device_of};

#[derive(Serialize)]
struct TokenView {
    access_token: String,
    token_type: String,
    expires_at: Option<String>,
    scope: String,
}

/// `GET /api/auth/accounts/<provider>/token`.
pub async fn token(
    req: HttpRequest,
    user: ApiUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    crate::auth::guard::refuse_while_impersonating(&req, &user.0, "provider_token").await?;
    let provider = path.into_inner();
    let user_id = user.0.user.id;
    let st = state.clone();
    let answer =
        web::block(move || refresh::valid_token(&st.oauth, &st.db, user_id, &provider)).await?;
    match answer {
        Ok(t) => Ok(HttpResponse::Ok().json(TokenView {
            access_token: t.access_token,
            token_type: t.token_type,
            expires_at: t.expires_at.map(|e| {
                e.and_utc()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            }),
            scope: t.scope,
        })),
        Err(TokenError::NotLinked) => Err(AppError::NotFound),
        Err(TokenError::RefreshFailed) => Ok(HttpResponse::Conflict().json(serde_json::json!({
            "error": "refresh_failed",
            "message": "The provider refused to refresh the token; sign in with it again.",
        }))),
        Err(TokenError::Provider(detail)) => {
            log::warn!("provider token refresh failed: {detail}");
            Ok(HttpResponse::BadGateway().json(serde_json::json!({
                "error": "provider_unavailable",
                "message": "The provider did not answer properly; try again in a moment.",
            })))
        }
        Err(TokenError::App(e)) => Err(e),
    }
}

/// `POST /settings/accounts/<provider>/unlink`.
pub async fn unlink(
    req: HttpRequest,
    user: PageUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    crate::auth::guard::refuse_while_impersonating(&req, &user.0, "provider_unlink").await?;
    let provider = path.into_inner();
    let provider_name = provider.clone();
    let user_id = user.0.user.id;
    let done = state
        .db
        .run(move |conn| Ok(accounts::unlink(conn, user_id, &provider)?))
        .await?;
    match done {
        None => Err(AppError::NotFound.into()),
        Some(true) => {
            let uid = user_id;
            let pid = provider_name;
            audit::after(&state.db, device_of(&req), move |conn, d| {
                audit::record(
                    conn,
                    Event::by(uid, action::PROVIDER_UNLINKED, d)
                        .details(serde_json::json!({"provider": pid})),
                )
            })
            .await;
            Ok(see_page(&state.config.mount, "/settings?saved=unlinked"))
        }
        Some(false) => {
            let viewer = MaybeUser(Some(user.0));
            failure(
                &req,
                &viewer,
                StatusCode::CONFLICT,
                "oauth-title-cannot-unlink",
                Msg::key("oauth-only-way"),
            )
        }
    }
}

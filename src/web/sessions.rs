//! The user's own sessions: `/settings/sessions` (revoke one, sign out
//! everywhere else) and `GET/DELETE /api/auth/sessions`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::admin_api::parse_id;
use super::{Head, render, see_other, see_page};
use crate::AppState;
use crate::audit::{self, Event, action};
use crate::auth::csrf::CsrfToken;
use crate::error::{AppError, PageError};
use crate::session::Device;
use crate::session::extract::{ApiUser, PageUser, device_of};
use crate::session::manage::{self, SessionView};

#[derive(Template)]
#[template(path = "sessions.html")]
struct SessionsPage {
    head: Head,
    sessions: Vec<SessionView>,
    events: Vec<audit::View>,
    /// A catalogue key.
    notice: Option<&'static str>,
}

async fn load(state: &AppState, user_id: i64, current: i64) -> Result<Vec<SessionView>, AppError> {
    let rows = state
        .db
        .run(move |conn| Ok(manage::of_user(conn, user_id)?))
        .await?;
    Ok(rows.iter().map(|r| r.view(Some(current))).collect())
}

#[derive(Deserialize)]
pub struct Notice {
    revoked: Option<String>,
}

pub async fn page(
    req: HttpRequest,
    user: PageUser,
    csrf: CsrfToken,
    query: web::Query<Notice>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (user_id, current) = (user.0.user.id, user.0.session_id);
    let (rows, events) = state
        .db
        .run(move |conn| {
            let filter = audit::Filter {
                user: Some(user_id),
                actions: action::SECURITY.iter().map(|a| a.to_string()).collect(),
                ..Default::default()
            };
            Ok((
                manage::of_user(conn, user_id)?,
                audit::page_of(conn, &filter, 1, 20)?,
            ))
        })
        .await?;
    let sessions = rows.iter().map(|r| r.view(Some(current))).collect();
    let events = events.into_iter().map(audit::View::from).collect();
    let notice = match query.revoked.as_deref() {
        Some("one") => Some("sessions-revoked-one"),
        Some("others") => Some("sessions-revoked-others"),
        _ => None,
    };
    render(
        StatusCode::OK,
        &SessionsPage {
            head: Head::new(Some(&user.0), Some(csrf.0), &req),
            sessions,
            events,
            notice,
        },
    )
}

/// Revokes the user's own session `id`, recording it; `NotFound` otherwise.
async fn revoke(
    state: &AppState,
    (actor, user_id): (i64, i64),
    id: i64,
    device: Device,
) -> Result<(), AppError> {
    state
        .db
        .run(move |conn| {
            if !manage::revoke_own(conn, user_id, id)? {
                return Err(AppError::NotFound);
            }
            audit::record(
                conn,
                Event::between((actor, user_id), action::SESSION_REVOKED, &device)
                    .details(serde_json::json!({"session_id": id.to_string()})),
            )?;
            Ok(())
        })
        .await?;
    state
        .events
        .session_ended(id, crate::events::Reason::Revoked)
        .await;
    Ok(())
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    id: String,
}

pub async fn revoke_form(
    req: HttpRequest,
    user: PageUser,
    form: web::Form<RevokeForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let id = parse_id(&form.id)?;
    revoke(&state, user.0.audit_parties(), id, device_of(&req)).await?;
    if id == user.0.session_id {
        return Ok(see_other("/"));
    }
    Ok(see_page(
        &state.config.mount,
        "/settings/sessions?revoked=one",
    ))
}

pub async fn revoke_others_form(
    req: HttpRequest,
    user: PageUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (user_id, keep, device) = (user.0.user.id, user.0.session_id, device_of(&req));
    let parties = user.0.audit_parties();
    state
        .db
        .run(move |conn| {
            let n = manage::revoke_others(conn, user_id, keep)?;
            audit::record(
                conn,
                Event::between(parties, action::SESSION_REVOKED, &device)
                    .details(serde_json::json!({"all_others": true, "count": n})),
            )?;
            Ok(())
        })
        .await?;
    // Every other session of the user: their streams say `revoked`, this
    // one's reads on and sends the session again.
    state
        .events
        .sessions_of_ended(user_id, crate::events::Reason::Revoked)
        .await;
    Ok(see_page(
        &state.config.mount,
        "/settings/sessions?revoked=others",
    ))
}

pub async fn list_json(
    user: ApiUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let sessions = load(&state, user.0.user.id, user.0.session_id).await?;
    Ok(HttpResponse::Ok().json(sessions))
}

pub async fn revoke_json(
    req: HttpRequest,
    user: ApiUser,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    revoke(&state, user.0.audit_parties(), id, device_of(&req)).await?;
    Ok(HttpResponse::NoContent().finish())
}

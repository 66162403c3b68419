//! `/api/admin/...`: every admin action as JSON, behind the same guard and
//! CSRF check as the admin pages.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDateTime;
use serde::{Deserialize, Deserializer};

use crate::AppState;
use crate::admin::{self, AdminUser, Patch, Sort, UserQuery};
use crate::audit;
use crate::auth::guard::AdminApi;
use crate::db::DbConn;
use crate::error::AppError;
use crate::events::Reason;
use crate::session::Device;
use crate::session::extract::device_of;
use crate::session::manage;

/// A JSON body whose error is answered only after the guard has passed:
/// actix polls extractors together, and a body error must not answer before
/// a 401/403 would.
type Body<T> = Result<web::Json<T>, actix_web::Error>;

/// A path id: anything but a positive integer is 404.
pub fn parse_id(raw: &str) -> Result<i64, AppError> {
    raw.parse::<i64>()
        .ok()
        .filter(|i| *i > 0)
        .ok_or(AppError::NotFound)
}

pub fn parse_time(field: &'static str, raw: &str) -> Result<NaiveDateTime, AppError> {
    chrono::DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.naive_utc())
        .map_err(|_| AppError::invalid(field, crate::i18n::Msg::key("error-rfc3339")))
}

#[derive(Deserialize)]
pub struct ListQuery {
    pub q: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
    pub sort: Option<String>,
}

/// Page (≥1) and page size (1..=100, default 20) from query text.
pub fn paging(page: Option<&str>, per_page: Option<&str>) -> Result<(i64, i64), AppError> {
    let page = match page.filter(|p| !p.is_empty()) {
        None => 1,
        Some(p) => p
            .parse::<i64>()
            .ok()
            .filter(|p| (1..=1_000_000).contains(p))
            .ok_or_else(|| AppError::BadRequest("`page` must be a number from 1.".into()))?,
    };
    let per_page = match per_page.filter(|p| !p.is_empty()) {
        None => 20,
        Some(p) => p
            .parse::<i64>()
            .ok()
            .filter(|p| (1..=100).contains(p))
            .ok_or_else(|| AppError::BadRequest("`per_page` must be from 1 to 100.".into()))?,
    };
    Ok((page, per_page))
}

impl ListQuery {
    pub fn user_query(&self) -> Result<UserQuery, AppError> {
        let (page, per_page) = paging(self.page.as_deref(), self.per_page.as_deref())?;
        let sort = match self.sort.as_deref() {
            None | Some("") | Some("created") => Sort::Created,
            Some("last_seen") => Sort::LastSeen,
            Some(_) => {
                return Err(AppError::BadRequest(
                    "`sort` is `created` or `last_seen`.".into(),
                ));
            }
        };
        Ok(UserQuery {
            q: self.q.clone().filter(|q| !q.trim().is_empty()),
            page,
            per_page,
            sort,
        })
    }
}

/// Runs one admin action on the target id from the path, as this admin.
async fn on_target<T: Send + 'static>(
    req: &HttpRequest,
    admin: &AdminApi,
    path: &str,
    state: &AppState,
    action: impl FnOnce(&mut DbConn, i64, i64, &Device) -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let id = parse_id(path)?;
    let (actor, device) = (admin.0.user.id, device_of(req));
    state
        .db
        .run(move |conn| action(conn, actor, id, &device))
        .await
}

pub async fn list_users(
    _admin: AdminApi,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let uq = query.user_query()?;
    let (page, per_page) = (uq.page, uq.per_page);
    let (rows, total) = state
        .db
        .run(move |conn| Ok(admin::list_users(conn, &uq)?))
        .await?;
    let users: Vec<AdminUser> = rows.into_iter().map(AdminUser::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "users": users, "total": total, "page": page, "per_page": per_page,
    })))
}

pub async fn get_user(
    _admin: AdminApi,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path)?;
    let (row, sessions) = state
        .db
        .run(move |conn| {
            let row = admin::get_user(conn, id)?.ok_or(AppError::NotFound)?;
            Ok((row, manage::of_user(conn, id)?))
        })
        .await?;
    let mut body = serde_json::to_value(AdminUser::from(row))
        .map_err(|e| AppError::Internal(e.to_string()))?;
    body["sessions"] =
        serde_json::to_value(sessions.iter().map(|s| s.view(None)).collect::<Vec<_>>())
            .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok().json(body))
}

/// `Some(None)` for an explicit `null`, `None` when the field is absent.
fn nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    role: Option<String>,
    permissions: Option<Vec<String>>,
    plan: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    plan_expires_at: Option<Option<String>>,
}

pub async fn patch_user(
    req: HttpRequest,
    admin: AdminApi,
    path: web::Path<String>,
    body: Body<PatchBody>,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    parse_id(&path)?;
    let b = body?.into_inner();
    let plan_expires_at = match b.plan_expires_at {
        None => None,
        Some(None) => Some(None),
        Some(Some(raw)) => Some(Some(parse_time("plan_expires_at", &raw)?)),
    };
    let patch = Patch {
        role: b.role,
        permissions: b.permissions,
        plan: b.plan,
        plan_expires_at,
    };
    let row = on_target(&req, &admin, &path, &state, move |conn, actor, id, d| {
        admin::patch_user(conn, actor, id, patch, d)
    })
    .await?;
    state.events.user_changed(row.id).await;
    Ok(HttpResponse::Ok().json(AdminUser::from(row)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BanBody {
    #[serde(default)]
    reason: String,
    until: Option<String>,
}

pub async fn ban(
    req: HttpRequest,
    admin: AdminApi,
    path: web::Path<String>,
    body: Body<BanBody>,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    parse_id(&path)?;
    let body = body?;
    let until = match body.until.as_deref().filter(|u| !u.is_empty()) {
        Some(raw) => Some(parse_time("until", raw)?),
        None => None,
    };
    let reason = body.reason.clone();
    let row = on_target(&req, &admin, &path, &state, move |conn, actor, id, d| {
        admin::ban(conn, actor, id, &reason, until, d)
    })
    .await?;
    state.events.sessions_of_ended(row.id, Reason::Banned).await;
    Ok(HttpResponse::Ok().json(AdminUser::from(row)))
}

pub async fn unban(
    req: HttpRequest,
    admin: AdminApi,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let row = on_target(&req, &admin, &path, &state, admin::unban).await?;
    state.events.user_changed(row.id).await;
    Ok(HttpResponse::Ok().json(AdminUser::from(row)))
}

pub async fn revoke_user_sessions(
    req: HttpRequest,
    admin: AdminApi,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let n = on_target(&req, &admin, &path, &state, admin::revoke_all).await?;
    let user = parse_id(&path)?;
    state.events.sessions_of_ended(user, Reason::Revoked).await;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "revoked": n })))
}

pub async fn revoke_session(
    req: HttpRequest,
    admin: AdminApi,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    on_target(&req, &admin, &path, &state, admin::revoke_one).await?;
    let session = parse_id(&path)?;
    state.events.session_ended(session, Reason::Revoked).await;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
pub struct AuditQuery {
    pub user: Option<String>,
    pub action: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

impl AuditQuery {
    pub fn filter(&self) -> Result<(audit::Filter, i64, i64), AppError> {
        let (page, per_page) = paging(self.page.as_deref(), self.per_page.as_deref())?;
        let user = match self.user.as_deref().filter(|u| !u.is_empty()) {
            Some(u) => Some(
                u.parse::<i64>()
                    .map_err(|_| AppError::BadRequest("`user` is a user id.".into()))?,
            ),
            None => None,
        };
        let time = |field, raw: Option<&str>| match raw.filter(|r| !r.is_empty()) {
            Some(r) => parse_time(field, r).map(Some),
            None => Ok(None),
        };
        Ok((
            audit::Filter {
                user,
                actions: self
                    .action
                    .iter()
                    .flat_map(|a| a.split(','))
                    .map(|a| a.trim().to_string())
                    .filter(|a| !a.is_empty())
                    .collect(),
                from: time("from", self.from.as_deref())?,
                to: time("to", self.to.as_deref())?,
            },
            page,
            per_page,
        ))
    }
}

pub async fn audit_log(
    _admin: AdminApi,
    query: web::Query<AuditQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let (filter, page, per_page) = query.filter()?;
    let (rows, total) = state
        .db
        .run(move |conn| Ok(audit::list(conn, &filter, page, per_page)?))
        .await?;
    let events: Vec<audit::View> = rows.into_iter().map(audit::View::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "events": events, "total": total, "page": page, "per_page": per_page,
    })))
}

/// `POST /api/admin/users/<id>/impersonate`: this browser now acts as the
/// user (a new session, marked with the admin), until stopped.
pub async fn impersonate(
    req: HttpRequest,
    admin: AdminApi,
    path: web::Path<String>,
    session: actix_session::Session,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let target = parse_id(&path)?;
    // No nesting: an impersonation session never starts another.
    crate::auth::guard::refuse_while_impersonating(&req, &admin.0, "impersonation").await?;
    let (actor, device) = (admin.0.user.id, device_of(&req));
    let d = device.clone();
    let row = state
        .db
        .run(move |conn| admin::start_impersonation(conn, actor, target, &d))
        .await?;
    // The admin's assurance carries over (and back at the stop).
    crate::session::extract::begin_session_as(&session, target, &device, Some(actor), admin.0.aal)?;
    Ok(HttpResponse::Ok().json(AdminUser::from(row)))
}

/// Ends the impersonation of this session; the admin gets a fresh session of
/// their own. Answers the admin id to return to, or why not.
pub async fn end_impersonation(
    req: &HttpRequest,
    viewer: &crate::session::extract::SignedIn,
    session: &actix_session::Session,
    state: &AppState,
) -> Result<(i64, i64), AppError> {
    let Some(admin) = viewer.impersonator_id else {
        return Err(AppError::BadRequest(
            "This session is not impersonating anyone.".into(),
        ));
    };
    let (target, sid, device) = (viewer.user.id, viewer.session_id, device_of(req));
    let d = device.clone();
    let outcome = state
        .db
        .run(move |conn| admin::stop_impersonation(conn, admin, target, sid, &d))
        .await;
    // The impersonation session is deleted (or was gone already).
    state.events.session_ended(sid, Reason::SignedOut).await;
    match outcome {
        Ok(()) => {
            crate::session::extract::begin_session(session, admin, &device, viewer.aal)?;
            Ok((admin, target))
        }
        Err(e) => {
            // The impersonation session is gone either way.
            crate::session::extract::end_session(session);
            Err(e)
        }
    }
}

/// `POST /api/admin/impersonation/stop`.
pub async fn stop_impersonating(
    req: HttpRequest,
    viewer: crate::session::extract::ApiUser,
    session: actix_session::Session,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let (admin, target) = end_impersonation(&req, &viewer.0, &session, &state).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "admin_id": admin.to_string(), "user_id": target.to_string(),
    })))
}

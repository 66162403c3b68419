//! The admin panel, server-rendered and usable without JavaScript: users
//! (search, paging, sort), a user (role, permissions, plan, ban, sessions,
//! recent events) and the audit log. Same rules as `/api/admin`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::admin_api::{AuditQuery, ListQuery, parse_id, parse_time};
use super::{Head, render, see_other, see_page};
use crate::AppState;
use crate::admin::{self, AdminUser, PLANS, Patch, Sort};
use crate::audit;
use crate::auth::csrf::CsrfToken;
use crate::auth::guard::AdminPage;
use crate::db::DbConn;
use crate::error::{AppError, PageError};
use crate::events::{Change, Reason};
use crate::i18n::Msg;
use crate::session::Device;
use crate::session::extract::device_of;
use crate::session::manage::{self, SessionView};
use crate::users::ROLES;

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    head: Head,
    users: Vec<AdminUser>,
    q: String,
    sort: &'static str,
    page: i64,
    pages: i64,
    total: i64,
}

impl UsersPage {
    fn link(&self, page: i64, sort: &str) -> String {
        let q = serde_urlencoded::to_string([("q", self.q.as_str())]).unwrap_or_default();
        self.head.at(&format!("/admin?{q}&sort={sort}&page={page}"))
    }
}

pub async fn users(
    req: HttpRequest,
    admin: AdminPage,
    csrf: CsrfToken,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let uq = query.user_query()?;
    let (page, per_page, sort) = (uq.page, uq.per_page, uq.sort);
    let q = uq.q.clone().unwrap_or_default();
    let (rows, total) = state
        .db
        .run(move |conn| Ok(admin::list_users(conn, &uq)?))
        .await?;
    render(
        StatusCode::OK,
        &UsersPage {
            head: Head::new(Some(&admin.0), Some(csrf.0), &req),
            users: rows.into_iter().map(AdminUser::from).collect(),
            q,
            sort: match sort {
                Sort::Created => "created",
                Sort::LastSeen => "last_seen",
            },
            page,
            pages: ((total + per_page - 1) / per_page).max(1),
            total,
        },
    )
}

#[derive(Template)]
#[template(path = "admin_user.html")]
struct UserPage {
    head: Head,
    user: AdminUser,
    grants: String,
    sessions: Vec<SessionView>,
    events: Vec<audit::View>,
    roles: &'static [&'static str],
    plans: &'static [&'static str],
    /// What the last change was (`?saved=`), in the reader's language.
    notice: Option<Msg>,
    error: Option<Msg>,
}

async fn user_page(
    req: &HttpRequest,
    admin: &AdminPage,
    csrf: String,
    state: &AppState,
    id: i64,
    notice: Option<Msg>,
    error: Option<AppError>,
) -> Result<HttpResponse, PageError> {
    let (row, sessions, events) = state
        .db
        .run(move |conn| {
            let row = admin::get_user(conn, id)?.ok_or(AppError::NotFound)?;
            let filter = audit::Filter {
                user: Some(id),
                ..Default::default()
            };
            Ok((
                row,
                manage::of_user(conn, id)?,
                audit::page_of(conn, &filter, 1, 20)?,
            ))
        })
        .await?;
    let user = AdminUser::from(row);
    let status = error
        .as_ref()
        .map(actix_web::ResponseError::status_code)
        .unwrap_or(StatusCode::OK);
    render(
        status,
        &UserPage {
            head: Head::new(Some(&admin.0), Some(csrf), req),
            grants: user.permissions.join(", "),
            user,
            sessions: sessions.iter().map(|s| s.view(None)).collect(),
            events: events.into_iter().map(audit::View::from).collect(),
            roles: &ROLES,
            plans: &PLANS,
            notice,
            error: error.map(|e| e.msg()),
        },
    )
}

#[derive(Deserialize)]
pub struct Saved {
    saved: Option<String>,
}

pub async fn user(
    req: HttpRequest,
    admin: AdminPage,
    csrf: CsrfToken,
    path: web::Path<String>,
    query: web::Query<Saved>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let id = parse_id(&path)?;
    let notice = query.saved.as_deref().map(saved_notice);
    user_page(&req, &admin, csrf.0, &state, id, notice, None).await
}

/// The notice for `?saved=what`: a sentence of its own where one says more
/// than "Saved: what" (a two-factor reset), else the generic one.
fn saved_notice(what: &str) -> Msg {
    match what {
        "two_factor_reset" => Msg::key("admin-two-factor-reset-notice"),
        other => Msg::key("admin-saved").with("what", other),
    }
}

/// The user's page after a change: a redirect when it worked, the page with
/// the error (and its status) when it did not.
async fn after(
    req: &HttpRequest,
    admin: &AdminPage,
    csrf: String,
    state: &AppState,
    id: i64,
    what: &str,
    outcome: Result<(), AppError>,
) -> Result<HttpResponse, PageError> {
    match outcome {
        Ok(()) => Ok(see_page(
            &state.config.mount,
            &format!("/admin/users/{id}?saved={what}"),
        )),
        Err(e @ (AppError::Conflict(_) | AppError::Invalid { .. } | AppError::BadRequest(_))) => {
            user_page(req, admin, csrf, state, id, None, Some(e)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Runs one admin action on user `id` (from the path) as this admin, tells
/// the live streams `announce(id)` when it committed, then answers as
/// [`after`] does. `prepared` carries what the form parsed into, or its error.
#[allow(clippy::too_many_arguments)]
async fn act<P: Send + 'static>(
    req: &HttpRequest,
    admin: AdminPage,
    path: &str,
    state: &AppState,
    what: &str,
    announce: fn(i64) -> Change,
    prepared: Result<P, AppError>,
    action: impl FnOnce(&mut DbConn, i64, i64, P, &Device) -> Result<(), AppError> + Send + 'static,
) -> Result<HttpResponse, PageError> {
    let id = parse_id(path)?;
    let (actor, device) = (admin.0.user.id, device_of(req));
    let outcome = match prepared {
        Ok(p) => {
            state
                .db
                .run(move |conn| action(conn, actor, id, p, &device))
                .await
        }
        Err(e) => Err(e),
    };
    if outcome.is_ok() {
        state.events.publish(announce(id)).await;
    }
    let csrf = CsrfToken::of(req)?;
    after(req, &admin, csrf.0, state, id, what, outcome).await
}

#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    permissions: String,
    #[serde(default)]
    plan: String,
    #[serde(default)]
    plan_expires_at: String,
}

/// Role, permissions (comma-separated) and plan, from one form.
pub async fn update(
    req: HttpRequest,
    admin: AdminPage,
    path: web::Path<String>,
    form: web::Form<ProfileForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let f = form.into_inner();
    let patch = (|| {
        Ok(Patch {
            role: Some(f.role.trim().to_string()),
            permissions: Some(
                f.permissions
                    .split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect(),
            ),
            plan: Some(f.plan.trim().to_string()),
            plan_expires_at: Some(match f.plan_expires_at.trim() {
                "" => None,
                raw => Some(parse_time("plan_expires_at", raw)?),
            }),
        })
    })();
    act(
        &req,
        admin,
        &path,
        &state,
        "user",
        Change::User,
        patch,
        |conn, actor, id, patch, d| admin::patch_user(conn, actor, id, patch, d).map(|_| ()),
    )
    .await
}

#[derive(Deserialize)]
pub struct BanForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    until: String,
}

pub async fn ban(
    req: HttpRequest,
    admin: AdminPage,
    path: web::Path<String>,
    form: web::Form<BanForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let until = match form.until.trim() {
        "" => Ok(None),
        raw => parse_time("until", raw).map(Some),
    };
    let reason = form.reason.clone();
    act(
        &req,
        admin,
        &path,
        &state,
        "ban",
        |user| Change::SessionsOf {
            user,
            reason: Reason::Banned,
        },
        until,
        move |conn, actor, id, until, d| admin::ban(conn, actor, id, &reason, until, d).map(|_| ()),
    )
    .await
}

pub async fn unban(
    req: HttpRequest,
    admin: AdminPage,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    act(
        &req,
        admin,
        &path,
        &state,
        "unban",
        Change::User,
        Ok(()),
        |conn, actor, id, (), d| admin::unban(conn, actor, id, d).map(|_| ()),
    )
    .await
}

pub async fn revoke_all(
    req: HttpRequest,
    admin: AdminPage,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    act(
        &req,
        admin,
        &path,
        &state,
        "sessions",
        |user| Change::SessionsOf {
            user,
            reason: Reason::Revoked,
        },
        Ok(()),
        |conn, actor, id, (), d| admin::revoke_all(conn, actor, id, d).map(|_| ()),
    )
    .await
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    user: String,
}

/// Revokes session `<sid>`; the form says whose page to return to.
pub async fn revoke_one(
    req: HttpRequest,
    admin: AdminPage,
    csrf: CsrfToken,
    path: web::Path<String>,
    form: web::Form<RevokeForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let sid = parse_id(&path)?;
    let back = parse_id(&form.user)?;
    let (actor, device) = (admin.0.user.id, device_of(&req));
    let outcome = state
        .db
        .run(move |conn| admin::revoke_one(conn, actor, sid, &device))
        .await;
    if outcome.is_ok() {
        state.events.session_ended(sid, Reason::Revoked).await;
    }
    after(&req, &admin, csrf.0, &state, back, "session", outcome).await
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
struct AuditPage {
    head: Head,
    events: Vec<audit::View>,
    user: String,
    action: String,
    from: String,
    to: String,
    page: i64,
    pages: i64,
    total: i64,
}

impl AuditPage {
    fn link(&self, page: i64) -> String {
        let q = serde_urlencoded::to_string([
            ("user", self.user.as_str()),
            ("action", self.action.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
        ])
        .unwrap_or_default();
        self.head.at(&format!("/admin/audit?{q}&page={page}"))
    }
}

pub async fn audit_log(
    req: HttpRequest,
    admin: AdminPage,
    csrf: CsrfToken,
    query: web::Query<AuditQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (filter, page, per_page) = query.filter()?;
    let (rows, total) = state
        .db
        .run(move |conn| Ok(audit::list(conn, &filter, page, per_page)?))
        .await?;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    render(
        StatusCode::OK,
        &AuditPage {
            head: Head::new(Some(&admin.0), Some(csrf.0), &req),
            events: rows.into_iter().map(audit::View::from).collect(),
            user: text(&query.user),
            action: text(&query.action),
            from: text(&query.from),
            to: text(&query.to),
            page,
            pages: ((total + per_page - 1) / per_page).max(1),
            total,
        },
    )
}

pub async fn impersonate(
    req: HttpRequest,
    admin: AdminPage,
    csrf: CsrfToken,
    path: web::Path<String>,
    session: actix_session::Session,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let target = parse_id(&path)?;
    // No nesting: an impersonation session never starts another.
    crate::auth::guard::refuse_while_impersonating(&req, &admin.0, "impersonation").await?;
    let (actor, device) = (admin.0.user.id, device_of(&req));
    let d = device.clone();
    let started = state
        .db
        .run(move |conn| admin::start_impersonation(conn, actor, target, &d).map(|_| ()))
        .await;
    match started {
        Ok(()) => {
            crate::session::extract::begin_session_as(
                &session,
                target,
                &device,
                Some(actor),
                admin.0.aal,
            )?;
            Ok(see_other("/"))
        }
        Err(e) => {
            after(
                &req,
                &admin,
                csrf.0,
                &state,
                target,
                "impersonation",
                Err(e),
            )
            .await
        }
    }
}

pub async fn stop_impersonating(
    req: HttpRequest,
    viewer: crate::session::extract::PageUser,
    session: actix_session::Session,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let (_, target) =
        super::admin_api::end_impersonation(&req, &viewer.0, &session, &state).await?;
    Ok(see_page(
        &state.config.mount,
        &format!("/admin/users/{target}"),
    ))
}

//! What admins do to users: list and search, read, change role, permissions
//! and plan, ban and unban, revoke sessions. Every change is checked, made and
//! audited in one transaction; none may leave the instance without an admin.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::audit::{self, Event, action};
use crate::auth::gate::ban_in_force;
use crate::db::DbConn;
use crate::db::schema::{sessions, users};
use crate::error::AppError;
use crate::session::Device;
use crate::users::{ROLES, effective_permissions, grants_of, plan_in_force, validate_permission};

mod impersonation;

pub use impersonation::{start_impersonation, stop_impersonation};

pub const PLANS: [&str; 2] = ["free", "premium"];

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct AdminRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub image: Option<String>,
    pub role: String,
    pub permissions: String,
    pub plan: String,
    pub plan_expires_at: Option<NaiveDateTime>,
    pub theme: String,
    pub language: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: Option<NaiveDateTime>,
    pub banned_at: Option<NaiveDateTime>,
    pub banned_until: Option<NaiveDateTime>,
    pub ban_reason: Option<String>,
    pub two_factor_at: Option<NaiveDateTime>,
}

/// A user as admins see it (JSON). `permissions` are the user's own grants
/// (what `PATCH` sets); `effective_permissions` adds the role's.
#[derive(Debug, Serialize)]
pub struct AdminUser {
    pub id: String,
    pub name: String,
    pub email: String,
    pub image: Option<String>,
    pub role: String,
    pub permissions: Vec<String>,
    pub effective_permissions: Vec<String>,
    pub theme: String,
    pub language: String,
    /// The plan in force now (`free` once `plan_expires_at` has passed).
    pub plan: String,
    pub plan_expires_at: Option<String>,
    pub banned: bool,
    pub banned_until: Option<String>,
    pub ban_reason: Option<String>,
    /// Signs in with a second factor (an admin can reset it).
    pub two_factor: bool,
    pub created_at: String,
    pub last_seen_at: Option<String>,
}

impl From<AdminRow> for AdminUser {
    fn from(r: AdminRow) -> Self {
        let now = Utc::now().naive_utc();
        let banned = ban_in_force(r.banned_at, r.banned_until);
        let rfc = crate::web::rfc3339;
        AdminUser {
            id: r.id.to_string(),
            effective_permissions: effective_permissions(&r.role, &r.permissions),
            permissions: grants_of(&r.permissions),
            plan: plan_in_force(r.plan, r.plan_expires_at, now),
            plan_expires_at: r.plan_expires_at.map(rfc),
            banned,
            banned_until: if banned {
                r.banned_until.map(rfc)
            } else {
                None
            },
            ban_reason: if banned { r.ban_reason } else { None },
            two_factor: r.two_factor_at.is_some(),
            created_at: rfc(r.created_at),
            last_seen_at: r.last_seen_at.map(rfc),
            name: r.name,
            email: r.email,
            image: r.image,
            role: r.role,
            theme: r.theme,
            language: r.language,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Created,
    LastSeen,
}

pub struct UserQuery {
    pub q: Option<String>,
    pub page: i64,
    pub per_page: i64,
    pub sort: Sort,
}

/// A page of users, newest first (or most recently seen first), and the total.
pub fn list_users(conn: &mut DbConn, uq: &UserQuery) -> QueryResult<(Vec<AdminRow>, i64)> {
    let pattern = uq.q.as_ref().map(|q| {
        let escaped = q
            .trim()
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    macro_rules! filtered {
        () => {{
            let mut q = users::table.into_boxed();
            if let Some(p) = &pattern {
                q = q.filter(
                    lower(users::email)
                        .like(p.clone())
                        .escape('\\')
                        .or(lower(users::name).like(p.clone()).escape('\\')),
                );
            }
            q
        }};
    }
    let total: i64 = filtered!().count().get_result(conn)?;
    let q = filtered!().select(AdminRow::as_select());
    let q = match uq.sort {
        Sort::Created => q.order((users::created_at.desc(), users::id.desc())),
        Sort::LastSeen => q.order((
            users::last_seen_at.is_null(),
            users::last_seen_at.desc(),
            users::id.desc(),
        )),
    };
    let rows = q
        .limit(uq.per_page)
        .offset((uq.page - 1) * uq.per_page)
        .load(conn)?;
    Ok((rows, total))
}

pub fn get_user(conn: &mut DbConn, id: i64) -> QueryResult<Option<AdminRow>> {
    users::table
        .find(id)
        .select(AdminRow::as_select())
        .first(conn)
        .optional()
}

fn must_get(conn: &mut DbConn, id: i64) -> Result<AdminRow, AppError> {
    get_user(conn, id)?.ok_or(AppError::NotFound)
}

/// Admins other than `except` whose ban (if any) is not in force.
pub(crate) fn other_active_admins(conn: &mut DbConn, except: i64) -> QueryResult<usize> {
    let rows: Vec<(Option<NaiveDateTime>, Option<NaiveDateTime>)> = users::table
        .filter(users::role.eq("admin"))
        .filter(users::id.ne(except))
        .select((users::banned_at, users::banned_until))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(at, until)| !ban_in_force(*at, *until))
        .count())
}

/// Holds the admins' rows, and user `also`'s, until the transaction ends:
/// every change that can leave no admin (a demotion, a ban, a deletion)
/// takes this first, so two of them cannot each count the other admin as
/// still there and both go ahead. PostgreSQL: `SELECT … FOR UPDATE`, in id
/// order so two holders never deadlock; SQLite: nothing to do, its
/// `write_transaction` (`BEGIN IMMEDIATE`) already runs one at a time.
pub(crate) fn hold_admins(conn: &mut DbConn, also: i64) -> QueryResult<()> {
    if let DbConn::Postgres(_) = conn {
        diesel::sql_query(
            "SELECT id FROM users WHERE role = 'admin' OR id = $1 ORDER BY id FOR UPDATE",
        )
        .bind::<diesel::sql_types::BigInt, _>(also)
        .execute(conn)?;
    }
    Ok(())
}

fn no_admin_left() -> AppError {
    AppError::Conflict("That would leave no admin: make another user admin first.".into())
}

/// What `PATCH /api/admin/users/<id>` may change; `None` leaves it.
#[derive(Debug, Default)]
pub struct Patch {
    pub role: Option<String>,
    pub permissions: Option<Vec<String>>,
    pub plan: Option<String>,
    /// `Some(None)` clears the expiry.
    pub plan_expires_at: Option<Option<NaiveDateTime>>,
}

impl Patch {
    pub fn validate(&self) -> Result<(), AppError> {
        if let Some(r) = &self.role
            && !ROLES.contains(&r.as_str())
        {
            return Err(AppError::invalid(
                "role",
                format!("The role is one of {ROLES:?}."),
            ));
        }
        if let Some(ps) = &self.permissions {
            if ps.len() > 100 {
                return Err(AppError::invalid("permissions", "At most 100 permissions."));
            }
            for p in ps {
                validate_permission(p).map_err(|m| AppError::invalid("permissions", m))?;
            }
        }
        if let Some(p) = &self.plan
            && !PLANS.contains(&p.as_str())
        {
            return Err(AppError::invalid(
                "plan",
                format!("The plan is one of {PLANS:?}."),
            ));
        }
        Ok(())
    }
}

pub fn patch_user(
    conn: &mut DbConn,
    actor: i64,
    id: i64,
    patch: Patch,
    device: &Device,
) -> Result<AdminRow, AppError> {
    patch.validate()?;
    conn.write_transaction(|conn| {
        if patch.role.is_some() {
            // A demotion may take the last admin (see hold_admins).
            hold_admins(conn, id)?;
        }
        let before = must_get(conn, id)?;
        let now = Utc::now().naive_utc();
        let event = |action, details| Event {
            actor_id: Some(actor),
            target_id: Some(id),
            action,
            device: Some(device),
            details,
        };
        if let Some(role) = &patch.role
            && *role != before.role
        {
            if before.role == "admin" && other_active_admins(conn, id)? == 0 {
                return Err(no_admin_left());
            }
            diesel::update(users::table.find(id))
                .set((users::role.eq(role), users::updated_at.eq(now)))
                .execute(conn)?;
            let mut details = serde_json::json!({"from": before.role, "to": role});
            if before.role == "admin" {
                // A demoted admin stops acting as anyone.
                let ended = crate::session::delete_impersonations_by(conn, id)?;
                details["impersonations_ended"] = ended.into();
            }
            audit::record(conn, event(action::ROLE_CHANGED, details))?;
        }
        if let Some(mut ps) = patch.permissions.clone() {
            ps.sort();
            ps.dedup();
            let old = grants_of(&before.permissions);
            if ps != old {
                let cell = serde_json::to_string(&ps).expect("strings serialize");
                diesel::update(users::table.find(id))
                    .set((users::permissions.eq(cell), users::updated_at.eq(now)))
                    .execute(conn)?;
                audit::record(
                    conn,
                    event(
                        action::PERMISSIONS_CHANGED,
                        serde_json::json!({"from": old, "to": ps}),
                    ),
                )?;
            }
        }
        if patch.plan.is_some() || patch.plan_expires_at.is_some() {
            let plan = patch.plan.clone().unwrap_or(before.plan.clone());
            let expires = patch.plan_expires_at.unwrap_or(before.plan_expires_at);
            diesel::update(users::table.find(id))
                .set((
                    users::plan.eq(&plan),
                    users::plan_expires_at.eq(expires),
                    users::updated_at.eq(now),
                ))
                .execute(conn)?;
            audit::record(
                conn,
                event(
                    action::PLAN_CHANGED,
                    serde_json::json!({
                        "from": before.plan, "to": plan,
                        "expires_at": expires.map(crate::web::rfc3339),
                    }),
                ),
            )?;
        }
        must_get(conn, id)
    })
}

/// Bans the user (optionally until a time) and ends every session they have,
/// including those they impersonate through.
pub fn ban(
    conn: &mut DbConn,
    actor: i64,
    id: i64,
    reason: &str,
    until: Option<NaiveDateTime>,
    device: &Device,
) -> Result<AdminRow, AppError> {
    let reason: String = reason.trim().chars().take(500).collect();
    let now = Utc::now().naive_utc();
    if until.is_some_and(|u| u <= now) {
        return Err(AppError::invalid(
            "until",
            "The end of a ban must be in the future.",
        ));
    }
    conn.write_transaction(|conn| {
        // Banning an admin may take the last one (see hold_admins).
        hold_admins(conn, id)?;
        let before = must_get(conn, id)?;
        if before.role == "admin" && other_active_admins(conn, id)? == 0 {
            return Err(no_admin_left());
        }
        diesel::update(users::table.find(id))
            .set((
                users::banned_at.eq(Some(now)),
                users::banned_until.eq(until),
                users::ban_reason.eq(Some(&reason)),
                users::updated_at.eq(now),
            ))
            .execute(conn)?;
        let ended = crate::session::delete_all_by(conn, id)?;
        audit::record(
            conn,
            Event {
                actor_id: Some(actor),
                target_id: Some(id),
                action: action::BANNED,
                device: Some(device),
                details: serde_json::json!({
                    "reason": reason,
                    "until": until.map(crate::web::rfc3339),
                    "sessions_ended": ended,
                }),
            },
        )?;
        must_get(conn, id)
    })
}

pub fn unban(
    conn: &mut DbConn,
    actor: i64,
    id: i64,
    device: &Device,
) -> Result<AdminRow, AppError> {
    conn.write_transaction(|conn| {
        must_get(conn, id)?;
        diesel::update(users::table.find(id))
            .set((
                users::banned_at.eq(None::<NaiveDateTime>),
                users::banned_until.eq(None::<NaiveDateTime>),
                users::ban_reason.eq(None::<String>),
                users::updated_at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            Event {
                actor_id: Some(actor),
                target_id: Some(id),
                action: action::UNBANNED,
                device: Some(device),
                details: serde_json::json!({}),
            },
        )?;
        must_get(conn, id)
    })
}

/// Ends all of a user's sessions, and the sessions they impersonate through;
/// answers how many.
pub fn revoke_all(
    conn: &mut DbConn,
    actor: i64,
    id: i64,
    device: &Device,
) -> Result<usize, AppError> {
    conn.write_transaction(|conn| {
        must_get(conn, id)?;
        let n = crate::session::delete_all_by(conn, id)?;
        audit::record(
            conn,
            Event {
                actor_id: Some(actor),
                target_id: Some(id),
                action: action::SESSION_REVOKED,
                device: Some(device),
                details: serde_json::json!({"all": true, "count": n}),
            },
        )?;
        Ok(n)
    })
}

/// Ends one session (of any user); `NotFound` when there is no such session.
pub fn revoke_one(
    conn: &mut DbConn,
    actor: i64,
    session_id: i64,
    device: &Device,
) -> Result<(), AppError> {
    conn.write_transaction(|conn| {
        let owner: i64 = sessions::table
            .find(session_id)
            .select(sessions::user_id)
            .first(conn)
            .optional()?
            .ok_or(AppError::NotFound)?;
        crate::session::delete_by_id(conn, session_id)?;
        audit::record(
            conn,
            Event {
                actor_id: Some(actor),
                target_id: Some(owner),
                action: action::SESSION_REVOKED,
                device: Some(device),
                details: serde_json::json!({"session_id": session_id.to_string()}),
            },
        )?;
        Ok(())
    })
}

//! Impersonation: an admin acting as a non-admin user, and the way back.
//! Every request of such a session re-checks the rules in the one session
//! join (see `session::admissible`); these record the start and the stop.

use crate::audit::{self, Event, action};
use crate::auth::gate::ban_in_force;
use crate::db::DbConn;
use crate::error::AppError;
use crate::session::Device;

use super::{AdminRow, get_user, must_get};

/// Checks that `admin` may act as `target` (an existing user who is neither an
/// admin nor banned) and records the start. The caller starts the session.
pub fn start_impersonation(
    conn: &mut DbConn,
    admin: i64,
    target: i64,
    device: &Device,
) -> Result<AdminRow, AppError> {
    conn.write_transaction(|conn| {
        let row = must_get(conn, target)?;
        if row.role == "admin" || target == admin {
            return Err(AppError::Forbidden);
        }
        if ban_in_force(row.banned_at, row.banned_until) {
            return Err(AppError::Conflict(
                "A banned user cannot be impersonated.".into(),
            ));
        }
        audit::record(
            conn,
            Event {
                actor_id: Some(admin),
                target_id: Some(target),
                action: action::IMPERSONATION_STARTED,
                device: Some(device),
                details: serde_json::json!({}),
            },
        )?;
        Ok(row)
    })
}

/// Ends an impersonation: the session recorded as `admin` acting as `target`
/// is deleted and the stop recorded. `Forbidden` when that session is already
/// gone or the impersonator is no longer an active admin (they get no session
/// back; the impersonation ends all the same).
pub fn stop_impersonation(
    conn: &mut DbConn,
    admin: i64,
    target: i64,
    session_id: i64,
    device: &Device,
) -> Result<(), AppError> {
    let still_admin = conn.write_transaction(|conn| {
        // A session revoked meanwhile returns no one.
        if crate::session::delete_impersonation(conn, session_id, admin, target)? == 0 {
            return Ok(false);
        }
        audit::record(
            conn,
            Event {
                actor_id: Some(admin),
                target_id: Some(target),
                action: action::IMPERSONATION_STOPPED,
                device: Some(device),
                details: serde_json::json!({}),
            },
        )?;
        Ok::<_, AppError>(
            get_user(conn, admin)?
                .is_some_and(|b| b.role == "admin" && !ban_in_force(b.banned_at, b.banned_until)),
        )
    })?;
    if still_admin {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

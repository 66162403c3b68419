//! Deleting one's own account: the user row goes, and with it (`ON DELETE
//! CASCADE`) their sessions, impersonation sessions they hold, linked
//! accounts, mailed tokens, second factors, passkeys and pending sign-ins, in
//! one transaction. The audit log keeps its plain ids; rate-limit counters
//! keyed by the address stay until their window ends (they hold no account).

use diesel::prelude::*;

use crate::audit::{self, Event, action};
use crate::db::DbConn;
use crate::db::schema::{oauth_states, users};
use crate::error::AppError;
use crate::i18n::Msg;
use crate::session::Device;

/// What a deletion ended, for the caller to tell live streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deleted {
    /// Sessions of the user and sessions in which they acted as someone else.
    pub sessions_ended: usize,
}

/// Deletes `user_id` when `typed_email` is their address (as the email rule
/// reads it): otherwise `422` on `email` and nothing changes. The last active
/// admin cannot go (`409`). `account_deleted` is recorded in the same
/// transaction, naming the user as actor and target.
pub fn delete_own_account(
    conn: &mut DbConn,
    user_id: i64,
    typed_email: &str,
    device: &Device,
) -> Result<Deleted, AppError> {
    let typed = super::normalize_email(typed_email).ok();
    locked(conn, user_id, |conn| {
        let (email, role): (String, String) = users::table
            .find(user_id)
            .select((users::email, users::role))
            .first(conn)
            .optional()?
            .ok_or(AppError::NotFound)?;
        if typed.as_deref() != Some(email.as_str()) {
            return Err(AppError::invalid(
                "email",
                Msg::key("delete-email-mismatch"),
            ));
        }
        if role == "admin" && crate::admin::other_active_admins(conn, user_id)? == 0 {
            return Err(AppError::Conflict(Msg::key("delete-last-admin")));
        }
        // The cascade would take these too; counted here for the event.
        let sessions_ended = crate::session::delete_all_by(conn, user_id)?;
        // A provider link this user started has no foreign key (the flow's
        // row outlives nothing else): it goes with them.
        diesel::delete(oauth_states::table.filter(oauth_states::link_user_id.eq(user_id)))
            .execute(conn)?;
        diesel::delete(users::table.find(user_id)).execute(conn)?;
        audit::record(
            conn,
            Event::by(user_id, action::ACCOUNT_DELETED, device)
                .details(serde_json::json!({ "sessions_ended": sessions_ended })),
        )?;
        Ok(Deleted { sessions_ended })
    })
}

/// Runs `f` in a transaction that holds the admins' rows (and the user's)
/// against a concurrent deletion, demotion or ban: two of them at once
/// cannot both see another admin still there (`admin::hold_admins`, the
/// lock those take too).
fn locked<T>(
    conn: &mut DbConn,
    user_id: i64,
    f: impl FnOnce(&mut DbConn) -> Result<T, AppError>,
) -> Result<T, AppError> {
    conn.write_transaction(|conn| {
        crate::admin::hold_admins(conn, user_id)?;
        f(conn)
    })
}

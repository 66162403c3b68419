//! Fresh sign-in: a sensitive change (password, email, two factors off,
//! passkeys, recovery codes, deleting the account) needs a session signed in,
//! or re-confirmed at `/reauth`, within `SESSION_FRESH_AGE`. Handlers call
//! [`require_fresh`] after the impersonation guard; `/reauth` calls
//! [`reconfirm`] once the user has proved it is them.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::audit::{self, Event, action};
use crate::db::DbConn;
use crate::db::schema::sessions;
use crate::error::AppError;
use crate::session::Device;
use crate::session::extract::SignedIn;

/// Whether a session authenticated at `authenticated_at` is still fresh at
/// `now`. A clock that went backwards (a time in the future) counts as fresh
/// for no longer than the age itself would allow.
pub fn is_fresh(authenticated_at: DateTime<Utc>, fresh_age: Duration, now: DateTime<Utc>) -> bool {
    let age = chrono::Duration::from_std(fresh_age).unwrap_or(chrono::Duration::zero());
    let since = now - authenticated_at;
    since <= age && since >= -age
}

/// `Ok` when this session may make a sensitive change now; otherwise
/// `ReauthRequired(callback)`: a page goes to `/reauth?callbackUrl=<callback>`,
/// JSON answers `403 {"error":"reauth_required"}`. `callback` is the local
/// path to come back to (a form post cannot be replayed, so its page).
pub fn require_fresh(
    signed_in: &SignedIn,
    fresh_age: Duration,
    callback: &str,
) -> Result<(), AppError> {
    if is_fresh(signed_in.authenticated_at, fresh_age, Utc::now()) {
        Ok(())
    } else {
        Err(AppError::ReauthRequired(callback.to_owned()))
    }
}

/// How the user re-confirmed (`details.method` of `reauthenticated`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proof {
    Password,
    Totp,
    RecoveryCode,
    Passkey,
}

impl Proof {
    pub fn as_str(self) -> &'static str {
        match self {
            Proof::Password => "password",
            Proof::Totp => "totp",
            Proof::RecoveryCode => "recovery_code",
            Proof::Passkey => "passkey",
        }
    }
}

/// Marks session `session_id` of `user_id` as authenticated now (its
/// assurance level stays) in one UPDATE, and records `reauthenticated` in the
/// same transaction. `false` when the session is gone meanwhile (revoked,
/// signed out) or is an impersonation session, which cannot be re-confirmed
/// as the user: nothing is written then.
pub fn reconfirm(
    conn: &mut DbConn,
    session_id: i64,
    user_id: i64,
    proof: Proof,
    device: &Device,
) -> QueryResult<bool> {
    conn.write_transaction(|conn| {
        let n = diesel::update(
            sessions::table
                .filter(sessions::id.eq(session_id))
                .filter(sessions::user_id.eq(user_id))
                .filter(sessions::impersonator_id.is_null()),
        )
        .set(sessions::authenticated_at.eq(Utc::now().naive_utc()))
        .execute(conn)?;
        if n == 0 {
            return Ok(false);
        }
        audit::record(
            conn,
            Event::by(user_id, action::REAUTHENTICATED, device).details(serde_json::json!({
                "method": proof.as_str(),
                "session_id": session_id.to_string(),
            })),
        )?;
        Ok(true)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_fresh_for_the_age_only() {
        let now = Utc::now();
        let age = Duration::from_secs(600);
        assert!(is_fresh(now, age, now));
        assert!(is_fresh(now - chrono::Duration::seconds(599), age, now));
        assert!(!is_fresh(now - chrono::Duration::seconds(601), age, now));
        assert!(!is_fresh(now - chrono::Duration::days(3), age, now));
        // A time far in the future (a clock set back) does not count as fresh forever.
        assert!(!is_fresh(now + chrono::Duration::days(3), age, now));
    }
}

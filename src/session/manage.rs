//! Listing a user's live sessions (for the user and for admins) and revoking
//! them. Revoked means the row is gone: that device is anonymous next request.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::DbConn;
use crate::db::schema::sessions;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct SessionInfo {
    pub id: i64,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub user_agent: String,
    pub ip: String,
    /// When it was signed in, or last re-confirmed at `/reauth`.
    pub authenticated_at: NaiveDateTime,
    /// 1: one factor; 2: two factors or a passkey.
    pub aal: i32,
}

/// The SPEC's JSON shape of one session (the id is the row's, not the token).
#[derive(Debug, Serialize)]
pub struct SessionView {
    pub id: String,
    pub current: bool,
    pub device: String,
    pub ip: String,
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
    /// When the session was last authenticated (signed in or re-confirmed).
    pub authenticated_at: String,
    /// `aal1` (one factor) or `aal2` (two factors, or a passkey).
    pub aal: String,
}

/// "Firefox 120 on Linux", from the User-Agent (woothee); "Unknown device"
/// when it says nothing useful.
pub fn describe_device(user_agent: &str) -> String {
    let raw = || -> String {
        match user_agent.trim() {
            "" => "Unknown device".into(),
            ua => ua.chars().take(60).collect(),
        }
    };
    let known = |s: &str| !s.is_empty() && s != woothee::woothee::VALUE_UNKNOWN;
    let Some(r) = woothee::parser::Parser::new()
        .parse(user_agent)
        .filter(|r| known(r.name))
    else {
        return raw();
    };
    let browser = match r.version.split('.').next().filter(|v| known(v)) {
        Some(major) => format!("{} {major}", r.name),
        None => r.name.to_string(),
    };
    if known(r.os) {
        format!("{browser} on {}", r.os)
    } else {
        browser
    }
}

impl SessionView {
    /// The catalogue key that names the assurance level for a reader.
    pub fn aal_key(&self) -> &'static str {
        if self.aal == "aal2" {
            "sessions-aal2"
        } else {
            "sessions-aal1"
        }
    }
}

/// The assurance level's name: `aal2` for two factors or a passkey, `aal1`
/// otherwise.
pub fn aal_name(aal: i32) -> &'static str {
    if aal >= 2 { "aal2" } else { "aal1" }
}

impl SessionInfo {
    pub fn view(&self, current: Option<i64>) -> SessionView {
        let rfc = crate::web::rfc3339;
        SessionView {
            id: self.id.to_string(),
            current: current == Some(self.id),
            device: describe_device(&self.user_agent),
            ip: self.ip.clone(),
            created_at: rfc(self.created_at),
            last_seen_at: rfc(self.last_seen_at),
            expires_at: rfc(self.expires_at),
            authenticated_at: rfc(self.authenticated_at),
            aal: aal_name(self.aal).to_owned(),
        }
    }
}

/// The user's live sessions, most recently seen first.
pub fn of_user(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<SessionInfo>> {
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::expires_at.gt(Utc::now().naive_utc()))
        .order((sessions::last_seen_at.desc(), sessions::id.desc()))
        .select(SessionInfo::as_select())
        .load(conn)
}

/// Deletes the user's session `id`; `false` when they have no such session.
pub fn revoke_own(conn: &mut DbConn, user_id: i64, id: i64) -> QueryResult<bool> {
    let n = diesel::delete(
        sessions::table
            .filter(sessions::id.eq(id))
            .filter(sessions::user_id.eq(user_id)),
    )
    .execute(conn)?;
    Ok(n == 1)
}

/// Deletes every session of the user except `keep`; answers how many.
pub fn revoke_others(conn: &mut DbConn, user_id: i64, keep: i64) -> QueryResult<usize> {
    diesel::delete(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::id.ne(keep)),
    )
    .execute(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_named_from_the_user_agent() {
        let _heavy = crate::MEMORY_HEAVY_TESTS
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let ff = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";
        assert_eq!(describe_device(ff), "Firefox 120 on Linux");
        assert_eq!(describe_device(""), "Unknown device");
        assert!(describe_device("curl/8.5.0").contains("curl"));
        assert_eq!(describe_device("???"), "???");
    }
}

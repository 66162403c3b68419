//! Database sessions: the token, the expiry rules, the one-join load that every
//! signed-in request makes, the actix-session store and the cookie policy.

pub mod callback;
pub mod cookie;
pub mod extract;
pub mod manage;
pub mod previous_keys;
pub mod store;
pub mod token;

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::auth::gate::ban_in_force;
use crate::db::DbConn;
use crate::db::schema::{sessions, users};
use crate::users::{SessionUser, UserRow};
pub use token::{PlainToken, TokenHash};

/// Sliding expiry as in Auth.js: a session lives `max_age` after its last
/// extension, and is extended at most once per `update_age`.
#[derive(Clone, Copy, Debug)]
pub struct ExpiryPolicy {
    pub max_age: Duration,
    pub update_age: Duration,
}

impl ExpiryPolicy {
    fn max_age(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.max_age).unwrap_or(chrono::Duration::days(30))
    }

    fn update_age(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.update_age).unwrap_or(chrono::Duration::days(1))
    }

    pub fn expiry_from(&self, now: NaiveDateTime) -> NaiveDateTime {
        now + self.max_age()
    }

    /// Due when the last extension (expires_at - max_age) is at least update_age ago.
    pub fn is_due(&self, expires_at: NaiveDateTime, now: NaiveDateTime) -> bool {
        expires_at - self.max_age() + self.update_age() <= now
    }
}

/// The columns of `sessions` a request needs.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: i64,
    pub expires_at: NaiveDateTime,
    /// The admin acting as this user, when this is an impersonation session.
    pub impersonator_id: Option<i64>,
    /// When the session was signed in, or re-confirmed at `/reauth`.
    pub authenticated_at: NaiveDateTime,
    /// 1: one factor; 2: two factors or a passkey.
    pub aal: i32,
}

/// A live session and its user, as loaded for one request.
#[derive(Debug, Clone)]
pub struct LoadedSession {
    pub session_id: i64,
    pub user: SessionUser,
    pub expires_at: DateTime<Utc>,
    /// The expiry was pushed forward by this request (the cookie is sent again).
    pub extended: bool,
    /// The admin acting as this user (impersonation), if any.
    pub impersonator_id: Option<i64>,
    /// When the session was signed in, or re-confirmed at `/reauth`.
    pub authenticated_at: DateTime<Utc>,
    /// Assurance level: 1 (one factor) or 2 (two factors, or a passkey).
    pub aal: i32,
}

/// What the join reads besides the session and the user's view: the user's
/// ban and the impersonating admin's standing, so that the rules of
/// [`admissible`] are decided on the same row, with no other query.
#[derive(Debug, Clone, Default)]
pub struct Standing {
    pub banned_at: Option<NaiveDateTime>,
    pub banned_until: Option<NaiveDateTime>,
    /// The impersonator's role, `banned_at` and `banned_until`; `None` when the
    /// session impersonates no one or its admin row is gone.
    pub impersonator: Option<ImpersonatorCols>,
}

/// One row of the session join.
pub type Found = (SessionRow, UserRow, Standing);

diesel::alias!(users as impersonator: ImpersonatorAlias);

/// The session join: the session, its user, and (left join) the admin
/// impersonating through it. `$filter` picks the session.
macro_rules! session_join {
    ($conn:expr, $filter:expr) => {
        sessions::table
            .inner_join(users::table)
            .left_join(
                impersonator
                    .on(sessions::impersonator_id.eq(impersonator.field(users::id).nullable())),
            )
            .filter($filter)
            .select((
                SessionRow::as_select(),
                UserRow::as_select(),
                (users::banned_at, users::banned_until),
                impersonator
                    .fields((users::role, users::banned_at, users::banned_until))
                    .nullable(),
            ))
            .get_result::<(SessionRow, UserRow, Ban, Option<ImpersonatorCols>)>($conn)
            .optional()
            .map(|found| found.map(into_found))
    };
}

type Ban = (Option<NaiveDateTime>, Option<NaiveDateTime>);
type ImpersonatorCols = (String, Option<NaiveDateTime>, Option<NaiveDateTime>);

fn into_found(
    (session, user, (banned_at, banned_until), imp): (
        SessionRow,
        UserRow,
        Ban,
        Option<ImpersonatorCols>,
    ),
) -> Found {
    let standing = Standing {
        banned_at,
        banned_until,
        impersonator: imp,
    };
    (session, user, standing)
}

/// The one statement of the session callback: the session joined to its user
/// (and to its impersonating admin, if any).
///
/// Two things keep it cheap, both measured by the benchmark:
/// - it runs on the concrete connection, not through `DbConn`: Diesel's
///   multi-connection wraps a query in a type without a static query id, so it
///   renders the SQL text on every run to find its cached statement;
/// - no `LIMIT` (`token_hash` is unique): SQLite re-prepares a statement whose
///   `LIMIT` is a bound parameter each time it is bound again.
pub fn find_session(conn: &mut DbConn, hash: &TokenHash) -> QueryResult<Option<Found>> {
    let filter = sessions::token_hash.eq(hash.as_bytes());
    match conn {
        DbConn::Sqlite(c) => session_join!(c, filter),
        DbConn::Postgres(c) => session_join!(c, filter),
    }
}

/// Whether a found session may still stand for its user on this request. A
/// banned user's session never does (a sign-in may have raced the ban). An
/// impersonation session needs its admin to still exist, hold the admin role
/// and not be banned, and its user not to be an admin (the impersonator would
/// otherwise hold `/admin` as them). A user with two factors on needs a
/// two-factor session (`aal` 2), so turning them on ends the one-factor
/// sessions on every other device; an impersonation session is the admin's
/// doing, not a sign-in of the user, and is exempt.
pub fn admissible(session: &SessionRow, user: &UserRow, standing: &Standing) -> bool {
    if ban_in_force(standing.banned_at, standing.banned_until) {
        return false;
    }
    if session.impersonator_id.is_none() {
        // Two factors on: a one-factor session (made before they were turned
        // on) no longer stands.
        return user.two_factor_at.is_none() || session.aal >= 2;
    }
    match &standing.impersonator {
        Some((role, at, until)) => {
            role == ADMIN && !ban_in_force(*at, *until) && user.role != ADMIN
        }
        None => false,
    }
}

const ADMIN: &str = "admin";

/// The session a found row stands for, when the request needs no write for it;
/// `None` when it is past its expiry, due for extension, or breaks a rule of
/// [`admissible`] (the write path then deletes it).
pub fn live_without_write(found: Found, policy: &ExpiryPolicy) -> Option<LoadedSession> {
    let (session, user, standing) = found;
    let now = Utc::now().naive_utc();
    if session.expires_at <= now
        || policy.is_due(session.expires_at, now)
        || !admissible(&session, &user, &standing)
    {
        return None;
    }
    let expires_at = session.expires_at;
    Some(loaded(session, user, now, expires_at, false))
}

/// The view of a session row and its user for this request.
fn loaded(
    session: SessionRow,
    user: UserRow,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
    extended: bool,
) -> LoadedSession {
    LoadedSession {
        session_id: session.id,
        user: SessionUser::from_row(user, now),
        expires_at: expires_at.and_utc(),
        extended,
        impersonator_id: session.impersonator_id,
        authenticated_at: session.authenticated_at.and_utc(),
        aal: session.aal,
    }
}

/// The session callback: one statement joins the session to its user. A row past
/// its expiry, or one that breaks a rule of [`admissible`], is deleted and reads
/// as no session. The only other write on the way is the throttled extension,
/// at most once per `update_age`.
pub fn load_session_user(
    conn: &mut DbConn,
    hash: &TokenHash,
    policy: &ExpiryPolicy,
) -> QueryResult<Option<LoadedSession>> {
    let Some((session, user, standing)) = find_session(conn, hash)? else {
        return Ok(None);
    };
    let now = Utc::now().naive_utc();
    if session.expires_at <= now || !admissible(&session, &user, &standing) {
        diesel::delete(sessions::table.find(session.id)).execute(conn)?;
        return Ok(None);
    }
    let mut expires_at = session.expires_at;
    let extended = policy.is_due(expires_at, now);
    if extended {
        expires_at = policy.expiry_from(now);
        diesel::update(sessions::table.find(session.id))
            .set((
                sessions::expires_at.eq(expires_at),
                sessions::last_seen_at.eq(now),
            ))
            .execute(conn)?;
        touch_user(conn, user.id, now)?;
    }
    Ok(Some(loaded(session, user, now, expires_at, extended)))
}

/// Where a new session comes from.
#[derive(Debug, Clone, Default)]
pub struct Device {
    pub user_agent: String,
    pub ip: String,
}

/// Stores a new session for `user_id` under the hash of a fresh token, which is
/// returned for the cookie and never stored.
pub fn create_session(
    conn: &mut DbConn,
    user_id: i64,
    device: &Device,
    policy: &ExpiryPolicy,
    impersonator_id: Option<i64>,
    aal: i32,
) -> QueryResult<PlainToken> {
    let token = PlainToken::generate();
    let now = Utc::now().naive_utc();
    diesel::insert_into(sessions::table)
        .values((
            sessions::token_hash.eq(token.hash().as_bytes()),
            sessions::user_id.eq(user_id),
            sessions::created_at.eq(now),
            sessions::expires_at.eq(policy.expiry_from(now)),
            sessions::last_seen_at.eq(now),
            sessions::authenticated_at.eq(now),
            sessions::user_agent.eq(truncate(&device.user_agent, 512)),
            sessions::ip.eq(truncate(&device.ip, 64)),
            sessions::impersonator_id.eq(impersonator_id),
            sessions::aal.eq(aal),
        ))
        .execute(conn)?;
    touch_user(conn, user_id, now)?;
    Ok(token)
}

/// `users.last_seen_at`: written with a new session and with the throttled
/// extension, never on an ordinary request.
fn touch_user(conn: &mut DbConn, user_id: i64, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set(users::last_seen_at.eq(Some(now)))
        .execute(conn)?;
    Ok(())
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Deletes the session of this token; answers its id when there was one.
/// One statement (`DELETE … RETURNING`, as `email::tokens::spend` does), so
/// nothing can come between finding the row and deleting it.
pub fn delete_by_hash(conn: &mut DbConn, hash: &TokenHash) -> QueryResult<Option<i64>> {
    #[derive(QueryableByName)]
    struct Deleted {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    diesel::sql_query("DELETE FROM sessions WHERE token_hash = $1 RETURNING id")
        .bind::<diesel::sql_types::Binary, _>(hash.as_bytes())
        .get_result::<Deleted>(conn)
        .optional()
        .map(|row| row.map(|d| d.id))
}

pub fn delete_by_id(conn: &mut DbConn, session_id: i64) -> QueryResult<usize> {
    diesel::delete(sessions::table.find(session_id)).execute(conn)
}

/// Ends every session of the user (password change, later bans).
pub fn delete_all_of_user(conn: &mut DbConn, user_id: i64) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)
}

/// Ends every session in which `admin` acts as someone else (their ban,
/// demotion or revocation must not leave them a way in through a user).
pub fn delete_impersonations_by(conn: &mut DbConn, admin: i64) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::impersonator_id.eq(admin))).execute(conn)
}

/// Ends every session of the user and every session they impersonate
/// through (a ban, an admin's "revoke all").
pub fn delete_all_by(conn: &mut DbConn, user_id: i64) -> QueryResult<usize> {
    let theirs = sessions::user_id
        .eq(user_id)
        .or(sessions::impersonator_id.eq(user_id));
    diesel::delete(sessions::table.filter(theirs)).execute(conn)
}

/// Deletes session `id` only if it records `admin` acting as `user`.
pub fn delete_impersonation(
    conn: &mut DbConn,
    id: i64,
    admin: i64,
    user: i64,
) -> QueryResult<usize> {
    let recorded = sessions::impersonator_id
        .eq(admin)
        .and(sessions::user_id.eq(user));
    diesel::delete(sessions::table.find(id).filter(recorded)).execute(conn)
}

/// The session and its user by session id, for a handler that changed the user
/// and answers the fresh view (no extension).
pub fn reload(conn: &mut DbConn, session_id: i64) -> QueryResult<Option<LoadedSession>> {
    let filter = sessions::id.eq(session_id);
    let found = match conn {
        DbConn::Sqlite(c) => session_join!(c, filter),
        DbConn::Postgres(c) => session_join!(c, filter),
    }?;
    let now = Utc::now().naive_utc();
    Ok(found
        .filter(|(s, u, standing)| s.expires_at > now && admissible(s, u, standing))
        .map(|(s, u, _)| {
            let expires_at = s.expires_at;
            loaded(s, u, now, expires_at, false)
        }))
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_is_due_once_per_update_age() {
        let policy = ExpiryPolicy {
            max_age: Duration::from_secs(30 * 86_400),
            update_age: Duration::from_secs(86_400),
        };
        let now = Utc::now().naive_utc();
        let fresh = policy.expiry_from(now);
        assert!(!policy.is_due(fresh, now));
        assert!(!policy.is_due(fresh, now + chrono::Duration::hours(23)));
        assert!(policy.is_due(fresh, now + chrono::Duration::hours(24)));
    }

    #[test]
    fn a_session_stands_only_while_its_rules_hold() {
        let now = Utc::now().naive_utc();
        let (past, future) = (
            now - chrono::Duration::days(1),
            now + chrono::Duration::days(1),
        );
        let session = |imp| SessionRow {
            id: 1,
            expires_at: future,
            impersonator_id: imp,
            authenticated_at: now,
            aal: 1,
        };
        let user = |role: &str| UserRow {
            id: 2,
            email: "u@example.com".into(),
            name: "U".into(),
            image: None,
            role: role.into(),
            permissions: "[]".into(),
            plan: "free".into(),
            plan_expires_at: None,
            theme: "system".into(),
            language: "en".into(),
            email_verified_at: None,
            two_factor_at: None,
        };
        let standing = |ban: (Option<NaiveDateTime>, Option<NaiveDateTime>), imp| Standing {
            banned_at: ban.0,
            banned_until: ban.1,
            impersonator: imp,
        };
        let admin = |ban: (Option<NaiveDateTime>, Option<NaiveDateTime>)| {
            Some(("admin".to_string(), ban.0, ban.1))
        };
        let none = (None, None);
        // The user's own session: only a ban in force ends it.
        assert!(admissible(
            &session(None),
            &user("user"),
            &standing(none, None)
        ));
        for ban in [(Some(past), None), (Some(past), Some(future))] {
            assert!(!admissible(
                &session(None),
                &user("user"),
                &standing(ban, None)
            ));
        }
        let lifted = (Some(past), Some(past));
        assert!(admissible(
            &session(None),
            &user("user"),
            &standing(lifted, None)
        ));
        // Impersonation: an active admin acting as a non-admin, nothing else.
        let imp = session(Some(9));
        assert!(admissible(
            &imp,
            &user("user"),
            &standing(none, admin(none))
        ));
        assert!(admissible(
            &imp,
            &user("user"),
            &standing(none, admin(lifted))
        ));
        assert!(!admissible(&imp, &user("user"), &standing(none, None)));
        assert!(!admissible(
            &imp,
            &user("admin"),
            &standing(none, admin(none))
        ));
        let demoted = Some(("user".to_string(), None, None));
        assert!(!admissible(&imp, &user("user"), &standing(none, demoted)));
        let banned = admin((Some(past), None));
        assert!(!admissible(&imp, &user("user"), &standing(none, banned)));
        assert!(!admissible(
            &imp,
            &user("user"),
            &standing((Some(past), None), admin(none))
        ));
    }

    #[test]
    fn truncate_keeps_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("abc", 10), "abc");
    }
}

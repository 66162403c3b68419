//! The audit log (`audit_events`, append-only): who did what to whom, from
//! where. Recorded in the same transaction as the change it describes where
//! there is one.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::DbConn;
use crate::db::schema::audit_events as ae;
use crate::session::Device;

/// What the log records. Names are stable: filters and scripts use them.
pub mod action {
    pub const SIGN_UP: &str = "sign_up";
    pub const SIGN_IN: &str = "sign_in";
    pub const SIGN_IN_FAILED: &str = "sign_in_failed";
    pub const SIGN_OUT: &str = "sign_out";
    pub const PASSWORD_CHANGED: &str = "password_changed";
    pub const PROFILE_CHANGED: &str = "profile_changed";
    pub const PREFERENCES_CHANGED: &str = "preferences_changed";
    pub const SESSION_REVOKED: &str = "session_revoked";
    pub const ROLE_CHANGED: &str = "role_changed";
    pub const PERMISSIONS_CHANGED: &str = "permissions_changed";
    pub const PLAN_CHANGED: &str = "plan_changed";
    pub const BANNED: &str = "banned";
    pub const UNBANNED: &str = "unbanned";
    pub const IMPERSONATION_STARTED: &str = "impersonation_started";
    pub const IMPERSONATION_STOPPED: &str = "impersonation_stopped";
    pub const RATE_LIMITED: &str = "rate_limited";
    pub const PROVIDER_LINKED: &str = "provider_linked";
    pub const PROVIDER_UNLINKED: &str = "provider_unlinked";
    /// An impersonating admin tried a credential or account change.
    pub const IMPERSONATION_REFUSED: &str = "impersonation_refused";
    /// A reset link was asked for (target: the account, none for an unknown address).
    pub const PASSWORD_RESET_REQUESTED: &str = "password_reset_requested";
    pub const PASSWORD_RESET: &str = "password_reset";
    pub const EMAIL_VERIFICATION_SENT: &str = "email_verification_sent";
    pub const EMAIL_VERIFIED: &str = "email_verified";
    /// A confirmation link went to a new address (target: the account).
    pub const EMAIL_CHANGE_REQUESTED: &str = "email_change_requested";
    /// The new address was confirmed and is now the account's.
    pub const EMAIL_CHANGED: &str = "email_changed";
    /// A sign-in link was asked for (target: the account, none for an unknown address).
    pub const SIGN_IN_LINK_SENT: &str = "sign_in_link_sent";
    pub const TWO_FACTOR_ENABLED: &str = "two_factor_enabled";
    pub const TWO_FACTOR_DISABLED: &str = "two_factor_disabled";
    /// A wrong second-factor code at sign-in.
    pub const TWO_FACTOR_FAILED: &str = "two_factor_failed";
    /// A first factor was right and the sign-in now waits for a code
    /// (`details.method`: the first factor). Without a `sign_in` after it,
    /// the first factor is known to someone who did not finish.
    pub const TWO_FACTOR_REQUIRED: &str = "two_factor_required";
    /// An admin turned a user's two factors off (actor: the admin).
    pub const TWO_FACTOR_RESET: &str = "two_factor_reset";
    pub const RECOVERY_CODE_USED: &str = "recovery_code_used";
    pub const RECOVERY_CODES_GENERATED: &str = "recovery_codes_generated";
    pub const PASSKEY_ADDED: &str = "passkey_added";
    pub const PASSKEY_REMOVED: &str = "passkey_removed";
    /// The session was re-confirmed at `/reauth`.
    pub const REAUTHENTICATED: &str = "reauthenticated";
    /// The user deleted their account (the event keeps the id).
    pub const ACCOUNT_DELETED: &str = "account_deleted";

    pub const ALL: [&str; 37] = [
        SIGN_UP,
        SIGN_IN,
        SIGN_IN_FAILED,
        SIGN_OUT,
        PASSWORD_CHANGED,
        PROFILE_CHANGED,
        PREFERENCES_CHANGED,
        SESSION_REVOKED,
        ROLE_CHANGED,
        PERMISSIONS_CHANGED,
        PLAN_CHANGED,
        BANNED,
        UNBANNED,
        IMPERSONATION_STARTED,
        IMPERSONATION_STOPPED,
        RATE_LIMITED,
        PROVIDER_LINKED,
        PROVIDER_UNLINKED,
        IMPERSONATION_REFUSED,
        PASSWORD_RESET_REQUESTED,
        PASSWORD_RESET,
        EMAIL_VERIFICATION_SENT,
        EMAIL_VERIFIED,
        EMAIL_CHANGE_REQUESTED,
        EMAIL_CHANGED,
        SIGN_IN_LINK_SENT,
        TWO_FACTOR_ENABLED,
        TWO_FACTOR_DISABLED,
        TWO_FACTOR_FAILED,
        TWO_FACTOR_REQUIRED,
        TWO_FACTOR_RESET,
        RECOVERY_CODE_USED,
        RECOVERY_CODES_GENERATED,
        PASSKEY_ADDED,
        PASSKEY_REMOVED,
        REAUTHENTICATED,
        ACCOUNT_DELETED,
    ];

    /// The events a user sees under Settings as their security history.
    pub const SECURITY: [&str; 28] = [
        SIGN_IN,
        SIGN_IN_FAILED,
        SIGN_OUT,
        PASSWORD_CHANGED,
        SESSION_REVOKED,
        BANNED,
        UNBANNED,
        IMPERSONATION_STARTED,
        IMPERSONATION_STOPPED,
        PROVIDER_LINKED,
        PROVIDER_UNLINKED,
        IMPERSONATION_REFUSED,
        PASSWORD_RESET_REQUESTED,
        PASSWORD_RESET,
        EMAIL_VERIFIED,
        EMAIL_CHANGE_REQUESTED,
        EMAIL_CHANGED,
        SIGN_IN_LINK_SENT,
        TWO_FACTOR_ENABLED,
        TWO_FACTOR_DISABLED,
        TWO_FACTOR_FAILED,
        TWO_FACTOR_REQUIRED,
        TWO_FACTOR_RESET,
        RECOVERY_CODE_USED,
        RECOVERY_CODES_GENERATED,
        PASSKEY_ADDED,
        PASSKEY_REMOVED,
        REAUTHENTICATED,
    ];
}

/// One event to append.
pub struct Event<'a> {
    pub actor_id: Option<i64>,
    pub target_id: Option<i64>,
    pub action: &'static str,
    pub device: Option<&'a Device>,
    pub details: serde_json::Value,
}

impl<'a> Event<'a> {
    /// `actor` did `action` to themselves.
    pub fn by(actor: i64, action: &'static str, device: &'a Device) -> Self {
        Event {
            actor_id: Some(actor),
            target_id: Some(actor),
            action,
            device: Some(device),
            details: serde_json::Value::Object(Default::default()),
        }
    }

    /// `actor` did `action` to `target`: the pair from
    /// `SignedIn::audit_parties`, which names the impersonating admin as the
    /// actor when there is one.
    pub fn between((actor, target): (i64, i64), action: &'static str, device: &'a Device) -> Self {
        Event {
            target_id: Some(target),
            ..Event::by(actor, action, device)
        }
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// An event that rides along with a new session (see `session::store`).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Pending {
    pub action: String,
    pub details: serde_json::Value,
}

impl Pending {
    /// Records it as done by `user_id` itself; an unknown action is dropped.
    pub fn record(self, conn: &mut DbConn, user_id: i64, device: &Device) -> QueryResult<()> {
        let Some(action) = action::ALL.iter().find(|a| **a == self.action) else {
            log::warn!("unknown audit action {:?} not recorded", self.action);
            return Ok(());
        };
        record(
            conn,
            Event::by(user_id, action, device).details(self.details),
        )
    }
}

/// Appends an event on its own, after the change it describes has happened
/// (sign-in, sign-out, self-service edits). A failure is logged, not
/// answered: the change itself stands.
pub async fn after(
    db: &crate::db::Db,
    device: Device,
    write: impl FnOnce(&mut DbConn, &Device) -> QueryResult<()> + Send + 'static,
) {
    let outcome = db.run(move |conn| Ok(write(conn, &device)?)).await;
    if let Err(e) = outcome {
        log::error!("audit event not recorded: {e}");
    }
}

pub fn record(conn: &mut DbConn, e: Event<'_>) -> QueryResult<()> {
    let (ip, ua) = e
        .device
        .map(|d| (d.ip.as_str(), d.user_agent.as_str()))
        .unwrap_or(("", ""));
    let ua: String = ua.chars().take(512).collect();
    diesel::insert_into(ae::table)
        .values((
            ae::at.eq(Utc::now().naive_utc()),
            ae::actor_id.eq(e.actor_id),
            ae::target_id.eq(e.target_id),
            ae::action.eq(e.action),
            ae::ip.eq(ip),
            ae::user_agent.eq(ua),
            ae::details.eq(e.details.to_string()),
        ))
        .execute(conn)?;
    if crate::hooks::notify::listening() {
        let in_transaction = conn.in_transaction()?;
        crate::hooks::notify::recorded(
            crate::hooks::Notification {
                kind: crate::hooks::EventKind::of(e.action),
                action: e.action,
                actor_id: e.actor_id,
                user_id: e.target_id,
                details: e.details,
                at: Utc::now(),
            },
            in_transaction,
        );
    }
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ae)]
pub struct Row {
    pub id: i64,
    pub at: NaiveDateTime,
    pub actor_id: Option<i64>,
    pub target_id: Option<i64>,
    pub action: String,
    pub ip: String,
    pub user_agent: String,
    pub details: String,
}

/// The SPEC's JSON shape of one event.
#[derive(Debug, Serialize)]
pub struct View {
    pub id: String,
    pub at: String,
    pub actor_id: Option<String>,
    pub target_id: Option<String>,
    pub action: String,
    pub ip: String,
    pub user_agent: String,
    pub details: serde_json::Value,
}

impl From<Row> for View {
    fn from(r: Row) -> Self {
        View {
            id: r.id.to_string(),
            at: crate::web::rfc3339(r.at),
            actor_id: r.actor_id.map(|i| i.to_string()),
            target_id: r.target_id.map(|i| i.to_string()),
            action: r.action,
            ip: r.ip,
            user_agent: r.user_agent,
            details: serde_json::from_str(&r.details).unwrap_or(serde_json::Value::Null),
        }
    }
}

#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// Events where this user is the actor or the target.
    pub user: Option<i64>,
    pub actions: Vec<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
}

impl Filter {
    fn query<'a>(&self) -> ae::BoxedQuery<'a, <DbConn as diesel::Connection>::Backend> {
        let mut q = ae::table.into_boxed();
        if let Some(u) = self.user {
            q = q.filter(ae::actor_id.eq(u).or(ae::target_id.eq(u)));
        }
        if !self.actions.is_empty() {
            q = q.filter(ae::action.eq_any(self.actions.clone()));
        }
        if let Some(from) = self.from {
            q = q.filter(ae::at.ge(from));
        }
        if let Some(to) = self.to {
            q = q.filter(ae::at.lt(to));
        }
        q
    }
}

/// One page of events, newest first.
pub fn page_of(conn: &mut DbConn, f: &Filter, page: i64, per_page: i64) -> QueryResult<Vec<Row>> {
    f.query()
        .order(ae::id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
        .select(Row::as_select())
        .load(conn)
}

/// One page of events, newest first, and how many match in all.
pub fn list(
    conn: &mut DbConn,
    f: &Filter,
    page: i64,
    per_page: i64,
) -> QueryResult<(Vec<Row>, i64)> {
    let total: i64 = f.query().count().get_result(conn)?;
    Ok((page_of(conn, f, page, per_page)?, total))
}

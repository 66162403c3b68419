//! Our actix-session store over the `sessions` table.
//!
//! actix-session owns the cookie (name, flags, signature) and calls this store.
//! `load` only checks that the cookie holds a token we could have issued and
//! passes its hash on: the lookup itself (one join of the session and its user)
//! is made by [`super::callback`] when a handler asks for the session, with the
//! request at hand, and its result lives in that request only. `save` creates
//! the row at sign-in, `delete` removes it at sign-out; `update` persists
//! nothing, because a session row holds no free-form state.

use std::collections::HashMap;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration as CookieDuration;

use super::{Device, ExpiryPolicy, PlainToken};
use crate::db::Db;

/// Keys of the per-request state map (JSON values, as actix-session stores them).
pub mod keys {
    /// Set by `load`: the SHA-256 of the cookie's token (base64url).
    pub const TOKEN_HASH: &str = "gh.token_hash";
    /// Set after a lookup that pushed the expiry forward, so the cookie goes out again.
    pub const EXTENDED: &str = "gh.extended";
    /// Set by a sign-in handler before `renew()`: what `save` needs for the new row.
    pub const NEW_USER_ID: &str = "gh.new_user_id";
    pub const NEW_USER_AGENT: &str = "gh.new_user_agent";
    pub const NEW_IP: &str = "gh.new_ip";
    /// Set when an admin starts impersonating: the admin's id.
    pub const NEW_IMPERSONATOR: &str = "gh.new_impersonator";
    /// The new session's assurance level (1 when absent).
    pub const NEW_AAL: &str = "gh.new_aal";
    /// An audit event (`{"action", "details"}`) written in the same
    /// transaction as the new session, so a sign-in commits once.
    pub const NEW_AUDIT: &str = "gh.new_audit";
    /// A session row the handler already created in the transaction of its
    /// effect (a password reset): its token, which `save` hands to the cookie
    /// as it is. Lives in this request's memory only.
    pub const ISSUED_TOKEN: &str = "gh.issued_token";
}

type State = HashMap<String, String>;

#[derive(Clone)]
pub struct DieselSessionStore {
    db: Db,
    policy: ExpiryPolicy,
    /// A session deleted here (sign-out, or the old one of a sign-in) is told
    /// to its event streams.
    events: crate::events::Hub,
}

impl DieselSessionStore {
    pub fn new(db: Db, policy: ExpiryPolicy, events: crate::events::Hub) -> Self {
        Self { db, policy, events }
    }
}

fn read<T: serde::de::DeserializeOwned>(state: &State, key: &str) -> Option<T> {
    state.get(key).and_then(|v| serde_json::from_str(v).ok())
}

/// Runs a session query on a blocking thread; any failure is an `anyhow` error
/// for actix-session (which the app answers as 503).
async fn blocking<T: Send + 'static>(
    db: &Db,
    query: impl FnOnce(&mut crate::db::DbConn) -> diesel::QueryResult<T> + Send + 'static,
) -> anyhow::Result<T> {
    db.run(move |conn| Ok(query(conn)?))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}

impl SessionStore for DieselSessionStore {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<State>, LoadError> {
        // A value we never issue is not looked up at all.
        let Some(token) = PlainToken::parse(session_key.as_ref()) else {
            return Ok(None);
        };
        let mut state = HashMap::with_capacity(1);
        state.insert(
            keys::TOKEN_HASH.to_owned(),
            format!("\"{}\"", token.hash().encode()),
        );
        Ok(Some(state))
    }

    async fn save(&self, state: State, _ttl: &CookieDuration) -> Result<SessionKey, SaveError> {
        if let Some(token) = read::<String>(&state, keys::ISSUED_TOKEN) {
            return SessionKey::try_from(token).map_err(|e| SaveError::Other(e.into()));
        }
        let user_id: i64 = read(&state, keys::NEW_USER_ID).ok_or_else(|| {
            SaveError::Other(anyhow::anyhow!("a session is only saved at sign-in"))
        })?;
        let device = Device {
            user_agent: read(&state, keys::NEW_USER_AGENT).unwrap_or_default(),
            ip: read(&state, keys::NEW_IP).unwrap_or_default(),
        };
        let policy = self.policy;
        let impersonator: Option<i64> = read(&state, keys::NEW_IMPERSONATOR);
        let audit: Option<crate::audit::Pending> = read(&state, keys::NEW_AUDIT);
        let aal: i32 = read(&state, keys::NEW_AAL).unwrap_or(1);
        let token = blocking(&self.db, move |conn| {
            conn.write_transaction(|conn| {
                let token =
                    super::create_session(conn, user_id, &device, &policy, impersonator, aal)?;
                if let Some(a) = audit {
                    a.record(conn, user_id, &device)?;
                }
                Ok(token)
            })
        })
        .await
        .map_err(SaveError::Other)?;
        SessionKey::try_from(token.expose()).map_err(|e| SaveError::Other(e.into()))
    }

    async fn update(
        &self,
        session_key: SessionKey,
        _state: State,
        _ttl: &CookieDuration,
    ) -> Result<SessionKey, UpdateError> {
        // Nothing to persist (see the module docs). The middleware sends the cookie
        // again, which is what an extension needs.
        Ok(session_key)
    }

    async fn update_ttl(
        &self,
        _session_key: &SessionKey,
        _ttl: &CookieDuration,
    ) -> Result<(), anyhow::Error> {
        // Extension is throttled by the lookup; never a write per request.
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> Result<(), anyhow::Error> {
        let Some(token) = PlainToken::parse(session_key.as_ref()) else {
            return Ok(());
        };
        let hash = token.hash();
        let ended = blocking(&self.db, move |conn| super::delete_by_hash(conn, &hash)).await?;
        if let Some(id) = ended {
            self.events
                .session_ended(id, crate::events::Reason::SignedOut)
                .await;
        }
        Ok(())
    }
}

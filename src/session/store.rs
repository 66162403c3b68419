//! Our actix-session store over the `sessions` table.
//!
//! actix-session owns the cookie (name, flags, signature) and calls this store.
//! `load` is the session callback: one join, turned into the per-request state
//! the extractors read. Nothing is kept between requests: the state map lives for
//! one request, and `update` persists nothing, because the session row has no
//! free-form state — only the columns the store itself maintains.

use std::collections::HashMap;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::web;

use super::{Device, ExpiryPolicy, LoadedSession, PlainToken};
use crate::db::Db;
use crate::error::AppError;

/// Keys of the per-request state map (JSON values, as actix-session stores them).
pub mod keys {
    /// Set by `load`: the session row id, the user view, the expiry.
    pub const SESSION_ID: &str = "gh.sid";
    pub const USER: &str = "gh.user";
    pub const EXPIRES: &str = "gh.expires";
    /// Set by `load` when it pushed the expiry forward.
    pub const EXTENDED: &str = "gh.extended";
    /// Set by `load` when the database did not answer: the request gets 503.
    pub const UNAVAILABLE: &str = "gh.unavailable";
    /// Set by a sign-in handler before `renew()`: what `save` needs for the new row.
    pub const NEW_USER_ID: &str = "gh.new_user_id";
    pub const NEW_USER_AGENT: &str = "gh.new_user_agent";
    pub const NEW_IP: &str = "gh.new_ip";
}

type State = HashMap<String, String>;

#[derive(Clone)]
pub struct DieselSessionStore {
    db: Db,
    policy: ExpiryPolicy,
}

impl DieselSessionStore {
    pub fn new(db: Db, policy: ExpiryPolicy) -> Self {
        Self { db, policy }
    }
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn state_of(loaded: &LoadedSession) -> State {
    let mut state = HashMap::with_capacity(4);
    state.insert(keys::SESSION_ID.to_owned(), json(&loaded.session_id));
    state.insert(keys::USER.to_owned(), json(&loaded.user));
    state.insert(keys::EXPIRES.to_owned(), json(&loaded.expires_at));
    if loaded.extended {
        state.insert(keys::EXTENDED.to_owned(), "true".to_owned());
    }
    state
}

fn read<T: serde::de::DeserializeOwned>(state: &State, key: &str) -> Option<T> {
    state.get(key).and_then(|v| serde_json::from_str(v).ok())
}

impl SessionStore for DieselSessionStore {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<State>, LoadError> {
        let Some(token) = PlainToken::parse(session_key.as_ref()) else {
            return Ok(None);
        };
        let hash = token.hash();
        // SQLite: the read runs here, on this worker's read-only connection. Only
        // a miss on that path (busy, expired, due for extension) hops to the pool.
        if let Some(found) = self.db.read_inline(|conn| super::find_session(conn, &hash)) {
            match found {
                None => return Ok(None),
                Some((session, user)) => {
                    if let Some(loaded) = super::live_without_write(session, user, &self.policy) {
                        return Ok(Some(state_of(&loaded)));
                    }
                }
            }
        }
        let db = self.db.clone();
        let policy = self.policy;
        let loaded = web::block(move || -> Result<_, AppError> {
            let mut conn = db.get()?;
            Ok(super::load_session_user(&mut conn, &hash, &policy)?)
        })
        .await
        .map_err(AppError::from)
        .and_then(|r| r);
        match loaded {
            Ok(Some(loaded)) => Ok(Some(state_of(&loaded))),
            Ok(None) => Ok(None),
            Err(e) => {
                // Not "signed out": the extractors answer 503 and the cookie is kept.
                log::warn!("session lookup failed: {e}");
                let mut state = HashMap::with_capacity(1);
                state.insert(keys::UNAVAILABLE.to_owned(), "true".to_owned());
                Ok(Some(state))
            }
        }
    }

    async fn save(&self, state: State, _ttl: &CookieDuration) -> Result<SessionKey, SaveError> {
        let user_id: i64 = read(&state, keys::NEW_USER_ID).ok_or_else(|| {
            SaveError::Other(anyhow::anyhow!("a session is only saved at sign-in"))
        })?;
        let device = Device {
            user_agent: read(&state, keys::NEW_USER_AGENT).unwrap_or_default(),
            ip: read(&state, keys::NEW_IP).unwrap_or_default(),
        };
        let db = self.db.clone();
        let policy = self.policy;
        let token = web::block(move || -> Result<_, AppError> {
            let mut conn = db.get()?;
            Ok(super::create_session(&mut conn, user_id, &device, &policy)?)
        })
        .await
        .map_err(|e| SaveError::Other(anyhow::anyhow!("{e}")))?
        .map_err(|e| SaveError::Other(anyhow::anyhow!("{e}")))?;
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
        // Extension is throttled in `load`; never a write per request.
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> Result<(), anyhow::Error> {
        let Some(token) = PlainToken::parse(session_key.as_ref()) else {
            return Ok(());
        };
        let hash = token.hash();
        let db = self.db.clone();
        web::block(move || -> Result<_, AppError> {
            let mut conn = db.get()?;
            Ok(super::delete_by_hash(&mut conn, &hash)?)
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(())
    }
}

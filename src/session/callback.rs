//! The session callback: when a handler asks for the session, one statement
//! joins the session row to its user row, and the result is this request's
//! session view. It is made at most once per request and kept only in the
//! request; the next request reads the database again.

use std::rc::Rc;

use actix_session::SessionExt;
use actix_web::web::Data;
use actix_web::{HttpMessage, HttpRequest};

use super::store::keys;
use super::{LoadedSession, TokenHash};
use crate::AppState;
use crate::metrics::{LookupOutcome, LookupPath};

/// What this request's session turned out to be.
#[derive(Clone, Debug)]
pub enum Lookup {
    /// No session cookie, or one that names no live session.
    Anonymous,
    Live(Rc<LoadedSession>),
    /// The database did not answer: the request gets 503 and the cookie stays.
    Unavailable,
}

/// This request's session, looked up on first use.
pub async fn current(req: &HttpRequest) -> Lookup {
    if let Some(known) = req.extensions().get::<Lookup>() {
        return known.clone();
    }
    let hash = req
        .get_session()
        .get::<String>(keys::TOKEN_HASH)
        .ok()
        .flatten()
        .and_then(|h| TokenHash::decode(&h));
    let lookup = match (hash, req.app_data::<Data<AppState>>()) {
        (Some(hash), Some(state)) => fetch(state, hash).await,
        (None, Some(state)) => {
            state
                .metrics
                .session_lookup(LookupPath::None, LookupOutcome::Anonymous);
            Lookup::Anonymous
        }
        _ => Lookup::Anonymous,
    };
    req.extensions_mut().insert(lookup.clone());
    lookup
}

async fn fetch(state: &AppState, hash: TokenHash) -> Lookup {
    // The read runs on this worker: SQLite on its read-only connection,
    // PostgreSQL on its async connection. Only a miss on that path (busy, not
    // connected, expired, due for extension) hops to the pool.
    let (found, fast) = match &state.db.async_pg {
        Some(pg) => (pg.find_session(&hash).await.ok(), LookupPath::Async),
        None => (
            state
                .db
                .read_inline(|conn| super::find_session(conn, &hash)),
            LookupPath::Inline,
        ),
    };
    let counted = |path, outcome| state.metrics.session_lookup(path, outcome);
    // A row the fast path saw but could not use: if the pool finds none
    // either, it had expired or no longer stood.
    let mut row_seen = false;
    if let Some(found) = found {
        match found {
            None => {
                counted(fast, LookupOutcome::Anonymous);
                return Lookup::Anonymous;
            }
            Some(found) => {
                if let Some(loaded) = super::live_without_write(found, &state.expiry) {
                    counted(fast, LookupOutcome::SignedIn);
                    return Lookup::Live(Rc::new(loaded));
                }
                row_seen = true;
            }
        }
    }
    let policy = state.expiry;
    let loaded = state
        .db
        .run(move |conn| Ok(super::load_session_user(conn, &hash, &policy)?))
        .await;
    match loaded {
        Ok(Some(loaded)) => {
            counted(LookupPath::Pool, LookupOutcome::SignedIn);
            Lookup::Live(Rc::new(loaded))
        }
        Ok(None) => {
            counted(
                LookupPath::Pool,
                if row_seen {
                    LookupOutcome::ExpiredOrRefused
                } else {
                    LookupOutcome::Anonymous
                },
            );
            Lookup::Anonymous
        }
        Err(e) => {
            log::warn!("session lookup failed: {e}");
            counted(LookupPath::Pool, LookupOutcome::Error);
            Lookup::Unavailable
        }
    }
}

//! OAuth sign-ins in progress (`oauth_states`): keyed by SHA-256 of `state`,
//! bound to the browser by SHA-256 of a cookie, spent once, valid 10 minutes.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use super::crypto::TokenCipher;
use crate::db::DbConn;
use crate::db::schema::oauth_states as st;

pub const LIFETIME_SECS: i64 = 600;

/// What the callback needs from the start of the flow. `Debug` hides the PKCE
/// verifier and the nonce.
#[derive(Clone)]
pub struct Pending {
    pub provider: String,
    pub pkce_verifier: String,
    pub nonce: String,
    pub callback_url: String,
    /// Set when a signed-in user links a provider from Settings.
    pub link_user_id: Option<i64>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("provider", &self.provider)
            .field("pkce_verifier", &"***")
            .field("nonce", &"***")
            .field("callback_url", &self.callback_url)
            .field("link_user_id", &self.link_user_id)
            .finish()
    }
}

pub fn digest(value: &str) -> Vec<u8> {
    Sha256::digest(value.as_bytes()).to_vec()
}

/// Stores a new flow (and drops expired ones, so the table stays small).
pub fn save(
    conn: &mut DbConn,
    cipher: &TokenCipher,
    state: &str,
    binding: &str,
    p: &Pending,
) -> QueryResult<()> {
    let now = Utc::now().naive_utc();
    diesel::delete(st::table.filter(st::expires_at.lt(now))).execute(conn)?;
    diesel::insert_into(st::table)
        .values((
            st::state_hash.eq(digest(state)),
            st::binding_hash.eq(digest(binding)),
            st::provider.eq(&p.provider),
            st::pkce_verifier.eq(cipher.seal(&p.pkce_verifier, "oauth_state:pkce")),
            st::nonce.eq(&p.nonce),
            st::callback_url.eq(&p.callback_url),
            st::link_user_id.eq(p.link_user_id),
            st::expires_at.eq(now + chrono::Duration::seconds(LIFETIME_SECS)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Why a `state` was not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum Rejected {
    /// Unknown, already spent, or made for another provider.
    Unknown,
    Expired,
    /// Started in another browser (the binding cookie differs or is missing).
    OtherBrowser,
}

/// Spends `state`: the row is deleted whatever the outcome, and only the one
/// caller whose delete removed it gets it back, so a replay finds nothing.
pub fn take(
    conn: &mut DbConn,
    cipher: &TokenCipher,
    provider: &str,
    state: &str,
    binding: Option<&str>,
) -> QueryResult<Result<Pending, Rejected>> {
    let key = digest(state);
    type Row = (
        Vec<u8>,
        String,
        String,
        String,
        String,
        Option<i64>,
        NaiveDateTime,
    );
    let row: Option<Row> = st::table
        .find(&key)
        .select((
            st::binding_hash,
            st::provider,
            st::pkce_verifier,
            st::nonce,
            st::callback_url,
            st::link_user_id,
            st::expires_at,
        ))
        .first(conn)
        .optional()?;
    let Some((bound, stored_provider, verifier, nonce, callback_url, link_user_id, expires)) = row
    else {
        return Ok(Err(Rejected::Unknown));
    };
    if diesel::delete(st::table.find(&key)).execute(conn)? != 1 {
        return Ok(Err(Rejected::Unknown));
    }
    if stored_provider != provider {
        return Ok(Err(Rejected::Unknown));
    }
    if expires < Utc::now().naive_utc() {
        return Ok(Err(Rejected::Expired));
    }
    let same_browser = binding
        .map(|b| subtle::ConstantTimeEq::ct_eq(digest(b).as_slice(), bound.as_slice()).into())
        .unwrap_or(false);
    if !same_browser {
        return Ok(Err(Rejected::OtherBrowser));
    }
    let Some(pkce_verifier) = cipher.open(&verifier, "oauth_state:pkce") else {
        return Ok(Err(Rejected::Unknown));
    };
    Ok(Ok(Pending {
        provider: stored_provider,
        pkce_verifier,
        nonce,
        callback_url,
        link_user_id,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_verifier_and_the_nonce() {
        let p = Pending {
            provider: "github".into(),
            pkce_verifier: "verifier-secret-value".into(),
            nonce: "nonce-secret-value".into(),
            callback_url: "/after".into(),
            link_user_id: Some(7),
        };
        let shown = format!("{p:?}");
        assert!(!shown.contains("verifier-secret-value"), "{shown}");
        assert!(!shown.contains("nonce-secret-value"), "{shown}");
        assert!(shown.contains("github") && shown.contains("/after"));
    }
}

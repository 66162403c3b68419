//! Password attempts: a sign-in, or the current password on a settings form.
//! Each attempt is counted before the password is checked (one atomic upsert
//! per counter, so no race lets extra guesses through), and a right password
//! takes its count back, so the counters read as failures. Counters: the
//! (account, client IP) pair and the client IP under `RATE_LIMIT_SIGNIN`, and
//! the account across all addresses under the much higher
//! `RATE_LIMIT_SIGNIN_ACCOUNT`: a stranger's guesses use up their own address,
//! not the owner's.

use diesel::result::QueryResult;

use super::limiter::HashLimiter;
use crate::audit::{self, Event, action};
use crate::db::{Db, DbConn};
use crate::error::AppError;
use crate::ratelimit::{self, Hit, Limits, Rule};
use crate::session::Device;

/// Who tries a password, from where.
pub struct Attempt {
    /// The email as typed (sign-in) or the signed-in user's (settings forms).
    pub email: String,
    /// The signed-in user (settings forms); a sign-in finds it by email.
    pub user_id: Option<i64>,
    /// `details.method` of the `sign_in_failed` event: `password`,
    /// `current_password`; `two_factor` (a code at sign-in) is recorded as
    /// `two_factor_failed`.
    pub method: &'static str,
    pub device: Device,
}

/// One counter an attempt adds to.
struct Counter {
    key: String,
    rule: Rule,
    /// The name in the `rate_limited` event.
    limit: &'static str,
}

/// In the order they are counted: a refused attempt stops at the first counter
/// that is used up, so a locked-out address does not wear down the account's
/// ceiling.
fn counters(limits: &Limits, email: &str, ip: &str) -> Vec<Counter> {
    let account = crate::users::normalize_email(email).unwrap_or_else(|_| {
        let typed = email.trim().to_lowercase();
        // An address the rule refuses can be as long as the body: its digest
        // keeps the key under PostgreSQL's index entry size.
        if typed.len() > crate::users::MAX_EMAIL_LEN {
            use sha2::Digest;
            format!("sha256:{:x}", sha2::Sha256::digest(typed.as_bytes()))
        } else {
            typed
        }
    });
    // The address part is an IPv4 address (no `/`) or an IPv6 network that
    // ends in `/64`, so the pair key cannot be read two ways.
    let ip = ratelimit::client_key(ip);
    [
        (
            format!("signin:pair:{ip}/{account}"),
            limits.signin,
            "signin",
        ),
        (format!("signin:ip:{ip}"), limits.signin, "signin"),
        (
            format!("signin:account:{account}"),
            limits.signin_account,
            "signin_account",
        ),
    ]
    .into_iter()
    .filter_map(|(key, rule, limit)| rule.map(|rule| Counter { key, rule, limit }))
    .collect()
}

/// Counts one attempt on every counter, or none: `Err(seconds)` when one is
/// used up (the hits already counted on the others are taken back).
fn count(conn: &mut DbConn, counters: &[Counter]) -> QueryResult<Result<Vec<Hit>, u64>> {
    let mut hits = Vec::with_capacity(counters.len());
    for c in counters {
        let hit = ratelimit::hit(conn, &c.key, &c.rule)?;
        if let Some(wait) = hit.refused() {
            for (c, hit) in counters.iter().zip(&hits) {
                ratelimit::take_back(conn, &c.key, hit)?;
            }
            return Ok(Err(wait));
        }
        hits.push(hit);
    }
    Ok(Ok(hits))
}

/// The password was right: its hits come back, so they count failures only.
fn take_back(conn: &mut DbConn, counters: &[Counter], hits: &[Hit]) -> QueryResult<()> {
    for (c, hit) in counters.iter().zip(hits) {
        ratelimit::take_back(conn, &c.key, hit)?;
    }
    Ok(())
}

/// The password was wrong: the event, and a `rate_limited` event for each
/// counter this failure used up, in one transaction.
fn record_failure(
    conn: &mut DbConn,
    attempt: &Attempt,
    counters: &[Counter],
    hits: &[Hit],
    reason: &str,
) -> QueryResult<()> {
    conn.write_transaction(|conn| {
        for (c, hit) in counters.iter().zip(hits) {
            if hit.exhausted_now() {
                let trip = ratelimit::trip(&attempt.device, c.limit, &c.key, hit.retry_after);
                audit::record(conn, trip)?;
            }
        }
        let target = match attempt.user_id {
            Some(id) => Some(id),
            None => match crate::users::normalize_email(&attempt.email) {
                Ok(e) => crate::users::find_credentials(conn, &e)?.map(|(id, _)| id),
                Err(_) => None,
            },
        };
        // A wrong second-factor code has its own action.
        let what = match attempt.method {
            "two_factor" => action::TWO_FACTOR_FAILED,
            _ => action::SIGN_IN_FAILED,
        };
        audit::record(
            conn,
            Event {
                actor_id: attempt.user_id,
                target_id: target,
                action: what,
                device: Some(&attempt.device),
                details: serde_json::json!({"method": attempt.method, "reason": reason}),
            },
        )
    })
}

/// Runs `check` (which verifies the password) on a hashing thread, counted.
/// While a counter is used up, answers `RateLimited` without hashing, even for
/// the right password. `BadCredentials` and `Refused` (a ban, a domain) count
/// as failures and are audited; any other answer (an unverified address
/// included) takes the count back.
pub async fn checked<T: Send + 'static>(
    db: &Db,
    hasher: &HashLimiter,
    limits: &Limits,
    attempt: Attempt,
    check: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let counters = counters(limits, &attempt.email, &attempt.device.ip);
    // A read first, so an address that is locked out never queues for the
    // hashing threads. It decides nothing: the count below does.
    if !counters.is_empty() {
        let keys: Vec<(String, Rule)> = counters.iter().map(|c| (c.key.clone(), c.rule)).collect();
        let wait = db
            .run(move |conn| {
                let mut wait = None;
                for (key, rule) in &keys {
                    wait = wait.max(ratelimit::peek(conn, key, rule)?);
                }
                Ok(wait)
            })
            .await?;
        if let Some(retry_after) = wait {
            return Err(AppError::RateLimited { retry_after });
        }
    }
    let db = db.clone();
    hasher
        .run(move || counted_check(&db, &counters, &attempt, check))
        .await
}

/// Counts on the hashing thread, just before the check: no race lets more
/// checks through than the limit, and sign-ins still waiting in the queue do
/// not count yet (only the few being hashed at that moment do), so a burst of
/// right passwords from one address is not refused for queueing together.
fn counted_check<T>(
    db: &Db,
    counters: &[Counter],
    attempt: &Attempt,
    check: impl FnOnce() -> Result<T, AppError>,
) -> Result<T, AppError> {
    let hits = if counters.is_empty() {
        Vec::new()
    } else {
        let mut conn = db.get()?;
        count(&mut conn, counters)?.map_err(|retry_after| AppError::RateLimited { retry_after })?
    };
    // No connection is held while hashing.
    let outcome = check();
    let failed = match &outcome {
        // The right password of an unverified address is no failed guess.
        Err(AppError::Refused(crate::auth::gate::Refusal::EmailUnverified)) => None,
        Err(e @ (AppError::BadCredentials | AppError::Refused(_))) => Some(e.code()),
        _ => None,
    };
    // The verdict stands whatever happens to the bookkeeping: a failure to
    // write it is logged.
    let written = db.get().and_then(|mut conn| {
        match failed {
            Some(reason) => record_failure(&mut conn, attempt, counters, &hits, reason)?,
            None => take_back(&mut conn, counters, &hits)?,
        }
        Ok(())
    });
    if let Err(e) = written {
        log::error!("password attempt not recorded: {e}");
    }
    outcome
}

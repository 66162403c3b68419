//! The second factor's rows: the sealed TOTP secret (`totp_secrets`), the
//! hashed recovery codes (`recovery_codes`) and the switch on the user row
//! (`users.two_factor_at`, read by the one session join).
//!
//! Every code is spent by an `UPDATE … WHERE` whose row count decides, so two
//! requests racing with one code cannot both pass: a TOTP step only moves
//! forward, a recovery code's `used_at` is set once.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use super::recovery;
use super::totp::Secret;
use crate::db::DbConn;
use crate::db::schema::{recovery_codes, sessions, totp_secrets, users};
use crate::oauth::crypto::TokenCipher;

/// The keys second factors are kept under, derived from the server secret.
/// After a rotation, the earlier secrets' keys still open TOTP secrets (which
/// are sealed again under the current key when read) and still match recovery
/// codes; new ones are made under the current key.
pub struct FactorKeys {
    cipher: TokenCipher,
    /// The current key first.
    recovery: Vec<[u8; 32]>,
}

impl FactorKeys {
    pub fn new(keys: &crate::auth::keys::Keys) -> Self {
        FactorKeys {
            cipher: TokenCipher::with_previous(&keys.totp_secrets, &keys.previous_totp_secrets()),
            recovery: keys.recovery_code_keys(),
        }
    }
}

/// Which second factor a code was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    Totp,
    RecoveryCode,
}

impl Factor {
    /// `details.second_factor` of the sign-in event.
    pub fn name(self) -> &'static str {
        match self {
            Factor::Totp => "totp",
            Factor::RecoveryCode => "recovery_code",
        }
    }
}

fn now_unix() -> u64 {
    u64::try_from(Utc::now().timestamp()).unwrap_or(0)
}

/// Whether the user signs in with a second factor.
pub fn is_on(conn: &mut DbConn, user_id: i64) -> QueryResult<bool> {
    users::table
        .find(user_id)
        .select(users::two_factor_at)
        .first::<Option<NaiveDateTime>>(conn)
        .optional()
        .map(|at| at.flatten().is_some())
}

/// A new secret for a user who has not turned two factors on: it replaces an
/// unconfirmed one and waits for a code ([`enable`]). `None` when two
/// factors are already on (turning them off comes first).
pub fn begin_setup(
    conn: &mut DbConn,
    keys: &FactorKeys,
    user_id: i64,
) -> QueryResult<Option<Secret>> {
    conn.write_transaction(|conn| {
        if is_on(conn, user_id)? {
            return Ok(None);
        }
        let secret = Secret::generate();
        let sealed = secret.seal(&keys.cipher, user_id);
        diesel::delete(totp_secrets::table.find(user_id)).execute(conn)?;
        diesel::insert_into(totp_secrets::table)
            .values((
                totp_secrets::user_id.eq(user_id),
                totp_secrets::secret.eq(sealed),
                totp_secrets::last_used_step.eq(None::<i64>),
                totp_secrets::created_at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn)?;
        Ok(Some(secret))
    })
}

/// The secret of a setup not confirmed yet (to show it again with an error).
pub fn setup_secret(
    conn: &mut DbConn,
    keys: &FactorKeys,
    user_id: i64,
) -> QueryResult<Option<Secret>> {
    if is_on(conn, user_id)? {
        return Ok(None);
    }
    stored_secret(conn, keys, user_id).map(|s| s.map(|(secret, _)| secret))
}

fn stored_secret(
    conn: &mut DbConn,
    keys: &FactorKeys,
    user_id: i64,
) -> QueryResult<Option<(Secret, Option<i64>)>> {
    let row: Option<(String, Option<i64>)> = totp_secrets::table
        .find(user_id)
        .select((totp_secrets::secret, totp_secrets::last_used_step))
        .first(conn)
        .optional()?;
    let Some((sealed, last)) = row else {
        return Ok(None);
    };
    let Some((secret, stale)) = Secret::open_checked(&keys.cipher, &sealed, user_id) else {
        // Sealed under another server secret, or tampered with.
        log::warn!("the TOTP secret of user {user_id} does not open with this server's key");
        return Ok(None);
    };
    if stale {
        // Sealed under an earlier secret: sealed again under the current one,
        // unless another request changed the row meanwhile.
        diesel::update(
            totp_secrets::table
                .find(user_id)
                .filter(totp_secrets::secret.eq(&sealed)),
        )
        .set(totp_secrets::secret.eq(secret.seal(&keys.cipher, user_id)))
        .execute(conn)?;
    }
    Ok(Some((secret, last)))
}

/// What turning two factors on came to.
#[derive(Debug)]
pub enum Enabled {
    /// On, with these recovery codes (shown once).
    On(Vec<String>),
    WrongCode,
    /// No setup was started (or it was already confirmed).
    NoSetup,
}

/// Confirms the setup with a code from the authenticator: two factors go on,
/// the code's step is spent, ten recovery codes replace any old ones, and
/// the session `session_id` (which just proved both factors) becomes a
/// two-factor session, all in one transaction. The user's one-factor
/// sessions on other devices stop standing (see `session::admissible`).
pub fn enable(
    conn: &mut DbConn,
    keys: &FactorKeys,
    user_id: i64,
    session_id: i64,
    code: &str,
) -> QueryResult<Enabled> {
    conn.write_transaction(|conn| {
        if is_on(conn, user_id)? {
            return Ok(Enabled::NoSetup);
        }
        let Some((secret, last)) = stored_secret(conn, keys, user_id)? else {
            return Ok(Enabled::NoSetup);
        };
        let Some(step) = secret.check(code, now_unix(), last) else {
            return Ok(Enabled::WrongCode);
        };
        if !spend_step(conn, user_id, step)? {
            return Ok(Enabled::WrongCode);
        }
        let now = Utc::now().naive_utc();
        diesel::update(users::table.find(user_id))
            .set((
                users::two_factor_at.eq(Some(now)),
                users::updated_at.eq(now),
            ))
            .execute(conn)?;
        diesel::update(
            sessions::table
                .find(session_id)
                .filter(sessions::user_id.eq(user_id)),
        )
        .set((sessions::aal.eq(2), sessions::authenticated_at.eq(now)))
        .execute(conn)?;
        Ok(Enabled::On(replace_recovery_codes(conn, keys, user_id)?))
    })
}

/// Moves the user's last used step forward to `step`; `false` when a code of
/// that step (or a later one) was already accepted.
fn spend_step(conn: &mut DbConn, user_id: i64, step: i64) -> QueryResult<bool> {
    let n = diesel::update(
        totp_secrets::table.find(user_id).filter(
            totp_secrets::last_used_step
                .is_null()
                .or(totp_secrets::last_used_step.lt(step)),
        ),
    )
    .set(totp_secrets::last_used_step.eq(Some(step)))
    .execute(conn)?;
    Ok(n == 1)
}

fn replace_recovery_codes(
    conn: &mut DbConn,
    keys: &FactorKeys,
    user_id: i64,
) -> QueryResult<Vec<String>> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
        .execute(conn)?;
    let codes = recovery::generate();
    let now = Utc::now().naive_utc();
    for code in &codes {
        let hash =
            recovery::digest(&keys.recovery[0], code).expect("a generated code is well formed");
        diesel::insert_into(recovery_codes::table)
            .values((
                recovery_codes::user_id.eq(user_id),
                recovery_codes::code_hash.eq(hash),
                recovery_codes::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(codes)
}

/// New recovery codes for a user with two factors on (the old ones stop
/// working); `None` when two factors are off.
pub fn new_recovery_codes(
    conn: &mut DbConn,
    keys: &FactorKeys,
    user_id: i64,
) -> QueryResult<Option<Vec<String>>> {
    conn.write_transaction(|conn| {
        if !is_on(conn, user_id)? {
            return Ok(None);
        }
        replace_recovery_codes(conn, keys, user_id).map(Some)
    })
}

/// Recovery codes not used yet.
pub fn recovery_codes_left(conn: &mut DbConn, user_id: i64) -> QueryResult<i64> {
    recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)
}

/// Turns two factors off: the secret and the recovery codes are deleted.
/// `false` when they were not on. Sessions stay as they are.
pub fn disable(conn: &mut DbConn, user_id: i64) -> QueryResult<bool> {
    conn.write_transaction(|conn| {
        let was_on = is_on(conn, user_id)?;
        diesel::delete(totp_secrets::table.find(user_id)).execute(conn)?;
        diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
            .execute(conn)?;
        if was_on {
            let now = Utc::now().naive_utc();
            diesel::update(users::table.find(user_id))
                .set((
                    users::two_factor_at.eq(None::<NaiveDateTime>),
                    users::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
        Ok(was_on)
    })
}

/// Checks a second-factor code of a user with two factors on and spends it:
/// a TOTP code (its step can never be used again) or a recovery code (used
/// once). Run it inside the transaction of what the code allows, so a
/// failure after it takes the spending back.
pub fn verify(
    conn: &mut DbConn,
    keys: &FactorKeys,
    user_id: i64,
    code: &str,
) -> QueryResult<Option<Factor>> {
    if !is_on(conn, user_id)? {
        return Ok(None);
    }
    if let Some((secret, last)) = stored_secret(conn, keys, user_id)?
        && let Some(step) = secret.check(code, now_unix(), last)
    {
        return Ok(spend_step(conn, user_id, step)?.then_some(Factor::Totp));
    }
    // Under each key: a code made before a rotation still works (once).
    let hashes: Vec<Vec<u8>> = keys
        .recovery
        .iter()
        .filter_map(|key| recovery::digest(key, code))
        .collect();
    if hashes.is_empty() {
        return Ok(None);
    }
    let n = diesel::update(
        recovery_codes::table
            .filter(recovery_codes::user_id.eq(user_id))
            .filter(recovery_codes::code_hash.eq_any(hashes))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(Some(Utc::now().naive_utc())))
    .execute(conn)?;
    Ok((n == 1).then_some(Factor::RecoveryCode))
}

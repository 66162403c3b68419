//! Second factors: TOTP secrets and codes ([`totp`]), single-use recovery
//! codes ([`recovery`]), their rows ([`store`]) and the sign-in that waits
//! for one ([`pending`], completed by [`complete`]).

pub mod pending;
pub mod recovery;
pub mod store;
pub mod totp;

use diesel::result::QueryResult;

use crate::audit::{self, Event, action};
use crate::auth::fresh::{self, Proof};
use crate::auth::gate::{self, Refusal};
use crate::db::DbConn;
use crate::session::{Device, ExpiryPolicy, PlainToken, TokenHash};
pub use store::{Factor, FactorKeys};

/// What a second-factor code did to a pending sign-in.
#[derive(Debug)]
pub enum Completion {
    /// The session (two factors, `aal` 2) exists; its token is for the cookie.
    SignedIn {
        user_id: i64,
        session: PlainToken,
        callback_url: String,
        factor: Factor,
    },
    /// The code was wrong or already used; the pending sign-in still stands.
    WrongCode,
    /// No live pending sign-in for this browser (expired, done, or never).
    Gone,
    /// The sign-in gate refused the user meanwhile (a ban, a domain rule).
    Refused(Refusal),
}

/// Why a transaction was rolled back.
enum Abort {
    WrongCode,
    SessionGone,
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for Abort {
    fn from(e: diesel::result::Error) -> Self {
        Abort::Db(e)
    }
}

/// Completes the pending sign-in of `hash` with `code`, in one transaction:
/// the pending row is spent, the gate asked again, the code checked and
/// spent, the session created and the sign-in audited. A wrong code rolls
/// all of it back, so the pending sign-in stays for another try.
pub fn complete(
    conn: &mut DbConn,
    keys: &FactorKeys,
    hash: &TokenHash,
    code: &str,
    device: &Device,
    policy: &ExpiryPolicy,
    rules: &gate::Rules,
) -> QueryResult<Completion> {
    let done = conn.write_transaction::<_, Abort>(|conn| {
        let Some(p) = pending::spend(conn, hash)? else {
            return Ok(Completion::Gone);
        };
        if let Err(refusal) = gate::check(
            conn,
            p.user_id,
            rules,
            crate::hooks::SignInMethod::TwoFactor,
        )? {
            return Ok(Completion::Refused(refusal));
        }
        let Some(factor) = store::verify(conn, keys, p.user_id, code)? else {
            return Err(Abort::WrongCode);
        };
        let session = crate::session::create_session(conn, p.user_id, device, policy, None, 2)?;
        let mut details = match p.details {
            serde_json::Value::Object(m) => m,
            _ => serde_json::Map::new(),
        };
        details.insert("method".into(), p.method.into());
        details.insert("second_factor".into(), factor.name().into());
        record_recovery_use(conn, p.user_id, factor, device)?;
        audit::record(
            conn,
            Event::by(p.user_id, action::SIGN_IN, device).details(details.into()),
        )?;
        Ok(Completion::SignedIn {
            user_id: p.user_id,
            session,
            callback_url: p.callback_url,
            factor,
        })
    });
    match done {
        Ok(c) => Ok(c),
        Err(Abort::WrongCode) => Ok(Completion::WrongCode),
        Err(Abort::SessionGone) => Ok(Completion::Gone),
        Err(Abort::Db(e)) => Err(e),
    }
}

/// A recovery code was spent: `recovery_code_used`, with how many are left.
fn record_recovery_use(
    conn: &mut DbConn,
    user_id: i64,
    factor: Factor,
    device: &Device,
) -> QueryResult<()> {
    if factor != Factor::RecoveryCode {
        return Ok(());
    }
    let left = store::recovery_codes_left(conn, user_id)?;
    audit::record(
        conn,
        Event::by(user_id, action::RECOVERY_CODE_USED, device)
            .details(serde_json::json!({"left": left})),
    )
}

/// What a second-factor code did at `/reauth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reconfirmed {
    /// The session is authenticated now (`reauthenticated` recorded).
    Done(Factor),
    /// The code was wrong or already used (or two factors are off).
    WrongCode,
    /// The session ended meanwhile, or is an impersonation session: nothing
    /// was spent.
    SessionGone,
}

/// Re-confirms session `session_id` of `user_id` with a second-factor
/// `code`, in one transaction: the code is checked and spent (a TOTP step
/// never again, a recovery code once) and the session marked authenticated
/// now. When the session cannot be re-confirmed the code stays unspent.
pub fn reconfirm(
    conn: &mut DbConn,
    keys: &FactorKeys,
    session_id: i64,
    user_id: i64,
    code: &str,
    device: &Device,
) -> QueryResult<Reconfirmed> {
    let done = conn.write_transaction::<_, Abort>(|conn| {
        let Some(factor) = store::verify(conn, keys, user_id, code)? else {
            return Err(Abort::WrongCode);
        };
        let proof = match factor {
            Factor::Totp => Proof::Totp,
            Factor::RecoveryCode => Proof::RecoveryCode,
        };
        if !fresh::reconfirm(conn, session_id, user_id, proof, device)? {
            return Err(Abort::SessionGone);
        }
        record_recovery_use(conn, user_id, factor, device)?;
        Ok(Reconfirmed::Done(factor))
    });
    match done {
        Ok(r) => Ok(r),
        Err(Abort::WrongCode) => Ok(Reconfirmed::WrongCode),
        Err(Abort::SessionGone) => Ok(Reconfirmed::SessionGone),
        Err(Abort::Db(e)) => Err(e),
    }
}

/// How a sign-in whose first factor is proven goes on.
#[derive(Debug)]
pub enum Begun {
    /// A one-factor session (the user has no second factor); its token is
    /// for the cookie.
    Session(PlainToken),
    /// The user has two factors on: no session, a pending sign-in whose
    /// token is for this browser's cookie (see [`pending`]).
    Pending(PlainToken),
}

/// After a right first factor (a password, a provider, a mailed link): the
/// session and its `sign_in` event (`details` names the method), or, for a
/// user with two factors on, a pending sign-in that a code completes and its
/// `two_factor_required` event (with the first factor's `method`). Every
/// sign-in path calls this in its own transaction, so none can skip the
/// second factor (and the one session join refuses a one-factor session of
/// such a user anyway).
pub fn begin_sign_in(
    conn: &mut DbConn,
    user_id: i64,
    device: &Device,
    policy: &ExpiryPolicy,
    details: serde_json::Value,
    callback_url: &str,
) -> QueryResult<Begun> {
    let two_factor = store::is_on(conn, user_id)?;
    begin_known(
        conn,
        user_id,
        two_factor,
        device,
        policy,
        details,
        callback_url,
    )
}

/// [`begin_sign_in`] when the caller read `two_factor` already. On SQLite a
/// transaction that reads before it writes cannot take the write lock while
/// another holds it (it fails at once instead of waiting), so a caller with
/// nothing else to write reads first, then writes in its transaction.
pub fn begin_known(
    conn: &mut DbConn,
    user_id: i64,
    two_factor: bool,
    device: &Device,
    policy: &ExpiryPolicy,
    details: serde_json::Value,
    callback_url: &str,
) -> QueryResult<Begun> {
    if two_factor {
        let method = details
            .get("method")
            .and_then(|m| m.as_str())
            .unwrap_or("password")
            .to_owned();
        // The first factor was right: recorded now, so one guessed (or
        // stolen) and then abandoned at the code step leaves a trace.
        audit::record(
            conn,
            Event::by(user_id, action::TWO_FACTOR_REQUIRED, device)
                .details(serde_json::json!({ "method": method })),
        )?;
        let token = pending::create(
            conn,
            &pending::Pending {
                user_id,
                method,
                details,
                callback_url: callback_url.to_owned(),
            },
        )?;
        return Ok(Begun::Pending(token));
    }
    let session = crate::session::create_session(conn, user_id, device, policy, None, 1)?;
    audit::record(
        conn,
        Event::by(user_id, action::SIGN_IN, device).details(details),
    )?;
    Ok(Begun::Session(session))
}

#[cfg(test)]
mod proptests;

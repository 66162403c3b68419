//! What start-up makes sure of: the signing secret, the configured admin, and,
//! with no admin at all, a one-time setup link for the first one.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

use crate::config::{Config, Secret};
use crate::db::{self, Db};
use crate::error::AppError;
use crate::session::PlainToken;
use crate::users;

const SECRET_KEY: &str = "secret";
const SETUP_TOKEN_HASH: &str = "setup_token_hash";

/// `GATEHOUSE_SECRET`, or the one generated on first start and kept in the
/// database (the first instance to start wins; the others read it).
pub fn signing_secret(db: &Db, config: &Config) -> Result<Secret, AppError> {
    if let Some(s) = &config.secret {
        return Ok(s.clone());
    }
    let mut conn = db.get()?;
    let generated = PlainToken::generate().expose();
    let stored = db::insert_setting_once(&mut conn, SECRET_KEY, &generated)?;
    Ok(Secret::new(stored.into_bytes()))
}

/// Creates the configured admin if no account has that email (never overwrites).
pub fn ensure_configured_admin(db: &Db, config: &Config) -> Result<bool, AppError> {
    let Some(admin) = &config.admin else {
        return Ok(false);
    };
    {
        let mut conn = db.get()?;
        if users::email_exists(&mut conn, &admin.email)? {
            return Ok(false);
        }
    }
    let password = String::from_utf8_lossy(admin.password.expose()).into_owned();
    match crate::auth::register(db, "Administrator", &admin.email, &password, "admin") {
        Ok(_) => Ok(true),
        // Another instance created it first.
        Err(AppError::Conflict(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

fn token_digest(token: &str) -> String {
    let token = PlainToken::parse(token);
    match token {
        Some(t) => URL_SAFE_NO_PAD.encode(t.hash().as_bytes()),
        None => String::new(),
    }
}

/// With no admin account, stores a fresh setup token (its hash) and answers the
/// path of the link; each start replaces the previous link.
pub fn issue_setup_link(db: &Db) -> Result<Option<String>, AppError> {
    let mut conn = db.get()?;
    if users::any_admin(&mut conn)? {
        db::delete_setting(&mut conn, SETUP_TOKEN_HASH)?;
        return Ok(None);
    }
    let token = PlainToken::generate().expose();
    db::put_setting(&mut conn, SETUP_TOKEN_HASH, &token_digest(&token))?;
    Ok(Some(format!("/setup?token={token}")))
}

/// Whether `token` is the current setup token and no admin exists yet.
pub fn setup_token_valid(conn: &mut db::DbConn, token: &str) -> Result<bool, AppError> {
    let given = token_digest(token);
    if given.is_empty() || users::any_admin(conn)? {
        return Ok(false);
    }
    let stored = db::get_setting(conn, SETUP_TOKEN_HASH)?.unwrap_or_default();
    Ok(!stored.is_empty() && bool::from(stored.as_bytes().ct_eq(given.as_bytes())))
}

/// Spends the setup token: answers false if it was already used.
pub fn consume_setup_token(conn: &mut db::DbConn, token: &str) -> Result<bool, AppError> {
    if !setup_token_valid(conn, token)? {
        return Ok(false);
    }
    // Only the request that deletes the row wins a race between two.
    Ok(db::delete_setting(conn, SETUP_TOKEN_HASH)?)
}

/// Puts a spent setup token back (its admin could not be created).
pub fn restore_setup_token(db: &Db, token: &str) -> Result<(), AppError> {
    let mut conn = db.get()?;
    if users::any_admin(&mut conn)? {
        return Ok(());
    }
    db::insert_setting_once(&mut conn, SETUP_TOKEN_HASH, &token_digest(token))?;
    Ok(())
}

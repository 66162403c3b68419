//! What start-up makes sure of: the signing secret, the configured admin, and,
//! with no admin at all, a one-time setup link for the first one.

pub(crate) mod secret_file;

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

/// The signing secret: `GATEHOUSE_SECRET`, or the one generated on first start
/// and kept in `GATEHOUSE_SECRET_FILE` (mode 0600), never in the database, so a
/// copy of the database opens no sealed token and forges no cookie.
///
/// A secret an earlier version kept in the database (`settings.secret`) is
/// moved to the file once, then deleted from the database, so what it sealed
/// still opens. When the file exists too, the file wins and the database copy
/// is deleted. With `GATEHOUSE_SECRET` set, a database copy is unused and
/// deleted as well. Errors are one line for the operator.
///
/// Also answers the earlier secrets still accepted: `GATEHOUSE_SECRET_PREVIOUS`
/// and, when the file is used, the lines after its first.
pub fn signing_secret(db: &Db, config: &Config) -> Result<(Secret, Vec<Secret>), String> {
    let mut previous = config.secret_previous.clone();
    let failed =
        |e: diesel::result::Error| format!("cannot load the signing secret: database: {e}");
    let mut conn = db
        .get()
        .map_err(|_| "cannot load the signing secret: the database does not answer".to_string())?;
    let in_db = db::get_setting(&mut conn, SECRET_KEY).map_err(failed)?;
    let secret = if let Some(given) = &config.secret {
        if in_db.is_some() {
            log::warn!(
                "GATEHOUSE_SECRET is set: deleting the unused generated secret an earlier version kept in the database"
            );
        }
        given.clone()
    } else {
        let path = &config.secret_file;
        match secret_file::read_all(path)? {
            Some((from_file, earlier)) => {
                for e in earlier {
                    if !previous.contains(&e) {
                        previous.push(e);
                    }
                }
                if in_db.is_some() {
                    log::warn!(
                        "GATEHOUSE_SECRET_FILE {} exists and the database holds a generated secret too (an earlier version): the file wins, the database copy is deleted",
                        path.display()
                    );
                }
                from_file
            }
            None => match in_db.as_deref() {
                Some(old) => {
                    let kept = secret_file::create(path, old)?;
                    log::info!(
                        "moved the generated secret from the database to GATEHOUSE_SECRET_FILE {}",
                        path.display()
                    );
                    kept
                }
                None => {
                    let kept = secret_file::create(path, &PlainToken::generate().expose())?;
                    if holds_sealed_tokens(&mut conn).map_err(failed)? {
                        log::warn!(
                            "generated a new secret into GATEHOUSE_SECRET_FILE {}, but the database holds provider tokens sealed with an earlier one: they cannot be opened, and their users must sign in with the provider again",
                            path.display()
                        );
                    } else {
                        log::info!(
                            "generated a secret into GATEHOUSE_SECRET_FILE {}",
                            path.display()
                        );
                    }
                    kept
                }
            },
        }
    };
    // Only once the file holds it (written and synced) is the row deleted.
    if in_db.is_some() {
        db::delete_setting(&mut conn, SECRET_KEY).map_err(failed)?;
    }
    Ok((secret, previous))
}

fn holds_sealed_tokens(conn: &mut db::DbConn) -> diesel::QueryResult<bool> {
    use crate::db::schema::accounts as ac;
    use diesel::prelude::*;
    diesel::select(diesel::dsl::exists(
        ac::table.filter(
            ac::access_token
                .is_not_null()
                .or(ac::refresh_token.is_not_null()),
        ),
    ))
    .get_result(conn)
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
    let policy = &config.password_policy;
    match crate::auth::register(
        db,
        policy,
        "Administrator",
        &admin.email,
        &password,
        "admin",
    ) {
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

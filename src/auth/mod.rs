//! Passwords, keys, CSRF, the first-admin bootstrap, and the sign-in gate.

pub mod attempts;
pub mod bootstrap;
pub mod csrf;
pub mod fresh;
pub mod gate;
pub mod guard;
pub mod keys;
pub mod limiter;
pub mod password;
pub mod rotation;

use crate::error::AppError;
use crate::users;

/// Checks an email and password. Unknown email, account without a password and
/// wrong password all answer `BadCredentials`, after the same argon2 work.
/// Runs on a blocking thread; the connection is returned before hashing.
/// `require_verified_email`: `EMAIL_VERIFICATION=required` (see the gate).
pub fn authenticate(
    pool: &crate::db::Db,
    email: &str,
    password: &str,
    rules: &gate::Rules,
    require_verified_email: bool,
) -> Result<i64, AppError> {
    let found = match users::normalize_email(email) {
        Ok(email) => {
            let mut conn = pool.get()?;
            users::find_credentials(&mut conn, &email)?
        }
        Err(_) => None,
    };
    match found {
        Some((id, Some(hash))) => {
            if password::verify_password(password, &hash) {
                // Only after the right password: a ban is never an oracle.
                let mut conn = pool.get()?;
                gate::check_password_sign_in(&mut conn, id, rules, require_verified_email)?
                    .map_err(AppError::Refused)?;
                Ok(id)
            } else {
                Err(AppError::BadCredentials)
            }
        }
        _ => {
            password::verify_dummy(password);
            Err(AppError::BadCredentials)
        }
    }
}

/// A sign-up whose fields have been checked.
pub struct Registration {
    pub name: String,
    pub email: String,
    password: String,
    /// The new user's language preference (mails included); English unless
    /// the sign-up page says otherwise ([`Registration::in_language`]).
    language: crate::i18n::Lang,
}

impl Registration {
    /// The fields in the form's order, the first refusal answered; the
    /// password is judged against the name and address typed with it (CPU
    /// work: call this on a hashing thread).
    pub fn validate(
        policy: &users::PasswordPolicy,
        name: &str,
        email: &str,
        password: &str,
    ) -> Result<Self, AppError> {
        let name = users::validate_name(name).map_err(|m| AppError::invalid("name", m))?;
        let email = users::normalize_email(email).map_err(|m| AppError::invalid("email", m))?;
        policy
            .check(password, &[&name, &email])
            .map_err(|m| AppError::invalid("password", m))?;
        Ok(Registration {
            name,
            email,
            password: password.to_owned(),
            language: crate::i18n::Lang::En,
        })
    }

    /// The account gets `language` as its preference: the language the
    /// sign-up page was negotiated in, so its first mail is in it too.
    pub fn in_language(self, language: crate::i18n::Lang) -> Self {
        Registration { language, ..self }
    }

    /// Creates the account; the password is hashed before a connection is taken
    /// from the pool. `Conflict` when the email is taken.
    pub fn create(self, db: &crate::db::Db, role: &str) -> Result<i64, AppError> {
        let hash = password::hash_password(&self.password)?;
        let mut conn = db.get()?;
        users::create_user(
            &mut conn,
            &users::NewUser {
                email: &self.email,
                name: &self.name,
                password_hash: Some(&hash),
                role,
                language: self.language.code(),
            },
        )
    }
}

/// Creates a password account after validating every field.
pub fn register(
    db: &crate::db::Db,
    policy: &users::PasswordPolicy,
    name: &str,
    email: &str,
    password: &str,
    role: &str,
) -> Result<i64, AppError> {
    Registration::validate(policy, name, email, password)?.create(db, role)
}

/// Checks the current password a signed-in user typed on a settings form:
/// `Ok(true)` when it is right, `Ok(false)` when the account has no password
/// (nothing to check), `BadCredentials` when it is wrong. Runs on a hashing
/// thread; the connection is returned before hashing.
pub fn check_current_password(
    db: &crate::db::Db,
    user_id: i64,
    current: &str,
) -> Result<bool, AppError> {
    let stored = {
        let mut conn = db.get()?;
        users::password_hash_of(&mut conn, user_id)?
    };
    match stored {
        None => Ok(false),
        Some(stored) if password::verify_password(current, &stored) => Ok(true),
        Some(_) => Err(AppError::BadCredentials),
    }
}

/// Checks the current password, then the new one against `policy` and the
/// account's name and email, stores it, ends every session of the user (the
/// caller starts a fresh one for this device) and revokes their mailed reset
/// and sign-in links, in one transaction. Runs on a hashing thread.
pub fn change_password(
    db: &crate::db::Db,
    policy: &users::PasswordPolicy,
    user_id: i64,
    current: &str,
    new: &str,
    account: &[&str],
) -> Result<(), AppError> {
    if !check_current_password(db, user_id, current)? {
        return Err(AppError::invalid(
            "current_password",
            crate::i18n::Msg::key("invalid-no-password"),
        ));
    }
    policy
        .check(new, account)
        .map_err(|m| AppError::invalid("new_password", m))?;
    let hash = password::hash_password(new)?;
    let mut conn = db.get()?;
    conn.write_transaction(|conn| {
        users::set_password_hash(conn, user_id, &hash)?;
        crate::session::delete_all_of_user(conn, user_id)?;
        crate::email::tokens::revoke_account_links(conn, user_id)?;
        Ok::<_, diesel::result::Error>(())
    })?;
    Ok(())
}

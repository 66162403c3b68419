//! The user model, what a user may change of themselves, and the one function
//! that turns a row into the session view ([`SessionUser`]).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::DbConn;
use crate::db::schema::users;
use crate::error::AppError;
use crate::i18n::Msg;

pub mod delete;
pub mod email;
pub mod password_policy;
pub use email::{MAX_EMAIL_LEN, normalize_email};
pub use password_policy::{MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS, PasswordPolicy};

/// The columns of `users` the session view is made from (no password hash).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub image: Option<String>,
    pub role: String,
    pub permissions: String,
    pub plan: String,
    pub plan_expires_at: Option<NaiveDateTime>,
    pub theme: String,
    pub language: String,
    pub email_verified_at: Option<NaiveDateTime>,
    /// When the user turned a second factor on (`None`: off).
    pub two_factor_at: Option<NaiveDateTime>,
}

/// What pages, the JSON API and handlers know of the signed-in user, made anew
/// from the database on every request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionUser {
    /// The user's id (a string in JSON).
    #[serde(with = "id_as_string")]
    pub id: i64,
    /// The display name.
    pub name: String,
    /// The address, normalised (lower case, the domain in ASCII).
    pub email: String,
    /// The user has opened a link mailed to this address.
    pub email_verified: bool,
    /// The user signs in with a second factor (TOTP).
    pub two_factor: bool,
    /// The avatar's URL (`http`/`https`), if any.
    pub image: Option<String>,
    /// `user` or `admin` (or a role of the app's own).
    pub role: String,
    /// What the user may do: their role's permissions and their own grants.
    pub permissions: Vec<String>,
    /// `light`, `dark` or `system`.
    pub theme: String,
    /// The UI language (`en`, `de`, `ru`).
    pub language: String,
    /// The plan in force now (`free` once a plan's end has passed).
    pub plan: String,
    /// When `plan` turns to `free` by itself (no write happens then, so no
    /// change is told: a live stream arms a timer for it). Not in the JSON.
    #[serde(skip)]
    pub plan_ends_at: Option<DateTime<Utc>>,
}

impl SessionUser {
    /// The one place a `users` row becomes the session view.
    pub fn from_row(row: UserRow, now: NaiveDateTime) -> Self {
        let permissions = effective_permissions(&row.role, &row.permissions);
        let plan_ends_at = row
            .plan_expires_at
            .filter(|end| *end > now)
            .map(|end| end.and_utc());
        let plan = plan_in_force(row.plan, row.plan_expires_at, now);
        SessionUser {
            id: row.id,
            name: row.name,
            email: row.email,
            email_verified: row.email_verified_at.is_some(),
            two_factor: row.two_factor_at.is_some(),
            image: row.image,
            role: row.role,
            permissions,
            theme: row.theme,
            language: row.language,
            plan,
            plan_ends_at,
        }
    }

    /// Whether the role is `admin`.
    pub fn is_admin(&self) -> bool {
        self.role == "admin"
    }

    /// Whether the user holds `permission` (read fresh on this request).
    pub fn can(&self, permission: &str) -> bool {
        self.permissions.iter().any(|p| p == permission)
    }
}

/// The plan that applies at `now`: `free` once `expires_at` has passed.
pub fn plan_in_force(
    plan: String,
    expires_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> String {
    match expires_at {
        Some(end) if end <= now => "free".to_owned(),
        _ => plan,
    }
}

/// The roles, and what each grants besides a user's own grants.
pub const ROLES: [&str; 2] = ["user", "admin"];

pub fn role_permissions(role: &str) -> &'static [&'static str] {
    match role {
        "admin" => &[
            "admin",
            "users:read",
            "users:write",
            "sessions:revoke",
            "audit:read",
            "impersonate",
        ],
        _ => &[],
    }
}

/// A user's own grants, from the `permissions` cell (a JSON array). A malformed
/// cell (edited by hand) grants nothing.
pub fn grants_of(cell: &str) -> Vec<String> {
    serde_json::from_str(cell).unwrap_or_default()
}

/// What the user may do: the role's permissions and their own grants, sorted.
pub fn effective_permissions(role: &str, cell: &str) -> Vec<String> {
    let mut all: Vec<String> = role_permissions(role)
        .iter()
        .map(|p| p.to_string())
        .chain(grants_of(cell))
        .collect();
    all.sort();
    all.dedup();
    all
}

/// A permission string: 1-64 of `a-z 0-9 : _ - .`.
pub fn validate_permission(p: &str) -> Result<(), String> {
    let ok = !p.is_empty()
        && p.len() <= 64
        && p.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b':' | b'_' | b'-' | b'.')
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{p}` is not a permission (1-64 of a-z, 0-9, `:`, `_`, `-`, `.`)."
        ))
    }
}

/// Ids are strings in JSON (SPEC), numbers in the database.
pub mod id_as_string {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(id: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(id)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_IMAGE_LEN: usize = 2048;
pub const THEMES: [&str; 3] = ["light", "dark", "system"];
/// Offered in the settings form; any well-formed language tag is accepted.
pub const LANGUAGES: [(&str, &str); 9] = [
    ("en", "English"),
    ("de", "Deutsch"),
    ("ru", "Русский"),
    ("es", "Español"),
    ("fr", "Français"),
    ("it", "Italiano"),
    ("ja", "日本語"),
    ("pt", "Português"),
    ("zh", "中文"),
];

pub fn validate_name(raw: &str) -> Result<String, Msg> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(Msg::key("invalid-name-empty"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Msg::key("invalid-name-long").with("max", MAX_NAME_CHARS));
    }
    if name.chars().any(char::is_control) {
        return Err(Msg::key("invalid-name-control"));
    }
    Ok(name.to_owned())
}

/// An avatar URL: empty clears it; otherwise an absolute `http`/`https` URL.
pub fn validate_image(raw: &str) -> Result<Option<String>, Msg> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    if raw.len() > MAX_IMAGE_LEN {
        return Err(Msg::key("invalid-image-long").with("max", MAX_IMAGE_LEN));
    }
    match url::Url::parse(raw) {
        Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host_str().is_some() => {
            Ok(Some(u.to_string()))
        }
        _ => Err(Msg::key("invalid-image-scheme")),
    }
}

pub fn validate_theme(raw: &str) -> Result<String, Msg> {
    let t = raw.trim();
    if THEMES.contains(&t) {
        Ok(t.to_owned())
    } else {
        Err(Msg::key("invalid-theme"))
    }
}

/// A BCP 47-like tag: `en`, `pt-BR`, `zh-Hant`.
pub fn validate_language(raw: &str) -> Result<String, Msg> {
    let tag = raw.trim();
    let mut parts = tag.split('-');
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    let rest_ok =
        parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if primary_ok && rest_ok && tag.len() <= 35 {
        Ok(tag.to_owned())
    } else {
        Err(Msg::key("invalid-language"))
    }
}

#[derive(Insertable)]
#[diesel(table_name = users)]
struct NewUserRow<'a> {
    email: &'a str,
    name: &'a str,
    image: Option<&'a str>,
    password_hash: Option<&'a str>,
    role: &'a str,
    language: &'a str,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// A user to create; fields already validated.
pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: Option<&'a str>,
    pub role: &'a str,
    /// The UI language code (`en`, `de`, `ru`): the language the sign-up
    /// page was shown in, else `en`.
    pub language: &'a str,
}

/// Creates a user; `Conflict` when the email is taken.
pub fn create_user(conn: &mut DbConn, new: &NewUser<'_>) -> Result<i64, AppError> {
    let now = Utc::now().naive_utc();
    let inserted = diesel::insert_into(users::table)
        .values(NewUserRow {
            email: new.email,
            name: new.name,
            image: None,
            password_hash: new.password_hash,
            role: new.role,
            language: new.language,
            created_at: now,
            updated_at: now,
        })
        .execute(conn);
    match inserted {
        Ok(_) => {}
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => {
            return Err(AppError::Conflict(Msg::key("conflict-email-taken")));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(users::table
        .filter(users::email.eq(new.email))
        .select(users::id)
        .first(conn)?)
}

/// What a user may change of themselves; `None` leaves a field as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct SelfUpdate {
    pub name: Option<String>,
    pub image: Option<Option<String>>,
    pub theme: Option<String>,
    pub language: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
}

impl SelfUpdate {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.image.is_none()
            && self.theme.is_none()
            && self.language.is_none()
    }
}

pub fn update_self(
    conn: &mut DbConn,
    user_id: i64,
    mut change: SelfUpdate,
) -> Result<(), AppError> {
    if change.is_empty() {
        return Ok(());
    }
    change.updated_at = Some(Utc::now().naive_utc());
    diesel::update(users::table.find(user_id))
        .set(&change)
        .execute(conn)?;
    Ok(())
}

/// [`update_self`], recorded in the audit log in the same transaction
/// (`preferences_changed` for theme and language alone, else `profile_changed`),
/// naming `(actor, user)` as from `SignedIn::audit_parties`.
pub fn update_self_audited(
    conn: &mut DbConn,
    (actor, user_id): (i64, i64),
    change: SelfUpdate,
    device: &crate::session::Device,
) -> Result<(), AppError> {
    use crate::audit::{Event, action, record};
    let mut fields = Vec::new();
    for (set, name) in [
        (change.name.is_some(), "name"),
        (change.image.is_some(), "image"),
        (change.theme.is_some(), "theme"),
        (change.language.is_some(), "language"),
    ] {
        if set {
            fields.push(name);
        }
    }
    if fields.is_empty() {
        return Ok(());
    }
    let what = if change.name.is_none() && change.image.is_none() {
        action::PREFERENCES_CHANGED
    } else {
        action::PROFILE_CHANGED
    };
    conn.write_transaction(|conn| {
        update_self(conn, user_id, change)?;
        record(
            conn,
            Event::between((actor, user_id), what, device)
                .details(serde_json::json!({ "fields": fields })),
        )?;
        Ok(())
    })
}

/// Email and password hash of the account with this (normalised) email.
pub fn find_credentials(
    conn: &mut DbConn,
    email: &str,
) -> QueryResult<Option<(i64, Option<String>)>> {
    users::table
        .filter(users::email.eq(email))
        .select((users::id, users::password_hash))
        .first(conn)
        .optional()
}

pub fn password_hash_of(conn: &mut DbConn, user_id: i64) -> QueryResult<Option<String>> {
    users::table
        .find(user_id)
        .select(users::password_hash)
        .first(conn)
}

pub fn set_password_hash(conn: &mut DbConn, user_id: i64, hash: &str) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set((
            users::password_hash.eq(hash),
            users::updated_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn any_admin(conn: &mut DbConn) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table.filter(users::role.eq("admin")),
    ))
    .get_result(conn)
}

pub fn email_exists(conn: &mut DbConn, email: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table.filter(users::email.eq(email)),
    ))
    .get_result(conn)
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avatar_urls_must_be_http() {
        assert_eq!(validate_image("").unwrap(), None);
        assert!(
            validate_image("https://img.example/a.png")
                .unwrap()
                .is_some()
        );
        for bad in [
            "javascript:alert(1)",
            "data:image/png;base64,xx",
            "/relative.png",
            "ftp://x/y",
        ] {
            assert!(validate_image(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_themes_and_languages() {
        assert!(validate_name(&"x".repeat(MAX_NAME_CHARS + 1)).is_err());
        assert!(validate_name("   ").is_err());
        assert_eq!(validate_name(" Ada ").unwrap(), "Ada");
        assert!(validate_theme("dark").is_ok() && validate_theme("neon").is_err());
        for ok in ["en", "pt-BR", "zh-Hant"] {
            assert!(validate_language(ok).is_ok(), "{ok}");
        }
        for bad in ["", "e", "english!", "en_US", "\"><script>"] {
            assert!(validate_language(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_expired_plan_reads_as_free() {
        let now = Utc::now().naive_utc();
        let row = |end| UserRow {
            id: 7,
            email: "a@x.org".into(),
            name: "A".into(),
            image: None,
            role: "user".into(),
            permissions: r#"["read"]"#.into(),
            plan: "premium".into(),
            plan_expires_at: end,
            theme: "system".into(),
            language: "en".into(),
            email_verified_at: None,
            two_factor_at: None,
        };
        assert_eq!(SessionUser::from_row(row(None), now).plan, "premium");
        assert_eq!(SessionUser::from_row(row(None), now).plan_ends_at, None);
        let past = now - chrono::Duration::seconds(1);
        let expired = SessionUser::from_row(row(Some(past)), now);
        assert_eq!(
            (expired.plan.as_str(), expired.plan_ends_at),
            ("free", None)
        );
        let soon = now + chrono::Duration::seconds(60);
        let ending = SessionUser::from_row(row(Some(soon)), now);
        assert_eq!(ending.plan, "premium");
        assert_eq!(ending.plan_ends_at, Some(soon.and_utc()));
        assert!(
            serde_json::to_value(&ending)
                .unwrap()
                .get("plan_ends_at")
                .is_none()
        );
        let user = SessionUser::from_row(row(None), now);
        assert_eq!(user.permissions, vec!["read"]);
        assert_eq!(serde_json::to_value(&user).unwrap()["id"], "7");
        assert_eq!(
            serde_json::to_value(&user).unwrap()["email_verified"],
            false
        );
    }
}

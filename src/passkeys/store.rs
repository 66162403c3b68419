//! The `passkeys` rows: one per registered credential, with its name, the
//! webauthn-rs `Passkey` as JSON (public key, counter, backup flags: nothing
//! secret) and when it was added and last used. Every change a user makes is
//! scoped by their id, so no one reaches another user's passkey.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::db::DbConn;
use crate::db::schema::passkeys as pk;

/// A passkey as its owner sees it listed.
#[derive(Debug, Clone, Queryable)]
pub struct Listed {
    pub id: i64,
    pub name: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
}

/// The user's passkeys, oldest first.
pub fn list(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<Listed>> {
    pk::table
        .filter(pk::user_id.eq(user_id))
        .order(pk::id.asc())
        .select((pk::id, pk::name, pk::created_at, pk::last_used_at))
        .load(conn)
}

/// The credential ids the user has registered (the browser is asked not to
/// register the same authenticator twice).
pub fn credential_ids(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<Vec<u8>>> {
    pk::table
        .filter(pk::user_id.eq(user_id))
        .select(pk::credential_id)
        .load(conn)
}

/// The WebAuthn user handle of the user's passkeys, if they have one.
pub fn user_handle(conn: &mut DbConn, user_id: i64) -> QueryResult<Option<Vec<u8>>> {
    pk::table
        .filter(pk::user_id.eq(user_id))
        .order(pk::id.asc())
        .select(pk::user_handle)
        .first(conn)
        .optional()
}

/// The user's passkeys as webauthn-rs stored them (JSON).
pub fn passkeys_of(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<String>> {
    pk::table
        .filter(pk::user_id.eq(user_id))
        .order(pk::id.asc())
        .select(pk::passkey)
        .load(conn)
}

pub fn count(conn: &mut DbConn, user_id: i64) -> QueryResult<i64> {
    pk::table
        .filter(pk::user_id.eq(user_id))
        .count()
        .get_result(conn)
}

/// A passkey to store.
pub struct New<'a> {
    pub user_id: i64,
    pub credential_id: &'a [u8],
    pub user_handle: &'a [u8],
    pub name: &'a str,
    pub passkey: &'a str,
    pub now: NaiveDateTime,
}

/// Stores it; `Ok(None)` when the credential is registered already (to
/// this user or another).
pub fn insert(conn: &mut DbConn, new: &New<'_>) -> QueryResult<Option<i64>> {
    let inserted = diesel::insert_into(pk::table)
        .values((
            pk::user_id.eq(new.user_id),
            pk::credential_id.eq(new.credential_id),
            pk::user_handle.eq(new.user_handle),
            pk::name.eq(new.name),
            pk::passkey.eq(new.passkey),
            pk::created_at.eq(new.now),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => pk::table
            .filter(pk::credential_id.eq(new.credential_id))
            .select(pk::id)
            .first(conn)
            .map(Some),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(None),
        Err(e) => Err(e),
    }
}

/// What a sign-in needs of the passkey an assertion names.
#[derive(Debug, Queryable)]
pub struct Found {
    pub id: i64,
    pub user_id: i64,
    pub user_handle: Vec<u8>,
    pub passkey: String,
}

pub fn find_by_credential(conn: &mut DbConn, credential_id: &[u8]) -> QueryResult<Option<Found>> {
    pk::table
        .filter(pk::credential_id.eq(credential_id))
        .select((pk::id, pk::user_id, pk::user_handle, pk::passkey))
        .first(conn)
        .optional()
}

/// Records a use: the updated `Passkey` (counter, backup state) and
/// `last_used_at`, only if the stored one is still `seen`. `false`: another
/// sign-in with the same credential changed it in between (or it was
/// removed), and this one must not stand.
pub fn record_use(
    conn: &mut DbConn,
    id: i64,
    seen: &str,
    updated: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(pk::table.find(id).filter(pk::passkey.eq(seen)))
        .set((pk::passkey.eq(updated), pk::last_used_at.eq(Some(now))))
        .execute(conn)?;
    Ok(n == 1)
}

/// Deletes the user's passkey `id`; answers its name, or `None` when the
/// user has no passkey of that id.
/// One statement, so nothing comes between finding the row and deleting it.
pub fn remove(conn: &mut DbConn, user_id: i64, id: i64) -> QueryResult<Option<String>> {
    #[derive(QueryableByName)]
    struct Removed {
        #[diesel(sql_type = Text)]
        name: String,
    }
    diesel::sql_query("DELETE FROM passkeys WHERE id = $1 AND user_id = $2 RETURNING name")
        .bind::<BigInt, _>(id)
        .bind::<BigInt, _>(user_id)
        .get_result::<Removed>(conn)
        .optional()
        .map(|row| row.map(|r| r.name))
}

//! `gatehouse restore`: puts a backup in place of the SQLite database, with
//! the server stopped. The backup is copied beside the database and checked
//! there (integrity, a gatehouse database, no migration newer than this
//! binary) before anything is touched; the current database is then moved
//! aside under a timestamped name (never deleted), stale `-wal`/`-shm` files
//! with it, and the copy takes its name.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::prelude::*;
use diesel::sqlite::Sqlite;

use super::backup::{self, Contents, MIGRATIONS_TABLE, TempFile};
use super::{Backend, DatabaseUrl, SQLITE_MIGRATIONS};

/// What `restore` did.
#[derive(Debug)]
pub struct RestoreReport {
    /// The database file now in place.
    pub database: PathBuf,
    /// Where the database that was there went (`None`: there was none).
    pub set_aside: Option<PathBuf>,
    pub contents: Contents,
}

/// Tables a gatehouse database has had from its first migration.
const CORE_TABLES: [&str; 2] = ["users", "sessions"];

/// Files SQLite keeps beside a database.
const COMPANIONS: [&str; 3] = ["-wal", "-shm", "-journal"];

/// Restores the backup at `from` as the database of `url`.
pub fn restore(url: &DatabaseUrl, from: &Path) -> Result<RestoreReport, String> {
    if url.backend == Backend::Postgres {
        return Err(format!(
            "restore: DATABASE_URL is PostgreSQL; restore a `pg_dump -Fc` file with its own \
             tool, e.g. `pg_restore --clean --if-exists -d '{url:?}' gatehouse.dump` \
             (see README, Backups)"
        ));
    }
    if !from.is_file() {
        return Err(format!("restore: no backup file at {}", from.display()));
    }
    let wal = with_suffix(from, "-wal");
    if wal.exists() {
        return Err(format!(
            "restore: {} lies beside {}: that is a live database, not a backup \
             (make one with `gatehouse backup`)",
            wal.display(),
            from.display()
        ));
    }
    let target = Path::new(url.target());
    if backup::same_file(from, target) {
        return Err(format!(
            "restore: {} is the database itself",
            from.display()
        ));
    }
    let dir = backup::target_dir(target).map_err(|e| format!("restore: DATABASE_URL: {e}"))?;
    // Copied first, beside the target, so the final step is a rename on one
    // filesystem, and the check reads exactly the bytes that will be used.
    let copy = TempFile::beside(&dir, target, "restore")?;
    fs::copy(from, copy.path())
        .map_err(|e| format!("restore: cannot copy {}: {e}", from.display()))?;
    let contents = backup::check(copy.path())
        .and_then(|c| is_ours(copy.path(), &c).map(|()| c))
        .map_err(|e| format!("restore: {} cannot be restored: {e}", from.display()))?;
    backup::sync_file(copy.path())?;
    if target.exists() {
        ensure_closed(target)?;
    }
    let set_aside = set_aside(target)?;
    fs::rename(copy.path(), target)
        .map_err(|e| format!("restore: cannot move the backup into place: {e}"))?;
    copy.keep();
    backup::sync_dir(&dir);
    Ok(RestoreReport {
        database: std::path::absolute(target).unwrap_or_else(|_| target.to_owned()),
        set_aside,
        contents,
    })
}

/// A gatehouse database this binary can run: the migrations table, the core
/// tables, and only migrations it knows.
fn is_ours(path: &Path, contents: &Contents) -> Result<(), String> {
    let has = |t: &str| contents.tables.iter().any(|(name, _)| name == t);
    if !has(MIGRATIONS_TABLE) || CORE_TABLES.iter().any(|t| !has(t)) {
        return Err(
            "it is not a gatehouse database (no migrations table, users or sessions)".into(),
        );
    }
    let unknown = unknown_migrations(path)?;
    if !unknown.is_empty() {
        return Err(format!(
            "it was made by a newer gatehouse (migration {} is unknown to this binary); \
             restore it with that version",
            unknown.join(", ")
        ));
    }
    Ok(())
}

/// The versions in the file's migrations table that this binary does not
/// know: a backup from a newer gatehouse.
fn unknown_migrations(path: &Path) -> Result<Vec<String>, String> {
    #[derive(QueryableByName)]
    struct Version {
        #[diesel(sql_type = diesel::sql_types::Text)]
        version: String,
    }
    let known: BTreeSet<String> = MigrationSource::<Sqlite>::migrations(&SQLITE_MIGRATIONS)
        .map_err(|e| format!("embedded migrations: {e}"))?
        .iter()
        .map(|m| m.name().version().to_string())
        .collect();
    let mut conn = backup::open_existing(path)?;
    let applied: Vec<Version> =
        diesel::sql_query(format!("SELECT version FROM {MIGRATIONS_TABLE}"))
            .load(&mut conn)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(applied
        .into_iter()
        .map(|v| v.version)
        .filter(|v| !known.contains(v))
        .collect())
}

/// Refuses while another process has the database open. In WAL mode every
/// open connection holds a shared lock on the file, a running server's
/// included, so an exclusive lock is granted only when nobody else has it
/// open. Closing our connection then checkpoints the WAL into the file, so
/// the copy set aside is whole.
fn ensure_closed(target: &Path) -> Result<(), String> {
    let mut conn = backup::open_existing(target)?;
    let locked = conn.batch_execute(
        "PRAGMA busy_timeout = 0;
         PRAGMA locking_mode = EXCLUSIVE;
         BEGIN EXCLUSIVE;
         COMMIT;",
    );
    match locked {
        Ok(()) => Ok(()),
        Err(diesel::result::Error::DatabaseError(_, info))
            if info.message().contains("locked") || info.message().contains("busy") =>
        {
            Err(format!(
                "restore: {} is open in another process (is gatehouse serving on it?); \
                 stop the server first, then restore",
                target.display()
            ))
        }
        // A damaged current database is a reason to restore: it is set aside as it is.
        Err(_) => Ok(()),
    }
}

/// Moves the current database, and its `-wal`/`-journal` if any, to
/// `NAME.before-restore-<UTC time>`; removes a stale `-shm` (SQLite rebuilds
/// it). Answers the new name of the database, if there was one.
fn set_aside(target: &Path) -> Result<Option<PathBuf>, String> {
    let present = target.exists() || COMPANIONS.iter().any(|s| with_suffix(target, s).exists());
    if !present {
        return Ok(None);
    }
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let mut aside = with_suffix(target, &format!(".before-restore-{stamp}"));
    let mut n = 2;
    while aside.exists() {
        aside = with_suffix(target, &format!(".before-restore-{stamp}-{n}"));
        n += 1;
    }
    let moved = |from: &Path, to: &Path| {
        fs::rename(from, to).map_err(|e| {
            format!(
                "restore: cannot move {} to {}: {e}",
                from.display(),
                to.display()
            )
        })
    };
    if target.exists() {
        moved(target, &aside)?;
    }
    for suffix in COMPANIONS {
        let companion = with_suffix(target, suffix);
        if !companion.exists() {
            continue;
        }
        if suffix == "-shm" {
            fs::remove_file(&companion)
                .map_err(|e| format!("restore: cannot remove {}: {e}", companion.display()))?;
        } else {
            moved(&companion, &with_suffix(&aside, suffix))?;
        }
    }
    Ok(aside.exists().then_some(aside))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

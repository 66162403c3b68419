//! `gatehouse backup`: a consistent copy of the SQLite database while the
//! server runs. `VACUUM INTO` reads one snapshot in a read transaction (in WAL
//! mode readers never block the writer, so requests go on), writes it to a
//! temporary file beside PATH, which is checked and synced before it takes
//! PATH's name: a crash never leaves half a file at PATH.
//! PostgreSQL has its own tools; the command says which.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel::sqlite::SqliteConnection;

use super::{Backend, DatabaseUrl};

/// The migrations table Diesel keeps; its presence marks a gatehouse database.
pub const MIGRATIONS_TABLE: &str = "__diesel_schema_migrations";

/// What `backup` wrote.
#[derive(Debug)]
pub struct BackupReport {
    pub path: PathBuf,
    pub bytes: u64,
    pub took: Duration,
    pub contents: Contents,
}

/// What a checked database file holds.
#[derive(Debug)]
pub struct Contents {
    /// Every table (but SQLite's own) and its row count, by name.
    pub tables: Vec<(String, i64)>,
    /// The newest migration applied, if any.
    pub migration: Option<String>,
}

impl Contents {
    pub fn rows(&self, table: &str) -> Option<i64> {
        self.tables
            .iter()
            .find(|(t, _)| t == table)
            .map(|(_, n)| *n)
    }
}

/// Copies the database of `url` to `to`. An existing `to` is refused unless
/// `overwrite`. Only SQLite: PostgreSQL gets the `pg_dump` line to run.
pub fn backup(url: &DatabaseUrl, to: &Path, overwrite: bool) -> Result<BackupReport, String> {
    if url.backend == Backend::Postgres {
        return Err(format!(
            "backup: DATABASE_URL is PostgreSQL; back it up with its own tool, e.g. \
             `pg_dump -Fc -f gatehouse.dump '{url:?}'` (see README, Backups)"
        ));
    }
    let source = Path::new(url.target());
    if !source.is_file() {
        return Err(format!(
            "backup: no database at {} (DATABASE_URL): nothing to back up",
            source.display()
        ));
    }
    let dir = target_dir(to)?;
    if to.exists() {
        if !overwrite {
            return Err(format!(
                "backup: {} already exists; choose a new name, or pass --force to replace it",
                to.display()
            ));
        }
        if same_file(to, source) {
            return Err(format!(
                "backup: {} is the database itself; choose another path",
                to.display()
            ));
        }
    }
    let temp = TempFile::beside(&dir, to, "tmp")?;
    let started = Instant::now();
    let mut conn = open_existing(source)?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(temp.utf8()?)
        .execute(&mut conn)
        .map_err(|e| format!("backup: copying {} failed: {e}", source.display()))?;
    drop(conn);
    let took = started.elapsed();
    let contents = check(temp.path())
        .map_err(|e| format!("backup: the copy failed its check ({e}); nothing written"))?;
    sync_file(temp.path())?;
    place(&temp, to, overwrite)?;
    sync_dir(&dir);
    let bytes = fs::metadata(to).map(|m| m.len()).unwrap_or(0);
    Ok(BackupReport {
        path: std::path::absolute(to).unwrap_or_else(|_| to.to_owned()),
        bytes,
        took,
        contents,
    })
}

/// The directory a new file at `to` goes in: it must exist, and `to` must
/// name a file in it.
pub(crate) fn target_dir(to: &Path) -> Result<PathBuf, String> {
    if to.as_os_str().is_empty() {
        return Err("the path is empty".into());
    }
    if to.is_dir() || to.file_name().is_none() || to.to_string_lossy().ends_with('/') {
        return Err(format!(
            "{} is a directory; give a file name, e.g. {}",
            to.display(),
            to.join("gatehouse-backup.db").display()
        ));
    }
    let dir = match to.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(format!(
            "the directory {} does not exist (create it first)",
            dir.display()
        ));
    }
    Ok(dir)
}

pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Opens an existing SQLite file without creating one or changing its
/// journal mode; waits up to 5 s for a lock, as the server's connections do.
pub(crate) fn open_existing(path: &Path) -> Result<SqliteConnection, String> {
    let name = path
        .to_str()
        .ok_or_else(|| format!("{} is not a UTF-8 path", path.display()))?;
    let mut conn = SqliteConnection::establish(name)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    conn.batch_execute("PRAGMA busy_timeout = 5000;")
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    Ok(conn)
}

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    text: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// `PRAGMA integrity_check` must say `ok`; answers the tables and their rows
/// and the newest migration. An error says what is wrong.
pub(crate) fn check(path: &Path) -> Result<Contents, String> {
    let mut head = [0u8; 16];
    let read = fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if read < 16 || &head != b"SQLite format 3\0" {
        return Err(format!("{} is not a SQLite database", path.display()));
    }
    let mut conn = open_existing(path)?;
    let failed = |e: diesel::result::Error| format!("{}: {e}", path.display());
    let verdict: Vec<Line> =
        diesel::sql_query("SELECT integrity_check AS text FROM pragma_integrity_check")
            .load(&mut conn)
            .map_err(failed)?;
    if verdict.len() != 1 || verdict[0].text != "ok" {
        let first: Vec<&str> = verdict.iter().take(3).map(|l| l.text.as_str()).collect();
        return Err(format!("integrity_check: {}", first.join("; ")));
    }
    let names: Vec<Line> = diesel::sql_query(
        "SELECT name AS text FROM sqlite_schema \
         WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    )
    .load(&mut conn)
    .map_err(failed)?;
    let mut tables = Vec::with_capacity(names.len());
    for Line { text: name } in names {
        let quoted = name.replace('"', "\"\"");
        let c: Count = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM \"{quoted}\""))
            .get_result(&mut conn)
            .map_err(failed)?;
        tables.push((name, c.n));
    }
    let migration = if tables.iter().any(|(t, _)| t == MIGRATIONS_TABLE) {
        diesel::sql_query(format!(
            "SELECT version AS text FROM {MIGRATIONS_TABLE} ORDER BY version DESC LIMIT 1"
        ))
        .get_result::<Line>(&mut conn)
        .optional()
        .map_err(failed)?
        .map(|l| l.text)
    } else {
        None
    };
    Ok(Contents { tables, migration })
}

/// A file being written under a hidden temporary name; removed on drop
/// unless it was moved into place.
pub(crate) struct TempFile {
    path: PathBuf,
    kept: std::cell::Cell<bool>,
}

impl TempFile {
    /// `.NAME.KIND-PID-RANDOM` in `dir`, absolute (a relative name in SQL
    /// would be read against SQLite's idea of the working directory, and one
    /// starting `file:` as a URI).
    pub(crate) fn beside(dir: &Path, name_of: &Path, kind: &str) -> Result<Self, String> {
        let name = name_of
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "gatehouse.db".into());
        let tag: u32 = rand::random();
        let path = dir.join(format!(".{name}.{kind}-{}-{tag:08x}", std::process::id()));
        let path = std::path::absolute(&path)
            .map_err(|e| format!("cannot resolve {}: {e}", path.display()))?;
        Ok(TempFile {
            path,
            kept: std::cell::Cell::new(false),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn utf8(&self) -> Result<&str, String> {
        self.path
            .to_str()
            .ok_or_else(|| format!("{} is not a UTF-8 path", self.path.display()))
    }

    pub(crate) fn keep(&self) {
        self.kept.set(true);
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.kept.get() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Gives the finished temporary file the name `to`. Without `overwrite` a
/// hard link makes the name, which fails if `to` appeared meanwhile (no check
/// then rename race); filesystems without hard links get check-then-rename.
fn place(temp: &TempFile, to: &Path, overwrite: bool) -> Result<(), String> {
    let placed = if overwrite {
        fs::rename(temp.path(), to)
    } else {
        match fs::hard_link(temp.path(), to) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(format!(
                    "backup: {} already exists; choose a new name, or pass --force to replace it",
                    to.display()
                ));
            }
            Err(_) if to.exists() => {
                return Err(format!("backup: {} already exists", to.display()));
            }
            Err(_) => fs::rename(temp.path(), to),
        }
    };
    placed.map_err(|e| format!("backup: cannot write {}: {e}", to.display()))?;
    if overwrite {
        temp.keep();
    }
    Ok(())
}

pub(crate) fn sync_file(path: &Path) -> Result<(), String> {
    fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("cannot sync {}: {e}", path.display()))
}

/// Makes a rename in `dir` durable. Best effort: some filesystems refuse to
/// sync a directory, and the file itself is already synced.
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

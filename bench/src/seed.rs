//! The bench databases: a fresh SQLite file or PostgreSQL database, filled
//! with seed users and sessions in one statement each.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::cmd;

/// Seeded users; sessions are spread over them.
pub const SEED_USERS: u32 = 1_000;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// A fresh database. A PostgreSQL one is dropped when this is dropped.
pub struct Database {
    pub backend: Backend,
    /// The server's `DATABASE_URL`.
    pub url: String,
    sqlite_path: String,
    pg_admin: Option<(String, String)>,
}

const PY_EXEC: &str = "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1], timeout=60, isolation_level=None)\nr = c.execute(sys.argv[2]).fetchone()\nprint('' if r is None else r[0])";
const LIMIT: Duration = Duration::from_secs(900);

impl Database {
    /// `sqlite://<dir>/bench.db` (the file is created by `gatehouse migrate`).
    pub fn sqlite(dir: &Path) -> Database {
        let path = dir.join("bench.db").to_string_lossy().into_owned();
        Database {
            backend: Backend::Sqlite,
            url: format!("sqlite://{path}"),
            sqlite_path: path,
            pg_admin: None,
        }
    }

    /// Creates `gh_bench_<pid>` through `admin_url`.
    pub fn postgres(admin_url: &str) -> Result<Database, String> {
        let name = format!("gh_bench_{}", std::process::id());
        psql(admin_url, "SELECT 1")
            .map_err(|e| format!("PostgreSQL is unreachable at {}: {e}", mask(admin_url)))?;
        psql(
            admin_url,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        )?;
        psql(admin_url, &format!("CREATE DATABASE {name}"))?;
        Ok(Database {
            backend: Backend::Postgres,
            url: with_database(admin_url, &name)?,
            sqlite_path: String::new(),
            pg_admin: Some((admin_url.to_string(), name)),
        })
    }

    /// Runs one statement; answers the first column of its first row, if any.
    pub fn query(&self, sql: &str) -> Result<String, String> {
        match self.backend {
            Backend::Sqlite => cmd::run_ok(
                Command::new("python3").args(["-c", PY_EXEC, &self.sqlite_path, sql]),
                None,
                LIMIT,
            ),
            Backend::Postgres => psql(&self.url, sql),
        }
        .map(|s| s.trim().to_string())
    }

    pub fn count(&self, sql: &str) -> Result<u64, String> {
        let v = self.query(sql)?;
        v.parse()
            .map_err(|_| format!("`{sql}` answered {v:?}, not a number"))
    }

    fn now(&self, plus_days: u32) -> String {
        match (self.backend, plus_days) {
            (Backend::Sqlite, 0) => "strftime('%Y-%m-%d %H:%M:%S', 'now')".into(),
            (Backend::Sqlite, d) => format!("strftime('%Y-%m-%d %H:%M:%S', 'now', '+{d} days')"),
            (Backend::Postgres, 0) => "(now() AT TIME ZONE 'UTC')".into(),
            (Backend::Postgres, d) => format!("(now() AT TIME ZONE 'UTC' + interval '{d} days')"),
        }
    }

    /// `SELECT … FROM` the integers `first..=last` as column `i`.
    fn series(&self, first: u64, last: u64) -> String {
        match self.backend {
            Backend::Sqlite => format!(
                "(WITH RECURSIVE n(i) AS (SELECT {first} UNION ALL SELECT i + 1 FROM n WHERE i < {last}) SELECT i FROM n) AS s"
            ),
            Backend::Postgres => format!("generate_series({first}, {last}) AS s(i)"),
        }
    }

    /// Inserts `SEED_USERS` users (`seed<i>@example.com`, no password) in one statement.
    pub fn seed_users(&self) -> Result<(), String> {
        let now = self.now(0);
        self.query(&format!(
            "INSERT INTO users (email, name, created_at, updated_at) \
             SELECT 'seed' || s.i || '@example.com', 'Seed user ' || s.i, {now}, {now} FROM {}",
            self.series(1, u64::from(SEED_USERS))
        ))?;
        // Sessions are spread as first_id + i % SEED_USERS, so the ids must be contiguous.
        let gaps = self.count(
            "SELECT MAX(id) - MIN(id) + 1 - COUNT(*) FROM users WHERE email LIKE 'seed%@example.com'",
        )?;
        if gaps != 0 {
            return Err(format!("seeded user ids are not contiguous ({gaps} gaps)"));
        }
        Ok(())
    }

    /// Inserts sessions number `first..=last` (unique 32-byte token hashes,
    /// valid for 30 days, spread over the seeded users) in one statement.
    pub fn seed_sessions(&self, first: u64, last: u64) -> Result<(), String> {
        let hash = match self.backend {
            Backend::Sqlite => "randomblob(32)",
            Backend::Postgres => "decode(md5(s.i::text) || md5((s.i + 1000000000)::text), 'hex')",
        };
        let (now, later) = (self.now(0), self.now(30));
        self.query(&format!(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at, authenticated_at, user_agent, ip) \
             SELECT {hash}, u.first + (s.i % {SEED_USERS}), {now}, {later}, {now}, {now}, 'gatehouse-bench', '127.0.0.1' \
             FROM {}, (SELECT MIN(id) AS first FROM users WHERE email LIKE 'seed%@example.com') AS u",
            self.series(first, last)
        ))?;
        match self.backend {
            // What autovacuum does soon anyway after a bulk insert (statistics, and
            // the vacuum that PostgreSQL 13+ starts on inserts alone); done now so
            // neither runs in the middle of a measurement.
            // The CHECKPOINT writes out the insert's dirty pages now: left to the
            // checkpointer, that write-out runs during the next measurement.
            Backend::Postgres => {
                self.query("VACUUM ANALYZE")?;
                self.query("CHECKPOINT")?;
            }
            // A bulk insert leaves every new page in the WAL, and each read then
            // searches the WAL index for its pages; a running server's own
            // writes soon checkpoint it. Done now, for the same reason as above.
            Backend::Sqlite => {
                self.query("PRAGMA wal_checkpoint(TRUNCATE)")?;
            }
        }
        Ok(())
    }

    pub fn session_count(&self) -> Result<u64, String> {
        self.count("SELECT COUNT(*) FROM sessions")
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.pg_admin {
            match psql(
                admin,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            ) {
                Ok(_) => eprintln!("bench: dropped PostgreSQL database {name}"),
                Err(e) => eprintln!("bench: could not drop PostgreSQL database {name}: {e}"),
            }
        }
    }
}

/// Runs `sql` with psql; a password in `url` is masked in errors.
fn psql(url: &str, sql: &str) -> Result<String, String> {
    cmd::run_ok(
        Command::new("psql")
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                url,
                "-c",
                sql,
            ])
            .env("PGCONNECT_TIMEOUT", "5"),
        None,
        LIMIT,
    )
    .map_err(|e| e.replace(url, &mask(url)))
}

/// `url` with the password, if any, replaced by `***`.
pub fn mask(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let authority_end = url[start..]
        .find(['/', '?'])
        .map_or(url.len(), |i| start + i);
    let userinfo = match url[start..authority_end].rfind('@') {
        Some(at) => &url[start..start + at],
        None => return url.to_string(),
    };
    match userinfo.find(':') {
        Some(colon) => format!(
            "{}***{}",
            &url[..start + colon + 1],
            &url[start + userinfo.len()..]
        ),
        None => url.to_string(),
    }
}

/// `admin_url` with its database (the path) replaced by `name`, keeping any query.
fn with_database(admin_url: &str, name: &str) -> Result<String, String> {
    let scheme_end = admin_url
        .find("://")
        .ok_or("the PostgreSQL URL has no scheme")?
        + 3;
    let (head, rest) = admin_url.split_at(scheme_end);
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let query = rest[authority_end..]
        .find('?')
        .map(|q| &rest[authority_end + q..])
        .unwrap_or("");
    Ok(format!("{head}{}/{name}{query}", &rest[..authority_end]))
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn swaps_the_database_name() {
        let f = |u| with_database(u, "b").unwrap();
        assert_eq!(
            f("postgres://postgres@127.0.0.1:5432/postgres"),
            "postgres://postgres@127.0.0.1:5432/b"
        );
        assert_eq!(
            f("postgresql://u:p@h/x?sslmode=disable"),
            "postgresql://u:p@h/b?sslmode=disable"
        );
        assert_eq!(f("postgres://h:5432"), "postgres://h:5432/b");
    }

    #[test]
    fn masks_passwords() {
        assert_eq!(
            super::mask("postgres://u:secret@h:5432/d"),
            "postgres://u:***@h:5432/d"
        );
        assert_eq!(super::mask("postgres://u@h/d"), "postgres://u@h/d");
        assert_eq!(super::mask("postgres://h:5432/d"), "postgres://h:5432/d");
    }
}

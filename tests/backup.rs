//! Backups of the embedded SQLite default with the real binary: `gatehouse
//! backup` while sign-ups, sign-ins and page views run, `gatehouse restore`
//! into a fresh path and in place, and what each refuses. On PostgreSQL both
//! commands point to pg_dump / pg_restore.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::process::{ProcessDb, ServerProcess};
use common::{Backend, Browser, PASSWORD, run_gatehouse};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel::sqlite::SqliteConnection;

on_both_backends!(a_backup_taken_under_load_restores_and_signs_in);

/// Limits well above the load, so every answer is about the backup.
const UNLIMITED: [(&str, &str); 3] = [
    ("RATE_LIMIT_SIGNUP", "100000/1h"),
    ("RATE_LIMIT_SIGNIN", "100000/15m"),
    ("RATE_LIMIT_SIGNIN_ACCOUNT", "100000/1h"),
];

fn a_backup_taken_under_load_restores_and_signs_in(backend: Backend) {
    let Some(db) = ProcessDb::new(backend) else {
        return;
    };
    if backend == Backend::Postgres {
        return postgres_points_to_its_own_tools(&db);
    }
    let server = ServerProcess::start(&db, &UNLIMITED);
    let ada = Browser::new(&server.base);
    let signed_up = ada.submit(
        "/signup",
        &[
            ("name", "Ada"),
            ("email", "ada@example.com"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(signed_up.status, 303, "{}", signed_up.body);
    let ada_cookies = ada.cookies.borrow().clone();

    let backups = db.dir.path().join("backups");
    std::fs::create_dir(&backups).unwrap();
    let backup = backups.join("gatehouse-1.db");
    let (answers, window, out) = backup_under_load(&server, &db, &ada_cookies, &backup);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("backup written to"), "{printed}");
    assert!(printed.contains("integrity ok"), "{printed}");
    assert!(printed.contains("users"), "{printed}");

    let during: Vec<&Answer> = answers.iter().filter(|a| a.overlaps(&window)).collect();
    let tally = |list: &[&Answer]| {
        let mut by: BTreeMap<(&str, u16), usize> = BTreeMap::new();
        for a in list {
            *by.entry((a.kind, a.status)).or_default() += 1;
        }
        by
    };
    eprintln!(
        "backup took {:?} (the whole process); {} answers in all, {} while it ran: {:?}",
        window.1 - window.0,
        answers.len(),
        during.len(),
        tally(&during)
    );
    assert!(
        during.iter().any(|a| a.kind == "page"),
        "no page view overlapped the backup"
    );
    let failed: Vec<_> = during
        .iter()
        .filter(|a| a.status >= 500 && a.status != 503)
        .collect();
    assert!(failed.is_empty(), "5xx while the backup ran: {failed:?}");
    let all: Vec<&Answer> = answers.iter().collect();
    assert!(
        answers.iter().all(|a| a.status < 500 || a.status == 503),
        "{:?}",
        tally(&all)
    );

    // After the backup: not in it.
    let late = Browser::new(&server.base).submit(
        "/signup",
        &[
            ("name", "Late"),
            ("email", "late@example.com"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(late.status, 303);

    // While the server runs, restore refuses and changes nothing.
    let refused = run_gatehouse(
        db.dir.path(),
        &db.url,
        &["restore", backup.to_str().unwrap()],
        "",
        &[],
    );
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("stop the server first"), "{said}");
    assert_eq!(Browser::new(&server.base).get("/").status, 200);
    assert_eq!(aside_files(db.dir.path()), Vec::<PathBuf>::new());

    server.signal(libc::SIGTERM);
    let (status, _, _) = server.wait_with_log(Duration::from_secs(30));
    assert!(status.success());

    // Into a fresh directory, with the same secret file beside it.
    let fresh = ProcessDb {
        url: String::new(),
        dir: tempfile::tempdir().unwrap(),
        pg: None,
    };
    let fresh = ProcessDb {
        url: format!(
            "sqlite://{}",
            fresh.dir.path().join("gatehouse.db").display()
        ),
        ..fresh
    };
    let out = succeeds(
        fresh.dir.path(),
        &fresh.url,
        &["restore", backup.to_str().unwrap()],
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("there was no database there before"),
        "{printed}"
    );
    std::fs::copy(
        db.dir.path().join("gatehouse.secret"),
        fresh.dir.path().join("gatehouse.secret"),
    )
    .unwrap();
    let restored = ServerProcess::start(&fresh, &UNLIMITED);
    assert_eq!(integrity(&fresh.dir.path().join("gatehouse.db")), "ok");
    let old_device = Browser::new(&restored.base);
    *old_device.cookies.borrow_mut() = ada_cookies.clone();
    assert_eq!(
        old_device.get("/").user_name().as_deref(),
        Some("Ada"),
        "a session cookie issued before the backup still works"
    );
    assert_eq!(sign_in(&restored.base, "ada@example.com"), 303);
    assert_eq!(
        sign_in(&restored.base, "late@example.com"),
        401,
        "signed up after the backup"
    );
    drop(restored);

    // Without the secret file the same backup still signs in with passwords,
    // but the old cookies (signed with the old key) are anonymous.
    std::fs::remove_file(fresh.dir.path().join("gatehouse.secret")).unwrap();
    let other_key = ServerProcess::start(&fresh, &UNLIMITED);
    let old_device = Browser::new(&other_key.base);
    *old_device.cookies.borrow_mut() = ada_cookies;
    assert_eq!(old_device.get("/").user_name(), None);
    assert_eq!(sign_in(&other_key.base, "ada@example.com"), 303);
    drop(other_key); // SIGKILL: its -wal and -shm stay behind

    // In place over a killed server's files: what was only in its WAL is in
    // the copy set aside, and no stale -wal/-shm is left for the backup.
    let fresh_db = fresh.dir.path().join("gatehouse.db");
    assert!(companion(&fresh_db, "-wal").exists());
    succeeds(
        fresh.dir.path(),
        &fresh.url,
        &["restore", backup.to_str().unwrap()],
    );
    assert!(!companion(&fresh_db, "-wal").exists());
    assert!(!companion(&fresh_db, "-shm").exists());
    let aside = aside_files(fresh.dir.path());
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(integrity(&aside[0]), "ok");
    assert_eq!(
        rows(&aside[0], "sessions") - rows(&fresh_db, "sessions"),
        2,
        "the two sign-ins made after the restore into the fresh path"
    );

    // In place: the current database (with Late in it) is kept aside.
    let out = succeeds(
        db.dir.path(),
        &db.url,
        &["restore", backup.to_str().unwrap()],
    );
    let aside = aside_files(db.dir.path());
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("kept as"));
    let live = db.dir.path().join("gatehouse.db");
    assert!(!db.dir.path().join("gatehouse.db-wal").exists());
    assert!(!db.dir.path().join("gatehouse.db-shm").exists());
    assert_eq!(users_with(&aside[0], "late@example.com"), 1);
    assert_eq!(users_with(&live, "late@example.com"), 0);
    assert_eq!(users_with(&live, "ada@example.com"), 1);
    let again = ServerProcess::start(&db, &UNLIMITED);
    assert_eq!(sign_in(&again.base, "ada@example.com"), 303);
    assert_eq!(sign_in(&again.base, "late@example.com"), 401);
}

/// One request's answer, for counting what the server said when.
#[derive(Debug)]
struct Answer {
    kind: &'static str,
    status: u16,
    sent: Instant,
    answered: Instant,
}

impl Answer {
    fn overlaps(&self, (from, to): &(Instant, Instant)) -> bool {
        self.sent <= *to && self.answered >= *from
    }
}

/// Sign-ups, sign-ins and page views from four threads; `gatehouse backup`
/// to `to` half a second in. Answers every answer, when the backup ran, and
/// its output.
fn backup_under_load(
    server: &ServerProcess,
    db: &ProcessDb,
    cookies: &BTreeMap<String, String>,
    to: &Path,
) -> (Vec<Answer>, (Instant, Instant), std::process::Output) {
    let stop = AtomicBool::new(false);
    let answers = Mutex::new(Vec::new());
    let base = server.base.as_str();
    let record = |kind, sent, status| {
        answers.lock().unwrap().push(Answer {
            kind,
            status,
            sent,
            answered: Instant::now(),
        })
    };
    let (window, out) = std::thread::scope(|s| {
        s.spawn(|| {
            for i in 0.. {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let sent = Instant::now();
                let email = format!("user{i}@example.com");
                let page = Browser::new(base).submit(
                    "/signup",
                    &[("name", "User"), ("email", &email), ("password", PASSWORD)],
                );
                record("sign-up", sent, page.status);
            }
        });
        s.spawn(|| {
            while !stop.load(Ordering::SeqCst) {
                let sent = Instant::now();
                record("sign-in", sent, sign_in(base, "ada@example.com"));
            }
        });
        for _ in 0..2 {
            s.spawn(|| {
                let reader = Browser::new(base);
                *reader.cookies.borrow_mut() = cookies.clone();
                while !stop.load(Ordering::SeqCst) {
                    let sent = Instant::now();
                    let page = reader.get("/");
                    if page.status == 200 {
                        assert_eq!(page.user_name().as_deref(), Some("Ada"));
                    }
                    record("page", sent, page.status);
                }
            });
        }
        std::thread::sleep(Duration::from_millis(500));
        let from = Instant::now();
        let out = run_gatehouse(
            db.dir.path(),
            &db.url,
            &["backup", to.to_str().unwrap()],
            "",
            &[],
        );
        let window = (from, Instant::now());
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::SeqCst);
        (window, out)
    });
    (answers.into_inner().unwrap(), window, out)
}

fn sign_in(base: &str, email: &str) -> u16 {
    Browser::new(base)
        .submit("/signin", &[("email", email), ("password", PASSWORD)])
        .status
}

/// `NAME.before-restore-*` files in `dir`.
fn aside_files(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("gatehouse.db.before-restore-")
        })
        .collect();
    found.sort();
    found
}

/// Hidden temporary files left in `dir`.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') && (n.contains(".tmp-") || n.contains(".restore-")))
        .collect()
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

fn open(path: &Path) -> SqliteConnection {
    assert!(path.exists(), "{}", path.display());
    SqliteConnection::establish(path.to_str().unwrap()).unwrap()
}

fn integrity(path: &Path) -> String {
    diesel::sql_query("SELECT integrity_check AS text FROM pragma_integrity_check")
        .get_result::<Line>(&mut open(path))
        .unwrap()
        .text
}

fn rows(path: &Path, table: &str) -> i64 {
    diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
        .get_result::<Count>(&mut open(path))
        .unwrap()
        .n
}

fn companion(path: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", path.display()))
}

fn users_with(path: &Path, email: &str) -> i64 {
    diesel::sql_query("SELECT COUNT(*) AS n FROM users WHERE email = ?")
        .bind::<Text, _>(email)
        .get_result::<Count>(&mut open(path))
        .unwrap()
        .n
}

fn postgres_points_to_its_own_tools(db: &ProcessDb) {
    let migrated = run_gatehouse(db.dir.path(), &db.url, &["migrate"], "", &[]);
    assert!(migrated.status.success());
    let out = run_gatehouse(db.dir.path(), &db.url, &["backup", "copy.db"], "", &[]);
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("PostgreSQL") && said.contains("pg_dump -Fc"),
        "{said}"
    );
    assert!(!db.dir.path().join("copy.db").exists());
    let out = run_gatehouse(db.dir.path(), &db.url, &["restore", "copy.dump"], "", &[]);
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("pg_restore"), "{said}");
}

/// A migrated, empty SQLite database in a fresh directory.
fn migrated_sqlite() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("gatehouse.db").display());
    let out = run_gatehouse(dir.path(), &url, &["migrate"], "", &[]);
    assert!(out.status.success());
    (dir, url)
}

/// Runs the command, which must succeed; its output.
fn succeeds(dir: &Path, url: &str, args: &[&str]) -> std::process::Output {
    let out = run_gatehouse(dir, url, args, "", &[]);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn gatehouse(dir: &Path, url: &str, args: &[&str]) -> (bool, String) {
    let out = run_gatehouse(dir, url, args, "", &[]);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

#[test]
fn backup_refuses_an_existing_path_and_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("gatehouse.db").display());
    let d = dir.path();
    let (ok, said) = gatehouse(d, &url, &["backup", "b.db"]);
    assert!(!ok && said.contains("no database at"), "{said}");
    assert!(
        !d.join("gatehouse.db").exists(),
        "backup created a database"
    );

    let (dir, url) = migrated_sqlite();
    let d = dir.path();
    std::fs::write(d.join("taken.db"), "keep me").unwrap();
    let (ok, said) = gatehouse(d, &url, &["backup", "taken.db"]);
    assert!(!ok, "{said}");
    assert!(
        said.contains("taken.db already exists") && said.contains("--force"),
        "{said}"
    );
    assert_eq!(
        std::fs::read_to_string(d.join("taken.db")).unwrap(),
        "keep me"
    );

    let (ok, said) = gatehouse(d, &url, &["backup", "--force", "taken.db"]);
    assert!(ok, "{said}");
    assert_eq!(integrity(&d.join("taken.db")), "ok");

    let (ok, said) = gatehouse(d, &url, &["backup", "no/such/dir/b.db"]);
    assert!(!ok && said.contains("does not exist"), "{said}");
    let (ok, said) = gatehouse(d, &url, &["backup", d.to_str().unwrap()]);
    assert!(!ok && said.contains("is a directory"), "{said}");
    let (ok, said) = gatehouse(d, &url, &["backup", "--force", "gatehouse.db"]);
    assert!(!ok && said.contains("the database itself"), "{said}");
    let (ok, said) = gatehouse(d, &url, &["backup", ""]);
    assert!(!ok && said.contains("a value is required"), "{said}");
    assert_eq!(leftovers(d), Vec::<String>::new());
}

#[test]
fn restore_refuses_what_is_not_a_gatehouse_backup() {
    let (dir, url) = migrated_sqlite();
    let d = dir.path();
    let live = d.join("gatehouse.db");
    let before = std::fs::read(&live).unwrap();
    let refused = |file: &str, why: &str| {
        let (ok, said) = gatehouse(d, &url, &["restore", file]);
        assert!(!ok, "{file}: {said}");
        assert!(said.contains(why), "{file}: {said}");
        assert_eq!(std::fs::read(&live).unwrap(), before, "{file}");
        assert_eq!(aside_files(d), Vec::<PathBuf>::new(), "{file}");
        assert_eq!(leftovers(d), Vec::<String>::new(), "{file}");
    };
    refused("missing.db", "no backup file");
    std::fs::write(d.join("text.db"), "not a database at all").unwrap();
    refused("text.db", "is not a SQLite database");
    SqliteConnection::establish(d.join("other.db").to_str().unwrap())
        .unwrap()
        .batch_execute("CREATE TABLE notes (body TEXT)")
        .unwrap();
    refused("other.db", "not a gatehouse database");

    let (ok, said) = gatehouse(d, &url, &["backup", "newer.db"]);
    assert!(ok, "{said}");
    open(&d.join("newer.db"))
        .batch_execute("INSERT INTO __diesel_schema_migrations (version) VALUES ('99991231000001')")
        .unwrap();
    refused("newer.db", "newer gatehouse");
    refused("gatehouse.db", "the database itself");
}

/// The measurement for the README: a backup of 100,000 sessions next to a
/// writer that never waits for a lock (busy_timeout 0), so any moment the
/// backup held the write lock would show as a busy error.
#[test]
fn a_backup_of_a_large_database_never_holds_the_write_lock() {
    let (dir, url) = migrated_sqlite();
    let d = dir.path();
    let live = d.join("gatehouse.db");
    let mut seed = open(&live);
    seed.batch_execute(
        "PRAGMA journal_mode = WAL;
         INSERT INTO users (email, name, created_at, updated_at)
             VALUES ('ada@example.com', 'Ada', datetime('now'), datetime('now'));
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
         INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at,
                               authenticated_at, user_agent, ip)
             SELECT randomblob(32), 1, datetime('now'), datetime('now', '+30 days'),
                    datetime('now'), datetime('now'),
                    'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0', '203.0.113.7'
             FROM n;",
    )
    .unwrap();
    drop(seed);
    let size = std::fs::metadata(&live).unwrap().len()
        + std::fs::metadata(d.join("gatehouse.db-wal")).map_or(0, |m| m.len());

    let stop = AtomicBool::new(false);
    let running = AtomicBool::new(false);
    let (writes, busy, (before, slowest), took, out) = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut conn = open(&live);
            conn.batch_execute("PRAGMA busy_timeout = 0;").unwrap();
            let (mut writes, mut busy) = (0u32, 0u32);
            // The slowest write before the backup, and while it ran.
            let (mut before, mut slowest) = (Duration::ZERO, Duration::ZERO);
            for i in 0.. {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let started = Instant::now();
                let done = diesel::sql_query(
                    "INSERT INTO rate_limits (key, window_start, hits) VALUES (?, datetime('now'), 1)",
                )
                .bind::<Text, _>(format!("measure:{i}"))
                .execute(&mut conn);
                let took = started.elapsed();
                if running.load(Ordering::SeqCst) {
                    slowest = slowest.max(took);
                } else {
                    before = before.max(took);
                }
                match done {
                    Ok(_) => writes += 1,
                    Err(_) => busy += 1,
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            (writes, busy, (before, slowest))
        });
        std::thread::sleep(Duration::from_millis(500));
        running.store(true, Ordering::SeqCst);
        let started = Instant::now();
        let out = run_gatehouse(d, &url, &["backup", "big.db"], "", &[]);
        let took = started.elapsed();
        stop.store(true, Ordering::SeqCst);
        let (writes, busy, slowest) = writer.join().unwrap();
        (writes, busy, slowest, took, out)
    });
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "100,000 sessions, {:.1} MiB: `gatehouse backup` took {took:?}; {printed}\
         meanwhile {writes} writes, {busy} refused as busy, the slowest {slowest:?} \
         (before the backup: {before:?})",
        size as f64 / 1048576.0
    );
    assert!(
        printed.contains("sessions") && printed.contains("100000"),
        "{printed}"
    );
    assert_eq!(busy, 0, "the backup held the write lock");
    assert!(writes > 0);
}

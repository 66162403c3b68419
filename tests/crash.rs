//! `kill -9` in the middle of a sign-in storm, with page views and profile
//! edits running, on the real binary and both backends. After a restart on
//! the same database: every sign-in that had answered `303` still has a
//! working session, every acknowledged edit is there (or the one in flight
//! when the server died, which may have committed unanswered), nothing
//! half-written is visible (each session has its sign-in event, written in
//! the same transaction), and SQLite's `PRAGMA integrity_check` is `ok`.

mod common;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::process::{ProcessDb, ServerProcess};
use common::{Backend, Browser, PASSWORD, Page};
use serde_json::json;

on_both_backends!(a_killed_server_loses_nothing_it_acknowledged);

const USERS: usize = 6;
const SIGN_IN_THREADS: usize = 4;
const EDITORS: usize = 2;

/// Enough for the storm; the limits are not what this story is about.
const ENV: &[(&str, &str)] = &[
    ("RATE_LIMIT_SIGNIN", "100000/1m"),
    ("RATE_LIMIT_SIGNIN_ACCOUNT", "100000/1m"),
    ("RATE_LIMIT_API", "100000/1m"),
    ("RUST_LOG", "warn"),
];

fn email(i: usize) -> String {
    format!("user{i}@example.com")
}

/// A form post as the page makes it, or `None` once the server is gone.
fn try_submit(b: &Browser, path: &str, fields: &[(&str, &str)]) -> Option<Page> {
    let csrf = b.try_send(|c| c.get(b.url("/api/auth/csrf")))?;
    let token = serde_json::from_str::<serde_json::Value>(&csrf.body).ok()?["csrfToken"]
        .as_str()?
        .to_owned();
    let mut all = fields.to_vec();
    all.push(("csrf_token", &token));
    let body = serde_urlencoded::to_string(&all).unwrap();
    b.try_send(|c| {
        c.post(b.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    })
}

/// A name change through the JSON API, or `None` once the server is gone.
fn try_rename(b: &Browser, name: &str) -> Option<Page> {
    let csrf = b.try_send(|c| c.get(b.url("/api/auth/csrf")))?;
    let token = serde_json::from_str::<serde_json::Value>(&csrf.body).ok()?["csrfToken"]
        .as_str()?
        .to_owned();
    let body = json!({ "name": name }).to_string();
    b.try_send(|c| {
        c.post(b.url("/api/auth/session"))
            .header("x-csrf-token", token)
            .header("content-type", "application/json")
            .body(body)
    })
}

/// What one editor saw: the last name the server acknowledged, and the one
/// it was asked for when it died (which may have committed unanswered).
#[derive(Default)]
struct Edits {
    acked: Option<String>,
    in_flight: Option<String>,
}

fn a_killed_server_loses_nothing_it_acknowledged(backend: Backend) {
    let Some(db) = ProcessDb::new(backend) else {
        return;
    };
    let server = ServerProcess::start(&db, ENV);
    let base = server.base.clone();
    let accounts: Vec<Browser> = (0..USERS)
        .map(|i| {
            let b = Browser::new(&base);
            let r = b.submit(
                "/signup",
                &[
                    ("name", &format!("User {i}")),
                    ("email", &email(i)),
                    ("password", PASSWORD),
                ],
            );
            assert_eq!(r.status, 303, "{}", r.body);
            b
        })
        .collect();

    let mut accounts = accounts.into_iter();
    let editors: Vec<Browser> = accounts.by_ref().take(EDITORS).collect();
    let reader = accounts.next_back().unwrap();

    let dead = AtomicBool::new(false);
    let signed_in: Mutex<Vec<(Browser, String)>> = Mutex::new(Vec::new());
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let pages = AtomicUsize::new(0);
    let edits: Vec<Mutex<Edits>> = (0..EDITORS).map(|_| Mutex::default()).collect();
    let editors: Vec<Browser> = std::thread::scope(|scope| {
        for t in 0..SIGN_IN_THREADS {
            let (base, dead, signed_in, failures) = (&base, &dead, &signed_in, &failures);
            scope.spawn(move || {
                for n in 0.. {
                    let who = email((t + n * SIGN_IN_THREADS) % USERS);
                    let b = Browser::new(base);
                    let fields = [("email", who.as_str()), ("password", PASSWORD)];
                    match try_submit(&b, "/signin", &fields) {
                        Some(r) if r.status == 303 => signed_in.lock().unwrap().push((b, who)),
                        Some(r) if r.status == 503 => {}
                        Some(r) => failures
                            .lock()
                            .unwrap()
                            .push(format!("sign-in {}", r.status)),
                        None if dead.load(Ordering::SeqCst) => return,
                        None => failures.lock().unwrap().push("sign-in: no answer".into()),
                    }
                }
            });
        }
        let editing: Vec<_> = editors
            .into_iter()
            .zip(&edits)
            .enumerate()
            .map(|(e, (b, edits))| {
                let (dead, failures) = (&dead, &failures);
                scope.spawn(move || {
                    for k in 0.. {
                        let name = format!("User {e} edit {k}");
                        match try_rename(&b, &name) {
                            Some(r) if r.status == 200 => edits.lock().unwrap().acked = Some(name),
                            Some(r) if r.status == 503 => {}
                            Some(r) => failures.lock().unwrap().push(format!("edit {}", r.status)),
                            None if dead.load(Ordering::SeqCst) => {
                                edits.lock().unwrap().in_flight = Some(name);
                                break;
                            }
                            None => failures.lock().unwrap().push("edit: no answer".into()),
                        }
                    }
                    b
                })
            })
            .collect();
        let (dead, pages) = (&dead, &pages);
        scope.spawn(move || {
            while !dead.load(Ordering::SeqCst) {
                if reader.try_send(|c| c.get(reader.url("/"))).is_some() {
                    pages.fetch_add(1, Ordering::SeqCst);
                }
            }
        });

        // Let the storm build up, then pull the plug mid-flight.
        let started = Instant::now();
        while signed_in.lock().unwrap().len() < 20 && started.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(20));
        }
        dead.store(true, Ordering::SeqCst);
        server.signal(libc::SIGKILL);
        editing.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let (status, _, _) = server.wait_with_log(Duration::from_secs(10));
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL),
        "{status:?}"
    );
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "before the kill: {failures:?}");
    let signed_in = signed_in.into_inner().unwrap();
    assert!(signed_in.len() >= 20, "the storm ran: {}", signed_in.len());
    eprintln!(
        "killed with {} sign-ins answered, {} page views",
        signed_in.len(),
        pages.load(Ordering::SeqCst)
    );

    if backend == Backend::Sqlite {
        let path = db.url.trim_start_matches("sqlite://");
        assert_eq!(integrity_check(path), "ok");
    }

    // The same database, the same secret file (the working directory).
    let again = ServerProcess::start(&db, ENV);
    for (b, who) in &signed_in {
        let moved = b.moved_to(&again.base);
        let session = moved.session_json();
        assert_eq!(session["user"]["email"], who.as_str(), "{session}");
    }
    for (e, edits) in edits.iter().enumerate() {
        let edits = edits.lock().unwrap();
        let acked = edits.acked.as_deref().expect("some edit was acknowledged");
        let name = editors[e].moved_to(&again.base).session_json()["user"]["name"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            name == acked || Some(name.as_str()) == edits.in_flight.as_deref(),
            "editor {e}: {name:?}, acknowledged {acked:?}, in flight {:?}",
            edits.in_flight
        );
    }
    // Each session row came with its event in one transaction: no session
    // without its sign-in (or sign-up), and no event without its session.
    let (sessions, events) = counts(&db);
    assert_eq!(sessions, events, "sessions vs sign_in + sign_up events");
}

/// Sessions, and `sign_in` + `sign_up` events, as stored.
fn counts(db: &ProcessDb) -> (i64, i64) {
    use diesel::prelude::*;
    use gatehouse::db::schema::{audit_events, sessions};
    let url = gatehouse::db::DatabaseUrl::parse(&db.url).unwrap();
    let store = gatehouse::db::Db::connect_once(&url).unwrap();
    let mut conn = store.get().unwrap();
    let s = sessions::table.count().get_result(&mut conn).unwrap();
    let e = audit_events::table
        .filter(audit_events::action.eq_any(["sign_in", "sign_up"]))
        .count()
        .get_result(&mut conn)
        .unwrap();
    (s, e)
}

fn integrity_check(path: &str) -> String {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    let mut conn = diesel::SqliteConnection::establish(path).unwrap();
    let rows: Vec<Row> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut conn)
        .unwrap();
    rows.into_iter()
        .map(|r| r.integrity_check)
        .collect::<Vec<_>>()
        .join("\n")
}

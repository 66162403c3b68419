//! The database goes away while load runs, on the real binary. PostgreSQL
//! (a private cluster of the test's own) is stopped for a few seconds and
//! started again; on SQLite another process holds the write lock for longer
//! than `busy_timeout`. Meanwhile every answer is `200`/`303` or `503` with
//! `Retry-After`, never a `500` and never a hang; once the database is back
//! the server serves again by itself within seconds, without a restart, and
//! a live-update stream open across a PostgreSQL restart hears the next
//! change (no sign-out event for an outage).

mod common;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::pg_cluster::PgCluster;
use common::process::{ProcessDb, ServerProcess};
use common::{Browser, PASSWORD};

const ENV: &[(&str, &str)] = &[
    ("RATE_LIMIT_SIGNIN", "100000/1m"),
    ("RATE_LIMIT_SIGNIN_ACCOUNT", "100000/1m"),
    ("RUST_LOG", "warn"),
];
const ADA: &str = "ada@example.com";

/// One answer the load saw.
struct Seen {
    kind: &'static str,
    status: u16,
    retry_after: bool,
    took: Duration,
    at: Instant,
}

/// Runs signed-in reads, page views and sign-ins against `base` until
/// `outage` (which takes the database away and brings it back, answering
/// when it is back) has returned and every kind of request has succeeded
/// again, or 30 s. Answers what was seen and when the database came back.
fn under_load(base: &str, outage: impl FnOnce()) -> (Vec<Seen>, Instant) {
    let stop = AtomicBool::new(false);
    let seen: Mutex<Vec<Seen>> = Mutex::new(Vec::new());
    let mut back = Instant::now();
    std::thread::scope(|scope| {
        // The load stops however this closure ends (a failed step panics).
        let _stop = Stop(&stop);
        for kind in ["session", "page", "sign-in"] {
            let (stop, seen) = (&stop, &seen);
            // Signed in before the load starts (one at a time).
            let reader = Browser::new(base);
            let r = reader.submit("/signin", &[("email", ADA), ("password", PASSWORD)]);
            assert_eq!(r.status, 303, "{kind}: {}", r.body);
            scope.spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let started = Instant::now();
                    let page = match kind {
                        "session" => reader.try_send(|c| c.get(reader.url("/api/auth/session"))),
                        "page" => reader.try_send(|c| c.get(reader.url("/settings"))),
                        _ => sign_in(base),
                    };
                    let page = page.expect("the server answers throughout");
                    seen.lock().unwrap().push(Seen {
                        kind,
                        status: page.status,
                        retry_after: page.header("retry-after").is_some(),
                        took: started.elapsed(),
                        at: Instant::now(),
                    });
                    std::thread::sleep(Duration::from_millis(20));
                }
            });
        }
        std::thread::sleep(Duration::from_secs(1));
        outage();
        back = Instant::now();
        let deadline = back + Duration::from_secs(30);
        while Instant::now() < deadline {
            let recovered = ["session", "page", "sign-in"].iter().all(|k| {
                seen.lock()
                    .unwrap()
                    .iter()
                    .any(|s| s.kind == *k && s.at > back && s.status < 400)
            });
            if recovered {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    (seen.into_inner().unwrap(), back)
}

/// Sets its flag when dropped.
struct Stop<'a>(&'a AtomicBool);

impl Drop for Stop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A password sign-in in a new browser: the CSRF token's answer when that
/// failed, else the sign-in's.
fn sign_in(base: &str) -> Option<common::Page> {
    let b = Browser::new(base);
    let csrf = b.try_send(|c| c.get(b.url("/api/auth/csrf")))?;
    if csrf.status != 200 {
        return Some(csrf);
    }
    let token = csrf.json()["csrfToken"].as_str().unwrap().to_owned();
    let body = serde_urlencoded::to_string([
        ("email", ADA),
        ("password", PASSWORD),
        ("csrf_token", &token),
    ])
    .unwrap();
    b.try_send(|c| {
        c.post(b.url("/signin"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    })
}

/// The promises, whatever the database: only good answers or `503` with
/// `Retry-After`, none slower than `slowest`, some `503`s while it was away,
/// and every kind of request served again within `recovery` of its return.
fn check(seen: &[Seen], back: Instant, slowest: Duration, recovery: Duration) {
    for s in seen {
        assert!(
            matches!(s.status, 200 | 303 | 503),
            "{} answered {}",
            s.kind,
            s.status
        );
        assert!(
            s.status != 503 || s.retry_after,
            "{}: 503 without Retry-After",
            s.kind
        );
        assert!(s.took < slowest, "{} took {:?}", s.kind, s.took);
    }
    let unavailable = seen.iter().filter(|s| s.status == 503).count();
    assert!(unavailable > 0, "the outage was seen");
    for kind in ["session", "page", "sign-in"] {
        let first = seen
            .iter()
            .filter(|s| s.kind == kind && s.at > back && s.status < 400)
            .map(|s| s.at - back)
            .min();
        let first = first.unwrap_or_else(|| panic!("{kind} never recovered"));
        assert!(first < recovery, "{kind} recovered after {first:?}");
        eprintln!("{kind}: served again {first:?} after the database came back");
    }
    let slowest_seen = seen.iter().map(|s| s.took).max().unwrap_or_default();
    eprintln!(
        "{} answers, {unavailable} of them 503, slowest {slowest_seen:?}",
        seen.len()
    );
}

fn signed_up_server(db: &ProcessDb) -> ServerProcess {
    signed_up_server_with(db, &[])
}

fn signed_up_server_with(db: &ProcessDb, extra: &[(&str, &str)]) -> ServerProcess {
    let env: Vec<(&str, &str)> = ENV.iter().chain(extra).copied().collect();
    let server = ServerProcess::start(db, &env);
    let b = Browser::new(&server.base);
    let r = b.submit(
        "/signup",
        &[("name", "Ada"), ("email", ADA), ("password", PASSWORD)],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    server
}

/// A PostgreSQL cluster of this test's own, and the server's database on it.
fn private_postgres() -> Option<(PgCluster, ProcessDb)> {
    let cluster = PgCluster::start()?;
    let db = ProcessDb {
        url: cluster.url.clone(),
        dir: tempfile::tempdir().unwrap(),
        pg: None,
    };
    Some((cluster, db))
}

#[test]
fn postgres_restarting_under_load_answers_503_then_recovers() {
    let Some((cluster, db)) = private_postgres() else {
        return;
    };
    let server = signed_up_server(&db);
    let (seen, back) = under_load(&server.base, || {
        cluster.down();
        std::thread::sleep(Duration::from_secs(3));
        cluster.up();
    });
    check(&seen, back, Duration::from_secs(10), Duration::from_secs(5));
}

#[test]
fn sqlite_locked_past_busy_timeout_answers_503_then_recovers() {
    use diesel::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gatehouse.db");
    let db = ProcessDb {
        url: format!("sqlite://{}", path.display()),
        dir,
        pg: None,
    };
    let server = signed_up_server_with(&db, &[("GATEHOUSE_RESPONSE_TIMEOUT", "3s")]);
    let (seen, back) = under_load(&server.base, || {
        // Another process (this test) takes the write lock and keeps it
        // past the server's busy_timeout (5 s), longer than two writes wait.
        let mut other = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        diesel::sql_query("PRAGMA busy_timeout = 10000")
            .execute(&mut other)
            .unwrap();
        diesel::sql_query("BEGIN IMMEDIATE")
            .execute(&mut other)
            .unwrap();
        std::thread::sleep(Duration::from_secs(12));
        diesel::sql_query("COMMIT").execute(&mut other).unwrap();
    });
    // Each write waits up to busy_timeout (5 s) for the lock, and a sign-in
    // makes up to three (count the attempt, take the count back, the
    // session): GATEHOUSE_RESPONSE_TIMEOUT (3 s here) bounds them all.
    check(&seen, back, Duration::from_secs(4), Duration::from_secs(5));
    // A sign-in answered 503 at the deadline made no session, even one whose
    // write got the lock afterwards: one session for the sign-up, one for
    // each of the three readers, one per sign-in answered 303.
    let signed_in = seen
        .iter()
        .filter(|s| s.kind == "sign-in" && s.status == 303)
        .count();
    let cut = seen
        .iter()
        .filter(|s| s.kind == "sign-in" && s.status == 503)
        .count();
    let mut conn = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let sessions = diesel::sql_query("SELECT count(*) AS n FROM sessions")
        .get_result::<Count>(&mut conn)
        .unwrap()
        .n;
    eprintln!("{signed_in} sign-ins answered 303, {cut} answered 503; {sessions} sessions");
    assert!(cut > 0, "a sign-in was cut at the deadline");
    assert_eq!(sessions as usize, 1 + 3 + signed_in);

    // A lock held past the deadline (3 s) but within busy_timeout (5 s): the
    // profile form's one write transaction waits for it, is answered 503 at
    // its deadline and gets the lock afterwards; its change is rolled back,
    // not made behind the 503. (The JSON edit would wait in its rate-limit
    // count first, a statement of its own, and never reach the change.)
    let ada = Browser::new(&server.base);
    let r = ada.submit("/signin", &[("email", ADA), ("password", PASSWORD)]);
    assert_eq!(r.status, 303);
    ada.csrf_token();
    let (locked, lock_taken) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        diesel::sql_query("BEGIN IMMEDIATE")
            .execute(&mut conn)
            .unwrap();
        locked.send(()).unwrap();
        std::thread::sleep(Duration::from_secs(4));
        diesel::sql_query("COMMIT").execute(&mut conn).unwrap();
    });
    lock_taken.recv().unwrap();
    let started = Instant::now();
    let edit = ada.submit("/settings/profile", &[("name", "Cut"), ("image", "")]);
    let took = started.elapsed();
    holder.join().unwrap();
    assert_eq!(edit.status, 503, "after {took:?}: {}", edit.body);
    assert!(edit.header("retry-after").is_some());
    assert!(
        took < Duration::from_millis(3_900),
        "answered after {took:?}"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        ada.session_json()["user"]["name"],
        "Ada",
        "nothing behind a 503"
    );
}

#[test]
fn a_live_stream_resumes_after_a_postgres_restart() {
    use common::sse::{Next, Stream};
    let Some((cluster, db)) = private_postgres() else {
        return;
    };
    let server = signed_up_server(&db);
    let ada = Browser::new(&server.base);
    let r = ada.submit("/signin", &[("email", ADA), ("password", PASSWORD)]);
    assert_eq!(r.status, 303);
    let mut stream = Stream::open(&ada);
    assert_eq!(stream.status, 200);
    assert_eq!(stream.session()["user"]["name"], "Ada");

    cluster.down();
    std::thread::sleep(Duration::from_secs(3));
    cluster.up();
    // Served again, then an edit from another device.
    let phone = Browser::new(&server.base);
    let started = Instant::now();
    loop {
        let r = phone.try_send(|c| c.get(phone.url("/healthz")));
        let r2 = phone.submit("/signin", &[("email", ADA), ("password", PASSWORD)]);
        if r.is_some_and(|r| r.status == 200) && r2.status == 303 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not served again"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let r = phone.submit("/settings/profile", &[("name", "Ada again"), ("image", "")]);
    assert_eq!(r.status, 303, "{}", r.body);

    // The open stream hears it; if the outage ended it, a new one (as
    // live.js reconnects) starts with the fresh session. Never a sign-out.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut reopened = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "the change never reached a stream");
        match stream.next(left) {
            Next::Event(e) if e.name == "session" => {
                if e.json()["user"]["name"] == "Ada again" {
                    break;
                }
            }
            Next::Event(e) => assert_ne!(e.name, "signout", "an outage is no sign-out: {e:?}"),
            Next::End => {
                reopened += 1;
                stream = Stream::open(&ada);
                assert_eq!(stream.status, 200);
            }
            Next::Comment(_) | Next::Nothing => {}
        }
    }
    eprintln!("the change arrived (streams reopened: {reopened})");
}

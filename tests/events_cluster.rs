//! Live updates beyond one stream on one instance, on SQLite and (when
//! configured) PostgreSQL: a change made through instance A on a stream of
//! instance B, the NOTIFY payload, shutdown of the real binary with a stream
//! open, and the stream metrics.

mod common;

use std::time::{Duration, Instant};

use common::process::{ProcessDb, ServerProcess};
use common::sse::{Next, Stream, WAIT, metric, user_with_stream};
use common::{Backend, Browser, PASSWORD, ROOT_ADMIN, TestApp};
use reqwest::Method;
use serde_json::json;

on_both_backends!(
    a_change_on_one_instance_reaches_a_stream_on_another,
    the_notify_payload_holds_ids_only,
    shutdown_with_an_open_stream_exits_at_once,
    open_streams_and_events_sent_are_metrics,
);

fn a_change_on_one_instance_reaches_a_stream_on_another(backend: Backend) {
    let Some(a) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    if backend == Backend::Sqlite {
        // One process per SQLite file: nothing to cross.
        return;
    }
    let b = a.second_instance(&[]);
    let on_a = a.signed_up("Ada", "ada@example.com");
    // The same session cookie, read by instance B.
    let on_b = Browser::new(&b.base);
    *on_b.cookies.borrow_mut() = on_a.cookies.borrow().clone();
    let mut stream = Stream::open(&on_b);
    assert_eq!(stream.session()["user"]["name"], "Ada");
    let page = on_a.submit("/settings/profile", &[("name", "Ada on A"), ("image", "")]);
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(stream.session()["user"]["name"], "Ada on A");
    // A ban made on A ends B's stream.
    let id = on_a.user_id();
    let admin = a.signed_in(ROOT_ADMIN);
    admin.json(
        Method::POST,
        &format!("/api/admin/users/{id}/ban"),
        &json!({"reason": "spam"}),
    );
    assert_eq!(stream.signout(), "banned");
}

fn the_notify_payload_holds_ids_only(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    if backend == Backend::Sqlite {
        return;
    }
    use diesel::{Connection, RunQueryDsl};
    let mut listener = diesel::PgConnection::establish(&app.database_url).unwrap();
    diesel::sql_query("LISTEN gatehouse_events")
        .execute(&mut listener)
        .unwrap();
    let ada = app.signed_up("Ada Secretname", "ada.secret@example.com");
    let page = ada.submit(
        "/settings/profile",
        &[("name", "Ada Othername"), ("image", "")],
    );
    assert_eq!(page.status, 303);
    ada.submit("/signout", &[]);
    let deadline = Instant::now() + WAIT;
    let mut payloads = Vec::new();
    while payloads.len() < 2 && Instant::now() < deadline {
        // A statement reads what the server sent meanwhile.
        diesel::sql_query("SELECT 1")
            .execute(&mut listener)
            .unwrap();
        for n in listener.notifications_iter() {
            let n = n.unwrap();
            assert_eq!(n.channel, "gatehouse_events");
            payloads.push(n.payload);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(payloads.len() >= 2, "{payloads:?}");
    for p in &payloads {
        let lower = p.to_lowercase();
        for secret in ["ada", "secret", "othername", "example", "@"] {
            assert!(!lower.contains(secret), "{p}");
        }
        assert!(
            p.split(':')
                .all(|part| part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')),
            "{p}"
        );
    }
    assert!(payloads.iter().any(|p| p.starts_with("u:")), "{payloads:?}");
    assert!(
        payloads
            .iter()
            .any(|p| p.starts_with("s:") && p.ends_with(":signed_out")),
        "{payloads:?}"
    );
}

fn shutdown_with_an_open_stream_exits_at_once(backend: Backend) {
    let Some(db) = ProcessDb::new(backend) else {
        return;
    };
    let server = ServerProcess::start(&db, &[("GATEHOUSE_SHUTDOWN_TIMEOUT", "30s")]);
    let browser = Browser::new(&server.base);
    let page = browser.submit(
        "/signup",
        &[
            ("name", "Ada"),
            ("email", "ada@example.com"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(page.status, 303, "{}", page.body);
    let mut stream = Stream::open(&browser);
    assert_eq!(stream.status, 200);
    stream.session();
    server.signal(libc::SIGTERM);
    let (status, took, log) = server.wait_with_log(Duration::from_secs(20));
    assert!(status.success(), "{status}: {log}");
    assert!(took < Duration::from_secs(5), "took {took:?}: {log}");
    match stream.next(WAIT) {
        Next::End => {}
        Next::Comment(_) => assert!(matches!(stream.next(WAIT), Next::End)),
        other => panic!("the stream did not end: {other:?}"),
    }
}

fn open_streams_and_events_sent_are_metrics(backend: Backend) {
    let Some(app) = TestApp::start_with(
        backend,
        &[
            ("GATEHOUSE_METRICS_ADDR", "127.0.0.1:0"),
            ("EVENTS_KEEPALIVE", "1s"),
        ],
    ) else {
        return;
    };
    let (_here, other, mut stream) = user_with_stream(&app, "ada@example.com");
    assert_eq!(metric(&app, "gatehouse_event_streams_open"), 1.0);
    assert_eq!(metric(&app, "gatehouse_events_sent_total"), 1.0);
    other.submit("/settings/profile", &[("name", "Ada L"), ("image", "")]);
    stream.session();
    assert_eq!(metric(&app, "gatehouse_events_sent_total"), 2.0);
    // A client that goes away frees its place (seen at the latest at the
    // next keep-alive write).
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut raw = std::net::TcpStream::connect(&addr).unwrap();
    raw.set_read_timeout(Some(WAIT)).unwrap();
    let head = format!(
        "GET /api/auth/events HTTP/1.1\r\nHost: {addr}\r\nCookie: {}\r\n\r\n",
        other.cookie_header()
    );
    std::io::Write::write_all(&mut raw, head.as_bytes()).unwrap();
    let mut buf = [0u8; 1024];
    let n = std::io::Read::read(&mut raw, &mut buf).unwrap();
    assert!(n > 0);
    let deadline = Instant::now() + WAIT;
    while metric(&app, "gatehouse_event_streams_open") != 2.0 {
        assert!(Instant::now() < deadline, "the raw stream is not counted");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(raw);
    while metric(&app, "gatehouse_event_streams_open") != 1.0 {
        assert!(
            Instant::now() < deadline + Duration::from_secs(10),
            "the closed stream still counts"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

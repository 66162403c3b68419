//! Hostile and careless clients, on the real binary: slow request heads
//! (slowloris), trickled bodies, oversized heads, and many idle
//! connections. Each is cut by its limit (`GATEHOUSE_REQUEST_TIMEOUT`,
//! `GATEHOUSE_BODY_TIMEOUT`, actix-web's 128 KiB head buffer and 96
//! headers, `GATEHOUSE_MAX_CONNECTIONS`), the server keeps answering
//! everyone else meanwhile, and its memory stays bounded.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::process::{ProcessDb, ServerProcess};
use common::{Backend, Browser, PASSWORD};

on_both_backends!(
    slow_heads_are_cut_while_others_are_answered,
    a_trickled_body_is_answered_408,
    oversized_heads_are_refused_431,
    idle_connections_are_closed_and_memory_stays_bounded,
    past_the_connection_limit_new_clients_wait_their_turn,
);

const LIMITS: &[(&str, &str)] = &[
    ("GATEHOUSE_REQUEST_TIMEOUT", "1s"),
    ("GATEHOUSE_BODY_TIMEOUT", "2s"),
    ("GATEHOUSE_KEEP_ALIVE", "1s"),
    ("RUST_LOG", "warn"),
];

fn server(backend: Backend, extra: &[(&str, &str)]) -> Option<(ProcessDb, ServerProcess)> {
    let db = ProcessDb::new(backend)?;
    let env: Vec<(&str, &str)> = LIMITS.iter().chain(extra).copied().collect();
    let server = ServerProcess::start(&db, &env);
    Some((db, server))
}

fn connect(server: &ServerProcess) -> TcpStream {
    let s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Reads until the server closes the connection: what it sent, and how
/// long after `since` it closed. Panics when it is still open after 10 s.
fn until_closed(mut s: TcpStream, since: Instant) -> (String, Duration) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("not closed by the server after {:?}: {e}", since.elapsed()),
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), since.elapsed())
}

/// A well-behaved client's answer, and how long it took.
fn timed_get(b: &Browser, path: &str) -> (u16, Duration) {
    let started = Instant::now();
    let page = b.get(path);
    (page.status, started.elapsed())
}

/// The server's resident memory, in KiB.
fn rss_kib(server: &ServerProcess) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Lets this process (and the server it starts) hold many sockets.
fn raise_open_files() {
    // SAFETY: plain getrlimit/setrlimit on a local struct.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max.min(65_536);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

fn signed_up(server: &ServerProcess) -> Browser {
    let b = Browser::new(&server.base);
    let r = b.submit(
        "/signup",
        &[
            ("name", "Ada"),
            ("email", "ada@example.com"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    b
}

fn slow_heads_are_cut_while_others_are_answered(backend: Backend) {
    raise_open_files();
    let Some((_db, server)) = server(backend, &[]) else {
        return;
    };
    let ada = signed_up(&server);
    // 200 clients send a request head a header line at a time, slower and
    // slower, never finishing it.
    let started = Instant::now();
    let slow: Vec<TcpStream> = (0..200)
        .map(|_| {
            let mut s = connect(&server);
            s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
                .unwrap();
            s
        })
        .collect();
    let trickle = std::thread::spawn(move || {
        for round in 0..3 {
            std::thread::sleep(Duration::from_millis(300));
            for s in &slow {
                let _ = (&*s).write_all(format!("X-Slow-{round}: 1\r\n").as_bytes());
            }
        }
        slow
    });
    // Meanwhile everyone else is answered as usual.
    for _ in 0..20 {
        let (status, took) = timed_get(&ada, "/api/auth/session");
        assert_eq!(status, 200);
        assert!(
            took < Duration::from_secs(1),
            "a signed-in read took {took:?}"
        );
    }
    let slow = trickle.join().unwrap();
    // Each slow head is cut at GATEHOUSE_REQUEST_TIMEOUT (1 s from the
    // connection), whatever it trickled meanwhile.
    let mut latest = Duration::ZERO;
    for s in slow {
        let (answer, after) = until_closed(s, started);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "{answer}"
        );
        latest = latest.max(after);
    }
    assert!(
        latest < Duration::from_secs(4),
        "the last was cut after {latest:?}"
    );
    eprintln!("200 slow heads, the last cut {latest:?} after they connected");
    assert_eq!(ada.session_json()["user"]["name"], "Ada");
}

fn a_trickled_body_is_answered_408(backend: Backend) {
    let Some((_db, server)) = server(backend, &[]) else {
        return;
    };
    let b = Browser::new(&server.base);
    let token = b.csrf_token();
    for (path, content_type) in [
        ("/signin", "application/x-www-form-urlencoded"),
        ("/api/auth/session", "application/json"),
    ] {
        let mut s = connect(&server);
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\n\
             Content-Length: 100\r\nX-CSRF-Token: {token}\r\nCookie: {}\r\n\r\nemail=a",
            b.cookie_header()
        );
        let started = Instant::now();
        s.write_all(head.as_bytes()).unwrap();
        let (answer, after) = until_closed(s, started);
        assert!(answer.starts_with("HTTP/1.1 408"), "{path}: {answer}");
        assert!(
            after >= Duration::from_millis(1_900) && after < Duration::from_secs(5),
            "{path}: answered after {after:?}"
        );
        if content_type == "application/json" {
            assert!(answer.contains(r#""error":"request_timeout""#), "{answer}");
        }
    }
    // A body that arrives in time is read as usual.
    assert_eq!(b.get("/healthz").status, 200);
}

fn oversized_heads_are_refused_431(backend: Backend) {
    let Some((_db, server)) = server(backend, &[]) else {
        return;
    };
    let ada = signed_up(&server);
    let huge = format!(
        "GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: {}\r\n\r\n",
        "a".repeat(200 * 1024)
    );
    let many: String = (0..120).map(|i| format!("X-H{i}: v\r\n")).collect();
    let many = format!("GET / HTTP/1.1\r\nHost: localhost\r\n{many}\r\n");
    for (what, request) in [("a 200 KiB header", huge), ("120 headers", many)] {
        let mut s = connect(&server);
        // The server may stop reading (and answer) before all is sent.
        let _ = s.write_all(request.as_bytes());
        let (answer, _) = until_closed(s, Instant::now());
        assert!(answer.starts_with("HTTP/1.1 431"), "{what}: {answer:.200}");
    }
    assert_eq!(ada.session_json()["user"]["name"], "Ada");
}

fn idle_connections_are_closed_and_memory_stays_bounded(backend: Backend) {
    raise_open_files();
    let Some((_db, server)) = server(backend, &[]) else {
        return;
    };
    let ada = signed_up(&server);
    let before = rss_kib(&server);
    let started = Instant::now();
    let idle: Vec<TcpStream> = (0..1_000).map(|_| connect(&server)).collect();
    let (status, took) = timed_get(&ada, "/api/auth/session");
    assert_eq!(status, 200);
    assert!(took < Duration::from_secs(1), "{took:?} with 1000 idle");
    let during = rss_kib(&server);
    let mut latest = Duration::ZERO;
    for s in idle {
        let (answer, after) = until_closed(s, started);
        assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"));
        latest = latest.max(after);
    }
    let after = rss_kib(&server);
    eprintln!(
        "1000 idle connections: RSS {before} KiB before, {during} KiB with them open, \
         {after} KiB after; all closed within {latest:?}"
    );
    // Cut at GATEHOUSE_REQUEST_TIMEOUT after each connected (actix-web's
    // clock ticks every 0.5 s), the last connected a while after the first.
    assert!(latest < Duration::from_secs(10), "{latest:?}");
    assert!(
        during < before + 64 * 1024,
        "1000 idle connections cost {} KiB",
        during - before
    );
    assert_eq!(timed_get(&ada, "/api/auth/session").0, 200);
}

fn past_the_connection_limit_new_clients_wait_their_turn(backend: Backend) {
    let Some((_db, server)) = server(backend, &[("GATEHOUSE_MAX_CONNECTIONS", "20")]) else {
        return;
    };
    let ada = signed_up(&server);
    // Let the sign-up's keep-alive connection close first.
    std::thread::sleep(Duration::from_millis(1_500));
    let started = Instant::now();
    let idle: Vec<TcpStream> = (0..20).map(|_| connect(&server)).collect();
    std::thread::sleep(Duration::from_millis(100));
    // The 21st waits in the backlog until idle ones are cut (after 0.5 to
    // 1 s: actix-web's clock ticks every 0.5 s), then is answered: refused by
    // nobody, served once there is room.
    let mut next = connect(&server);
    next.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    next.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut first = [0u8; 1];
    let early = next.read(&mut first);
    assert!(
        early.is_err(),
        "answered {:?} after {:?}, with every connection taken",
        early,
        started.elapsed()
    );
    next.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let (answer, waited) = until_closed(next, started);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    eprintln!("with 20 of 20 connections taken, the next was answered after {waited:?}");
    drop(idle);
    assert_eq!(ada.session_json()["user"]["name"], "Ada");
}

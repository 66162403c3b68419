//! Graceful shutdown, on the real binary: `SIGTERM` (or `SIGINT`) under load
//! answers every request already accepted, refuses new connections, loses no
//! acknowledged write, and exits 0 within `GATEHOUSE_SHUTDOWN_TIMEOUT`.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::process::{ProcessDb, ServerProcess};
use common::{Backend, Browser, PASSWORD};

on_both_backends!(
    sigterm_answers_every_request_in_flight,
    sigint_drains_the_same_way,
    a_request_that_never_ends_is_cut_at_the_timeout,
);

fn sigterm_answers_every_request_in_flight(backend: Backend) {
    drains(backend, libc::SIGTERM, "SIGTERM");
}

fn sigint_drains_the_same_way(backend: Backend) {
    drains(backend, libc::SIGINT, "SIGINT");
}

/// A sign-up whose request head and part of its body are sent; the rest
/// waits for [`finish`](Self::finish).
struct HalfSent {
    stream: TcpStream,
    rest: Vec<u8>,
    email: String,
}

impl HalfSent {
    fn start(base: &str, addr: std::net::SocketAddr, email: &str) -> Self {
        let browser = Browser::new(base);
        let token = browser.csrf_token();
        let body = serde_urlencoded::to_string([
            ("name", "Drained"),
            ("email", email),
            ("password", PASSWORD),
            ("csrf_token", token.as_str()),
        ])
        .unwrap();
        let head = format!(
            "POST /signup HTTP/1.1\r\nHost: {addr}\r\nCookie: {}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            browser.cookie_header(),
            body.len()
        );
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let (first, rest) = body.as_bytes().split_at(10);
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(first).unwrap();
        stream.flush().unwrap();
        HalfSent {
            stream,
            rest: rest.to_vec(),
            email: email.to_owned(),
        }
    }

    /// Sends the rest of the body and answers the whole response.
    fn finish(mut self) -> String {
        self.stream.write_all(&self.rest).unwrap();
        let mut answer = String::new();
        self.stream
            .read_to_string(&mut answer)
            .unwrap_or_else(|e| panic!("{}: no complete answer: {e}", self.email));
        answer
    }
}

/// What the load threads saw.
#[derive(Default)]
struct Seen {
    answers: usize,
    /// Sign-ups answered 303: each must exist afterwards.
    acknowledged: Vec<String>,
    /// Anything wrong: a 5xx, or a failure before the signal.
    problems: Vec<String>,
}

/// A sign-up by form, as a browser makes it (CSRF cookie and token first),
/// failing instead of panicking when the server has gone.
fn sign_up(client: &reqwest::blocking::Client, base: &str, email: &str) -> Result<u16, String> {
    let csrf = client
        .get(format!("{base}/api/auth/csrf"))
        .send()
        .map_err(|e| e.to_string())?;
    let cookies: Vec<String> = csrf
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect();
    let json: serde_json::Value = csrf.json().map_err(|e| e.to_string())?;
    let token = json["csrfToken"].as_str().unwrap_or_default();
    let form = [
        ("name", "Load"),
        ("email", email),
        ("password", PASSWORD),
        ("csrf_token", token),
    ];
    client
        .post(format!("{base}/signup"))
        .header("cookie", cookies.join("; "))
        .form(&form)
        .send()
        .map(|r| r.status().as_u16())
        .map_err(|e| e.to_string())
}

fn drains(backend: Backend, signal: i32, name: &str) {
    let Some(db) = ProcessDb::new(backend) else {
        return;
    };
    let server = ServerProcess::start(
        &db,
        &[
            ("GATEHOUSE_SHUTDOWN_TIMEOUT", "20s"),
            ("RATE_LIMIT_SIGNUP", "off"),
            ("RATE_LIMIT_API", "off"),
        ],
    );
    let (base, addr) = (server.base.clone(), server.addr);

    // Load: page views and sign-ups on keep-alive connections, until the
    // server stops answering.
    let signalled = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let load: Vec<_> = (0..3)
        .map(|t| {
            let (base, signalled, seen) = (base.clone(), signalled.clone(), seen.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .timeout(Duration::from_secs(30))
                    .build()
                    .unwrap();
                for n in 0.. {
                    let outcome = if n % 4 == 0 {
                        let email = format!("load{t}-{n}@example.com");
                        sign_up(&client, &base, &email).map(|status| (status, Some(email)))
                    } else {
                        client
                            .get(format!("{base}/"))
                            .send()
                            .and_then(|r| {
                                let status = r.status().as_u16();
                                r.text().map(|_| (status, None))
                            })
                            .map_err(|e| e.to_string())
                    };
                    // Read after the request: a request sent on a keep-alive
                    // connection just as the drain closes it was never read
                    // by the server (clients retry those); one that fails
                    // with no signal sent is a real failure.
                    let after_signal = signalled.load(Ordering::SeqCst);
                    let mut seen = seen.lock().unwrap();
                    match outcome {
                        Ok((status, email)) => {
                            seen.answers += 1;
                            if status >= 500 {
                                seen.problems.push(format!("answered {status}"));
                            }
                            if let (303, Some(email)) = (status, email) {
                                seen.acknowledged.push(email);
                            }
                        }
                        // After the signal, connections close and new ones are
                        // refused: the load ends there.
                        Err(_) if after_signal => return,
                        Err(e) => {
                            seen.problems.push(format!("before the signal: {e}"));
                            return;
                        }
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(800));

    // Requests in flight: read by the server, their bodies not yet complete.
    let in_flight: Vec<HalfSent> = (0..6)
        .map(|i| HalfSent::start(&base, addr, &format!("drain{i}@example.com")))
        .collect();
    std::thread::sleep(Duration::from_millis(300));

    signalled.store(true, Ordering::SeqCst);
    server.signal(signal);
    let signalled_at = Instant::now();

    // New connections are refused within a moment.
    let refused = loop {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => break true,
            _ if signalled_at.elapsed() > Duration::from_secs(3) => break false,
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    assert!(
        refused,
        "new connections were still accepted 3 s after {name}"
    );

    // Every request in flight is answered in full.
    for request in in_flight {
        let email = request.email.clone();
        let answer = request.finish();
        assert!(
            answer.starts_with("HTTP/1.1 303"),
            "{email}: {}",
            answer.lines().next().unwrap_or("(nothing)")
        );
    }
    for t in load {
        t.join().unwrap();
    }

    let (status, took, log) = server.wait_with_log(Duration::from_secs(25));
    assert!(status.success(), "exit {status}: {log}");
    assert!(
        took < Duration::from_secs(10),
        "took {took:?} to exit after the last request"
    );
    assert!(log.contains(&format!("{name} received")), "{log}");
    assert!(log.contains("gatehouse stopped"), "{log}");

    let seen = seen.lock().unwrap();
    assert!(seen.problems.is_empty(), "{:?}", seen.problems);
    assert!(
        seen.answers > 10,
        "the load made only {} requests",
        seen.answers
    );
    // Nothing acknowledged is lost: every 303 sign-up is there.
    let store =
        gatehouse::db::Db::connect_once(&gatehouse::db::DatabaseUrl::parse(&db.url).unwrap())
            .unwrap();
    let mut conn = store.get().unwrap();
    let expected: Vec<String> = (0..6)
        .map(|i| format!("drain{i}@example.com"))
        .chain(seen.acknowledged.iter().cloned())
        .collect();
    for email in &expected {
        use diesel::prelude::*;
        use gatehouse::db::schema::users;
        let n: i64 = users::table
            .filter(users::email.eq(email))
            .count()
            .get_result(&mut *conn)
            .unwrap();
        assert_eq!(n, 1, "{email} was acknowledged but is missing");
    }
}

fn a_request_that_never_ends_is_cut_at_the_timeout(backend: Backend) {
    let Some(db) = ProcessDb::new(backend) else {
        return;
    };
    let server = ServerProcess::start(&db, &[("GATEHOUSE_SHUTDOWN_TIMEOUT", "2s")]);
    let stuck = HalfSent::start(&server.base, server.addr, "stuck@example.com");
    std::thread::sleep(Duration::from_millis(200));
    server.signal(libc::SIGTERM);
    let (status, took, log) = server.wait_with_log(Duration::from_secs(15));
    drop(stuck);
    assert!(status.success(), "exit {status}: {log}");
    assert!(
        took >= Duration::from_millis(1_500) && took < Duration::from_secs(8),
        "exited after {took:?}, expected about the 2 s timeout"
    );
}

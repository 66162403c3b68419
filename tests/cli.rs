//! The `gatehouse` command, run as an operator would.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::process::ProcessDb;
use common::{Backend, TestApp};

/// A database for one test: a temp SQLite file or a fresh PostgreSQL database,
/// with a temporary working directory.
type Target = ProcessDb;

fn target(backend: Backend) -> Option<Target> {
    ProcessDb::new(backend)
}

fn gatehouse(t: &Target, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    common::run_gatehouse(t.dir.path(), &t.url, args, stdin, env)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

on_both_backends!(
    migrate_runs_once,
    user_add_reads_the_password_from_stdin_and_refuses_a_taken_email,
    sessions_sweep_deletes_expired_sessions_and_says_how_many,
    healthcheck_exits_0_while_the_server_answers,
);

fn migrate_runs_once(backend: Backend) {
    let Some(t) = target(backend) else { return };
    let first = gatehouse(&t, &["migrate"], "", &[]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    // As many as the migrations folder holds (the same for both backends:
    // tests/migrations.rs).
    let all = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .unwrap()
        .count();
    assert_eq!(
        text(&first.stdout).trim(),
        format!("{all} migration(s) run")
    );
    let again = gatehouse(&t, &["migrate"], "", &[]);
    assert_eq!(text(&again.stdout).trim(), "0 migration(s) run");
}

fn user_add_reads_the_password_from_stdin_and_refuses_a_taken_email(backend: Backend) {
    let Some(t) = target(backend) else { return };
    let args = [
        "user",
        "add",
        "--email",
        "Ops@Example.com",
        "--name",
        "Ops",
        "--role",
        "admin",
    ];
    let ok = gatehouse(&t, &args, "a long enough password\n", &[]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert!(text(&ok.stdout).starts_with("created admin "));

    let taken = gatehouse(
        &t,
        &[
            "user",
            "add",
            "--email",
            "ops@example.com",
            "--name",
            "Other",
        ],
        "another password\n",
        &[],
    );
    assert!(!taken.status.success());
    assert!(
        text(&taken.stderr).contains("already exists"),
        "{}",
        text(&taken.stderr)
    );

    let weak = gatehouse(
        &t,
        &[
            "user",
            "add",
            "--email",
            "weak@example.com",
            "--name",
            "Weak",
        ],
        "short\n",
        &[],
    );
    assert!(!weak.status.success());
    assert!(text(&weak.stderr).contains("at least 8"));

    let bad_email = gatehouse(
        &t,
        &["user", "add", "--email", "nope", "--name", "X"],
        "long enough pw\n",
        &[],
    );
    assert!(!bad_email.status.success());

    // The account signs in with the password given on stdin.
    let db =
        gatehouse::db::Db::connect(&gatehouse::db::DatabaseUrl::parse(&t.url).unwrap(), 1).unwrap();
    assert!(
        gatehouse::auth::authenticate(
            &db,
            "ops@example.com",
            "a long enough password",
            &Default::default(),
            false
        )
        .is_ok()
    );
}

fn sessions_sweep_deletes_expired_sessions_and_says_how_many(backend: Backend) {
    let Some(t) = target(backend) else { return };
    let add = gatehouse(
        &t,
        &["user", "add", "--email", "a@example.com", "--name", "A"],
        "a long enough password\n",
        &[],
    );
    assert!(add.status.success(), "{}", text(&add.stderr));
    let db =
        gatehouse::db::Db::connect(&gatehouse::db::DatabaseUrl::parse(&t.url).unwrap(), 1).unwrap();
    let policy = gatehouse::session::ExpiryPolicy {
        max_age: Duration::from_secs(3600),
        update_age: Duration::from_secs(60),
    };
    {
        let mut conn = db.get().unwrap();
        for _ in 0..3 {
            gatehouse::session::create_session(&mut conn, 1, &Default::default(), &policy, None, 1)
                .unwrap();
        }
        use diesel::RunQueryDsl;
        diesel::sql_query("UPDATE sessions SET expires_at = '2001-01-01 00:00:00' WHERE id <= 2")
            .execute(&mut *conn)
            .unwrap();
    }
    let out = gatehouse(&t, &["sessions", "sweep"], "", &[]);
    assert!(
        out.status.success(),
        "{:?} {} {}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(
        text(&out.stdout),
        "2 expired session(s) deleted\n\
         0 unfinished OAuth sign-in(s) deleted\n\
         0 old rate-limit counter(s) deleted\n\
         0 expired mailed link(s) deleted\n\
         0 unfinished two-factor sign-in(s) deleted\n"
    );
    let out = gatehouse(&t, &["sessions", "sweep"], "", &[]);
    assert_eq!(
        text(&out.stdout).lines().next(),
        Some("0 expired session(s) deleted")
    );
    // One-shot commands once crashed at exit (SIGSEGV in libpq's TLS teardown,
    // about one run in four on PostgreSQL) while the pool opened a spare
    // connection in the background: run it often enough to see that again.
    for _ in 0..20 {
        let out = gatehouse(&t, &["sessions", "sweep"], "", &[]);
        assert!(out.status.success(), "{:?}", out.status);
    }
}

#[test]
fn a_bad_setting_stops_the_server_with_one_line_naming_it() {
    let t = target(Backend::Sqlite).unwrap();
    for (var, value) in [
        ("SESSION_MAX_AGE", "forever"),
        ("GATEHOUSE_SECRET", "too short"),
        ("GATEHOUSE_URL", "ftp://example.com"),
        ("DATABASE_URL", "redis://localhost"),
    ] {
        let out = gatehouse(&t, &["serve"], "", &[(var, value)]);
        assert_eq!(out.status.code(), Some(2), "{var}");
        let err = text(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with(&format!("gatehouse: {var}: ")), "{err}");
    }
}

#[test]
fn serve_logs_a_setup_link_and_answers_healthz() {
    let t = target(Backend::Sqlite).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .current_dir(t.dir.path())
        .env_clear()
        .env("DATABASE_URL", &t.url)
        .env("GATEHOUSE_ADDR", &addr)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let client = reqwest::blocking::Client::new();
    let healthy = loop {
        if let Ok(r) = client.get(format!("http://{addr}/healthz")).send() {
            break r.status().as_u16() == 200;
        }
        if started.elapsed() > Duration::from_secs(30) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let log = text(&out.stderr);
    assert!(healthy, "{log}");
    assert!(
        log.contains(&format!("http://{addr}/setup?token=")),
        "{log}"
    );
}

/// `gatehouse healthcheck` with only `GATEHOUSE_ADDR` set, as a container runs it.
fn healthcheck(addr: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("healthcheck")
        .current_dir(dir.path())
        .env_clear()
        .env("GATEHOUSE_ADDR", addr)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn healthcheck_exits_0_while_the_server_answers(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    // The image listens on 0.0.0.0: the check reaches it on loopback.
    for addr in [format!("127.0.0.1:{port}"), format!("0.0.0.0:{port}")] {
        let out = healthcheck(&addr);
        assert!(
            out.status.success(),
            "{addr}: {:?} {}",
            out.status,
            text(&out.stderr)
        );
        assert_eq!(text(&out.stderr), "", "{addr}");
    }
}

/// Fails with one line on stderr naming what went wrong.
fn assert_unhealthy(out: &Output, says: &str) {
    assert!(!out.status.success(), "{:?}", out.status);
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("gatehouse: healthcheck: "), "{err}");
    assert!(err.contains(says), "{err}");
}

#[test]
fn healthcheck_fails_with_one_line_on_a_closed_port() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = healthcheck(&format!("127.0.0.1:{port}"));
    assert_unhealthy(&out, "cannot connect");
}

#[test]
fn healthcheck_fails_on_a_non_200_answer_and_on_silence() {
    use std::io::Read;
    // A server that answers 503, as /healthz does when the database is down.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 1024];
        let _ = conn.read(&mut buf);
        conn.write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
    });
    assert_unhealthy(&healthcheck(&addr), "answered 503");
    server.join().unwrap();

    // A server that accepts and never answers: the check gives up in time.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let started = Instant::now();
    let out = healthcheck(&addr);
    assert_unhealthy(&out, "no answer");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    drop(listener);
}

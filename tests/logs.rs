//! The log of the real binary (`LOG_FORMAT`): with `json`, every stderr line
//! is one JSON object and the access line carries the request id, method,
//! route pattern, status, duration and peer; in both formats no query
//! string, cookie or token is written; every answer has an `X-Request-Id`.

mod common;

use std::time::Duration;

use common::process::{ProcessDb, ServerProcess};
use common::{Backend, Browser};

on_both_backends!(json_logs_are_one_object_per_line_without_secrets);

#[test]
fn text_logs_keep_the_path_without_its_query() {
    let db = ProcessDb::new(Backend::Sqlite).unwrap();
    let server = ServerProcess::start(&db, &[("LOG_FORMAT", "text")]);
    let page = visit_with_secrets(&server.base);
    let id = page.header("x-request-id").unwrap();
    server.signal(libc::SIGTERM);
    let (status, _, log) = server.wait_with_log(Duration::from_secs(15));
    assert!(status.success(), "{log}");
    let line = log
        .lines()
        .find(|l| l.contains(&id))
        .unwrap_or_else(|| panic!("no access line with {id}: {log}"));
    assert!(line.contains("\"GET /signin\" 200"), "{line}");
    assert!(!line.contains('?'), "{line}");
    assert_no_secrets(&log);
}

#[test]
fn a_bad_log_format_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("g.db").display());
    let out = common::run_gatehouse(dir.path(), &url, &["serve"], "", &[("LOG_FORMAT", "xml")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("LOG_FORMAT"), "{err}");
}

const QUERY_SECRET: &str = "q-secret-4d1f9b";
const COOKIE_SECRET: &str = "c-secret-77aa02";

/// `GET /signin` with a token-like query value and a cookie; answers the page.
fn visit_with_secrets(base: &str) -> common::Page {
    let b = Browser::new(base);
    let page = b.send(|c| {
        c.get(format!("{base}/signin?token={QUERY_SECRET}&callbackUrl=/"))
            .header("cookie", format!("gatehouse.session={COOKIE_SECRET}"))
    });
    assert_eq!(page.status, 200, "{}", page.body);
    page
}

fn assert_no_secrets(log: &str) {
    // (The one-time setup link at start is meant for the operator.)
    for secret in [QUERY_SECRET, COOKIE_SECRET, "callbackUrl"] {
        assert!(!log.contains(secret), "{secret} logged: {log}");
    }
}

fn json_logs_are_one_object_per_line_without_secrets(backend: Backend) {
    let Some(db) = ProcessDb::new(backend) else {
        return;
    };
    let server = ServerProcess::start(&db, &[("LOG_FORMAT", "json")]);
    let page = visit_with_secrets(&server.base);
    let id = page.header("x-request-id").unwrap();
    assert_eq!(id.len(), 16, "{id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    // A proxy's plain request id is kept; anything else is replaced.
    let client = reqwest::blocking::Client::new();
    let adopted = client
        .get(format!("{}/healthz", server.base))
        .header("x-request-id", "edge-42.a_b")
        .send()
        .unwrap();
    assert_eq!(adopted.headers()["x-request-id"], "edge-42.a_b");
    let replaced = client
        .get(format!("{}/healthz", server.base))
        .header("x-request-id", "bad id\"}")
        .send()
        .unwrap();
    assert_ne!(replaced.headers()["x-request-id"], "bad id\"}");
    server.signal(libc::SIGTERM);
    let (status, _, log) = server.wait_with_log(Duration::from_secs(15));
    assert!(status.success(), "{log}");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.len() >= 4, "{log}");
    for line in &lines {
        for field in ["ts", "level", "target", "msg"] {
            assert!(line[field].is_string(), "{field} missing: {line}");
        }
    }
    let access = lines
        .iter()
        .find(|l| l["request_id"] == id.as_str())
        .unwrap_or_else(|| panic!("no access line for {id}: {log}"));
    assert_eq!(access["method"], "GET");
    assert_eq!(access["route"], "/signin");
    assert_eq!(access["status"], 200);
    assert!(access["duration_ms"].as_f64().unwrap() >= 0.0, "{access}");
    assert_eq!(access["peer"], "127.0.0.1");
    assert!(
        lines.iter().any(|l| l["request_id"] == "edge-42.a_b"),
        "{log}"
    );
    assert_no_secrets(&log);
}

//! Prometheus metrics on `GATEHOUSE_METRICS_ADDR`: what a visitor does moves
//! the counters, with route patterns (never raw paths) as labels; the
//! listener is a second one (`/metrics` is not on the main listener); a bad
//! address stops the start; the sweeper's rounds are counted in the real
//! binary.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::process::{ProcessDb, ServerProcess, free_addr};
use common::{Backend, PASSWORD, TestApp};

on_both_backends!(
    a_visit_moves_the_request_session_and_sign_in_counters,
    rate_limit_trips_are_counted_by_rule,
    metrics_live_on_their_own_listener_only,
    the_sweeper_rounds_are_counted,
    mail_and_the_email_limit_are_counted,
);

#[test]
fn a_bad_metrics_address_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("g.db").display());
    let addr = free_addr().to_string();
    let out = common::run_gatehouse(
        dir.path(),
        &url,
        &["serve"],
        "",
        &[
            ("GATEHOUSE_ADDR", &addr),
            ("GATEHOUSE_METRICS_ADDR", "localhost"),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("GATEHOUSE_METRICS_ADDR"), "{err}");
    // An address already taken is refused at start too, naming the variable.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = taken.local_addr().unwrap().to_string();
    let out = common::run_gatehouse(
        dir.path(),
        &url,
        &["serve"],
        "",
        &[
            ("GATEHOUSE_ADDR", &addr),
            ("GATEHOUSE_METRICS_ADDR", &taken),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("GATEHOUSE_METRICS_ADDR: cannot listen"),
        "{err}"
    );
}

/// `name{labels}` → value, from the text format.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect()
}

fn scrape(base: &str) -> (String, BTreeMap<String, f64>) {
    let res = reqwest::blocking::get(format!("{base}/metrics")).expect("scrape");
    assert_eq!(res.status().as_u16(), 200);
    let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    let text = res.text().unwrap();
    let parsed = samples(&text);
    (text, parsed)
}

fn value(samples: &BTreeMap<String, f64>, key: &str) -> f64 {
    samples.get(key).copied().unwrap_or(0.0)
}

fn with_metrics(backend: Backend, extra: &[(&str, &str)]) -> Option<TestApp> {
    let mut vars = vec![("GATEHOUSE_METRICS_ADDR", "127.0.0.1:0")];
    vars.extend_from_slice(extra);
    TestApp::start_with(backend, &vars)
}

fn a_visit_moves_the_request_session_and_sign_in_counters(backend: Backend) {
    let Some(app) = with_metrics(backend, &[]) else {
        return;
    };
    let metrics = app.metrics_base.clone().expect("metrics listener");
    app.signed_up("Ada", "ada@example.com");
    let ada = app.signed_in("ada@example.com");
    let home = ada.get("/");
    assert_eq!(home.status, 200);
    assert_eq!(home.user_name().as_deref(), Some("Ada"));
    let stranger = app.browser();
    let wrong = stranger.submit(
        "/signin",
        &[
            ("email", "ada@example.com"),
            ("password", "not the password"),
        ],
    );
    assert_ne!(wrong.status, 303);
    let other_user = ada.get("/admin/users/12345");
    let nowhere = stranger.get("/no/such/page-7f3a");
    assert_eq!(nowhere.status, 404);

    let (text, m) = scrape(&metrics);
    let count = |k: &str| value(&m, k);
    assert_eq!(
        count(r#"gatehouse_sign_ins_total{method="password",result="ok"}"#),
        1.0,
        "{text}"
    );
    assert_eq!(
        count(r#"gatehouse_sign_ins_total{method="password",result="bad_credentials"}"#),
        1.0,
        "{text}"
    );
    assert_eq!(
        count(r#"gatehouse_http_requests_total{method="POST",route="/signup",status="303"}"#),
        1.0,
        "{text}"
    );
    assert_eq!(
        count(r#"gatehouse_http_requests_total{method="POST",route="/signin",status="303"}"#),
        1.0,
        "{text}"
    );
    let failed = format!(
        r#"gatehouse_http_requests_total{{method="POST",route="/signin",status="{}"}}"#,
        wrong.status
    );
    assert_eq!(count(&failed), 1.0, "{text}");
    assert!(count(r#"gatehouse_http_requests_total{method="GET",route="/",status="200"}"#) >= 1.0);
    let by_id = format!(
        r#"gatehouse_http_requests_total{{method="GET",route="/admin/users/{{id}}",status="{}"}}"#,
        other_user.status
    );
    assert_eq!(count(&by_id), 1.0, "{text}");
    assert_eq!(
        count(r#"gatehouse_http_requests_total{method="GET",route="unmatched",status="404"}"#),
        1.0,
        "{text}"
    );
    // Raw paths never become labels.
    assert!(
        !text.contains("12345") && !text.contains("page-7f3a"),
        "{text}"
    );
    assert!(count(r#"gatehouse_http_request_duration_seconds_count{route="/"}"#) >= 1.0);
    assert!(count(r#"gatehouse_http_request_duration_seconds_bucket{route="/",le="+Inf"}"#) >= 1.0);
    let fast_path = match backend {
        Backend::Sqlite => "inline",
        Backend::Postgres => "async",
    };
    let signed_in =
        format!(r#"gatehouse_session_lookups_total{{outcome="signed_in",path="{fast_path}"}}"#);
    assert!(count(&signed_in) >= 1.0, "{text}");
    assert!(
        count(r#"gatehouse_session_lookups_total{outcome="anonymous",path="none"}"#) >= 1.0,
        "{text}"
    );
    assert!(
        m.contains_key("gatehouse_db_pool_connections_in_use"),
        "{text}"
    );
    assert!(count("gatehouse_db_pool_connections_idle") >= 1.0, "{text}");
    assert_eq!(count("gatehouse_password_hash_queue_depth"), 0.0, "{text}");
    assert_eq!(
        count("gatehouse_password_hash_refusals_total"),
        0.0,
        "{text}"
    );

    // A session that no longer stands reads as expired_or_refused.
    app.sql("UPDATE sessions SET expires_at = '2000-01-01 00:00:00'");
    assert_eq!(ada.get("/").user_name(), None);
    let (text, m) = scrape(&metrics);
    assert_eq!(
        value(
            &m,
            r#"gatehouse_session_lookups_total{outcome="expired_or_refused",path="pool"}"#
        ),
        1.0,
        "{text}"
    );
}

fn rate_limit_trips_are_counted_by_rule(backend: Backend) {
    let Some(app) = with_metrics(backend, &[("RATE_LIMIT_SIGNIN", "2/15m")]) else {
        return;
    };
    let metrics = app.metrics_base.clone().unwrap();
    app.signed_up("Bo", "bo@example.com");
    let b = app.browser();
    for _ in 0..3 {
        b.submit(
            "/signin",
            &[("email", "bo@example.com"), ("password", "nope")],
        );
    }
    let page = b.submit(
        "/signin",
        &[("email", "bo@example.com"), ("password", PASSWORD)],
    );
    assert_eq!(page.status, 429, "{}", page.body);
    let (text, m) = scrape(&metrics);
    assert_eq!(
        value(&m, r#"gatehouse_rate_limit_trips_total{rule="signin"}"#),
        2.0,
        "{text}"
    );
    assert_eq!(
        value(
            &m,
            r#"gatehouse_sign_ins_total{method="password",result="rate_limited"}"#
        ),
        2.0,
        "{text}"
    );
    assert_eq!(
        value(
            &m,
            r#"gatehouse_sign_ins_total{method="password",result="bad_credentials"}"#
        ),
        2.0,
        "{text}"
    );
}

fn metrics_live_on_their_own_listener_only(backend: Backend) {
    let Some(app) = with_metrics(backend, &[]) else {
        return;
    };
    let metrics = app.metrics_base.clone().unwrap();
    assert_ne!(metrics, app.base);
    let b = app.browser();
    assert_eq!(b.get("/metrics").status, 404);
    let client = reqwest::blocking::Client::new();
    for (method, path) in [("GET", "/"), ("GET", "/healthz"), ("POST", "/metrics")] {
        let res = client
            .request(method.parse().unwrap(), format!("{metrics}{path}"))
            .send()
            .unwrap();
        assert_eq!(res.status().as_u16(), 404, "{method} {path}");
    }
    let (text, _) = scrape(&metrics);
    assert!(text.contains("gatehouse_http_requests_total"), "{text}");
    // Without the variable, nothing listens and nothing is recorded.
    let plain = TestApp::start(backend).unwrap();
    assert!(plain.metrics_base.is_none());
    assert_eq!(plain.browser().get("/metrics").status, 404);
}

fn the_sweeper_rounds_are_counted(backend: Backend) {
    let Some(db) = ProcessDb::new(backend) else {
        return;
    };
    let metrics = free_addr();
    let server = ServerProcess::start(
        &db,
        &[
            ("SWEEP_INTERVAL", "1s"),
            ("GATEHOUSE_METRICS_ADDR", &metrics.to_string()),
        ],
    );
    let base = format!("http://{metrics}");
    let started = Instant::now();
    loop {
        let (text, m) = scrape(&base);
        let runs = value(&m, r#"gatehouse_sweeper_runs_total{outcome="swept"}"#);
        assert!(m.contains_key(r#"gatehouse_sweeper_deleted_rows_total{kind="sessions"}"#));
        if runs >= 2.0 {
            assert_eq!(
                value(&m, r#"gatehouse_sweeper_runs_total{outcome="error"}"#),
                0.0
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no sweeps counted: {text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // SIGTERM drains both listeners and the process exits 0.
    server.signal(libc::SIGTERM);
    let (status, _, log) = server.wait_with_log(Duration::from_secs(15));
    assert!(status.success(), "{log}");
    assert!(reqwest::blocking::get(format!("{base}/metrics")).is_err());
}

/// A sign-up's verification mail is counted as sent once written; asking
/// for reset links past `RATE_LIMIT_EMAIL` counts an `email` trip.
fn mail_and_the_email_limit_are_counted(backend: Backend) {
    let Some(app) = with_metrics(backend, &[("RATE_LIMIT_EMAIL", "1/1h")]) else {
        return;
    };
    let metrics = app.metrics_base.clone().unwrap();
    app.signed_up("Cy", "cy@example.com");
    let sent = |m: &BTreeMap<String, f64>| value(m, "gatehouse_mail_sent_total");
    let started = Instant::now();
    let (text, m) = loop {
        let (text, m) = scrape(&metrics);
        if sent(&m) >= 1.0 || started.elapsed() > Duration::from_secs(10) {
            break (text, m);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(sent(&m), 1.0, "{text}");
    assert_eq!(value(&m, "gatehouse_mail_queued"), 0.0, "{text}");
    assert!(text.contains("gatehouse_mail_failed_total 0"), "{text}");

    let stranger = app.browser();
    for _ in 0..2 {
        stranger.submit("/forgot-password", &[("email", "cy@example.com")]);
    }
    let (text, m) = scrape(&metrics);
    assert_eq!(
        value(&m, r#"gatehouse_rate_limit_trips_total{rule="email"}"#),
        1.0,
        "{text}"
    );
}

//! Live updates (`GET /api/auth/events`, `/static/live.js`) on one instance,
//! on SQLite and (when configured) PostgreSQL: every kind of change on a
//! stream read line by line (`tests/common/sse.rs`). Across instances, the
//! NOTIFY payload, shutdown and metrics: `tests/events_cluster.rs`.

mod common;

use std::time::{Duration, Instant};

use common::sse::{Next, Stream, WAIT, other_session_id, user_with_stream};
use common::{Backend, PASSWORD, ROOT_ADMIN, TestApp};
use reqwest::Method;
use serde_json::json;

on_both_backends!(
    anonymous_gets_401,
    the_first_event_is_the_session,
    a_profile_edit_on_another_device_arrives,
    an_admin_role_change_arrives,
    sign_out_of_this_session_ends_the_stream,
    a_revoke_ends_the_stream_with_revoked,
    a_ban_ends_the_stream_with_banned,
    a_password_change_elsewhere_ends_the_stream,
    the_stream_ends_at_the_session_expiry,
    another_users_change_sends_nothing,
    a_refused_edit_sends_nothing,
    keepalive_comments_arrive,
    past_the_stream_limit_the_answer_is_503,
    events_off_is_404,
    live_js_is_served_and_loaded_by_signed_in_pages,
    the_sign_in_page_says_why_the_session_ended,
    a_sign_in_link_that_verifies_the_address_arrives,
);

fn anonymous_gets_401(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let page = app.browser().get("/api/auth/events");
    assert_eq!(page.status, 401, "{}", page.body);
    assert_eq!(page.json()["error"], "unauthorized");
}

fn the_first_event_is_the_session(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let ada = app.signed_up("Ada", "ada@example.com");
    let mut stream = Stream::open(&ada);
    assert_eq!(stream.status, 200);
    let header = |name: &str| {
        stream
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    assert!(header("content-type").starts_with("text/event-stream"));
    assert_eq!(header("cache-control"), "no-store");
    assert_eq!(header("x-accel-buffering"), "no");
    let first = stream.session();
    assert_eq!(first, ada.session_json());
}

fn a_profile_edit_on_another_device_arrives(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let (_here, other, mut stream) = user_with_stream(&app, "ada@example.com");
    let page = other.submit(
        "/settings/profile",
        &[
            ("name", "Ada Lovelace"),
            ("image", "https://img.example/a.png"),
        ],
    );
    assert_eq!(page.status, 303, "{}", page.body);
    let fresh = stream.session();
    assert_eq!(fresh["user"]["name"], "Ada Lovelace");
    assert_eq!(fresh["user"]["image"], "https://img.example/a.png");
    // The JSON route too, with preferences.
    let page = other.json(
        Method::POST,
        "/api/auth/session",
        &json!({"theme": "dark", "language": "de"}),
    );
    assert_eq!(page.status, 200, "{}", page.body);
    let fresh = stream.session();
    assert_eq!(fresh["user"]["theme"], "dark");
    assert_eq!(fresh["user"]["language"], "de");
}

fn an_admin_role_change_arrives(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    let (here, _other, mut stream) = user_with_stream(&app, "ada@example.com");
    let id = here.user_id();
    let admin = app.signed_in(ROOT_ADMIN);
    let page = admin.json(
        Method::PATCH,
        &format!("/api/admin/users/{id}"),
        &json!({"role": "admin", "plan": "premium"}),
    );
    assert_eq!(page.status, 200, "{}", page.body);
    let fresh = stream.session();
    assert_eq!(fresh["user"]["role"], "admin");
    assert_eq!(fresh["user"]["plan"], "premium");
    // The admin page's form says the same.
    let page = admin.submit(
        &format!("/admin/users/{id}/update"),
        &[
            ("role", "user"),
            ("permissions", ""),
            ("plan", "free"),
            ("plan_expires_at", ""),
        ],
    );
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(stream.session()["user"]["role"], "user");
}

fn sign_out_of_this_session_ends_the_stream(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let (here, other, mut stream) = user_with_stream(&app, "ada@example.com");
    // The same session signs out in another tab (same cookie).
    let page = here.submit("/signout", &[]);
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(stream.signout(), "signed_out");
    // The other device's session stands, and its stream hears nothing of it.
    let mut theirs = Stream::open(&other);
    theirs.session();
    let again = app.signed_in("ada@example.com");
    again.json(Method::POST, "/api/auth/signout", &json!({}));
    theirs.quiet(Duration::from_millis(700));
}

fn a_revoke_ends_the_stream_with_revoked(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    let (_here, other, mut stream) = user_with_stream(&app, "ada@example.com");
    let mine = other_session_id(&other);
    let page = other.json(
        Method::DELETE,
        &format!("/api/auth/sessions/{mine}"),
        &json!({}),
    );
    assert_eq!(page.status, 204, "{}", page.body);
    assert_eq!(stream.signout(), "revoked");
    // An admin revoking the other device's session: the same.
    let mut theirs = Stream::open(&other);
    theirs.session();
    let list = other.get("/api/auth/sessions").json();
    let current = list.as_array().unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin = app.signed_in(ROOT_ADMIN);
    let page = admin.json(
        Method::DELETE,
        &format!("/api/admin/sessions/{current}"),
        &json!({}),
    );
    assert_eq!(page.status, 204, "{}", page.body);
    assert_eq!(theirs.signout(), "revoked");
}

fn a_ban_ends_the_stream_with_banned(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    let (here, _other, mut stream) = user_with_stream(&app, "ada@example.com");
    let id = here.user_id();
    let admin = app.signed_in(ROOT_ADMIN);
    let page = admin.json(
        Method::POST,
        &format!("/api/admin/users/{id}/ban"),
        &json!({"reason": "spam"}),
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(stream.signout(), "banned");
}

fn a_password_change_elsewhere_ends_the_stream(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let (_here, other, mut stream) = user_with_stream(&app, "ada@example.com");
    let page = other.submit(
        "/settings/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", "another long passphrase 42"),
        ],
    );
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(stream.signout(), "password_changed");
}

fn the_stream_ends_at_the_session_expiry(backend: Backend) {
    // No extension is due before the expiry (update age = max age).
    let Some(app) = TestApp::start_with(
        backend,
        &[("SESSION_MAX_AGE", "1m"), ("SESSION_UPDATE_AGE", "1m")],
    ) else {
        return;
    };
    let ada = app.signed_up("Ada", "ada@example.com");
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(2))
        .naive_utc()
        .format("%Y-%m-%d %H:%M:%S%.6f");
    app.sql(&format!("UPDATE sessions SET expires_at = '{soon}'"));
    let mut stream = Stream::open(&ada);
    stream.session();
    let started = Instant::now();
    assert_eq!(stream.signout(), "expired");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

fn another_users_change_sends_nothing(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let (_here, _other, mut stream) = user_with_stream(&app, "ada@example.com");
    let bob = app.signed_up("Bob", "bob@example.com");
    let page = bob.submit("/settings/profile", &[("name", "Robert"), ("image", "")]);
    assert_eq!(page.status, 303, "{}", page.body);
    bob.submit("/signout", &[]);
    stream.quiet(Duration::from_millis(700));
}

fn a_refused_edit_sends_nothing(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let (_here, other, mut stream) = user_with_stream(&app, "ada@example.com");
    let page = other.submit("/settings/profile", &[("name", ""), ("image", "")]);
    assert_eq!(page.status, 422, "{}", page.body);
    let page = other.json(Method::POST, "/api/auth/session", &json!({"theme": "neon"}));
    assert_eq!(page.status, 422, "{}", page.body);
    stream.quiet(Duration::from_millis(700));
}

fn keepalive_comments_arrive(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, &[("EVENTS_KEEPALIVE", "1s")]) else {
        return;
    };
    let ada = app.signed_up("Ada", "ada@example.com");
    let mut stream = Stream::open(&ada);
    stream.session();
    for _ in 0..2 {
        match stream.next(Duration::from_secs(3)) {
            Next::Comment(c) => assert_eq!(c, "ping"),
            other => panic!("expected a keep-alive comment, got {other:?}"),
        }
    }
}

fn past_the_stream_limit_the_answer_is_503(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, &[("EVENTS_MAX_STREAMS", "2")]) else {
        return;
    };
    let ada = app.signed_up("Ada", "ada@example.com");
    let mut one = Stream::open(&ada);
    one.session();
    let mut two = Stream::open(&ada);
    two.session();
    let page = ada.get("/api/auth/events");
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(page.header("retry-after").is_some());
    // A place frees when a stream ends.
    ada.submit("/signout", &[]);
    one.signout();
    two.signout();
    let ada = app.signed_in("ada@example.com");
    let deadline = Instant::now() + WAIT;
    loop {
        let mut three = Stream::open(&ada);
        if three.status == 200 {
            three.session();
            break;
        }
        assert!(Instant::now() < deadline, "no place freed");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn events_off_is_404(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, &[("EVENTS_MAX_STREAMS", "0")]) else {
        return;
    };
    let ada = app.signed_up("Ada", "ada@example.com");
    assert_eq!(ada.get("/api/auth/events").status, 404);
    // Changes still work, with nothing to tell.
    let page = ada.submit("/settings/profile", &[("name", "Ada L"), ("image", "")]);
    assert_eq!(page.status, 303);
}

fn live_js_is_served_and_loaded_by_signed_in_pages(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let anon = app.browser();
    let script = anon.get("/static/live.js");
    assert_eq!(script.status, 200);
    assert!(
        script
            .header("content-type")
            .unwrap()
            .starts_with("text/javascript"),
        "{:?}",
        script.header("content-type")
    );
    assert!(script.body.contains("EventSource"));
    assert!(script.body.contains("/api/auth/events"));
    // No inline script anywhere: the CSP allows scripts from 'self' only.
    let home = anon.get("/");
    assert!(
        !home.body.contains("live.js"),
        "anonymous pages load nothing"
    );
    let ada = app.signed_up("Ada", "ada@example.com");
    for path in ["/", "/settings", "/settings/sessions"] {
        let page = ada.get(path);
        let csp = page.header("content-security-policy").unwrap();
        assert!(csp.contains("default-src 'self'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        // At its content-hashed URL (tests/pages_assets.rs checks the hash).
        assert!(
            page.body.contains("<script src=\"/static/live.")
                && page.body.contains(".js\" defer></script>"),
            "{path}"
        );
        assert_eq!(page.body.matches("<script").count(), 1, "{path}");
        assert!(page.body.contains("id=\"user-name\""), "{path}");
        assert!(page.body.contains("id=\"user-avatar\""), "{path}");
        assert!(page.body.contains("data-theme=\"system\""), "{path}");
        assert!(page.body.contains("id=\"live-notice\""), "{path}");
    }
}

fn the_sign_in_page_says_why_the_session_ended(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let anon = app.browser();
    for (reason, words) in [
        ("signed_out", "signed out"),
        ("revoked", "ended"),
        ("banned", "suspended"),
        ("password_changed", "password was changed"),
        ("expired", "expired"),
        ("deleted", "deleted"),
    ] {
        let page = anon.get(&format!("/signin?reason={reason}"));
        assert_eq!(page.status, 200);
        assert!(page.body.contains("id=\"ended-notice\""), "{reason}");
        assert!(page.body.contains(words), "{reason}");
    }
    for junk in ["nope", "%3Cscript%3E", ""] {
        let page = anon.get(&format!("/signin?reason={junk}"));
        assert_eq!(page.status, 200);
        assert!(!page.body.contains("id=\"ended-notice\""), "{junk}");
    }
}

fn a_sign_in_link_that_verifies_the_address_arrives(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let (here, _other, mut stream) = user_with_stream(&app, "ada@example.com");
    assert_eq!(here.session_json()["user"]["email_verified"], false);
    // Another browser signs in by link: the address is verified by it.
    let b = app.browser();
    let sent = b.submit("/signin/email", &[("email", "ada@example.com")]);
    assert_eq!(sent.status, 200, "{}", sent.body);
    let started = Instant::now();
    let mail = loop {
        let mails: Vec<_> = app
            .mailbox()
            .to("ada@example.com")
            .into_iter()
            .filter(|m| m.subject.starts_with("Sign in"))
            .collect();
        if let Some(m) = mails.into_iter().next() {
            break m;
        }
        assert!(started.elapsed() < WAIT, "no sign-in mail");
        std::thread::sleep(Duration::from_millis(20));
    };
    let link = mail.link();
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let page = b.submit("/signin/email", &[("token", &token)]);
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(stream.session()["user"]["email_verified"], true);
}

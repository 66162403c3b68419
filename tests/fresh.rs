//! Fresh sign-in: a session older than `SESSION_FRESH_AGE` is sent to
//! `/reauth` before a sensitive change (JSON: `403 reauth_required`), changes
//! nothing until it re-confirms, and a wrong password there counts as a failed
//! sign-in. The sessions page says when and how each session authenticated.

mod common;

use chrono::{NaiveDateTime, Utc};
use common::{Backend, Browser, PASSWORD, TestApp};
use diesel::prelude::*;
use gatehouse::db::schema::sessions;
use reqwest::Method;
use serde_json::json;

on_both_backends!(
    a_stale_session_is_sent_to_reauth_and_changes_nothing,
    reauth_with_the_right_password_returns_and_the_change_works,
    a_wrong_password_re_renders_and_counts_toward_the_limit,
    an_evil_callback_url_returns_home,
    a_session_within_the_fresh_age_needs_no_reauth,
    anonymous_visitors_sign_in_instead,
    a_user_without_a_password_is_told_what_to_do,
    a_provider_user_reconfirms_by_signing_in_with_the_provider,
    an_impersonating_admin_cannot_reauth_as_the_user,
    the_sessions_page_shows_when_and_how_each_session_authenticated,
);

const NEW_PASSWORD: &str = "another horse staple 42";

/// Every session of the app authenticated `minutes` ago.
fn authenticated_minutes_ago(app: &TestApp, minutes: i64) -> NaiveDateTime {
    let at = Utc::now().naive_utc() - chrono::Duration::minutes(minutes);
    app.with_conn(|conn| {
        diesel::update(sessions::table)
            .set(sessions::authenticated_at.eq(at))
            .execute(conn)
            .unwrap()
    });
    at
}

/// The `authenticated_at` of the only session of the user `email`.
fn authenticated_at(app: &TestApp, email: &str) -> NaiveDateTime {
    use gatehouse::db::schema::users;
    app.with_conn(|conn| {
        sessions::table
            .inner_join(users::table)
            .filter(users::email.eq(email))
            .select(sessions::authenticated_at)
            .first(conn)
            .unwrap()
    })
}

fn password_hash(app: &TestApp, email: &str) -> Option<String> {
    use gatehouse::db::schema::users;
    app.with_conn(|conn| {
        users::table
            .filter(users::email.eq(email))
            .select(users::password_hash)
            .first(conn)
            .unwrap()
    })
}

fn change_password(b: &Browser) -> common::Page {
    b.submit(
        "/settings/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", NEW_PASSWORD),
        ],
    )
}

fn a_stale_session_is_sent_to_reauth_and_changes_nothing(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let lena = app.signed_up("Lena", "lena@example.com");
    authenticated_minutes_ago(&app, 11);
    let before = password_hash(&app, "lena@example.com");
    let tokens = app.count("email_tokens");

    let r = change_password(&lena);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        r.location().as_deref(),
        Some("/reauth?callbackUrl=%2Fsettings")
    );
    assert_eq!(password_hash(&app, "lena@example.com"), before);

    let r = lena.submit(
        "/settings/email",
        &[
            ("email", "lena2@example.com"),
            ("current_password", PASSWORD),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        r.location().as_deref(),
        Some("/reauth?callbackUrl=%2Fsettings")
    );
    assert_eq!(
        app.count("email_tokens"),
        tokens,
        "no confirmation link issued"
    );
    assert_eq!(
        app.count("audit_events WHERE action = 'email_change_requested'"),
        0
    );

    // JSON: 403 reauth_required, and the account is still there.
    let r = lena.json(
        Method::POST,
        "/api/auth/delete",
        &json!({"email": "lena@example.com"}),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.json()["error"], "reauth_required");
    assert_eq!(app.count("users"), 1);
    // Still signed in: the session itself is not ended by being stale.
    assert_eq!(lena.session_json()["user"]["email"], "lena@example.com");
}

fn reauth_with_the_right_password_returns_and_the_change_works(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let lena = app.signed_up("Lena", "lena@example.com");
    let stale = authenticated_minutes_ago(&app, 30);
    let to = change_password(&lena).location().unwrap();

    let page = lena.get(&to);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("id=\"reauth-password\""),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("name=\"callbackUrl\" value=\"/settings\"")
    );

    let r = lena.submit(
        "/reauth",
        &[("password", PASSWORD), ("callbackUrl", "/settings")],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location().as_deref(), Some("/settings"));
    let now = authenticated_at(&app, "lena@example.com");
    assert!(
        now > stale + chrono::Duration::minutes(29),
        "{now} vs {stale}"
    );
    // The same session, re-confirmed: no new row, no sign-in.
    assert_eq!(app.session_count(), 1);
    assert_eq!(
        app.count("audit_events WHERE action = 'reauthenticated'"),
        1
    );
    let id = lena.user_id();
    assert_eq!(
        app.count(&format!(
            "audit_events WHERE action = 'reauthenticated' AND actor_id = {id} AND target_id = {id} AND details LIKE '%\"method\":\"password\"%'"
        )),
        1
    );

    let r = change_password(&lena);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location().as_deref(), Some("/settings?saved=password"));
    let fresh = app.browser();
    let r = fresh.submit(
        "/signin",
        &[("email", "lena@example.com"), ("password", NEW_PASSWORD)],
    );
    assert_eq!(r.status, 303, "the new password signs in");
}

fn a_wrong_password_re_renders_and_counts_toward_the_limit(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, &[("RATE_LIMIT_SIGNIN", "3/15m")]) else {
        return;
    };
    let lena = app.signed_up("Lena", "lena@example.com");
    authenticated_minutes_ago(&app, 30);
    // As stored (PostgreSQL keeps microseconds).
    let stale = authenticated_at(&app, "lena@example.com");
    for i in 0..3 {
        let r = lena.submit(
            "/reauth",
            &[
                ("password", "not my password"),
                ("callbackUrl", "/settings"),
            ],
        );
        assert_eq!(r.status, 401, "attempt {i}: {}", r.body);
        assert!(r.body.contains("That is not your password."), "{}", r.body);
        assert!(r.body.contains("aria-invalid=\"true\""));
        assert!(r.body.contains("name=\"callbackUrl\" value=\"/settings\""));
    }
    // The limit trips: even the right password waits now.
    let r = lena.submit(
        "/reauth",
        &[("password", PASSWORD), ("callbackUrl", "/settings")],
    );
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.header("retry-after").is_some());
    assert_eq!(authenticated_at(&app, "lena@example.com"), stale);
    assert_eq!(
        app.count(
            "audit_events WHERE action = 'sign_in_failed' AND details LIKE '%\"method\":\"reauth\"%'"
        ),
        3
    );
    assert_eq!(
        app.count("audit_events WHERE action = 'reauthenticated'"),
        0
    );
    // The sign-in form from this address is limited too: one counter.
    let r = app.browser().submit(
        "/signin",
        &[("email", "lena@example.com"), ("password", PASSWORD)],
    );
    assert_eq!(r.status, 429);
}

fn an_evil_callback_url_returns_home(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let lena = app.signed_up("Lena", "lena@example.com");
    authenticated_minutes_ago(&app, 30);
    for evil in [
        "//evil.com",
        "https://evil",
        "https://evil.com/settings",
        "/\\evil.com",
    ] {
        let page = lena.get(&format!(
            "/reauth?callbackUrl={}",
            url::form_urlencoded::byte_serialize(evil.as_bytes()).collect::<String>()
        ));
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains("name=\"callbackUrl\" value=\"/\""),
            "{evil}: {}",
            page.body
        );
        let r = lena.submit("/reauth", &[("password", PASSWORD), ("callbackUrl", evil)]);
        assert_eq!(r.status, 303, "{evil}");
        assert_eq!(r.location().as_deref(), Some("/"), "{evil}");
    }
    // A path on this site is kept, with its query.
    let r = lena.submit(
        "/reauth",
        &[
            ("password", PASSWORD),
            ("callbackUrl", "/settings/sessions?x=1"),
        ],
    );
    assert_eq!(r.location().as_deref(), Some("/settings/sessions?x=1"));
}

fn a_session_within_the_fresh_age_needs_no_reauth(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, &[("SESSION_FRESH_AGE", "1h")]) else {
        return;
    };
    let lena = app.signed_up("Lena", "lena@example.com");
    authenticated_minutes_ago(&app, 50);
    let r = change_password(&lena);
    assert_eq!(r.location().as_deref(), Some("/settings?saved=password"));
    // The new session of the password change is fresh; an hour later it is not.
    authenticated_minutes_ago(&app, 61);
    let r = lena.submit(
        "/settings/password",
        &[
            ("current_password", NEW_PASSWORD),
            ("new_password", PASSWORD),
        ],
    );
    assert_eq!(
        r.location().as_deref(),
        Some("/reauth?callbackUrl=%2Fsettings")
    );
}

fn anonymous_visitors_sign_in_instead(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    app.signed_up("Lena", "lena@example.com");
    let b = app.browser();
    let r = b.get("/reauth?callbackUrl=%2Fsettings");
    assert_eq!(r.status, 303);
    assert_eq!(
        r.location().as_deref(),
        Some("/signin?callbackUrl=%2Fsettings")
    );
    let r = b.submit(
        "/reauth",
        &[("password", PASSWORD), ("callbackUrl", "/settings")],
    );
    assert_eq!(r.status, 303);
    assert_eq!(
        r.location().as_deref(),
        Some("/signin?callbackUrl=%2Fsettings")
    );
    assert_eq!(
        app.count("audit_events WHERE action = 'reauthenticated'"),
        0
    );
    // Without the CSRF token: refused before anything.
    let lena = app.signed_in("lena@example.com");
    let r = lena.post_form_raw(
        "/reauth",
        &[("password", PASSWORD), ("callbackUrl", "/settings")],
    );
    assert_eq!(r.status, 403);
}

fn a_user_without_a_password_is_told_what_to_do(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let lena = app.signed_up("Lena", "lena@example.com");
    // As a user who only ever signed in with a provider.
    app.sql("UPDATE users SET password_hash = NULL");
    authenticated_minutes_ago(&app, 30);
    let page = lena.get("/reauth?callbackUrl=%2Fsettings");
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("id=\"reauth-password\""));
    assert!(
        page.body.contains("id=\"reauth-no-password\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"reauth-sign-out\""));
    let r = lena.submit(
        "/reauth",
        &[
            ("password", "anything at all"),
            ("callbackUrl", "/settings"),
        ],
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body.contains("This account has no password"),
        "{}",
        r.body
    );
    // Signing in again (here: a fresh session made by a new sign-in) is fresh.
    assert_eq!(
        app.count("audit_events WHERE action = 'reauthenticated'"),
        0
    );
}

fn a_provider_user_reconfirms_by_signing_in_with_the_provider(backend: Backend) {
    use common::fake_provider::{FakeProvider, FakeUser, through_provider};
    let fake = FakeProvider::start();
    let vars = fake.vars("GITHUB");
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let Some(app) = TestApp::start_with(backend, &refs) else {
        return;
    };
    fake.sign_in_as(FakeUser::new("77", "Pia Provider", "pia@example.com"));
    let pia = app.browser();
    let done = through_provider(&pia, "github", &[("callbackUrl", "/")]);
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(password_hash(&app, "pia@example.com").is_none());
    authenticated_minutes_ago(&app, 30);
    let change = [("email", "pia2@example.com")];
    let r = pia.submit("/settings/email", &change);
    assert_eq!(
        r.location().as_deref(),
        Some("/reauth?callbackUrl=%2Fsettings")
    );
    let page = pia.follow(&r);
    assert!(!page.body.contains("id=\"reauth-password\""));
    assert!(page.body.contains("id=\"reauth-github\""), "{}", page.body);
    // Signing in again with the provider comes back to the callback, fresh.
    let done = through_provider(&pia, "github", &[("callbackUrl", "/settings")]);
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location().as_deref(), Some("/settings"));
    let r = pia.submit("/settings/email", &change);
    assert_eq!(
        r.location().as_deref(),
        Some("/settings?saved=email-change"),
        "{}",
        r.body
    );
}

fn an_impersonating_admin_cannot_reauth_as_the_user(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    let uma = app.signed_up("Uma", "uma@example.com");
    let uma_id = uma.user_id();
    let root = app.signed_in(common::ROOT_ADMIN);
    let r = root.json(
        Method::POST,
        &format!("/api/admin/users/{uma_id}/impersonate"),
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(root.user_id(), uma_id);
    assert_eq!(root.get("/reauth").status, 403);
    // Even with the user's password (an admin who knows it).
    let r = root.submit(
        "/reauth",
        &[("password", PASSWORD), ("callbackUrl", "/settings")],
    );
    assert_eq!(r.status, 403);
    assert_eq!(
        app.count("audit_events WHERE action = 'reauthenticated'"),
        0
    );
    assert_eq!(
        app.count(
            "audit_events WHERE action = 'impersonation_refused' AND details LIKE '%reauth%'"
        ),
        2
    );
}

fn the_sessions_page_shows_when_and_how_each_session_authenticated(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let lena = app.signed_up("Lena", "lena@example.com");
    let at = authenticated_minutes_ago(&app, 30);
    let rfc = at
        .and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let page = lena.get("/settings/sessions");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Last confirmed"), "{}", page.body);
    assert!(page.body.contains("data-aal=\"aal1\""), "{}", page.body);
    assert!(page.body.contains("one factor (aal1)"));
    assert!(
        page.body.contains(&format!("<time datetime=\"{rfc}\">")),
        "{rfc}: {}",
        page.body
    );
    let list = lena.get("/api/auth/sessions").json();
    assert_eq!(list[0]["aal"], "aal1");
    assert_eq!(list[0]["authenticated_at"], rfc.as_str());
    // A two-factor (or passkey) session says so.
    app.sql("UPDATE sessions SET aal = 2");
    let page = lena.get("/settings/sessions");
    assert!(page.body.contains("data-aal=\"aal2\""), "{}", page.body);
    assert!(page.body.contains("two factors (aal2)"));
    assert_eq!(lena.get("/api/auth/sessions").json()[0]["aal"], "aal2");
    // In the reader's language.
    lena.submit(
        "/settings/preferences",
        &[("theme", "system"), ("language", "de")],
    );
    let page = lena.get("/settings/sessions");
    assert!(page.body.contains("Zuletzt bestätigt"), "{}", page.body);
    assert!(page.body.contains("zwei Faktoren (aal2)"));
}

/// The variable is read before any database is opened: one backend is enough.
#[test]
fn a_bad_fresh_age_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("g.db").display());
    for bad in ["soon", "0m", "10y"] {
        let out = common::run_gatehouse(
            dir.path(),
            &url,
            &["serve"],
            "",
            &[("SESSION_FRESH_AGE", bad)],
        );
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with("gatehouse: SESSION_FRESH_AGE: "),
            "{bad}: {err}"
        );
    }
}

//! Passkeys (WebAuthn) end to end, with a software authenticator
//! (`tests/common/authenticator.rs`) in place of the browser's: register from
//! a signed-in browser, sign in from another with no email typed, and the
//! ways an answer must be refused (replayed, another browser's challenge, a
//! wrong origin, a removed passkey, a counter that went back).

#[path = "common/authenticator.rs"]
mod authenticator;
mod common;

use authenticator::SoftAuthenticator;
use common::{Backend, Browser, Page, TestApp};
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(
    register_then_sign_in_with_no_email_typed,
    several_passkeys_get_names_and_show_their_last_use,
    a_replayed_assertion_is_refused,
    an_assertion_for_another_browsers_challenge_is_refused,
    a_wrong_origin_is_refused,
    a_removed_passkey_can_no_longer_sign_in,
    a_counter_that_goes_backwards_is_refused,
    another_user_or_a_stranger_cannot_remove_my_passkey,
    a_banned_user_cannot_sign_in_with_a_passkey,
    a_two_factor_user_needs_no_second_factor_with_a_passkey,
    failed_passkey_sign_ins_count_toward_the_sign_in_limit,
    a_registration_is_bound_to_its_browser_and_user,
    an_impersonating_admin_cannot_add_or_remove_passkeys,
    an_impersonating_admin_cannot_reconfirm_with_a_passkey,
    an_expired_ceremony_cannot_finish_and_is_swept,
    adding_or_removing_a_passkey_needs_a_fresh_session,
    a_passkey_re_confirms_only_its_own_users_session,
    passkeys_are_off_with_an_ip_address,
);

/// The log says once, at start, why passkeys are off, and nothing about
/// them when they are on.
#[test]
fn the_log_says_once_why_passkeys_are_off() {
    use common::process::{ProcessDb, ServerProcess};
    let db = ProcessDb::new(Backend::Sqlite).unwrap();
    let server = ServerProcess::start(&db, &[]);
    server.signal(libc::SIGTERM);
    let (status, _, log) = server.wait_with_log(std::time::Duration::from_secs(15));
    assert!(status.success(), "{log}");
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("passkeys")).collect();
    assert_eq!(lines.len(), 1, "{log}");
    assert!(lines[0].contains("IP address"), "{}", lines[0]);
    assert!(lines[0].contains("http://localhost"), "{}", lines[0]);

    let on = ServerProcess::start(&db, &[("GATEHOUSE_URL", ORIGIN)]);
    on.signal(libc::SIGTERM);
    let (status, _, log) = on.wait_with_log(std::time::Duration::from_secs(15));
    assert!(status.success(), "{log}");
    assert!(!log.contains("passkeys are off"), "{log}");
}

/// `GATEHOUSE_URL` of these stories: a domain, so passkeys are on. Requests
/// go to the test server's loopback address; only WebAuthn reads this origin.
const ORIGIN: &str = "http://localhost:9443";

fn app(backend: Backend) -> Option<TestApp> {
    TestApp::start_with(backend, &[("GATEHOUSE_URL", ORIGIN)])
}

fn post(b: &Browser, path: &str, body: Value) -> Page {
    b.json(Method::POST, path, &body)
}

/// Registers a new credential of `auth` from signed-in browser `b`.
fn register(b: &Browser, auth: &mut SoftAuthenticator, name: &str) -> Page {
    let options = post(b, "/api/auth/passkey/register/options", json!({}));
    assert_eq!(options.status, 200, "{}", options.body);
    let credential = auth.create(&options.json());
    post(
        b,
        "/api/auth/passkey/register/verify",
        json!({"name": name, "credential": credential}),
    )
}

/// Sign-in options for browser `b`.
fn signin_options(b: &Browser) -> Value {
    let options = post(b, "/api/auth/passkey/signin/options", json!({}));
    assert_eq!(options.status, 200, "{}", options.body);
    options.json()
}

fn verify_sign_in(b: &Browser, credential: &Value) -> Page {
    post(
        b,
        "/api/auth/passkey/signin/verify",
        json!({"credential": credential, "callbackUrl": "/settings"}),
    )
}

/// Signs in from browser `b` with the newest passkey of `auth`.
fn sign_in(b: &Browser, auth: &mut SoftAuthenticator) -> Page {
    let options = signin_options(b);
    let credential = auth.get(&options);
    verify_sign_in(b, &credential)
}

/// Ada, signed up in one browser, with one passkey registered.
fn ada_with_a_passkey(app: &TestApp) -> (Browser, SoftAuthenticator) {
    let ada = app.signed_up("Ada", "ada@example.com");
    let mut auth = SoftAuthenticator::new(ORIGIN);
    let added = register(&ada, &mut auth, "Laptop");
    assert_eq!(added.status, 200, "{}", added.body);
    (ada, auth)
}

fn audited(app: &TestApp, action: &str, details_like: &str) -> i64 {
    app.count(&format!(
        "audit_events WHERE action = '{action}' AND details LIKE '%{details_like}%'"
    ))
}

fn list(b: &Browser) -> Vec<Value> {
    let page = b.get("/api/auth/passkeys");
    assert_eq!(page.status, 200, "{}", page.body);
    page.json()["passkeys"].as_array().unwrap().clone()
}

fn register_then_sign_in_with_no_email_typed(backend: Backend) {
    let Some(app) = app(backend) else {
        return;
    };
    let (ada, mut auth) = ada_with_a_passkey(&app);
    assert_eq!(app.count("passkeys"), 1);
    assert_eq!(audited(&app, "passkey_added", "Laptop"), 1);
    // The registration's cookie is spent with its challenge.
    assert_eq!(app.count("webauthn_challenges"), 0);

    // Another device: one button, no email typed.
    let phone = app.browser();
    let done = sign_in(&phone, &mut auth);
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.json()["url"], "/settings");
    let session = phone.session_json();
    assert_eq!(session["user"]["email"], "ada@example.com");
    assert_eq!(
        audited(&app, "sign_in", "\"method\":\"passkey\""),
        1,
        "the sign-in is audited with its method"
    );
    assert_eq!(app.count("webauthn_challenges"), 0);
    // Both factors at once: the session is at assurance level 2.
    assert_eq!(app.count("sessions WHERE aal = 2"), 1);
    assert_eq!(app.count("sessions WHERE aal = 1"), 1);
    // The first browser is untouched.
    assert_eq!(ada.session_json()["user"]["email"], "ada@example.com");
}

fn several_passkeys_get_names_and_show_their_last_use(backend: Backend) {
    let Some(app) = app(backend) else {
        return;
    };
    let (ada, mut laptop) = ada_with_a_passkey(&app);
    let mut key = SoftAuthenticator::new(ORIGIN);
    // No name given: a default one.
    let added = register(&ada, &mut key, "  ");
    assert_eq!(added.status, 200, "{}", added.body);
    assert_eq!(added.json()["passkey"]["name"], "Passkey 2");
    // A name too long is refused, and nothing is stored.
    let mut third = SoftAuthenticator::new(ORIGIN);
    let long = register(&ada, &mut third, &"x".repeat(65));
    assert_eq!(long.status, 422, "{}", long.body);
    assert_eq!(long.json()["field"], "name");
    assert_eq!(app.count("passkeys"), 2);

    let before = list(&ada);
    assert_eq!(before.len(), 2);
    assert_eq!(before[0]["name"], "Laptop");
    assert!(before[0]["id"].is_string());
    assert!(before[0]["created_at"].is_string());
    assert!(before[0]["last_used_at"].is_null());
    assert!(before[1]["last_used_at"].is_null());

    // The security page lists both, by name, never used yet.
    let page = ada.get("/settings/security");
    assert_eq!(page.status, 200, "{}", page.body);
    let rows = passkey_rows(&page);
    assert_eq!(rows.len(), 2, "{}", page.body);
    assert!(rows[0].contains("Laptop") && rows[1].contains("Passkey 2"));
    assert!(
        rows.iter()
            .all(|r| !r.contains("passkey-last-used\"><time"))
    );

    let done = sign_in(&app.browser(), &mut laptop);
    assert_eq!(done.status, 200, "{}", done.body);
    let after = list(&ada);
    assert!(after[0]["last_used_at"].is_string(), "{after:?}");
    assert!(after[1]["last_used_at"].is_null(), "{after:?}");
    let rows = passkey_rows(&ada.get("/settings/security"));
    assert!(rows[0].contains("passkey-last-used\"><time"), "{}", rows[0]);
    assert!(
        !rows[1].contains("passkey-last-used\"><time"),
        "{}",
        rows[1]
    );
}

/// The rows of the passkey table on the security page, as HTML.
fn passkey_rows(page: &Page) -> Vec<String> {
    page.body
        .split("<tr data-passkey=")
        .skip(1)
        .map(|r| r.split("</tr>").next().unwrap_or("").to_owned())
        .collect()
}

fn a_replayed_assertion_is_refused(backend: Backend) {
    let Some(app) = app(backend) else {
        return;
    };
    let (_ada, mut auth) = ada_with_a_passkey(&app);
    let phone = app.browser();
    let options = signin_options(&phone);
    let signed = auth.get(&options);
    let first = verify_sign_in(&phone, &signed);
    assert_eq!(first.status, 200, "{}", first.body);
    let sessions = app.session_count();

    // The same signed answer again, from a fresh browser that holds a
    // challenge of its own, and from the first browser once more.
    let thief = app.browser();
    signin_options(&thief);
    let replay = verify_sign_in(&thief, &signed);
    assert_eq!(replay.status, 401, "{}", replay.body);
    assert_eq!(replay.json()["error"], "invalid_passkey");
    assert!(thief.session_json()["user"].is_null());
    let again = verify_sign_in(&phone, &signed);
    assert_eq!(again.status, 400, "{}", again.body);
    assert_eq!(again.json()["error"], "no_challenge");
    assert_eq!(app.session_count(), sessions);
    assert_eq!(audited(&app, "sign_in_failed", "\"method\":\"passkey\""), 2);
}

fn an_assertion_for_another_browsers_challenge_is_refused(backend: Backend) {
    let Some(app) = app(backend) else {
        return;
    };
    let (_ada, mut auth) = ada_with_a_passkey(&app);
    let phone = app.browser();
    let options = signin_options(&phone);
    let signed = auth.get(&options);

    // Another browser, without the phone's cookie: with no ceremony of its
    // own, and with one of its own (another challenge).
    let other = app.browser();
    let bare = verify_sign_in(&other, &signed);
    assert_eq!(bare.status, 400, "{}", bare.body);
    signin_options(&other);
    let crossed = verify_sign_in(&other, &signed);
    assert_eq!(crossed.status, 401, "{}", crossed.body);
    assert!(other.session_json()["user"].is_null());

    // The phone's own ceremony was never touched: it still signs in.
    let done = verify_sign_in(&phone, &signed);
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(phone.session_json()["user"]["email"], "ada@example.com");
}

fn a_wrong_origin_is_refused(backend: Backend) {
    let Some(app) = app(backend) else {
        return;
    };
    let (ada, mut auth) = ada_with_a_passkey(&app);
    auth.origin = "http://localhost.evil.example:9443".into();
    let phone = app.browser();
    let refused = sign_in(&phone, &mut auth);
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert!(phone.session_json()["user"].is_null());
    assert_eq!(audited(&app, "sign_in_failed", "invalid_assertion"), 1);
    // A registration from the wrong origin is refused too.
    let mut other = SoftAuthenticator::new("http://127.0.0.1:9443");
    let added = register(&ada, &mut other, "Phish");
    assert_eq!(added.status, 401, "{}", added.body);
    assert_eq!(app.count("passkeys"), 1);
}

fn a_removed_passkey_can_no_longer_sign_in(backend: Backend) {
    let Some(app) = app(backend) else {
        return;
    };
    let (ada, mut auth) = ada_with_a_passkey(&app);
    let id = list(&ada)[0]["id"].as_str().unwrap().to_owned();
    let removed = ada.json(
        Method::DELETE,
        &format!("/api/auth/passkeys/{id}"),
        &json!({}),
    );
    assert_eq!(removed.status, 204, "{}", removed.body);
    assert_eq!(app.count("passkeys"), 0);
    assert_eq!(audited(&app, "passkey_removed", "Laptop"), 1);
    let again = ada.json(
        Method::DELETE,
        &format!("/api/auth/passkeys/{id}"),
        &json!({}),
    );
    assert_eq!(again.status, 404, "{}", again.body);

    let phone = app.browser();
    let refused = sign_in(&phone, &mut auth);
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert_eq!(refused.json()["error"], "unknown_passkey");
    assert!(phone.session_json()["user"].is_null());
}

fn a_counter_that_goes_backwards_is_refused(backend: Backend) {
    let Some(app) = app(backend) else {
        return;
    };
    let (_ada, mut auth) = ada_with_a_passkey(&app);
    for _ in 0..2 {
        let done = sign_in(&app.browser(), &mut auth);
        assert_eq!(done.status, 200, "{}", done.body);
    }
    // A copy of the authenticator, made before those two sign-ins.
    auth.credentials[0].counter = 0;
    let clone = app.browser();
    let refused = sign_in(&clone, &mut auth);
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert_eq!(refused.json()["error"], "passkey_counter");
    assert!(clone.session_json()["user"].is_null());
    assert_eq!(audited(&app, "sign_in_failed", "counter_went_back"), 1);
    // The stored counter did not move back either: the real one goes on.
    auth.credentials[0].counter = 2;
    let done = sign_in(&app.browser(), &mut auth);
    assert_eq!(done.status, 200, "{}", done.body);
}

fn another_user_or_a_stranger_cannot_remove_my_passkey(backend: Backend) {
    let Some(app) = app(backend) else {
        return;
    };
    let (ada, _auth) = ada_with_a_passkey(&app);
    let id = list(&ada)[0]["id"].as_str().unwrap().to_owned();
    let bob = app.signed_up("Bob", "bob@example.com");
    let json = bob.json(
        Method::DELETE,
        &format!("/api/auth/passkeys/{id}"),
        &json!({}),
    );
    assert_eq!(json.status, 404, "{}", json.body);
    let form = bob.submit(&format!("/settings/passkeys/{id}/remove"), &[]);
    assert_eq!(form.status, 404, "{}", form.body);
    // Bob's own list does not show it.
    assert!(list(&bob).is_empty());
    let stranger = app.browser();
    let anon = stranger.json(
        Method::DELETE,
        &format!("/api/auth/passkeys/{id}"),
        &json!({}),
    );
    assert_eq!(anon.status, 401, "{}", anon.body);
    let anon_list = stranger.get("/api/auth/passkeys");
    assert_eq!(anon_list.status, 401, "{}", anon_list.body);
    // Without the CSRF token, even Ada's own browser changes nothing.
    let url = ada.url(&format!("/api/auth/passkeys/{id}"));
    let forged = ada.send(|c| c.delete(url));
    assert_eq!(forged.status, 403, "{}", forged.body);
    let url = ada.url("/api/auth/passkey/register/options");
    let forged = ada.send(|c| {
        c.post(url)
            .header("content-type", "application/json")
            .body("{}")
    });
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert_eq!(app.count("passkeys"), 1);
    assert_eq!(
        app.count("audit_events WHERE action = 'passkey_removed'"),
        0
    );

    // Ada's own page button removes it.
    let mine = ada.submit(&format!("/settings/passkeys/{id}/remove"), &[]);
    assert_eq!(mine.status, 303, "{}", mine.body);
    assert_eq!(mine.location().as_deref(), Some("/settings/security"));
    assert_eq!(app.count("passkeys"), 0);
}

fn a_banned_user_cannot_sign_in_with_a_passkey(backend: Backend) {
    let Some(app) = app(backend) else {
        return;
    };
    let (_ada, mut auth) = ada_with_a_passkey(&app);
    app.sql("UPDATE users SET banned_at = CURRENT_TIMESTAMP WHERE email = 'ada@example.com'");
    let phone = app.browser();
    let refused = sign_in(&phone, &mut auth);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(refused.json()["error"], "banned");
    assert!(phone.session_json()["user"].is_null());
    assert_eq!(app.count("passkeys WHERE last_used_at IS NOT NULL"), 0);
}

fn a_two_factor_user_needs_no_second_factor_with_a_passkey(backend: Backend) {
    let Some(app) = app(backend) else {
        return;
    };
    let (ada, mut auth) = ada_with_a_passkey(&app);
    app.sql("UPDATE users SET two_factor_at = CURRENT_TIMESTAMP WHERE email = 'ada@example.com'");
    // Her one-factor session from the sign-up no longer stands.
    assert!(ada.session_json()["user"].is_null());
    let phone = app.browser();
    let done = sign_in(&phone, &mut auth);
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(phone.session_json()["user"]["email"], "ada@example.com");
    assert_eq!(app.count("pending_signins"), 0);
}

fn failed_passkey_sign_ins_count_toward_the_sign_in_limit(backend: Backend) {
    let Some(app) = TestApp::start_with(
        backend,
        &[("GATEHOUSE_URL", ORIGIN), ("RATE_LIMIT_SIGNIN", "2/15m")],
    ) else {
        return;
    };
    let (_ada, mut auth) = ada_with_a_passkey(&app);
    let mut evil = SoftAuthenticator::new("http://evil.example");
    evil.credentials
        .push(authenticator::Credential::copy_of(&auth.credentials[0]));
    for _ in 0..2 {
        let refused = sign_in(&app.browser(), &mut evil);
        assert_eq!(refused.status, 401, "{}", refused.body);
    }
    // This address is locked out now, even with the right passkey.
    let limited = sign_in(&app.browser(), &mut auth);
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert!(limited.header("retry-after").is_some());
}

fn a_registration_is_bound_to_its_browser_and_user(backend: Backend) {
    let Some(app) = app(backend) else {
        return;
    };
    let ada = app.signed_up("Ada", "ada@example.com");
    let mut auth = SoftAuthenticator::new(ORIGIN);
    let options = post(&ada, "/api/auth/passkey/register/options", json!({}));
    assert_eq!(options.status, 200, "{}", options.body);
    let credential = auth.create(&options.json());
    // Bob posts Ada's answer from his browser: not his ceremony.
    let bob = app.signed_up("Bob", "bob@example.com");
    let crossed = post(
        &bob,
        "/api/auth/passkey/register/verify",
        json!({"name": "", "credential": credential}),
    );
    assert_eq!(crossed.status, 400, "{}", crossed.body);
    // A sign-in ceremony does not finish a registration.
    let phone = app.browser();
    signin_options(&phone);
    let anon = post(&phone, "/api/auth/passkey/register/options", json!({}));
    assert_eq!(anon.status, 401, "{}", anon.body);
    assert_eq!(app.count("passkeys"), 0);
    // Ada's own ceremony still completes, once.
    let body = json!({"name": "Mine", "credential": credential});
    let done = post(&ada, "/api/auth/passkey/register/verify", body.clone());
    assert_eq!(done.status, 200, "{}", done.body);
    let replay = post(&ada, "/api/auth/passkey/register/verify", body);
    assert_eq!(replay.status, 400, "{}", replay.body);
    assert_eq!(app.count("passkeys"), 1);
}

fn an_impersonating_admin_cannot_add_or_remove_passkeys(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[("GATEHOUSE_URL", ORIGIN)]) else {
        return;
    };
    let (ada, _auth) = ada_with_a_passkey(&app);
    let ada_id = ada.user_id();
    let passkey = list(&ada)[0]["id"].as_str().unwrap().to_owned();
    let admin = app.signed_in(common::ROOT_ADMIN);
    let acting = admin.json(
        Method::POST,
        &format!("/api/admin/users/{ada_id}/impersonate"),
        &json!({}),
    );
    assert_eq!(acting.status, 200, "{}", acting.body);
    let add = post(&admin, "/api/auth/passkey/register/options", json!({}));
    assert_eq!(add.status, 403, "{}", add.body);
    let remove = admin.json(
        Method::DELETE,
        &format!("/api/auth/passkeys/{passkey}"),
        &json!({}),
    );
    assert_eq!(remove.status, 403, "{}", remove.body);
    let form = admin.submit(&format!("/settings/passkeys/{passkey}/remove"), &[]);
    assert_eq!(form.status, 403, "{}", form.body);
    // Nor does the acting session sign in as someone with a passkey.
    let signin = post(&admin, "/api/auth/passkey/signin/options", json!({}));
    assert_eq!(signin.status, 403, "{}", signin.body);
    assert_eq!(app.count("passkeys"), 1);
    assert_eq!(app.count("webauthn_challenges"), 0);
    assert_eq!(
        app.count("audit_events WHERE action = 'impersonation_refused'"),
        4
    );
}

fn an_impersonating_admin_cannot_reconfirm_with_a_passkey(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[("GATEHOUSE_URL", ORIGIN)]) else {
        return;
    };
    let (ada, mut auth) = ada_with_a_passkey(&app);
    let ada_id = ada.user_id();
    let admin = app.signed_in(common::ROOT_ADMIN);
    let acting = admin.json(
        Method::POST,
        &format!("/api/admin/users/{ada_id}/impersonate"),
        &json!({}),
    );
    assert_eq!(acting.status, 200, "{}", acting.body);
    make_stale(&app);
    let before = app.sessions_snapshot();
    // Not offered Ada's passkeys...
    let options = post(&admin, "/api/auth/passkey/reauth/options", json!({}));
    assert_eq!(options.status, 403, "{}", options.body);
    assert_eq!(app.count("webauthn_challenges"), 0);
    // ...nor does an assertion of Ada's own key (for a challenge she asked
    // for) re-confirm the acting session.
    let challenge = post(&ada, "/api/auth/passkey/reauth/options", json!({}));
    assert_eq!(challenge.status, 200, "{}", challenge.body);
    let credential = auth.get(&challenge.json());
    let verify = post(
        &admin,
        "/api/auth/passkey/reauth/verify",
        json!({"credential": credential, "callbackUrl": "/settings/security"}),
    );
    assert_eq!(verify.status, 403, "{}", verify.body);
    assert_eq!(app.sessions_snapshot(), before, "no session re-confirmed");
    assert_eq!(app.count("sessions WHERE aal = 2"), 0);
    assert_eq!(
        app.count("audit_events WHERE action = 'reauthenticated'"),
        0
    );
    assert_eq!(
        app.count("audit_events WHERE action = 'impersonation_refused'"),
        2
    );
}

/// Every session of the app signed in long ago (past `SESSION_FRESH_AGE`).
fn make_stale(app: &TestApp) {
    app.sql("UPDATE sessions SET authenticated_at = '2000-01-01 00:00:00'");
}

/// Re-confirms browser `b` with the newest passkey of `auth`.
fn reconfirm(b: &Browser, auth: &mut SoftAuthenticator) -> Page {
    let options = post(b, "/api/auth/passkey/reauth/options", json!({}));
    assert_eq!(options.status, 200, "{}", options.body);
    let credential = auth.get(&options.json());
    post(
        b,
        "/api/auth/passkey/reauth/verify",
        json!({"credential": credential, "callbackUrl": "/settings/security"}),
    )
}

fn adding_or_removing_a_passkey_needs_a_fresh_session(backend: Backend) {
    let Some(app) = app(backend) else {
        return;
    };
    let (ada, mut auth) = ada_with_a_passkey(&app);
    let id = list(&ada)[0]["id"].as_str().unwrap().to_owned();
    make_stale(&app);
    let add = post(&ada, "/api/auth/passkey/register/options", json!({}));
    assert_eq!(add.status, 403, "{}", add.body);
    assert_eq!(add.json()["error"], "reauth_required");
    let remove = ada.json(
        Method::DELETE,
        &format!("/api/auth/passkeys/{id}"),
        &json!({}),
    );
    assert_eq!(remove.status, 403, "{}", remove.body);
    assert_eq!(remove.json()["error"], "reauth_required");
    let form = ada.submit(&format!("/settings/passkeys/{id}/remove"), &[]);
    assert_eq!(form.status, 303, "{}", form.body);
    assert_eq!(
        form.location().as_deref(),
        Some("/reauth?callbackUrl=%2Fsettings%2Fsecurity")
    );
    assert_eq!(app.count("passkeys"), 1);
    assert_eq!(app.count("webauthn_challenges"), 0);

    // /reauth offers the passkey; it makes the session fresh (and level 2).
    let page = ada.get("/reauth?callbackUrl=%2Fsettings%2Fsecurity");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"passkey-reauth\""), "{}", page.body);
    let done = reconfirm(&ada, &mut auth);
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.json()["url"], "/settings/security");
    assert_eq!(
        audited(&app, "reauthenticated", "\"method\":\"passkey\""),
        1
    );
    assert_eq!(app.count("sessions WHERE aal = 2"), 1);
    let mut second = SoftAuthenticator::new(ORIGIN);
    let added = register(&ada, &mut second, "Phone");
    assert_eq!(added.status, 200, "{}", added.body);
    let removed = ada.json(
        Method::DELETE,
        &format!("/api/auth/passkeys/{id}"),
        &json!({}),
    );
    assert_eq!(removed.status, 204, "{}", removed.body);
}

fn a_passkey_re_confirms_only_its_own_users_session(backend: Backend) {
    let Some(app) = app(backend) else {
        return;
    };
    let (ada, _ada_key) = ada_with_a_passkey(&app);
    let bob = app.signed_up("Bob", "bob@example.com");
    let mut bob_key = SoftAuthenticator::new(ORIGIN);
    assert_eq!(register(&bob, &mut bob_key, "Bob's").status, 200);
    make_stale(&app);
    // Bob's passkey answering Ada's re-confirmation.
    let refused = reconfirm(&ada, &mut bob_key);
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert_eq!(refused.json()["error"], "unknown_passkey");
    assert_eq!(audited(&app, "sign_in_failed", "reauth_passkey"), 1);
    assert_eq!(
        app.count("audit_events WHERE action = 'reauthenticated'"),
        0
    );
    let add = post(&ada, "/api/auth/passkey/register/options", json!({}));
    assert_eq!(add.status, 403, "{}", add.body);
    // A user with no passkey is offered none.
    let carol = app.signed_up("Carol", "carol@example.com");
    let none = post(&carol, "/api/auth/passkey/reauth/options", json!({}));
    assert_eq!(none.status, 404, "{}", none.body);
    let page = carol.get("/reauth?callbackUrl=%2Fsettings");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains("passkey-reauth"), "{}", page.body);
}

fn an_expired_ceremony_cannot_finish_and_is_swept(backend: Backend) {
    let Some(app) = app(backend) else {
        return;
    };
    let (_ada, mut auth) = ada_with_a_passkey(&app);
    let late = app.browser();
    let options = signin_options(&late);
    let signed = auth.get(&options);
    // Another ceremony, still live.
    signin_options(&app.browser());
    let past = chrono::Utc::now().naive_utc() - chrono::Duration::seconds(1);
    app.with_conn(|conn| {
        use diesel::prelude::*;
        use gatehouse::db::schema::webauthn_challenges as wc;
        let late_hash = gatehouse::session::PlainToken::parse(
            &late
                .cookie("gatehouse_passkey")
                .expect("the binding cookie"),
        )
        .unwrap()
        .hash();
        diesel::update(wc::table.find(late_hash.as_bytes()))
            .set(wc::expires_at.eq(past))
            .execute(conn)
            .unwrap()
    });
    let refused = verify_sign_in(&late, &signed);
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(refused.json()["error"], "no_challenge");
    assert_eq!(app.count("webauthn_challenges"), 2);
    let limits = gatehouse::ratelimit::Limits::default();
    let outcome = gatehouse::sweeper::sweep_once(&app.db, &limits, 1_000).unwrap();
    let gatehouse::sweeper::Outcome::Swept(swept) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(swept.webauthn_challenges, 1);
    assert_eq!(app.count("webauthn_challenges"), 1);
}

fn passkeys_are_off_with_an_ip_address(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let ada = app.signed_up("Ada", "ada@example.com");
    for path in [
        "/api/auth/passkey/register/options",
        "/api/auth/passkey/register/verify",
        "/api/auth/passkey/signin/options",
        "/api/auth/passkey/signin/verify",
    ] {
        let page = post(&ada, path, json!({}));
        assert_eq!(page.status, 404, "{path}: {}", page.body);
    }
    assert_eq!(ada.get("/api/auth/passkeys").status, 404);
    let delete = ada.json(Method::DELETE, "/api/auth/passkeys/1", &json!({}));
    assert_eq!(delete.status, 404, "{}", delete.body);
    let signin = app.browser().get("/signin");
    assert_eq!(signin.status, 200);
    assert!(!signin.body.contains("passkey-signin"), "{}", signin.body);
    let security = ada.get("/settings/security");
    assert_eq!(security.status, 200, "{}", security.body);
    assert!(
        !security.body.contains("id=\"passkeys\""),
        "{}",
        security.body
    );
    // With a domain, the same page offers the button.
    let on = app.restart(&[("GATEHOUSE_URL", ORIGIN)]);
    let signin = on.browser().get("/signin");
    assert!(
        signin.body.contains("id=\"passkey-signin\""),
        "{}",
        signin.body
    );
    assert!(signin.body.contains("/static/passkeys."), "{}", signin.body);
    let ada = on.signed_in("ada@example.com");
    let security = ada.get("/settings/security");
    assert!(
        security.body.contains("id=\"passkeys-none\""),
        "{}",
        security.body
    );
    assert!(
        security.body.contains("id=\"passkey-add\""),
        "{}",
        security.body
    );
}

//! Impersonation stories with two browsers (an admin's and a user's, or the
//! browser the admin impersonates in), and a banned user's stray session, on
//! SQLite and (when configured) PostgreSQL.

mod common;

use common::fake_provider::{FakeProvider, FakeUser};
use common::{Backend, Browser, PASSWORD, Page, TestApp};
use reqwest::Method;
use serde_json::json;

on_both_backends!(
    banning_the_admin_ends_their_impersonation,
    demoting_the_admin_ends_their_impersonation,
    revoking_the_admins_sessions_ends_their_impersonation,
    deleting_the_admin_ends_their_impersonation,
    the_join_rechecks_the_impersonator_on_every_request,
    a_target_promoted_mid_impersonation_hands_over_nothing,
    nested_impersonation_is_refused,
    stop_returns_only_to_the_recorded_admin,
    credentials_are_refused_while_impersonating_and_audited,
    events_during_impersonation_name_the_admin_as_actor,
    a_banned_users_stray_session_is_anonymous,
);

const ROOT: &str = common::ROOT_ADMIN;
const ADMIN: &str = "ann@example.com";

/// The root admin's browser, a second admin (Ann) and a user (Uma), each
/// signed in in their own browser; answers (root, ann id, uma browser, uma id).
fn cast(app: &TestApp) -> (Browser, String, Browser, String) {
    let root = app.signed_in(ROOT);
    let ann = app.signed_up("Ann", ADMIN);
    let ann_id = ann.user_id();
    let r = patch(&root, &ann_id, json!({"role": "admin"}));
    assert_eq!(r.status, 200, "{}", r.body);
    let uma = app.signed_up("Uma", "uma@example.com");
    let uma_id = uma.user_id();
    (root, ann_id, uma, uma_id)
}

fn patch(admin: &Browser, id: &str, body: serde_json::Value) -> Page {
    admin.json(Method::PATCH, &format!("/api/admin/users/{id}"), &body)
}

/// A new browser where Ann signs in and impersonates `target`.
fn impersonating(app: &TestApp, target: &str) -> Browser {
    let b = app.signed_in(ADMIN);
    let r = b.json(
        Method::POST,
        &format!("/api/admin/users/{target}/impersonate"),
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(b.user_id(), target);
    b
}

/// The browser is anonymous: no session, no name, no way into `/admin`.
fn assert_anonymous(b: &Browser, why: &str) {
    assert!(b.session_json().is_null(), "{why}: still signed in");
    assert_eq!(b.get("/").user_name(), None, "{why}");
    assert_ne!(b.get("/admin").status, 200, "{why}: /admin open");
}

fn impersonations(app: &TestApp) -> i64 {
    app.count("sessions WHERE impersonator_id IS NOT NULL")
}

fn banning_the_admin_ends_their_impersonation(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    let (root, ann_id, uma, uma_id) = cast(&app);
    let acting = impersonating(&app, &uma_id);
    let r = root.json(
        Method::POST,
        &format!("/api/admin/users/{ann_id}/ban"),
        &json!({"reason": "left"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(impersonations(&app), 0, "the ban deleted the session");
    assert_anonymous(&acting, "a banned admin's impersonation");
    assert_eq!(uma.user_id(), uma_id, "Uma's own session is untouched");
}

fn demoting_the_admin_ends_their_impersonation(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    let (root, ann_id, uma, uma_id) = cast(&app);
    let acting = impersonating(&app, &uma_id);
    let r = patch(&root, &ann_id, json!({"role": "user"}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(impersonations(&app), 0, "the demotion deleted the session");
    assert_anonymous(&acting, "a demoted admin's impersonation");
    assert_eq!(uma.user_id(), uma_id);
}

fn revoking_the_admins_sessions_ends_their_impersonation(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    let (root, ann_id, uma, uma_id) = cast(&app);
    let own = app.signed_in(ADMIN);
    let acting = impersonating(&app, &uma_id);
    let r = root.json(
        Method::DELETE,
        &format!("/api/admin/users/{ann_id}/sessions"),
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // Ann's sign-up session, her second device, and the one as Uma.
    assert_eq!(r.json()["revoked"], 3);
    assert_anonymous(&own, "the admin's own session");
    assert_anonymous(&acting, "a revoked admin's impersonation");
    assert_eq!(uma.user_id(), uma_id);
}

fn deleting_the_admin_ends_their_impersonation(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    let (_root, ann_id, uma, uma_id) = cast(&app);
    let acting = impersonating(&app, &uma_id);
    // No route deletes users yet: the foreign key's cascade is what must hold.
    assert_eq!(
        app.sql(&format!("DELETE FROM users WHERE id = {ann_id}")),
        1
    );
    assert_eq!(impersonations(&app), 0);
    assert_anonymous(&acting, "a deleted admin's impersonation");
    assert_eq!(uma.user_id(), uma_id);
}

/// Changes made behind the server's back (no session deleted) still end the
/// impersonation at the next request: the session join checks the admin.
fn the_join_rechecks_the_impersonator_on_every_request(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    let (_root, ann_id, _uma, uma_id) = cast(&app);
    let changes = [
        (
            format!("UPDATE users SET role = 'user' WHERE id = {ann_id}"),
            format!("UPDATE users SET role = 'admin' WHERE id = {ann_id}"),
        ),
        (
            format!("UPDATE users SET banned_at = CURRENT_TIMESTAMP WHERE id = {ann_id}"),
            format!("UPDATE users SET banned_at = NULL WHERE id = {ann_id}"),
        ),
    ];
    for (change, undo) in changes {
        let acting = impersonating(&app, &uma_id);
        assert_eq!(app.sql(&change), 1);
        assert_eq!(impersonations(&app), 1, "{change}: the row is still there");
        assert_anonymous(&acting, &change);
        assert_eq!(impersonations(&app), 0, "{change}: the row is deleted");
        app.sql(&undo);
    }
    // A ban that has lifted itself does not end anything.
    let acting = impersonating(&app, &uma_id);
    app.sql(&format!(
        "UPDATE users SET banned_at = '2000-01-01 00:00:00', banned_until = '2000-01-02 00:00:00' WHERE id = {ann_id}"
    ));
    assert_eq!(acting.user_id(), uma_id);
}

fn a_target_promoted_mid_impersonation_hands_over_nothing(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    let (root, _ann_id, uma, uma_id) = cast(&app);
    let acting = impersonating(&app, &uma_id);
    assert_eq!(acting.get("/admin").status, 403);
    let r = patch(&root, &uma_id, json!({"role": "admin"}));
    assert_eq!(r.status, 200, "{}", r.body);
    // Uma is an admin in her own browser; the impersonator gets nothing of it.
    assert_eq!(uma.get("/admin").status, 200);
    assert_eq!(acting.get("/api/admin/users").status, 401);
    assert_anonymous(&acting, "an impersonation of a promoted user");
}

fn nested_impersonation_is_refused(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    let (root, ann_id, _uma, uma_id) = cast(&app);
    let vic = app.signed_up("Vic", "vic@example.com");
    let vic_id = vic.user_id();
    let acting = impersonating(&app, &uma_id);
    // As the user: refused, in JSON and as a page.
    let r = acting.json(
        Method::POST,
        &format!("/api/admin/users/{vic_id}/impersonate"),
        &json!({}),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = acting.submit(&format!("/admin/users/{vic_id}/impersonate"), &[]);
    assert_eq!(r.status, 403, "{}", r.body);
    // Uma promoted while impersonated: the chain Ann → Uma → Vic never starts.
    patch(&root, &uma_id, json!({"role": "admin"}));
    let r = acting.json(
        Method::POST,
        &format!("/api/admin/users/{vic_id}/impersonate"),
        &json!({}),
    );
    assert_ne!(r.status, 200, "{}", r.body);
    assert_eq!(
        app.count(&format!(
            "sessions WHERE user_id = {vic_id} AND impersonator_id IS NOT NULL"
        )),
        0
    );
    // Stopping from there yields no session as Uma, nor as Ann.
    let r = acting.json(Method::POST, "/api/admin/impersonation/stop", &json!({}));
    assert_ne!(r.status, 200, "{}", r.body);
    assert_anonymous(&acting, "after a refused nested impersonation");
    assert_eq!(
        app.count(&format!(
            "audit_events WHERE action = 'impersonation_started' AND actor_id = {uma_id}"
        )),
        0
    );
    let _ = ann_id;
}

fn stop_returns_only_to_the_recorded_admin(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    let (root, ann_id, uma, uma_id) = cast(&app);
    let acting = impersonating(&app, &uma_id);
    let r = acting.json(Method::POST, "/api/admin/impersonation/stop", &json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["admin_id"], ann_id.as_str());
    assert_eq!(
        acting.user_id(),
        ann_id,
        "back to Ann, not to the root admin"
    );
    assert!(!acting.get("/").body.contains("impersonation-banner"));
    assert_eq!(impersonations(&app), 0);
    // The page route too, and the root admin's session is not the way back.
    let acting = impersonating(&app, &uma_id);
    let back = acting.submit("/admin/impersonation/stop", &[]);
    assert_eq!(back.status, 303, "{}", back.body);
    assert_eq!(acting.user_id(), ann_id);
    assert_eq!(acting.get("/admin").status, 200);
    assert_eq!(root.user_id(), root_id(&app));
    // A session that impersonates no one has nowhere to return to.
    for b in [&uma, &root] {
        let r = b.json(Method::POST, "/api/admin/impersonation/stop", &json!({}));
        assert_eq!(r.status, 400, "{}", r.body);
    }
    assert_eq!(uma.user_id(), uma_id);
}

fn root_id(app: &TestApp) -> String {
    app.signed_in(ROOT).user_id()
}

fn credentials_are_refused_while_impersonating_and_audited(backend: Backend) {
    let fake = FakeProvider::start();
    let vars = fake.vars("GITHUB");
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let Some(app) = TestApp::with_admin(backend, &refs) else {
        return;
    };
    let (_root, ann_id, uma, uma_id) = cast(&app);
    // Uma links GitHub herself.
    fake.sign_in_as(FakeUser::new("77", "Uma at GitHub", "uma@example.com"));
    let start = uma.submit("/api/auth/signin/github", &[("intent", "link")]);
    let done = uma.follow(&uma.follow(&start));
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(uma.get("/api/auth/accounts/github/token").status, 200);

    let acting = impersonating(&app, &uma_id);
    let token = acting.get("/api/auth/accounts/github/token");
    assert_eq!(token.status, 403, "{}", token.body);
    assert!(!token.body.contains("access_token"));
    // Linking the admin's own GitHub account to Uma: refused at the start.
    fake.sign_in_as(FakeUser::new(
        "99",
        "Ann at GitHub",
        "ann@elsewhere.example",
    ));
    let start = acting.submit("/api/auth/signin/github", &[("intent", "link")]);
    assert_eq!(start.status, 403, "{}", start.body);
    // …and at the callback, even with a flow Uma started in her browser.
    let started = uma.submit("/api/auth/signin/github", &[("intent", "link")]);
    assert_eq!(started.status, 303);
    let binding = uma
        .cookies
        .borrow()
        .iter()
        .find(|(k, _)| k.ends_with("gatehouse_oauth"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .expect("the flow's binding cookie");
    acting.cookies.borrow_mut().insert(binding.0, binding.1);
    let at_provider = acting.follow(&started);
    let callback = acting.follow(&at_provider);
    assert_eq!(callback.status, 403, "{}", callback.body);
    assert_eq!(app.count("accounts"), 1, "only Uma's own link");
    let unlink = acting.submit("/settings/accounts/github/unlink", &[]);
    assert_eq!(unlink.status, 403, "{}", unlink.body);
    assert_eq!(app.count("accounts"), 1);
    let password = acting.submit(
        "/settings/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", "a whole new passphrase"),
        ],
    );
    assert_eq!(password.status, 403, "{}", password.body);
    assert_eq!(app.signed_in("uma@example.com").get("/").status, 200);
    // Every refusal is in the log, the admin as actor and Uma as target.
    assert_eq!(
        app.count(&format!(
            "audit_events WHERE action = 'impersonation_refused' \
             AND actor_id = {ann_id} AND target_id = {uma_id}"
        )),
        5
    );
    assert_eq!(
        app.count("audit_events WHERE action = 'password_changed'"),
        0
    );
    // The impersonation itself goes on, and Uma keeps her token.
    assert_eq!(acting.user_id(), uma_id);
    assert_eq!(uma.get("/api/auth/accounts/github/token").status, 200);
}

fn events_during_impersonation_name_the_admin_as_actor(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    let (root, ann_id, uma, uma_id) = cast(&app);
    let acting = impersonating(&app, &uma_id);
    let r = acting.submit("/settings/profile", &[("name", "Uma B"), ("image", "")]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(uma.get("/").user_name().as_deref(), Some("Uma B"));
    let r = acting.json(Method::POST, "/api/auth/session", &json!({"theme": "dark"}));
    assert_eq!(r.status, 200, "{}", r.body);
    let events = root
        .get(&format!(
            "/api/admin/audit?user={uma_id}&action=profile_changed,preferences_changed"
        ))
        .json();
    assert_eq!(events["total"], 2, "{events}");
    for e in events["events"].as_array().unwrap() {
        assert_eq!(e["actor_id"], ann_id.as_str(), "{e}");
        assert_eq!(e["target_id"], uma_id.as_str(), "{e}");
    }
    // Uma's own edit names her.
    uma.submit("/settings/profile", &[("name", "Uma"), ("image", "")]);
    let events = root
        .get(&format!(
            "/api/admin/audit?user={uma_id}&action=profile_changed"
        ))
        .json();
    assert_eq!(events["events"][0]["actor_id"], uma_id.as_str());
}

fn a_banned_users_stray_session_is_anonymous(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    let (_root, _ann_id, uma, uma_id) = cast(&app);
    let laptop = app.signed_in("uma@example.com");
    // A ban that lifted itself long ago leaves the sessions alone.
    app.sql(&format!(
        "UPDATE users SET banned_at = '2000-01-01 00:00:00', banned_until = '2000-01-02 00:00:00' WHERE id = {uma_id}"
    ));
    assert_eq!(uma.user_id(), uma_id);
    // A ban in force written without ending the sessions, as a sign-in racing
    // the ban would leave them: both devices are anonymous all the same.
    app.sql(&format!(
        "UPDATE users SET banned_until = NULL, banned_at = CURRENT_TIMESTAMP WHERE id = {uma_id}"
    ));
    assert_eq!(app.count(&format!("sessions WHERE user_id = {uma_id}")), 2);
    assert_anonymous(&uma, "a banned user's session");
    assert!(laptop.session_json().is_null());
    assert_eq!(app.count(&format!("sessions WHERE user_id = {uma_id}")), 0);
    // A ban with an end in the future counts too.
    app.sql(&format!(
        "UPDATE users SET banned_at = NULL WHERE id = {uma_id}"
    ));
    let phone = app.signed_in("uma@example.com");
    app.sql(&format!(
        "UPDATE users SET banned_at = CURRENT_TIMESTAMP, banned_until = '2999-01-01 00:00:00' WHERE id = {uma_id}"
    ));
    assert!(phone.session_json().is_null());
}

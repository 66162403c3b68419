//! Live updates in a real browser (`/static/live.js` in headless Chromium):
//! an open tab changes by itself when another device or an admin changes its
//! user, and lands on `/signin` with a sentence when its session ends. Each
//! story marks the page with a script variable first and checks it is still
//! there, so the change came without a reload (but for a new language,
//! whose words need the page again).

mod common;
#[path = "common/webdriver.rs"]
mod webdriver;

use common::{Backend, PASSWORD, ROOT_ADMIN, TestApp};
use reqwest::Method;
use serde_json::json;
use webdriver::Chromium;

on_both_backends!(
    an_edit_on_another_device_changes_the_open_tab,
    an_admin_role_change_shows_a_notice,
    a_ban_sends_the_open_tab_to_signin,
    signing_out_in_the_tab_itself_goes_where_the_form_says,
);

/// Signs in through the form and waits for the home page.
fn sign_in(c: &Chromium, email: &str) {
    c.goto("/signin");
    c.fill("input[name=email]", email);
    c.fill("input[name=password]", PASSWORD);
    c.click("form[action='/signin'] button[type=submit]");
    c.wait_for_path("/");
}

/// Marks the loaded page; [`still_marked`] is true until a navigation.
fn mark(c: &Chromium) {
    c.execute("window.__notReloaded = true; return true;", vec![]);
}

fn still_marked(c: &Chromium) -> bool {
    c.execute("return window.__notReloaded === true;", vec![]) == json!(true)
}

fn an_edit_on_another_device_changes_the_open_tab(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    app.signed_up("Grace", "grace@example.com");
    let Some(c) = Chromium::launch(&app.base) else {
        return;
    };
    sign_in(&c, "grace@example.com");
    assert_eq!(c.text("#user-name"), "Grace");
    assert_eq!(c.attr("html", "data-theme").as_deref(), Some("system"));
    mark(&c);
    let phone = app.signed_in("grace@example.com");
    let page = phone.submit(
        "/settings/profile",
        &[
            ("name", "Grace Hopper"),
            ("image", "https://images.example.com/grace.png"),
        ],
    );
    assert_eq!(page.status, 303, "{}", page.body);
    c.wait_for_text("#user-name", "Grace Hopper");
    c.wait_for_attr(
        "#user-avatar",
        "src",
        "https://images.example.com/grace.png",
    );
    // The theme switches live too.
    let page = phone.json(Method::POST, "/api/auth/session", &json!({"theme": "dark"}));
    assert_eq!(page.status, 200, "{}", page.body);
    c.wait_for_attr("html", "data-theme", "dark");
    assert!(still_marked(&c), "the page was reloaded");
    // Another language needs the page's words again: the tab reloads itself,
    // in German.
    let page = phone.json(
        Method::POST,
        "/api/auth/session",
        &json!({"language": "de"}),
    );
    assert_eq!(page.status, 200, "{}", page.body);
    c.wait_for_attr("html", "lang", "de");
    c.wait_for_text("header.site a[href='/settings']", "Einstellungen");
    assert!(!still_marked(&c), "the page kept its English words");
    assert_eq!(c.text("#user-name"), "Grace Hopper");
    let console = c.console();
    assert!(
        !console
            .iter()
            .any(|l| l.contains("Content Security Policy") || l.contains("live.js")),
        "{console:?}"
    );
    c.assert_accessible();
}

fn an_admin_role_change_shows_a_notice(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    let id = app.signed_up("Grace", "grace@example.com").user_id();
    let Some(c) = Chromium::launch(&app.base) else {
        return;
    };
    sign_in(&c, "grace@example.com");
    assert!(!c.has("#live-notice:not([hidden])"));
    mark(&c);
    let admin = app.signed_in(ROOT_ADMIN);
    let page = admin.json(
        Method::PATCH,
        &format!("/api/admin/users/{id}"),
        &json!({"plan": "premium"}),
    );
    assert_eq!(page.status, 200, "{}", page.body);
    c.wait_for_text("#live-notice", "Your plan is now premium.");
    assert_eq!(c.attr("#live-notice", "role").as_deref(), Some("status"));
    assert!(still_marked(&c), "the page was reloaded");
    c.assert_accessible();
}

fn a_ban_sends_the_open_tab_to_signin(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    let id = app.signed_up("Grace", "grace@example.com").user_id();
    let Some(c) = Chromium::launch(&app.base) else {
        return;
    };
    sign_in(&c, "grace@example.com");
    c.goto("/settings");
    let admin = app.signed_in(ROOT_ADMIN);
    let page = admin.json(
        Method::POST,
        &format!("/api/admin/users/{id}/ban"),
        &json!({"reason": "spam"}),
    );
    assert_eq!(page.status, 200, "{}", page.body);
    c.wait_for_path("/signin");
    assert_eq!(c.path(), "/signin?reason=banned");
    assert!(
        c.text("#ended-notice").contains("suspended"),
        "{}",
        c.source()
    );
    assert!(!c.has("#user-name"), "still shown as signed in");
    c.assert_accessible();
}

fn signing_out_in_the_tab_itself_goes_where_the_form_says(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    app.signed_up("Grace", "grace@example.com");
    let Some(c) = Chromium::launch(&app.base) else {
        return;
    };
    sign_in(&c, "grace@example.com");
    c.goto("/settings");
    // Its own sign-out ends the session the tab listens on; the form's answer
    // (to `/`), not the stream, decides where the tab goes.
    c.click("header form[action='/signout'] button[type=submit]");
    c.wait_for_path("/");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(c.path(), "/");
    assert!(c.has("#signin-link"), "{}", c.source());
}

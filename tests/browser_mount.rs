//! The page scripts under a mount prefix, in a real browser: gatehouse at
//! `http://localhost:PORT/auth` (`GATEHOUSE_MOUNT_PATH`), where `live.js`
//! and `passkeys.js` learn the prefix from `<html data-base>` and every
//! request they make, and every page they send the tab to, is under it.

mod common;
#[path = "common/webdriver.rs"]
mod webdriver;

use common::{Backend, PASSWORD, ROOT_ADMIN, TestApp};
use reqwest::Method;
use serde_json::json;
use webdriver::Chromium;

on_both_backends!(
    live_updates_and_a_ban_reach_the_open_tab_under_the_prefix,
    a_passkey_is_added_and_signs_in_under_the_prefix,
);

const MOUNT: &str = "/auth";

/// Waits until `css` is shown (the script unhides what the browser can do).
fn wait_shown(c: &Chromium, css: &str) {
    c.execute(
        "var e = document.querySelector(arguments[0]); \
         var mark = function () { e.setAttribute('data-shown', e.hidden ? 'no' : 'yes'); }; \
         mark(); new MutationObserver(mark).observe(e, {attributes: true, attributeFilter: ['hidden']});",
        vec![serde_json::Value::from(css)],
    );
    c.wait_for_attr(css, "data-shown", "yes");
}

fn sign_in(c: &Chromium, email: &str) {
    c.goto("/auth/signin?callbackUrl=%2Fauth%2Fsettings");
    c.fill("input[name=email]", email);
    c.fill("input[name=password]", PASSWORD);
    c.click_and_load("form[action='/auth/signin'] button[type=submit]");
    c.wait_for_path("/auth/settings");
}

/// No script error and no CSP refusal: nothing the page or its scripts
/// asked for was missing (but the browser's own `/favicon.ico`, which is the
/// embedding site's).
fn assert_quiet_console(c: &Chromium) {
    let console = c.console();
    let trouble: Vec<&String> = console
        .iter()
        .filter(|l| {
            l.contains("Content Security Policy")
                || (l.starts_with("SEVERE") && !l.contains("/favicon.ico"))
        })
        .collect();
    assert!(trouble.is_empty(), "{console:?}");
}

fn live_updates_and_a_ban_reach_the_open_tab_under_the_prefix(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[("GATEHOUSE_MOUNT_PATH", MOUNT)]) else {
        return;
    };
    let id = app.signed_up("Grace", "grace@example.com").user_id();
    let Some(c) = Chromium::launch(&app.base) else {
        return;
    };
    sign_in(&c, "grace@example.com");
    assert_eq!(c.attr("html", "data-base").as_deref(), Some("/auth"));
    c.assert_accessible();
    c.execute("window.__notReloaded = true; return true;", vec![]);

    // Another device renames her: the open tab hears it on the prefixed stream.
    let phone = app.signed_in("grace@example.com");
    let page = phone.json(
        Method::POST,
        "/auth/api/auth/session",
        &json!({"name": "Grace Hopper"}),
    );
    assert_eq!(page.status, 200, "{}", page.body);
    c.wait_for_text("#user-name", "Grace Hopper");
    assert_eq!(
        c.execute("return window.__notReloaded === true;", vec![]),
        json!(true),
        "the page was reloaded"
    );

    // A ban ends the session: the tab goes to the prefixed sign-in page.
    let admin = app.signed_in(ROOT_ADMIN);
    let page = admin.json(
        Method::POST,
        &format!("/auth/api/admin/users/{id}/ban"),
        &json!({"reason": "spam"}),
    );
    assert_eq!(page.status, 200, "{}", page.body);
    c.wait_for_path("/auth/signin");
    assert_eq!(c.path(), "/auth/signin?reason=banned");
    assert!(!c.has("#user-name"), "still shown as signed in");
    c.assert_accessible();
    assert_quiet_console(&c);
}

fn a_passkey_is_added_and_signs_in_under_the_prefix(backend: Backend) {
    let Some(app) = TestApp::start_on_localhost(backend, &[("GATEHOUSE_MOUNT_PATH", MOUNT)]) else {
        return;
    };
    app.signed_up("Ada Lovelace", "ada@example.com");
    let Some(c) = Chromium::launch(&app.base) else {
        return;
    };
    let authenticator = c.add_virtual_authenticator();
    sign_in(&c, "ada@example.com");

    c.goto("/auth/settings/security");
    wait_shown(&c, "#passkey-add");
    c.fill("input[name=passkey_name]", "This laptop");
    c.click("#passkey-add-button");
    c.wait_for_text("#passkey-list .passkey-name", "This laptop");
    c.assert_accessible();
    assert_eq!(app.count("passkeys"), 1);
    assert_eq!(c.authenticator_credentials(&authenticator).len(), 1);

    // Signed out (to the site's home), then in again with the button.
    c.click_and_load("form[action='/auth/signout'] button");
    c.wait_for_path("/");
    c.goto("/auth/signin?callbackUrl=%2Fauth%2Fsettings");
    wait_shown(&c, "#passkey-signin");
    c.click("#passkey-signin-button");
    c.wait_for_path("/auth/settings");
    c.wait_for_text("#user-name", "Ada Lovelace");

    // Long after that sign-in, adding another passkey asks to confirm it is
    // her first, at the prefixed /reauth, and comes back.
    app.sql("UPDATE sessions SET authenticated_at = '2000-01-01 00:00:00'");
    c.goto("/auth/settings/security");
    c.fill("input[name=passkey_name]", "Second");
    c.click("#passkey-add-button");
    c.wait_for_path("/auth/reauth");
    wait_shown(&c, "#passkey-reauth");
    c.click("#passkey-reauth-button");
    c.wait_for_path("/auth/settings/security");
    assert_eq!(
        app.count("audit_events WHERE action = 'reauthenticated' AND details LIKE '%passkey%'"),
        1
    );
    c.assert_no_csp_refusal();
}

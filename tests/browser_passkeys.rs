//! Passkeys in a real browser: headless Chromium with its virtual
//! authenticator (the WebDriver WebAuthn extension) against the real server
//! at `http://localhost:PORT` (WebAuthn needs a domain), on SQLite and
//! PostgreSQL. The page's own script (`/static/passkeys.js`) runs both
//! ceremonies; every page a story visits is checked with axe-core. A browser
//! with no WebAuthn at all is told so.

mod common;
#[path = "common/webdriver.rs"]
mod webdriver;

use common::{Backend, PASSWORD, TestApp};
use webdriver::Chromium;

on_both_backends!(
    a_passkey_added_on_the_security_page_signs_in_with_the_button,
    without_a_domain_the_pages_offer_no_passkeys,
    a_browser_without_passkeys_is_told_so,
);

/// Waits until `css` is shown (the script unhides what the browser can do).
fn wait_shown(c: &Chromium, css: &str) {
    c.wait_for_attr(css, "data-shown", "yes");
}

/// Marks, in the page, whether `css` is shown now (`data-shown`), so
/// [`wait_shown`] can wait for it.
fn mark_shown(c: &Chromium, css: &str) {
    c.execute(
        "var e = document.querySelector(arguments[0]); \
         var mark = function () { e.setAttribute('data-shown', e.hidden ? 'no' : 'yes'); }; \
         mark(); new MutationObserver(mark).observe(e, {attributes: true, attributeFilter: ['hidden']});",
        vec![serde_json::Value::from(css)],
    );
}

fn sign_up(c: &Chromium, name: &str, email: &str) {
    c.goto("/signup");
    c.fill("input[name=name]", name);
    c.fill("input[name=email]", email);
    c.fill("input[name=password]", PASSWORD);
    c.click_and_load("form[action='/signup'] button[type=submit]");
    c.wait_for_path("/");
}

fn a_passkey_added_on_the_security_page_signs_in_with_the_button(backend: Backend) {
    let Some(app) = TestApp::start_on_localhost(backend, &[]) else {
        return;
    };
    let Some(c) = Chromium::launch(&app.base) else {
        return;
    };
    let authenticator = c.add_virtual_authenticator();
    sign_up(&c, "Ada Lovelace", "ada@example.com");

    c.goto("/settings/security");
    mark_shown(&c, "#passkey-add");
    wait_shown(&c, "#passkey-add");
    assert!(c.has("#passkeys-none"), "{}", c.source());
    c.assert_accessible();
    c.fill("input[name=passkey_name]", "This laptop");
    c.click("#passkey-add-button");
    // The page reloads with the new passkey listed.
    c.wait_for_text("#passkey-list .passkey-name", "This laptop");
    assert_eq!(app.count("passkeys"), 1);
    assert_eq!(c.authenticator_credentials(&authenticator).len(), 1);
    let never = c.text("#passkey-list .passkey-last-used");
    assert_eq!(never, "never");
    c.assert_accessible();

    // Signed out, then back in with one button and no email typed.
    c.click_and_load("form[action='/signout'] button");
    c.wait_for_path("/");
    assert!(c.has("#signin-link"));
    c.goto("/signin");
    mark_shown(&c, "#passkey-signin");
    wait_shown(&c, "#passkey-signin");
    c.assert_accessible();
    c.click("#passkey-signin-button");
    c.wait_for_path("/");
    c.wait_for_text("#user-name", "Ada Lovelace");
    assert_eq!(
        app.count(
            "audit_events WHERE action = 'sign_in' AND details LIKE '%\"method\":\"passkey\"%'"
        ),
        1
    );
    assert_eq!(app.count("sessions WHERE aal = 2"), 1);

    // The security page shows when it was last used.
    c.goto("/settings/security");
    assert!(
        c.has("#passkey-list .passkey-last-used time"),
        "{}",
        c.source()
    );

    // Long after that sign-in, adding another passkey first asks to confirm
    // it is her: the passkey button on /reauth, then back to add it.
    app.sql("UPDATE sessions SET authenticated_at = '2000-01-01 00:00:00'");
    c.goto("/settings/security");
    c.fill("input[name=passkey_name]", "Second");
    c.click("#passkey-add-button");
    c.wait_for_path("/reauth");
    mark_shown(&c, "#passkey-reauth");
    wait_shown(&c, "#passkey-reauth");
    c.assert_accessible();
    c.click("#passkey-reauth-button");
    c.wait_for_path("/settings/security");
    assert_eq!(
        app.count("audit_events WHERE action = 'reauthenticated' AND details LIKE '%passkey%'"),
        1
    );
    c.assert_no_csp_refusal();
}

fn without_a_domain_the_pages_offer_no_passkeys(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let Some(c) = Chromium::launch(&app.base) else {
        return;
    };
    c.goto("/signin");
    assert!(!c.has("#passkey-signin"), "{}", c.source());
    sign_up(&c, "Ada Lovelace", "ada@example.com");
    c.goto("/settings/security");
    assert!(c.has("#two-factor"), "{}", c.source());
    assert!(!c.has("#passkeys"), "{}", c.source());
}

/// The sentence a page shows in `root` for a browser with no passkeys, and
/// whether its button is disabled.
fn unsupported_notice(c: &Chromium, root: &str) -> (String, bool) {
    mark_shown(c, root);
    wait_shown(c, root);
    let status = format!("{root} [data-passkey-status]");
    let shown = c.execute(
        "var e = document.querySelector(arguments[0]); return !e.hidden && e.offsetParent !== null;",
        vec![serde_json::Value::from(status.as_str())],
    );
    assert_eq!(shown, serde_json::Value::Bool(true), "{}", c.source());
    let button = format!("{root} [data-passkey-start]");
    (c.text(&status), c.attr(&button, "disabled").is_some())
}

fn a_browser_without_passkeys_is_told_so(backend: Backend) {
    let Some(app) = TestApp::start_on_localhost(backend, &[]) else {
        return;
    };
    let Some(c) = Chromium::launch(&app.base) else {
        return;
    };
    // A browser without WebAuthn: PublicKeyCredential is gone before any
    // script of a page runs (DevTools' Page.addScriptToEvaluateOnNewDocument).
    c.webdriver(
        reqwest::Method::POST,
        "/goog/cdp/execute",
        serde_json::json!({
            "cmd": "Page.addScriptToEvaluateOnNewDocument",
            "params": {"source": "delete window.PublicKeyCredential;"},
        }),
    );
    let says = "This browser does not support passkeys.";
    c.goto("/signin");
    assert_eq!(
        c.execute("return typeof window.PublicKeyCredential;", vec![]),
        "undefined"
    );
    let (text, disabled) = unsupported_notice(&c, "#passkey-signin");
    assert!(text.starts_with(says), "{text}");
    assert!(disabled, "the sign-in button cannot be pressed");
    c.assert_accessible();

    sign_up(&c, "Ada Lovelace", "ada@example.com");
    c.goto("/settings/security");
    let (text, disabled) = unsupported_notice(&c, "#passkey-add");
    assert!(text.starts_with(says), "{text}");
    assert!(disabled, "the add button cannot be pressed");
    c.assert_accessible();
    c.assert_no_csp_refusal();
    assert_eq!(app.count("webauthn_challenges"), 0);
}

//! A password reset of a user with two factors on, as stories on both
//! backends: the mailed link proves the address and sets the new password,
//! but like every first factor it makes no session: the browser goes to the
//! code step (the form: `303` to `/signin/two-factor`; the JSON reset:
//! `null` and the pending cookie), and a code completes it.

mod common;

use common::totp::{code, steady, turn_on};
use common::{Backend, Browser, Page, TestApp};
use reqwest::Method;
use serde_json::json;

on_both_backends!(
    a_reset_by_the_form_asks_for_the_second_factor,
    a_reset_by_json_asks_for_the_second_factor,
);

const ADA: &str = "ada@example.com";
const NEW_PASSWORD: &str = "a brand new passphrase";

/// Asks for a reset link from `b` and returns its token once the mail is
/// there.
fn reset_token(app: &TestApp, b: &Browser) -> String {
    let asked = b.submit("/forgot-password", &[("email", ADA)]);
    assert_eq!(asked.status, 200, "{}", asked.body);
    let started = std::time::Instant::now();
    loop {
        let mail = app
            .mailbox()
            .to(ADA)
            .into_iter()
            .rfind(|m| m.subject.starts_with("Reset"));
        if let Some(m) = mail {
            return m.token();
        }
        assert!(started.elapsed().as_secs() < 10, "no reset mail");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The reset is done and the browser waits at the code step: no session,
/// Ada's other sessions ended, the pending sign-in recorded as a reset's.
fn assert_at_the_code_step(app: &TestApp, b: &Browser, page: &Page, ada: &Browser) {
    assert!(
        page.set_cookie("gatehouse_pending").is_some(),
        "{:?}",
        page.set_cookies()
    );
    assert!(page.set_cookie("gatehouse_session").is_none());
    assert!(b.session_json().is_null());
    assert!(ada.session_json().is_null(), "a reset ends every session");
    assert_eq!(app.session_count(), 0);
    assert_eq!(
        app.count(
            "audit_events WHERE action = 'two_factor_required' \
             AND details LIKE '%\"method\":\"password_reset\"%'"
        ),
        1
    );
}

/// A code completes it: signed in at two factors, the reset named.
fn assert_a_code_completes_it(app: &TestApp, b: &Browser, secret: &str) {
    steady();
    let done = b.submit("/signin/two-factor", &[("code", &code(secret, 0))]);
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(b.session_json()["user"]["email"], ADA);
    assert_eq!(app.count("sessions WHERE aal = 2"), 1);
    assert_eq!(
        app.count(
            "audit_events WHERE action = 'sign_in' \
             AND details LIKE '%\"method\":\"password_reset\"%' \
             AND details LIKE '%\"second_factor\":\"totp\"%'"
        ),
        1
    );
    // The new password is the one now, and still asks for a code.
    let other = app.browser();
    let page = other.submit("/signin", &[("email", ADA), ("password", NEW_PASSWORD)]);
    assert_eq!(page.location().as_deref(), Some("/signin/two-factor"));
}

fn a_reset_by_the_form_asks_for_the_second_factor(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let ada = app.signed_up("Ada", ADA);
    let (secret, _) = turn_on(&ada);
    let here = app.browser();
    let token = reset_token(&app, &here);
    let page = here.submit(
        "/reset-password",
        &[("token", &token), ("new_password", NEW_PASSWORD)],
    );
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location().as_deref(), Some("/signin/two-factor"));
    assert_at_the_code_step(&app, &here, &page, &ada);
    assert_eq!(here.get("/signin/two-factor").status, 200);
    assert_a_code_completes_it(&app, &here, &secret);
}

fn a_reset_by_json_asks_for_the_second_factor(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let ada = app.signed_up("Ada", ADA);
    let (secret, _) = turn_on(&ada);
    let client = app.browser();
    let token = reset_token(&app, &client);
    let done = client.json(
        Method::POST,
        "/api/auth/reset-password",
        &json!({"token": token, "new_password": NEW_PASSWORD}),
    );
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.json().is_null(), "no session yet: {}", done.body);
    assert_at_the_code_step(&app, &client, &done, &ada);
    assert_a_code_completes_it(&app, &client, &secret);
}

//! A mailed token works for its own purpose only, and the email change's
//! token crosses in neither direction, as stories on both backends: a
//! change_email token shown to the reset, verification and sign-in link
//! routes, and reset, verification and sign-in tokens shown to
//! `/settings/email/confirm` by their owner, answer 400 and change nothing;
//! each token still works for its own purpose afterwards. (Sign-in links
//! against reset and verification tokens: tests/email_link.rs
//! `tokens_of_other_purposes_do_not_cross`.)

mod common;

use common::mailbox::Mail;
use common::{Backend, Browser, PASSWORD, TestApp};

on_both_backends!(
    a_change_email_token_opens_no_other_door,
    other_tokens_do_not_confirm_an_email_change,
);

const OLD: &str = "ada@example.com";
const NEW: &str = "ada@example.org";
const NEW_PASSWORD: &str = "a brand new passphrase";

/// The first mail to `to` whose subject starts with `subject`, once it came.
fn mail_about(app: &TestApp, to: &str, subject: &str) -> Mail {
    let started = std::time::Instant::now();
    loop {
        if let Some(m) = app
            .mailbox()
            .to(to)
            .into_iter()
            .find(|m| m.subject.starts_with(subject))
        {
            return m;
        }
        assert!(
            started.elapsed().as_secs() < 10,
            "no \"{subject}\" mail to {to}: {:?}",
            app.mailbox().all()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Ada, signed up (her verification mail sent) and asking to move to `NEW`,
/// with a reset link and a sign-in link asked for too: one live token of
/// each purpose. Answers her browser and the four mails (verify, reset,
/// sign-in, change).
fn ada_with_a_token_of_each_purpose(app: &TestApp) -> (Browser, [Mail; 4]) {
    let ada = app.signed_up("Ada", OLD);
    let asked = ada.submit(
        "/settings/email",
        &[("email", NEW), ("current_password", PASSWORD)],
    );
    assert_eq!(asked.status, 303, "{}", asked.body);
    let stranger = app.browser();
    assert_eq!(
        stranger
            .submit("/forgot-password", &[("email", OLD)])
            .status,
        200
    );
    assert_eq!(
        stranger
            .submit("/signin/email", &[("email", OLD), ("callbackUrl", "/")])
            .status,
        200
    );
    let mails = [
        mail_about(app, OLD, "Verify"),
        mail_about(app, OLD, "Reset"),
        mail_about(app, OLD, "Sign in"),
        mail_about(app, NEW, "Confirm your new email address"),
    ];
    for purpose in ["verify_email", "reset_password", "sign_in", "change_email"] {
        assert_eq!(
            app.count(&format!("email_tokens WHERE purpose = '{purpose}'")),
            1,
            "{purpose}"
        );
    }
    (ada, mails)
}

/// What a wrong-purpose token must leave as it was: the tokens, the user
/// row, the sessions, the audit log.
fn state(app: &TestApp) -> (i64, i64, i64, i64, i64) {
    (
        app.count("email_tokens"),
        app.count(&format!(
            "users WHERE email = '{OLD}' AND email_verified_at IS NULL"
        )),
        app.count("users"),
        app.session_count(),
        app.count("audit_events"),
    )
}

fn a_change_email_token_opens_no_other_door(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let (ada, [_, _, _, change]) = ada_with_a_token_of_each_purpose(&app);
    let token = change.token();
    let before = state(&app);
    let b = app.browser();

    // The reset form: neither shown nor taken.
    let form = b.get(&format!("/reset-password?token={token}"));
    assert_eq!(form.status, 400, "{}", form.body);
    let reset = b.submit(
        "/reset-password",
        &[("token", &token), ("new_password", NEW_PASSWORD)],
    );
    assert_eq!(reset.status, 400, "{}", reset.body);
    let json = b.json(
        reqwest::Method::POST,
        "/api/auth/reset-password",
        &serde_json::json!({ "token": token, "new_password": NEW_PASSWORD }),
    );
    assert_eq!(json.status, 400, "{}", json.body);
    // Verification.
    let verified = b.get(&format!("/verify-email?token={token}"));
    assert_eq!(verified.status, 400, "{}", verified.body);
    // The sign-in link: neither its page nor its button.
    let page = b.get(&format!("/signin/email?token={token}"));
    assert_eq!(page.status, 400, "{}", page.body);
    let pressed = b.submit("/signin/email", &[("token", &token), ("callbackUrl", "/")]);
    assert_eq!(pressed.status, 400, "{}", pressed.body);

    assert_eq!(state(&app), before, "nothing changed");
    assert!(b.session_json().is_null());
    assert_eq!(ada.session_json()["user"]["email"], OLD);
    assert_eq!(ada.session_json()["user"]["email_verified"], false);
    assert_eq!(
        app.browser()
            .submit("/signin", &[("email", OLD), ("password", PASSWORD)])
            .status,
        303,
        "the password is unchanged"
    );
    assert_eq!(
        app.browser()
            .submit("/signin", &[("email", OLD), ("password", NEW_PASSWORD)])
            .status,
        401
    );
    // Unspent: the token still confirms the change, for Ada.
    let done = ada.get(&change.path());
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(ada.session_json()["user"]["email"], NEW);
}

fn other_tokens_do_not_confirm_an_email_change(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let (ada, [verify, reset, link, change]) = ada_with_a_token_of_each_purpose(&app);
    let before = state(&app);
    for (what, mail) in [("verify", &verify), ("reset", &reset), ("sign-in", &link)] {
        let path = format!("/settings/email/confirm?token={}", mail.token());
        let page = ada.get(&path);
        assert_eq!(page.status, 400, "{what}: {}", page.body);
        assert_eq!(state(&app), before, "{what}: nothing changed");
        assert_eq!(ada.session_json()["user"]["email"], OLD, "{what}");
    }
    assert_eq!(ada.session_json()["user"]["email_verified"], false);
    assert_eq!(
        app.count(&format!("users WHERE email = '{NEW}'")),
        0,
        "no user has the new address"
    );

    // Each token still works for its own purpose: the sign-in link's page
    // and the reset form are shown, verification verifies, and the change
    // link confirms the change.
    assert_eq!(app.browser().get(&link.path()).status, 200);
    assert_eq!(app.browser().get(&reset.path()).status, 200);
    assert_eq!(app.browser().get(&verify.path()).status, 303);
    assert_eq!(ada.session_json()["user"]["email_verified"], true);
    let done = ada.get(&change.path());
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(ada.session_json()["user"]["email"], NEW);
}

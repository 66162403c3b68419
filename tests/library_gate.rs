//! The app's sign-in gate on every way in besides the password form
//! (tests/library.rs has that one and sign-up): a provider's answer, a
//! sign-in link and a password reset. Each time the gate is asked with the
//! right method, after gatehouse's own checks, and a refusal leaves no
//! session.

mod common;

use std::sync::{Arc, Mutex};

use gatehouse::{Callbacks, Decision, SignInAttempt, SignInMethod};

use common::embedded::EmbeddedApp;
use common::fake_provider::{FakeProvider, FakeUser, through_provider};
use common::{Backend, PASSWORD, sign_in_link};

/// Refuses everyone while `refuse` is set, and remembers how it was asked.
#[derive(Clone, Default)]
struct Gate {
    refuse: Arc<Mutex<bool>>,
    asked: Arc<Mutex<Vec<(SignInMethod, String)>>>,
}

impl Gate {
    fn refuse(&self, on: bool) {
        *self.refuse.lock().unwrap() = on;
    }

    fn last(&self) -> Option<(SignInMethod, String)> {
        self.asked.lock().unwrap().last().cloned()
    }
}

impl Callbacks for Gate {
    fn sign_in(&self, attempt: &SignInAttempt<'_>) -> Decision {
        self.asked
            .lock()
            .unwrap()
            .push((attempt.method.clone(), attempt.email.to_owned()));
        if *self.refuse.lock().unwrap() {
            Decision::Deny("Closed for maintenance.".into())
        } else {
            Decision::Allow
        }
    }
}

on_both_backends!(
    a_providers_answer_passes_the_apps_gate,
    a_sign_in_link_passes_the_apps_gate,
    a_password_reset_passes_the_apps_gate,
);

fn a_providers_answer_passes_the_apps_gate(backend: Backend) {
    let fake = FakeProvider::start();
    let vars = fake.vars("GITHUB");
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let gate = Gate::default();
    let Some(app) = EmbeddedApp::start(backend, &refs, gate.clone(), |_| {}) else {
        return;
    };
    fake.sign_in_as(FakeUser::new("77", "Octo", "octo@example.com"));
    gate.refuse(true);
    let b = app.browser();
    let page = through_provider(&b, "github", &[]);
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(
        page.body.contains("Closed for maintenance."),
        "{}",
        page.body
    );
    assert_eq!(
        gate.last(),
        Some((
            SignInMethod::Provider("github".into()),
            "octo@example.com".into()
        ))
    );
    assert_eq!(app.count("sessions"), 0);
    assert!(b.session_json().is_null());
    gate.refuse(false);
    assert_eq!(through_provider(&b, "github", &[]).status, 303);
    assert_eq!(b.session_json()["user"]["email"], "octo@example.com");
}

fn a_sign_in_link_passes_the_apps_gate(backend: Backend) {
    let gate = Gate::default();
    let Some(app) = EmbeddedApp::start(backend, &[], gate.clone(), |_| {}) else {
        return;
    };
    app.signed_up("Lin", "lin@example.com");
    let sessions = app.count("sessions");
    let b = app.browser();
    assert_eq!(sign_in_link::ask(&b, "lin@example.com", "/").status, 200);
    let mail = sign_in_link::link_mail_in(&app.mailbox(), "lin@example.com", 1);
    gate.refuse(true);
    let refused = sign_in_link::press(&b, &mail.token(), "/");
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("Closed for maintenance."));
    assert_eq!(
        gate.last(),
        Some((SignInMethod::EmailLink, "lin@example.com".into()))
    );
    assert_eq!(app.count("sessions"), sessions);
    // The refusal rolled the link's spending back: it works once allowed.
    gate.refuse(false);
    assert_eq!(sign_in_link::press(&b, &mail.token(), "/").status, 303);
    assert_eq!(app.count("sessions"), sessions + 1);
}

fn a_password_reset_passes_the_apps_gate(backend: Backend) {
    let gate = Gate::default();
    let Some(app) = EmbeddedApp::start(backend, &[], gate.clone(), |_| {}) else {
        return;
    };
    app.signed_up("Ray", "ray@example.com");
    let b = app.browser();
    let asked = b.submit("/forgot-password", &[("email", "ray@example.com")]);
    assert!(asked.status < 400, "{}", asked.body);
    // The second mail: the first is the sign-up's verification.
    let mail = app.mailbox().wait_for_nth("ray@example.com", 2);
    assert!(mail.subject.contains("eset"), "{mail:?}");
    gate.refuse(true);
    let new_password = "a brand new passphrase 42";
    let fields = [
        ("token", mail.token()),
        ("new_password", new_password.to_string()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = b.submit("/reset-password", &fields);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(
        gate.last(),
        Some((SignInMethod::PasswordReset, "ray@example.com".into()))
    );
    // Nothing changed: the old password still signs in (once allowed).
    gate.refuse(false);
    let old = app.browser().submit(
        "/signin",
        &[("email", "ray@example.com"), ("password", PASSWORD)],
    );
    assert_eq!(old.status, 303, "the refused reset changed the password");
}

//! One second-factor code raced by two pending sign-ins, as stories on both
//! backends: two browsers each past the password step post the same code at
//! the same instant (a `Barrier`); exactly one gets a session. A TOTP step is
//! spent once, and so is a recovery code.
//!
//! The two posts go to two instances on one database: within one instance
//! the checks queue for the hashing threads, of which a two-core machine has
//! one, so only two instances race in the database itself. The sign-in
//! limits are off here: their counter rows are written one request after the
//! other just before the check, which spaces the two checks apart.

mod common;

use std::sync::{Arc, Barrier};

use common::totp::{code, first_factor, steady, turn_on};
use common::{Backend, Browser, TestApp};

on_both_backends!(
    one_totp_code_from_two_browsers_at_once_signs_in_one,
    one_recovery_code_from_two_browsers_at_once_signs_in_one,
);

const ADA: &str = "ada@example.com";

const NO_LIMITS: [(&str, &str); 2] = [
    ("RATE_LIMIT_SIGNIN", "off"),
    ("RATE_LIMIT_SIGNIN_ACCOUNT", "off"),
];

/// Two browsers of Ada, each with a pending sign-in, one talking to `app`
/// and one to another instance on the same database.
fn two_pending(app: &TestApp, other: &TestApp) -> Vec<Browser> {
    let here = first_factor(app, ADA, "/").0;
    let there = first_factor(app, ADA, "/").0.moved_to(&other.base);
    assert_eq!(app.count("pending_signins"), 2);
    vec![here, there]
}

/// Posts `code` from each browser at the same instant; the statuses, sorted,
/// and how many browsers ended up signed in.
fn race(browsers: Vec<Browser>, code: &str) -> (Vec<u16>, usize) {
    let barrier = Arc::new(Barrier::new(browsers.len()));
    let threads: Vec<_> = browsers
        .into_iter()
        .map(|b| {
            let (barrier, code) = (barrier.clone(), code.to_owned());
            std::thread::spawn(move || {
                let token = b.csrf_token();
                barrier.wait();
                let page = b.post_form_raw(
                    "/signin/two-factor",
                    &[("code", &code), ("csrf_token", &token)],
                );
                let signed_in = !b.session_json().is_null();
                (page.status, signed_in)
            })
        })
        .collect();
    let outcomes: Vec<(u16, bool)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let mut statuses: Vec<u16> = outcomes.iter().map(|(s, _)| *s).collect();
    statuses.sort();
    (statuses, outcomes.iter().filter(|(_, s)| *s).count())
}

fn sign_ins_with(app: &TestApp, factor: &str) -> i64 {
    app.count(&format!(
        "audit_events WHERE action = 'sign_in' AND details LIKE '%\"second_factor\":\"{factor}\"%'"
    ))
}

fn one_totp_code_from_two_browsers_at_once_signs_in_one(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, &NO_LIMITS) else {
        return;
    };
    let ada = app.signed_up("Ada", ADA);
    let (secret, _) = turn_on(&ada);
    let other = app.second_instance(&NO_LIMITS);
    let browsers = two_pending(&app, &other);
    steady();
    let (statuses, signed_in) = race(browsers, &code(&secret, 0));
    assert_eq!(statuses, [303, 401], "one code, one sign-in");
    assert_eq!(signed_in, 1);
    // Ada's own session and the winner's; the loser's pending sign-in stays
    // for another code.
    assert_eq!(app.count("sessions WHERE aal = 2"), 2);
    assert_eq!(sign_ins_with(&app, "totp"), 1);
    assert_eq!(
        app.count("audit_events WHERE action = 'two_factor_failed'"),
        1
    );
    assert_eq!(app.count("pending_signins"), 1);
}

fn one_recovery_code_from_two_browsers_at_once_signs_in_one(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, &NO_LIMITS) else {
        return;
    };
    let ada = app.signed_up("Ada", ADA);
    let (_, codes) = turn_on(&ada);
    let other = app.second_instance(&NO_LIMITS);
    let browsers = two_pending(&app, &other);
    let (statuses, signed_in) = race(browsers, &codes[0]);
    assert_eq!(statuses, [303, 401], "one recovery code, one sign-in");
    assert_eq!(signed_in, 1);
    assert_eq!(app.count("sessions WHERE aal = 2"), 2);
    assert_eq!(sign_ins_with(&app, "recovery_code"), 1);
    assert_eq!(
        app.count("audit_events WHERE action = 'recovery_code_used'"),
        1
    );
    assert_eq!(app.count("recovery_codes WHERE used_at IS NOT NULL"), 1);
}

//! Re-confirming a stale session with a second factor: a user with two
//! factors on may answer `/reauth` with a TOTP code or a recovery code
//! instead of the password (any one proof will do). The code is spent with
//! the re-confirmation, wrong codes count toward the sign-in limit, and
//! nobody but the user at their own session can use it.

mod common;

use chrono::{NaiveDateTime, Utc};
use common::totp::{code, steady, turn_on};
use common::{Backend, Browser, TestApp};
use diesel::prelude::*;
use gatehouse::db::schema::sessions;
use reqwest::Method;
use serde_json::json;

on_both_backends!(
    a_code_reconfirms_and_cannot_be_used_twice,
    a_recovery_code_reconfirms_once,
    wrong_codes_change_nothing_and_count_toward_the_limit,
    only_the_user_at_their_own_session_can_use_a_code,
    a_user_without_two_factors_is_not_offered_a_code,
);

const ADA: &str = "ada@example.com";
const CALLBACK: &str = "/settings/security";

/// Every session of the app authenticated an hour ago.
fn make_stale(app: &TestApp) {
    let at = Utc::now().naive_utc() - chrono::Duration::hours(1);
    app.with_conn(|conn| {
        diesel::update(sessions::table)
            .set(sessions::authenticated_at.eq(at))
            .execute(conn)
            .unwrap()
    });
}

/// The `authenticated_at` of session rows of user `id`, oldest first.
fn authenticated_at(app: &TestApp, id: &str) -> Vec<NaiveDateTime> {
    let id: i64 = id.parse().unwrap();
    app.with_conn(|conn| {
        sessions::table
            .filter(sessions::user_id.eq(id))
            .select(sessions::authenticated_at)
            .order(sessions::id)
            .load(conn)
            .unwrap()
    })
}

/// New recovery codes: a sensitive action, `303` to `/reauth` when stale.
fn new_codes(b: &Browser) -> common::Page {
    b.submit("/settings/two-factor/recovery-codes", &[])
}

fn reauth_with(b: &Browser, code: &str) -> common::Page {
    b.submit(
        "/reauth/two-factor",
        &[("code", code), ("callbackUrl", CALLBACK)],
    )
}

fn audited(app: &TestApp, what: &str) -> i64 {
    app.count(&format!("audit_events WHERE {what}"))
}

fn a_code_reconfirms_and_cannot_be_used_twice(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let ada = app.signed_up("Ada", ADA);
    let (secret, _) = turn_on(&ada);
    make_stale(&app);
    let to = new_codes(&ada);
    assert_eq!(to.status, 303);
    let page = ada.get(&to.location().unwrap());
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"reauth-code\""), "{}", page.body);
    assert!(
        page.body.contains("id=\"reauth-password\""),
        "either will do"
    );
    assert!(page.body.contains("autocomplete=\"one-time-code\""));

    steady();
    let now = code(&secret, 0);
    let r = reauth_with(&ada, &now);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location().as_deref(), Some(CALLBACK));
    let id = ada.user_id();
    assert_eq!(
        audited(
            &app,
            &format!(
                "action = 'reauthenticated' AND actor_id = {id} AND details LIKE '%\"method\":\"totp\"%'"
            )
        ),
        1
    );
    let fresh = new_codes(&ada);
    assert_eq!(fresh.status, 200, "fresh now: {}", fresh.body);
    assert_eq!(app.session_count(), 1, "the same session, no new sign-in");

    // The same step again, after going stale: refused, nothing changes.
    make_stale(&app);
    let before = authenticated_at(&app, &id);
    let again = reauth_with(&ada, &now);
    assert_eq!(again.status, 401, "{}", again.body);
    assert_eq!(authenticated_at(&app, &id), before);
    assert_eq!(new_codes(&ada).status, 303);
}

fn a_recovery_code_reconfirms_once(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let ada = app.signed_up("Ada", ADA);
    let (_, codes) = turn_on(&ada);
    make_stale(&app);
    // Typed as people do: lower case, without the dashes.
    let typed = codes[3].to_lowercase().replace('-', "");
    let r = reauth_with(&ada, &typed);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location().as_deref(), Some(CALLBACK));
    assert_eq!(
        audited(
            &app,
            "action = 'reauthenticated' AND details LIKE '%\"method\":\"recovery_code\"%'"
        ),
        1
    );
    assert_eq!(
        audited(
            &app,
            "action = 'recovery_code_used' AND details LIKE '%\"left\":9%'"
        ),
        1
    );
    assert_eq!(
        app.count("recovery_codes WHERE used_at IS NOT NULL"),
        1,
        "spent"
    );
    make_stale(&app);
    assert_eq!(reauth_with(&ada, &codes[3]).status, 401, "used once only");
    assert_eq!(reauth_with(&ada, &codes[4]).status, 303);
}

fn wrong_codes_change_nothing_and_count_toward_the_limit(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, &[("RATE_LIMIT_SIGNIN", "3/15m")]) else {
        return;
    };
    let ada = app.signed_up("Ada", ADA);
    let (secret, _) = turn_on(&ada);
    make_stale(&app);
    let id = ada.user_id();
    let before = authenticated_at(&app, &id);
    for (i, wrong) in ["000000x", "not a code", "aaaa-bbbb-cccc-dddd"]
        .iter()
        .enumerate()
    {
        let r = reauth_with(&ada, wrong);
        assert_eq!(r.status, 401, "attempt {i}: {}", r.body);
        assert!(
            r.body.contains("That code is not right"),
            "attempt {i}: {}",
            r.body
        );
        assert!(r.body.contains("id=\"code-error\""), "{}", r.body);
        assert!(
            r.body
                .contains("name=\"callbackUrl\" value=\"/settings/security\"")
        );
    }
    assert_eq!(authenticated_at(&app, &id), before);
    assert_eq!(
        audited(
            &app,
            "action = 'two_factor_failed' AND details LIKE '%\"method\":\"two_factor\"%'"
        ),
        3
    );
    assert_eq!(audited(&app, "action = 'reauthenticated'"), 0);
    // The limit trips: even the right code waits now, and is not spent.
    steady();
    let limited = reauth_with(&ada, &code(&secret, 0));
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert!(limited.header("retry-after").is_some());
    assert_eq!(authenticated_at(&app, &id), before);
    // One counter with sign-in: the password form waits too.
    let r = ada.submit(
        "/reauth",
        &[("password", common::PASSWORD), ("callbackUrl", CALLBACK)],
    );
    assert_eq!(r.status, 429);
}

fn only_the_user_at_their_own_session_can_use_a_code(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    let uma = app.signed_up("Uma", "uma@example.com");
    let uma_id = uma.user_id();
    let (secret, _) = turn_on(&uma);
    make_stale(&app);
    steady();
    let now = code(&secret, 0);

    // Without the CSRF token: refused before anything is read or spent.
    let raw = uma.post_form_raw(
        "/reauth/two-factor",
        &[("code", &now), ("callbackUrl", CALLBACK)],
    );
    assert_eq!(raw.status, 403);

    // A stranger with no session signs in first; nothing is spent.
    let stranger = app.browser();
    let r = reauth_with(&stranger, &now);
    assert_eq!(r.status, 303);
    assert!(
        r.location().unwrap().starts_with("/signin"),
        "{:?}",
        r.location()
    );

    // An admin impersonating Uma, even holding her code: 403.
    let root = app.signed_in(common::ROOT_ADMIN);
    let imp = root.json(
        Method::POST,
        &format!("/api/admin/users/{uma_id}/impersonate"),
        &json!({}),
    );
    assert_eq!(imp.status, 200, "{}", imp.body);
    assert_eq!(reauth_with(&root, &now).status, 403);

    // Another signed-in user's code does not re-confirm Uma's session (the
    // code is checked against the session's own user): Bob's try is his own.
    let bob = app.signed_up("Bob", "bob@example.com");
    make_stale(&app);
    assert_eq!(reauth_with(&bob, &now).status, 401);

    assert_eq!(audited(&app, "action = 'reauthenticated'"), 0);
    // The code is still unspent: Uma herself can use it now.
    let r = reauth_with(&uma, &now);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(audited(&app, "action = 'reauthenticated'"), 1);
}

fn a_user_without_two_factors_is_not_offered_a_code(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let lena = app.signed_up("Lena", "lena@example.com");
    make_stale(&app);
    let page = lena.get("/reauth?callbackUrl=/settings");
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("id=\"reauth-code\""), "{}", page.body);
    assert!(page.body.contains("id=\"reauth-password\""));
    let r = reauth_with(&lena, "123456");
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(audited(&app, "action = 'reauthenticated'"), 0);
}

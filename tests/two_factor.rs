//! Two-factor sign-in (TOTP and recovery codes), as stories on both backends.
//! The codes are computed here from the secret the setup page shows, as an
//! authenticator app would.

mod common;

use common::totp::{between, code, recovery_codes, steady, turn_on};
use common::{Backend, Browser, Page, TestApp};

on_both_backends!(
    turning_it_on_then_signing_in_asks_for_a_code,
    a_code_is_accepted_once,
    a_recovery_code_signs_in_once,
    a_right_password_abandoned_at_the_code_step_leaves_a_trace,
    the_pending_sign_in_is_this_browsers_and_lasts_five_minutes,
    wrong_codes_count_toward_the_sign_in_limit,
    a_sign_in_link_asks_for_the_second_factor_too,
    a_provider_sign_in_asks_for_the_second_factor_too,
    turning_it_on_ends_one_factor_sessions_elsewhere,
    new_recovery_codes_replace_the_old_and_turning_off_removes_them,
    the_database_holds_no_secret_and_no_code,
);

const ADA: &str = "ada@example.com";

/// Password sign-in of Ada (two factors on) in a new browser: the code page.
fn first_factor(app: &TestApp, callback: &str) -> (Browser, Page) {
    common::totp::first_factor(app, ADA, callback)
}

fn audited(app: &TestApp, action: &str) -> i64 {
    app.count(&format!("audit_events WHERE action = '{action}'"))
}

/// The newest `action` event: its actor, its target and its details.
fn last_event(app: &TestApp, action: &str) -> (Option<i64>, Option<i64>, serde_json::Value) {
    let (actor, target, details): (Option<i64>, Option<i64>, String) = app.with_conn(|c| {
        use diesel::prelude::*;
        use gatehouse::db::schema::audit_events as ae;
        ae::table
            .filter(ae::action.eq(action))
            .order(ae::id.desc())
            .select((ae::actor_id, ae::target_id, ae::details))
            .first(c)
            .unwrap_or_else(|e| panic!("no {action} event: {e}"))
    });
    (actor, target, serde_json::from_str(&details).unwrap())
}

/// The first factor was right and the code step was reached: one
/// `two_factor_required` event of the user (actor and target) naming it.
fn assert_required(app: &TestApp, user_id: &str, method: &str) {
    let id: i64 = user_id.parse().unwrap();
    let (actor, target, details) = last_event(app, "two_factor_required");
    assert_eq!((actor, target), (Some(id), Some(id)));
    assert_eq!(details["method"], method, "{details}");
}

fn turning_it_on_then_signing_in_asks_for_a_code(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.signed_up("Ada", ADA);
    assert!(
        b.get("/settings/security")
            .body
            .contains("two-factor-status")
    );
    assert_eq!(b.session_json()["user"]["two_factor"], false);

    // A wrong code leaves it off and shows the same secret again.
    let setup = b.submit("/settings/two-factor/setup", &[]);
    let secret = between(&setup.body, "id=\"totp-secret\">", "<").to_owned();
    let wrong = b.submit("/settings/two-factor/enable", &[("code", "000000")]);
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert!(wrong.body.contains(&secret));
    assert!(wrong.body.contains("id=\"code-error\""));
    assert_eq!(b.session_json()["user"]["two_factor"], false);
    steady();
    let on = b.submit(
        "/settings/two-factor/enable",
        &[("code", &code(&secret, -1))],
    );
    assert_eq!(on.status, 200, "{}", on.body);
    // This browser proved both factors and stays signed in.
    assert_eq!(b.session_json()["user"]["two_factor"], true);
    assert_eq!(audited(&app, "two_factor_enabled"), 1);

    // A password alone makes no session.
    let (other, page) = first_factor(&app, "/settings");
    assert!(
        page.set_cookie("gatehouse_pending").is_some(),
        "{:?}",
        page.set_cookies()
    );
    assert!(page.set_cookie("gatehouse_session").is_none());
    assert!(other.session_json().is_null());
    assert_eq!(other.get("/signin/two-factor").status, 200);

    let wrong = other.submit("/signin/two-factor", &[("code", "123456")]);
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(other.session_json().is_null());
    assert_eq!(audited(&app, "two_factor_failed"), 1);

    steady();
    let done = other.submit("/signin/two-factor", &[("code", &code(&secret, 0))]);
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location().as_deref(), Some("/settings"));
    assert_eq!(other.session_json()["user"]["email"], ADA);
    let (_, _, details) = last_event(&app, "sign_in");
    assert_eq!(details["method"], "password");
    assert_eq!(details["second_factor"], "totp");
    assert_eq!(app.count("sessions WHERE aal = 2"), 2);
    // The pending sign-in is spent: the page sends the browser to /signin.
    assert_eq!(other.get("/signin/two-factor").status, 303);
}

fn a_code_is_accepted_once(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.signed_up("Ada", ADA);
    let (secret, _) = turn_on(&b);
    steady();
    let used = code(&secret, 0);
    let (first, _) = first_factor(&app, "/");
    assert_eq!(
        first
            .submit("/signin/two-factor", &[("code", &used)])
            .status,
        303
    );
    let (second, _) = first_factor(&app, "/");
    let replay = second.submit("/signin/two-factor", &[("code", &used)]);
    assert_eq!(replay.status, 401, "a used code is refused");
    assert!(second.session_json().is_null());
    // An older step than the one used is refused too; the next one works.
    let older = second.submit("/signin/two-factor", &[("code", &code(&secret, -1))]);
    assert_eq!(older.status, 401);
    let next = second.submit("/signin/two-factor", &[("code", &code(&secret, 1))]);
    assert_eq!(next.status, 303, "{}", next.body);
}

fn a_recovery_code_signs_in_once(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.signed_up("Ada", ADA);
    let (_, codes) = turn_on(&b);
    let (phone, _) = first_factor(&app, "/");
    // Typed in capitals and without dashes, it reads the same.
    let typed = codes[3].replace('-', "").to_uppercase();
    let done = phone.submit("/signin/two-factor", &[("code", &typed)]);
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(phone.session_json()["user"]["email"], ADA);
    assert_eq!(audited(&app, "recovery_code_used"), 1);
    let (_, _, details) = last_event(&app, "sign_in");
    assert_eq!(details["method"], "password");
    assert_eq!(details["second_factor"], "recovery_code", "{details}");
    assert!(
        phone.get("/settings/security").body.contains(": 9"),
        "nine codes are left"
    );
    let (again, _) = first_factor(&app, "/");
    assert_eq!(
        again
            .submit("/signin/two-factor", &[("code", &codes[3])])
            .status,
        401
    );
    assert_eq!(
        again
            .submit("/signin/two-factor", &[("code", &codes[4])])
            .status,
        303
    );
}

fn a_right_password_abandoned_at_the_code_step_leaves_a_trace(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.signed_up("Ada", ADA);
    turn_on(&b);
    // A wrong password is a sign_in_failed, and nothing more.
    let wrong = app.browser().submit(
        "/signin",
        &[("email", ADA), ("password", "not the password at all")],
    );
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert_eq!(audited(&app, "two_factor_required"), 0);
    let sign_ins = audited(&app, "sign_in");
    // The right one, by someone without the phone, who goes no further.
    let (stranger, _) = first_factor(&app, "/");
    assert_eq!(audited(&app, "two_factor_required"), 1);
    assert_required(&app, &b.user_id(), "password");
    assert_eq!(audited(&app, "sign_in"), sign_ins, "no sign-in happened");
    assert!(stranger.session_json().is_null());
    // Ada sees it in her own security history.
    let history = b.get("/settings/sessions");
    assert!(
        history.body.contains("data-action=\"two_factor_required\""),
        "{}",
        history.body
    );
}

fn the_pending_sign_in_is_this_browsers_and_lasts_five_minutes(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.signed_up("Ada", ADA);
    let (secret, _) = turn_on(&b);
    let (_, _) = first_factor(&app, "/");
    // A stranger without the cookie gets nothing from a right code.
    let stranger = app.browser();
    steady();
    let page = stranger.submit("/signin/two-factor", &[("code", &code(&secret, 0))]);
    assert_eq!(page.status, 401);
    assert!(stranger.session_json().is_null());
    assert_eq!(stranger.get("/signin/two-factor").status, 303);
    assert_eq!(app.count("pending_signins"), 1);
    // Past its five minutes, the pending sign-in is gone.
    let (late, _) = first_factor(&app, "/");
    app.sql("UPDATE pending_signins SET expires_at = created_at");
    let page = late.submit("/signin/two-factor", &[("code", &code(&secret, 0))]);
    assert_eq!(page.status, 401);
    assert!(page.body.contains("/signin"));
    assert!(late.session_json().is_null());
    // A post without the CSRF token is refused before anything else.
    let (fresh, _) = first_factor(&app, "/");
    let raw = fresh.post_form_raw("/signin/two-factor", &[("code", &code(&secret, 0))]);
    assert_eq!(raw.status, 403);
    assert!(fresh.session_json().is_null());
}

fn wrong_codes_count_toward_the_sign_in_limit(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, &[("RATE_LIMIT_SIGNIN", "3/1m")]) else {
        return;
    };
    let b = app.signed_up("Ada", ADA);
    let (secret, _) = turn_on(&b);
    let (phone, _) = first_factor(&app, "/");
    for _ in 0..3 {
        assert_eq!(
            phone
                .submit("/signin/two-factor", &[("code", "111111")])
                .status,
            401
        );
    }
    steady();
    let limited = phone.submit("/signin/two-factor", &[("code", &code(&secret, 0))]);
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert!(limited.header("retry-after").is_some());
    assert!(phone.session_json().is_null());
}

fn a_sign_in_link_asks_for_the_second_factor_too(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.signed_up("Ada", ADA);
    let (secret, _) = turn_on(&b);
    let phone = app.browser();
    let asked = phone.submit("/signin/email", &[("email", ADA), ("callbackUrl", "/")]);
    assert_eq!(asked.status, 200, "{}", asked.body);
    let mail = loop {
        let mails: Vec<_> = app
            .mailbox()
            .to(ADA)
            .into_iter()
            .filter(|m| m.subject.starts_with("Sign in"))
            .collect();
        if let Some(m) = mails.into_iter().next() {
            break m;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let token = mail.token();
    let pressed = phone.submit("/signin/email", &[("token", &token), ("callbackUrl", "/")]);
    assert_eq!(pressed.status, 303, "{}", pressed.body);
    assert_eq!(pressed.location().as_deref(), Some("/signin/two-factor"));
    assert!(phone.session_json().is_null());
    assert_required(&app, &b.user_id(), "email");
    steady();
    let done = phone.submit("/signin/two-factor", &[("code", &code(&secret, 0))]);
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(phone.session_json()["user"]["email"], ADA);
}

fn a_provider_sign_in_asks_for_the_second_factor_too(backend: Backend) {
    use common::fake_provider::{FakeProvider, FakeUser, through_provider};
    let fake = FakeProvider::start();
    let vars = fake.vars("GITHUB");
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let Some(app) = TestApp::start_with(backend, &refs) else {
        return;
    };
    fake.sign_in_as(FakeUser::new("4242", "Octo Cat", "octo@example.com"));
    let b = app.browser();
    assert_eq!(through_provider(&b, "github", &[]).status, 303);
    let (secret, _) = turn_on(&b);

    let phone = app.browser();
    let page = through_provider(&phone, "github", &[("callbackUrl", "/settings")]);
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location().as_deref(), Some("/signin/two-factor"));
    assert!(phone.session_json().is_null());
    assert_required(&app, &b.user_id(), "github");
    steady();
    let done = phone.submit("/signin/two-factor", &[("code", &code(&secret, 0))]);
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location().as_deref(), Some("/settings"));
    assert_eq!(phone.session_json()["user"]["email"], "octo@example.com");
    let details = app.count(
        "audit_events WHERE action = 'sign_in' AND details LIKE '%\"method\":\"github\"%' \
         AND details LIKE '%\"second_factor\":\"totp\"%'",
    );
    assert_eq!(details, 1);
}

fn turning_it_on_ends_one_factor_sessions_elsewhere(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.signed_up("Ada", ADA);
    let laptop = app.signed_in(ADA);
    assert_eq!(laptop.session_json()["user"]["email"], ADA);
    turn_on(&b);
    assert!(
        laptop.session_json().is_null(),
        "a password-only session no longer stands"
    );
    assert_eq!(b.session_json()["user"]["two_factor"], true);
}

fn new_recovery_codes_replace_the_old_and_turning_off_removes_them(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.signed_up("Ada", ADA);
    let (_, old) = turn_on(&b);
    let page = b.submit("/settings/two-factor/recovery-codes", &[]);
    assert_eq!(page.status, 200, "{}", page.body);
    let fresh = recovery_codes(&page.body);
    assert_eq!(fresh.len(), 10);
    assert_eq!(audited(&app, "recovery_codes_generated"), 1);
    let (phone, _) = first_factor(&app, "/");
    assert_eq!(
        phone
            .submit("/signin/two-factor", &[("code", &old[0])])
            .status,
        401,
        "the old codes stop working"
    );
    assert_eq!(
        phone
            .submit("/signin/two-factor", &[("code", &fresh[0])])
            .status,
        303
    );

    // A session signed in longer ago than SESSION_FRESH_AGE re-confirms first.
    let set_authenticated = |at: chrono::NaiveDateTime| {
        app.with_conn(|c| {
            use diesel::prelude::*;
            use gatehouse::db::schema::sessions;
            diesel::update(sessions::table)
                .set(sessions::authenticated_at.eq(at))
                .execute(c)
                .unwrap()
        })
    };
    set_authenticated(chrono::Utc::now().naive_utc() - chrono::Duration::days(1));
    let stale = b.submit("/settings/two-factor/disable", &[]);
    assert_eq!(stale.status, 303);
    assert!(
        stale
            .location()
            .unwrap()
            .starts_with("/reauth?callbackUrl="),
        "{:?}",
        stale.location()
    );
    let stored = || -> Vec<(Vec<u8>, Option<chrono::NaiveDateTime>)> {
        app.with_conn(|c| {
            use diesel::prelude::*;
            use gatehouse::db::schema::recovery_codes as r;
            r::table
                .order(r::id)
                .select((r::code_hash, r::used_at))
                .load(c)
                .unwrap()
        })
    };
    let before = stored();
    let stale_codes = b.submit("/settings/two-factor/recovery-codes", &[]);
    assert_eq!(stale_codes.status, 303);
    assert!(!stale_codes.body.contains("id=\"recovery-codes\""));
    assert_eq!(stored(), before, "the stored codes are as they were");
    assert_eq!(audited(&app, "recovery_codes_generated"), 1);
    assert_eq!(b.session_json()["user"]["two_factor"], true);
    set_authenticated(chrono::Utc::now().naive_utc());
    let off = b.submit("/settings/two-factor/disable", &[]);
    assert_eq!(off.status, 303, "{}", off.body);
    assert_eq!(b.session_json()["user"]["two_factor"], false);
    assert_eq!(app.count("recovery_codes"), 0);
    assert_eq!(app.count("totp_secrets"), 0);
    assert_eq!(audited(&app, "two_factor_disabled"), 1);
    // A password alone signs in again.
    let laptop = app.signed_in(ADA);
    assert_eq!(laptop.session_json()["user"]["email"], ADA);
}

fn the_database_holds_no_secret_and_no_code(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.signed_up("Ada", ADA);
    let (secret, codes) = turn_on(&b);
    let (sealed, hashes): (String, Vec<Vec<u8>>) = app.with_conn(|c| {
        use diesel::prelude::*;
        use gatehouse::db::schema::{recovery_codes, totp_secrets};
        (
            totp_secrets::table
                .select(totp_secrets::secret)
                .first(c)
                .unwrap(),
            recovery_codes::table
                .select(recovery_codes::code_hash)
                .load(c)
                .unwrap(),
        )
    });
    assert!(!sealed.contains(&secret));
    assert_eq!(hashes.len(), 10);
    for code in &codes {
        let plain = code.replace('-', "");
        assert!(
            hashes
                .iter()
                .all(|h| !String::from_utf8_lossy(h).contains(&plain)),
            "no code is stored"
        );
        assert!(!sealed.contains(&plain));
    }
}

//! Password reset by mail, as stories on both backends: the link in the
//! written mail is the one the browser follows.

mod common;

use common::{Backend, Browser, PASSWORD, Page, TestApp};

on_both_backends!(
    a_reset_signs_this_browser_in_and_every_other_device_out,
    expired_reused_and_wrong_purpose_links_change_nothing,
    an_unknown_address_gets_the_same_answer_and_no_mail,
    the_json_twins_answer_ok_and_the_fresh_session,
    a_weak_new_password_keeps_the_link,
    an_impersonating_admin_cannot_reset_for_the_user,
    a_link_does_nothing_for_a_changed_address_or_a_banned_user,
    two_resets_with_one_link_at_once_one_wins,
    a_password_change_in_settings_ends_the_reset_and_sign_in_links,
);

const NEW_PASSWORD: &str = "a brand new passphrase";

/// Asks for a reset link for `email` from `b`.
fn forgot(b: &Browser, email: &str) -> Page {
    b.submit("/forgot-password", &[("email", email)])
}

fn reset(b: &Browser, token: &str, password: &str) -> Page {
    b.submit(
        "/reset-password",
        &[("token", token), ("new_password", password)],
    )
}

fn sign_in(app: &TestApp, email: &str, password: &str) -> u16 {
    app.browser()
        .submit("/signin", &[("email", email), ("password", password)])
        .status
}

/// The newest reset mail to `to`, once `n` reset mails have arrived.
fn reset_mail(app: &TestApp, to: &str) -> common::mailbox::Mail {
    let started = std::time::Instant::now();
    loop {
        let found = app
            .mailbox()
            .to(to)
            .into_iter()
            .rfind(|m| m.subject.starts_with("Reset"));
        if let Some(m) = found {
            return m;
        }
        assert!(started.elapsed().as_secs() < 10, "no reset mail to {to}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn audited(app: &TestApp, action: &str) -> i64 {
    app.count(&format!("audit_events WHERE action = '{action}'"))
}

fn a_reset_signs_this_browser_in_and_every_other_device_out(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let laptop = app.signed_up("Ada", "ada@example.com");
    let phone = app.signed_in("ada@example.com");
    assert_eq!(phone.session_json()["user"]["email_verified"], false);

    let here = app.browser();
    let page = forgot(&here, "ada@example.com");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"reset-sent\""), "{}", page.body);
    let mail = reset_mail(&app, "ada@example.com");
    assert!(mail.link().starts_with(&app.base), "{}", mail.link());
    for part in ["gatehouse", "UTC", "If this was not you"] {
        assert!(mail.text.contains(part), "{part}: {}", mail.text);
    }

    let form = here.get(&mail.path());
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("name=\"new_password\""));
    let done = reset(&here, &mail.token(), NEW_PASSWORD);
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location().as_deref(), Some("/"));

    let session = here.session_json();
    assert_eq!(session["user"]["email"], "ada@example.com");
    assert_eq!(session["user"]["email_verified"], true, "a reset verifies");
    for other in [&laptop, &phone] {
        assert!(other.session_json().is_null(), "another device stayed in");
    }
    assert_eq!(app.session_count(), 1);
    assert_eq!(sign_in(&app, "ada@example.com", PASSWORD), 401);
    assert_eq!(sign_in(&app, "ada@example.com", NEW_PASSWORD), 303);
    assert_eq!(audited(&app, "password_reset_requested"), 1);
    assert_eq!(audited(&app, "password_reset"), 1);

    // The link is spent.
    assert_eq!(here.get(&mail.path()).status, 400);
    let again = app.browser();
    let page = reset(&again, &mail.token(), "yet another passphrase");
    assert_eq!(page.status, 400);
    assert!(page.body.contains("id=\"link-invalid\""), "{}", page.body);
    assert!(again.session_json().is_null());
    assert_eq!(sign_in(&app, "ada@example.com", NEW_PASSWORD), 303);
}

fn expired_reused_and_wrong_purpose_links_change_nothing(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let ada = app.signed_up("Ada", "ada@example.com");
    // The sign-up's verification link, and a reset link.
    let verify = app.mailbox().wait_for("ada@example.com");
    assert!(verify.path().starts_with("/verify-email?token="));
    forgot(&app.browser(), "ada@example.com");
    let reset_link = reset_mail(&app, "ada@example.com");
    let tokens_before = app.count("email_tokens");
    assert_eq!(tokens_before, 2);

    // A verification token is no reset token, and the other way round.
    let b = app.browser();
    assert_eq!(
        b.get(&format!("/reset-password?token={}", verify.token()))
            .status,
        400
    );
    assert_eq!(reset(&b, &verify.token(), NEW_PASSWORD).status, 400);
    let wrong = b.get(&format!("/verify-email?token={}", reset_link.token()));
    assert_eq!(wrong.status, 400);
    assert_eq!(app.count("email_tokens"), tokens_before, "nothing spent");
    assert_eq!(ada.session_json()["user"]["email_verified"], false);

    // Junk and unknown tokens.
    for junk in [
        "",
        "x",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "%00%ff",
    ] {
        assert_eq!(reset(&b, junk, NEW_PASSWORD).status, 400, "{junk:?}");
        assert_eq!(b.get(&format!("/verify-email?token={junk}")).status, 400);
    }

    // Expired: the row is there, the link is dead.
    app.expire_every_link();
    assert_eq!(b.get(&reset_link.path()).status, 400);
    assert_eq!(reset(&b, &reset_link.token(), NEW_PASSWORD).status, 400);
    assert_eq!(b.get(&verify.path()).status, 400);
    assert!(b.session_json().is_null());
    assert_eq!(ada.session_json()["user"]["email_verified"], false);
    assert_eq!(sign_in(&app, "ada@example.com", PASSWORD), 303);
    assert_eq!(audited(&app, "password_reset"), 0);
    assert_eq!(audited(&app, "email_verified"), 0);
}

fn an_unknown_address_gets_the_same_answer_and_no_mail(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    app.signed_up("Ada", "ada@example.com");
    let verification = app.mailbox().wait_for("ada@example.com");
    let b = app.browser();
    let strip = |p: &Page, email: &str| {
        let token = p.meta_csrf().unwrap_or_default();
        p.body.replace(&token, "TOKEN").replace(email, "EMAIL")
    };
    let unknown = forgot(&b, "nobody@example.com");
    let known = forgot(&b, "ada@example.com");
    assert_eq!(unknown.status, known.status);
    assert_eq!(
        strip(&unknown, "nobody@example.com"),
        strip(&known, "ada@example.com")
    );
    let json = |email: &str| {
        b.json(
            reqwest::Method::POST,
            "/api/auth/forgot-password",
            &serde_json::json!({ "email": email }),
        )
    };
    let (u, k) = (json("nobody@example.com"), json("ada@example.com"));
    assert_eq!((u.status, u.body.as_str()), (200, r#"{"ok":true}"#));
    assert_eq!((k.status, k.body.as_str()), (200, r#"{"ok":true}"#));
    // Mail is written in order: once the known address's second reset mail
    // is there, any mail to the unknown one would be too.
    app.mailbox().wait_for_nth("ada@example.com", 3);
    let all = app.mailbox().all();
    assert!(all.iter().all(|m| m.to == "ada@example.com"), "{all:?}");
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].text, verification.text);
    // A malformed address is a form error, not a lookup.
    assert_eq!(forgot(&b, "not an address").status, 422);
}

fn the_json_twins_answer_ok_and_the_fresh_session(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let old = app.signed_up("Ada", "ada@example.com");
    let client = app.browser();
    let asked = client.json(
        reqwest::Method::POST,
        "/api/auth/forgot-password",
        &serde_json::json!({ "email": "ADA@example.com" }),
    );
    assert_eq!(asked.json(), serde_json::json!({ "ok": true }));
    let mail = reset_mail(&app, "ada@example.com");
    let body = |token: &str, password: &str| serde_json::json!({ "token": token, "new_password": password });
    let weak = client.json(
        reqwest::Method::POST,
        "/api/auth/reset-password",
        &body(&mail.token(), "short"),
    );
    assert_eq!(weak.status, 422, "{}", weak.body);
    assert_eq!(weak.json()["field"], "new_password");
    let done = client.json(
        reqwest::Method::POST,
        "/api/auth/reset-password",
        &body(&mail.token(), NEW_PASSWORD),
    );
    assert_eq!(done.status, 200, "{}", done.body);
    let session = done.json();
    assert_eq!(session["user"]["email"], "ada@example.com");
    assert_eq!(session["user"]["email_verified"], true);
    assert!(session["expires"].is_string());
    assert_eq!(client.session_json()["user"]["email"], "ada@example.com");
    assert!(old.session_json().is_null());
    let spent = client.json(
        reqwest::Method::POST,
        "/api/auth/reset-password",
        &body(&mail.token(), NEW_PASSWORD),
    );
    assert_eq!(spent.status, 400);
    assert_eq!(spent.json()["error"], "bad_request");
}

fn a_weak_new_password_keeps_the_link(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    app.signed_up("Ada", "ada@example.com");
    let b = app.browser();
    forgot(&b, "ada@example.com");
    let mail = reset_mail(&app, "ada@example.com");
    let page = reset(&b, &mail.token(), "short");
    assert_eq!(page.status, 422);
    assert!(page.body.contains("id=\"form-error\""), "{}", page.body);
    assert!(page.body.contains(&mail.token()), "the form keeps the link");
    assert!(b.session_json().is_null());
    assert_eq!(reset(&b, &mail.token(), NEW_PASSWORD).status, 303);
}

fn an_impersonating_admin_cannot_reset_for_the_user(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    app.signed_up("Ada", "ada@example.com");
    let ada_id = app.signed_in("ada@example.com").user_id();
    let admin = app.signed_in(common::ROOT_ADMIN);
    let started = admin.submit(&format!("/admin/users/{ada_id}/impersonate"), &[]);
    assert_eq!(started.status, 303, "{}", started.body);
    assert_eq!(admin.session_json()["user"]["email"], "ada@example.com");
    assert_eq!(forgot(&admin, "ada@example.com").status, 403);
    assert_eq!(admin.submit("/settings/verify-email", &[]).status, 403);
    assert!(app.count("audit_events WHERE action = 'impersonation_refused'") >= 2);
    assert_eq!(audited(&app, "password_reset_requested"), 0);
}

fn a_link_does_nothing_for_a_changed_address_or_a_banned_user(backend: Backend) {
    use diesel::prelude::*;
    use gatehouse::db::schema::users;
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let ada = app.signed_up("Ada", "ada@example.com");
    let set = |change: &dyn Fn(&mut gatehouse::db::DbConn)| app.with_conn(|c| change(c));
    // Banned: the gate refuses, and the link, password and sessions stay.
    forgot(&app.browser(), "ada@example.com");
    let mail = reset_mail(&app, "ada@example.com");
    let now = chrono::Utc::now().naive_utc();
    set(&|c| {
        diesel::update(users::table)
            .set(users::banned_at.eq(Some(now)))
            .execute(c)
            .unwrap();
    });
    let b = app.browser();
    assert_eq!(reset(&b, &mail.token(), NEW_PASSWORD).status, 403);
    assert_eq!(
        app.count("email_tokens WHERE purpose = 'reset_password'"),
        1
    );
    set(&|c| {
        diesel::update(users::table)
            .set(users::banned_at.eq(None::<chrono::NaiveDateTime>))
            .execute(c)
            .unwrap();
    });
    // Sent to an address the user no longer has: nothing changes.
    set(&|c| {
        diesel::update(users::table)
            .set(users::email.eq("ada@example.org"))
            .execute(c)
            .unwrap();
    });
    assert_eq!(reset(&b, &mail.token(), NEW_PASSWORD).status, 400);
    assert!(b.session_json().is_null());
    assert_eq!(ada.session_json()["user"]["email"], "ada@example.org");
    assert_eq!(ada.session_json()["user"]["email_verified"], false);
    assert_eq!(sign_in(&app, "ada@example.org", PASSWORD), 303);
    assert_eq!(audited(&app, "password_reset"), 0);
}

fn two_resets_with_one_link_at_once_one_wins(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    app.signed_up("Ada", "ada@example.com");
    forgot(&app.browser(), "ada@example.com");
    let token = reset_mail(&app, "ada@example.com").token();
    let answers: Vec<u16> = std::thread::scope(|s| {
        let racers: Vec<_> = ["first passphrase!", "second passphrase"]
            .into_iter()
            .map(|password| {
                let (base, token) = (app.base.clone(), token.clone());
                s.spawn(move || reset(&Browser::new(&base), &token, password).status)
            })
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let mut sorted = answers.clone();
    sorted.sort();
    assert_eq!(sorted, [303, 400], "{answers:?}");
    assert_eq!(app.session_count(), 1);
    assert_eq!(audited(&app, "password_reset"), 1);
}

/// A new password set in settings makes the mailed links that get into the
/// account without it worthless, in the same transaction.
fn a_password_change_in_settings_ends_the_reset_and_sign_in_links(backend: Backend) {
    use common::sign_in_link::{ask, link_mail, press};
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let ada = app.signed_up("Ada", "ada@example.com");
    let stranger = app.browser();
    forgot(&stranger, "ada@example.com");
    let mail = reset_mail(&app, "ada@example.com");
    assert_eq!(ask(&stranger, "ada@example.com", "/").status, 200);
    let link = link_mail(&app, "ada@example.com", 1);
    assert_eq!(
        app.count("email_tokens WHERE purpose IN ('reset_password', 'sign_in')"),
        2
    );

    let changed = ada.submit(
        "/settings/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", NEW_PASSWORD),
        ],
    );
    assert_eq!(changed.status, 303, "{}", changed.body);
    assert_eq!(
        app.count("email_tokens WHERE purpose IN ('reset_password', 'sign_in')"),
        0
    );
    // The verification link is about the address, not the account: it stays.
    assert_eq!(app.count("email_tokens WHERE purpose = 'verify_email'"), 1);

    let page = reset(&stranger, &mail.token(), "the strangers passphrase");
    assert_eq!(page.status, 400, "{}", page.body);
    assert_eq!(stranger.get(&mail.path()).status, 400);
    assert_eq!(press(&stranger, &link.token(), "/").status, 400);
    assert!(stranger.session_json().is_null());
    assert_eq!(audited(&app, "password_reset"), 0);
    assert_eq!(
        sign_in(&app, "ada@example.com", "the strangers passphrase"),
        401
    );
    assert_eq!(sign_in(&app, "ada@example.com", NEW_PASSWORD), 303);
    assert_eq!(ada.session_json()["user"]["email"], "ada@example.com");
}

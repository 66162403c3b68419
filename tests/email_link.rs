//! Sign-in by link, as stories on both backends: the link in the written mail
//! is the one the browser follows; opening it spends nothing, its button signs in.
//! Who may not use one (unknown addresses, banned users, the limit, an
//! impersonating admin, no CSRF token) is in tests/email_link_refusals.rs.

mod common;

use common::sign_in_link::*;
use common::{Backend, Browser, PASSWORD, TestApp};

on_both_backends!(
    the_links_button_signs_in_and_opening_it_spends_nothing,
    an_external_callback_lands_on_the_home_page,
    a_used_expired_or_replaced_link_is_refused,
    tokens_of_other_purposes_do_not_cross,
    a_changed_address_makes_the_old_link_worthless,
    an_unverified_user_signs_in_by_link_when_verification_is_required,
    the_link_is_neither_in_the_database_nor_in_the_log,
);

fn the_links_button_signs_in_and_opening_it_spends_nothing(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, &[("GATEHOUSE_METRICS_ADDR", "127.0.0.1:0")])
    else {
        return;
    };
    account(&app, "ada@example.com");
    let b = app.browser();
    let signin = b.get("/signin?callbackUrl=/settings");
    assert!(
        signin.body.contains("id=\"signin-link-form\""),
        "{}",
        signin.body
    );
    assert!(signin.body.contains("Email me a sign-in link"));

    let sent = ask(&b, "ADA@example.com", "/settings");
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert!(sent.body.contains("id=\"mail-sent\""), "{}", sent.body);
    let mail = link_mail(&app, "ada@example.com", 1);
    assert!(
        mail.link()
            .starts_with(&format!("{}/signin/email?token=", app.base)),
        "{}",
        mail.link()
    );
    assert!(
        mail.link().ends_with("&callbackUrl=%2Fsettings"),
        "{}",
        mail.link()
    );
    for part in ["sign in", "15 minutes", "UTC", "If this was not you"] {
        assert!(mail.text.contains(part), "{part}: {}", mail.text);
    }
    assert_eq!(audited(&app, "sign_in_link_sent"), 1);

    // A scanner, then the user, open the link: nothing is spent.
    for _ in 0..2 {
        let page = b.get(&mail.path());
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body.contains("id=\"signin-link-confirm\""),
            "{}",
            page.body
        );
        assert!(page.body.contains("value=\"/settings\""), "{}", page.body);
        assert_eq!(link_rows(&app), 1);
        assert!(b.session_json().is_null());
    }
    assert_eq!(app.session_count(), 0);

    let done = press(&b, &mail.token(), "/settings");
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location().as_deref(), Some("/settings"));
    let session = b.session_json();
    assert_eq!(session["user"]["email"], "ada@example.com");
    assert_eq!(session["user"]["email_verified"], true, "a link verifies");
    assert_eq!(b.get("/settings").status, 200);
    assert_eq!(link_rows(&app), 0);
    assert_eq!(
        app.count(
            "audit_events WHERE action = 'sign_in' AND details LIKE '%\"method\":\"email\"%'"
        ),
        1
    );
    assert_eq!(audited(&app, "email_verified"), 1);
    assert_eq!(app.session_count(), 1);

    // Counted like the other sign-ins, and so is a dead link.
    assert_eq!(press(&app.browser(), &mail.token(), "/").status, 400);
    let metrics = reqwest::blocking::get(format!("{}/metrics", app.metrics_base.as_ref().unwrap()))
        .unwrap()
        .text()
        .unwrap();
    for line in [
        r#"gatehouse_sign_ins_total{method="email",result="ok"} 1"#,
        r#"gatehouse_sign_ins_total{method="email",result="invalid_link"} 1"#,
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line}: {metrics}");
    }
}

fn an_external_callback_lands_on_the_home_page(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    account(&app, "ada@example.com");
    let b = app.browser();
    assert_eq!(
        ask(&b, "ada@example.com", "https://evil.example/x").status,
        200
    );
    let mail = link_mail(&app, "ada@example.com", 1);
    assert!(!mail.link().contains("callbackUrl"), "{}", mail.link());
    let page = b.get(&format!("{}&callbackUrl=//evil.example/x", mail.path()));
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("evil.example"), "{}", page.body);
    let done = press(&b, &mail.token(), "https://evil.example/x");
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location().as_deref(), Some("/"));
    assert_eq!(b.session_json()["user"]["email"], "ada@example.com");
}

fn a_used_expired_or_replaced_link_is_refused(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    account(&app, "ada@example.com");
    // Two links: using the second makes the first worthless.
    ask(&app.browser(), "ada@example.com", "/");
    let first = link_mail(&app, "ada@example.com", 1);
    ask(&app.browser(), "ada@example.com", "/");
    let second = link_mail(&app, "ada@example.com", 2);
    assert_eq!(link_rows(&app), 2);
    let b = app.browser();
    assert_eq!(press(&b, &second.token(), "/").status, 303);
    assert_eq!(link_rows(&app), 0, "the user's other links are revoked");

    // Used twice: the second press is refused and signs nobody in.
    for token in [second.token(), first.token()] {
        let other = app.browser();
        let page = press(&other, &token, "/");
        assert_eq!(page.status, 400, "{}", page.body);
        assert!(page.body.contains("id=\"link-invalid\""), "{}", page.body);
        assert!(other.session_json().is_null());
        assert_eq!(
            other.get(&format!("/signin/email?token={token}")).status,
            400
        );
    }
    assert_eq!(app.session_count(), 1);

    // Expired: the row is there, the link is dead.
    ask(&app.browser(), "ada@example.com", "/");
    let third = link_mail(&app, "ada@example.com", 3);
    app.expire_every_link();
    let late = app.browser();
    assert_eq!(late.get(&third.path()).status, 400);
    assert_eq!(press(&late, &third.token(), "/").status, 400);
    assert!(late.session_json().is_null());
    assert_eq!(link_rows(&app), 1);

    // Junk.
    for junk in [
        "",
        "x",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "%00%ff",
    ] {
        assert_eq!(press(&late, junk, "/").status, 400, "{junk:?}");
        assert_eq!(late.get(&format!("/signin/email?token={junk}")).status, 400);
    }
    assert_eq!(late.get("/signin/email").status, 400);
    assert_eq!(app.session_count(), 1);
    assert_eq!(audited(&app, "sign_in"), 1);
}

fn tokens_of_other_purposes_do_not_cross(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    account(&app, "ada@example.com");
    let verify = app.mailbox().wait_for("ada@example.com");
    let b = app.browser();
    b.submit("/forgot-password", &[("email", "ada@example.com")]);
    ask(&b, "ada@example.com", "/");
    let link = link_mail(&app, "ada@example.com", 1);
    app.mailbox().wait_for_nth("ada@example.com", 3);
    let reset = app
        .mailbox()
        .to("ada@example.com")
        .into_iter()
        .find(|m| m.subject.starts_with("Reset"))
        .expect("a reset mail");
    assert_eq!(app.count("email_tokens"), 3);

    for other in [reset.token(), verify.token()] {
        assert_eq!(b.get(&format!("/signin/email?token={other}")).status, 400);
        assert_eq!(press(&b, &other, "/").status, 400);
    }
    let path = format!("/reset-password?token={}", link.token());
    assert_eq!(b.get(&path).status, 400);
    let refused = b.submit(
        "/reset-password",
        &[
            ("token", &link.token()),
            ("new_password", "a brand new passphrase"),
        ],
    );
    assert_eq!(refused.status, 400);
    assert_eq!(
        b.get(&format!("/verify-email?token={}", link.token()))
            .status,
        400
    );
    assert_eq!(app.count("email_tokens"), 3, "nothing spent");
    assert!(b.session_json().is_null());
    assert_eq!(app.session_count(), 0);
}

fn a_changed_address_makes_the_old_link_worthless(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    account(&app, "ada@example.com");
    ask(&app.browser(), "ada@example.com", "/");
    let mail = link_mail(&app, "ada@example.com", 1);
    set_users(&app, "email = 'ada@example.org'");
    let b = app.browser();
    assert_eq!(b.get(&mail.path()).status, 200, "a look changes nothing");
    let page = press(&b, &mail.token(), "/");
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.body.contains("id=\"link-invalid\""), "{}", page.body);
    assert!(b.session_json().is_null());
    assert_eq!(app.session_count(), 0);
    assert_eq!(app.count("users WHERE email_verified_at IS NOT NULL"), 0);
    assert_eq!(audited(&app, "sign_in"), 0);
    // The old address is no way in either: nothing to ask a link for.
    ask(&app.browser(), "ada@example.com", "/");
    assert_eq!(link_rows(&app), 1);
    // The new address is.
    let signed = app.signed_in("ada@example.org");
    assert_eq!(signed.session_json()["user"]["email_verified"], false);
}

fn an_unverified_user_signs_in_by_link_when_verification_is_required(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, &[("EMAIL_VERIFICATION", "required")]) else {
        return;
    };
    let b = app.browser();
    let page = b.submit(
        "/signup",
        &[
            ("name", "Ada"),
            ("email", "ada@example.com"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(page.status, 200, "{}", page.body);
    let refused = b.submit(
        "/signin",
        &[("email", "ada@example.com"), ("password", PASSWORD)],
    );
    assert_eq!(refused.status, 403);
    ask(&b, "ada@example.com", "/settings");
    let mail = link_mail(&app, "ada@example.com", 1);
    let done = press(&b, &mail.token(), "/settings");
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location().as_deref(), Some("/settings"));
    assert_eq!(b.session_json()["user"]["email_verified"], true);
    assert_eq!(audited(&app, "email_verified"), 1);
    // Verified now, the password works too.
    assert_eq!(
        app.signed_in("ada@example.com").session_json()["user"]["email"],
        "ada@example.com"
    );
}

fn the_link_is_neither_in_the_database_nor_in_the_log(backend: Backend) {
    use common::process::{ProcessDb, mailing_server_with_ada};
    use sha2::Digest;
    let Some(db) = ProcessDb::new(backend) else {
        return;
    };
    let (server, outbox) = mailing_server_with_ada(&db, &[("EMAIL_VERIFICATION", "off")]);
    let b = Browser::new(&server.base);
    assert_eq!(ask(&b, "ada@example.com", "/settings").status, 200);
    let mail = common::mailbox::Mailbox::new(outbox).wait_for("ada@example.com");
    let token = mail.token();
    // Every table of a full dump: the hash in email_tokens, the token nowhere.
    let dump = db.dump();
    dump.assert_absent("the sign-in token", &token);
    let hash = sha2::Sha256::digest(token.as_bytes()).to_vec();
    let holding = dump.rows_holding(&hash);
    assert_eq!(holding.len(), 1, "{holding:?}");
    assert_eq!(holding[0].0, "email_tokens");

    assert_eq!(b.get(&mail.path()).status, 200);
    assert_eq!(press(&b, &token, "/settings").status, 303);
    db.dump().assert_absent("the spent sign-in token", &token);
    server.signal(libc::SIGTERM);
    let (_, _, log) = server.wait_with_log(std::time::Duration::from_secs(30));
    assert!(log.contains("/signin/email"), "{log}");
    assert!(!log.contains(&token), "a token in the log: {log}");
}

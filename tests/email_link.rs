//! Sign-in by link, as stories on both backends: the link in the written mail
//! is the one the browser follows; opening it spends nothing, its button signs in.

mod common;

use common::{Backend, Browser, PASSWORD, Page, TestApp};

on_both_backends!(
    the_links_button_signs_in_and_opening_it_spends_nothing,
    an_external_callback_lands_on_the_home_page,
    a_used_expired_or_replaced_link_is_refused,
    tokens_of_other_purposes_do_not_cross,
    an_unknown_address_gets_the_same_answer_and_no_mail,
    the_gate_refuses_a_banned_user_and_another_domain,
    a_changed_address_makes_the_old_link_worthless,
    the_email_limit_trips,
    an_impersonating_admin_can_neither_ask_nor_spend,
    a_post_without_csrf_changes_nothing,
    an_unverified_user_signs_in_by_link_when_verification_is_required,
    the_link_is_neither_in_the_database_nor_in_the_log,
);

/// Asks for a sign-in link for `email` from `b`.
fn ask(b: &Browser, email: &str, callback: &str) -> Page {
    b.submit(
        "/signin/email",
        &[("email", email), ("callbackUrl", callback)],
    )
}

/// Presses the button of the link's page.
fn press(b: &Browser, token: &str, callback: &str) -> Page {
    b.submit(
        "/signin/email",
        &[("token", token), ("callbackUrl", callback)],
    )
}

/// The `n`th sign-in mail to `to`, once it has arrived.
fn link_mail(app: &TestApp, to: &str, n: usize) -> common::mailbox::Mail {
    let started = std::time::Instant::now();
    loop {
        let mails: Vec<_> = app
            .mailbox()
            .to(to)
            .into_iter()
            .filter(|m| m.subject.starts_with("Sign in"))
            .collect();
        if mails.len() >= n {
            return mails[n - 1].clone();
        }
        assert!(
            started.elapsed().as_secs() < 10,
            "no sign-in mail #{n} to {to}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn audited(app: &TestApp, action: &str) -> i64 {
    app.count(&format!("audit_events WHERE action = '{action}'"))
}

fn link_rows(app: &TestApp) -> i64 {
    app.count("email_tokens WHERE purpose = 'sign_in'")
}

/// An account that no browser is signed in to.
fn account(app: &TestApp, email: &str) {
    app.signed_up("Ada", email);
    app.sql("DELETE FROM sessions");
}

fn set_users(app: &TestApp, set: &str) {
    app.sql(&format!("UPDATE users SET {set}"));
}

/// Bans every user since `at` (for spam), or lifts the ban.
fn ban(app: &TestApp, at: Option<chrono::NaiveDateTime>) {
    use diesel::prelude::*;
    use gatehouse::db::schema::users;
    app.with_conn(|c| {
        diesel::update(users::table)
            .set((
                users::banned_at.eq(at),
                users::ban_reason.eq(at.map(|_| "spam")),
            ))
            .execute(c)
            .unwrap()
    });
}

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

fn an_unknown_address_gets_the_same_answer_and_no_mail(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, &[("EMAIL_VERIFICATION", "off")]) else {
        return;
    };
    account(&app, "ada@example.com");
    let b = app.browser();
    let strip = |p: &Page| {
        let token = p.meta_csrf().unwrap_or_default();
        p.body.replace(&token, "TOKEN")
    };
    let unknown = ask(&b, "nobody@example.com", "/");
    let known = ask(&b, "ada@example.com", "/");
    assert_eq!((unknown.status, known.status), (200, 200));
    assert_eq!(strip(&unknown), strip(&known));
    let json = |email: &str| {
        b.json(
            reqwest::Method::POST,
            "/api/auth/signin/email",
            &serde_json::json!({ "email": email, "callbackUrl": "/settings" }),
        )
    };
    let (u, k) = (json("nobody@example.com"), json("ada@example.com"));
    assert_eq!((u.status, u.body.as_str()), (200, r#"{"ok":true}"#));
    assert_eq!((k.status, k.body.as_str()), (200, r#"{"ok":true}"#));
    // Mail is written in order: once the known address's second mail is
    // there, any mail to the unknown one would be too.
    let by_json = link_mail(&app, "ada@example.com", 2);
    assert!(by_json.link().ends_with("&callbackUrl=%2Fsettings"));
    let all = app.mailbox().all();
    assert!(all.iter().all(|m| m.to == "ada@example.com"), "{all:?}");
    assert_eq!(all.len(), 2);
    assert_eq!(link_rows(&app), 2, "no row for the unknown address");
    assert_eq!(
        app.count("audit_events WHERE action = 'sign_in_link_sent' AND target_id IS NULL"),
        2
    );
    // A malformed address is a form error, not a lookup.
    let bad = ask(&b, "not an address", "/");
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("id=\"form-error\""), "{}", bad.body);
    let bad = json("not an address");
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert_eq!(bad.json()["field"], "email");
    assert_eq!(audited(&app, "sign_in_link_sent"), 4);
}

fn the_gate_refuses_a_banned_user_and_another_domain(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, &[("GATEHOUSE_EMAIL_DOMAINS", "example.com")])
    else {
        return;
    };
    account(&app, "ada@example.com");
    ask(&app.browser(), "ada@example.com", "/");
    let mail = link_mail(&app, "ada@example.com", 1);

    // Banned: refused with the gate's message; the transaction rolls back,
    // so the token stays (useless while the ban lasts).
    ban(&app, Some(chrono::Utc::now().naive_utc()));
    let b = app.browser();
    let page = press(&b, &mail.token(), "/");
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(
        page.body.contains("This account is banned"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Reason: spam"), "{}", page.body);
    assert!(b.session_json().is_null());
    assert_eq!(link_rows(&app), 1, "the refusal rolled back");
    assert_eq!(app.count("users WHERE email_verified_at IS NOT NULL"), 0);
    assert_eq!(audited(&app, "sign_in"), 0);
    ban(&app, None);

    // A domain no longer allowed: the same refusal as a password sign-in.
    let app = app.restart(&[("GATEHOUSE_EMAIL_DOMAINS", "example.org")]);
    let b = app.browser();
    let page = press(&b, &mail.token(), "/");
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(
        page.body
            .contains("limited to email addresses of this organisation"),
        "{}",
        page.body
    );
    assert!(b.session_json().is_null());
    assert_eq!(link_rows(&app), 1);
    assert_eq!(app.session_count(), 0);

    // Allowed again: the same link still works, within its 15 minutes.
    let app = app.restart(&[("GATEHOUSE_EMAIL_DOMAINS", "example.com")]);
    let b = app.browser();
    assert_eq!(press(&b, &mail.token(), "/").status, 303);
    assert_eq!(b.session_json()["user"]["email"], "ada@example.com");
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

fn the_email_limit_trips(backend: Backend) {
    let Some(app) = TestApp::start_with(
        backend,
        &[("RATE_LIMIT_EMAIL", "2/1h"), ("EMAIL_VERIFICATION", "off")],
    ) else {
        return;
    };
    account(&app, "ada@example.com");
    let b = app.browser();
    assert_eq!(ask(&b, "ada@example.com", "/").status, 200);
    assert_eq!(ask(&b, "ada@example.com", "/").status, 200);
    let over = ask(&b, "ada@example.com", "/");
    assert_eq!(over.status, 429, "{}", over.body);
    assert!(over.header("retry-after").is_some());
    assert!(over.body.contains("id=\"form-error\""), "{}", over.body);
    let json = b.json(
        reqwest::Method::POST,
        "/api/auth/signin/email",
        &serde_json::json!({ "email": "ada@example.com" }),
    );
    assert_eq!(json.status, 429, "{}", json.body);
    assert!(json.header("retry-after").is_some());
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(app.mailbox().to("ada@example.com").len(), 2);
    assert_eq!(link_rows(&app), 2);
}

fn an_impersonating_admin_can_neither_ask_nor_spend(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    app.signed_up("Ada", "ada@example.com");
    let ada_id = app.signed_in("ada@example.com").user_id();
    ask(&app.browser(), "ada@example.com", "/");
    let mail = link_mail(&app, "ada@example.com", 1);
    let admin = app.signed_in(common::ROOT_ADMIN);
    let started = admin.submit(&format!("/admin/users/{ada_id}/impersonate"), &[]);
    assert_eq!(started.status, 303, "{}", started.body);
    assert_eq!(admin.session_json()["user"]["email"], "ada@example.com");

    assert_eq!(ask(&admin, "ada@example.com", "/").status, 403);
    let json = admin.json(
        reqwest::Method::POST,
        "/api/auth/signin/email",
        &serde_json::json!({ "email": "ada@example.com" }),
    );
    assert_eq!(json.status, 403, "{}", json.body);
    assert_eq!(press(&admin, &mail.token(), "/").status, 403);
    assert_eq!(link_rows(&app), 1, "nothing spent, nothing issued");
    assert_eq!(audited(&app, "sign_in_link_sent"), 1);
    assert!(app.count("audit_events WHERE action = 'impersonation_refused'") >= 3);
    // Still the impersonation, not a session of Ada's own.
    assert_eq!(admin.session_json()["user"]["email"], "ada@example.com");
    assert_eq!(
        app.count("audit_events WHERE action = 'sign_in' AND details LIKE '%email%'"),
        0
    );
}

fn a_post_without_csrf_changes_nothing(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    account(&app, "ada@example.com");
    ask(&app.browser(), "ada@example.com", "/");
    let mail = link_mail(&app, "ada@example.com", 1);
    let b = app.browser();
    assert_eq!(b.get(&mail.path()).status, 200);
    let forged = b.post_form_raw("/signin/email", &[("token", &mail.token())]);
    assert_eq!(forged.status, 403, "{}", forged.body);
    let forged = b.post_form_raw(
        "/signin/email",
        &[("token", &mail.token()), ("csrf_token", "not-the-token")],
    );
    assert_eq!(forged.status, 403, "{}", forged.body);
    let forged = b.post_form_raw("/signin/email", &[("email", "ada@example.com")]);
    assert_eq!(forged.status, 403, "{}", forged.body);
    let url = b.url("/api/auth/signin/email");
    let forged = b.send(|c| {
        c.post(url)
            .header("content-type", "application/json")
            .body(r#"{"email":"ada@example.com"}"#)
    });
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert!(b.session_json().is_null());
    assert_eq!(link_rows(&app), 1);
    assert_eq!(audited(&app, "sign_in_link_sent"), 1);
    assert_eq!(press(&b, &mail.token(), "/").status, 303);
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
    use common::process::{ProcessDb, email_token_rows, mailing_server_with_ada};
    use sha2::Digest;
    let Some(db) = ProcessDb::new(backend) else {
        return;
    };
    let (server, outbox) = mailing_server_with_ada(&db, &[("EMAIL_VERIFICATION", "off")]);
    let b = Browser::new(&server.base);
    assert_eq!(ask(&b, "ada@example.com", "/settings").status, 200);
    let mail = common::mailbox::Mailbox::new(outbox).wait_for("ada@example.com");
    let token = mail.token();
    let hashes: Vec<Vec<u8>> = email_token_rows(&db).into_iter().map(|(h, _)| h).collect();
    assert_eq!(hashes, [sha2::Sha256::digest(token.as_bytes()).to_vec()]);

    assert_eq!(b.get(&mail.path()).status, 200);
    assert_eq!(press(&b, &token, "/settings").status, 303);
    server.signal(libc::SIGTERM);
    let (_, _, log) = server.wait_with_log(std::time::Duration::from_secs(30));
    assert!(log.contains("/signin/email"), "{log}");
    assert!(!log.contains(&token), "a token in the log: {log}");
}

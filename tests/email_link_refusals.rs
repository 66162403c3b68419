//! Sign-in by link, the refusals, as stories on both backends: an unknown
//! address gets the same answer, the sign-in gate, the email limit, an
//! impersonating admin, a post without a CSRF token. The link's own stories
//! are in tests/email_link.rs.

mod common;

use common::sign_in_link::*;
use common::{Backend, Page, TestApp};

on_both_backends!(
    an_unknown_address_gets_the_same_answer_and_no_mail,
    the_gate_refuses_a_banned_user_and_another_domain,
    the_email_limit_trips,
    an_impersonating_admin_can_neither_ask_nor_spend,
    a_post_without_csrf_changes_nothing,
);

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
    app.mailbox().settle();
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

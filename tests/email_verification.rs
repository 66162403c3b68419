//! Email verification (`EMAIL_VERIFICATION` off, optional, required), the
//! resend, `RATE_LIMIT_EMAIL`, and where tokens never appear (the database,
//! the server's log). Stories on both backends.

mod common;

use std::time::Duration;

use common::process::ProcessDb;
use common::{Backend, Browser, PASSWORD, Page, TestApp};
use sha2::Digest;

on_both_backends!(
    optional_a_sign_up_gets_a_link_and_the_session_flips_on_the_next_request,
    required_refuses_the_unverified_after_the_password_and_offers_a_new_link,
    off_sends_nothing_and_shows_no_banner,
    the_link_is_sent_again_from_settings,
    the_email_limit_trips_per_address_and_per_ip,
    tokens_are_neither_in_the_database_nor_in_the_log,
    concurrent_sign_ups_each_get_their_link,
    an_anonymous_resend_sends_the_same_statements_for_any_address,
);

fn banner(page: &Page) -> bool {
    page.body.contains("id=\"verify-banner\"")
}

fn sign_in(b: &Browser, email: &str, password: &str) -> Page {
    b.submit("/signin", &[("email", email), ("password", password)])
}

fn optional_a_sign_up_gets_a_link_and_the_session_flips_on_the_next_request(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let ada = app.signed_up("Ada", "ada@example.com");
    let mail = app.mailbox().wait_for("ada@example.com");
    assert!(mail.subject.starts_with("Verify"), "{}", mail.subject);
    assert!(mail.text.contains("If this was not you"), "{}", mail.text);
    assert_eq!(ada.session_json()["user"]["email_verified"], false);
    let home = ada.get("/");
    assert!(banner(&home), "{}", home.body);

    // Opened in another browser (the mail app's), not signed in.
    let opened = app.browser().get(&mail.path());
    assert_eq!(opened.status, 303, "{}", opened.body);
    assert_eq!(opened.location().as_deref(), Some("/"));
    assert_eq!(ada.session_json()["user"]["email_verified"], true);
    assert!(!banner(&ada.get("/")));
    assert_eq!(app.count("audit_events WHERE action = 'email_verified'"), 1);
    assert_eq!(app.browser().get(&mail.path()).status, 400, "spent");
    assert_eq!(app.count("email_tokens"), 0);
}

fn required_refuses_the_unverified_after_the_password_and_offers_a_new_link(backend: Backend) {
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
    assert_eq!(
        page.status, 200,
        "no session before the link: {}",
        page.body
    );
    assert!(b.session_json().is_null());
    assert_eq!(app.session_count(), 0);
    let first = app.mailbox().wait_for("ada@example.com");

    // The right password: 403 with a way to get the link again; a wrong one
    // says nothing more than for anyone.
    let refused = sign_in(&b, "ada@example.com", PASSWORD);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("id=\"resend-verification\""));
    let wrong = sign_in(&b, "ada@example.com", "not the password");
    assert_eq!(wrong.status, 401);
    assert!(!wrong.body.contains("resend-verification"));
    assert!(b.session_json().is_null());
    // Refusals of the right password are not failed guesses.
    for _ in 0..6 {
        assert_eq!(sign_in(&b, "ada@example.com", PASSWORD).status, 403);
    }

    let resent = b.submit("/settings/verify-email", &[("email", "ada@example.com")]);
    assert_eq!(resent.status, 200, "{}", resent.body);
    let unknown = b.submit("/settings/verify-email", &[("email", "nobody@example.com")]);
    assert_eq!(unknown.status, 200);
    let strip = |p: &Page| p.body.replace(&p.meta_csrf().unwrap_or_default(), "");
    assert_eq!(strip(&resent), strip(&unknown));
    let second = app.mailbox().wait_for_nth("ada@example.com", 2);
    assert_ne!(first.token(), second.token());

    assert_eq!(b.get(&second.path()).status, 303);
    let signed = sign_in(&b, "ada@example.com", PASSWORD);
    assert_eq!(signed.status, 303, "{}", signed.body);
    assert_eq!(b.session_json()["user"]["email_verified"], true);
    // The other link went with the verification.
    assert_eq!(app.browser().get(&first.path()).status, 400);
    app.mailbox().settle();
    assert!(app.mailbox().to("nobody@example.com").is_empty());
}

fn off_sends_nothing_and_shows_no_banner(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, &[("EMAIL_VERIFICATION", "off")]) else {
        return;
    };
    let ada = app.signed_up("Ada", "ada@example.com");
    assert_eq!(ada.session_json()["user"]["email_verified"], false);
    assert!(!banner(&ada.get("/")));
    assert!(
        !ada.get("/settings")
            .body
            .contains("Send the confirmation link")
    );
    assert_eq!(ada.submit("/settings/verify-email", &[]).status, 404);
    // Mail is written in order: the reset mail comes after any sign-up mail.
    ada.submit("/forgot-password", &[("email", "ada@example.com")]);
    let only = app.mailbox().wait_for("ada@example.com");
    assert!(only.subject.starts_with("Reset"), "{}", only.subject);
    assert_eq!(app.mailbox().all().len(), 1);
    assert_eq!(app.count("email_tokens WHERE purpose = 'verify_email'"), 0);
}

fn the_link_is_sent_again_from_settings(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let ada = app.signed_up("Ada", "ada@example.com");
    let first = app.mailbox().wait_for("ada@example.com");
    let page = ada.submit("/settings/verify-email", &[]);
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(
        page.location().as_deref(),
        Some("/settings?saved=verification")
    );
    let second = app.mailbox().wait_for_nth("ada@example.com", 2);
    assert_ne!(first.token(), second.token());
    assert_eq!(
        app.count("audit_events WHERE action = 'email_verification_sent'"),
        2
    );
    // Either link works once; the first one used ends the other.
    assert_eq!(app.browser().get(&first.path()).status, 303);
    assert_eq!(app.browser().get(&second.path()).status, 400);
    assert_eq!(ada.session_json()["user"]["email_verified"], true);
    let again = ada.submit("/settings/verify-email", &[]);
    assert_eq!(
        again.location().as_deref(),
        Some("/settings?saved=verified")
    );
    app.mailbox().settle();
    assert_eq!(app.mailbox().to("ada@example.com").len(), 2);
}

/// Asks for a reset link for `email` as client `ip` (behind a trusted proxy).
fn forgot_from(b: &Browser, ip: &str, email: &str) -> Page {
    let token = b.csrf_token();
    let url = b.url("/forgot-password");
    let body = serde_urlencoded::to_string([("email", email), ("csrf_token", &token)]).unwrap();
    b.send(|c| {
        c.post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-forwarded-for", ip)
            .body(body)
    })
}

fn the_email_limit_trips_per_address_and_per_ip(backend: Backend) {
    let Some(app) = TestApp::start_with(
        backend,
        &[
            ("RATE_LIMIT_EMAIL", "2/1h"),
            ("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1"),
            ("EMAIL_VERIFICATION", "off"),
        ],
    ) else {
        return;
    };
    app.signed_up("Ada", "ada@example.com");
    let b = app.browser();
    // Per address: three clients, one address.
    for ip in ["198.51.100.1", "198.51.100.2"] {
        assert_eq!(forgot_from(&b, ip, "ada@example.com").status, 200);
    }
    let over = forgot_from(&b, "198.51.100.3", "ada@example.com");
    assert_eq!(over.status, 429, "{}", over.body);
    assert!(over.header("retry-after").is_some());
    // Per client: one client, three addresses (unknown ones count the same).
    for email in ["x@example.com", "y@example.com"] {
        assert_eq!(forgot_from(&b, "203.0.113.9", email).status, 200);
    }
    assert_eq!(forgot_from(&b, "203.0.113.9", "z@example.com").status, 429);
    assert_eq!(app.count("audit_events WHERE action = 'rate_limited'"), 2);
    app.mailbox().settle();
    assert_eq!(app.mailbox().to("ada@example.com").len(), 2);
}

/// A token of each purpose (verify, reset, sign-in link, email change) is
/// stored as its SHA-256 only: no table of a full dump holds it, before or
/// after its link is followed, and the debug log never does. Mail is written
/// as `.eml` files (`SMTP_URL` unset), and the links followed are theirs.
fn tokens_are_neither_in_the_database_nor_in_the_log(backend: Backend) {
    let Some(db) = ProcessDb::new(backend) else {
        return;
    };
    let (server, outbox) = common::process::mailing_server_with_ada(&db, &[]);
    let mailbox = common::mailbox::Mailbox::new(outbox);
    let verify = mailbox.wait_for("ada@example.com");
    let b = Browser::new(&server.base);
    b.submit("/forgot-password", &[("email", "ada@example.com")]);
    let reset = mailbox.wait_for_nth("ada@example.com", 2);
    b.submit("/signin/email", &[("email", "ada@example.com")]);
    let link = mailbox.wait_for_nth("ada@example.com", 3);
    let ada = Browser::new(&server.base);
    let signed = sign_in(&ada, "ada@example.com", PASSWORD);
    assert_eq!(signed.status, 303, "{}", signed.body);
    let asked = ada.submit(
        "/settings/email",
        &[("email", "ada@example.org"), ("current_password", PASSWORD)],
    );
    assert_eq!(asked.status, 303, "{}", asked.body);
    let change = mailbox.wait_for("ada@example.org");
    let mails = [&verify, &reset, &link, &change];
    for (mail, starts) in mails.iter().zip(["Verify", "Reset", "Sign in", "Confirm"]) {
        assert!(mail.subject.starts_with(starts), "{}", mail.subject);
    }
    let tokens = [&verify, &reset, &link, &change].map(|m| m.token());

    let dump = db.dump();
    for token in &tokens {
        dump.assert_absent("a mailed token", token);
        let hash = sha2::Sha256::digest(token.as_bytes()).to_vec();
        let holding = dump.rows_holding(&hash);
        assert_eq!(holding.len(), 1, "stored as its hash: {holding:?}");
        assert_eq!(holding[0].0, "email_tokens");
    }
    // Following the links is logged as paths only, and stores no token.
    assert_eq!(b.get(&verify.path()).status, 303);
    assert_eq!(b.get(&reset.path()).status, 200);
    assert_eq!(b.get(&link.path()).status, 200);
    let confirmed = ada.get(&change.path());
    assert_eq!(confirmed.status, 303, "{}", confirmed.body);
    let dump = db.dump();
    for token in &tokens {
        dump.assert_absent("a token of a followed link", token);
    }
    server.signal(libc::SIGTERM);
    let (_, _, log) = server.wait_with_log(Duration::from_secs(30));
    for path in [
        "/verify-email",
        "/reset-password",
        "/signin/email",
        "/settings/email/confirm",
    ] {
        assert!(log.contains(path), "{path}: {log}");
    }
    for token in &tokens {
        assert!(!log.contains(token.as_str()), "a token in the log: {log}");
    }
}

/// Found by the soak (bench --soak): on SQLite a verification mail was lost
/// when sign-ups wrote at the same moment (its transaction read, then could
/// not wait for the write lock). Every acknowledged sign-up gets its link.
fn concurrent_sign_ups_each_get_their_link(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, &[("RATE_LIMIT_SIGNUP", "1000/1m")]) else {
        return;
    };
    let emails: Vec<String> = (0..16).map(|i| format!("user{i}@example.com")).collect();
    let editors: Vec<Browser> = (0..3)
        .map(|i| app.signed_up("Editor", &format!("editor{i}@example.com")))
        .collect();
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        // Other writes all along, as on a busy site: profile edits.
        for editor in &editors {
            let done = &done;
            let token = editor.csrf_token();
            let cookies = editor.cookie_header();
            let url = editor.url("/api/auth/session");
            scope.spawn(move || {
                let client = reqwest::blocking::Client::new();
                let mut n = 0;
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    n += 1;
                    let r = client
                        .post(&url)
                        .header("cookie", &cookies)
                        .header("x-csrf-token", &token)
                        .json(&serde_json::json!({ "name": format!("Editor {n}") }))
                        .send()
                        .unwrap();
                    assert!(r.status().as_u16() < 500, "{}", r.status());
                }
            });
        }
        let signing_up: Vec<_> = emails
            .iter()
            .map(|email| {
                let app = &app;
                scope.spawn(move || {
                    let b = app.browser();
                    let r = b.submit(
                        "/signup",
                        &[
                            ("name", "Someone"),
                            ("email", email),
                            ("password", PASSWORD),
                        ],
                    );
                    assert_eq!(r.status, 303, "{}", r.body);
                })
            })
            .collect();
        for h in signing_up {
            h.join().unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let mailbox = app.mailbox();
    for email in &emails {
        let mail = mailbox.wait_for(email);
        assert!(
            mail.subject.starts_with("Verify"),
            "{email}: {}",
            mail.subject
        );
    }
    assert_eq!(
        app.count("audit_events WHERE action = 'email_verification_sent'"),
        16 + 3
    );
}

/// The anonymous resend (`POST /settings/verify-email` with an address) does
/// the same statements for an unknown, a verified and an unverified address,
/// as `/forgot-password` does: one write transaction, the account read, the
/// audit event; only a link that goes out adds its token's insert. So its
/// timing tells a stranger no more than its answer.
fn an_anonymous_resend_sends_the_same_statements_for_any_address(backend: Backend) {
    use std::sync::atomic::Ordering;
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    app.signed_up("Ada", "ada@example.com");
    app.signed_up("Bob", "bob@example.com");
    app.sql("UPDATE users SET email_verified_at = created_at WHERE email = 'bob@example.com'");
    app.sql("DELETE FROM email_tokens");
    let stranger = app.browser();
    let token = stranger.csrf_token();
    let resend = |email: &str| {
        app.log.reset();
        let page = stranger.post_form_raw(
            "/settings/verify-email",
            &[("email", email), ("csrf_token", &token)],
        );
        assert_eq!(page.status, 200, "{email}: {}", page.body);
        let texts = app.log.texts.lock().unwrap().clone();
        (
            app.log.queries.load(Ordering::SeqCst),
            app.log.writes.load(Ordering::SeqCst),
            texts,
        )
    };
    let unknown = resend("nobody@example.com");
    let verified = resend("bob@example.com");
    let unverified = resend("ada@example.com");
    assert_eq!(unknown, verified);
    assert!(
        unknown.2.iter().any(|t| t.contains("audit_events")),
        "an audit event for any address: {:?}",
        unknown.2
    );
    // The one difference: the token of the link that goes out.
    assert_eq!(unverified.0, unknown.0 + 1);
    assert_eq!(unverified.1, unknown.1 + 1);
    let extra: Vec<_> = unverified.2.difference(&unknown.2).collect();
    assert_eq!(extra.len(), 1, "{extra:?}");
    assert!(
        extra[0].to_ascii_uppercase().starts_with("INSERT") && extra[0].contains("email_tokens"),
        "{extra:?}"
    );
    assert!(unknown.2.is_subset(&unverified.2));
    assert_eq!(app.count("email_tokens"), 1);
    assert_eq!(
        app.count("audit_events WHERE action = 'email_verification_sent' AND target_id IS NULL"),
        2
    );
    app.mailbox().wait_for_nth("ada@example.com", 2);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        app.mailbox().to("bob@example.com").len(),
        1,
        "the sign-up's only"
    );
    assert!(app.mailbox().to("nobody@example.com").is_empty());
}

//! The email flows through a real SMTP server on loopback
//! (`common::smtp::SmtpSink`, spoken to by gatehouse's lettre transport): the
//! link the test follows is the one in the delivered message. A mail server
//! that is down or hangs never holds the request; the token is committed
//! first and the mail follows when the server is back.
//!
//! Every `TestApp` delivers over SMTP to a sink of its own (tests/common/
//! mailbox.rs `Outbox`), so the other email stories follow links from
//! delivered messages too; the last story here checks that, and the `.eml`
//! default of an app started with `SMTP_URL` unset.

mod common;

use std::time::{Duration, Instant};

use common::smtp::{Mail, SmtpSink};
use common::{Backend, Browser, PASSWORD, Page, TestApp};

on_both_backends!(
    a_reset_and_a_verification_arrive_over_smtp_and_their_links_work,
    with_the_mail_server_down_the_request_answers_at_once_and_the_mail_follows,
    with_the_mail_server_hanging_the_request_answers_at_once_and_the_mail_follows,
    a_sign_in_link_and_an_email_change_arrive_over_smtp_and_their_links_work,
    a_test_app_delivers_over_smtp_unless_started_on_the_eml_default,
);

const NEW_PASSWORD: &str = "a brand new passphrase";
/// Long enough for a retry after the first failure (the schedule starts at 1 s).
const DELIVERY: Duration = Duration::from_secs(20);
/// "At once": far below the transport's 10 s timeout, far above a request's
/// own time on a loaded CI machine.
const AT_ONCE: Duration = Duration::from_secs(4);

fn app_on(backend: Backend, sink: &SmtpSink) -> Option<TestApp> {
    TestApp::start_with(
        backend,
        &[
            ("SMTP_URL", &sink.url()),
            ("SMTP_FROM", "gatehouse <auth@example.com>"),
        ],
    )
}

/// As [`app_on`], with `EMAIL_VERIFICATION=off`: no sign-up mail to wait past.
fn unverified_app_on(backend: Backend, sink: &SmtpSink) -> Option<TestApp> {
    TestApp::start_with(
        backend,
        &[("SMTP_URL", &sink.url()), ("EMAIL_VERIFICATION", "off")],
    )
}

/// The path and query of the link to `path` in `mail`.
fn link_path(mail: &Mail, path: &str) -> String {
    let link = mail
        .link_to(path)
        .unwrap_or_else(|| panic!("no {path} link in: {}", mail.text));
    let url = url::Url::parse(&link).unwrap();
    format!("{}?{}", url.path(), url.query().unwrap_or(""))
}

fn token_of(path_and_query: &str) -> String {
    let url = url::Url::parse(&format!("http://x{path_and_query}")).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .expect("a token in the link")
}

/// Asks for a reset of `email`, timing the answer.
fn forgot_timed(b: &Browser, email: &str) -> (Page, Duration) {
    let csrf = b.csrf_token();
    let started = Instant::now();
    let page = b.post_form_raw(
        "/forgot-password",
        &[("email", email), ("csrf_token", &csrf)],
    );
    (page, started.elapsed())
}

/// Follows the reset link in `mail` from a fresh browser and sets
/// `NEW_PASSWORD`; the password sign-ins afterwards prove it took.
fn reset_through(app: &TestApp, mail: &Mail, email: &str) {
    let path = link_path(mail, "/reset-password");
    let here = app.browser();
    assert_eq!(here.get(&path).status, 200);
    let done = here.submit(
        "/reset-password",
        &[("token", &token_of(&path)), ("new_password", NEW_PASSWORD)],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(here.session_json()["user"]["email"], email);
    let sign_in = |password: &str| {
        app.browser()
            .submit("/signin", &[("email", email), ("password", password)])
            .status
    };
    assert_eq!(sign_in(PASSWORD), 401);
    assert_eq!(sign_in(NEW_PASSWORD), 303);
}

fn a_reset_and_a_verification_arrive_over_smtp_and_their_links_work(backend: Backend) {
    let sink = SmtpSink::start();
    let Some(app) = app_on(backend, &sink) else {
        return;
    };
    let ada = app.signed_up("Ada", "ada@example.com");

    // The sign-up's verification mail, delivered over SMTP.
    let verification = sink.wait_for("ada@example.com", DELIVERY);
    assert_eq!(verification.envelope_from, "auth@example.com");
    assert!(verification.text.contains("If this was not you"));
    let verify = ada.get(&link_path(&verification, "/verify-email"));
    assert_eq!(verify.status, 303, "{}", verify.body);
    assert_eq!(ada.session_json()["user"]["email_verified"], true);

    let (page, _) = forgot_timed(&app.browser(), "ada@example.com");
    assert_eq!(page.status, 200, "{}", page.body);
    let deadline = Instant::now() + DELIVERY;
    let reset = loop {
        if let Some(m) = sink
            .messages_to("ada@example.com")
            .into_iter()
            .find(|m| m.link_to("/reset-password").is_some())
        {
            break m;
        }
        assert!(Instant::now() < deadline, "no reset mail over SMTP");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(reset.text.contains("UTC"), "{}", reset.text);
    reset_through(&app, &reset, "ada@example.com");
    assert!(
        ada.session_json().is_null(),
        "the reset ended Ada's other device"
    );

    // Nothing was written aside: with SMTP_URL set, mail leaves by SMTP only.
    assert!(app.mail_files().all().is_empty());
}

fn with_the_mail_server_down_the_request_answers_at_once_and_the_mail_follows(backend: Backend) {
    let mut sink = SmtpSink::start();
    let Some(app) = unverified_app_on(backend, &sink) else {
        return;
    };
    let _ = app.signed_up("Bea", "bea@example.com");
    sink.stop();

    let (page, took) = forgot_timed(&app.browser(), "bea@example.com");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        took < AT_ONCE,
        "the request waited {took:?} for a dead mail server"
    );
    // The token was committed before the answer, whatever the mail does.
    assert_eq!(app.count("email_tokens"), 1);

    // The first attempt is refused; the retry finds the server back.
    std::thread::sleep(Duration::from_millis(300));
    sink.resume();
    let mail = sink.wait_for("bea@example.com", DELIVERY);
    reset_through(&app, &mail, "bea@example.com");
}

fn with_the_mail_server_hanging_the_request_answers_at_once_and_the_mail_follows(backend: Backend) {
    let sink = SmtpSink::start();
    let Some(app) = unverified_app_on(backend, &sink) else {
        return;
    };
    let _ = app.signed_up("Cy", "cy@example.com");
    sink.hang();
    let before = sink.connections();

    let (page, took) = forgot_timed(&app.browser(), "cy@example.com");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        took < AT_ONCE,
        "the request waited {took:?} for a hung mail server"
    );
    assert_eq!(app.count("email_tokens"), 1);

    // Delivery is under way and hangs, while other requests are answered.
    let deadline = Instant::now() + DELIVERY;
    while sink.connections() == before {
        assert!(Instant::now() < deadline, "no delivery attempt");
        std::thread::sleep(Duration::from_millis(20));
    }
    let started = Instant::now();
    assert_eq!(app.browser().get("/signin").status, 200);
    assert!(started.elapsed() < AT_ONCE);
    assert!(sink.messages_to("cy@example.com").is_empty());

    // The server answers again: the hung attempt fails, the retry delivers.
    sink.answer();
    let mail = sink.wait_for("cy@example.com", DELIVERY);
    reset_through(&app, &mail, "cy@example.com");
}

fn a_sign_in_link_and_an_email_change_arrive_over_smtp_and_their_links_work(backend: Backend) {
    let sink = SmtpSink::start();
    let Some(app) = unverified_app_on(backend, &sink) else {
        return;
    };
    let _ = app.signed_up("Dee", "dee@example.com");

    // Sign-in link: the GET shows the button, its POST signs in.
    let phone = app.browser();
    let asked = phone.submit("/signin/email", &[("email", "dee@example.com")]);
    assert_eq!(asked.status, 200, "{}", asked.body);
    let mail = sink.wait_for("dee@example.com", DELIVERY);
    let path = link_path(&mail, "/signin/email");
    assert_eq!(phone.get(&path).status, 200);
    assert!(
        phone.session_json().is_null(),
        "opening the link signs nobody in"
    );
    let done = phone.submit("/signin/email", &[("token", &token_of(&path))]);
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(phone.session_json()["user"]["email"], "dee@example.com");

    // Email change: the confirmation to the new address, a notice to the old.
    let asked = phone.submit(
        "/settings/email",
        &[("email", "dee@new.example"), ("current_password", PASSWORD)],
    );
    assert_eq!(asked.status, 303, "{}", asked.body);
    let confirmation = sink.wait_for("dee@new.example", DELIVERY);
    let deadline = Instant::now() + DELIVERY;
    while sink.messages_to("dee@example.com").len() < 2 {
        assert!(Instant::now() < deadline, "no notice to the old address");
        std::thread::sleep(Duration::from_millis(20));
    }
    let notice = sink.messages_to("dee@example.com").pop().unwrap();
    assert!(notice.text.contains("dee@new.example"), "{}", notice.text);
    assert!(notice.links().iter().all(|l| !l.contains("token=")));
    let confirmed = phone.get(&link_path(&confirmation, "/settings/email/confirm"));
    assert_eq!(confirmed.status, 303, "{}", confirmed.body);
    assert_eq!(phone.session_json()["user"]["email"], "dee@new.example");
}

fn a_test_app_delivers_over_smtp_unless_started_on_the_eml_default(backend: Backend) {
    // The default: the app's own sink gets the mail; no file is written.
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let ada = app.signed_up("Ada", "ada@example.com");
    let mailbox = app.mailbox();
    assert!(mailbox.is_smtp());
    let mail = mailbox.wait_for("ada@example.com");
    assert_eq!(ada.get(&mail.path()).status, 303);
    assert_eq!(ada.session_json()["user"]["email_verified"], true);
    mailbox.settle();
    assert!(
        app.mail_files().all().is_empty(),
        "no .eml with SMTP_URL set"
    );
    drop(app);

    // `SMTP_URL` unset: the mail is an .eml file, and its links work. (The
    // process stories of email_verification.rs and email_link.rs follow
    // verification, reset, sign-in and change links from written files.)
    let Some(app) = TestApp::start_with(backend, &[common::mailbox::EML]) else {
        return;
    };
    let bob = app.signed_up("Bob", "bob@example.com");
    assert!(!app.mailbox().is_smtp());
    let mail = app.mail_files().wait_for("bob@example.com");
    assert!(mail.subject.starts_with("Verify"), "{}", mail.subject);
    assert_eq!(bob.get(&mail.path()).status, 303);
    assert_eq!(bob.session_json()["user"]["email_verified"], true);
    // A reset through the written file, end to end.
    let (page, _) = forgot_timed(&app.browser(), "bob@example.com");
    assert_eq!(page.status, 200, "{}", page.body);
    let reset = app.mail_files().wait_for_nth("bob@example.com", 2);
    assert!(reset.subject.starts_with("Reset"), "{}", reset.subject);
    let here = app.browser();
    assert_eq!(here.get(&reset.path()).status, 200);
    let done = here.submit(
        "/reset-password",
        &[("token", &reset.token()), ("new_password", NEW_PASSWORD)],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(here.session_json()["user"]["email"], "bob@example.com");
    assert!(
        bob.session_json().is_null(),
        "the reset ended Bob's session"
    );
}

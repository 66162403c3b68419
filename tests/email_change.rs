//! Email change by mail, as stories on both backends: a confirmation link to
//! the new address, a notice to the old one, and the change only when the
//! user the link was issued for opens it. The link followed is the one in the
//! written mail.

mod common;

use common::fake_provider::{FakeProvider, FakeUser};
use common::{Backend, Browser, PASSWORD, Page, TestApp};

on_both_backends!(
    a_confirmed_change_shows_on_every_device_and_moves_the_sign_in,
    a_wrong_or_missing_password_sends_nothing,
    the_same_or_a_malformed_address_is_a_form_error,
    a_taken_address_is_refused_at_the_request_and_at_the_confirmation,
    another_signed_in_user_cannot_spend_the_link,
    an_anonymous_opener_signs_in_and_comes_back_to_the_link,
    reused_expired_and_replaced_links_are_refused,
    a_reset_link_sent_to_the_old_address_dies_with_the_change,
    an_impersonating_admin_can_neither_ask_nor_confirm,
    a_request_without_the_csrf_token_is_refused,
    the_email_limit_trips,
    a_provider_only_user_changes_without_a_password,
);

const OLD: &str = "ada@example.com";
const NEW: &str = "ada@example.org";
const CONFIRM_SUBJECT: &str = "Confirm your new email address";
const NOTICE_SUBJECT: &str = "A change of your email address was asked";

/// Asks, from `b`, to change its user's address to `email`.
fn ask(b: &Browser, email: &str, password: &str) -> Page {
    b.submit(
        "/settings/email",
        &[("email", email), ("current_password", password)],
    )
}

/// The newest mail to `to` whose subject starts with `subject`, once `n`
/// such mails have arrived.
fn nth_mail(app: &TestApp, to: &str, subject: &str, n: usize) -> common::mailbox::Mail {
    app.mailbox().wait_for_nth_about(to, subject, n)
}

fn confirmation(app: &TestApp, to: &str) -> common::mailbox::Mail {
    nth_mail(app, to, CONFIRM_SUBJECT, 1)
}

/// Mails whose subject starts with `subject`, to anyone.
fn mails_about(app: &TestApp, subject: &str) -> usize {
    app.mailbox()
        .all()
        .iter()
        .filter(|m| m.subject.starts_with(subject))
        .count()
}

fn audited(app: &TestApp, action: &str) -> i64 {
    app.count(&format!("audit_events WHERE action = '{action}'"))
}

fn change_tokens(app: &TestApp) -> i64 {
    app.count("email_tokens WHERE purpose = 'change_email'")
}

fn sign_in(app: &TestApp, email: &str, password: &str) -> u16 {
    app.browser()
        .submit("/signin", &[("email", email), ("password", password)])
        .status
}

fn a_confirmed_change_shows_on_every_device_and_moves_the_sign_in(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let laptop = app.signed_up("Ada", OLD);
    let phone = app.signed_in(OLD);
    let form = laptop.get("/settings");
    assert!(
        form.body.contains("action=\"/settings/email\""),
        "{}",
        form.body
    );
    assert!(form.body.contains("id=\"email-change-password\""));

    let asked = ask(&laptop, "  ADA@Example.ORG ", PASSWORD);
    assert_eq!(asked.status, 303, "{}", asked.body);
    assert_eq!(
        asked.location().as_deref(),
        Some("/settings?saved=email-change")
    );
    let saved = laptop.follow(&asked);
    assert!(saved.body.contains("sent a link to your new address"));

    let mail = confirmation(&app, NEW);
    assert!(mail.link().starts_with(&app.base), "{}", mail.link());
    assert!(
        mail.path().starts_with("/settings/email/confirm?token="),
        "{}",
        mail.path()
    );
    for part in ["gatehouse", "UTC", "If this was not you", OLD] {
        assert!(mail.text.contains(part), "{part}: {}", mail.text);
    }
    let notice = nth_mail(&app, OLD, NOTICE_SUBJECT, 1);
    assert!(notice.text.contains(NEW), "{}", notice.text);
    assert!(notice.text.contains("password"), "{}", notice.text);
    assert!(
        !notice.text.contains(&mail.token()),
        "no link in the notice"
    );
    assert!(!notice.text.contains("token="), "{}", notice.text);
    assert_eq!(
        notice.text.matches("http").count(),
        1,
        "one link, to Settings: {}",
        notice.text
    );

    // Nothing changed yet.
    for b in [&laptop, &phone] {
        assert_eq!(b.session_json()["user"]["email"], OLD);
    }
    assert_eq!(audited(&app, "email_change_requested"), 1);
    assert_eq!(audited(&app, "email_changed"), 0);

    let done = laptop.get(&mail.path());
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location().as_deref(), Some("/settings?saved=email"));
    let page = laptop.follow(&done);
    assert!(page.body.contains("Your email address is changed."));
    assert!(page.body.contains(NEW));

    // The other device sees it on its next request, verified.
    let session = phone.session_json();
    assert_eq!(session["user"]["email"], NEW);
    assert_eq!(session["user"]["email_verified"], true);
    assert_eq!(laptop.session_json()["user"]["email"], NEW);
    assert_eq!(audited(&app, "email_changed"), 1);
    assert_eq!(change_tokens(&app), 0);

    assert_eq!(sign_in(&app, NEW, PASSWORD), 303);
    assert_eq!(sign_in(&app, OLD, PASSWORD), 401);
}

fn a_wrong_or_missing_password_sends_nothing(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, &[("RATE_LIMIT_SIGNIN", "3/15m")]) else {
        return;
    };
    let ada = app.signed_up("Ada", OLD);
    for password in ["not the password", ""] {
        let page = ask(&ada, NEW, password);
        assert_eq!(page.status, 401, "{password:?}: {}", page.body);
        assert!(page.body.contains("Your current password is not right."));
        assert!(page.body.contains(NEW), "the form keeps the typed address");
    }
    assert_eq!(change_tokens(&app), 0);
    assert_eq!(audited(&app, "email_change_requested"), 0);
    assert_eq!(
        app.count(
            "audit_events WHERE action = 'sign_in_failed' AND details LIKE '%current_password%'"
        ),
        2
    );
    // Mail goes out in order: once everything queued so far is delivered, a
    // mail to the new address would be there.
    app.mailbox().settle();
    assert!(app.mailbox().to(NEW).is_empty());
    assert_eq!(mails_about(&app, NOTICE_SUBJECT), 0);
    assert_eq!(ada.session_json()["user"]["email"], OLD);
    // Counted as failed sign-ins: one more, and even the right password waits.
    assert_eq!(ask(&ada, NEW, "a third guess").status, 401);
    let limited = ask(&ada, NEW, PASSWORD);
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert!(limited.header("retry-after").is_some());
    assert_eq!(change_tokens(&app), 0);
}

fn the_same_or_a_malformed_address_is_a_form_error(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let ada = app.signed_up("Ada", OLD);
    for typed in ["ADA@example.com", "not an address", ""] {
        let page = ask(&ada, typed, PASSWORD);
        assert_eq!(page.status, 422, "{typed:?}: {}", page.body);
        assert!(page.body.contains("id=\"form-error\""), "{}", page.body);
    }
    assert_eq!(change_tokens(&app), 0);
    assert_eq!(audited(&app, "email_change_requested"), 0);
}

fn a_taken_address_is_refused_at_the_request_and_at_the_confirmation(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let ada = app.signed_up("Ada", OLD);
    app.signed_up("Bob", "bob@example.com");
    let page = ask(&ada, "bob@example.com", PASSWORD);
    assert_eq!(page.status, 409, "{}", page.body);
    assert!(page.body.contains("belongs to another account"));
    assert_eq!(change_tokens(&app), 0);
    assert_eq!(audited(&app, "email_change_requested"), 0);

    // Free when asked, taken before the link is opened.
    assert_eq!(ask(&ada, NEW, PASSWORD).status, 303);
    let mail = confirmation(&app, NEW);
    let carol = app.signed_up("Carol", NEW);
    let refused = ada.get(&mail.path());
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused.body.contains("belongs to another account"));
    assert_eq!(ada.session_json()["user"]["email"], OLD);
    assert_eq!(ada.session_json()["user"]["email_verified"], false);
    assert_eq!(carol.session_json()["user"]["email"], NEW);
    assert_eq!(change_tokens(&app), 1, "the link is kept");
    assert_eq!(audited(&app, "email_changed"), 0);
    assert_eq!(sign_in(&app, OLD, PASSWORD), 303);
    // No mail about bob's address went anywhere.
    app.mailbox().settle();
    assert!(app.mailbox().to("bob@example.com").len() <= 1);
    assert_eq!(mails_about(&app, CONFIRM_SUBJECT), 1);
}

fn another_signed_in_user_cannot_spend_the_link(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let ada = app.signed_up("Ada", OLD);
    let bob = app.signed_up("Bob", "bob@example.com");
    assert_eq!(ask(&ada, NEW, PASSWORD).status, 303);
    let mail = confirmation(&app, NEW);
    let refused = bob.get(&mail.path());
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains("id=\"link-refused\""),
        "{}",
        refused.body
    );
    assert_eq!(bob.session_json()["user"]["email"], "bob@example.com");
    assert_eq!(ada.session_json()["user"]["email"], OLD);
    assert_eq!(change_tokens(&app), 1, "the link is kept");
    assert_eq!(audited(&app, "email_changed"), 0);

    assert_eq!(ada.get(&mail.path()).status, 303);
    assert_eq!(ada.session_json()["user"]["email"], NEW);
    assert_eq!(bob.session_json()["user"]["email"], "bob@example.com");
}

fn an_anonymous_opener_signs_in_and_comes_back_to_the_link(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let ada = app.signed_up("Ada", OLD);
    assert_eq!(ask(&ada, NEW, PASSWORD).status, 303);
    let mail = confirmation(&app, NEW);

    let b = app.browser();
    let page = b.get(&mail.path());
    assert_eq!(page.status, 303, "{}", page.body);
    let location = page.location().unwrap();
    let signin = url::Url::parse(&format!("{}{location}", app.base)).unwrap();
    assert_eq!(signin.path(), "/signin");
    let callback = signin
        .query_pairs()
        .find(|(k, _)| k == "callbackUrl")
        .map(|(_, v)| v.into_owned())
        .expect("a callbackUrl");
    // The token waits in this browser's cookie, not in the callback
    // (tests/email_change_signin.rs follows it through every sign-in).
    assert_eq!(callback, "/settings/email/confirm");
    assert_eq!(change_tokens(&app), 1, "nothing spent");
    assert_eq!(ada.session_json()["user"]["email"], OLD);

    let form = b.get(&location);
    assert_eq!(form.status, 200);
    let signed_in = b.submit(
        "/signin",
        &[
            ("email", OLD),
            ("password", PASSWORD),
            ("callbackUrl", &callback),
        ],
    );
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    assert_eq!(signed_in.location().as_deref(), Some(callback.as_str()));
    let done = b.follow(&signed_in);
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location().as_deref(), Some("/settings?saved=email"));
    assert_eq!(ada.session_json()["user"]["email"], NEW);
}

fn reused_expired_and_replaced_links_are_refused(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let ada = app.signed_up("Ada", OLD);
    // A second request replaces the first link.
    assert_eq!(ask(&ada, "first@example.org", PASSWORD).status, 303);
    let first = confirmation(&app, "first@example.org");
    assert_eq!(ask(&ada, NEW, PASSWORD).status, 303);
    let second = confirmation(&app, NEW);
    assert_eq!(change_tokens(&app), 1);
    let page = ada.get(&first.path());
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.body.contains("Ask for a new one"), "{}", page.body);
    assert_eq!(ada.session_json()["user"]["email"], OLD);

    // Junk.
    for junk in [
        "",
        "x",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "%00%ff",
    ] {
        let page = ada.get(&format!("/settings/email/confirm?token={junk}"));
        assert_eq!(page.status, 400, "{junk:?}");
    }
    assert_eq!(ada.get("/settings/email/confirm").status, 400);

    // Used once, then dead.
    assert_eq!(ada.get(&second.path()).status, 303);
    assert_eq!(ada.get(&second.path()).status, 400);
    assert_eq!(audited(&app, "email_changed"), 1);

    // Expired.
    assert_eq!(ask(&ada, "third@example.org", PASSWORD).status, 303);
    let third = confirmation(&app, "third@example.org");
    app.expire_every_link();
    assert_eq!(ada.get(&third.path()).status, 400);
    assert_eq!(ada.session_json()["user"]["email"], NEW);
    assert_eq!(audited(&app, "email_changed"), 1);
}

fn a_reset_link_sent_to_the_old_address_dies_with_the_change(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let ada = app.signed_up("Ada", OLD);
    let verify = app.mailbox().wait_for(OLD);
    assert!(verify.path().starts_with("/verify-email?token="));
    app.browser().submit("/forgot-password", &[("email", OLD)]);
    let reset = nth_mail(&app, OLD, "Reset", 1);
    assert_eq!(ask(&ada, NEW, PASSWORD).status, 303);
    assert_eq!(ada.get(&confirmation(&app, NEW).path()).status, 303);
    assert_eq!(app.count("email_tokens"), 0, "every mailed link is revoked");

    let b = app.browser();
    let page = b.submit(
        "/reset-password",
        &[
            ("token", &reset.token()),
            ("new_password", "a brand new passphrase"),
        ],
    );
    assert_eq!(page.status, 400, "{}", page.body);
    assert_eq!(b.get(&verify.path()).status, 400);
    assert!(b.session_json().is_null());
    assert_eq!(sign_in(&app, NEW, PASSWORD), 303);
}

fn an_impersonating_admin_can_neither_ask_nor_confirm(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    let ada = app.signed_up("Ada", OLD);
    let ada_id = ada.user_id();
    assert_eq!(ask(&ada, NEW, PASSWORD).status, 303);
    let mail = confirmation(&app, NEW);

    let admin = app.signed_in(common::ROOT_ADMIN);
    let started = admin.submit(&format!("/admin/users/{ada_id}/impersonate"), &[]);
    assert_eq!(started.status, 303, "{}", started.body);
    assert_eq!(admin.session_json()["user"]["email"], OLD);
    assert_eq!(ask(&admin, "admin-pick@example.org", PASSWORD).status, 403);
    assert_eq!(admin.get(&mail.path()).status, 403);
    assert!(audited(&app, "impersonation_refused") >= 2);
    assert_eq!(audited(&app, "email_change_requested"), 1);
    assert_eq!(change_tokens(&app), 1, "the link is kept");
    assert_eq!(ada.session_json()["user"]["email"], OLD);
    // The user still can.
    assert_eq!(ada.get(&mail.path()).status, 303);
    assert_eq!(ada.session_json()["user"]["email"], NEW);
}

fn a_request_without_the_csrf_token_is_refused(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let ada = app.signed_up("Ada", OLD);
    let fields = [("email", NEW), ("current_password", PASSWORD)];
    let page = ada.post_form_raw("/settings/email", &fields);
    assert_eq!(page.status, 403, "{}", page.body);
    let mut forged = fields.to_vec();
    forged.push(("csrf_token", "forged"));
    assert_eq!(ada.post_form_raw("/settings/email", &forged).status, 403);
    assert_eq!(change_tokens(&app), 0);
    assert_eq!(audited(&app, "email_change_requested"), 0);
    // Anonymous: sent to sign in, nothing written.
    let anonymous = app.browser().submit("/settings/email", &fields);
    assert_eq!(anonymous.status, 303);
    assert_eq!(change_tokens(&app), 0);
}

fn ask_from(b: &Browser, ip: &str, email: &str) -> Page {
    let token = b.csrf_token();
    let url = b.url("/settings/email");
    let body = serde_urlencoded::to_string([
        ("email", email),
        ("current_password", PASSWORD),
        ("csrf_token", &token),
    ])
    .unwrap();
    b.send(|c| {
        c.post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-forwarded-for", ip)
            .body(body)
    })
}

fn the_email_limit_trips(backend: Backend) {
    let Some(app) = TestApp::start_with(
        backend,
        &[
            ("RATE_LIMIT_EMAIL", "2/1h"),
            ("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1"),
        ],
    ) else {
        return;
    };
    let ada = app.signed_up("Ada", OLD);
    // Per new address, from three clients.
    for ip in ["198.51.100.1", "198.51.100.2"] {
        assert_eq!(ask_from(&ada, ip, NEW).status, 303);
    }
    let over = ask_from(&ada, "198.51.100.3", NEW);
    assert_eq!(over.status, 429, "{}", over.body);
    assert!(over.header("retry-after").is_some());
    assert!(over.body.contains("id=\"form-error\""));
    // Per client, three addresses.
    for email in ["x@example.org", "y@example.org"] {
        assert_eq!(ask_from(&ada, "203.0.113.9", email).status, 303);
    }
    assert_eq!(ask_from(&ada, "203.0.113.9", "z@example.org").status, 429);
    assert_eq!(audited(&app, "rate_limited"), 2);
    assert_eq!(audited(&app, "email_change_requested"), 4);
    nth_mail(&app, OLD, NOTICE_SUBJECT, 4);
    app.mailbox().settle();
    assert_eq!(mails_about(&app, CONFIRM_SUBJECT), 4);
    assert!(app.mailbox().to("z@example.org").is_empty());
}

fn a_provider_only_user_changes_without_a_password(backend: Backend) {
    let fake = FakeProvider::start();
    let vars = fake.vars("GITHUB");
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let Some(app) = TestApp::start_with(backend, &refs) else {
        return;
    };
    fake.sign_in_as(FakeUser::new("4242", "Octo Cat", "octo@example.com"));
    let b = app.browser();
    let start = b.submit("/api/auth/signin/github", &[]);
    assert_eq!(start.status, 303, "{}", start.body);
    let at_provider = b.follow(&start);
    let done = b.follow(&at_provider);
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(b.session_json()["user"]["email"], "octo@example.com");

    let form = b.get("/settings");
    assert!(form.body.contains("action=\"/settings/email\""));
    assert!(
        !form.body.contains("id=\"email-change-password\""),
        "the form asks no password of an account without one"
    );
    let asked = b.submit("/settings/email", &[("email", "octo@example.org")]);
    assert_eq!(asked.status, 303, "{}", asked.body);
    let mail = confirmation(&app, "octo@example.org");
    nth_mail(&app, "octo@example.com", NOTICE_SUBJECT, 1);
    assert_eq!(b.get(&mail.path()).status, 303);
    assert_eq!(b.session_json()["user"]["email"], "octo@example.org");
    assert_eq!(b.session_json()["user"]["email_verified"], true);
}

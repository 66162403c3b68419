//! An email-change link opened before signing in, as stories on both
//! backends: the token waits in a cookie of its own in this browser, the
//! sign-in (password, sign-in link, second factor, provider) comes back to the
//! confirm route without it, and no table ever holds it — not the pending
//! sign-in, not the OAuth state, not the audit log.

mod common;

use common::fake_provider::{FakeProvider, FakeUser};
use common::mailbox::Mail;
use common::totp::{code, steady, turn_on};
use common::{Backend, Browser, PASSWORD, Page, TestApp};

on_both_backends!(
    a_password_sign_in_comes_back_and_the_token_stays_in_the_browser,
    a_sign_in_link_comes_back_to_the_parked_link,
    a_two_factor_user_confirms_after_the_code_and_no_table_holds_the_token,
    a_provider_sign_in_comes_back_and_no_table_holds_the_token,
    a_parked_link_that_died_meanwhile_is_refused_and_cleared,
    under_a_mount_the_cookie_and_the_callback_carry_the_prefix,
);

const OLD: &str = "ada@example.com";
const NEW: &str = "ada@example.org";
const COOKIE: &str = "gatehouse_email_confirm";
const CONFIRM: &str = "/settings/email/confirm";

/// Every table of the app's database whose rows, read as text, contain
/// `needle` (as text, or as the hex of a blob): see tests/common/dump.rs.
fn tables_holding(app: &TestApp, needle: &str) -> Vec<String> {
    let dump = app.dump();
    assert!(dump.tables.len() > 10, "the scan sees the schema");
    let holding: std::collections::BTreeSet<String> = dump
        .rows_holding(needle.as_bytes())
        .into_iter()
        .map(|(table, _)| table.clone())
        .collect();
    holding.into_iter().collect()
}

/// Asks from `b` to change its user's address to [`NEW`]; the confirmation.
fn ask_for_new(app: &TestApp, b: &Browser, prefix: &str) -> Mail {
    let asked = b.submit(
        &format!("{prefix}/settings/email"),
        &[("email", NEW), ("current_password", PASSWORD)],
    );
    assert_eq!(asked.status, 303, "{}", asked.body);
    app.mailbox()
        .wait_for_nth_about(NEW, "Confirm your new email address", 1)
}

/// Opens `mail`'s link in `b`, signed out: the sign-in it is sent to, whose
/// `callbackUrl` is the confirm route with no token, and the cookie that
/// parks the token (checked for its flags). Answers the `callbackUrl`.
fn open_signed_out(app: &TestApp, b: &Browser, mail: &Mail, prefix: &str) -> String {
    let page = b.get(&mail.path());
    assert_eq!(page.status, 303, "{}", page.body);
    let location = page.location().unwrap();
    let signin = url::Url::parse(&format!("{}{location}", app.base)).unwrap();
    assert_eq!(signin.path(), format!("{prefix}/signin"));
    let callback = signin
        .query_pairs()
        .find(|(k, _)| k == "callbackUrl")
        .map(|(_, v)| v.into_owned())
        .expect("a callbackUrl");
    assert_eq!(callback, format!("{prefix}{CONFIRM}"));
    assert!(!location.contains(&mail.token()), "{location}");
    let cookie = page.set_cookie(COOKIE).expect("the parked link's cookie");
    let attributes: Vec<String> = cookie.split("; ").map(str::to_owned).collect();
    assert_eq!(attributes[0], format!("{COOKIE}={}", mail.token()));
    for flag in [
        "HttpOnly".to_owned(),
        "SameSite=Lax".to_owned(),
        format!("Path={prefix}{CONFIRM}"),
        "Max-Age=900".to_owned(),
    ] {
        assert!(attributes.contains(&flag), "{flag}: {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    assert_eq!(tables_holding(app, &mail.token()), Vec::<String>::new());
    callback
}

/// Ada's password sign-in from `b` (under `prefix`), asking to come back to
/// `callback`.
fn sign_in_back(b: &Browser, prefix: &str, callback: &str) -> Page {
    b.submit(
        &format!("{prefix}/signin"),
        &[
            ("email", OLD),
            ("password", PASSWORD),
            ("callbackUrl", callback),
        ],
    )
}

/// Follows the sign-in's `303` back to the confirm route: the change goes
/// through and the parked cookie is cleared.
fn comes_back_and_confirms(b: &Browser, signed_in: &Page, callback: &str, prefix: &str) {
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    assert_eq!(signed_in.location().as_deref(), Some(callback));
    let done = b.follow(signed_in);
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(
        done.location(),
        Some(format!("{prefix}/settings?saved=email"))
    );
    let cleared = done.set_cookie(COOKIE).expect("the cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert!(
        cleared.contains(&format!("Path={prefix}{CONFIRM}")),
        "{cleared}"
    );
    assert!(b.cookie(COOKIE).is_none());
}

fn a_password_sign_in_comes_back_and_the_token_stays_in_the_browser(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let ada = app.signed_up("Ada", OLD);
    let mail = ask_for_new(&app, &ada, "");
    // The scan sees what is stored: the new address waits in the token row.
    assert!(tables_holding(&app, NEW).contains(&"email_tokens".to_owned()));

    let b = app.browser();
    let callback = open_signed_out(&app, &b, &mail, "");
    assert_eq!(ada.session_json()["user"]["email"], OLD, "nothing spent");
    let signed_in = sign_in_back(&b, "", &callback);
    comes_back_and_confirms(&b, &signed_in, &callback, "");
    assert_eq!(ada.session_json()["user"]["email"], NEW);
    assert_eq!(tables_holding(&app, &mail.token()), Vec::<String>::new());
    // The route alone, with no link in the query or the cookie: a dead link.
    assert_eq!(b.get(CONFIRM).status, 400);
}

fn a_sign_in_link_comes_back_to_the_parked_link(backend: Backend) {
    use common::sign_in_link::{ask, link_mail, press};
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let ada = app.signed_up("Ada", OLD);
    let mail = ask_for_new(&app, &ada, "");
    let b = app.browser();
    let callback = open_signed_out(&app, &b, &mail, "");
    assert_eq!(ask(&b, OLD, &callback).status, 200);
    let link = link_mail(&app, OLD, 1);
    assert_eq!(tables_holding(&app, &mail.token()), Vec::<String>::new());
    let signed_in = press(&b, &link.token(), &callback);
    comes_back_and_confirms(&b, &signed_in, &callback, "");
    assert_eq!(ada.session_json()["user"]["email"], NEW);
}

fn a_two_factor_user_confirms_after_the_code_and_no_table_holds_the_token(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let ada = app.signed_up("Ada", OLD);
    let (secret, _) = turn_on(&ada);
    let mail = ask_for_new(&app, &ada, "");

    let b = app.browser();
    let callback = open_signed_out(&app, &b, &mail, "");
    let first = sign_in_back(&b, "", &callback);
    assert_eq!(first.status, 303, "{}", first.body);
    assert_eq!(first.location().as_deref(), Some("/signin/two-factor"));
    // The pending sign-in keeps the callback, and no token with it.
    assert_eq!(app.count("pending_signins"), 1);
    assert!(tables_holding(&app, CONFIRM).contains(&"pending_signins".to_owned()));
    assert_eq!(tables_holding(&app, &mail.token()), Vec::<String>::new());

    steady();
    let signed_in = b.submit("/signin/two-factor", &[("code", &code(&secret, 0))]);
    comes_back_and_confirms(&b, &signed_in, &callback, "");
    assert_eq!(ada.session_json()["user"]["email"], NEW);
    assert_eq!(tables_holding(&app, &mail.token()), Vec::<String>::new());
}

fn a_provider_sign_in_comes_back_and_no_table_holds_the_token(backend: Backend) {
    let fake = FakeProvider::start();
    let vars = fake.vars("GITHUB");
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let Some(app) = TestApp::start_with(backend, &refs) else {
        return;
    };
    fake.sign_in_as(FakeUser::new("4242", "Ada", OLD));
    let laptop = app.browser();
    assert_eq!(
        common::fake_provider::through_provider(&laptop, "github", &[]).status,
        303
    );
    let mail = ask_for_new(&app, &laptop, "");

    let phone = app.browser();
    let callback = open_signed_out(&app, &phone, &mail, "");
    let start = phone.submit("/api/auth/signin/github", &[("callbackUrl", &callback)]);
    assert_eq!(start.status, 303, "{}", start.body);
    // The OAuth state keeps the callback, and no token with it.
    assert!(tables_holding(&app, CONFIRM).contains(&"oauth_states".to_owned()));
    assert_eq!(tables_holding(&app, &mail.token()), Vec::<String>::new());
    let at_provider = phone.follow(&start);
    assert_eq!(at_provider.status, 302, "{}", at_provider.body);
    let signed_in = phone.follow(&at_provider);
    comes_back_and_confirms(&phone, &signed_in, &callback, "");
    assert_eq!(laptop.session_json()["user"]["email"], NEW);
    assert_eq!(tables_holding(&app, &mail.token()), Vec::<String>::new());
}

fn a_parked_link_that_died_meanwhile_is_refused_and_cleared(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let ada = app.signed_up("Ada", OLD);
    let mail = ask_for_new(&app, &ada, "");
    let b = app.browser();
    let callback = open_signed_out(&app, &b, &mail, "");
    app.expire_every_link();
    let signed_in = sign_in_back(&b, "", &callback);
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let dead = b.follow(&signed_in);
    assert_eq!(dead.status, 400, "{}", dead.body);
    assert!(dead.body.contains("Ask for a new one"), "{}", dead.body);
    assert!(dead.set_cookie(COOKIE).unwrap().contains("Max-Age=0"));
    assert!(b.cookie(COOKIE).is_none());
    assert_eq!(ada.session_json()["user"]["email"], OLD);
}

fn under_a_mount_the_cookie_and_the_callback_carry_the_prefix(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, &[("GATEHOUSE_MOUNT_PATH", "/auth")]) else {
        return;
    };
    let ada = app.browser();
    let up = ada.submit(
        "/auth/signup",
        &[("name", "Ada"), ("email", OLD), ("password", PASSWORD)],
    );
    assert_eq!(up.status, 303, "{}", up.body);
    let mail = ask_for_new(&app, &ada, "/auth");
    assert!(
        mail.path()
            .starts_with("/auth/settings/email/confirm?token=")
    );
    let b = app.browser();
    let callback = open_signed_out(&app, &b, &mail, "/auth");
    let signed_in = sign_in_back(&b, "/auth", &callback);
    comes_back_and_confirms(&b, &signed_in, &callback, "/auth");
    assert_eq!(
        ada.get("/auth/api/auth/session").json()["user"]["email"],
        NEW
    );
}

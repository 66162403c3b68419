//! Two-factor sign-in in a real browser (headless Chromium) at a phone's
//! size: the security page, the setup with its QR code, the recovery codes
//! and the code step of a sign-in, each checked with axe-core, then a sign-in
//! completed with a code typed as a person would, and a stale session
//! re-confirmed at `/reauth` with a recovery code.

mod common;
#[path = "common/webdriver.rs"]
mod webdriver;

use common::totp::{code, steady};
use common::{Backend, PASSWORD, TestApp};
use webdriver::Chromium;

on_both_backends!(two_factor_is_set_up_and_used_in_the_browser,);

fn fits_and_passes_axe(c: &Chromium, what: &str) {
    let overflow = c
        .execute(
            "return document.documentElement.scrollWidth - window.innerWidth;",
            vec![],
        )
        .as_i64()
        .unwrap();
    assert!(overflow <= 0, "{what} scrolls sideways by {overflow}px");
    c.assert_accessible();
}

fn two_factor_is_set_up_and_used_in_the_browser(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    app.signed_up("Ada", "ada@example.com");
    let Some(c) = Chromium::launch(&app.base) else {
        return;
    };
    c.resize_viewport(360, 740);
    let sign_in = |c: &Chromium| {
        c.goto("/signin");
        c.fill("input[name=email]", "ada@example.com");
        c.fill("input[name=password]", PASSWORD);
        c.click_and_load("form[action='/signin'] button[type=submit]");
    };
    sign_in(&c);
    c.wait_for_path("/");
    c.goto("/settings");
    c.click_and_load("#security-link");
    c.wait_for_path("/settings/security");
    fits_and_passes_axe(&c, "/settings/security");
    c.click_and_load("form[action='/settings/two-factor/setup'] button");
    assert!(c.has(".qr svg"), "the QR code is drawn");
    fits_and_passes_axe(&c, "the setup page");
    let secret = c.text("#totp-secret");
    steady();
    c.fill("input[name=code]", &code(&secret, 0));
    c.click_and_load("#two-factor-enable button[type=submit]");
    assert_eq!(c.find_all("#recovery-codes li").len(), 10);
    let recovery = c.text("#recovery-codes li code");
    fits_and_passes_axe(&c, "the recovery codes");

    c.click_and_load("form[action='/signout'] button");
    sign_in(&c);
    c.wait_for_path("/signin/two-factor");
    c.wait_for_focus("input[name=code]");
    fits_and_passes_axe(&c, "/signin/two-factor");
    // The next step's code: the one that turned it on cannot be used again.
    steady();
    c.fill("input[name=code]", &code(&secret, 1));
    c.click_and_load("#two-factor-form button[type=submit]");
    c.wait_for_path("/");
    assert!(c.has("form[action='/signout']"), "signed in");

    // An hour later a sensitive change asks to confirm it is her: the page
    // offers the code form beside the password, and a recovery code will do.
    app.with_conn(|conn| {
        use diesel::prelude::*;
        use gatehouse::db::schema::sessions;
        let hour_ago = chrono::Utc::now().naive_utc() - chrono::Duration::hours(1);
        diesel::update(sessions::table)
            .set(sessions::authenticated_at.eq(hour_ago))
            .execute(conn)
            .unwrap()
    });
    c.goto("/reauth?callbackUrl=/settings/security");
    assert!(c.has("#reauth-code"), "the code form is offered");
    fits_and_passes_axe(&c, "/reauth with a code form");
    c.fill("#reauth-code input[name=code]", &recovery);
    c.click_and_load("#reauth-code-submit");
    c.wait_for_path("/settings/security");
}

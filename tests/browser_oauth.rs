//! Provider sign-in in a real browser: the sign-in page's button posts to
//! gatehouse, whose `303` leads to the fake provider (another origin) and back.
//! Chromium checks the pages' CSP `form-action` on that redirect, so this
//! story fails if the provider's origin is missing from it.

mod common;
#[path = "common/webdriver.rs"]
mod webdriver;

use common::fake_provider::{FakeProvider, FakeUser};
use common::{Backend, TestApp};
use webdriver::Chromium;

on_both_backends!(sign_in_with_a_provider);

fn sign_in_with_a_provider(backend: Backend) {
    let fake = FakeProvider::start();
    let vars = fake.vars("GITHUB");
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let Some(app) = TestApp::start_with(backend, &refs) else {
        return;
    };
    let Some(c) = Chromium::launch(&app.base) else {
        return;
    };
    fake.sign_in_as(FakeUser::new("7001", "Octo Cat", "octo@example.com"));
    c.goto("/signin?callbackUrl=/settings");
    c.assert_accessible();
    // Gatehouse, the provider (another origin) and back, in the browser.
    c.click_and_load("#signin-github");
    c.wait_for_path("/settings");
    assert_eq!(c.text("#user-name"), "Octo Cat");
    assert!(
        c.has("#linked-accounts li[data-provider=github]"),
        "{}",
        c.source()
    );
    c.assert_accessible();
    assert_eq!(app.count("accounts"), 1);
}

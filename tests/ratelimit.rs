//! Rate limits kept in the database: they trip at the configured count with
//! 429 and `Retry-After`, and two instances on one database share them.

mod common;

use common::{Backend, Browser, PASSWORD, Page, TestApp};
use reqwest::Method;
use serde_json::json;

on_both_backends!(
    failed_sign_ins_trip_the_limit_on_every_instance,
    accounts_and_addresses_are_limited_separately_behind_a_trusted_proxy,
    forwarded_addresses_are_ignored_without_a_trusted_proxy,
    sign_ups_and_api_calls_have_budgets,
);

/// A sign-in form post that claims to come through a proxy for `ip`.
fn sign_in_via(b: &Browser, ip: &str, email: &str, password: &str) -> Page {
    let token = b.csrf_token();
    let url = b.url("/signin");
    let body = serde_urlencoded::to_string([
        ("email", email),
        ("password", password),
        ("csrf_token", token.as_str()),
    ])
    .unwrap();
    let ip = ip.to_string();
    b.send(|c| {
        c.post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-forwarded-for", ip)
            .body(body)
    })
}

fn retry_after(p: &Page) -> u64 {
    p.header("retry-after")
        .unwrap_or_else(|| panic!("no Retry-After: {} {}", p.status, p.body))
        .parse()
        .unwrap()
}

fn failed_sign_ins_trip_the_limit_on_every_instance(backend: Backend) {
    let Some(a) = TestApp::start_with(backend, &[("RATE_LIMIT_SIGNIN", "3/15m")]) else {
        return;
    };
    let b = a.second_instance(&[("RATE_LIMIT_SIGNIN", "3/15m")]);
    a.signed_up("Lena", "lena@example.com");
    // Three failures, spread over the two instances.
    for (i, app) in [&a, &b, &a].iter().enumerate() {
        let r = app.browser().submit(
            "/signin",
            &[("email", "lena@example.com"), ("password", "nope nope")],
        );
        assert_eq!(r.status, 401, "attempt {i}");
    }
    for app in [&a, &b] {
        // Even the right password is refused now, on either instance.
        let r = app.browser().submit(
            "/signin",
            &[("email", "lena@example.com"), ("password", PASSWORD)],
        );
        assert_eq!(r.status, 429, "{}", r.body);
        let wait = retry_after(&r);
        assert!((800..=900).contains(&wait), "{wait}");
        assert!(r.body.contains("Too many attempts"), "{}", r.body);
        assert!(
            r.body.contains("lena@example.com"),
            "the form keeps the email"
        );
    }
    // The window ends: the right password works again.
    a.sql("UPDATE rate_limits SET window_start = '2000-01-01 00:00:00'");
    let r = b.browser().submit(
        "/signin",
        &[("email", "lena@example.com"), ("password", PASSWORD)],
    );
    assert_eq!(r.status, 303);
    // The trip was recorded once per counter.
    assert_eq!(
        a.count("audit_events WHERE action = 'rate_limited'"),
        2,
        "account and address, once each"
    );
}

fn accounts_and_addresses_are_limited_separately_behind_a_trusted_proxy(backend: Backend) {
    let vars = [
        ("RATE_LIMIT_SIGNIN", "3/15m"),
        ("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1,10.9.0.0/16"),
    ];
    let Some(app) = TestApp::start_with(backend, &vars) else {
        return;
    };
    app.signed_up("Alice", "alice@example.com");
    app.signed_up("Bob", "bob@example.com");
    let b = app.browser();
    for _ in 0..3 {
        assert_eq!(
            sign_in_via(&b, "203.0.113.1", "alice@example.com", "wrong one!").status,
            401
        );
    }
    // The account is limited from any address...
    assert_eq!(
        sign_in_via(&b, "203.0.113.2", "alice@example.com", PASSWORD).status,
        429
    );
    // ...and the address for any account.
    assert_eq!(
        sign_in_via(&b, "203.0.113.1", "bob@example.com", PASSWORD).status,
        429
    );
    // Another address and account are untouched: a success elsewhere does
    // not reset or share anything.
    assert_eq!(
        sign_in_via(&b, "203.0.113.3", "bob@example.com", PASSWORD).status,
        303
    );
    assert_eq!(
        sign_in_via(&b, "203.0.113.1", "bob@example.com", PASSWORD).status,
        429
    );
    // The client is the right-most untrusted hop; a spoofed left-most entry
    // does not escape the limit.
    let spoofed = sign_in_via(
        &b,
        "198.51.100.7, 203.0.113.1, 10.9.1.1",
        "bob@example.com",
        PASSWORD,
    );
    assert_eq!(spoofed.status, 429);
    // Sessions record the forwarded address.
    let ok = app.browser();
    assert_eq!(
        sign_in_via(&ok, "203.0.113.9", "bob@example.com", PASSWORD).status,
        303
    );
    let sessions = ok.get("/api/auth/sessions").json();
    let current = sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .unwrap()
        .clone();
    assert_eq!(current["ip"], "203.0.113.9");
}

fn forwarded_addresses_are_ignored_without_a_trusted_proxy(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, &[("RATE_LIMIT_SIGNIN", "2/15m")]) else {
        return;
    };
    app.signed_up("Carl", "carl@example.com");
    let b = app.browser();
    assert_eq!(
        sign_in_via(&b, "203.0.113.1", "x@example.com", "wrong one!").status,
        401
    );
    assert_eq!(
        sign_in_via(&b, "203.0.113.2", "y@example.com", "wrong one!").status,
        401
    );
    // Both counted against 127.0.0.1: the header was not believed.
    assert_eq!(
        sign_in_via(&b, "203.0.113.3", "carl@example.com", PASSWORD).status,
        429
    );
}

fn sign_ups_and_api_calls_have_budgets(backend: Backend) {
    let vars = [("RATE_LIMIT_SIGNUP", "2/1h"), ("RATE_LIMIT_API", "3/1m")];
    let Some(app) = TestApp::start_with(backend, &vars) else {
        return;
    };
    let u = app.signed_up("One", "one@example.com");
    app.signed_up("Two", "two@example.com");
    let third = app.browser().submit(
        "/signup",
        &[
            ("name", "Three"),
            ("email", "three@example.com"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(third.status, 429);
    assert!(retry_after(&third) > 3000);
    // JSON: three state-changing calls pass, the fourth is refused; reads are free.
    for i in 0..3 {
        let r = u.json(Method::POST, "/api/auth/session", &json!({"theme": "dark"}));
        assert_eq!(r.status, 200, "call {i}: {}", r.body);
    }
    let r = u.json(
        Method::POST,
        "/api/auth/session",
        &json!({"name": "Changed"}),
    );
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["error"], "rate_limited");
    assert!(retry_after(&r) <= 60);
    assert_eq!(
        u.session_json()["user"]["name"],
        "One",
        "the refused call changed nothing"
    );
    for _ in 0..5 {
        assert_eq!(u.get("/api/auth/session").status, 200);
    }
}

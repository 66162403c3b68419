//! Hygiene stories: every answer carries the security headers (errors raised
//! in middleware too), the CSRF cookie changes with the session, and a cookie's
//! removal has the attributes of the cookie it removes.

mod common;

use common::fake_provider::{FakeProvider, FakeUser};
use common::{Backend, Browser, PASSWORD, Page, TestApp};
use reqwest::Method;
use serde_json::json;

on_both_backends!(
    errors_raised_in_middleware_carry_the_security_headers,
    a_planted_csrf_token_dies_at_sign_in_and_sign_out,
    the_oauth_cookie_removal_matches_the_cookie_over_https,
);

fn assert_secured(page: &Page, what: &str) {
    assert_eq!(
        page.header("cache-control").as_deref(),
        Some("no-store"),
        "{what}: Cache-Control"
    );
    assert_eq!(
        page.header("x-content-type-options").as_deref(),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        page.header("x-frame-options").as_deref(),
        Some("DENY"),
        "{what}"
    );
    assert_eq!(
        page.header("referrer-policy").as_deref(),
        Some("same-origin"),
        "{what}"
    );
    let csp = page
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy"));
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
}

fn errors_raised_in_middleware_carry_the_security_headers(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, &[("RATE_LIMIT_API", "2/1m")]) else {
        return;
    };
    let b = app.signed_up("Ada", "ada@example.com");

    // CSRF, as a form (a page) and as JSON.
    let form = b.post_form_raw("/settings/profile", &[("name", "Mallory"), ("image", "")]);
    assert_eq!(form.status, 403);
    assert_secured(&form, "CSRF 403 (form)");
    let url = b.url("/api/auth/session");
    let api = b.send(|c| {
        c.post(url)
            .header("content-type", "application/json")
            .body(json!({"name": "Mallory"}).to_string())
    });
    assert_eq!(api.status, 403);
    assert_eq!(api.json()["error"], "csrf");
    assert_secured(&api, "CSRF 403 (JSON)");

    // The body cap.
    let big = "x".repeat(70 * 1024);
    let too_large = b.post_form_raw("/settings/profile", &[("name", &big), ("image", "")]);
    assert_eq!(too_large.status, 413);
    assert_secured(&too_large, "413");

    // The API budget.
    for _ in 0..2 {
        let ok = b.json(Method::POST, "/api/auth/session", &json!({"theme": "dark"}));
        assert_eq!(ok.status, 200, "{}", ok.body);
    }
    let limited = b.json(Method::POST, "/api/auth/session", &json!({"theme": "dark"}));
    assert_eq!(limited.status, 429);
    assert_secured(&limited, "429");

    let missing = b.get("/no/such/page");
    assert_eq!(missing.status, 404);
    assert_secured(&missing, "404");
    // The stylesheet keeps its own caching.
    let css = b.get("/static/app.css");
    assert_eq!(css.status, 200);
    assert_ne!(css.header("cache-control").as_deref(), Some("no-store"));

    // The session store fails to save a new session: 503 from the middleware.
    app.sql("ALTER TABLE sessions RENAME TO sessions_gone");
    // (A sign-up's session is saved by the store; a sign-in's is made by its
    // handler, with the second-factor step.)
    let stranded = app.browser().submit(
        "/signup",
        &[
            ("name", "Bea"),
            ("email", "bea@example.com"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(stranded.status, 503, "{}", stranded.body);
    assert_secured(&stranded, "store 503");
    app.sql("ALTER TABLE sessions_gone RENAME TO sessions");
}

/// Posts the profile form with exactly this token.
fn rename_with(b: &Browser, token: &str, name: &str) -> Page {
    b.post_form_raw(
        "/settings/profile",
        &[("name", name), ("image", ""), ("csrf_token", token)],
    )
}

fn a_planted_csrf_token_dies_at_sign_in_and_sign_out(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    app.signed_up("Ada", "ada@example.com");

    // The attacker gets a cookie and its token, and plants the cookie in
    // Ada's browser (a sibling subdomain can set cookies, for one).
    let attacker = app.browser();
    let planted_token = attacker.csrf_token();
    let planted_cookie = attacker.cookie("gatehouse_csrf").unwrap();
    let ada = app.browser();
    ada.cookies
        .borrow_mut()
        .insert("gatehouse_csrf".into(), planted_cookie.clone());

    // Ada signs in; her CSRF cookie is new, so the attacker's token is refused.
    let signed_in = ada.post_form_raw(
        "/signin",
        &[
            ("email", "ada@example.com"),
            ("password", PASSWORD),
            ("csrf_token", &planted_token),
        ],
    );
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let fresh = ada.cookie("gatehouse_csrf").unwrap();
    assert_ne!(fresh, planted_cookie, "sign-in rotates the CSRF cookie");
    assert_eq!(rename_with(&ada, &planted_token, "Mallory").status, 403);
    assert_eq!(ada.session_json()["user"]["name"], "Ada");
    // The page's own token works.
    let token = ada.get("/settings").meta_csrf().unwrap();
    assert_eq!(rename_with(&ada, &token, "Ada B").status, 303);

    // After sign-out, the token of the signed-in pages is dead too.
    let out = ada.post_form_raw("/signout", &[("csrf_token", &token)]);
    assert_eq!(out.status, 303, "{}", out.body);
    assert_ne!(ada.cookie("gatehouse_csrf").unwrap(), fresh);
    let replayed = ada.post_form_raw(
        "/signin",
        &[
            ("email", "ada@example.com"),
            ("password", PASSWORD),
            ("csrf_token", &token),
        ],
    );
    assert_eq!(replayed.status, 403, "the old token is refused");
    assert!(ada.session_json().is_null());
    let token = ada.get("/signin").meta_csrf().unwrap();
    let again = ada.post_form_raw(
        "/signin",
        &[
            ("email", "ada@example.com"),
            ("password", PASSWORD),
            ("csrf_token", &token),
        ],
    );
    assert_eq!(again.status, 303, "{}", again.body);
    assert_eq!(ada.session_json()["user"]["name"], "Ada B");
}

/// The attributes of a `Set-Cookie` line after its value, lower-cased, without
/// `Max-Age` and `Expires`.
fn attributes(line: &str) -> Vec<String> {
    let mut attrs: Vec<String> = line
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .filter(|a| !a.starts_with("max-age") && !a.starts_with("expires"))
        .collect();
    attrs.sort();
    attrs
}

fn the_oauth_cookie_removal_matches_the_cookie_over_https(backend: Backend) {
    let fake = FakeProvider::start();
    let public = "https://auth.example.com";
    let mut vars: Vec<(String, String)> = fake.vars("GITHUB");
    vars.push(("GATEHOUSE_URL".into(), public.into()));
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let Some(app) = TestApp::start_with(backend, &refs) else {
        return;
    };
    fake.sign_in_as(FakeUser::new("4242", "Octo Cat", "octo@example.com"));
    let b = app.browser();
    let start = b.submit("/api/auth/signin/github", &[]);
    assert_eq!(start.status, 303, "{}", start.body);
    let set = start
        .set_cookie("__Host-gatehouse_oauth")
        .expect("the binding cookie");
    let to = start.location().unwrap();
    let at = b.send(|c| c.get(to));
    assert_eq!(at.status, 302, "{}", at.body);
    // The provider sends the browser to the public URL; this server is it.
    let back = at.location().unwrap().replacen(public, &app.base, 1);
    let done = b.send(|c| c.get(back));
    assert_eq!(done.status, 303, "{}", done.body);
    let removal = done
        .set_cookie("__Host-gatehouse_oauth")
        .expect("the binding cookie is removed");
    for attr in ["Secure", "HttpOnly", "Path=/", "SameSite=Lax", "Max-Age=0"] {
        assert!(removal.contains(attr), "{attr} missing in {removal}");
    }
    assert_eq!(attributes(&removal), attributes(&set), "{set} / {removal}");
    assert!(b.cookie("__Host-gatehouse_oauth").is_none());
    assert_eq!(b.session_json()["user"]["email"], "octo@example.com");
}

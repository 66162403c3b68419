//! What the server does with hostile text: email addresses with invisible or
//! look-alike characters (one email rule everywhere), and NUL bytes in any
//! input (refused as bad input in one place, never a 500).

mod common;

use common::{Backend, Browser, PASSWORD, Page, TestApp};
use reqwest::Method;
use serde_json::json;

on_both_backends!(
    invisible_characters_in_an_email_are_refused,
    a_fullwidth_email_is_the_same_account,
    a_dotless_domain_is_refused,
    a_lookalike_domain_is_a_visibly_different_address,
    the_sign_up_domain_gate_reads_the_stored_form,
    the_command_line_uses_the_same_email_rule,
    stored_email_collisions_are_reported_not_merged,
    a_nul_in_a_form_is_bad_input_and_changes_nothing,
    a_nul_in_a_query_is_bad_input,
    a_nul_in_json_is_bad_input_and_changes_nothing,
    an_encoded_percent_is_not_a_nul,
    a_body_over_the_cap_still_answers_413,
);

const ADMIN: &str = common::ROOT_ADMIN;

fn app(backend: Backend) -> Option<TestApp> {
    TestApp::with_admin(backend, &[])
}

fn sign_up(app: &TestApp, name: &str, email: &str) -> (Browser, Page) {
    let b = app.browser();
    let page = b.submit(
        "/signup",
        &[("name", name), ("email", email), ("password", PASSWORD)],
    );
    (b, page)
}

fn invisible_characters_in_an_email_are_refused(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    for email in [
        "ada\u{200b}@example.com",
        "a\u{00ad}da@example.com",
        "\u{202e}ada@example.com",
        "ada@exam\u{200d}ple.com",
        "ad a@example.com",
    ] {
        let (b, page) = sign_up(&app, "Ada", email);
        assert_eq!(page.status, 422, "{email:?}: {}", page.body);
        assert!(b.session_json().is_null());
    }
    assert_eq!(app.count("users"), 0);
}

fn a_fullwidth_email_is_the_same_account(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    app.signed_up("Ada", "ada@example.com");
    let (_, page) = sign_up(&app, "Impostor", "ａｄａ@example.com");
    assert_eq!(page.status, 409, "{}", page.body);
    let (_, page) = sign_up(&app, "Impostor", "ＡＤＡ@ＥＸＡＭＰＬＥ.com");
    assert_eq!(page.status, 409, "{}", page.body);
    assert_eq!(app.count("users"), 1);
    // Signing in with the fullwidth spelling finds Ada.
    let b = app.signed_in("ａｄａ@example.com");
    assert_eq!(b.get("/").user_name().as_deref(), Some("Ada"));
    assert_eq!(b.session_json()["user"]["email"], "ada@example.com");
}

fn a_dotless_domain_is_refused(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    for email in ["ada@localhost", "ada@example", "ada@example."] {
        let (_, page) = sign_up(&app, "Ada", email);
        assert_eq!(page.status, 422, "{email}: {}", page.body);
    }
    assert_eq!(app.count("users"), 0);
}

fn a_lookalike_domain_is_a_visibly_different_address(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    app.signed_up("Ada", "ada@example.com");
    // A Cyrillic а (U+0430) in the domain: another address, shown as punycode.
    let (b, page) = sign_up(&app, "Other Ada", "ada@ex\u{430}mple.com");
    assert_eq!(page.status, 303, "{}", page.body);
    let email = b.session_json()["user"]["email"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(email.starts_with("ada@xn--"), "{email}");
    // A Cyrillic letter among Latin ones before the @ is refused.
    let (_, page) = sign_up(&app, "Mixed", "\u{430}da@example.com");
    assert_eq!(page.status, 422, "{}", page.body);
    assert_eq!(app.count("users"), 2);
}

/// The allow-list holds domains in their IDNA ASCII form: a sign-up typed in
/// Unicode or fullwidth is checked in the stored form, as sign-in and OAuth are.
fn the_sign_up_domain_gate_reads_the_stored_form(backend: Backend) {
    let vars = [("GATEHOUSE_EMAIL_DOMAINS", "bücher.example,example.com")];
    let Some(app) = TestApp::start_with(backend, &vars) else {
        return;
    };
    for email in ["ada@bücher.example", "bob@ＥＸＡＭＰＬＥ.com"] {
        let (b, page) = sign_up(&app, "Ada", email);
        assert_eq!(page.status, 303, "{email}: {}", page.body);
        assert!(!b.session_json().is_null(), "{email}");
    }
    let (_, page) = sign_up(&app, "Eve", "eve@example.org");
    assert_eq!(page.status, 422, "{}", page.body);
    assert_eq!(app.count("users"), 2);
}

fn gatehouse(app: &TestApp, args: &[&str], stdin: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = common::run_gatehouse(dir.path(), &app.database_url, args, stdin, &[]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn the_command_line_uses_the_same_email_rule(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    app.signed_up("Ada", "ada@example.com");
    let pw = format!("{PASSWORD}\n");
    let (ok, out) = gatehouse(
        &app,
        &[
            "user",
            "add",
            "--email",
            "ａｄａ@example.com",
            "--name",
            "Twin",
        ],
        &pw,
    );
    assert!(!ok, "a fullwidth twin was created: {out}");
    assert!(out.contains("already exists"), "{out}");
    let (ok, out) = gatehouse(
        &app,
        &[
            "user",
            "add",
            "--email",
            "bob\u{200b}@example.com",
            "--name",
            "Bob",
        ],
        &pw,
    );
    assert!(!ok, "a zero-width space was accepted: {out}");
    assert_eq!(app.count("users"), 1);
}

/// Rows stored before the rule: two spellings of one address. Start-up (and
/// `gatehouse migrate`) names them and changes nothing.
fn stored_email_collisions_are_reported_not_merged(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let insert = |email: &str| {
        app.sql(&format!(
            "INSERT INTO users (email, name, created_at, updated_at) VALUES ('{email}', 'x', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        ));
    };
    // A clean start is remembered, so later starts do not read every address.
    let checked = "settings WHERE key = 'email_rule_checked'";
    assert_eq!(app.count(checked), 1);
    insert("ada@example.com");
    insert("ａｄａ@example.com");
    insert("zed@example.com");
    let (ok, out) = gatehouse(&app, &["migrate"], "");
    assert!(ok, "{out}");
    let ids: Vec<String> = ["ada@example.com", "ａｄａ@example.com"]
        .iter()
        .map(|e| {
            app.with_conn(|c| {
                use diesel::prelude::*;
                use gatehouse::db::schema::users;
                users::table
                    .filter(users::email.eq(*e))
                    .select(users::id)
                    .first::<i64>(c)
                    .unwrap()
                    .to_string()
            })
        })
        .collect();
    let line = format!("email collision: users {}, {}", ids[0], ids[1]);
    assert!(out.contains(&line), "no report of the collision: {out}");
    assert!(!out.contains("ada@"), "the report names no address: {out}");
    assert_eq!(app.count("users"), 3, "nothing merged");
    assert_eq!(app.count("users WHERE email = 'ａｄａ@example.com'"), 1);
    // Findings are not remembered: every start reports them until resolved.
    assert_eq!(app.count(checked), 0);
    // Start-up finds the same.
    let app = app.restart(&[]);
    assert_eq!(app.startup.email_report.collisions.len(), 1);
}

fn nul_refused(page: &Page, what: &str) {
    assert_eq!(page.status, 400, "{what}: {}", page.body);
    assert!(page.body.contains("NUL"), "{what}: {}", page.body);
}

fn a_nul_in_a_form_is_bad_input_and_changes_nothing(backend: Backend) {
    let Some(app) = app(backend) else {
        return;
    };
    let bob = app.signed_up("Bob", "bob@example.com");
    let id = bob.user_id();
    let b = app.browser();
    let page = b.submit(
        "/signin",
        &[("email", "bob\0@example.com"), ("password", PASSWORD)],
    );
    nul_refused(&page, "sign-in email");
    assert!(b.session_json().is_null());
    nul_refused(
        &app.browser().submit(
            "/signup",
            &[
                ("name", "N\0l"),
                ("email", "n@example.com"),
                ("password", PASSWORD),
            ],
        ),
        "sign-up name",
    );
    assert_eq!(app.count("users"), 2);
    nul_refused(
        &bob.submit("/settings/profile", &[("name", "Bo\0b"), ("image", "")]),
        "profile name",
    );
    let admin = app.signed_in(ADMIN);
    nul_refused(
        &admin.submit(
            &format!("/admin/users/{id}/ban"),
            &[("reason", "spam\0"), ("until", "")],
        ),
        "ban reason (form)",
    );
    assert_eq!(bob.get("/").user_name().as_deref(), Some("Bob"));
    assert_eq!(app.count("users WHERE banned_at IS NOT NULL"), 0);
}

fn a_nul_in_a_query_is_bad_input(backend: Backend) {
    let Some(app) = app(backend) else {
        return;
    };
    let admin = app.signed_in(ADMIN);
    for path in [
        "/admin?q=a%00",
        "/admin/audit?action=%00",
        "/api/admin/users?q=%00",
        "/api/admin/audit?action=sign_in%00",
        "/api/admin/audit?user=1%00",
    ] {
        nul_refused(&admin.get(path), path);
    }
    let r = admin.get("/api/admin/users?q=%00");
    assert_eq!(r.json()["error"], "bad_request");
    assert_eq!(admin.get("/api/admin/users?q=root").status, 200);
}

fn a_nul_in_json_is_bad_input_and_changes_nothing(backend: Backend) {
    let Some(app) = app(backend) else {
        return;
    };
    let bob = app.signed_up("Bob", "bob@example.com");
    let id = bob.user_id();
    let r = bob.json(
        Method::POST,
        "/api/auth/session",
        &json!({"name": "Bo\u{0}b", "theme": "dark"}),
    );
    nul_refused(&r, "JSON profile update");
    assert_eq!(r.json()["error"], "bad_request");
    let s = bob.session_json();
    assert_eq!(s["user"]["name"], "Bob");
    assert_eq!(s["user"]["theme"], "system");
    let admin = app.signed_in(ADMIN);
    let r = admin.json(
        Method::POST,
        &format!("/api/admin/users/{id}/ban"),
        &json!({"reason": "spam\u{0}links"}),
    );
    nul_refused(&r, "ban reason (JSON)");
    assert_eq!(app.count("users WHERE banned_at IS NOT NULL"), 0);
    assert_eq!(
        app.count("audit_events WHERE action = 'banned'"),
        0,
        "nothing audited"
    );
    assert!(!bob.session_json().is_null(), "Bob is not banned");
}

fn an_encoded_percent_is_not_a_nul(backend: Backend) {
    let Some(app) = app(backend) else {
        return;
    };
    let admin = app.signed_in(ADMIN);
    let r = admin.get("/api/admin/users?q=%2500");
    assert_eq!(r.status, 200, "{}", r.body);
    let bob = app.signed_up("Bob", "bob@example.com");
    let r = bob.json(
        Method::POST,
        "/api/auth/session",
        &json!({"name": "100%00 Bob \\u0000"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(bob.session_json()["user"]["name"], "100%00 Bob \\u0000");
}

fn a_body_over_the_cap_still_answers_413(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let bob = app.signed_up("Bob", "bob@example.com");
    let long = "x".repeat(20 * 1024);
    let r = bob.json(Method::POST, "/api/auth/session", &json!({ "name": long }));
    assert_eq!(r.status, 413, "{}", r.body);
    let r = bob.submit("/settings/profile", &[("name", &long), ("image", "")]);
    assert_eq!(r.status, 413, "{}", r.body);
    // Past the cap a NUL is not looked for: the size is what is refused.
    let r = bob.json(
        Method::POST,
        "/api/auth/session",
        &json!({ "name": format!("{long}\u{0}") }),
    );
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(bob.session_json()["user"]["name"], "Bob");
}

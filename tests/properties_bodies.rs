//! Property test for form and JSON bodies through the real app: hostile
//! fields, values, content types and raw bytes sent to every state-changing
//! route (anonymous and as an admin, with and without the CSRF token) never
//! answer 5xx, and the server keeps serving. Cases: `PROPTEST_CASES` (default
//! 128 per backend, about 3 per route).

mod common;

use common::{Backend, Browser, TestApp};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use reqwest::Method;

on_both_backends!(hostile_bodies_never_answer_5xx);

/// Routes a body reaches; `{victim}` is another user's id. Sign-out,
/// impersonation and revoking the other sessions of one's own are left out
/// so that the admin stays signed in and later cases reach the signed-in
/// handlers too (deleting the admin's account answers `409`, the last admin,
/// or `422` for any other typed address).
const ROUTES: &[(&str, &str)] = &[
    ("POST", "/signin"),
    ("POST", "/signup"),
    ("POST", "/settings/profile"),
    ("POST", "/settings/preferences"),
    ("POST", "/settings/password"),
    ("POST", "/settings/email"),
    ("POST", "/settings/verify-email"),
    ("POST", "/settings/sessions/revoke"),
    ("POST", "/settings/accounts/github/unlink"),
    ("POST", "/settings/passkeys/x/remove"),
    ("POST", "/settings/two-factor/setup"),
    ("POST", "/settings/two-factor/enable"),
    ("POST", "/settings/two-factor/disable"),
    ("POST", "/settings/two-factor/recovery-codes"),
    ("POST", "/settings/delete"),
    ("POST", "/reauth"),
    ("POST", "/reauth/two-factor"),
    ("POST", "/forgot-password"),
    ("POST", "/reset-password"),
    ("POST", "/signin/email"),
    ("POST", "/signin/two-factor"),
    ("POST", "/setup"),
    ("POST", "/admin/users/{victim}/update"),
    ("POST", "/admin/users/{victim}/ban"),
    ("POST", "/admin/users/{victim}/unban"),
    ("POST", "/admin/users/{victim}/sessions/revoke"),
    ("POST", "/admin/users/{victim}/two-factor/reset"),
    ("POST", "/api/auth/session"),
    ("POST", "/api/auth/delete"),
    ("POST", "/api/auth/forgot-password"),
    ("POST", "/api/auth/reset-password"),
    ("POST", "/api/auth/signin/email"),
    ("POST", "/api/auth/signin/github"),
    ("POST", "/api/auth/passkey/register/options"),
    ("POST", "/api/auth/passkey/register/verify"),
    ("POST", "/api/auth/passkey/signin/options"),
    ("POST", "/api/auth/passkey/signin/verify"),
    ("POST", "/api/auth/passkey/reauth/options"),
    ("POST", "/api/auth/passkey/reauth/verify"),
    ("PATCH", "/api/admin/users/{victim}"),
    ("PATCH", "/api/admin/users/x%00"),
    ("POST", "/api/admin/users/{victim}/ban"),
    ("POST", "/api/admin/users/{victim}/unban"),
    ("POST", "/api/admin/users/{victim}/two-factor/reset"),
];

const FIELDS: &[&str] = &[
    "name",
    "email",
    "password",
    "current_password",
    "new_password",
    "callbackUrl",
    "code",
    "token",
    "theme",
    "language",
    "reason",
    "until",
    "role",
    "plan",
    "plan_expires_at",
    "permissions",
    "image",
    "confirm",
    "id",
    "csrf_token",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        2 => "[ -~]{0,40}",
        1 => Just(String::new()),
        1 => "[a-z]{1,8}@[a-z]{1,8}\\.org",
        1 => "(//evil.example|javascript:alert\\(1\\)|/\\\\evil|%00|\u{0}|\u{202e}|[0-9]{1,30}|-1|1e999|null|true)",
        1 => "[\u{80}-\u{10ffff}]{1,20}",
        1 => "[a-z]{1000,20000}",
    ]
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        value().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec(
                (
                    prop_oneof![
                        prop::sample::select(FIELDS).prop_map(str::to_owned),
                        value()
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone)]
enum Body {
    Form(Vec<(String, String)>),
    Json(serde_json::Value),
    /// Raw bytes under some content type (possibly a lie).
    Raw(String, Vec<u8>),
}

fn body() -> impl Strategy<Value = Body> {
    let field =
        prop_oneof![4 => prop::sample::select(FIELDS).prop_map(str::to_owned), 1 => value()];
    prop_oneof![
        3 => proptest::collection::vec((field, value()), 0..8).prop_map(Body::Form),
        2 => json_value().prop_map(Body::Json),
        1 => (
            prop::sample::select(vec![
                "application/x-www-form-urlencoded",
                "application/json",
                "application/json; charset=latin1",
                "text/plain",
                "multipart/form-data; boundary=x",
                "",
                "application/x-www-form-urlencoded; charset=ebcdic",
            ]),
            proptest::collection::vec(any::<u8>(), 0..300),
        )
            .prop_map(|(ct, b)| Body::Raw(ct.to_owned(), b)),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    route: usize,
    as_admin: bool,
    with_csrf: bool,
    body: Body,
}

fn case() -> impl Strategy<Value = Case> {
    (
        0..ROUTES.len(),
        any::<bool>(),
        prop::bool::weighted(0.8),
        body(),
    )
        .prop_map(|(route, as_admin, with_csrf, body)| Case {
            route,
            as_admin,
            with_csrf,
            body,
        })
}

fn send(b: &Browser, token: &str, victim: &str, case: &Case) -> u16 {
    let (method, path) = ROUTES[case.route];
    let url = b.url(&path.replace("{victim}", victim));
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let (content_type, bytes) = match &case.body {
        Body::Form(fields) => {
            let mut fields = fields.clone();
            if case.with_csrf {
                fields.push(("csrf_token".into(), token.into()));
            }
            let body = serde_urlencoded::to_string(&fields).unwrap();
            (
                "application/x-www-form-urlencoded".to_owned(),
                body.into_bytes(),
            )
        }
        Body::Json(v) => ("application/json".to_owned(), v.to_string().into_bytes()),
        Body::Raw(ct, bytes) => (ct.clone(), bytes.clone()),
    };
    let page = b.send(|c| {
        let mut r = c.request(method, url).body(bytes);
        if !content_type.is_empty() {
            r = r.header("content-type", content_type);
        }
        if case.with_csrf {
            r = r.header("x-csrf-token", token);
        }
        r
    });
    page.status
}

fn hostile_bodies_never_answer_5xx(backend: Backend) {
    let Some(app) = TestApp::with_admin(
        backend,
        &[
            ("RATE_LIMIT_SIGNIN", "off"),
            ("RATE_LIMIT_SIGNIN_ACCOUNT", "off"),
            ("RATE_LIMIT_SIGNUP", "off"),
            ("RATE_LIMIT_API", "off"),
            ("RATE_LIMIT_EMAIL", "off"),
        ],
    ) else {
        return;
    };
    let victim_browser = app.signed_up("Victim", "victim@example.com");
    let victim = victim_browser.user_id();
    let admin = app.signed_in(common::ROOT_ADMIN);
    let anonymous = app.browser();

    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(128);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let started = std::time::Instant::now();
    let statuses = std::cell::RefCell::new(std::collections::BTreeMap::<u16, usize>::new());
    let result = runner.run(&case(), |case| {
        // A sign-in, sign-up or setup that happened to succeed would replace
        // the admin's session: those go out anonymously.
        let path = ROUTES[case.route].1;
        let anonymous_only = ["/signin", "/signup", "/setup"].contains(&path);
        let b = if case.as_admin && !anonymous_only {
            &admin
        } else {
            &anonymous
        };
        // The token is read anew: some answers rotate it.
        let token = b.csrf_token();
        let status = send(b, &token, &victim, &case);
        *statuses.borrow_mut().entry(status).or_default() += 1;
        prop_assert!((200..500).contains(&status), "{status} for {case:?}");
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!(
        "{cases} hostile bodies on {backend:?} in {:?}; answers: {:?}",
        started.elapsed(),
        statuses.borrow()
    );
    assert_eq!(app.browser().get("/healthz").status, 200);
    // The admin stayed signed in (no case signs out), and a sign-in still works.
    assert_eq!(admin.get("/settings").status, 200);
    app.signed_in(common::ROOT_ADMIN);
}

//! Start-up stories: the first admin, the generated secret, outages.

mod common;

use common::{Backend, PASSWORD, TestApp};

on_both_backends!(
    with_no_admin_a_one_time_setup_link_creates_the_first_admin,
    the_configured_admin_is_created_once_and_never_overwritten,
    sessions_survive_a_restart_with_the_generated_secret,
    a_given_secret_replaces_the_generated_one,
);

fn with_no_admin_a_one_time_setup_link_creates_the_first_admin(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let link = app
        .startup
        .setup_link
        .clone()
        .expect("a setup link is issued");
    let path = link
        .strip_prefix(&app.base)
        .expect("link on the public URL");
    assert!(path.starts_with("/setup?token="));
    let token = path.trim_start_matches("/setup?token=").to_owned();

    let b = app.browser();
    assert_eq!(b.get("/setup?token=wrong").status, 404);
    let page = b.get(path);
    assert_eq!(page.status, 200);

    // A bad form keeps the link usable.
    let bad = b.submit(
        "/setup",
        &[
            ("token", &token),
            ("name", "Root"),
            ("email", "root@example.com"),
            ("password", "short"),
        ],
    );
    assert_eq!(bad.status, 422);
    let ok = b.submit(
        "/setup",
        &[
            ("token", &token),
            ("name", "Root"),
            ("email", "root@example.com"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(ok.status, 303, "{}", ok.body);
    let s = b.session_json();
    assert_eq!(s["user"]["role"], "admin");
    assert_eq!(s["user"]["name"], "Root");

    // Spent: the link is gone, and a restart issues none while an admin exists.
    let again = app.browser().submit(
        "/setup",
        &[
            ("token", &token),
            ("name", "Eve"),
            ("email", "eve@example.com"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(again.status, 404);
    assert_eq!(app.browser().get(path).status, 404);
    let app = app.restart(&[]);
    assert!(app.startup.setup_link.is_none());
}

fn the_configured_admin_is_created_once_and_never_overwritten(backend: Backend) {
    let vars = [
        ("GATEHOUSE_ADMIN_EMAIL", "Boss@Example.com"),
        ("GATEHOUSE_ADMIN_PASSWORD", "the admin password"),
    ];
    let Some(app) = TestApp::start_with(backend, &vars) else {
        return;
    };
    assert!(app.startup.admin_created);
    assert!(app.startup.setup_link.is_none());
    let b = app.browser();
    let res = b.submit(
        "/signin",
        &[
            ("email", "boss@example.com"),
            ("password", "the admin password"),
        ],
    );
    assert_eq!(res.status, 303);
    assert_eq!(b.session_json()["user"]["role"], "admin");
    // The admin renames themselves and changes the password; a restart with the
    // same variables changes nothing back.
    b.submit("/settings/profile", &[("name", "The Boss"), ("image", "")]);
    let changed = b.submit(
        "/settings/password",
        &[
            ("current_password", "the admin password"),
            ("new_password", "a newer admin password"),
        ],
    );
    assert_eq!(changed.status, 303);
    let app = app.restart(&vars);
    assert!(!app.startup.admin_created);
    let b = app.browser();
    let old = b.submit(
        "/signin",
        &[
            ("email", "boss@example.com"),
            ("password", "the admin password"),
        ],
    );
    assert_eq!(old.status, 401);
    let new = b.submit(
        "/signin",
        &[
            ("email", "boss@example.com"),
            ("password", "a newer admin password"),
        ],
    );
    assert_eq!(new.status, 303);
    assert_eq!(b.get("/").user_name().as_deref(), Some("The Boss"));
}

fn sessions_survive_a_restart_with_the_generated_secret(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.signed_up("Ada", "ada@example.com");
    let cookies = b.cookie_header();
    let app = app.restart(&[]);
    let b = app.browser();
    let url = b.url("/");
    let page = b.send(|c| c.get(url).header("cookie", cookies.clone()));
    assert_eq!(page.user_name().as_deref(), Some("Ada"));
    // The CSRF cookie still fits its token too.
    let url = b.url("/settings/profile");
    let token = page.meta_csrf().unwrap();
    let res = b.send(|c| {
        c.post(url)
            .header("cookie", cookies)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("name=Ada+B&image=&csrf_token={token}"))
    });
    assert_eq!(res.status, 303);
}

fn a_given_secret_replaces_the_generated_one(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.signed_up("Ada", "ada@example.com");
    let cookies = b.cookie_header();
    let app = app.restart(&[("GATEHOUSE_SECRET", "an operator chosen secret of 32+ bytes")]);
    let b = app.browser();
    let url = b.url("/");
    let page = b.send(|c| c.get(url).header("cookie", cookies));
    // Cookies signed with the old key no longer verify: anonymous, not an error.
    assert_eq!(page.status, 200);
    assert_eq!(page.user_name(), None);
}

#[test]
fn postgres_outage_answers_503_and_recovers_by_itself() {
    let Some(app) = TestApp::start(Backend::Postgres) else {
        return;
    };
    let b = app.signed_up("Ada", "ada@example.com");
    let pg = app.pg.as_ref().unwrap();
    pg.admin_sql(&format!(
        "ALTER DATABASE {} ALLOW_CONNECTIONS false",
        pg.name
    ));
    pg.admin_sql(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'",
        pg.name
    ));

    let health = b.get("/healthz");
    assert_eq!(health.status, 503);
    assert_eq!(health.json()["error"], "unavailable");
    let page = b.get("/");
    assert_eq!(page.status, 503);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.header("retry-after").is_some());
    let api = b.get("/api/auth/session");
    assert_eq!(api.status, 503);
    assert_eq!(api.json()["error"], "unavailable");
    assert!(
        !api.body.to_lowercase().contains("terminat"),
        "no driver message leaks"
    );
    assert!(
        b.cookie("gatehouse_session").is_some(),
        "an outage does not sign anyone out"
    );
    let signin = app.browser().submit(
        "/signin",
        &[("email", "ada@example.com"), ("password", PASSWORD)],
    );
    assert_eq!(signin.status, 503);

    pg.admin_sql(&format!(
        "ALTER DATABASE {} ALLOW_CONNECTIONS true",
        pg.name
    ));
    assert_eq!(b.get("/healthz").status, 200);
    assert_eq!(b.get("/").user_name().as_deref(), Some("Ada"));
}

//! Start-up stories: the first admin, the generated secret, outages.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{Backend, Browser, PASSWORD, TestApp};
use diesel::prelude::*;

on_both_backends!(
    the_generated_secret_lives_in_an_owner_only_file_not_the_database,
    a_secret_kept_in_the_database_by_an_earlier_version_moves_to_the_file,
    with_both_a_file_and_a_database_secret_the_file_wins,
    a_secret_file_open_to_others_stops_the_start,
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

/// The generated secret, as the file keeps it.
fn secret_in_file(app: &TestApp) -> String {
    std::fs::read_to_string(&app.secret_file)
        .expect("the secret file exists")
        .trim_end()
        .to_owned()
}

fn file_mode(app: &TestApp) -> u32 {
    std::fs::metadata(&app.secret_file)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

/// `SELECT * FROM settings`, as `key=value` lines.
fn settings_rows(app: &TestApp) -> Vec<String> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        key: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        value: String,
    }
    diesel::sql_query("SELECT * FROM settings")
        .load::<Row>(&mut *app.conn())
        .unwrap()
        .into_iter()
        .map(|r| format!("{}={}", r.key, r.value))
        .collect()
}

fn assert_no_secret_in_the_database(app: &TestApp, secret: &str) {
    assert_eq!(app.count("settings WHERE key = 'secret'"), 0);
    for row in settings_rows(app) {
        assert!(!row.contains(secret), "the secret is in settings: {row}");
    }
}

/// Renames Ada on her profile with these cookies and this token, as a browser
/// that kept them across a restart would.
fn rename_with(b: &Browser, cookies: &str, token: &str) -> u16 {
    let url = b.url("/settings/profile");
    let (cookies, body) = (
        cookies.to_owned(),
        format!("name=Ada+B&image=&csrf_token={token}"),
    );
    b.send(|c| {
        c.post(url)
            .header("cookie", cookies)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    })
    .status
}

fn the_generated_secret_lives_in_an_owner_only_file_not_the_database(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    assert_eq!(file_mode(&app), 0o600);
    let secret = secret_in_file(&app);
    assert!(secret.len() >= 32, "{} bytes", secret.len());
    assert_no_secret_in_the_database(&app, &secret);
    // A restart reads the same file.
    let b = app.signed_up("Ada", "ada@example.com");
    let cookies = b.cookie_header();
    let app = app.restart(&[]);
    assert_eq!(secret_in_file(&app), secret);
    let page = app
        .browser()
        .send(|c| c.get(format!("{}/", app.base)).header("cookie", cookies));
    assert_eq!(page.user_name().as_deref(), Some("Ada"));

    // With GATEHOUSE_SECRET given, no file is made.
    let Some(given) = TestApp::start_with(
        backend,
        &[("GATEHOUSE_SECRET", "an operator chosen secret of 32+ bytes")],
    ) else {
        return;
    };
    assert!(!given.secret_file.exists());
    assert_eq!(given.count("settings WHERE key = 'secret'"), 0);
    // A row an earlier version left is unused then, and deleted.
    given.sql("INSERT INTO settings (key, value) VALUES ('secret', 'left by an earlier version')");
    let given = given.restart(&[("GATEHOUSE_SECRET", "an operator chosen secret of 32+ bytes")]);
    assert_eq!(given.count("settings WHERE key = 'secret'"), 0);
    assert!(!given.secret_file.exists());
}

fn a_secret_kept_in_the_database_by_an_earlier_version_moves_to_the_file(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.signed_up("Ada", "ada@example.com");
    let cookies = b.cookie_header();
    let token = b.get("/settings").meta_csrf().unwrap();
    // As an earlier version left it: the secret in the database, no file.
    let secret = secret_in_file(&app);
    std::fs::remove_file(&app.secret_file).unwrap();
    app.sql(&format!(
        "INSERT INTO settings (key, value) VALUES ('secret', '{secret}')"
    ));

    let app = app.restart(&[]);
    assert_eq!(secret_in_file(&app), secret, "moved, not replaced");
    assert_eq!(file_mode(&app), 0o600);
    assert_no_secret_in_the_database(&app, &secret);
    // What the old secret signed still verifies: the session and the CSRF token.
    let b = app.browser();
    assert_eq!(rename_with(&b, &cookies, &token), 303);
    let page = b.send(|c| c.get(format!("{}/", app.base)).header("cookie", cookies));
    assert_eq!(page.user_name().as_deref(), Some("Ada B"));
}

fn with_both_a_file_and_a_database_secret_the_file_wins(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.signed_up("Ada", "ada@example.com");
    let cookies = b.cookie_header();
    let token = b.get("/settings").meta_csrf().unwrap();
    let secret = secret_in_file(&app);
    let stale = "a secret an earlier version generated, 43 chars";
    app.sql(&format!(
        "INSERT INTO settings (key, value) VALUES ('secret', '{stale}')"
    ));

    let app = app.restart(&[]);
    assert_eq!(secret_in_file(&app), secret);
    assert_no_secret_in_the_database(&app, stale);
    assert_eq!(rename_with(&app.browser(), &cookies, &token), 303);
}

fn a_secret_file_open_to_others_stops_the_start(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let path = app.secret_file.clone();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = app.start_error(&[]);
    assert!(err.starts_with("GATEHOUSE_SECRET_FILE: "), "{err}");
    assert!(err.contains("0644") && err.contains("chmod 600"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");
    // The refused start changed nothing; the owner-only file starts again.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let app = app.restart(&[]);
    assert_eq!(file_mode(&app), 0o600);
}

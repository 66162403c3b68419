//! Secret rotation: with `GATEHOUSE_SECRET_PREVIOUS` (or earlier lines of the
//! secret file) what the old secret signed or sealed keeps working, and
//! everything new uses the new secret; `gatehouse secret rotate`.

mod common;

use common::fake_provider::{FakeProvider, FakeUser, through_provider};
use common::totp::{code, recovery_codes, turn_on};
use common::{Backend, Browser, PASSWORD, Page, TestApp, run_gatehouse};
use diesel::RunQueryDsl;
use gatehouse::auth::keys::Keys;
use gatehouse::oauth::crypto::TokenCipher;

on_both_backends!(
    a_session_and_its_csrf_token_survive_a_rotation,
    without_previous_an_old_cookie_is_signed_out,
    a_rolling_restart_in_two_rounds_signs_no_one_out,
    provider_tokens_are_sealed_again_under_the_new_secret,
    totp_and_recovery_codes_made_before_still_work,
    rotating_the_secret_file_keeps_everyone_signed_in,
);

const A: &str = "secret-A-0123456789abcdef0123456789abcdef";
const B: &str = "secret-B-0123456789abcdef0123456789abcdef";
const ADA: &str = "ada@example.com";
const SESSION: &str = "gatehouse_session";

fn rename_with(b: &Browser, token: &str, name: &str) -> Page {
    b.post_form_raw(
        "/settings/profile",
        &[("name", name), ("image", ""), ("csrf_token", token)],
    )
}

/// The same browser, pointed at the restarted server (a new port).
fn carry(app: &TestApp, b: &Browser) -> Browser {
    b.moved_to(&app.base)
}

/// A browser holding exactly these cookies.
fn browser_with(app: &TestApp, cookies: &[(&str, String)]) -> Browser {
    let b = app.browser();
    for (name, value) in cookies {
        b.cookies
            .borrow_mut()
            .insert((*name).to_owned(), value.clone());
    }
    b
}

fn a_session_and_its_csrf_token_survive_a_rotation(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, &[("GATEHOUSE_SECRET", A)]) else {
        return;
    };
    let ada = app.signed_up("Ada", ADA);
    let token_a = ada.get("/settings").meta_csrf().unwrap();
    let cookie_a = ada.cookie(SESSION).unwrap();
    let csrf_cookie = ada.cookie("gatehouse_csrf").unwrap();

    let app = app.restart(&[
        ("GATEHOUSE_SECRET", B),
        ("GATEHOUSE_SECRET_PREVIOUS", &format!("{A} , ")),
    ]);
    let ada = carry(&app, &ada);
    // Still signed in; the cookie comes back signed under B, same session.
    let page = ada.get("/api/auth/session");
    assert_eq!(page.status, 200);
    assert_eq!(page.json()["user"]["email"], ADA);
    let set = page.set_cookie(SESSION).expect("the cookie is sent again");
    assert!(set.contains("Max-Age="), "{set}");
    let cookie_b = ada.cookie(SESSION).unwrap();
    assert_ne!(cookie_b, cookie_a);
    assert_eq!(app.session_count(), 1, "the same session, no new row");
    // Once re-signed, it is not sent again on every request.
    assert!(ada.get("/api/auth/session").set_cookie(SESSION).is_none());

    // The form of the page served under A still posts.
    let renamed = rename_with(&ada, &token_a, "Ada A");
    assert_eq!(renamed.status, 303, "{}", renamed.body);
    assert_eq!(ada.session_json()["user"]["name"], "Ada A");
    // New pages carry a token under B.
    let token_b = ada.get("/settings").meta_csrf().unwrap();
    assert_ne!(token_b, token_a);
    // A forged token is refused whatever the keys.
    assert_eq!(rename_with(&ada, "AAAA", "Mallory").status, 403);
    // An old cookie that was not re-signed yet still works here, too.
    let other = browser_with(
        &app,
        &[
            (SESSION, cookie_a.clone()),
            ("gatehouse_csrf", csrf_cookie.clone()),
        ],
    );
    assert_eq!(other.session_json()["user"]["email"], ADA);

    // A server with B alone: the re-signed cookie and B's token work; A's
    // token and cookie do not.
    let app = app.restart(&[("GATEHOUSE_SECRET", B)]);
    let ada = carry(&app, &ada);
    assert_eq!(ada.session_json()["user"]["name"], "Ada A");
    assert_eq!(rename_with(&ada, &token_b, "Ada B").status, 303);
    assert_eq!(rename_with(&ada, &token_a, "Mallory").status, 403);
    assert_eq!(ada.session_json()["user"]["name"], "Ada B");
    let stale = browser_with(&app, &[(SESSION, cookie_a)]);
    let page = stale.get("/api/auth/session");
    assert_eq!(page.status, 200);
    assert!(page.json().is_null(), "{}", page.body);
}

fn without_previous_an_old_cookie_is_signed_out(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, &[("GATEHOUSE_SECRET", A)]) else {
        return;
    };
    let ada = app.signed_up("Ada", ADA);
    let token_a = ada.get("/settings").meta_csrf().unwrap();
    let cookie_a = ada.cookie(SESSION).unwrap();
    let app = app.restart(&[("GATEHOUSE_SECRET", B)]);
    let ada = carry(&app, &ada);
    for path in ["/settings", "/api/auth/session", "/", "/settings/security"] {
        let page = browser_with(&app, &[(SESSION, cookie_a.clone())]).get(path);
        assert!(page.status < 500, "{path}: {}", page.status);
    }
    let page = ada.get("/api/auth/session");
    assert_eq!(page.status, 200);
    assert!(page.json().is_null(), "{}", page.body);
    assert!(ada.cookie(SESSION).is_none(), "the dead cookie is cleared");
    let settings = ada.get("/settings");
    assert_eq!(settings.status, 303, "signed out: sent to sign in");
    assert_eq!(rename_with(&ada, &token_a, "Mallory").status, 403);
}

/// Several instances restarted one at a time: an instance already on the
/// new secret re-signs cookies under it, and an instance still on the old
/// one must accept them. So the rotation goes in two rounds (the steps
/// `secret rotate` prints): first every instance learns the new secret as a
/// previous one, then the two swap. Mid-way through the second round a
/// device bouncing between a rotated and a not-yet-rotated instance stays
/// signed in, its forms post on either, and nothing is signed out; skipping
/// the first round signs it out on the old instance.
fn a_rolling_restart_in_two_rounds_signs_no_one_out(backend: Backend) {
    // Rotated: B signs, A still accepted.
    let Some(rotated) = TestApp::start_with(
        backend,
        &[("GATEHOUSE_SECRET", B), ("GATEHOUSE_SECRET_PREVIOUS", A)],
    ) else {
        return;
    };
    // After the first round only: A signs, B already accepted.
    let first_round =
        rotated.second_instance(&[("GATEHOUSE_SECRET", A), ("GATEHOUSE_SECRET_PREVIOUS", B)]);
    let ada = rotated.signed_up("Ada", ADA);
    let token_b = ada.get("/settings").meta_csrf().unwrap();
    let mut on = ada;
    for (round, name) in ["Ada 1", "Ada 2", "Ada 3"].iter().enumerate() {
        let here = if round % 2 == 0 {
            &first_round
        } else {
            &rotated
        };
        on = on.moved_to(&here.base);
        assert_eq!(on.session_json()["user"]["email"], ADA, "{name}");
        // The token of a page served by the other instance posts here.
        let renamed = rename_with(&on, &token_b, name);
        assert_eq!(renamed.status, 303, "{name}: {}", renamed.body);
        let token = on.get("/settings").meta_csrf().unwrap();
        let other = if round % 2 == 0 {
            &rotated
        } else {
            &first_round
        };
        let there = on.moved_to(&other.base);
        assert_eq!(rename_with(&there, &token, name).status, 303, "{name}");
        assert_eq!(there.session_json()["user"]["name"], *name);
    }
    assert_eq!(rotated.session_count(), 1, "one session throughout");

    // Without the first round: the old instance knows nothing of B.
    let skipped = rotated.second_instance(&[("GATEHOUSE_SECRET", A)]);
    let fresh = rotated.signed_in(ADA).moved_to(&skipped.base);
    assert!(fresh.session_json().is_null(), "signed out on the old one");
}

/// The cells of the one linked account.
#[derive(diesel::QueryableByName)]
struct TokenCells {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    access_token: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    refresh_token: Option<String>,
}

fn token_cells(app: &TestApp) -> (String, String) {
    let cells: TokenCells = diesel::sql_query("SELECT access_token, refresh_token FROM accounts")
        .get_result(&mut *app.conn())
        .unwrap();
    (cells.access_token.unwrap(), cells.refresh_token.unwrap())
}

fn as_refs(vars: &[(String, String)]) -> Vec<(&str, &str)> {
    vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn provider_cipher(secret: &str) -> TokenCipher {
    TokenCipher::new(&Keys::derive(secret.as_bytes()).provider_tokens)
}

fn provider_tokens_are_sealed_again_under_the_new_secret(backend: Backend) {
    let fake = FakeProvider::start();
    let vars = |extra: &[(&str, &str)]| -> Vec<(String, String)> {
        let mut v = fake.vars("GITHUB");
        v.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        v
    };
    let start = vars(&[("GATEHOUSE_SECRET", A)]);
    let start = as_refs(&start);
    let Some(app) = TestApp::start_with(backend, &start) else {
        return;
    };
    fake.sign_in_as(FakeUser::new("4242", "Octo Cat", "octo@example.com"));
    let b = app.browser();
    assert_eq!(through_provider(&b, "github", &[]).status, 303);
    let t = b.get("/api/auth/accounts/github/token");
    assert_eq!(t.status, 200, "{}", t.body);
    let access = t.json()["access_token"].as_str().unwrap().to_string();
    let (access_a, refresh_a) = token_cells(&app);
    let aad = |column: &str| format!("github:4242:{column}");
    assert_eq!(
        provider_cipher(A)
            .open(&access_a, &aad("access"))
            .as_deref(),
        Some(access.as_str())
    );

    let rotated = vars(&[("GATEHOUSE_SECRET", B), ("GATEHOUSE_SECRET_PREVIOUS", A)]);
    let app = app.restart(&as_refs(&rotated));
    let b = carry(&app, &b);
    let t = b.get("/api/auth/accounts/github/token");
    assert_eq!(t.status, 200, "{}", t.body);
    assert_eq!(t.json()["access_token"], access.as_str(), "opened under A");
    let (access_b, refresh_still_a) = token_cells(&app);
    assert_ne!(access_b, access_a, "sealed again");
    assert_eq!(
        provider_cipher(B)
            .open(&access_b, &aad("access"))
            .as_deref(),
        Some(access.as_str()),
        "the new cell opens with B alone"
    );
    assert_eq!(refresh_still_a, refresh_a, "the refresh token was not used");

    // A refresh opens the refresh token under A; what it writes is under B.
    app.sql("UPDATE accounts SET expires_at = '2000-01-01 00:00:00'");
    let t = b.get("/api/auth/accounts/github/token");
    assert_eq!(t.status, 200, "{}", t.body);
    let refreshed = t.json()["access_token"].as_str().unwrap().to_string();
    assert_ne!(refreshed, access);
    let (access_c, refresh_c) = token_cells(&app);
    assert!(provider_cipher(B).open(&access_c, &aad("access")).is_some());
    assert!(
        provider_cipher(B)
            .open(&refresh_c, &aad("refresh"))
            .is_some()
    );

    // B alone opens everything now.
    let alone = vars(&[("GATEHOUSE_SECRET", B)]);
    let app = app.restart(&as_refs(&alone));
    let b = carry(&app, &b);
    let t = b.get("/api/auth/accounts/github/token");
    assert_eq!(t.status, 200, "{}", t.body);
    assert_eq!(t.json()["access_token"], refreshed.as_str());
    drop(app);
}

/// A password sign-in in a new browser, waiting for the second factor.
fn first_factor(app: &TestApp) -> Browser {
    let b = app.browser();
    let page = b.submit("/signin", &[("email", ADA), ("password", PASSWORD)]);
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location().as_deref(), Some("/signin/two-factor"));
    b
}

#[derive(diesel::QueryableByName)]
struct SealedSecret {
    #[diesel(sql_type = diesel::sql_types::Text)]
    secret: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    user_id: i64,
}

fn sealed_totp(app: &TestApp) -> SealedSecret {
    diesel::sql_query("SELECT secret, user_id FROM totp_secrets")
        .get_result(&mut *app.conn())
        .unwrap()
}

fn totp_and_recovery_codes_made_before_still_work(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, &[("GATEHOUSE_SECRET", A)]) else {
        return;
    };
    let ada = app.signed_up("Ada", ADA);
    let (secret, codes) = turn_on(&ada);
    let sealed_a = sealed_totp(&app);
    let aad = format!("totp:{}:secret", sealed_a.user_id);
    let totp_cipher = |s: &str| TokenCipher::new(&Keys::derive(s.as_bytes()).totp_secrets);
    assert!(totp_cipher(A).open(&sealed_a.secret, &aad).is_some());

    let app = app.restart(&[("GATEHOUSE_SECRET", B), ("GATEHOUSE_SECRET_PREVIOUS", A)]);
    // The TOTP secret sealed under A: the code signs in, the secret is
    // sealed again under B.
    let phone = first_factor(&app);
    let done = phone.submit("/signin/two-factor", &[("code", &code(&secret, 0))]);
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(phone.session_json()["user"]["email"], ADA);
    let sealed_b = sealed_totp(&app);
    assert_ne!(sealed_b.secret, sealed_a.secret, "sealed again");
    assert!(totp_cipher(B).open(&sealed_b.secret, &aad).is_some());
    assert!(totp_cipher(A).open(&sealed_b.secret, &aad).is_none());
    // A recovery code hashed under A works once.
    let laptop = first_factor(&app);
    let used = laptop.submit("/signin/two-factor", &[("code", &codes[0])]);
    assert_eq!(used.status, 303, "{}", used.body);
    let again = first_factor(&app);
    assert_eq!(
        again
            .submit("/signin/two-factor", &[("code", &codes[0])])
            .status,
        401,
        "spent"
    );
    // Codes made now are under B: they work with B alone, A's do not.
    let fresh = laptop.submit("/settings/two-factor/recovery-codes", &[]);
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    let new_code = recovery_codes(&fresh.body)[0].clone();

    let app = app.restart(&[("GATEHOUSE_SECRET", B)]);
    let tablet = first_factor(&app);
    let done = tablet.submit("/signin/two-factor", &[("code", &code(&secret, 1))]);
    assert_eq!(
        done.status, 303,
        "the TOTP secret opens with B alone: {}",
        done.body
    );
    let other = first_factor(&app);
    let ok = other.submit("/signin/two-factor", &[("code", &new_code)]);
    assert_eq!(ok.status, 303, "{}", ok.body);
    let old = first_factor(&app);
    assert_eq!(
        old.submit("/signin/two-factor", &[("code", &codes[5])])
            .status,
        401,
        "a code of A's is not known without A"
    );
}

/// The generated secret's file: `gatehouse secret rotate` puts a new secret
/// first and keeps the old one as previous; after a restart everyone is
/// still signed in and cookies are re-signed under the new secret.
fn rotating_the_secret_file_keeps_everyone_signed_in(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let ada = app.signed_up("Ada", ADA);
    let cookie_before = ada.cookie(SESSION).unwrap();
    let file = app.secret_file.clone();
    let before = std::fs::read_to_string(&file).unwrap();
    let dir = file.parent().unwrap();
    let out = run_gatehouse(
        dir,
        &app.database_url,
        &["secret", "rotate"],
        "",
        &[("GATEHOUSE_SECRET_FILE", file.to_str().unwrap())],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    let after = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = after.lines().collect();
    assert_eq!(lines.len(), 2, "{after}");
    assert_eq!(lines[1], before.trim_end(), "the old secret is kept second");
    assert_eq!(lines[0].len(), 43, "a generated secret's form");
    assert_ne!(lines[0], lines[1]);
    assert!(
        !stdout.contains(lines[0]) && !stdout.contains(lines[1]),
        "{stdout}"
    );
    assert!(
        stdout.contains("Restart") && stdout.contains("SESSION_MAX_AGE (30d)"),
        "{stdout}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let app = app.restart(&[]);
    let ada = carry(&app, &ada);
    assert_eq!(ada.session_json()["user"]["email"], ADA);
    assert_ne!(ada.cookie(SESSION).unwrap(), cookie_before, "re-signed");
    // With only the new line left, the re-signed cookie still works.
    std::fs::write(&file, format!("{}\n", lines[0])).unwrap();
    let app = app.restart(&[]);
    let ada = carry(&app, &ada);
    assert_eq!(ada.session_json()["user"]["email"], ADA);
    let old = browser_with(&app, &[(SESSION, cookie_before)]);
    assert!(old.session_json().is_null());
}

#[test]
fn rotate_with_gatehouse_secret_set_prints_a_secret_and_the_steps() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("gh.db").display());
    let file = dir.path().join("gatehouse.secret");
    let run = || {
        run_gatehouse(
            dir.path(),
            &db,
            &["secret", "rotate"],
            "",
            &[
                ("GATEHOUSE_SECRET", A),
                ("GATEHOUSE_SECRET_FILE", file.to_str().unwrap()),
                ("SESSION_MAX_AGE", "7d"),
            ],
        )
    };
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}");
    let secret = stdout
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 43 && !l.contains(' '))
        .unwrap_or_else(|| panic!("no secret printed: {stdout}"))
        .to_owned();
    assert!(
        secret
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'),
        "{secret}"
    );
    assert!(!stdout.contains(A), "the current secret is not printed");
    for step in [
        "GATEHOUSE_SECRET_PREVIOUS",
        "GATEHOUSE_SECRET to",
        "7d",
        "one at a time",
    ] {
        assert!(stdout.contains(step), "{step}: {stdout}");
    }
    assert!(!file.exists(), "nothing written");
    assert!(!dir.path().join("gh.db").exists(), "no database opened");
    let again = String::from_utf8_lossy(&run().stdout).into_owned();
    assert!(!again.contains(&secret), "a new secret each time");

    // With no secret file yet there is nothing to rotate.
    let out = run_gatehouse(
        dir.path(),
        &db,
        &["secret", "rotate"],
        "",
        &[("GATEHOUSE_SECRET_FILE", file.to_str().unwrap())],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("GATEHOUSE_SECRET_FILE") && err.contains("does not exist"),
        "{err}"
    );
}

#[test]
fn a_bad_previous_secret_stops_the_start_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("gh.db").display());
    for bad in ["too-short-secret", &format!("{A},short")] {
        let out = run_gatehouse(
            dir.path(),
            &db,
            &["serve"],
            "",
            &[
                ("GATEHOUSE_SECRET", B),
                ("GATEHOUSE_SECRET_PREVIOUS", bad),
                ("GATEHOUSE_ADDR", "127.0.0.1:0"),
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("gatehouse: GATEHOUSE_SECRET_PREVIOUS: "),
            "{err}"
        );
        assert!(err.contains("at least 32"), "{err}");
        assert!(!err.contains("short"), "no value in the message: {err}");
        assert!(!err.contains(A), "no secret in the message: {err}");
    }
    // A short earlier secret in the secret file stops the start too.
    let file = dir.path().join("gatehouse.secret");
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&file)
            .unwrap();
        writeln!(f, "{B}\nshort").unwrap();
    }
    let out = run_gatehouse(
        dir.path(),
        &db,
        &["serve"],
        "",
        &[
            ("GATEHOUSE_SECRET_FILE", file.to_str().unwrap()),
            ("GATEHOUSE_ADDR", "127.0.0.1:0"),
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("GATEHOUSE_SECRET_FILE") && err.contains("line 2"),
        "{err}"
    );
    assert!(!err.contains(B), "{err}");
}

//! The password policy as stories on both backends: wherever a password is
//! set (sign-up, change, reset, setup, `user add`, the configured admin) a
//! common or personal one is refused with why and what helps, and nothing
//! changes; sign-in never applies it, so existing users are not locked out.

mod common;

use common::process::ProcessDb;
use common::{Backend, Browser, PASSWORD, Page, TestApp};

on_both_backends!(
    sign_up_refuses_common_and_personal_passwords_and_creates_no_one,
    the_german_sign_up_page_says_it_in_german,
    a_weak_new_password_on_the_settings_form_changes_nothing,
    a_weak_reset_password_keeps_the_link_and_the_old_password,
    the_json_reset_answers_invalid_with_the_field_and_the_reason,
    the_setup_link_refuses_a_weak_first_admin_password,
    a_weak_configured_admin_password_stops_a_first_start_only,
    score_zero_accepts_any_password_of_eight_characters,
    a_score_above_four_stops_the_start,
    user_add_refuses_a_weak_password,
    a_user_whose_password_is_weak_still_signs_in,
);

/// The sign-up of the "personal" stories: a password made of the address's
/// local part, which zxcvbn scores 4 for anyone else.
const QUILL: &str = "quillfeather@example.com";
const QUILL_PASSWORD: &str = "quillfeather12";
/// Strong enough with the default score.
const NEW_PASSWORD: &str = "a brand new passphrase";
const HELPS: &str = "Add another word or two. Uncommon words are better.";

fn sign_up(b: &Browser, name: &str, email: &str, password: &str) -> Page {
    b.submit(
        "/signup",
        &[("name", name), ("email", email), ("password", password)],
    )
}

fn sign_in(app: &TestApp, email: &str, password: &str) -> u16 {
    app.browser()
        .submit("/signin", &[("email", email), ("password", password)])
        .status
}

/// The text of the error tied to an input (`id="<id>-error"`: `password`,
/// `new-password`).
fn field_error(page: &Page, name: &str) -> String {
    let marker = format!("id=\"{name}-error\">");
    let start = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("no error under {name}: {}", page.body))
        + marker.len();
    let end = start + page.body[start..].find('<').unwrap();
    common::unescape(&page.body[start..end])
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn reset_token(app: &TestApp, b: &Browser, email: &str) -> String {
    assert_eq!(
        b.submit("/forgot-password", &[("email", email)]).status,
        200
    );
    let started = std::time::Instant::now();
    loop {
        let found = app
            .mailbox()
            .to(email)
            .into_iter()
            .rfind(|m| m.subject.starts_with("Reset"));
        if let Some(m) = found {
            return m.token();
        }
        assert!(started.elapsed().as_secs() < 10, "no reset mail to {email}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn sign_up_refuses_common_and_personal_passwords_and_creates_no_one(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.browser();
    for (password, why) in [
        ("password", "This is a top-10 common password."),
        ("12345678", "This is a top-10 common password."),
        ("qwertyuiop", "This is a top-100 common password."),
    ] {
        let page = sign_up(&b, "Quill", QUILL, password);
        assert_eq!(page.status, 422, "{password}: {}", page.body);
        let error = field_error(&page, "password");
        assert_eq!(error, format!("{why} {HELPS}"), "{password}");
        // What was typed stays, but the password.
        assert!(page.body.contains(&format!("value=\"{QUILL}\"")));
        assert!(!page.body.contains(&format!("value=\"{password}\"")));
    }
    // The account's own address: strong for anyone else, not for Quill.
    let page = sign_up(&b, "Quill", QUILL, QUILL_PASSWORD);
    assert_eq!(page.status, 422, "{}", page.body);
    let error = field_error(&page, "password");
    assert!(error.contains("your name or email address"), "{error}");
    assert!(error.contains(HELPS), "{error}");
    assert_eq!(app.count("users"), 0);
    assert!(b.session_json().is_null());

    // The same password for someone else is fine.
    let other = sign_up(&app.browser(), "Ada", "ada@example.com", QUILL_PASSWORD);
    assert_eq!(other.status, 303, "{}", other.body);
    assert_eq!(app.count("users"), 1);
}

fn the_german_sign_up_page_says_it_in_german(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.browser();
    let token = b.csrf_token();
    let fields = [
        ("name", "Quill"),
        ("email", QUILL),
        ("password", "password"),
        ("csrf_token", &token),
    ];
    let body = serde_urlencoded::to_string(fields).unwrap();
    let url = b.url("/signup");
    let page = b.send(|c| {
        c.post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept-language", "de-DE,de;q=0.9")
            .body(body)
    });
    assert_eq!(page.status, 422);
    assert_eq!(
        field_error(&page, "password"),
        "Dies ist eines der 10 häufigsten Passwörter. \
         Fügen Sie ein oder zwei Wörter hinzu. Ungewöhnliche Wörter sind besser."
    );
    assert_eq!(app.count("users"), 0);
}

fn a_weak_new_password_on_the_settings_form_changes_nothing(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let ada = app.signed_up("Ada Lovelace", "ada@example.com");
    let phone = app.signed_in("ada@example.com");
    for (weak, why) in [
        ("password1", "This is a very common password."),
        (
            "ada lovelace!",
            "It is made from your name or email address",
        ),
    ] {
        let page = ada.submit(
            "/settings/password",
            &[("current_password", PASSWORD), ("new_password", weak)],
        );
        assert_eq!(page.status, 422, "{weak}: {}", page.body);
        // Under the field the user typed it in.
        let error = field_error(&page, "new-password");
        assert!(error.starts_with(why), "{weak}: {error}");
        assert!(error.contains(HELPS), "{weak}: {error}");
        assert_eq!(sign_in(&app, "ada@example.com", weak), 401);
    }
    assert_eq!(sign_in(&app, "ada@example.com", PASSWORD), 303);
    // No session ended, nothing audited.
    assert_eq!(phone.session_json()["user"]["email"], "ada@example.com");
    assert_eq!(
        app.count("audit_events WHERE action = 'password_changed'"),
        0
    );
    // A strong one goes through.
    let done = ada.submit(
        "/settings/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", NEW_PASSWORD),
        ],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(sign_in(&app, "ada@example.com", NEW_PASSWORD), 303);
}

fn a_weak_reset_password_keeps_the_link_and_the_old_password(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    app.signed_up("Ada Lovelace", "ada@example.com");
    let b = app.browser();
    let token = reset_token(&app, &b, "ada@example.com");
    for (weak, why) in [
        ("qwertyuiop", "This is a top-100 common password."),
        // The link's account is the one judged.
        (
            "ada@example.com!",
            "It is made from your name or email address",
        ),
    ] {
        let page = b.submit(
            "/reset-password",
            &[("token", &token), ("new_password", weak)],
        );
        assert_eq!(page.status, 422, "{weak}: {}", page.body);
        let error = field_error(&page, "new-password");
        assert!(error.starts_with(why), "{weak}: {error}");
        assert!(error.contains(HELPS), "{weak}: {error}");
        assert!(page.body.contains(&token), "the form keeps the link");
        assert!(b.session_json().is_null());
    }
    assert_eq!(
        app.count("email_tokens WHERE purpose = 'reset_password'"),
        1,
        "the link is not spent"
    );
    assert_eq!(sign_in(&app, "ada@example.com", PASSWORD), 303);
    assert_eq!(app.count("audit_events WHERE action = 'password_reset'"), 0);
    let done = b.submit(
        "/reset-password",
        &[("token", &token), ("new_password", NEW_PASSWORD)],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(sign_in(&app, "ada@example.com", NEW_PASSWORD), 303);
}

fn the_json_reset_answers_invalid_with_the_field_and_the_reason(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    app.signed_up("Ada", "ada@example.com");
    let client = app.browser();
    let token = reset_token(&app, &client, "ada@example.com");
    let weak = client.json(
        reqwest::Method::POST,
        "/api/auth/reset-password",
        &serde_json::json!({ "token": token, "new_password": "12345678" }),
    );
    assert_eq!(weak.status, 422, "{}", weak.body);
    let body = weak.json();
    assert_eq!(body["error"], "invalid");
    // The field is the body's own key, as for a short one.
    assert_eq!(body["field"], "new_password");
    assert_eq!(
        body["message"],
        format!("This is a top-10 common password. {HELPS}")
    );
    assert_eq!(
        app.count("email_tokens WHERE purpose = 'reset_password'"),
        1
    );
    assert!(client.session_json().is_null());
    assert_eq!(sign_in(&app, "ada@example.com", PASSWORD), 303);
}

fn the_setup_link_refuses_a_weak_first_admin_password(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let link = app.startup.setup_link.clone().expect("a setup link");
    let token = link.rsplit_once("token=").unwrap().1.to_owned();
    let b = app.browser();
    let setup = |password: &str| {
        b.submit(
            "/setup",
            &[
                ("token", &token),
                ("name", "Root"),
                ("email", "root@example.com"),
                ("password", password),
            ],
        )
    };
    let weak = setup("iloveyou1");
    assert_eq!(weak.status, 422, "{}", weak.body);
    let error = field_error(&weak, "password");
    assert!(error.contains("common password"), "{error}");
    assert!(error.contains(HELPS), "{error}");
    assert_eq!(app.count("users"), 0);
    // The link is still good.
    assert_eq!(setup(NEW_PASSWORD).status, 303);
    assert_eq!(app.count("users WHERE role = 'admin'"), 1);
}

fn a_weak_configured_admin_password_stops_a_first_start_only(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let weak = [
        ("GATEHOUSE_ADMIN_EMAIL", "boss@example.com"),
        ("GATEHOUSE_ADMIN_PASSWORD", "password1"),
    ];
    let error = app.start_error(&weak);
    assert!(
        error.starts_with("GATEHOUSE_ADMIN_PASSWORD: This is a very common password."),
        "{error}"
    );
    assert!(!error.contains('\n'), "{error}");
    assert_eq!(app.count("users"), 0);
    // An admin made before (here with the policy off) is never judged again:
    // the start goes on with the same variables.
    let app = app.restart(&[weak[0], weak[1], ("PASSWORD_MIN_SCORE", "0")]);
    assert!(app.startup.admin_created);
    let app = app.restart(&weak);
    assert!(!app.startup.admin_created);
    assert_eq!(sign_in(&app, "boss@example.com", "password1"), 303);
}

fn score_zero_accepts_any_password_of_eight_characters(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, &[("PASSWORD_MIN_SCORE", "0")]) else {
        return;
    };
    let b = app.browser();
    let short = sign_up(&b, "Quill", QUILL, "passwd");
    assert_eq!(short.status, 422);
    assert!(field_error(&short, "password").contains("at least 8"));
    assert_eq!(sign_up(&b, "Quill", QUILL, "password1").status, 303);
    assert_eq!(sign_in(&app, QUILL, "password1"), 303);
}

fn a_score_above_four_stops_the_start(backend: Backend) {
    let Some(db) = ProcessDb::new(backend) else {
        return;
    };
    for (args, stdin) in [
        (&["serve"][..], ""),
        (
            &["user", "add", "--email", QUILL, "--name", "Quill"][..],
            "a long enough password\n",
        ),
    ] {
        let out = common::run_gatehouse(
            db.dir.path(),
            &db.url,
            args,
            stdin,
            &[("PASSWORD_MIN_SCORE", "5")],
        );
        assert!(!out.status.success());
        let stderr = text(&out.stderr);
        assert_eq!(
            stderr.trim_end(),
            "gatehouse: PASSWORD_MIN_SCORE: `5` must be a zxcvbn score from 0 to 4",
            "{args:?}"
        );
    }
}

fn user_add_refuses_a_weak_password(backend: Backend) {
    let Some(db) = ProcessDb::new(backend) else {
        return;
    };
    let add = |password: &str, env: &[(&str, &str)]| {
        common::run_gatehouse(
            db.dir.path(),
            &db.url,
            &["user", "add", "--email", QUILL, "--name", "Quill"],
            &format!("{password}\n"),
            env,
        )
    };
    for (weak, why) in [
        ("password", "This is a top-10 common password."),
        (QUILL_PASSWORD, "It is made from your name or email address"),
    ] {
        let out = add(weak, &[]);
        assert!(!out.status.success(), "{weak}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(why), "{weak}: {stderr}");
        assert!(stderr.contains(HELPS), "{weak}: {stderr}");
    }
    let strong = add(NEW_PASSWORD, &[]);
    assert!(strong.status.success(), "{}", text(&strong.stderr));
    let other = common::run_gatehouse(
        db.dir.path(),
        &db.url,
        &["user", "add", "--email", "ops@example.com", "--name", "Ops"],
        "password1\n",
        &[("PASSWORD_MIN_SCORE", "0")],
    );
    assert!(other.status.success(), "{}", text(&other.stderr));
    let db = gatehouse::db::Db::connect(&gatehouse::db::DatabaseUrl::parse(&db.url).unwrap(), 1)
        .unwrap();
    let mut conn = db.get().unwrap();
    assert!(gatehouse::users::email_exists(&mut conn, QUILL).unwrap());
}

fn a_user_whose_password_is_weak_still_signs_in(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    // Set before the policy (or while it was off).
    let off = gatehouse::users::PasswordPolicy::new(0).unwrap();
    gatehouse::auth::register(&app.db, &off, "Old", "old@example.com", "password", "user").unwrap();
    let b = app.browser();
    let page = b.submit(
        "/signin",
        &[("email", "old@example.com"), ("password", "password")],
    );
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(b.session_json()["user"]["email"], "old@example.com");
}

//! User stories for database sessions, on SQLite and (when configured) PostgreSQL.

mod common;

use common::{Backend, Browser, PASSWORD, TestApp};
use reqwest::Method;
use serde_json::json;

on_both_backends!(
    sign_up_then_sign_in_shows_the_name_in_the_header,
    an_edit_on_one_device_shows_on_the_other_at_the_next_request,
    a_direct_sql_update_shows_on_the_next_request,
    the_json_update_answers_the_fresh_session,
    many_page_views_write_nothing_to_sessions,
    a_due_extension_writes_once_and_resends_the_cookie,
    sign_out_makes_the_old_cookie_worthless_but_keeps_other_devices,
    json_sign_out_ends_the_session,
    a_password_change_signs_out_every_other_device,
    wrong_password_and_unknown_email_answer_the_same,
    session_cookie_attributes_over_http,
    session_cookie_attributes_over_https,
    the_raw_token_is_not_in_the_database,
    a_missing_or_wrong_csrf_token_is_refused_and_changes_nothing,
    a_cross_site_origin_is_refused,
    a_foreign_callback_url_is_ignored,
    a_same_origin_callback_url_is_followed,
    garbage_and_oversized_cookies_are_anonymous_and_cleared,
    html_in_a_name_is_escaped,
    an_expired_session_is_anonymous,
    forward_auth_answers_the_fresh_user_in_headers,
    forward_auth_values_decode_exactly_once,
    bad_profile_input_is_refused_with_422,
    bad_json_is_refused_with_400,
    pages_that_need_sign_in_redirect_anonymous_visitors,
    sign_in_starts_a_new_session_every_time,
    preferences_set_lang_and_theme_on_html,
    the_anonymous_session_endpoint_answers_null,
    healthz_answers_ok,
);

fn sign_up_then_sign_in_shows_the_name_in_the_header(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let anon = app.browser().get("/");
    assert_eq!(anon.status, 200);
    assert_eq!(anon.user_name(), None);
    assert!(anon.body.contains("href=\"/signin\""));

    let b = app.signed_up("Ada Lovelace", "ada@example.com");
    assert_eq!(b.get("/").user_name().as_deref(), Some("Ada Lovelace"));

    let other = app.signed_in("ADA@example.com ");
    let home = other.get("/");
    assert_eq!(home.user_name().as_deref(), Some("Ada Lovelace"));
    assert_eq!(home.header("cache-control").as_deref(), Some("no-store"));
    assert!(
        home.meta_csrf().is_some(),
        "a page with forms carries the token"
    );
    assert_eq!(app.session_count(), 2);
}

fn an_edit_on_one_device_shows_on_the_other_at_the_next_request(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let laptop = app.signed_up("Ada", "ada@example.com");
    let phone = app.signed_in("ada@example.com");
    assert_eq!(phone.get("/settings").user_name().as_deref(), Some("Ada"));

    let saved = laptop.submit(
        "/settings/profile",
        &[
            ("name", "Countess Ada"),
            ("image", "https://img.example/ada.png"),
        ],
    );
    assert_eq!(saved.status, 303);
    assert_eq!(saved.location().as_deref(), Some("/settings?saved=profile"));

    for device in [&laptop, &phone] {
        let page = device.get("/");
        assert_eq!(page.user_name().as_deref(), Some("Countess Ada"));
        assert!(
            page.body
                .contains("<img id=\"user-avatar\" src=\"https://img.example/ada.png\"")
        );
        assert_eq!(device.session_json()["user"]["name"], "Countess Ada");
    }
}

fn a_direct_sql_update_shows_on_the_next_request(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.signed_up("Ada", "ada@example.com");
    app.sql("UPDATE users SET name = 'Renamed by SQL', role = 'admin', plan = 'premium' WHERE email = 'ada@example.com'");
    assert_eq!(b.get("/").user_name().as_deref(), Some("Renamed by SQL"));
    let s = b.session_json();
    assert_eq!(s["user"]["role"], "admin");
    assert_eq!(s["user"]["plan"], "premium");
}

fn the_json_update_answers_the_fresh_session(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.signed_up("Ada", "ada@example.com");
    let res = b.json(
        Method::POST,
        "/api/auth/session",
        &json!({"name": "Ada L.", "theme": "dark", "language": "fr", "image": "https://img.example/a.png"}),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    let s = res.json();
    assert_eq!(s["user"]["name"], "Ada L.");
    assert_eq!(s["user"]["theme"], "dark");
    assert_eq!(s["user"]["language"], "fr");
    assert_eq!(s["user"]["image"], "https://img.example/a.png");
    assert!(s["user"]["id"].is_string());
    assert!(chrono::DateTime::parse_from_rfc3339(s["expires"].as_str().unwrap()).is_ok());
    assert_eq!(b.session_json(), s);

    let cleared = b.json(Method::POST, "/api/auth/session", &json!({"image": null}));
    assert_eq!(cleared.json()["user"]["image"], serde_json::Value::Null);
}

fn many_page_views_write_nothing_to_sessions(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.signed_up("Ada", "ada@example.com");
    let before = app.sessions_snapshot();
    assert_eq!(before.len(), 1);
    for _ in 0..25 {
        assert_eq!(b.get("/").status, 200);
        assert_eq!(b.get("/settings").status, 200);
        let s = b.get("/api/auth/session");
        assert_eq!(s.status, 200);
        assert!(
            s.set_cookie("gatehouse_session").is_none(),
            "no cookie re-sent"
        );
    }
    assert_eq!(
        app.sessions_snapshot(),
        before,
        "page views wrote to sessions"
    );
}

fn a_due_extension_writes_once_and_resends_the_cookie(backend: Backend) {
    let Some(app) = TestApp::start_with(
        backend,
        &[("SESSION_MAX_AGE", "30d"), ("SESSION_UPDATE_AGE", "1h")],
    ) else {
        return;
    };
    let b = app.signed_up("Ada", "ada@example.com");
    // Make the last extension look two hours old.
    let old =
        chrono::Utc::now().naive_utc() + chrono::Duration::days(30) - chrono::Duration::hours(2);
    app.sql(&format!(
        "UPDATE sessions SET expires_at = '{}'",
        old.format("%Y-%m-%d %H:%M:%S")
    ));
    let first = b.get("/");
    let cookie = first
        .set_cookie("gatehouse_session")
        .expect("cookie re-sent on extension");
    assert!(cookie.contains("Max-Age=2592000"), "{cookie}");
    let after = app.sessions_snapshot();
    assert!(after[0].expires_at > old + chrono::Duration::minutes(110));
    // Within the update age again: no further write, no cookie.
    let second = b.get("/");
    assert!(second.set_cookie("gatehouse_session").is_none());
    assert_eq!(app.sessions_snapshot(), after);
    assert_eq!(b.get("/").user_name().as_deref(), Some("Ada"));
}

fn sign_out_makes_the_old_cookie_worthless_but_keeps_other_devices(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let laptop = app.signed_up("Ada", "ada@example.com");
    let phone = app.signed_in("ada@example.com");
    let stolen = laptop.cookie("gatehouse_session").unwrap();

    let out = laptop.submit("/signout", &[]);
    assert_eq!(out.status, 303);
    assert_eq!(out.location().as_deref(), Some("/"));
    assert!(
        laptop.cookie("gatehouse_session").is_none(),
        "cookie cleared"
    );
    assert_eq!(laptop.get("/").user_name(), None);

    let replay = app.browser();
    replay
        .cookies
        .borrow_mut()
        .insert("gatehouse_session".into(), stolen);
    assert_eq!(replay.get("/").user_name(), None, "old cookie is worthless");
    assert_eq!(replay.session_json(), serde_json::Value::Null);

    assert_eq!(phone.get("/").user_name().as_deref(), Some("Ada"));
    assert_eq!(app.session_count(), 1);
}

fn json_sign_out_ends_the_session(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.signed_up("Ada", "ada@example.com");
    let res = b.json(Method::POST, "/api/auth/signout", &json!({}));
    assert_eq!(res.status, 200);
    assert_eq!(b.session_json(), serde_json::Value::Null);
    assert_eq!(app.session_count(), 0);
}

fn a_password_change_signs_out_every_other_device(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let laptop = app.signed_up("Ada", "ada@example.com");
    let phone = app.signed_in("ada@example.com");
    let tablet = app.signed_in("ada@example.com");
    let old_cookie = laptop.cookie("gatehouse_session").unwrap();

    let wrong = laptop.submit(
        "/settings/password",
        &[
            ("current_password", "not it at all"),
            ("new_password", "a brand new secret"),
        ],
    );
    assert_eq!(wrong.status, 401);
    assert!(
        !wrong.body.contains("not it at all"),
        "passwords are never echoed"
    );
    assert_eq!(phone.get("/").user_name().as_deref(), Some("Ada"));

    let short = laptop.submit(
        "/settings/password",
        &[("current_password", PASSWORD), ("new_password", "short")],
    );
    assert_eq!(short.status, 422);

    let ok = laptop.submit(
        "/settings/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", "a brand new secret"),
        ],
    );
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_ne!(
        laptop.cookie("gatehouse_session").unwrap(),
        old_cookie,
        "token rotated"
    );
    assert_eq!(laptop.get("/").user_name().as_deref(), Some("Ada"));
    assert_eq!(phone.get("/").user_name(), None);
    assert_eq!(tablet.get("/").user_name(), None);
    assert_eq!(app.session_count(), 1);

    let fresh = app.browser();
    let old = fresh.submit(
        "/signin",
        &[("email", "ada@example.com"), ("password", PASSWORD)],
    );
    assert_eq!(old.status, 401);
    let new = fresh.submit(
        "/signin",
        &[
            ("email", "ada@example.com"),
            ("password", "a brand new secret"),
        ],
    );
    assert_eq!(new.status, 303);
}

fn wrong_password_and_unknown_email_answer_the_same(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    app.signed_up("Ada", "ada@example.com");
    let b = app.browser();
    let wrong = b.submit(
        "/signin",
        &[("email", "ada@example.com"), ("password", "wrong password")],
    );
    let unknown = b.submit(
        "/signin",
        &[
            ("email", "nobody@example.com"),
            ("password", "wrong password"),
        ],
    );
    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, 401);
    assert_eq!(
        wrong.body.replace("ada@example.com", "EMAIL"),
        unknown.body.replace("nobody@example.com", "EMAIL"),
    );
    assert!(
        wrong.body.contains("value=\"ada@example.com\""),
        "the email typed is kept"
    );
    assert!(
        !wrong.body.contains("wrong password"),
        "the password is not"
    );
    assert!(wrong.set_cookie("gatehouse_session").is_none());
    assert_eq!(app.session_count(), 1);
}

fn session_cookie_attributes_over_http(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.browser();
    let res = b.submit(
        "/signup",
        &[
            ("name", "Ada"),
            ("email", "ada@example.com"),
            ("password", PASSWORD),
        ],
    );
    let cookie = res.set_cookie("gatehouse_session").expect("session cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=2592000"] {
        assert!(cookie.contains(attr), "{attr} missing in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "{cookie}");
    assert!(!cookie.contains("Domain"), "{cookie}");
}

fn session_cookie_attributes_over_https(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, &[("GATEHOUSE_URL", "https://auth.example.com")])
    else {
        return;
    };
    let b = app.browser();
    let res = b.submit(
        "/signup",
        &[
            ("name", "Ada"),
            ("email", "ada@example.com"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(res.status, 303, "{}", res.body);
    let cookie = res
        .set_cookie("__Host-gatehouse_session")
        .expect("__Host- cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Secure", "Max-Age="] {
        assert!(cookie.contains(attr), "{attr} missing in {cookie}");
    }
    assert!(!cookie.contains("Domain"));
    assert!(b.cookie("__Host-gatehouse_csrf").is_some());
    assert_eq!(b.get("/").user_name().as_deref(), Some("Ada"));
}

fn the_raw_token_is_not_in_the_database(backend: Backend) {
    use sha2::Digest;
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.signed_up("Ada", "ada@example.com");
    let cookie = b.cookie("gatehouse_session").unwrap();
    let decoded: String = url::form_urlencoded::parse(format!("v={cookie}").as_bytes())
        .next()
        .unwrap()
        .1
        .into_owned();
    // actix-session's signed value: 44 characters of HMAC, then the token.
    let token = &decoded[44..];
    assert_eq!(token.len(), 43, "256-bit token, base64url: {token}");
    let rows = app.sessions_snapshot();
    let row = &rows[0];
    assert_eq!(
        row.token_hash,
        sha2::Sha256::digest(token.as_bytes()).to_vec()
    );
    let dump = format!("{rows:?}");
    assert!(!dump.contains(token));
    assert!(!String::from_utf8_lossy(&row.token_hash).contains(token));
}

fn a_missing_or_wrong_csrf_token_is_refused_and_changes_nothing(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.signed_up("Ada", "ada@example.com");
    let missing = b.post_form_raw("/settings/profile", &[("name", "Mallory"), ("image", "")]);
    assert_eq!(missing.status, 403);
    let wrong = b.post_form_raw(
        "/settings/profile",
        &[
            ("name", "Mallory"),
            ("image", ""),
            ("csrf_token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        ],
    );
    assert_eq!(wrong.status, 403);
    // A token from another browser does not fit this browser's cookie.
    let other = app.browser().csrf_token();
    let foreign = b.post_form_raw(
        "/settings/profile",
        &[("name", "Mallory"), ("image", ""), ("csrf_token", &other)],
    );
    assert_eq!(foreign.status, 403);
    let url = b.url("/api/auth/session");
    let json_missing = b.send(|c| {
        c.post(url)
            .header("content-type", "application/json")
            .body(r#"{"name":"Mallory"}"#)
    });
    assert_eq!(json_missing.status, 403);
    assert_eq!(json_missing.json()["error"], "csrf");
    let signout = b.post_form_raw("/signout", &[]);
    assert_eq!(signout.status, 403);
    assert_eq!(b.get("/").user_name().as_deref(), Some("Ada"));
    assert_eq!(app.session_count(), 1);

    // The token in the page's meta tag works.
    let token = b.get("/settings").meta_csrf().unwrap();
    let ok = b.post_form_raw(
        "/settings/profile",
        &[("name", "Ada B"), ("image", ""), ("csrf_token", &token)],
    );
    assert_eq!(ok.status, 303);
}

fn a_cross_site_origin_is_refused(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.signed_up("Ada", "ada@example.com");
    let token = b.csrf_token();
    let url = b.url("/settings/profile");
    let body =
        serde_urlencoded::to_string([("name", "Mallory"), ("image", ""), ("csrf_token", &token)])
            .unwrap();
    let res = b.send(|c| {
        c.post(url.clone())
            .header("origin", "https://evil.example")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
    });
    assert_eq!(res.status, 403);
    let same = b.send(|c| {
        c.post(url.clone())
            .header("origin", app.base.clone())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
    });
    assert_eq!(same.status, 303);
    assert_eq!(b.get("/").user_name().as_deref(), Some("Mallory"));
}

fn a_foreign_callback_url_is_ignored(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    app.signed_up("Ada", "ada@example.com");
    for evil in [
        "https://evil.example",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
    ] {
        let b = app.browser();
        let page = b.get(&format!("/signin?callbackUrl={}", urlencode(evil)));
        assert!(
            !page.body.contains("evil.example"),
            "{evil} rendered into the form"
        );
        let res = b.submit(
            "/signin",
            &[
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("callbackUrl", evil),
            ],
        );
        assert_eq!(res.status, 303);
        assert_eq!(res.location().as_deref(), Some("/"), "{evil}");
    }
}

fn a_same_origin_callback_url_is_followed(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    app.signed_up("Ada", "ada@example.com");
    let b = app.browser();
    let res = b.submit(
        "/signin",
        &[
            ("email", "ada@example.com"),
            ("password", PASSWORD),
            ("callbackUrl", "/settings?tab=1"),
        ],
    );
    assert_eq!(res.location().as_deref(), Some("/settings?tab=1"));
}

fn garbage_and_oversized_cookies_are_anonymous_and_cleared(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let valid_shape = format!("{}{}", "A".repeat(44), "B".repeat(43));
    let cases = [
        "garbage".to_owned(),
        "".to_owned(),
        "%%%%".to_owned(),
        valid_shape,
        "x".repeat(3900),
        "\u{1F600}".repeat(10),
    ];
    for value in cases {
        let b = Browser::new(&app.base);
        let url = b.url("/");
        let cookie = format!("gatehouse_session={value}");
        let res = b.send(|c| c.get(url).header("cookie", cookie));
        assert_eq!(res.status, 200, "cookie {value:?}");
        assert_eq!(res.user_name(), None);
        if !value.is_empty() {
            let cleared = res.set_cookie("gatehouse_session").unwrap_or_default();
            assert!(
                cleared.contains("Max-Age=0"),
                "{value:?} not cleared: {cleared}"
            );
        }
        let url = b.url("/api/auth/session");
        let cookie = format!("gatehouse_session={value}");
        let res = b.send(|c| c.get(url).header("cookie", cookie));
        assert_eq!(res.status, 200);
        assert_eq!(res.json(), serde_json::Value::Null);
    }
    // A whole header far past what any browser sends: refused, not a 500.
    let b = Browser::new(&app.base);
    let url = b.url("/");
    let res = b.send(|c| {
        c.get(url).header(
            "cookie",
            format!("gatehouse_session={}", "x".repeat(40_000)),
        )
    });
    assert!(res.status < 500, "status {}", res.status);
}

fn html_in_a_name_is_escaped(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let evil = "<script>alert('x')</script>\"><img src=x onerror=alert(1)>";
    let b = app.signed_up(evil, "ada@example.com");
    for path in ["/", "/settings"] {
        let page = b.get(path);
        assert!(!page.body.contains("<script>alert"), "{path}");
        assert!(!page.body.contains("<img src=x"), "{path}");
        assert_eq!(page.user_name().as_deref(), Some(evil));
    }
    assert_eq!(b.session_json()["user"]["name"], evil);
}

fn an_expired_session_is_anonymous(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.signed_up("Ada", "ada@example.com");
    app.sql("UPDATE sessions SET expires_at = '2000-01-01 00:00:00'");
    let page = b.get("/");
    assert_eq!(page.user_name(), None);
    assert!(
        page.set_cookie("gatehouse_session")
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(app.session_count(), 0, "the expired row is removed");
}

fn bad_profile_input_is_refused_with_422(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.signed_up("Ada", "ada@example.com");
    let long = "x".repeat(101);
    for (name, image) in [
        (long.as_str(), ""),
        ("Ada", "javascript:alert(1)"),
        ("Ada", "data:text/html,hi"),
        ("   ", ""),
    ] {
        let res = b.submit("/settings/profile", &[("name", name), ("image", image)]);
        assert_eq!(res.status, 422, "{name:?} {image:?}");
        assert!(res.body.contains("id=\"form-error\""));
    }
    let res = b.json(
        Method::POST,
        "/api/auth/session",
        &json!({"image": "javascript:alert(1)"}),
    );
    assert_eq!(res.status, 422);
    assert_eq!(res.json()["error"], "invalid");
    let res = b.json(Method::POST, "/api/auth/session", &json!({"theme": "neon"}));
    assert_eq!(res.status, 422);
    let res = b.submit(
        "/settings/preferences",
        &[("theme", "dark"), ("language", "<b>")],
    );
    assert_eq!(res.status, 422);
    let s = b.session_json();
    assert_eq!(s["user"]["name"], "Ada");
    assert_eq!(s["user"]["image"], serde_json::Value::Null);
    assert_eq!(s["user"]["theme"], "system");
}

fn bad_json_is_refused_with_400(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.signed_up("Ada", "ada@example.com");
    let token = b.csrf_token();
    for body in [
        "{not json",
        "[1,2]",
        r#"{"role":"admin"}"#,
        r#"{"name": 5}"#,
    ] {
        let url = b.url("/api/auth/session");
        let t = token.clone();
        let res = b.send(|c| {
            c.post(url)
                .header("x-csrf-token", t)
                .header("content-type", "application/json")
                .body(body.to_owned())
        });
        assert_eq!(res.status, 400, "{body}: {}", res.body);
        let err = res.json();
        assert!(err["error"].is_string() && err["message"].is_string());
    }
    let url = b.url("/api/auth/session");
    let res = b.send(|c| {
        c.post(url)
            .header("x-csrf-token", token.clone())
            .header("content-type", "application/json")
            .body(format!(r#"{{"name":"{}"}}"#, "x".repeat(100_000)))
    });
    assert_eq!(res.status, 413);
    assert_eq!(b.session_json()["user"]["role"], "user");
    let form = b.submit("/signin", &[("email", &"x".repeat(70_000))]);
    assert_eq!(form.status, 413);
}

fn pages_that_need_sign_in_redirect_anonymous_visitors(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.browser();
    let res = b.get("/settings");
    assert_eq!(res.status, 303);
    assert_eq!(
        res.location().as_deref(),
        Some("/signin?callbackUrl=%2Fsettings")
    );
    let token = b.csrf_token();
    let res = b.post_form_raw(
        "/settings/profile",
        &[("name", "x"), ("image", ""), ("csrf_token", &token)],
    );
    assert_eq!(res.status, 303);
    let res = b.json(Method::POST, "/api/auth/session", &json!({"name": "x"}));
    assert_eq!(res.status, 401);
    assert_eq!(res.json()["error"], "unauthorized");
}

fn sign_in_starts_a_new_session_every_time(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.signed_up("Ada", "ada@example.com");
    let first = b.cookie("gatehouse_session").unwrap();
    let res = b.submit(
        "/signin",
        &[("email", "ada@example.com"), ("password", PASSWORD)],
    );
    assert_eq!(res.status, 303);
    let second = b.cookie("gatehouse_session").unwrap();
    assert_ne!(first, second, "no session fixation");
    assert_eq!(app.session_count(), 1, "the old session is gone");
    // A planted cookie is not adopted at sign-in.
    let victim = app.browser();
    victim
        .cookies
        .borrow_mut()
        .insert("gatehouse_session".into(), first.clone());
    victim.submit(
        "/signin",
        &[("email", "ada@example.com"), ("password", PASSWORD)],
    );
    assert_ne!(victim.cookie("gatehouse_session").unwrap(), first);
}

fn preferences_set_lang_and_theme_on_html(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.signed_up("Ada", "ada@example.com");
    let res = b.submit(
        "/settings/preferences",
        &[("theme", "dark"), ("language", "pt-BR")],
    );
    assert_eq!(res.status, 303);
    let page = b.get("/settings");
    assert!(
        page.body
            .contains("<html lang=\"pt-BR\" data-theme=\"dark\">")
    );
}

fn the_anonymous_session_endpoint_answers_null(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let res = app.browser().get("/api/auth/session");
    assert_eq!(res.status, 200);
    assert_eq!(res.body, "null");
}

fn healthz_answers_ok(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let res = app.browser().get("/healthz");
    assert_eq!(res.status, 200);
    assert_eq!(res.json(), json!({"status": "ok"}));
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Every `X-Auth-User-*` value is percent-encoded the same way (`%` too), so
/// one decode gives back exactly what is stored: `%61dmin@…` never becomes
/// `admin@…` downstream.
fn forward_auth_values_decode_exactly_once(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let name = "%61dmin 100% Zoë 名 +~";
    let b = app.signed_up(name, "%61dmin@example.org");
    let r = b.get("/api/auth/verify");
    assert_eq!(r.status, 200);
    let decode = |h: &str| -> String {
        let raw = r.header(h).unwrap_or_else(|| panic!("no {h}"));
        assert!(
            raw.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"-._~@%".contains(&c)),
            "{h} is not percent-encoded throughout: {raw}"
        );
        percent_encoding::percent_decode_str(&raw)
            .decode_utf8()
            .unwrap()
            .into_owned()
    };
    assert_eq!(
        r.header("x-auth-user-email").as_deref(),
        Some("%2561dmin@example.org")
    );
    assert_eq!(decode("x-auth-user-email"), "%61dmin@example.org");
    assert_ne!(decode("x-auth-user-email"), "admin@example.org");
    assert_eq!(decode("x-auth-user-name"), name);
    assert_eq!(decode("x-auth-user-role"), "user");
    let id = b.session_json()["user"]["id"].as_str().unwrap().to_string();
    assert_eq!(decode("x-auth-user-id"), id);
}

fn forward_auth_answers_the_fresh_user_in_headers(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.signed_up("Zoë Proxy", "zoe@example.com");
    let r = b.get("/api/auth/verify");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("x-auth-user-email").as_deref(),
        Some("zoe@example.com")
    );
    assert_eq!(r.header("x-auth-user-role").as_deref(), Some("user"));
    assert_eq!(
        r.header("x-auth-user-name").as_deref(),
        Some("Zo%C3%AB%20Proxy")
    );
    let id = b.session_json()["user"]["id"].as_str().unwrap().to_string();
    assert_eq!(r.header("x-auth-user-id"), Some(id));
    // An edit shows at the next check; signed out, the proxy gets 401.
    app.sql("UPDATE users SET name = 'Plain Name', role = 'admin'");
    let r = b.get("/api/auth/verify");
    assert_eq!(
        r.header("x-auth-user-name").as_deref(),
        Some("Plain%20Name")
    );
    assert_eq!(r.header("x-auth-user-role").as_deref(), Some("admin"));
    assert_eq!(app.browser().get("/api/auth/verify").status, 401);
    b.submit("/signout", &[]);
    assert_eq!(b.get("/api/auth/verify").status, 401);
}

//! Roles, permissions, plans, bans, the admin panel and API, the audit log and
//! session management, on SQLite and (when configured) PostgreSQL.

mod common;

use common::{Backend, Browser, PASSWORD, TestApp};
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(
    a_granted_role_shows_on_the_other_device_at_the_next_request,
    a_ban_ends_every_session_and_refuses_sign_in_with_the_reason,
    a_plan_reads_free_after_it_expires,
    the_last_admin_cannot_be_demoted_or_banned,
    users_can_be_searched_and_paged,
    revoked_sessions_are_anonymous_at_the_next_request,
    admin_routes_refuse_anonymous_non_admins_and_missing_csrf,
    admin_actions_and_sign_ins_are_audited,
    the_audit_log_is_append_only,
    bad_admin_input_is_refused_and_changes_nothing,
    impersonation_shows_a_banner_returns_in_one_click_and_is_audited,
    admins_cannot_be_impersonated,
);

const ADMIN: &str = common::ROOT_ADMIN;

fn app(backend: Backend) -> Option<TestApp> {
    TestApp::with_admin(backend, &[])
}

fn patch(admin: &Browser, id: &str, body: Value) -> common::Page {
    admin.json(Method::PATCH, &format!("/api/admin/users/{id}"), &body)
}

fn a_granted_role_shows_on_the_other_device_at_the_next_request(backend: Backend) {
    let Some(app) = app(backend) else { return };
    let admin = app.signed_in(ADMIN);
    let phone = app.signed_up("Rita", "rita@example.com");
    let laptop = app.signed_in("rita@example.com");
    let id = phone.user_id();
    assert!(!laptop.get("/").body.contains("id=\"admin-link\""));
    assert_eq!(laptop.get("/admin").status, 403);

    let r = patch(
        &admin,
        &id,
        json!({"role": "admin", "permissions": ["reports:read"]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["role"], "admin");
    // The very next request of the other device: the admin menu and the panel.
    assert!(laptop.get("/").body.contains("id=\"admin-link\""));
    assert_eq!(laptop.get("/admin").status, 200);
    let perms = laptop.session_json()["user"]["permissions"].clone();
    assert!(
        perms.as_array().unwrap().contains(&json!("reports:read")),
        "{perms}"
    );
    assert!(
        perms.as_array().unwrap().contains(&json!("admin")),
        "{perms}"
    );

    let r = patch(&admin, &id, json!({"role": "user", "permissions": []}));
    assert_eq!(r.status, 200);
    assert_eq!(laptop.get("/admin").status, 403);
    assert_eq!(laptop.get("/api/admin/users").status, 403);
    assert_eq!(phone.session_json()["user"]["permissions"], json!([]));
}

fn a_ban_ends_every_session_and_refuses_sign_in_with_the_reason(backend: Backend) {
    let Some(app) = app(backend) else { return };
    let admin = app.signed_in(ADMIN);
    let phone = app.signed_up("Bob", "bob@example.com");
    let laptop = app.signed_in("bob@example.com");
    let id = phone.user_id();
    let r = admin.json(
        Method::POST,
        &format!("/api/admin/users/{id}/ban"),
        &json!({"reason": "spam links", "until": "2999-01-01T00:00:00Z"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["banned"], true);
    assert_eq!(r.json()["banned_until"], "2999-01-01T00:00:00Z");
    assert!(phone.session_json().is_null(), "every device is anonymous");
    assert!(laptop.session_json().is_null());

    let right = app.browser().submit(
        "/signin",
        &[("email", "bob@example.com"), ("password", PASSWORD)],
    );
    assert_eq!(right.status, 403);
    assert!(
        // The end of the ban, as the reader's locale (English) writes it.
        right.body.contains("spam links") && right.body.contains("January 1, 2999, 00:00 UTC"),
        "{}",
        right.body
    );
    let wrong = app.browser().submit(
        "/signin",
        &[
            ("email", "bob@example.com"),
            ("password", "not the password"),
        ],
    );
    assert_eq!(wrong.status, 401, "a ban is never an oracle");

    // The ban lifts itself at its end.
    app.sql(
        "UPDATE users SET banned_until = '2000-01-01 00:00:00' WHERE email = 'bob@example.com'",
    );
    let back = app.signed_in("bob@example.com");
    let r = admin.get(&format!("/api/admin/users/{id}"));
    assert_eq!(r.json()["banned"], false);
    // Banned again, then unbanned by hand.
    admin.json(
        Method::POST,
        &format!("/api/admin/users/{id}/ban"),
        &json!({"reason": "again"}),
    );
    assert!(back.session_json().is_null());
    let r = admin.json(
        Method::POST,
        &format!("/api/admin/users/{id}/unban"),
        &json!({}),
    );
    assert_eq!(r.status, 200);
    app.signed_in("bob@example.com");
}

fn a_plan_reads_free_after_it_expires(backend: Backend) {
    let Some(app) = app(backend) else { return };
    let admin = app.signed_in(ADMIN);
    let u = app.signed_up("Paula", "paula@example.com");
    let id = u.user_id();
    let r = patch(
        &admin,
        &id,
        json!({"plan": "premium", "plan_expires_at": "2999-01-01T00:00:00Z"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(u.session_json()["user"]["plan"], "premium");
    app.sql("UPDATE users SET plan_expires_at = '2000-01-01 00:00:00' WHERE email = 'paula@example.com'");
    assert_eq!(u.session_json()["user"]["plan"], "free");
    let r = patch(
        &admin,
        &id,
        json!({"plan": "premium", "plan_expires_at": null}),
    );
    assert_eq!(r.json()["plan_expires_at"], Value::Null);
    assert_eq!(u.session_json()["user"]["plan"], "premium");
}

fn the_last_admin_cannot_be_demoted_or_banned(backend: Backend) {
    let Some(app) = app(backend) else { return };
    let admin = app.signed_in(ADMIN);
    let me = admin.user_id();
    let r = patch(&admin, &me, json!({"role": "user"}));
    assert_eq!(r.status, 409, "{}", r.body);
    let r = admin.json(
        Method::POST,
        &format!("/api/admin/users/{me}/ban"),
        &json!({"reason": "oops"}),
    );
    assert_eq!(r.status, 409);
    assert_eq!(
        admin.session_json()["user"]["role"],
        "admin",
        "nothing changed"
    );
    // The HTML form says so too.
    let page = admin.submit(
        &format!("/admin/users/{me}/update"),
        &[
            ("role", "user"),
            ("permissions", ""),
            ("plan", "free"),
            ("plan_expires_at", ""),
        ],
    );
    assert_eq!(page.status, 409);
    assert!(page.body.contains("no admin"));
    // With a second admin, stepping down is fine.
    let other = app.signed_up("Second", "second@example.com");
    assert_eq!(
        patch(&admin, &other.user_id(), json!({"role": "admin"})).status,
        200
    );
    assert_eq!(patch(&admin, &me, json!({"role": "user"})).status, 200);
    assert_eq!(admin.get("/admin").status, 403);
}

fn users_can_be_searched_and_paged(backend: Backend) {
    let Some(app) = app(backend) else { return };
    let admin = app.signed_in(ADMIN);
    for i in 0..25 {
        app.sql(&format!(
            "INSERT INTO users (email, name, created_at, updated_at) VALUES ('needle{i:02}@example.com', 'Needle {i:02}', '2026-01-{:02} 00:00:00', '2026-01-01 00:00:00')",
            i + 1
        ));
    }
    app.sql("INSERT INTO users (email, name, created_at, updated_at) VALUES ('hay@example.com', 'Hay', '2026-02-01 00:00:00', '2026-02-01 00:00:00')");
    let r = admin
        .get("/api/admin/users?q=NEEDLE&per_page=10&page=3")
        .json();
    assert_eq!(r["total"], 25);
    assert_eq!(r["page"], 3);
    let users = r["users"].as_array().unwrap();
    assert_eq!(users.len(), 5);
    // Newest first: page 3 holds the five oldest.
    assert_eq!(users[4]["email"], "needle00@example.com");
    let all = admin.get("/api/admin/users").json();
    assert_eq!(all["total"], 27);
    assert_eq!(all["users"][0]["email"], ADMIN, "created today");
    assert_eq!(all["users"][1]["email"], "hay@example.com");
    // Sorted by last seen: the admin, who just signed in, comes first.
    let seen = admin.get("/api/admin/users?sort=last_seen").json();
    assert_eq!(seen["users"][0]["email"], ADMIN);
    // A `%` is a character, not a wildcard.
    assert_eq!(admin.get("/api/admin/users?q=%25").json()["total"], 0);
    let page = admin.get("/admin?q=needle1&page=1");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("needle10@example.com") && !page.body.contains("hay@example.com"));
    assert_eq!(admin.get("/api/admin/users?page=0").status, 400);
    assert_eq!(admin.get("/api/admin/users?per_page=1000").status, 400);
}

fn revoked_sessions_are_anonymous_at_the_next_request(backend: Backend) {
    let Some(app) = app(backend) else { return };
    let admin = app.signed_in(ADMIN);
    let a = app.signed_up("Sam", "sam@example.com");
    let b = app.signed_in("sam@example.com");
    let c = app.signed_in("sam@example.com");
    let list = a.get("/api/auth/sessions").json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);
    for key in [
        "id",
        "device",
        "ip",
        "created_at",
        "last_seen_at",
        "expires_at",
    ] {
        assert!(list[0][key].is_string(), "{key}: {}", list[0]);
    }
    let id_of = |br: &Browser| -> String {
        br.get("/api/auth/sessions")
            .json()
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["current"] == true)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // The user revokes device c from device a (JSON).
    let c_id = id_of(&c);
    assert_eq!(
        a.json(
            Method::DELETE,
            &format!("/api/auth/sessions/{c_id}"),
            &json!({})
        )
        .status,
        204
    );
    assert!(c.session_json().is_null());
    assert_eq!(
        a.json(
            Method::DELETE,
            &format!("/api/auth/sessions/{c_id}"),
            &json!({})
        )
        .status,
        404
    );
    // The admin revokes device b from the panel.
    let b_id = id_of(&b);
    let uid = a.user_id();
    let page = admin.get(&format!("/admin/users/{uid}"));
    assert!(page.body.contains(&format!("data-session=\"{b_id}\"")));
    let r = admin.submit(&format!("/admin/sessions/{b_id}/revoke"), &[("user", &uid)]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(b.session_json().is_null());
    assert!(!a.session_json().is_null(), "the other device stays");
    // "Sign out everywhere else" from the settings page.
    let d = app.signed_in("sam@example.com");
    let page = a.get("/settings/sessions");
    assert!(page.body.contains("(this device)"));
    assert_eq!(
        a.submit("/settings/sessions/revoke-others", &[]).status,
        303
    );
    assert!(d.session_json().is_null());
    assert!(!a.session_json().is_null());
    // Another user's session id is not found.
    let admin_sid = id_of(&admin);
    assert_eq!(
        a.json(
            Method::DELETE,
            &format!("/api/auth/sessions/{admin_sid}"),
            &json!({})
        )
        .status,
        404
    );
    assert!(!admin.session_json().is_null());
}

fn admin_routes_refuse_anonymous_non_admins_and_missing_csrf(backend: Backend) {
    let Some(app) = app(backend) else { return };
    let admin = app.signed_in(ADMIN);
    let user = app.signed_up("Norm", "norm@example.com");
    let id = user.user_id();
    let anon = app.browser();
    anon.get("/");
    for page in ["/admin", "/admin/audit", &format!("/admin/users/{id}")] {
        let r = anon.get(page);
        assert_eq!(r.status, 303, "{page}");
        assert!(
            r.location().unwrap().starts_with("/signin?callbackUrl="),
            "{page}"
        );
        assert_eq!(user.get(page).status, 403, "{page}");
        assert_eq!(admin.get(page).status, 200, "{page}");
    }
    for api in [
        "/api/admin/users",
        "/api/admin/audit",
        &format!("/api/admin/users/{id}"),
    ] {
        assert_eq!(anon.get(api).status, 401, "{api}");
        assert_eq!(user.get(api).status, 403, "{api}");
        assert_eq!(admin.get(api).status, 200, "{api}");
    }
    let posts = [
        format!("/admin/users/{id}/update"),
        format!("/admin/users/{id}/ban"),
        format!("/admin/users/{id}/unban"),
        format!("/admin/users/{id}/sessions/revoke"),
        "/admin/sessions/1/revoke".to_string(),
        format!("/api/admin/users/{id}/ban"),
        format!("/api/admin/users/{id}/unban"),
        format!("/admin/users/{id}/impersonate"),
        format!("/api/admin/users/{id}/impersonate"),
    ];
    for p in &posts {
        let anonymous = anon.submit(p, &[("reason", "x")]);
        if p.starts_with("/api/") {
            assert_eq!(anonymous.status, 401, "{p}");
        } else {
            assert_eq!(anonymous.status, 303, "{p}");
            assert!(anonymous.location().unwrap().starts_with("/signin"), "{p}");
        }
        assert_eq!(user.submit(p, &[("reason", "x")]).status, 403, "{p}");
        assert_eq!(
            admin.post_form_raw(p, &[("reason", "x")]).status,
            403,
            "no CSRF: {p}"
        );
    }
    // JSON without the CSRF header.
    let no_csrf = |method: Method, path: &str| {
        let url = admin.url(path);
        admin.send(|c| {
            c.request(method, url)
                .header("content-type", "application/json")
                .body("{}")
        })
    };
    assert_eq!(
        no_csrf(Method::PATCH, &format!("/api/admin/users/{id}")).status,
        403
    );
    assert_eq!(
        no_csrf(Method::DELETE, &format!("/api/admin/users/{id}/sessions")).status,
        403
    );
    assert_eq!(no_csrf(Method::DELETE, "/api/admin/sessions/1").status, 403);
    assert_eq!(
        anon.json(
            Method::PATCH,
            &format!("/api/admin/users/{id}"),
            &json!({"role": "admin"})
        )
        .status,
        401
    );
    assert_eq!(
        user.json(
            Method::PATCH,
            &format!("/api/admin/users/{id}"),
            &json!({"role": "admin"})
        )
        .status,
        403
    );
    // Nothing changed.
    assert_eq!(user.session_json()["user"]["role"], "user");
    assert!(!user.session_json().is_null());
}

fn admin_actions_and_sign_ins_are_audited(backend: Backend) {
    let Some(app) = app(backend) else { return };
    let admin = app.signed_in(ADMIN);
    let u = app.signed_up("Audrey", "audrey@example.com");
    let id = u.user_id();
    app.browser().submit(
        "/signin",
        &[
            ("email", "audrey@example.com"),
            ("password", "wrong password"),
        ],
    );
    app.browser().submit(
        "/signin",
        &[
            ("email", "nobody@example.com"),
            ("password", "wrong password"),
        ],
    );
    patch(&admin, &id, json!({"role": "admin"}));
    patch(&admin, &id, json!({"role": "user", "plan": "premium"}));
    admin.json(
        Method::POST,
        &format!("/api/admin/users/{id}/ban"),
        &json!({"reason": "r"}),
    );
    admin.json(
        Method::POST,
        &format!("/api/admin/users/{id}/unban"),
        &json!({}),
    );
    let events = admin.get(&format!("/api/admin/audit?user={id}")).json();
    let actions: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for want in [
        "sign_up",
        "sign_in_failed",
        "role_changed",
        "plan_changed",
        "banned",
        "unbanned",
    ] {
        assert!(actions.contains(&want), "{want} in {actions:?}");
    }
    assert_eq!(actions[0], "unbanned", "newest first");
    let banned = admin
        .get(&format!("/api/admin/audit?user={id}&action=banned"))
        .json();
    assert_eq!(banned["total"], 1);
    let e = &banned["events"][0];
    assert_eq!(e["actor_id"], admin.user_id());
    assert_eq!(e["target_id"], id);
    assert_eq!(e["details"]["reason"], "r");
    assert!(e["ip"].as_str().unwrap().starts_with("127.0.0.1"));
    // The unknown email's failure is logged without a target.
    let failed = admin.get("/api/admin/audit?action=sign_in_failed").json();
    assert_eq!(failed["total"], 2);
    // Time filters.
    assert_eq!(
        admin
            .get("/api/admin/audit?from=2999-01-01T00:00:00Z")
            .json()["total"],
        0
    );
    assert_eq!(admin.get("/api/admin/audit?to=bad").status, 422);
    // The admin page and the user's own security history.
    let page = admin.get(&format!("/admin/audit?user={id}&action=banned"));
    assert!(page.body.contains("data-action=\"banned\""));
    let mine = app
        .signed_in("audrey@example.com")
        .get("/settings/sessions");
    assert!(
        mine.body.contains("data-action=\"sign_in_failed\""),
        "{}",
        mine.body
    );
    assert!(mine.body.contains("data-action=\"banned\""));
    assert!(
        !mine.body.contains("data-action=\"plan_changed\""),
        "not a security event"
    );
    // The sign-in event commits with the new session.
    let signed_in = admin
        .get(&format!("/api/admin/audit?user={id}&action=sign_in"))
        .json();
    assert_eq!(signed_in["total"], 1);
    assert_eq!(signed_in["events"][0]["details"]["method"], "password");
    assert_eq!(signed_in["events"][0]["actor_id"], id.as_str());
}

fn the_audit_log_is_append_only(backend: Backend) {
    let Some(app) = app(backend) else { return };
    app.signed_up("Ann", "ann@example.com");
    use diesel::RunQueryDsl;
    for sql in [
        "UPDATE audit_events SET action = 'x'",
        "DELETE FROM audit_events",
    ] {
        let r = diesel::sql_query(sql).execute(&mut *app.conn());
        assert!(r.is_err(), "{sql} was allowed");
    }
}

fn bad_admin_input_is_refused_and_changes_nothing(backend: Backend) {
    let Some(app) = app(backend) else { return };
    let admin = app.signed_in(ADMIN);
    let u = app.signed_up("Val", "val@example.com");
    let id = u.user_id();
    assert_eq!(patch(&admin, &id, json!({"role": "god"})).status, 422);
    assert_eq!(patch(&admin, &id, json!({"plan": "gold"})).status, 422);
    assert_eq!(
        patch(&admin, &id, json!({"permissions": ["Bad Perm"]})).status,
        422
    );
    assert_eq!(
        patch(&admin, &id, json!({"plan_expires_at": "tomorrow"})).status,
        422
    );
    assert_eq!(patch(&admin, &id, json!({"colour": "red"})).status, 400);
    assert_eq!(patch(&admin, "abc", json!({"role": "user"})).status, 404);
    assert_eq!(patch(&admin, "999999", json!({"role": "user"})).status, 404);
    let r = admin.json(
        Method::POST,
        &format!("/api/admin/users/{id}/ban"),
        &json!({"until": "2000-01-01T00:00:00Z"}),
    );
    assert_eq!(r.status, 422, "a ban ending in the past");
    assert_eq!(
        admin
            .json(Method::DELETE, "/api/admin/sessions/999999", &json!({}))
            .status,
        404
    );
    let s = u.session_json();
    assert_eq!(s["user"]["role"], "user");
    assert_eq!(s["user"]["plan"], "free");
}

fn impersonation_shows_a_banner_returns_in_one_click_and_is_audited(backend: Backend) {
    let Some(app) = app(backend) else { return };
    let admin = app.signed_in(ADMIN);
    let admin_id = admin.user_id();
    let u = app.signed_up("Iris", "iris@example.com");
    let id = u.user_id();
    let page = admin.get(&format!("/admin/users/{id}"));
    assert!(page.body.contains("id=\"impersonate\""));
    let r = admin.submit(&format!("/admin/users/{id}/impersonate"), &[]);
    assert_eq!(r.status, 303, "{}", r.body);
    // The admin's browser is now Iris, with a banner; the admin panel is closed.
    let home = admin.get("/");
    assert_eq!(home.user_name().as_deref(), Some("Iris"));
    assert!(home.body.contains("id=\"impersonation-banner\""));
    assert_eq!(admin.get("/admin").status, 403);
    assert!(
        !u.get("/").body.contains("impersonation-banner"),
        "Iris sees no banner"
    );
    // One click back.
    let back = admin.submit("/admin/impersonation/stop", &[]);
    assert_eq!(back.status, 303, "{}", back.body);
    assert_eq!(
        back.location().as_deref(),
        Some(format!("/admin/users/{id}").as_str())
    );
    assert_eq!(admin.session_json()["user"]["id"], admin_id.as_str());
    assert!(!admin.get("/").body.contains("impersonation-banner"));
    assert!(
        !u.session_json().is_null(),
        "Iris's own session is untouched"
    );
    // JSON, and the audit log.
    let r = admin.json(
        Method::POST,
        &format!("/api/admin/users/{id}/impersonate"),
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(admin.session_json()["user"]["name"], "Iris");
    let r = admin.json(Method::POST, "/api/admin/impersonation/stop", &json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(admin.session_json()["user"]["id"], admin_id.as_str());
    let events = admin
        .get(&format!(
            "/api/admin/audit?user={id}&action=impersonation_started,impersonation_stopped"
        ))
        .json();
    assert_eq!(events["total"], 4);
    assert_eq!(events["events"][0]["actor_id"], admin_id.as_str());
    // Stopping without impersonating is a plain 400.
    assert_eq!(
        u.json(Method::POST, "/api/admin/impersonation/stop", &json!({}))
            .status,
        400
    );
}

fn admins_cannot_be_impersonated(backend: Backend) {
    let Some(app) = app(backend) else { return };
    let admin = app.signed_in(ADMIN);
    let other = app.signed_up("Other Admin", "other@example.com");
    let other_id = other.user_id();
    patch(&admin, &other_id, json!({"role": "admin"}));
    let r = admin.json(
        Method::POST,
        &format!("/api/admin/users/{other_id}/impersonate"),
        &json!({}),
    );
    assert_eq!(r.status, 403);
    let me = admin.user_id();
    assert_eq!(
        admin
            .json(
                Method::POST,
                &format!("/api/admin/users/{me}/impersonate"),
                &json!({})
            )
            .status,
        403
    );
    assert_eq!(
        admin.session_json()["user"]["id"],
        me.as_str(),
        "still themselves"
    );
    let u = app.signed_up("Plain", "plain@example.com");
    assert_eq!(
        u.json(
            Method::POST,
            &format!("/api/admin/users/{other_id}/impersonate"),
            &json!({})
        )
        .status,
        403
    );
    // An admin demoted while impersonating gets no admin session back: the
    // demotion ended the impersonation, so "stop" finds no session (401).
    let uid = u.user_id();
    assert_eq!(
        other
            .json(
                Method::POST,
                &format!("/api/admin/users/{uid}/impersonate"),
                &json!({})
            )
            .status,
        200
    );
    patch(&admin, &other_id, json!({"role": "user"}));
    assert_eq!(
        other
            .json(Method::POST, "/api/admin/impersonation/stop", &json!({}))
            .status,
        401
    );
    assert!(other.session_json().is_null());
}

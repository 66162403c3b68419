//! Deleting one's own account (`POST /settings/delete`, `POST /api/auth/delete`):
//! the typed address confirms it, a fresh session is needed, everything of the
//! user goes in one transaction while the audit log keeps the id, every device
//! is signed out (live streams hear `deleted`), and the last admin stays.

mod common;

use chrono::Utc;
use common::sse::{Stream, user_with_stream};
use common::{Backend, Browser, PASSWORD, ROOT_ADMIN, TestApp};
use diesel::prelude::*;
use gatehouse::db::schema::sessions;
use reqwest::Method;
use serde_json::json;

on_both_backends!(
    a_wrong_email_deletes_nothing,
    a_stale_session_is_sent_to_reauth_first,
    deleting_removes_the_user_and_everything_theirs,
    the_address_can_sign_up_again,
    live_streams_hear_deleted,
    the_last_admin_cannot_delete_themselves,
    two_last_admins_deleting_at_once_leave_one,
    a_deleted_admin_ends_their_impersonations,
    a_missing_csrf_token_is_refused,
    an_impersonating_admin_cannot_delete_the_user,
    the_json_twin_deletes_and_signs_out,
);

const LENA: &str = "lena@example.com";

fn delete(b: &Browser, typed: &str) -> common::Page {
    b.submit("/settings/delete", &[("email", typed)])
}

fn users_named(app: &TestApp, email: &str) -> i64 {
    app.count(&format!("users WHERE email = '{email}'"))
}

fn a_wrong_email_deletes_nothing(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let lena = app.signed_up("Lena", LENA);
    let _phone = app.signed_in(LENA);
    for typed in ["lena@example.org", "", "not an address", "LENA@example.co"] {
        let r = delete(&lena, typed);
        assert_eq!(r.status, 422, "{typed}: {}", r.body);
        assert!(
            r.body
                .contains("Type your account&#39;s email address exactly")
                || r.body.contains("Type your account's email address exactly"),
            "{}",
            r.body
        );
        assert!(r.body.contains("aria-describedby=\"delete-email-error\""));
    }
    let r = lena.json(
        Method::POST,
        "/api/auth/delete",
        &json!({"email": "someone@example.com"}),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.json()["field"], "email");
    assert_eq!(users_named(&app, LENA), 1);
    assert_eq!(app.session_count(), 2);
    assert_eq!(
        app.count("audit_events WHERE action = 'account_deleted'"),
        0
    );
    // The address as the email rule reads it (case, spaces) is the same one.
    let r = delete(&lena, "  Lena@Example.com ");
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(users_named(&app, LENA), 0);
}

fn a_stale_session_is_sent_to_reauth_first(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let lena = app.signed_up("Lena", LENA);
    let at = Utc::now().naive_utc() - chrono::Duration::minutes(11);
    app.with_conn(|conn| {
        diesel::update(sessions::table)
            .set(sessions::authenticated_at.eq(at))
            .execute(conn)
            .unwrap()
    });
    let r = delete(&lena, LENA);
    assert_eq!(r.status, 303);
    assert_eq!(
        r.location().as_deref(),
        Some("/reauth?callbackUrl=%2Fsettings")
    );
    assert_eq!(users_named(&app, LENA), 1);
    // Re-confirmed, the deletion goes through.
    let r = lena.submit(
        "/reauth",
        &[("password", PASSWORD), ("callbackUrl", "/settings")],
    );
    assert_eq!(r.location().as_deref(), Some("/settings"));
    let r = delete(&lena, LENA);
    assert_eq!(r.location().as_deref(), Some("/?deleted=1"));
    assert_eq!(users_named(&app, LENA), 0);
}

fn deleting_removes_the_user_and_everything_theirs(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let lena = app.signed_up("Lena", LENA);
    let id = lena.user_id();
    let phone = app.signed_in(LENA);
    let bob = app.signed_up("Bob", "bob@example.com");
    let bob_id = bob.user_id();
    // A linked provider account, a mailed link, and a provider link in flight.
    app.sql(&format!(
        "INSERT INTO accounts (user_id, provider, provider_account_id, email, scope, token_type, needs_reauth, created_at, updated_at) \
         VALUES ({id}, 'github', '42', '{LENA}', '', 'bearer', FALSE, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
    ));
    let r = app.browser().submit("/forgot-password", &[("email", LENA)]);
    assert_eq!(r.status, 200);
    // The sign-up's verification link and the reset link.
    assert_eq!(app.count(&format!("email_tokens WHERE user_id = {id}")), 2);
    let (state_hash, binding_hash) = (hex_literal(backend, "01"), hex_literal(backend, "02"));
    app.sql(&format!(
        "INSERT INTO oauth_states (state_hash, binding_hash, provider, pkce_verifier, nonce, callback_url, link_user_id, expires_at) \
         VALUES ({state_hash}, {binding_hash}, 'github', 'v', 'n', '/', {id}, '2099-01-01 00:00:00')"
    ));

    // Second factors: a TOTP secret, a recovery code, a sign-in waiting for its code.
    let code_hash = hex_literal(backend, "03");
    let token_hash = hex_literal(backend, "04");
    app.sql(&format!(
        "INSERT INTO totp_secrets (user_id, secret, created_at) VALUES ({id}, 'sealed', '2026-01-01 00:00:00')"
    ));
    app.sql(&format!(
        "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ({id}, {code_hash}, '2026-01-01 00:00:00')"
    ));
    app.sql(&format!(
        "INSERT INTO pending_signins (token_hash, user_id, method, details, callback_url, created_at, expires_at) \
         VALUES ({token_hash}, {id}, 'password', '{{}}', '/', '2026-01-01 00:00:00', '2099-01-01 00:00:00')"
    ));
    // A passkey and a WebAuthn ceremony in flight, for Lena and for Bob.
    for (user, n) in [(&id, "05"), (&bob_id, "06")] {
        let (credential, handle) = (hex_literal(backend, n), hex_literal(backend, n));
        app.sql(&format!(
            "INSERT INTO passkeys (user_id, credential_id, user_handle, name, passkey, created_at) \
             VALUES ({user}, {credential}, {handle}, 'Laptop', '{{}}', '2026-01-01 00:00:00')"
        ));
        let binding = hex_literal(backend, &format!("{n}{n}"));
        app.sql(&format!(
            "INSERT INTO webauthn_challenges (binding_hash, purpose, user_id, state, expires_at) \
             VALUES ({binding}, 'register', {user}, '{{}}', '2099-01-01 00:00:00')"
        ));
    }
    for table in [
        "totp_secrets",
        "recovery_codes",
        "pending_signins",
        "passkeys",
        "webauthn_challenges",
    ] {
        assert_eq!(
            app.count(&format!("{table} WHERE user_id = {id}")),
            1,
            "{table}"
        );
    }

    let r = delete(&lena, LENA);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location().as_deref(), Some("/?deleted=1"));
    let home = lena.follow(&r);
    assert!(
        home.body.contains("Your account has been deleted."),
        "{}",
        home.body
    );
    assert!(lena.session_json().is_null(), "this browser is signed out");
    assert!(phone.session_json().is_null(), "the other device too");
    assert_eq!(phone.get("/settings").status, 303);

    assert_eq!(users_named(&app, LENA), 0);
    for table in [
        "sessions",
        "accounts",
        "email_tokens",
        "totp_secrets",
        "recovery_codes",
        "pending_signins",
        "passkeys",
        "webauthn_challenges",
    ] {
        assert_eq!(
            app.count(&format!("{table} WHERE user_id = {id}")),
            0,
            "{table}"
        );
    }
    assert_eq!(
        app.count(&format!("oauth_states WHERE link_user_id = {id}")),
        0
    );
    // The audit log keeps the id, before and after.
    assert_eq!(
        app.count(&format!(
            "audit_events WHERE action = 'account_deleted' AND actor_id = {id} AND target_id = {id}"
        )),
        1
    );
    assert_eq!(
        app.count(&format!(
            "audit_events WHERE action = 'sign_up' AND target_id = {id}"
        )),
        1
    );
    // Bob is untouched.
    assert_eq!(bob.user_id(), bob_id);
    assert_eq!(app.count(&format!("sessions WHERE user_id = {bob_id}")), 1);
    assert_eq!(app.count(&format!("passkeys WHERE user_id = {bob_id}")), 1);
    assert_eq!(
        app.count(&format!("webauthn_challenges WHERE user_id = {bob_id}")),
        1
    );
}

/// A bytea / blob literal of `hex` for the backend.
fn hex_literal(backend: Backend, hex: &str) -> String {
    match backend {
        Backend::Sqlite => format!("X'{hex}'"),
        Backend::Postgres => format!("'\\x{hex}'::bytea"),
    }
}

fn the_address_can_sign_up_again(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let lena = app.signed_up("Lena", LENA);
    let old = lena.user_id();
    assert_eq!(delete(&lena, LENA).status, 303);
    // The old password opens nothing.
    let r = app
        .browser()
        .submit("/signin", &[("email", LENA), ("password", PASSWORD)]);
    assert_eq!(r.status, 401);
    let again = app.signed_up("Lena Again", LENA);
    assert_ne!(again.user_id(), old, "a new account, a new id");
    assert_eq!(again.session_json()["user"]["name"], "Lena Again");
}

fn live_streams_hear_deleted(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let (_here, other, mut stream) = user_with_stream(&app, "ada@example.com");
    let r = delete(&other, "ada@example.com");
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(stream.signout(), "deleted");
    // A stream opened now is refused: nobody is signed in.
    assert_eq!(Stream::open(&other).status, 401);
}

fn the_last_admin_cannot_delete_themselves(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    let root = app.signed_in(ROOT_ADMIN);
    let r = delete(&root, ROOT_ADMIN);
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("You are the only admin"), "{}", r.body);
    let r = root.json(
        Method::POST,
        "/api/auth/delete",
        &json!({"email": ROOT_ADMIN}),
    );
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(users_named(&app, ROOT_ADMIN), 1);
    assert!(!root.session_json().is_null());

    // With a second admin, the first may go; then the second is the last.
    let ann = app.signed_up("Ann", "ann@example.com");
    let ann_id = ann.user_id();
    let r = root.json(
        Method::PATCH,
        &format!("/api/admin/users/{ann_id}"),
        &json!({"role": "admin"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = delete(&root, ROOT_ADMIN);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(users_named(&app, ROOT_ADMIN), 0);
    assert_eq!(ann.get("/admin").status, 200);
    assert_eq!(delete(&ann, "ann@example.com").status, 409);
}

fn two_last_admins_deleting_at_once_leave_one(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    let root = app.signed_in(ROOT_ADMIN);
    let ann_id = app.signed_up("Ann", "ann@example.com").user_id();
    let r = root.json(
        Method::PATCH,
        &format!("/api/admin/users/{ann_id}"),
        &json!({"role": "admin"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let both = [ROOT_ADMIN, "ann@example.com"].map(|email| {
        let (base, barrier) = (app.base.clone(), barrier.clone());
        std::thread::spawn(move || {
            let b = Browser::new(&base);
            let r = b.submit("/signin", &[("email", email), ("password", PASSWORD)]);
            assert_eq!(r.status, 303);
            let token = b.csrf_token();
            barrier.wait();
            b.post_form_raw(
                "/settings/delete",
                &[("email", email), ("csrf_token", &token)],
            )
            .status
        })
    });
    let mut statuses: Vec<u16> = both.map(|t| t.join().unwrap()).to_vec();
    statuses.sort();
    // The one that went first saw the other; the other then sees no admin left.
    assert_eq!(statuses, [303, 409]);
    assert_eq!(app.count("users WHERE role = 'admin'"), 1);
}

fn a_deleted_admin_ends_their_impersonations(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    let root = app.signed_in(ROOT_ADMIN);
    let ann = app.signed_up("Ann", "ann@example.com");
    let ann_id = ann.user_id();
    let r = root.json(
        Method::PATCH,
        &format!("/api/admin/users/{ann_id}"),
        &json!({"role": "admin"}),
    );
    assert_eq!(r.status, 200);
    let uma = app.signed_up("Uma", "uma@example.com");
    let uma_id = uma.user_id();
    let acting = app.signed_in("ann@example.com");
    let r = acting.json(
        Method::POST,
        &format!("/api/admin/users/{uma_id}/impersonate"),
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(acting.user_id(), uma_id);
    let ann = app.signed_in("ann@example.com");
    assert_eq!(delete(&ann, "ann@example.com").status, 303);
    assert!(acting.session_json().is_null(), "the impersonation ended");
    assert_eq!(app.count("sessions WHERE impersonator_id IS NOT NULL"), 0);
    // Uma herself is untouched.
    assert_eq!(uma.user_id(), uma_id);
}

fn a_missing_csrf_token_is_refused(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let lena = app.signed_up("Lena", LENA);
    let r = lena.post_form_raw("/settings/delete", &[("email", LENA)]);
    assert_eq!(r.status, 403, "{}", r.body);
    let r = lena.post_form_raw(
        "/settings/delete",
        &[("email", LENA), ("csrf_token", "forged")],
    );
    assert_eq!(r.status, 403);
    let url = lena.url("/api/auth/delete");
    let r = lena.send(|c| {
        c.post(url)
            .header("content-type", "application/json")
            .body(json!({"email": LENA}).to_string())
    });
    assert_eq!(r.status, 403);
    assert_eq!(users_named(&app, LENA), 1);
    assert_eq!(lena.session_json()["user"]["email"], LENA);
}

fn an_impersonating_admin_cannot_delete_the_user(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    let uma = app.signed_up("Uma", "uma@example.com");
    let uma_id = uma.user_id();
    let root = app.signed_in(ROOT_ADMIN);
    let r = root.json(
        Method::POST,
        &format!("/api/admin/users/{uma_id}/impersonate"),
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(delete(&root, "uma@example.com").status, 403);
    let r = root.json(
        Method::POST,
        "/api/auth/delete",
        &json!({"email": "uma@example.com"}),
    );
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"], "forbidden");
    assert_eq!(users_named(&app, "uma@example.com"), 1);
    assert_eq!(
        app.count(
            "audit_events WHERE action = 'impersonation_refused' AND details LIKE '%account_delete%'"
        ),
        2
    );
    assert_eq!(uma.user_id(), uma_id, "Uma's own session stands");
}

fn the_json_twin_deletes_and_signs_out(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let lena = app.signed_up("Lena", LENA);
    let r = lena.json(Method::POST, "/api/auth/delete", &json!({"email": LENA}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), json!({"ok": true}));
    assert!(lena.session_json().is_null());
    assert_eq!(users_named(&app, LENA), 0);
    // Anonymous: 401.
    let r = lena.json(Method::POST, "/api/auth/delete", &json!({"email": LENA}));
    assert_eq!(r.status, 401);
}

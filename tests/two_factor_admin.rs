//! Admins and a user's two factors, as stories on both backends: an admin
//! resets them (the JSON route and the page's button), and an admin acting
//! as the user cannot set them up, turn them on or off, or make new
//! recovery codes.

mod common;

use common::totp::{between, code, steady, turn_on};
use common::{Backend, TestApp};
use reqwest::Method;
use serde_json::json;

on_both_backends!(
    an_admin_resets_a_users_two_factors,
    the_reset_button_alone_turns_them_off,
    an_impersonating_admin_cannot_touch_them,
);

const ADA: &str = "ada@example.com";

fn audited(app: &TestApp, action: &str) -> i64 {
    app.count(&format!("audit_events WHERE action = '{action}'"))
}

fn an_admin_resets_a_users_two_factors(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    let b = app.signed_up("Ada", ADA);
    let id = b.user_id();
    turn_on(&b);
    // Another user may not.
    let rita = app.signed_up("Rita", "rita@example.com");
    let path = format!("/api/admin/users/{id}/two-factor/reset");
    assert_eq!(rita.json(Method::POST, &path, &json!({})).status, 403);
    assert_eq!(b.session_json()["user"]["two_factor"], true);

    let admin = app.signed_in(common::ROOT_ADMIN);
    let page = format!("/admin/users/{id}");
    assert!(admin.get(&page).body.contains("id=\"two-factor-reset\""));
    let listed = admin.json(Method::GET, &format!("/api/admin/users/{id}"), &json!(null));
    assert_eq!(listed.json()["two_factor"], true, "{}", listed.body);
    let r = admin.json(Method::POST, &path, &json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["was_on"], true);
    assert_eq!(audited(&app, "two_factor_reset"), 1);
    // The user's own session stays, and says two factors are off.
    assert_eq!(b.session_json()["user"]["two_factor"], false);
    assert_eq!(app.count("recovery_codes"), 0);
    assert!(!admin.get(&page).body.contains("id=\"two-factor-reset\""));
    let laptop = app.signed_in(ADA);
    assert_eq!(laptop.session_json()["user"]["email"], ADA);
    // The page's button, for an unknown user: 404.
    assert_eq!(
        admin
            .json(
                Method::POST,
                "/api/admin/users/999999/two-factor/reset",
                &json!({})
            )
            .status,
        404
    );
    let page = admin.submit(&format!("/admin/users/{id}/two-factor/reset"), &[]);
    assert_eq!(page.status, 303, "{}", page.body);
}

fn the_reset_button_alone_turns_them_off(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    let ada = app.signed_up("Ada", ADA);
    let id = ada.user_id();
    turn_on(&ada);
    assert_eq!(ada.session_json()["user"]["two_factor"], true);
    assert_eq!(
        app.count(&format!("recovery_codes WHERE user_id = {id}")),
        10
    );

    let admin = app.signed_in(common::ROOT_ADMIN);
    let admin_id = admin.user_id();
    let page = admin.get(&format!("/admin/users/{id}"));
    assert_eq!(page.status, 200, "{}", page.body);
    // The button's own form, with the token the page put in it.
    let action = format!("/admin/users/{id}/two-factor/reset");
    let form = between(&page.body, &format!("action=\"{action}\">"), "</form>");
    let token = between(form, "name=\"csrf_token\" value=\"", "\"");
    let pressed = admin.post_form_raw(&action, &[("csrf_token", token)]);
    assert_eq!(pressed.status, 303, "{}", pressed.body);
    assert_eq!(
        pressed.location().as_deref(),
        Some(format!("/admin/users/{id}?saved=two_factor_reset").as_str())
    );

    // Off for Ada, whose own session stays signed in.
    let session = ada.session_json();
    assert_eq!(session["user"]["email"], ADA, "{session}");
    assert_eq!(session["user"]["two_factor"], false);
    assert_eq!(
        app.count(&format!("recovery_codes WHERE user_id = {id}")),
        0
    );
    assert_eq!(app.count(&format!("totp_secrets WHERE user_id = {id}")), 0);
    assert_eq!(
        app.count(&format!(
            "audit_events WHERE action = 'two_factor_reset' \
             AND actor_id = {admin_id} AND target_id = {id}"
        )),
        1
    );
    assert_eq!(audited(&app, "two_factor_reset"), 1);

    // The page says what happened in words, not the action's name, and
    // offers the button no more.
    let after = admin.follow(&pressed);
    let notice = between(&after.body, "<p class=\"ok\" role=\"status\">", "</p>");
    assert!(notice.contains("Two-factor sign-in is reset"), "{notice}");
    assert!(!notice.contains("two_factor_reset"), "{notice}");
    assert!(!after.body.contains("id=\"two-factor-reset\""));
    // A password alone signs Ada in on another device now.
    let laptop = app.signed_in(ADA);
    assert_eq!(laptop.session_json()["user"]["email"], ADA);
}

fn an_impersonating_admin_cannot_touch_them(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    let ada = app.signed_up("Ada", ADA);
    let id = ada.user_id();
    // Ada started a setup and has not confirmed it yet.
    let setup = ada.submit("/settings/two-factor/setup", &[]);
    let secret = between(&setup.body, "id=\"totp-secret\">", "<").to_owned();
    let admin = app.signed_in(common::ROOT_ADMIN);
    let started = admin.json(
        Method::POST,
        &format!("/api/admin/users/{id}/impersonate"),
        &json!({}),
    );
    assert_eq!(started.status, 200, "{}", started.body);
    let sealed = |app: &TestApp| -> Vec<(String, Option<i64>)> {
        app.with_conn(|c| {
            use diesel::prelude::*;
            use gatehouse::db::schema::totp_secrets as t;
            t::table
                .select((t::secret, t::last_used_step))
                .load(c)
                .unwrap()
        })
    };
    let before = sealed(&app);
    assert_eq!(before.len(), 1);

    // Neither a new setup nor confirming Ada's with a right code.
    assert_eq!(admin.submit("/settings/two-factor/setup", &[]).status, 403);
    steady();
    let enable = admin.submit(
        "/settings/two-factor/enable",
        &[("code", &code(&secret, 0))],
    );
    assert_eq!(enable.status, 403, "{}", enable.body);
    assert_eq!(
        sealed(&app),
        before,
        "the secret and its steps are as they were"
    );
    assert_eq!(ada.session_json()["user"]["two_factor"], false);

    // Ada turns them on herself; the acting admin can neither turn them off
    // nor replace her recovery codes.
    let on = ada.submit(
        "/settings/two-factor/enable",
        &[("code", &code(&secret, -1))],
    );
    assert_eq!(on.status, 200, "{}", on.body);
    let hashes = |app: &TestApp| -> Vec<Vec<u8>> {
        app.with_conn(|c| {
            use diesel::prelude::*;
            use gatehouse::db::schema::recovery_codes as r;
            r::table.order(r::id).select(r::code_hash).load(c).unwrap()
        })
    };
    let (secret_on, codes_on) = (sealed(&app), hashes(&app));
    assert_eq!(codes_on.len(), 10);
    let off = admin.submit("/settings/two-factor/disable", &[]);
    assert_eq!(off.status, 403, "{}", off.body);
    let fresh = admin.submit("/settings/two-factor/recovery-codes", &[]);
    assert_eq!(fresh.status, 403, "{}", fresh.body);
    assert!(!fresh.body.contains("id=\"recovery-codes\""));
    assert_eq!(ada.session_json()["user"]["two_factor"], true);
    assert_eq!(sealed(&app), secret_on);
    assert_eq!(hashes(&app), codes_on, "the same codes, none used");
    assert_eq!(app.count("recovery_codes WHERE used_at IS NOT NULL"), 0);
    assert_eq!(audited(&app, "two_factor_disabled"), 0);
    assert_eq!(audited(&app, "recovery_codes_generated"), 0);
    assert_eq!(audited(&app, "two_factor_enabled"), 1, "Ada's own");
    assert_eq!(audited(&app, "impersonation_refused"), 4);
}

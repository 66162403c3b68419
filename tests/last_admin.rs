//! The last admin under concurrency, as stories on both backends: admin Root
//! deletes their own account while, from another tab, demoting or banning
//! the only other admin, both at the same instant (a `Barrier`). Each alone
//! is allowed; together they would leave no admin. One goes through, the
//! other is refused, and one admin is always left. (Two admins deleting
//! themselves at once: tests/delete_account.rs.)

mod common;

use std::sync::{Arc, Barrier};

use common::{Backend, Browser, PASSWORD, ROOT_ADMIN, TestApp};
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(
    deleting_oneself_while_demoting_the_other_admin_leaves_one,
    deleting_oneself_while_banning_the_other_admin_leaves_one,
);

const ANN: &str = "ann@example.com";

/// Root and Ann, both admins; Ann's id.
fn two_admins(app: &TestApp) -> String {
    let root = app.signed_in(ROOT_ADMIN);
    let ann_id = app.signed_up("Ann", ANN).user_id();
    let r = root.json(
        Method::PATCH,
        &format!("/api/admin/users/{ann_id}"),
        &json!({"role": "admin"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(app.count("users WHERE role = 'admin'"), 2);
    ann_id
}

/// Root deletes their account in one tab while sending `method path body`
/// from another, at the same instant: the deletion's status and the other's.
fn race(app: &TestApp, method: Method, path: &str, body: Value) -> (u16, u16) {
    let barrier = Arc::new(Barrier::new(2));
    let leaving = {
        let (base, barrier) = (app.base.clone(), barrier.clone());
        std::thread::spawn(move || {
            let b = Browser::new(&base);
            let r = b.submit("/signin", &[("email", ROOT_ADMIN), ("password", PASSWORD)]);
            assert_eq!(r.status, 303);
            let token = b.csrf_token();
            barrier.wait();
            b.post_form_raw(
                "/settings/delete",
                &[("email", ROOT_ADMIN), ("csrf_token", &token)],
            )
            .status
        })
    };
    let acting = {
        let (base, path) = (app.base.clone(), path.to_owned());
        std::thread::spawn(move || {
            let b = Browser::new(&base);
            let r = b.submit("/signin", &[("email", ROOT_ADMIN), ("password", PASSWORD)]);
            assert_eq!(r.status, 303);
            let token = b.csrf_token();
            let url = b.url(&path);
            barrier.wait();
            b.send(|c| {
                c.request(method, url)
                    .header("x-csrf-token", token)
                    .header("content-type", "application/json")
                    .body(body.to_string())
            })
            .status
        })
    };
    (leaving.join().unwrap(), acting.join().unwrap())
}

/// One of the two went through and the other was refused: `409`, or `401`
/// when the deletion had already ended the other tab's session.
fn assert_one_went_through(deleted: u16, other: u16, other_ok: u16, app: &TestApp) {
    let outcome = (deleted, other);
    assert!(
        outcome == (303, 409) || outcome == (303, 401) || outcome == (409, other_ok),
        "deletion {deleted}, the other change {other}"
    );
    assert_eq!(
        app.count("users WHERE role = 'admin' AND banned_at IS NULL"),
        1,
        "one admin is left (deletion {deleted}, the other change {other})"
    );
}

fn deleting_oneself_while_demoting_the_other_admin_leaves_one(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    let ann_id = two_admins(&app);
    let (deleted, demoted) = race(
        &app,
        Method::PATCH,
        &format!("/api/admin/users/{ann_id}"),
        json!({"role": "user"}),
    );
    assert_one_went_through(deleted, demoted, 200, &app);
    let changed = app.count("audit_events WHERE action = 'role_changed'") - 1;
    let gone = app.count("audit_events WHERE action = 'account_deleted'");
    assert_eq!(changed + gone, 1, "one of them is recorded");
}

fn deleting_oneself_while_banning_the_other_admin_leaves_one(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    let ann_id = two_admins(&app);
    let (deleted, banned) = race(
        &app,
        Method::POST,
        &format!("/api/admin/users/{ann_id}/ban"),
        json!({"reason": "race"}),
    );
    assert_one_went_through(deleted, banned, 200, &app);
    let banned = app.count("audit_events WHERE action = 'banned'");
    let gone = app.count("audit_events WHERE action = 'account_deleted'");
    assert_eq!(banned + gone, 1, "one of them is recorded");
}

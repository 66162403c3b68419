//! gatehouse as a library, through its public API only: an app of the
//! test's own with gatehouse's middleware and routes, its own handlers
//! behind gatehouse's extractors, and callbacks that record what they see.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{HttpResponse, web};
use gatehouse::{
    ApiUser, AppFields, Callbacks, Decision, Enrichment, EventKind, Notification, PageUser,
    RequirePermission, SignInAttempt, SignInMethod, SignedIn,
};

use common::embedded::EmbeddedApp;
use common::{Backend, PASSWORD};

gatehouse::permission!(ReportsRead = "reports:read");

/// What the callbacks saw, in order: `gate:<method>:<email>` when the gate
/// was asked, `event:<action>:<visible>` when an event was delivered (with
/// whether its audit row was visible to another connection by then).
#[derive(Clone, Default)]
struct Seen {
    log: Arc<Mutex<Vec<String>>>,
    events: Arc<Mutex<Vec<Notification>>>,
    /// Addresses the gate refuses (any method).
    refused: Arc<Mutex<Vec<String>>>,
    /// The pool, once built, so the event callback can look for the row.
    db: Arc<Mutex<Option<gatehouse::db::Db>>>,
}

impl Seen {
    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Waits until an event with `action` for `user` arrived.
    fn wait_for(&self, action: &str, user: Option<i64>) -> Notification {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(n) = self
                .events
                .lock()
                .unwrap()
                .iter()
                .find(|n| n.action == action && (user.is_none() || n.user_id == user))
            {
                return n.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no {action} event: {:?}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Callbacks for Seen {
    fn sign_in(&self, attempt: &SignInAttempt<'_>) -> Decision {
        let method = match &attempt.method {
            SignInMethod::Password => "password".to_string(),
            SignInMethod::SignUp => "signup".to_string(),
            other => format!("{other:?}"),
        };
        self.log
            .lock()
            .unwrap()
            .push(format!("gate:{method}:{}", attempt.email));
        if self
            .refused
            .lock()
            .unwrap()
            .iter()
            .any(|e| e == attempt.email)
        {
            Decision::Deny(format!("{} may not sign in here today.", attempt.name))
        } else {
            Decision::Allow
        }
    }

    fn enrich_session(&self, session: &SignedIn, db: &gatehouse::db::Db) -> Option<Enrichment> {
        let (user_id, name, db) = (session.user.id, session.user.name.clone(), db.clone());
        Some(Box::pin(async move {
            if name == "Fail" {
                return Err("the app's store is down".to_string());
            }
            // One query of the app's own (here: how many sessions the user has).
            let sessions = db
                .run(move |conn| {
                    use diesel::prelude::*;
                    use gatehouse::db::schema::sessions::dsl as s;
                    Ok(s::sessions
                        .filter(s::user_id.eq(user_id))
                        .count()
                        .get_result::<i64>(conn)?)
                })
                .await
                .map_err(|e| e.to_string())?;
            let mut fields = AppFields::new();
            fields.insert("greeting".into(), format!("Hello, {name}").into());
            fields.insert("sessions".into(), sessions.into());
            Ok(fields)
        }))
    }

    fn event(&self, event: &Notification) {
        let visible = self.db.lock().unwrap().as_ref().map(|db| {
            use diesel::prelude::*;
            use gatehouse::db::schema::audit_events::dsl as a;
            let mut conn = db.get().expect("connection");
            a::audit_events
                .filter(a::action.eq(event.action))
                .filter(a::target_id.eq(event.user_id))
                .count()
                .get_result::<i64>(&mut *conn)
                .expect("count")
                > 0
        });
        self.log.lock().unwrap().push(format!(
            "event:{}:{}",
            event.action,
            visible.unwrap_or(false)
        ));
        self.events.lock().unwrap().push(event.clone());
    }
}

/// The app's own routes, behind gatehouse's extractors.
fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/app/me",
        web::get().to(|user: PageUser| async move {
            HttpResponse::Ok().json(serde_json::json!({
                "id": user.0.user.id.to_string(),
                "greeting": user.0.app.get("greeting"),
            }))
        }),
    )
    .route(
        "/app/api/me",
        web::get().to(|user: ApiUser| async move {
            HttpResponse::Ok().json(serde_json::json!({ "email": user.0.user.email }))
        }),
    )
    .route("/app/rename", web::post().to(rename))
    .route(
        "/app/reports",
        web::get().to(|user: RequirePermission<ReportsRead>| async move {
            HttpResponse::Ok().body(format!("reports for {}", user.0.user.name))
        }),
    );
}

#[derive(serde::Deserialize)]
struct Rename {
    name: String,
    tell: bool,
}

/// The app changes its user's row itself, and tells gatehouse when `tell`.
async fn rename(
    user: ApiUser,
    gatehouse: gatehouse::Gatehouse,
    body: web::Json<Rename>,
) -> Result<HttpResponse, gatehouse::AppError> {
    let (id, Rename { name, tell }) = (user.0.user.id, body.into_inner());
    gatehouse
        .db()
        .run(move |conn| {
            use diesel::prelude::*;
            use gatehouse::db::schema::users;
            diesel::update(users::table.find(id))
                .set(users::name.eq(name))
                .execute(conn)?;
            Ok(())
        })
        .await?;
    if tell {
        gatehouse.user_changed(id).await;
    }
    Ok(HttpResponse::NoContent().finish())
}

fn start(backend: Backend) -> Option<(EmbeddedApp, Seen)> {
    let seen = Seen::default();
    let app = EmbeddedApp::start(backend, &[], seen.clone(), routes)?;
    *seen.db.lock().unwrap() = Some(app.gatehouse.db().clone());
    Some((app, seen))
}

on_both_backends!(
    a_refusing_gate_keeps_nothing_and_is_asked_only_after_the_password,
    enrichment_is_in_the_session_view_and_in_the_apps_extractor,
    extractors_guard_the_apps_routes,
    events_arrive_after_commit_in_order_and_never_for_a_rollback,
    the_apps_own_change_reaches_open_pages_when_told,
    an_admins_ban_is_an_event,
);

fn a_refusing_gate_keeps_nothing_and_is_asked_only_after_the_password(backend: Backend) {
    let Some((app, seen)) = start(backend) else {
        return;
    };
    // A sign-up the gate refuses: its message, 403, and no account.
    seen.refused
        .lock()
        .unwrap()
        .push("mallory@example.com".into());
    let b = app.browser();
    let page = b.submit(
        "/signup",
        &[
            ("name", "Mallory"),
            ("email", "Mallory@Example.com"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(
        page.body.contains("Mallory may not sign in here today."),
        "{}",
        page.body
    );
    assert_eq!(app.count("users"), 0);
    assert_eq!(app.count("sessions"), 0);
    assert_eq!(seen.log(), ["gate:signup:mallory@example.com"]);

    // An account made while allowed, then refused at sign-in.
    app.signed_up("Eve", "eve@example.com");
    assert_eq!(app.count("sessions"), 1);
    seen.refused.lock().unwrap().push("eve@example.com".into());
    let gates = |seen: &Seen| seen.log().iter().filter(|l| l.starts_with("gate:")).count();
    let asked = gates(&seen);
    let other = app.browser();
    let wrong = other.submit(
        "/signin",
        &[
            ("email", "eve@example.com"),
            ("password", "not her password"),
        ],
    );
    assert_eq!(wrong.status, 401, "a wrong password never reaches the gate");
    assert_eq!(gates(&seen), asked, "{:?}", seen.log());
    let refused = other.submit(
        "/signin",
        &[("email", "eve@example.com"), ("password", PASSWORD)],
    );
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("Eve may not sign in here today."));
    assert_eq!(
        app.count("sessions"),
        1,
        "no session for the refused sign-in"
    );
    assert_eq!(other.get("/api/auth/session").body.trim(), "null");
    assert!(
        seen.log()
            .contains(&"gate:password:eve@example.com".to_string())
    );

    // Allowed again: the same password signs in.
    seen.refused.lock().unwrap().clear();
    let ok = other.submit(
        "/signin",
        &[("email", "eve@example.com"), ("password", PASSWORD)],
    );
    assert_eq!(ok.status, 303);
    assert_eq!(app.count("sessions"), 2);
}

fn enrichment_is_in_the_session_view_and_in_the_apps_extractor(backend: Backend) {
    let Some((app, _seen)) = start(backend) else {
        return;
    };
    let b = app.signed_up("Ada", "ada@example.com");
    let session = b.get("/api/auth/session").json();
    assert_eq!(session["app"]["greeting"], "Hello, Ada");
    assert_eq!(session["app"]["sessions"], 1);
    assert_eq!(session["user"]["name"], "Ada", "the Auth.js shape is kept");
    let me = b.get("/app/me").json();
    assert_eq!(me["greeting"], "Hello, Ada");
    // Fresh on every request: a rename is in the next view.
    app.sql("UPDATE users SET name = 'Ada L.'");
    assert_eq!(b.get("/app/me").json()["greeting"], "Hello, Ada L.");
    // The JSON update answers the fresh session, with the fresh app fields.
    let updated = b.json(
        reqwest::Method::POST,
        "/api/auth/session",
        &serde_json::json!({ "name": "Ada B" }),
    );
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.json()["app"]["greeting"], "Hello, Ada B");
    // A failing hook: the view it would complete is unavailable (503), and
    // nothing is half-answered.
    app.sql("UPDATE users SET name = 'Fail'");
    assert_eq!(b.get("/app/me").status, 503);
    assert_eq!(b.get("/api/auth/session").status, 503);
    app.sql("UPDATE users SET name = 'Ada'");
    assert_eq!(b.get("/app/me").status, 200);
    // What the hook costs per request is counted in tests/statements.rs.
    // Anonymous: no hook, no app fields.
    assert_eq!(app.browser().get("/api/auth/session").body.trim(), "null");
}

fn extractors_guard_the_apps_routes(backend: Backend) {
    let Some((app, _seen)) = start(backend) else {
        return;
    };
    let stranger = app.browser();
    let page = stranger.get("/app/me");
    assert_eq!(page.status, 303);
    assert_eq!(
        page.location().as_deref(),
        Some("/signin?callbackUrl=%2Fapp%2Fme")
    );
    assert_eq!(stranger.get("/app/api/me").status, 401);
    assert_eq!(stranger.get("/app/reports").status, 401);
    let b = app.signed_up("Bo", "bo@example.com");
    assert_eq!(b.get("/app/api/me").json()["email"], "bo@example.com");
    assert_eq!(b.get("/app/reports").status, 403);
    // A grant takes effect on the next request, as every change does.
    app.sql(r#"UPDATE users SET permissions = '["reports:read"]'"#);
    let reports = b.get("/app/reports");
    assert_eq!(reports.status, 200);
    assert_eq!(reports.body, "reports for Bo");
    // A ban ends it at once.
    app.sql("UPDATE users SET banned_at = CURRENT_TIMESTAMP");
    assert_eq!(b.get("/app/reports").status, 401);
}

fn events_arrive_after_commit_in_order_and_never_for_a_rollback(backend: Backend) {
    let Some((app, seen)) = start(backend) else {
        return;
    };
    let b = app.signed_up("Cy", "cy@example.com");
    let signed_up = seen.wait_for("sign_up", None);
    assert_eq!(signed_up.kind, EventKind::SignUp);
    let id = signed_up.user_id.expect("the new user");
    // The gate was asked before the session existed; the event came after
    // its row was committed (visible to another connection).
    let log = seen.log();
    let gate = log.iter().position(|l| l == "gate:signup:cy@example.com");
    let event = log.iter().position(|l| l == "event:sign_up:true");
    assert!(gate.is_some() && event.is_some() && gate < event, "{log:?}");

    let page = b.submit("/settings/profile", &[("name", "Cyrus"), ("image", "")]);
    assert!(page.status < 400, "{}", page.body);
    let changed = seen.wait_for("profile_changed", Some(id));
    assert_eq!(changed.kind, EventKind::UserChanged);
    assert_eq!(b.submit("/signout", &[]).status, 303);
    assert_eq!(seen.wait_for("sign_out", Some(id)).kind, EventKind::SignOut);
    assert!(
        seen.log()
            .iter()
            .all(|l| !l.starts_with("event:") || l.ends_with(":true")),
        "every event after its commit: {:?}",
        seen.log()
    );

    // A change that rolls back announces nothing; the same change committed does.
    let db = app.gatehouse.db().clone();
    let record = move |commit: bool| {
        let mut conn = db.get().expect("connection");
        let device = gatehouse::session::Device::default();
        let outcome = conn.write_transaction(|conn| {
            gatehouse::audit::record(
                conn,
                gatehouse::audit::Event::by(id, gatehouse::audit::action::PLAN_CHANGED, &device),
            )?;
            if commit {
                Ok(())
            } else {
                Err(diesel::result::Error::RollbackTransaction)
            }
        });
        assert_eq!(outcome.is_ok(), commit);
    };
    record(false);
    record(true);
    seen.wait_for("plan_changed", Some(id));
    std::thread::sleep(Duration::from_millis(200));
    let plans = seen
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|n| n.action == "plan_changed")
        .count();
    assert_eq!(plans, 1, "the rolled-back change was announced");
}

fn the_apps_own_change_reaches_open_pages_when_told(backend: Backend) {
    let Some((app, _seen)) = start(backend) else {
        return;
    };
    let b = app.signed_up("Di", "di@example.com");
    let mut stream = common::sse::Stream::open(&b);
    assert_eq!(stream.status, 200);
    assert_eq!(stream.session()["user"]["name"], "Di");
    let rename = |name: &str, tell: bool| {
        let body = serde_json::json!({ "name": name, "tell": tell });
        let page = b.json(reqwest::Method::POST, "/app/rename", &body);
        assert_eq!(page.status, 204, "{}", page.body);
    };
    // Untold: requests see it (they read the row), the open page does not.
    rename("Dee", false);
    stream.quiet(Duration::from_millis(700));
    assert_eq!(b.get("/api/auth/session").json()["user"]["name"], "Dee");
    // Told: the stream sends the fresh session.
    rename("Dot", true);
    assert_eq!(stream.session()["user"]["name"], "Dot");
}

fn an_admins_ban_is_an_event(backend: Backend) {
    let seen = Seen::default();
    let admin = [
        ("GATEHOUSE_ADMIN_EMAIL", "root@example.com"),
        ("GATEHOUSE_ADMIN_PASSWORD", PASSWORD),
    ];
    let Some(app) = EmbeddedApp::start(backend, &admin, seen.clone(), routes) else {
        return;
    };
    let user = app.signed_up("Bea", "bea@example.com");
    let id = seen.wait_for("sign_up", None).user_id.expect("the user");
    let root = app.browser();
    let signed_in = root.submit(
        "/signin",
        &[("email", "root@example.com"), ("password", PASSWORD)],
    );
    assert_eq!(signed_in.status, 303);
    let ban = root.json(
        reqwest::Method::POST,
        &format!("/api/admin/users/{id}/ban"),
        &serde_json::json!({ "reason": "spam" }),
    );
    assert_eq!(ban.status, 200, "{}", ban.body);
    let banned = seen.wait_for("banned", Some(id));
    assert_eq!(banned.kind, EventKind::Banned);
    assert!(banned.actor_id.is_some() && banned.actor_id != Some(id));
    assert_eq!(
        user.get("/app/api/me").status,
        401,
        "the ban ended the session"
    );
}

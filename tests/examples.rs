//! The examples in `examples/`, run as the user stories they promise: the
//! test includes each example's code and serves it as its `main` would.

mod common;

#[allow(dead_code)]
#[path = "../examples/team_app.rs"]
mod team_app;

#[allow(dead_code)]
#[path = "../examples/json_api.rs"]
mod json_api;

use std::time::{Duration, Instant};

use common::embedded::EmbeddedApp;
use common::{Backend, PASSWORD};

on_both_backends!(
    team_app_keeps_its_pages_for_its_team,
    json_api_serves_notes_behind_gatehouse_sessions,
);

fn team_app_keeps_its_pages_for_its_team(backend: Backend) {
    let roster = team_app::Roster::default();
    let gate = team_app::TeamGate {
        domain: "team.example".into(),
        roster: roster.clone(),
    };
    let admin = [
        ("GATEHOUSE_ADMIN_EMAIL", "lead@team.example"),
        ("GATEHOUSE_ADMIN_PASSWORD", PASSWORD),
        // What `main`'s `.mount(team_app::MOUNT)` sets.
        ("GATEHOUSE_MOUNT_PATH", team_app::MOUNT),
    ];
    let Some(app) = EmbeddedApp::start(backend, &admin, gate, team_app::routes(roster)) else {
        return;
    };
    // The app's own home page, not gatehouse's.
    let stranger = app.browser();
    let home = stranger.get("/");
    assert_eq!(home.status, 200);
    assert!(home.body.contains("Team wiki") && home.body.contains("Sign in"));
    // Its wiki needs a sign-in, and comes back to it after.
    let wiki = stranger.get("/wiki");
    assert_eq!(wiki.status, 303);
    assert_eq!(
        wiki.location().as_deref(),
        Some("/auth/signin?callbackUrl=%2Fwiki")
    );
    assert_eq!(
        stranger.get("/signin").status,
        404,
        "gatehouse is under /auth"
    );
    assert_eq!(stranger.get("/auth/signin").status, 200);

    // Another domain: refused with the app's words, no account.
    let outsider = app.browser().submit(
        "/auth/signup",
        &[
            ("name", "Olga"),
            ("email", "olga@elsewhere.example"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(outsider.status, 403);
    assert!(outsider.body.contains("Only addresses at team.example"));
    assert_eq!(app.count("users WHERE email = 'olga@elsewhere.example'"), 0);

    // A teammate signs up and reads the wiki.
    let b = app.browser();
    let page = b.submit(
        "/auth/signup",
        &[
            ("name", "Tam"),
            ("email", "tam@team.example"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(page.status, 303, "{}", page.body);
    let wiki = b.get("/wiki");
    assert_eq!(wiki.status, 200);
    assert!(wiki.body.contains("Tam's wiki"));
    assert!(b.get("/").body.contains("Signed in as Tam"));

    // Offboarding is for admins, CSRF-checked, and ends the sessions.
    assert_eq!(
        b.submit("/team/offboard", &[("email", "tam@team.example")])
            .status,
        403
    );
    let lead = app.browser();
    let signed_in = lead.submit(
        "/auth/signin",
        &[("email", "lead@team.example"), ("password", PASSWORD)],
    );
    assert_eq!(signed_in.status, 303);
    let no_token = lead.post_form_raw("/team/offboard", &[("email", "tam@team.example")]);
    assert_eq!(no_token.status, 403, "a POST without the CSRF token");
    assert_eq!(b.get("/wiki").status, 200, "nothing changed");
    let done = lead.submit("/team/offboard", &[("email", "tam@team.example")]);
    assert_eq!(done.status, 303);
    assert_eq!(b.get("/wiki").status, 303, "Tam's session ended at once");
    let again = app.browser().submit(
        "/auth/signin",
        &[("email", "tam@team.example"), ("password", PASSWORD)],
    );
    assert_eq!(again.status, 403);
    assert!(again.body.contains("You have left the team"));
}

fn json_api_serves_notes_behind_gatehouse_sessions(backend: Backend) {
    let notes = json_api::Notes::default();
    let callbacks = json_api::NotesCallbacks(notes.clone());
    let Some(app) = EmbeddedApp::start(backend, &[], callbacks, json_api::routes(notes)) else {
        return;
    };
    let stranger = app.browser();
    assert_eq!(stranger.get("/api/notes").status, 401);
    assert_eq!(stranger.get("/api/notes").json()["error"], "unauthorized");

    let b = app.browser();
    let page = b.submit(
        "/signup",
        &[
            ("name", "Nia"),
            ("email", "nia@example.com"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(page.status, 303);
    // The sign-up event (delivered after commit) wrote the welcome note.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let list = b.get("/api/notes").json();
        if list["notes"].as_array().is_some_and(|n| n.len() == 1) {
            break;
        }
        assert!(Instant::now() < deadline, "no welcome note: {list}");
        std::thread::sleep(Duration::from_millis(20));
    }
    // A state change needs the CSRF header, as every gatehouse route does.
    let body = serde_json::json!({"text": "buy milk"});
    let forged = b.send(|c| c.post(b.url("/api/notes")).json(&body));
    assert_eq!(forged.status, 403);
    let added = b.json(reqwest::Method::POST, "/api/notes", &body);
    assert_eq!(added.status, 201, "{}", added.body);
    let empty = b.json(
        reqwest::Method::POST,
        "/api/notes",
        &serde_json::json!({"text": " "}),
    );
    assert_eq!(empty.status, 422);
    assert_eq!(b.get("/api/notes").json()["notes"][1], "buy milk");
    // The session view carries the app's field.
    assert_eq!(b.get("/api/auth/session").json()["app"]["notes"], 2);
    // The permission guard, fresh on every request.
    assert_eq!(b.get("/api/notes/stats").status, 403);
    app.sql(r#"UPDATE users SET permissions = '["notes:stats"]'"#);
    assert_eq!(b.get("/api/notes/stats").json()["notes"], 2);
}

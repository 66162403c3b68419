//! Live updates read each session once, however many streams show it, on
//! SQLite and (when configured) PostgreSQL: five tabs of one session cost one
//! read per change, a burst of edits ends on the last one everywhere, a plan
//! that ends by itself is sent when it ends, and a session's watcher that
//! falls behind the broadcast still ends its streams. Reads are counted by
//! `gatehouse_event_reloads_total`.

mod common;

use std::time::{Duration, Instant};

use common::sse::{Next, Stream, WAIT, metric, other_session_id, user_with_stream};
use common::{Backend, Browser, ROOT_ADMIN, TestApp};
use reqwest::Method;
use serde_json::json;

on_both_backends!(
    five_tabs_of_one_session_cost_one_read,
    a_burst_of_edits_ends_on_the_last_in_every_tab,
    a_plan_that_ends_by_itself_arrives_as_free,
    a_watcher_that_falls_behind_still_ends_the_stream,
);

const METRICS: (&str, &str) = ("GATEHOUSE_METRICS_ADDR", "127.0.0.1:0");
const RELOADS: &str = "gatehouse_event_reloads_total";

fn rename(browser: &Browser, name: &str) {
    let page = browser.submit("/settings/profile", &[("name", name), ("image", "")]);
    assert_eq!(page.status, 303, "{}", page.body);
}

/// `n` more streams of `browser`'s session, their first event read.
fn tabs(browser: &Browser, n: usize) -> Vec<Stream> {
    (0..n)
        .map(|_| {
            let mut s = Stream::open(browser);
            assert_eq!(s.status, 200);
            s.session();
            s
        })
        .collect()
}

fn five_tabs_of_one_session_cost_one_read(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, &[METRICS]) else {
        return;
    };
    let (here, other, first) = user_with_stream(&app, "ada@example.com");
    let mut streams = vec![first];
    streams.extend(tabs(&here, 4));
    // Opening them read nothing beyond each request's own lookup.
    assert_eq!(metric(&app, RELOADS), 0.0);
    rename(&other, "Ada Lovelace");
    for s in &mut streams {
        assert_eq!(s.session()["user"]["name"], "Ada Lovelace");
    }
    assert_eq!(metric(&app, RELOADS), 1.0);
    // A tab of the other device too: two sessions, one read each.
    let mut theirs = tabs(&other, 1);
    rename(&other, "Ada King");
    for s in streams.iter_mut().chain(theirs.iter_mut()) {
        assert_eq!(s.session()["user"]["name"], "Ada King");
    }
    assert_eq!(metric(&app, RELOADS), 3.0);
    for s in streams.iter_mut().chain(theirs.iter_mut()) {
        s.quiet(Duration::from_millis(300));
    }
}

fn a_burst_of_edits_ends_on_the_last_in_every_tab(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, &[METRICS]) else {
        return;
    };
    let (here, other, first) = user_with_stream(&app, "ada@example.com");
    let mut streams = vec![first];
    streams.extend(tabs(&here, 4));
    for i in 1..=20 {
        rename(&other, &format!("Ada {i:02}"));
    }
    for s in &mut streams {
        // Each tab may skip names, never go back, and ends on the last.
        let mut last = String::new();
        while last != "Ada 20" {
            let name = s.session()["user"]["name"].as_str().unwrap().to_owned();
            assert!(name >= last, "{name} after {last}");
            last = name;
        }
    }
    let reloads = metric(&app, RELOADS);
    assert!((1.0..=20.0).contains(&reloads), "{reloads} reads");
}

fn a_plan_that_ends_by_itself_arrives_as_free(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[METRICS]) else {
        return;
    };
    let (here, _other, mut stream) = user_with_stream(&app, "ada@example.com");
    let admin = app.signed_in(ROOT_ADMIN);
    // Whole seconds, as the API takes it.
    let ends = chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp() + 3, 0).unwrap();
    let page = admin.json(
        Method::PATCH,
        &format!("/api/admin/users/{}", here.user_id()),
        &json!({
            "plan": "premium",
            "plan_expires_at": ends.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        }),
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(stream.session()["user"]["plan"], "premium");
    let reloads = metric(&app, RELOADS);
    // Nothing else changes: the end of the plan alone sends the session.
    let fresh = stream.session();
    assert_eq!(fresh["user"]["plan"], "free");
    let now = chrono::Utc::now();
    assert!(now >= ends, "early: {now} < {ends}");
    assert_eq!(metric(&app, RELOADS), reloads + 1.0);
    assert_eq!(here.session_json()["user"]["plan"], "free");
    stream.quiet(Duration::from_millis(300));
}

fn a_watcher_that_falls_behind_still_ends_the_stream(backend: Backend) {
    // One change kept for a watcher while it reads: two more push it out.
    let Some(app) = TestApp::start_with(backend, &[METRICS, ("EVENTS_BACKLOG", "1")]) else {
        return;
    };
    let (_here, other, mut stream) = user_with_stream(&app, "ada@example.com");
    let bob = app.signed_up("Bob", "bob@example.com");
    let mut bobs = tabs(&bob, 1).remove(0);
    // Ada's watcher will read her session and be held right after it.
    let id = other_session_id(&other);
    let binds = format!("-- binds: [{id}]");
    app.log.hold.arm(move |sql| {
        let plain = sql.replace(['"', '`'], "");
        plain.starts_with("SELECT")
            && plain.contains("INNER JOIN")
            && plain.contains("sessions.id = ")
            && plain.trim_end().ends_with(&binds)
    });
    rename(&other, "Ada 1");
    assert!(app.log.hold.wait_held(WAIT), "the watcher did not read");
    // Meanwhile her session is revoked, and Bob's edit follows: once Bob's
    // stream has it, both changes passed the broadcast, and the revoke was
    // pushed out of the watcher's backlog unheard.
    let page = other.json(
        Method::DELETE,
        &format!("/api/auth/sessions/{id}"),
        &json!({}),
    );
    assert_eq!(page.status, 204, "{}", page.body);
    rename(&bob, "Robert");
    assert_eq!(bobs.session()["user"]["name"], "Robert");
    // (Bob's watcher may have fallen behind too, with a backlog of one:
    // it has heard all it will by now.)
    let lags = metric(&app, "gatehouse_event_lags_total");
    app.log.hold.release();
    // The read that was held tells what it saw; the watcher then finds it
    // fell behind, reads again, and the session is gone.
    let started = Instant::now();
    let mut names = Vec::new();
    let reason = loop {
        let e = stream.event();
        match e.name.as_str() {
            "session" => names.push(e.json()["user"]["name"].clone()),
            "signout" => break e.json()["reason"].as_str().unwrap().to_owned(),
            other => panic!("unexpected event {other}"),
        }
    };
    assert_eq!(reason, "revoked");
    assert!(names.len() <= 1, "{names:?}");
    assert!(matches!(stream.next(WAIT), Next::End));
    assert!(started.elapsed() < WAIT);
    assert_eq!(metric(&app, "gatehouse_event_lags_total"), lags + 1.0);
}

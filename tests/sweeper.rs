//! The background sweeper (`SWEEP_INTERVAL`): expired sessions, unfinished
//! OAuth sign-ins, expired mailed links and old rate-limit counters go; live rows stay; large
//! sweeps go in batches; on PostgreSQL one instance sweeps at a time.

mod common;

use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::prelude::*;
use gatehouse::db::schema::{email_tokens, oauth_states, rate_limits, sessions};
use gatehouse::db::{DatabaseUrl, Db, DbConn};
use gatehouse::session::ExpiryPolicy;
use gatehouse::sweeper::{self, Outcome, Swept};

use common::process::{ProcessDb, ServerProcess};
use common::{Backend, postgres_admin_url};

on_both_backends!(
    the_server_sweeps_in_the_background,
    sweep_interval_off_sweeps_nothing,
    a_large_sweep_goes_in_batches,
);

fn open(db: &ProcessDb) -> Db {
    Db::connect(&DatabaseUrl::parse(&db.url).unwrap(), 2).unwrap()
}

/// What is left of the rows [`plant`] made: (live sessions, expired
/// sessions, expired OAuth states, fresh counters, old counters, live mailed
/// links, expired mailed links).
fn census(conn: &mut DbConn) -> (i64, i64, i64, i64, i64, i64, i64) {
    let now = Utc::now().naive_utc();
    let count = |n: QueryResult<i64>| n.unwrap();
    (
        count(
            sessions::table
                .filter(sessions::expires_at.gt(now))
                .count()
                .get_result(conn),
        ),
        count(
            sessions::table
                .filter(sessions::expires_at.le(now))
                .count()
                .get_result(conn),
        ),
        count(oauth_states::table.count().get_result(conn)),
        count(
            rate_limits::table
                .filter(rate_limits::key.like("fresh:%"))
                .count()
                .get_result(conn),
        ),
        count(
            rate_limits::table
                .filter(rate_limits::key.like("old:%"))
                .count()
                .get_result(conn),
        ),
        count(
            email_tokens::table
                .filter(email_tokens::expires_at.gt(now))
                .count()
                .get_result(conn),
        ),
        count(
            email_tokens::table
                .filter(email_tokens::expires_at.le(now))
                .count()
                .get_result(conn),
        ),
    )
}

/// A user with one live session and `expired` expired ones, two OAuth
/// sign-ins started an hour ago and never finished, two rate-limit counters
/// of three days ago and one of an hour ago, one live mailed link and two
/// expired ones.
fn plant(conn: &mut DbConn, expired: usize) {
    let new = gatehouse::users::NewUser {
        email: "swept@example.com",
        name: "Swept",
        password_hash: None,
        role: "user",
        language: "en",
    };
    let user = gatehouse::users::create_user(conn, &new)
        .unwrap_or_else(|e| panic!("create the user: {e:?}"));
    let policy = ExpiryPolicy {
        max_age: Duration::from_secs(3600),
        update_age: Duration::from_secs(60),
    };
    for _ in 0..=expired {
        gatehouse::session::create_session(conn, user, &Default::default(), &policy, None, 1)
            .unwrap();
    }
    let past = Utc::now().naive_utc() - chrono::Duration::hours(1);
    let live: i64 = sessions::table
        .select(diesel::dsl::max(sessions::id))
        .get_result::<Option<i64>>(conn)
        .unwrap()
        .unwrap();
    diesel::update(sessions::table.filter(sessions::id.ne(live)))
        .set(sessions::expires_at.eq(past))
        .execute(conn)
        .unwrap();
    for n in 0..2u8 {
        diesel::insert_into(oauth_states::table)
            .values((
                oauth_states::state_hash.eq(vec![n; 32]),
                oauth_states::binding_hash.eq(vec![n; 32]),
                oauth_states::provider.eq("github"),
                oauth_states::pkce_verifier.eq("v"),
                oauth_states::nonce.eq("n"),
                oauth_states::callback_url.eq("/"),
                oauth_states::expires_at.eq(past),
            ))
            .execute(conn)
            .unwrap();
    }
    use gatehouse::email::tokens::{self, Purpose};
    tokens::issue(conn, Purpose::ResetPassword, user, "swept@example.com").unwrap();
    for purpose in [Purpose::VerifyEmail, Purpose::SignIn] {
        tokens::issue(conn, purpose, user, "swept@example.com").unwrap();
    }
    diesel::update(email_tokens::table.filter(email_tokens::purpose.ne("reset_password")))
        .set(email_tokens::expires_at.eq(past))
        .execute(conn)
        .unwrap();
    // Two sign-ins waiting for a second factor: one live, one past its time.
    let waiting = gatehouse::twofactor::pending::Pending {
        user_id: user,
        method: "password".into(),
        details: serde_json::json!({"method": "password"}),
        callback_url: "/".into(),
    };
    let late = gatehouse::twofactor::pending::create(conn, &waiting).unwrap();
    gatehouse::twofactor::pending::create(conn, &waiting).unwrap();
    {
        use gatehouse::db::schema::pending_signins as ps;
        diesel::update(ps::table.filter(ps::token_hash.eq(late.hash().as_bytes())))
            .set(ps::expires_at.eq(past))
            .execute(conn)
            .unwrap();
    }
    let long_ago = Utc::now().naive_utc() - chrono::Duration::days(3);
    for (key, at) in [("old:1", long_ago), ("old:2", long_ago), ("fresh:1", past)] {
        diesel::insert_into(rate_limits::table)
            .values((
                rate_limits::key.eq(key),
                rate_limits::window_start.eq(at),
                rate_limits::hits.eq(3),
            ))
            .execute(conn)
            .unwrap();
    }
}

/// Waits up to `limit` for `done`.
fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

fn the_server_sweeps_in_the_background(backend: Backend) {
    let Some(db) = ProcessDb::new(backend) else {
        return;
    };
    let server = ServerProcess::start(&db, &[("SWEEP_INTERVAL", "1s")]);
    let store = open(&db);
    // No census of what was planted here: the sweeper runs every second and
    // may already be at work (sweep_interval_off_sweeps_nothing shows what
    // `plant` leaves when nothing sweeps).
    plant(&mut store.get().unwrap(), 3);
    let swept = eventually(Duration::from_secs(10), || {
        census(&mut store.get().unwrap()) == (1, 0, 0, 1, 0, 1, 0)
    });
    assert!(swept, "left: {:?}", census(&mut store.get().unwrap()));
    drop(server);
}

fn sweep_interval_off_sweeps_nothing(backend: Backend) {
    let Some(db) = ProcessDb::new(backend) else {
        return;
    };
    let server = ServerProcess::start(&db, &[("SWEEP_INTERVAL", "off")]);
    let store = open(&db);
    plant(&mut store.get().unwrap(), 3);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(census(&mut store.get().unwrap()), (1, 3, 2, 1, 2, 1, 2));
    assert_eq!(
        common::Browser::new(&server.base).get("/healthz").status,
        200
    );
}

fn a_large_sweep_goes_in_batches(backend: Backend) {
    let Some(db) = ProcessDb::new(backend) else {
        return;
    };
    let log = std::sync::Arc::new(gatehouse::db::StatementLog::default());
    let store =
        Db::connect_with_log(&DatabaseUrl::parse(&db.url).unwrap(), 2, Some(log.clone())).unwrap();
    {
        let mut conn = store.get().unwrap();
        gatehouse::db::run_migrations(&mut conn).unwrap();
        plant(&mut conn, 2_500);
    }
    log.reset();
    let limits = gatehouse::ratelimit::Limits::default();
    let outcome = sweeper::sweep_once(&store, &limits, 1_000).unwrap();
    assert_eq!(
        outcome,
        Outcome::Swept(Swept {
            sessions: 2_500,
            oauth_states: 2,
            rate_limits: 2,
            email_tokens: 2,
            pending_signins: 1,
            webauthn_challenges: 0,
        })
    );
    // 1,000 + 1,000 + 500 sessions, then one statement for each other table.
    let writes = log.writes.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(writes, 8, "delete statements");
    let waiting: i64 = gatehouse::db::schema::pending_signins::table
        .count()
        .get_result(&mut store.get().unwrap())
        .unwrap();
    assert_eq!(waiting, 1, "the live pending sign-in stays");
    assert_eq!(census(&mut store.get().unwrap()), (1, 0, 0, 1, 0, 1, 0));
    assert_eq!(
        sweeper::sweep_once(&store, &limits, 1_000).unwrap(),
        Outcome::Swept(Swept::default())
    );
}

/// A counter stays while a configured window could still be counting it.
#[test]
fn counters_live_as_long_as_the_longest_window() {
    let Some(db) = ProcessDb::new(Backend::Sqlite) else {
        return;
    };
    let store = open(&db);
    let mut conn = store.get().unwrap();
    gatehouse::db::run_migrations(&mut conn).unwrap();
    plant(&mut conn, 0);
    drop(conn);
    let limits = gatehouse::ratelimit::Limits {
        signin_account: gatehouse::ratelimit::parse_rule("100/7d").unwrap(),
        ..Default::default()
    };
    let outcome = sweeper::sweep_once(&store, &limits, 1_000).unwrap();
    let Outcome::Swept(swept) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        swept.rate_limits, 0,
        "a 7-day window keeps 3-day-old counters"
    );
}

/// Two instances on one PostgreSQL: while one holds the sweeper's turn, the
/// other skips; when it lets go, the other sweeps.
#[test]
fn one_instance_sweeps_at_a_time() {
    if postgres_admin_url().is_none() {
        return;
    }
    let db = ProcessDb::new(Backend::Postgres).unwrap();
    let first = ServerProcess::start(&db, &[("SWEEP_INTERVAL", "1s")]);
    let store = open(&db);
    // This test holds the turn, as a sweeping instance would.
    let mut holder = store.dedicated().unwrap();
    diesel::sql_query(format!("SELECT pg_advisory_lock({})", sweeper::LOCK_KEY))
        .execute(&mut holder)
        .unwrap();
    plant(&mut store.get().unwrap(), 3);
    let limits = gatehouse::ratelimit::Limits::default();
    assert_eq!(
        sweeper::sweep_once(&store, &limits, 1_000).unwrap(),
        Outcome::Skipped
    );
    let second = ServerProcess::start(&db, &[("SWEEP_INTERVAL", "1s")]);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        census(&mut store.get().unwrap()),
        (1, 3, 2, 1, 2, 1, 2),
        "an instance swept while another held the turn"
    );
    drop(holder);
    let swept = eventually(Duration::from_secs(10), || {
        census(&mut store.get().unwrap()) == (1, 0, 0, 1, 0, 1, 0)
    });
    assert!(swept, "left: {:?}", census(&mut store.get().unwrap()));
    drop((first, second));
}

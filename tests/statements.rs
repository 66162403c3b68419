//! The cost of the design, counted: a signed-in page view within the update age
//! sends exactly one SQL statement (the session ⨝ user join), writes nothing,
//! and reuses a statement prepared once per connection. That is with no
//! callbacks, as the server runs; an embedding app's session enrichment hook
//! adds exactly what its future queries, once per request, and nothing when it
//! queries nothing.

mod common;

use std::sync::atomic::Ordering;

use common::{Backend, TestApp};

on_both_backends!(
    one_statement_per_signed_in_request_and_no_writes,
    an_enrichment_hook_adds_what_it_queries,
);

fn one_statement_per_signed_in_request_and_no_writes(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.signed_up("Ada", "ada@example.com");
    let count = |path: &str, n: u64| {
        app.log.reset();
        for _ in 0..n {
            let page = b.get(path);
            assert_eq!(page.status, 200, "{path}");
            assert!(page.user_name().is_some() || path.starts_with("/api"));
        }
        (
            app.log.queries.load(Ordering::SeqCst),
            app.log.writes.load(Ordering::SeqCst),
            app.log.prepared.load(Ordering::SeqCst),
        )
    };
    // Warm up: each connection prepares the join once and caches it. (A query
    // Diesel cannot cache is prepared on every run without a cache event, so a
    // zero here would mean it is never reused.)
    let (queries, writes, prepared) = count("/", 20);
    assert_eq!((queries, writes), (20, 0));
    assert!(
        (1..=4).contains(&prepared),
        "the join was cached {prepared} times in 20 views"
    );

    for path in ["/", "/api/auth/session", "/api/auth/verify", "/settings"] {
        let (queries, writes, prepared) = count(path, 30);
        assert_eq!(queries, 30, "{path}: one statement per request");
        assert_eq!(writes, 0, "{path}: no writes");
        assert_eq!(prepared, 0, "{path}: the prepared statement is reused");
        let texts = app.log.texts.lock().unwrap().clone();
        assert_eq!(texts.len(), 1, "{path}: {texts:?}");
        let sql = texts.iter().next().unwrap().to_ascii_uppercase();
        assert!(
            sql.starts_with("SELECT") && sql.contains("INNER JOIN"),
            "{sql}"
        );
        // SQLite re-prepares a statement whose LIMIT is a bound parameter each
        // time it is bound: the join must not have one.
        assert!(!sql.contains("LIMIT"), "{sql}");
        if backend == Backend::Postgres {
            // PostgreSQL lookups run on the worker's own async connection, not
            // through the pool on a blocking thread.
            assert_eq!(
                texts.iter().next().unwrap(),
                gatehouse::db::pg_async::SESSION_JOIN
            );
        }
    }
    // Anonymous requests send nothing at all.
    app.log.reset();
    for _ in 0..10 {
        assert_eq!(app.browser().get("/").status, 200);
    }
    assert_eq!(app.log.queries.load(Ordering::SeqCst), 0);
}

/// An enrichment hook: with `query`, one query of the app's own; without,
/// a value from memory.
struct Enrich {
    query: bool,
}

impl gatehouse::Callbacks for Enrich {
    fn enrich_session(
        &self,
        session: &gatehouse::SignedIn,
        db: &gatehouse::db::Db,
    ) -> Option<gatehouse::Enrichment> {
        let (user, db, query) = (session.user.id, db.clone(), self.query);
        Some(Box::pin(async move {
            let mut fields = gatehouse::AppFields::new();
            let value = if query {
                db.run(move |conn| {
                    use diesel::prelude::*;
                    use gatehouse::db::schema::sessions::dsl as s;
                    Ok(s::sessions
                        .filter(s::user_id.eq(user))
                        .count()
                        .get_result::<i64>(conn)?)
                })
                .await
                .map_err(|e| e.to_string())?
            } else {
                user
            };
            fields.insert("n".into(), value.into());
            Ok(fields)
        }))
    }
}

fn an_enrichment_hook_adds_what_it_queries(backend: Backend) {
    for (query, per_request) in [(true, 2), (false, 1)] {
        let Some(app) =
            common::embedded::EmbeddedApp::start(backend, &[], Enrich { query }, |_| {})
        else {
            return;
        };
        let b = app.signed_up("Ada", "ada@example.com");
        for path in ["/", "/api/auth/session", "/settings"] {
            app.log.reset();
            for _ in 0..10 {
                assert_eq!(b.get(path).status, 200, "{path}");
            }
            assert_eq!(
                app.log.queries.load(Ordering::SeqCst),
                10 * per_request,
                "{path}: the join{} per request",
                if query {
                    " and the hook's query"
                } else {
                    " alone"
                }
            );
            assert_eq!(app.log.writes.load(Ordering::SeqCst), 0);
        }
        assert!(b.get("/api/auth/session").json()["app"]["n"].is_number());
    }
}

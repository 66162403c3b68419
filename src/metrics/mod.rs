//! Prometheus metrics (`GATEHOUSE_METRICS_ADDR`). One [`Metrics`] value per
//! app: off (every call a no-op) unless the address is set, on with a registry
//! of its own (no global, so two apps in one process count apart). Counters
//! are recorded where things happen; the pool and the hashing queue are read
//! when `/metrics` is scraped. The listener is [`server::metrics_server`].
//!
//! Built on the `prometheus` crate (tikv): its registry is a plain value held
//! here rather than a process-wide recorder, and its label sets can be
//! resolved once and kept, so the hot paths touch an atomic and nothing else.

pub mod requests;
pub mod server;

use std::sync::Arc;
use std::time::Duration;

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
};

use crate::auth::gate::Refusal;
use crate::auth::limiter::HashStats;
use crate::db::Db;
use crate::error::AppError;
use crate::mail::Mailer;
use crate::sweeper::Outcome;

pub use server::metrics_server;

/// Where a session lookup was decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookupPath {
    /// No session cookie: nothing was read.
    None,
    /// SQLite's read-only connection on the worker.
    Inline,
    /// PostgreSQL's async connection on the worker.
    Async,
    /// The pool, on a blocking thread (a miss above, an extension, a delete).
    Pool,
}

/// What a session lookup found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookupOutcome {
    SignedIn,
    Anonymous,
    /// A session row that no longer stands: expired, or its user banned.
    ExpiredOrRefused,
    /// The database did not answer (the request got 503).
    Error,
}

const PATHS: [(LookupPath, &str); 4] = [
    (LookupPath::None, "none"),
    (LookupPath::Inline, "inline"),
    (LookupPath::Async, "async"),
    (LookupPath::Pool, "pool"),
];

const OUTCOMES: [(LookupOutcome, &str); 4] = [
    (LookupOutcome::SignedIn, "signed_in"),
    (LookupOutcome::Anonymous, "anonymous"),
    (LookupOutcome::ExpiredOrRefused, "expired_or_refused"),
    (LookupOutcome::Error, "error"),
];

/// Request durations, in seconds: a signed-in page is well under a
/// millisecond, a sign-in hashes for tens to hundreds.
const DURATION_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The app's metrics; cheap to clone. [`Metrics::off`] records nothing.
#[derive(Clone, Default)]
pub struct Metrics(Option<Arc<Recorded>>);

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Metrics(on)"
        } else {
            "Metrics(off)"
        })
    }
}

struct Recorded {
    /// Tells this registry's series apart in the per-thread cache.
    id: u64,
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
    /// `[path][outcome]`, resolved once.
    lookups: [[IntCounter; 4]; 4],
    sign_ins: IntCounterVec,
    rate_limit_trips: IntCounterVec,
    sweeper_runs: IntCounterVec,
    sweeper_rows: IntCounterVec,
    pool_in_use: IntGauge,
    pool_idle: IntGauge,
    hash_queue: IntGauge,
    hash_refusals: IntCounter,
    /// `[queued, sent, retried, failed, dropped]`: the mailer's counts.
    mail: MailSeries,
    /// Read at scrape time.
    db: Db,
    hashing: Arc<HashStats>,
    mailer: Mailer,
    events: crate::events::Hub,
    events_open: IntGauge,
    events_sent: IntCounter,
    event_reloads: IntCounter,
    event_lags: IntCounter,
}

/// The mailer's counts, copied in at each scrape.
struct MailSeries {
    queued: IntGauge,
    sent: IntCounter,
    retried: IntCounter,
    failed: IntCounter,
    dropped: IntCounter,
}

fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    let c = IntCounter::new(name, help).expect("a valid metric");
    registry.register(Box::new(c.clone())).expect("a new name");
    c
}

/// Raises `counter` to `total` (counted elsewhere, copied in at a scrape).
fn catch_up(counter: &IntCounter, total: u64) {
    let counted = counter.get();
    if total > counted {
        counter.inc_by(total - counted);
    }
}

fn counter_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let v = IntCounterVec::new(Opts::new(name, help), labels).expect("a valid metric");
    registry.register(Box::new(v.clone())).expect("a new name");
    v
}

fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).expect("a valid metric");
    registry.register(Box::new(g.clone())).expect("a new name");
    g
}

impl Metrics {
    /// Records nothing (`GATEHOUSE_METRICS_ADDR` unset).
    pub fn off() -> Self {
        Metrics(None)
    }

    /// A registry of its own; `db`, `hashing`, `mailer` and `events` are read
    /// at each scrape.
    pub fn on(db: Db, hashing: Arc<HashStats>, mailer: Mailer, events: crate::events::Hub) -> Self {
        let r = Registry::new();
        let requests = counter_vec(
            &r,
            "gatehouse_http_requests_total",
            "HTTP requests answered, by method, route pattern and status.",
            &["method", "route", "status"],
        );
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "gatehouse_http_request_duration_seconds",
                "Time from a request's arrival to its answer, by route pattern.",
            )
            .buckets(DURATION_BUCKETS.to_vec()),
            &["route"],
        )
        .expect("a valid metric");
        r.register(Box::new(duration.clone())).expect("a new name");
        let lookup_vec = counter_vec(
            &r,
            "gatehouse_session_lookups_total",
            "Session lookups, by where they were decided and what they found.",
            &["path", "outcome"],
        );
        let lookups = PATHS.map(|(_, path)| {
            OUTCOMES.map(|(_, outcome)| lookup_vec.with_label_values(&[path, outcome]))
        });
        let sign_ins = counter_vec(
            &r,
            "gatehouse_sign_ins_total",
            "Sign-in attempts, by method (password, email or the provider id) and result.",
            &["method", "result"],
        );
        let rate_limit_trips = counter_vec(
            &r,
            "gatehouse_rate_limit_trips_total",
            "Requests refused by a rate limit, by rule (signin, signup, api).",
            &["rule"],
        );
        let sweeper_runs = counter_vec(
            &r,
            "gatehouse_sweeper_runs_total",
            "Background sweeper rounds, by outcome (swept, skipped, error).",
            &["outcome"],
        );
        let sweeper_rows = counter_vec(
            &r,
            "gatehouse_sweeper_deleted_rows_total",
            "Rows the background sweeper deleted, by kind.",
            &["kind"],
        );
        // Every series exists from the start, so a rate() sees its first rise.
        for outcome in ["swept", "skipped", "error"] {
            sweeper_runs.with_label_values(&[outcome]);
        }
        for (kind, _) in crate::sweeper::Swept::default().by_kind() {
            sweeper_rows.with_label_values(&[kind]);
        }
        let mail = MailSeries {
            queued: gauge(
                &r,
                "gatehouse_mail_queued",
                "Mail waiting for delivery now.",
            ),
            sent: counter(&r, "gatehouse_mail_sent_total", "Mail delivered."),
            retried: counter(
                &r,
                "gatehouse_mail_retries_total",
                "Mail deliveries that failed for a passing reason and were tried again.",
            ),
            failed: counter(
                &r,
                "gatehouse_mail_failed_total",
                "Mail given up: refused for good or out of retries.",
            ),
            dropped: counter(
                &r,
                "gatehouse_mail_dropped_total",
                "Mail never tried because the queue was full.",
            ),
        };
        let recorded = Recorded {
            pool_in_use: gauge(
                &r,
                "gatehouse_db_pool_connections_in_use",
                "Pool connections checked out now.",
            ),
            pool_idle: gauge(
                &r,
                "gatehouse_db_pool_connections_idle",
                "Pool connections open and idle now.",
            ),
            hash_queue: gauge(
                &r,
                "gatehouse_password_hash_queue_depth",
                "Password hashing jobs queued or running now.",
            ),
            hash_refusals: counter(
                &r,
                "gatehouse_password_hash_refusals_total",
                "Password checks refused with 503 because the hashing queue was full.",
            ),
            mail,
            mailer,
            events_open: gauge(
                &r,
                "gatehouse_event_streams_open",
                "Live-update streams (GET /api/auth/events) open now.",
            ),
            events_sent: counter(
                &r,
                "gatehouse_events_sent_total",
                "Events (session, signout) sent on live-update streams.",
            ),
            event_reloads: counter(
                &r,
                "gatehouse_event_reloads_total",
                "Sessions read again for live-update streams (one per session and burst of changes, however many streams).",
            ),
            event_lags: counter(
                &r,
                "gatehouse_event_lags_total",
                "Times a session's watcher fell behind the change broadcast and read its session again.",
            ),
            events,
            id: requests::next_registry_id(),
            registry: r,
            requests,
            duration,
            lookups,
            sign_ins,
            rate_limit_trips,
            sweeper_runs,
            sweeper_rows,
            db,
            hashing,
        };
        Metrics(Some(Arc::new(recorded)))
    }

    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// One session lookup.
    pub fn session_lookup(&self, path: LookupPath, outcome: LookupOutcome) {
        if let Some(m) = &self.0 {
            let p = PATHS.iter().position(|(p, _)| *p == path).unwrap_or(0);
            let o = OUTCOMES
                .iter()
                .position(|(o, _)| *o == outcome)
                .unwrap_or(0);
            m.lookups[p][o].inc();
        }
    }

    /// One sign-in attempt that concluded: `method` is `password` or a
    /// provider id (configured, so few); `result` one of a fixed set.
    pub fn sign_in(&self, method: &str, result: &str) {
        if let Some(m) = &self.0 {
            m.sign_ins.with_label_values(&[method, result]).inc();
        }
    }

    /// A password sign-in's outcome; a refusal by the sign-in limits also
    /// counts as a `signin` trip.
    pub fn password_sign_in<T>(&self, outcome: &Result<T, AppError>) {
        if self.0.is_none() {
            return;
        }
        let result = match outcome {
            Ok(_) => "ok",
            Err(AppError::BadCredentials) => "bad_credentials",
            Err(AppError::Refused(Refusal::Banned { .. })) => "banned",
            Err(AppError::Refused(_)) => "refused",
            Err(AppError::RateLimited { .. }) => "rate_limited",
            Err(AppError::Busy) => "busy",
            Err(AppError::Invalid { .. }) => "invalid",
            Err(AppError::Unavailable) => "unavailable",
            Err(_) => "error",
        };
        if result == "rate_limited" {
            self.rate_limit_trip("signin");
        }
        self.sign_in("password", result);
    }

    /// A request refused by the rate-limit rule `rule`.
    pub fn rate_limit_trip(&self, rule: &str) {
        if let Some(m) = &self.0 {
            m.rate_limit_trips.with_label_values(&[rule]).inc();
        }
    }

    /// One sweeper round.
    pub fn sweep(&self, outcome: &Result<Outcome, String>) {
        let Some(m) = &self.0 else { return };
        let label = match outcome {
            Ok(Outcome::Swept(swept)) => {
                for (kind, rows) in swept.by_kind() {
                    m.sweeper_rows
                        .with_label_values(&[kind])
                        .inc_by(rows as u64);
                }
                "swept"
            }
            Ok(Outcome::Skipped) => "skipped",
            Err(_) => "error",
        };
        m.sweeper_runs.with_label_values(&[label]).inc();
    }

    /// One answered request (see [`requests`]).
    pub(crate) fn request(&self, method: &'static str, route: &str, status: u16, took: Duration) {
        if let Some(m) = &self.0 {
            requests::record(m, method, route, status, took);
        }
    }

    /// The text exposition: the gauges are read now.
    pub fn render(&self) -> String {
        let Some(m) = &self.0 else {
            return String::new();
        };
        let pool = m.db.pool.state();
        m.pool_idle.set(i64::from(pool.idle_connections));
        m.pool_in_use.set(i64::from(
            pool.connections.saturating_sub(pool.idle_connections),
        ));
        m.hash_queue.set(m.hashing.depth() as i64);
        catch_up(&m.hash_refusals, m.hashing.refusals());
        let mail = m.mailer.stats();
        m.mail.queued.set(mail.queued as i64);
        catch_up(&m.mail.sent, mail.sent);
        catch_up(&m.mail.retried, mail.retried);
        catch_up(&m.mail.failed, mail.failed);
        catch_up(&m.mail.dropped, mail.dropped);
        m.events_open.set(m.events.open_streams() as i64);
        catch_up(&m.events_sent, m.events.events_sent());
        catch_up(&m.event_reloads, m.events.reloads());
        catch_up(&m.event_lags, m.events.lags());
        prometheus::TextEncoder::new()
            .encode_to_string(&m.registry.gather())
            .unwrap_or_else(|e| {
                log::warn!("metrics: cannot encode: {e}");
                String::new()
            })
    }
}

impl Recorded {
    fn request_series(&self, method: &str, route: &str, status: u16) -> (IntCounter, Histogram) {
        let status = status.to_string();
        (
            self.requests.with_label_values(&[method, route, &status]),
            self.duration.with_label_values(&[route]),
        )
    }
}

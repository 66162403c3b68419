//! The soak (issue 13): a mixed workload from a few client threads for
//! minutes on end, with the server's resident memory sampled every 10 s.
//!
//!     cargo run --release --manifest-path bench/Cargo.toml -- --soak [MINUTES]
//!
//! Each client thread owns its users and their sessions. About once a second
//! it does one operation that hashes a password (a sign-up or a sign-in; argon2
//! is slow on purpose, so they stay a minority), followed, when it holds more
//! than [`TARGET_SESSIONS`] sessions, by one that ends a session (a sign-out,
//! or a user revoking another of their sessions), so the session rows stay
//! level. Between those it does as many light operations as it can: signed-in
//! page views (`GET /`, `/settings`, `/api/auth/session`) and profile edits
//! (JSON and the settings form).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::seed::{Backend, Database};
use crate::server::Gatehouse;
use crate::soak_client::{self as client, Failure, Outcome, Session};

pub const THREADS: usize = 4;
/// From the end of one password-hashing operation of a thread to its next.
pub const HASH_EVERY: Duration = Duration::from_secs(1);
/// Live sessions a thread keeps (it ends one after each new one past this).
pub const TARGET_SESSIONS: usize = 12;
pub const SAMPLE_EVERY: Duration = Duration::from_secs(10);
/// Growth allowed from the end of the warm-up to the end (see README).
pub const GROWTH_LIMIT: f64 = 0.10;
/// Well above anything the workload does: the limits are not what is soaked.
pub const RATE_LIMIT: &str = "1000000/1m";

pub const KINDS: [&str; 9] = [
    "sign-up",
    "sign-in",
    "GET /",
    "GET /settings",
    "GET /api/auth/session",
    "edit (JSON)",
    "edit (form)",
    "sign-out",
    "revocation",
];

/// What one backend's soak measured.
pub struct Soak {
    pub backend: Backend,
    pub minutes: u32,
    pub warmup_s: u64,
    /// `(seconds since the start, VmRSS kB)`, every 10 s.
    pub samples: Vec<(u64, u64)>,
    pub ops: BTreeMap<&'static str, u64>,
    /// Operations finished by the end of the warm-up.
    pub ops_at_warmup: u64,
    /// Error and unexpected-answer lines, with how often each came.
    pub errors: BTreeMap<String, u64>,
    pub unexpected: BTreeMap<String, u64>,
    pub sessions_end: Option<u64>,
    pub users_end: Option<u64>,
    /// Why the run stopped early, if it did.
    pub stopped: Option<String>,
    pub log_notes: Vec<String>,
}

impl Soak {
    pub fn total_ops(&self) -> u64 {
        self.ops.values().sum()
    }

    /// VmRSS at the end of the warm-up (the first sample at or after it).
    pub fn baseline_kb(&self) -> Option<u64> {
        self.samples
            .iter()
            .find(|(t, _)| *t >= self.warmup_s)
            .map(|s| s.1)
    }

    pub fn end_kb(&self) -> Option<u64> {
        self.samples.last().map(|s| s.1)
    }

    pub fn max_kb(&self) -> Option<u64> {
        self.samples.iter().map(|s| s.1).max()
    }

    /// (end − baseline) / baseline.
    pub fn growth(&self) -> Option<f64> {
        let (b, e) = (self.baseline_kb()?, self.end_kb()?);
        Some((e as f64 - b as f64) / b as f64)
    }

    /// Least-squares slope of VmRSS after the warm-up, in kB per minute.
    pub fn slope_kb_per_min(&self) -> Option<f64> {
        self.slope_from(self.warmup_s)
    }

    /// The same over the last half of the time after the warm-up: a cache
    /// that fills levels off there, a leak keeps its slope.
    pub fn last_half_slope_kb_per_min(&self) -> Option<f64> {
        let end = self.samples.last()?.0;
        self.slope_from(self.warmup_s + end.saturating_sub(self.warmup_s) / 2)
    }

    fn slope_from(&self, from_s: u64) -> Option<f64> {
        let pts: Vec<(f64, f64)> = self
            .samples
            .iter()
            .filter(|(t, _)| *t >= from_s)
            .map(|&(t, kb)| (t as f64 / 60.0, kb as f64))
            .collect();
        if pts.len() < 2 {
            return None;
        }
        let n = pts.len() as f64;
        let (mx, my) = (
            pts.iter().map(|p| p.0).sum::<f64>() / n,
            pts.iter().map(|p| p.1).sum::<f64>() / n,
        );
        let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        Some(sxy / sxx)
    }

    /// The smallest leak per operation after the warm-up that would have
    /// crossed the growth limit, in bytes.
    pub fn detectable_bytes_per_op(&self) -> Option<f64> {
        let after = self.total_ops().checked_sub(self.ops_at_warmup)?;
        let b = self.baseline_kb()?;
        (after > 0).then(|| GROWTH_LIMIT * b as f64 * 1024.0 / after as f64)
    }

    pub fn pass(&self) -> bool {
        self.stopped.is_none()
            && self.errors.is_empty()
            && self.unexpected.is_empty()
            && self.log_notes.is_empty()
            && self.growth().is_some_and(|g| g < GROWTH_LIMIT)
    }
}

/// A thread's tally.
#[derive(Default)]
struct Tally {
    ops: BTreeMap<&'static str, u64>,
    errors: BTreeMap<String, u64>,
    unexpected: BTreeMap<String, u64>,
}

impl Tally {
    fn record(&mut self, kind: &'static str, outcome: Outcome<()>) -> bool {
        *self.ops.entry(kind).or_default() += 1;
        match outcome {
            Ok(()) => true,
            Err(Failure::Error(e)) => {
                *self
                    .errors
                    .entry(format!("{kind}: {}", digits(&e)))
                    .or_default() += 1;
                false
            }
            Err(Failure::Unexpected(e)) => {
                *self
                    .unexpected
                    .entry(format!("{kind}: {}", digits(&e)))
                    .or_default() += 1;
                false
            }
        }
    }
}

/// Numbers (ids, ports, counters) as `N`, so the same failure counts once.
fn digits(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            if !out.ends_with('N') {
                out.push('N');
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A small xorshift generator: no dependencies, and no need for quality.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Runs the soak on a fresh database of `backend` for `minutes`.
pub fn run(
    gatehouse: &Gatehouse,
    backend: Backend,
    workdir: &std::path::Path,
    pg_admin: &str,
    minutes: u32,
) -> Soak {
    // A fifth of the run, on a sample.
    let every = SAMPLE_EVERY.as_secs();
    let warmup_s = (u64::from(minutes) * 60 / 5).div_ceil(every) * every;
    let mut soak = Soak {
        backend,
        minutes,
        warmup_s,
        samples: Vec::new(),
        ops: BTreeMap::new(),
        ops_at_warmup: 0,
        errors: BTreeMap::new(),
        unexpected: BTreeMap::new(),
        sessions_end: None,
        users_end: None,
        stopped: None,
        log_notes: Vec::new(),
    };
    if let Err(e) = steps(gatehouse, workdir, pg_admin, &mut soak) {
        eprintln!("soak: {}: {e}", backend.name());
        soak.stopped = Some(e);
    }
    let tag = format!("soak-{}", tag(backend));
    soak.log_notes = crate::scenario::log_findings(workdir, &tag);
    soak
}

fn tag(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

fn steps(
    gatehouse: &Gatehouse,
    workdir: &std::path::Path,
    pg_admin: &str,
    soak: &mut Soak,
) -> Result<(), String> {
    let b = soak.backend;
    eprintln!("soak: {}: fresh database, migrating", b.name());
    let db = match b {
        Backend::Sqlite => {
            let db = Database::sqlite(workdir);
            let _ = std::fs::remove_file(workdir.join("bench.db"));
            db
        }
        Backend::Postgres => {
            crate::cmd::ensure_tool("psql", "postgresql-client")?;
            Database::postgres(pg_admin)?
        }
    };
    gatehouse.migrate(&db.url)?;
    let env: Vec<(&str, String)> = [
        "RATE_LIMIT_SIGNIN",
        "RATE_LIMIT_SIGNIN_ACCOUNT",
        "RATE_LIMIT_SIGNUP",
        "RATE_LIMIT_API",
        "RATE_LIMIT_EMAIL",
    ]
    .into_iter()
    .map(|k| (k, RATE_LIMIT.to_string()))
    .collect();
    let mut server = gatehouse.spawn_with(&db.url, &format!("soak-{}.log", tag(b)), &env)?;
    server.wait_healthy(Duration::from_secs(60))?;
    let port = server.port;

    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..THREADS)
        .map(|i| {
            let (stop, done, failed) = (stop.clone(), done.clone(), failed.clone());
            let prefix = format!("soak-{}-{i}", tag(b));
            thread::spawn(move || worker(port, i, &prefix, &stop, &done, &failed))
        })
        .collect();

    let start = Instant::now();
    let total = Duration::from_secs(u64::from(soak.minutes) * 60);
    let mut next = Duration::ZERO;
    let mut outcome = Ok(());
    loop {
        if let Some(wait) = next.checked_sub(start.elapsed()) {
            thread::sleep(wait);
        }
        if let Err(e) = server.check_alive() {
            outcome = Err(e);
            break;
        }
        let t = next.as_secs();
        match server.rss_kb() {
            Ok(kb) => soak.samples.push((t, kb)),
            Err(e) => {
                outcome = Err(e);
                break;
            }
        }
        let n = done.load(Ordering::Relaxed);
        if t <= soak.warmup_s {
            soak.ops_at_warmup = n;
        }
        eprintln!(
            "soak: {} {t:>4} s: VmRSS {:.1} MB, {n} operations, {} failed",
            b.name(),
            soak.samples.last().map_or(0, |s| s.1) as f64 / 1024.0,
            failed.load(Ordering::Relaxed)
        );
        if next >= total {
            break;
        }
        next += SAMPLE_EVERY;
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        match w.join() {
            Ok(t) => {
                for (k, v) in t.ops {
                    *soak.ops.entry(k).or_default() += v;
                }
                for (k, v) in t.errors {
                    *soak.errors.entry(k).or_default() += v;
                }
                for (k, v) in t.unexpected {
                    *soak.unexpected.entry(k).or_default() += v;
                }
            }
            Err(_) => {
                *soak
                    .errors
                    .entry("a client thread panicked".into())
                    .or_default() += 1
            }
        }
    }
    outcome?;
    server.check_alive()?;
    soak.sessions_end = db.session_count().ok();
    soak.users_end = db.count("SELECT COUNT(*) FROM users").ok();
    server.stop()
}

/// One client thread: its own users and sessions, until `stop`.
fn worker(
    port: u16,
    index: usize,
    prefix: &str,
    stop: &AtomicBool,
    done: &AtomicU64,
    failed: &AtomicU64,
) -> Tally {
    let mut tally = Tally::default();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((index as u64 + 1) << 32) ^ u64::from(port));
    // Sessions grouped by user: (email, sessions).
    let mut users: Vec<(String, Vec<Session>)> = Vec::new();
    let mut signed_up = 0u64;
    let mut edits = 0u64;
    // Spread the threads' hashing over the second.
    let mut next_hash = Instant::now() + HASH_EVERY.mul_f64(index as f64 / THREADS as f64);
    let mut count = |tally: &mut Tally, kind, outcome| {
        done.fetch_add(1, Ordering::Relaxed);
        if !tally.record(kind, outcome) {
            failed.fetch_add(1, Ordering::Relaxed);
        }
    };
    while !stop.load(Ordering::Relaxed) {
        let live: usize = users.iter().map(|u| u.1.len()).sum();
        if live == 0 || Instant::now() >= next_hash {
            // A new user two times in five, else a known user's new session.
            let known: Vec<usize> = (0..users.len()).collect();
            if known.is_empty() || rng.below(5) < 2 {
                signed_up += 1;
                let email = format!("{prefix}-{signed_up}@example.com");
                let name = format!("Soak {signed_up}");
                let outcome =
                    client::sign_up(port, &email, &name).map(|s| users.push((email, vec![s])));
                count(&mut tally, "sign-up", outcome);
            } else {
                let u = known[rng.below(known.len())];
                let outcome = client::sign_in(port, &users[u].0).map(|s| users[u].1.push(s));
                count(&mut tally, "sign-in", outcome);
            }
            if live + 1 > TARGET_SESSIONS {
                end_one(port, &mut rng, &mut users, &mut tally, &mut count);
            }
            // From the end: a slow hash (a busy machine) does not crowd out the rest.
            next_hash = Instant::now() + HASH_EVERY;
            continue;
        }
        // A light operation on a random live session.
        let with: Vec<(usize, usize)> = users
            .iter()
            .enumerate()
            .flat_map(|(u, (_, ss))| (0..ss.len()).map(move |i| (u, i)))
            .collect();
        let (u, i) = with[rng.below(with.len())];
        let s = &users[u].1[i];
        let roll = rng.below(100);
        let (kind, outcome) = if roll < 85 {
            let (kind, path) = match roll % 3 {
                0 => ("GET /", "/"),
                1 => ("GET /settings", "/settings"),
                _ => ("GET /api/auth/session", "/api/auth/session"),
            };
            (kind, client::view(port, s, path))
        } else {
            edits += 1;
            let name = format!("Soak edit {edits}");
            if roll < 93 {
                ("edit (JSON)", client::edit_json(port, s, &name))
            } else {
                ("edit (form)", client::edit_form(port, s, &name))
            }
        };
        count(&mut tally, kind, outcome);
    }
    tally
}

/// Ends one session: a revocation by another session of the same user when
/// some user has two or more, half the time; else a sign-out.
fn end_one(
    port: u16,
    rng: &mut Rng,
    users: &mut Vec<(String, Vec<Session>)>,
    tally: &mut Tally,
    count: &mut impl FnMut(&mut Tally, &'static str, Outcome<()>),
) {
    let multi: Vec<usize> = (0..users.len())
        .filter(|&u| users[u].1.len() >= 2)
        .collect();
    if !multi.is_empty() && rng.below(2) == 0 {
        let u = multi[rng.below(multi.len())];
        let at = rng.below(users[u].1.len());
        let victim = users[u].1.remove(at);
        let by = &users[u].1[rng.below(users[u].1.len())];
        count(tally, "revocation", client::revoke(port, by, &victim));
    } else {
        let with: Vec<usize> = (0..users.len())
            .filter(|&u| !users[u].1.is_empty())
            .collect();
        if with.is_empty() {
            return;
        }
        let u = with[rng.below(with.len())];
        let at = rng.below(users[u].1.len());
        let s = users[u].1.remove(at);
        count(tally, "sign-out", client::sign_out(port, &s));
    }
    users.retain(|u| !u.1.is_empty());
}

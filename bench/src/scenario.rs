//! One backend's run: fresh database, seed, sign in, load rows, storm, table
//! growth, cold start.

use std::path::Path;
use std::time::Duration;

use crate::results::{BackendReport, Cell};
use crate::seed::{Backend, Database, SEED_USERS};
use crate::server::{Gatehouse, Server};
use crate::wrk::{self, Settings};
use crate::{cmd, http, storm};

pub const EMAIL: &str = "bench@example.com";
const NAME: &str = "Bench";
const PASSWORD: &str = "bench password 123";
const BIG: u64 = 1_000_000;
const COLD_STARTS: usize = 3;
const T: Duration = Duration::from_secs(30);

pub struct Ctx<'a> {
    pub gatehouse: &'a Gatehouse,
    pub settings: Settings,
    pub workdir: &'a Path,
    pub pg_admin: String,
    /// `--only-live`: the live-update step alone.
    pub only_live: bool,
}

/// Runs every step for `rep.backend`, recording what it measured; a step
/// that cannot go on records the error in `rep.error`.
pub fn run(ctx: &Ctx, rep: &mut BackendReport) {
    if let Err(e) = steps(ctx, rep) {
        eprintln!("bench: {}: {e}", rep.backend.name());
        rep.error = Some(e);
    }
    rep.notes
        .extend(log_findings(ctx.workdir, tag(rep.backend)));
}

fn tag(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

fn step(b: Backend, what: &str) {
    eprintln!("bench: {}: {what}", b.name());
}

fn steps(ctx: &Ctx, rep: &mut BackendReport) -> Result<(), String> {
    let b = rep.backend;
    step(
        b,
        "creating a fresh database, migrating, adding the bench user, seeding",
    );
    // Declared before the server, so it is dropped after it.
    let db = match b {
        Backend::Sqlite => Database::sqlite(ctx.workdir),
        Backend::Postgres => {
            cmd::ensure_tool("psql", "postgresql-client")?;
            Database::postgres(&ctx.pg_admin)?
        }
    };
    ctx.gatehouse.migrate(&db.url)?;
    ctx.gatehouse.add_user(&db.url, EMAIL, NAME, PASSWORD)?;
    db.seed_users()?;
    db.seed_sessions(1, u64::from(SEED_USERS))?;
    if ctx.only_live {
        return live(ctx, rep, &db.url);
    }

    let mut server = ctx
        .gatehouse
        .spawn(&db.url, &format!("{}-serve.log", tag(b)))?;
    server.wait_healthy(Duration::from_secs(60))?;
    let port = server.port;
    let cookie = sign_in_checked(port)?;
    check_pages(port, &cookie, rep)?;
    let verify = http::get(port, "/api/auth/verify", Some(&cookie), T)?;

    rep.anonymous = measure(ctx, &mut server, "/", None);
    rep.home = measure(ctx, &mut server, "/", Some(&cookie));
    rep.session = measure(ctx, &mut server, "/api/auth/session", Some(&cookie));
    rep.verify = if verify.status == 200 {
        measure(ctx, &mut server, "/api/auth/verify", Some(&cookie))
    } else {
        rep.notes.push(format!(
            "GET /api/auth/verify answered {}: row skipped",
            verify.status
        ));
        Cell::NotBuilt
    };
    server.check_alive()?;
    rep.rss_load_kb = Some(server.peak_rss_kb()?);

    step(b, "sign-in storm");
    let mut storm = storm::run(&ctx.settings, port, &cookie, EMAIL, PASSWORD);
    server.check_alive()?;
    // VmHWM can read a little lower later (the kernel updates it lazily): keep the maximum.
    storm.rss_after_kb = server.peak_rss_kb().ok().max(rep.rss_load_kb);
    let load_mb = rep.rss_load_kb.unwrap_or(0) as f64 / 1024.0;
    if let Some(kb) = storm.rss_after_kb.filter(|kb| *kb >= 64 * 1024) {
        rep.notes.push(format!(
            "VmHWM reached {:.0} MB during the sign-in storm ({load_mb:.0} MB under page-view load alone); \
             the storm has its own memory target",
            kb as f64 / 1024.0
        ));
    }
    let overlap_ms = f64::from(ctx.settings.duration_s.saturating_sub(1)) * 1000.0;
    if storm.sign_in_wall_ms > overlap_ms {
        rep.notes.push(format!(
            "the sign-ins took {:.0} ms, longer than the {overlap_ms:.0} ms of page-view load left after firing them",
            storm.sign_in_wall_ms
        ));
    }
    rep.storm = Some(storm);

    step(b, "growing the sessions table to 1,000,000 rows");
    let before = db.session_count()?;
    let first = u64::from(SEED_USERS) + 1;
    db.seed_sessions(first, first + BIG.saturating_sub(before + 1))?;
    rep.big_sessions = Some(db.session_count()?);
    expect_signed_in(port, &cookie).map_err(|e| format!("after growing the table: {e}"))?;
    rep.home_big = measure(ctx, &mut server, "/", Some(&cookie));
    server.check_alive()?;
    let storm_kb = rep.storm.as_ref().and_then(|s| s.rss_after_kb);
    rep.rss_end_kb = server.peak_rss_kb().ok().max(storm_kb).max(rep.rss_load_kb);

    step(
        b,
        "the same signed-in GET / with GATEHOUSE_METRICS_ADDR set",
    );
    stop(&mut server, rep);
    let metrics_port = crate::server::free_port()?;
    server = ctx.gatehouse.spawn_with(
        &db.url,
        &format!("{}-metrics.log", tag(b)),
        &[(
            "GATEHOUSE_METRICS_ADDR",
            format!("127.0.0.1:{metrics_port}"),
        )],
    )?;
    server.wait_healthy(Duration::from_secs(60))?;
    let port = server.port;
    expect_signed_in(port, &cookie).map_err(|e| format!("with metrics on: {e}"))?;
    rep.home_big_metrics = measure(ctx, &mut server, "/", Some(&cookie));
    let scrape = http::get(metrics_port, "/metrics", None, T)?;
    if scrape.status != 200 || !scrape.body.contains("gatehouse_") {
        rep.notes.push(format!(
            "GET /metrics on the metrics address answered {} without gatehouse_ metrics",
            scrape.status
        ));
        rep.home_big_metrics = Cell::Failed("/metrics did not answer".into());
    }
    server.check_alive()?;

    step(
        b,
        "POST /forgot-password, known and unknown address, interleaved",
    );
    stop(&mut server, rep);
    server = ctx.gatehouse.spawn_with(
        &db.url,
        &format!("{}-forgot.log", tag(b)),
        &[("RATE_LIMIT_EMAIL", "off".to_string())],
    )?;
    server.wait_healthy(Duration::from_secs(60))?;
    rep.forgot = Some(crate::forgot::run(server.port, EMAIL));
    server.check_alive()?;

    stop(&mut server, rep);
    live(ctx, rep, &db.url)?;

    if b == Backend::Sqlite {
        step(b, "cold starts on the migrated database");
        stop(&mut server, rep);
        for i in 1..=COLD_STARTS {
            let mut s = ctx
                .gatehouse
                .spawn(&db.url, &format!("{}-cold-{i}.log", tag(b)))?;
            let took = s.wait_healthy(Duration::from_secs(10))?;
            rep.cold_start_ms.push(took.as_secs_f64() * 1000.0);
            stop(&mut s, rep);
        }
    }
    stop(&mut server, rep);
    Ok(())
}

/// Live updates on a server of its own: [`crate::live::STREAMS`] streams,
/// then one profile edit.
fn live(ctx: &Ctx, rep: &mut BackendReport, db_url: &str) -> Result<(), String> {
    let b = rep.backend;
    step(
        b,
        &format!(
            "{} live-update streams, then a profile edit",
            crate::live::STREAMS
        ),
    );
    let mut server = ctx.gatehouse.spawn_with(
        db_url,
        &format!("{}-live.log", tag(b)),
        &[("EVENTS_MAX_STREAMS", "20000".to_string())],
    )?;
    server.wait_healthy(Duration::from_secs(60))?;
    let cookie = sign_in_checked(server.port)?;
    let measured = crate::live::run(server.port, &|| server.rss_kb(), &cookie);
    if let Ok(l) = &measured {
        eprintln!(
            "bench:     {} streams: {:.1} KB each; edit to event: first {:.0} ms, last {:.0} ms",
            l.streams,
            l.kb_per_stream(),
            l.first_ms,
            l.last_ms
        );
    }
    server.check_alive()?;
    rep.live = Some(measured);
    stop(&mut server, rep);
    Ok(())
}

fn stop(server: &mut Server, rep: &mut BackendReport) {
    if let Err(e) = server.stop() {
        rep.notes.push(e);
    }
}

fn measure(ctx: &Ctx, server: &mut Server, path: &str, cookie: Option<&str>) -> Cell {
    let who = if cookie.is_some() {
        "signed-in"
    } else {
        "anonymous"
    };
    eprintln!("bench:   {who} GET {path}");
    if let Err(e) = server.check_alive() {
        return Cell::Failed(e);
    }
    match wrk::measure(&ctx.settings, server.port, path, cookie) {
        Ok(r) => {
            eprintln!(
                "bench:     {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors",
                r.req_per_s,
                r.p50_ms,
                r.p99_ms,
                r.errors()
            );
            Cell::Done(r)
        }
        Err(e) => Cell::Failed(e),
    }
}

/// Signs the bench user in through the form; the session must then be live.
fn sign_in_checked(port: u16) -> Result<String, String> {
    let answer = http::sign_in(port, EMAIL, PASSWORD, T)?;
    if answer.status != 303 {
        return Err(format!("POST /signin answered {}, not 303", answer.status));
    }
    let cookie = answer
        .session
        .ok_or("POST /signin set no gatehouse_session cookie")?;
    expect_signed_in(port, &cookie)?;
    Ok(cookie)
}

fn expect_signed_in(port: u16, cookie: &str) -> Result<(), String> {
    let s = http::get(port, "/api/auth/session", Some(cookie), T)?;
    if s.status != 200 || !s.body.contains(EMAIL) {
        return Err(format!(
            "GET /api/auth/session with the cookie answered {}: {}",
            s.status,
            s.body.chars().take(200).collect::<String>()
        ));
    }
    Ok(())
}

/// The loaded pages must be what they claim: anonymous vs signed-in `GET /`.
fn check_pages(port: u16, cookie: &str, rep: &mut BackendReport) -> Result<(), String> {
    let anon = http::get(port, "/", None, T)?;
    if anon.status != 200 || anon.body.contains(EMAIL) {
        return Err(format!(
            "anonymous GET / answered {} (expected the anonymous page)",
            anon.status
        ));
    }
    let home = http::get(port, "/", Some(cookie), T)?;
    if home.status != 200 || !home.body.contains(EMAIL) {
        return Err(format!(
            "signed-in GET / answered {} without the user's email",
            home.status
        ));
    }
    if home.set_cookie("gatehouse_csrf").is_some() {
        rep.notes.push(
            "signed-in GET / mints a new gatehouse_csrf cookie on every answer although the browser sends one"
                .into(),
        );
    }
    Ok(())
}

/// Warnings, errors and panics in this backend's server logs (the first-admin
/// setup link, logged at every start, is expected and skipped).
pub fn log_findings(workdir: &Path, tag: &str) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(workdir) else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    for entry in dir.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with(tag) && name.ends_with(".log")) {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        lines.extend(
            text.lines()
                .filter(|l| l.contains("WARN") || l.contains("ERROR") || l.contains("panicked"))
                .filter(|l| !l.contains("one-time link"))
                .map(|l| {
                    format!(
                        "server log {name}: {}",
                        l.chars().take(300).collect::<String>()
                    )
                }),
        );
    }
    const KEEP: usize = 5;
    if lines.len() > KEEP {
        let more = lines.len() - KEEP;
        lines.truncate(KEEP);
        lines.push(format!(
            "… and {more} more warning/error lines in the server logs"
        ));
    }
    lines
}

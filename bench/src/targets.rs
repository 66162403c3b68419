//! The targets, each checked against what was measured.

use crate::results::{BackendReport, Cell, int, mb, median};
use crate::seed::Backend;
use crate::storm::SIGN_INS;
use crate::wrk::WrkResult;

pub struct Target {
    pub pass: bool,
    pub text: String,
}

const RSS_LIMIT_KB: u64 = 64 * 1024;
/// Memory stays bounded in a sign-in storm: the page-view limit plus room for
/// the hashing threads' argon2 buffers (one on a 2-core machine).
const STORM_RSS_LIMIT_KB: u64 = 96 * 1024;
const COLD_START_LIMIT_MS: f64 = 500.0;

fn check(out: &mut Vec<Target>, b: &BackendReport, what: &str, result: Option<(bool, String)>) {
    let (pass, figures) = result.unwrap_or((false, "not measured".to_string()));
    out.push(Target {
        pass,
        text: format!("{}: {what}: {figures}", b.backend.name()),
    });
}

/// The targets for one backend, each with the measured figures.
pub fn targets(b: &BackendReport) -> Vec<Target> {
    let mut t = Vec::new();
    if let Some(e) = &b.error {
        let first = e.lines().next().unwrap_or_default();
        check(
            &mut t,
            b,
            "the run completed",
            Some((false, first.to_string())),
        );
    }
    let (min_ratio, django) = match b.backend {
        Backend::Sqlite => (0.5, 1_000.0),
        Backend::Postgres => (0.25, 800.0),
    };
    let (anon, home) = (b.anonymous.done(), b.home.done());
    check(
        &mut t,
        b,
        &format!("signed-in GET / ≥ {min_ratio}× anonymous"),
        anon.zip(home).map(|(a, h)| {
            let r = h.req_per_s / a.req_per_s;
            (
                r >= min_ratio,
                format!(
                    "{r:.2}× ({} / {} req/s)",
                    int(h.req_per_s),
                    int(a.req_per_s)
                ),
            )
        }),
    );
    let floor = 20.0 * django;
    check(
        &mut t,
        b,
        &format!("signed-in GET / ≥ 20× Django ({} req/s)", int(floor)),
        home.map(|h| {
            (
                h.req_per_s >= floor,
                format!("{} req/s ({:.1}×)", int(h.req_per_s), h.req_per_s / django),
            )
        }),
    );
    let rows = [&b.anonymous, &b.home, &b.session, &b.verify];
    let errors: u64 = rows
        .iter()
        .filter_map(|c| c.done())
        .map(WrkResult::errors)
        .sum();
    let failed = rows
        .iter()
        .filter(|c| matches!(c, Cell::Failed(_) | Cell::NotRun))
        .count();
    check(
        &mut t,
        b,
        "load rows without errors",
        Some((
            errors == 0 && failed == 0,
            format!("{errors} errors, {failed} rows not measured"),
        )),
    );
    check(
        &mut t,
        b,
        "1M-session / 1k-session signed-in req/s ≥ 0.85",
        home.zip(b.home_big.done()).map(|(s, l)| {
            let r = l.req_per_s / s.req_per_s;
            (
                r >= 0.85 && l.errors() == 0,
                format!(
                    "{r:.2} ({} / {} req/s, {} errors)",
                    int(l.req_per_s),
                    int(s.req_per_s),
                    l.errors()
                ),
            )
        }),
    );
    check(
        &mut t,
        b,
        "signed-in GET / with GATEHOUSE_METRICS_ADDR set ≥ 0.90× without (1M sessions)",
        b.home_big
            .done()
            .zip(b.home_big_metrics.done())
            .map(|(off, on)| {
                let r = on.req_per_s / off.req_per_s;
                (
                    r >= 0.90 && on.errors() == 0,
                    format!(
                        "{r:.2}× ({} / {} req/s, {} errors)",
                        int(on.req_per_s),
                        int(off.req_per_s),
                        on.errors()
                    ),
                )
            }),
    );
    check(
        &mut t,
        b,
        "POST /forgot-password: known address within 0.80–1.25× the unknown one's median time",
        b.forgot
            .as_ref()
            .map(|f| match f.as_ref().map(|f| f.medians()) {
                Ok(Some((k, u, r))) => (
                    (0.80..=1.25).contains(&r),
                    format!("{r:.2}× ({k:.2} / {u:.2} ms)"),
                ),
                Ok(None) => (false, "no answers".to_string()),
                Err(e) => (false, e.clone()),
            }),
    );
    check(
        &mut t,
        b,
        "peak RSS under load < 64 MB",
        b.rss_load_kb.map(|kb| (kb < RSS_LIMIT_KB, mb(kb))),
    );
    let storm = b.storm.as_ref();
    check(
        &mut t,
        b,
        &format!("storm: all {SIGN_INS} sign-ins answered 303/429/503"),
        storm.map(|s| {
            let answered = s.ok + s.limited;
            (
                answered == SIGN_INS,
                format!(
                    "{} × 303, {} × 429/503, {} failed",
                    s.ok,
                    s.limited,
                    s.failures.len()
                ),
            )
        }),
    );
    let storm_wrk = storm.and_then(|s| s.wrk.as_ref().ok());
    check(
        &mut t,
        b,
        "storm: page-view p99 ≤ 3× idle p99",
        storm_wrk.zip(home).map(|(s, h)| {
            let r = s.p99_ms / h.p99_ms;
            (
                r <= 3.0,
                format!("{:.2} ms vs {:.2} ms ({r:.1}×)", s.p99_ms, h.p99_ms),
            )
        }),
    );
    check(
        &mut t,
        b,
        "storm: peak RSS stays < 96 MB (64 MB + one 19 MiB argon2 buffer per hashing thread)",
        storm
            .and_then(|s| s.rss_after_kb)
            .map(|kb| (kb < STORM_RSS_LIMIT_KB, mb(kb))),
    );
    check(
        &mut t,
        b,
        "storm: zero wrk errors",
        storm_wrk.map(|s| (s.errors() == 0, format!("{} errors", s.errors()))),
    );
    if b.backend == Backend::Sqlite {
        check(
            &mut t,
            b,
            "cold start to /healthz 200 < 500 ms",
            median(&b.cold_start_ms).map(|m| {
                (
                    m < COLD_START_LIMIT_MS,
                    format!("{m:.0} ms (median of {})", b.cold_start_ms.len()),
                )
            }),
        );
    }
    t
}

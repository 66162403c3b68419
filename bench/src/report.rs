//! The Markdown report (stdout and BENCHMARKS.md).

use std::fmt::Write;

use crate::results::{BackendReport, Cell, Meta, int, median, opt_mb};
use crate::seed::Backend;
use crate::storm::SIGN_INS;
use crate::targets::Target;

pub fn markdown(meta: &Meta, backends: &[BackendReport], targets: &[Target]) -> String {
    let mut md = String::new();
    header(&mut md, meta, targets);
    throughput(&mut md, backends);
    table_size(&mut md, backends);
    storm(&mut md, backends);
    forgot(&mut md, backends);
    live(&mut md, backends);
    memory(&mut md, backends);
    verdicts(&mut md, backends, targets);
    md
}

fn header(md: &mut String, meta: &Meta, targets: &[Target]) {
    let quick = if meta.quick { " -- --quick" } else { "" };
    let passed = targets.iter().filter(|t| t.pass).count();
    let _ = writeln!(md, "# Benchmarks\n");
    let _ = writeln!(
        md,
        "Written by `cargo run --release --manifest-path bench/Cargo.toml{quick}` (see `bench/`). \
         The load generator and the server share the machine's cores, on loopback. \
         The Soak section at the end comes from `-- --soak` runs (its own date and commit); \
         this run carries it over.\n"
    );
    let _ = writeln!(md, "| | |\n|---|---|");
    let _ = writeln!(md, "| date | {} |", meta.date);
    let _ = writeln!(md, "| cores (`nproc`) | {} |", meta.nproc);
    let _ = writeln!(md, "| CPU | {} |", meta.cpu);
    let mode = if meta.quick { " (quick mode)" } else { "" };
    let _ = writeln!(md, "| load | {}{mode} |", meta.settings.describe());
    let _ = writeln!(md, "| commit | `{}` |", meta.commit);
    let _ = writeln!(
        md,
        "| scheduler autogroups | {} (why: `bench/src/autogroup.rs`) |",
        meta.autogroup
    );
    let _ = writeln!(
        md,
        "| data | 1,000 seeded users and 1,000 seeded sessions, plus the bench user |"
    );
    let _ = writeln!(md, "| targets | {passed} of {} passed |", targets.len());
}

fn throughput(md: &mut String, backends: &[BackendReport]) {
    let _ = writeln!(md, "\n## Throughput\n");
    let _ = writeln!(
        md,
        "| backend | request | req/s | p50 ms | p99 ms | × anonymous | errors |\n\
         |---|---|---:|---:|---:|---:|---:|"
    );
    for b in backends {
        let anon = b.anonymous.done().map(|a| a.req_per_s);
        let rows = [
            ("anonymous `GET /` (ceiling)", &b.anonymous),
            ("signed-in `GET /`", &b.home),
            ("signed-in `GET /api/auth/session`", &b.session),
            ("signed-in `GET /api/auth/verify`", &b.verify),
        ];
        for (label, cell) in rows {
            let _ = writeln!(
                md,
                "| {} | {label} | {} |",
                b.backend.name(),
                cells(cell, anon)
            );
        }
    }
}

fn table_size(md: &mut String, backends: &[BackendReport]) {
    let _ = writeln!(
        md,
        "\n## Session table size\n\nSigned-in `GET /` with about 1,000 rows in `sessions`, \
         then after growing the table to 1,000,000 rows (one `INSERT`), then on a fresh \
         server with `GATEHOUSE_METRICS_ADDR` set (every request counted and timed).\n"
    );
    let _ = writeln!(
        md,
        "| backend | sessions | req/s | p50 ms | p99 ms | × 1k rows | errors |\n\
         |---|---|---:|---:|---:|---:|---:|"
    );
    for b in backends {
        let small = b.home.done().map(|a| a.req_per_s);
        let big = b.big_sessions.map_or("1,000,000".into(), |n| int(n as f64));
        let name = b.backend.name();
        let _ = writeln!(md, "| {name} | ~1,000 | {} |", cells(&b.home, small));
        let _ = writeln!(md, "| {name} | {big} | {} |", cells(&b.home_big, small));
        let _ = writeln!(
            md,
            "| {name} | {big}, metrics on | {} |",
            cells(&b.home_big_metrics, small)
        );
    }
}

fn forgot(md: &mut String, backends: &[BackendReport]) {
    let _ = writeln!(
        md,
        "\n## Forgot password: known and unknown address\n\n{} `POST /forgot-password` for the \
         bench user's address and {} for addresses with no account, interleaved one at a time \
         (`RATE_LIMIT_EMAIL=off`, mail written as files after the answer).\n",
        crate::forgot::ROUNDS,
        crate::forgot::ROUNDS
    );
    let _ = writeln!(
        md,
        "| backend | known p50 ms | unknown p50 ms | known / unknown |\n|---|---:|---:|---:|"
    );
    for b in backends {
        let name = b.backend.name();
        let row = match &b.forgot {
            None => "not run | | ".to_string(),
            Some(Err(e)) => format!("failed: {} | | ", one_line(e)),
            Some(Ok(f)) => match f.medians() {
                Some((k, u, r)) => format!("{k:.2} | {u:.2} | {r:.2}×"),
                None => "no answers | | ".to_string(),
            },
        };
        let _ = writeln!(md, "| {name} | {row} |");
    }
}

/// The live-update table alone (also what `--only-live` prints).
pub fn live(md: &mut String, backends: &[BackendReport]) {
    let _ = writeln!(
        md,
        "\n## Live updates\n\n{} `GET /api/auth/events` streams held open on one instance \
         (one session), then one profile edit (`POST /api/auth/session`): the server's resident \
         memory per stream (VmRSS with the streams open minus before, over their number) and the \
         time from sending the edit to its `event: session` on the first and the last stream.\n",
        crate::live::STREAMS
    );
    let _ = writeln!(
        md,
        "| backend | VmRSS before | VmRSS with streams | KB per stream | opening all | edit answered | \
         first event | last event |\n|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    for b in backends {
        let name = b.backend.name();
        let row = match &b.live {
            None => "not run | | | | | | ".to_string(),
            Some(Err(e)) => format!("failed: {} | | | | | | ", one_line(e)),
            Some(Ok(l)) => format!(
                "{} | {} | {:.1} | {:.1} s | {:.1} ms | {:.0} ms | {:.0} ms",
                crate::results::mb(l.rss_before_kb),
                crate::results::mb(l.rss_with_kb),
                l.kb_per_stream(),
                l.open_ms / 1000.0,
                l.edit_ms,
                l.first_ms,
                l.last_ms
            ),
        };
        let _ = writeln!(md, "| {name} | {row} |");
    }
}

fn storm(md: &mut String, backends: &[BackendReport]) {
    let _ = writeln!(
        md,
        "\n## Sign-in storm\n\n{SIGN_INS} concurrent form sign-ins (argon2id), fired 1 s into \
         a wrk run of signed-in `GET /`.\n"
    );
    let _ = writeln!(
        md,
        "| backend | 303 | 429/503 with Retry-After | failed | last answer after | page views req/s | \
         p99 ms (idle p99) | wrk errors | VmHWM after |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for b in backends {
        let Some(s) = &b.storm else {
            let _ = writeln!(md, "| {} | not run | | | | | | | |", b.backend.name());
            continue;
        };
        let idle = b
            .home
            .done()
            .map_or("–".into(), |h| format!("{:.2}", h.p99_ms));
        let (rps, p99, errors) = match &s.wrk {
            Ok(w) => (
                int(w.req_per_s),
                format!("{:.2} ({idle})", w.p99_ms),
                w.errors().to_string(),
            ),
            Err(e) => ("failed".into(), one_line(e), "–".into()),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {:.0} ms (wrk ran {} s) | {rps} | {p99} | {errors} | {} |",
            b.backend.name(),
            s.ok,
            s.limited,
            s.failures.len(),
            s.sign_in_wall_ms,
            s.wrk_seconds,
            opt_mb(s.rss_after_kb)
        );
    }
}

fn memory(md: &mut String, backends: &[BackendReport]) {
    let _ = writeln!(
        md,
        "\n## Memory and start-up\n\n| backend | VmHWM after load rows | VmHWM at the end | \
         cold start to `/healthz` 200 |\n|---|---:|---:|---:|"
    );
    for b in backends {
        let runs: Vec<String> = b.cold_start_ms.iter().map(|v| format!("{v:.0}")).collect();
        let cold = match median(&b.cold_start_ms) {
            Some(m) => format!("{m:.0} ms (runs: {})", runs.join(", ")),
            None if b.backend == Backend::Sqlite => "not measured".into(),
            None => "– (SQLite only)".into(),
        };
        let (load, end) = (opt_mb(b.rss_load_kb), opt_mb(b.rss_end_kb));
        let _ = writeln!(md, "| {} | {load} | {end} | {cold} |", b.backend.name());
    }
}

fn verdicts(md: &mut String, backends: &[BackendReport], targets: &[Target]) {
    let _ = writeln!(md, "\n## Targets\n");
    for t in targets {
        let verdict = if t.pass { "PASS" } else { "FAIL" };
        let _ = writeln!(md, "- **{verdict}** {}", t.text);
    }
    let mut notes = Vec::new();
    for b in backends {
        let name = b.backend.name();
        notes.extend(b.notes.iter().map(|n| format!("{name}: {n}")));
        if let Some(s) = &b.storm {
            notes.extend(
                s.failures
                    .iter()
                    .map(|f| format!("{name}: storm sign-in: {}", one_line(f))),
            );
        }
        notes.extend(
            b.error
                .iter()
                .map(|e| format!("{name}: run stopped: {}", one_line(e))),
        );
    }
    if !notes.is_empty() {
        let _ = writeln!(md, "\n## Notes\n");
        for n in dedup(notes) {
            let _ = writeln!(md, "- {n}");
        }
    }
}

/// The req/s, p50, p99, ratio and errors cells of one row.
fn cells(cell: &Cell, base: Option<f64>) -> String {
    match cell {
        Cell::NotRun => "not run | | | | ".into(),
        Cell::NotBuilt => "n/a (route not built yet) | | | | ".into(),
        Cell::Failed(e) => format!("failed: {} | | | | ", one_line(e)),
        Cell::Done(r) => {
            let ratio = base.map_or("–".into(), |b| format!("{:.2}×", r.req_per_s / b));
            let (rps, p50, p99) = (int(r.req_per_s), r.p50_ms, r.p99_ms);
            format!("{rps} | {p50:.2} | {p99:.2} | {ratio} | {}", r.errors())
        }
    }
}

/// The first line of `s`, safe inside a table cell.
fn one_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().replace('|', "\\|")
}

/// Keeps the first of repeated lines, with a count.
fn dedup(lines: Vec<String>) -> Vec<String> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for l in lines {
        match out.iter_mut().find(|(x, _)| *x == l) {
            Some((_, n)) => *n += 1,
            None => out.push((l, 1)),
        }
    }
    out.into_iter()
        .map(|(l, n)| if n > 1 { format!("{l} (×{n})") } else { l })
        .collect()
}

//! The "Soak" section of BENCHMARKS.md.
//!
//! The section is written by `--soak` runs only. A normal bench run rewrites
//! the rest of the file and carries the section over unchanged
//! ([`carry_over`]), so both kinds of figures live in the one file the issue
//! names, each with its own date and commit.

use std::fmt::Write;

use crate::results::{Meta, int, mb};
use crate::soak::{self, GROWTH_LIMIT, KINDS, Soak};

pub const HEADING: &str = "## Soak";

/// The section for these runs, from its heading to its last line.
pub fn section(meta: &Meta, minutes: u32, runs: &[Soak]) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "{HEADING}\n");
    let _ = writeln!(
        md,
        "Written by `cargo run --release --manifest-path bench/Cargo.toml -- --soak {minutes}` \
         on {} (commit `{}`, {} cores, scheduler autogroups {}). A fresh database per backend, \
         one after the other; {} client threads, one request per connection. About once a \
         second each thread signs up a new user (2 in 5) or signs a known one in again, and \
         past {} live sessions it then ends one (a sign-out or, half the time, a revocation of \
         another of that user's sessions by `DELETE /api/auth/sessions/<id>`), so the session \
         rows stay level; between those, signed-in page views (`GET /`, `/settings`, \
         `/api/auth/session`, 85%) and profile edits (`POST /api/auth/session` with \
         `X-CSRF-Token`, and the settings form). Every answer is checked (a revoked or signed-out \
         cookie must be anonymous afterwards). `RATE_LIMIT_*` are set to `{}`. VmRSS is \
         sampled every {} s; the first fifth of the run is warm-up.\n",
        meta.date,
        meta.commit,
        meta.nproc,
        meta.autogroup,
        soak::THREADS,
        soak::TARGET_SESSIONS,
        soak::RATE_LIMIT,
        soak::SAMPLE_EVERY.as_secs(),
    );
    let _ = writeln!(
        md,
        "Pass: VmRSS at the end less than {:.0}% above VmRSS at the end of the warm-up, no \
         connection error or `5xx`, no unexpected answer, no warning or error in the server's log \
         (a sign-up whose mail was not prepared answers `303` all the same). Why {:.0}%: the allocator's arenas and \
         the pools settle in the warm-up, and what is left is noise of a few hundred KB; a \
         leak of a few bytes per operation (the last column) already crosses the bound, while \
         an unbounded cache or a per-request leak crosses it many times over.\n",
        GROWTH_LIMIT * 100.0,
        GROWTH_LIMIT * 100.0,
    );
    let _ = writeln!(
        md,
        "| backend | verdict | operations | errors | VmRSS end of warm-up | VmRSS end | growth | \
         max | slope after warm-up | slope, last half | sessions rows at end | users at end | leak it \
         would catch |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for s in runs {
        let verdict = if s.pass() { "**PASS**" } else { "**FAIL**" };
        let opt = |v: Option<u64>| v.map_or("–".into(), mb);
        let _ = writeln!(
            md,
            "| {} | {verdict} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            s.backend.name(),
            int(s.total_ops() as f64),
            s.errors.values().sum::<u64>() + s.unexpected.values().sum::<u64>(),
            opt(s.baseline_kb()),
            opt(s.end_kb()),
            s.growth()
                .map_or("–".into(), |g| format!("{:+.1}%", g * 100.0)),
            opt(s.max_kb()),
            s.slope_kb_per_min()
                .map_or("–".into(), |k| format!("{k:+.0} KB/min")),
            s.last_half_slope_kb_per_min()
                .map_or("–".into(), |k| format!("{k:+.0} KB/min")),
            s.sessions_end.map_or("–".into(), |n| int(n as f64)),
            s.users_end.map_or("–".into(), |n| int(n as f64)),
            s.detectable_bytes_per_op()
                .map_or("–".into(), |b| format!("{b:.1} B/op")),
        );
    }
    let _ = write!(md, "\n| operation |");
    for s in runs {
        let _ = write!(md, " {} |", s.backend.name());
    }
    let _ = write!(md, "\n|---|");
    for _ in runs {
        let _ = write!(md, "---:|");
    }
    let _ = writeln!(md);
    for kind in KINDS {
        let _ = write!(md, "| {kind} |");
        for s in runs {
            let n = s.ops.get(kind).copied().unwrap_or(0);
            let _ = write!(md, " {} |", int(n as f64));
        }
        let _ = writeln!(md);
    }
    let _ = writeln!(
        md,
        "\nVmRSS in MB, every {} s from the start:\n",
        soak::SAMPLE_EVERY.as_secs()
    );
    for s in runs {
        let list: Vec<String> = s
            .samples
            .iter()
            .map(|(t, kb)| {
                let v = format!("{:.1}", *kb as f64 / 1024.0);
                if *t == s.warmup_s {
                    format!("**{v}**")
                } else {
                    v
                }
            })
            .collect();
        let _ = writeln!(
            md,
            "- {} (bold: end of warm-up): {}",
            s.backend.name(),
            list.join(", ")
        );
    }
    let mut notes = Vec::new();
    for s in runs {
        let name = s.backend.name();
        notes.extend(
            s.stopped
                .iter()
                .map(|e| format!("{name}: the run stopped: {}", first(e))),
        );
        notes.extend(
            s.errors
                .iter()
                .map(|(e, n)| format!("{name}: error ×{n}: {}", first(e))),
        );
        notes.extend(
            s.unexpected
                .iter()
                .map(|(e, n)| format!("{name}: unexpected answer ×{n}: {}", first(e))),
        );
        notes.extend(s.log_notes.iter().map(|l| format!("{name}: {}", first(l))));
    }
    if notes.is_empty() {
        let _ = writeln!(
            md,
            "\nNo errors, no unexpected answers, no warnings in the server logs."
        );
    } else {
        let _ = writeln!(
            md,
            "\nErrors, unexpected answers and server-log warnings:\n"
        );
        for n in notes.iter().take(40) {
            let _ = writeln!(md, "- {n}");
        }
        if notes.len() > 40 {
            let _ = writeln!(md, "- … and {} more", notes.len() - 40);
        }
    }
    md
}

fn first(s: &str) -> String {
    s.lines().next().unwrap_or_default().replace('|', "\\|")
}

/// `(before, section, after)`: the soak section of `text`, from its heading to
/// the next `## ` heading or the end.
fn split(text: &str) -> Option<(&str, &str, &str)> {
    let start = if text.starts_with(&format!("{HEADING}\n")) {
        0
    } else {
        text.find(&format!("\n{HEADING}\n"))? + 1
    };
    let rest = &text[start + HEADING.len()..];
    let end = rest
        .find("\n## ")
        .map_or(text.len(), |i| start + HEADING.len() + i + 1);
    Some((&text[..start], &text[start..end], &text[end..]))
}

/// `text` with its soak section replaced by `section` (appended when absent).
pub fn replace(text: &str, section: &str) -> String {
    match split(text) {
        Some((before, _, "")) => format!("{before}{}\n", section.trim_end()),
        Some((before, _, after)) => format!("{before}{}\n\n{after}", section.trim_end()),
        None if text.is_empty() => section.to_string(),
        None => format!("{}\n\n{section}", text.trim_end()),
    }
}

/// A freshly written report with the soak section of `old` (if any) appended.
pub fn carry_over(old: &str, fresh: &str) -> String {
    match split(old) {
        Some((_, section, _)) => replace(fresh, section),
        None => fresh.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{carry_over, replace};

    #[test]
    fn replaces_only_the_soak_section() {
        let file = "# B\n\n## Throughput\nx\n\n## Soak\nold\n\n## Notes\n- n\n";
        let out = replace(file, "## Soak\nnew\n");
        assert_eq!(
            out,
            "# B\n\n## Throughput\nx\n\n## Soak\nnew\n\n## Notes\n- n\n"
        );
        let at_end = "# B\n\n## Soak\nold\n";
        assert_eq!(replace(at_end, "## Soak\nnew\n"), "# B\n\n## Soak\nnew\n");
        assert_eq!(replace("# B\n", "## Soak\nnew\n"), "# B\n\n## Soak\nnew\n");
    }

    #[test]
    fn a_normal_run_keeps_the_soak_section() {
        let old = "# B\n\n## Throughput\nold\n\n## Soak\nsoaked\n";
        let fresh = "# B\n\n## Throughput\nnew\n";
        assert_eq!(
            carry_over(old, fresh),
            "# B\n\n## Throughput\nnew\n\n## Soak\nsoaked\n"
        );
        assert_eq!(carry_over("# B\n", fresh), fresh);
    }
}

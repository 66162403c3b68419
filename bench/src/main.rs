//! gatehouse-bench: builds gatehouse, runs it on fresh SQLite and PostgreSQL
//! databases, loads it with wrk and writes BENCHMARKS.md (issue 3).
//!
//!     cargo run --release --manifest-path bench/Cargo.toml [-- --quick]
//!
//! Exits 0 only when every target passes.

mod autogroup;
mod cmd;
mod forgot;
mod http;
mod live;
mod report;
mod results;
mod scenario;
mod seed;
mod server;
mod storm;
mod targets;
mod wrk;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use results::{BackendReport, Meta};
use seed::Backend;
use server::Gatehouse;
use wrk::Settings;

const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A scratch directory (SQLite file, binary copy, server logs), removed on drop.
struct WorkDir(PathBuf);

impl WorkDir {
    fn create() -> Result<WorkDir, String> {
        let dir = std::env::temp_dir().join(format!("gatehouse-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(WorkDir(dir))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn main() -> ExitCode {
    let (mut quick, mut keep_autogroup, mut only_live) = (false, false, false);
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--quick" => quick = true,
            "--keep-autogroup" => keep_autogroup = true,
            "--only-live" => only_live = true,
            "-h" | "--help" => {
                println!(
                    "usage: gatehouse-bench [--quick] [--keep-autogroup] [--only-live]\n  \
                     --quick           3 s load runs instead of 10 s\n  \
                     --keep-autogroup  leave kernel.sched_autogroup_enabled as it is \
                     (by default the run turns it off when it may; see bench/src/autogroup.rs)\n  \
                     --only-live       the live-update step alone, printed, BENCHMARKS.md untouched"
                );
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("gatehouse-bench: unknown argument {other:?} (try --help)");
                return ExitCode::from(2);
            }
        }
    }
    match run(quick, keep_autogroup, only_live) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("gatehouse-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Answers whether every target passed.
fn run(quick: bool, keep_autogroup: bool, only_live: bool) -> Result<bool, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("bench/ has no parent directory")?
        .to_path_buf();
    let settings = Settings {
        threads: 2,
        connections: 64,
        duration_s: if quick { 3 } else { 10 },
        warmup_s: 2,
    };
    // Dropped when run returns, which puts the kernel setting back.
    let autogroup = autogroup::Autogroup::prepare(keep_autogroup);
    let meta = Meta {
        date: output(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"])),
        nproc: output(&mut Command::new("nproc")),
        cpu: cpu_model(),
        commit: commit(&root),
        settings,
        quick,
        autogroup: autogroup.describe.clone(),
    };
    cmd::ensure_tool("wrk", "wrk")?;
    let workdir = WorkDir::create()?;
    let gatehouse = Gatehouse::build(&root, &workdir.0)?;
    let ctx = scenario::Ctx {
        gatehouse: &gatehouse,
        settings,
        workdir: &workdir.0,
        pg_admin: std::env::var("GATEHOUSE_BENCH_POSTGRES_URL")
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_PG.to_string()),
        only_live,
    };
    // Thousands of event streams: the bench and the server (its child) need
    // that many descriptors.
    eprintln!("bench: open-file limit {}", live::raise_nofile());
    let mut reports = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let mut rep = BackendReport::new(backend);
        scenario::run(&ctx, &mut rep);
        reports.push(rep);
    }
    keep_logs(&workdir.0, &root.join("bench/target/last-run-logs"));
    if only_live {
        let mut md = String::new();
        report::live(&mut md, &reports);
        println!("{md}");
        return Ok(reports
            .iter()
            .all(|r| r.error.is_none() && matches!(r.live, Some(Ok(_)))));
    }

    let targets: Vec<_> = reports.iter().flat_map(targets::targets).collect();
    let md = report::markdown(&meta, &reports, &targets);
    println!("{md}");
    let path = root.join("BENCHMARKS.md");
    std::fs::write(&path, &md).map_err(|e| format!("{}: {e}", path.display()))?;
    let failed = targets.iter().filter(|t| !t.pass).count();
    eprintln!(
        "gatehouse-bench: wrote {}; {failed} of {} targets failed",
        path.display(),
        targets.len()
    );
    Ok(failed == 0)
}

/// A command's trimmed stdout, or "unknown".
fn output(c: &mut Command) -> String {
    cmd::run_ok(c, None, Duration::from_secs(30))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// `git rev-parse --short HEAD`, plus `+dirty` when the tree has changes.
fn commit(root: &Path) -> String {
    let git = |args: &[&str]| {
        cmd::run_ok(
            Command::new("git").args(args).current_dir(root),
            None,
            Duration::from_secs(30),
        )
    };
    let head = git(&["rev-parse", "--short", "HEAD"]).map(|s| s.trim().to_string());
    let dirty = git(&["status", "--porcelain"])
        .map(|s| !s.trim().is_empty())
        .unwrap_or(false);
    match head {
        Ok(h) if dirty => format!("{h}+dirty"),
        Ok(h) => h,
        Err(_) => "unknown".into(),
    }
}

/// Copies the server logs out of the scratch directory before it is removed.
fn keep_logs(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    if std::fs::create_dir_all(to).is_err() {
        return;
    }
    for entry in std::fs::read_dir(from).into_iter().flatten().flatten() {
        if entry.path().extension().is_some_and(|e| e == "log") {
            let _ = std::fs::copy(entry.path(), to.join(entry.file_name()));
        }
    }
    eprintln!("gatehouse-bench: server logs kept in {}", to.display());
}

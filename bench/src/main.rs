//! gatehouse-bench: builds gatehouse, runs it on fresh SQLite and PostgreSQL
//! databases, loads it with wrk and writes BENCHMARKS.md (issue 3).
//!
//!     cargo run --release --manifest-path bench/Cargo.toml [-- --quick]
//!     cargo run --release --manifest-path bench/Cargo.toml -- --soak [MINUTES]
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
mod soak;
mod soak_client;
mod soak_report;
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

/// What the command line asked for.
struct Args {
    quick: bool,
    keep_autogroup: bool,
    only_live: bool,
    /// `--soak [MINUTES]`.
    soak: Option<u32>,
    /// `--soak-backend sqlite|postgres`; both when absent.
    soak_backend: Option<Backend>,
}

const USAGE: &str = "usage: gatehouse-bench [--quick] [--keep-autogroup] [--only-live]\n       \
    gatehouse-bench --soak [MINUTES] [--soak-backend sqlite|postgres] [--keep-autogroup]\n  \
    --quick           3 s load runs instead of 10 s\n  \
    --keep-autogroup  leave kernel.sched_autogroup_enabled as it is \
    (by default the run turns it off when it may; see bench/src/autogroup.rs)\n  \
    --only-live       the live-update step alone, printed, BENCHMARKS.md untouched\n  \
    --soak [MINUTES]  the soak instead (default 10 minutes per backend): a mixed workload \
    with the server's memory sampled; writes the Soak section of BENCHMARKS.md only\n  \
    --soak-backend B  soak one backend only (sqlite or postgres)";

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        quick: false,
        keep_autogroup: false,
        only_live: false,
        soak: None,
        soak_backend: None,
    };
    let mut args = std::env::args().skip(1).peekable();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => a.quick = true,
            "--keep-autogroup" => a.keep_autogroup = true,
            "--only-live" => a.only_live = true,
            "--soak" => {
                let minutes = match args.peek().filter(|v| !v.starts_with("--")) {
                    Some(v) => {
                        let m = v
                            .parse()
                            .ok()
                            .filter(|m| *m > 0)
                            .ok_or_else(|| format!("--soak {v:?}: not a number of minutes"))?;
                        args.next();
                        m
                    }
                    None => 10,
                };
                a.soak = Some(minutes);
            }
            "--soak-backend" => {
                a.soak_backend = Some(match args.next().as_deref() {
                    Some("sqlite") => Backend::Sqlite,
                    Some("postgres") => Backend::Postgres,
                    other => return Err(format!("--soak-backend {other:?}: sqlite or postgres")),
                })
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    if a.soak_backend.is_some() && a.soak.is_none() {
        a.soak = Some(10);
    }
    Ok(a)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("gatehouse-bench: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match args.soak {
        Some(minutes) => run_soak(minutes, args.soak_backend, args.keep_autogroup),
        None => run(args.quick, args.keep_autogroup, args.only_live),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("gatehouse-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn repo_root() -> Result<PathBuf, String> {
    Ok(Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("bench/ has no parent directory")?
        .to_path_buf())
}

fn meta(root: &Path, settings: Settings, quick: bool, autogroup: &autogroup::Autogroup) -> Meta {
    Meta {
        date: output(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"])),
        nproc: output(&mut Command::new("nproc")),
        cpu: cpu_model(),
        commit: commit(root),
        settings,
        quick,
        autogroup: autogroup.describe.clone(),
    }
}

fn pg_admin() -> String {
    std::env::var("GATEHOUSE_BENCH_POSTGRES_URL")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_PG.to_string())
}

/// The soak on each backend in turn; answers whether every run passed.
fn run_soak(minutes: u32, only: Option<Backend>, keep_autogroup: bool) -> Result<bool, String> {
    let root = repo_root()?;
    let autogroup = autogroup::Autogroup::prepare(keep_autogroup);
    let settings = Settings {
        threads: 0,
        connections: 0,
        duration_s: 0,
        warmup_s: 0,
    };
    let meta = meta(&root, settings, false, &autogroup);
    let workdir = WorkDir::create()?;
    let gatehouse = Gatehouse::build(&root, &workdir.0)?;
    let backends = [Backend::Sqlite, Backend::Postgres]
        .into_iter()
        .filter(|b| only.is_none_or(|o| o == *b));
    let runs: Vec<soak::Soak> = backends
        .map(|b| soak::run(&gatehouse, b, &workdir.0, &pg_admin(), minutes))
        .collect();
    keep_logs(&workdir.0, &root.join("bench/target/last-soak-logs"));
    let section = soak_report::section(&meta, minutes, &runs);
    println!("{section}");
    let path = root.join("BENCHMARKS.md");
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    std::fs::write(&path, soak_report::replace(&old, &section))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let failed = runs.iter().filter(|r| !r.pass()).count();
    eprintln!(
        "gatehouse-bench: wrote the Soak section of {}; {failed} of {} soak runs failed",
        path.display(),
        runs.len()
    );
    Ok(failed == 0)
}

/// Answers whether every target passed.
fn run(quick: bool, keep_autogroup: bool, only_live: bool) -> Result<bool, String> {
    let root = repo_root()?;
    let settings = Settings {
        threads: 2,
        connections: 64,
        duration_s: if quick { 3 } else { 10 },
        warmup_s: 2,
    };
    // Dropped when run returns, which puts the kernel setting back.
    let autogroup = autogroup::Autogroup::prepare(keep_autogroup);
    let meta = meta(&root, settings, quick, &autogroup);
    cmd::ensure_tool("wrk", "wrk")?;
    let workdir = WorkDir::create()?;
    let gatehouse = Gatehouse::build(&root, &workdir.0)?;
    let ctx = scenario::Ctx {
        gatehouse: &gatehouse,
        settings,
        workdir: &workdir.0,
        pg_admin: pg_admin(),
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
    // The Soak section is written by --soak runs: keep it.
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let md = soak_report::carry_over(&old, &md);
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

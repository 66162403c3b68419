//! The gatehouse binary: building it, its CLI, and a running server that is
//! stopped when dropped.

use std::fs::File;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::{cmd, http};

/// Variables the server must not pick up from the caller's environment.
const UNSET: &[&str] = &[
    "GATEHOUSE_ADMIN_EMAIL",
    "GATEHOUSE_ADMIN_PASSWORD",
    "GATEHOUSE_URL",
    "GATEHOUSE_SECRET",
    "SESSION_MAX_AGE",
    "SESSION_UPDATE_AGE",
    "GATEHOUSE_METRICS_ADDR",
    "LOG_FORMAT",
    "SWEEP_INTERVAL",
    "EVENTS_MAX_STREAMS",
    "EVENTS_KEEPALIVE",
];

pub struct Gatehouse {
    bin: PathBuf,
    /// The working directory of every gatehouse process, so no `.env` is read.
    workdir: PathBuf,
}

impl Gatehouse {
    /// `cargo build --release` in `root`, then a private copy of the binary in
    /// `workdir`, so a rebuild by someone else mid-run changes nothing.
    pub fn build(root: &Path, workdir: &Path) -> Result<Gatehouse, String> {
        eprintln!("bench: cargo build --release (in {})", root.display());
        cmd::run_visible(
            Command::new("cargo")
                .args(["build", "--release"])
                .current_dir(root),
            Duration::from_secs(3600),
        )?;
        let bin = workdir.join("gatehouse");
        std::fs::copy(root.join("target/release/gatehouse"), &bin)
            .map_err(|e| format!("copying target/release/gatehouse: {e}"))?;
        Ok(Gatehouse {
            bin,
            workdir: workdir.to_path_buf(),
        })
    }

    fn command(&self, db_url: &str) -> Command {
        let mut c = Command::new(&self.bin);
        c.current_dir(&self.workdir)
            .env("DATABASE_URL", db_url)
            .env("RUST_LOG", "warn");
        for v in UNSET {
            c.env_remove(v);
        }
        c
    }

    pub fn migrate(&self, db_url: &str) -> Result<(), String> {
        cmd::run_ok(
            self.command(db_url).arg("migrate"),
            None,
            Duration::from_secs(120),
        )
        .map(drop)
    }

    pub fn add_user(
        &self,
        db_url: &str,
        email: &str,
        name: &str,
        password: &str,
    ) -> Result<(), String> {
        let mut c = self.command(db_url);
        c.args(["user", "add", "--email", email, "--name", name]);
        cmd::run_ok(
            &mut c,
            Some(&format!("{password}\n")),
            Duration::from_secs(60),
        )
        .map(drop)
    }

    /// Starts `gatehouse serve` on a free loopback port; its output goes to `<workdir>/<log>`.
    pub fn spawn(&self, db_url: &str, log: &str) -> Result<Server, String> {
        self.spawn_with(db_url, log, &[])
    }

    /// As [`spawn`](Self::spawn), with extra environment variables.
    pub fn spawn_with(
        &self,
        db_url: &str,
        log: &str,
        env: &[(&str, String)],
    ) -> Result<Server, String> {
        let port = free_port()?;
        let log = self.workdir.join(log);
        let out = File::options()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let mut c = self.command(db_url);
        c.arg("serve")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("GATEHOUSE_ADDR", format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let started = Instant::now();
        let child = c.spawn().map_err(|e| format!("gatehouse serve: {e}"))?;
        Ok(Server {
            child,
            port,
            log,
            started,
        })
    }
}

pub fn free_port() -> Result<u16, String> {
    let l =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| format!("no free port: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

pub struct Server {
    child: Child,
    pub port: u16,
    log: PathBuf,
    started: Instant,
}

impl Server {
    /// Polls `GET /healthz` every 5 ms until it answers 200; answers the time since spawn.
    pub fn wait_healthy(&mut self, limit: Duration) -> Result<Duration, String> {
        let poll = Duration::from_millis(5);
        loop {
            self.check_alive()?;
            if let Ok(r) = http::get(self.port, "/healthz", None, Duration::from_millis(500))
                && r.status == 200
            {
                return Ok(self.started.elapsed());
            }
            if self.started.elapsed() > limit {
                return Err(format!(
                    "/healthz did not answer 200 within {} s\n{}",
                    limit.as_secs(),
                    self.log_tail(20)
                ));
            }
            thread::sleep(poll);
        }
    }

    /// An error (with the log's tail) if the server has exited.
    pub fn check_alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!(
                "the server exited ({status})\n{}",
                self.log_tail(20)
            )),
            Err(e) => Err(format!("cannot watch the server: {e}")),
        }
    }

    /// `VmHWM` (peak resident set) from `/proc/<pid>/status`, in kB.
    pub fn peak_rss_kb(&self) -> Result<u64, String> {
        let path = format!("/proc/{}/status", self.child.id());
        let status = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| format!("no VmHWM in {path}"))
    }

    /// `VmRSS` (resident set now) from `/proc/<pid>/status`, in kB.
    pub fn rss_kb(&self) -> Result<u64, String> {
        let path = format!("/proc/{}/status", self.child.id());
        let status = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| format!("no VmRSS in {path}"))
    }

    /// SIGTERM (via `kill`), then waits up to 10 s before SIGKILL.
    pub fn stop(&mut self) -> Result<(), String> {
        if self.child.try_wait().ok().flatten().is_some() {
            return Ok(());
        }
        let pid = self.child.id().to_string();
        let _ = cmd::run(
            Command::new("kill").args(["-TERM", &pid]),
            None,
            Duration::from_secs(5),
        );
        match cmd::wait_bounded(&mut self.child, Duration::from_secs(10)) {
            Ok(_) => Ok(()),
            Err(e) => Err(format!("the server did not stop on SIGTERM ({e}); killed")),
        }
    }

    /// The last `n` lines of the server's log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(n)..].join("\n");
        format!("--- {} (last {n} lines) ---\n{tail}", self.log.display())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            eprintln!("bench: {e}");
        }
    }
}

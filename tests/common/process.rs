//! The real `gatehouse` binary serving on loopback, as an operator runs it:
//! for what only a process shows (signals, exit codes, its log).

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::{Backend, PgDatabase, postgres_admin_url};

/// A database for a server process: a SQLite file in a temporary directory
/// (also its working directory) or a fresh PostgreSQL database.
pub struct ProcessDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    pub pg: Option<PgDatabase>,
}

impl ProcessDb {
    /// `None` when this backend is skipped (PostgreSQL outside CI).
    pub fn new(backend: Backend) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        Some(match backend {
            Backend::Sqlite => ProcessDb {
                url: format!("sqlite://{}", dir.path().join("gatehouse.db").display()),
                dir,
                pg: None,
            },
            Backend::Postgres => {
                let pg = PgDatabase::create(&postgres_admin_url()?);
                ProcessDb {
                    url: pg.url.clone(),
                    dir,
                    pg: Some(pg),
                }
            }
        })
    }
}

/// A running `gatehouse serve`; killed on drop if still running.
pub struct ServerProcess {
    pub child: Child,
    pub addr: std::net::SocketAddr,
    pub base: String,
    /// Drains stderr all along (a full pipe would stall the server's logging).
    log: Option<std::thread::JoinHandle<String>>,
}

/// A free loopback port (bound and released; the server binds it next).
pub fn free_addr() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

impl ServerProcess {
    /// Starts the binary on `db` with only `env` (and `DATABASE_URL`,
    /// `GATEHOUSE_ADDR`, `RUST_LOG=info` unless given) and waits until
    /// `/healthz` answers 200. Its stderr is piped: read it with
    /// [`wait_with_log`](Self::wait_with_log).
    pub fn start(db: &ProcessDb, env: &[(&str, &str)]) -> Self {
        let addr = free_addr();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        cmd.current_dir(db.dir.path())
            .env_clear()
            .env("DATABASE_URL", &db.url)
            .env("GATEHOUSE_ADDR", addr.to_string())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start gatehouse");
        let mut stderr = child.stderr.take().unwrap();
        let log = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stderr.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        });
        let mut server = ServerProcess {
            child,
            addr,
            base: format!("http://{addr}"),
            log: Some(log),
        };
        let started = Instant::now();
        let client = reqwest::blocking::Client::new();
        loop {
            if let Ok(r) = client.get(format!("{}/healthz", server.base)).send()
                && r.status().as_u16() == 200
            {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                let log = server.read_log();
                panic!("gatehouse exited at start ({status}): {log}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "gatehouse did not answer /healthz within 60 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends a signal (`libc::SIGTERM`, …) to the process.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill with a child's pid and a signal number.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
    }

    /// Waits up to `limit` for the process to exit; answers its status, how
    /// long it took, and its whole stderr. Kills it (and panics) past `limit`.
    pub fn wait_with_log(mut self, limit: Duration) -> (ExitStatus, Duration, String) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let log = self.read_log();
                return (status, started.elapsed(), log);
            }
            if started.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let log = self.read_log();
                panic!("gatehouse did not exit within {limit:?}: {log}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The whole stderr; call once the process has exited.
    fn read_log(&mut self) -> String {
        self.log
            .take()
            .map(|t| t.join().unwrap_or_default())
            .unwrap_or_default()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        // A failing story shows what the server said.
        if std::thread::panicking() {
            let log = self.read_log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            eprintln!("--- the server's log, last lines ---\n{}", tail.join("\n"));
        }
    }
}

/// A server process on `db` that writes its mail as files under
/// `<db dir>/outbox` and logs at debug level, with Ada signed up through the
/// form: how the stories that look for tokens in the database and in the log
/// begin. Answers the server and the outbox.
pub fn mailing_server_with_ada(
    db: &ProcessDb,
    env: &[(&str, &str)],
) -> (ServerProcess, std::path::PathBuf) {
    let outbox = db.dir.path().join("outbox");
    let mut all = vec![
        ("GATEHOUSE_MAIL_DIR", outbox.to_str().unwrap()),
        ("RUST_LOG", "debug"),
    ];
    all.extend_from_slice(env);
    let server = ServerProcess::start(db, &all);
    let page = super::Browser::new(&server.base).submit(
        "/signup",
        &[
            ("name", "Ada"),
            ("email", "ada@example.com"),
            ("password", super::PASSWORD),
        ],
    );
    assert_eq!(page.status, 303, "{}", page.body);
    (server, outbox)
}

impl ProcessDb {
    /// Every row of every table (see [`super::dump`]).
    pub fn dump(&self) -> super::dump::Dump {
        super::dump::Dump::of_url(&self.url)
    }
}

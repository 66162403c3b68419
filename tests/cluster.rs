//! Three instances of the real binary on one PostgreSQL database behind a
//! real nginx (Debian's package, started here): a session made through one
//! works on every instance; `kill -9` of one loses no session and nginx's
//! retry keeps every read answered by the others; the sign-in rate limit is
//! one count across all three. (Single-flight refresh of provider tokens
//! across instances is `tests/oauth.rs`' `concurrent_token_requests_refresh_once`.)
//! SQLite is one process per file: nothing to spread.

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::process::{ProcessDb, ServerProcess, free_addr};
use common::{Backend, Browser, PASSWORD};

const ADA: &str = "ada@example.com";

/// nginx on loopback in front of `upstreams`; stopped on drop.
struct Nginx {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

fn nginx_binary() -> Option<String> {
    let path = std::env::var("GATEHOUSE_TEST_NGINX").unwrap_or_else(|_| "/usr/sbin/nginx".into());
    if std::path::Path::new(&path).exists() {
        return Some(path);
    }
    assert!(
        !common::in_ci(),
        "CI=true but nginx is missing at {path} (apt-get install nginx, or set GATEHOUSE_TEST_NGINX)"
    );
    eprintln!("skipped: no nginx at {path} (set GATEHOUSE_TEST_NGINX)");
    None
}

impl Nginx {
    fn start(binary: &str, upstreams: &[&ServerProcess]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let addr = free_addr();
        let d = dir.path().display();
        let servers: String = upstreams
            .iter()
            .map(|s| format!("        server {} max_fails=1 fail_timeout=30s;\n", s.addr))
            .collect();
        // As deploy/nginx.conf, plus the retry of a failed upstream.
        let conf = format!(
            "daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
{user}
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream gatehouse {{
{servers}        keepalive 16;
    }}
    server {{
        listen {addr};
        absolute_redirect off;
        proxy_http_version 1.1;
        location / {{
            proxy_set_header Host $http_host;
            proxy_set_header Connection \"\";
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_next_upstream error timeout;
            proxy_connect_timeout 1s;
            proxy_pass http://gatehouse;
        }}
    }}
}}
",
            // SAFETY: getuid has no preconditions.
            user = if unsafe { libc::getuid() } == 0 {
                "user root;"
            } else {
                ""
            },
        );
        let path = dir.path().join("nginx.conf");
        std::fs::write(&path, conf).unwrap();
        let child = Command::new(binary)
            .arg("-c")
            .arg(&path)
            .arg("-p")
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start nginx");
        let nginx = Nginx {
            child,
            base: format!("http://{addr}"),
            _dir: dir,
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "nginx did not listen"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        nginx
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn three_instances_behind_nginx_share_sessions_and_survive_a_kill() {
    let Some(nginx_bin) = nginx_binary() else {
        return;
    };
    let Some(db) = ProcessDb::new(Backend::Postgres) else {
        return;
    };
    // The first start writes the secret file that the others (same working
    // directory) read.
    let env = [
        ("RATE_LIMIT_SIGNIN", "5/15m"),
        ("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1/32"),
        ("RUST_LOG", "warn"),
    ];
    let first = ServerProcess::start(&db, &env);
    let instances = [
        first,
        ServerProcess::start(&db, &env),
        ServerProcess::start(&db, &env),
    ];
    let nginx = Nginx::start(&nginx_bin, &instances.iter().collect::<Vec<_>>());

    // Made through nginx, the session stands on every instance.
    let ada = Browser::new(&nginx.base);
    let r = ada.submit(
        "/signup",
        &[("name", "Ada"), ("email", ADA), ("password", PASSWORD)],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    for s in &instances {
        assert_eq!(ada.moved_to(&s.base).session_json()["user"]["email"], ADA);
    }
    // Made on one instance directly, it stands through nginx.
    let direct = Browser::new(&instances[2].base);
    let r = direct.submit("/signin", &[("email", ADA), ("password", PASSWORD)]);
    assert_eq!(r.status, 303);
    assert_eq!(
        direct.moved_to(&nginx.base).session_json()["user"]["email"],
        ADA
    );

    // A session made on the instance about to be killed.
    let on_killed = Browser::new(&instances[0].base);
    let r = on_killed.submit("/signin", &[("email", ADA), ("password", PASSWORD)]);
    assert_eq!(r.status, 303);

    // Reads through nginx while instance 0 is killed: every one answered.
    let stop = AtomicBool::new(false);
    let statuses: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let [killed, rest @ ..] = instances;
    std::thread::scope(|scope| {
        for _ in 0..3 {
            let reader = ada.moved_to(&nginx.base);
            let (stop, statuses) = (&stop, &statuses);
            scope.spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let page = reader
                        .try_send(|c| c.get(reader.url("/api/auth/session")))
                        .expect("nginx answers");
                    let ok = page.json()["user"]["email"] == ADA;
                    statuses
                        .lock()
                        .unwrap()
                        .push(if ok { page.status } else { 599 });
                }
            });
        }
        std::thread::sleep(Duration::from_millis(500));
        killed.signal(libc::SIGKILL);
        std::thread::sleep(Duration::from_secs(2));
        stop.store(true, Ordering::SeqCst);
    });
    let (status, _, _) = killed.wait_with_log(Duration::from_secs(5));
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL)
    );
    let statuses = statuses.into_inner().unwrap();
    let bad: Vec<&u16> = statuses.iter().filter(|s| **s != 200).collect();
    assert!(
        bad.is_empty(),
        "{} of {} reads failed: {bad:?}",
        bad.len(),
        statuses.len()
    );
    eprintln!(
        "{} reads through nginx across the kill, all signed in",
        statuses.len()
    );
    // The killed instance's sessions were the database's: new sign-ins and
    // the old session go on through the two left.
    assert_eq!(ada.session_json()["user"]["email"], ADA);
    assert_eq!(
        on_killed.moved_to(&nginx.base).session_json()["user"]["email"],
        ADA,
        "the killed instance's own sign-in outlives it"
    );
    for s in &rest {
        assert_eq!(
            on_killed.moved_to(&s.base).session_json()["user"]["email"],
            ADA
        );
    }
    let again = Browser::new(&nginx.base);
    let r = again.submit("/signin", &[("email", ADA), ("password", PASSWORD)]);
    assert_eq!(r.status, 303, "{}", r.body);

    // One sign-in limit across the instances: wrong passwords spread over
    // both by nginx count together (5 in all, the 6th is refused).
    let mut answers = Vec::new();
    for _ in 0..6 {
        let b = Browser::new(&nginx.base);
        answers.push(
            b.submit("/signin", &[("email", ADA), ("password", "wrong password")])
                .status,
        );
    }
    assert_eq!(answers, [401, 401, 401, 401, 401, 429], "{answers:?}");
    for s in &rest {
        let r = Browser::new(&s.base).submit("/signin", &[("email", ADA), ("password", PASSWORD)]);
        assert_eq!(r.status, 429, "the count is shared: {}", s.base);
    }
}

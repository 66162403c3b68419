//! TestApp: the real app, served over HTTP on loopback, on a fresh database per
//! test — a temporary SQLite file, or a fresh PostgreSQL database (dropped on
//! `Drop`) when `GATEHOUSE_TEST_POSTGRES_URL` is set. With `CI=true` a missing
//! PostgreSQL fails the test instead of skipping it.
#![allow(dead_code)]

pub mod dump;
pub mod embedded;
pub mod fake_provider;
pub mod links;
pub mod mailbox;
pub mod pg_cluster;
pub mod process;
pub mod sign_in_link;
pub mod smtp;
pub mod smtp_tls;
pub mod sse;
pub mod totp;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary, Text, Timestamp};
use gatehouse::AppState;
use gatehouse::config::Config;
use gatehouse::db::{Db, DbConn, StatementLog};
use reqwest::blocking::Client;
use reqwest::header::{COOKIE, HeaderMap, SET_COOKIE};
use std::sync::Arc;

pub const POSTGRES_ENV: &str = "GATEHOUSE_TEST_POSTGRES_URL";

/// The first admin of [`TestApp::with_admin`].
pub const ROOT_ADMIN: &str = "root@example.com";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one `#[test]` per backend for each story `fn name(backend: Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name($crate::common::Backend::Sqlite) } )*
        }
        mod postgres {
            $( #[test] fn $name() { super::$name($crate::common::Backend::Postgres) } )*
        }
    };
}

/// Whether this run is CI's (`CI=true`): a missing service fails, never skips.
pub fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// The PostgreSQL server URL for tests, or `None` (skip) outside CI.
pub fn postgres_admin_url() -> Option<String> {
    match std::env::var(POSTGRES_ENV) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            if in_ci() {
                panic!(
                    "{POSTGRES_ENV} must be set when CI=true: the PostgreSQL suite may not be skipped"
                );
            }
            eprintln!(
                "skipped: set {POSTGRES_ENV} (e.g. postgres://postgres@127.0.0.1:5432/postgres) to run the PostgreSQL tests"
            );
            None
        }
    }
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A PostgreSQL database that exists for one test.
pub struct PgDatabase {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    pub fn create(admin_url: &str) -> Self {
        let name = format!(
            "gh_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            rand_suffix()
        );
        let mut admin = PgConnection::establish(admin_url).expect("connect to the test PostgreSQL");
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .expect("create test database");
        let mut url = url::Url::parse(admin_url).expect("a PostgreSQL URL");
        url.set_path(&format!("/{name}"));
        PgDatabase {
            admin_url: admin_url.to_owned(),
            name,
            url: url.to_string(),
        }
    }

    /// Runs SQL as the server's superuser (outages, direct edits).
    pub fn admin_sql(&self, sql: &str) {
        let mut admin = PgConnection::establish(&self.admin_url).expect("admin connection");
        diesel::sql_query(sql).execute(&mut admin).expect(sql);
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}

fn rand_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{n:x}")
}

/// Settings a test may change before the app starts.
pub struct TestOptions {
    pub vars: HashMap<String, String>,
}

pub struct TestApp {
    pub backend: Backend,
    pub base: String,
    /// Where gatehouse's routes are (`GATEHOUSE_MOUNT_PATH`): `""` at the
    /// site root, else `/auth`.
    pub mount: String,
    /// The metrics listener's `http://IP:port`, when `GATEHOUSE_METRICS_ADDR`
    /// was given (`127.0.0.1:0` picks a free port).
    pub metrics_base: Option<String>,
    pub db: Db,
    pub database_url: String,
    pub startup: gatehouse::Startup,
    /// Every statement the app's connections send.
    pub log: Arc<StatementLog>,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
    pub pg: Option<PgDatabase>,
    /// `GATEHOUSE_SECRET_FILE`: in this test's temporary directory, never in
    /// the repository.
    pub secret_file: std::path::PathBuf,
    /// Where mail goes: this app's own SMTP sink unless the settings named
    /// `SMTP_URL` ([`mailbox::EML`]: the `.eml` files).
    outbox: mailbox::Outbox,
    mailer: gatehouse::mail::Mailer,
    mail_dir: std::path::PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl TestApp {
    /// The app with default settings, or `None` when this backend is skipped.
    pub fn start(backend: Backend) -> Option<Self> {
        Self::start_with(backend, &[])
    }

    /// The app with the first admin configured ([`ROOT_ADMIN`], [`PASSWORD`])
    /// and extra settings.
    pub fn with_admin(backend: Backend, extra: &[(&str, &str)]) -> Option<Self> {
        let mut vars = vec![
            ("GATEHOUSE_ADMIN_EMAIL", ROOT_ADMIN),
            ("GATEHOUSE_ADMIN_PASSWORD", PASSWORD),
        ];
        vars.extend_from_slice(extra);
        Self::start_with(backend, &vars)
    }

    /// The app with extra environment-style settings (`SESSION_MAX_AGE`, …).
    pub fn start_with(backend: Backend, vars: &[(&str, &str)]) -> Option<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        Self::start_on(backend, listener, vars)
    }

    /// The app at `http://localhost:PORT`, which is its `GATEHOUSE_URL` too
    /// (WebAuthn needs a domain: passkeys are off for an IP address).
    pub fn start_on_localhost(backend: Backend, vars: &[(&str, &str)]) -> Option<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let base = format!("http://localhost:{}", listener.local_addr().unwrap().port());
        let mut all = vec![("GATEHOUSE_URL", base.as_str())];
        all.extend_from_slice(vars);
        let mut app = Self::start_on(backend, listener, &all)?;
        app.base = base;
        Some(app)
    }

    fn start_on(backend: Backend, listener: TcpListener, vars: &[(&str, &str)]) -> Option<Self> {
        let (database_url, pg) = match backend {
            Backend::Sqlite => (String::new(), None),
            Backend::Postgres => {
                let admin = postgres_admin_url()?;
                let pg = PgDatabase::create(&admin);
                (pg.url.clone(), Some(pg))
            }
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = match backend {
            Backend::Sqlite => format!("sqlite://{}", dir.path().join("gatehouse.db").display()),
            Backend::Postgres => database_url,
        };
        let secret_file = dir.path().join("gatehouse.secret");
        Some(Self::launch_on(
            listener,
            backend,
            database_url,
            pg,
            Some(dir),
            secret_file,
            vars,
            mailbox::Outbox::for_vars(vars),
        ))
    }

    /// Stops this server and starts a new one on the same database, as a restart
    /// or a deploy would.
    pub fn restart(mut self, vars: &[(&str, &str)]) -> Self {
        self.stop();
        let pg = self.pg.take();
        let dir = self._dir.take();
        let secret_file = self.secret_file.clone();
        Self::launch(
            self.backend,
            self.database_url.clone(),
            pg,
            dir,
            secret_file,
            vars,
            self.outbox.again(vars),
        )
    }

    /// What a start with these settings on this database answers, when it
    /// fails (the running server is left alone).
    pub fn start_error(&self, vars: &[(&str, &str)]) -> String {
        let config = self.config(vars, "127.0.0.1:0".parse().unwrap());
        match AppState::initialize(config) {
            Ok(_) => panic!("the start was expected to fail"),
            Err(e) => e,
        }
    }

    /// The configuration a start on this database would read.
    fn config(&self, vars: &[(&str, &str)], addr: std::net::SocketAddr) -> Config {
        Self::config_for(&self.database_url, &self.secret_file, vars, addr)
    }

    pub fn config_for(
        database_url: &str,
        secret_file: &std::path::Path,
        vars: &[(&str, &str)],
        addr: std::net::SocketAddr,
    ) -> Config {
        let mut map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map.entry("DATABASE_URL".into())
            .or_insert(database_url.to_owned());
        map.entry("GATEHOUSE_ADDR".into())
            .or_insert(addr.to_string());
        map.entry("GATEHOUSE_SECRET_FILE".into())
            .or_insert(secret_file.display().to_string());
        // Mail as `.eml` files beside the secret, in this test's directory.
        map.entry("GATEHOUSE_MAIL_DIR".into())
            .or_insert(mail_dir_beside(secret_file).display().to_string());
        let mut config = Config::from_lookup(|k| map.get(k).cloned()).expect("test config");
        config.pool_size = 4;
        config
    }

    fn launch(
        backend: Backend,
        database_url: String,
        pg: Option<PgDatabase>,
        dir: Option<tempfile::TempDir>,
        secret_file: std::path::PathBuf,
        vars: &[(&str, &str)],
        outbox: mailbox::Outbox,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        Self::launch_on(
            listener,
            backend,
            database_url,
            pg,
            dir,
            secret_file,
            vars,
            outbox,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn launch_on(
        listener: TcpListener,
        backend: Backend,
        database_url: String,
        pg: Option<PgDatabase>,
        dir: Option<tempfile::TempDir>,
        secret_file: std::path::PathBuf,
        vars: &[(&str, &str)],
        outbox: mailbox::Outbox,
    ) -> Self {
        let addr = listener.local_addr().unwrap();
        let vars = outbox.vars(vars);
        let mut config =
            Self::config_for(&database_url, &secret_file, &mailbox::borrowed(&vars), addr);
        let mail_dir = config.mail.dir.clone();
        let log = Arc::new(StatementLog::default());
        config.statement_log = Some(log.clone());
        // `GATEHOUSE_METRICS_ADDR=127.0.0.1:0`: the metrics listener on a
        // free port, at `metrics_base`.
        let metrics_listener = config
            .running
            .metrics_addr
            .map(|at| TcpListener::bind(at).expect("bind the metrics listener"));
        let metrics_base = metrics_listener
            .as_ref()
            .map(|l| format!("http://{}", l.local_addr().unwrap()));
        let mount = config.mount.as_str().to_owned();
        let (state, startup) = AppState::initialize(config).expect("initialize app");
        let db = state.db.clone();
        let mailer = state.mailer.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let system = actix_web::rt::System::new();
            let metrics = metrics_listener.map(|l| {
                gatehouse::metrics::metrics_server(state.metrics.clone(), l).expect("metrics")
            });
            let server = gatehouse::serve(state, listener, 2).expect("serve");
            tx.send(server.handle()).unwrap();
            let _ = system.block_on(async move {
                let metrics_handle = metrics.as_ref().map(|m| m.handle());
                if let Some(m) = metrics {
                    actix_web::rt::spawn(m);
                }
                let served = server.await;
                if let Some(h) = metrics_handle {
                    h.stop(false).await;
                }
                served
            });
        });
        let handle = rx.recv().expect("server started");
        TestApp {
            backend,
            base: format!("http://{addr}"),
            mount,
            metrics_base,
            db,
            database_url,
            startup,
            log,
            handle,
            thread: Some(thread),
            pg,
            secret_file,
            outbox,
            mailer,
            mail_dir,
            _dir: dir,
        }
    }

    /// Another server on the same database (a second instance behind a load
    /// balancer); it owns nothing, so dropping it leaves the database alone.
    pub fn second_instance(&self, vars: &[(&str, &str)]) -> Self {
        Self::launch(
            self.backend,
            self.database_url.clone(),
            None,
            None,
            self.secret_file.clone(),
            vars,
            self.outbox.again(vars),
        )
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.base).mounted_at(&self.mount)
    }

    /// The mail this app sent: what its SMTP sink received, or the `.eml`
    /// files it wrote when started with `SMTP_URL` named ([`mailbox::EML`]).
    pub fn mailbox(&self) -> mailbox::Mailbox {
        self.outbox
            .mailbox(self.mail_dir.clone(), self.mailer.clone())
    }

    /// The `.eml` files this app wrote (none while it delivers over SMTP).
    pub fn mail_files(&self) -> mailbox::Mailbox {
        mailbox::Mailbox::new(self.mail_dir.clone())
    }

    pub fn conn(&self) -> gatehouse::db::PooledConn {
        self.db.pool.get().expect("test connection")
    }

    /// Runs one statement on the app's database.
    pub fn sql(&self, sql: &str) -> usize {
        diesel::sql_query(sql)
            .execute(&mut *self.conn())
            .expect(sql)
    }

    pub fn session_count(&self) -> i64 {
        self.count("sessions")
    }

    /// `SELECT COUNT(*) FROM <from>` (a table, optionally with a `WHERE`).
    pub fn count(&self, from: &str) -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {from}"))
            .get_result::<N>(&mut *self.conn())
            .unwrap()
            .n
    }

    /// Every column of every session row, to compare before and after.
    pub fn sessions_snapshot(&self) -> Vec<SessionSnapshot> {
        diesel::sql_query(
            "SELECT id, token_hash, user_id, created_at, expires_at, last_seen_at, authenticated_at, user_agent, ip FROM sessions ORDER BY id",
        )
        .load(&mut *self.conn())
        .unwrap()
    }

    /// Signs up `name` with `email` and a fixed password in a new browser.
    pub fn signed_up(&self, name: &str, email: &str) -> Browser {
        let b = self.browser();
        let page = b.submit(
            &b.at("/signup"),
            &[("name", name), ("email", email), ("password", PASSWORD)],
        );
        assert_eq!(page.status, 303, "sign-up failed: {}", page.body);
        b
    }

    /// Signs `email` in, in a new browser (another device).
    pub fn signed_in(&self, email: &str) -> Browser {
        let b = self.browser();
        let page = b.submit(
            &b.at("/signin"),
            &[("email", email), ("password", PASSWORD)],
        );
        assert_eq!(page.status, 303, "sign-in failed: {}", page.body);
        b
    }

    /// Moves every mailed link's expiry a minute into the past.
    pub fn expire_every_link(&self) {
        use diesel::prelude::*;
        use gatehouse::db::schema::email_tokens;
        let past = chrono::Utc::now().naive_utc() - chrono::Duration::minutes(1);
        self.with_conn(|conn| {
            diesel::update(email_tokens::table)
                .set(email_tokens::expires_at.eq(past))
                .execute(conn)
                .unwrap()
        });
    }

    pub fn with_conn<T>(&self, f: impl FnOnce(&mut DbConn) -> T) -> T {
        f(&mut self.conn())
    }
}

/// Stops a server started on its own thread, and waits for that thread.
pub fn stop_server(
    handle: &actix_web::dev::ServerHandle,
    thread: &mut Option<std::thread::JoinHandle<()>>,
) {
    let handle = handle.clone();
    let _ = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(handle.stop(false));
    })
    .join();
    if let Some(t) = thread.take() {
        let _ = t.join();
    }
}

impl TestApp {
    fn stop(&mut self) {
        stop_server(&self.handle, &mut self.thread);
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop();
    }
}

pub const PASSWORD: &str = "correct horse battery";

/// A test app's `GATEHOUSE_MAIL_DIR`: `mail/` in its temporary directory.
fn mail_dir_beside(secret_file: &std::path::Path) -> std::path::PathBuf {
    secret_file.with_file_name("mail")
}

#[derive(Debug, PartialEq, QueryableByName)]
pub struct SessionSnapshot {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Binary)]
    pub token_hash: Vec<u8>,
    #[diesel(sql_type = BigInt)]
    pub user_id: i64,
    #[diesel(sql_type = Timestamp)]
    pub created_at: chrono::NaiveDateTime,
    #[diesel(sql_type = Timestamp)]
    pub expires_at: chrono::NaiveDateTime,
    #[diesel(sql_type = Timestamp)]
    pub last_seen_at: chrono::NaiveDateTime,
    #[diesel(sql_type = Timestamp)]
    pub authenticated_at: chrono::NaiveDateTime,
    #[diesel(sql_type = Text)]
    pub user_agent: String,
    #[diesel(sql_type = Text)]
    pub ip: String,
}

/// One answer, read whole.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }

    /// The `Set-Cookie` line for cookie `name`, if any.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.set_cookies()
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=")))
    }

    pub fn location(&self) -> Option<String> {
        self.headers
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned())
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    /// Text of the element with `id="user-name"`, as the browser shows it.
    pub fn user_name(&self) -> Option<String> {
        let start = self.body.find("id=\"user-name\">")? + "id=\"user-name\">".len();
        let end = self.body[start..].find('<')?;
        Some(unescape(&self.body[start..start + end]))
    }

    pub fn meta_csrf(&self) -> Option<String> {
        let start = self.body.find("name=\"csrf-token\" content=\"")? + 27;
        let end = self.body[start..].find('"')?;
        Some(self.body[start..start + end].to_owned())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

pub fn unescape(s: &str) -> String {
    s.replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// A browser: a cookie jar that follows `Set-Cookie`, no automatic redirects.
pub struct Browser {
    base: String,
    /// gatehouse's mount prefix, for the helpers that call its API.
    mount: String,
    client: Client,
    pub cookies: RefCell<BTreeMap<String, String>>,
}

impl Browser {
    pub fn new(base: &str) -> Self {
        Browser {
            base: base.to_owned(),
            mount: String::new(),
            client: Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: RefCell::new(BTreeMap::new()),
        }
    }

    /// This browser, for a gatehouse mounted at `mount` (`""`: the root).
    pub fn mounted_at(mut self, mount: &str) -> Self {
        self.mount = mount.to_owned();
        self
    }

    /// gatehouse's `path` under its mount prefix.
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.mount)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .borrow()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.borrow().get(name).cloned()
    }

    /// Sends a request built by `build`, with this browser's cookies, and keeps
    /// what the answer sets.
    pub fn send(&self, build: impl FnOnce(&Client) -> reqwest::blocking::RequestBuilder) -> Page {
        self.try_send(build).expect("request")
    }

    /// As [`send`](Self::send), but `None` when no answer came (the server
    /// refused the connection or died before its status line).
    pub fn try_send(
        &self,
        build: impl FnOnce(&Client) -> reqwest::blocking::RequestBuilder,
    ) -> Option<Page> {
        let mut req = build(&self.client);
        let cookies = self.cookie_header();
        if !cookies.is_empty() {
            req = req.header(COOKIE, cookies);
        }
        let res = req.send().ok()?;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res.text().unwrap_or_default();
        let page = Page {
            status,
            headers,
            body,
        };
        self.keep_cookies(&page);
        Some(page)
    }

    /// A browser for `base` holding this one's cookies: the same device
    /// after the server moved (a restart on another port).
    pub fn moved_to(&self, base: &str) -> Browser {
        let moved = Browser::new(base).mounted_at(&self.mount);
        *moved.cookies.borrow_mut() = self.cookies.borrow().clone();
        moved
    }

    fn keep_cookies(&self, page: &Page) {
        for line in page.set_cookies() {
            let mut parts = line.split(';');
            let first = parts.next().unwrap_or("");
            let Some((name, value)) = first.split_once('=') else {
                continue;
            };
            // Only the attributes say "removed", never the value: a random
            // value may well contain "1970".
            let attributes: Vec<String> = parts.map(|a| a.trim().to_ascii_lowercase()).collect();
            let removal = value.is_empty()
                || attributes
                    .iter()
                    .any(|a| a == "max-age=0" || (a.starts_with("expires=") && a.contains("1970")));
            if removal {
                self.cookies.borrow_mut().remove(name.trim());
            } else {
                self.cookies
                    .borrow_mut()
                    .insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
    }

    pub fn get(&self, path: &str) -> Page {
        let url = self.url(path);
        self.send(|c| c.get(url))
    }

    pub fn csrf_token(&self) -> String {
        self.get(&self.at("/api/auth/csrf")).json()["csrfToken"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Posts a form as the page would: with the CSRF token.
    pub fn submit(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf_token();
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        self.post_form_raw(path, &all)
    }

    /// Posts exactly these fields (no token added).
    pub fn post_form_raw(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let url = self.url(path);
        let body = serde_urlencoded::to_string(fields).unwrap();
        self.send(|c| {
            c.post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
        })
    }

    /// Sends JSON with the CSRF header, as a script using the API would.
    pub fn json(&self, method: reqwest::Method, path: &str, body: &serde_json::Value) -> Page {
        let token = self.csrf_token();
        let url = self.url(path);
        let body = body.to_string();
        self.send(|c| {
            c.request(method, url)
                .header("x-csrf-token", token)
                .header("content-type", "application/json")
                .body(body)
        })
    }

    pub fn session_json(&self) -> serde_json::Value {
        self.get(&self.at("/api/auth/session")).json()
    }

    /// The signed-in user's id, as the session JSON gives it.
    pub fn user_id(&self) -> String {
        self.session_json()["user"]["id"]
            .as_str()
            .expect("signed in")
            .to_string()
    }

    /// Follows one redirect, wherever it points.
    pub fn follow(&self, page: &Page) -> Page {
        let to = page
            .location()
            .unwrap_or_else(|| panic!("no redirect: {} {}", page.status, page.body));
        let url = if to.starts_with('/') {
            self.url(&to)
        } else {
            to
        };
        self.send(|c| c.get(url))
    }
}

/// Runs the `gatehouse` binary as an operator would: in `dir`, on
/// `database_url`, with nothing else from this environment but `env`, and
/// `stdin` written to it.
pub fn run_gatehouse(
    dir: &std::path::Path,
    database_url: &str,
    args: &[&str],
    stdin: &str,
    env: &[(&str, &str)],
) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run gatehouse");
    let written = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    // A command that stops at once (a bad setting) may exit before it reads
    // its input: that pipe is closed, and the answer is in the output.
    if let Err(e) = written
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        panic!("writing to gatehouse's input: {e}");
    }
    child.wait_with_output().unwrap()
}

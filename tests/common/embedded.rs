//! An app of the test's own that embeds gatehouse through its public API
//! only (`Gatehouse::builder`, `middleware`, `configure`), with the test's
//! callbacks and routes (registered before gatehouse's, so an app's `/`
//! wins), on a fresh database of either backend.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::web::ServiceConfig;
use gatehouse::db::StatementLog;
use gatehouse::{Callbacks, Gatehouse};

use super::mailbox::{Outbox, borrowed};
use super::{Backend, Browser, PgDatabase, TestApp, postgres_admin_url};

/// The running app; stops when dropped.
pub struct EmbeddedApp {
    pub base: String,
    pub gatehouse: Gatehouse,
    pub log: Arc<StatementLog>,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Its own SMTP sink, as a `TestApp`'s (see `mailbox::Outbox`).
    outbox: Outbox,
    _pg: Option<PgDatabase>,
    _dir: tempfile::TempDir,
}

impl EmbeddedApp {
    /// gatehouse with `callbacks` and the app's `routes`, or `None` when
    /// this backend is skipped.
    pub fn start(
        backend: Backend,
        vars: &[(&str, &str)],
        callbacks: impl Callbacks,
        routes: impl Fn(&mut ServiceConfig) + Clone + Send + 'static,
    ) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let (database_url, pg) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("app.db").display()),
                None,
            ),
            Backend::Postgres => {
                let pg = PgDatabase::create(&postgres_admin_url()?);
                (pg.url.clone(), Some(pg))
            }
        };
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let secret = dir.path().join("gatehouse.secret");
        let outbox = Outbox::for_vars(vars);
        let vars = outbox.vars(vars);
        let config = TestApp::config_for(&database_url, &secret, &borrowed(&vars), addr);
        let log = Arc::new(StatementLog::default());
        let gatehouse = Gatehouse::builder(config)
            .config(|c| c.statement_log = Some(log.clone()))
            .callbacks(callbacks)
            .build()
            .expect("build gatehouse");
        let (tx, rx) = std::sync::mpsc::channel();
        let served = gatehouse.clone();
        let thread = std::thread::spawn(move || {
            let system = actix_web::rt::System::new();
            let server = actix_web::HttpServer::new(move || {
                actix_web::App::new()
                    .wrap(served.middleware())
                    .configure(routes.clone())
                    .configure(served.configure())
            })
            .workers(2)
            .disable_signals()
            .listen(listener)
            .expect("listen")
            .run();
            tx.send(server.handle()).unwrap();
            let _ = system.block_on(server);
        });
        let handle = rx.recv().expect("server started");
        Some(EmbeddedApp {
            base: format!("http://{addr}"),
            gatehouse,
            log,
            handle,
            thread: Some(thread),
            outbox,
            _pg: pg,
            _dir: dir,
        })
    }

    /// A new browser; its helpers (`submit`'s CSRF token) know the mount.
    pub fn browser(&self) -> Browser {
        Browser::new(&self.base).mounted_at(self.gatehouse.state().config.mount.as_str())
    }

    /// Signs `name` up with `email` and [`super::PASSWORD`], in a new browser.
    pub fn signed_up(&self, name: &str, email: &str) -> Browser {
        let b = self.browser();
        let page = b.submit(
            &self.gatehouse.state().config.mount.join("/signup"),
            &[
                ("name", name),
                ("email", email),
                ("password", super::PASSWORD),
            ],
        );
        assert_eq!(page.status, 303, "sign-up failed: {}", page.body);
        b
    }

    /// The mail gatehouse sent (over SMTP to the app's sink by default).
    pub fn mailbox(&self) -> super::mailbox::Mailbox {
        let state = self.gatehouse.state();
        self.outbox
            .mailbox(state.config.mail.dir.clone(), state.mailer.clone())
    }

    /// Runs `sql` on gatehouse's database; answers the rows changed.
    pub fn sql(&self, sql: &str) -> usize {
        use diesel::RunQueryDsl;
        let mut conn = self.gatehouse.db().get().expect("connection");
        diesel::sql_query(sql).execute(&mut *conn).expect(sql)
    }

    /// A count from gatehouse's database (`SELECT COUNT(*) AS n FROM …`).
    pub fn count(&self, from_where: &str) -> i64 {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.gatehouse.db().get().expect("connection");
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {from_where}"))
            .get_result::<N>(&mut *conn)
            .expect(from_where)
            .n
    }
}

impl Drop for EmbeddedApp {
    fn drop(&mut self) {
        super::stop_server(&self.handle, &mut self.thread);
    }
}

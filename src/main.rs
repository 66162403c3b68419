//! The `gatehouse` command: parsing only; the work is in the library.

use std::io::{BufRead, IsTerminal};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use gatehouse::config::Config;
use gatehouse::db::{self, Db};
use gatehouse::{Gatehouse, auth};

#[derive(Parser)]
#[command(name = "gatehouse", version, about = "Database-session sign-in server")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run migrations, then serve (the default).
    Serve,
    /// Run pending migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage sessions.
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// The signing secret.
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Exit 0 when /healthz of GATEHOUSE_ADDR answers 200 (for container health checks).
    Healthcheck,
    /// Copy the SQLite database to PATH, consistently, while the server runs.
    Backup {
        /// The new file (refused if it exists, unless --force).
        path: PathBuf,
        /// Replace PATH if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Put a backup in place of the SQLite database (stop the server first);
    /// the current database is kept, renamed NAME.before-restore-TIME.
    Restore {
        /// A file written by `gatehouse backup`.
        path: PathBuf,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; the password is read from standard input.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_enum, default_value_t = Role::User)]
        role: Role,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Role {
    User,
    Admin,
}

#[derive(Subcommand)]
enum SessionsCommand {
    /// Delete expired sessions, unfinished OAuth sign-ins and old rate-limit
    /// counters now (what the background sweeper does), and print how many.
    Sweep,
}

#[derive(Subcommand)]
enum SecretCommand {
    /// Make a new secret: printed with the steps when GATEHOUSE_SECRET is set;
    /// put in GATEHOUSE_SECRET_FILE (keeping the old one as previous) otherwise.
    Rotate,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A missing .env is fine; a broken one is worth a line.
    // The working directory's .env only (not a parent's, as `dotenv()` would).
    if let Err(e) = dotenvy::from_path(".env")
        && !e.not_found()
    {
        eprintln!("gatehouse: .env: {e}");
        return ExitCode::from(2);
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gatehouse: {e}");
            return ExitCode::from(2);
        }
    };
    gatehouse::logging::init(config.running.log_format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config),
        Command::Migrate => migrate(&config),
        Command::User(UserCommand::Add { email, name, role }) => {
            add_user(&config, &email, &name, role)
        }
        Command::Sessions(SessionsCommand::Sweep) => sweep(&config),
        Command::Secret(SecretCommand::Rotate) => {
            auth::rotation::rotate(&config).map(|out| print!("{out}"))
        }
        Command::Healthcheck => {
            gatehouse::healthcheck::check(config.addr, gatehouse::healthcheck::TIMEOUT)
        }
        Command::Backup { path, force } => backup(&config, &path, force),
        Command::Restore { path } => restore(&config, &path),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("gatehouse: {message}");
            ExitCode::FAILURE
        }
    }
}

/// How long queued mail may take to go out after the server has stopped.
const MAIL_FLUSH: std::time::Duration = std::time::Duration::from_secs(5);

/// The server: gatehouse's library API, as any app would use it, with
/// gatehouse's routes at the root and no callbacks.
fn serve(config: Config) -> Result<(), String> {
    let addr = config.addr;
    let public_url = config.public_url.clone();
    let (gatehouse, startup) = Gatehouse::builder(config).build_with_startup()?;
    let state = gatehouse.state();
    if startup.migrations_run > 0 {
        log::info!("ran {} migration(s)", startup.migrations_run);
    }
    for line in startup.email_report.lines() {
        log::warn!("{line}");
    }
    if startup.admin_created {
        log::info!("created the admin account from GATEHOUSE_ADMIN_EMAIL");
    }
    if let Some(link) = &startup.setup_link {
        log::warn!("no admin account yet; create the first one with this one-time link: {link}");
    }
    let listener = TcpListener::bind(addr)
        .map_err(|e| format!("GATEHOUSE_ADDR: cannot listen on {addr}: {e}"))?;
    log::info!("gatehouse listening on {addr}, public URL {public_url}");
    let metrics_listener = match state.config.running.metrics_addr {
        Some(at) => {
            let l = TcpListener::bind(at)
                .map_err(|e| format!("GATEHOUSE_METRICS_ADDR: cannot listen on {at}: {e}"))?;
            log::info!("metrics on http://{at}/metrics");
            Some(l)
        }
        None => None,
    };
    let metrics = state.metrics.clone();
    let drain = state.config.running.shutdown_timeout;
    let mailer = state.mailer.clone();
    let events = state.events.clone();
    let sweeper = state.config.running.sweep_interval.map(|every| {
        gatehouse::sweeper::Sweeper::start_with(
            state.db.clone(),
            state.config.rate_limits,
            every,
            state.metrics.clone(),
        )
    });
    let served = actix_web::rt::System::new().block_on(async move {
        let server = gatehouse.serve(listener, 0)?;
        let metrics_server = metrics_listener
            .map(|l| gatehouse::metrics::metrics_server(metrics, l))
            .transpose()?;
        let mut servers = vec![server.handle()];
        servers.extend(metrics_server.as_ref().map(|m| m.handle()));
        actix_web::rt::spawn(gatehouse::shutdown::stop_on_signal(servers, drain, events));
        if let Some(m) = metrics_server {
            actix_web::rt::spawn(m);
        }
        server.await
    });
    if let Some(sweeper) = sweeper {
        sweeper.stop();
    }
    // Mail queued by the last requests: one more try each, for a few seconds.
    mailer.flush(std::time::Instant::now() + MAIL_FLUSH);
    served.map_err(|e| e.to_string())?;
    log::info!("gatehouse stopped");
    Ok(())
}

fn open(config: &Config) -> Result<Db, String> {
    let db = Db::connect_once(&config.database_url)?;
    let mut conn = db.pool.get().map_err(|e| format!("database: {e}"))?;
    db::run_migrations(&mut conn)?;
    drop(conn);
    Ok(db)
}

fn migrate(config: &Config) -> Result<(), String> {
    let db = Db::connect_once(&config.database_url)?;
    let mut conn = db.pool.get().map_err(|e| format!("database: {e}"))?;
    let ran = db::run_migrations(&mut conn)?;
    println!("{ran} migration(s) run");
    let report = gatehouse::users::email::check_and_remember(&mut conn, true)
        .map_err(|e| format!("cannot check stored emails: {e}"))?;
    for line in report.lines() {
        println!("{line}");
    }
    Ok(())
}

fn add_user(config: &Config, email: &str, name: &str, role: Role) -> Result<(), String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!("Password (input is shown; pipe it in to hide it):");
    }
    let mut password = String::new();
    stdin
        .lock()
        .read_line(&mut password)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let password = password.trim_end_matches(['\r', '\n']);
    let db = open(config)?;
    let role = match role {
        Role::User => "user",
        Role::Admin => "admin",
    };
    let id = auth::register(&db, &config.password_policy, name, email, password, role)
        .map_err(|e| e.message())?;
    println!("created {role} {id}");
    Ok(())
}

fn sweep(config: &Config) -> Result<(), String> {
    use gatehouse::sweeper::{self, Outcome};
    let db = open(config)?;
    match sweeper::sweep_once(&db, &config.rate_limits, sweeper::BATCH)? {
        Outcome::Swept(swept) => {
            println!("{} expired session(s) deleted", swept.sessions);
            println!("{} unfinished OAuth sign-in(s) deleted", swept.oauth_states);
            println!("{} old rate-limit counter(s) deleted", swept.rate_limits);
            println!("{} expired mailed link(s) deleted", swept.email_tokens);
            println!(
                "{} unfinished two-factor sign-in(s) deleted",
                swept.pending_signins
            );
        }
        Outcome::Skipped => println!("another instance is sweeping now; nothing done"),
    }
    Ok(())
}

fn backup(config: &Config, path: &Path, force: bool) -> Result<(), String> {
    let report = db::backup::backup(&config.database_url, path, force)?;
    println!(
        "backup written to {} ({}) in {:.2} s; integrity ok; migrations up to {}",
        report.path.display(),
        size(report.bytes),
        report.took.as_secs_f64(),
        report.contents.migration.as_deref().unwrap_or("none"),
    );
    print_tables(&report.contents);
    Ok(())
}

fn restore(config: &Config, path: &Path) -> Result<(), String> {
    let report = db::restore::restore(&config.database_url, path)?;
    println!(
        "restored {} to {}; integrity ok; migrations up to {}",
        path.display(),
        report.database.display(),
        report.contents.migration.as_deref().unwrap_or("none"),
    );
    match &report.set_aside {
        Some(old) => println!("the database that was there is kept as {}", old.display()),
        None => println!("there was no database there before"),
    }
    print_tables(&report.contents);
    Ok(())
}

fn print_tables(contents: &db::backup::Contents) {
    for (table, rows) in &contents.tables {
        println!("  {table:<28} {rows:>10} row(s)");
    }
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} bytes"),
    }
}

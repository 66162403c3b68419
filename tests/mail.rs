//! Mail delivery against a real SMTP server on loopback (`common::smtp`): what
//! arrives, what happens when the server is down, hangs or refuses, the `.eml`
//! default, and the start-time checks of `SMTP_URL` and `SMTP_FROM`.
//!
//! Stories:
//! - smtp_delivers_a_message_with_proper_headers
//! - smtp_auth_sends_the_credentials_and_a_wrong_password_is_not_retried
//! - tls_required_or_smtps_never_falls_back_to_plain
//! - without_smtp_url_each_message_is_an_eml_file_named_in_the_log
//! - a_stopped_server_gets_the_mail_when_it_comes_back
//! - a_server_that_never_greets_times_out_and_the_mail_is_retried
//! - a_permanent_refusal_is_not_retried_a_deferral_is
//! - retries_run_out_and_the_failure_is_counted_and_logged_masked
//! - a_full_queue_drops_and_counts
//! - flush_delivers_what_waits_for_a_retry_and_gives_up_at_the_deadline
//! - a_bad_smtp_url_or_smtp_from_stops_the_start_naming_the_variable
//! - the_smtp_password_stays_out_of_debug

mod common;

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::smtp::{SmtpSink, Tarpit};
use gatehouse::mail::{MailConfig, Mailer, Outgoing, SmtpUrl};

const WAIT: Duration = Duration::from_secs(10);

/// Every log line of this test binary (tests tell theirs apart by address).
fn logs() -> &'static Mutex<Vec<String>> {
    static LINES: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    static LOGGER: Capture = Capture;
    LINES.get_or_init(|| {
        log::set_logger(&LOGGER).expect("one logger");
        log::set_max_level(log::LevelFilter::Info);
        Mutex::new(Vec::new())
    })
}

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        if record.target().starts_with("gatehouse") {
            let line = format!("{} {}", record.level(), record.args());
            logs().lock().unwrap().push(line);
        }
    }
    fn flush(&self) {}
}

/// The captured lines that mention `needle`.
fn log_lines(needle: &str) -> Vec<String> {
    logs()
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains(needle))
        .cloned()
        .collect()
}

/// A mailer for `url` (`None`: files under `dir`) with short waits.
fn config(url: Option<&str>, dir: &std::path::Path) -> MailConfig {
    logs();
    let mut config = MailConfig::defaults_for(&"https://auth.example.com".parse().unwrap());
    config.dir = dir.to_owned();
    config.smtp = url.map(|u| SmtpUrl::parse(u).unwrap());
    config.timeout = Duration::from_millis(500);
    config.retry = vec![Duration::from_millis(100); 3];
    config
}

fn message(to: &str) -> Outgoing {
    Outgoing {
        to: to.into(),
        subject: "Réinitialisez votre mot de passe — gatehouse".into(),
        text: "Bonjour,\n\nhttps://auth.example.com/reset-password?token=SECRET-TOKEN-123\n\nCe lien expire dans 1 heure.\n".into(),
    }
}

/// Sends and checks that the request would not have waited (the SMTP
/// timeouts here are 500 ms or more).
fn send_at_once(mailer: &Mailer, m: Outgoing) {
    let started = Instant::now();
    mailer.send(m);
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "send took {:?}",
        started.elapsed()
    );
}

/// Waits until `done(stats)` holds.
fn wait_until(mailer: &Mailer, what: &str, done: impl Fn(&gatehouse::mail::MailStats) -> bool) {
    let deadline = Instant::now() + WAIT;
    loop {
        let stats = mailer.stats();
        if done(&stats) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {stats:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn smtp_delivers_a_message_with_proper_headers() {
    let sink = SmtpSink::start();
    let dir = tempfile::tempdir().unwrap();
    let mailer = Mailer::start(config(Some(&sink.url()), dir.path()));
    send_at_once(&mailer, message("alice@headers.example"));
    let mail = sink.wait_for("alice@headers.example", WAIT);
    assert_eq!(mail.envelope_from, "no-reply@auth.example.com");
    assert_eq!(mail.from, "no-reply@auth.example.com");
    assert_eq!(mail.from_name.as_deref(), Some("gatehouse"));
    assert_eq!(mail.to, "alice@headers.example");
    assert_eq!(mail.subject, "Réinitialisez votre mot de passe — gatehouse");
    assert!(
        mail.text.contains("Ce lien expire dans 1 heure."),
        "{}",
        mail.text
    );
    assert_eq!(
        mail.link_to("/reset-password").as_deref(),
        Some("https://auth.example.com/reset-password?token=SECRET-TOKEN-123")
    );
    let raw = String::from_utf8_lossy(&mail.raw);
    assert!(
        raw.contains("Subject: =?utf-8?"),
        "subject not encoded: {raw}"
    );
    assert!(mail.header("Date").is_some());
    let id = mail.header("Message-ID").unwrap();
    assert!(id.ends_with("@auth.example.com>"), "{id}");
    assert!(
        raw.contains("Content-Type: text/plain; charset=utf-8"),
        "{raw}"
    );
    wait_until(&mailer, "counted as sent", |s| s.sent == 1 && s.queued == 0);
    assert!(
        dir.path().read_dir().unwrap().next().is_none(),
        "no .eml with SMTP"
    );
    let logged = log_lines("a***@headers.example").join("\n");
    assert!(logged.contains("sent"), "{logged}");
    assert!(!logged.contains("SECRET-TOKEN"), "{logged}");
}

#[test]
fn smtp_auth_sends_the_credentials_and_a_wrong_password_is_not_retried() {
    let sink = SmtpSink::start_with_auth("mailer", "s3cret pass");
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "smtp://mailer:s3cret%20pass@127.0.0.1:{}?tls=none",
        sink.port()
    );
    let mailer = Mailer::start(config(Some(&url), dir.path()));
    mailer.send(message("bob@auth.example"));
    sink.wait_for("bob@auth.example", WAIT);

    let wrong = format!("smtp://mailer:nope@127.0.0.1:{}?tls=none", sink.port());
    let mailer = Mailer::start(config(Some(&wrong), dir.path()));
    mailer.send(message("carol@auth.example"));
    wait_until(&mailer, "a 535 is final", |s| s.failed == 1);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(mailer.stats().retried, 0);
    assert_eq!(sink.connections(), 2, "one attempt each");
    assert!(sink.messages_to("carol@auth.example").is_empty());
}

#[test]
fn tls_required_or_smtps_never_falls_back_to_plain() {
    // The sink offers no STARTTLS: plain `smtp://` goes on without it, the
    // two TLS settings refuse to send the message in the clear.
    let sink = SmtpSink::start();
    let dir = tempfile::tempdir().unwrap();
    let port = sink.port();
    let opportunistic = Mailer::start(config(
        Some(&format!("smtp://127.0.0.1:{port}")),
        dir.path(),
    ));
    opportunistic.send(message("nina@tls.example"));
    sink.wait_for("nina@tls.example", WAIT);
    for url in [
        format!("smtp://127.0.0.1:{port}?tls=required"),
        format!("smtps://127.0.0.1:{port}"),
    ] {
        let mailer = Mailer::start(config(Some(&url), dir.path()));
        mailer.send(message("oscar@tls.example"));
        wait_until(&mailer, &url, |s| s.failed == 1);
    }
    assert!(sink.messages_to("oscar@tls.example").is_empty());
}

#[test]
fn starttls_and_implicit_tls_deliver_to_a_relay_signed_by_a_private_ca() {
    use common::smtp_tls::{Mode, TestCa, TlsFront};
    let sink = SmtpSink::start();
    let backend: std::net::SocketAddr = format!("127.0.0.1:{}", sink.port()).parse().unwrap();
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("relay-ca.pem");
    std::fs::write(&ca_file, &ca.pem).unwrap();
    let trusted = gatehouse::mail::SmtpCa::read(ca_file.to_str().unwrap()).unwrap();
    for (mode, scheme, query) in [
        (Mode::StartTls, "smtp", "?tls=required"),
        (Mode::StartTls, "smtp", ""),
        (Mode::Implicit, "smtps", ""),
    ] {
        let front = TlsFront::start(&ca, mode, backend);
        let url = format!("{scheme}://localhost:{}{query}", front.port());
        let to = format!("{scheme}{}@tls.example", query.len());
        // The relay's certificate is signed by a CA no public root knows:
        // without SMTP_CA_FILE nothing is sent, in the clear or otherwise.
        let untrusted = Mailer::start(config(Some(&url), dir.path()));
        untrusted.send(message(&to));
        wait_until(&untrusted, &url, |s| s.failed == 1);
        assert!(sink.messages_to(&to).is_empty(), "{url}");
        // With it, the message goes through TLS.
        let mut with_ca = config(Some(&url), dir.path());
        with_ca.smtp_ca = Some(trusted.clone());
        let mailer = Mailer::start(with_ca);
        mailer.send(message(&to));
        let mail = sink.wait_for(&to, WAIT);
        assert!(
            mail.link_to("/reset-password")
                .unwrap()
                .ends_with("SECRET-TOKEN-123"),
            "{url}"
        );
        wait_until(&mailer, &url, |s| s.sent == 1);
    }
}

#[test]
fn without_smtp_url_each_message_is_an_eml_file_named_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let mail_dir = dir.path().join("mail");
    let mailer = Mailer::start(config(None, &mail_dir));
    send_at_once(&mailer, message("dave@eml.example"));
    wait_until(&mailer, "written", |s| s.sent == 1);
    let files: Vec<_> = std::fs::read_dir(&mail_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let file = &files[0];
    assert_eq!(file.extension().unwrap(), "eml");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let mail = common::smtp::Mail::parse(String::new(), Vec::new(), std::fs::read(file).unwrap());
    assert_eq!(mail.to, "dave@eml.example");
    assert_eq!(mail.subject, "Réinitialisez votre mot de passe — gatehouse");
    assert!(
        mail.link_to("/reset-password")
            .unwrap()
            .ends_with("SECRET-TOKEN-123")
    );
    assert!(mail.header("Message-ID").is_some() && mail.header("Date").is_some());

    let logged = log_lines("d***@eml.example");
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert!(
        logged[0].contains(&file.display().to_string()),
        "{logged:?}"
    );
    assert!(!logged[0].contains("SECRET-TOKEN") && !logged[0].contains("dave@"));
}

#[test]
fn a_stopped_server_gets_the_mail_when_it_comes_back() {
    let mut sink = SmtpSink::start();
    sink.stop();
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(Some(&sink.url()), dir.path());
    config.retry = vec![Duration::from_millis(300); 10];
    let mailer = Mailer::start(config);
    send_at_once(&mailer, message("erin@down.example"));
    wait_until(&mailer, "a refused connection is retried", |s| {
        s.retried >= 1
    });
    assert_eq!(mailer.stats().queued, 1);
    sink.resume();
    let mail = sink.wait_for("erin@down.example", WAIT);
    assert!(mail.text.contains("SECRET-TOKEN-123"));
    wait_until(&mailer, "sent once", |s| s.sent == 1 && s.queued == 0);
    assert_eq!(mailer.stats().failed, 0);
    let logged = log_lines("e***@down.example").join("\n");
    assert!(logged.contains("retrying in"), "{logged}");
    assert!(
        !logged.contains("erin@") && !logged.contains("SECRET-TOKEN"),
        "{logged}"
    );
}

#[test]
fn a_server_that_never_greets_times_out_and_the_mail_is_retried() {
    let tarpit = Tarpit::start();
    let dir = tempfile::tempdir().unwrap();
    let mailer = Mailer::start(config(Some(&tarpit.url()), dir.path()));
    send_at_once(&mailer, message("frank@tarpit.example"));
    // While the first attempt hangs, more mail is still taken at once.
    std::thread::sleep(Duration::from_millis(100));
    send_at_once(&mailer, message("grace@tarpit.example"));
    wait_until(&mailer, "the timeout is a transient failure", |s| {
        s.retried >= 1
    });
    let deadline = Instant::now() + WAIT;
    while tarpit.connections() < 2 {
        assert!(Instant::now() < deadline, "no second attempt");
        std::thread::sleep(Duration::from_millis(20));
    }
    let logged = log_lines("f***@tarpit.example").join("\n");
    assert!(logged.contains("retrying in"), "{logged}");
}

#[test]
fn a_permanent_refusal_is_not_retried_a_deferral_is() {
    let sink = SmtpSink::start();
    sink.refuse("heidi@refused.example");
    sink.defer("ivan@deferred.example");
    let dir = tempfile::tempdir().unwrap();
    let mailer = Mailer::start(config(Some(&sink.url()), dir.path()));
    mailer.send(message("heidi@refused.example"));
    wait_until(&mailer, "a 550 is final", |s| s.failed == 1);
    assert_eq!(mailer.stats().retried, 0);
    let logged = log_lines("h***@refused.example").join("\n");
    assert!(logged.contains("not retried"), "{logged}");

    mailer.send(message("ivan@deferred.example"));
    wait_until(&mailer, "a 451 is retried", |s| s.retried >= 1);
    sink.accept("ivan@deferred.example");
    sink.wait_for("ivan@deferred.example", WAIT);
    wait_until(&mailer, "then sent", |s| s.sent == 1);
    assert_eq!(mailer.stats().failed, 1, "still only the refusal");
    assert!(sink.messages_to("heidi@refused.example").is_empty());
}

#[test]
fn retries_run_out_and_the_failure_is_counted_and_logged_masked() {
    let mut sink = SmtpSink::start();
    sink.stop();
    let dir = tempfile::tempdir().unwrap();
    let mailer = Mailer::start(config(Some(&sink.url()), dir.path()));
    mailer.send(message("judy@gone.example"));
    wait_until(&mailer, "given up", |s| s.failed == 1 && s.queued == 0);
    let stats = mailer.stats();
    assert_eq!((stats.retried, stats.sent), (3, 0), "{stats:?}");
    let logged = log_lines("j***@gone.example").join("\n");
    assert!(logged.contains("failed after 4 attempts"), "{logged}");
    assert!(!logged.contains("judy@"), "{logged}");
}

#[test]
fn a_full_queue_drops_and_counts() {
    let tarpit = Tarpit::start();
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(Some(&tarpit.url()), dir.path());
    config.queue = 2;
    config.timeout = Duration::from_secs(5);
    let mailer = Mailer::start(config);
    for i in 0..5 {
        send_at_once(&mailer, message(&format!("k{i}@full.example")));
    }
    let stats = mailer.stats();
    assert_eq!((stats.queued, stats.dropped), (2, 3), "{stats:?}");
    let logged = log_lines("***@full.example").join("\n");
    assert!(logged.contains("queue is full"), "{logged}");
    assert!(!logged.contains("k4@"), "{logged}");
}

#[test]
fn flush_delivers_what_waits_for_a_retry_and_gives_up_at_the_deadline() {
    let mut sink = SmtpSink::start();
    sink.stop();
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(Some(&sink.url()), dir.path());
    config.retry = vec![Duration::from_secs(600); 3];
    let mailer = Mailer::start(config);
    mailer.send(message("leo@flush.example"));
    wait_until(&mailer, "waiting ten minutes", |s| s.retried == 1);

    // Still down: flush tries once more and says what is left.
    let started = Instant::now();
    assert_eq!(mailer.flush(Instant::now() + Duration::from_secs(2)), 1);
    assert!(started.elapsed() < Duration::from_secs(3));

    mailer.send(message("mia@flush.example"));
    sink.resume();
    let left = mailer.flush(Instant::now() + WAIT);
    assert_eq!(left, 0, "{:?}", mailer.stats());
    sink.wait_for("leo@flush.example", Duration::from_secs(1));
    sink.wait_for("mia@flush.example", Duration::from_secs(1));
}

#[test]
fn a_bad_smtp_url_or_smtp_from_stops_the_start_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("mail.db").display());
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    for (var, value) in [
        ("SMTP_URL", "http://mail.example.com"),
        ("SMTP_URL", "smtp://mail.example.com:99999"),
        (
            "SMTP_URL",
            "smtp://mailer:hunter2@mail.example.com?tls=maybe",
        ),
        ("SMTP_URL", "smtps://mail.example.com?tls=none"),
        ("SMTP_FROM", "gatehouse"),
        ("SMTP_FROM", "gatehouse <nobody@>"),
        ("SMTP_CA_FILE", "/nonexistent/relay-ca.pem"),
        ("SMTP_CA_FILE", junk.to_str().unwrap()),
    ] {
        let out = common::run_gatehouse(dir.path(), &db, &["serve"], "", &[(var, value)]);
        assert_eq!(out.status.code(), Some(2), "{var}={value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with(&format!("gatehouse: {var}: ")), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
}

#[test]
fn the_smtp_password_stays_out_of_debug() {
    let config = gatehouse::config::Config::from_lookup(|k| match k {
        "SMTP_URL" => Some("smtps://mailer:pa55-word-xyz@mail.example.com".into()),
        _ => None,
    })
    .unwrap();
    let shown = format!("{config:?}");
    assert!(shown.contains("mail.example.com"), "{shown}");
    assert!(!shown.contains("pa55-word-xyz"), "{shown}");
    let mailer = Mailer::start(config.mail.clone());
    assert!(!format!("{mailer:?}").contains("pa55-word-xyz"));
}

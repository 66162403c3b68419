//! The configuration's unit tests.
use super::*;
use std::collections::HashMap;

fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|k| map.get(k).cloned())
}

#[test]
fn defaults_match_the_spec() {
    let c = config(&[]).unwrap();
    assert_eq!(
        c.database_url,
        DatabaseUrl::parse("sqlite://gatehouse.db").unwrap()
    );
    assert_eq!(c.addr.to_string(), "127.0.0.1:8080");
    assert_eq!(c.public_url.as_str(), "http://127.0.0.1:8080/");
    assert_eq!(c.session_max_age, Duration::from_secs(30 * 86_400));
    assert_eq!(c.session_update_age, Duration::from_secs(86_400));
    assert_eq!(c.session_fresh_age, Duration::from_secs(600));
    assert_eq!(
        config(&[("SESSION_FRESH_AGE", "5m")])
            .unwrap()
            .session_fresh_age,
        Duration::from_secs(300)
    );
    assert!(!c.is_https());
    assert!(c.secret.is_none() && c.admin.is_none());
    assert_eq!(c.secret_file, std::path::Path::new("gatehouse.secret"));
    assert_eq!(c.pool_size, 8);
    assert_eq!(c.password_policy.min_score(), 3);
    assert_eq!(
        config(&[("PASSWORD_MIN_SCORE", "0")])
            .unwrap()
            .password_policy
            .min_score(),
        0
    );
    assert_eq!(
        config(&[("DATABASE_POOL_SIZE", "20")]).unwrap().pool_size,
        20
    );
}

#[test]
fn durations_accept_the_four_suffixes() {
    assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
    assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
    assert_eq!(parse_duration("24h").unwrap(), Duration::from_secs(86_400));
    assert_eq!(
        parse_duration("30d").unwrap(),
        Duration::from_secs(2_592_000)
    );
    assert_eq!(parse_duration("120").unwrap(), Duration::from_secs(120));
    for bad in ["", "d", "3w", "-1d", "1.5h", "0s", "99999999999d"] {
        assert!(parse_duration(bad).is_err(), "{bad} should be refused");
    }
}

#[test]
fn a_bad_value_names_its_variable() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("SESSION_MAX_AGE", "forever")], "SESSION_MAX_AGE"),
        (&[("SESSION_UPDATE_AGE", "3x")], "SESSION_UPDATE_AGE"),
        (&[("SESSION_FRESH_AGE", "soon")], "SESSION_FRESH_AGE"),
        (&[("SESSION_FRESH_AGE", "0m")], "SESSION_FRESH_AGE"),
        (&[("GATEHOUSE_ADDR", "nope")], "GATEHOUSE_ADDR"),
        (&[("GATEHOUSE_URL", "ftp://x")], "GATEHOUSE_URL"),
        (&[("GATEHOUSE_MOUNT_PATH", "auth")], "GATEHOUSE_MOUNT_PATH"),
        (
            &[("GATEHOUSE_MOUNT_PATH", "/a/../b")],
            "GATEHOUSE_MOUNT_PATH",
        ),
        (&[("GATEHOUSE_SECRET", "short")], "GATEHOUSE_SECRET"),
        (&[("DATABASE_URL", "mysql://x/y")], "DATABASE_URL"),
        (&[("DATABASE_URL", "redis://x")], "DATABASE_URL"),
        (&[("DATABASE_POOL_SIZE", "0")], "DATABASE_POOL_SIZE"),
        (&[("DATABASE_POOL_SIZE", "many")], "DATABASE_POOL_SIZE"),
        (
            &[("RATE_LIMIT_SIGNIN_ACCOUNT", "lots")],
            "RATE_LIMIT_SIGNIN_ACCOUNT",
        ),
        (&[("RATE_LIMIT_EMAIL", "5/1y")], "RATE_LIMIT_EMAIL"),
        (&[("EMAIL_VERIFICATION", "maybe")], "EMAIL_VERIFICATION"),
        (
            &[("GATEHOUSE_ADMIN_EMAIL", "a@b.example")],
            "GATEHOUSE_ADMIN_PASSWORD",
        ),
        (
            &[("SESSION_MAX_AGE", "1h"), ("SESSION_UPDATE_AGE", "2h")],
            "SESSION_UPDATE_AGE",
        ),
        (&[("SMTP_URL", "http://mail.example.com")], "SMTP_URL"),
        (
            &[("SMTP_URL", "smtp://mail.example.com?tls=yes")],
            "SMTP_URL",
        ),
        (&[("SMTP_FROM", "gatehouse")], "SMTP_FROM"),
        (&[("PASSWORD_MIN_SCORE", "5")], "PASSWORD_MIN_SCORE"),
        (&[("PASSWORD_MIN_SCORE", "strong")], "PASSWORD_MIN_SCORE"),
    ];
    for (vars, variable) in cases {
        let err = config(vars).unwrap_err();
        assert_eq!(err.variable, *variable, "{vars:?}");
        assert!(err.to_string().starts_with(variable));
        assert!(!err.to_string().contains('\n'));
    }
}

#[test]
fn email_domains_are_kept_in_the_form_stored_emails_have() {
    let c = config(&[("GATEHOUSE_EMAIL_DOMAINS", " Example.COM, bücher.de ")]).unwrap();
    assert_eq!(c.email_domains, ["example.com", "xn--bcher-kva.de"]);
    for bad in [
        "a@b.org",
        "localhost",
        "ex ample.org",
        "x.org,,y.org",
        "x..org",
    ] {
        let err = config(&[("GATEHOUSE_EMAIL_DOMAINS", bad)]).unwrap_err();
        assert_eq!(err.variable, "GATEHOUSE_EMAIL_DOMAINS", "{bad}");
    }
}

#[test]
fn https_url_makes_cookies_secure() {
    let c = config(&[("GATEHOUSE_URL", "https://auth.example.com")]).unwrap();
    assert!(c.is_https());
    assert_eq!(c.public_origin(), "https://auth.example.com");
}

#[test]
fn the_mount_defaults_to_the_root_and_prefixes_links() {
    let c = config(&[("GATEHOUSE_URL", "https://example.com")]).unwrap();
    assert!(c.mount.is_root());
    assert_eq!(c.mounted_url().as_str(), "https://example.com/");
    assert_eq!(
        c.link("/setup?token=t"),
        "https://example.com/setup?token=t"
    );
    let c = config(&[
        ("GATEHOUSE_URL", "https://example.com"),
        ("GATEHOUSE_MOUNT_PATH", "/auth/"),
    ])
    .unwrap();
    assert_eq!(c.mount.as_str(), "/auth");
    assert_eq!(c.mounted_url().as_str(), "https://example.com/auth");
    assert_eq!(
        c.link("/api/auth/callback/github"),
        "https://example.com/auth/api/auth/callback/github"
    );
}

#[test]
fn secrets_and_passwords_stay_out_of_debug() {
    let c = config(&[
        (
            "GATEHOUSE_SECRET",
            "0123456789abcdef0123456789abcdef-very-secret",
        ),
        (
            "DATABASE_URL",
            "postgres://app:hunter2hunter2@db.example/gh",
        ),
        ("GATEHOUSE_ADMIN_EMAIL", "root@example.com"),
        ("GATEHOUSE_ADMIN_PASSWORD", "correct horse battery"),
        ("SMTP_URL", "smtp://mailer:smtp-hunter3@mail.example.com"),
    ])
    .unwrap();
    let shown = format!("{c:?}");
    assert!(!shown.contains("very-secret"));
    assert!(!shown.contains("hunter2"));
    assert!(!shown.contains("correct horse"));
    assert!(!shown.contains("smtp-hunter3"));
}

#[test]
fn previous_secrets_are_a_comma_list_of_long_secrets() {
    let a = "a".repeat(32);
    let b = "b".repeat(40);
    let c = config(&[("GATEHOUSE_SECRET_PREVIOUS", &format!(" {a} ,{b},,{a}"))]).unwrap();
    let got: Vec<&[u8]> = c.secret_previous.iter().map(Secret::expose).collect();
    assert_eq!(
        got,
        vec![a.as_bytes(), b.as_bytes()],
        "trimmed, deduplicated"
    );
    assert!(config(&[]).unwrap().secret_previous.is_empty());
    let err = config(&[("GATEHOUSE_SECRET_PREVIOUS", &format!("{a},tiny-secret"))]).unwrap_err();
    assert_eq!(err.variable, "GATEHOUSE_SECRET_PREVIOUS");
    assert!(
        err.problem.contains("secret 2") && !err.problem.contains("tiny"),
        "{err}"
    );
}

/// compose.yaml passes the mail variables as `${VAR:-}`: an empty value must
/// mean the default, exactly as if the variable were not there.
#[test]
fn empty_mail_variables_from_compose_are_the_defaults() {
    let unset = config(&[]).unwrap();
    let empty = config(&[
        ("SMTP_URL", ""),
        ("SMTP_FROM", " "),
        ("EMAIL_VERIFICATION", ""),
        ("RATE_LIMIT_EMAIL", ""),
    ])
    .unwrap();
    assert!(empty.mail.smtp.is_none(), "no SMTP: the .eml files");
    assert_eq!(empty.mail.from, unset.mail.from);
    assert_eq!(empty.mail.dir, unset.mail.dir);
    assert_eq!(empty.email_verification, unset.email_verification);
    assert_eq!(empty.rate_limits.email, unset.rate_limits.email);
    assert!(empty.rate_limits.email.is_some(), "5/1h by default");
}

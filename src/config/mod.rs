//! Configuration from the environment (and a `.env` file, read by `main`), every
//! variable validated once. A bad value is an error naming the variable.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use url::Url;

use crate::db::DatabaseUrl;

pub mod mount;
pub mod running;
pub mod webauthn;
pub use mount::MountPath;
pub use running::{LogFormat, Running};

/// Key material given by the operator; `Debug` prints nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(bytes)
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Clone, Debug)]
pub struct AdminBootstrap {
    pub email: String,
    pub password: Secret,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub addr: SocketAddr,
    /// The public base URL, without a trailing slash.
    pub public_url: Url,
    /// `GATEHOUSE_MOUNT_PATH`: where gatehouse's routes live in the site (an
    /// embedding app's choice; the root by default).
    pub mount: MountPath,
    /// `None`: generated on first start and kept in `secret_file`.
    pub secret: Option<Secret>,
    /// `GATEHOUSE_SECRET_PREVIOUS`: earlier secrets, still accepted for what
    /// they signed or sealed (newest first; nothing new is made with them).
    pub secret_previous: Vec<Secret>,
    /// `GATEHOUSE_SECRET_FILE`: where a generated secret is kept (mode 0600);
    /// unused when `GATEHOUSE_SECRET` is set.
    pub secret_file: std::path::PathBuf,
    pub admin: Option<AdminBootstrap>,
    /// `PASSWORD_MIN_SCORE`: the rule for every password set from now on.
    pub password_policy: crate::users::PasswordPolicy,
    pub session_max_age: Duration,
    pub session_update_age: Duration,
    /// `SESSION_FRESH_AGE`: how long after a sign-in (or a re-confirmation at
    /// `/reauth`) a session may make sensitive changes.
    pub session_fresh_age: Duration,
    /// `DATABASE_POOL_SIZE`: connections in the pool.
    pub pool_size: u32,
    /// Enabled OAuth providers (`GITHUB_*`, `GOOGLE_*`, `OIDC_*`).
    pub providers: Vec<crate::oauth::config::ProviderConfig>,
    /// `RATE_LIMIT_SIGNIN`, `RATE_LIMIT_SIGNIN_ACCOUNT`, `RATE_LIMIT_SIGNUP`,
    /// `RATE_LIMIT_API`.
    pub rate_limits: crate::ratelimit::Limits,
    /// `GATEHOUSE_TRUSTED_PROXIES`: peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `OAUTH_TIMEOUT`: how long a call to a provider may take.
    pub oauth_timeout: Duration,
    /// `GATEHOUSE_EMAIL_DOMAINS`: only these email domains may sign in or up
    /// (empty: any).
    pub email_domains: Vec<String>,
    /// `OAUTH_LINK_VERIFIED_EMAIL`: a provider sign-in whose email the provider
    /// asserts verified is linked to the existing user with that email.
    pub oauth_link_verified_email: bool,
    /// `SMTP_URL`, `GATEHOUSE_MAIL_DIR`, `SMTP_FROM`, `SMTP_CA_FILE`.
    pub mail: crate::mail::MailConfig,
    /// `EMAIL_VERIFICATION`.
    pub email_verification: crate::email::Verification,
    /// The "Running in production" variables (metrics, shutdown, sweeper, logs).
    pub running: Running,
    /// Passkeys' relying party, from `GATEHOUSE_URL` (off for an IP address).
    pub passkeys: webauthn::RelyingParty,
    /// Counts every statement when set (tests and diagnostics; not a variable).
    pub statement_log: Option<std::sync::Arc<crate::db::StatementLog>>,
}

/// One bad variable: its name and what is wrong, printed as one line at start.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.problem)
    }
}

impl std::error::Error for ConfigError {}

pub(crate) fn bad(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup`; empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let database_url = DatabaseUrl::parse(
            &get("DATABASE_URL").unwrap_or_else(|| "sqlite://gatehouse.db".into()),
        )
        .map_err(|p| bad("DATABASE_URL", p))?;

        let addr_raw = get("GATEHOUSE_ADDR").unwrap_or_else(|| "127.0.0.1:8080".into());
        let addr: SocketAddr = addr_raw.trim().parse().map_err(|_| {
            bad(
                "GATEHOUSE_ADDR",
                format!("`{addr_raw}` is not an address like 127.0.0.1:8080"),
            )
        })?;

        let public_url = match get("GATEHOUSE_URL") {
            Some(raw) => parse_public_url(&raw).map_err(|p| bad("GATEHOUSE_URL", p))?,
            None => Url::parse(&format!("http://{addr}"))
                .map_err(|e| bad("GATEHOUSE_ADDR", format!("cannot form a URL from it ({e})")))?,
        };

        let mount = match get("GATEHOUSE_MOUNT_PATH") {
            Some(raw) => {
                MountPath::parse(raw.trim()).map_err(|p| bad("GATEHOUSE_MOUNT_PATH", p))?
            }
            None => MountPath::default(),
        };

        let secret = match get("GATEHOUSE_SECRET") {
            Some(raw) if raw.len() < SECRET_MIN_LEN => {
                return Err(bad(
                    "GATEHOUSE_SECRET",
                    format!("must be at least 32 bytes long (it has {})", raw.len()),
                ));
            }
            Some(raw) => Some(Secret(raw.into_bytes())),
            None => None,
        };

        let secret_previous = match get("GATEHOUSE_SECRET_PREVIOUS") {
            Some(raw) => parse_previous(&raw).map_err(|p| bad("GATEHOUSE_SECRET_PREVIOUS", p))?,
            None => Vec::new(),
        };

        let secret_file = std::path::PathBuf::from(
            get("GATEHOUSE_SECRET_FILE").unwrap_or_else(|| "gatehouse.secret".into()),
        );

        let password_policy = match get("PASSWORD_MIN_SCORE") {
            Some(raw) => crate::users::PasswordPolicy::parse(&raw)
                .map_err(|p| bad("PASSWORD_MIN_SCORE", p))?,
            None => crate::users::PasswordPolicy::default(),
        };

        let admin = match (
            get("GATEHOUSE_ADMIN_EMAIL"),
            lookup("GATEHOUSE_ADMIN_PASSWORD").filter(|p| !p.is_empty()),
        ) {
            (Some(email), Some(password)) => {
                let email = crate::users::normalize_email(&email)
                    .map_err(|p| bad("GATEHOUSE_ADMIN_EMAIL", p.to_string()))?;
                // The length only: the whole policy applies when the admin is
                // created, so a start with an admin made long ago never fails on it.
                crate::users::PasswordPolicy::new(0)
                    .expect("score 0")
                    .check(&password, &[])
                    .map_err(|p| bad("GATEHOUSE_ADMIN_PASSWORD", p.to_string()))?;
                Some(AdminBootstrap {
                    email,
                    password: Secret(password.into_bytes()),
                })
            }
            (Some(_), None) => {
                return Err(bad(
                    "GATEHOUSE_ADMIN_PASSWORD",
                    "is required when GATEHOUSE_ADMIN_EMAIL is set",
                ));
            }
            (None, Some(_)) => {
                return Err(bad(
                    "GATEHOUSE_ADMIN_EMAIL",
                    "is required when GATEHOUSE_ADMIN_PASSWORD is set",
                ));
            }
            (None, None) => None,
        };

        let session_max_age = match get("SESSION_MAX_AGE") {
            Some(raw) => parse_duration(&raw).map_err(|p| bad("SESSION_MAX_AGE", p))?,
            None => Duration::from_secs(30 * 86_400),
        };
        let session_update_age = match get("SESSION_UPDATE_AGE") {
            Some(raw) => parse_duration(&raw).map_err(|p| bad("SESSION_UPDATE_AGE", p))?,
            None => Duration::from_secs(86_400),
        };
        if session_max_age < Duration::from_secs(60) {
            return Err(bad("SESSION_MAX_AGE", "must be at least 1m"));
        }
        if session_update_age > session_max_age {
            return Err(bad(
                "SESSION_UPDATE_AGE",
                "must not be longer than SESSION_MAX_AGE",
            ));
        }

        let session_fresh_age = match get("SESSION_FRESH_AGE") {
            Some(raw) => parse_duration(&raw).map_err(|p| bad("SESSION_FRESH_AGE", p))?,
            None => Duration::from_secs(10 * 60),
        };

        if let Some(raw) = get("RUST_LOG") {
            // env_logger ignores what it cannot parse; we say so instead.
            if raw.chars().any(|c| c.is_whitespace()) {
                return Err(bad(
                    "RUST_LOG",
                    "must be a filter like `info` or `gatehouse=debug,actix_web=info`",
                ));
            }
        }

        let providers = crate::oauth::config::from_lookup(&get)?;
        let oauth_timeout = match get("OAUTH_TIMEOUT") {
            Some(raw) => {
                let d = parse_duration(&raw).map_err(|p| bad("OAUTH_TIMEOUT", p))?;
                if d < Duration::from_secs(1) || d > Duration::from_secs(120) {
                    return Err(bad("OAUTH_TIMEOUT", "must be between 1s and 120s"));
                }
                d
            }
            None => Duration::from_secs(10),
        };
        let email_domains = match get("GATEHOUSE_EMAIL_DOMAINS") {
            Some(raw) => {
                let mut domains = Vec::new();
                for d in raw.split(',').map(str::trim) {
                    // In the IDNA ASCII form stored emails have (`bücher.de` is
                    // `xn--bcher-kva.de`), or it would never match one.
                    let ascii = idna::domain_to_ascii_strict(d)
                        .ok()
                        .filter(|a| crate::users::email::is_dotted(a));
                    let Some(ascii) = ascii else {
                        return Err(bad(
                            "GATEHOUSE_EMAIL_DOMAINS",
                            "must be a comma-separated list of domains like example.com,example.org",
                        ));
                    };
                    domains.push(ascii);
                }
                domains
            }
            None => Vec::new(),
        };
        let oauth_link_verified_email = match get("OAUTH_LINK_VERIFIED_EMAIL").as_deref() {
            None => false,
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" => false,
                _ => return Err(bad("OAUTH_LINK_VERIFIED_EMAIL", "must be true or false")),
            },
        };

        let mut rate_limits = crate::ratelimit::Limits::default();
        for (var, slot) in [
            ("RATE_LIMIT_SIGNIN", &mut rate_limits.signin),
            ("RATE_LIMIT_SIGNIN_ACCOUNT", &mut rate_limits.signin_account),
            ("RATE_LIMIT_SIGNUP", &mut rate_limits.signup),
            ("RATE_LIMIT_API", &mut rate_limits.api),
            ("RATE_LIMIT_EMAIL", &mut rate_limits.email),
        ] {
            if let Some(raw) = get(var) {
                *slot = crate::ratelimit::parse_rule(&raw).map_err(|p| bad(var, p))?;
            }
        }
        let trusted_proxies = match get("GATEHOUSE_TRUSTED_PROXIES") {
            Some(raw) => parse_cidr_list(&raw).map_err(|p| bad("GATEHOUSE_TRUSTED_PROXIES", p))?,
            None => Vec::new(),
        };

        let running = Running::from_lookup(&get)?;
        let pool_size = match get("DATABASE_POOL_SIZE") {
            Some(raw) => raw
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=256).contains(n))
                .ok_or_else(|| {
                    bad(
                        "DATABASE_POOL_SIZE",
                        format!("`{raw}` must be a number of connections from 1 to 256"),
                    )
                })?,
            None => 8,
        };
        let email_verification = crate::email::Verification::from_lookup(&get)?;
        let mut mail = crate::mail::MailConfig::defaults_for(&public_url);
        if let Some(dir) = get("GATEHOUSE_MAIL_DIR") {
            mail.dir = std::path::PathBuf::from(dir);
        }
        if let Some(from) = get("SMTP_FROM") {
            crate::mail::parse_from(&from).map_err(|p| bad("SMTP_FROM", p))?;
            mail.from = from.trim().to_owned();
        }
        if let Some(raw) = get("SMTP_URL") {
            mail.smtp = Some(crate::mail::SmtpUrl::parse(&raw).map_err(|p| bad("SMTP_URL", p))?);
        }
        if let Some(path) = get("SMTP_CA_FILE") {
            mail.smtp_ca =
                Some(crate::mail::SmtpCa::read(&path).map_err(|p| bad("SMTP_CA_FILE", p))?);
        }

        Ok(Config {
            passkeys: webauthn::RelyingParty::from_public_url(&public_url),
            mail,
            email_verification,
            running,
            rate_limits,
            trusted_proxies,
            providers,
            oauth_timeout,
            email_domains,
            oauth_link_verified_email,
            database_url,
            addr,
            public_url,
            mount,
            secret,
            secret_previous,
            secret_file,
            admin,
            password_policy,
            session_max_age,
            session_update_age,
            session_fresh_age,
            pool_size,
            statement_log: None,
        })
    }

    /// Whether cookies get `Secure` and the `__Host-` prefix.
    pub fn is_https(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// The absolute URL of gatehouse's `path` (which starts with `/`): the
    /// public URL, the mount prefix, the path. For links that leave the
    /// browser: mails, OAuth redirect URIs, the setup link.
    pub fn link(&self, path: &str) -> String {
        format!(
            "{}{}",
            self.public_url.as_str().trim_end_matches('/'),
            self.mount.join(path)
        )
    }

    /// The public URL with the mount prefix as its path (`https://x/auth`):
    /// the base of OAuth's callback and sign-in URLs.
    pub fn mounted_url(&self) -> Url {
        let mut url = self.public_url.clone();
        url.set_path(self.mount.as_str());
        url
    }

    /// `scheme://host[:port]` of the public URL, as browsers send it in `Origin`.
    pub fn public_origin(&self) -> String {
        self.public_url.origin().ascii_serialization()
    }
}

/// The minimum length of a secret, current or previous.
pub const SECRET_MIN_LEN: usize = 32;

/// `GATEHOUSE_SECRET_PREVIOUS`: secrets separated by commas; whitespace around
/// each is ignored (a secret holding a comma cannot be listed). Each must be
/// as long as `GATEHOUSE_SECRET` must be.
pub fn parse_previous(raw: &str) -> Result<Vec<Secret>, String> {
    let mut out: Vec<Secret> = Vec::new();
    for (i, item) in raw.split(',').map(str::trim).enumerate() {
        if item.is_empty() {
            continue;
        }
        if item.len() < SECRET_MIN_LEN {
            // Never the value itself: it is a secret.
            return Err(format!(
                "secret {} of the list has {} bytes; each must be at least {SECRET_MIN_LEN} bytes long (separate secrets with commas)",
                i + 1,
                item.len()
            ));
        }
        let s = Secret(item.as_bytes().to_vec());
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
}

fn parse_public_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|e| format!("`{raw}` is not a URL ({e})"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!("`{raw}` must start with http:// or https://"));
    }
    if url.host_str().is_none() {
        return Err(format!("`{raw}` has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("`{raw}` must not have a query or fragment"));
    }
    if url.path() != "/" {
        return Err(format!(
            "`{raw}` must be the site's root (gatehouse is served at /)"
        ));
    }
    Ok(url)
}

/// A comma-separated list of addresses and CIDR ranges (`10.0.0.0/8,
/// ::1`); empty entries are skipped. A bare address is its own /32 or /128.
pub fn parse_cidr_list(raw: &str) -> Result<Vec<ipnet::IpNet>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<ipnet::IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("`{p}` is not an IP address or a CIDR range like 10.0.0.0/8"))
        })
        .collect()
}

/// `90s`, `15m`, `24h`, `30d`; a bare number is seconds.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let s = raw.trim();
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&s[..i], s[i..].trim()),
        None => (s, "s"),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{raw}` is not a duration like 30d, 24h, 15m or 90s"))?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => {
            return Err(format!("`{raw}` has an unknown unit (use s, m, h or d)"));
        }
    };
    let secs = n
        .checked_mul(unit_secs)
        .filter(|s| *s <= 10 * 365 * 86_400)
        .ok_or_else(|| format!("`{raw}` is too long (at most 3650d)"))?;
    if secs == 0 {
        return Err(format!("`{raw}` must be longer than zero"));
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

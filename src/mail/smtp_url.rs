//! `SMTP_URL`, parsed once at start: `smtp://[user:pass@]host[:port]` (STARTTLS
//! when offered; `?tls=required` insists, `?tls=none` stays plain) or
//! `smtps://…` (implicit TLS). The password never reaches `Debug` or a log.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use lettre::SmtpTransport;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;

/// How the connection is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// `smtp://`: STARTTLS when the server offers it, plain otherwise.
    Opportunistic,
    /// `smtp://…?tls=required`: STARTTLS or no delivery.
    Required,
    /// `smtp://…?tls=none`: plain, for a relay on this machine or network.
    None,
    /// `smtps://`: TLS from the first byte.
    Implicit,
}

/// A parsed `SMTP_URL`.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub user: Option<String>,
    password: Option<String>,
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpUrl")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

impl SmtpUrl {
    /// Parses `raw`; the error never repeats the value (it may hold a password).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = url::Url::parse(raw.trim())
            .map_err(|e| format!("is not a URL like smtp://user:pass@host:587 ({e})"))?;
        let implicit = match url.scheme() {
            "smtp" => false,
            "smtps" => true,
            other => {
                return Err(format!(
                    "must start with smtp:// or smtps:// (not {other}://)"
                ));
            }
        };
        let host = match url.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err("has no host".into()),
        };
        if url.port() == Some(0) {
            return Err("has port 0".into());
        }
        if !(url.path().is_empty() || url.path() == "/") || url.fragment().is_some() {
            return Err(
                "must be smtp://[user:pass@]host[:port][?tls=required|none] (no path)".into(),
            );
        }
        let mut tls = None;
        for (key, value) in url.query_pairs() {
            match (key.as_ref(), tls) {
                ("tls", None) => tls = Some(value.into_owned()),
                ("tls", Some(_)) => return Err("has tls= twice".into()),
                (other, _) => return Err(format!("has an unknown setting `{other}` (only tls=)")),
            }
        }
        let security = match (implicit, tls.as_deref()) {
            (true, None | Some("required")) => Security::Implicit,
            (true, Some(_)) => {
                return Err(
                    "smtps:// is always TLS; use smtp://…?tls=none for a plain relay".into(),
                );
            }
            (false, None) => Security::Opportunistic,
            (false, Some("required")) => Security::Required,
            (false, Some("none")) => Security::None,
            (false, Some(other)) => {
                return Err(format!("has tls={other}; use tls=required or tls=none"));
            }
        };
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| "has a user or password that is not UTF-8".to_owned())
        };
        let user = Some(decode(url.username())?).filter(|u| !u.is_empty());
        let password = url.password().map(decode).transpose()?;
        match (&user, &password) {
            (Some(_), None) => return Err("has a user but no password (user:pass@host)".into()),
            (None, Some(_)) => return Err("has a password but no user (user:pass@host)".into()),
            _ => {}
        }
        let parsed = SmtpUrl {
            port: url.port().unwrap_or(if implicit { 465 } else { 587 }),
            host,
            security,
            user,
            password,
        };
        parsed.transport(Duration::from_secs(10), "localhost", None)?;
        Ok(parsed)
    }

    /// The lettre transport for this server: one connection per message,
    /// `timeout` on connecting and on every command, EHLO as `hello`; the
    /// server's certificate is checked against the public roots plus `ca`.
    pub fn transport(
        &self,
        timeout: Duration,
        hello: &str,
        ca: Option<&SmtpCa>,
    ) -> Result<SmtpTransport, String> {
        let tls_parameters = || {
            let mut builder = TlsParameters::builder(self.host.clone());
            if let Some(ca) = ca {
                builder = builder.add_root_certificate(ca.certificates()?);
            }
            builder
                .build()
                .map_err(|e| format!("cannot use TLS with host {} ({e})", self.host))
        };
        let tls = match self.security {
            Security::Opportunistic => Tls::Opportunistic(tls_parameters()?),
            Security::Required => Tls::Required(tls_parameters()?),
            Security::None => Tls::None,
            Security::Implicit => Tls::Wrapper(tls_parameters()?),
        };
        let mut builder = SmtpTransport::builder_dangerous(self.host.clone())
            .port(self.port)
            .tls(tls)
            .timeout(Some(timeout))
            .hello_name(client_id(hello));
        if let (Some(user), Some(password)) = (&self.user, &self.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(builder.build())
    }
}

/// `SMTP_CA_FILE`: certificates (PEM) trusted for the SMTP server besides
/// the public roots, for a relay whose certificate a private CA signed.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpCa {
    path: std::path::PathBuf,
    pem: Vec<u8>,
}

impl fmt::Debug for SmtpCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SmtpCa").field(&self.path).finish()
    }
}

impl SmtpCa {
    /// Reads and checks the file (at start, so a bad one stops the start).
    pub fn read(path: &str) -> Result<Self, String> {
        use std::io::Read as _;
        // A CA bundle is a few hundred KB at most; more (or /dev/zero) is a
        // mistake, refused rather than read for ever.
        const LIMIT: u64 = 4 << 20;
        let path = std::path::PathBuf::from(path.trim());
        let cannot = |e: std::io::Error| format!("cannot read {} ({e})", path.display());
        let mut pem = Vec::new();
        std::fs::File::open(&path)
            .and_then(|f| f.take(LIMIT + 1).read_to_end(&mut pem))
            .map_err(cannot)?;
        if pem.len() as u64 > LIMIT {
            return Err(format!("{} is larger than 4 MiB", path.display()));
        }
        let ca = SmtpCa { path, pem };
        ca.certificates()?;
        Ok(ca)
    }

    fn certificates(&self) -> Result<Certificate, String> {
        let shown = self.path.display();
        if !self
            .pem
            .windows(27)
            .any(|w| w == b"-----BEGIN CERTIFICATE-----")
        {
            return Err(format!("{shown} holds no PEM certificate"));
        }
        Certificate::from_pem(&self.pem).map_err(|e| format!("{shown}: {e}"))
    }
}

/// What gatehouse calls itself in EHLO: the public host, or an address literal.
fn client_id(host: &str) -> ClientId {
    match host.trim_matches(['[', ']']).parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ClientId::Ipv4(ip),
        Ok(IpAddr::V6(ip)) => ClientId::Ipv6(ip),
        Err(_) => ClientId::Domain(host.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_the_readme_shows_parse() {
        let u = SmtpUrl::parse("smtp://localhost:1025?tls=none").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.security),
            ("localhost", 1025, Security::None)
        );
        let u = SmtpUrl::parse("smtp://mailer:p%40ss@mail.example.com").unwrap();
        assert_eq!((u.port, u.security), (587, Security::Opportunistic));
        assert_eq!(u.user.as_deref(), Some("mailer"));
        assert_eq!(u.password.as_deref(), Some("p@ss"));
        let u = SmtpUrl::parse("smtp://mail.example.com?tls=required").unwrap();
        assert_eq!(u.security, Security::Required);
        let u = SmtpUrl::parse("smtps://[::1]").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.security),
            ("::1", 465, Security::Implicit)
        );
    }

    #[test]
    fn a_ca_file_must_hold_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.pem");
        let err = SmtpCa::read(missing.to_str().unwrap()).unwrap_err();
        assert!(err.contains("cannot read"), "{err}");
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let err = SmtpCa::read(junk.to_str().unwrap()).unwrap_err();
        assert!(err.contains("no PEM certificate"), "{err}");
        let broken = dir.path().join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        assert!(SmtpCa::read(broken.to_str().unwrap()).is_err());
        let err = SmtpCa::read("/dev/zero").unwrap_err();
        assert!(err.contains("larger than 4 MiB"), "{err}");
    }

    #[test]
    fn bad_values_are_refused_without_repeating_the_password() {
        for bad in [
            "http://mail.example.com",
            "mail.example.com:25",
            "smtp://",
            "smtp://mail.example.com:0",
            "smtp://mail.example.com:70000",
            "smtp://mail.example.com?tls=maybe",
            "smtp://mail.example.com?tls=none&tls=required",
            "smtp://mail.example.com?port=25",
            "smtps://mail.example.com?tls=none",
            "smtp://mail.example.com/relay",
            "smtp://user@mail.example.com",
            "smtp://:hunter2@mail.example.com",
            "smtp://u:hunter2@mail.example.com?tls=sometimes",
        ] {
            let err = SmtpUrl::parse(bad).expect_err(bad);
            assert!(!err.contains("hunter2"), "{bad}: {err}");
        }
    }

    #[test]
    fn debug_hides_the_password() {
        let u = SmtpUrl::parse("smtp://mailer:hunter2@mail.example.com").unwrap();
        let shown = format!("{u:?}");
        assert!(
            shown.contains("mailer") && !shown.contains("hunter2"),
            "{shown}"
        );
    }
}

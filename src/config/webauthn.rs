//! The WebAuthn relying party, from `GATEHOUSE_URL`: its host is the RP id
//! and its origin the one origin a passkey ceremony may come from. WebAuthn
//! binds credentials to a domain, so a URL whose host is an IP address (the
//! default `http://127.0.0.1:8080`) turns passkeys off, with the reason.

use url::{Host, Url};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RelyingParty {
    On {
        /// The host of `GATEHOUSE_URL` (`auth.example.com`, `localhost`).
        rp_id: String,
        /// `scheme://host[:port]` of `GATEHOUSE_URL`.
        origin: Url,
    },
    /// Passkeys are off; why, for the log at start.
    Off { reason: String },
}

impl RelyingParty {
    pub fn from_public_url(url: &Url) -> Self {
        match url.host() {
            Some(Host::Domain(domain)) => {
                let mut origin = url.clone();
                origin.set_path("");
                RelyingParty::On {
                    rp_id: domain.to_ascii_lowercase(),
                    origin,
                }
            }
            Some(host) => RelyingParty::Off {
                reason: format!(
                    "passkeys are off: GATEHOUSE_URL's host {host} is an IP address, and WebAuthn \
                     needs a domain (set GATEHOUSE_URL to https://your.domain, or \
                     http://localhost:PORT to try them locally)"
                ),
            },
            None => RelyingParty::Off {
                reason: "passkeys are off: GATEHOUSE_URL has no host".into(),
            },
        }
    }

    pub fn is_on(&self) -> bool {
        matches!(self, RelyingParty::On { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rp(url: &str) -> RelyingParty {
        RelyingParty::from_public_url(&Url::parse(url).unwrap())
    }

    #[test]
    fn a_domain_is_the_rp_id_and_an_ip_address_turns_passkeys_off() {
        match rp("https://Auth.Example.com/") {
            RelyingParty::On { rp_id, origin } => {
                assert_eq!(rp_id, "auth.example.com");
                assert_eq!(
                    origin.origin().ascii_serialization(),
                    "https://auth.example.com"
                );
            }
            off => panic!("{off:?}"),
        }
        match rp("http://localhost:8080/") {
            RelyingParty::On { rp_id, origin } => {
                assert_eq!(rp_id, "localhost");
                assert_eq!(
                    origin.origin().ascii_serialization(),
                    "http://localhost:8080"
                );
            }
            off => panic!("{off:?}"),
        }
        for ip in ["http://127.0.0.1:8080/", "http://[::1]:8080/"] {
            match rp(ip) {
                RelyingParty::Off { reason } => assert!(reason.contains("IP address"), "{reason}"),
                on => panic!("{ip}: {on:?}"),
            }
        }
    }
}

//! Sign-in with GitHub, Google and any OpenID Connect provider; linked
//! accounts; provider tokens kept encrypted and refreshed single-flight.

pub mod accounts;
pub mod config;
pub mod crypto;
pub mod flow;
pub mod http;
pub mod refresh;
pub mod state;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use openidconnect::core::CoreProviderMetadata;

use self::config::ProviderConfig;
use self::crypto::TokenCipher;
use self::http::ProviderHttp;

/// The origins the provider buttons' `303` may lead to (each configured
/// provider's authorization endpoint; for OpenID Connect without
/// `OIDC_AUTH_URL`, the issuer's origin, where providers serve it), for the
/// pages' `form-action`.
pub fn form_action_origins(providers: &[ProviderConfig]) -> Vec<String> {
    let mut origins: Vec<String> = Vec::new();
    for p in providers {
        let url = p
            .auth_url
            .clone()
            .or_else(|| p.issuer.as_deref().and_then(|i| url::Url::parse(i).ok()));
        if let Some(origin) = url.map(|u| u.origin()).filter(|o| o.is_tuple()) {
            let origin = origin.ascii_serialization();
            if !origins.contains(&origin) {
                origins.push(origin);
            }
        }
    }
    origins
}

/// Everything OAuth needs at run time, in `AppState`.
pub struct OAuth {
    pub providers: Vec<ProviderConfig>,
    pub cipher: TokenCipher,
    pub http: ProviderHttp,
    /// `GATEHOUSE_URL` without a trailing slash.
    base: String,
    discovered: Mutex<Option<(Instant, CoreProviderMetadata)>>,
}

impl std::fmt::Debug for OAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth")
            .field(
                "providers",
                &self.providers.iter().map(|p| p.id).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl OAuth {
    /// `timeout` bounds every provider call (a hung provider must not hold a
    /// blocking thread, or on SQLite a refresh lock, for long).
    pub fn new(
        providers: Vec<ProviderConfig>,
        cipher: TokenCipher,
        public_url: &url::Url,
        timeout: Duration,
    ) -> Self {
        OAuth {
            providers,
            cipher,
            http: ProviderHttp::new(timeout),
            base: public_url.as_str().trim_end_matches('/').to_string(),
            discovered: Mutex::new(None),
        }
    }

    pub fn provider(&self, id: &str) -> Option<&ProviderConfig> {
        self.providers.iter().find(|p| p.id == id)
    }

    /// The redirect URI to register with the provider.
    pub fn callback_url(&self, id: &str) -> String {
        format!("{}/api/auth/callback/{id}", self.base)
    }

    pub fn signin_url(&self, id: &str) -> String {
        format!("{}/api/auth/signin/{id}", self.base)
    }
}

#[cfg(test)]
mod proptests;

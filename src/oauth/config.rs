//! Provider settings from the environment (SPEC: `GITHUB_*`, `GOOGLE_*`, `OIDC_*`).

use url::Url;

use crate::config::{ConfigError, Secret, bad};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Github,
    Google,
    Oidc,
}

/// One enabled provider. Endpoints left `None` come from OpenID Connect
/// discovery (only the `oidc` provider has any).
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    pub id: &'static str,
    pub name: String,
    pub kind: Kind,
    pub client_id: String,
    pub client_secret: Secret,
    /// Exactly as configured: discovery compares it with the `issuer` the
    /// provider states, character for character.
    pub issuer: Option<String>,
    pub auth_url: Option<Url>,
    pub token_url: Option<Url>,
    pub userinfo_url: Option<Url>,
}

struct Names {
    id: &'static str,
    kind: Kind,
    client_id: &'static str,
    client_secret: &'static str,
    auth_url: &'static str,
    token_url: &'static str,
    userinfo_url: &'static str,
    defaults: Option<[&'static str; 3]>,
}

const PROVIDERS: [Names; 3] = [
    Names {
        id: "github",
        kind: Kind::Github,
        client_id: "GITHUB_CLIENT_ID",
        client_secret: "GITHUB_CLIENT_SECRET",
        auth_url: "GITHUB_AUTH_URL",
        token_url: "GITHUB_TOKEN_URL",
        userinfo_url: "GITHUB_USERINFO_URL",
        defaults: Some([
            "https://github.com/login/oauth/authorize",
            "https://github.com/login/oauth/access_token",
            "https://api.github.com/user",
        ]),
    },
    Names {
        id: "google",
        kind: Kind::Google,
        client_id: "GOOGLE_CLIENT_ID",
        client_secret: "GOOGLE_CLIENT_SECRET",
        auth_url: "GOOGLE_AUTH_URL",
        token_url: "GOOGLE_TOKEN_URL",
        userinfo_url: "GOOGLE_USERINFO_URL",
        defaults: Some([
            "https://accounts.google.com/o/oauth2/v2/auth",
            "https://oauth2.googleapis.com/token",
            "https://openidconnect.googleapis.com/v1/userinfo",
        ]),
    },
    Names {
        id: "oidc",
        kind: Kind::Oidc,
        client_id: "OIDC_CLIENT_ID",
        client_secret: "OIDC_CLIENT_SECRET",
        auth_url: "OIDC_AUTH_URL",
        token_url: "OIDC_TOKEN_URL",
        userinfo_url: "OIDC_USERINFO_URL",
        defaults: None,
    },
];

/// An endpoint: https, or http on a loopback host (a local fake in tests, a
/// provider on the same machine).
fn endpoint(variable: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let url =
        Url::parse(raw.trim()).map_err(|e| bad(variable, format!("`{raw}` is not a URL ({e})")))?;
    let loopback = matches!(
        url.host(),
        Some(url::Host::Domain("localhost"))
            | Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
            | Some(url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST))
    );
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(bad(
            variable,
            format!("`{raw}` must be an https URL (http only on a loopback host)"),
        )),
    }
}

pub fn from_lookup(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<ProviderConfig>, ConfigError> {
    let mut out = Vec::new();
    for n in &PROVIDERS {
        let issuer = match n.kind {
            Kind::Oidc => get("OIDC_ISSUER"),
            _ => None,
        };
        let (id, secret) = (get(n.client_id), get(n.client_secret));
        if id.is_none() && secret.is_none() && issuer.is_none() {
            continue;
        }
        // Each refusal names the variable that is set too, so an operator
        // who set one of the pair reads the name they wrote.
        let Some(client_id) = id else {
            let set = if secret.is_some() {
                n.client_secret
            } else {
                "OIDC_ISSUER"
            };
            return Err(bad(
                n.client_id,
                format!("must be set to enable {} ({set} is set)", n.id),
            ));
        };
        let Some(client_secret) = secret else {
            return Err(bad(
                n.client_secret,
                format!("must be set together with {}", n.client_id),
            ));
        };
        let issuer = match (n.kind, issuer) {
            (Kind::Oidc, None) => {
                return Err(bad(
                    "OIDC_ISSUER",
                    "must be set to enable oidc (OIDC_CLIENT_ID and OIDC_CLIENT_SECRET are set)",
                ));
            }
            (_, raw) => match raw {
                Some(r) => {
                    endpoint("OIDC_ISSUER", &r)?;
                    Some(r.trim().to_string())
                }
                None => None,
            },
        };
        let pick = |variable: &'static str, i: usize| -> Result<Option<Url>, ConfigError> {
            match (get(variable), n.defaults) {
                (Some(raw), _) => endpoint(variable, &raw).map(Some),
                (None, Some(d)) => endpoint(variable, d[i]).map(Some),
                (None, None) => Ok(None),
            }
        };
        let name = match n.kind {
            Kind::Github => "GitHub".to_string(),
            Kind::Google => "Google".to_string(),
            Kind::Oidc => get("OIDC_NAME").unwrap_or_else(|| {
                issuer
                    .as_deref()
                    .and_then(|raw| Url::parse(raw).ok())
                    .and_then(|u| u.host_str().map(str::to_string))
                    .unwrap_or_else(|| "OpenID Connect".into())
            }),
        };
        out.push(ProviderConfig {
            id: n.id,
            name,
            kind: n.kind,
            client_id,
            client_secret: Secret::new(client_secret.into_bytes()),
            issuer,
            auth_url: pick(n.auth_url, 0)?,
            token_url: pick(n.token_url, 1)?,
            userinfo_url: pick(n.userinfo_url, 2)?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(vars: &[(&str, &str)]) -> Result<Vec<ProviderConfig>, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        from_lookup(&|k| map.get(k).cloned())
    }

    #[test]
    fn providers_are_enabled_by_their_client_credentials() {
        assert!(parse(&[]).unwrap().is_empty());
        let p = parse(&[("GITHUB_CLIENT_ID", "a"), ("GITHUB_CLIENT_SECRET", "b")]).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].id, "github");
        assert_eq!(
            p[0].token_url.as_ref().unwrap().as_str(),
            "https://github.com/login/oauth/access_token"
        );
        let e = parse(&[("GOOGLE_CLIENT_ID", "a")]).unwrap_err();
        assert_eq!(e.variable, "GOOGLE_CLIENT_SECRET");
        let e = parse(&[("OIDC_CLIENT_ID", "a"), ("OIDC_CLIENT_SECRET", "b")]).unwrap_err();
        assert_eq!(e.variable, "OIDC_ISSUER");
    }

    #[test]
    fn the_pages_may_post_on_to_each_providers_authorization_origin() {
        let providers = parse(&[
            ("GITHUB_CLIENT_ID", "a"),
            ("GITHUB_CLIENT_SECRET", "b"),
            ("GOOGLE_CLIENT_ID", "a"),
            ("GOOGLE_CLIENT_SECRET", "b"),
            ("OIDC_CLIENT_ID", "a"),
            ("OIDC_CLIENT_SECRET", "b"),
            ("OIDC_ISSUER", "https://id.example.com/realms/main"),
        ])
        .unwrap();
        let origins = crate::oauth::form_action_origins(&providers);
        assert_eq!(
            origins,
            [
                "https://github.com",
                "https://accounts.google.com",
                "https://id.example.com"
            ]
        );
        let csp = crate::content_security_policy(&origins);
        let csp = csp.to_str().unwrap();
        assert!(
            csp.contains("form-action 'self' https://github.com https://accounts.google.com https://id.example.com;"),
            "{csp}"
        );
        let none = crate::content_security_policy(&[]);
        assert!(none.to_str().unwrap().contains("form-action 'self';"));
    }

    #[test]
    fn endpoints_must_be_https_except_on_loopback() {
        let base = [("GITHUB_CLIENT_ID", "a"), ("GITHUB_CLIENT_SECRET", "b")];
        let with = |k, v| {
            let mut vars = base.to_vec();
            vars.push((k, v));
            parse(&vars)
        };
        assert!(with("GITHUB_TOKEN_URL", "http://127.0.0.1:9/token").is_ok());
        assert_eq!(
            with("GITHUB_TOKEN_URL", "http://evil.example/token")
                .unwrap_err()
                .variable,
            "GITHUB_TOKEN_URL"
        );
        assert_eq!(
            with("GITHUB_AUTH_URL", "not a url").unwrap_err().variable,
            "GITHUB_AUTH_URL"
        );
    }
}

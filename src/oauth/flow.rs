//! The authorization-code flow against one provider: the URL to send the
//! browser to, and what the callback's code turns into (tokens and a profile).
//! Everything here blocks on the network: callers run it on blocking threads.
//! The protocol is the `oauth2` crate's, and ID tokens are checked by the
//! `openidconnect` crate (signature via JWKS, `iss`, `aud`, `exp`, `nonce`).

use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, Utc};
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{AccessTokenHash, IssuerUrl, Nonce, TokenResponse as _, UserInfoUrl};
use serde::Deserialize;

use super::OAuth;
use super::config::{Kind, ProviderConfig};
use super::http::ProviderHttp;

type OidcClient = CoreClient<
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointMaybeSet,
    oauth2::EndpointMaybeSet,
>;

/// Tokens from a token response.
#[derive(Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: Option<String>,
    pub expires_at: Option<NaiveDateTime>,
    pub scope: String,
    pub token_type: String,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// Who the provider says the user is.
#[derive(Debug, Clone)]
pub struct Profile {
    pub account_id: String,
    /// The address the provider asserts as verified, normalised; `None` when
    /// it gave none, an unverified one, or one the email rule refuses. Only
    /// this may create a user, pass the domain gate or link by email.
    pub email: Option<String>,
    /// The provider gave a usable address but did not assert it as verified
    /// (so the refusal can say why).
    pub email_unverified: bool,
    pub name: String,
    pub image: Option<String>,
    pub tokens: Tokens,
}

/// Why the code did not become a profile. Messages never carry tokens.
#[derive(Debug)]
pub enum FlowError {
    /// The provider could not be reached, timed out, or answered 5xx or junk.
    Provider(String),
    /// The provider refused (bad code, bad verifier, bad client secret).
    Refused(String),
    /// The ID token failed verification (signature, iss, aud, exp, nonce).
    IdToken(String),
}

impl FlowError {
    pub fn detail(&self) -> &str {
        match self {
            FlowError::Provider(d) | FlowError::Refused(d) | FlowError::IdToken(d) => d,
        }
    }
}

fn scopes(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Github => &["read:user", "user:email"],
        Kind::Google | Kind::Oidc => &["openid", "email", "profile"],
    }
}

/// The start of a flow: where to send the browser, and what to keep.
pub struct Start {
    pub url: String,
    pub state: String,
    pub pkce_verifier: String,
    pub nonce: String,
}

fn token_error<RE: std::error::Error>(
    e: RequestTokenError<RE, oauth2::StandardErrorResponse<BasicErrorResponseType>>,
) -> FlowError {
    match e {
        RequestTokenError::ServerResponse(r) => {
            FlowError::Refused(format!("the provider answered {}", r.error()))
        }
        RequestTokenError::Request(e) => FlowError::Provider(format!("token request: {e}")),
        RequestTokenError::Parse(e, _) => {
            FlowError::Provider(format!("malformed token answer: {e}"))
        }
        RequestTokenError::Other(e) => FlowError::Provider(format!("token request: {e}")),
    }
}

fn tokens_of<TT>(r: &impl TokenResponse<TokenType = TT>, requested: Kind) -> Tokens
where
    TT: oauth2::TokenType + AsRef<str>,
{
    let scope = match r.scopes() {
        Some(s) => s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "),
        None => scopes(requested).join(" "),
    };
    Tokens {
        access: r.access_token().secret().clone(),
        refresh: r.refresh_token().map(|t| t.secret().clone()),
        expires_at: r.expires_in().and_then(|d| {
            chrono::Duration::from_std(d)
                .ok()
                .map(|d| Utc::now().naive_utc() + d)
        }),
        scope,
        token_type: r.token_type().as_ref().to_ascii_lowercase(),
    }
}

impl OAuth {
    fn redirect_uri(&self, p: &ProviderConfig) -> RedirectUrl {
        RedirectUrl::new(self.callback_url(p.id)).expect("the public URL joins to a valid URL")
    }

    /// The provider's metadata, discovered from its issuer and cached for ten
    /// minutes; configured endpoint overrides win. The flag says whether it
    /// came from the cache.
    fn metadata(&self, p: &ProviderConfig) -> Result<(CoreProviderMetadata, bool), FlowError> {
        const FRESH: Duration = Duration::from_secs(600);
        if let Some((at, m)) = self.discovered.lock().expect("not poisoned").as_ref()
            && at.elapsed() < FRESH
        {
            return Ok((m.clone(), true));
        }
        let issuer = p
            .issuer
            .clone()
            .ok_or_else(|| FlowError::Provider("no issuer configured".into()))?;
        let issuer =
            IssuerUrl::new(issuer).map_err(|e| FlowError::Provider(format!("issuer: {e}")))?;
        let mut m = CoreProviderMetadata::discover(&issuer, &self.http)
            .map_err(|e| FlowError::Provider(format!("discovery: {e}")))?;
        if let Some(u) = &p.auth_url {
            m = m.set_authorization_endpoint(AuthUrl::from_url(u.clone()));
        }
        if let Some(u) = &p.token_url {
            m = m.set_token_endpoint(Some(TokenUrl::from_url(u.clone())));
        }
        if let Some(u) = &p.userinfo_url {
            m = m.set_userinfo_endpoint(Some(UserInfoUrl::from_url(u.clone())));
        }
        let endpoint = m
            .authorization_endpoint()
            .url()
            .origin()
            .ascii_serialization();
        if !super::form_action_origins(std::slice::from_ref(p)).contains(&endpoint) {
            log::warn!(
                "OIDC: the discovered authorization endpoint is on {endpoint}, not the issuer's origin; \
                 browsers will refuse the redirect (form-action): set OIDC_AUTH_URL to it"
            );
        }
        *self.discovered.lock().expect("not poisoned") = Some((Instant::now(), m.clone()));
        Ok((m, false))
    }

    fn forget_metadata(&self) {
        *self.discovered.lock().expect("not poisoned") = None;
    }

    /// The OIDC client, and whether its metadata (and JWKS) came from the cache.
    fn oidc_client(&self, p: &ProviderConfig) -> Result<(OidcClient, bool), FlowError> {
        let (m, cached) = self.metadata(p)?;
        let client = CoreClient::from_provider_metadata(
            m,
            ClientId::new(p.client_id.clone()),
            Some(ClientSecret::new(secret_of(p))),
        )
        .set_redirect_uri(self.redirect_uri(p));
        Ok((client, cached))
    }

    fn basic_client(
        &self,
        p: &ProviderConfig,
        token_url: TokenUrl,
    ) -> BasicClient<
        oauth2::EndpointSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    > {
        let auth = p
            .auth_url
            .clone()
            .unwrap_or_else(|| url::Url::parse("https://invalid.invalid/").expect("valid"));
        BasicClient::new(ClientId::new(p.client_id.clone()))
            .set_client_secret(ClientSecret::new(secret_of(p)))
            .set_auth_uri(AuthUrl::from_url(auth))
            .set_token_uri(token_url)
            .set_redirect_uri(self.redirect_uri(p))
    }

    /// The token endpoint (discovered for `oidc`).
    pub(super) fn token_url(&self, p: &ProviderConfig) -> Result<TokenUrl, FlowError> {
        match (&p.token_url, p.kind) {
            (Some(u), _) => Ok(TokenUrl::from_url(u.clone())),
            (None, Kind::Oidc) => self
                .metadata(p)?
                .0
                .token_endpoint()
                .cloned()
                .ok_or_else(|| FlowError::Provider("the issuer states no token endpoint".into())),
            (None, _) => Err(FlowError::Provider("no token endpoint configured".into())),
        }
    }

    /// Builds the authorization URL with `state`, PKCE (S256) and a nonce.
    pub fn start(&self, p: &ProviderConfig) -> Result<Start, FlowError> {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let scopes = scopes(p.kind).iter().map(|s| Scope::new(s.to_string()));
        let (url, state, nonce) = match p.kind {
            Kind::Oidc => {
                let (client, _) = self.oidc_client(p)?;
                let (url, state, nonce) = client
                    .authorize_url(
                        CoreAuthenticationFlow::AuthorizationCode,
                        CsrfToken::new_random,
                        Nonce::new_random,
                    )
                    .add_scopes(scopes)
                    .set_pkce_challenge(challenge)
                    .url();
                (url, state, nonce.secret().clone())
            }
            Kind::Github | Kind::Google => {
                let client = self.basic_client(p, self.token_url(p)?);
                let mut req = client
                    .authorize_url(CsrfToken::new_random)
                    .add_scopes(scopes)
                    .set_pkce_challenge(challenge);
                if p.kind == Kind::Google {
                    // A refresh token, so the app's token endpoint keeps working.
                    req = req
                        .add_extra_param("access_type", "offline")
                        .add_extra_param("prompt", "consent");
                }
                let (url, state) = req.url();
                (url, state, String::new())
            }
        };
        Ok(Start {
            url: url.to_string(),
            state: state.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            nonce,
        })
    }

    /// Exchanges the code (with the PKCE verifier) and reads the profile.
    pub fn finish(
        &self,
        p: &ProviderConfig,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<Profile, FlowError> {
        let code = AuthorizationCode::new(code.to_string());
        let verifier = PkceCodeVerifier::new(pkce_verifier.to_string());
        match p.kind {
            Kind::Oidc => self.finish_oidc(p, code, verifier, nonce),
            Kind::Github | Kind::Google => {
                let client = self.basic_client(p, self.token_url(p)?);
                let r = client
                    .exchange_code(code)
                    .set_pkce_verifier(verifier)
                    .request(&self.http)
                    .map_err(token_error)?;
                let tokens = tokens_of(&r, p.kind);
                let url = p
                    .userinfo_url
                    .as_ref()
                    .ok_or_else(|| FlowError::Provider("no user endpoint configured".into()))?;
                if p.kind == Kind::Github {
                    github_profile(&self.http, url, tokens)
                } else {
                    google_profile(&self.http, url, tokens)
                }
            }
        }
    }

    fn finish_oidc(
        &self,
        p: &ProviderConfig,
        code: AuthorizationCode,
        verifier: PkceCodeVerifier,
        nonce: &str,
    ) -> Result<Profile, FlowError> {
        let (mut client, cached) = self.oidc_client(p)?;
        let r = client
            .exchange_code(code)
            .map_err(|e| FlowError::Provider(format!("token endpoint: {e}")))?
            .set_pkce_verifier(verifier)
            .request(&self.http)
            .map_err(token_error)?;
        let id_token = r
            .id_token()
            .ok_or_else(|| FlowError::IdToken("the token answer has no ID token".into()))?;
        let nonce = Nonce::new(nonce.to_string());
        // Signature (JWKS), iss, aud, exp and nonce; then at_hash when present.
        let verify = |client: &OidcClient| -> Result<_, String> {
            let verifier = client.id_token_verifier();
            let claims = id_token
                .claims(&verifier, &nonce)
                .map_err(|e| e.to_string())?;
            if let Some(expected) = claims.access_token_hash() {
                let alg = id_token.signing_alg().map_err(|e| e.to_string())?;
                let key = id_token.signing_key(&verifier).map_err(|e| e.to_string())?;
                let actual = AccessTokenHash::from_token(r.access_token(), alg, key)
                    .map_err(|e| e.to_string())?;
                if actual != *expected {
                    return Err("at_hash does not match the access token".into());
                }
            }
            Ok(claims.clone())
        };
        let claims = match verify(&client) {
            Ok(c) => c,
            // Keys may have rotated since discovery was cached: fetch once more.
            Err(_) if cached => {
                self.forget_metadata();
                client = self.oidc_client(p)?.0;
                verify(&client).map_err(FlowError::IdToken)?
            }
            Err(e) => return Err(FlowError::IdToken(e)),
        };
        let tokens = tokens_of(&r, p.kind);
        let mut email = claims.email().map(|e| e.as_str().to_string());
        let mut verified = claims.email_verified().unwrap_or(false);
        let mut name = claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_string());
        let mut picture = claims
            .picture()
            .and_then(|n| n.get(None))
            .map(|u| u.as_str().to_string());
        let subject = claims.subject().clone();
        if email.is_none()
            && let Ok(req) = client.user_info(r.access_token().clone(), Some(subject.clone()))
        {
            {
                let info: CoreUserInfoClaims = req
                    .request(&self.http)
                    .map_err(|e| FlowError::Provider(format!("userinfo: {e}")))?;
                email = info.email().map(|e| e.as_str().to_string());
                verified = info.email_verified().unwrap_or(false);
                name = name.or_else(|| {
                    info.name()
                        .and_then(|n| n.get(None))
                        .map(|n| n.as_str().to_string())
                });
                picture = picture.or_else(|| {
                    info.picture()
                        .and_then(|n| n.get(None))
                        .map(|u| u.as_str().to_string())
                });
            }
        }
        Ok(profile(
            subject.as_str().to_string(),
            email,
            verified,
            name,
            picture,
            tokens,
        ))
    }

    /// Trades a refresh token for new tokens.
    pub fn refresh(&self, p: &ProviderConfig, refresh: &str) -> Result<Tokens, FlowError> {
        let client = self.basic_client(p, self.token_url(p)?);
        let r = client
            .exchange_refresh_token(&RefreshToken::new(refresh.to_string()))
            .request(&self.http)
            .map_err(token_error)?;
        Ok(tokens_of(&r, p.kind))
    }
}

fn secret_of(p: &ProviderConfig) -> String {
    String::from_utf8_lossy(p.client_secret.expose()).into_owned()
}

/// Cleans what a provider sent into what a new user row may hold.
fn profile(
    account_id: String,
    email: Option<String>,
    email_verified: bool,
    name: Option<String>,
    image: Option<String>,
    tokens: Tokens,
) -> Profile {
    let email = email.and_then(|e| crate::users::normalize_email(&e).ok());
    let email_unverified = email.is_some() && !email_verified;
    let email = email.filter(|_| email_verified);
    let name = name
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .or_else(|| {
            email
                .as_ref()
                .and_then(|e| e.split('@').next().map(str::to_string))
        })
        .unwrap_or_else(|| "New user".to_string());
    let name: String = name.chars().take(crate::users::MAX_NAME_CHARS).collect();
    let image = image.filter(|i| crate::users::validate_image(i).is_ok());
    Profile {
        account_id,
        email,
        email_unverified,
        name,
        image,
        tokens,
    }
}

#[derive(Deserialize)]
struct GithubUser {
    id: i64,
    login: String,
    name: Option<String>,
    email: Option<String>,
    avatar_url: Option<String>,
}

#[derive(Deserialize)]
struct GithubEmail {
    email: String,
    primary: bool,
    verified: bool,
}

/// GitHub: `/user`, and the verified primary email from `/user/emails` (the
/// profile's email is the public one, often empty). Only a primary address
/// marked `verified` counts; a secondary verified one does not stand in.
fn github_profile(
    http: &ProviderHttp,
    base: &url::Url,
    tokens: Tokens,
) -> Result<Profile, FlowError> {
    let user: GithubUser = http
        .get_json(base.as_str(), &tokens.access)
        .map_err(|e| FlowError::Provider(e.0))?;
    let emails_url = format!("{}/emails", base.as_str().trim_end_matches('/'));
    let (email, verified) = match http.get_json::<Vec<GithubEmail>>(&emails_url, &tokens.access) {
        Ok(list) => match list.into_iter().find(|e| e.primary) {
            Some(e) => (Some(e.email), e.verified),
            None => (None, false),
        },
        // Without the emails scope: the public email, not known to be verified.
        Err(_) => (user.email.clone(), false),
    };
    Ok(profile(
        user.id.to_string(),
        email,
        verified,
        user.name.or(Some(user.login)),
        user.avatar_url,
        tokens,
    ))
}

#[derive(Deserialize)]
struct GoogleUser {
    sub: String,
    email: Option<String>,
    /// Absent means not asserted, so not verified.
    #[serde(default, deserialize_with = "bool_or_string")]
    email_verified: bool,
    name: Option<String>,
    picture: Option<String>,
}

/// `true`, or the string `"true"` that some Google endpoints send; anything
/// else (including `null`) is not an assertion.
fn bool_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Bool(b) => b,
        serde_json::Value::String(s) => s == "true",
        _ => false,
    })
}

/// Google: the OpenID userinfo endpoint, read over TLS with the access token
/// just issued by Google's token endpoint (OpenID Connect Core 3.1.3.7 lets TLS
/// stand in for the ID token's signature when the token comes straight from
/// the token endpoint).
fn google_profile(
    http: &ProviderHttp,
    url: &url::Url,
    tokens: Tokens,
) -> Result<Profile, FlowError> {
    let u: GoogleUser = http
        .get_json(url.as_str(), &tokens.access)
        .map_err(|e| FlowError::Provider(e.0))?;
    Ok(profile(
        u.sub,
        u.email,
        u.email_verified,
        u.name,
        u.picture,
        tokens,
    ))
}

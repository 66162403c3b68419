//! A fake OAuth / OpenID Connect provider on loopback, for the OAuth stories:
//! authorize (redirects back with code and state, or `access_denied`), token
//! (checks the client secret, the redirect URI and the PKCE verifier; issues
//! access and rotating refresh tokens; counts refreshes), GitHub's `/user` and
//! `/user/emails`, userinfo, discovery, JWKS and RS256-signed ID tokens.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use openidconnect::core::{
    CoreIdToken, CoreIdTokenClaims, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
    CoreRsaPrivateSigningKey,
};
use openidconnect::{
    Audience, EmptyAdditionalClaims, EndUserEmail, IssuerUrl, JsonWebKeyId, Nonce,
    PrivateSigningKey, StandardClaims, SubjectIdentifier,
};
use sha2::{Digest, Sha256};

pub const CLIENT_ID: &str = "gatehouse-test-client";
pub const CLIENT_SECRET: &str = "fake-provider-client-secret";
const KEY: &str = include_str!("../fixtures/oidc_key.pem");
const FORGER_KEY: &str = include_str!("../fixtures/oidc_forger_key.pem");
const ROTATED_KEY: &str = include_str!("../fixtures/oidc_rotated_key.pem");

/// Who the next authorization signs in as.
#[derive(Clone, Debug)]
pub struct FakeUser {
    pub id: String,
    pub login: String,
    pub name: String,
    /// GitHub's public profile email (often `None`).
    pub public_email: Option<String>,
    /// `(email, primary, verified)` for GitHub's `/user/emails`; the first is
    /// the userinfo / ID token email.
    pub emails: Vec<(String, bool, bool)>,
    /// The ID token and userinfo leave `email_verified` out (no assertion).
    pub omit_email_verified: bool,
}

impl FakeUser {
    pub fn new(id: &str, name: &str, email: &str) -> Self {
        FakeUser {
            id: id.into(),
            login: name.to_lowercase().replace(' ', ""),
            name: name.into(),
            public_email: Some(email.into()),
            emails: vec![(email.into(), true, true)],
            omit_email_verified: false,
        }
    }

    /// The same user, whose provider says the email is not verified.
    pub fn unverified(mut self) -> Self {
        for e in &mut self.emails {
            e.2 = false;
        }
        self
    }
}

/// How the next ID token is made wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forgery {
    None,
    /// Signed by a key that is not in the JWKS.
    Signature,
    WrongAudience,
    WrongNonce,
    /// `at_hash` of another access token.
    AccessTokenHash,
}

/// How the token endpoint misbehaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    Status(u16),
    /// 200 with a body that is not JSON.
    Junk,
    /// Answers only after this long.
    Slow(Duration),
}

struct Grant {
    challenge: String,
    redirect_uri: String,
    nonce: Option<String>,
    user: FakeUser,
}

#[derive(Default)]
struct Inner {
    user: Option<FakeUser>,
    deny: bool,
    forgery: Option<Forgery>,
    codes: HashMap<String, Grant>,
    /// Valid refresh token → user.
    refresh: HashMap<String, FakeUser>,
    /// Valid access token → user.
    access: HashMap<String, FakeUser>,
    refuse_refresh: bool,
    token_failure: Option<Failure>,
    userinfo_junk: bool,
    rotated: bool,
    expires_in: i64,
    serial: usize,
}

pub struct Shared {
    inner: Mutex<Inner>,
    pub refresh_calls: AtomicUsize,
    pub token_calls: AtomicUsize,
    base: String,
}

pub struct FakeProvider {
    pub base: String,
    pub shared: Arc<Shared>,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        let _ = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(handle.stop(false));
        })
        .join();
    }
}

impl FakeProvider {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                expires_in: 3600,
                ..Default::default()
            }),
            refresh_calls: AtomicUsize::new(0),
            token_calls: AtomicUsize::new(0),
            base: base.clone(),
        });
        let data = web::Data::from(shared.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let system = actix_web::rt::System::new();
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(data.clone())
                    .route("/authorize", web::get().to(authorize))
                    .route("/token", web::post().to(token))
                    .route("/user", web::get().to(github_user))
                    .route("/user/emails", web::get().to(github_emails))
                    .route("/userinfo", web::get().to(userinfo))
                    .route(
                        "/.well-known/openid-configuration",
                        web::get().to(discovery),
                    )
                    .route("/jwks", web::get().to(jwks))
            })
            .workers(2)
            .listen(listener)
            .expect("listen")
            .run();
            tx.send(server.handle()).unwrap();
            let _ = system.block_on(server);
        });
        let handle = rx.recv().expect("fake provider started");
        FakeProvider {
            base,
            shared,
            handle,
        }
    }

    /// Settings that point `provider` (GITHUB, GOOGLE, OIDC) at this fake.
    pub fn vars(&self, provider: &str) -> Vec<(String, String)> {
        let b = &self.base;
        let mut v = vec![
            (format!("{provider}_CLIENT_ID"), CLIENT_ID.to_string()),
            (
                format!("{provider}_CLIENT_SECRET"),
                CLIENT_SECRET.to_string(),
            ),
        ];
        match provider {
            "OIDC" => {
                v.push(("OIDC_ISSUER".into(), b.clone()));
                v.push(("OIDC_NAME".into(), "Fake ID".into()));
            }
            _ => {
                v.push((format!("{provider}_AUTH_URL"), format!("{b}/authorize")));
                v.push((format!("{provider}_TOKEN_URL"), format!("{b}/token")));
                let info = if provider == "GITHUB" {
                    "user"
                } else {
                    "userinfo"
                };
                v.push((format!("{provider}_USERINFO_URL"), format!("{b}/{info}")));
            }
        }
        v
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.shared.inner.lock().unwrap())
    }

    pub fn sign_in_as(&self, user: FakeUser) {
        self.with(|i| i.user = Some(user));
    }

    pub fn deny_next(&self) {
        self.with(|i| i.deny = true);
    }

    pub fn forge_next(&self, f: Forgery) {
        self.with(|i| i.forgery = Some(f));
    }

    pub fn fail_token(&self, f: Option<Failure>) {
        self.with(|i| i.token_failure = f);
    }

    pub fn junk_userinfo(&self, junk: bool) {
        self.with(|i| i.userinfo_junk = junk);
    }

    /// Signs with a new key from now on, and publishes only that one.
    pub fn rotate_keys(&self) {
        self.with(|i| i.rotated = true);
    }

    pub fn refuse_refresh(&self) {
        self.with(|i| i.refuse_refresh = true);
    }

    pub fn refresh_calls(&self) -> usize {
        self.shared.refresh_calls.load(Ordering::SeqCst)
    }

    /// Whether `token` is an access token this fake issued and still honours.
    pub fn is_live_access_token(&self, token: &str) -> bool {
        self.with(|i| i.access.contains_key(token))
    }
}

fn query(req: &HttpRequest) -> HashMap<String, String> {
    serde_urlencoded::from_str(req.query_string()).unwrap_or_default()
}

async fn authorize(req: HttpRequest, s: web::Data<Shared>) -> HttpResponse {
    let q = query(&req);
    let redirect = q.get("redirect_uri").cloned().unwrap_or_default();
    let state = q.get("state").cloned().unwrap_or_default();
    let mut i = s.inner.lock().unwrap();
    let sep = if redirect.contains('?') { '&' } else { '?' };
    if std::mem::take(&mut i.deny) {
        let to = format!("{redirect}{sep}error=access_denied&state={state}");
        return HttpResponse::Found()
            .insert_header(("location", to))
            .finish();
    }
    if q.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || q.get("code_challenge_method").map(String::as_str) != Some("S256")
    {
        return HttpResponse::BadRequest().body("bad client or no PKCE S256");
    }
    let user = i.user.clone().expect("the test says who signs in");
    i.serial += 1;
    let code = format!("code-{}", i.serial);
    i.codes.insert(
        code.clone(),
        Grant {
            challenge: q.get("code_challenge").cloned().unwrap_or_default(),
            redirect_uri: redirect.clone(),
            nonce: q.get("nonce").cloned(),
            user,
        },
    );
    let to = format!("{redirect}{sep}code={code}&state={state}");
    HttpResponse::Found()
        .insert_header(("location", to))
        .finish()
}

fn oauth_error(code: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(serde_json::json!({"error": code}))
}

fn client_ok(req: &HttpRequest, form: &HashMap<String, String>) -> bool {
    let basic = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let expected = format!("{CLIENT_ID}:{CLIENT_SECRET}");
    match basic {
        Some(b) => b == expected,
        None => {
            form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
                && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET)
        }
    }
}

fn issue(i: &mut Inner, s: &Shared, user: &FakeUser, nonce: Option<&str>) -> serde_json::Value {
    i.serial += 1;
    let access = format!("at-{}-{}", user.id, i.serial);
    let refresh = format!("rt-{}-{}", user.id, i.serial);
    i.access.insert(access.clone(), user.clone());
    i.refresh.insert(refresh.clone(), user.clone());
    let mut body = serde_json::json!({
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "bearer",
        "expires_in": i.expires_in,
        "scope": "openid email profile",
    });
    if let Some(nonce) = nonce {
        let forgery = i.forgery.take().unwrap_or(Forgery::None);
        let key = if i.rotated { ROTATED_KEY } else { KEY };
        let signed = id_token(s, user, nonce, forgery, key, &access);
        body["id_token"] = serde_json::Value::String(signed);
    }
    body
}

fn signing_key(pem: &str) -> CoreRsaPrivateSigningKey {
    CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new("test-key".into())))
        .expect("fixture key")
}

fn id_token(
    s: &Shared,
    user: &FakeUser,
    nonce: &str,
    forgery: Forgery,
    key: &str,
    access: &str,
) -> String {
    let now = chrono::Utc::now();
    let audience = if forgery == Forgery::WrongAudience {
        "someone-else"
    } else {
        CLIENT_ID
    };
    let nonce = if forgery == Forgery::WrongNonce {
        "not-the-nonce"
    } else {
        nonce
    };
    let email = user.emails.first().map(|e| e.0.clone());
    let verified = match user.omit_email_verified {
        true => None,
        false => Some(user.emails.first().is_some_and(|e| e.2)),
    };
    let claims = CoreIdTokenClaims::new(
        IssuerUrl::new(s.base.clone()).unwrap(),
        vec![Audience::new(audience.into())],
        now + chrono::Duration::minutes(5),
        now,
        StandardClaims::new(SubjectIdentifier::new(user.id.clone()))
            .set_email(email.map(EndUserEmail::new))
            .set_email_verified(verified)
            .set_name(Some(
                openidconnect::EndUserName::new(user.name.clone()).into(),
            )),
        EmptyAdditionalClaims {},
    )
    .set_nonce(Some(Nonce::new(nonce.into())));
    let key = signing_key(if forgery == Forgery::Signature {
        FORGER_KEY
    } else {
        key
    });
    let hashed = if forgery == Forgery::AccessTokenHash {
        "another-token"
    } else {
        access
    };
    let hashed = openidconnect::AccessToken::new(hashed.to_string());
    let token = CoreIdToken::new(
        claims,
        &key,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        Some(&hashed),
        None,
    )
    .expect("sign");
    token.to_string()
}

async fn token(
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
    s: web::Data<Shared>,
) -> HttpResponse {
    s.token_calls.fetch_add(1, Ordering::SeqCst);
    let failure = s.inner.lock().unwrap().token_failure;
    match failure {
        Some(Failure::Status(code)) => {
            let status = actix_web::http::StatusCode::from_u16(code).unwrap();
            return HttpResponse::build(status).body("<html>upstream trouble</html>");
        }
        Some(Failure::Junk) => {
            return HttpResponse::Ok()
                .content_type("application/json")
                .body("{\"access_token\": ");
        }
        Some(Failure::Slow(d)) => actix_web::rt::time::sleep(d).await,
        None => {}
    }
    let form = form.into_inner();
    if !client_ok(&req, &form) {
        return HttpResponse::Unauthorized().json(serde_json::json!({"error": "invalid_client"}));
    }
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let mut i = s.inner.lock().unwrap();
            let code = form.get("code").cloned().unwrap_or_default();
            let Some(grant) = i.codes.remove(&code) else {
                return oauth_error("invalid_grant");
            };
            let verifier = form.get("code_verifier").cloned().unwrap_or_default();
            let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if challenge != grant.challenge || form.get("redirect_uri") != Some(&grant.redirect_uri)
            {
                return oauth_error("invalid_grant");
            }
            let body = issue(&mut i, &s, &grant.user, grant.nonce.as_deref());
            HttpResponse::Ok().json(body)
        }
        Some("refresh_token") => {
            s.refresh_calls.fetch_add(1, Ordering::SeqCst);
            // Slow, as real providers are: concurrent callers overlap.
            actix_web::rt::time::sleep(Duration::from_millis(200)).await;
            let mut i = s.inner.lock().unwrap();
            if i.refuse_refresh {
                return oauth_error("invalid_grant");
            }
            let presented = form.get("refresh_token").cloned().unwrap_or_default();
            // Rotation: a refresh token works once.
            let Some(user) = i.refresh.remove(&presented) else {
                return oauth_error("invalid_grant");
            };
            let body = issue(&mut i, &s, &user, None);
            HttpResponse::Ok().json(body)
        }
        _ => oauth_error("unsupported_grant_type"),
    }
}

fn bearer_user(req: &HttpRequest, s: &Shared) -> Option<FakeUser> {
    let token = req
        .headers()
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?
        .to_string();
    s.inner.lock().unwrap().access.get(&token).cloned()
}

fn junk(s: &Shared) -> Option<HttpResponse> {
    s.inner.lock().unwrap().userinfo_junk.then(|| {
        HttpResponse::Ok()
            .content_type("application/json")
            .body("[not json")
    })
}

async fn github_user(req: HttpRequest, s: web::Data<Shared>) -> HttpResponse {
    if let Some(j) = junk(&s) {
        return j;
    }
    let Some(u) = bearer_user(&req, &s) else {
        return HttpResponse::Unauthorized().finish();
    };
    HttpResponse::Ok().json(serde_json::json!({
        "id": u.id.parse::<i64>().unwrap_or(1),
        "login": u.login,
        "name": u.name,
        "email": u.public_email,
        "avatar_url": format!("https://avatars.example/{}", u.id),
    }))
}

async fn github_emails(req: HttpRequest, s: web::Data<Shared>) -> HttpResponse {
    let Some(u) = bearer_user(&req, &s) else {
        return HttpResponse::Unauthorized().finish();
    };
    let list: Vec<_> = u
        .emails
        .iter()
        .map(|(e, p, v)| serde_json::json!({"email": e, "primary": p, "verified": v}))
        .collect();
    HttpResponse::Ok().json(list)
}

async fn userinfo(req: HttpRequest, s: web::Data<Shared>) -> HttpResponse {
    if let Some(j) = junk(&s) {
        return j;
    }
    let Some(u) = bearer_user(&req, &s) else {
        return HttpResponse::Unauthorized().finish();
    };
    let (email, verified) = u
        .emails
        .first()
        .map(|(e, _, v)| (Some(e.clone()), *v))
        .unwrap_or((None, false));
    let mut info = serde_json::json!({
        "sub": u.id, "email": email, "email_verified": verified, "name": u.name,
    });
    if u.omit_email_verified {
        info.as_object_mut().unwrap().remove("email_verified");
    }
    HttpResponse::Ok().json(info)
}

async fn discovery(s: web::Data<Shared>) -> HttpResponse {
    let b = &s.base;
    HttpResponse::Ok().json(serde_json::json!({
        "issuer": b,
        "authorization_endpoint": format!("{b}/authorize"),
        "token_endpoint": format!("{b}/token"),
        "userinfo_endpoint": format!("{b}/userinfo"),
        "jwks_uri": format!("{b}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn jwks(s: web::Data<Shared>) -> HttpResponse {
    let key = if s.inner.lock().unwrap().rotated {
        ROTATED_KEY
    } else {
        KEY
    };
    let set = CoreJsonWebKeySet::new(vec![signing_key(key).as_verification_key()]);
    HttpResponse::Ok().json(set)
}

/// Starts at gatehouse, goes through the fake provider, and answers the
/// callback's answer.
pub fn through_provider(
    b: &super::Browser,
    provider: &str,
    fields: &[(&str, &str)],
) -> super::Page {
    let start = b.submit(&b.at(&format!("/api/auth/signin/{provider}")), fields);
    assert_eq!(start.status, 303, "start: {}", start.body);
    let at_provider = b.follow(&start);
    assert_eq!(at_provider.status, 302, "provider: {}", at_provider.body);
    b.follow(&at_provider)
}

//! OAuth routes: the provider list, the start (`POST /api/auth/signin/<p>`)
//! and the return (`GET /api/auth/callback/<p>`). A linked account's token
//! and unlinking are in [`super::oauth_accounts`].

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::{Deserialize, Serialize};

use super::{Head, callback, render, see_other};
use crate::AppState;
use crate::audit::{self, Event, action};
use crate::auth::gate;
use crate::error::{AppError, PageError};
use crate::i18n::Msg;
use crate::oauth::accounts::{self, Outcome};
use crate::oauth::flow::FlowError;
use crate::oauth::state::{self, Pending, Rejected};
use crate::session::extract::{MaybeUser, device_of};
use crate::session::token::PlainToken;

#[derive(Serialize)]
struct ProviderView<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "signinUrl")]
    signin_url: String,
    #[serde(rename = "callbackUrl")]
    callback_url: String,
}

/// `GET /api/auth/providers`: `{"<id>": {id, name, type, signinUrl, callbackUrl}}`.
pub async fn providers(state: web::Data<AppState>) -> HttpResponse {
    let o = &state.oauth;
    let map: serde_json::Map<String, serde_json::Value> = o
        .providers
        .iter()
        .map(|p| {
            let view = ProviderView {
                id: p.id,
                name: &p.name,
                kind: match p.kind {
                    crate::oauth::config::Kind::Oidc => "oidc",
                    _ => "oauth",
                },
                signin_url: o.signin_url(p.id),
                callback_url: o.callback_url(p.id),
            };
            (
                p.id.to_string(),
                serde_json::to_value(view).unwrap_or_default(),
            )
        })
        .collect();
    HttpResponse::Ok().json(map)
}

/// A page that says why an OAuth sign-in did not happen.
#[derive(Template)]
#[template(path = "oauth_error.html")]
struct OAuthErrorPage {
    head: Head,
    title: &'static str,
    message: Msg,
}

pub(super) fn failure(
    req: &HttpRequest,
    viewer: &MaybeUser,
    status: StatusCode,
    title: &'static str,
    message: impl Into<Msg>,
) -> Result<HttpResponse, PageError> {
    render(
        status,
        &OAuthErrorPage {
            head: Head::new(viewer.0.as_ref(), None, req),
            title,
            message: message.into(),
        },
    )
}

#[derive(Deserialize)]
pub struct StartForm {
    #[serde(default, rename = "callbackUrl")]
    callback_url: Option<String>,
    /// `link`: attach the provider to the signed-in user (from Settings).
    #[serde(default)]
    intent: Option<String>,
}

/// The cookie that binds a flow to this browser (`state` alone could be
/// replayed from another browser that saw the provider URL).
fn binding_of(req: &HttpRequest, state: &AppState) -> Option<String> {
    req.cookie(&state.cookies.oauth_name)
        .map(|c| c.value().to_string())
        .filter(|v| {
            v.len() == 43
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// `POST /api/auth/signin/<provider>`: 303 to the provider.
pub async fn start(
    req: HttpRequest,
    path: web::Path<String>,
    form: Option<web::Form<StartForm>>,
    viewer: MaybeUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    let Some(provider) = state.oauth.provider(&id).cloned() else {
        return Err(AppError::NotFound.into());
    };
    let form = form.map(|f| f.into_inner()).unwrap_or(StartForm {
        callback_url: None,
        intent: None,
    });
    let link_user_id = match form.intent.as_deref() {
        Some("link") => match &viewer.0 {
            Some(s) => {
                crate::auth::guard::refuse_while_impersonating(&req, s, "provider_link").await?;
                Some(s.user.id)
            }
            None => {
                let back = state.config.mount.join("/settings");
                return Err(AppError::SignInRequired(back).into());
            }
        },
        _ => None,
    };
    let callback_url = match link_user_id {
        Some(_) => state.config.mount.join("/settings?saved=linked"),
        None => callback::sanitize(form.callback_url.as_deref(), &state.config.public_url),
    };
    let st = state.clone();
    let started = web::block(move || st.oauth.start(&provider)).await?;
    let started = match started {
        Ok(s) => s,
        Err(e) => {
            log::warn!("oauth {id}: cannot start: {}", e.detail());
            return failure(
                &req,
                &viewer,
                StatusCode::BAD_GATEWAY,
                "oauth-title-unavailable",
                Msg::key("oauth-unreachable"),
            );
        }
    };
    let binding = binding_of(&req, &state).unwrap_or_else(|| PlainToken::generate().expose());
    let pending = Pending {
        provider: id,
        pkce_verifier: started.pkce_verifier,
        nonce: started.nonce,
        callback_url,
        link_user_id,
    };
    let (st, state_value, b) = (state.clone(), started.state, binding.clone());
    state
        .db
        .run(move |conn| {
            Ok(state::save(
                conn,
                &st.oauth.cipher,
                &state_value,
                &b,
                &pending,
            )?)
        })
        .await?;
    let cookie = state.cookies.cookie(
        &state.cookies.oauth_name,
        binding,
        std::time::Duration::from_secs(state::LIFETIME_SECS as u64),
    );
    let mut res = see_other(&started.url);
    res.add_cookie(&cookie)
        .map_err(|e| AppError::Internal(format!("cookie: {e}")))?;
    Ok(res)
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /api/auth/callback/<provider>`.
pub async fn finish(
    req: HttpRequest,
    path: web::Path<String>,
    query: Option<web::Query<CallbackQuery>>,
    session: Session,
    viewer: MaybeUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    let Some(provider) = state.oauth.provider(&id).cloned() else {
        return Err(AppError::NotFound.into());
    };
    let Some(q) = query.map(|q| q.into_inner()) else {
        return failure(
            &req,
            &viewer,
            StatusCode::BAD_REQUEST,
            "oauth-title-failed",
            Msg::key("oauth-unreadable"),
        );
    };
    let Some(state_value) = q.state.filter(|s| !s.is_empty() && s.len() <= 512) else {
        return failure(
            &req,
            &viewer,
            StatusCode::BAD_REQUEST,
            "oauth-title-failed",
            Msg::key("oauth-no-state"),
        );
    };
    let binding = binding_of(&req, &state);
    let (st, pid) = (state.clone(), id.clone());
    let taken = state
        .db
        .run(move |conn| {
            Ok(state::take(
                conn,
                &st.oauth.cipher,
                &pid,
                &state_value,
                binding.as_deref(),
            )?)
        })
        .await?;
    let pending = match taken {
        Ok(p) => p,
        Err(why) => {
            let message = match why {
                Rejected::Expired => "oauth-expired",
                Rejected::OtherBrowser => "oauth-other-browser",
                Rejected::Unknown => "oauth-unknown-state",
            };
            return failure(
                &req,
                &viewer,
                StatusCode::BAD_REQUEST,
                "oauth-title-failed",
                Msg::key(message),
            );
        }
    };
    if let Some(error) = q.error {
        let message = if error == "access_denied" {
            "oauth-cancelled"
        } else {
            "oauth-provider-error"
        };
        return failure(
            &req,
            &viewer,
            StatusCode::FORBIDDEN,
            "oauth-title-not-signed-in",
            Msg::key(message),
        );
    }
    let Some(code) = q.code.filter(|c| !c.is_empty() && c.len() <= 2048) else {
        return failure(
            &req,
            &viewer,
            StatusCode::BAD_REQUEST,
            "oauth-title-failed",
            Msg::key("oauth-no-code"),
        );
    };
    let (st, p) = (state.clone(), provider.clone());
    let (verifier, nonce) = (pending.pkce_verifier.clone(), pending.nonce.clone());
    let profile = match web::block(move || st.oauth.finish(&p, &code, &verifier, &nonce)).await? {
        Ok(p) => p,
        Err(e) => {
            log::warn!("oauth {id}: sign-in failed: {}", e.detail());
            return match e {
                FlowError::Provider(_) => failure(
                    &req,
                    &viewer,
                    StatusCode::BAD_GATEWAY,
                    "oauth-title-unavailable",
                    Msg::key("oauth-bad-answer"),
                ),
                FlowError::Refused(_) => failure(
                    &req,
                    &viewer,
                    StatusCode::BAD_REQUEST,
                    "oauth-title-failed",
                    Msg::key("oauth-refused"),
                ),
                FlowError::IdToken(_) => failure(
                    &req,
                    &viewer,
                    StatusCode::BAD_REQUEST,
                    "oauth-title-failed",
                    Msg::key("oauth-id-token"),
                ),
            };
        }
    };
    if pending.link_user_id.is_some()
        && let Some(s) = &viewer.0
    {
        crate::auth::guard::refuse_while_impersonating(&req, s, "provider_link").await?;
    }
    let linking = pending
        .link_user_id
        .map(|starter| (starter, viewer.0.as_ref().map(|s| s.user.id)));
    let auto_link = state.config.oauth_link_verified_email;
    let rules = state.sign_in_rules();
    // `profile.email` is the verified address only: an unverified one never
    // passes this gate (resolve refuses it for a new user or a link).
    if linking.is_none()
        && let Some(email) = &profile.email
        && !gate::domain_allowed(email, &rules.domains)
    {
        return failure(
            &req,
            &viewer,
            StatusCode::FORBIDDEN,
            "oauth-title-not-signed-in",
            gate::Refusal::Domain.msg(),
        );
    }
    let (st, pid) = (state.clone(), id.clone());
    // A new user's preference: the language the browser asks for.
    let language = crate::i18n::Lang::negotiate(None, super::lang::accept_language(&req)).code();
    let decided = state
        .db
        .run(move |conn| {
            let resolve = |conn: &mut crate::db::DbConn| {
                accounts::resolve(
                    conn,
                    &st.oauth.cipher,
                    &pid,
                    &profile,
                    linking,
                    auto_link,
                    language,
                )
            };
            // Two first sign-ins of one new user at once: the loser of the
            // unique index tries again and finds the winner's account.
            let outcome = match resolve(conn) {
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => resolve(conn)?,
                other => other?,
            };
            let refusal = match (&outcome, linking) {
                (Outcome::User(uid), None) => gate::check(
                    conn,
                    *uid,
                    &rules,
                    crate::hooks::SignInMethod::Provider(pid.clone()),
                )?
                .err(),
                _ => None,
            };
            Ok((outcome, refusal))
        })
        .await?;
    let name = provider.name.clone();
    match decided {
        (_, Some(refusal)) => failure(
            &req,
            &viewer,
            StatusCode::FORBIDDEN,
            "oauth-title-not-signed-in",
            refusal.msg(),
        ),
        (Outcome::User(uid), None) => {
            let device = device_of(&req);
            let (what, pid) = match linking {
                None => (action::SIGN_IN, id.clone()),
                Some(_) => (action::PROVIDER_LINKED, id.clone()),
            };
            let details = serde_json::json!({"method": pid});
            if linking.is_none() {
                // The sign-in event commits with the new session (or the
                // second step starts, for a user with two factors on).
                let mut res = super::two_factor_signin::sign_in(
                    &state,
                    &session,
                    uid,
                    device,
                    details,
                    &pending.callback_url,
                )
                .await?;
                let _ = res.add_cookie(&state.cookies.removal(&state.cookies.oauth_name));
                return Ok(res);
            } else {
                audit::after(&state.db, device, move |conn, d| {
                    audit::record(conn, Event::by(uid, what, d).details(details))
                })
                .await;
                // A provider-verified address may now count as verified.
                state.events.user_changed(uid).await;
            }
            let mut res = see_other(&pending.callback_url);
            let _ = res.add_cookie(&state.cookies.removal(&state.cookies.oauth_name));
            Ok(res)
        }
        (Outcome::NoEmail, _) => failure(
            &req,
            &viewer,
            StatusCode::FORBIDDEN,
            "oauth-title-not-signed-in",
            Msg::key("oauth-no-email").with("provider", &name),
        ),
        (Outcome::EmailUnverified, _) => failure(
            &req,
            &viewer,
            StatusCode::FORBIDDEN,
            "oauth-title-unverified",
            Msg::key("oauth-email-unverified").with("provider", &name),
        ),
        (Outcome::EmailInUse, _) => failure(
            &req,
            &viewer,
            StatusCode::CONFLICT,
            "oauth-title-exists",
            Msg::key("oauth-email-in-use").with("provider", &name),
        ),
        (Outcome::LinkedElsewhere, _) => failure(
            &req,
            &viewer,
            StatusCode::CONFLICT,
            "oauth-title-linked",
            Msg::key("oauth-linked-elsewhere").with("provider", &name),
        ),
        (Outcome::AlreadyLinked, _) => failure(
            &req,
            &viewer,
            StatusCode::CONFLICT,
            "oauth-title-linked",
            Msg::key("oauth-already-linked").with("provider", &name),
        ),
        (Outcome::LinkSessionChanged, _) => failure(
            &req,
            &viewer,
            StatusCode::FORBIDDEN,
            "oauth-title-not-linked",
            Msg::key("oauth-link-session-changed"),
        ),
    }
}

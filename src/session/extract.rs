//! Extractors over this request's session lookup ([`super::callback`]): the
//! signed-in user as handlers see it; and how a sign-in starts a session.

use actix_session::Session;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use chrono::{DateTime, Utc};
use futures_util::future::LocalBoxFuture;

use super::Device;
use super::callback::Lookup;
use super::store::keys;
use crate::error::{AppError, PageError};
use crate::users::SessionUser;

/// A live session and its user, fresh from the database for this request.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The session's id (not its token: the cookie's token is never kept).
    pub session_id: i64,
    /// The user, as their row says on this request.
    pub user: SessionUser,
    /// When the session ends unless it is used (and extended) before.
    pub expires_at: DateTime<Utc>,
    /// The admin acting as this user (impersonation), if any.
    pub impersonator_id: Option<i64>,
    /// Pages ask this user to verify their address: it is not verified and
    /// `EMAIL_VERIFICATION` is not `off`.
    pub verification_pending: bool,
    /// When the session was signed in, or re-confirmed at `/reauth`.
    pub authenticated_at: DateTime<Utc>,
    /// 1: one factor; 2: two factors or a passkey.
    pub aal: i32,
    /// Fields the app's enrichment hook added for this request
    /// ([`crate::hooks::Callbacks::enrich_session`]); empty without one.
    pub app: crate::hooks::AppFields,
}

impl SignedIn {
    /// The signed-in view of a loaded session.
    pub fn from_loaded(loaded: super::LoadedSession, verification_pending: bool) -> Self {
        SignedIn {
            session_id: loaded.session_id,
            user: loaded.user,
            expires_at: loaded.expires_at,
            impersonator_id: loaded.impersonator_id,
            verification_pending,
            authenticated_at: loaded.authenticated_at,
            aal: loaded.aal,
            app: Default::default(),
        }
    }

    /// Who an audit event of this request names as (actor, target): the user
    /// themselves, or while impersonating the admin acting on the user. Every
    /// handler that records what the signed-in user did takes them from here.
    pub fn audit_parties(&self) -> (i64, i64) {
        (self.impersonator_id.unwrap_or(self.user.id), self.user.id)
    }
}

/// This request's session: `Ok(None)` is anonymous.
pub async fn read_session(req: &HttpRequest) -> Outcome {
    match super::callback::current(req).await {
        Lookup::Live(loaded) => {
            let state = req.app_data::<actix_web::web::Data<crate::AppState>>();
            let pending = !loaded.user.email_verified
                && state.is_some_and(|s| s.config.email_verification.is_on());
            let mut view = SignedIn::from_loaded(loaded.as_ref().clone(), pending);
            if let Some(state) = state {
                view.app = enriched(req, state, &view).await?;
            }
            Ok(Some(view))
        }
        Lookup::Anonymous => Ok(None),
        Lookup::Unavailable => Err(AppError::Unavailable),
    }
}

/// This request's enrichment, run once and kept in the request.
struct Enriched(crate::hooks::AppFields);

/// The app's fields for `view`: none without an enrichment hook; otherwise
/// what its future answered, once per request.
async fn enriched(
    req: &HttpRequest,
    state: &crate::AppState,
    view: &SignedIn,
) -> Result<crate::hooks::AppFields, AppError> {
    use actix_web::HttpMessage;
    if let Some(Enriched(known)) = req.extensions().get::<Enriched>() {
        return Ok(known.clone());
    }
    let Some(fields) = ask_hook(state, view).await? else {
        return Ok(Default::default());
    };
    req.extensions_mut().insert(Enriched(fields.clone()));
    Ok(fields)
}

/// What the enrichment hook answers for `view`; `None` without one.
async fn ask_hook(
    state: &crate::AppState,
    view: &SignedIn,
) -> Result<Option<crate::hooks::AppFields>, AppError> {
    let Some(future) = state.hooks.enrich(view, &state.db) else {
        return Ok(None);
    };
    future.await.map(Some).map_err(|e| {
        log::warn!("the app's session enrichment failed: {e}");
        AppError::Unavailable
    })
}

/// The app's fields for `view`, asked now (a view made by the handler
/// itself, such as the fresh session after an update).
pub async fn app_fields(
    state: &crate::AppState,
    view: &SignedIn,
) -> Result<crate::hooks::AppFields, AppError> {
    Ok(ask_hook(state, view).await?.unwrap_or_default())
}

/// What the lookup found: `Ok(None)` is anonymous.
type Outcome = Result<Option<SignedIn>, AppError>;

/// The future of an extractor: the session lookup, then `map` of its outcome.
fn extract<T: 'static, E: 'static>(
    req: &HttpRequest,
    map: fn(Outcome, &HttpRequest) -> Result<T, E>,
) -> LocalBoxFuture<'static, Result<T, E>> {
    let req = req.clone();
    Box::pin(async move {
        let outcome = read_session(&req).await;
        map(outcome, &req)
    })
}

/// Anonymous or signed in, for JSON routes (503 as JSON).
pub struct MaybeUser(pub Option<SignedIn>);

impl FromRequest for MaybeUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        extract(req, |outcome, _| outcome.map(MaybeUser))
    }
}

/// Signed in, for JSON routes: 401 otherwise.
pub struct ApiUser(pub SignedIn);

impl FromRequest for ApiUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        extract(req, |outcome, _| {
            outcome.and_then(|s| s.map(ApiUser).ok_or(AppError::Unauthorized))
        })
    }
}

/// Anonymous or signed in, for pages (503 as a page).
pub struct PageViewer(pub Option<SignedIn>);

impl FromRequest for PageViewer {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        extract(req, |outcome, _| outcome.map(PageViewer).map_err(PageError))
    }
}

/// Signed in, for pages: anonymous visitors are sent to `/signin?callbackUrl=…`.
pub struct PageUser(pub SignedIn);

impl FromRequest for PageUser {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        extract(req, |outcome, req| match outcome {
            Ok(Some(s)) => Ok(PageUser(s)),
            Ok(None) => Err(PageError(AppError::SignInRequired(
                crate::web::callback::here(req),
            ))),
            Err(e) => Err(PageError(e)),
        })
    }
}

/// The device a request comes from, as recorded on a new session.
pub fn device_of(req: &HttpRequest) -> Device {
    Device {
        user_agent: req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned(),
        ip: client_ip(req).map(|ip| ip.to_string()).unwrap_or_default(),
    }
}

/// The client's address: the peer's, unless the peer is a trusted proxy
/// (`GATEHOUSE_TRUSTED_PROXIES`); then the right-most `X-Forwarded-For` entry
/// that is not itself a trusted proxy. Left-most entries are the client's to
/// write, so they are never believed on their own.
pub fn client_ip(req: &HttpRequest) -> Option<std::net::IpAddr> {
    let peer = req.peer_addr()?.ip();
    let trusted = req
        .app_data::<actix_web::web::Data<crate::AppState>>()
        .map(|s| s.config.trusted_proxies.as_slice())
        .unwrap_or(&[]);
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .map(|v| v.as_bytes());
    Some(forwarded_client(peer, forwarded, trusted))
}

/// [`client_ip`] without the request: `peer` and the raw `X-Forwarded-For`
/// values in order. An unreadable header or entry means the chain cannot be
/// believed at all, so the answer is the peer.
pub fn forwarded_client<'a>(
    peer: std::net::IpAddr,
    forwarded: impl IntoIterator<Item = &'a [u8]>,
    trusted: &[ipnet::IpNet],
) -> std::net::IpAddr {
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut hops: Vec<std::net::IpAddr> = Vec::new();
    for value in forwarded {
        let Ok(text) = std::str::from_utf8(value) else {
            return peer;
        };
        for part in text.split(',') {
            match part.trim().parse() {
                Ok(ip) => hops.push(ip),
                Err(_) => return peer,
            }
        }
    }
    hops.into_iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .unwrap_or(peer)
}

/// Starts a fresh session for `user_id` on this response: the old token (if any)
/// is deleted and a new one issued, so a session id is never carried across a
/// sign-in (no fixation). `aal`: the new session's assurance level (1 for a
/// one-factor sign-in; a session that replaces one keeps that one's).
pub fn begin_session(
    session: &Session,
    user_id: i64,
    device: &Device,
    aal: i32,
) -> Result<(), AppError> {
    begin_session_as(session, user_id, device, None, aal)
}

/// [`begin_session`], with an audit event written in the same transaction as
/// the new session row.
pub fn begin_session_audited(
    session: &Session,
    user_id: i64,
    device: &Device,
    aal: i32,
    action: &'static str,
    details: serde_json::Value,
) -> Result<(), AppError> {
    begin_session_as(session, user_id, device, None, aal)?;
    session
        .insert(
            keys::NEW_AUDIT,
            crate::audit::Pending {
                action: action.to_string(),
                details,
            },
        )
        .map_err(|e| AppError::Internal(format!("session state: {e}")))
}

/// [`begin_session`], for an admin acting as `user_id` when `impersonator` is set.
pub fn begin_session_as(
    session: &Session,
    user_id: i64,
    device: &Device,
    impersonator: Option<i64>,
    aal: i32,
) -> Result<(), AppError> {
    session.clear();
    session.renew();
    let failed =
        |e: actix_session::SessionInsertError| AppError::Internal(format!("session state: {e}"));
    session.insert(keys::NEW_USER_ID, user_id).map_err(failed)?;
    session
        .insert(keys::NEW_USER_AGENT, &device.user_agent)
        .map_err(failed)?;
    session.insert(keys::NEW_IP, &device.ip).map_err(failed)?;
    session.insert(keys::NEW_AAL, aal).map_err(failed)?;
    if let Some(admin) = impersonator {
        session
            .insert(keys::NEW_IMPERSONATOR, admin)
            .map_err(failed)?;
    }
    Ok(())
}

/// Hands this response a session row the handler created itself, in the
/// transaction of the change that signs the user in (a password reset): the
/// old token (if any) is deleted, and the cookie carries `token`.
pub fn begin_issued_session(session: &Session, token: super::PlainToken) -> Result<(), AppError> {
    session.clear();
    session.renew();
    session
        .insert(keys::ISSUED_TOKEN, token.expose())
        .map_err(|e| AppError::Internal(format!("session state: {e}")))
}

/// Ends the session on this response: the row is deleted by the store and the
/// cookie removed.
pub fn end_session(session: &Session) {
    session.purge();
}

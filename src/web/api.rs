//! The JSON API under `/api/auth`, and `/healthz`.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use diesel::RunQueryDsl;
use serde::{Deserialize, Deserializer, Serialize};

use crate::AppState;
use crate::auth::csrf::CsrfToken;
use crate::error::AppError;
use crate::session::extract::{ApiUser, MaybeUser, SignedIn, device_of, end_session};
use crate::users::{self, SelfUpdate, SessionUser};

/// The Auth.js session shape; `app` holds what an embedding app's
/// enrichment hook added (absent without one).
#[derive(Serialize)]
pub struct SessionBody<'a> {
    pub user: &'a SessionUser,
    pub expires: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<&'a crate::hooks::AppFields>,
}

/// The session JSON of `GET /api/auth/session`, as the answer and as the
/// events stream's `event: session` send it.
pub(super) fn session_body(
    user: &SessionUser,
    expires_at: chrono::DateTime<chrono::Utc>,
    app: Option<&crate::hooks::AppFields>,
) -> String {
    serde_json::to_string(&SessionBody {
        user,
        expires: expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        app: app.filter(|a| !a.is_empty()),
    })
    .unwrap_or_else(|_| "null".into())
}

pub(super) fn session_json(s: &SignedIn) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(session_body(&s.user, s.expires_at, Some(&s.app)))
}

/// `200` with the session, or `200` with `null` when not signed in.
pub async fn get_session(viewer: MaybeUser) -> HttpResponse {
    match &viewer.0 {
        Some(s) => session_json(s),
        None => HttpResponse::Ok().json(serde_json::Value::Null),
    }
}

/// `Some(x)` for a present field, even `null` (so `"image": null` clears).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionUpdate {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    image: Option<Option<String>>,
    #[serde(default)]
    theme: Option<String>,
    #[serde(default)]
    language: Option<String>,
    /// Accepted so a form-shaped body may carry its token; checked by the guard.
    #[serde(default, rename = "csrf_token")]
    _csrf_token: Option<String>,
}

impl SessionUpdate {
    fn validate(self) -> Result<SelfUpdate, AppError> {
        let invalid = |field| move |m| AppError::invalid(field, m);
        Ok(SelfUpdate {
            name: self
                .name
                .map(|n| users::validate_name(&n).map_err(invalid("name")))
                .transpose()?,
            image: self
                .image
                .map(|i| {
                    users::validate_image(i.as_deref().unwrap_or("")).map_err(invalid("image"))
                })
                .transpose()?,
            theme: self
                .theme
                .map(|t| users::validate_theme(&t).map_err(invalid("theme")))
                .transpose()?,
            language: self
                .language
                .map(|l| users::validate_language(&l).map_err(invalid("language")))
                .transpose()?,
            updated_at: None,
        })
    }
}

/// Updates what the user may change of themselves; answers the fresh session.
pub async fn update_session(
    req: HttpRequest,
    user: ApiUser,
    body: web::Json<SessionUpdate>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let change = body.into_inner().validate()?;
    let (parties, session_id) = (user.0.audit_parties(), user.0.session_id);
    let device = device_of(&req);
    let fresh = state
        .db
        .run(move |conn| {
            crate::users::update_self_audited(conn, parties, change, &device)?;
            Ok(crate::session::reload(conn, session_id)?)
        })
        .await?;
    state.events.user_changed(parties.1).await;
    match fresh {
        Some(s) => {
            let mut view = SignedIn::from_loaded(s, false);
            view.app = crate::session::extract::app_fields(&state, &view).await?;
            Ok(session_json(&view))
        }
        // Revoked between the two statements.
        None => Err(AppError::Unauthorized),
    }
}

pub async fn csrf(token: CsrfToken) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "csrfToken": token.0 }))
}

/// Records a sign-out by a signed-in viewer (an anonymous one has nothing to end).
pub async fn record_sign_out(req: &HttpRequest, viewer: &MaybeUser, state: &AppState) {
    if let Some(s) = &viewer.0 {
        let parties = s.audit_parties();
        crate::audit::after(&state.db, device_of(req), move |conn, d| {
            crate::audit::record(
                conn,
                crate::audit::Event::between(parties, crate::audit::action::SIGN_OUT, d),
            )
        })
        .await;
    }
}

/// Ends the session; answers where to go, as Auth.js does.
pub async fn signout(
    req: HttpRequest,
    session: Session,
    viewer: MaybeUser,
    state: web::Data<AppState>,
) -> HttpResponse {
    end_session(&session);
    record_sign_out(&req, &viewer, &state).await;
    HttpResponse::Ok().json(serde_json::json!({ "url": state.config.public_url.as_str() }))
}

/// What `X-Auth-User-*` values keep as they are: RFC 3986 unreserved
/// characters and `@`. Every other byte of the UTF-8 value, `%` and space
/// included, is `%XX`, so a consumer percent-decodes each value exactly once
/// (an email spelled `%61dmin@…` arrives as `%2561dmin@…`, never `admin@…`).
const HEADER_VALUE_KEEPS: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'@');

/// One value of a forward-auth header, encoded by the one rule.
pub fn forward_auth_value(v: &str) -> String {
    percent_encoding::utf8_percent_encode(v, HEADER_VALUE_KEEPS).to_string()
}

/// `GET /api/auth/verify`: forward-auth for reverse proxies (nginx
/// `auth_request`, Traefik `forwardAuth`, Caddy `forward_auth`). `200` with the
/// user in `X-Auth-User-*` headers for a live session, `401` otherwise; the
/// same one-statement lookup as every signed-in request.
pub async fn verify(viewer: MaybeUser) -> HttpResponse {
    match &viewer.0 {
        Some(s) => {
            let u = &s.user;
            HttpResponse::Ok()
                .insert_header(("X-Auth-User-Id", forward_auth_value(&u.id.to_string())))
                .insert_header(("X-Auth-User-Email", forward_auth_value(&u.email)))
                .insert_header(("X-Auth-User-Name", forward_auth_value(&u.name)))
                .insert_header(("X-Auth-User-Role", forward_auth_value(&u.role)))
                .finish()
        }
        None => HttpResponse::Unauthorized().finish(),
    }
}

/// `200 {"status":"ok"}` when the database answers a query, `503` otherwise.
pub async fn healthz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    state
        .db
        .run(|conn| Ok(diesel::sql_query("SELECT 1").execute(conn)?))
        .await
        .map_err(|_| AppError::Unavailable)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": "ok" })))
}

//! HTTP handlers, grouped by area, each page's askama struct beside its handler.

pub mod admin_api;
pub mod admin_pages;
pub mod api;
pub mod assets;
pub mod callback;
pub mod deadline;
pub mod delete_account;
pub mod email;
pub mod email_change;
pub mod email_link;
pub mod events;
pub mod form_error;
pub mod input;
pub mod lang;
pub mod oauth;
pub mod oauth_accounts;
pub mod pages;
pub mod passkeys;
pub mod reauth;
pub mod sessions;
pub mod settings;
pub mod setup;
pub mod two_factor;
pub mod two_factor_signin;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::AppState;
use crate::config::MountPath;
use crate::error::{AppError, PageError};
use crate::i18n::{Lang, Msg};
use crate::session::extract::SignedIn;
use crate::users::SessionUser;

/// What the shared header of every page shows.
pub struct Head {
    pub user: Option<SessionUser>,
    /// The token for `<meta name="csrf-token">` and every form on the page.
    pub csrf: Option<String>,
    /// `<html lang>`: the user's preference as stored (SPEC), or for an
    /// anonymous visitor the negotiated language.
    pub lang: String,
    /// The catalogue in this reader's language.
    pub t: Lang,
    pub theme: String,
    /// An admin is acting as this user: the page shows a banner with a way back.
    pub impersonating: bool,
    /// The user's address is not verified yet: a banner offers the link again.
    pub verification_pending: bool,
    /// The mount prefix (`""` at the site root, else `/auth`): every link to
    /// a gatehouse route starts with it, and the scripts read it from
    /// `<html data-base>`.
    pub base: String,
}

impl Head {
    pub fn new(viewer: Option<&SignedIn>, csrf: Option<String>, req: &HttpRequest) -> Self {
        let t = lang::of(viewer, req);
        let base = mount_of(req).as_str().to_owned();
        match viewer {
            Some(s) => Head {
                t,
                impersonating: s.impersonator_id.is_some(),
                verification_pending: s.verification_pending && s.impersonator_id.is_none(),
                lang: s.user.language.clone(),
                theme: s.user.theme.clone(),
                user: Some(s.user.clone()),
                csrf,
                base,
            },
            None => Head {
                impersonating: false,
                verification_pending: false,
                user: None,
                csrf,
                t,
                lang: t.code().into(),
                theme: "system".into(),
                base,
            },
        }
    }

    pub fn csrf_value(&self) -> &str {
        self.csrf.as_deref().unwrap_or("")
    }

    /// gatehouse's `path` under the mount prefix, for `href` and `action`.
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// Where gatehouse is mounted, for this request (the root when the app
/// state is missing, as in a bare unit test).
pub fn mount_of(req: &HttpRequest) -> MountPath {
    req.app_data::<web::Data<AppState>>()
        .map(|s| s.config.mount.clone())
        .unwrap_or_default()
}

/// Whether `path` is one of gatehouse's JSON routes (answered in JSON, not
/// with a page, when refused).
pub fn is_api_path(mount: &MountPath, path: &str) -> bool {
    path.strip_prefix(mount.as_str())
        .is_some_and(|rest| rest.starts_with("/api/"))
}

/// Renders a page with `status`.
pub fn render(status: StatusCode, page: &impl Template) -> Result<HttpResponse, PageError> {
    let body = page
        .render()
        .map_err(|e| AppError::Internal(format!("template: {e}")))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body))
}

/// The form again, with the error's status (and `Retry-After` when it has one).
pub fn render_with_retry(e: &AppError, page: &impl Template) -> Result<HttpResponse, PageError> {
    let mut res = render(actix_web::ResponseError::status_code(e), page)?;
    if let Some(seconds) = e.retry_after() {
        res.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from(seconds),
        );
    }
    Ok(res)
}

/// A UTC time as RFC 3339 with whole seconds (`2026-11-25T12:00:00Z`).
pub fn rfc3339(t: chrono::NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `303` to `location` as given: a sanitized `callbackUrl` or the site's
/// home `/` (never under the mount prefix). For gatehouse's own pages use
/// [`see_page`].
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, location))
        .finish()
}

/// `303` to gatehouse's own `path`, under the mount prefix.
pub fn see_page(mount: &MountPath, path: &str) -> HttpResponse {
    see_other(&mount.join(path))
}

fn form_error(
    err: actix_web::error::UrlencodedError,
    _: &actix_web::HttpRequest,
) -> actix_web::Error {
    use actix_web::error::UrlencodedError as E;
    let e = match err {
        E::Overflow { .. } | E::UnknownLength => AppError::PayloadTooLarge,
        _ => AppError::BadRequest(Msg::key("error-form-unreadable")),
    };
    PageError(e).into()
}

fn json_error(
    err: actix_web::error::JsonPayloadError,
    _: &actix_web::HttpRequest,
) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    match err {
        E::Overflow { .. } | E::OverflowKnownLength { .. } => AppError::PayloadTooLarge.into(),
        E::ContentType => AppError::BadRequest("Send the body as application/json.".into()).into(),
        E::Deserialize(e) if e.is_data() => {
            AppError::BadRequest(format!("The JSON body does not fit: {e}").into()).into()
        }
        _ => AppError::BadRequest("The body is not valid JSON.".into()).into(),
    }
}

/// Every route at the site root (the server binary's default).
pub fn routes(cfg: &mut web::ServiceConfig) {
    routes_at(&MountPath::default())(cfg)
}

/// Every route under `mount`: at the root as they are, else in one scope
/// (`/auth/signin`, `/auth/api/auth/session`, `/auth/static/…`), its home
/// at both `/auth` and `/auth/`. Unknown paths anywhere answer gatehouse's
/// 404.
pub fn routes_at(mount: &MountPath) -> impl FnOnce(&mut web::ServiceConfig) + use<> {
    let mount = mount.clone();
    move |cfg| {
        if mount.is_root() {
            register(cfg);
        } else {
            cfg.service(
                web::scope(mount.as_str())
                    .route("", web::get().to(pages::home))
                    .configure(register)
                    .default_service(web::to(not_found)),
            );
        }
        cfg.default_service(web::to(not_found));
    }
}

fn register(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::FormConfig::default()
            .limit(input::SCANNED_BODY_BYTES)
            .error_handler(form_error),
    )
    .app_data(
        web::JsonConfig::default()
            .limit(input::SCANNED_BODY_BYTES)
            .error_handler(json_error),
    )
    .configure(assets::routes)
    .configure(two_factor_signin::routes)
    .configure(two_factor::routes)
    .configure(reauth::routes)
    .configure(delete_account::routes)
    .route("/", web::get().to(pages::home))
    .route("/signin", web::get().to(pages::signin_page))
    .route("/signin", web::post().to(pages::signin_submit))
    .route("/signup", web::get().to(pages::signup_page))
    .route("/signup", web::post().to(pages::signup_submit))
    .route("/signout", web::post().to(pages::signout))
    .route("/settings", web::get().to(settings::page))
    .route("/settings/profile", web::post().to(settings::profile))
    .route(
        "/settings/preferences",
        web::post().to(settings::preferences),
    )
    .route("/settings/password", web::post().to(settings::password))
    .route("/settings/sessions", web::get().to(sessions::page))
    .route(
        "/settings/sessions/revoke",
        web::post().to(sessions::revoke_form),
    )
    .route(
        "/settings/sessions/revoke-others",
        web::post().to(sessions::revoke_others_form),
    )
    .route(
        "/settings/accounts/{provider}/unlink",
        web::post().to(oauth_accounts::unlink),
    )
    .route("/admin", web::get().to(admin_pages::users))
    .route("/admin/audit", web::get().to(admin_pages::audit_log))
    .route("/admin/users/{id}", web::get().to(admin_pages::user))
    .route(
        "/admin/users/{id}/update",
        web::post().to(admin_pages::update),
    )
    .route("/admin/users/{id}/ban", web::post().to(admin_pages::ban))
    .route(
        "/admin/users/{id}/unban",
        web::post().to(admin_pages::unban),
    )
    .route(
        "/admin/users/{id}/impersonate",
        web::post().to(admin_pages::impersonate),
    )
    .route(
        "/admin/impersonation/stop",
        web::post().to(admin_pages::stop_impersonating),
    )
    .route(
        "/admin/users/{id}/sessions/revoke",
        web::post().to(admin_pages::revoke_all),
    )
    .route(
        "/admin/sessions/{id}/revoke",
        web::post().to(admin_pages::revoke_one),
    )
    .route("/forgot-password", web::get().to(email::forgot_page))
    .route("/forgot-password", web::post().to(email::forgot_submit))
    .route("/reset-password", web::get().to(email::reset_page))
    .route("/reset-password", web::post().to(email::reset_submit))
    .route("/signin/email", web::get().to(email_link::link_page))
    .route("/signin/email", web::post().to(email_link::submit))
    .route("/verify-email", web::get().to(email::verify_link))
    .route("/settings/verify-email", web::post().to(email::resend))
    .route("/settings/email", web::post().to(email_change::request))
    .route(
        "/settings/email/confirm",
        web::get().to(email_change::confirm),
    )
    .route("/setup", web::get().to(setup::page))
    .route("/setup", web::post().to(setup::submit))
    .route("/healthz", web::get().to(api::healthz))
    // Before the `/api/auth` scope, which would answer 404 for its paths.
    .configure(passkeys::routes)
    .service(
        web::scope("/api/auth")
            .wrap(actix_web::middleware::from_fn(crate::ratelimit::api_budget))
            .route("/session", web::get().to(api::get_session))
            .route("/session", web::post().to(api::update_session))
            .route("/events", web::get().to(events::stream))
            .route("/csrf", web::get().to(api::csrf))
            .route("/verify", web::get().to(api::verify))
            .route("/signout", web::post().to(api::signout))
            .route("/forgot-password", web::post().to(email::forgot_json))
            .route("/reset-password", web::post().to(email::reset_json))
            .route("/providers", web::get().to(oauth::providers))
            .route("/sessions", web::get().to(sessions::list_json))
            .route("/sessions/{id}", web::delete().to(sessions::revoke_json))
            // Before `/signin/{provider}`, which would take it otherwise.
            .route("/signin/email", web::post().to(email_link::request_json))
            .route("/signin/{provider}", web::post().to(oauth::start))
            .route(
                "/callback/{provider}",
                web::get()
                    .to(oauth::finish)
                    .wrap(actix_web::middleware::from_fn(
                        crate::metrics::requests::count_provider_sign_in,
                    )),
            )
            .route(
                "/accounts/{provider}/token",
                web::get().to(oauth_accounts::token),
            ),
    )
    .service(
        web::scope("/api/admin")
            .wrap(actix_web::middleware::from_fn(crate::ratelimit::api_budget))
            .route("/users", web::get().to(admin_api::list_users))
            .route("/users/{id}", web::get().to(admin_api::get_user))
            .route("/users/{id}", web::patch().to(admin_api::patch_user))
            .route("/users/{id}/ban", web::post().to(admin_api::ban))
            .route("/users/{id}/unban", web::post().to(admin_api::unban))
            .route(
                "/users/{id}/sessions",
                web::delete().to(admin_api::revoke_user_sessions),
            )
            .route(
                "/sessions/{id}",
                web::delete().to(admin_api::revoke_session),
            )
            .route("/audit", web::get().to(admin_api::audit_log))
            .route(
                "/users/{id}/impersonate",
                web::post().to(admin_api::impersonate),
            )
            .route(
                "/impersonation/stop",
                web::post().to(admin_api::stop_impersonating),
            ),
    );
}

async fn not_found(req: actix_web::HttpRequest) -> Result<HttpResponse, actix_web::Error> {
    if is_api_path(&mount_of(&req), req.path()) {
        Err(AppError::NotFound.into())
    } else {
        Err(PageError(AppError::NotFound).into())
    }
}

#[cfg(test)]
mod proptests;

//! `/settings/security` and the TOTP settings: set up (secret, `otpauth://`
//! URI, QR code), turn on with a code (ten recovery codes shown once), turn
//! off, new recovery codes; and the admin's reset of a user's two factors.
//! The work is in `crate::twofactor::store`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::form_error::{FieldError as _, FormError};
use super::{Head, render, see_page};
use crate::AppState;
use crate::audit::{self, Event, action};
use crate::auth::csrf::CsrfToken;
use crate::auth::guard::{AdminApi, AdminPage, refuse_while_impersonating};
use crate::error::{AppError, PageError};
use crate::i18n::Msg;
use crate::session::extract::{PageUser, SignedIn, device_of};
use crate::twofactor::store::{self, Enabled, FactorKeys};
use crate::twofactor::totp;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/settings/security", web::get().to(page))
        .route("/settings/two-factor/setup", web::post().to(setup))
        .route("/settings/two-factor/enable", web::post().to(enable))
        .route("/settings/two-factor/disable", web::post().to(disable))
        .route(
            "/settings/two-factor/recovery-codes",
            web::post().to(recovery_codes),
        )
        .route(
            "/admin/users/{id}/two-factor/reset",
            web::post().to(admin_reset_page),
        )
        .route(
            "/api/admin/users/{id}/two-factor/reset",
            web::post().to(admin_reset_json),
        );
}

#[derive(Template)]
#[template(path = "security.html")]
struct SecurityPage {
    head: Head,
    two_factor: bool,
    recovery_left: i64,
    /// A notice key after a change (`?saved=`).
    saved: Option<&'static str>,
    /// The passkeys section (`None`: passkeys are off).
    passkeys: Option<Vec<super::passkeys::PasskeyView>>,
}

#[derive(Template)]
#[template(path = "two_factor_setup.html")]
struct SetupPage {
    head: Head,
    /// The secret in base32, for typing into an app.
    secret: String,
    uri: String,
    /// The QR code of `uri`, an SVG document drawn here.
    qr_svg: String,
    error: Option<FormError>,
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
struct CodesPage {
    head: Head,
    codes: Vec<String>,
    /// Shown right after turning two factors on (else: new codes).
    just_enabled: bool,
}

#[derive(Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

/// `GET /settings/security`.
pub async fn page(
    req: HttpRequest,
    user: PageUser,
    csrf: CsrfToken,
    query: web::Query<SavedQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let uid = user.0.user.id;
    let recovery_left = if user.0.user.two_factor {
        state
            .db
            .run(move |conn| Ok(store::recovery_codes_left(conn, uid)?))
            .await?
    } else {
        0
    };
    let saved = match query.saved.as_deref() {
        Some("two_factor_disabled") => Some("two-factor-disabled-notice"),
        _ => None,
    };
    let passkeys = super::passkeys::section(&state, uid).await?;
    render(
        StatusCode::OK,
        &SecurityPage {
            passkeys,
            two_factor: user.0.user.two_factor,
            recovery_left,
            saved,
            head: Head::new(Some(&user.0), Some(csrf.0), &req),
        },
    )
}

fn setup_page(
    state: &AppState,
    signed_in: &SignedIn,
    head: Head,
    secret: &totp::Secret,
    error: Option<FormError>,
) -> SetupPage {
    let issuer = state.config.public_url.host_str().unwrap_or("gatehouse");
    let uri = secret.uri(issuer, &signed_in.user.email);
    SetupPage {
        head,
        secret: secret.base32(),
        qr_svg: totp::qr_svg(&uri),
        uri,
        error,
    }
}

/// `POST /settings/two-factor/setup`: a new secret (replacing one not
/// confirmed yet) and the page to confirm it with a code.
pub async fn setup(
    req: HttpRequest,
    user: PageUser,
    csrf: CsrfToken,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    refuse_while_impersonating(&req, &user.0, "two_factor").await?;
    let (uid, keys) = (user.0.user.id, FactorKeys::new(&state.keys));
    let secret = state
        .db
        .run(move |conn| Ok(store::begin_setup(conn, &keys, uid)?))
        .await?;
    let Some(secret) = secret else {
        return Ok(see_page(&state.config.mount, "/settings/security"));
    };
    let head = Head::new(Some(&user.0), Some(csrf.0), &req);
    render(
        StatusCode::OK,
        &setup_page(&state, &user.0, head, &secret, None),
    )
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

/// `POST /settings/two-factor/enable` (`code`): turns two factors on and
/// shows the recovery codes once; a wrong code shows the setup again (`422`).
pub async fn enable(
    req: HttpRequest,
    user: PageUser,
    csrf: CsrfToken,
    form: web::Form<CodeForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    refuse_while_impersonating(&req, &user.0, "two_factor").await?;
    let (uid, sid, device) = (user.0.user.id, user.0.session_id, device_of(&req));
    let keys = FactorKeys::new(&state.keys);
    let code = form.into_inner().code;
    let outcome = state
        .db
        .run(move |conn| {
            Ok(conn.write_transaction(|conn| {
                let outcome = store::enable(conn, &keys, uid, sid, &code)?;
                if matches!(outcome, Enabled::On(_)) {
                    audit::record(conn, Event::by(uid, action::TWO_FACTOR_ENABLED, &device))?;
                }
                Ok::<_, diesel::result::Error>(outcome)
            })?)
        })
        .await?;
    let head = Head::new(Some(&user.0), Some(csrf.0), &req);
    match outcome {
        Enabled::On(codes) => {
            // The session JSON says `two_factor: true`; the user's one-factor
            // sessions elsewhere end.
            state.events.user_changed(uid).await;
            render(
                StatusCode::OK,
                &CodesPage {
                    head,
                    codes,
                    just_enabled: true,
                },
            )
        }
        Enabled::WrongCode => {
            let keys = FactorKeys::new(&state.keys);
            let secret = state
                .db
                .run(move |conn| Ok(store::setup_secret(conn, &keys, uid)?))
                .await?;
            let Some(secret) = secret else {
                return Ok(see_page(&state.config.mount, "/settings/security"));
            };
            let error = FormError {
                message: Msg::key("two-factor-wrong-code"),
                field: Some("code"),
            };
            render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &setup_page(&state, &user.0, head, &secret, Some(error)),
            )
        }
        Enabled::NoSetup => Ok(see_page(&state.config.mount, "/settings/security")),
    }
}

/// `POST /settings/two-factor/disable` (fresh sign-in, else `303` to
/// `/reauth`): TOTP and recovery
/// codes removed.
pub async fn disable(
    req: HttpRequest,
    user: PageUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    refuse_while_impersonating(&req, &user.0, "two_factor").await?;
    crate::auth::fresh::require_fresh(
        &user.0,
        state.config.session_fresh_age,
        &state.config.mount.join("/settings/security"),
    )?;
    let (uid, device) = (user.0.user.id, device_of(&req));
    let was_on = state
        .db
        .run(move |conn| {
            Ok(conn.write_transaction(|conn| {
                let was_on = store::disable(conn, uid)?;
                if was_on {
                    audit::record(conn, Event::by(uid, action::TWO_FACTOR_DISABLED, &device))?;
                }
                Ok::<_, diesel::result::Error>(was_on)
            })?)
        })
        .await?;
    if was_on {
        state.events.user_changed(uid).await;
    }
    Ok(see_page(
        &state.config.mount,
        "/settings/security?saved=two_factor_disabled",
    ))
}

/// `POST /settings/two-factor/recovery-codes` (fresh sign-in): ten new codes,
/// shown once; the old ones stop working.
pub async fn recovery_codes(
    req: HttpRequest,
    user: PageUser,
    csrf: CsrfToken,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    refuse_while_impersonating(&req, &user.0, "two_factor").await?;
    crate::auth::fresh::require_fresh(
        &user.0,
        state.config.session_fresh_age,
        &state.config.mount.join("/settings/security"),
    )?;
    let (uid, device) = (user.0.user.id, device_of(&req));
    let keys = FactorKeys::new(&state.keys);
    let codes = state
        .db
        .run(move |conn| {
            Ok(conn.write_transaction(|conn| {
                let codes = store::new_recovery_codes(conn, &keys, uid)?;
                if codes.is_some() {
                    audit::record(
                        conn,
                        Event::by(uid, action::RECOVERY_CODES_GENERATED, &device),
                    )?;
                }
                Ok::<_, diesel::result::Error>(codes)
            })?)
        })
        .await?;
    let Some(codes) = codes else {
        return Ok(see_page(&state.config.mount, "/settings/security"));
    };
    render(
        StatusCode::OK,
        &CodesPage {
            head: Head::new(Some(&user.0), Some(csrf.0), &req),
            codes,
            just_enabled: false,
        },
    )
}

/// Turns user `target`'s two factors off for admin `admin`, audited; `false`
/// when they were off. The user's sessions stay.
async fn reset_for(
    state: &AppState,
    req: &HttpRequest,
    admin: &SignedIn,
    target: i64,
) -> Result<bool, AppError> {
    refuse_while_impersonating(req, admin, "two_factor_reset").await?;
    let (actor, device) = (admin.user.id, device_of(req));
    let was_on = state
        .db
        .run(move |conn| {
            Ok(conn.write_transaction(|conn| {
                if crate::admin::get_user(conn, target)?.is_none() {
                    return Err(diesel::result::Error::NotFound);
                }
                let was_on = store::disable(conn, target)?;
                if was_on {
                    audit::record(
                        conn,
                        Event::between((actor, target), action::TWO_FACTOR_RESET, &device),
                    )?;
                }
                Ok::<_, diesel::result::Error>(was_on)
            })?)
        })
        .await?;
    if was_on {
        state.events.user_changed(target).await;
    }
    Ok(was_on)
}

/// `POST /admin/users/<id>/two-factor/reset` (the button): `303` back to the
/// user's page.
pub async fn admin_reset_page(
    req: HttpRequest,
    admin: AdminPage,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let target = super::admin_api::parse_id(&path)?;
    reset_for(&state, &req, &admin.0, target).await?;
    Ok(see_page(
        &state.config.mount,
        &format!("/admin/users/{target}?saved=two_factor_reset"),
    ))
}

/// `POST /api/admin/users/<id>/two-factor/reset`: `{"two_factor": false,
/// "was_on": bool}`.
pub async fn admin_reset_json(
    req: HttpRequest,
    admin: AdminApi,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let target = super::admin_api::parse_id(&path)?;
    let was_on = reset_for(&state, &req, &admin.0, target).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"two_factor": false, "was_on": was_on})))
}

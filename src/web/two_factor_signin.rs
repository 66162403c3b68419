//! The second step of a sign-in for a user with two factors on: every first
//! factor (password, provider, mailed link, reset) goes through [`proceed`],
//! which starts the session or sends the browser to `/signin/two-factor`
//! with a pending sign-in bound to it by a cookie. The work is in
//! `crate::twofactor`.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::form_error::{FieldError as _, FormError};
use super::{Head, render, render_with_retry, see_other, see_page};
use crate::AppState;
use crate::auth::attempts::{self, Attempt};
use crate::auth::csrf::CsrfToken;
use crate::error::{AppError, PageError};
use crate::session::extract::{PageViewer, begin_issued_session, device_of};
use crate::session::{Device, PlainToken, TokenHash};
use crate::twofactor::{self, Begun, Completion, FactorKeys, pending};

pub const PATH: &str = "/signin/two-factor";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::get().to(page))
        .route(PATH, web::post().to(submit));
}

/// The answer to a begun sign-in: the session's cookie and `303` to
/// `callback`, or the pending sign-in's cookie and `303` to the code page.
pub fn proceed(
    state: &AppState,
    session: &Session,
    begun: Begun,
    callback: &str,
) -> Result<HttpResponse, AppError> {
    match begun {
        Begun::Session(token) => {
            begin_issued_session(session, token)?;
            Ok(see_other(callback))
        }
        Begun::Pending(token) => {
            let mut res = see_page(&state.config.mount, PATH);
            let cookie = state.cookies.cookie(
                &state.cookies.pending_name,
                token.expose(),
                pending::LIFETIME,
            );
            res.add_cookie(&cookie)
                .map_err(|e| AppError::Internal(format!("cookie: {e}")))?;
            Ok(res)
        }
    }
}

/// A first factor was right: the session, or the second step (see
/// [`twofactor::begin_sign_in`]). `details` is the `sign_in` event's.
pub async fn sign_in(
    state: &AppState,
    session: &Session,
    user_id: i64,
    device: Device,
    details: serde_json::Value,
    callback: &str,
) -> Result<HttpResponse, AppError> {
    let policy = state.expiry;
    let to = callback.to_owned();
    let begun = state
        .db
        .run(move |conn| {
            // Read, then a transaction that only writes (see begin_known).
            let two_factor = twofactor::store::is_on(conn, user_id)?;
            Ok(conn.write_transaction(|conn| {
                twofactor::begin_known(conn, user_id, two_factor, &device, &policy, details, &to)
            })?)
        })
        .await?;
    proceed(state, session, begun, callback)
}

#[derive(Template)]
#[template(path = "signin_two_factor.html")]
struct CodePage {
    head: Head,
    error: Option<FormError>,
    /// The pending sign-in is gone (expired, done): the page says to sign in
    /// again instead of showing the form.
    gone: bool,
}

fn pending_hash(req: &HttpRequest, state: &AppState) -> Option<TokenHash> {
    let cookie = req.cookie(&state.cookies.pending_name)?;
    PlainToken::parse(cookie.value()).map(|t| t.hash())
}

/// `GET /signin/two-factor`: the code form while this browser has a live
/// pending sign-in; `303` to `/signin` otherwise.
pub async fn page(
    req: HttpRequest,
    viewer: PageViewer,
    csrf: CsrfToken,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let live = match pending_hash(&req, &state) {
        Some(hash) => state
            .db
            .run(move |conn| Ok(pending::peek(conn, &hash)?))
            .await?
            .is_some(),
        None => false,
    };
    if !live {
        return Ok(see_page(&state.config.mount, "/signin"));
    }
    render(
        StatusCode::OK,
        &CodePage {
            head: Head::new(viewer.0.as_ref(), Some(csrf.0), &req),
            error: None,
            gone: false,
        },
    )
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

/// `POST /signin/two-factor` (`code`: a TOTP code or a recovery code):
/// completes the pending sign-in, `303` to its callback. A wrong or used
/// code re-renders with `401` and counts toward `RATE_LIMIT_SIGNIN`.
pub async fn submit(
    req: HttpRequest,
    viewer: PageViewer,
    csrf: CsrfToken,
    session: Session,
    form: web::Form<CodeForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let head = Head::new(viewer.0.as_ref(), Some(csrf.0), &req);
    let gone = |head| {
        render(
            StatusCode::UNAUTHORIZED,
            &CodePage {
                head,
                error: None,
                gone: true,
            },
        )
    };
    let Some(hash) = pending_hash(&req, &state) else {
        return gone(head);
    };
    let peek_hash = hash;
    let Some((found, email)) = state
        .db
        .run(move |conn| Ok(pending::peek(conn, &peek_hash)?))
        .await?
    else {
        return gone(head);
    };
    let device = device_of(&req);
    let attempt = Attempt {
        email,
        user_id: Some(found.user_id),
        method: "two_factor",
        device: device.clone(),
    };
    let (db, keys, policy) = (state.db.clone(), FactorKeys::new(&state.keys), state.expiry);
    let rules = state.sign_in_rules();
    let code = form.into_inner().code;
    let outcome = attempts::checked(
        &state.db,
        &state.hasher,
        &state.config.rate_limits,
        attempt,
        move || {
            let mut conn = db.get()?;
            match twofactor::complete(&mut conn, &keys, &hash, &code, &device, &policy, &rules)? {
                Completion::WrongCode => Err(AppError::BadCredentials),
                Completion::Refused(r) => Err(AppError::Refused(r)),
                other => Ok(other),
            }
        },
    )
    .await;
    state.metrics.sign_in(
        "two_factor",
        match &outcome {
            Ok(Completion::SignedIn { .. }) => "ok",
            Ok(_) => "expired",
            Err(AppError::BadCredentials) => "wrong_code",
            Err(e) => e.code(),
        },
    );
    match outcome {
        Ok(Completion::SignedIn {
            session: token,
            callback_url,
            ..
        }) => {
            begin_issued_session(&session, token)?;
            let mut res = see_other(&callback_url);
            let _ = res.add_cookie(&state.cookies.removal(&state.cookies.pending_name));
            Ok(res)
        }
        Ok(_) => gone(head),
        Err(AppError::BadCredentials) => render(
            StatusCode::UNAUTHORIZED,
            &CodePage {
                head,
                error: Some(FormError {
                    message: crate::i18n::Msg::key("two-factor-wrong-code"),
                    field: Some("code"),
                }),
                gone: false,
            },
        ),
        Err(e @ (AppError::RateLimited { .. } | AppError::Busy | AppError::Refused(_))) => {
            render_with_retry(
                &e,
                &CodePage {
                    head,
                    error: Some(FormError::of(&e)),
                    gone: false,
                },
            )
        }
        Err(e) => Err(e.into()),
    }
}

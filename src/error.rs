//! One error type, mapped to status codes and bodies in one place. JSON routes
//! answer `{"error","message"}`; page handlers wrap the same error in
//! [`PageError`], which renders an HTML page instead.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;
use serde::Serialize;

use crate::i18n::{Lang, Msg};

#[derive(Debug)]
pub enum AppError {
    /// 400: the request could not be read.
    BadRequest(Msg),
    /// 401: not signed in.
    Unauthorized,
    /// Not signed in on a page that needs it: 401 as JSON, a 303 to
    /// `/signin?callbackUrl=<this path>` as a page.
    SignInRequired(String),
    /// A sensitive change from a session not signed in (or re-confirmed)
    /// within `SESSION_FRESH_AGE`: 403 `reauth_required` as JSON, a 303 to
    /// `/reauth?callbackUrl=<path>` as a page. The path is a local one the
    /// handler names (`/reauth` sanitises it again when it comes back).
    ReauthRequired(String),
    /// 401: wrong email or password (never says which).
    BadCredentials,
    /// 403: signed in without the right.
    Forbidden,
    /// 403: the CSRF token or origin check failed.
    Csrf,
    NotFound,
    /// 409: the email is taken, or another conflict.
    Conflict(Msg),
    /// 413: the body is larger than we accept.
    PayloadTooLarge,
    /// 408: the body did not arrive within `GATEHOUSE_BODY_TIMEOUT`.
    RequestTimeout,
    /// 422: a field is invalid.
    Invalid {
        field: &'static str,
        message: Msg,
    },
    /// 503: the database does not answer.
    Unavailable,
    /// 503: too many password checks at once; try again in a moment.
    Busy,
    /// 429: too many attempts; try again after `retry_after` seconds.
    RateLimited {
        retry_after: u64,
    },
    /// 403: the sign-in gate refused a user whose credentials were right
    /// (banned, or an email domain not allowed).
    Refused(crate::auth::gate::Refusal),
    /// 500: a bug; the details go to the log, never to the client.
    Internal(String),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl AppError {
    pub fn invalid(field: &'static str, message: impl Into<Msg>) -> Self {
        AppError::Invalid {
            field,
            message: message.into(),
        }
    }

    /// `Retry-After` seconds for the answers that are worth retrying.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::Unavailable => Some(5),
            AppError::Busy => Some(1),
            AppError::RateLimited { retry_after } => Some((*retry_after).max(1)),
            _ => None,
        }
    }

    /// The machine-readable code of the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad_request",
            AppError::Unauthorized | AppError::SignInRequired(_) => "unauthorized",
            AppError::BadCredentials => "invalid_credentials",
            AppError::Forbidden => "forbidden",
            AppError::ReauthRequired(_) => "reauth_required",
            AppError::Csrf => "csrf",
            AppError::NotFound => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::PayloadTooLarge => "payload_too_large",
            AppError::RequestTimeout => "request_timeout",
            AppError::Invalid { .. } => "invalid",
            AppError::Unavailable => "unavailable",
            AppError::Busy => "busy",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::Refused(crate::auth::gate::Refusal::Banned { .. }) => "banned",
            AppError::Refused(crate::auth::gate::Refusal::EmailUnverified) => "email_unverified",
            AppError::Refused(crate::auth::gate::Refusal::App(_)) => "access_denied",
            AppError::Refused(_) => "forbidden",
            AppError::Internal(_) => "internal",
        }
    }

    /// The human text, safe to show to anyone, in English (JSON bodies, logs).
    pub fn message(&self) -> String {
        Lang::En.msg(self.msg())
    }

    /// The human text as a catalogue message, for pages in the reader's language.
    pub fn msg(&self) -> Msg {
        match self {
            AppError::BadRequest(m) | AppError::Conflict(m) => m.clone(),
            AppError::Invalid { message, .. } => message.clone(),
            AppError::Unauthorized | AppError::SignInRequired(_) => Msg::key("error-sign-in"),
            AppError::BadCredentials => Msg::key("error-bad-credentials"),
            AppError::Forbidden => Msg::key("error-forbidden"),
            AppError::ReauthRequired(_) => Msg::key("error-reauth-required"),
            AppError::Csrf => Msg::key("error-csrf"),
            AppError::NotFound => Msg::key("error-not-found"),
            AppError::PayloadTooLarge => Msg::key("error-too-large"),
            AppError::RequestTimeout => Msg::key("error-request-timeout"),
            AppError::Unavailable => Msg::key("error-unavailable"),
            AppError::Busy => Msg::key("error-busy"),
            AppError::Refused(r) => r.msg(),
            AppError::RateLimited { retry_after } => {
                Msg::key("error-rate-limited").nested("wait", crate::ratelimit::human(*retry_after))
            }
            AppError::Internal(_) => Msg::key("error-internal"),
        }
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized | AppError::SignInRequired(_) | AppError::BadCredentials => {
                StatusCode::UNAUTHORIZED
            }
            AppError::Forbidden
            | AppError::ReauthRequired(_)
            | AppError::Csrf
            | AppError::Refused(_) => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unavailable | AppError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(detail) = self {
            log::error!("internal error: {detail}");
        }
        let message = self.message();
        let field = match self {
            AppError::Invalid { field, .. } => Some(*field),
            _ => None,
        };
        let mut res = HttpResponse::build(self.status_code());
        if let Some(seconds) = self.retry_after() {
            res.insert_header((header::RETRY_AFTER, HeaderValue::from(seconds)));
        }
        res.json(ErrorBody {
            error: self.code(),
            message: &message,
            field,
        })
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        if crate::deadline::is_passed_error(&e) {
            // Rolled back at the request's deadline: the connection is fine.
            return AppError::Unavailable;
        }
        let mapped = Self::from_diesel(e);
        if matches!(mapped, AppError::Unavailable) {
            crate::db::discard_current_connection();
        }
        mapped
    }
}

impl AppError {
    fn from_diesel(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => AppError::NotFound,
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                AppError::Conflict(Msg::key("error-exists"))
            }
            // A lost connection, a locked or read-only SQLite file, a server shutting down:
            // the database is not answering as it should, which the client sees as 503.
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
            | Error::DatabaseError(DatabaseErrorKind::ReadOnlyTransaction, _)
            | Error::BrokenTransactionManager => AppError::Unavailable,
            Error::DatabaseError(DatabaseErrorKind::Unknown, info)
                if is_unavailable_message(info.message()) =>
            {
                AppError::Unavailable
            }
            other => AppError::Internal(format!("database: {other}")),
        }
    }
}

/// Messages of driver errors that mean "the database is not reachable right now"
/// rather than "this query is wrong".
fn is_unavailable_message(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    [
        "database is locked",
        "server closed the connection",
        "terminating connection",
        "connection",
        "could not connect",
        "no connection",
        "disk i/o error",
        "unable to open database",
        "the database system is",
        "not accepting connections",
    ]
    .iter()
    .any(|needle| m.contains(needle))
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(_: actix_web::error::BlockingError) -> Self {
        AppError::Unavailable
    }
}

/// The same error, answered as an HTML page (for the server-rendered routes).
#[derive(Debug)]
pub struct PageError(pub AppError);

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        PageError(e)
    }
}

impl From<diesel::result::Error> for PageError {
    fn from(e: diesel::result::Error) -> Self {
        PageError(e.into())
    }
}

impl From<actix_web::error::BlockingError> for PageError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        PageError(e.into())
    }
}

impl fmt::Display for PageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub t: Lang,
    pub status: u16,
    pub title: String,
    pub message: String,
    /// The mount prefix for the sign-in link (`""` at the root; set by
    /// `web::lang`, which knows the request).
    pub base: String,
}

impl ErrorPage {
    /// The page of `e` with `status`, in `t`.
    pub fn of(message: &Msg, status: StatusCode, t: Lang) -> Self {
        let key = match status.as_u16() {
            400 => "status-400",
            401 => "status-401",
            403 => "status-403",
            404 => "status-404",
            409 => "status-409",
            413 => "status-413",
            422 => "status-422",
            429 => "status-429",
            500 => "status-500",
            502 => "status-502",
            503 => "status-503",
            _ => "status-other",
        };
        ErrorPage {
            t,
            status: status.as_u16(),
            title: t.get(key),
            message: t.msg(message),
            base: String::new(),
        }
    }
}

/// Marks an error page's response, so `web::lang` can render it again in the
/// reader's language (an error's response is built without the request).
#[derive(Clone, Debug)]
pub struct RenderedErrorPage(pub Msg);

/// Marks a `303` to one of gatehouse's forms (`/signin`, `/reauth`), built
/// without the request and so at the site root: `web::lang` puts the mount
/// prefix in front of its `Location`.
#[derive(Clone, Copy, Debug)]
pub struct ToGatehouseForm;

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self.0 {
            AppError::SignInRequired(_) | AppError::ReauthRequired(_) => StatusCode::SEE_OTHER,
            ref e => e.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let to_form = match &self.0 {
            AppError::SignInRequired(callback) => Some(("/signin", callback)),
            AppError::ReauthRequired(callback) => Some(("/reauth", callback)),
            _ => None,
        };
        if let Some((form, callback)) = to_form {
            let location = format!(
                "{form}?callbackUrl={}",
                url::form_urlencoded::byte_serialize(callback.as_bytes()).collect::<String>()
            );
            let mut res = HttpResponse::SeeOther()
                .insert_header((header::LOCATION, location))
                .finish();
            res.extensions_mut().insert(ToGatehouseForm);
            return res;
        }
        if let AppError::Internal(detail) = &self.0 {
            log::error!("internal error: {detail}");
        }
        let status = self.status_code();
        let page = ErrorPage::of(&self.0.msg(), status, Lang::En);
        let mut res = HttpResponse::build(status);
        if let Some(seconds) = self.0.retry_after() {
            res.insert_header((header::RETRY_AFTER, HeaderValue::from(seconds)));
        }
        let mut res = match page.render() {
            Ok(body) => res.content_type("text/html; charset=utf-8").body(body),
            Err(_) => res
                .content_type("text/plain; charset=utf-8")
                .body(page.message),
        };
        res.extensions_mut().insert(RenderedErrorPage(self.0.msg()));
        res
    }
}

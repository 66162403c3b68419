//! The cookie policy, decided once: names, flags, lifetime; the actix-session
//! middleware built from it; and the upkeep around it (resend on extension, clear
//! cookies that name no live session, store failures as 503).

use std::time::Duration;

use actix_session::config::{CookieContentSecurity, PersistentSession, TtlExtensionPolicy};
use actix_session::{SessionExt, SessionMiddleware, SessionStatus};
use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, Key, SameSite, time::Duration as CookieDuration};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderValue, SET_COOKIE};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};

use super::callback::Lookup;
use super::store::{DieselSessionStore, keys};
use crate::error::AppError;

#[derive(Clone, Debug)]
pub struct CookiePolicy {
    pub session_name: String,
    pub csrf_name: String,
    /// Binds an OAuth flow to the browser that started it.
    pub oauth_name: String,
    /// Binds a sign-in waiting for its second factor to the browser.
    pub pending_name: String,
    /// Holds an email-change link opened before signing in, in the browser
    /// only, so its token never rides in a `callbackUrl` that a sign-in
    /// stores. Scoped to the confirm route, so `__Secure-`, not `__Host-`.
    pub email_confirm_name: String,
    pub secure: bool,
    pub max_age: Duration,
}

impl CookiePolicy {
    /// `__Host-` names and `Secure` when the public URL is https.
    pub fn new(https: bool, max_age: Duration) -> Self {
        let prefix = if https { "__Host-" } else { "" };
        CookiePolicy {
            session_name: format!("{prefix}gatehouse_session"),
            csrf_name: format!("{prefix}gatehouse_csrf"),
            oauth_name: format!("{prefix}gatehouse_oauth"),
            pending_name: format!("{prefix}gatehouse_pending"),
            email_confirm_name: format!(
                "{}gatehouse_email_confirm",
                if https { "__Secure-" } else { "" }
            ),
            secure: https,
            max_age,
        }
    }

    pub fn session_middleware(
        &self,
        store: DieselSessionStore,
        key: Key,
    ) -> SessionMiddleware<DieselSessionStore> {
        SessionMiddleware::builder(store, key)
            .cookie_name(self.session_name.clone())
            .cookie_secure(self.secure)
            .cookie_http_only(true)
            .cookie_same_site(SameSite::Lax)
            .cookie_path("/".into())
            .cookie_domain(None)
            .cookie_content_security(CookieContentSecurity::Signed)
            .session_lifecycle(
                PersistentSession::default()
                    .session_ttl(seconds(self.max_age))
                    .session_ttl_extension_policy(TtlExtensionPolicy::OnStateChanges),
            )
            .build()
    }

    /// A cookie gatehouse sets itself: `Path=/`, `Secure` over https,
    /// `HttpOnly`, `SameSite=Lax`, no `Domain`. Every cookie and its removal
    /// come from here, so a removal always matches what it removes (a browser
    /// ignores a removal of a `Secure` cookie that lacks `Secure`).
    pub fn cookie(&self, name: &str, value: String, max_age: Duration) -> Cookie<'static> {
        self.cookie_at(name, value, max_age, "/")
    }

    /// The removal of cookie `name`: the same attributes, empty, `Max-Age=0`.
    pub fn removal(&self, name: &str) -> Cookie<'static> {
        self.removal_at(name, "/")
    }

    /// As [`cookie`](Self::cookie), sent only to `path` and below (a name
    /// without the `__Host-` prefix, which demands `Path=/`).
    pub fn cookie_at(
        &self,
        name: &str,
        value: String,
        max_age: Duration,
        path: &str,
    ) -> Cookie<'static> {
        Cookie::build(name.to_owned(), value)
            .path(path.to_owned())
            .secure(self.secure)
            .http_only(true)
            .same_site(SameSite::Lax)
            .max_age(seconds(max_age))
            .finish()
    }

    /// The removal of cookie `name` set at `path`.
    pub fn removal_at(&self, name: &str, path: &str) -> Cookie<'static> {
        let mut c = self.cookie_at(name, String::new(), Duration::ZERO, path);
        c.make_removal();
        c
    }

    /// The CSRF cookie: random, lives as long as a session can.
    pub fn csrf_cookie(&self, value: String) -> Cookie<'static> {
        self.cookie(&self.csrf_name, value, self.max_age)
    }

    fn session_removal(&self) -> Cookie<'static> {
        self.removal(&self.session_name)
    }
}

fn seconds(d: Duration) -> CookieDuration {
    CookieDuration::seconds(d.as_secs().min(i64::MAX as u64) as i64)
}

/// Runs inside the session middleware, after the handler:
/// - a session begun or ended (renewed or purged) gets a new CSRF cookie too;
/// - a session whose expiry the lookup pushed forward is marked changed, so the
///   cookie goes out again with a full `Max-Age`;
/// - a cookie that names no live session (unknown, expired, revoked, forged,
///   malformed) is cleared, unless the handler started a new session.
pub async fn session_upkeep(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let policy = req
        .app_data::<web::Data<CookiePolicy>>()
        .cloned()
        .ok_or_else(|| AppError::Internal("cookie policy missing".into()))?;
    let had_cookie = req.cookie(&policy.session_name).is_some();
    let mut res = next.call(req).await?;
    let session = res.request().get_session();
    match session.status() {
        SessionStatus::Unchanged => {}
        // Every sign-in, sign-out, impersonation start or stop passes here.
        SessionStatus::Renewed | SessionStatus::Purged => {
            crate::auth::csrf::rotate(res.request());
            return Ok(res);
        }
        SessionStatus::Changed => return Ok(res),
    }
    let lookup = res.request().extensions().get::<Lookup>().cloned();
    let clear = match lookup {
        Some(Lookup::Live(loaded)) => {
            // Extended, or the cookie was signed under an earlier secret
            // (`previous_keys`): sent again, signed under the current one.
            let resigned = res
                .request()
                .extensions()
                .get::<super::previous_keys::Resigned>()
                .is_some();
            if loaded.extended || resigned {
                // The store's `update` writes nothing; the cookie is sent again.
                let _ = session.insert(keys::EXTENDED, true);
            }
            false
        }
        Some(Lookup::Anonymous) => had_cookie,
        Some(Lookup::Unavailable) => false,
        // Not looked up: clear only what actix-session could not even read.
        None => had_cookie && !session.contains_key(keys::TOKEN_HASH),
    };
    if clear && let Ok(v) = HeaderValue::from_str(&policy.session_removal().to_string()) {
        res.headers_mut().append(SET_COOKIE, v);
    }
    Ok(res)
}

/// Runs outside the session middleware: its only errors are the store failing to
/// save or delete a session, i.e. the database, which clients see as 503.
pub async fn store_failures_unavailable(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    next.call(req).await.map_err(|e| {
        if e.as_response_error().status_code().is_server_error() {
            log::warn!("session store failed: {e}");
            AppError::Unavailable.into()
        } else {
            e
        }
    })
}

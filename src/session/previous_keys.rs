//! Session cookies signed under an earlier secret (`GATEHOUSE_SECRET_PREVIOUS`).
//!
//! actix-session checks the cookie's signature with one key, the current
//! one. Before it runs, [`accept_previous_keys`] finds a session cookie that
//! the current key does not verify but an earlier secret's key does, and puts
//! it back into the request signed under the current key (the cookie crate's
//! signed jar does both, as actix-session does). The request is marked
//! [`Resigned`]: when the cookie names a live session, `session_upkeep` has it
//! sent again, signed under the current key, so the browser holds a cookie
//! that a server with only the new secret accepts. The session token inside,
//! whose SHA-256 is the row's key, does not change.
//!
//! It must run before anything parses the request's cookies: actix-web keeps
//! the first parse for the rest of the request. It is the outermost
//! middleware.

use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, CookieJar};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{COOKIE, HeaderMap, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web::Data;
use actix_web::{Error, HttpMessage};

use crate::AppState;
use crate::auth::keys::Keys;

/// This request's session cookie was signed under an earlier secret.
#[derive(Clone, Copy, Debug)]
pub struct Resigned;

pub async fn accept_previous_keys(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let rewritten = req
        .app_data::<Data<AppState>>()
        .filter(|s| !s.keys.previous.is_empty())
        .and_then(|s| resign(req.headers(), &s.cookies.session_name, &s.keys));
    if let Some(header) = rewritten {
        req.headers_mut().insert(COOKIE, header);
        req.extensions_mut().insert(Resigned);
    }
    next.call(req).await
}

/// The `Cookie` header with the session cookie `name` signed again under the
/// current key, when an earlier key (and not the current one) verifies it.
/// Only the first cookie of that name counts, as for actix-session.
/// Public for the fuzz target (`fuzz/fuzz_targets/cookie.rs`).
pub fn resign(headers: &HeaderMap, name: &str, keys: &Keys) -> Option<HeaderValue> {
    let mut pieces: Vec<String> = Vec::new();
    let mut seen = false;
    let mut changed = false;
    for header in headers.get_all(COOKIE) {
        let text = header.to_str().ok()?;
        for piece in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            if !seen
                && let Ok(cookie) = Cookie::parse_encoded(piece)
                && cookie.name() == name
            {
                seen = true;
                if let Some(new) = resigned(cookie.into_owned(), keys) {
                    pieces.push(new);
                    changed = true;
                    continue;
                }
            }
            pieces.push(piece.to_owned());
        }
    }
    if !changed {
        return None;
    }
    HeaderValue::from_str(&pieces.join("; ")).ok()
}

/// `name=value` (encoded as actix-session reads it) signed under the current
/// key, or `None` when the current key verifies it already or no earlier one
/// does.
fn resigned(cookie: Cookie<'static>, keys: &Keys) -> Option<String> {
    let name = cookie.name().to_owned();
    let mut jar = CookieJar::new();
    jar.add_original(cookie);
    if jar.signed(&keys.session_cookie).get(&name).is_some() {
        return None;
    }
    let value = keys
        .previous
        .iter()
        .find_map(|old| jar.signed(&old.session_cookie).get(&name))?;
    let mut fresh = CookieJar::new();
    fresh
        .signed_mut(&keys.session_cookie)
        .add(Cookie::new(name.clone(), value.value().to_owned()));
    let signed = fresh.get(&name)?;
    Some(signed.encoded().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed_header(keys: &Keys, name: &str, value: &str) -> String {
        let mut jar = CookieJar::new();
        jar.signed_mut(&keys.session_cookie)
            .add(Cookie::new(name.to_owned(), value.to_owned()));
        jar.get(name).unwrap().encoded().to_string()
    }

    #[test]
    fn an_old_signature_is_signed_again_and_others_are_left_alone() {
        let a = [b'a'; 32];
        let b = [b'b'; 32];
        let rotated = Keys::derive_with_previous(&b, &[&a]);
        let old = signed_header(&Keys::derive(&a), "s", "token-1");
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_str(&format!("theme=dark; {old}; s=other")).unwrap(),
        );
        let new = resign(&headers, "s", &rotated).unwrap();
        let new = new.to_str().unwrap();
        let fresh = signed_header(&Keys::derive(&b), "s", "token-1");
        assert_eq!(new, format!("theme=dark; {fresh}; s=other"));

        // Already current, unknown key, no such cookie: nothing to do.
        for header in [
            fresh.clone(),
            signed_header(&Keys::derive(&[b'c'; 32]), "s", "t"),
        ] {
            let mut h = HeaderMap::new();
            h.insert(COOKIE, HeaderValue::from_str(&header).unwrap());
            assert!(resign(&h, "s", &rotated).is_none(), "{header}");
        }
        assert!(resign(&HeaderMap::new(), "s", &rotated).is_none());
    }
}

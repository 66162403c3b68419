//! The soak's browser: a cookie jar per session and the operations a real
//! user does (sign up, sign in, look at pages, edit, sign out, revoke).
//!
//! Every answer is checked: a connection error or a `5xx` is an *error*, any
//! other answer than the expected one is *unexpected*; both fail the soak.

use std::time::Duration;

use crate::http::{self, Response};

const T: Duration = Duration::from_secs(30);
const FORM: &str = "application/x-www-form-urlencoded";
pub const PASSWORD: &str = "soak password 12345";

/// What went wrong with one operation.
pub enum Failure {
    /// A connection error or a `5xx`.
    Error(String),
    /// Any other answer than the one a working server gives.
    Unexpected(String),
}

pub type Outcome<T> = Result<T, Failure>;

/// One signed-in browser: its cookies, its CSRF token and its session's id.
pub struct Session {
    pub email: String,
    session: String,
    csrf_cookie: String,
    csrf_token: String,
    /// The id `GET /api/auth/sessions` gives this session.
    pub id: String,
}

impl Session {
    fn cookies(&self) -> String {
        format!(
            "gatehouse_session={}; gatehouse_csrf={}",
            self.session, self.csrf_cookie
        )
    }
}

/// Sends one request; a connection error or a `5xx` is an [`Failure::Error`],
/// a status other than `want` is [`Failure::Unexpected`].
fn send(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &str)>,
    want: u16,
) -> Outcome<Response> {
    let r = http::request(port, method, path, headers, body, T).map_err(Failure::Error)?;
    let first_line = |b: &str| {
        b.lines()
            .next()
            .unwrap_or_default()
            .chars()
            .take(120)
            .collect::<String>()
    };
    if r.status >= 500 {
        return Err(Failure::Error(format!(
            "{method} {path} answered {}: {}",
            r.status,
            first_line(&r.body)
        )));
    }
    if r.status != want {
        return Err(Failure::Unexpected(format!(
            "{method} {path} answered {} (expected {want}): {}",
            r.status,
            first_line(&r.body)
        )));
    }
    Ok(r)
}

fn unexpected<T>(what: String) -> Outcome<T> {
    Err(Failure::Unexpected(what))
}

/// A fresh anonymous CSRF cookie and its token.
fn anonymous_csrf(port: u16) -> Outcome<(String, String)> {
    let r = send(port, "GET", "/api/auth/csrf", &[], None, 200)?;
    let Some(cookie) = r.set_cookie("gatehouse_csrf") else {
        return unexpected("GET /api/auth/csrf set no gatehouse_csrf cookie".into());
    };
    let Some(token) = http::json_string(&r.body, "csrfToken") else {
        return unexpected("no csrfToken in GET /api/auth/csrf".into());
    };
    Ok((cookie, token))
}

/// After a `303` that began a session: the session cookie, then (as a browser
/// would) the token for the CSRF cookie the answer set, and the session's id.
fn begin(port: u16, email: &str, answer: &Response, old_csrf: String) -> Outcome<Session> {
    let what = |m: &str| format!("{m} for {email}");
    let Some(session) = answer.set_cookie("gatehouse_session") else {
        return unexpected(what("a 303 without a gatehouse_session cookie"));
    };
    let mut s = Session {
        email: email.to_string(),
        session,
        csrf_cookie: answer.set_cookie("gatehouse_csrf").unwrap_or(old_csrf),
        csrf_token: String::new(),
        id: String::new(),
    };
    let c = send(
        port,
        "GET",
        "/api/auth/csrf",
        &[("Cookie", &s.cookies())],
        None,
        200,
    )?;
    if let Some(fresh) = c.set_cookie("gatehouse_csrf") {
        s.csrf_cookie = fresh;
    }
    s.csrf_token = http::json_string(&c.body, "csrfToken")
        .ok_or_else(|| Failure::Unexpected(what("no csrfToken")))?;
    let list = send(
        port,
        "GET",
        "/api/auth/sessions",
        &[("Cookie", &s.cookies())],
        None,
        200,
    )?;
    s.id = current_id(&list.body)
        .ok_or_else(|| Failure::Unexpected(what("no current session in GET /api/auth/sessions")))?;
    Ok(s)
}

/// The `id` of the object with `"current": true` in `GET /api/auth/sessions`.
fn current_id(json: &str) -> Option<String> {
    json.split('{')
        .find(|o| o.replace(' ', "").contains("\"current\":true"))
        .and_then(|o| {
            let at = o.find("\"id\"")? + 4;
            let rest = o[at..].trim_start().strip_prefix(':')?.trim_start();
            let end = rest.find([',', '}'])?;
            Some(rest[..end].trim().trim_matches('"').to_string())
        })
}

/// `POST /signup` through the form; answers the new user's session.
pub fn sign_up(port: u16, email: &str, name: &str) -> Outcome<Session> {
    let fields = [("name", name), ("email", email), ("password", PASSWORD)];
    anonymous_form(port, "/signup", &fields, email)
}

/// `POST /signin` through the form; answers a new session.
pub fn sign_in(port: u16, email: &str) -> Outcome<Session> {
    anonymous_form(
        port,
        "/signin",
        &[("email", email), ("password", PASSWORD)],
        email,
    )
}

/// A form posted by a visitor with no session (its CSRF token added) that
/// must answer `303` with a new session of `email`.
fn anonymous_form(port: u16, path: &str, fields: &[(&str, &str)], email: &str) -> Outcome<Session> {
    let (cookie, token) = anonymous_csrf(port)?;
    let mut all = fields.to_vec();
    all.push(("csrf_token", &token));
    let body = http::form_encode(&all);
    let jar = format!("gatehouse_csrf={cookie}");
    let r = send(
        port,
        "POST",
        path,
        &[("Cookie", &jar)],
        Some((FORM, &body)),
        303,
    )?;
    begin(port, email, &r, cookie)
}

/// A signed-in page view: `200`, and the page is the user's.
pub fn view(port: u16, s: &Session, path: &str) -> Outcome<()> {
    let r = send(port, "GET", path, &[("Cookie", &s.cookies())], None, 200)?;
    if path != "/settings" && !r.body.contains(&s.email) {
        return unexpected(format!("GET {path} is not signed in as the user"));
    }
    Ok(())
}

/// A profile edit with `POST /api/auth/session` (JSON, `X-CSRF-Token`).
pub fn edit_json(port: u16, s: &Session, name: &str) -> Outcome<()> {
    let body = format!("{{\"name\":\"{name}\"}}");
    let r = send(
        port,
        "POST",
        "/api/auth/session",
        &[("Cookie", &s.cookies()), ("X-CSRF-Token", &s.csrf_token)],
        Some(("application/json", &body)),
        200,
    )?;
    if !r.body.contains(name) {
        return unexpected("POST /api/auth/session did not answer the new name".into());
    }
    Ok(())
}

/// A profile edit with the settings form (`POST /settings/profile`).
pub fn edit_form(port: u16, s: &Session, name: &str) -> Outcome<()> {
    let body = http::form_encode(&[("name", name), ("image", ""), ("csrf_token", &s.csrf_token)]);
    send(
        port,
        "POST",
        "/settings/profile",
        &[("Cookie", &s.cookies())],
        Some((FORM, &body)),
        303,
    )
    .map(drop)
}

/// `POST /signout` from the page; afterwards the cookie is anonymous.
pub fn sign_out(port: u16, s: &Session) -> Outcome<()> {
    let body = http::form_encode(&[("csrf_token", &s.csrf_token)]);
    send(
        port,
        "POST",
        "/signout",
        &[("Cookie", &s.cookies())],
        Some((FORM, &body)),
        303,
    )?;
    expect_gone(port, s, "signed out")
}

/// `by` revokes `victim` (same user) with `DELETE /api/auth/sessions/<id>`;
/// afterwards the victim's cookie is anonymous.
pub fn revoke(port: u16, by: &Session, victim: &Session) -> Outcome<()> {
    let path = format!("/api/auth/sessions/{}", victim.id);
    send(
        port,
        "DELETE",
        &path,
        &[("Cookie", &by.cookies()), ("X-CSRF-Token", &by.csrf_token)],
        None,
        204,
    )?;
    expect_gone(port, victim, "revoked")
}

fn expect_gone(port: u16, s: &Session, how: &str) -> Outcome<()> {
    let r = send(
        port,
        "GET",
        "/api/auth/session",
        &[("Cookie", &s.cookies())],
        None,
        200,
    )?;
    if r.body.contains(&s.email) {
        return unexpected(format!(
            "a {how} session still answers GET /api/auth/session"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_current_session_id() {
        let json = r#"[{"id":7,"current":false,"device":"x"},{"id":12, "current": true,"ip":"1"}]"#;
        assert_eq!(super::current_id(json).as_deref(), Some("12"));
        assert_eq!(
            super::current_id(r#"[{"id":"ab","current":true}]"#).as_deref(),
            Some("ab")
        );
        assert_eq!(super::current_id("[]"), None);
    }
}

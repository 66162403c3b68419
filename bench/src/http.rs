//! A tiny HTTP/1.1 client on `std::net::TcpStream`: one request per connection
//! (`Connection: close`), loopback only.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The value that a `Set-Cookie` header gives the cookie `name`.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .filter_map(|(_, v)| v.split(';').next()?.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

/// Sends one request to `127.0.0.1:port` and reads the whole answer.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &str)>,
    timeout: Duration,
) -> Result<Response, String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let what = format!("{method} {path}");
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("{what}: connect: {e}"))?;
    stream.set_read_timeout(Some(timeout)).ok();
    stream.set_write_timeout(Some(timeout)).ok();
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some((content_type, data)) = body {
        req.push_str(&format!(
            "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
            data.len()
        ));
    }
    req.push_str("\r\n");
    if let Some((_, data)) = body {
        req.push_str(data);
    }
    stream
        .write_all(req.as_bytes())
        .map_err(|e| format!("{what}: write: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("{what}: read: {e}"))?;
    parse(&raw).map_err(|e| format!("{what}: {e}"))
}

/// `GET path`, with the `Cookie` header a signed-in browser sends when given.
pub fn get(
    port: u16,
    path: &str,
    cookies: Option<&str>,
    timeout: Duration,
) -> Result<Response, String> {
    match cookies {
        Some(c) => request(port, "GET", path, &[("Cookie", c)], None, timeout),
        None => request(port, "GET", path, &[], None, timeout),
    }
}

fn parse(raw: &[u8]) -> Result<Response, String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no complete header in the answer")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body)?;
    }
    Ok(Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunk size")?;
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size_hex = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| format!("bad chunk size {size_hex:?}"))?;
        data = &data[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or_default();
    }
}

/// `application/x-www-form-urlencoded` for `pairs`.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// What a form sign-in answered.
pub struct SignIn {
    pub status: u16,
    pub session: Option<String>,
    pub retry_after: Option<String>,
}

/// Signs in through the real form: `GET /api/auth/csrf` (keeping the
/// `gatehouse_csrf` cookie), then `POST /signin` with the token.
pub fn sign_in(
    port: u16,
    email: &str,
    password: &str,
    timeout: Duration,
) -> Result<SignIn, String> {
    let csrf = request(port, "GET", "/api/auth/csrf", &[], None, timeout)?;
    if csrf.status != 200 {
        return Err(format!("GET /api/auth/csrf answered {}", csrf.status));
    }
    let csrf_cookie = csrf
        .set_cookie("gatehouse_csrf")
        .ok_or("GET /api/auth/csrf set no gatehouse_csrf cookie")?;
    let token = json_string(&csrf.body, "csrfToken").ok_or("no csrfToken in GET /api/auth/csrf")?;
    let body = form_encode(&[
        ("email", email),
        ("password", password),
        ("csrf_token", &token),
    ]);
    let cookie = format!("gatehouse_csrf={csrf_cookie}");
    let answer = request(
        port,
        "POST",
        "/signin",
        &[("Cookie", &cookie)],
        Some(("application/x-www-form-urlencoded", &body)),
        timeout,
    )?;
    Ok(SignIn {
        status: answer.status,
        // What a browser sends from then on: the session and the CSRF cookie.
        session: answer
            .set_cookie("gatehouse_session")
            .map(|s| format!("gatehouse_session={s}; gatehouse_csrf={csrf_cookie}")),
        retry_after: answer.header("retry-after").map(str::to_string),
    })
}

/// The string value of `"key": "…"` in a flat JSON text (no escapes expected).
pub fn json_string(json: &str, key: &str) -> Option<String> {
    let at = json.find(&format!("\"{key}\""))?;
    let rest = json[at + key.len() + 2..].trim_start().strip_prefix(':')?;
    let rest = rest.trim_start().strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_chunked_answers_and_cookies() {
        let raw = b"HTTP/1.1 303 See Other\r\nSet-Cookie: gatehouse_session=abc.def; Path=/; HttpOnly\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let r = parse(raw).unwrap();
        assert_eq!(r.status, 303);
        assert_eq!(
            r.set_cookie("gatehouse_session").as_deref(),
            Some("abc.def")
        );
        assert_eq!(r.body, "abcde");
    }

    #[test]
    fn reads_json_strings_and_encodes_forms() {
        assert_eq!(
            json_string(r#"{"csrfToken": "x-1"}"#, "csrfToken").as_deref(),
            Some("x-1")
        );
        assert_eq!(
            form_encode(&[("email", "a@b.c"), ("p", "x y")]),
            "email=a%40b.c&p=x+y"
        );
    }
}

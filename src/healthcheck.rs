//! `gatehouse healthcheck`: one `GET /healthz` to the configured address, for
//! container health checks in images without curl. Plain HTTP/1.1 over a std
//! `TcpStream`: the server always speaks plain HTTP on `GATEHOUSE_ADDR`.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// Connecting, sending and reading the answer each get at most this long.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// Where to reach a server listening on `addr`: an unspecified address
/// (`0.0.0.0`, `::`) is reached on the loopback of the same family.
pub fn target(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, addr.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, addr.port()).into(),
        _ => addr,
    }
}

/// `Ok` when `/healthz` of the server listening on `addr` answers `200`;
/// otherwise one line saying what went wrong.
pub fn check(addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    let to = target(addr);
    let url = format!("http://{to}/healthz");
    let mut stream = TcpStream::connect_timeout(&to, timeout)
        .map_err(|e| format!("healthcheck: cannot connect to {to}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| format!("healthcheck: {url}: {e}"))?;
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: {to}\r\nConnection: close\r\nUser-Agent: gatehouse-healthcheck\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("healthcheck: {url}: cannot send the request: {e}"))?;
    // The status line is all we need; read until its end (or a small cap).
    let mut head = Vec::with_capacity(128);
    let mut buf = [0u8; 128];
    while !head.contains(&b'\n') && head.len() < 1024 {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) => return Err(format!("healthcheck: {url}: no answer: {e}")),
        }
    }
    let line = String::from_utf8_lossy(&head);
    let line = line.lines().next().unwrap_or("").trim();
    match status_of(line) {
        Some(200) => Ok(()),
        Some(code) => Err(format!("healthcheck: {url} answered {code}")),
        None if line.is_empty() => Err(format!("healthcheck: {url}: empty answer")),
        None => Err(format!("healthcheck: {url}: not an HTTP answer")),
    }
}

/// The code in an HTTP/1.x status line (`HTTP/1.1 200 OK`).
fn status_of(line: &str) -> Option<u16> {
    let mut parts = line.split_ascii_whitespace();
    let version = parts.next()?;
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let code = parts.next()?;
    if code.len() != 3 {
        return None;
    }
    code.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_addresses_are_reached_on_loopback() {
        let t = |s: &str| target(s.parse().unwrap()).to_string();
        assert_eq!(t("0.0.0.0:8080"), "127.0.0.1:8080");
        assert_eq!(t("[::]:8080"), "[::1]:8080");
        assert_eq!(t("10.1.2.3:80"), "10.1.2.3:80");
        assert_eq!(t("[fe80::1]:80"), "[fe80::1]:80");
    }

    #[test]
    fn status_lines() {
        assert_eq!(status_of("HTTP/1.1 200 OK"), Some(200));
        assert_eq!(status_of("HTTP/1.0 503 Service Unavailable"), Some(503));
        assert_eq!(status_of("HTTP/1.1 200"), Some(200));
        for bad in [
            "",
            "SSH-2.0-OpenSSH",
            "HTTP/1.1",
            "HTTP/1.1 20 OK",
            "HTTP/2 200",
        ] {
            assert_eq!(status_of(bad), None, "{bad}");
        }
    }
}

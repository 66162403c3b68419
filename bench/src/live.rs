//! Live updates (issue 11): [`STREAMS`] `GET /api/auth/events` streams held
//! open on one instance, all of the bench user's one session. Measures the
//! server's resident memory per stream (VmRSS with the streams open minus
//! before, over their number) and, after one profile edit through
//! `POST /api/auth/session`, the time from sending the edit to its
//! `event: session` on the first and on the last stream.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::http;

/// Streams opened.
pub const STREAMS: usize = 5_000;
const T: Duration = Duration::from_secs(30);

/// What the step measured.
pub struct Live {
    pub streams: usize,
    pub rss_before_kb: u64,
    pub rss_with_kb: u64,
    /// Opening every stream and reading its first event, one after another.
    pub open_ms: f64,
    /// The edit's own answer.
    pub edit_ms: f64,
    /// From sending the edit to its event on the first and the last stream.
    pub first_ms: f64,
    pub last_ms: f64,
}

impl Live {
    /// Resident memory per open stream, in KB.
    pub fn kb_per_stream(&self) -> f64 {
        self.rss_with_kb.saturating_sub(self.rss_before_kb) as f64 / self.streams as f64
    }
}

/// Raises this process's open-file limit to its hard limit; the server, a
/// child, inherits it. Answers the soft limit now in force.
pub fn raise_nofile() -> u64 {
    #[repr(C)]
    struct Rlimit {
        cur: u64,
        max: u64,
    }
    const RLIMIT_NOFILE: i32 = 7;
    unsafe extern "C" {
        fn getrlimit(resource: i32, rlim: *mut Rlimit) -> i32;
        fn setrlimit(resource: i32, rlim: *const Rlimit) -> i32;
    }
    let mut l = Rlimit { cur: 0, max: 0 };
    // SAFETY: plain libc calls with a valid, properly laid out struct.
    unsafe {
        if getrlimit(RLIMIT_NOFILE, &mut l) != 0 {
            return 0;
        }
        let raised = Rlimit {
            cur: l.max,
            max: l.max,
        };
        if setrlimit(RLIMIT_NOFILE, &raised) == 0 {
            l.cur = l.max;
        }
    }
    l.cur
}

/// One open stream and what it has sent since the last [`clear`](Self::clear).
struct Stream {
    socket: TcpStream,
    seen: Vec<u8>,
}

impl Stream {
    fn open(port: u16, cookie: &str) -> Result<Stream, String> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let mut socket =
            TcpStream::connect_timeout(&addr, T).map_err(|e| format!("events: connect: {e}"))?;
        socket.set_read_timeout(Some(T)).ok();
        let req = format!(
            "GET /api/auth/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n\
             Accept: text/event-stream\r\n\r\n"
        );
        socket
            .write_all(req.as_bytes())
            .map_err(|e| format!("events: write: {e}"))?;
        let mut s = Stream {
            socket,
            seen: Vec::new(),
        };
        // The first event, blocking (bounded by the read timeout).
        while !s.has(b"event: session") {
            let mut buf = [0u8; 4096];
            let n = s
                .socket
                .read(&mut buf)
                .map_err(|e| format!("events: first event: {e}"))?;
            if n == 0 {
                let head = String::from_utf8_lossy(&s.seen);
                return Err(format!(
                    "events: the stream ended before its first event: {}",
                    head.chars().take(200).collect::<String>()
                ));
            }
            s.seen.extend_from_slice(&buf[..n]);
        }
        s.socket
            .set_nonblocking(true)
            .map_err(|e| format!("events: {e}"))?;
        s.seen.clear();
        Ok(s)
    }

    fn has(&self, needle: &[u8]) -> bool {
        self.seen.windows(needle.len()).any(|w| w == needle)
    }

    /// Reads what is there without waiting; `Err` when the stream ended.
    fn poll(&mut self) -> Result<(), String> {
        let mut buf = [0u8; 4096];
        loop {
            match self.socket.read(&mut buf) {
                Ok(0) => return Err("events: a stream ended".into()),
                Ok(n) => self.seen.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("events: read: {e}")),
            }
        }
    }
}

/// Runs the step against the server on `port`, signed in with `cookie` (the
/// session and the CSRF cookie); `rss_kb` reads the server's resident set.
pub fn run(
    port: u16,
    rss_kb: &dyn Fn() -> Result<u64, String>,
    cookie: &str,
) -> Result<Live, String> {
    let csrf = http::get(port, "/api/auth/csrf", Some(cookie), T)?;
    let token = http::json_string(&csrf.body, "csrfToken").ok_or("no csrfToken")?;
    let cookie = match csrf.set_cookie("gatehouse_csrf") {
        Some(fresh) => {
            let session = cookie
                .split("; ")
                .find(|c| c.starts_with("gatehouse_session="));
            format!("{}; gatehouse_csrf={fresh}", session.unwrap_or(""))
        }
        None => cookie.to_string(),
    };
    let rss_before_kb = rss_kb()?;
    let started = Instant::now();
    let mut streams = Vec::with_capacity(STREAMS);
    for i in 0..STREAMS {
        streams.push(Stream::open(port, &cookie).map_err(|e| format!("stream {i}: {e}"))?);
    }
    let open_ms = started.elapsed().as_secs_f64() * 1000.0;
    // Let the allocator settle before reading the resident set.
    std::thread::sleep(Duration::from_millis(500));
    let rss_with_kb = rss_kb()?;

    let name = format!("Bench live {}", std::process::id());
    let body = format!("{{\"name\":\"{name}\"}}");
    let sent = Instant::now();
    let answer = http::request(
        port,
        "POST",
        "/api/auth/session",
        &[("Cookie", &cookie), ("X-CSRF-Token", &token)],
        Some(("application/json", &body)),
        T,
    )?;
    let edit_ms = sent.elapsed().as_secs_f64() * 1000.0;
    if answer.status != 200 {
        return Err(format!("POST /api/auth/session answered {}", answer.status));
    }
    let needle = name.into_bytes();
    let mut waiting: Vec<usize> = (0..streams.len()).collect();
    let mut first_ms = None;
    let mut last_ms = 0.0;
    while !waiting.is_empty() {
        if sent.elapsed() > T {
            return Err(format!(
                "events: {} of {} streams had no event {} s after the edit",
                waiting.len(),
                streams.len(),
                T.as_secs()
            ));
        }
        let before = waiting.len();
        let mut still = Vec::with_capacity(waiting.len());
        for i in waiting {
            let s = &mut streams[i];
            s.poll()?;
            if s.has(&needle) {
                let ms = sent.elapsed().as_secs_f64() * 1000.0;
                first_ms.get_or_insert(ms);
                last_ms = ms;
            } else {
                still.push(i);
            }
        }
        waiting = still;
        if waiting.len() == before {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    Ok(Live {
        streams: streams.len(),
        rss_before_kb,
        rss_with_kb,
        open_ms,
        edit_ms,
        first_ms: first_ms.unwrap_or(0.0),
        last_ms,
    })
}

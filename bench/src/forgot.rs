//! `POST /forgot-password` for an address with an account and for one
//! without, interleaved, one at a time: the two answers should take about the
//! same time, so timing tells a stranger nothing. The server runs with
//! `RATE_LIMIT_EMAIL=off` and no `SMTP_URL` (the mail is written as a file by
//! the background sender, after the answer).

use std::time::{Duration, Instant};

use crate::http;
use crate::results::median;

/// Requests per address (after the warm-up).
pub const ROUNDS: usize = 300;
const WARMUP: usize = 30;
const T: Duration = Duration::from_secs(10);

/// Milliseconds per answer, by kind.
pub struct Forgot {
    pub known_ms: Vec<f64>,
    pub unknown_ms: Vec<f64>,
}

impl Forgot {
    /// (median known, median unknown, known / unknown).
    pub fn medians(&self) -> Option<(f64, f64, f64)> {
        let (k, u) = (median(&self.known_ms)?, median(&self.unknown_ms)?);
        Some((k, u, k / u))
    }
}

pub fn run(port: u16, known: &str) -> Result<Forgot, String> {
    let csrf = http::request(port, "GET", "/api/auth/csrf", &[], None, T)?;
    let cookie = csrf
        .set_cookie("gatehouse_csrf")
        .ok_or("GET /api/auth/csrf set no gatehouse_csrf cookie")?;
    let token = http::json_string(&csrf.body, "csrfToken").ok_or("no csrfToken")?;
    let cookie = format!("gatehouse_csrf={cookie}");
    let post = |email: &str| -> Result<f64, String> {
        let body = http::form_encode(&[("email", email), ("csrf_token", &token)]);
        let started = Instant::now();
        let answer = http::request(
            port,
            "POST",
            "/forgot-password",
            &[("Cookie", &cookie)],
            Some(("application/x-www-form-urlencoded", &body)),
            T,
        )?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        if answer.status != 200 {
            return Err(format!("POST /forgot-password answered {}", answer.status));
        }
        Ok(ms)
    };
    let mut out = Forgot {
        known_ms: Vec::new(),
        unknown_ms: Vec::new(),
    };
    for i in 0..WARMUP + ROUNDS {
        // Alternate which goes first, so neither always follows the other.
        let unknown = format!("nobody-{i}@bench.example");
        let (k, u) = if i % 2 == 0 {
            let k = post(known)?;
            (k, post(&unknown)?)
        } else {
            let u = post(&unknown)?;
            (post(known)?, u)
        };
        if i >= WARMUP {
            out.known_ms.push(k);
            out.unknown_ms.push(u);
        }
    }
    Ok(out)
}

//! The sign-in storm: 50 concurrent form sign-ins while wrk loads signed-in `GET /`.

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use crate::http;
use crate::wrk::{self, Settings, WrkResult};

pub const SIGN_INS: usize = 50;

pub struct Storm {
    /// Answered 303 with a session cookie.
    pub ok: usize,
    /// Answered 429 or 503 with `Retry-After`.
    pub limited: usize,
    /// Anything else, or a connection error: one line each.
    pub failures: Vec<String>,
    /// From firing the sign-ins to the last answer, in ms.
    pub sign_in_wall_ms: f64,
    /// The page views that ran during the storm.
    pub wrk: Result<WrkResult, String>,
    pub wrk_seconds: u32,
    /// The server's VmHWM afterwards, in kB.
    pub rss_after_kb: Option<u64>,
}

/// Runs wrk on signed-in `GET /` for the measured duration; after 1 s fires
/// `SIGN_INS` sign-ins at once from as many threads.
pub fn run(settings: &Settings, port: u16, session: &str, email: &str, password: &str) -> Storm {
    let s = *settings;
    let cookie = session.to_string();
    let load = thread::spawn(move || wrk::run(&s, s.duration_s, port, "/", Some(&cookie)));
    thread::sleep(Duration::from_secs(1));

    let barrier = Arc::new(Barrier::new(SIGN_INS));
    let fired = Instant::now();
    let workers: Vec<_> = (0..SIGN_INS)
        .map(|_| {
            let (barrier, email, password) =
                (barrier.clone(), email.to_string(), password.to_string());
            thread::spawn(move || {
                barrier.wait();
                http::sign_in(port, &email, &password, Duration::from_secs(60))
            })
        })
        .collect();

    let (mut ok, mut limited, mut failures) = (0, 0, Vec::new());
    for w in workers {
        let Ok(answer) = w.join() else {
            failures.push("a sign-in thread panicked".to_string());
            continue;
        };
        match answer {
            Ok(a) if a.status == 303 && a.session.is_some() => ok += 1,
            Ok(a) if matches!(a.status, 429 | 503) && a.retry_after.is_some() => limited += 1,
            Ok(a) if matches!(a.status, 429 | 503) => {
                failures.push(format!("{} without Retry-After", a.status))
            }
            Ok(a) if a.status == 303 => failures.push("303 without a session cookie".to_string()),
            Ok(a) => failures.push(format!("answered {}", a.status)),
            Err(e) => failures.push(e),
        }
    }
    let sign_in_wall_ms = fired.elapsed().as_secs_f64() * 1000.0;
    let wrk = load
        .join()
        .unwrap_or_else(|_| Err("the wrk thread panicked".to_string()));
    Storm {
        ok,
        limited,
        failures,
        sign_in_wall_ms,
        wrk,
        wrk_seconds: settings.duration_s,
        rss_after_kb: None,
    }
}

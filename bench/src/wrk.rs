//! Running wrk and reading its report.

use std::process::Command;
use std::time::Duration;

use crate::cmd;

/// The settings every row of one run shares.
#[derive(Clone, Copy)]
pub struct Settings {
    pub threads: u32,
    pub connections: u32,
    pub duration_s: u32,
    pub warmup_s: u32,
}

impl Settings {
    pub fn describe(&self) -> String {
        format!(
            "`wrk -t{} -c{} -d{}s --latency`, after a {} s warm-up run per URL",
            self.threads, self.connections, self.duration_s, self.warmup_s
        )
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct WrkResult {
    pub requests: u64,
    pub req_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// "Non-2xx or 3xx responses".
    pub bad_status: u64,
    /// The sum of "Socket errors: connect, read, write, timeout".
    pub socket_errors: u64,
}

impl WrkResult {
    pub fn errors(&self) -> u64 {
        self.bad_status + self.socket_errors
    }
}

/// Loads `http://127.0.0.1:port{path}` for `seconds`, with the session cookie when given.
pub fn run(
    s: &Settings,
    seconds: u32,
    port: u16,
    path: &str,
    session: Option<&str>,
) -> Result<WrkResult, String> {
    let mut c = Command::new("wrk");
    c.arg(format!("-t{}", s.threads))
        .arg(format!("-c{}", s.connections))
        .arg(format!("-d{seconds}s"))
        .arg("--latency");
    if let Some(cookie) = session {
        c.arg("-H").arg(format!("Cookie: {cookie}"));
    }
    c.arg(format!("http://127.0.0.1:{port}{path}"));
    let limit = Duration::from_secs(u64::from(seconds) + 30);
    let text = cmd::run_ok(&mut c, None, limit)?;
    parse(&text).map_err(|e| format!("wrk {path}: {e}\n{text}"))
}

/// A warm-up run, then the measured one.
pub fn measure(
    s: &Settings,
    port: u16,
    path: &str,
    session: Option<&str>,
) -> Result<WrkResult, String> {
    run(s, s.warmup_s, port, path, session)?;
    run(s, s.duration_s, port, path, session)
}

pub fn parse(text: &str) -> Result<WrkResult, String> {
    let mut r = WrkResult::default();
    let (mut rps, mut p50, mut p99) = (None, None, None);
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", v] => rps = v.parse().ok(),
            ["50%", v] => p50 = to_ms(v),
            ["99%", v] => p99 = to_ms(v),
            [n, "requests", "in", ..] => r.requests = n.parse().unwrap_or(0),
            ["Non-2xx", "or", "3xx", "responses:", n] => r.bad_status = n.parse().unwrap_or(0),
            ["Socket", "errors:", rest @ ..] => {
                // connect 0, read 0, write 0, timeout 0
                r.socket_errors = rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum();
            }
            _ => {}
        }
    }
    r.req_per_s = rps.ok_or("no Requests/sec line")?;
    r.p50_ms = p50.ok_or("no 50% latency line")?;
    r.p99_ms = p99.ok_or("no 99% latency line")?;
    Ok(r)
}

/// wrk's durations ("812.00us", "1.23ms", "2.01s", "1.00m") in milliseconds.
fn to_ms(v: &str) -> Option<f64> {
    let split = v.find(|c: char| c.is_ascii_alphabetic())?;
    let (n, unit) = v.split_at(split);
    let n: f64 = n.parse().ok()?;
    let factor = match unit {
        "us" => 0.001,
        "ms" => 1.0,
        "s" => 1000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        _ => return None,
    };
    Some(n * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "Running 3s test @ http://127.0.0.1:8080/
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.20ms  512.00us  20.00ms   90.00%
    Req/Sec    25.00k     1.00k   27.00k    70.00%
  Latency Distribution
     50%  812.00us
     75%    1.50ms
     90%    2.00ms
     99%    1.02s
  150000 requests in 3.00s, 120.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:  50000.12
Transfer/sec:     40.00MB
";

    #[test]
    fn parses_a_report() {
        let r = parse(SAMPLE).unwrap();
        assert_eq!(r.requests, 150_000);
        assert!((r.req_per_s - 50000.12).abs() < 1e-9);
        assert!((r.p50_ms - 0.812).abs() < 1e-9);
        assert!((r.p99_ms - 1020.0).abs() < 1e-9);
        assert_eq!((r.bad_status, r.socket_errors, r.errors()), (7, 5, 12));
    }

    #[test]
    fn a_clean_report_has_no_errors() {
        let clean: String = SAMPLE
            .lines()
            .filter(|l| !l.contains("errors") && !l.contains("Non-2xx"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(parse(&clean).unwrap().errors(), 0);
        assert!(parse("garbage").is_err());
    }
}

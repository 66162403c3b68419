//! The "Running in production" variables: the metrics listener, shutdown,
//! the background sweeper, the log format, the live-update streams and the
//! connection limits (timeouts for slow clients, open connections).

use std::net::SocketAddr;
use std::time::Duration;

use super::{ConfigError, bad, parse_duration};

/// How log lines are written (`LOG_FORMAT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Running {
    /// `GATEHOUSE_METRICS_ADDR`: where `GET /metrics` is served (`None`: off).
    pub metrics_addr: Option<SocketAddr>,
    /// `GATEHOUSE_SHUTDOWN_TIMEOUT`: how long requests in flight may take to
    /// finish after `SIGTERM` or `SIGINT`.
    pub shutdown_timeout: Duration,
    /// `SWEEP_INTERVAL`: how often expired rows are deleted (`None`: `off`).
    pub sweep_interval: Option<Duration>,
    /// `LOG_FORMAT`.
    pub log_format: LogFormat,
    /// `EVENTS_MAX_STREAMS`: open `GET /api/auth/events` streams allowed on
    /// this instance (`0`: live updates off, the route answers `404`).
    pub events_max_streams: usize,
    /// `EVENTS_KEEPALIVE`: how often an idle stream sends a comment line.
    pub events_keepalive: Duration,
    /// `EVENTS_BACKLOG`: changes kept for a session's watcher while it reads
    /// (past it the watcher lags and reads again). Tests make it small.
    pub events_backlog: usize,
    /// `GATEHOUSE_REQUEST_TIMEOUT`: how long a connection may take to send a
    /// request's head (its first, or the next after keep-alive); `408`, then
    /// closed.
    pub request_timeout: Duration,
    /// `GATEHOUSE_BODY_TIMEOUT`: how long a request's body may take to arrive
    /// once its head has; `408`.
    pub body_timeout: Duration,
    /// `GATEHOUSE_RESPONSE_TIMEOUT`: how long a request may take to be
    /// answered once its body has arrived; `503` with `Retry-After`, and its
    /// unfinished write transactions roll back.
    pub response_timeout: Duration,
    /// `GATEHOUSE_KEEP_ALIVE`: how long an idle connection is kept open
    /// between requests (zero, from `off`: closed after each answer).
    pub keep_alive: Duration,
    /// `GATEHOUSE_MAX_CONNECTIONS`: open connections this instance serves at
    /// once; past it new ones wait in the listen backlog.
    pub max_connections: usize,
}

impl Default for Running {
    fn default() -> Self {
        Running {
            metrics_addr: None,
            shutdown_timeout: Duration::from_secs(30),
            sweep_interval: Some(Duration::from_secs(3_600)),
            log_format: LogFormat::Text,
            events_max_streams: 10_000,
            events_keepalive: Duration::from_secs(15),
            events_backlog: crate::events::BACKLOG,
            request_timeout: Duration::from_secs(5),
            body_timeout: Duration::from_secs(10),
            response_timeout: Duration::from_secs(10),
            keep_alive: Duration::from_secs(5),
            max_connections: 10_000,
        }
    }
}

impl Running {
    /// Reads the variables through `get` (empty values already unset).
    pub(super) fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut running = Running::default();
        if let Some(raw) = get("GATEHOUSE_METRICS_ADDR") {
            let addr = raw.trim().parse::<SocketAddr>().map_err(|_| {
                bad(
                    "GATEHOUSE_METRICS_ADDR",
                    format!("`{raw}` is not an address like 127.0.0.1:9090"),
                )
            })?;
            running.metrics_addr = Some(addr);
        }
        if let Some(raw) = get("GATEHOUSE_SHUTDOWN_TIMEOUT") {
            let d = parse_duration(&raw).map_err(|p| bad("GATEHOUSE_SHUTDOWN_TIMEOUT", p))?;
            if d > Duration::from_secs(3_600) {
                return Err(bad("GATEHOUSE_SHUTDOWN_TIMEOUT", "must be at most 1h"));
            }
            running.shutdown_timeout = d;
        }
        if let Some(raw) = get("SWEEP_INTERVAL") {
            running.sweep_interval = if raw.trim().eq_ignore_ascii_case("off") {
                None
            } else {
                Some(parse_duration(&raw).map_err(|p| bad("SWEEP_INTERVAL", p))?)
            };
        }
        if let Some(raw) = get("LOG_FORMAT") {
            running.log_format = match raw.trim().to_ascii_lowercase().as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => return Err(bad("LOG_FORMAT", format!("`{raw}` must be text or json"))),
            };
        }
        if let Some(raw) = get("EVENTS_MAX_STREAMS") {
            running.events_max_streams = raw.trim().parse::<usize>().map_err(|_| {
                bad(
                    "EVENTS_MAX_STREAMS",
                    format!("`{raw}` is not a whole number (0 turns live updates off)"),
                )
            })?;
        }
        if let Some(raw) = get("EVENTS_KEEPALIVE") {
            let d = parse_duration(&raw).map_err(|p| bad("EVENTS_KEEPALIVE", p))?;
            if d.is_zero() || d > Duration::from_secs(30) {
                return Err(bad(
                    "EVENTS_KEEPALIVE",
                    "must be more than 0s and at most 30s (proxies close idle streams)",
                ));
            }
            running.events_keepalive = d;
        }
        if let Some(raw) = get("EVENTS_BACKLOG") {
            running.events_backlog = match raw.trim().parse::<usize>() {
                Ok(n) if (1..=1_000_000).contains(&n) => n,
                _ => {
                    return Err(bad(
                        "EVENTS_BACKLOG",
                        format!("`{raw}` is not a whole number from 1 to 1000000"),
                    ));
                }
            };
        }
        for (var, slot) in [
            ("GATEHOUSE_REQUEST_TIMEOUT", &mut running.request_timeout),
            ("GATEHOUSE_BODY_TIMEOUT", &mut running.body_timeout),
            ("GATEHOUSE_RESPONSE_TIMEOUT", &mut running.response_timeout),
        ] {
            if let Some(raw) = get(var) {
                let d = parse_duration(&raw).map_err(|p| bad(var, p))?;
                if d.is_zero() || d > Duration::from_secs(600) {
                    return Err(bad(var, "must be more than 0s and at most 10m"));
                }
                *slot = d;
            }
        }
        if let Some(raw) = get("GATEHOUSE_KEEP_ALIVE") {
            running.keep_alive = if raw.trim().eq_ignore_ascii_case("off") {
                Duration::ZERO
            } else {
                let d = parse_duration(&raw).map_err(|p| bad("GATEHOUSE_KEEP_ALIVE", p))?;
                if d > Duration::from_secs(3_600) {
                    return Err(bad("GATEHOUSE_KEEP_ALIVE", "must be at most 1h"));
                }
                d
            };
        }
        if let Some(raw) = get("GATEHOUSE_MAX_CONNECTIONS") {
            running.max_connections = match raw.trim().parse::<usize>() {
                Ok(n) if (1..=1_000_000).contains(&n) => n,
                _ => {
                    return Err(bad(
                        "GATEHOUSE_MAX_CONNECTIONS",
                        format!("`{raw}` is not a whole number from 1 to 1000000"),
                    ));
                }
            };
        }
        Ok(running)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn running(vars: &[(&str, &str)]) -> Result<Running, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Running::from_lookup(&|k| {
            vars.iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_match_the_spec() {
        let r = running(&[]).unwrap();
        assert_eq!(r, Running::default());
        assert_eq!(r.metrics_addr, None);
        assert_eq!(r.shutdown_timeout, Duration::from_secs(30));
        assert_eq!(r.sweep_interval, Some(Duration::from_secs(3_600)));
        assert_eq!(r.log_format, LogFormat::Text);
        assert_eq!(r.events_max_streams, 10_000);
        assert_eq!(r.events_keepalive, Duration::from_secs(15));
        assert_eq!(r.events_backlog, 4_096);
        assert_eq!(r.request_timeout, Duration::from_secs(5));
        assert_eq!(r.body_timeout, Duration::from_secs(10));
        assert_eq!(r.response_timeout, Duration::from_secs(10));
        assert_eq!(r.keep_alive, Duration::from_secs(5));
        assert_eq!(r.max_connections, 10_000);
    }

    #[test]
    fn values_are_read() {
        let r = running(&[
            ("GATEHOUSE_METRICS_ADDR", "127.0.0.1:9090"),
            ("GATEHOUSE_SHUTDOWN_TIMEOUT", "5s"),
            ("SWEEP_INTERVAL", "OFF"),
            ("LOG_FORMAT", "json"),
            ("EVENTS_MAX_STREAMS", "0"),
            ("EVENTS_KEEPALIVE", "1s"),
            ("EVENTS_BACKLOG", "1"),
            ("GATEHOUSE_REQUEST_TIMEOUT", "2s"),
            ("GATEHOUSE_BODY_TIMEOUT", "3s"),
            ("GATEHOUSE_RESPONSE_TIMEOUT", "4s"),
            ("GATEHOUSE_KEEP_ALIVE", "OFF"),
            ("GATEHOUSE_MAX_CONNECTIONS", "100"),
        ])
        .unwrap();
        assert_eq!(r.request_timeout, Duration::from_secs(2));
        assert_eq!(r.body_timeout, Duration::from_secs(3));
        assert_eq!(r.response_timeout, Duration::from_secs(4));
        assert_eq!(r.keep_alive, Duration::ZERO);
        assert_eq!(r.max_connections, 100);
        assert_eq!(r.events_backlog, 1);
        assert_eq!(r.events_max_streams, 0);
        assert_eq!(r.events_keepalive, Duration::from_secs(1));
        assert_eq!(r.metrics_addr, Some("127.0.0.1:9090".parse().unwrap()));
        assert_eq!(r.shutdown_timeout, Duration::from_secs(5));
        assert_eq!(r.sweep_interval, None);
        assert_eq!(r.log_format, LogFormat::Json);
        let r = running(&[("SWEEP_INTERVAL", "10m")]).unwrap();
        assert_eq!(r.sweep_interval, Some(Duration::from_secs(600)));
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        for (var, value) in [
            ("GATEHOUSE_METRICS_ADDR", "localhost"),
            ("GATEHOUSE_METRICS_ADDR", "9090"),
            ("GATEHOUSE_SHUTDOWN_TIMEOUT", "soon"),
            ("GATEHOUSE_SHUTDOWN_TIMEOUT", "2h"),
            ("SWEEP_INTERVAL", "never"),
            ("LOG_FORMAT", "xml"),
            ("EVENTS_MAX_STREAMS", "-1"),
            ("EVENTS_MAX_STREAMS", "many"),
            ("EVENTS_KEEPALIVE", "0s"),
            ("EVENTS_KEEPALIVE", "1m"),
            ("EVENTS_BACKLOG", "0"),
            ("EVENTS_BACKLOG", "2000000"),
            ("EVENTS_BACKLOG", "lots"),
            ("GATEHOUSE_REQUEST_TIMEOUT", "0s"),
            ("GATEHOUSE_REQUEST_TIMEOUT", "1h"),
            ("GATEHOUSE_BODY_TIMEOUT", "slow"),
            ("GATEHOUSE_RESPONSE_TIMEOUT", "0s"),
            ("GATEHOUSE_RESPONSE_TIMEOUT", "11m"),
            ("GATEHOUSE_KEEP_ALIVE", "2h"),
            ("GATEHOUSE_KEEP_ALIVE", "0s"),
            ("GATEHOUSE_MAX_CONNECTIONS", "0"),
            ("GATEHOUSE_MAX_CONNECTIONS", "unlimited"),
        ] {
            let err = running(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable, var, "{value}");
        }
    }
}

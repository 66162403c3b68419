//! The "Running in production" variables: the metrics listener, shutdown,
//! the background sweeper, the log format and the live-update streams.

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
        ])
        .unwrap();
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
        ] {
            let err = running(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable, var, "{value}");
        }
    }
}

//! What one run measured.

use crate::forgot::Forgot;
use crate::live::Live;
use crate::seed::Backend;
use crate::storm::Storm;
use crate::wrk::{Settings, WrkResult};

pub enum Cell {
    NotRun,
    NotBuilt,
    Failed(String),
    Done(WrkResult),
}

impl Cell {
    pub fn done(&self) -> Option<&WrkResult> {
        match self {
            Cell::Done(r) => Some(r),
            _ => None,
        }
    }
}

pub struct BackendReport {
    pub backend: Backend,
    pub anonymous: Cell,
    pub home: Cell,
    pub session: Cell,
    pub verify: Cell,
    pub rss_load_kb: Option<u64>,
    pub storm: Option<Storm>,
    pub big_sessions: Option<u64>,
    pub home_big: Cell,
    /// `home_big` again on a server with `GATEHOUSE_METRICS_ADDR` set.
    pub home_big_metrics: Cell,
    /// `POST /forgot-password` timed for a known and an unknown address.
    pub forgot: Option<Result<Forgot, String>>,
    /// Live-update streams: memory per stream, change-to-event time.
    pub live: Option<Result<Live, String>>,
    pub rss_end_kb: Option<u64>,
    pub cold_start_ms: Vec<f64>,
    pub error: Option<String>,
    pub notes: Vec<String>,
}

impl BackendReport {
    pub fn new(backend: Backend) -> Self {
        BackendReport {
            backend,
            anonymous: Cell::NotRun,
            home: Cell::NotRun,
            session: Cell::NotRun,
            verify: Cell::NotRun,
            rss_load_kb: None,
            storm: None,
            big_sessions: None,
            home_big: Cell::NotRun,
            home_big_metrics: Cell::NotRun,
            forgot: None,
            live: None,
            rss_end_kb: None,
            cold_start_ms: Vec::new(),
            error: None,
            notes: Vec::new(),
        }
    }
}

pub struct Meta {
    pub date: String,
    pub nproc: String,
    pub cpu: String,
    pub commit: String,
    pub settings: Settings,
    pub quick: bool,
    /// What the run did about the kernel's scheduler autogroups.
    pub autogroup: String,
}

pub fn int(v: f64) -> String {
    let digits = format!("{:.0}", v.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}

pub fn opt_mb(kb: Option<u64>) -> String {
    kb.map(mb).unwrap_or_else(|| "–".into())
}

pub fn median(v: &[f64]) -> Option<f64> {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

/// Keeps the first of repeated lines, with a count.
#[cfg(test)]
mod tests {
    #[test]
    fn formats_thousands() {
        assert_eq!(super::int(1_234_567.4), "1,234,567");
        assert_eq!(super::int(999.0), "999");
    }
}

//! Durations, rate-limit specs, CIDR lists, and any value in any variable.
#![no_main]
use gatehouse::config::{Config, parse_cidr_list, parse_duration};
use gatehouse::ratelimit::parse_rule;
use libfuzzer_sys::fuzz_target;

const VARIABLES: [&str; 12] = [
    "DATABASE_URL",
    "GATEHOUSE_ADDR",
    "GATEHOUSE_URL",
    "GATEHOUSE_TRUSTED_PROXIES",
    "GATEHOUSE_EMAIL_DOMAINS",
    "SESSION_MAX_AGE",
    "SESSION_UPDATE_AGE",
    "RATE_LIMIT_SIGNIN",
    "SMTP_URL",
    "SMTP_FROM",
    "PASSWORD_MIN_SCORE",
    "SWEEP_INTERVAL",
];

fuzz_target!(|data: &[u8]| {
    let Some((first, rest)) = data.split_first() else {
        return;
    };
    let Ok(raw) = std::str::from_utf8(rest) else {
        return;
    };
    if let Ok(d) = parse_duration(raw) {
        assert!(d.as_secs() >= 1 && d.as_secs() <= 10 * 365 * 86_400);
        assert_eq!(parse_duration(&d.as_secs().to_string()), Ok(d));
    }
    if let Ok(Some(rule)) = parse_rule(raw) {
        let again = format!("{}/{}", rule.limit, rule.window.as_secs());
        assert_eq!(parse_rule(&again), Ok(Some(rule)));
    }
    if let Ok(nets) = parse_cidr_list(raw) {
        let again: Vec<String> = nets.iter().map(|n| n.to_string()).collect();
        assert_eq!(parse_cidr_list(&again.join(",")), Ok(nets));
    }
    let var = VARIABLES[usize::from(*first) % VARIABLES.len()];
    if let Err(e) = Config::from_lookup(|k| (k == var).then(|| raw.to_owned())) {
        assert!(e.to_string().contains(var), "{var}: {e}");
    }
});

//! Durations, rate-limit specs, CIDR lists, and any value in any variable
//! (`config::VARIABLES`, the list the parser reads through).
#![no_main]
use gatehouse::config::{Config, VARIABLES, parse_cidr_list, parse_duration};
use gatehouse::ratelimit::parse_rule;
use libfuzzer_sys::fuzz_target;

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
    // SMTP_CA_FILE is read whole at start: a device such as /dev/zero would
    // never end (the operator's own choice, not a parser's answer).
    if var == "SMTP_CA_FILE"
        && ["/dev", "/proc", "/sys"]
            .iter()
            .any(|d| raw.trim().starts_with(d))
    {
        return;
    }
    if let Err(e) = Config::from_lookup(|k| (k == var).then(|| raw.to_owned())) {
        let text = e.to_string();
        assert!(text.contains(var), "{var}: {e}");
        // A secret's value is never repeated in the error printed at start.
        let secret = var.ends_with("SECRET")
            || var == "GATEHOUSE_SECRET_PREVIOUS"
            || var == "GATEHOUSE_ADMIN_PASSWORD";
        if secret {
            let other = twin(raw);
            let again = Config::from_lookup(|k| (k == var).then(|| other.clone()));
            assert_eq!(
                again.err().map(|e| e.to_string()),
                Some(text),
                "{var}'s value shows"
            );
        }
    }
});

/// `value` with every character but commas, whitespace and controls
/// replaced by another of the same UTF-8 length: a message that does not
/// repeat a secret is the same for it.
fn twin(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c == ',' || c.is_whitespace() || c.is_control() {
                return c;
            }
            let pair = match c.len_utf8() {
                1 => ['x', 'y'],
                2 => ['é', 'è'],
                3 => ['€', '₤'],
                _ => ['😀', '😁'],
            };
            if c == pair[0] { pair[1] } else { pair[0] }
        })
        .collect()
}

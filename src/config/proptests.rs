//! Property tests for the configuration's parsers: durations, rate-limit
//! specs, CIDR lists, the public URL, and the whole configuration with any
//! value in any variable (a bad value is an error naming it, never a panic).
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::*;
use crate::ratelimit::{Rule, parse_rule};

const MAX_SECS: u64 = 10 * 365 * 86_400;

/// The canonical spelling of a duration: its largest whole unit.
fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    for (unit, n) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if s.is_multiple_of(n) {
            return format!("{}{unit}", s / n);
        }
    }
    format!("{s}s")
}

fn format_rule(rule: Option<Rule>) -> String {
    match rule {
        None => "off".into(),
        Some(r) => format!("{}/{}", r.limit, format_duration(r.window)),
    }
}

/// Text with the characters hostile input likes: controls, unicode digits,
/// signs, separators, very long runs.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9a-zA-Z/.,:+\\- \t\n\u{0}\u{200b}\u{ff10}-\u{ff19}]{0,40}",
        "[0-9]{15,40}[smhd]?",
        ("[0-9]{1,6}", "[ \t]{0,3}", "[smhdwy]{0,2}").prop_map(|(a, b, c)| format!("{a}{b}{c}")),
    ]
}

/// An address, and the naive answer to "is it in `addr/prefix`": the first
/// `prefix` bits are the same (and the family is the same).
fn naive_contains(addr: IpAddr, prefix: u8, ip: IpAddr) -> bool {
    let (a, b, width) = match (addr, ip) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) as u128, u32::from(b) as u128, 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    let shift = width - u32::from(prefix);
    if shift >= 128 {
        return true;
    }
    (a >> shift) == (b >> shift)
}

/// An address and a prefix length valid for its family.
fn net() -> impl Strategy<Value = (IpAddr, u8)> {
    prop_oneof![
        (any::<[u8; 4]>(), 0u8..=32).prop_map(|(o, p)| (IpAddr::from(o), p)),
        (any::<[u8; 16]>(), 0u8..=128).prop_map(|(o, p)| (IpAddr::from(o), p)),
    ]
}

/// An address near `addr` (sharing a random number of leading bits) or any address.
fn probe(addr: IpAddr) -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        (0u32..=128, any::<u128>()).prop_map(move |(keep, noise)| match addr {
            IpAddr::V4(a) => {
                let keep = keep.min(32);
                let mask = if keep == 0 {
                    0
                } else {
                    u32::MAX << (32 - keep)
                };
                IpAddr::V4(Ipv4Addr::from(
                    (u32::from(a) & mask) | (noise as u32 & !mask),
                ))
            }
            IpAddr::V6(a) => {
                let mask = if keep == 0 {
                    0
                } else {
                    u128::MAX << (128 - keep)
                };
                IpAddr::V6(Ipv6Addr::from((u128::from(a) & mask) | (noise & !mask)))
            }
        }),
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u8; 16]>().prop_map(IpAddr::from),
    ]
}

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

proptest! {
    #[test]
    fn parse_duration_never_panics_and_ok_is_in_range(raw in hostile_text()) {
        if let Ok(d) = parse_duration(&raw) {
            prop_assert!(d.as_secs() >= 1 && d.as_secs() <= MAX_SECS, "{raw:?} -> {d:?}");
        }
    }

    #[test]
    fn durations_round_trip(secs in 1..=MAX_SECS, pad in "[ \t]{0,2}") {
        let d = Duration::from_secs(secs);
        let text = format_duration(d);
        prop_assert_eq!(parse_duration(&text), Ok(d));
        prop_assert_eq!(parse_duration(&format!("{pad}{text}{pad}")), Ok(d));
        prop_assert_eq!(parse_duration(&secs.to_string()), Ok(d));
    }

    #[test]
    fn durations_refuse_other_units_signs_and_fractions(
        n in 0u64..100_000,
        unit in "[a-zA-Z]{1,3}",
        sign in "[-+]",
    ) {
        if !["s", "m", "h", "d"].contains(&unit.as_str()) {
            let other_unit = format!("{n}{unit}");
            prop_assert!(parse_duration(&other_unit).is_err(), "{}", other_unit);
        }
        let signed = format!("{sign}{n}s");
        prop_assert!(parse_duration(&signed).is_err(), "{}", signed);
        let fraction = format!("{n}.5h");
        prop_assert!(parse_duration(&fraction).is_err(), "{}", fraction);
        let too_long = format!("{}d", MAX_SECS / 86_400 + 1 + n);
        prop_assert!(parse_duration(&too_long).is_err(), "{}", too_long);
    }

    #[test]
    fn rate_limit_specs_never_panic(raw in hostile_text(), window in hostile_text()) {
        for text in [raw.clone(), format!("{raw}/{window}")] {
            if let Ok(Some(rule)) = parse_rule(&text) {
                prop_assert!(rule.limit > 0 && !rule.window.is_zero());
                // What parsed once reads the same when written out again.
                prop_assert_eq!(parse_rule(&format_rule(Some(rule))), Ok(Some(rule)));
            }
        }
    }

    #[test]
    fn rate_limit_specs_round_trip(limit in 1u32..=u32::MAX, secs in 1..=MAX_SECS) {
        let rule = Some(Rule { limit, window: Duration::from_secs(secs) });
        prop_assert_eq!(parse_rule(&format_rule(rule)), Ok(rule));
        prop_assert_eq!(parse_rule(&format!(" {limit} / {} ", format_duration(Duration::from_secs(secs)))), Ok(rule));
    }

    #[test]
    fn rate_limit_off_in_any_case(off in "[oO][fF][fF]") {
        prop_assert_eq!(parse_rule(&off), Ok(None));
    }

    #[test]
    fn cidr_lists_never_panic(raw in prop_oneof![
        any::<String>(),
        "[0-9a-fA-F:./, %]{0,60}",
        "([0-9]{1,4}\\.){3}[0-9]{1,4}(/[0-9]{1,3})?",
    ]) {
        if let Ok(nets) = parse_cidr_list(&raw) {
            prop_assert!(nets.len() <= raw.split(',').count());
        }
    }

    #[test]
    fn cidr_lists_parse_what_is_written_and_contains_is_naive(
        nets in proptest::collection::vec(net(), 1..5),
        bare in any::<bool>(),
        ip in net().prop_flat_map(|(a, _)| probe(a)),
        near in any::<prop::sample::Index>(),
    ) {
        let written: Vec<String> = nets
            .iter()
            .map(|(a, p)| {
                let full = matches!((a, p), (IpAddr::V4(_), 32) | (IpAddr::V6(_), 128));
                if bare && full { a.to_string() } else { format!("{a}/{p}") }
            })
            .collect();
        let parsed = parse_cidr_list(&format!(" {} ,", written.join(" , ")));
        prop_assert!(parsed.is_ok(), "{written:?}: {parsed:?}");
        let parsed = parsed.unwrap();
        prop_assert_eq!(parsed.len(), nets.len());
        for (n, (a, p)) in parsed.iter().zip(&nets) {
            prop_assert_eq!(n.addr(), *a);
            prop_assert_eq!(n.prefix_len(), *p);
            prop_assert_eq!(n.contains(&ip), naive_contains(*a, *p, ip), "{}: {}", n, ip);
            prop_assert!(n.contains(a));
        }
        // An address next to one of the networks, checked against that one.
        let (a, p) = nets[near.index(nets.len())];
        let n = parsed[near.index(nets.len())];
        let runner_ip = match a {
            IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(u32::from(v4) ^ 1)),
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) ^ 1)),
        };
        prop_assert_eq!(n.contains(&runner_ip), naive_contains(a, p, runner_ip));
    }

    #[test]
    fn public_url_is_a_site_root_or_refused(raw in prop_oneof![
        any::<String>(),
        "(https?|ftp|javascript)://[a-z0-9.:@\\[\\]/?#%]{0,30}",
    ]) {
        if let Ok(url) = parse_public_url(&raw) {
            prop_assert!(url.scheme() == "http" || url.scheme() == "https");
            prop_assert!(url.host_str().is_some());
            prop_assert_eq!(url.path(), "/");
            prop_assert!(url.query().is_none() && url.fragment().is_none());
        }
    }

    /// A mount prefix never panics; an accepted one is a plain absolute path
    /// (or the root), and every path joined onto it starts with it.
    #[test]
    fn mount_path_is_plain_or_refused_and_joins_under_itself(
        raw in prop_oneof![
            any::<String>(),
            "[a-z/.%?#: \\~_-]{0,20}",
            "(/[a-z0-9._~-]{1,6}){1,4}/?",
        ],
        path in "/[a-z0-9/?=&._-]{0,20}",
    ) {
        if let Ok(m) = MountPath::parse(&raw) {
            let prefix = m.as_str();
            prop_assert_eq!(m.is_root(), prefix.is_empty());
            if !m.is_root() {
                prop_assert!(prefix.starts_with('/') && !prefix.ends_with('/'));
                prop_assert!(!prefix.contains("//") && !prefix.contains("/./"));
                prop_assert!(!prefix.split('/').any(|s| s == ".."));
                prop_assert!(prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b"/-_.~".contains(&b)));
                // What was accepted reads the same again.
                prop_assert_eq!(MountPath::parse(prefix), Ok(m.clone()));
            }
            let joined = m.join(&path);
            prop_assert!(joined.starts_with('/'));
            prop_assert!(joined.starts_with(prefix));
            prop_assert_eq!(&joined[prefix.len()..], path.as_str());
        }
    }

    /// Any value in any variable (`VARIABLES`, the list the parser reads
    /// through): a configuration or an error naming that variable, never a
    /// panic.
    #[test]
    fn any_value_in_any_variable_is_config_or_a_named_error(
        var in prop::sample::select(VARIABLES),
        value in hostile_text(),
    ) {
        let map: HashMap<&str, String> = [(var, value)].into_iter().collect();
        if let Err(e) = Config::from_lookup(|k| map.get(k).cloned()) {
            prop_assert!(e.to_string().contains(var), "{var}: {e}");
        }
    }

    /// Several variables at once (pairs such as a provider's id and secret,
    /// or the session ages, refuse together): the error names one of them,
    /// and never repeats the value of a secret.
    #[test]
    fn any_values_in_several_variables_are_config_or_a_named_error(
        vars in proptest::collection::vec((prop::sample::select(VARIABLES), hostile_text()), 1..5),
    ) {
        let map: HashMap<&str, String> = vars.iter().cloned().collect();
        if let Err(e) = Config::from_lookup(|k| map.get(k).cloned()) {
            let text = e.to_string();
            prop_assert!(map.keys().any(|var| text.contains(var)), "{map:?}: {text}");
            for (var, value) in &map {
                let secret = var.ends_with("SECRET")
                    || *var == "GATEHOUSE_SECRET_PREVIOUS"
                    || *var == "GATEHOUSE_ADMIN_PASSWORD";
                if secret {
                    let mut other = map.clone();
                    other.insert(*var, twin(value));
                    let again = Config::from_lookup(|k| other.get(k).cloned()).err();
                    prop_assert_eq!(again.map(|e| e.to_string()), Some(text.clone()), "{}'s value shows", var);
                }
            }
        }
    }
}

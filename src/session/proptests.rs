//! Property tests for what a client sends about a session: the cookie's
//! token, a carried token hash, and `X-Forwarded-For` behind trusted proxies.
use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ipnet::IpNet;
use proptest::prelude::*;

use super::extract::forwarded_client;
use super::token::{PlainToken, TOKEN_LEN, TokenHash};

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u8; 16]>().prop_map(IpAddr::from),
        // A handful of addresses, so trusted and untrusted ones repeat.
        (0u8..6).prop_map(|n| IpAddr::from([10, 0, 0, n])),
    ]
}

/// One `X-Forwarded-For` entry: an address as proxies write it, or junk.
fn entry() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => ip().prop_map(|ip| ip.to_string()),
        1 => ip().prop_map(|ip| format!("  {ip}\t")),
        1 => "[0-9a-z.:\\[\\] _-]{0,12}",
        1 => any::<String>(),
    ]
}

proptest! {
    #[test]
    fn any_cookie_value_is_no_token_or_a_valid_one(raw in prop_oneof![
        any::<String>(),
        "[A-Za-z0-9_\\-+/=]{40,46}",
        "[A-Za-z0-9_\\-]{43}[\u{0}-\u{ff}]?",
    ]) {
        match PlainToken::parse(&raw) {
            Some(token) => {
                prop_assert_eq!(raw.len(), TOKEN_LEN);
                prop_assert!(raw.bytes().all(is_token_char));
                prop_assert_eq!(token.expose(), raw);
            }
            None => prop_assert!(raw.len() != TOKEN_LEN || !raw.bytes().all(is_token_char)),
        }
    }

    #[test]
    fn issued_tokens_round_trip(bytes in any::<[u8; 32]>()) {
        let encoded = URL_SAFE_NO_PAD.encode(bytes);
        let token = PlainToken::parse(&encoded);
        prop_assert!(token.is_some());
        let token = token.unwrap();
        let hash = token.hash();
        prop_assert_eq!(token.expose(), encoded.clone());
        // The hash carried through a request decodes to itself.
        prop_assert_eq!(TokenHash::decode(&hash.encode()), Some(hash));
        // ...and one changed character is another token with another hash.
        let mut other = encoded.into_bytes();
        other[0] = if other[0] == b'A' { b'B' } else { b'A' };
        let other = PlainToken::parse(std::str::from_utf8(&other).unwrap()).unwrap();
        prop_assert!(other.hash() != hash);
    }

    #[test]
    fn generated_tokens_parse(_n in 0u8..8) {
        let raw = PlainToken::generate().expose();
        prop_assert!(PlainToken::parse(&raw).is_some());
    }

    #[test]
    fn any_hash_text_decodes_to_32_bytes_or_nothing(raw in any::<String>()) {
        if let Some(h) = TokenHash::decode(&raw) {
            prop_assert_eq!(h.as_bytes().len(), 32);
            prop_assert_eq!(h.encode(), raw);
        }
    }

    /// The client is the peer, or an address written in the header to the
    /// right of which every entry is a trusted proxy.
    #[test]
    fn forwarded_client_is_the_peer_or_right_of_the_last_trusted_proxy(
        peer in ip(),
        trusted in proptest::collection::vec(
            prop_oneof![
                (0u8..6).prop_map(|n| IpNet::from(IpAddr::from([10, 0, 0, n]))),
                Just("10.0.0.0/29".parse::<IpNet>().unwrap()),
                Just("::/0".parse::<IpNet>().unwrap()),
                ip().prop_map(IpNet::from),
            ],
            0..4,
        ),
        headers in proptest::collection::vec(
            proptest::collection::vec(entry(), 0..6).prop_map(|e| e.join(",")),
            0..3,
        ),
        raw_bytes in proptest::collection::vec(any::<u8>(), 0..20),
        with_raw in any::<bool>(),
    ) {
        let mut values: Vec<Vec<u8>> = headers.iter().map(|h| h.clone().into_bytes()).collect();
        if with_raw {
            values.push(raw_bytes);
        }
        let got = forwarded_client(peer, values.iter().map(Vec::as_slice), &trusted);
        let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
        if got == peer {
            return Ok(());
        }
        // Only a trusted peer's header is read at all.
        prop_assert!(is_trusted(&peer));
        // The chain as written, every entry an address.
        let chain: Vec<IpAddr> = values
            .iter()
            .flat_map(|v| std::str::from_utf8(v).unwrap().split(','))
            .map(|e| e.trim().parse().unwrap())
            .collect();
        let at = chain.iter().rposition(|ip| *ip == got);
        prop_assert!(at.is_some(), "{got} is not in {chain:?}");
        let at = at.unwrap();
        prop_assert!(!is_trusted(&got));
        prop_assert!(chain[at + 1..].iter().all(is_trusted), "{chain:?} -> {got}");
    }

    #[test]
    fn an_untrusted_peer_is_always_the_client(
        peer in ip(),
        header in ".{0,80}",
    ) {
        let trusted: Vec<IpNet> = vec!["192.0.2.0/24".parse().unwrap()];
        prop_assume!(!trusted[0].contains(&peer));
        prop_assert_eq!(forwarded_client(peer, [header.as_bytes()], &trusted), peer);
    }
}

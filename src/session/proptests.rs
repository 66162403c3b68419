//! Property tests for what a client sends about a session: the cookie's
//! token, a carried token hash, `X-Forwarded-For` behind trusted proxies, and
//! the `Cookie` header as it is signed again after a secret rotation.
use std::net::IpAddr;

use actix_web::cookie::{Cookie, CookieJar, Key};
use actix_web::http::header::{COOKIE, HeaderMap, HeaderValue};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ipnet::IpNet;
use proptest::prelude::*;

use super::extract::forwarded_client;
use super::previous_keys::resign;
use super::token::{PlainToken, TOKEN_LEN, TokenHash};
use crate::auth::keys::Keys;

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

const SESSION: &str = "gatehouse_session";

/// `name=value` signed under `key`, as actix-session writes it.
fn signed(key: &Key, name: &str, value: &str) -> String {
    let mut jar = CookieJar::new();
    jar.signed_mut(key)
        .add(Cookie::new(name.to_owned(), value.to_owned()));
    jar.get(name).unwrap().encoded().to_string()
}

/// The pieces of a `Cookie` header in order, as `resign` reads them.
fn pieces(headers: &[String]) -> Vec<String> {
    headers
        .iter()
        .flat_map(|h| h.split(';'))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The value of the first cookie named `name` in `pieces`, if `key`
/// verifies it, and where it is.
fn first_verified(pieces: &[String], name: &str, key: &Key) -> (Option<usize>, Option<String>) {
    let Some((at, cookie)) = pieces.iter().enumerate().find_map(|(i, p)| {
        Cookie::parse_encoded(p.as_str())
            .ok()
            .filter(|c| c.name() == name)
            .map(|c| (i, c.into_owned()))
    }) else {
        return (None, None);
    };
    let mut jar = CookieJar::new();
    jar.add_original(cookie);
    let value = jar.signed(key).get(name).map(|c| c.value().to_owned());
    (Some(at), value)
}

/// One piece of a `Cookie` header: the session cookie under one of three
/// keys (0: current, 1: earlier, 2: unknown), another cookie, or junk.
fn cookie_piece() -> impl Strategy<Value = (u8, String)> {
    let value = prop_oneof![3 => "[A-Za-z0-9_-]{43}", 1 => any::<String>()];
    prop_oneof![
        4 => (0u8..3, value).prop_map(|(k, v)| (k, v)),
        2 => "(theme|lang|gatehouse_csrf|gatehouse_session)=[!-~&&[^;]]{0,20}".prop_map(|p| (9, p)),
        1 => any::<String>().prop_map(|p| (8, p)),
        1 => "gatehouse_session=[A-Za-z0-9+/=_-]{40,90}".prop_map(|p| (9, p)),
    ]
}

fn rotated_keys() -> (Keys, [Key; 3]) {
    let (current, earlier, unknown) = ([b'b'; 32], [b'a'; 32], [b'c'; 32]);
    let keys = Keys::derive_with_previous(&current, &[&earlier]);
    let each = [
        Keys::derive(&current).session_cookie,
        Keys::derive(&earlier).session_cookie,
        Keys::derive(&unknown).session_cookie,
    ];
    (keys, each)
}

proptest! {
    /// Any `Cookie` header (one or more, any bytes, the session cookie under
    /// any key or none): never a panic, and a new header comes back exactly
    /// when the first session cookie verifies under the earlier key and not
    /// the current one; it then carries the same value under the current
    /// key, every other piece as it was.
    #[test]
    fn any_cookie_header_is_signed_again_only_when_an_earlier_key_verifies_it(
        parts in proptest::collection::vec(
            proptest::collection::vec(cookie_piece(), 0..5),
            0..3,
        ),
        raw in proptest::collection::vec(any::<u8>(), 0..40),
        with_raw in prop::bool::weighted(0.2),
    ) {
        let (keys, each) = rotated_keys();
        let mut candidates: Vec<Vec<u8>> = parts
            .iter()
            .map(|piece| {
                piece
                    .iter()
                    .map(|(k, p)| match k {
                        0..=2 => signed(&each[usize::from(*k)], SESSION, p),
                        _ => p.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
                    .into_bytes()
            })
            .collect();
        if with_raw {
            candidates.push(raw);
        }
        // What is sent: the values a client can put in a header at all; a
        // value that is not visible ASCII leaves the whole header alone.
        let (mut headers, mut texts, mut all_text) = (HeaderMap::new(), Vec::new(), true);
        for c in candidates {
            let Ok(v) = HeaderValue::from_bytes(&c) else { continue };
            match v.to_str() {
                Ok(t) => texts.push(t.to_owned()),
                Err(_) => all_text = false,
            }
            headers.append(COOKIE, v);
        }

        let before = pieces(&texts);
        let (at, under_current) = first_verified(&before, SESSION, &each[0]);
        let (_, under_earlier) = first_verified(&before, SESSION, &each[1]);
        let expected = all_text && under_current.is_none() && under_earlier.is_some();

        let got = resign(&headers, SESSION, &keys);
        prop_assert_eq!(got.is_some(), expected, "{:?}", texts);
        if let Some(new) = got {
            let after = pieces(&[new.to_str().unwrap().to_owned()]);
            prop_assert_eq!(after.len(), before.len());
            let at = at.unwrap();
            let (new_at, value) = first_verified(&after, SESSION, &each[0]);
            prop_assert_eq!(new_at, Some(at));
            prop_assert_eq!(value, under_earlier);
            for (i, (a, b)) in before.iter().zip(&after).enumerate() {
                if i != at {
                    prop_assert_eq!(a, b);
                }
            }
        }
    }

    /// The story of a rotation: a cookie signed under the earlier secret
    /// comes back signed under the current one with the same value, which
    /// the current key alone accepts; one signed under neither is refused.
    #[test]
    fn an_earlier_signature_comes_back_current_and_an_unknown_one_is_refused(
        value in prop_oneof!["[A-Za-z0-9_-]{43}", any::<String>()],
        before in "((theme|lang)=[a-z]{1,8}; ){0,2}",
    ) {
        let (keys, each) = rotated_keys();
        let header = |piece: String| {
            let mut h = HeaderMap::new();
            h.insert(COOKIE, HeaderValue::from_str(&format!("{before}{piece}")).unwrap());
            h
        };
        let old = header(signed(&each[1], SESSION, &value));
        let new = resign(&old, SESSION, &keys);
        prop_assert!(new.is_some());
        let new = pieces(&[new.unwrap().to_str().unwrap().to_owned()]);
        prop_assert_eq!(first_verified(&new, SESSION, &each[0]).1, Some(value.clone()));
        prop_assert_eq!(first_verified(&new, SESSION, &each[1]).1, None);

        prop_assert!(resign(&header(signed(&each[0], SESSION, &value)), SESSION, &keys).is_none());
        let unknown = header(signed(&each[2], SESSION, &value));
        prop_assert!(resign(&unknown, SESSION, &keys).is_none());
        let unknown = pieces(&[unknown.get(COOKIE).unwrap().to_str().unwrap().to_owned()]);
        prop_assert_eq!(first_verified(&unknown, SESSION, &each[0]).1, None);
    }
}

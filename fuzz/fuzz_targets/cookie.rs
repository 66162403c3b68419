//! The `Cookie` header after a secret rotation: never a panic; a new header
//! only when the first session cookie verifies under an earlier key and not
//! the current one, and then it carries the same value under the current key.
#![no_main]
use actix_web::cookie::{Cookie, CookieJar, Key};
use actix_web::http::header::{COOKIE, HeaderMap, HeaderValue};
use gatehouse::auth::keys::Keys;
use gatehouse::session::previous_keys::resign;
use libfuzzer_sys::fuzz_target;

const NAME: &str = "gatehouse_session";

fn signed(key: &Key, value: &str) -> String {
    let mut jar = CookieJar::new();
    jar.signed_mut(key)
        .add(Cookie::new(NAME.to_owned(), value.to_owned()));
    jar.get(NAME).unwrap().encoded().to_string()
}

/// The first session cookie of `texts` as `key` verifies it.
fn first(texts: &[&str], key: &Key) -> Option<String> {
    let cookie = texts
        .iter()
        .flat_map(|t| t.split(';'))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .find_map(|p| Cookie::parse_encoded(p).ok().filter(|c| c.name() == NAME))?;
    let mut jar = CookieJar::new();
    jar.add_original(cookie.into_owned());
    jar.signed(key).get(NAME).map(|c| c.value().to_owned())
}

fuzz_target!(|data: &[u8]| {
    let Some((first_byte, rest)) = data.split_first() else {
        return;
    };
    let keys = Keys::derive_with_previous(&[b'b'; 32], &[&[b'a'; 32]]);
    let each = [
        Keys::derive(&[b'b'; 32]).session_cookie,
        Keys::derive(&[b'a'; 32]).session_cookie,
        Keys::derive(&[b'c'; 32]).session_cookie,
    ];
    // Header values separated by 0xff; the first byte may put a session
    // cookie signed under one of the keys in front, its value the first part.
    let mut values: Vec<Vec<u8>> = rest.split(|b| *b == 0xff).map(<[u8]>::to_vec).collect();
    if first_byte % 4 < 3 {
        let value = String::from_utf8_lossy(&values[0]).into_owned();
        values[0] = signed(&each[usize::from(first_byte % 4)], &value).into_bytes();
    }
    let mut headers = HeaderMap::new();
    let mut texts = Vec::new();
    let mut all_text = true;
    for v in &values {
        let Ok(h) = HeaderValue::from_bytes(v) else {
            continue;
        };
        match h.to_str() {
            Ok(t) => texts.push(t.to_owned()),
            Err(_) => all_text = false,
        }
        headers.append(COOKIE, h);
    }
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let earlier = first(&texts, &each[1]);
    let expected = all_text && first(&texts, &each[0]).is_none() && earlier.is_some();
    let got = resign(&headers, NAME, &keys);
    assert_eq!(got.is_some(), expected, "{texts:?}");
    if let Some(new) = got {
        let new = new.to_str().unwrap();
        assert_eq!(first(&[new], &each[0]), earlier);
        assert_eq!(first(&[new], &each[1]), None);
    }
});

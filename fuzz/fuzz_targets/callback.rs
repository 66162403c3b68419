//! `callbackUrl` sanitising: only ever a same-origin local path, idempotent.
#![no_main]
use gatehouse::web::callback::sanitize;
use libfuzzer_sys::fuzz_target;
use url::Url;

const BASES: [&str; 3] = [
    "http://127.0.0.1:8080/",
    "https://auth.example.com/",
    "http://[::1]:3000/",
];

fuzz_target!(|data: &[u8]| {
    let Some((first, rest)) = data.split_first() else {
        return;
    };
    let Ok(raw) = std::str::from_utf8(rest) else {
        return;
    };
    let base = Url::parse(BASES[usize::from(*first) % BASES.len()]).unwrap();
    let out = sanitize(Some(raw), &base);
    assert!(
        out.starts_with('/') && !out.starts_with("//"),
        "{raw:?} -> {out:?}"
    );
    assert!(
        !out.contains('\\') && !out.chars().any(char::is_control),
        "{out:?}"
    );
    assert!(Url::parse(&out).is_err(), "{out:?} has a scheme");
    assert_eq!(base.join(&out).unwrap().origin(), base.origin(), "{raw:?}");
    assert_eq!(sanitize(Some(&out), &base), out, "not idempotent: {raw:?}");
});

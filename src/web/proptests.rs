//! Property tests for `callbackUrl` sanitising (whatever comes in, what goes
//! out is a local path on this site, and sanitising it again changes
//! nothing) and for the NUL scanner every body passes (a NUL is found
//! however the body's content type spells it, and nothing else is).
use proptest::prelude::*;
use serde_json::Value;
use url::Url;

use super::callback::sanitize;
use super::input::body_has_nul;

fn public_url() -> impl Strategy<Value = Url> {
    prop::sample::select(vec![
        "http://127.0.0.1:8080/",
        "https://auth.example.com/",
        "http://[::1]:3000/",
        "https://xn--bcher-kva.example/",
    ])
    .prop_map(|u| Url::parse(u).unwrap())
}

/// What attackers put in a `callbackUrl`: other origins in every spelling
/// browsers accept, slashes and backslashes, schemes, controls, encodings.
fn hostile_callback() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "/",
        "//",
        "\\",
        "/\\",
        "\\/",
        "%2f",
        "%5c",
        "%0a",
        "%00",
        "http:",
        "https:",
        "javascript:",
        "data:",
        "//evil.example",
        "evil.example",
        "@",
        ":",
        "..",
        ".",
        "?",
        "#",
        "&",
        "=",
        " ",
        "\t",
        "\n",
        "\r",
        "\u{0}",
        "\u{7f}",
        "\u{85}",
        "\u{2028}",
        "\u{200b}",
        "\u{ff0f}",
        "é",
        "127.0.0.1:8080",
        "auth.example.com",
        "[::1]:3000",
        "HTTP://",
        "/settings",
        "a",
    ]);
    prop_oneof![
        4 => proptest::collection::vec(piece, 0..8).prop_map(|p| p.concat()),
        2 => any::<String>(),
        1 => "[ -~]{0,40}",
        1 => "/[ -~]{0,2100}",
    ]
}

/// A path made only of characters the URL parser keeps as they are.
fn plain_path() -> impl Strategy<Value = String> {
    "(/[a-zA-Z0-9_\\-~]{1,12}){0,4}/?(\\?[a-z0-9]{1,8}=[a-z0-9]{0,8})?".prop_map(|p| {
        if p.starts_with('/') {
            p
        } else {
            format!("/{p}")
        }
    })
}

fn is_local_path(out: &str) -> bool {
    out.starts_with('/')
        && !out.starts_with("//")
        && !out.starts_with("/\\")
        && !out.contains('\\')
        && !out.chars().any(char::is_control)
        && !out.chars().any(char::is_whitespace)
        && !out.contains('#')
}

proptest! {
    #[test]
    fn only_ever_a_same_origin_local_path(raw in hostile_callback(), base in public_url()) {
        let out = sanitize(Some(&raw), &base);
        prop_assert!(is_local_path(&out), "{raw:?} -> {out:?}");
        // No scheme of its own: a browser resolves it on this site.
        prop_assert!(Url::parse(&out).is_err(), "{raw:?} -> {out:?} is absolute");
        let resolved = base.join(&out).unwrap();
        prop_assert_eq!(resolved.origin(), base.origin(), "{:?} -> {:?}", raw, out);
        // Idempotent.
        prop_assert_eq!(sanitize(Some(&out), &base), out);
    }

    #[test]
    fn plain_local_paths_are_kept(path in plain_path(), base in public_url()) {
        prop_assert_eq!(sanitize(Some(&path), &base), path.clone());
        let absolute = format!("{}{}", base.as_str().trim_end_matches('/'), path);
        prop_assert_eq!(sanitize(Some(&absolute), &base), path);
    }

    #[test]
    fn other_origins_go_home(
        path in plain_path(),
        host in "[a-z]{1,10}\\.(example|test)",
        scheme in "(https?|HTTPS?|ftp|javascript|data)",
        slashes in "(//|/\\\\|\\\\\\\\|///)",
        base in public_url(),
    ) {
        let raw = format!("{scheme}:{slashes}{host}{path}");
        prop_assert_eq!(sanitize(Some(&raw), &base), "/", "{:?}", raw);
        let raw = format!("//{host}{path}");
        prop_assert_eq!(sanitize(Some(&raw), &base), "/", "{:?}", raw);
    }
}

/// Text with and without NULs, in the places a body can hide one.
fn nul_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z%0-9 ]{0,12}",
        "[a-z]{0,4}\u{0}[a-z]{0,4}",
        any::<String>(),
    ]
}

fn json_with_strings() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::Bool),
        nul_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 20, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec((nul_text(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn holds_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

proptest! {
    /// Any bytes under any content type: never a panic, and a raw 0 byte is
    /// always found; without one, a content type that is neither a form nor
    /// JSON holds no NUL.
    #[test]
    fn any_body_never_panics_and_a_raw_nul_is_always_found(
        content_type in prop_oneof![
            Just("application/x-www-form-urlencoded".to_owned()),
            Just("application/json".to_owned()),
            Just("text/plain".to_owned()),
            any::<String>(),
        ],
        body in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let found = body_has_nul(&content_type, &body);
        if body.contains(&0) {
            prop_assert!(found);
        }
        let decoded = content_type.starts_with("application/x-www-form-urlencoded")
            || content_type.contains("json");
        if !decoded {
            prop_assert_eq!(found, body.contains(&0));
        }
    }

    /// A form: a NUL is found exactly when a name or value holds one
    /// (however it is encoded), and an encoded `%00` that is text is not.
    #[test]
    fn a_form_holds_a_nul_exactly_when_a_field_does(
        fields in proptest::collection::vec((nul_text(), nul_text()), 0..6),
        charset in prop_oneof![Just(""), Just("; charset=utf-8")],
    ) {
        let body = serde_urlencoded::to_string(&fields).unwrap();
        let expected = fields.iter().any(|(k, v)| k.contains('\0') || v.contains('\0'));
        let ct = format!("application/x-www-form-urlencoded{charset}");
        prop_assert_eq!(body_has_nul(&ct, body.as_bytes()), expected, "{}", body);
    }

    /// JSON: a NUL is found exactly when a string or key anywhere holds one
    /// (`\u0000`); the text `\\u0000` is not one.
    #[test]
    fn json_holds_a_nul_exactly_when_a_string_does(
        value in json_with_strings(),
        ct in prop_oneof![Just("application/json"), Just("application/merge-patch+json")],
    ) {
        let body = value.to_string();
        prop_assert_eq!(body_has_nul(ct, body.as_bytes()), holds_nul(&value), "{}", body);
    }
}

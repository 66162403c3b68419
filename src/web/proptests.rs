//! Property tests for `callbackUrl` sanitising: whatever comes in, what goes
//! out is a local path on this site, and sanitising it again changes nothing.
use proptest::prelude::*;
use url::Url;

use super::callback::sanitize;

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

//! Static assets: pages link the stylesheet and the live-updates script at a
//! URL carrying the SHA-256 of their bytes, served with a year-long immutable
//! cache; the plain URLs still answer, with a short cache; a hash that is not
//! the current one is a 404.

mod common;

use common::{Backend, TestApp};
use sha2::{Digest, Sha256};

on_both_backends!(
    pages_link_the_assets_at_their_hashed_urls,
    the_hashed_urls_are_cached_for_a_year,
    the_plain_urls_still_answer_with_a_short_cache,
    a_wrong_or_missing_hash_is_not_found,
);

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `(plain URL, hashed URL, content type, bytes)`, computed here from the
/// files, not by the server.
fn assets() -> Vec<(&'static str, String, &'static str, String)> {
    [
        ("/static/app.css", "app.css", "text/css"),
        ("/static/live.js", "live.js", "text/javascript"),
    ]
    .into_iter()
    .map(|(plain, file, content_type)| {
        let path = format!("{}/templates/{file}", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read_to_string(&path).expect("asset file");
        let hash: String = Sha256::digest(bytes.as_bytes())[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let (stem, ext) = plain.rsplit_once('.').unwrap();
        (plain, format!("{stem}.{hash}.{ext}"), content_type, bytes)
    })
    .collect()
}

fn pages_link_the_assets_at_their_hashed_urls(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let [(_, css, ..), (_, js, ..)] = &assets()[..] else {
        unreachable!()
    };
    let anon = app.browser();
    for path in ["/", "/signin", "/signup", "/no/such/page"] {
        let page = anon.get(path);
        assert!(
            page.body
                .contains(&format!("<link rel=\"stylesheet\" href=\"{css}\">")),
            "{path}: {}",
            page.body
        );
        assert!(!page.body.contains("\"/static/app.css\""), "{path}");
    }
    let ada = app.signed_up("Ada", "ada@example.com");
    for path in ["/", "/settings", "/settings/sessions"] {
        let page = ada.get(path);
        assert!(page.body.contains(&format!("href=\"{css}\"")), "{path}");
        assert!(
            page.body
                .contains(&format!("<script src=\"{js}\" defer></script>")),
            "{path}: {}",
            page.body
        );
        // The CSP lets the page load them: they are same-origin.
        let csp = page.header("content-security-policy").unwrap();
        assert!(csp.contains("default-src 'self'"), "{csp}");
    }
}

fn the_hashed_urls_are_cached_for_a_year(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.browser();
    for (_, hashed, content_type, bytes) in assets() {
        let res = b.get(&hashed);
        assert_eq!(res.status, 200, "{hashed}");
        assert_eq!(res.header("cache-control").as_deref(), Some(IMMUTABLE));
        let served_type = res.header("content-type").unwrap();
        assert!(served_type.starts_with(content_type), "{served_type}");
        assert_eq!(res.body, bytes, "{hashed} serves the file");
        assert_eq!(
            res.header("x-content-type-options").as_deref(),
            Some("nosniff")
        );
    }
}

fn the_plain_urls_still_answer_with_a_short_cache(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.browser();
    for (plain, _, content_type, bytes) in assets() {
        let res = b.get(plain);
        assert_eq!(res.status, 200, "{plain}");
        assert_eq!(
            res.header("cache-control").as_deref(),
            Some("public, max-age=300"),
            "{plain}"
        );
        assert!(
            res.header("content-type")
                .unwrap()
                .starts_with(content_type)
        );
        assert_eq!(res.body, bytes);
    }
}

fn a_wrong_or_missing_hash_is_not_found(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.browser();
    for (_, hashed, ..) in assets() {
        let (stem, ext) = hashed.rsplit_once('.').unwrap();
        let (base, hash) = stem.rsplit_once('.').unwrap();
        let wrong = format!("{base}.{}.{ext}", "0".repeat(hash.len()));
        let short = format!("{base}.{}.{ext}", &hash[..8]);
        for path in [wrong, short, format!("{hashed}x"), format!("{base}..{ext}")] {
            let res = b.get(&path);
            assert_eq!(res.status, 404, "{path}");
            assert_ne!(res.header("cache-control").as_deref(), Some(IMMUTABLE));
        }
    }
}

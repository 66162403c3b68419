//! The stylesheet and the live-updates script, with a content hash in their
//! URL: pages link `/static/app.<hash>.css`, which may be cached for a year
//! because new bytes get a new URL. The plain URLs stay, with a short cache,
//! for pages rendered before a release.

use std::sync::LazyLock;

use sha2::{Digest, Sha256};

/// One file served under `/static/`.
pub struct Asset {
    pub bytes: &'static str,
    pub content_type: &'static str,
    /// The unversioned path (`/static/app.css`).
    pub plain: &'static str,
    /// The path with the content hash (`/static/app.0123456789abcdef.css`).
    pub hashed: String,
}

impl Asset {
    fn new(bytes: &'static str, content_type: &'static str, plain: &'static str) -> Self {
        let (stem, ext) = plain.rsplit_once('.').unwrap_or((plain, ""));
        Asset {
            hashed: format!("{stem}.{}.{ext}", content_hash(bytes.as_bytes())),
            bytes,
            content_type,
            plain,
        }
    }
}

/// The first 16 hex digits (64 bits) of the SHA-256 of `bytes`: enough that
/// two releases' files never share a URL.
pub fn content_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub static STYLESHEET: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        include_str!("../templates/app.css"),
        "text/css; charset=utf-8",
        "/static/app.css",
    )
});

pub static LIVE_SCRIPT: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        include_str!("../templates/live.js"),
        "text/javascript; charset=utf-8",
        "/static/live.js",
    )
});

pub static PASSKEY_SCRIPT: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        include_str!("../templates/passkeys.js"),
        "text/javascript; charset=utf-8",
        "/static/passkeys.js",
    )
});

/// The stylesheet's URL, for `<link rel="stylesheet">` in the templates.
pub fn stylesheet_url() -> &'static str {
    &STYLESHEET.hashed
}

/// The live-updates script's URL, for `<script src>` in the templates.
pub fn live_script_url() -> &'static str {
    &LIVE_SCRIPT.hashed
}

/// The passkey script's URL (the sign-in and security pages, when passkeys
/// are on).
pub fn passkey_script_url() -> &'static str {
    &PASSKEY_SCRIPT.hashed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_follows_the_bytes() {
        let a = content_hash(b"body { color: red }");
        assert_eq!(a.len(), 16);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(a, content_hash(b"body { color: red }"));
        assert_ne!(a, content_hash(b"body { color: blue }"));
        // SHA-256 of the empty input starts e3b0c442 98fc1c14.
        assert_eq!(content_hash(b""), "e3b0c44298fc1c14");
    }

    #[test]
    fn the_urls_carry_the_hash_of_the_served_bytes() {
        for asset in [&*STYLESHEET, &*LIVE_SCRIPT] {
            let hash = content_hash(asset.bytes.as_bytes());
            let (stem, ext) = asset
                .plain
                .rsplit_once('.')
                .expect("the plain path has an extension");
            assert_eq!(asset.hashed, format!("{stem}.{hash}.{ext}"));
        }
        assert_eq!(stylesheet_url(), STYLESHEET.hashed);
        assert_eq!(live_script_url(), LIVE_SCRIPT.hashed);
    }
}

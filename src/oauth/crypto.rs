//! Provider tokens at rest: XChaCha20-Poly1305 with a key derived from the
//! secret (HKDF, see `auth::keys`). The associated data names the row and the
//! column, so a ciphertext moved to another row or column does not open.
//!
//! After a secret rotation the cipher also holds the earlier secrets' keys:
//! a value sealed under one of them still opens ([`TokenCipher::open_checked`]
//! says so, for the caller to seal it again), and everything new is sealed
//! under the current key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

const PREFIX: &str = "v1.";

/// The current key first, then the earlier secrets' keys, newest first.
pub struct TokenCipher(Vec<XChaCha20Poly1305>);

/// A value opened by [`TokenCipher::open_checked`].
pub struct Opened {
    pub plain: String,
    /// Sealed under an earlier secret's key: seal it again.
    pub stale: bool,
}

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCipher(***)")
    }
}

impl TokenCipher {
    pub fn new(key: &[u8; 32]) -> Self {
        Self::with_previous(key, &[])
    }

    /// Seals under `key`; opens under `key` or any of `previous`.
    pub fn with_previous(key: &[u8; 32], previous: &[[u8; 32]]) -> Self {
        TokenCipher(
            std::iter::once(key)
                .chain(previous)
                .map(|k| XChaCha20Poly1305::new(k.into()))
                .collect(),
        )
    }

    /// `v1.` + base64url(24-byte random nonce ‖ ciphertext ‖ tag).
    pub fn seal(&self, plain: &str, aad: &str) -> String {
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self.0[0]
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encrypts any message under 256 GiB");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(out))
    }

    /// `None` when the value was not sealed by one of these keys for this
    /// `aad`.
    pub fn open(&self, stored: &str, aad: &str) -> Option<String> {
        self.open_checked(stored, aad).map(|o| o.plain)
    }

    /// Opens with the current key, then with each earlier one; says which.
    pub fn open_checked(&self, stored: &str, aad: &str) -> Option<Opened> {
        let raw = URL_SAFE_NO_PAD.decode(stored.strip_prefix(PREFIX)?).ok()?;
        if raw.len() < 24 + 16 {
            return None;
        }
        let (nonce, sealed) = raw.split_at(24);
        self.0.iter().enumerate().find_map(|(i, cipher)| {
            let plain = cipher
                .decrypt(
                    XNonce::from_slice(nonce),
                    Payload {
                        msg: sealed,
                        aad: aad.as_bytes(),
                    },
                )
                .ok()?;
            Some(Opened {
                plain: String::from_utf8(plain).ok()?,
                stale: i > 0,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_tokens_open_only_with_the_same_key_and_place() {
        let c = TokenCipher::new(&[7; 32]);
        let s = c.seal("gho_secret", "github:1:access");
        assert!(!s.contains("gho_secret"));
        assert_ne!(s, c.seal("gho_secret", "github:1:access"), "random nonce");
        assert_eq!(c.open(&s, "github:1:access").as_deref(), Some("gho_secret"));
        assert_eq!(c.open(&s, "github:1:refresh"), None);
        assert_eq!(TokenCipher::new(&[8; 32]).open(&s, "github:1:access"), None);
        assert_eq!(c.open("v1.AAAA", "x"), None);
        assert_eq!(c.open("plain", "x"), None);
    }

    #[test]
    fn earlier_keys_open_and_say_so_while_sealing_uses_the_current_one() {
        let old = TokenCipher::new(&[7; 32]);
        let sealed_old = old.seal("gho_secret", "github:1:access");
        let rotated = TokenCipher::with_previous(&[8; 32], &[[6; 32], [7; 32]]);
        let o = rotated
            .open_checked(&sealed_old, "github:1:access")
            .unwrap();
        assert_eq!((o.plain.as_str(), o.stale), ("gho_secret", true));
        assert!(
            rotated
                .open_checked(&sealed_old, "github:1:refresh")
                .is_none()
        );
        let sealed_new = rotated.seal("gho_secret", "github:1:access");
        let o = rotated
            .open_checked(&sealed_new, "github:1:access")
            .unwrap();
        assert!(!o.stale);
        assert_eq!(
            TokenCipher::new(&[8; 32])
                .open(&sealed_new, "github:1:access")
                .as_deref(),
            Some("gho_secret"),
            "sealed under the current key alone"
        );
        assert_eq!(old.open(&sealed_new, "github:1:access"), None);
    }
}

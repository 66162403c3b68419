//! Provider tokens at rest: XChaCha20-Poly1305 with a key derived from the
//! secret (HKDF, see `auth::keys`). The associated data names the row and the
//! column, so a ciphertext moved to another row or column does not open.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

const PREFIX: &str = "v1.";

pub struct TokenCipher(XChaCha20Poly1305);

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCipher(***)")
    }
}

impl TokenCipher {
    pub fn new(key: &[u8; 32]) -> Self {
        TokenCipher(XChaCha20Poly1305::new(key.into()))
    }

    /// `v1.` + base64url(24-byte random nonce ‖ ciphertext ‖ tag).
    pub fn seal(&self, plain: &str, aad: &str) -> String {
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .0
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

    /// `None` when the value was not sealed by this key for this `aad`.
    pub fn open(&self, stored: &str, aad: &str) -> Option<String> {
        let raw = URL_SAFE_NO_PAD.decode(stored.strip_prefix(PREFIX)?).ok()?;
        if raw.len() < 24 + 16 {
            return None;
        }
        let (nonce, sealed) = raw.split_at(24);
        let plain = self
            .0
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: aad.as_bytes(),
                },
            )
            .ok()?;
        String::from_utf8(plain).ok()
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
}

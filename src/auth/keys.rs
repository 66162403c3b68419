//! Keys derived from `GATEHOUSE_SECRET` (or the generated secret kept in
//! `GATEHOUSE_SECRET_FILE`), one per purpose, with HKDF-SHA256.

use std::fmt;

use actix_web::cookie::Key;
use hkdf::Hkdf;
use sha2::Sha256;

pub struct Keys {
    csrf: [u8; 32],
    pub session_cookie: Key,
    /// Seals provider tokens at rest (`oauth::crypto`).
    pub provider_tokens: [u8; 32],
    /// Seals TOTP secrets at rest (`twofactor::totp`).
    pub totp_secrets: [u8; 32],
    /// The HMAC key recovery codes are stored under (`twofactor::recovery`).
    pub recovery_codes: [u8; 32],
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keys(***)")
    }
}

impl Keys {
    pub fn derive(secret: &[u8]) -> Self {
        let hk = Hkdf::<Sha256>::new(Some(b"gatehouse"), secret);
        let mut csrf = [0u8; 32];
        let mut cookie = [0u8; 64];
        // expand only fails for outputs longer than 255 * 32 bytes.
        hk.expand(b"csrf v1", &mut csrf)
            .expect("32 bytes is a valid HKDF length");
        hk.expand(b"session cookie v1", &mut cookie)
            .expect("64 bytes is a valid HKDF length");
        let mut provider_tokens = [0u8; 32];
        hk.expand(b"provider tokens v1", &mut provider_tokens)
            .expect("32 bytes is a valid HKDF length");
        let mut totp_secrets = [0u8; 32];
        hk.expand(b"totp secrets v1", &mut totp_secrets)
            .expect("32 bytes is a valid HKDF length");
        let mut recovery_codes = [0u8; 32];
        hk.expand(b"recovery codes v1", &mut recovery_codes)
            .expect("32 bytes is a valid HKDF length");
        Keys {
            csrf,
            provider_tokens,
            totp_secrets,
            recovery_codes,
            session_cookie: Key::from(&cookie),
        }
    }

    pub fn csrf_key(&self) -> &[u8] {
        &self.csrf
    }
}

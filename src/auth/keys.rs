//! Keys derived from `GATEHOUSE_SECRET` (or the generated secret kept in
//! `GATEHOUSE_SECRET_FILE`), one per purpose, with HKDF-SHA256; and the same
//! keys of each earlier secret (`GATEHOUSE_SECRET_PREVIOUS`), which still
//! verify and open what they made but never make anything new.

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
    /// The keys of earlier secrets, newest first (each with none of its own).
    pub previous: Vec<Keys>,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keys(***, {} previous)", self.previous.len())
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
            previous: Vec::new(),
        }
    }

    /// The keys of `secret`, still accepting what each of `previous` made (a
    /// previous secret equal to the current one is skipped).
    pub fn derive_with_previous(secret: &[u8], previous: &[&[u8]]) -> Self {
        let mut keys = Keys::derive(secret);
        keys.previous = previous
            .iter()
            .filter(|p| **p != secret)
            .map(|p| Keys::derive(p))
            .collect();
        keys
    }

    pub fn csrf_key(&self) -> &[u8] {
        &self.csrf
    }

    /// The CSRF keys, the current one first.
    pub fn csrf_keys(&self) -> impl Iterator<Item = &[u8]> {
        std::iter::once(self.csrf_key()).chain(self.previous.iter().map(Keys::csrf_key))
    }

    /// The earlier secrets' session cookie keys, newest first.
    pub fn previous_session_cookies(&self) -> Vec<Key> {
        self.previous
            .iter()
            .map(|k| k.session_cookie.clone())
            .collect()
    }

    /// The earlier secrets' provider token keys, newest first.
    pub fn previous_provider_tokens(&self) -> Vec<[u8; 32]> {
        self.previous.iter().map(|k| k.provider_tokens).collect()
    }

    /// The earlier secrets' TOTP secret keys, newest first.
    pub fn previous_totp_secrets(&self) -> Vec<[u8; 32]> {
        self.previous.iter().map(|k| k.totp_secrets).collect()
    }

    /// The recovery code keys, the current one first.
    pub fn recovery_code_keys(&self) -> Vec<[u8; 32]> {
        std::iter::once(self.recovery_codes)
            .chain(self.previous.iter().map(|k| k.recovery_codes))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previous_keys_follow_the_current_ones() {
        let a = [b'a'; 32];
        let b = [b'b'; 32];
        let keys = Keys::derive_with_previous(&b, &[&a, &b]);
        assert_eq!(
            keys.previous.len(),
            1,
            "the current secret is not its own previous"
        );
        let only_a = Keys::derive(&a);
        let csrf: Vec<&[u8]> = keys.csrf_keys().collect();
        assert_eq!(csrf, vec![keys.csrf_key(), only_a.csrf_key()]);
        assert_ne!(keys.csrf_key(), only_a.csrf_key());
        assert_eq!(
            keys.previous_provider_tokens(),
            vec![only_a.provider_tokens]
        );
        assert_eq!(keys.previous_totp_secrets(), vec![only_a.totp_secrets]);
        assert_eq!(
            keys.recovery_code_keys(),
            vec![keys.recovery_codes, only_a.recovery_codes]
        );
        assert!(keys.previous_session_cookies() == vec![only_a.session_cookie]);
    }
}

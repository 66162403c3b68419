//! The session token and its hash. A [`PlainToken`] lives only in the cookie;
//! the database sees only its [`TokenHash`]. Neither prints its value in `Debug`.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};

/// 256 bits from the operating system's CSPRNG, base64url without padding.
pub struct PlainToken(String);

/// Length of an encoded token: 32 bytes in base64url without padding.
pub const TOKEN_LEN: usize = 43;

impl PlainToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        PlainToken(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Accepts only what [`generate`](Self::generate) makes: anything else is not a
    /// session of ours and is never looked up.
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = raw.len() == TOKEN_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| PlainToken(raw.to_owned()))
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0.as_bytes()).into())
    }

    /// The value for the cookie. Call only where the token leaves for the client.
    pub fn expose(self) -> String {
        self.0
    }
}

impl fmt::Debug for PlainToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainToken(***)")
    }
}

/// SHA-256 of a [`PlainToken`]: the `sessions` row's key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// base64url, for carrying the hash (never the token) through a request.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    pub fn decode(s: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
        Some(TokenHash(bytes.try_into().ok()?))
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let a = PlainToken::generate();
        let b = PlainToken::generate();
        assert_ne!(a.hash(), b.hash());
        let raw = a.expose();
        assert_eq!(raw.len(), TOKEN_LEN);
        assert!(PlainToken::parse(&raw).is_some());
    }

    #[test]
    fn parse_refuses_what_we_never_issue() {
        let long = "a".repeat(5000);
        for bad in ["", "short", "a+b/c=", &long, &"é".repeat(22)] {
            assert!(PlainToken::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn debug_shows_no_secret() {
        let t = PlainToken::generate();
        let shown = format!("{t:?} {:?}", t.hash());
        let raw = t.expose();
        assert!(!shown.contains(&raw));
    }

    #[test]
    fn hash_is_sha256_of_the_token() {
        let t = PlainToken::parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
        let expected: [u8; 32] =
            Sha256::digest(b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").into();
        assert_eq!(t.hash().as_bytes(), &expected);
    }
}

//! TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30 s steps, one step either side)
//! through the `totp-rs` crate. The secret is 160 random bits from the OS;
//! at rest it is sealed like provider tokens ([`crate::oauth::crypto`]) with
//! the associated data naming the user and the column, so a copy of the
//! database yields no secret and a sealed value moved to another user does
//! not open.
//!
//! A code is accepted once: [`Secret::check`] answers the step it matched
//! and refuses any step at or before the last one used, which the caller
//! stores in the same transaction as the sign-in it completes.

use rand::RngCore;
use totp_rs::{Algorithm, Builder, Secret as RawSecret, Totp};

use crate::oauth::crypto::TokenCipher;

/// Seconds per step.
pub const STEP: u64 = 30;
/// Digits per code.
pub const DIGITS: u8 = 6;
/// The shortest secret that opens: 128 bits, RFC 4226's minimum and what
/// `totp-rs` builds a TOTP from (issued secrets have 160).
pub const MIN_SECRET_BYTES: usize = 16;

/// A TOTP secret. Its `Debug` never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The associated data of a user's sealed secret.
fn aad(user_id: i64) -> String {
    format!("totp:{user_id}:secret")
}

impl Secret {
    /// 160 bits from the OS's CSPRNG (RFC 4226's recommended length).
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; 20];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Secret(bytes)
    }

    /// The secret as authenticator apps take it typed in: RFC 4648 base32
    /// without padding.
    pub fn base32(&self) -> String {
        RawSecret::from(self.0.clone()).to_base32()
    }

    /// Sealed for storage in `user_id`'s row.
    pub fn seal(&self, cipher: &TokenCipher, user_id: i64) -> String {
        cipher.seal(&self.base32(), &aad(user_id))
    }

    /// `None` when `stored` was not sealed by this key for this user.
    pub fn open(cipher: &TokenCipher, stored: &str, user_id: i64) -> Option<Self> {
        Self::open_checked(cipher, stored, user_id).map(|(s, _)| s)
    }

    /// As [`Secret::open`], and whether it was sealed under an earlier
    /// secret's key (to be sealed again).
    /// A secret shorter than [`MIN_SECRET_BYTES`] is refused: the TOTP
    /// builder would refuse it later, and [`Secret::check`] must not panic.
    pub fn open_checked(cipher: &TokenCipher, stored: &str, user_id: i64) -> Option<(Self, bool)> {
        let opened = cipher.open_checked(stored, &aad(user_id))?;
        let raw = RawSecret::try_from_base32(opened.plain).ok()?;
        let bytes = raw.as_ref().to_vec();
        (bytes.len() >= MIN_SECRET_BYTES).then_some((Secret(bytes), opened.stale))
    }

    fn totp(&self, issuer: &str, account: &str) -> Totp {
        // The otpauth label separates issuer and account with ':'; neither may
        // hold one. An email address never does; a site name might.
        let issuer = issuer.replace(':', " ");
        let account = account.replace(':', " ");
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(DIGITS)
            .with_skew(1)
            .with_step_duration(STEP)
            .with_secret(RawSecret::from(self.0.clone()))
            .with_issuer(Some(issuer))
            .with_account_name(account)
            .build()
            .expect("a 160-bit secret, 6 digits and a colon-free label are valid")
    }

    /// The `otpauth://totp/…` URI that authenticator apps read from the QR
    /// code.
    pub fn uri(&self, issuer: &str, account: &str) -> String {
        self.totp(issuer, account)
            .to_url()
            .expect("a valid TOTP always has a URL")
    }

    /// The code for the moment `unix` (seconds); for tests and the setup page.
    pub fn code_at(&self, unix: u64) -> String {
        self.totp("", "").generate(unix).to_string()
    }

    /// The step `code` matches at `unix` (one step of skew either side), if
    /// it is later than `last_used` (the step of the last code accepted, so a
    /// code is never accepted twice). Spaces in the code are ignored;
    /// anything but six digits matches nothing. Compared in constant time by
    /// the crate.
    pub fn check(&self, code: &str, unix: u64, last_used: Option<i64>) -> Option<i64> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != usize::from(DIGITS) || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let totp = self.totp("", "");
        let origin = unix / STEP;
        // Every step of the window is computed, the match or not, so the
        // time taken does not say which step matched.
        let mut matched = None;
        for step in origin.saturating_sub(1)..=origin + 1 {
            if totp.check(&code, step * STEP) == Some(step) && matched.is_none() {
                matched = Some(step);
            }
        }
        let step = i64::try_from(matched?).ok()?;
        match last_used {
            Some(last) if step <= last => None,
            _ => Some(step),
        }
    }
}

/// The QR code of `uri` as an SVG document, drawn on the server (no script,
/// no image request to anyone).
pub fn qr_svg(uri: &str) -> String {
    use qrcode::render::svg;
    let svg = qrcode::QrCode::new(uri.as_bytes())
        .expect("an otpauth URI fits in a QR code")
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    // Inline in an HTML page: no XML declaration.
    match svg.find("<svg") {
        Some(i) => svg[i..].to_owned(),
        None => svg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B's SHA-1 secret and vectors (8 digits there; the
    /// last 6 here).
    #[test]
    fn the_rfc_vectors() {
        let s = Secret(b"12345678901234567890".to_vec());
        for (t, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(s.code_at(t), code, "at {t}");
        }
    }

    #[test]
    fn a_code_works_once_within_a_step_either_side() {
        let s = Secret::generate();
        let now = 1_800_000_000;
        let step = (now / STEP) as i64;
        let code = s.code_at(now);
        assert_eq!(s.check(&code, now, None), Some(step));
        assert_eq!(
            s.check(&code, now + STEP, None),
            Some(step),
            "one step late"
        );
        assert_eq!(
            s.check(&code, now - STEP, None),
            Some(step),
            "one step early"
        );
        assert_eq!(s.check(&code, now + 2 * STEP, None), None, "two steps late");
        assert_eq!(s.check(&code, now, Some(step)), None, "replayed");
        assert_eq!(s.check(&code, now, Some(step + 1)), None, "an older step");
        let next = s.code_at(now + STEP);
        assert_eq!(s.check(&next, now + STEP, Some(step)), Some(step + 1));
        assert_eq!(
            s.check(&format!("{} {}", &code[..3], &code[3..]), now, None),
            Some(step)
        );
    }

    #[test]
    fn malformed_codes_match_nothing() {
        let s = Secret::generate();
        for bad in [
            "",
            "12345",
            "1234567",
            "abcdef",
            "１２３４５６",
            "12345\u{0}",
            "-12345",
        ] {
            assert_eq!(s.check(bad, 1_800_000_000, None), None, "{bad:?}");
        }
    }

    #[test]
    fn the_uri_and_qr_code() {
        let s = Secret::generate();
        let uri = s.uri("Acme: staff", "ada@example.com");
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(uri.contains(&format!("secret={}", s.base32())), "{uri}");
        assert!(
            uri.contains("ada%40example.com") || uri.contains("ada@example.com"),
            "{uri}"
        );
        let svg = qr_svg(&uri);
        assert!(svg.contains("<svg") && svg.contains("</svg>"), "{svg}");
        assert!(!svg.contains("<script"));
    }

    #[test]
    fn sealed_secrets_open_only_for_their_user() {
        let cipher = TokenCipher::new(&[3; 32]);
        let s = Secret::generate();
        let sealed = s.seal(&cipher, 7);
        assert!(!sealed.contains(&s.base32()));
        assert_eq!(Secret::open(&cipher, &sealed, 7), Some(s.clone()));
        assert_eq!(Secret::open(&cipher, &sealed, 8), None);
        assert_eq!(Secret::open(&TokenCipher::new(&[4; 32]), &sealed, 7), None);
    }

    /// Found by `any_plain_text_in_the_secrets_place_never_panics`: a short
    /// (here empty) base32 text sealed in a secret's place opened, and the
    /// first code checked against it panicked in the TOTP builder.
    #[test]
    fn a_sealed_secret_shorter_than_128_bits_does_not_open() {
        let cipher = TokenCipher::new(&[3; 32]);
        for plain in ["", "AAAA", "AAAAAAAAAAAAAAAAAAAAAAAAA"] {
            let sealed = cipher.seal(plain, &aad(7));
            assert_eq!(Secret::open(&cipher, &sealed, 7), None, "{plain:?}");
        }
        let sealed = cipher.seal(&"A".repeat(26), &aad(7));
        let s = Secret::open(&cipher, &sealed, 7).expect("128 bits open");
        let now = 1_800_000_000;
        assert!(s.check(&s.code_at(now), now, None).is_some());
        assert_eq!(format!("{s:?}"), "Secret(***)");
    }
}

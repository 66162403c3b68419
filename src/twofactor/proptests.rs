//! Property tests for typed recovery codes (any text is no code or one
//! canonical code, every way of typing an issued code reads as it, and
//! nothing else does), sealed TOTP secrets (they open only for their user
//! and key) and typed TOTP codes (only the window's codes match, once).
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;

use super::recovery::{digest, generate, normalise};
use super::totp::{STEP, Secret};
use crate::oauth::crypto::TokenCipher;

const ALPHABET: &str = "0123456789abcdefghjkmnpqrstvwxyz";

fn code() -> impl Strategy<Value = String> {
    "[0-9abcdefghjkmnpqrstvwxyz]{16}"
}

/// `code` as a person might type it: any case, `o`/`i`/`l` for `0`/`1`, with
/// dashes, spaces or tabs anywhere.
fn typed(code: String) -> impl Strategy<Value = String> {
    let n = code.len();
    (
        proptest::collection::vec(any::<bool>(), n),
        proptest::collection::vec(any::<bool>(), n),
        proptest::collection::vec(
            prop::sample::select(vec!["", "", "", "-", " ", "\t", "--"]),
            n + 1,
        ),
    )
        .prop_map(move |(upper, lookalike, seps)| {
            let mut out = seps[0].to_owned();
            for (i, c) in code.chars().enumerate() {
                let c = match (c, lookalike[i]) {
                    ('0', true) => 'o',
                    ('1', true) => {
                        if i % 2 == 0 {
                            'i'
                        } else {
                            'l'
                        }
                    }
                    (c, _) => c,
                };
                out.push(if upper[i] { c.to_ascii_uppercase() } else { c });
                out.push_str(seps[i + 1]);
            }
            out
        })
}

proptest! {
    #[test]
    fn any_text_is_no_code_or_one_canonical_code(raw in prop_oneof![
        any::<String>(),
        "[0-9a-zA-Z\\- \t]{0,24}",
        "[0-9a-zA-Zäß\u{0}\u{ff10}-\u{ff19}\\-]{14,20}",
    ]) {
        if let Some(c) = normalise(&raw) {
            prop_assert_eq!(c.len(), 16);
            prop_assert!(c.chars().all(|ch| ALPHABET.contains(ch)), "{}", c);
            prop_assert_eq!(normalise(&c), Some(c.clone()));
        }
        let key = [7u8; 32];
        prop_assert_eq!(digest(&key, &raw).is_some(), normalise(&raw).is_some());
    }

    #[test]
    fn every_typed_form_reads_as_the_code(
        (code, input) in code().prop_flat_map(|c| (Just(c.clone()), typed(c))),
    ) {
        prop_assert_eq!(normalise(&input), Some(code.clone()), "{:?}", input);
        let key = [3u8; 32];
        prop_assert_eq!(digest(&key, &input), digest(&key, &code));
    }

    #[test]
    fn another_code_is_another_digest(a in code(), b in code()) {
        prop_assume!(a != b);
        let key = [5u8; 32];
        prop_assert_ne!(digest(&key, &a), digest(&key, &b));
    }

    #[test]
    fn issued_codes_read_back(_n in 0u8..4) {
        for c in generate() {
            prop_assert_eq!(normalise(&c), Some(c.replace('-', "")));
        }
    }

    /// Any stored text, for any user: never a panic, nothing opens.
    #[test]
    fn any_stored_text_is_no_totp_secret(
        stored in prop_oneof![any::<String>(), "v1\\.[A-Za-z0-9_-]{40,120}"],
        user in any::<i64>(),
    ) {
        let cipher = TokenCipher::new(&[9; 32]);
        prop_assert!(Secret::open_checked(&cipher, &stored, user).is_none());
    }

    /// Whatever was sealed in a secret's place (not base32, say) opens to
    /// nothing or a secret, never a panic.
    #[test]
    fn any_plain_text_in_the_secrets_place_never_panics(plain in any::<String>(), user in any::<i64>()) {
        let cipher = TokenCipher::new(&[9; 32]);
        let stored = cipher.seal(&plain, &format!("totp:{user}:secret"));
        if let Some((secret, stale)) = Secret::open_checked(&cipher, &stored, user) {
            prop_assert!(!stale);
            prop_assert_eq!(secret.code_at(0).len(), 6);
        }
    }

    /// A sealed secret opens for its user under its key (stale after a
    /// rotation), and not for another user, another key, or with any bit
    /// flipped or any byte cut.
    #[test]
    fn a_sealed_totp_secret_opens_only_for_its_user_and_key(
        user in any::<i64>(),
        other in any::<i64>(),
        key in any::<[u8; 32]>(),
        newer in any::<[u8; 32]>(),
        at in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        prop_assume!(key != newer);
        let secret = Secret::generate();
        let cipher = TokenCipher::new(&key);
        let sealed = secret.seal(&cipher, user);
        prop_assert_eq!(Secret::open_checked(&cipher, &sealed, user), Some((secret.clone(), false)));
        prop_assert_eq!(Secret::open(&cipher, &sealed, other).is_some(), other == user);
        prop_assert!(Secret::open(&TokenCipher::new(&newer), &sealed, user).is_none());
        let rotated = TokenCipher::with_previous(&newer, &[key]);
        prop_assert_eq!(Secret::open_checked(&rotated, &sealed, user), Some((secret.clone(), true)));

        let mut raw = URL_SAFE_NO_PAD.decode(&sealed[3..]).unwrap();
        let i = at.index(raw.len());
        raw[i] ^= 1 << bit;
        let flipped = format!("v1.{}", URL_SAFE_NO_PAD.encode(&raw));
        prop_assert!(Secret::open(&cipher, &flipped, user).is_none());
        raw[i] ^= 1 << bit;
        raw.truncate(i);
        let cut = format!("v1.{}", URL_SAFE_NO_PAD.encode(&raw));
        prop_assert!(Secret::open(&cipher, &cut, user).is_none());
    }

    /// A typed code: never a panic; it matches only when it is (without
    /// spaces) the code of the step before, at or after now, and not again.
    #[test]
    fn only_the_windows_codes_match_and_once(
        typed in prop_oneof![any::<String>(), "[0-9 ]{0,9}", "[0-9]{6}"],
        unix in 60u64..4_000_000_000,
        skew in 0u64..3,
        spaced in any::<bool>(),
    ) {
        let s = Secret::generate();
        if let Some(step) = s.check(&typed, unix, None) {
            let bare: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
            let window = (unix / STEP - 1)..=(unix / STEP + 1);
            prop_assert!(window.contains(&(step as u64)));
            prop_assert_eq!(bare, s.code_at(step as u64 * STEP));
        }
        let at = unix - STEP + skew * STEP;
        let mut code = s.code_at(at);
        if spaced {
            code.insert(3, ' ');
        }
        let step = s.check(&code, unix, None);
        prop_assert!(step.is_some(), "{} at {}", code, at);
        // Not again: only a later step of the window whose code happens to
        // be the same one could match.
        if let Some(later) = s.check(&code, unix, step) {
            prop_assert!(later > step.unwrap());
            prop_assert_eq!(s.code_at(later as u64 * STEP), code.replace(' ', ""));
        }
    }
}

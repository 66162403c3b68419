//! Property tests for sealed values (provider tokens at rest; TOTP secrets
//! use the same cipher): any stored text opens to nothing or to what was
//! sealed for that place; a sealed value round trips, and any flipped bit,
//! truncation, added byte, other place (row, column) or other key refuses it.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;

use super::crypto::TokenCipher;

/// The associated data as the store writes it: provider, user, column.
fn aad() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => ("(github|google|oidc)", 1i64..1_000, "(access|refresh)")
            .prop_map(|(p, u, c)| format!("{p}:{u}:{c}")),
        1 => any::<String>(),
    ]
}

/// Text a database cell might hold: anything, or something shaped like a
/// sealed value.
fn stored_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "v1\\.[A-Za-z0-9_-]{0,120}",
        "v1\\.[A-Za-z0-9_+/=-]{50,60}",
        "(v2|V1|v1)[.:]?[A-Za-z0-9_-]{53}",
    ]
}

fn key() -> impl Strategy<Value = [u8; 32]> {
    any::<[u8; 32]>()
}

proptest! {
    #[test]
    fn any_stored_text_opens_to_nothing(
        k in key(),
        previous in proptest::collection::vec(key(), 0..3),
        stored in stored_text(),
        aad in aad(),
    ) {
        let cipher = TokenCipher::with_previous(&k, &previous);
        // A forgery would need the key: nothing random opens.
        prop_assert!(cipher.open_checked(&stored, &aad).is_none(), "{:?}", stored);
    }

    #[test]
    fn a_sealed_value_round_trips_under_its_aad_only(
        k in key(),
        plain in any::<String>(),
        aad in aad(),
        other_aad in aad(),
    ) {
        let cipher = TokenCipher::new(&k);
        let sealed = cipher.seal(&plain, &aad);
        prop_assert!(sealed.starts_with("v1."));
        let opened = cipher.open_checked(&sealed, &aad);
        prop_assert!(opened.is_some());
        let opened = opened.unwrap();
        prop_assert_eq!(&opened.plain, &plain);
        prop_assert!(!opened.stale);
        // Moved to another row or column, it does not open.
        prop_assert_eq!(cipher.open(&sealed, &other_aad).is_some(), other_aad == aad);
    }

    #[test]
    fn any_flipped_bit_truncation_or_addition_is_refused(
        k in key(),
        plain in ".{0,40}",
        aad in aad(),
        at in any::<prop::sample::Index>(),
        bit in 0u8..8,
        cut in any::<prop::sample::Index>(),
        extra in proptest::collection::vec(any::<u8>(), 1..4),
    ) {
        let cipher = TokenCipher::new(&k);
        let sealed = cipher.seal(&plain, &aad);
        let raw = URL_SAFE_NO_PAD.decode(&sealed[3..]).unwrap();
        // nonce (24) ‖ ciphertext ‖ tag (16)
        prop_assert_eq!(raw.len(), 24 + plain.len() + 16);

        let mut flipped = raw.clone();
        flipped[at.index(raw.len())] ^= 1 << bit;
        let flipped = format!("v1.{}", URL_SAFE_NO_PAD.encode(&flipped));
        prop_assert!(cipher.open(&flipped, &aad).is_none());

        let short = &raw[..cut.index(raw.len())];
        let short = format!("v1.{}", URL_SAFE_NO_PAD.encode(short));
        prop_assert!(cipher.open(&short, &aad).is_none());
        // Cut as text too, wherever it lands in the base64.
        let text_cut = cut.index(sealed.len());
        prop_assert!(cipher.open(&sealed[..text_cut], &aad).is_none());

        let mut longer = raw.clone();
        longer.extend_from_slice(&extra);
        let longer = format!("v1.{}", URL_SAFE_NO_PAD.encode(&longer));
        prop_assert!(cipher.open(&longer, &aad).is_none());

        // Without its prefix, or with another one.
        prop_assert!(cipher.open(&sealed[3..], &aad).is_none());
        let other_prefix = format!("v2.{}", &sealed[3..]);
        prop_assert!(cipher.open(&other_prefix, &aad).is_none());
    }

    /// After a rotation: a value sealed under an earlier key opens and says
    /// it is stale; a new seal is under the current key alone; a key that is
    /// not listed opens nothing.
    #[test]
    fn earlier_keys_open_and_say_so(
        current in key(),
        earlier in proptest::collection::vec(key(), 1..3),
        stranger in key(),
        plain in ".{0,40}",
        aad in aad(),
    ) {
        prop_assume!(stranger != current && !earlier.contains(&stranger));
        prop_assume!(!earlier.contains(&current));
        let rotated = TokenCipher::with_previous(&current, &earlier);
        for old in &earlier {
            let sealed = TokenCipher::new(old).seal(&plain, &aad);
            let opened = rotated.open_checked(&sealed, &aad);
            prop_assert!(opened.as_ref().is_some_and(|o| o.plain == plain && o.stale));
        }
        let fresh = rotated.seal(&plain, &aad);
        prop_assert_eq!(TokenCipher::new(&current).open(&fresh, &aad), Some(plain.clone()));
        prop_assert!(!rotated.open_checked(&fresh, &aad).unwrap().stale);
        for old in &earlier {
            prop_assert!(TokenCipher::new(old).open(&fresh, &aad).is_none());
        }
        let foreign = TokenCipher::new(&stranger).seal(&plain, &aad);
        prop_assert!(rotated.open(&foreign, &aad).is_none());
    }
}

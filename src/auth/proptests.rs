//! Property tests for the CSRF token: any text is refused unless it is the
//! token made for this browser's CSRF cookie under one of the keys, and
//! every change to the token, the cookie or the key refuses it.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;

use super::csrf::{token_for, verify};
use super::keys::Keys;

/// Text a client may send as the token: anything, base64url of the right
/// length, or close to it.
fn token_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[A-Za-z0-9_-]{43}",
        "[A-Za-z0-9_+/=-]{40,46}",
        "[ \t]{0,2}[A-Za-z0-9_-]{43}[ \t\n]{0,2}",
    ]
}

/// A CSRF cookie's value: issued ones are 43 base64url characters, but the
/// browser may send anything.
fn cookie_value() -> impl Strategy<Value = String> {
    prop_oneof![3 => "[A-Za-z0-9_-]{43}", 1 => any::<String>()]
}

fn secret() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 32..48)
}

proptest! {
    /// Any text: never a panic, and it verifies exactly when it is (after
    /// trimming) the token made for this cookie.
    #[test]
    fn any_text_verifies_only_when_it_is_the_issued_token(
        key in any::<[u8; 32]>(),
        cookie in cookie_value(),
        token in token_text(),
    ) {
        let issued = token_for(&key, &cookie);
        prop_assert_eq!(verify(&key, &cookie, &token), token.trim() == issued, "{:?}", token);
    }

    /// The issued token verifies (with the whitespace a form may add); one
    /// changed, dropped or added character, or one flipped bit of the
    /// decoded MAC, does not.
    #[test]
    fn the_issued_token_verifies_and_no_change_of_it_does(
        key in any::<[u8; 32]>(),
        cookie in cookie_value(),
        at in any::<prop::sample::Index>(),
        bit in 0u8..8,
        replacement in "[A-Za-z0-9_-]",
        pad in "[ \t\n]{0,2}",
    ) {
        let token = token_for(&key, &cookie);
        prop_assert_eq!(token.len(), 43);
        prop_assert!(verify(&key, &cookie, &token));
        let padded = format!("{pad}{token}{pad}");
        prop_assert!(verify(&key, &cookie, &padded));

        let i = at.index(token.len());
        let mut changed = token.clone().into_bytes();
        changed[i] = replacement.as_bytes()[0];
        let changed = String::from_utf8(changed).unwrap();
        prop_assert_eq!(verify(&key, &cookie, &changed), changed == token);

        prop_assert!(!verify(&key, &cookie, &token[..i]), "truncated to {}", i);
        let longer = format!("{token}{replacement}");
        prop_assert!(!verify(&key, &cookie, &longer));

        let mut mac = URL_SAFE_NO_PAD.decode(&token).unwrap();
        let j = at.index(mac.len());
        mac[j] ^= 1 << bit;
        prop_assert!(!verify(&key, &cookie, &URL_SAFE_NO_PAD.encode(&mac)));
    }

    /// A token belongs to the cookie (the browser's CSRF session) and the
    /// key it was made for: another cookie or another key refuses it.
    #[test]
    fn a_token_verifies_only_for_its_cookie_and_key(
        key in any::<[u8; 32]>(),
        other_key in any::<[u8; 32]>(),
        cookie in cookie_value(),
        other_cookie in cookie_value(),
    ) {
        let token = token_for(&key, &cookie);
        prop_assert_eq!(verify(&key, &other_cookie, &token), other_cookie == cookie);
        prop_assert_eq!(verify(&other_key, &cookie, &token), other_key == key);
    }

    /// After a rotation a token made under an earlier secret still verifies
    /// under one of the keys the guard tries; one made under a secret that
    /// is not listed does not.
    #[test]
    fn rotated_keys_accept_earlier_tokens_and_no_others(
        current in secret(),
        earlier in secret(),
        stranger in secret(),
        cookie in cookie_value(),
    ) {
        prop_assume!(stranger != current && stranger != earlier);
        let keys = Keys::derive_with_previous(&current, &[&earlier]);
        let accepted = |token: &str| keys.csrf_keys().any(|k| verify(k, &cookie, token));
        prop_assert!(accepted(&token_for(Keys::derive(&current).csrf_key(), &cookie)));
        prop_assert!(accepted(&token_for(Keys::derive(&earlier).csrf_key(), &cookie)));
        prop_assert!(!accepted(&token_for(Keys::derive(&stranger).csrf_key(), &cookie)));
        // New pages carry tokens under the current key only.
        prop_assert_eq!(
            token_for(keys.csrf_key(), &cookie),
            token_for(Keys::derive(&current).csrf_key(), &cookie)
        );
    }
}

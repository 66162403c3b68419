//! Sealed values (provider tokens, TOTP secrets): any stored text opens to
//! nothing; a sealed value round trips, and a flipped bit, a cut or another
//! place (aad, user) refuses it.
#![no_main]
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse::oauth::crypto::TokenCipher;
use gatehouse::twofactor::totp::Secret;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let cipher = TokenCipher::with_previous(&[1; 32], &[[2; 32]]);
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    // Any stored text, for any place: nothing opens (a forgery needs the key).
    let (stored, aad) = raw.split_once('\n').unwrap_or((raw, "github:1:access"));
    assert!(cipher.open_checked(stored, aad).is_none(), "{stored:?}");
    assert!(Secret::open_checked(&cipher, stored, 7).is_none());

    // What was sealed opens in its place only, and not once changed.
    let sealed = cipher.seal(stored, aad);
    let opened = cipher.open_checked(&sealed, aad).expect("round trip");
    assert!(opened.plain == stored && !opened.stale);
    assert!(cipher.open(&sealed, &format!("{aad}x")).is_none());
    let mut bytes = URL_SAFE_NO_PAD.decode(&sealed[3..]).unwrap();
    let at = data.len() % bytes.len();
    bytes[at] ^= 1 << (data.len() % 8);
    let flipped = format!("v1.{}", URL_SAFE_NO_PAD.encode(&bytes));
    assert!(cipher.open(&flipped, aad).is_none());
    let cut = &sealed[..data.len() % sealed.len()];
    assert!(cipher.open(cut, aad).is_none());
    let old = TokenCipher::new(&[2; 32]).seal(stored, aad);
    assert!(cipher.open_checked(&old, aad).is_some_and(|o| o.stale));

    // Any text in a TOTP secret's place opens to nothing or a usable secret.
    let in_place = cipher.seal(stored, "totp:7:secret");
    if let Some((secret, _)) = Secret::open_checked(&cipher, &in_place, 7) {
        let _ = secret.check("123456", 1_800_000_000, None);
        assert!(Secret::open(&cipher, &in_place, 8).is_none());
    }
});

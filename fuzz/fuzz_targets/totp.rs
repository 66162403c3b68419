//! A typed TOTP code: never a panic; it matches only when it is (without
//! whitespace) the code of the step before, at or after now, and only once.
#![no_main]
use gatehouse::oauth::crypto::TokenCipher;
use gatehouse::twofactor::totp::{STEP, Secret};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((clock, typed)) = data.split_at_checked(4) else {
        return;
    };
    let Ok(typed) = std::str::from_utf8(typed) else {
        return;
    };
    let cipher = TokenCipher::new(&[5; 32]);
    // A fixed secret (20 bytes, base32), opened as the store opens it.
    let sealed = cipher.seal("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "totp:1:secret");
    let secret = Secret::open(&cipher, &sealed, 1).expect("a 160-bit secret");
    let unix = u64::from(u32::from_le_bytes(clock.try_into().unwrap())) + STEP;
    if let Some(step) = secret.check(typed, unix, None) {
        let step = u64::try_from(step).unwrap();
        assert!((unix / STEP - 1..=unix / STEP + 1).contains(&step));
        let bare: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
        assert_eq!(bare, secret.code_at(step * STEP));
        assert_once(&secret, typed, unix, step);
    }
    let code = secret.code_at(unix);
    let step = secret.check(&code, unix, None).expect("the current code");
    assert_once(&secret, &code, unix, u64::try_from(step).unwrap());
});

/// Once `step` was used the code matches no step at or before it (a later
/// step of the window only if its code happens to be the same).
fn assert_once(secret: &Secret, code: &str, unix: u64, step: u64) {
    if let Some(later) = secret.check(code, unix, Some(step as i64)) {
        let bare: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(later as u64 > step && secret.code_at(later as u64 * STEP) == bare);
    }
}

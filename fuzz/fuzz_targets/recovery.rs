//! Typed recovery codes: no code, or one canonical code that reads as itself.
#![no_main]
use gatehouse::twofactor::recovery::normalise;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(code) = normalise(raw) {
        assert_eq!(code.len(), 16);
        assert!(
            code.bytes()
                .all(|b| b"0123456789abcdefghjkmnpqrstvwxyz".contains(&b))
        );
        assert_eq!(normalise(&code), Some(code.clone()));
    }
});

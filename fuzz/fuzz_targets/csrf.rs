//! The CSRF token: any text verifies exactly when it is (trimmed) the token
//! made for this cookie under this key; one changed character never does.
#![no_main]
use gatehouse::auth::csrf::{token_for, verify};
use libfuzzer_sys::fuzz_target;

const KEY: [u8; 32] = [7; 32];

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    // The cookie value, then the token sent, separated by a newline.
    let (cookie, token) = raw.split_once('\n').unwrap_or(("cookie", raw));
    let issued = token_for(&KEY, cookie);
    assert_eq!(
        verify(&KEY, cookie, token),
        token.trim() == issued,
        "{token:?}"
    );
    assert!(verify(&KEY, cookie, &issued));
    if !token.is_empty() && token.len() <= issued.len() {
        // The issued token with the sent text written over its start.
        let mut forged = token.to_owned();
        forged.push_str(issued.get(token.len()..).unwrap_or(""));
        assert_eq!(verify(&KEY, cookie, &forged), forged.trim() == issued);
    }
});

//! The session cookie's value and a carried token hash.
#![no_main]
use gatehouse::session::{PlainToken, TokenHash};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(token) = PlainToken::parse(raw) {
        assert_eq!(raw.len(), gatehouse::session::token::TOKEN_LEN);
        let hash = token.hash();
        assert_eq!(TokenHash::decode(&hash.encode()), Some(hash));
        assert_eq!(token.expose(), raw);
    }
    if let Some(hash) = TokenHash::decode(raw) {
        assert_eq!(hash.encode(), raw);
    }
});

//! The email rule (idempotent, its result parses again) and permission strings.
#![no_main]
use gatehouse::users::{effective_permissions, normalize_email, validate_permission};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(email) = normalize_email(raw) {
        assert_eq!(normalize_email(&email), Ok(email.clone()), "{raw:?}");
        assert!(email.len() <= gatehouse::users::MAX_EMAIL_LEN);
    }
    let naive = (1..=64).contains(&raw.len())
        && raw
            .chars()
            .all(|c| matches!(c, 'a'..='z' | '0'..='9' | ':' | '_' | '-' | '.'));
    assert_eq!(validate_permission(raw).is_ok(), naive, "{raw:?}");
    let all = effective_permissions("user", raw);
    assert!(all.windows(2).all(|w| w[0] < w[1]));
});

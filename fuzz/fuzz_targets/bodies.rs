//! Form and JSON bodies as the extractors read them, and the admin API's
//! path ids and times.
#![no_main]
use gatehouse::web::admin_api::{BanBody, PatchBody, parse_id, parse_time};
use gatehouse::web::{email, email_link, reauth, sessions, two_factor_signin};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<PatchBody>(data);
    let _ = serde_json::from_slice::<BanBody>(data);
    let _ = serde_urlencoded::from_bytes::<email::EmailForm>(data);
    let _ = serde_urlencoded::from_bytes::<email::ResetForm>(data);
    let _ = serde_urlencoded::from_bytes::<email_link::LinkForm>(data);
    let _ = serde_urlencoded::from_bytes::<reauth::ReauthForm>(data);
    let _ = serde_urlencoded::from_bytes::<sessions::RevokeForm>(data);
    let _ = serde_urlencoded::from_bytes::<two_factor_signin::CodeForm>(data);
    if let Ok(raw) = std::str::from_utf8(data) {
        if let Ok(id) = parse_id(raw) {
            assert!(id > 0);
        }
        let _ = parse_time("until", raw);
    }
});

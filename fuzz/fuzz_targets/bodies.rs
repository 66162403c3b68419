//! Every form, JSON body and query string the web layer deserialises, read
//! both ways (`web::Form`/`web::Query` use serde_urlencoded, `web::Json`
//! serde_json); the NUL scanner every body passes; the admin API's ids,
//! times and paging.
#![no_main]
use gatehouse::web::admin_api::{
    AuditQuery, BanBody, ListQuery, PatchBody, paging, parse_id, parse_time,
};
use gatehouse::web::input::body_has_nul;
use gatehouse::web::{
    admin_pages, api, delete_account, email, email_change, email_link, oauth, pages, passkeys,
    reauth, sessions, settings, setup, two_factor, two_factor_signin,
};
use libfuzzer_sys::fuzz_target;

/// Reads `data` as each type, as a form or query and as JSON.
macro_rules! read_as {
    ($data:expr, $($t:ty),+ $(,)?) => {
        $(
            let _ = serde_urlencoded::from_bytes::<$t>($data);
            let _ = serde_json::from_slice::<$t>($data);
        )+
    };
}

const CONTENT_TYPES: [&str; 4] = [
    "application/x-www-form-urlencoded",
    "application/json",
    "text/plain",
    "application/merge-patch+json; charset=utf-8",
];

fuzz_target!(|data: &[u8]| {
    read_as!(
        data,
        admin_pages::BanForm,
        admin_pages::ProfileForm,
        admin_pages::RevokeForm,
        admin_pages::Saved,
        api::SessionUpdate,
        delete_account::DeleteForm,
        email::EmailForm,
        email::ResetForm,
        email::TokenQuery,
        email_change::EmailChangeForm,
        email_link::LinkForm,
        email_link::LinkQuery,
        email_link::LinkRequestJson,
        oauth::CallbackQuery,
        oauth::StartForm,
        pages::CallbackQuery,
        pages::SignInForm,
        pages::SignUpForm,
        passkeys::RegisterBody,
        passkeys::SignInBody,
        passkeys::reauth::ReauthBody,
        reauth::ReauthCodeForm,
        reauth::ReauthForm,
        reauth::ReauthQuery,
        sessions::Notice,
        sessions::RevokeForm,
        settings::PasswordForm,
        settings::PreferencesForm,
        settings::ProfileForm,
        settings::SavedQuery,
        setup::SetupForm,
        setup::TokenQuery,
        two_factor::CodeForm,
        two_factor::SavedQuery,
        two_factor_signin::CodeForm,
        BanBody,
        PatchBody,
    );
    if let Ok(q) = serde_urlencoded::from_bytes::<ListQuery>(data) {
        let _ = q.user_query();
    }
    if let Ok(q) = serde_urlencoded::from_bytes::<AuditQuery>(data)
        && let Ok((_, page, per_page)) = q.filter()
    {
        assert!(page >= 1 && (1..=100).contains(&per_page));
    }
    for ct in CONTENT_TYPES {
        let found = body_has_nul(ct, data);
        if data.contains(&0) {
            assert!(found);
        }
    }
    if let Ok(raw) = std::str::from_utf8(data) {
        if let Ok(id) = parse_id(raw) {
            assert!(id > 0);
        }
        let _ = parse_time("until", raw);
        let (page, per_page) = raw.split_once('&').unwrap_or((raw, ""));
        if let Ok((page, per_page)) = paging(Some(page), Some(per_page)) {
            assert!(page >= 1 && (1..=100).contains(&per_page));
        }
    }
});

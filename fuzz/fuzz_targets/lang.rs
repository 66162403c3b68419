//! Language tags and `Accept-Language`: always a supported language. The
//! stored preference (`users::validate_language`): exactly the documented
//! BCP 47-like tags, as themselves, accepted again unchanged.
#![no_main]
use gatehouse::i18n::Lang;
use gatehouse::users::validate_language;
use libfuzzer_sys::fuzz_target;

fn naive_language(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or("");
    tag.len() <= 35
        && (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let (pref, header) = raw.split_once('\n').unwrap_or(("", raw));
    let lang = Lang::negotiate(Some(pref), Some(header));
    assert!(Lang::ALL.contains(&lang));
    if let Some(l) = Lang::from_tag(pref) {
        assert_eq!(lang, l);
    }
    if let Some(l) = Lang::from_accept_language(header) {
        assert!(Lang::ALL.contains(&l));
    }
    match validate_language(raw) {
        Ok(tag) => {
            assert!(naive_language(raw.trim()), "{raw:?} accepted");
            assert_eq!(tag, raw.trim());
            assert_eq!(validate_language(&tag).ok(), Some(tag.clone()));
        }
        Err(_) => assert!(!naive_language(raw.trim()), "{raw:?} refused"),
    }
});

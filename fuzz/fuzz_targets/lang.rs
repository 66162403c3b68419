//! Language tags and `Accept-Language`: always a supported language.
#![no_main]
use gatehouse::i18n::Lang;
use libfuzzer_sys::fuzz_target;

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
});

use std::collections::BTreeSet;
use std::path::Path;

use super::*;

/// Every `.ftl` file of one language, parsed: its message ids. A syntax
/// error fails here with the file's name.
fn keys_of(lang: Lang) -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("locales")
        .join(lang.code());
    let mut keys = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("the language's folder") {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "ftl") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let resource = fluent_syntax::parser::parse(text.as_str())
            .unwrap_or_else(|(_, errors)| panic!("{}: {errors:?}", path.display()));
        for entry in resource.body {
            match entry {
                fluent_syntax::ast::Entry::Message(m) => {
                    assert!(
                        keys.insert(m.id.name.to_owned()),
                        "{}: {} twice",
                        path.display(),
                        m.id.name
                    );
                }
                fluent_syntax::ast::Entry::Junk { content } => {
                    panic!("{}: cannot parse {content:?}", path.display())
                }
                _ => {}
            }
        }
    }
    keys
}

#[test]
fn every_language_has_every_key_and_no_other() {
    let en = keys_of(Lang::En);
    assert!(en.len() > 100, "{}", en.len());
    for lang in [Lang::De, Lang::Ru] {
        let other = keys_of(lang);
        let missing: Vec<_> = en.difference(&other).collect();
        let extra: Vec<_> = other.difference(&en).collect();
        assert!(missing.is_empty(), "{} lacks {missing:?}", lang.code());
        assert!(
            extra.is_empty(),
            "{} has keys English lacks: {extra:?}",
            lang.code()
        );
    }
}

/// Every `$variable` the English catalogue uses.
fn variables() -> BTreeSet<&'static str> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales/en");
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for part in text.split('$').skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            found.insert(&*Box::leak(name.into_boxed_str()));
        }
    }
    found
}

#[test]
fn every_message_renders_in_every_language() {
    let names = variables();
    for lang in Lang::ALL {
        for key in keys_of(Lang::En) {
            let key: &'static str = Box::leak(key.into_boxed_str());
            let msg = names.iter().fold(Msg::key(key), |m, n| m.number(n, 3));
            let text = lang.msg(&msg);
            assert!(
                !text.trim().is_empty() && text != key,
                "{}: {key}",
                lang.code()
            );
        }
    }
}

#[test]
fn the_preference_then_accept_language_then_english() {
    assert_eq!(Lang::negotiate(Some("de"), Some("ru")), Lang::De);
    assert_eq!(Lang::negotiate(Some("de-AT"), None), Lang::De);
    assert_eq!(Lang::negotiate(Some("ru-RU"), None), Lang::Ru);
    assert_eq!(
        Lang::negotiate(Some("pt-BR"), Some("ru, en;q=0.5")),
        Lang::Ru
    );
    assert_eq!(Lang::negotiate(Some("pt-BR"), Some("pt")), Lang::En);
    assert_eq!(Lang::negotiate(Some("not a tag!"), None), Lang::En);
    assert_eq!(Lang::negotiate(None, None), Lang::En);
}

#[test]
fn accept_language_q_values_pick_the_best_supported() {
    let best = Lang::from_accept_language;
    assert_eq!(best("fr;q=0.9, de;q=0.5, ru;q=0.7"), Some(Lang::Ru));
    assert_eq!(best("en;q=0.1, de-CH"), Some(Lang::De));
    assert_eq!(best("de;q=0, ru;q=0.2"), Some(Lang::Ru));
    assert_eq!(best("fr, ja"), None);
    assert_eq!(best(""), None);
    assert_eq!(best(";;;,,q=x"), None);
}

#[test]
fn arguments_plurals_and_fallback() {
    assert_eq!(
        Lang::De.arg("home-welcome", "name", "Ada"),
        "Willkommen, Ada"
    );
    assert_eq!(Lang::Ru.count("wait-minutes", 1), "1 минуту");
    assert_eq!(Lang::Ru.count("wait-minutes", 3), "3 минуты");
    assert_eq!(Lang::Ru.count("wait-minutes", 5), "5 минут");
    assert_eq!(Lang::En.count("wait-minutes", 1), "1 minute");
    let m =
        Msg::key("error-rate-limited").nested("wait", Msg::key("wait-hours").number("count", 2));
    assert_eq!(Lang::En.msg(&m), "Too many attempts. Try again in 2 hours.");
    assert_eq!(m.to_string(), "Too many attempts. Try again in 2 hours.");
    assert_eq!(Lang::De.msg(Msg::from("as is")), "as is");
    // A key no language has is shown as the key, never a panic.
    assert_eq!(Lang::De.get("no-such-key"), "no-such-key");
}

#[test]
fn dates_in_the_locale() {
    let t = chrono::NaiveDate::from_ymd_opt(2026, 12, 5)
        .unwrap()
        .and_hms_opt(9, 7, 0)
        .unwrap();
    assert_eq!(Lang::En.time(t), "December 5, 2026, 09:07 UTC");
    assert_eq!(Lang::De.time(t), "05.12.2026, 09:07 UTC");
    assert_eq!(
        Lang::Ru.datetime("2026-12-05T09:07:00Z"),
        "05.12.2026, 09:07 UTC"
    );
    assert_eq!(Lang::Ru.datetime("not a time"), "not a time");
}

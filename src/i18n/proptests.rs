//! Property tests for language tags and `Accept-Language`: any text
//! negotiates to a language the catalogue has, and the choice is the
//! documented one (preference, then the highest q-value, then English).
use proptest::prelude::*;

use super::*;

fn base() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("en".to_owned()),
        Just("de".to_owned()),
        Just("ru".to_owned()),
        Just("DE".to_owned()),
        Just("Ru".to_owned()),
        "[a-z]{2,3}",
    ]
}

fn tag() -> impl Strategy<Value = String> {
    (base(), "(-[A-Z]{2}|-[a-z]{4}|-[0-9]{3})?").prop_map(|(b, r)| format!("{b}{r}"))
}

fn supported(tag: &str) -> Option<Lang> {
    let base = tag.split('-').next().unwrap_or("").to_ascii_lowercase();
    Lang::ALL.into_iter().find(|l| l.code() == base)
}

/// q-values in tenths, as browsers write them.
fn entry() -> impl Strategy<Value = (String, u8)> {
    (tag(), 0u8..=10)
}

fn header_of(entries: &[(String, u8)]) -> String {
    entries
        .iter()
        .map(|(t, q)| match q {
            10 => t.clone(),
            q => format!("{t};q=0.{q}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

proptest! {
    #[test]
    fn any_text_negotiates_to_a_supported_language(
        pref in proptest::option::of(any::<String>()),
        header in proptest::option::of(prop_oneof![
            any::<String>(),
            "[a-zA-Z\\-;=q0-9.,* ]{0,60}",
        ]),
    ) {
        let lang = Lang::negotiate(pref.as_deref(), header.as_deref());
        prop_assert!(Lang::ALL.contains(&lang));
        if let Some(l) = Lang::from_tag(pref.as_deref().unwrap_or("")) {
            prop_assert_eq!(lang, l);
        }
    }

    #[test]
    fn a_tag_is_its_base_language(t in tag()) {
        prop_assert_eq!(Lang::from_tag(&t), supported(&t), "{}", t);
    }

    #[test]
    fn the_highest_q_value_wins_then_header_order(
        entries in proptest::collection::vec(entry(), 0..6),
        pref in proptest::option::of(tag()),
    ) {
        let header = header_of(&entries);
        let mut best: Option<(u8, Lang)> = None;
        for (t, q) in &entries {
            if let Some(l) = supported(t)
                && *q > 0
                && best.is_none_or(|(bq, _)| *q > bq)
            {
                best = Some((*q, l));
            }
        }
        let expected = best.map(|(_, l)| l);
        prop_assert_eq!(Lang::from_accept_language(&header), expected, "{}", header);
        let want = pref
            .as_deref()
            .and_then(supported)
            .or(expected)
            .unwrap_or(Lang::En);
        prop_assert_eq!(Lang::negotiate(pref.as_deref(), Some(&header)), want);
    }
}

//! Property tests for the email rule, permission strings and the stored
//! language preference.
use proptest::prelude::*;

use super::*;

/// Addresses as people (and attackers) type them: ASCII, accents, other
/// scripts, fullwidth forms, invisible characters, stray `@`s.
fn typed_email() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        "[a-zA-Z0-9._+\\-]{1,12}",
        "[a-zäöüéñßа-яА-Я一-龥ぁ-ゖ]{1,8}",
        "[ａ-ｚＡ-Ｚ０-９]{1,6}",
        "[a-z\u{200b}\u{ad}\u{202e}\u{0} \t.]{1,6}",
    ];
    let domain = prop_oneof![
        "[a-z0-9\\-]{1,10}(\\.[a-z]{2,6}){1,2}",
        "[a-zа-яäöü一-龥]{1,8}\\.[a-zрф]{2,4}",
        "[ａ-ｚ]{1,6}．[ａ-ｚ]{2,3}",
        "[a-z.\\-]{0,8}",
    ];
    prop_oneof![
        8 => (part, "[@＠]", domain, "[ \t]{0,2}")
            .prop_map(|(l, at, d, ws)| format!("{ws}{l}{at}{d}{ws}")),
        1 => any::<String>(),
        1 => "[a-z@.]{0,20}",
    ]
}

fn naive_permission(p: &str) -> bool {
    (1..=64).contains(&p.len())
        && p.chars()
            .all(|c| matches!(c, 'a'..='z' | '0'..='9' | ':' | '_' | '-' | '.'))
}

fn permission() -> impl Strategy<Value = String> {
    "[a-z0-9:_.\\-]{1,64}"
}

proptest! {
    #[test]
    fn email_normalisation_is_idempotent_and_its_result_parses_again(raw in typed_email()) {
        if let Ok(email) = normalize_email(&raw) {
            prop_assert_eq!(normalize_email(&email), Ok(email.clone()));
            prop_assert!(email.len() <= MAX_EMAIL_LEN);
            prop_assert_eq!(email.trim(), email.as_str());
            prop_assert!(!email.chars().any(|c| c.is_whitespace() || c.is_control()));
            let (local, domain) = email.rsplit_once('@').unwrap();
            prop_assert!(!local.is_empty() && !local.contains('@'));
            prop_assert!(domain.is_ascii() && email::is_dotted(domain));
            prop_assert_eq!(domain.to_lowercase(), domain);
        }
    }

    #[test]
    fn case_and_width_do_not_make_another_address(
        local in "[a-z0-9]{1,10}",
        domain in "[a-z]{1,10}\\.(org|com|de)",
    ) {
        let plain = format!("{local}@{domain}");
        let upper = plain.to_uppercase();
        let wide: String = plain
            .chars()
            .map(|c| match c {
                'a'..='z' | '0'..='9' => char::from_u32(c as u32 + 0xFEE0).unwrap(),
                c => c,
            })
            .collect();
        prop_assert_eq!(normalize_email(&plain), Ok(plain.clone()));
        prop_assert_eq!(normalize_email(&upper), Ok(plain.clone()));
        prop_assert_eq!(normalize_email(&wide), Ok(plain));
    }

    #[test]
    fn invisible_characters_are_refused_wherever_they_are(
        local in "[a-z]{2,8}",
        at in any::<prop::sample::Index>(),
        bad in prop::sample::select(vec!['\u{200b}', '\u{ad}', '\u{202e}', '\u{0}', '\u{7}', '\u{feff}', '\u{e000}']),
    ) {
        let mut chars: Vec<char> = format!("{local}@example.org").chars().collect();
        chars.insert(at.index(chars.len() + 1), bad);
        let typed: String = chars.into_iter().collect();
        prop_assert!(normalize_email(&typed).is_err(), "{typed:?}");
    }

    #[test]
    fn permission_strings_are_exactly_the_documented_set(p in prop_oneof![
        permission(),
        any::<String>(),
        "[a-zA-Z0-9:_.\\- é]{0,70}",
    ]) {
        prop_assert_eq!(validate_permission(&p).is_ok(), naive_permission(&p), "{:?}", p);
    }

    /// What an admin grants is stored as the `permissions` cell and read back
    /// as the same list (sorted, once each), and the user then can do it.
    #[test]
    fn permissions_round_trip_through_the_cell(
        mut grants in proptest::collection::vec(permission(), 0..12),
        role in prop::sample::select(ROLES.to_vec()),
    ) {
        for p in &grants {
            prop_assert!(validate_permission(p).is_ok());
        }
        grants.sort();
        grants.dedup();
        let cell = serde_json::to_string(&grants).unwrap();
        prop_assert_eq!(grants_of(&cell), grants.clone());
        let all = effective_permissions(role, &cell);
        for p in grants.iter().map(String::as_str).chain(role_permissions(role).iter().copied()) {
            prop_assert!(all.iter().any(|a| a == p), "{p} missing from {all:?}");
        }
        prop_assert!(all.windows(2).all(|w| w[0] < w[1]), "sorted once each: {all:?}");
    }

    #[test]
    fn any_permissions_cell_grants_something_or_nothing(cell in prop_oneof![
        any::<String>(),
        "\\[(\"[a-z:]{0,6}\",?){0,4}\\]",
    ]) {
        let all = effective_permissions("user", &cell);
        prop_assert_eq!(all.len(), {
            let mut g = grants_of(&cell);
            g.sort();
            g.dedup();
            g.len()
        });
    }

    /// The stored language preference: never a panic; accepted exactly when
    /// it is (trimmed) a BCP 47-like tag as the README states (2-3 letters,
    /// then `-` and 1-8 letters or digits, at most 35 bytes), as that tag;
    /// what was accepted is accepted again unchanged, and is safe in the
    /// page's `lang` attribute.
    #[test]
    fn language_tags_are_exactly_the_documented_set_and_round_trip(raw in language_text()) {
        let naive = naive_language(raw.trim());
        match validate_language(&raw) {
            Ok(tag) => {
                prop_assert!(naive, "{:?} accepted", raw);
                prop_assert_eq!(&tag, raw.trim());
                prop_assert!(tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
                prop_assert_eq!(validate_language(&tag), Ok(tag.clone()));
                prop_assert!(crate::i18n::Lang::ALL.contains(&crate::i18n::Lang::negotiate(Some(&tag), None)));
            }
            Err(_) => prop_assert!(!naive, "{:?} refused", raw),
        }
    }
}

fn naive_language(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or("");
    tag.len() <= 35
        && (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Tags as a form or a script might send them: well-formed ones, near
/// misses (`_`, empty subtags, long subtags, non-ASCII letters), anything.
fn language_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[ \t]{0,2}[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8}){0,4}[ \t]{0,2}",
        2 => "[a-zA-Z]{2,3}(-[a-zA-Z0-9]{5,8}){3,5}",
        2 => "[a-zA-Z0-9_äöéЯ一\u{0}\u{3000}-]{0,40}",
        1 => prop::sample::select(LANGUAGES.iter().map(|(code, _)| code.to_string()).collect::<Vec<_>>()),
        1 => prop::sample::select(crate::i18n::Lang::ALL.iter().map(|l| l.code().to_string()).collect::<Vec<_>>()),
        1 => any::<String>(),
    ]
}

//! Property tests for typed recovery codes: any text is no code or one
//! canonical code, every way of typing an issued code reads as it, and
//! nothing else does.
use proptest::prelude::*;

use super::recovery::{digest, generate, normalise};

const ALPHABET: &str = "0123456789abcdefghjkmnpqrstvwxyz";

fn code() -> impl Strategy<Value = String> {
    "[0-9abcdefghjkmnpqrstvwxyz]{16}"
}

/// `code` as a person might type it: any case, `o`/`i`/`l` for `0`/`1`, with
/// dashes, spaces or tabs anywhere.
fn typed(code: String) -> impl Strategy<Value = String> {
    let n = code.len();
    (
        proptest::collection::vec(any::<bool>(), n),
        proptest::collection::vec(any::<bool>(), n),
        proptest::collection::vec(
            prop::sample::select(vec!["", "", "", "-", " ", "\t", "--"]),
            n + 1,
        ),
    )
        .prop_map(move |(upper, lookalike, seps)| {
            let mut out = seps[0].to_owned();
            for (i, c) in code.chars().enumerate() {
                let c = match (c, lookalike[i]) {
                    ('0', true) => 'o',
                    ('1', true) => {
                        if i % 2 == 0 {
                            'i'
                        } else {
                            'l'
                        }
                    }
                    (c, _) => c,
                };
                out.push(if upper[i] { c.to_ascii_uppercase() } else { c });
                out.push_str(seps[i + 1]);
            }
            out
        })
}

proptest! {
    #[test]
    fn any_text_is_no_code_or_one_canonical_code(raw in prop_oneof![
        any::<String>(),
        "[0-9a-zA-Z\\- \t]{0,24}",
        "[0-9a-zA-Zäß\u{0}\u{ff10}-\u{ff19}\\-]{14,20}",
    ]) {
        if let Some(c) = normalise(&raw) {
            prop_assert_eq!(c.len(), 16);
            prop_assert!(c.chars().all(|ch| ALPHABET.contains(ch)), "{}", c);
            prop_assert_eq!(normalise(&c), Some(c.clone()));
        }
        let key = [7u8; 32];
        prop_assert_eq!(digest(&key, &raw).is_some(), normalise(&raw).is_some());
    }

    #[test]
    fn every_typed_form_reads_as_the_code(
        (code, input) in code().prop_flat_map(|c| (Just(c.clone()), typed(c))),
    ) {
        prop_assert_eq!(normalise(&input), Some(code.clone()), "{:?}", input);
        let key = [3u8; 32];
        prop_assert_eq!(digest(&key, &input), digest(&key, &code));
    }

    #[test]
    fn another_code_is_another_digest(a in code(), b in code()) {
        prop_assume!(a != b);
        let key = [5u8; 32];
        prop_assert_ne!(digest(&key, &a), digest(&key, &b));
    }

    #[test]
    fn issued_codes_read_back(_n in 0u8..4) {
        for c in generate() {
            prop_assert_eq!(normalise(&c), Some(c.replace('-', "")));
        }
    }
}

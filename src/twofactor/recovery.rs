//! Recovery codes: ten single-use codes shown once when two factors are
//! turned on (or made anew), each 80 random bits written as
//! `xxxx-xxxx-xxxx-xxxx` in Crockford's base32 (no i, l, o, u; typing them
//! in either case, with or without dashes or spaces, and with `o`/`i`/`l`
//! for `0`/`1`, reads the same).
//!
//! Stored as HMAC-SHA256 under a key derived from the server secret: a copy
//! of the database alone yields nothing to try codes against, and the row
//! holds no code.

use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;

/// Codes made at a time.
pub const COUNT: usize = 10;
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const GROUPS: usize = 4;
const GROUP: usize = 4;

/// Ten new codes, as shown to the user.
pub fn generate() -> Vec<String> {
    let mut rng = rand::rngs::OsRng;
    (0..COUNT)
        .map(|_| {
            let chars: Vec<String> = (0..GROUPS)
                .map(|_| {
                    (0..GROUP)
                        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
                        .collect()
                })
                .collect();
            chars.join("-")
        })
        .collect()
}

/// The code's canonical form (16 alphabet characters), or `None` when what
/// was typed cannot be a recovery code.
pub fn normalise(typed: &str) -> Option<String> {
    let mut out = String::with_capacity(GROUPS * GROUP);
    for c in typed.chars() {
        let c = match c.to_ascii_lowercase() {
            '-' | ' ' | '\t' => continue,
            'o' => '0',
            'i' | 'l' => '1',
            c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
            _ => return None,
        };
        out.push(c);
        if out.len() > GROUPS * GROUP {
            return None;
        }
    }
    (out.len() == GROUPS * GROUP).then_some(out)
}

/// What is stored for `code` (any typed form of it); `None` when it cannot
/// be a code.
pub fn digest(key: &[u8; 32], typed: &str) -> Option<Vec<u8>> {
    let canonical = normalise(typed)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(canonical.as_bytes());
    Some(mac.finalize().into_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_distinct_codes_in_the_shown_form() {
        let codes = generate();
        assert_eq!(codes.len(), COUNT);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), COUNT);
        for c in &codes {
            assert_eq!(c.len(), 19, "{c}");
            assert_eq!(c.matches('-').count(), 3, "{c}");
            assert_eq!(normalise(c).unwrap(), c.replace('-', ""));
        }
    }

    #[test]
    fn typed_forms_read_the_same() {
        let key = [9u8; 32];
        let d = digest(&key, "ab01-cdef-gh23-jk45").unwrap();
        for typed in [
            "AB01CDEFGH23JK45",
            "ab01 cdef gh23 jk45",
            "aBoI-cdef-gh23-jk45",
            "ab0l-cdef-gh23-jk45",
        ] {
            assert_eq!(digest(&key, typed).as_ref(), Some(&d), "{typed}");
        }
        assert_ne!(digest(&key, "ab01-cdef-gh23-jk46"), Some(d.clone()));
        assert_ne!(digest(&[8u8; 32], "ab01-cdef-gh23-jk45"), Some(d), "keyed");
    }

    #[test]
    fn what_cannot_be_a_code() {
        for bad in [
            "",
            "123456",
            "ab01-cdef-gh23-jk4",
            "ab01-cdef-gh23-jk456",
            "ab01-cdef-gh23-jk4u",
            "ab01-cdef-gh23-jk4ä",
        ] {
            assert_eq!(normalise(bad), None, "{bad:?}");
        }
    }
}

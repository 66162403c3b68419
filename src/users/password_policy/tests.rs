use super::*;
use crate::i18n::Lang;

const ADA: [&str; 2] = ["Ada Lovelace", "ada@example.com"];

fn refusal_of(password: &str) -> String {
    let msg = PasswordPolicy::default()
        .check(password, &ADA)
        .expect_err(password);
    Lang::En.msg(&msg)
}

#[test]
fn the_default_is_score_three() {
    assert_eq!(PasswordPolicy::default().min_score(), 3);
    assert_eq!(PasswordPolicy::parse("3"), Ok(PasswordPolicy::default()));
}

#[test]
fn the_score_is_zero_to_four() {
    for ok in ["0", "4", " 2 "] {
        assert!(PasswordPolicy::parse(ok).is_ok(), "{ok}");
    }
    for bad in ["5", "-1", "three", "", "3.5", "256"] {
        let err = PasswordPolicy::parse(bad).expect_err(bad);
        assert!(err.contains("from 0 to 4"), "{err}");
    }
}

#[test]
fn common_passwords_are_refused_with_why_and_what_helps() {
    let text = refusal_of("password");
    assert!(text.contains("top-10 common password"), "{text}");
    assert!(text.contains("Add another word or two"), "{text}");
    let text = refusal_of("12345678");
    assert!(text.contains("top-10 common password"), "{text}");
    let text = refusal_of("qwertyuiop");
    assert!(text.contains("common password"), "{text}");
    assert!(text.contains("Add another word or two"), "{text}");
    let text = refusal_of("iloveyou1");
    assert!(text.contains("common password"), "{text}");
}

#[test]
fn the_accounts_own_name_and_address_are_easy_guesses() {
    let policy = PasswordPolicy::default();
    // Strong enough for a stranger, not for Ada.
    for pw in ["ada@example.com!", "ada lovelace!"] {
        assert_eq!(policy.check(pw, &[]), Ok(()), "{pw}");
        let text = Lang::En.msg(policy.check(pw, &ADA).expect_err(pw));
        assert!(text.contains("your name or email address"), "{pw}: {text}");
        assert!(text.contains("Add another word or two"), "{pw}: {text}");
    }
    for pw in ["lovelace1815", "ada.lovelace", "adalovelace"] {
        assert!(policy.check(pw, &ADA).is_err(), "{pw}");
    }
}

#[test]
fn long_phrases_of_words_pass() {
    let policy = PasswordPolicy::default();
    for pw in [
        "correct horse battery",
        "a brand new passphrase",
        "plum tuba orbit gravel",
    ] {
        assert_eq!(policy.check(pw, &ADA), Ok(()), "{pw}");
    }
    assert_eq!(
        PasswordPolicy::new(4)
            .unwrap()
            .check("correct horse battery staple", &ADA),
        Ok(())
    );
}

#[test]
fn length_comes_first_at_every_score() {
    for score in 0..=4 {
        let policy = PasswordPolicy::new(score).unwrap();
        assert_eq!(
            policy.check("short", &[]),
            Err(Msg::key("invalid-password-short").with("min", MIN_PASSWORD_CHARS))
        );
        let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
        assert_eq!(
            policy.check(&long, &[]),
            Err(Msg::key("invalid-password-long").with("max", MAX_PASSWORD_BYTES))
        );
    }
    // Characters, not bytes, count toward the minimum.
    assert!(PasswordPolicy::new(0).unwrap().check("ключ", &[]).is_err());
}

#[test]
fn score_zero_checks_the_length_only() {
    let policy = PasswordPolicy::new(0).unwrap();
    for pw in ["password", "password1", "12345678"] {
        assert_eq!(policy.check(pw, &ADA), Ok(()), "{pw}");
    }
}

#[test]
fn score_four_refuses_a_three_with_the_general_advice() {
    // zxcvbn gives no feedback above score 2: the general lead and advice.
    let three = "wrong password";
    assert!(PasswordPolicy::default().check(three, &[]).is_ok());
    let msg = PasswordPolicy::new(4)
        .unwrap()
        .check(three, &[])
        .unwrap_err();
    let text = Lang::En.msg(&msg);
    assert!(text.contains("too easy to guess"), "{text}");
    assert!(text.contains("uncommon words"), "{text}");
}

#[test]
fn only_the_first_characters_are_estimated() {
    // A weak start is judged by its first ESTIMATED_CHARS characters; the
    // cost stays bounded whatever the length.
    let long = "password".repeat(100);
    assert!(PasswordPolicy::default().check(&long, &[]).is_err());
    let started = std::time::Instant::now();
    let _ = PasswordPolicy::default().check(&"ab1!".repeat(250), &[]);
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

#[test]
fn the_refusal_is_translated() {
    let msg = PasswordPolicy::default()
        .check("password", &ADA)
        .unwrap_err();
    let de = Lang::De.msg(&msg);
    assert!(de.contains("10 häufigsten Passwörter"), "{de}");
    assert!(de.contains("Fügen Sie ein oder zwei Wörter hinzu"), "{de}");
    let ru = Lang::Ru.msg(&msg);
    assert!(ru.contains("Добавьте ещё одно-два слова"), "{ru}");
}

#[test]
fn every_warning_and_suggestion_has_a_catalogue_key() {
    let warnings = [
        Warning::StraightRowsOfKeysAreEasyToGuess,
        Warning::ShortKeyboardPatternsAreEasyToGuess,
        Warning::RepeatsLikeAaaAreEasyToGuess,
        Warning::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess,
        Warning::ThisIsATop10Password,
        Warning::ThisIsATop100Password,
        Warning::ThisIsACommonPassword,
        Warning::ThisIsSimilarToACommonlyUsedPassword,
        Warning::SequencesLikeAbcAreEasyToGuess,
        Warning::RecentYearsAreEasyToGuess,
        Warning::AWordByItselfIsEasyToGuess,
        Warning::DatesAreOftenEasyToGuess,
        Warning::NamesAndSurnamesByThemselvesAreEasyToGuess,
        Warning::CommonNamesAndSurnamesAreEasyToGuess,
    ];
    let suggestions = [
        Suggestion::UseAFewWordsAvoidCommonPhrases,
        Suggestion::NoNeedForSymbolsDigitsOrUppercaseLetters,
        Suggestion::AddAnotherWordOrTwo,
        Suggestion::CapitalizationDoesntHelpVeryMuch,
        Suggestion::AllUppercaseIsAlmostAsEasyToGuessAsAllLowercase,
        Suggestion::ReversedWordsArentMuchHarderToGuess,
        Suggestion::PredictableSubstitutionsDontHelpVeryMuch,
        Suggestion::UseALongerKeyboardPatternWithMoreTurns,
        Suggestion::AvoidRepeatedWordsAndCharacters,
        Suggestion::AvoidSequences,
        Suggestion::AvoidRecentYears,
        Suggestion::AvoidYearsThatAreAssociatedWithYou,
        Suggestion::AvoidDatesAndYearsThatAreAssociatedWithYou,
    ];
    let keys: Vec<&str> = warnings
        .into_iter()
        .map(warning_key)
        .chain(suggestions.into_iter().map(suggestion_key))
        .chain([
            "password-weak",
            "password-warning-personal",
            "password-suggestion-generic",
        ])
        .collect();
    let mut seen = std::collections::HashSet::new();
    for key in keys {
        assert!(seen.insert(key), "{key} twice");
        // The key parity test keeps de and ru in step with en.
        assert_ne!(Lang::En.get(key), key, "{key} is not in the catalogue");
    }
}

#[test]
fn the_account_words() {
    assert_eq!(
        user_inputs(&["Ada Lovelace", "ada.lovelace+x@example.com", "Bo"]),
        [
            "ada lovelace",
            "ada",
            "lovelace",
            "ada.lovelace+x@example.com",
            "ada.lovelace+x"
        ]
    );
}

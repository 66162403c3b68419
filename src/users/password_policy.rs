//! The password policy, applied wherever a password is set (sign-up, change,
//! reset, setup, `user add`, the configured admin) and never at sign-in, so
//! existing users are not locked out: 8 characters to 1024 bytes, and a zxcvbn
//! score of at least `PASSWORD_MIN_SCORE`. zxcvbn's dictionaries hold the
//! common passwords; its feedback becomes catalogue keys (why, then what helps).

use zxcvbn::feedback::{Suggestion, Warning};
use zxcvbn::matching::patterns::MatchPattern;

use crate::i18n::Msg;

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// zxcvbn reads at most this many characters: its work grows with the length
/// (about 10 ms at 100), and a longer password of that kind is strong anyway.
pub const ESTIMATED_CHARS: usize = 100;
/// Shorter names and address parts are not counted as guessable words (a
/// one-letter name would match nearly every password).
const MIN_INPUT_CHARS: usize = 3;

/// The rule for new passwords. A value in the configuration; `Default` is the
/// documented default (score 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordPolicy {
    min_score: u8,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_score: Self::DEFAULT_MIN_SCORE,
        }
    }
}

impl PasswordPolicy {
    pub const DEFAULT_MIN_SCORE: u8 = 3;
    pub const MAX_SCORE: u8 = 4;

    /// `min_score`: 0 (length only) to 4.
    pub fn new(min_score: u8) -> Option<Self> {
        (min_score <= Self::MAX_SCORE).then_some(PasswordPolicy { min_score })
    }

    /// `PASSWORD_MIN_SCORE` as the operator wrote it.
    pub fn parse(raw: &str) -> Result<Self, String> {
        raw.trim()
            .parse::<u8>()
            .ok()
            .and_then(Self::new)
            .ok_or_else(|| format!("`{raw}` must be a zxcvbn score from 0 to 4"))
    }

    pub fn min_score(&self) -> u8 {
        self.min_score
    }

    /// Checks a new password of the account named by `user` (its name and
    /// email: they, the address's local part and the name's words count as
    /// easy guesses). The refusal says why and what helps. CPU work of up to
    /// ~10 ms: callers run it where the password is hashed next.
    pub fn check(&self, password: &str, user: &[&str]) -> Result<(), Msg> {
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(Msg::key("invalid-password-short").with("min", MIN_PASSWORD_CHARS));
        }
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(Msg::key("invalid-password-long").with("max", MAX_PASSWORD_BYTES));
        }
        if self.min_score == 0 {
            return Ok(());
        }
        let head: String = password.chars().take(ESTIMATED_CHARS).collect();
        let inputs = user_inputs(user);
        let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let estimate = zxcvbn::zxcvbn(&head, &refs);
        if u8::from(estimate.score()) >= self.min_score {
            return Ok(());
        }
        Err(refusal(&estimate, &inputs))
    }

    /// Loads zxcvbn's dictionaries (~15 ms, once per process) so the first
    /// password set after a start does not pay for it.
    pub fn warm_up(&self) {
        if self.min_score > 0 {
            let _ = zxcvbn::zxcvbn("warm up", &[]);
        }
    }
}

/// The words of the account an attacker tries first: the name, its words, the
/// address, its local part and that part's pieces (`ada.lovelace+x`), lowercased.
fn user_inputs(user: &[&str]) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut add = |w: &str| {
        let w = w.trim().to_lowercase();
        if w.chars().count() >= MIN_INPUT_CHARS && !words.contains(&w) {
            words.push(w);
        }
    };
    for field in user {
        add(field);
        let local = field.rsplit_once('@').map_or(*field, |(local, _)| local);
        add(local);
        for piece in local.split(|c: char| c.is_whitespace() || ".-_+".contains(c)) {
            add(piece);
        }
    }
    words
}

/// Why (zxcvbn's warning, or the account's own name or address, or a general
/// lead) followed by what helps (its suggestions, or the general advice).
fn refusal(estimate: &zxcvbn::Entropy, inputs: &[String]) -> Msg {
    let feedback = estimate.feedback();
    let why = feedback
        .and_then(|f| f.warning())
        .map(warning_key)
        .or_else(|| uses_account_words(estimate, inputs).then_some("password-warning-personal"))
        .unwrap_or("password-weak");
    let mut helps: Vec<&'static str> = Vec::new();
    for key in feedback
        .map(|f| f.suggestions())
        .unwrap_or_default()
        .iter()
        .map(|s| suggestion_key(*s))
    {
        if !helps.contains(&key) {
            helps.push(key);
        }
    }
    if helps.is_empty() {
        helps.push("password-suggestion-generic");
    }
    std::iter::once(why)
        .chain(helps)
        .map(Msg::key)
        .rev()
        .reduce(|rest, first| {
            Msg::key("password-feedback-join")
                .nested("first", first)
                .nested("rest", rest)
        })
        .unwrap_or_else(|| Msg::key("password-weak"))
}

/// Whether the estimate leans on one of the account's own words.
fn uses_account_words(estimate: &zxcvbn::Entropy, inputs: &[String]) -> bool {
    estimate.sequence().iter().any(|m| match &m.pattern {
        MatchPattern::Dictionary(d) => inputs.contains(&d.matched_word),
        _ => false,
    })
}

fn warning_key(w: Warning) -> &'static str {
    match w {
        Warning::StraightRowsOfKeysAreEasyToGuess => "password-warning-straight-rows",
        Warning::ShortKeyboardPatternsAreEasyToGuess => "password-warning-keyboard-patterns",
        Warning::RepeatsLikeAaaAreEasyToGuess => "password-warning-repeats",
        Warning::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess => {
            "password-warning-repeated-groups"
        }
        Warning::ThisIsATop10Password => "password-warning-top10",
        Warning::ThisIsATop100Password => "password-warning-top100",
        Warning::ThisIsACommonPassword => "password-warning-common",
        Warning::ThisIsSimilarToACommonlyUsedPassword => "password-warning-similar",
        Warning::SequencesLikeAbcAreEasyToGuess => "password-warning-sequences",
        Warning::RecentYearsAreEasyToGuess => "password-warning-recent-years",
        Warning::AWordByItselfIsEasyToGuess => "password-warning-single-word",
        Warning::DatesAreOftenEasyToGuess => "password-warning-dates",
        Warning::NamesAndSurnamesByThemselvesAreEasyToGuess => "password-warning-names-alone",
        Warning::CommonNamesAndSurnamesAreEasyToGuess => "password-warning-common-names",
    }
}

fn suggestion_key(s: Suggestion) -> &'static str {
    match s {
        Suggestion::UseAFewWordsAvoidCommonPhrases => "password-suggestion-few-words",
        Suggestion::NoNeedForSymbolsDigitsOrUppercaseLetters => "password-suggestion-no-symbols",
        Suggestion::AddAnotherWordOrTwo => "password-suggestion-another-word",
        Suggestion::CapitalizationDoesntHelpVeryMuch => "password-suggestion-capitals",
        Suggestion::AllUppercaseIsAlmostAsEasyToGuessAsAllLowercase => {
            "password-suggestion-all-uppercase"
        }
        Suggestion::ReversedWordsArentMuchHarderToGuess => "password-suggestion-reversed",
        Suggestion::PredictableSubstitutionsDontHelpVeryMuch => "password-suggestion-substitutions",
        Suggestion::UseALongerKeyboardPatternWithMoreTurns => "password-suggestion-keyboard",
        Suggestion::AvoidRepeatedWordsAndCharacters => "password-suggestion-repeats",
        Suggestion::AvoidSequences => "password-suggestion-sequences",
        Suggestion::AvoidRecentYears => "password-suggestion-recent-years",
        Suggestion::AvoidYearsThatAreAssociatedWithYou => "password-suggestion-your-years",
        Suggestion::AvoidDatesAndYearsThatAreAssociatedWithYou => "password-suggestion-your-dates",
    }
}

#[cfg(test)]
mod tests;

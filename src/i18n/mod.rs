//! The one catalogue of what users read: Fluent files in `locales/<lang>/`,
//! embedded in the binary. A [`Lang`] is chosen once per page or mail: the
//! user's `language` preference, else the best of `Accept-Language`, else
//! English; a key a language lacks falls back to English.

mod dates;
mod msg;

use std::borrow::Cow;
use std::collections::HashMap;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader, langid};

pub use msg::{Arg, Msg};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // No Unicode isolation marks around arguments: names and emails are
        // shown in plain text pages and mails, and tests compare them.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// A language the catalogue has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Lang {
    #[default]
    En,
    De,
    Ru,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::En, Lang::De, Lang::Ru];

    /// The BCP 47 tag (`<html lang>` of anonymous pages, the folder under `locales/`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
            Lang::Ru => "ru",
        }
    }

    fn id(self) -> LanguageIdentifier {
        match self {
            Lang::En => langid!("en"),
            Lang::De => langid!("de"),
            Lang::Ru => langid!("ru"),
        }
    }

    /// The language for one tag, by its base language: `de-AT` is `de`;
    /// `None` for a language the catalogue does not have.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let id: LanguageIdentifier = tag.trim().parse().ok()?;
        Lang::ALL
            .into_iter()
            .find(|l| l.id().language == id.language)
    }

    /// The best supported language of an `Accept-Language` value, by
    /// q-value (`q=0` means "not this one"), in header order among equals.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        accept_language::parse_with_quality(header)
            .into_iter()
            .filter(|(_, q)| *q > 0.0)
            .find_map(|(tag, _)| Lang::from_tag(&tag))
    }

    /// The fallback order: the user's preference, then `Accept-Language`,
    /// then English.
    pub fn negotiate(preference: Option<&str>, accept_language: Option<&str>) -> Lang {
        preference
            .and_then(Lang::from_tag)
            .or_else(|| accept_language.and_then(Lang::from_accept_language))
            .unwrap_or_default()
    }

    /// The text of `key`; the key itself if no language has it (the catalogue
    /// test keeps that from happening).
    pub fn get(&self, key: &str) -> String {
        self.lookup(key, None)
    }

    /// The text of `key` with one argument.
    pub fn arg(&self, key: &str, name: &str, value: impl std::fmt::Display) -> String {
        let mut args = HashMap::new();
        args.insert(
            Cow::Owned(name.to_owned()),
            FluentValue::from(value.to_string()),
        );
        self.lookup(key, Some(&args))
    }

    /// The text of `key` with two arguments.
    pub fn arg2(
        &self,
        key: &str,
        n1: &str,
        v1: impl std::fmt::Display,
        n2: &str,
        v2: impl std::fmt::Display,
    ) -> String {
        let mut args = HashMap::new();
        args.insert(Cow::Owned(n1.to_owned()), FluentValue::from(v1.to_string()));
        args.insert(Cow::Owned(n2.to_owned()), FluentValue::from(v2.to_string()));
        self.lookup(key, Some(&args))
    }

    /// The text of `key` with `$count`, a number (plural forms).
    pub fn count(&self, key: &str, count: impl std::borrow::Borrow<i64>) -> String {
        let mut args = HashMap::new();
        args.insert(Cow::Borrowed("count"), FluentValue::from(*count.borrow()));
        self.lookup(key, Some(&args))
    }

    /// A message built elsewhere (errors, notices), in this language.
    pub fn msg(&self, m: impl AsRef<Msg>) -> String {
        match m.as_ref() {
            Msg::Text(t) => t.clone(),
            Msg::Key(key, args) => {
                let args: HashMap<Cow<'static, str>, FluentValue> = args
                    .iter()
                    .map(|(name, a)| {
                        let v = match a {
                            Arg::Text(t) => FluentValue::from(t.clone()),
                            Arg::Number(n) => FluentValue::from(*n),
                            Arg::Msg(m) => FluentValue::from(self.msg(m)),
                            Arg::Time(t) => FluentValue::from(self.time(*t)),
                        };
                        (Cow::Borrowed(*name), v)
                    })
                    .collect();
                self.lookup(key, Some(&args))
            }
        }
    }

    fn lookup(&self, key: &str, args: Option<&HashMap<Cow<'static, str>, FluentValue>>) -> String {
        LOCALES
            .try_lookup_complete(&self.id(), key, args)
            .unwrap_or_else(|| key.to_owned())
    }
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

//! A message to show someone, not yet in a language: a catalogue key with its
//! arguments. Domain code answers these (validation, refusals); the web layer
//! and mails put them in the reader's language, JSON answers in English.

use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub enum Msg {
    /// A catalogue key and its arguments.
    Key(&'static str, Vec<(&'static str, Arg)>),
    /// Text that has no key (details from a parser, a provider's words): shown as it is.
    Text(String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    Text(String),
    /// A number, for plural forms.
    Number(i64),
    /// Another message, put in the same language.
    Msg(Box<Msg>),
    /// A UTC time, written as the language writes times.
    Time(chrono::NaiveDateTime),
}

impl Msg {
    pub fn key(key: &'static str) -> Self {
        Msg::Key(key, Vec::new())
    }

    /// Adds `$name` = `value` (text).
    pub fn with(self, name: &'static str, value: impl fmt::Display) -> Self {
        self.push(name, Arg::Text(value.to_string()))
    }

    /// Adds `$name` = `n` (a number: plural forms).
    pub fn number(self, name: &'static str, n: i64) -> Self {
        self.push(name, Arg::Number(n))
    }

    /// Adds `$name` = another message, in the same language.
    pub fn nested(self, name: &'static str, m: Msg) -> Self {
        self.push(name, Arg::Msg(Box::new(m)))
    }

    /// Adds `$name` = a UTC time, in the reader's locale.
    pub fn time(self, name: &'static str, t: chrono::NaiveDateTime) -> Self {
        self.push(name, Arg::Time(t))
    }

    fn push(self, name: &'static str, arg: Arg) -> Self {
        match self {
            Msg::Key(k, mut args) => {
                args.push((name, arg));
                Msg::Key(k, args)
            }
            text => text,
        }
    }
}

impl AsRef<Msg> for Msg {
    fn as_ref(&self) -> &Msg {
        self
    }
}

impl From<String> for Msg {
    fn from(s: String) -> Self {
        Msg::Text(s)
    }
}

impl From<&str> for Msg {
    fn from(s: &str) -> Self {
        Msg::Text(s.to_owned())
    }
}

/// English (logs, JSON bodies, `Display` of errors).
impl fmt::Display for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&super::Lang::En.msg(self))
    }
}

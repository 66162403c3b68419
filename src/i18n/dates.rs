//! Dates and times in the reader's locale. Times are UTC (the server does not
//! know the reader's zone) and say so; the pattern is the catalogue's
//! `datetime-pattern` (chrono `strftime`), so each language writes its own
//! order (`November 30, 2026` in English, `30.11.2026` in German and Russian).

use chrono::{DateTime, NaiveDateTime};

use super::Lang;

impl Lang {
    /// `t` (UTC) as the locale writes a date and a time.
    pub fn time(&self, t: NaiveDateTime) -> String {
        let pattern = self.get("datetime-pattern");
        let mut out = String::new();
        // A bad pattern in a translation must not break a page: fall back to
        // RFC 3339's shape.
        if std::fmt::Write::write_fmt(&mut out, format_args!("{}", t.format(&pattern))).is_err() {
            return t.format("%Y-%m-%d %H:%M UTC").to_string();
        }
        out
    }

    /// An RFC 3339 time (as views carry it) in the locale; other text is
    /// shown as it is.
    pub fn datetime(&self, rfc3339: impl AsRef<str>) -> String {
        let s = rfc3339.as_ref();
        match DateTime::parse_from_rfc3339(s) {
            Ok(t) => self.time(t.naive_utc()),
            Err(_) => s.to_owned(),
        }
    }
}

//! The one email rule. Every path that takes an address (sign-up, sign-in,
//! OAuth, the configured admin, the setup page, `user add`) calls
//! [`normalize_email`], so two spellings of one address are one account and
//! an address that only looks like another is refused or visibly different.

use std::collections::BTreeMap;

use diesel::prelude::*;

use crate::i18n::Msg;
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};
use unicode_security::MixedScript;

use crate::db::DbConn;
use crate::db::schema::users;

pub const MAX_EMAIL_LEN: usize = 254;

/// The stored form of an address, or why it is refused:
/// - whitespace typed around it is dropped; any other whitespace, control
///   (Cc), format (Cf: zero-width space, soft hyphen, bidi overrides) or
///   unassigned/private-use character anywhere refuses it;
/// - Unicode NFKC, then lower case (fullwidth `ａｄａ` is `ada`);
/// - the domain in its IDNA ASCII form (UTS 46, strict: STD3 letters, digits
///   and hyphens), so a Cyrillic letter there becomes a visible `xn--` label;
///   it needs a dot;
/// - a local part that mixes scripts (Latin `a` beside Cyrillic `а`) is
///   refused (UTS 39 single-script test; Common characters such as digits and
///   `.` go with any script, and Han with Japanese kana is one script).
pub fn normalize_email(raw: &str) -> Result<String, Msg> {
    let typed = raw.trim();
    if typed.is_empty() {
        return Err(Msg::key("invalid-email-empty"));
    }
    if typed.chars().any(is_refused_char) {
        return Err(Msg::key("invalid-email-chars"));
    }
    let folded: String = typed
        .nfkc()
        .collect::<String>()
        .to_lowercase()
        .nfkc()
        .collect();
    // NFKC may make new characters (compatibility forms of spaces): check again.
    if folded.chars().any(is_refused_char) {
        return Err(Msg::key("invalid-email-chars"));
    }
    let invalid = || Msg::key("invalid-email");
    let (local, domain) = folded.rsplit_once('@').ok_or_else(invalid)?;
    if local.is_empty() || local.contains('@') || domain.is_empty() {
        return Err(invalid());
    }
    if !local.is_single_script() {
        return Err(Msg::key("invalid-email-scripts"));
    }
    let domain = idna::domain_to_ascii_strict(domain).map_err(|_| invalid())?;
    if !is_dotted(&domain) {
        return Err(Msg::key("invalid-email-dot"));
    }
    let email = format!("{local}@{domain}");
    if email.len() > MAX_EMAIL_LEN {
        return Err(Msg::key("invalid-email-long").with("max", MAX_EMAIL_LEN));
    }
    Ok(email)
}

/// An ASCII domain with at least two labels and no empty one (`x.org`, not
/// `localhost`, `x..org` or `x.org.`): what an email's domain, and an entry of
/// `GATEHOUSE_EMAIL_DOMAINS`, must be.
pub fn is_dotted(ascii_domain: &str) -> bool {
    ascii_domain.contains('.') && !ascii_domain.split('.').any(str::is_empty)
}

/// Whitespace, control, format, unassigned, private-use and surrogate code
/// points: none of them belong in an address a person reads.
fn is_refused_char(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(
            c.general_category_group(),
            GeneralCategoryGroup::Separator | GeneralCategoryGroup::Other
        )
}

/// Users whose stored addresses are one address under [`normalize_email`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collision {
    /// The address they all normalise to.
    pub normal: String,
    /// The users' ids, ascending.
    pub user_ids: Vec<i64>,
}

/// What the start-up check found in rows stored before the rule (it changes
/// nothing: merging accounts is an operator's decision).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct EmailReport {
    pub collisions: Vec<Collision>,
    /// Rows whose address is not in the stored form (a password sign-in no
    /// longer finds them), and the ids of those the rule refuses outright.
    pub not_normal: Vec<i64>,
    pub refused: Vec<i64>,
}

impl EmailReport {
    pub fn is_clean(&self) -> bool {
        self.collisions.is_empty() && self.not_normal.is_empty() && self.refused.is_empty()
    }

    /// Lines for the log and `gatehouse migrate` (ids only: no addresses in logs).
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for c in &self.collisions {
            let ids: Vec<String> = c.user_ids.iter().map(i64::to_string).collect();
            out.push(format!(
                "email collision: users {} have stored emails that are one address under the email rule; nothing was merged, resolve by hand",
                ids.join(", ")
            ));
        }
        if !self.not_normal.is_empty() {
            out.push(format!(
                "{} user(s) have a stored email not in normal form (ids {:?}); a password sign-in finds them only after the email is fixed",
                self.not_normal.len(),
                self.not_normal
            ));
        }
        if !self.refused.is_empty() {
            out.push(format!(
                "{} user(s) have a stored email the email rule refuses (ids {:?})",
                self.refused.len(),
                self.refused
            ));
        }
        out
    }
}

/// The `settings` row that remembers the rule version under which every stored
/// address was last found clean.
const CHECKED_KEY: &str = "email_rule_checked";
/// Raise it when [`normalize_email`] changes, so the next start checks again.
const RULE_VERSION: &str = "1";

/// [`check_stored_emails`], then remembers a clean result: a start reads every
/// address only until the table has once been found clean under this rule
/// version (addresses are normalised on the way in, so it stays clean), not on
/// every restart of a large database. Findings are not remembered, so every
/// start reports them until they are resolved. `gatehouse migrate` calls this
/// with `always` and so checks every time.
pub fn check_and_remember(conn: &mut DbConn, always: bool) -> QueryResult<EmailReport> {
    if !always && crate::db::get_setting(conn, CHECKED_KEY)?.as_deref() == Some(RULE_VERSION) {
        return Ok(EmailReport::default());
    }
    let report = check_stored_emails(conn)?;
    if report.is_clean() {
        crate::db::put_setting(conn, CHECKED_KEY, RULE_VERSION)?;
    } else {
        crate::db::delete_setting(conn, CHECKED_KEY)?;
    }
    Ok(report)
}

/// Reads every stored address in pages by id and reports, without changing
/// anything, the rows the rule would fold together or refuse. Only rows not in
/// normal form can collide, so only those are kept in memory.
pub fn check_stored_emails(conn: &mut DbConn) -> QueryResult<EmailReport> {
    const PAGE: i64 = 5000;
    let mut report = EmailReport::default();
    let mut odd: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut after = 0i64;
    loop {
        let rows: Vec<(i64, String)> = users::table
            .filter(users::id.gt(after))
            .order(users::id)
            .select((users::id, users::email))
            .limit(PAGE)
            .load(conn)?;
        let Some(last) = rows.last() else { break };
        after = last.0;
        for (id, stored) in rows {
            match normalize_email(&stored) {
                Ok(normal) if normal == stored => {}
                Ok(normal) => {
                    report.not_normal.push(id);
                    odd.entry(normal).or_default().push(id);
                }
                Err(_) => report.refused.push(id),
            }
        }
    }
    // A row in normal form that an odd row folds onto.
    let targets: Vec<String> = odd.keys().cloned().collect();
    for chunk in targets.chunks(500) {
        let owners: Vec<(i64, String)> = users::table
            .filter(users::email.eq_any(chunk))
            .select((users::id, users::email))
            .load(conn)?;
        for (id, email) in owners {
            if let Some(ids) = odd.get_mut(&email) {
                ids.push(id);
            }
        }
    }
    for (normal, mut user_ids) in odd {
        if user_ids.len() > 1 {
            user_ids.sort_unstable();
            report.collisions.push(Collision { normal, user_ids });
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_case_and_whitespace_around_are_forgiven() {
        assert_eq!(
            normalize_email("  Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        assert_eq!(normalize_email("a.b+tag@x.org").unwrap(), "a.b+tag@x.org");
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for bad in [
            "",
            "ada",
            "@x.org",
            "ada@",
            "a b@x.org",
            "a@b@c",
            "a@.x",
            "a@x.",
            "a@x..org",
            "ada@localhost",
            "ada@example",
            "a@-x.org",
            "a@x_y.org",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?}");
        }
        assert!(normalize_email(&format!("{}@x.org", "a".repeat(300))).is_err());
    }

    #[test]
    fn invisible_and_control_characters_are_refused() {
        for bad in [
            "ada\u{200b}@example.com", // zero-width space
            "ad\u{00ad}a@example.com", // soft hyphen
            "ada@exam\u{00ad}ple.com",
            "\u{202e}ada@example.com", // bidi override
            "ada\u{2066}@example.com", // bidi isolate
            "ada\u{feff}@example.com", // BOM / zero-width no-break space
            "ada\u{0}@example.com",
            "ada\u{7}@example.com",
            "a\u{a0}da@example.com",   // no-break space
            "a\u{3000}da@example.com", // ideographic space
            "ada\u{e000}@example.com", // private use
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn fullwidth_and_compatibility_forms_fold() {
        assert_eq!(
            normalize_email("ａｄａ@ｅｘａｍｐｌｅ.ｃｏｍ").unwrap(),
            "ada@example.com"
        );
        assert_eq!(normalize_email("ＡＤＡ@x.org").unwrap(), "ada@x.org");
        // The ligature ﬁ is "fi" under NFKC.
        assert_eq!(normalize_email("ﬁnn@x.org").unwrap(), "finn@x.org");
    }

    #[test]
    fn a_lookalike_domain_becomes_visible_punycode() {
        // Cyrillic а (U+0430) in "exаmple".
        let e = normalize_email("ada@ex\u{430}mple.com").unwrap();
        assert!(e.starts_with("ada@xn--"), "{e}");
        assert_ne!(e, "ada@example.com");
        assert_eq!(
            normalize_email("ada@Bücher.example").unwrap(),
            "ada@xn--bcher-kva.example"
        );
    }

    #[test]
    fn one_script_per_local_part() {
        assert!(
            normalize_email("p\u{430}ypal@x.org").is_err(),
            "Latin + Cyrillic"
        );
        assert_eq!(normalize_email("иван@x.org").unwrap(), "иван@x.org");
        assert_eq!(normalize_email("ζωή.1@x.org").unwrap(), "ζωή.1@x.org");
        assert!(normalize_email("山田たろう@x.jp").is_ok(), "Han with kana");
    }

    #[test]
    fn the_rule_is_idempotent() {
        for e in ["ＡＤＡ@x.org", "ada@Bücher.example", "иван@X.org"] {
            let once = normalize_email(e).unwrap();
            assert_eq!(normalize_email(&once).unwrap(), once);
        }
    }
}

//! `gatehouse secret rotate`: a new secret and the steps to put it in place
//! without signing anyone out.
//!
//! - With `GATEHOUSE_SECRET` set, nothing is changed: the command prints a new
//!   secret (32 bytes from the OS's CSPRNG, base64url, like the generated
//!   one) and the steps: it becomes `GATEHOUSE_SECRET`, the old value goes
//!   first into `GATEHOUSE_SECRET_PREVIOUS`, restart.
//! - With the generated secret in `GATEHOUSE_SECRET_FILE`, the file is
//!   rewritten: the new secret on its first line, the old ones on the lines
//!   after it (they are still accepted); the new secret is not printed. The
//!   server takes it at its next start.
//!
//! Either way the earlier secrets can go once `SESSION_MAX_AGE` has passed
//! (no cookie or CSRF token of theirs is left); what the output says.

use std::fmt::Write;

use crate::auth::bootstrap::secret_file;
use crate::config::Config;
use crate::session::PlainToken;

/// What the command did, as printed on standard output.
pub fn rotate(config: &Config) -> Result<String, String> {
    let new = PlainToken::generate().expose();
    let max_age = humantime(config.session_max_age);
    let mut out = String::new();
    if config.secret.is_some() {
        let _ = writeln!(
            out,
            "A new secret (GATEHOUSE_SECRET is set; nothing was changed):"
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "  {new}");
        let _ = writeln!(out);
        let _ = writeln!(out, "To rotate without signing anyone out:");
        let _ = writeln!(
            out,
            "  1. Set GATEHOUSE_SECRET_PREVIOUS to the current GATEHOUSE_SECRET (in front of any earlier ones, comma-separated)."
        );
        let _ = writeln!(out, "  2. Set GATEHOUSE_SECRET to the new secret above.");
        let _ = writeln!(
            out,
            "  3. Restart every instance (all must have the same two values)."
        );
        let _ = writeln!(
            out,
            "  Several instances restarted one at a time: first add the new secret to GATEHOUSE_SECRET_PREVIOUS alone and restart them all, then do steps 1 to 3 (an instance still on the old secret must already accept cookies signed under the new one)."
        );
        let _ = writeln!(
            out,
            "  4. After SESSION_MAX_AGE ({max_age}), remove the old secret from GATEHOUSE_SECRET_PREVIOUS and restart."
        );
    } else {
        let path = &config.secret_file;
        let earlier = secret_file::rotate(path, &new)?;
        let shown = path.display();
        let _ = writeln!(
            out,
            "Rotated the generated secret in {shown} (GATEHOUSE_SECRET_FILE): the new secret is on its first line, {earlier} earlier one(s) on the lines after it, still accepted."
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "Next:");
        let _ = writeln!(
            out,
            "  1. Restart gatehouse: new cookies, tokens and seals use the new secret; old ones keep working."
        );
        let _ = writeln!(
            out,
            "  2. After SESSION_MAX_AGE ({max_age}), delete every line after the first of {shown} and restart."
        );
    }
    let _ = writeln!(
        out,
        "Recovery codes made before the rotation work only while their secret is still listed; provider tokens and TOTP secrets are sealed again under the new secret when next used."
    );
    Ok(out)
}

/// `30d`, `12h`, `15m` or `90s`, as the variables take it.
fn humantime(d: std::time::Duration) -> String {
    let s = d.as_secs();
    for (unit, n) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if s.is_multiple_of(n) {
            return format!("{}{unit}", s / n);
        }
    }
    format!("{s}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_the_variables_take_them() {
        use std::time::Duration;
        assert_eq!(humantime(Duration::from_secs(30 * 86_400)), "30d");
        assert_eq!(humantime(Duration::from_secs(7_200)), "2h");
        assert_eq!(humantime(Duration::from_secs(90)), "90s");
    }
}

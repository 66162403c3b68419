//! Where gatehouse's routes live inside the site: the root (`/`, the server
//! binary's default) or a prefix an embedding app chooses (`/auth`). Every URL
//! gatehouse makes is `join`ed onto it; the session cookie keeps `Path=/`.

use std::fmt;

/// A plain absolute path without a trailing slash; empty for the site root.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MountPath(String);

impl MountPath {
    /// `/` or the empty string is the root; `/auth`, `/auth/` and `/a/b` are
    /// prefixes (kept without the trailing slash). Anything that is not a
    /// plain absolute path is refused: `..`, `.`, `//`, `?`, `#`, `%`,
    /// whitespace, control characters, a scheme or a host.
    pub fn parse(raw: &str) -> Result<MountPath, String> {
        if raw.is_empty() || raw == "/" {
            return Ok(MountPath::default());
        }
        if !raw.starts_with('/') {
            return Err(format!(
                "`{}` must be an absolute path such as /auth",
                raw.escape_debug()
            ));
        }
        let trimmed = raw.strip_suffix('/').unwrap_or(raw);
        for segment in trimmed[1..].split('/') {
            if segment.is_empty() {
                return Err("must not contain an empty segment (`//`)".into());
            }
            if segment == "." || segment == ".." {
                return Err("must not contain `.` or `..` segments".into());
            }
            if let Some(c) = segment.chars().find(|c| !allowed(*c)) {
                return Err(format!(
                    "must not contain `{}` (letters, digits, `-`, `_`, `.`, `~` and `/` only)",
                    c.escape_debug()
                ));
            }
        }
        Ok(MountPath(trimmed.to_owned()))
    }

    /// The prefix as it goes before a path: `""` for the root, else `/auth`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// `path` (which starts with `/`) under the prefix: `/auth` + `/signin`.
    /// A `path` without its leading slash gets one.
    pub fn join(&self, path: &str) -> String {
        if path.starts_with('/') {
            format!("{}{path}", self.0)
        } else {
            format!("{}/{path}", self.0)
        }
    }
}

/// Unreserved URL characters (RFC 3986), ASCII only: nothing that a browser,
/// a proxy or actix's router would read differently.
fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~')
}

impl fmt::Display for MountPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_root() { "/" } else { &self.0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> String {
        MountPath::parse(raw)
            .unwrap_or_else(|e| panic!("{raw}: {e}"))
            .as_str()
            .to_owned()
    }

    #[test]
    fn the_root_has_an_empty_prefix() {
        for raw in ["", "/"] {
            let m = MountPath::parse(raw).unwrap();
            assert!(m.is_root());
            assert_eq!(m, MountPath::default());
            assert_eq!(m.as_str(), "");
            assert_eq!(m.join("/signin"), "/signin");
            assert_eq!(m.join("/"), "/");
            assert_eq!(m.to_string(), "/");
        }
    }

    #[test]
    fn a_prefix_is_kept_without_its_trailing_slash() {
        assert_eq!(ok("/auth"), "/auth");
        assert_eq!(ok("/auth/"), "/auth");
        assert_eq!(ok("/a/b"), "/a/b");
        assert_eq!(ok("/v1.2/~me_x-y"), "/v1.2/~me_x-y");
        let m = MountPath::parse("/auth/").unwrap();
        assert!(!m.is_root());
        assert_eq!(m.join("/signin"), "/auth/signin");
        assert_eq!(m.join("signin"), "/auth/signin");
        assert_eq!(m.join("/"), "/auth/");
        assert_eq!(
            m.join("/api/auth/callback/github"),
            "/auth/api/auth/callback/github"
        );
        assert_eq!(m.to_string(), "/auth");
    }

    #[test]
    fn anything_but_a_plain_absolute_path_is_refused() {
        for raw in [
            "auth",
            "//auth",
            "/auth//x",
            "/a/../b",
            "/..",
            "/./a",
            "/auth?x=1",
            "/auth#x",
            "/a%2fb",
            "/a b",
            "/a\tb",
            "/a\nb",
            "/a\u{0}",
            "/a\\b",
            "http://example.com/auth",
            "https:/auth",
            "//example.com",
            "/ä",
            "/a:b",
            "/a;b",
            "/a@b",
            " /auth",
            "/auth ",
            "//",
        ] {
            assert!(MountPath::parse(raw).is_err(), "{raw:?} was accepted");
        }
    }
}

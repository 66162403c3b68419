//! Same-origin redirects only: a `callbackUrl` becomes a local path or is ignored.

use actix_web::HttpRequest;
use url::Url;

/// The path (with query) to return to after sign-in, or `/` when `raw` is not a
/// path on this site. Absolute URLs on the public origin are reduced to their path.
pub fn sanitize(raw: Option<&str>, public_url: &Url) -> String {
    let Some(raw) = raw
        .map(str::trim)
        .filter(|r| !r.is_empty() && r.len() <= 2048)
    else {
        return "/".into();
    };
    if raw.chars().any(|c| c.is_control() || c == '\\') {
        return "/".into();
    }
    let Ok(resolved) = public_url.join(raw) else {
        return "/".into();
    };
    if resolved.origin() != public_url.origin() {
        return "/".into();
    }
    // Protocol-relative (`//evil`) resolves to another origin above; a same-origin
    // absolute URL is kept as its path.
    let mut out = resolved.path().to_owned();
    if let Some(q) = resolved.query() {
        out.push('?');
        out.push_str(q);
    }
    if !out.starts_with('/') || out.starts_with("//") {
        return "/".into();
    }
    out
}

/// This request's path and query, to come back to after signing in. A form post
/// cannot be replayed by a redirect, so it returns to the home page instead.
pub fn here(req: &HttpRequest) -> String {
    if req.method() != actix_web::http::Method::GET {
        return "/".into();
    }
    req.uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_else(|| "/".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_same_origin_paths_survive() {
        let base = Url::parse("http://127.0.0.1:8080/").unwrap();
        let ok = |r: &str| sanitize(Some(r), &base);
        assert_eq!(ok("/settings"), "/settings");
        assert_eq!(ok("/a?b=c"), "/a?b=c");
        assert_eq!(ok("http://127.0.0.1:8080/x"), "/x");
        for evil in [
            "https://evil.example",
            "//evil.example/x",
            "/\\evil.example",
            "\\\\evil.example",
            "javascript:alert(1)",
            "http://127.0.0.1:9999/x",
            "https:evil.example",
            "/\t/evil.example",
        ] {
            assert_eq!(ok(evil), "/", "{evil}");
        }
        assert_eq!(sanitize(None, &base), "/");
    }
}

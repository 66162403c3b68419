//! The links of gatehouse's pages when it is mounted under `/auth`: every
//! `href`, `action`, `src` and `data-api` is under the prefix (or the site's
//! home, or another site), and a crawl follows them.

use std::collections::{BTreeSet, VecDeque};

use super::{Browser, Page, unescape};

/// Every value of `attr="…"` in `html`, unescaped.
pub fn attribute_values(html: &str, attr: &str) -> Vec<String> {
    let needle = format!(" {attr}=\"");
    html.match_indices(&needle)
        .filter_map(|(at, _)| {
            let start = at + needle.len();
            let end = html[start..].find('"')?;
            Some(unescape(&html[start..start + end]))
        })
        .collect()
}

/// The URLs a page links to, loads or posts to, with the attribute's name.
pub fn urls_of(page: &Page) -> Vec<(&'static str, String)> {
    ["href", "action", "src", "data-api"]
        .into_iter()
        .flat_map(|attr| {
            attribute_values(&page.body, attr)
                .into_iter()
                .map(move |v| (attr, v))
        })
        .collect()
}

/// Under the prefix, the site's home, or another site.
pub fn assert_links_under_the_prefix(path: &str, page: &Page) {
    for (attr, url) in urls_of(page) {
        let ok = url.starts_with("/auth/")
            || url == "/"
            || url.starts_with("https://")
            || url.starts_with("http://");
        assert!(ok, "{path}: {attr}=\"{url}\" is not under /auth/");
    }
    if page.body.contains("<html") {
        assert!(
            page.body.contains("data-base=\"/auth\"") || !page.body.contains("data-base"),
            "{path}: the scripts' base is not /auth"
        );
    }
}

/// Visits `start` and every page it links to (GET only, under the prefix,
/// at most `limit` pages), checking each page's links; answers the paths seen.
pub fn crawl(b: &Browser, start: &[&str], limit: usize) -> BTreeSet<String> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut queue: VecDeque<String> = start.iter().map(|s| s.to_string()).collect();
    while let Some(path) = queue.pop_front() {
        if seen.len() >= limit || !seen.insert(path.clone()) {
            continue;
        }
        let page = b.get(&path);
        assert!(page.status < 500, "{path}: {} {}", page.status, page.body);
        if let Some(to) = page.location() {
            assert!(
                to.starts_with("/auth/") || to == "/",
                "{path} redirects to {to}"
            );
        }
        assert_links_under_the_prefix(&path, &page);
        for (attr, url) in urls_of(&page) {
            if attr == "href" && url.starts_with("/auth/") && !url.starts_with("/auth/static/") {
                queue.push_back(url);
            }
        }
    }
    seen
}

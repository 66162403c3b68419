//! axe-core in the page: [`Chromium::assert_accessible`] injects
//! `axe.min.js` (from `AXE_CORE_JS`) through WebDriver and fails on any
//! `serious` or `critical` violation that is not a known one.

use serde_json::Value;

use super::Chromium;
use super::launch::{missing, target_dir};

/// The environment variable naming axe-core's `axe.min.js`.
pub const AXE_ENV: &str = "AXE_CORE_JS";

/// Serious axe-core violations in today's templates, which the browser tests
/// let pass (and print) until the templates are fixed. Anything else serious
/// or critical fails the story.
pub const KNOWN_VIOLATIONS: &[Known] = &[
    Known {
        rule: "color-contrast",
        target: "#forgot-link",
        theme: None,
        why: "the sign-in form's \"Forgot your password?\" link: accent colour at .hint's opacity .8",
    },
    Known {
        rule: "color-contrast",
        target: "button",
        theme: Some("dark"),
        why: "dark theme: white button text on the light accent #7aa2ff",
    },
];

/// A serious axe-core violation the stories let pass (see
/// [`KNOWN_VIOLATIONS`]).
pub struct Known {
    pub rule: &'static str,
    /// A piece of the element's selector as axe-core reports it.
    pub target: &'static str,
    /// Only in this `data-theme`, or in any.
    pub theme: Option<&'static str>,
    pub why: &'static str,
}

/// axe-core's source: `AXE_CORE_JS`, else where `.ci/run` installs it
/// (`target/axe-core/node_modules/axe-core/axe.min.js`). `None` (skip, or
/// fail under `CI=true`) when neither is there.
fn axe_source() -> Option<&'static str> {
    static AXE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    AXE.get_or_init(|| {
        let path = match std::env::var(AXE_ENV) {
            Ok(p) if !p.is_empty() => std::path::PathBuf::from(p),
            _ => target_dir().join("axe-core/node_modules/axe-core/axe.min.js"),
        };
        std::fs::read_to_string(&path).ok()
    })
    .as_deref()
}

impl Chromium {
    /// Runs axe-core on the current page and fails on any `serious` or
    /// `critical` violation that is not in [`KNOWN_VIOLATIONS`] (those are
    /// printed). Skips (or fails under `CI=true`) without axe-core.
    pub fn assert_accessible(&self) {
        let Some(axe) = axe_source() else {
            missing(&format!(
                "axe-core not found (set {AXE_ENV} to axe.min.js, or run .ci/run once): accessibility not checked"
            ));
            return;
        };
        let page = self.path();
        let theme = self.execute(
            "return document.documentElement.dataset.theme || '';",
            vec![],
        );
        let theme = theme.as_str().unwrap_or("");
        let mut unexpected = Vec::new();
        for v in self.axe_violations(axe) {
            if !matches!(v["impact"].as_str(), Some("serious" | "critical")) {
                continue;
            }
            let id = v["id"].as_str().unwrap_or("?");
            for node in v["nodes"].as_array().into_iter().flatten() {
                let target = node["target"].to_string();
                let known = KNOWN_VIOLATIONS.iter().find(|k| {
                    k.rule == id && target.contains(k.target) && k.theme.is_none_or(|t| t == theme)
                });
                let line = format!(
                    "{id} ({}) on {page} at {target}: {}",
                    v["impact"].as_str().unwrap_or("?"),
                    v["help"].as_str().unwrap_or("")
                );
                match known {
                    Some(k) => eprintln!("axe-core, known: {line} ({})", k.why),
                    None => unexpected.push(line),
                }
            }
        }
        assert!(
            unexpected.is_empty(),
            "axe-core: serious or critical violations:\n  {}",
            unexpected.join("\n  ")
        );
    }

    /// axe-core's violations on this page (all impacts).
    fn axe_violations(&self, axe: &str) -> Vec<Value> {
        // WebDriver scripts run even when the page's own are off, and are not
        // subject to its Content-Security-Policy.
        // With the page's scripts off, timers never fire: axe-core's queue
        // runs on microtasks instead (this script's own, not the page's).
        let shim = if self.javascript {
            ""
        } else {
            "window.setTimeout = (f, _ms, ...a) => { Promise.resolve().then(() => f(...a)); return 0; };\n"
        };
        let script = format!(
            "{shim}{axe}\n;const done = arguments[arguments.length - 1];\
             axe.run(document, {{ resultTypes: ['violations'] }})\
               .then(r => done(JSON.stringify(r.violations)))\
               .catch(e => done(JSON.stringify({{ error: String(e) }})));"
        );
        let out = self
            .rt
            .block_on(self.client().execute_async(&script, vec![]))
            .unwrap_or_else(|e| panic!("axe-core did not run on {}: {e}", self.path()));
        let text = out.as_str().expect("axe answers JSON text");
        let parsed: Value = serde_json::from_str(text).expect("axe JSON");
        if let Some(err) = parsed.get("error") {
            panic!("axe-core failed on {}: {err}", self.path());
        }
        parsed.as_array().cloned().unwrap_or_default()
    }
}

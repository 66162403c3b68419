//! A real browser for the browser stories: Debian's headless `chromium`
//! driven through `chromedriver` (WebDriver, with `fantoccini`).
//!
//! Each [`Chromium`] starts its own `chromedriver` on a free loopback port and
//! a Chromium with a fresh temporary profile, so tests running in parallel
//! share nothing. The blocking methods below wrap the async client in a
//! one-thread runtime, as the stories are plain `#[test]`s.
//!
//! When the story panics, the guard saves a screenshot and the page source
//! under `target/browser-failures/<test name>.png` / `.html` before the
//! browser closes.
//!
//! A missing `chromedriver` or `chromium` skips the story locally ("skipped:")
//! and fails it when `CI=true`, as a missing PostgreSQL does. The same holds
//! for axe-core (`AXE_CORE_JS`), which [`Chromium::assert_accessible`] runs.

#![allow(dead_code)]

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// The environment variable naming axe-core's `axe.min.js`.
pub const AXE_ENV: &str = "AXE_CORE_JS";

/// The window every story uses, so screenshots and layouts are comparable.
pub const WINDOW: (u32, u32) = (1280, 900);

/// Serious axe-core violations in today's templates, which the browser tests
/// let pass (and print) until the templates are fixed: `(rule id, a piece of
/// the element's selector, what is wrong)`. Anything else serious or critical
/// fails the story.
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

/// How long a story waits for a page or an element before it fails.
const PATIENCE: Duration = Duration::from_secs(10);

fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// Skips (locally) or fails (under `CI=true`) because `what` is missing.
fn missing(what: &str) {
    if in_ci() {
        panic!("{what}: the browser tests may not be skipped when CI=true");
    }
    eprintln!("skipped: {what}");
}

/// The first of `names` found on `PATH` (or given whole as a path).
fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in names {
        let given = Path::new(name);
        if given.is_absolute() {
            if given.is_file() {
                return Some(given.to_owned());
            }
            continue;
        }
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// `chromedriver` and the Chromium binary, from `CHROMEDRIVER` and `CHROMIUM`
/// or from `PATH`.
fn programs() -> Option<(PathBuf, PathBuf)> {
    let driver = match std::env::var("CHROMEDRIVER") {
        Ok(p) if !p.is_empty() => find_program(&[&p]),
        _ => find_program(&["chromedriver"]),
    };
    let browser = match std::env::var("CHROMIUM") {
        Ok(p) if !p.is_empty() => find_program(&[&p]),
        _ => find_program(&["chromium", "chromium-browser", "google-chrome"]),
    };
    match (driver, browser) {
        (Some(d), Some(b)) => Some((d, b)),
        (None, _) => {
            missing("no chromedriver found (apt-get install chromium-driver, or set CHROMEDRIVER)");
            None
        }
        (_, None) => {
            missing("no chromium found (apt-get install chromium, or set CHROMIUM)");
            None
        }
    }
}

/// The directory for failure screenshots and page sources.
pub fn failures_dir() -> PathBuf {
    target_dir().join("browser-failures")
}

/// Cargo's target directory (`CARGO_TARGET_DIR`, else `target/`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
    }
}

/// axe-core's source: `AXE_CORE_JS`, else where `.ci/run` installs it
/// (`target/axe-core/node_modules/axe-core/axe.min.js`). `None` (skip, or
/// fail under `CI=true`) when neither is there.
fn axe_source() -> Option<&'static str> {
    static AXE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    AXE.get_or_init(|| {
        let path = match std::env::var(AXE_ENV) {
            Ok(p) if !p.is_empty() => PathBuf::from(p),
            _ => target_dir().join("axe-core/node_modules/axe-core/axe.min.js"),
        };
        std::fs::read_to_string(&path).ok()
    })
    .as_deref()
}

/// The current test's name, from its thread (`sqlite::sign_in` becomes
/// `sqlite-sign_in`).
fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("browser")
        .replace("::", "-")
        .replace(
            |c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_',
            "_",
        )
}

/// How a [`Chromium`] is started.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// JavaScript on (the default) or off for every page.
    pub javascript: bool,
    pub window: (u32, u32),
}

impl Default for Options {
    fn default() -> Self {
        Options {
            javascript: true,
            window: WINDOW,
        }
    }
}

/// A headless Chromium on a fresh profile, on pages of the app at `base`.
pub struct Chromium {
    rt: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Child,
    driver_url: String,
    base: String,
    name: String,
    javascript: bool,
    _profile: tempfile::TempDir,
}

impl Chromium {
    /// A browser with JavaScript on, or `None` when the story is skipped.
    pub fn launch(base: &str) -> Option<Self> {
        Self::launch_with(base, Options::default())
    }

    /// A browser with JavaScript off (Chromium's `scriptEnabled` setting).
    pub fn launch_without_javascript(base: &str) -> Option<Self> {
        Self::launch_with(
            base,
            Options {
                javascript: false,
                ..Options::default()
            },
        )
    }

    pub fn launch_with(base: &str, options: Options) -> Option<Self> {
        let (driver_bin, browser_bin) = programs()?;
        let profile = tempfile::tempdir().expect("temp profile dir");
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
            l.local_addr().unwrap().port()
        };
        let log = std::fs::File::create(profile.path().join("chromedriver.log"))
            .expect("chromedriver log");
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .arg(format!(
                "--log-path={}",
                profile.path().join("chromedriver.log").display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            // Its own process group, so the browser it starts goes with it.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", driver_bin.display()));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--no-first-run".to_owned(),
            "--no-default-browser-check".to_owned(),
            "--disable-extensions".to_owned(),
            "--disable-background-networking".to_owned(),
            "--hide-scrollbars".to_owned(),
            "--force-color-profile=srgb".to_owned(),
            "--lang=en-US".to_owned(),
            format!("--window-size={},{}", options.window.0, options.window.1),
            format!(
                "--user-data-dir={}",
                profile.path().join("chrome").display()
            ),
        ];
        if !options.javascript {
            args.push("--blink-settings=scriptEnabled=false".to_owned());
        }
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": browser_bin.display().to_string(),
                "args": args,
                "prefs": { "intl.accept_languages": "en-US,en" },
            }),
        );
        // The console (CSP reports, script errors) for failure dumps.
        caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = loop {
            let attempt = rt.block_on(
                ClientBuilder::new(HttpConnector::new())
                    .capabilities(caps.clone())
                    .connect(&url),
            );
            match attempt {
                Ok(c) => break c,
                Err(e) if started.elapsed() < Duration::from_secs(20) => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => {
                    let log = std::fs::read_to_string(profile.path().join("chromedriver.log"))
                        .unwrap_or_default();
                    panic!(
                        "no WebDriver session from {}: {e}\n{log}",
                        driver_bin.display()
                    );
                }
            }
        };
        Some(Chromium {
            rt,
            client: Some(client),
            driver,
            driver_url: url,
            base: base.trim_end_matches('/').to_owned(),
            name: test_name(),
            javascript: options.javascript,
            _profile: profile,
        })
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("browser open")
    }

    /// The absolute URL of `path` on the app (absolute URLs pass through).
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") || path.starts_with("data:")
        {
            path.to_owned()
        } else {
            format!("{}{}", self.base, path)
        }
    }

    /// Opens `path` and waits for it to load.
    pub fn goto(&self, path: &str) {
        let url = self.url(path);
        self.rt
            .block_on(self.client().goto(&url))
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// The current URL's path and query, when it is on the app.
    pub fn path(&self) -> String {
        let url = self
            .rt
            .block_on(self.client().current_url())
            .expect("current URL");
        let full = url.to_string();
        match full.strip_prefix(&self.base) {
            Some("") => "/".to_owned(),
            Some(rest) => rest.to_owned(),
            None => full,
        }
    }

    /// Waits until the path (without the query) is `path`.
    pub fn wait_for_path(&self, path: &str) {
        let started = Instant::now();
        loop {
            let now = self.path();
            if now.split('?').next() == Some(path) {
                return;
            }
            if started.elapsed() > PATIENCE {
                panic!("expected to land on {path}, still on {now}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the text of `css` is `text` (the page changing by itself,
    /// without a reload).
    pub fn wait_for_text(&self, css: &str, text: &str) {
        let started = Instant::now();
        loop {
            let now = self
                .rt
                .block_on(async {
                    let e = self.client().find(Locator::Css(css)).await?;
                    e.text().await
                })
                .unwrap_or_default();
            if now == text {
                return;
            }
            if started.elapsed() > PATIENCE {
                panic!("{css} on {} still reads {now:?}, not {text:?}", self.path());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the attribute `name` of `css` is `value`.
    pub fn wait_for_attr(&self, css: &str, name: &str, value: &str) {
        let started = Instant::now();
        loop {
            let now = self
                .rt
                .block_on(async {
                    let e = self.client().find(Locator::Css(css)).await?;
                    e.attr(name).await
                })
                .ok()
                .flatten();
            if now.as_deref() == Some(value) {
                return;
            }
            if started.elapsed() > PATIENCE {
                panic!("{css}[{name}] on {} is {now:?}, not {value:?}", self.path());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The element `css`, waiting for it to appear.
    pub fn find(&self, css: &str) -> Element {
        let started = Instant::now();
        loop {
            match self.rt.block_on(self.client().find(Locator::Css(css))) {
                Ok(e) => return e,
                Err(e) if started.elapsed() > PATIENCE => {
                    panic!("no element {css} on {}: {e}", self.path())
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Whether `css` matches an element now (no waiting).
    pub fn has(&self, css: &str) -> bool {
        !self
            .rt
            .block_on(self.client().find_all(Locator::Css(css)))
            .unwrap_or_default()
            .is_empty()
    }

    /// Every element `css` matches now.
    pub fn find_all(&self, css: &str) -> Vec<Element> {
        self.rt
            .block_on(self.client().find_all(Locator::Css(css)))
            .unwrap_or_default()
    }

    /// The rendered text of `css`.
    pub fn text(&self, css: &str) -> String {
        let e = self.find(css);
        self.rt.block_on(e.text()).expect("element text")
    }

    /// An attribute of `css`.
    pub fn attr(&self, css: &str, name: &str) -> Option<String> {
        let e = self.find(css);
        self.rt.block_on(e.attr(name)).expect("attribute")
    }

    /// The current value of the field `css` (what the user typed, or what
    /// the page filled in).
    pub fn value(&self, css: &str) -> String {
        let e = self.find(css);
        let v = self.rt.block_on(e.prop("value")).expect("value property");
        v.unwrap_or_default()
    }

    /// A computed CSS property of an element.
    pub fn css_value(&self, e: &Element, property: &str) -> String {
        self.rt.block_on(e.css_value(property)).expect("css value")
    }

    /// Clears the field `css` and types `text` into it, key by key.
    pub fn fill(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.rt.block_on(e.clear()).expect("clear field");
        self.rt.block_on(e.send_keys(text)).expect("type");
    }

    /// Picks the option of the `<select>` `css` whose value (or, for an
    /// option without one, whose text) is `value`.
    pub fn select(&self, css: &str, value: &str) {
        let e = self.find(css);
        if self.rt.block_on(e.select_by_value(value)).is_ok() {
            return;
        }
        self.rt
            .block_on(e.select_by_label(value))
            .unwrap_or_else(|err| panic!("select {value} in {css}: {err}"));
    }

    /// Clicks `css` (a link or a submit button: the next call waits for the
    /// page it loads).
    pub fn click(&self, css: &str) {
        let e = self.find(css);
        self.rt
            .block_on(e.click())
            .unwrap_or_else(|err| panic!("click {css}: {err}"));
    }

    /// Types `keys` into the focused element (`\u{E004}` is Tab, `\u{E007}`
    /// Enter).
    pub fn press(&self, keys: &str) {
        let e = self.focused();
        self.rt.block_on(e.send_keys(keys)).expect("send keys");
    }

    /// The focused element.
    pub fn focused(&self) -> Element {
        self.rt
            .block_on(self.client().active_element())
            .expect("active element")
    }

    /// The focused element's tag and rendered text.
    pub fn focused_tag_and_text(&self) -> (String, String) {
        let e = self.focused();
        let tag = self.rt.block_on(e.tag_name()).expect("tag name");
        let text = self.rt.block_on(e.text()).expect("element text");
        (tag.to_lowercase(), text)
    }

    /// The document's title.
    pub fn title(&self) -> String {
        self.rt.block_on(self.client().title()).expect("title")
    }

    /// An element's attribute.
    pub fn element_attr(&self, e: &Element, name: &str) -> Option<String> {
        self.rt.block_on(e.attr(name)).expect("attribute")
    }

    /// The page source as the browser holds it now.
    pub fn source(&self) -> String {
        self.rt.block_on(self.client().source()).expect("source")
    }

    /// A PNG of the viewport.
    pub fn screenshot(&self) -> Vec<u8> {
        self.rt
            .block_on(self.client().screenshot())
            .expect("screenshot")
    }

    /// Resizes the window so that the page's viewport is `width` x `height`
    /// CSS pixels (the window may be larger by its frame).
    pub fn resize_viewport(&self, width: u32, height: u32) {
        let (mut w, mut h) = (width, height);
        for _ in 0..3 {
            self.rt
                .block_on(self.client().set_window_size(w, h))
                .expect("resize");
            let inner = self.execute("return [window.innerWidth, window.innerHeight];", vec![]);
            let iw = inner[0].as_u64().unwrap_or(0) as u32;
            let ih = inner[1].as_u64().unwrap_or(0) as u32;
            if (iw, ih) == (width, height) {
                return;
            }
            w = (w + width).saturating_sub(iw);
            h = (h + height).saturating_sub(ih);
        }
    }

    /// Runs `script` in the page and answers what it returns.
    pub fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.rt
            .block_on(self.client().execute(script, args))
            .unwrap_or_else(|e| panic!("script failed on {}: {e}", self.path()))
    }

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

    /// Whether this browser runs the pages' JavaScript.
    pub fn javascript(&self) -> bool {
        self.javascript
    }

    /// Opens a new tab and switches to it; answers the old and the new handle.
    pub fn new_tab(&self) -> (fantoccini::wd::WindowHandle, fantoccini::wd::WindowHandle) {
        let old = self.rt.block_on(self.client().window()).expect("window");
        let new = self
            .rt
            .block_on(self.client().new_window(true))
            .expect("new tab");
        let handle = new.handle;
        self.rt
            .block_on(self.client().switch_to_window(handle.clone()))
            .expect("switch tab");
        (old, handle)
    }

    /// Switches to the tab `handle`.
    pub fn switch_to(&self, handle: &fantoccini::wd::WindowHandle) {
        self.rt
            .block_on(self.client().switch_to_window(handle.clone()))
            .expect("switch tab");
    }

    /// What the page wrote to the console since the last call (CSP
    /// violations, script errors), one line per entry; chromedriver's
    /// `se/log` endpoint.
    pub fn console(&self) -> Vec<String> {
        let Ok(Some(id)) = self.rt.block_on(self.client().session_id()) else {
            return Vec::new();
        };
        let url = format!("{}/session/{id}/se/log", self.driver_url);
        let answer = reqwest::blocking::Client::new()
            .post(url)
            .json(&json!({ "type": "browser" }))
            .send()
            .and_then(|r| r.json::<Value>());
        let Ok(answer) = answer else {
            return Vec::new();
        };
        answer["value"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                format!(
                    "{} {}",
                    e["level"].as_str().unwrap_or(""),
                    e["message"].as_str().unwrap_or("")
                )
            })
            .collect()
    }

    /// Saves a screenshot and the page source as `<name>.png` / `.html` in
    /// `dir`.
    fn dump(&self, dir: &Path, name: &str) {
        let _ = std::fs::create_dir_all(dir);
        if let Ok(png) = self.rt.block_on(self.client().screenshot()) {
            let _ = std::fs::write(dir.join(format!("{name}.png")), png);
        }
        if let Ok(html) = self.rt.block_on(self.client().source()) {
            let _ = std::fs::write(dir.join(format!("{name}.html")), html);
        }
        let console = self.console();
        if !console.is_empty() {
            let _ = std::fs::write(dir.join(format!("{name}.console.txt")), console.join("\n"));
        }
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        if std::thread::panicking() && self.client.is_some() {
            let dir = failures_dir();
            self.dump(&dir, &self.name);
            eprintln!(
                "browser: screenshot, page source and console of the failure in {}/{}.png, .html, .console.txt",
                dir.display(),
                self.name
            );
        }
        if let Some(client) = self.client.take() {
            // Ends the session, which quits Chromium; bounded, as a hung
            // browser must not hang the test run.
            let _ = self.rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(5), client.close()).await
            });
        }
        // Then chromedriver and whatever of the browser is left: the process
        // group chromedriver leads (only processes this test started).
        let pgid = self.driver.id() as libc::pid_t;
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = self.driver.wait();
    }
}

//! A real browser for the browser stories: Debian's headless `chromium`
//! driven through `chromedriver` (WebDriver, with `fantoccini`).
//!
//! Each [`Chromium`] starts its own `chromedriver` on a free loopback port and
//! a Chromium with a fresh temporary profile, so tests running in parallel
//! share nothing. The blocking methods below wrap the async client in a
//! one-thread runtime, as the stories are plain `#[test]`s.
//!
//! When the story panics, the guard saves a screenshot, the page source and
//! the browser console under `target/browser-failures/<test name>.png`,
//! `.html`, `.console.txt` before the browser closes.
//!
//! A missing `chromedriver` or `chromium` skips the story locally ("skipped:")
//! and fails it when `CI=true`, as a missing PostgreSQL does. The same holds
//! for axe-core (`AXE_CORE_JS`), which [`Chromium::assert_accessible`]
//! (`webdriver_axe.rs`) runs.

#![allow(dead_code)]

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, Locator};
use serde_json::{Value, json};

#[path = "webdriver_axe.rs"]
pub mod axe;
#[path = "webdriver_launch.rs"]
pub mod launch;
pub use launch::failures_dir;

/// The window every story uses, so screenshots and layouts are comparable.
pub const WINDOW: (u32, u32) = (1280, 900);

/// How long a story waits for a page or an element before it fails.
const PATIENCE: Duration = Duration::from_secs(10);

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

    /// Waits until the focused element matches `css`. Browsers move the focus
    /// to an `autofocus` field at their next rendering step, which may come
    /// after the navigation has answered; a test that reads the focus at once
    /// can see `<body>`.
    pub fn wait_for_focus(&self, css: &str) {
        let started = Instant::now();
        loop {
            let script =
                "return !!document.activeElement && document.activeElement.matches(arguments[0]);";
            if self.execute(script, vec![Value::from(css)]) == Value::Bool(true) {
                return;
            }
            if started.elapsed() > PATIENCE {
                panic!("the focus on {} never reached {css}", self.path());
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

    /// Clicks `css`, a link or a submit button, and waits until the page it
    /// leads to has replaced this one (the old document's root goes stale), so
    /// a form that answers on the same path is not read before it arrives.
    pub fn click_and_load(&self, css: &str) {
        let old = self.find("html");
        self.click(css);
        let started = Instant::now();
        while self.rt.block_on(old.tag_name()).is_ok() {
            if started.elapsed() > PATIENCE {
                panic!(
                    "clicking {css} loaded no new page; still on {}",
                    self.path()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
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

    /// No Content-Security-Policy refusal in the console since the last call.
    pub fn assert_no_csp_refusal(&self) {
        let console = self.console();
        assert!(
            !console
                .iter()
                .any(|l| l.contains("Content Security Policy")),
            "{console:?}"
        );
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

    /// A raw WebDriver command on this session (`path` after
    /// `/session/{id}`), for extensions fantoccini has no method for.
    pub fn webdriver(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let id = self
            .rt
            .block_on(self.client().session_id())
            .ok()
            .flatten()
            .expect("a WebDriver session");
        let url = format!("{}/session/{id}{path}", self.driver_url);
        let mut request = reqwest::blocking::Client::new().request(method, url);
        if !body.is_null() {
            request = request.json(&body);
        }
        let answer: Value = request
            .send()
            .and_then(|r| r.json())
            .unwrap_or_else(|e| panic!("WebDriver {path}: {e}"));
        answer["value"].clone()
    }

    /// Adds Chromium's virtual authenticator (WebAuthn extension of
    /// WebDriver): a platform authenticator that keeps discoverable
    /// credentials and verifies the user. Answers its id.
    pub fn add_virtual_authenticator(&self) -> String {
        let value = self.webdriver(
            reqwest::Method::POST,
            "/webauthn/authenticator",
            json!({
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": true,
                "hasUserVerification": true,
                "isUserVerified": true,
                "automaticPresenceSimulation": true,
            }),
        );
        value
            .as_str()
            .unwrap_or_else(|| panic!("no authenticator id: {value}"))
            .to_owned()
    }

    /// The credentials the virtual authenticator `id` holds.
    pub fn authenticator_credentials(&self, id: &str) -> Vec<Value> {
        self.webdriver(
            reqwest::Method::GET,
            &format!("/webauthn/authenticator/{id}/credentials"),
            Value::Null,
        )
        .as_array()
        .cloned()
        .unwrap_or_default()
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

//! Starting a [`Chromium`]: finding `chromedriver` and the browser (or
//! skipping, or failing under `CI=true`), a free loopback port, a fresh
//! profile, and the WebDriver session.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::ClientBuilder;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use super::{Chromium, WINDOW};

pub fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// Skips (locally) or fails (under `CI=true`) because `what` is missing.
pub fn missing(what: &str) {
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

/// The current test's name, from its thread (`sqlite::sign_in` becomes
/// `sqlite-sign_in`).
pub fn test_name() -> String {
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
}

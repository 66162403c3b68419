//! User stories in a real browser: headless Chromium through chromedriver
//! (`tests/common/webdriver.rs`), against the real server on SQLite and
//! PostgreSQL. Every page a story visits is checked with axe-core (zero
//! `serious` or `critical` violations). Without chromedriver or chromium the
//! stories print "skipped:" locally and fail under `CI=true`.

mod common;
#[path = "common/webdriver.rs"]
mod webdriver;

use common::{Backend, PASSWORD, ROOT_ADMIN, TestApp};
use webdriver::Chromium;

on_both_backends!(
    sign_up_through_the_form,
    sign_in_through_the_form,
    keyboard_only_sign_in,
    admin_changes_a_role_and_bans_through_the_forms,
    impersonation_shows_a_banner_and_returns_to_the_admin,
    settings_profile_edit_saves_and_shows,
    every_main_page_works_without_javascript,
);

/// Tab, Enter (WebDriver key codes).
const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";

/// Signs `email` in through the sign-in form, as a person types it.
fn sign_in(c: &Chromium, email: &str, password: &str) {
    c.goto("/signin");
    c.fill("input[name=email]", email);
    c.fill("input[name=password]", password);
    c.click_and_load("form[action='/signin'] button[type=submit]");
}

/// Signs up through the form.
fn sign_up(c: &Chromium, name: &str, email: &str) {
    c.goto("/signup");
    c.fill("input[name=name]", name);
    c.fill("input[name=email]", email);
    c.fill("input[name=password]", PASSWORD);
    c.click_and_load("form[action='/signup'] button[type=submit]");
}

fn sign_up_through_the_form(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let Some(c) = Chromium::launch(&app.base) else {
        return;
    };
    c.goto("/signup");
    c.assert_accessible();
    assert_eq!(
        c.attr("input[name=name]", "autofocus").as_deref(),
        Some("true")
    );
    c.fill("input[name=name]", "Ada Lovelace");
    c.fill("input[name=email]", "ada@example.com");
    c.fill("input[name=password]", PASSWORD);
    c.click_and_load("form[action='/signup'] button[type=submit]");
    c.wait_for_path("/");
    assert_eq!(c.text("#user-name"), "Ada Lovelace");
    assert!(c.text("h1").contains("Ada Lovelace"), "{}", c.source());
    c.assert_accessible();
    assert_eq!(app.count("users WHERE email = 'ada@example.com'"), 1);

    // The same address again, from a signed-out browser: the form comes back
    // with the error and what was typed, and no second user.
    c.click_and_load("form[action='/signout'] button");
    c.wait_for_path("/");
    assert!(c.has("#signin-link"));
    sign_up(&c, "Ada Again", "ada@example.com");
    c.wait_for_path("/signup");
    assert!(c.has("#form-error"), "{}", c.source());
    assert_eq!(c.value("input[name=name]"), "Ada Again");
    assert_eq!(c.value("input[name=password]"), "");
    c.assert_accessible();
    assert_eq!(app.count("users"), 1);
}

fn sign_in_through_the_form(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    app.signed_up("Grace Hopper", "grace@example.com");
    let Some(c) = Chromium::launch(&app.base) else {
        return;
    };
    // A page that needs sign-in sends the browser to the form, and back.
    c.goto("/settings");
    c.wait_for_path("/signin");
    c.assert_accessible();

    // A wrong password: the error, the email kept, no session.
    c.fill("input[name=email]", "grace@example.com");
    c.fill("input[name=password]", "not the password");
    c.click_and_load("form[action='/signin'] button[type=submit]");
    c.wait_for_path("/signin");
    assert!(c.has("#form-error"), "{}", c.source());
    assert_eq!(c.value("input[name=email]"), "grace@example.com");
    assert!(!c.has("#user-name"));
    c.assert_accessible();

    c.fill("input[name=password]", PASSWORD);
    c.click_and_load("form[action='/signin'] button[type=submit]");
    c.wait_for_path("/settings");
    assert_eq!(c.text("#user-name"), "Grace Hopper");
    c.assert_accessible();
}

/// The browser-side description of the focused element.
fn focused_name(c: &Chromium) -> String {
    let e = c.focused();
    let (tag, _) = c.focused_tag_and_text();
    let name = c.element_attr(&e, "name").unwrap_or_default();
    let kind = c.element_attr(&e, "type").unwrap_or_default();
    format!("{tag}[name={name}][type={kind}]")
}

/// The focused element shows a focus ring: an outline or a box shadow.
fn assert_focus_visible(c: &Chromium, what: &str) {
    let e = c.focused();
    let style = c.css_value(&e, "outline-style");
    let width = c.css_value(&e, "outline-width");
    let shadow = c.css_value(&e, "box-shadow");
    let outline = style != "none" && width != "0px";
    assert!(
        outline || shadow != "none",
        "{what}: no visible focus (outline {style} {width}, box-shadow {shadow})"
    );
}

fn keyboard_only_sign_in(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    app.signed_up("Alan Turing", "alan@example.com");
    let Some(c) = Chromium::launch(&app.base) else {
        return;
    };
    c.goto("/signin");
    c.assert_accessible();
    // Every field a person fills in has a label that names it.
    let unlabelled = c.execute(
        "return [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]\
           .filter(i => !(i.labels && [...i.labels].some(l => l.textContent.trim())))\
           .map(i => i.name);",
        vec![],
    );
    assert_eq!(unlabelled, serde_json::json!([]), "inputs without a label");

    // The email field has the focus on arrival; Tab goes to the password,
    // then to the sign-in button, each with a visible focus ring.
    c.wait_for_focus("input[name=email][type=email]");
    c.press("alan@example.com");
    c.press(TAB);
    assert_eq!(focused_name(&c), "input[name=password][type=password]");
    assert_focus_visible(&c, "password field");
    c.press(TAB);
    assert_eq!(focused_name(&c), "button[name=][type=submit]");
    assert_eq!(c.focused_tag_and_text().1, "Sign in");
    assert_focus_visible(&c, "sign-in button");

    // Enter in the password field submits the form.
    c.goto("/signin");
    c.wait_for_focus("input[name=email][type=email]");
    c.press("alan@example.com");
    c.press(TAB);
    c.press(PASSWORD);
    c.press(ENTER);
    c.wait_for_path("/");
    assert_eq!(c.text("#user-name"), "Alan Turing");
    c.assert_accessible();
}

fn admin_changes_a_role_and_bans_through_the_forms(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    let user = app.signed_up("Mallory", "mallory@example.com");
    let id = user.user_id();
    let Some(c) = Chromium::launch(&app.base) else {
        return;
    };
    sign_in(&c, ROOT_ADMIN, PASSWORD);
    c.wait_for_path("/");
    c.click_and_load("#admin-link");
    c.wait_for_path("/admin");
    c.assert_accessible();
    c.click_and_load(&format!("#users tr[data-user='{id}'] a"));
    c.wait_for_path(&format!("/admin/users/{id}"));
    assert_eq!(c.text("#admin-user-name"), "Mallory");
    c.assert_accessible();

    // Role and plan through the form.
    c.select("select[name=role]", "admin");
    c.select("select[name=plan]", "premium");
    c.click_and_load(&format!("form[action='/admin/users/{id}/update'] button"));
    c.wait_for_path(&format!("/admin/users/{id}"));
    assert!(c.has("p.ok[role=status]"), "{}", c.source());
    assert_eq!(
        c.execute(
            "return document.querySelector('select[name=role]').value;",
            vec![]
        ),
        "admin"
    );
    c.assert_accessible();
    assert_eq!(user.session_json()["user"]["role"], "admin");

    // Back to user, then a ban with a reason.
    c.select("select[name=role]", "user");
    c.click_and_load(&format!("form[action='/admin/users/{id}/update'] button"));
    c.wait_for_path(&format!("/admin/users/{id}"));
    c.fill(
        &format!("form[action='/admin/users/{id}/ban'] input[name=reason]"),
        "spam",
    );
    c.click_and_load("#ban");
    c.wait_for_path(&format!("/admin/users/{id}"));
    assert!(c.text("#ban-status").contains("spam"), "{}", c.source());
    assert!(c.has("#unban"));
    c.assert_accessible();
    assert!(user.session_json().is_null(), "the ban signed Mallory out");

    // The list shows it.
    c.goto("/admin");
    let row = c.text(&format!("#users tr[data-user='{id}']"));
    assert!(row.contains("banned"), "{row}");
    assert!(row.contains("premium"), "{row}");
}

fn impersonation_shows_a_banner_and_returns_to_the_admin(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    let user = app.signed_up("Iris", "iris@example.com");
    let id = user.user_id();
    let Some(c) = Chromium::launch(&app.base) else {
        return;
    };
    sign_in(&c, ROOT_ADMIN, PASSWORD);
    c.wait_for_path("/");
    let admin_name = c.text("#user-name");
    c.goto(&format!("/admin/users/{id}"));
    c.click_and_load("#impersonate");
    c.wait_for_path("/");
    assert_eq!(c.text("#user-name"), "Iris");
    let banner = c.text("#impersonation-banner");
    assert!(banner.contains("iris@example.com"), "{banner}");
    c.assert_accessible();
    c.goto("/settings");
    assert!(c.has("#impersonation-banner"));
    c.assert_accessible();

    c.click_and_load("#stop-impersonating");
    c.wait_for_path(&format!("/admin/users/{id}"));
    assert!(!c.has("#impersonation-banner"));
    assert_eq!(c.text("#user-name"), admin_name);
    c.assert_accessible();
    assert!(
        !user.session_json().is_null(),
        "Iris's own session is untouched"
    );
}

fn settings_profile_edit_saves_and_shows(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    app.signed_up("Linus", "linus@example.com");
    let Some(c) = Chromium::launch(&app.base) else {
        return;
    };
    sign_in(&c, "linus@example.com", PASSWORD);
    c.wait_for_path("/");
    c.goto("/settings");
    c.assert_accessible();
    c.fill("#profile input[name=name]", "Linus T.");
    c.fill(
        "#profile input[name=image]",
        "https://images.example.com/linus.png",
    );
    c.click_and_load("#profile button[type=submit]");
    c.wait_for_path("/settings");
    assert!(c.has("#profile p.ok[role=status]"), "{}", c.source());
    assert_eq!(c.text("#user-name"), "Linus T.");
    assert_eq!(
        c.attr("#user-avatar", "src").as_deref(),
        Some("https://images.example.com/linus.png")
    );
    assert_eq!(c.value("#profile input[name=name]"), "Linus T.");
    c.assert_accessible();

    // The theme preference lands on <html data-theme>.
    c.select("#preferences select[name=theme]", "dark");
    c.click_and_load("#preferences button[type=submit]");
    c.wait_for_path("/settings");
    assert_eq!(c.attr("html", "data-theme").as_deref(), Some("dark"));
    c.assert_accessible();

    // A reload (another request) shows the same.
    c.goto("/");
    assert_eq!(c.text("#user-name"), "Linus T.");
    // Another device sees the saved profile too.
    let user = app.signed_in("linus@example.com").session_json();
    assert_eq!(user["user"]["name"], "Linus T.");
    assert_eq!(
        user["user"]["image"],
        "https://images.example.com/linus.png"
    );
}

fn every_main_page_works_without_javascript(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    let Some(c) = Chromium::launch_without_javascript(&app.base) else {
        return;
    };
    // The browser really runs no page script.
    c.goto("data:text/html,<title>before</title><script>document.title='ran'</script>");
    assert_eq!(c.title(), "before", "page scripts must be off");

    // Sign-up, settings, sessions, sign-out.
    sign_up(&c, "Nora", "nora@example.com");
    c.wait_for_path("/");
    assert_eq!(c.text("#user-name"), "Nora");
    c.assert_accessible();
    c.goto("/settings");
    c.fill("#profile input[name=name]", "Nora N.");
    c.click_and_load("#profile button[type=submit]");
    c.wait_for_path("/settings");
    assert_eq!(c.text("#user-name"), "Nora N.");
    c.assert_accessible();

    let phone = app.signed_in("nora@example.com");
    c.click_and_load("#sessions-link");
    c.wait_for_path("/settings/sessions");
    assert_eq!(c.find_all("#sessions tbody tr").len(), 2);
    c.assert_accessible();
    c.click_and_load("#sessions tbody tr:not(.current) button");
    c.wait_for_path("/settings/sessions");
    assert_eq!(c.find_all("#sessions tbody tr").len(), 1);
    assert!(phone.session_json().is_null(), "the other device is out");
    c.click_and_load("form[action='/signout'] button");
    c.wait_for_path("/");
    assert!(c.has("#signin-link"));

    // Sign-in, then the admin pages and their forms.
    sign_in(&c, ROOT_ADMIN, PASSWORD);
    c.wait_for_path("/");
    c.assert_accessible();
    c.click_and_load("#admin-link");
    c.wait_for_path("/admin");
    c.fill("input[name=q]", "nora");
    c.click_and_load("form[action='/admin'] button");
    c.wait_for_path("/admin");
    assert_eq!(c.find_all("#users tbody tr").len(), 1, "{}", c.source());
    c.assert_accessible();
    c.click_and_load("#users tbody tr a");
    assert_eq!(c.text("#admin-user-name"), "Nora N.");
    c.select("select[name=plan]", "premium");
    c.click_and_load("form[action$='/update'] button");
    assert!(c.has("p.ok[role=status]"), "{}", c.source());
    assert_eq!(c.value("select[name=plan] option[selected]"), "premium");
    c.assert_accessible();
    c.goto("/admin/audit");
    c.assert_accessible();
    c.fill("input[name=action]", "session_revoked");
    c.click_and_load("form[action='/admin/audit'] button");
    c.wait_for_path("/admin/audit");
    let rows = c.find_all("#events tbody tr");
    assert!(!rows.is_empty(), "{}", c.source());
    assert_eq!(
        rows.len(),
        c.find_all("#events tbody tr[data-action=session_revoked]")
            .len(),
        "the filter applies"
    );
    c.assert_accessible();
}

/// The pages of the README's screenshots, as `(file stem, path)`; `{id}` is
/// the shown user's id.
const SCREENSHOT_PAGES: [(&str, &str); 7] = [
    ("signin", "/signin"),
    ("signup", "/signup"),
    ("settings", "/settings"),
    ("sessions", "/settings/sessions"),
    ("admin-users", "/admin"),
    ("admin-user", "/admin/users/{id}"),
    ("audit", "/admin/audit"),
];

/// The width of the screenshots; each is as tall as its page.
const SCREENSHOT_WIDTH: u32 = 1000;

/// Writes PNG screenshots of the main pages in light and dark theme: into
/// `GATEHOUSE_SCREENSHOTS` when set (`GATEHOUSE_SCREENSHOTS=docs/screenshots
/// cargo test --test browser screenshots`), else into a temporary directory
/// that is thrown away, so every run checks the pages render.
#[test]
fn screenshots_of_the_main_pages() {
    let Some(app) = TestApp::with_admin(Backend::Sqlite, &[]) else {
        return;
    };
    let kept = std::env::var("GATEHOUSE_SCREENSHOTS")
        .ok()
        .filter(|d| !d.is_empty());
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = match &kept {
        Some(d) => {
            let d = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(d);
            std::fs::create_dir_all(&d).expect("screenshot directory");
            d
        }
        None => temp.path().to_owned(),
    };
    // A few people and a bit of history, so the pages have something to show.
    let ada = app.signed_up("Ada Lovelace", "ada@example.com");
    let id = ada.user_id();
    app.signed_up("Grace Hopper", "grace@example.com");
    app.signed_up("Alan Turing", "alan@example.com");
    app.signed_in(ROOT_ADMIN);
    let admin = app.signed_in(ROOT_ADMIN);
    let r = admin.submit(
        &format!("/admin/users/{id}/update"),
        &[
            ("role", "user"),
            ("permissions", "billing:read"),
            ("plan", "premium"),
            ("plan_expires_at", ""),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);

    // Confirmed addresses: no "please confirm" banner on the pictures.
    app.sql("UPDATE users SET email_verified_at = created_at");
    let Some(c) = Chromium::launch(&app.base) else {
        return;
    };
    let mut written = Vec::new();
    for theme in ["light", "dark"] {
        // Signed out: the pages follow the system, so the theme is set on
        // <html> as the preference would.
        for (stem, path) in &SCREENSHOT_PAGES[..2] {
            c.goto(path);
            c.execute(
                "document.documentElement.dataset.theme = arguments[0];",
                vec![theme.into()],
            );
            written.push(shoot(&c, &dir, &format!("{stem}-{theme}.png")));
        }
    }
    sign_in(&c, ROOT_ADMIN, PASSWORD);
    c.wait_for_path("/");
    for theme in ["light", "dark"] {
        // Signed in: the user's own theme preference, saved through the form.
        c.goto("/settings");
        c.select("#preferences select[name=theme]", theme);
        c.click_and_load("#preferences button[type=submit]");
        c.wait_for_path("/settings");
        assert_eq!(c.attr("html", "data-theme").as_deref(), Some(theme));
        for (stem, path) in &SCREENSHOT_PAGES[2..] {
            c.goto(&path.replace("{id}", &id));
            assert_eq!(c.attr("html", "data-theme").as_deref(), Some(theme));
            written.push(shoot(&c, &dir, &format!("{stem}-{theme}.png")));
        }
    }
    assert_eq!(written.len(), SCREENSHOT_PAGES.len() * 2);
    for (path, (w, h)) in &written {
        assert_eq!(*w, SCREENSHOT_WIDTH, "{}", path.display());
        assert!(*h >= 300, "{} is {w}x{h}", path.display());
    }
    if kept.is_some() {
        eprintln!("screenshots written to {}", dir.display());
    }
}

/// A PNG of the whole page, `SCREENSHOT_WIDTH` wide, saved as `name` in
/// `dir`; answers the file and its size (from the PNG header).
fn shoot(c: &Chromium, dir: &std::path::Path, name: &str) -> (std::path::PathBuf, (u32, u32)) {
    let height = c
        .execute(
            "return Math.ceil(document.documentElement.scrollHeight);",
            vec![],
        )
        .as_u64()
        .expect("page height") as u32;
    c.resize_viewport(SCREENSHOT_WIDTH, height.max(600));
    let png = c.screenshot();
    c.resize_viewport(webdriver::WINDOW.0, webdriver::WINDOW.1);
    assert!(png.len() > 1000, "{name}: a PNG of {} bytes", png.len());
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{name} is a PNG");
    let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
    let path = dir.join(name);
    std::fs::write(&path, &png).expect("write screenshot");
    (path, (w, h))
}

//! The pages at a phone's size, in a real browser (headless Chromium): no
//! page scrolls sideways at 360x740, wide tables scroll inside their box, the
//! pages pass axe-core in both themes, and a form's error is tied to its field
//! where a screen reader finds it.

mod common;
#[path = "common/webdriver.rs"]
mod webdriver;

use common::{Backend, PASSWORD, ROOT_ADMIN, TestApp};
use webdriver::Chromium;

on_both_backends!(
    phone_sized_pages_do_not_scroll_sideways,
    a_sign_up_error_is_read_with_its_field,
);

/// A small phone's viewport, in CSS pixels.
const PHONE: (u32, u32) = (360, 740);

/// How far the page scrolls sideways: 0 when it fits the viewport.
fn overflow(c: &Chromium) -> i64 {
    c.execute(
        "return document.documentElement.scrollWidth - window.innerWidth;",
        vec![],
    )
    .as_i64()
    .expect("a number")
}

/// Checks the current page at both themes: it fits the phone's width, and
/// axe-core finds nothing serious (contrast included).
fn assert_fits_in_both_themes(c: &Chromium, what: &str) {
    for theme in ["light", "dark"] {
        c.execute(
            "document.documentElement.dataset.theme = arguments[0];",
            vec![theme.into()],
        );
        assert!(
            overflow(c) <= 0,
            "{what} ({theme}) scrolls sideways by {}px at {PHONE:?}",
            overflow(c)
        );
        c.assert_accessible();
    }
}

fn phone_sized_pages_do_not_scroll_sideways(backend: Backend) {
    let Some(app) = TestApp::with_admin(backend, &[]) else {
        return;
    };
    // Long names and addresses, the kind that push a layout wide.
    let long = "Maximiliane Wilhelmina Theodora von Hohenzollern-Sigmaringen";
    let ada = app.signed_up(long, "maximiliane.wilhelmina.theodora@example.com");
    let id = ada.user_id();
    let Some(c) = Chromium::launch(&app.base) else {
        return;
    };
    c.resize_viewport(PHONE.0, PHONE.1);
    for path in ["/signin", "/signup", "/forgot-password"] {
        c.goto(path);
        assert_fits_in_both_themes(&c, path);
    }
    // Signed in as the admin: the header holds the name, the admin link and
    // the sign-out button; the tables have many columns.
    c.goto("/signin");
    c.fill("input[name=email]", ROOT_ADMIN);
    c.fill("input[name=password]", PASSWORD);
    c.click_and_load("form[action='/signin'] button[type=submit]");
    c.wait_for_path("/");
    for path in [
        "/".to_owned(),
        "/settings".to_owned(),
        "/settings/sessions".to_owned(),
        "/reauth?callbackUrl=%2Fsettings".to_owned(),
        "/admin".to_owned(),
        format!("/admin/users/{id}"),
        "/admin/audit".to_owned(),
    ] {
        c.goto(&path);
        assert_fits_in_both_themes(&c, &path);
    }
    // The users table is wider than a phone: it scrolls inside its box.
    c.goto("/admin");
    let inner = c.execute(
        "const box = document.querySelector('#users').parentElement;\
         return [box.className, box.scrollWidth > box.clientWidth, getComputedStyle(box).overflowX];",
        vec![],
    );
    assert_eq!(inner, serde_json::json!(["table-scroll", true, "auto"]));

    // The settings form's fields span the phone's width.
    c.goto("/settings");
    let widths = c.execute(
        "const f = document.querySelector('#profile input[name=name]');\
         return [f.getBoundingClientRect().width, f.form.getBoundingClientRect().width];",
        vec![],
    );
    let (field, form) = (widths[0].as_f64().unwrap(), widths[1].as_f64().unwrap());
    assert!(field >= form - 1.0 && field > 250.0, "{field} of {form}");
}

fn a_sign_up_error_is_read_with_its_field(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    app.signed_up("Ada", "ada@example.com");
    let Some(c) = Chromium::launch(&app.base) else {
        return;
    };
    c.resize_viewport(PHONE.0, PHONE.1);
    c.goto("/signup");
    c.fill("input[name=name]", "Ada Again");
    c.fill("input[name=email]", "ada@example.com");
    c.fill("input[name=password]", PASSWORD);
    c.click_and_load("form[action='/signup'] button[type=submit]");
    c.wait_for_path("/signup");
    assert!(c.has("#form-error"), "{}", c.source());
    // The field says it is wrong, and why: its description is the visible
    // message under it.
    let described = c.execute(
        "const f = document.querySelector('input[name=email]');\
         const d = document.getElementById(f.getAttribute('aria-describedby'));\
         const r = d && d.getBoundingClientRect();\
         return [f.getAttribute('aria-invalid'), d && d.textContent.trim(),\
                 r && r.height > 0, r && r.top >= f.getBoundingClientRect().bottom];",
        vec![],
    );
    let summary = c.text("#form-error");
    assert_eq!(described, serde_json::json!(["true", summary, true, true]));
    assert_eq!(c.value("input[name=email]"), "ada@example.com");
    assert_eq!(c.value("input[name=password]"), "");
    assert_fits_in_both_themes(&c, "/signup with an error");
    assert_eq!(app.count("users"), 1);
}

//! Form errors tied to their fields: when the server knows which field was
//! wrong, the form comes back with the message under that field
//! (`id="<field>-error"`), the input marked `aria-invalid="true"` and
//! `aria-describedby` pointing at the message, the summary (`id="form-error"`)
//! above the form, and what was typed kept (passwords excepted).

mod common;

use common::{Backend, PASSWORD, Page, TestApp, unescape};

on_both_backends!(
    a_taken_email_at_sign_up_is_the_email_fields_error,
    an_invalid_email_or_a_short_password_at_sign_up_is_that_fields_error,
    a_wrong_current_password_is_the_current_password_fields_error,
    a_weak_new_password_is_the_new_password_fields_error,
    a_bad_avatar_url_is_the_image_fields_error_and_keeps_what_was_typed,
    a_taken_address_in_the_email_change_is_its_email_fields_error,
    an_error_that_is_no_fields_marks_no_field,
);

/// The opening tag of the visible `<input>` or `<select>` named `name` in the
/// form posting to `action`.
fn field<'a>(page: &'a Page, action: &str, name: &str) -> &'a str {
    let body = page.body.as_str();
    let form = body
        .find(&format!("action=\"{action}\""))
        .unwrap_or_else(|| panic!("no form for {action}: {body}"));
    let end = form + body[form..].find("</form>").expect("the form ends");
    let needle = format!("name=\"{name}\"");
    let mut from = form;
    while let Some(at) = body[from..end].find(&needle) {
        let at = from + at;
        let start = body[..at].rfind('<').unwrap();
        let stop = at + body[at..].find('>').unwrap() + 1;
        let tag = &body[start..stop];
        if !tag.contains("type=\"hidden\"") {
            return tag;
        }
        from = stop;
    }
    panic!("no field {name} in the form for {action}: {body}")
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    Some(unescape(&tag[at..at + tag[at..].find('"')?]))
}

/// The text of the one element with `id`.
fn text_of(page: &Page, id: &str) -> String {
    let key = format!("id=\"{id}\"");
    assert_eq!(
        page.body.matches(&key).count(),
        1,
        "one #{id}: {}",
        page.body
    );
    let at = page.body.find(&key).unwrap();
    let open = at + page.body[at..].find('>').unwrap() + 1;
    let close = open + page.body[open..].find('<').unwrap();
    unescape(page.body[open..close].trim())
}

/// The field is marked invalid and described by a message that exists and
/// says what the summary says; answers the message.
fn assert_tied(page: &Page, action: &str, name: &str) -> String {
    let tag = field(page, action, name);
    assert_eq!(attr(tag, "aria-invalid").as_deref(), Some("true"), "{tag}");
    let id = attr(tag, "aria-describedby").unwrap_or_else(|| panic!("{tag}"));
    let message = text_of(page, &id);
    assert!(!message.is_empty(), "#{id} is empty");
    assert_eq!(
        message,
        text_of(page, "form-error"),
        "the summary says the same"
    );
    message
}

fn assert_not_marked(page: &Page, action: &str, name: &str) {
    let tag = field(page, action, name);
    assert_eq!(attr(tag, "aria-invalid"), None, "{tag}");
    assert_eq!(attr(tag, "aria-describedby"), None, "{tag}");
}

fn sign_up(app: &TestApp, name: &str, email: &str, password: &str) -> Page {
    app.browser().submit(
        "/signup",
        &[("name", name), ("email", email), ("password", password)],
    )
}

fn a_taken_email_at_sign_up_is_the_email_fields_error(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    app.signed_up("Ada", "ada@example.com");
    let page = sign_up(&app, "Ada Again", "ada@example.com", PASSWORD);
    assert_eq!(page.status, 409, "{}", page.body);
    let message = assert_tied(&page, "/signup", "email");
    assert!(message.contains("already"), "{message}");
    assert_eq!(
        attr(field(&page, "/signup", "email"), "aria-describedby").as_deref(),
        Some("email-error")
    );
    assert_not_marked(&page, "/signup", "name");
    assert_not_marked(&page, "/signup", "password");
    // What was typed stays, but the password.
    let email = field(&page, "/signup", "email");
    assert_eq!(attr(email, "value").as_deref(), Some("ada@example.com"));
    let name = field(&page, "/signup", "name");
    assert_eq!(attr(name, "value").as_deref(), Some("Ada Again"));
    assert_eq!(attr(field(&page, "/signup", "password"), "value"), None);
    assert_eq!(app.count("users"), 1);
}

fn an_invalid_email_or_a_short_password_at_sign_up_is_that_fields_error(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let page = sign_up(&app, "Ada", "not an address", PASSWORD);
    assert_eq!(page.status, 422, "{}", page.body);
    assert_tied(&page, "/signup", "email");
    assert_not_marked(&page, "/signup", "password");
    let typed = field(&page, "/signup", "email");
    assert_eq!(attr(typed, "value").as_deref(), Some("not an address"));

    let page = sign_up(&app, "Ada", "ada@example.com", "short");
    assert_eq!(page.status, 422, "{}", page.body);
    assert_tied(&page, "/signup", "password");
    assert_not_marked(&page, "/signup", "email");
    assert_eq!(app.count("users"), 0);
}

fn a_wrong_current_password_is_the_current_password_fields_error(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let ada = app.signed_up("Ada", "ada@example.com");
    let page = ada.submit(
        "/settings/password",
        &[
            ("current_password", "not the password"),
            ("new_password", "a brand new passphrase"),
        ],
    );
    assert_eq!(page.status, 401, "{}", page.body);
    let message = assert_tied(&page, "/settings/password", "current_password");
    assert_eq!(message, "Your current password is not right.");
    assert_not_marked(&page, "/settings/password", "new_password");
    // The other forms on the page are not marked.
    assert_not_marked(&page, "/settings/profile", "name");
    assert_not_marked(&page, "/settings/email", "current_password");
    // The password did not change.
    assert_eq!(
        app.signed_in("ada@example.com").session_json()["user"]["name"],
        "Ada"
    );
}

fn a_weak_new_password_is_the_new_password_fields_error(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let ada = app.signed_up("Ada", "ada@example.com");
    let page = ada.submit(
        "/settings/password",
        &[("current_password", PASSWORD), ("new_password", "short")],
    );
    assert_eq!(page.status, 422, "{}", page.body);
    assert_tied(&page, "/settings/password", "new_password");
    assert_not_marked(&page, "/settings/password", "current_password");
    assert_eq!(
        app.signed_in("ada@example.com").session_json()["user"]["name"],
        "Ada"
    );
}

fn a_bad_avatar_url_is_the_image_fields_error_and_keeps_what_was_typed(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let ada = app.signed_up("Ada", "ada@example.com");
    let page = ada.submit(
        "/settings/profile",
        &[("name", "Ada L"), ("image", "javascript:alert(1)")],
    );
    assert_eq!(page.status, 422, "{}", page.body);
    assert_tied(&page, "/settings/profile", "image");
    assert_not_marked(&page, "/settings/profile", "name");
    let name = field(&page, "/settings/profile", "name");
    assert_eq!(attr(name, "value").as_deref(), Some("Ada L"));

    // A language that is none: the preferences form, its language field,
    // with what was typed.
    let page = ada.submit(
        "/settings/preferences",
        &[("theme", "dark"), ("language", "not a language!")],
    );
    assert_eq!(page.status, 422, "{}", page.body);
    assert_tied(&page, "/settings/preferences", "language");
    let language = field(&page, "/settings/preferences", "language");
    assert_eq!(attr(language, "value").as_deref(), Some("not a language!"));
    assert_not_marked(&page, "/settings/profile", "image");
    assert_eq!(ada.session_json()["user"]["name"], "Ada");
    assert_eq!(ada.session_json()["user"]["theme"], "system");
}

fn an_error_that_is_no_fields_marks_no_field(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    app.signed_up("Ada", "ada@example.com");
    // A wrong password: which of the two was wrong is not said.
    let page = app.browser().submit(
        "/signin",
        &[
            ("email", "ada@example.com"),
            ("password", "not the password"),
        ],
    );
    assert_eq!(page.status, 401, "{}", page.body);
    assert!(!text_of(&page, "form-error").is_empty());
    assert_not_marked(&page, "/signin", "email");
    assert_not_marked(&page, "/signin", "password");
    let email = field(&page, "/signin", "email");
    assert_eq!(attr(email, "value").as_deref(), Some("ada@example.com"));
}

fn a_taken_address_in_the_email_change_is_its_email_fields_error(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    app.signed_up("Grace", "grace@example.com");
    let ada = app.signed_up("Ada", "ada@example.com");
    let page = ada.submit(
        "/settings/email",
        &[
            ("email", "grace@example.com"),
            ("current_password", PASSWORD),
        ],
    );
    assert_eq!(page.status, 409, "{}", page.body);
    assert_tied(&page, "/settings/email", "email");
    assert_not_marked(&page, "/settings/email", "current_password");
    let typed = field(&page, "/settings/email", "email");
    assert_eq!(attr(typed, "value").as_deref(), Some("grace@example.com"));

    // A wrong password: the email form's password field, not the password form's.
    let page = ada.submit(
        "/settings/email",
        &[
            ("email", "ada.new@example.com"),
            ("current_password", "not it"),
        ],
    );
    assert_eq!(page.status, 401, "{}", page.body);
    let message = assert_tied(&page, "/settings/email", "current_password");
    assert_eq!(message, "Your current password is not right.");
    assert_not_marked(&page, "/settings/password", "current_password");
    assert_eq!(ada.session_json()["user"]["email"], "ada@example.com");
}

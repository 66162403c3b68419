//! Pages and mails in the reader's language, as stories on both backends:
//! the user's `language` preference first, then `Accept-Language` (q-values
//! honoured, `de-AT` is `de`), then English. JSON answers stay English.

mod common;

use common::{Backend, Browser, Page, TestApp};
use reqwest::Method;
use serde_json::json;

on_both_backends!(
    the_sign_in_page_follows_accept_language,
    accept_language_q_values_pick_the_best_supported,
    a_preference_beats_accept_language,
    an_unsupported_preference_falls_to_accept_language_then_english,
    error_pages_speak_the_readers_language,
    form_errors_are_translated_and_json_stays_english,
    a_reset_mail_is_in_the_users_language,
    session_dates_are_written_as_the_locale_writes_them,
    a_sign_up_keeps_the_pages_language_for_its_mails,
);

/// `GET path` with `Accept-Language: accept`.
fn get_in(b: &Browser, path: &str, accept: &str) -> Page {
    let url = b.url(path);
    b.send(|c| c.get(url).header("accept-language", accept))
}

/// Posts a form with its CSRF token and `Accept-Language: accept`.
fn submit_in(b: &Browser, path: &str, fields: &[(&str, &str)], accept: &str) -> Page {
    let token = b.csrf_token();
    let mut all = fields.to_vec();
    all.push(("csrf_token", &token));
    let body = serde_urlencoded::to_string(&all).unwrap();
    let url = b.url(path);
    b.send(|c| {
        c.post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept-language", accept)
            .body(body)
    })
}

fn html_lang(page: &Page) -> &str {
    let start = page.body.find("<html lang=\"").expect("an html element") + 12;
    let end = start + page.body[start..].find('"').unwrap();
    &page.body[start..end]
}

fn set_language(b: &Browser, language: &str) {
    let page = b.submit(
        "/settings/preferences",
        &[("theme", "system"), ("language", language)],
    );
    assert_eq!(page.status, 303, "{}", page.body);
}

fn the_sign_in_page_follows_accept_language(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.browser();
    let de = get_in(&b, "/signin", "de-AT,de;q=0.9");
    assert_eq!(de.status, 200);
    assert_eq!(html_lang(&de), "de");
    for words in [
        "<h1>Anmelden</h1>",
        "Passwort vergessen?",
        "Noch kein Konto?",
    ] {
        assert!(de.body.contains(words), "{words}: {}", de.body);
    }
    // Field names, ids and routes stay as they are.
    for kept in [
        "name=\"email\"",
        "name=\"password\"",
        "id=\"forgot-link\"",
        "action=\"/signin\"",
    ] {
        assert!(de.body.contains(kept), "{kept}");
    }
    let ru = get_in(&b, "/signup", "ru-RU");
    assert_eq!(html_lang(&ru), "ru");
    assert!(ru.body.contains("Создать учётную запись"), "{}", ru.body);
    let plain = b.get("/signin");
    assert_eq!(html_lang(&plain), "en");
    assert!(plain.body.contains("<h1>Sign in</h1>"), "{}", plain.body);
}

fn accept_language_q_values_pick_the_best_supported(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.browser();
    for (accept, lang) in [
        ("fr;q=0.9, de;q=0.5, ru;q=0.7", "ru"),
        ("en;q=0.1, de-CH", "de"),
        ("de;q=0, ru;q=0.2", "ru"),
        ("fr, ja, pt-BR", "en"),
        ("*", "en"),
        ("q=;;,,", "en"),
    ] {
        let page = get_in(&b, "/forgot-password", accept);
        assert_eq!(page.status, 200, "{accept}");
        assert_eq!(html_lang(&page), lang, "{accept}");
    }
}

fn a_preference_beats_accept_language(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.signed_up("Ada", "ada@example.com");
    let page = submit_in(
        &b,
        "/settings/preferences",
        &[("theme", "dark"), ("language", "ru")],
        "de",
    );
    assert_eq!(page.status, 303, "{}", page.body);
    let settings = get_in(&b, "/settings?saved=preferences", "de");
    assert_eq!(html_lang(&settings), "ru");
    for words in [
        "<h1>Настройки</h1>",
        "Предпочтения сохранены.",
        "Сменить пароль",
    ] {
        assert!(settings.body.contains(words), "{words}: {}", settings.body);
    }
    assert!(
        !settings.body.contains("Einstellungen"),
        "{}",
        settings.body
    );
    // The header of every page, and the home page, too.
    let home = b.get("/");
    assert!(home.body.contains("Добро пожаловать, Ada"), "{}", home.body);
    assert_eq!(home.user_name().as_deref(), Some("Ada"));
    // The session JSON keeps the preference as it is.
    assert_eq!(b.session_json()["user"]["language"], "ru");
}

fn an_unsupported_preference_falls_to_accept_language_then_english(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.signed_up("Ada", "ada@example.com");
    set_language(&b, "pt-BR");
    let german = get_in(&b, "/settings", "pt-BR, de;q=0.8");
    // `<html lang>` carries the preference (SPEC); the words are German.
    assert_eq!(html_lang(&german), "pt-BR");
    assert!(
        german.body.contains("<h1>Einstellungen</h1>"),
        "{}",
        german.body
    );
    let english = b.get("/settings");
    assert!(
        english.body.contains("<h1>Settings</h1>"),
        "{}",
        english.body
    );
    // A supported preference with a region is its base language.
    set_language(&b, "de-AT");
    let page = b.get("/settings");
    assert_eq!(html_lang(&page), "de-AT");
    assert!(
        page.body.contains("<h1>Einstellungen</h1>"),
        "{}",
        page.body
    );
}

fn error_pages_speak_the_readers_language(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    // A signed-in user's preference: the admin panel refuses in Russian.
    let b = app.signed_up("Ada", "ada@example.com");
    set_language(&b, "ru");
    let refused = get_in(&b, "/admin", "de");
    assert_eq!(refused.status, 403);
    assert_eq!(html_lang(&refused), "ru");
    for words in [
        "403 Доступ запрещён",
        "У вас нет доступа к этому.",
        "На главную",
    ] {
        assert!(refused.body.contains(words), "{words}: {}", refused.body);
    }
    // An anonymous visitor's Accept-Language, on a page that is not there.
    let stranger = app.browser();
    let missing = get_in(&stranger, "/no-such-page", "ru");
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("404 Не найдено"), "{}", missing.body);
    // A middleware's refusal (the CSRF guard): a form without its token.
    let url = stranger.url("/signin");
    let forged = stranger.send(|c| {
        c.post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept-language", "de")
            .body("email=a%40example.com&password=x")
    });
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert!(
        forged.body.contains("Das Formular ist abgelaufen"),
        "{}",
        forged.body
    );
    assert!(forged.headers.get("content-security-policy").is_some());
    // English stays the default.
    let english = stranger.get("/no-such-page");
    assert!(english.body.contains("404 Not Found"), "{}", english.body);
}

fn form_errors_are_translated_and_json_stays_english(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    app.signed_up("Ada", "ada@example.com");
    let b = app.browser();
    let wrong = submit_in(
        &b,
        "/signin",
        &[("email", "ada@example.com"), ("password", "not it at all")],
        "de",
    );
    assert_eq!(wrong.status, 401);
    assert!(
        wrong.body.contains("E-Mail oder Passwort ist falsch."),
        "{}",
        wrong.body
    );
    // Domain validation (the email rule) in Russian.
    let bad = submit_in(
        &b,
        "/signup",
        &[
            ("name", "Bo"),
            ("email", "bo@localhost"),
            ("password", "long enough"),
        ],
        "ru",
    );
    assert_eq!(bad.status, 422);
    assert!(
        bad.body.contains("в части после @ нужна точка"),
        "{}",
        bad.body
    );
    // Under its field too.
    assert!(
        bad.body
            .contains("id=\"email-error\">Введите правильный адрес электронной почты"),
        "{}",
        bad.body
    );
    // A short password on the settings form, in German.
    let ada = app.signed_in("ada@example.com");
    set_language(&ada, "de");
    let short = ada.submit(
        "/settings/password",
        &[
            ("current_password", common::PASSWORD),
            ("new_password", "short"),
        ],
    );
    assert_eq!(short.status, 422);
    assert!(
        short.body.contains("mindestens 8 Zeichen"),
        "{}",
        short.body
    );
    // JSON is for programs: English whatever the preference.
    let json = ada.json(
        Method::POST,
        "/api/auth/session",
        &json!({"theme": "purple"}),
    );
    assert_eq!(json.status, 422);
    assert_eq!(json.json()["message"], "Choose light, dark or system.");
}

fn a_reset_mail_is_in_the_users_language(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let ada = app.signed_up("Ada", "ada@example.com");
    set_language(&ada, "de");
    app.signed_up("Bob", "bob@example.com");
    // The mail follows the recipient's preference, not the asker's browser.
    let stranger = app.browser();
    for to in ["ada@example.com", "bob@example.com"] {
        let page = submit_in(&stranger, "/forgot-password", &[("email", to)], "ru");
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("Забыли пароль?"), "{}", page.body);
    }
    // The first mail of each is the sign-up's verification; mail is written
    // in order.
    let german = app.mailbox().wait_for_nth("ada@example.com", 2);
    assert!(
        german.subject.starts_with("Setzen Sie Ihr Passwort zurück"),
        "{}",
        german.subject
    );
    for words in [
        "Hallo,",
        "Um ein neues Passwort zu wählen",
        "Wenn Sie das nicht waren",
    ] {
        assert!(german.text.contains(words), "{words}: {}", german.text);
    }
    let today = chrono::Utc::now().date_naive();
    let tomorrow = today.succ_opt().unwrap();
    assert!(
        [today, tomorrow]
            .iter()
            .any(|d| german.text.contains(&d.format("%d.%m.%Y").to_string())),
        "{}",
        german.text
    );
    // The link still works.
    assert!(german.path().starts_with("/reset-password?token="));
    let english = app.mailbox().wait_for_nth("bob@example.com", 2);
    assert!(
        english.subject.starts_with("Reset your password"),
        "{}",
        english.subject
    );
    assert!(
        english.text.contains("If this was not you"),
        "{}",
        english.text
    );
}

fn session_dates_are_written_as_the_locale_writes_them(backend: Backend) {
    let Some(app) = TestApp::start(backend) else {
        return;
    };
    let b = app.signed_up("Ada", "ada@example.com");
    let today = chrono::Utc::now().date_naive();
    let english = b.get("/settings/sessions");
    assert!(
        english
            .body
            .contains(&today.format("%B %-d, %Y").to_string()),
        "{}",
        english.body
    );
    set_language(&b, "ru");
    let russian = b.get("/settings/sessions");
    assert!(
        russian.body.contains("Где выполнен вход"),
        "{}",
        russian.body
    );
    let written = today.format("%d.%m.%Y").to_string();
    assert!(russian.body.contains(&written), "{}", russian.body);
    // The machine-readable time stays RFC 3339.
    let machine = format!("<time datetime=\"{}T", today.format("%Y-%m-%d"));
    assert!(russian.body.contains(&machine), "{}", russian.body);
}

/// A sign-up stores the language its page was shown in (the best of
/// `Accept-Language`, else English) as the new user's preference, so the
/// verification mail and every page after speak it. A provider sign-up
/// through the browser does the same.
fn a_sign_up_keeps_the_pages_language_for_its_mails(backend: Backend) {
    use common::fake_provider::{FakeProvider, FakeUser};
    let fake = FakeProvider::start();
    let vars = fake.vars("GITHUB");
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let Some(app) = TestApp::start_with(backend, &refs) else {
        return;
    };
    let fields = |email| {
        [
            ("name", "Ada"),
            ("email", email),
            ("password", common::PASSWORD),
        ]
    };
    let ada = app.browser();
    let up = submit_in(
        &ada,
        "/signup",
        &fields("ada@example.com"),
        "fr, de-AT;q=0.8, en;q=0.5",
    );
    assert_eq!(up.status, 303, "{}", up.body);
    assert_eq!(ada.session_json()["user"]["language"], "de");
    let mail = app.mailbox().wait_for("ada@example.com");
    assert!(
        mail.subject
            .starts_with("Bestätigen Sie Ihre E-Mail-Adresse"),
        "{}",
        mail.subject
    );
    assert!(mail.text.contains("Hallo,"), "{}", mail.text);
    assert!(mail.path().starts_with("/verify-email?token="));
    // The preference now beats the browser: pages stay German.
    assert_eq!(html_lang(&get_in(&ada, "/settings", "ru")), "de");

    // No Accept-Language, or none supported: English, as before.
    for (email, accept) in [
        ("bob@example.com", None),
        ("cy@example.com", Some("fr, ja")),
    ] {
        let b = app.browser();
        let up = match accept {
            Some(accept) => submit_in(&b, "/signup", &fields(email), accept),
            None => b.submit("/signup", &fields(email)),
        };
        assert_eq!(up.status, 303, "{}", up.body);
        assert_eq!(b.session_json()["user"]["language"], "en");
        let mail = app.mailbox().wait_for(email);
        assert!(
            mail.subject.starts_with("Verify your email"),
            "{}",
            mail.subject
        );
    }

    // A provider's new user: the language of the browser it comes back to.
    fake.sign_in_as(FakeUser::new("4242", "Octo Cat", "octo@example.com"));
    let octo = app.browser();
    let start = octo.submit("/api/auth/signin/github", &[]);
    assert_eq!(start.status, 303, "{}", start.body);
    let at_provider = octo.follow(&start);
    let back = at_provider.location().unwrap();
    let done = octo.send(|c| c.get(back).header("accept-language", "ru-RU, ru;q=0.9"));
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(octo.session_json()["user"]["language"], "ru");
}

//! An authenticator app for the tests: codes computed from the secret the
//! setup page shows, and turning two factors on for a signed-in browser.

use super::{Browser, PASSWORD, Page, TestApp};

fn totp(secret: &str) -> totp_rs::Totp {
    totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(totp_rs::Secret::try_from_base32(secret).unwrap())
        .with_issuer(Some(String::new()))
        .with_account_name(String::new())
        .build()
        .unwrap()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Waits while the current 30 s step has less than 4 s left, so a code made
/// now is judged in the same step by the server.
pub fn steady() {
    let left = 30 - now() % 30;
    if left < 4 {
        std::thread::sleep(std::time::Duration::from_secs(left + 1));
    }
}

/// The code for `steps` steps from now (-1, 0 and 1 are accepted).
pub fn code(secret: &str, steps: i64) -> String {
    let at = (now() as i64 + steps * 30) as u64;
    totp(secret).generate(at).to_string()
}

/// The text of `body` between `start` and the next `end`.
pub fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let i = body
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in {body}"))
        + start.len();
    &body[i..i + body[i..].find(end).unwrap()]
}

/// The recovery codes listed on a page that shows them.
pub fn recovery_codes(body: &str) -> Vec<String> {
    between(body, "id=\"recovery-codes\">", "</ul>")
        .split("<code>")
        .skip(1)
        .map(|c| c[..c.find('<').unwrap()].to_owned())
        .collect()
}

/// Turns two factors on for the signed-in `b`: the secret, and the ten
/// recovery codes. The code used is the previous step's, so the current and
/// next steps are left for the story.
pub fn turn_on(b: &Browser) -> (String, Vec<String>) {
    let setup = b.submit("/settings/two-factor/setup", &[]);
    assert_eq!(setup.status, 200, "{}", setup.body);
    let secret = between(&setup.body, "id=\"totp-secret\">", "<").to_owned();
    assert!(setup.body.contains("<svg"), "a QR code is drawn");
    assert!(setup.body.contains("otpauth://totp/"), "{}", setup.body);
    steady();
    let on = b.submit(
        "/settings/two-factor/enable",
        &[("code", &code(&secret, -1))],
    );
    assert_eq!(on.status, 200, "{}", on.body);
    let codes = recovery_codes(&on.body);
    assert_eq!(codes.len(), 10, "{}", on.body);
    (secret, codes)
}

/// Password sign-in of `email`, a user with two factors on, in a new
/// browser: no session yet, the code page.
pub fn first_factor(app: &TestApp, email: &str, callback: &str) -> (Browser, Page) {
    let b = app.browser();
    let page = b.submit(
        "/signin",
        &[
            ("email", email),
            ("password", PASSWORD),
            ("callbackUrl", callback),
        ],
    );
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location().as_deref(), Some("/signin/two-factor"));
    (b, page)
}

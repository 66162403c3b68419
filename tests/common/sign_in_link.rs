//! Helpers of the sign-in link stories (tests/email_link.rs and
//! tests/email_link_refusals.rs).

use super::{Browser, Page, TestApp};

/// Asks for a sign-in link for `email` from `b`.
pub fn ask(b: &Browser, email: &str, callback: &str) -> Page {
    b.submit(
        "/signin/email",
        &[("email", email), ("callbackUrl", callback)],
    )
}

/// Presses the button of the link's page.
pub fn press(b: &Browser, token: &str, callback: &str) -> Page {
    b.submit(
        "/signin/email",
        &[("token", token), ("callbackUrl", callback)],
    )
}

/// The `n`th sign-in mail to `to`, once it has arrived.
pub fn link_mail(app: &TestApp, to: &str, n: usize) -> super::mailbox::Mail {
    link_mail_in(&app.mailbox(), to, n)
}

/// [`link_mail`] in any app's `mailbox`.
pub fn link_mail_in(mailbox: &super::mailbox::Mailbox, to: &str, n: usize) -> super::mailbox::Mail {
    let started = std::time::Instant::now();
    loop {
        let mails: Vec<_> = mailbox
            .to(to)
            .into_iter()
            .filter(|m| m.subject.starts_with("Sign in"))
            .collect();
        if mails.len() >= n {
            return mails[n - 1].clone();
        }
        assert!(
            started.elapsed().as_secs() < 10,
            "no sign-in mail #{n} to {to}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

pub fn audited(app: &TestApp, action: &str) -> i64 {
    app.count(&format!("audit_events WHERE action = '{action}'"))
}

pub fn link_rows(app: &TestApp) -> i64 {
    app.count("email_tokens WHERE purpose = 'sign_in'")
}

/// An account that no browser is signed in to.
pub fn account(app: &TestApp, email: &str) {
    app.signed_up("Ada", email);
    app.sql("DELETE FROM sessions");
}

pub fn set_users(app: &TestApp, set: &str) {
    app.sql(&format!("UPDATE users SET {set}"));
}

/// Bans every user since `at` (for spam), or lifts the ban.
pub fn ban(app: &TestApp, at: Option<chrono::NaiveDateTime>) {
    use diesel::prelude::*;
    use gatehouse::db::schema::users;
    app.with_conn(|c| {
        diesel::update(users::table)
            .set((
                users::banned_at.eq(at),
                users::ban_reason.eq(at.map(|_| "spam")),
            ))
            .execute(c)
            .unwrap()
    });
}

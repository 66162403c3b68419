//! OAuth user stories against a fake provider on loopback, on SQLite and
//! (when configured) PostgreSQL.

mod common;

use common::fake_provider::{Failure, FakeProvider, FakeUser, Forgery, through_provider};
use common::{Backend, Browser, PASSWORD, Page, TestApp};

on_both_backends!(
    github_sign_in_creates_the_user_and_keeps_their_edits,
    oidc_sign_in_needs_a_valid_id_token,
    a_bad_or_replayed_state_signs_nobody_in,
    access_denied_shows_a_page_and_no_session,
    an_existing_email_is_not_silently_linked,
    a_verified_email_links_when_configured,
    link_and_unlink_from_settings,
    provider_tokens_are_not_readable_in_the_database,
    concurrent_token_requests_refresh_once,
    a_refused_refresh_answers_409_and_keeps_the_session,
    a_banned_user_is_refused_after_the_provider_answers,
    providers_are_listed,
    provider_failures_show_a_page_and_write_nothing,
    a_failed_refresh_can_be_retried,
    rotated_oidc_keys_are_fetched_again,
    the_email_domain_allow_list_applies_to_every_way_in,
    an_unverified_google_email_makes_no_user,
    an_unverified_oidc_email_makes_no_user,
    an_unverified_email_does_not_link_to_its_owner,
    an_unverified_email_does_not_pass_the_domain_gate,
    an_unverified_github_primary_email_makes_no_user,
    a_linked_account_signs_in_whatever_its_email_says,
);

fn app_with(
    backend: Backend,
    fake: &FakeProvider,
    providers: &[&str],
    extra: &[(&str, &str)],
) -> Option<TestApp> {
    let mut vars: Vec<(String, String)> = providers.iter().flat_map(|p| fake.vars(p)).collect();
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    TestApp::start_with(backend, &refs)
}

fn octocat() -> FakeUser {
    let mut u = FakeUser::new("4242", "Octo Cat", "octo@example.com");
    // A private email: the profile has none; /user/emails has the verified one.
    u.public_email = None;
    u.emails = vec![
        ("old@example.com".into(), false, true),
        ("octo@example.com".into(), true, true),
    ];
    u
}

fn github_sign_in_creates_the_user_and_keeps_their_edits(backend: Backend) {
    let fake = FakeProvider::start();
    let Some(app) = app_with(backend, &fake, &["GITHUB"], &[]) else {
        return;
    };
    fake.sign_in_as(octocat());
    let b = app.browser();
    let done = through_provider(&b, "github", &[("callbackUrl", "/settings")]);
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location().as_deref(), Some("/settings"));
    let home = b.get("/");
    assert_eq!(home.user_name().as_deref(), Some("Octo Cat"));
    let s = b.session_json();
    assert_eq!(
        s["user"]["email"], "octo@example.com",
        "the verified primary email"
    );
    assert_eq!(
        s["user"]["email_verified"], true,
        "the provider verified it"
    );
    assert!(!home.body.contains("verify-banner"));
    assert_eq!(app.count("accounts"), 1);
    assert_eq!(app.count("audit_events WHERE action = 'sign_in'"), 1);

    // The user renames themselves; the next provider sign-in keeps the edit.
    let renamed = b.submit("/settings/profile", &[("name", "Mona"), ("image", "")]);
    assert_eq!(renamed.status, 303);
    let other = app.browser();
    let again = through_provider(&other, "github", &[]);
    assert_eq!(again.status, 303, "{}", again.body);
    assert_eq!(other.get("/").user_name().as_deref(), Some("Mona"));
    assert_eq!(app.count("users"), 1);
}

fn oidc_sign_in_needs_a_valid_id_token(backend: Backend) {
    let fake = FakeProvider::start();
    let Some(app) = app_with(backend, &fake, &["OIDC"], &[]) else {
        return;
    };
    fake.sign_in_as(FakeUser::new("sub-1", "Ida Token", "ida@example.com"));
    for forgery in [
        Forgery::Signature,
        Forgery::WrongAudience,
        Forgery::WrongNonce,
        Forgery::AccessTokenHash,
    ] {
        fake.forge_next(forgery);
        let b = app.browser();
        let page = through_provider(&b, "oidc", &[]);
        assert_eq!(page.status, 400, "{forgery:?}: {}", page.body);
        assert!(page.body.contains("could not be verified"), "{forgery:?}");
        assert!(b.session_json().is_null(), "{forgery:?} signed someone in");
        assert_eq!(app.count("users"), 0, "{forgery:?} wrote a user");
    }
    let b = app.browser();
    let page = through_provider(&b, "oidc", &[]);
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(b.get("/").user_name().as_deref(), Some("Ida Token"));
}

fn a_bad_or_replayed_state_signs_nobody_in(backend: Backend) {
    let fake = FakeProvider::start();
    let Some(app) = app_with(backend, &fake, &["GITHUB"], &[]) else {
        return;
    };
    fake.sign_in_as(octocat());

    // A tampered state.
    let b = app.browser();
    let start = b.submit("/api/auth/signin/github", &[]);
    let at = b.follow(&start);
    let tampered = at.location().unwrap().replace("state=", "state=x");
    let back = b.send(|c| c.get(tampered));
    assert_eq!(back.status, 400, "{}", back.body);
    assert!(b.session_json().is_null());

    // A good callback, then the same URL again.
    let b = app.browser();
    let start = b.submit("/api/auth/signin/github", &[]);
    let at = b.follow(&start);
    let first = b.follow(&at);
    assert_eq!(first.status, 303);
    let replay = b.follow(&at);
    assert_eq!(replay.status, 400, "a state is spent once");

    // The callback opened in another browser (no binding cookie).
    let b = app.browser();
    let start = b.submit("/api/auth/signin/github", &[]);
    let at = b.follow(&start);
    let thief = app.browser();
    let stolen = thief.follow(&at);
    assert_eq!(stolen.status, 400, "{}", stolen.body);
    assert!(stolen.body.contains("another browser"));
    assert!(thief.session_json().is_null());
    // Missing state or code.
    assert_eq!(b.get("/api/auth/callback/github?code=x").status, 400);
    assert_eq!(b.get("/api/auth/callback/github").status, 400);
    assert_eq!(b.get("/api/auth/callback/nope?code=x&state=y").status, 404);
}

fn access_denied_shows_a_page_and_no_session(backend: Backend) {
    let fake = FakeProvider::start();
    let Some(app) = app_with(backend, &fake, &["GITHUB"], &[]) else {
        return;
    };
    fake.sign_in_as(octocat());
    fake.deny_next();
    let b = app.browser();
    let page = through_provider(&b, "github", &[]);
    assert_eq!(page.status, 403);
    assert!(page.body.contains("cancelled"), "{}", page.body);
    assert!(b.session_json().is_null());
    assert_eq!(app.count("users"), 0);
}

fn an_existing_email_is_not_silently_linked(backend: Backend) {
    let fake = FakeProvider::start();
    let Some(app) = app_with(backend, &fake, &["GITHUB"], &[]) else {
        return;
    };
    app.signed_up("Octo Password", "octo@example.com");
    fake.sign_in_as(octocat());
    let b = app.browser();
    let page = through_provider(&b, "github", &[]);
    assert_eq!(page.status, 409, "{}", page.body);
    assert!(
        page.body.contains("link GitHub under Settings"),
        "{}",
        page.body
    );
    assert!(b.session_json().is_null());
    assert_eq!(app.count("accounts"), 0);
    assert_eq!(app.count("users"), 1);
}

fn a_verified_email_links_when_configured(backend: Backend) {
    let fake = FakeProvider::start();
    let Some(app) = app_with(
        backend,
        &fake,
        &["GITHUB"],
        &[("OAUTH_LINK_VERIFIED_EMAIL", "true")],
    ) else {
        return;
    };
    app.signed_up("Octo Password", "octo@example.com");
    fake.sign_in_as(octocat());
    let b = app.browser();
    assert_eq!(through_provider(&b, "github", &[]).status, 303);
    assert_eq!(b.get("/").user_name().as_deref(), Some("Octo Password"));
    assert_eq!(app.count("accounts"), 1);
}

fn link_and_unlink_from_settings(backend: Backend) {
    let fake = FakeProvider::start();
    let Some(app) = app_with(backend, &fake, &["GITHUB", "GOOGLE"], &[]) else {
        return;
    };
    let b = app.signed_up("Pat", "pat@example.com");
    let settings = b.get("/settings");
    assert!(settings.body.contains("id=\"link-github\""));
    // The provider account has another email: linking does not care.
    fake.sign_in_as(FakeUser::new(
        "77",
        "Pat at GitHub",
        "pat@elsewhere.example",
    ));
    let done = through_provider(&b, "github", &[("intent", "link")]);
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location().as_deref(), Some("/settings?saved=linked"));
    let settings = b.get("/settings");
    assert!(
        settings.body.contains("data-provider=\"github\""),
        "{}",
        settings.body
    );
    assert!(!settings.body.contains("id=\"link-github\""));
    // Now GitHub signs Pat in on another device.
    let other = app.browser();
    assert_eq!(through_provider(&other, "github", &[]).status, 303);
    assert_eq!(other.get("/").user_name().as_deref(), Some("Pat"));
    // Unlink: Pat still has a password.
    assert_eq!(
        b.submit("/settings/accounts/github/unlink", &[]).status,
        303
    );
    assert_eq!(app.count("accounts"), 0);
    assert_eq!(
        b.submit("/settings/accounts/github/unlink", &[]).status,
        404
    );

    // A provider-only user cannot unlink their last way in.
    fake.sign_in_as(FakeUser::new("88", "Only Google", "only@example.com"));
    let g = app.browser();
    assert_eq!(through_provider(&g, "google", &[]).status, 303);
    let refused = g.submit("/settings/accounts/google/unlink", &[]);
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(app.count("accounts"), 1);
    // Linking needs a session.
    assert_eq!(
        app.browser()
            .submit("/api/auth/signin/github", &[("intent", "link")])
            .status,
        303
    );
}

#[derive(diesel::QueryableByName)]
struct TokenCells {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    access_token: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    refresh_token: Option<String>,
}

fn provider_tokens_are_not_readable_in_the_database(backend: Backend) {
    let fake = FakeProvider::start();
    let Some(app) = app_with(backend, &fake, &["GITHUB"], &[]) else {
        return;
    };
    fake.sign_in_as(octocat());
    let b = app.browser();
    assert_eq!(through_provider(&b, "github", &[]).status, 303);
    let t = b.get("/api/auth/accounts/github/token");
    assert_eq!(t.status, 200, "{}", t.body);
    let access = t.json()["access_token"].as_str().unwrap().to_string();
    assert!(fake.is_live_access_token(&access));
    use diesel::RunQueryDsl;
    let cells: TokenCells = diesel::sql_query("SELECT access_token, refresh_token FROM accounts")
        .get_result(&mut *app.conn())
        .unwrap();
    let (a, r) = (cells.access_token.unwrap(), cells.refresh_token.unwrap());
    assert!(
        !a.contains(&access) && !a.contains("at-"),
        "access token in clear: {a}"
    );
    assert!(!r.contains("rt-"), "refresh token in clear: {r}");
    // Anonymous and unlinked callers get nothing.
    assert_eq!(
        app.browser().get("/api/auth/accounts/github/token").status,
        401
    );
    assert_eq!(b.get("/api/auth/accounts/google/token").status, 404);
}

fn expire_tokens(app: &TestApp) {
    app.sql("UPDATE accounts SET expires_at = '2000-01-01 00:00:00'");
}

fn concurrent_token_requests_refresh_once(backend: Backend) {
    let fake = FakeProvider::start();
    let Some(app) = app_with(backend, &fake, &["GITHUB"], &[]) else {
        return;
    };
    fake.sign_in_as(octocat());
    let b = app.browser();
    assert_eq!(through_provider(&b, "github", &[]).status, 303);
    let old = b.get("/api/auth/accounts/github/token").json()["access_token"].clone();
    expire_tokens(&app);
    // On PostgreSQL, a second instance shares the database and takes half.
    let vars: Vec<(String, String)> = fake.vars("GITHUB");
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let second = (backend == Backend::Postgres).then(|| app.second_instance(&refs));
    let cookies = b.cookie_header();
    let bases: Vec<String> = (0..20)
        .map(|i| match (&second, i % 2) {
            (Some(s), 1) => s.base.clone(),
            _ => app.base.clone(),
        })
        .collect();
    let answers: Vec<(u16, serde_json::Value)> = std::thread::scope(|scope| {
        let handles: Vec<_> = bases
            .iter()
            .map(|base| {
                let cookies = cookies.clone();
                scope.spawn(move || {
                    let r = reqwest::blocking::Client::new()
                        .get(format!("{base}/api/auth/accounts/github/token"))
                        .header("cookie", cookies)
                        .send()
                        .unwrap();
                    (r.status().as_u16(), r.json().unwrap_or_default())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        fake.refresh_calls(),
        1,
        "exactly one refresh at the provider"
    );
    let first = &answers[0].1["access_token"];
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(
            &body["access_token"], first,
            "everyone gets the one new token"
        );
    }
    assert_ne!(first, &old);
    assert!(fake.is_live_access_token(first.as_str().unwrap()));
    // The rotated refresh token was saved: the next refresh works.
    expire_tokens(&app);
    assert_eq!(b.get("/api/auth/accounts/github/token").status, 200);
    assert_eq!(fake.refresh_calls(), 2);
}

fn a_refused_refresh_answers_409_and_keeps_the_session(backend: Backend) {
    let fake = FakeProvider::start();
    let Some(app) = app_with(backend, &fake, &["GITHUB"], &[]) else {
        return;
    };
    fake.sign_in_as(octocat());
    let b = app.browser();
    assert_eq!(through_provider(&b, "github", &[]).status, 303);
    expire_tokens(&app);
    fake.refuse_refresh();
    let t = b.get("/api/auth/accounts/github/token");
    assert_eq!(t.status, 409, "{}", t.body);
    assert_eq!(t.json()["error"], "refresh_failed");
    assert_eq!(
        b.session_json()["user"]["name"],
        "Octo Cat",
        "session intact"
    );
    // Marked: the next call does not ask the provider again.
    assert_eq!(b.get("/api/auth/accounts/github/token").status, 409);
    assert_eq!(fake.refresh_calls(), 1);
    assert!(b.get("/settings").body.contains("sign in with it again"));
}

fn a_banned_user_is_refused_after_the_provider_answers(backend: Backend) {
    let fake = FakeProvider::start();
    let Some(app) = app_with(backend, &fake, &["GITHUB"], &[]) else {
        return;
    };
    fake.sign_in_as(octocat());
    assert_eq!(through_provider(&app.browser(), "github", &[]).status, 303);
    app.signed_up("Pw User", "pw@example.com");
    app.sql("UPDATE users SET banned_at = '2026-01-01 00:00:00', ban_reason = 'spam'");
    let b = app.browser();
    let page = through_provider(&b, "github", &[]);
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(
        page.body.contains("banned") && page.body.contains("spam"),
        "{}",
        page.body
    );
    assert!(b.session_json().is_null());
    // The same gate for passwords: after the right password only.
    let right = app.browser().submit(
        "/signin",
        &[("email", "pw@example.com"), ("password", PASSWORD)],
    );
    assert_eq!(right.status, 403);
    assert!(right.body.contains("spam"));
    let wrong = app.browser().submit(
        "/signin",
        &[("email", "pw@example.com"), ("password", "wrong password!")],
    );
    assert_eq!(wrong.status, 401);
    // A ban that has ended lets them in.
    app.sql("UPDATE users SET banned_until = '2000-01-01 00:00:00'");
    assert_eq!(through_provider(&app.browser(), "github", &[]).status, 303);
}

fn providers_are_listed(backend: Backend) {
    let fake = FakeProvider::start();
    let Some(app) = app_with(backend, &fake, &["GITHUB", "OIDC"], &[]) else {
        return;
    };
    let b = app.browser();
    let p = b.get("/api/auth/providers").json();
    assert_eq!(p["github"]["name"], "GitHub");
    assert_eq!(p["github"]["type"], "oauth");
    assert_eq!(p["oidc"]["name"], "Fake ID");
    assert_eq!(p["oidc"]["type"], "oidc");
    assert_eq!(
        p["github"]["callbackUrl"],
        format!("{}/api/auth/callback/github", app.base)
    );
    assert!(p.get("google").is_none());
    let signin = b.get("/signin");
    assert!(
        signin.body.contains("Sign in with GitHub") && signin.body.contains("Sign in with Fake ID")
    );
    // Unknown provider; no CSRF token.
    assert_eq!(b.submit("/api/auth/signin/nope", &[]).status, 404);
    assert_eq!(b.post_form_raw("/api/auth/signin/github", &[]).status, 403);
}

fn provider_failures_show_a_page_and_write_nothing(backend: Backend) {
    let fake = FakeProvider::start();
    let Some(app) = app_with(
        backend,
        &fake,
        &["GITHUB", "OIDC"],
        &[("OAUTH_TIMEOUT", "1s")],
    ) else {
        return;
    };
    fake.sign_in_as(octocat());
    let cases = [
        ("github", Some(Failure::Status(500)), false),
        ("github", Some(Failure::Status(503)), false),
        ("github", Some(Failure::Junk), false),
        (
            "github",
            Some(Failure::Slow(std::time::Duration::from_secs(3))),
            false,
        ),
        ("github", None, true),
        ("oidc", Some(Failure::Status(502)), false),
        ("oidc", Some(Failure::Junk), false),
    ];
    for (provider, failure, junk_profile) in cases {
        fake.fail_token(failure);
        fake.junk_userinfo(junk_profile);
        let b = app.browser();
        let began = std::time::Instant::now();
        let page = through_provider(&b, provider, &[]);
        let case = format!("{provider} {failure:?} junk profile {junk_profile}");
        assert_eq!(page.status, 502, "{case}: {}", page.body);
        assert!(page.body.contains("did not answer properly"), "{case}");
        assert!(
            began.elapsed() < std::time::Duration::from_millis(2900),
            "{case}: timeout"
        );
        assert!(b.session_json().is_null(), "{case}");
        assert_eq!(app.count("users"), 0, "{case}");
        assert_eq!(app.count("accounts"), 0, "{case}");
    }
    fake.fail_token(None);
    fake.junk_userinfo(false);
    assert_eq!(through_provider(&app.browser(), "github", &[]).status, 303);
}

fn a_failed_refresh_can_be_retried(backend: Backend) {
    let fake = FakeProvider::start();
    let Some(app) = app_with(backend, &fake, &["GITHUB"], &[]) else {
        return;
    };
    fake.sign_in_as(octocat());
    let b = app.browser();
    assert_eq!(through_provider(&b, "github", &[]).status, 303);
    expire_tokens(&app);
    fake.fail_token(Some(Failure::Status(500)));
    let t = b.get("/api/auth/accounts/github/token");
    assert_eq!(t.status, 502, "{}", t.body);
    assert_eq!(t.json()["error"], "provider_unavailable");
    // Not marked: once the provider is back, the same refresh token works.
    fake.fail_token(None);
    let t = b.get("/api/auth/accounts/github/token");
    assert_eq!(t.status, 200, "{}", t.body);
    assert!(t.json()["expires_at"].as_str().unwrap().ends_with('Z'));
}

fn rotated_oidc_keys_are_fetched_again(backend: Backend) {
    let fake = FakeProvider::start();
    let Some(app) = app_with(backend, &fake, &["OIDC"], &[]) else {
        return;
    };
    fake.sign_in_as(FakeUser::new("sub-9", "Rota Key", "rota@example.com"));
    assert_eq!(through_provider(&app.browser(), "oidc", &[]).status, 303);
    // The discovery document and JWKS are cached; the provider now signs with
    // a key the cache has never seen.
    fake.rotate_keys();
    let b = app.browser();
    let page = through_provider(&b, "oidc", &[]);
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(b.get("/").user_name().as_deref(), Some("Rota Key"));
    // A forged token is still refused after a fresh fetch.
    fake.forge_next(Forgery::Signature);
    assert_eq!(through_provider(&app.browser(), "oidc", &[]).status, 400);
}

fn the_email_domain_allow_list_applies_to_every_way_in(backend: Backend) {
    let fake = FakeProvider::start();
    let Some(app) = app_with(
        backend,
        &fake,
        &["GITHUB"],
        &[("GATEHOUSE_EMAIL_DOMAINS", "example.com")],
    ) else {
        return;
    };
    fake.sign_in_as(FakeUser::new("5", "Outsider", "out@elsewhere.org"));
    let b = app.browser();
    let page = through_provider(&b, "github", &[]);
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.body.contains("limited to email addresses"));
    assert_eq!(app.count("users"), 0);
    let signup = app.browser().submit(
        "/signup",
        &[
            ("name", "Out"),
            ("email", "out@elsewhere.org"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(signup.status, 422);
    assert_eq!(app.count("users"), 0);
    // The allowed domain gets in both ways.
    app.signed_up("Insider", "in@example.com");
    fake.sign_in_as(octocat());
    assert_eq!(through_provider(&app.browser(), "github", &[]).status, 303);
}

/// The refusal of an unverified email: 403, a page that says why, no session,
/// and nothing written.
fn assert_refused_unverified(app: &TestApp, b: &Browser, page: &Page) {
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.body.contains("not verified"), "{}", page.body);
    assert!(b.session_json().is_null(), "an unverified email signed in");
    assert_eq!(app.count("accounts"), 0, "an unverified email was linked");
}

fn an_unverified_google_email_makes_no_user(backend: Backend) {
    let fake = FakeProvider::start();
    let Some(app) = app_with(backend, &fake, &["GOOGLE"], &[]) else {
        return;
    };
    fake.sign_in_as(FakeUser::new("g-1", "Squatter", "ada@example.com").unverified());
    let b = app.browser();
    let page = through_provider(&b, "google", &[]);
    assert_refused_unverified(&app, &b, &page);
    assert_eq!(app.count("users"), 0);
    // No assertion at all counts as unverified too.
    let mut silent = FakeUser::new("g-2", "Silent", "bob@example.com");
    silent.omit_email_verified = true;
    fake.sign_in_as(silent);
    let b = app.browser();
    let page = through_provider(&b, "google", &[]);
    assert_refused_unverified(&app, &b, &page);
    assert_eq!(app.count("users"), 0);
    // The owner can still sign up with a password.
    app.signed_up("Ada", "ada@example.com");
}

fn an_unverified_oidc_email_makes_no_user(backend: Backend) {
    let fake = FakeProvider::start();
    let Some(app) = app_with(backend, &fake, &["OIDC"], &[]) else {
        return;
    };
    fake.sign_in_as(FakeUser::new("sub-9", "Squatter", "ada@example.com").unverified());
    let b = app.browser();
    let page = through_provider(&b, "oidc", &[]);
    assert_refused_unverified(&app, &b, &page);
    assert_eq!(app.count("users"), 0);
    let mut silent = FakeUser::new("sub-10", "Silent", "bob@example.com");
    silent.omit_email_verified = true;
    fake.sign_in_as(silent);
    let b = app.browser();
    let page = through_provider(&b, "oidc", &[]);
    assert_refused_unverified(&app, &b, &page);
    assert_eq!(app.count("users"), 0);
}

/// Two parties: the owner of ada@example.com has a password account; an
/// attacker's provider account claims the same address, unverified.
fn an_unverified_email_does_not_link_to_its_owner(backend: Backend) {
    let fake = FakeProvider::start();
    let Some(app) = app_with(
        backend,
        &fake,
        &["GOOGLE", "OIDC"],
        &[("OAUTH_LINK_VERIFIED_EMAIL", "true")],
    ) else {
        return;
    };
    let owner = app.signed_up("Ada Owner", "ada@example.com");
    for provider in ["google", "oidc"] {
        fake.sign_in_as(FakeUser::new("attacker", "Mallory", "ada@example.com").unverified());
        let attacker = app.browser();
        let page = through_provider(&attacker, provider, &[]);
        assert_refused_unverified(&app, &attacker, &page);
        assert_eq!(attacker.get("/").user_name(), None, "{provider}");
    }
    assert_eq!(app.count("users"), 1);
    assert_eq!(owner.get("/").user_name().as_deref(), Some("Ada Owner"));
}

fn an_unverified_email_does_not_pass_the_domain_gate(backend: Backend) {
    let fake = FakeProvider::start();
    let Some(app) = app_with(
        backend,
        &fake,
        &["GOOGLE"],
        &[("GATEHOUSE_EMAIL_DOMAINS", "example.com")],
    ) else {
        return;
    };
    fake.sign_in_as(FakeUser::new("g-7", "Outsider", "in@example.com").unverified());
    let b = app.browser();
    let page = through_provider(&b, "google", &[]);
    assert_refused_unverified(&app, &b, &page);
    assert_eq!(app.count("users"), 0);
    // The same address, verified, is let in.
    fake.sign_in_as(FakeUser::new("g-7", "Insider", "in@example.com"));
    assert_eq!(through_provider(&app.browser(), "google", &[]).status, 303);
    assert_eq!(app.count("users"), 1);
}

fn an_unverified_github_primary_email_makes_no_user(backend: Backend) {
    let fake = FakeProvider::start();
    let Some(app) = app_with(backend, &fake, &["GITHUB"], &[]) else {
        return;
    };
    // The verified address is not the primary one: neither counts.
    let mut u = octocat();
    u.emails = vec![
        ("octo@example.com".into(), true, false),
        ("other@example.com".into(), false, true),
    ];
    fake.sign_in_as(u);
    let b = app.browser();
    let page = through_provider(&b, "github", &[]);
    assert_refused_unverified(&app, &b, &page);
    assert_eq!(app.count("users"), 0);
}

/// The documented rule: a provider account already linked signs in by its
/// (provider, account id); the email it sends today plays no part.
fn a_linked_account_signs_in_whatever_its_email_says(backend: Backend) {
    let fake = FakeProvider::start();
    let Some(app) = app_with(backend, &fake, &["GOOGLE"], &[]) else {
        return;
    };
    fake.sign_in_as(FakeUser::new("g-5", "Linked Lin", "lin@example.com"));
    assert_eq!(through_provider(&app.browser(), "google", &[]).status, 303);
    fake.sign_in_as(FakeUser::new("g-5", "Linked Lin", "lin@example.com").unverified());
    let b = app.browser();
    let page = through_provider(&b, "google", &[]);
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(b.get("/").user_name().as_deref(), Some("Linked Lin"));
    assert_eq!(app.count("users"), 1);
    assert_eq!(app.count("accounts"), 1);
}

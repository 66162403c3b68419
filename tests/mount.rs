//! gatehouse mounted under `/auth` (`GATEHOUSE_MOUNT_PATH`, what an embedding
//! app sets as `config.mount`): every route, link, redirect, mail link, OAuth
//! callback and asset is under the prefix; the site's own `/` stays home.

mod common;

use diesel::prelude::*;
use gatehouse::db::schema::sessions;

use common::fake_provider::{FakeProvider, FakeUser};
use common::links::{assert_links_under_the_prefix, attribute_values, crawl};
use common::{Backend, PASSWORD, ROOT_ADMIN, TestApp};

on_both_backends!(
    sign_up_and_sign_in_happen_under_the_prefix,
    the_routes_are_not_at_the_site_root,
    every_link_a_visitor_or_an_admin_can_reach_is_under_the_prefix,
    a_protected_page_sends_to_the_prefixed_sign_in_and_back,
    a_stale_session_is_sent_to_the_prefixed_reauth,
    sign_out_ends_the_session_and_goes_to_the_site_home,
    the_reset_mail_links_under_the_prefix_and_works,
    the_oauth_round_trip_comes_back_under_the_prefix,
    the_assets_load_under_the_prefix,
    the_setup_link_is_under_the_prefix,
);

const MOUNT: &str = "/auth";
const NEW_PASSWORD: &str = "another horse staple 42";

fn mounted(backend: Backend, extra: &[(&str, &str)]) -> Option<TestApp> {
    let mut vars = vec![("GATEHOUSE_MOUNT_PATH", MOUNT)];
    vars.extend_from_slice(extra);
    TestApp::start_with(backend, &vars)
}

fn mounted_with_admin(backend: Backend) -> Option<TestApp> {
    TestApp::with_admin(backend, &[("GATEHOUSE_MOUNT_PATH", MOUNT)])
}

fn sign_up_and_sign_in_happen_under_the_prefix(backend: Backend) {
    let Some(app) = mounted(backend, &[]) else {
        return;
    };
    let b = app.browser();
    let form = b.get("/auth/signup");
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(
        form.body.contains("action=\"/auth/signup\""),
        "{}",
        form.body
    );
    let done = b.submit(
        "/auth/signup",
        &[
            ("name", "Ada"),
            ("email", "ada@example.com"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location().as_deref(), Some("/"), "home is the site's");
    assert_eq!(b.get("/auth/").user_name().as_deref(), Some("Ada"));
    assert_eq!(b.get("/auth").user_name().as_deref(), Some("Ada"));
    assert_eq!(
        b.get("/auth/api/auth/session").json()["user"]["name"],
        "Ada"
    );

    // The verification mail links under the prefix too, and works there.
    let mail = app.mailbox().wait_for("ada@example.com");
    assert!(
        mail.link()
            .starts_with(&format!("{}/auth/verify-email?token=", app.base)),
        "{}",
        mail.link()
    );
    let verified = b.get(&mail.path());
    assert_eq!(verified.status, 303, "{}", verified.body);
    assert_eq!(b.session_json()["user"]["email_verified"], true);

    let other = app.browser();
    let signin = other.get("/auth/signin?callbackUrl=%2Fauth%2Fsettings");
    assert_eq!(signin.status, 200);
    assert!(signin.body.contains("action=\"/auth/signin\""));
    let page = other.submit(
        "/auth/signin",
        &[
            ("email", "ada@example.com"),
            ("password", PASSWORD),
            ("callbackUrl", "/auth/settings"),
        ],
    );
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location().as_deref(), Some("/auth/settings"));
    assert_eq!(other.follow(&page).user_name().as_deref(), Some("Ada"));
    // A callback outside gatehouse, in the embedding app, is fine too.
    let third = app.browser();
    let page = third.submit(
        "/auth/signin",
        &[
            ("email", "ada@example.com"),
            ("password", PASSWORD),
            ("callbackUrl", "/dashboard?tab=1"),
        ],
    );
    assert_eq!(page.location().as_deref(), Some("/dashboard?tab=1"));
}

fn the_routes_are_not_at_the_site_root(backend: Backend) {
    let Some(app) = mounted(backend, &[]) else {
        return;
    };
    let b = app.browser();
    for path in [
        "/signin",
        "/signup",
        "/settings",
        "/api/auth/session",
        "/api/auth/csrf",
        "/healthz",
        "/static/app.css",
        "/setup",
        "/authx",
        "/auth/nowhere",
    ] {
        assert_eq!(b.get(path).status, 404, "{path}");
    }
    let page = b.send(|c| c.post(b.url("/signin")).form(&[("email", "x")]));
    assert!(page.status == 404 || page.status == 403, "{}", page.status);
    assert_eq!(b.get("/auth/healthz").json()["status"], "ok");
    // gatehouse's 404s: JSON under its API, a page (with its links) elsewhere.
    let api = b.get("/auth/api/auth/nowhere");
    assert_eq!(api.json()["error"], "not_found");
    let page = b.get("/auth/nowhere");
    assert!(page.body.contains("<html"), "{}", page.body);
    assert_links_under_the_prefix("/auth/nowhere", &page);
    assert!(page.body.contains("href=\"/auth/signin\""), "{}", page.body);
    // In another language too (the error page is rendered again).
    let de = b.send(|c| {
        c.get(b.url("/auth/nowhere"))
            .header("accept-language", "de")
    });
    assert_eq!(de.status, 404);
    assert!(de.body.contains("lang=\"de\""), "{}", de.body);
    assert_links_under_the_prefix("/auth/nowhere (de)", &de);
}

fn every_link_a_visitor_or_an_admin_can_reach_is_under_the_prefix(backend: Backend) {
    let Some(app) = mounted_with_admin(backend) else {
        return;
    };
    let _ada = app.signed_up("Ada", "ada@example.com");

    let visitor = app.browser();
    let seen = crawl(
        &visitor,
        &[
            "/auth/",
            "/auth/signin",
            "/auth/signup",
            "/auth/forgot-password",
            "/auth/signin/email",
            "/auth/reset-password?token=nope",
            "/auth/settings",
        ],
        60,
    );
    for path in ["/auth/signin", "/auth/signup", "/auth/forgot-password"] {
        assert!(seen.contains(path), "{path} not reached: {seen:?}");
    }

    let admin = app.signed_in(ROOT_ADMIN);
    let seen = crawl(
        &admin,
        &[
            "/auth/",
            "/auth/settings",
            "/auth/settings/sessions",
            "/auth/settings/security",
            "/auth/admin",
            "/auth/admin/audit",
            "/auth/reauth?callbackUrl=%2Fauth%2Fsettings",
        ],
        80,
    );
    assert!(
        seen.iter().any(|p| p.starts_with("/auth/admin/users/")),
        "no user page reached: {seen:?}"
    );
    // The forms a signed-in admin sees post under the prefix.
    let user_page = seen
        .iter()
        .find(|p| p.starts_with("/auth/admin/users/"))
        .unwrap();
    let page = admin.get(user_page);
    let actions = attribute_values(&page.body, "action");
    assert!(
        actions.iter().any(|a| a.starts_with("/auth/admin/users/")),
        "{actions:?}"
    );
    for action in actions {
        assert!(action.starts_with("/auth/"), "{action}");
    }
    let settings = admin.get("/auth/settings");
    assert!(settings.body.contains("action=\"/auth/signout\""));
    assert!(settings.body.contains("data-base=\"/auth\""));
}

fn a_protected_page_sends_to_the_prefixed_sign_in_and_back(backend: Backend) {
    let Some(app) = mounted(backend, &[]) else {
        return;
    };
    let _ada = app.signed_up("Ada", "ada@example.com");
    let b = app.browser();
    let page = b.get("/auth/settings/sessions");
    assert_eq!(page.status, 303);
    assert_eq!(
        page.location().as_deref(),
        Some("/auth/signin?callbackUrl=%2Fauth%2Fsettings%2Fsessions")
    );
    // In another language the answer is the same redirect.
    let de = b.send(|c| c.get(b.url("/auth/admin")).header("accept-language", "de"));
    assert_eq!(de.status, 303);
    assert_eq!(
        de.location().as_deref(),
        Some("/auth/signin?callbackUrl=%2Fauth%2Fadmin")
    );
    let form = b.follow(&page);
    assert_eq!(form.status, 200);
    assert!(
        form.body.contains("value=\"/auth/settings/sessions\""),
        "{}",
        form.body
    );
    let done = b.submit(
        "/auth/signin",
        &[
            ("email", "ada@example.com"),
            ("password", PASSWORD),
            ("callbackUrl", "/auth/settings/sessions"),
        ],
    );
    assert_eq!(done.location().as_deref(), Some("/auth/settings/sessions"));
    let sessions = b.follow(&done);
    assert_eq!(sessions.status, 200);
    assert_links_under_the_prefix("/auth/settings/sessions", &sessions);

    // A form's own redirect stays under the prefix.
    let saved = b.submit(
        "/auth/settings/profile",
        &[("name", "Ada L."), ("image", "")],
    );
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(
        saved.location().as_deref(),
        Some("/auth/settings?saved=profile")
    );
    let revoked = b.submit("/auth/settings/sessions/revoke-others", &[]);
    assert_eq!(
        revoked.location().as_deref(),
        Some("/auth/settings/sessions?revoked=others")
    );
}

fn a_stale_session_is_sent_to_the_prefixed_reauth(backend: Backend) {
    let Some(app) = mounted(backend, &[]) else {
        return;
    };
    let b = app.signed_up("Ada", "ada@example.com");
    // Signed in two hours ago: older than SESSION_FRESH_AGE.
    let two_hours_ago = chrono::Utc::now().naive_utc() - chrono::Duration::hours(2);
    app.with_conn(|conn| {
        diesel::update(sessions::table)
            .set(sessions::authenticated_at.eq(two_hours_ago))
            .execute(conn)
            .unwrap()
    });
    let page = b.submit(
        "/auth/settings/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", NEW_PASSWORD),
        ],
    );
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(
        page.location().as_deref(),
        Some("/auth/reauth?callbackUrl=%2Fauth%2Fsettings")
    );
    let form = b.follow(&page);
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(
        form.body.contains("action=\"/auth/reauth\""),
        "{}",
        form.body
    );
    let back = b.submit(
        "/auth/reauth",
        &[("password", PASSWORD), ("callbackUrl", "/auth/settings")],
    );
    assert_eq!(back.status, 303, "{}", back.body);
    assert_eq!(back.location().as_deref(), Some("/auth/settings"));
}

fn sign_out_ends_the_session_and_goes_to_the_site_home(backend: Backend) {
    let Some(app) = mounted(backend, &[]) else {
        return;
    };
    let b = app.signed_up("Ada", "ada@example.com");
    assert_eq!(app.session_count(), 1);
    let out = b.submit("/auth/signout", &[]);
    assert_eq!(out.status, 303, "{}", out.body);
    assert_eq!(out.location().as_deref(), Some("/"));
    assert!(b.session_json().is_null());
    assert_eq!(app.session_count(), 0);
    // The cookie is the site's, so the embedding app's routes see it.
    let again = app.browser();
    let page = again.submit(
        "/auth/signin",
        &[("email", "ada@example.com"), ("password", PASSWORD)],
    );
    let cookie = page
        .set_cookie("gatehouse_session")
        .expect("a session cookie");
    assert!(
        cookie.contains("Path=/;") || cookie.ends_with("Path=/"),
        "{cookie}"
    );
}

fn the_reset_mail_links_under_the_prefix_and_works(backend: Backend) {
    let Some(app) = mounted(backend, &[]) else {
        return;
    };
    let _ada = app.signed_up("Ada", "ada@example.com");
    app.mailbox().wait_for("ada@example.com");
    let b = app.browser();
    let asked = b.submit("/auth/forgot-password", &[("email", "ada@example.com")]);
    assert_eq!(asked.status, 200, "{}", asked.body);
    assert_links_under_the_prefix("/auth/forgot-password", &asked);
    let mail = app.mailbox().wait_for_nth("ada@example.com", 2);
    assert!(mail.subject.starts_with("Reset"), "{}", mail.subject);
    assert!(
        mail.link()
            .starts_with(&format!("{}/auth/reset-password?token=", app.base)),
        "{}",
        mail.link()
    );
    for link in mail
        .text
        .split_whitespace()
        .filter(|w| w.starts_with("http"))
    {
        assert!(link.starts_with(&format!("{}/auth/", app.base)), "{link}");
    }
    let form = b.get(&mail.path());
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("action=\"/auth/reset-password\""));
    let done = b.submit(
        "/auth/reset-password",
        &[("token", &mail.token()), ("new_password", NEW_PASSWORD)],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(b.session_json()["user"]["email"], "ada@example.com");
    let page = app.browser().submit(
        "/auth/signin",
        &[("email", "ada@example.com"), ("password", NEW_PASSWORD)],
    );
    assert_eq!(page.status, 303, "{}", page.body);
}

fn the_oauth_round_trip_comes_back_under_the_prefix(backend: Backend) {
    let fake = FakeProvider::start();
    let vars = fake.vars("GITHUB");
    let mut refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    refs.push(("GATEHOUSE_MOUNT_PATH", MOUNT));
    let Some(app) = TestApp::start_with(backend, &refs) else {
        return;
    };
    let callback = format!("{}/auth/api/auth/callback/github", app.base);
    let b = app.browser();
    let providers = b.get("/auth/api/auth/providers").json();
    assert_eq!(providers["github"]["callbackUrl"], callback.as_str());
    assert_eq!(
        providers["github"]["signinUrl"],
        format!("{}/auth/api/auth/signin/github", app.base).as_str()
    );
    let signin = b.get("/auth/signin");
    assert!(
        signin
            .body
            .contains("action=\"/auth/api/auth/signin/github\""),
        "{}",
        signin.body
    );

    fake.sign_in_as(FakeUser::new("4242", "Octo Cat", "octo@example.com"));
    let start = b.submit(
        "/auth/api/auth/signin/github",
        &[("callbackUrl", "/auth/settings")],
    );
    assert_eq!(start.status, 303, "{}", start.body);
    let to_provider = url::Url::parse(&start.location().unwrap()).unwrap();
    let redirect_uri = to_provider
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .map(|(_, v)| v.into_owned());
    assert_eq!(redirect_uri.as_deref(), Some(callback.as_str()));
    let at_provider = b.follow(&start);
    assert_eq!(at_provider.status, 302, "{}", at_provider.body);
    let back = at_provider.location().unwrap();
    assert!(back.starts_with(&callback), "{back}");
    let done = b.follow(&at_provider);
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location().as_deref(), Some("/auth/settings"));
    assert_eq!(b.get("/auth/").user_name().as_deref(), Some("Octo Cat"));
    let settings = b.get("/auth/settings");
    assert_links_under_the_prefix("/auth/settings", &settings);
}

fn the_assets_load_under_the_prefix(backend: Backend) {
    let Some(app) = mounted(backend, &[]) else {
        return;
    };
    let b = app.signed_up("Ada", "ada@example.com");
    let page = b.get("/auth/settings");
    let stylesheet = attribute_values(&page.body, "href")
        .into_iter()
        .find(|h| h.ends_with(".css"))
        .expect("a stylesheet");
    let script = attribute_values(&page.body, "src")
        .into_iter()
        .find(|s| s.ends_with(".js"))
        .expect("the live script");
    for (url, kind) in [(&stylesheet, "text/css"), (&script, "text/javascript")] {
        assert!(url.starts_with("/auth/static/"), "{url}");
        let asset = b.get(url);
        assert_eq!(asset.status, 200, "{url}");
        assert!(asset.header("content-type").unwrap().starts_with(kind));
        let plain = b.get(&url.replace("/auth", ""));
        assert_eq!(plain.status, 404, "{url} at the site root");
    }
    // The scripts learn the prefix from the page, never a fixed path.
    let live = b.get(&script).body;
    assert!(live.contains("data-base"), "live.js reads <html data-base>");
    assert!(live.contains("BASE + \"/api/auth/events\""));
    assert_eq!(b.get("/auth/static/app.css").status, 200);
    assert_eq!(b.get("/auth/static/passkeys.js").status, 200);
}

fn the_setup_link_is_under_the_prefix(backend: Backend) {
    let Some(app) = mounted(backend, &[]) else {
        return;
    };
    let link = app.startup.setup_link.clone().expect("a setup link");
    let prefix = format!("{}/auth/setup?token=", app.base);
    assert!(link.starts_with(&prefix), "{link}");
    let b = app.browser();
    let path = &link[app.base.len()..];
    let page = b.get(path);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("action=\"/auth/setup\""),
        "{}",
        page.body
    );
    assert_links_under_the_prefix("/auth/setup", &page);
}

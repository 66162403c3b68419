//! An app that embeds gatehouse under `/auth` (`config.mount`, here through
//! `GATEHOUSE_MOUNT_PATH`): its own pages stay where it put them, and the
//! ones that need sign-in send to gatehouse's prefixed sign-in page.

mod common;

use actix_web::{HttpResponse, web};
use common::embedded::EmbeddedApp;
use common::{Backend, PASSWORD};

on_both_backends!(an_embedding_apps_own_pages_send_to_the_prefixed_sign_in);

/// `Builder::mount`: a plain absolute path is taken; anything else fails the
/// build with one line, before the database is touched.
#[test]
fn the_builder_takes_a_plain_mount_path_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gatehouse.db");
    let config = || {
        common::TestApp::config_for(
            &format!("sqlite://{}", db.display()),
            &dir.path().join("gatehouse.secret"),
            &[],
            "127.0.0.1:0".parse().unwrap(),
        )
    };
    for bad in ["/a/../b", "https://evil.example/x", "/a b", "/a?x"] {
        let err = gatehouse::Gatehouse::builder(config())
            .mount(bad)
            .build()
            .expect_err(bad);
        assert!(err.starts_with("mount path"), "{bad}: {err}");
    }
    assert!(!db.exists(), "a refused mount opened the database");
    let built = gatehouse::Gatehouse::builder(config())
        .mount("/auth/")
        .build()
        .expect("build");
    assert_eq!(built.state().config.mount.as_str(), "/auth");
    assert_eq!(
        built.state().config.mount,
        gatehouse::MountPath::parse("/auth").unwrap()
    );
}

const MOUNT: &str = "/auth";

/// An app of its own with gatehouse at `/auth`: its home and one page that
/// needs sign-in.
struct NoCallbacks;
impl gatehouse::Callbacks for NoCallbacks {}

fn app_routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/",
        web::get().to(|| async { HttpResponse::Ok().body("the app's home") }),
    )
    .route(
        "/dashboard",
        web::get().to(|user: gatehouse::PageUser| async move {
            HttpResponse::Ok().body(format!("dashboard of {}", user.0.user.name))
        }),
    );
}

fn an_embedding_apps_own_pages_send_to_the_prefixed_sign_in(backend: Backend) {
    let Some(app) = EmbeddedApp::start(
        backend,
        &[("GATEHOUSE_MOUNT_PATH", MOUNT)],
        NoCallbacks,
        app_routes,
    ) else {
        return;
    };
    let b = app.browser().mounted_at(MOUNT);
    let page = b.get("/dashboard");
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(
        page.location().as_deref(),
        Some("/auth/signin?callbackUrl=%2Fdashboard")
    );
    assert_eq!(b.get("/").body, "the app's home");
    assert_eq!(b.get("/signin").status, 404);

    let done = b.submit(
        "/auth/signup",
        &[
            ("name", "Ada"),
            ("email", "ada@example.com"),
            ("password", PASSWORD),
            ("callbackUrl", "/dashboard"),
        ],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location().as_deref(), Some("/dashboard"));
    assert_eq!(b.follow(&done).body, "dashboard of Ada");
    // Signing out lands on the app's home, signed out.
    let out = b.submit("/auth/signout", &[]);
    assert_eq!(out.location().as_deref(), Some("/"));
    assert_eq!(b.follow(&out).body, "the app's home");
    assert_eq!(b.get("/dashboard").status, 303);
    assert_eq!(b.get("/auth/").status, 200);
}

//! An Actix app of the usual kind (server-rendered pages of its own) with
//! gatehouse added: its pages behind gatehouse's extractors, and a sign-in
//! gate of its own: only the team's email domain, and nobody the app has
//! offboarded.
//!
//! ```text
//! TEAM_DOMAIN=example.com cargo run --example team_app
//! ```
//!
//! then open <http://127.0.0.1:8080/>: sign up at `/auth/signup` with an
//! address at the team's domain, then visit `/wiki`. gatehouse's own pages
//! (sign-in, settings, admin) are mounted under [`MOUNT`], beside the app's.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use actix_web::{App, HttpResponse, HttpServer, web};
use gatehouse::{
    AdminPage, Callbacks, CsrfToken, Decision, Gatehouse, PageUser, PageViewer, SignInAttempt,
};

/// Where gatehouse's routes live in this app.
pub const MOUNT: &str = "/auth";

/// The app's own state: who has left the team.
#[derive(Clone, Default)]
pub struct Roster {
    offboarded: Arc<RwLock<HashSet<String>>>,
}

impl Roster {
    /// Refuses `email` from now on (its sessions are ended by the caller).
    pub fn offboard(&self, email: &str) {
        let mut set = self.offboarded.write().unwrap_or_else(|p| p.into_inner());
        set.insert(email.to_lowercase());
    }

    fn has_left(&self, email: &str) -> bool {
        let set = self.offboarded.read().unwrap_or_else(|p| p.into_inner());
        set.contains(email)
    }
}

/// The app's sign-in gate: the team's domain, and not offboarded.
pub struct TeamGate {
    /// The team's email domain (`example.com`).
    pub domain: String,
    /// The app's roster.
    pub roster: Roster,
}

impl Callbacks for TeamGate {
    fn sign_in(&self, attempt: &SignInAttempt<'_>) -> Decision {
        let domain = attempt.email.rsplit_once('@').map_or("", |(_, d)| d);
        if !domain.eq_ignore_ascii_case(&self.domain) {
            return Decision::Deny(format!(
                "Only addresses at {} can use the team wiki.",
                self.domain
            ));
        }
        if self.roster.has_left(attempt.email) {
            return Decision::Deny("You have left the team: ask an admin to return.".into());
        }
        Decision::Allow
    }
}

/// The app's routes. gatehouse's are mounted under [`MOUNT`] by
/// `gatehouse.configure()`.
pub fn routes(roster: Roster) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(roster.clone()))
            .route("/", web::get().to(home))
            .route("/wiki", web::get().to(wiki))
            .route("/team/offboard", web::post().to(offboard));
    }
}

fn page(title: &str, body: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><html lang=\"en\"><title>{title}</title><h1>{title}</h1>{body}</html>"
        ))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Anyone: a greeting for the signed in, a way in for the others.
async fn home(viewer: PageViewer) -> HttpResponse {
    match viewer.0 {
        Some(s) => page(
            "Team wiki",
            &format!(
                "<p id=\"who\">Signed in as {}</p><a href=\"/wiki\">Wiki</a>",
                escape(&s.user.name)
            ),
        ),
        None => page(
            "Team wiki",
            "<a href=\"/auth/signin?callbackUrl=/wiki\">Sign in</a> or <a href=\"/auth/signup\">sign up</a>",
        ),
    }
}

/// Signed in only: anonymous visitors are sent to sign in and come back.
async fn wiki(user: PageUser) -> HttpResponse {
    page(
        "Wiki",
        &format!("<p id=\"who\">{}'s wiki</p>", escape(&user.0.user.name)),
    )
}

#[derive(serde::Deserialize)]
struct Offboard {
    email: String,
}

/// Admins only (CSRF checked by gatehouse's middleware): refuses the
/// address from now on and ends its sessions.
async fn offboard(
    _admin: AdminPage,
    _csrf: CsrfToken,
    form: web::Form<Offboard>,
    roster: web::Data<Roster>,
    gatehouse: Gatehouse,
) -> Result<HttpResponse, gatehouse::AppError> {
    let email = form.email.trim().to_lowercase();
    roster.offboard(&email);
    let target = email.clone();
    let user = gatehouse
        .db()
        .run(move |conn| {
            use diesel::prelude::*;
            use gatehouse::db::schema::{sessions, users};
            let id: Option<i64> = users::table
                .filter(users::email.eq(&target))
                .select(users::id)
                .first(conn)
                .optional()?;
            if let Some(id) = id {
                diesel::delete(sessions::table.filter(sessions::user_id.eq(id))).execute(conn)?;
            }
            Ok(id)
        })
        .await?;
    if let Some(id) = user {
        gatehouse.sessions_ended(id).await;
    }
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", "/"))
        .finish())
}

fn main() -> std::io::Result<()> {
    let domain = std::env::var("TEAM_DOMAIN").unwrap_or_else(|_| "example.com".into());
    let roster = Roster::default();
    let gatehouse = Gatehouse::from_env()
        .and_then(|b| {
            b.mount(MOUNT)
                .callbacks(TeamGate {
                    domain,
                    roster: roster.clone(),
                })
                .build()
        })
        .map_err(std::io::Error::other)?;
    gatehouse::logging::init(gatehouse.state().config.running.log_format);
    let addr = gatehouse.state().config.addr;
    log::info!("team wiki on http://{addr}/");
    let app_routes = routes(roster);
    actix_web::rt::System::new().block_on(
        HttpServer::new(move || {
            App::new()
                .wrap(gatehouse.middleware())
                .configure(app_routes.clone())
                .configure(gatehouse.configure())
        })
        .bind(addr)?
        .run(),
    )
}

//! A JSON API of the app's own (notes), with gatehouse for accounts and
//! sessions: the API's handlers take gatehouse's extractors, the session
//! view carries an app field (how many notes the user has), and a sign-up
//! event gives each new user a welcome note.
//!
//! ```text
//! cargo run --example json_api
//! ```
//!
//! A client signs up or in through gatehouse (`/signup`, `/signin`, or a
//! provider), then calls the API with its session cookie; a state change
//! also sends `X-CSRF-Token` (from `GET /api/auth/csrf`):
//!
//! ```text
//! GET  /api/notes          the user's notes (401 when not signed in)
//! POST /api/notes          {"text": "…"} adds one (201)
//! GET  /api/notes/stats    everyone's note count (permission notes:stats)
//! GET  /api/auth/session   gatehouse's session, with "app": {"notes": N}
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpResponse, HttpServer, web};
use gatehouse::{
    ApiUser, AppFields, Callbacks, Enrichment, EventKind, Gatehouse, Notification,
    RequirePermission, SignedIn,
};

gatehouse::permission!(pub NotesStats = "notes:stats");

/// The app's own data: notes by user id (a real app keeps them in its
/// database).
#[derive(Clone, Default)]
pub struct Notes(Arc<Mutex<HashMap<i64, Vec<String>>>>);

impl Notes {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<i64, Vec<String>>) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// The app's callbacks: the note count in the session view, and a welcome
/// note for each new account.
pub struct NotesCallbacks(pub Notes);

impl Callbacks for NotesCallbacks {
    fn enrich_session(&self, session: &SignedIn, _db: &gatehouse::db::Db) -> Option<Enrichment> {
        // In memory, so no query: the view costs what it did.
        let count = self.0.with(|n| n.get(&session.user.id).map_or(0, Vec::len));
        let mut fields = AppFields::new();
        fields.insert("notes".into(), count.into());
        Some(Box::pin(std::future::ready(Ok(fields))))
    }

    fn event(&self, event: &Notification) {
        if let (EventKind::SignUp, Some(user)) = (event.kind, event.user_id) {
            self.0.with(|n| {
                n.entry(user)
                    .or_default()
                    .push("Welcome! This is your first note.".into())
            });
        }
    }
}

/// The API's routes.
pub fn routes(notes: Notes) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(notes.clone()))
            .route("/api/notes", web::get().to(list))
            .route("/api/notes", web::post().to(add))
            .route("/api/notes/stats", web::get().to(stats));
    }
}

async fn list(user: ApiUser, notes: web::Data<Notes>) -> HttpResponse {
    let mine = notes.with(|n| n.get(&user.0.user.id).cloned().unwrap_or_default());
    HttpResponse::Ok().json(serde_json::json!({ "notes": mine }))
}

#[derive(serde::Deserialize)]
struct NewNote {
    text: String,
}

async fn add(
    user: ApiUser,
    notes: web::Data<Notes>,
    body: web::Json<NewNote>,
) -> Result<HttpResponse, gatehouse::AppError> {
    let text = body.text.trim();
    if text.is_empty() || text.chars().count() > 1000 {
        return Err(gatehouse::AppError::invalid(
            "text",
            gatehouse::i18n::Msg::Text("a note is 1 to 1000 characters".into()),
        ));
    }
    notes.with(|n| n.entry(user.0.user.id).or_default().push(text.to_owned()));
    Ok(HttpResponse::Created().json(serde_json::json!({ "text": text })))
}

async fn stats(_user: RequirePermission<NotesStats>, notes: web::Data<Notes>) -> HttpResponse {
    let total: usize = notes.with(|n| n.values().map(Vec::len).sum());
    HttpResponse::Ok().json(serde_json::json!({ "notes": total }))
}

fn main() -> std::io::Result<()> {
    let notes = Notes::default();
    let gatehouse = Gatehouse::from_env()
        .and_then(|b| b.callbacks(NotesCallbacks(notes.clone())).build())
        .map_err(std::io::Error::other)?;
    gatehouse::logging::init(gatehouse.state().config.running.log_format);
    let addr = gatehouse.state().config.addr;
    log::info!("notes API on http://{addr}/api/notes");
    let api = routes(notes);
    actix_web::rt::System::new().block_on(
        HttpServer::new(move || {
            App::new()
                .wrap(gatehouse.middleware())
                .configure(gatehouse.configure())
                .configure(api.clone())
        })
        .bind(addr)?
        .run(),
    )
}

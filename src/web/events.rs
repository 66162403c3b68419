//! `GET /api/auth/events`: the signed-in session's live updates as server-sent
//! events (SPEC "Live updates").
//!
//! The stream opens with `event: session` (the JSON of `GET /api/auth/session`).
//! Then it follows its session's view on the hub ([`crate::events`]): the
//! session's one watcher reads the session again when a change concerns it
//! (once for every stream of the session), and the stream sends
//! `event: session` with what it found, or `event: signout` with the reason
//! when the session no longer reads, and closes. The watcher's timer ends it
//! with `expired` at the session's expiry and sends the fresh session when the
//! plan ends by itself. A comment line goes out every `EVENTS_KEEPALIVE`. A
//! stream holds no database connection and never polls.

use std::convert::Infallible;
use std::time::Duration;

use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use tokio::time::Instant;

use crate::AppState;
use crate::error::AppError;
use crate::events::{Reason, Subscription, View};
use crate::session::LoadedSession;
use crate::session::extract::MaybeUser;

/// How long a client waits before reconnecting after the stream ended
/// (`retry:`), in milliseconds.
const RETRY_MS: u64 = 3_000;

/// `404` when live updates are off, `401` anonymous, `503` with `Retry-After`
/// past `EVENTS_MAX_STREAMS`; the stream otherwise.
pub async fn stream(
    viewer: MaybeUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    if !state.events.is_on() {
        return Err(AppError::NotFound);
    }
    let Some(signed_in) = viewer.0 else {
        return Err(AppError::Unauthorized);
    };
    let seed = LoadedSession {
        session_id: signed_in.session_id,
        user: signed_in.user,
        expires_at: signed_in.expires_at,
        extended: false,
        impersonator_id: signed_in.impersonator_id,
        authenticated_at: signed_in.authenticated_at,
        aal: signed_in.aal,
    };
    let Some(subscription) = state.events.subscribe(seed) else {
        return Ok(HttpResponse::ServiceUnavailable()
            .insert_header((actix_web::http::header::RETRY_AFTER, "5"))
            .json(serde_json::json!({
                "error": "unavailable",
                "message": "Too many live update streams are open; try again in a moment.",
            })));
    };
    // The watcher's view when the session already has one (another tab),
    // else what this request read.
    let (first, done) = event_of(&subscription.first);
    subscription.hub().count_sent();
    let live = Live {
        subscription,
        keepalive: state.config.running.events_keepalive,
        next_ping: Instant::now() + state.config.running.events_keepalive,
        first: Some(format!("retry: {RETRY_MS}\n{first}")),
        done,
    };
    let body = futures_util::stream::unfold(live, |live| live.next());
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}

fn session_event(json: &str) -> String {
    format!("event: session\ndata: {json}\n\n")
}

fn signout_event(reason: Reason) -> String {
    format!(
        "event: signout\ndata: {{\"reason\":\"{}\"}}\n\n",
        reason.as_str()
    )
}

/// The event that tells `view`; whether the stream ends after it.
fn event_of(view: &View) -> (String, bool) {
    match view {
        View::Standing(s) => (
            session_event(&super::api::session_body(&s.user, s.expires_at, None)),
            false,
        ),
        View::Ended(reason) => (signout_event(*reason), true),
    }
}

/// One stream's state between events.
struct Live {
    subscription: Subscription,
    keepalive: Duration,
    next_ping: Instant,
    first: Option<String>,
    done: bool,
}

/// What woke the stream.
enum Wake {
    Ping,
    Close,
    /// The session's view changed.
    View(View),
}

impl Live {
    /// The next chunk of the body, or `None` to end it.
    async fn next(mut self) -> Option<(Result<Bytes, Infallible>, Live)> {
        if let Some(first) = self.first.take() {
            return Some((Ok(Bytes::from(first)), self));
        }
        if self.done {
            return None;
        }
        let chunk = match self.wait().await {
            Wake::Close => return None,
            Wake::Ping => ": ping\n\n".to_owned(),
            Wake::View(view) => {
                let (event, done) = event_of(&view);
                self.done = done;
                self.subscription.hub().count_sent();
                event
            }
        };
        self.next_ping = Instant::now() + self.keepalive;
        Some((Ok(Bytes::from(chunk)), self))
    }

    /// Waits for the session's next view, the next ping or shutdown.
    async fn wait(&mut self) -> Wake {
        if *self.subscription.closing.borrow() {
            return Wake::Close;
        }
        let Subscription { views, closing, .. } = &mut self.subscription;
        tokio::select! {
            _ = closing.changed() => Wake::Close,
            _ = tokio::time::sleep_until(self.next_ping) => Wake::Ping,
            changed = views.changed() => match changed {
                Ok(()) => Wake::View(views.borrow_and_update().clone()),
                // The watcher ended without a view to give (the database did
                // not answer): end; the client reconnects and is told what
                // stands then.
                Err(_) => Wake::Close,
            },
        }
    }
}

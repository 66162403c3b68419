//! `GET /api/auth/events`: the signed-in session's live updates as server-sent
//! events (SPEC "Live updates").
//!
//! The stream opens with `event: session` (the JSON of `GET /api/auth/session`).
//! Then it waits on the hub ([`crate::events`]): a change that concerns this
//! session or its user makes it read the session again (the one join, by id,
//! on a blocking thread) and send `event: session` with what it found, or
//! `event: signout` with the reason when the session no longer reads, and
//! close. A timer ends it with `expired` at the session's expiry, and a
//! comment line goes out every `EVENTS_KEEPALIVE`. A stream holds no database
//! connection between changes and never polls.

use std::convert::Infallible;
use std::time::Duration;

use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use crate::AppState;
use crate::error::AppError;
use crate::events::{Reason, Subscription};
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
    let Some(subscription) = state.events.subscribe() else {
        return Ok(HttpResponse::ServiceUnavailable()
            .insert_header((actix_web::http::header::RETRY_AFTER, "5"))
            .json(serde_json::json!({
                "error": "unavailable",
                "message": "Too many live update streams are open; try again in a moment.",
            })));
    };
    let first = format!(
        "retry: {RETRY_MS}\n{}",
        session_event(&super::api::session_body(
            &signed_in.user,
            signed_in.expires_at
        ))
    );
    subscription.hub().count_sent();
    let live = Live {
        state: state.clone(),
        subscription,
        session_id: signed_in.session_id,
        user_id: signed_in.user.id,
        impersonator_id: signed_in.impersonator_id,
        expires_at: signed_in.expires_at,
        keepalive: state.config.running.events_keepalive,
        next_ping: Instant::now() + state.config.running.events_keepalive,
        first: Some(first),
        done: false,
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

/// One stream's state between events.
struct Live {
    state: web::Data<AppState>,
    subscription: Subscription,
    session_id: i64,
    user_id: i64,
    impersonator_id: Option<i64>,
    expires_at: DateTime<Utc>,
    keepalive: Duration,
    next_ping: Instant,
    first: Option<String>,
    done: bool,
}

/// What woke the stream.
enum Wake {
    Ping,
    Close,
    /// Read the session again; the reason to give if it no longer reads.
    Recheck(Option<Reason>),
}

/// What the session read as.
enum Fresh {
    Session(String),
    Ended(Reason),
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
        let wake = self.wait().await;
        let chunk = match wake {
            Wake::Close => return None,
            Wake::Ping => ": ping\n\n".to_owned(),
            Wake::Recheck(hint) => match self.reload(hint).await {
                Some(Fresh::Session(json)) => session_event(&json),
                Some(Fresh::Ended(reason)) => {
                    self.done = true;
                    signout_event(reason)
                }
                // The database did not answer: end the stream; the client
                // reconnects and is told what stands then.
                None => return None,
            },
        };
        if !matches!(wake, Wake::Ping) {
            self.subscription.hub().count_sent();
        }
        self.next_ping = Instant::now() + self.keepalive;
        Some((Ok(Bytes::from(chunk)), self))
    }

    /// Waits for a change that concerns this session, the expiry, the next
    /// ping or shutdown.
    async fn wait(&mut self) -> Wake {
        let expiry = expiry_instant(self.expires_at);
        loop {
            if *self.subscription.closing.borrow() {
                return Wake::Close;
            }
            tokio::select! {
                _ = self.subscription.closing.changed() => return Wake::Close,
                _ = tokio::time::sleep_until(self.next_ping) => return Wake::Ping,
                _ = tokio::time::sleep_until(expiry) => return Wake::Recheck(None),
                change = self.subscription.changes.recv() => match change {
                    Ok(c) => {
                        if let Some(hint) =
                            c.concerns(self.session_id, self.user_id, self.impersonator_id)
                        {
                            return Wake::Recheck(hint);
                        }
                    }
                    // Fell behind: something of ours may be among the missed.
                    Err(RecvError::Lagged(_)) => return Wake::Recheck(None),
                    Err(RecvError::Closed) => return Wake::Close,
                },
            }
        }
    }

    /// Reads the session again; `None` when the database did not answer.
    async fn reload(&mut self, hint: Option<Reason>) -> Option<Fresh> {
        let id = self.session_id;
        let found = self
            .state
            .db
            .run(move |conn| Ok(crate::session::reload(conn, id)?))
            .await
            .ok()?;
        Some(match found {
            Some(s) => {
                self.expires_at = s.expires_at;
                self.user_id = s.user.id;
                self.impersonator_id = s.impersonator_id;
                Fresh::Session(super::api::session_body(&s.user, s.expires_at))
            }
            None if Utc::now() >= self.expires_at => Fresh::Ended(Reason::Expired),
            None => Fresh::Ended(hint.unwrap_or(Reason::Revoked)),
        })
    }
}

/// When the session's expiry comes, on the runtime's clock (just after it, so
/// the session reads as expired then).
fn expiry_instant(expires_at: DateTime<Utc>) -> Instant {
    let left = (expires_at - Utc::now())
        .to_std()
        .unwrap_or(Duration::ZERO)
        .min(Duration::from_secs(366 * 86_400));
    Instant::now() + left + Duration::from_millis(50)
}

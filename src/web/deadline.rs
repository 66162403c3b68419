//! `GATEHOUSE_RESPONSE_TIMEOUT` as a middleware: a request not answered
//! within it gets `503` with `Retry-After` (see [`crate::deadline`] for what
//! happens to its unfinished work).

use std::time::{Duration, Instant};

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::Data;

use crate::AppState;
use crate::error::{AppError, PageError};

/// Used when the state is missing (never in gatehouse's own app).
const DEFAULT: Duration = Duration::from_secs(10);

pub async fn answer_in_time(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let budget = req
        .app_data::<Data<AppState>>()
        .map_or(DEFAULT, |s| s.config.running.response_timeout);
    // Taken now: the request itself goes to the handler (and cannot be
    // cloned before routing).
    let api = super::is_api_path(&super::mount_of(req.request()), req.path());
    let what = format!("{} {}", req.method(), req.path());
    let answer = crate::deadline::scope(Instant::now() + budget, next.call(req));
    match tokio::time::timeout(budget, answer).await {
        Ok(res) => res,
        Err(_) => {
            // The path only: a query string may carry a token.
            log::warn!("{what} not answered within GATEHOUSE_RESPONSE_TIMEOUT ({budget:?}): 503");
            Err(if api {
                AppError::Unavailable.into()
            } else {
                PageError(AppError::Unavailable).into()
            })
        }
    }
}

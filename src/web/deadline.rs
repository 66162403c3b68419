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
    let state = req.app_data::<Data<AppState>>().cloned();
    let budget = state
        .as_ref()
        .map_or(DEFAULT, |s| s.config.running.response_timeout);
    // Kept for a refusal (the request itself goes to the handler and cannot
    // be cloned before routing): cheap reference-counted copies, so the hot
    // path formats nothing.
    let (method, uri) = (req.method().clone(), req.uri().clone());
    let answer = crate::deadline::scope(Instant::now() + budget, next.call(req));
    match tokio::time::timeout(budget, answer).await {
        Ok(res) => res,
        Err(_) => {
            let path = uri.path();
            // The path only: a query string may carry a token.
            log::warn!(
                "{method} {path} not answered within GATEHOUSE_RESPONSE_TIMEOUT ({budget:?}): 503"
            );
            let mount = state.map(|s| s.config.mount.clone()).unwrap_or_default();
            Err(if super::is_api_path(&mount, path) {
                AppError::Unavailable.into()
            } else {
                PageError(AppError::Unavailable).into()
            })
        }
    }
}

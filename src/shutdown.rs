//! Graceful shutdown: on `SIGTERM` or `SIGINT` the servers stop accepting
//! (their listening sockets close, so a new connection is refused and a load
//! balancer moves on), every request already read is answered, idle
//! keep-alive connections are closed, and whatever is still running when
//! `GATEHOUSE_SHUTDOWN_TIMEOUT` ends is cut. The process then exits `0`.
//!
//! actix-server's own handling treats `SIGINT` as a forced stop; the servers
//! are built with `disable_signals()` and stopped from here instead, so both
//! signals drain the same way.

use actix_web::dev::ServerHandle;
use actix_web::rt::signal::unix::{SignalKind, signal};
use futures_util::future::{Either, join_all, select};

/// Waits for `SIGTERM` or `SIGINT` and answers its name. Installs the
/// handlers when first polled.
pub async fn signal_received() -> std::io::Result<&'static str> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(
        match select(Box::pin(term.recv()), Box::pin(int.recv())).await {
            Either::Left(_) => "SIGTERM",
            Either::Right(_) => "SIGINT",
        },
    )
}

/// On `SIGTERM` or `SIGINT`, ends every live-update stream of `events` (so
/// they do not hold the drain), stops every server in `servers` gracefully
/// (each within its own shutdown timeout) and returns when they have stopped.
pub async fn stop_on_signal(
    servers: Vec<ServerHandle>,
    timeout: std::time::Duration,
    events: crate::events::Hub,
) {
    match signal_received().await {
        Ok(name) => log::info!(
            "{name} received: no new connections; requests in flight have up to {}s to finish",
            timeout.as_secs()
        ),
        Err(e) => {
            // Without handlers the default action (exit) still applies.
            log::warn!("cannot watch for SIGTERM/SIGINT ({e}); they will stop the process at once");
            return;
        }
    }
    events.close_all();
    join_all(servers.iter().map(|s| s.stop(true))).await;
}

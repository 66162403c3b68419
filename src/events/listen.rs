//! The instance's one `LISTEN gatehouse_events` connection (PostgreSQL): a
//! dedicated tokio-postgres connection, not from the pool, on a thread of its
//! own. Every notification it receives becomes a [`Change`] in the local
//! broadcast. When the connection drops it reconnects with backoff, then asks
//! every watched session to be read again (notifications may have been missed
//! meanwhile).

use std::str::FromStr;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{broadcast, oneshot};
use tokio_postgres::config::SslMode;
use tokio_postgres::{AsyncMessage, NoTls};

use super::{CHANNEL, Change};

/// How long a start waits for the first `LISTEN` before serving anyway.
const FIRST_LISTEN: Duration = Duration::from_secs(5);
const BACKOFF_MIN: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// The running listener; dropping it ends the thread.
pub(super) struct Listener {
    _stop: oneshot::Sender<()>,
}

impl Listener {
    /// Starts the listener for `url`, waiting up to [`FIRST_LISTEN`] for it to
    /// listen. `None` when the URL cannot be used without TLS (cross-instance
    /// updates are then off; a stream still hears this instance's changes).
    pub(super) fn start(url: &str, tx: broadcast::Sender<Change>) -> Option<Listener> {
        let config = tokio_postgres::Config::from_str(url).ok()?;
        if config.get_ssl_mode() == SslMode::Require {
            log::warn!(
                "live updates: the LISTEN connection needs TLS (sslmode=require), which it does not \
                 speak; events reach the streams of the instance that made the change only"
            );
            return None;
        }
        let (stop, stopped) = oneshot::channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("gatehouse-listen".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        log::error!("live updates: cannot start the LISTEN thread: {e}");
                        return;
                    }
                };
                runtime.block_on(async move {
                    tokio::select! {
                        _ = stopped => {}
                        _ = run(config, tx, ready_tx) => {}
                    }
                });
            });
        if let Err(e) = spawned {
            log::error!("live updates: cannot start the LISTEN thread: {e}");
            return None;
        }
        if ready_rx.recv_timeout(FIRST_LISTEN).is_err() {
            log::warn!("live updates: not listening yet; retrying in the background");
        }
        Some(Listener { _stop: stop })
    }
}

/// Connects, listens and forwards, for ever; reconnects with backoff.
async fn run(
    config: tokio_postgres::Config,
    tx: broadcast::Sender<Change>,
    ready: std::sync::mpsc::Sender<()>,
) {
    let mut backoff = BACKOFF_MIN;
    let mut first = true;
    loop {
        let listened = std::cell::Cell::new(false);
        // Every listen but the very first may have missed notifications.
        let outcome = listen_once(&config, &tx, &ready, !first, &listened).await;
        first = false;
        if listened.get() {
            backoff = BACKOFF_MIN;
        }
        match outcome {
            Ok(()) => log::warn!("live updates: the LISTEN connection ended; reconnecting"),
            Err(e) => log::warn!(
                "live updates: LISTEN connection failed ({e}); retrying in {}ms",
                backoff.as_millis()
            ),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// One connection's life; `listened` is set once `LISTEN` succeeded.
async fn listen_once(
    config: &tokio_postgres::Config,
    tx: &broadcast::Sender<Change>,
    ready: &std::sync::mpsc::Sender<()>,
    recheck: bool,
    listened: &std::cell::Cell<bool>,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
    let forward = async {
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => match Change::parse(n.payload()) {
                    Some(change) => {
                        let _ = tx.send(change);
                    }
                    None => log::debug!("live updates: ignored a notification"),
                },
                Ok(_) => {}
                Err(e) => {
                    log::warn!("live updates: LISTEN connection lost: {e}");
                    return;
                }
            }
        }
    };
    let subscribe = async {
        client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
        listened.set(true);
        let _ = ready.send(());
        if recheck {
            let _ = tx.send(Change::Recheck);
        }
        // Keep the client (and so the connection) open.
        std::future::pending::<()>().await;
        Ok::<(), tokio_postgres::Error>(())
    };
    tokio::select! {
        _ = forward => Ok(()),
        r = subscribe => r,
    }
}

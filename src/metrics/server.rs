//! The metrics listener: `GET /metrics` on `GATEHOUSE_METRICS_ADDR`, nothing
//! else (404), one worker. It is never mounted on the main listener, which the
//! public reaches.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{App, HttpResponse, HttpServer, web};

use super::Metrics;

/// The content type of the Prometheus text format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Serves `metrics` on `listener`. Signals are not watched here: stop it
/// through its handle, beside the main server (see `shutdown`).
pub fn metrics_server(metrics: Metrics, listener: TcpListener) -> std::io::Result<Server> {
    let metrics = web::Data::new(metrics);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(metrics.clone())
            .route("/metrics", web::get().to(scrape))
            .default_service(web::to(HttpResponse::NotFound))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?
    .run())
}

async fn scrape(metrics: web::Data<Metrics>) -> HttpResponse {
    // Reading the pool's state takes its lock; the encoding is in memory.
    HttpResponse::Ok()
        .content_type(TEXT_FORMAT)
        .insert_header(("cache-control", "no-store"))
        .body(metrics.render())
}

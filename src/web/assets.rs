//! `/static/…`: the stylesheet and the live-updates script. At the hashed URL
//! the bytes never change, so browsers keep them for a year; the plain URL
//! is revalidated after five minutes. A hash that is not the current one is
//! an unknown path (404).

use actix_web::{HttpResponse, web};

use crate::assets::{Asset, LIVE_SCRIPT, PASSKEY_SCRIPT, STYLESHEET};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const SHORT: &str = "public, max-age=300";

fn serve(asset: &'static Asset, cache_control: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(asset.content_type)
        .insert_header(("Cache-Control", cache_control))
        .body(asset.bytes)
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    for asset in [&*STYLESHEET, &*LIVE_SCRIPT, &*PASSKEY_SCRIPT] {
        cfg.route(
            &asset.hashed,
            web::get().to(move || async move { serve(asset, IMMUTABLE) }),
        )
        .route(
            asset.plain,
            web::get().to(move || async move { serve(asset, SHORT) }),
        );
    }
}

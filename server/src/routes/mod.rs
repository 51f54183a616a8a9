//! The JSON API under `/api` and the web app with its SPA fallback.

mod bars;
pub mod guard;
mod health;
mod import;
mod jobs;
mod models;
mod predictions;
mod reference;
mod shares;
mod spa;
mod symbols;

use crate::error::AppError;
use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tower_http::trace::TraceLayer;

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/health", get(health::health))
        .route("/data/health", get(health::data))
        .route("/reference", post(reference::reference))
        .route("/symbols", get(symbols::list))
        .route("/symbols/{symbol}", get(symbols::one))
        .route("/symbols/{symbol}/bars", get(bars::bars))
        .route(
            "/import",
            // Multipart framing on top of the file itself.
            post(import::import).layer(DefaultBodyLimit::max(crate::limits::upload_body_limit(
                state.max_upload,
            ))),
        )
        .route("/models", get(models::list))
        .route("/models/{id}/card", get(models::card))
        .route("/models/{id}/{part}/{file}", get(models::file))
        .route(
            "/shares",
            post(shares::create).layer(DefaultBodyLimit::max(kxian_shared::api::SHARE_MAX_BYTES)),
        )
        .route("/shares/{id}", get(shares::get))
        .route("/predictions", get(predictions::list))
        .route("/predictions/{id}", get(predictions::one))
        .route("/predictions/{id}/rows.csv", get(predictions::csv))
        .route("/predictions/{id}/rows.parquet", get(predictions::parquet))
        .route("/predictions/{id}/evaluation", get(predictions::evaluation))
        .route("/session", post(jobs::login).delete(jobs::logout))
        .route("/me", get(jobs::me))
        .route("/me/secrets/{name}", axum::routing::put(jobs::put_secret))
        .route("/jobs", post(jobs::create).get(jobs::list))
        .route("/jobs/{id}", get(jobs::one))
        .route("/jobs/{id}/cancel", post(jobs::cancel))
        .route("/jobs/{id}/retry", post(jobs::retry))
        .route("/jobs/{id}/events", get(jobs::events))
        .route("/jobs/{id}/log", get(jobs::log))
        .fallback(|| async { AppError::NotFound("no such API endpoint".into()) });
    let router = Router::new()
        .nest("/api", api)
        .fallback_service(spa::service(&state.dist))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .with_state(state);
    guard::with_security_headers(router).layer(TraceLayer::new_for_http())
}

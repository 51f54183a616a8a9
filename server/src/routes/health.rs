use crate::error::AppError;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use kxian_shared::api::Health;

pub(super) async fn health(State(state): State<AppState>) -> Result<Json<Health>, AppError> {
    let (symbols, series, bars) = state.store.counts().await?;
    Ok(Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        symbols,
        series,
        bars,
    }))
}

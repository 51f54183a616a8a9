//! Stored prediction sets: listed, described, served as CSV and evaluated against the store's
//! bars, each only to whoever may see it (its owner, an admin, anyone for a public set). A set
//! another user owns does not exist for the caller (404), as for series.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use kxian_shared::api::{PredictionSetInfo, PredictionSetList};
use kxian_shared::predictions::evaluate::{PredictionReport, report};
use kxian_shared::{Adjustment, Frequency, Symbol};

use crate::caller::Reader;
use crate::error::AppError;
use crate::state::AppState;
use crate::storage::Viewer;

pub(super) async fn list(
    State(state): State<AppState>,
    Reader(viewer): Reader,
) -> Result<Json<PredictionSetList>, AppError> {
    Ok(Json(PredictionSetList {
        sets: state.store.prediction_sets(viewer).await?,
    }))
}

async fn visible(state: &AppState, viewer: Viewer, id: i64) -> Result<PredictionSetInfo, AppError> {
    state
        .store
        .prediction_set(viewer, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("prediction set {id} does not exist")))
}

pub(super) async fn one(
    State(state): State<AppState>,
    Reader(viewer): Reader,
    Path(id): Path<i64>,
) -> Result<Json<PredictionSetInfo>, AppError> {
    Ok(Json(visible(&state, viewer, id).await?))
}

/// The set's rows as the CSV `kxian-trainer predict` writes.
pub(super) async fn csv(
    State(state): State<AppState>,
    Reader(viewer): Reader,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let set = visible(&state, viewer, id).await?;
    let rows = state.store.prediction_rows(&set).await?;
    let mut text = String::with_capacity(rows.len() * 100 + 80);
    text.push_str(set.kind.header());
    text.push('\n');
    for r in &rows {
        text.push_str(&r.to_csv());
        text.push('\n');
    }
    let mut resp = text.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"predictions-{}.csv\"",
        set.id
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// The set as the Parquet file the trainer wrote (the CSV's columns typed, and Kronos's path
/// returns as a list).
pub(super) async fn parquet(
    State(state): State<AppState>,
    Reader(viewer): Reader,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let set = visible(&state, viewer, id).await?;
    let bytes = state.store.prediction_parquet(&set).await?.ok_or_else(|| {
        AppError::NotFound(format!(
            "prediction set {id} was stored without a Parquet file"
        ))
    })?;
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.apache.parquet"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"predictions-{}.parquet\"",
        set.id
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// The set against the store's daily bars of its symbols (as the caller sees them), with the
/// baselines.
pub(super) async fn evaluation(
    State(state): State<AppState>,
    Reader(viewer): Reader,
    Path(id): Path<i64>,
) -> Result<Json<PredictionReport>, AppError> {
    let set = visible(&state, viewer, id).await?;
    let rows = state.store.prediction_rows(&set).await?;
    let adjustment: Adjustment = set.params["universe"]["adjustment"]
        .as_str()
        .and_then(|a| a.parse().ok())
        .unwrap_or(Adjustment::None);
    let symbols: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r.symbol.as_str()).collect();
    let mut bars = BTreeMap::new();
    for s in symbols {
        let Ok(sym) = s.parse::<Symbol>() else {
            continue;
        };
        if let Some(range) = state
            .store
            .bars_for(
                &viewer,
                &sym,
                Frequency::Daily,
                adjustment,
                None,
                None,
                u32::MAX,
            )
            .await?
        {
            bars.insert(s.to_string(), range.bars);
        }
    }
    Ok(Json(report(set.kind, &rows, &bars, None)))
}

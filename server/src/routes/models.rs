//! `GET /api/models`, the model files (hash-addressed, cacheable for a year) and model cards.

use crate::caller::Reader;
use crate::error::AppError;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kxian_shared::api::ModelList;
use serde::Deserialize;

pub(super) async fn list(State(state): State<AppState>, Reader(viewer): Reader) -> Json<ModelList> {
    Json(state.models.list_for(&viewer))
}

#[derive(Debug, Deserialize)]
pub(super) struct Version {
    v: Option<String>,
}

pub(super) async fn file(
    State(state): State<AppState>,
    Reader(viewer): Reader,
    Path((id, part, file)): Path<(String, String, String)>,
    Query(q): Query<Version>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if !state.models.visible(&id, &viewer) {
        return Err(AppError::NotFound(format!("no model `{id}`")));
    }
    let (bytes, sha) = state
        .models
        .file(&id, &part, &file)
        .await
        .ok_or_else(|| AppError::NotFound(format!("no file {part}/{file} in model `{id}`")))?
        .map_err(|e| AppError::Internal(format!("reading model {id} {part}/{file}: {e}")))?;
    let etag = format!("\"{sha}\"");
    // Only a URL naming this content may be cached for good; a bare or stale URL revalidates.
    let cache = match q.v {
        Some(v) if !v.is_empty() && sha.starts_with(&v) => "public, max-age=31536000, immutable",
        _ => "no-cache",
    };
    let mut h = HeaderMap::new();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, h).into_response());
    }
    let ctype = if file.ends_with(".json") {
        "application/json"
    } else {
        "application/octet-stream"
    };
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    Ok((h, bytes).into_response())
}

pub(super) async fn card(
    State(state): State<AppState>,
    Reader(viewer): Reader,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    if !state.models.visible(&id, &viewer) {
        return Err(AppError::NotFound(format!("no model `{id}`")));
    }
    let bytes = state
        .models
        .card(&id)
        .await
        .ok_or_else(|| AppError::NotFound(format!("model `{id}` has no model card")))?
        .map_err(|e| AppError::Internal(format!("reading the card of {id}: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/markdown; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        bytes,
    )
        .into_response())
}

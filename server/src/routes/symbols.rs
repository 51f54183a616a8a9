use crate::caller::Reader;
use crate::error::AppError;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use kxian_shared::Symbol;
use kxian_shared::api::{SymbolList, SymbolSummary};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    #[serde(default)]
    q: String,
    limit: Option<u32>,
}

pub(super) async fn list(
    State(state): State<AppState>,
    Reader(viewer): Reader,
    Query(query): Query<ListQuery>,
) -> Result<Json<SymbolList>, AppError> {
    let limit = query.limit.unwrap_or(200).clamp(1, 5_000);
    let max = crate::limits::MAX_SEARCH_CHARS;
    if query.q.chars().count() > max {
        return Err(AppError::BadRequest(format!(
            "q: a search is at most {max} characters"
        )));
    }
    let (symbols, total) = state
        .store
        .list_symbols_for(&viewer, &query.q, limit)
        .await?;
    Ok(Json(SymbolList { symbols, total }))
}

pub(crate) fn parse_symbol(raw: &str) -> Result<Symbol, AppError> {
    Symbol::parse(raw).map_err(|e| AppError::BadRequest(e.to_string()))
}

pub(super) async fn one(
    State(state): State<AppState>,
    Reader(viewer): Reader,
    Path(raw): Path<String>,
) -> Result<Json<SymbolSummary>, AppError> {
    let symbol = parse_symbol(&raw)?;
    state
        .store
        .symbol_for(&viewer, &symbol)
        .await?
        .map(Json)
        .ok_or_else(|| AppError::NotFound(format!("symbol {symbol} is not in the store")))
}

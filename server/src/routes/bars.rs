use super::symbols::parse_symbol;
use crate::caller::Reader;
use crate::error::AppError;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::{NaiveDate, NaiveDateTime};
use kxian_shared::api::{BarsQuery, BarsResponse, Units};

/// Default and largest page: 100,000 bars (20 years of daily bars, or ~400 days of 1-minute).
const MAX_LIMIT: u32 = 100_000;

/// `2024-01-02`, `2024-01-02T09:31:00`, `2024-01-02 09:31[:00]` or `20240102`.
fn parse_bound(field: &str, raw: &str, end_of_day: bool) -> Result<NaiveDateTime, AppError> {
    let s = raw.trim();
    for fmt in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Ok(t);
        }
    }
    for fmt in ["%Y-%m-%d", "%Y%m%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, fmt) {
            let t = if end_of_day {
                d.and_hms_opt(23, 59, 59)
            } else {
                d.and_hms_opt(0, 0, 0)
            };
            return t.ok_or_else(|| AppError::BadRequest(format!("`{field}`: bad date `{raw}`")));
        }
    }
    Err(AppError::BadRequest(format!(
        "`{field}`: cannot read `{raw}` as a date (use 2024-01-02 or 2024-01-02T09:31:00)"
    )))
}

pub(super) async fn bars(
    State(state): State<AppState>,
    Reader(viewer): Reader,
    Path(raw): Path<String>,
    query: Result<Query<BarsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<BarsResponse>, AppError> {
    let Query(query) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let symbol = parse_symbol(&raw)?;
    let frequency = query.freq.unwrap_or(kxian_shared::Frequency::Daily);
    let adjustment = query.adj.unwrap_or_default();
    let start = query
        .start
        .as_deref()
        .map(|s| parse_bound("start", s, false))
        .transpose()?;
    let end = query
        .end
        .as_deref()
        .map(|s| parse_bound("end", s, true))
        .transpose()?;
    if let (Some(a), Some(b)) = (start, end)
        && a > b
    {
        return Err(AppError::BadRequest(format!(
            "`start` {a} is after `end` {b}"
        )));
    }
    let limit = query.limit.unwrap_or(MAX_LIMIT).clamp(1, MAX_LIMIT);
    let range = state
        .store
        .bars_for(&viewer, &symbol, frequency, adjustment, start, end, limit)
        .await?;
    let Some(range) = range else {
        return Err(match state.store.symbol_for(&viewer, &symbol).await? {
            None => AppError::NotFound(format!("symbol {symbol} is not in the store")),
            Some(s) => {
                let have: Vec<String> = s
                    .series
                    .iter()
                    .map(|r| format!("{}/{}", r.frequency, r.adjustment))
                    .collect();
                AppError::NotFound(format!(
                    "{symbol} has no {frequency}/{adjustment} series (stored: {})",
                    have.join(", ")
                ))
            }
        });
    };
    Ok(Json(BarsResponse {
        symbol,
        name: range.name,
        frequency,
        adjustment,
        units: Units::default(),
        bars: range.bars,
        truncated: range.truncated,
        series_first: range.series_first,
        series_last: range.series_last,
    }))
}

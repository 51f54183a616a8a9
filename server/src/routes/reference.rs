//! `POST /api/reference`: stored reference data for a point-in-time backtest in the browser.

use crate::error::AppError;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReferenceQuery {
    /// An index whose every stored stay is wanted, with its members' facts.
    #[serde(default)]
    index: Option<String>,
    /// More symbols whose facts are wanted.
    #[serde(default)]
    symbols: Vec<String>,
}

/// `POST /api/reference` `{"index": "000905.SH", "symbols": [...]}`: the stored reference data
/// a point-in-time backtest in the browser needs — the index's stays, and the industries, shares
/// and status of its members and of `symbols`. Public market facts: anyone may read them.
pub(super) async fn reference(
    State(state): State<AppState>,
    body: Result<Json<ReferenceQuery>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<kxian_shared::reference::ReferenceData>, AppError> {
    let Json(q) =
        body.map_err(|e| AppError::BadRequest(format!("reference: {}", e.body_text())))?;
    if q.symbols.len() > 10_000 {
        return Err(AppError::BadRequest(
            "reference: at most 10,000 symbols".into(),
        ));
    }
    let canonical = |s: &str| {
        s.parse::<kxian_shared::Symbol>()
            .map(|x| x.to_string())
            .map_err(|e| AppError::BadRequest(format!("reference: `{s}`: {e}")))
    };
    let mut names: Vec<String> = q
        .symbols
        .iter()
        .map(|s| canonical(s))
        .collect::<Result<_, _>>()?;
    let members = match &q.index {
        Some(i) => state.store.index_members(&canonical(i)?).await?,
        None => Vec::new(),
    };
    names.extend(members.iter().map(|m| m.symbol.clone()));
    names.sort();
    names.dedup();
    let mut data = state.store.reference_of(&names).await?;
    data.members = members;
    Ok(Json(data))
}

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

#[derive(Debug, serde::Deserialize)]
pub(super) struct DataHealthQuery {
    #[serde(default)]
    frequency: Option<kxian_shared::Frequency>,
    #[serde(default)]
    adjustment: Option<kxian_shared::Adjustment>,
    /// The day staleness is counted to (default: today).
    #[serde(default)]
    today: Option<chrono::NaiveDate>,
}

/// `GET /api/data/health`: every series the caller reads, against the exchange calendar, worst
/// first — what `kxian-trainer health` prints, for the Data page — with the days another
/// source disagrees from the caller's newest cross-check job.
pub(super) async fn data(
    State(state): State<AppState>,
    crate::caller::Reader(viewer): crate::caller::Reader,
    query: Result<axum::extract::Query<DataHealthQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<kxian_shared::health::HealthReport>, AppError> {
    let axum::extract::Query(q) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let frequency = q.frequency.unwrap_or(kxian_shared::Frequency::Daily);
    let adjustment = q.adjustment.unwrap_or_default();
    let reader = state.store.reader();
    let stored = reader.series_days(viewer, frequency, adjustment).await?;
    let names: Vec<String> = stored.iter().map(|s| s.symbol.clone()).collect();
    let status = reader.reference_of(&names).await?.status;
    let today = q.today.unwrap_or_else(|| chrono::Local::now().date_naive());
    let mut report = kxian_shared::health::report(
        stored
            .iter()
            .map(|s| (s.symbol.as_str(), s.source.as_str(), s.days.as_slice())),
        &status,
        frequency,
        adjustment,
        today,
    );
    // The caller's newest cross-check of these series marks where its source disagrees.
    if let Some(user) = viewer.user {
        let checked = state
            .store
            .jobs(Some(user))
            .await?
            .into_iter()
            .find_map(|j| match (j.state, j.result) {
                (
                    kxian_shared::jobs::JobState::Done,
                    Some(kxian_shared::jobs::JobResult::Checked(c)),
                ) if (c.frequency, c.adjustment) == (frequency, adjustment) => Some(c),
                _ => None,
            });
        if let Some(c) = checked {
            report.merge(&c);
        }
    }
    Ok(Json(report))
}

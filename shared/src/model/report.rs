//! A forecast of a series' bars as a [`ForecastReport`]: the one path from bars to report that
//! the CLI (`kxian-trainer forecast`) and the browser both take, so their numbers can only
//! differ by the backend's arithmetic.

use burn::tensor::Device;
use chrono::NaiveDateTime;

use super::checkpoint::parameter_count;
use super::forecast::{
    ForecastConfig, ForecastError, ForecastInput, Pause, Progress, forecast_async,
};
use super::{KronosPredictor, KronosTokenizer, PredictorConfig};
use crate::api::{
    FORECAST_COLUMNS, ForecastInputSummary, ForecastModelInfo, ForecastParams, ForecastQuantiles,
    ForecastReport, ForecastTokens, ModelSummary,
};
use crate::calendar::TradingCalendar;
use crate::{Bar, Frequency, features};

/// The models of a forecast and the names the report gives them.
pub struct ReportModels<'a> {
    pub tokenizer: &'a KronosTokenizer,
    pub predictor: &'a KronosPredictor,
    pub tokenizer_name: String,
    pub predictor_name: String,
}

/// What to forecast: the history (already cut to the lookback) and where it came from.
pub struct ReportInput<'a> {
    pub symbol: &'a str,
    pub frequency: Frequency,
    /// A file path, or the store's series for the browser.
    pub source: String,
    pub bars: &'a [Bar],
}

/// The device a forecast ran on, as the report states it.
pub struct ReportDevice<'a> {
    pub device: &'a Device,
    pub backend: String,
    pub reason: String,
}

/// The longest token window a predictor shape was trained with: 2048 for Kronos-mini, 512
/// for the others.
pub fn default_context(p: &PredictorConfig) -> usize {
    let mini = PredictorConfig::kronos_mini();
    if (p.d_model, p.n_layers) == (mini.d_model, mini.n_layers) {
        2048
    } else {
        512
    }
}

/// A bar's label in reports: the date for daily and longer bars, date and minute otherwise.
pub fn bar_label(ts: NaiveDateTime, f: Frequency) -> String {
    if f.is_intraday() {
        ts.format("%Y-%m-%d %H:%M").to_string()
    } else {
        ts.format("%Y-%m-%d").to_string()
    }
}

/// Runs the forecast and assembles its report. `elapsed_ms` and `ms_per_bar` are left at 0:
/// the caller owns the clock (there is no `Instant` in the browser).
pub async fn forecast_report(
    models: &ReportModels<'_>,
    input: &ReportInput<'_>,
    cfg: &ForecastConfig,
    device: &ReportDevice<'_>,
    progress: &mut dyn FnMut(Progress) -> bool,
    pause: Option<&Pause>,
) -> Result<ForecastReport, ForecastError> {
    let bars = input.bars;
    let (Some(first), Some(last)) = (bars.first(), bars.last()) else {
        return Err(ForecastError::EmptyHistory);
    };
    let rows = features::kline_rows(bars);
    let stamps: Vec<[u32; 5]> = bars.iter().map(|b| features::stamp(b.ts)).collect();
    let f = input.frequency;
    let future = TradingCalendar::embedded().next_bars(last.ts, f, cfg.horizon);
    let future_stamps: Vec<[u32; 5]> = future.iter().map(|b| features::stamp(b.ts)).collect();
    let out = forecast_async(
        models.tokenizer,
        models.predictor,
        &ForecastInput {
            rows: &rows,
            stamps: &stamps,
            future_stamps: &future_stamps,
            forced: None,
        },
        cfg,
        device.device,
        progress,
        pause,
    )
    .await?;

    Ok(ForecastReport {
        symbol: input.symbol.to_string(),
        frequency: f.as_str().to_string(),
        input: ForecastInputSummary {
            file: input.source.clone(),
            lookback: bars.len(),
            first: bar_label(first.ts, f),
            last: bar_label(last.ts, f),
            last_close: last.close,
        },
        timestamps: future.iter().map(|b| bar_label(b.ts, f)).collect(),
        provisional: future.iter().map(|b| b.provisional).collect(),
        columns: FORECAST_COLUMNS.iter().map(|c| c.to_string()).collect(),
        units: crate::api::Units::default(),
        mean: out.mean,
        quantiles: ForecastQuantiles {
            p10: out.quantiles.p10,
            p50: out.quantiles.p50,
            p90: out.quantiles.p90,
        },
        paths: out.paths,
        p_up: out.p_up,
        tokens: ForecastTokens {
            s1: out.tokens.row(0).0.to_vec(),
            s2: out.tokens.row(0).1.to_vec(),
        },
        params: ForecastParams {
            horizon: cfg.horizon,
            temperature: cfg.sampling.temperature,
            top_k: cfg.sampling.top_k,
            top_p: cfg.sampling.top_p,
            samples: cfg.samples,
            seed: cfg.seed,
            max_context: cfg.max_context,
            cache: serde_json::to_value(cfg.cache)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            repair_ohlc: cfg.repair_ohlc,
        },
        model: ForecastModelInfo {
            tokenizer: ModelSummary {
                name: models.tokenizer_name.clone(),
                parameters: parameter_count(models.tokenizer),
            },
            predictor: ModelSummary {
                name: models.predictor_name.clone(),
                parameters: parameter_count(models.predictor),
            },
            backend: device.backend.clone(),
            device_reason: device.reason.clone(),
            elapsed_ms: 0.0,
            ms_per_bar: 0.0,
        },
    })
}

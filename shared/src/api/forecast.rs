//! A forecast as the CLI prints it and the app and share links will show it: future bar
//! times, the reference's mean path, quantiles, every sample path, P(up), the tokens, the
//! parameters that reproduce it and what ran it.

use serde::{Deserialize, Serialize};

/// Column order of every row below.
pub const FORECAST_COLUMNS: [&str; 6] = ["open", "high", "low", "close", "volume", "amount"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastReport {
    pub symbol: String,
    pub frequency: String,
    pub input: ForecastInputSummary,
    /// Future bar labels (end of bar, Shanghai time), from the trading calendar.
    pub timestamps: Vec<String>,
    /// True where the calendar had to project the day (beyond its published range).
    pub provisional: Vec<bool>,
    pub columns: Vec<String>,
    /// What the numbers are in: prices and amounts in CNY, volumes in shares, whatever unit the
    /// input file used (a file in lots, such as Kronos' example CSV, was converted on import).
    /// Absent from snapshots made before it was stated; they were in the same units.
    #[serde(default)]
    pub units: super::Units,
    /// `horizon` rows: the sample paths averaged in normalised space (the reference's output).
    pub mean: Vec<[f32; 6]>,
    pub quantiles: ForecastQuantiles,
    /// `samples × horizon` rows.
    pub paths: Vec<Vec<[f32; 6]>>,
    /// Per future bar, the share of paths closing above the last historical close.
    pub p_up: Vec<f32>,
    /// Tokens of sample path 0.
    pub tokens: ForecastTokens,
    pub params: ForecastParams,
    pub model: ForecastModelInfo,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastInputSummary {
    pub file: String,
    pub lookback: usize,
    pub first: String,
    pub last: String,
    pub last_close: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastQuantiles {
    pub p10: Vec<[f32; 6]>,
    pub p50: Vec<[f32; 6]>,
    pub p90: Vec<[f32; 6]>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastTokens {
    pub s1: Vec<u32>,
    pub s2: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastParams {
    pub horizon: usize,
    pub temperature: f32,
    pub top_k: usize,
    pub top_p: f32,
    pub samples: usize,
    pub seed: u64,
    pub max_context: usize,
    /// `exact`, `absolute` or `off` (see the model docs).
    pub cache: String,
    pub repair_ohlc: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastModelInfo {
    pub tokenizer: ModelSummary,
    pub predictor: ModelSummary,
    pub backend: String,
    pub device_reason: String,
    pub elapsed_ms: f64,
    pub ms_per_bar: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSummary {
    pub name: String,
    pub parameters: usize,
}

impl ForecastReport {
    /// The largest relative difference from `other` over the mean and every path (how far a
    /// re-run or another backend is from this forecast); infinite when the shapes differ.
    pub fn max_rel_diff(&self, other: &ForecastReport) -> f64 {
        if self.mean.len() != other.mean.len()
            || self.paths.len() != other.paths.len()
            || self
                .paths
                .iter()
                .zip(&other.paths)
                .any(|(a, b)| a.len() != b.len())
        {
            return f64::INFINITY;
        }
        let rows_a = self.mean.iter().chain(self.paths.iter().flatten());
        let rows_b = other.mean.iter().chain(other.paths.iter().flatten());
        let mut max: f64 = 0.0;
        for (x, y) in rows_a.zip(rows_b) {
            for (p, q) in x.iter().zip(y) {
                let (p, q) = (*p as f64, *q as f64);
                max = max.max((p - q).abs() / p.abs().max(q.abs()).max(1e-6));
            }
        }
        max
    }

    /// One row per future bar: the mean bar, the close quantiles and P(up).
    pub fn to_csv(&self) -> String {
        let mut s = String::from(
            "timestamp,open,high,low,close,volume,amount,close_p10,close_p50,close_p90,p_up\n",
        );
        for (i, ts) in self.timestamps.iter().enumerate() {
            let m = self.mean[i];
            s.push_str(&format!(
                "{ts},{},{},{},{},{},{},{},{},{},{}\n",
                m[0],
                m[1],
                m[2],
                m[3],
                m[4],
                m[5],
                self.quantiles.p10[i][3],
                self.quantiles.p50[i][3],
                self.quantiles.p90[i][3],
                self.p_up[i]
            ));
        }
        s
    }
}

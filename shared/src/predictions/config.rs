//! The `predict` file. `[universe]` is exactly the backtest file's section, so one universe
//! serves predictions and the strategies that trade them.

use std::path::PathBuf;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::backtest::schema::{ConfigError, NumberOrName, UniverseConfig, check};

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PredictConfig {
    pub universe: UniverseConfig,
    #[serde(default)]
    pub model: ModelConfig,
    pub schedule: ScheduleConfig,
    #[serde(default)]
    pub forecast: ForecastSettings,
    #[serde(default)]
    pub output: OutputConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    #[default]
    Kronos,
    Classifier,
}

/// Which model: a Kronos tokenizer + predictor pair (the built-in default when neither is
/// given) or a classifier folder.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    pub kind: ModelKind,
    pub tokenizer: Option<PathBuf>,
    pub predictor: Option<PathBuf>,
    /// The classifier's folder (config.json + model.safetensors).
    pub path: Option<PathBuf>,
    /// What the stored set calls the model (default: its folders, or the built-in name).
    pub name: Option<String>,
}

/// How often a prediction is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "NumberOrName", into = "NumberOrName")]
pub enum Every {
    Day,
    WeekEnd,
    MonthEnd,
    /// Every N trading days of the universe, counted from `from`.
    Bars(usize),
}

impl TryFrom<NumberOrName> for Every {
    type Error = String;
    fn try_from(v: NumberOrName) -> Result<Self, String> {
        match v {
            NumberOrName::N(n) if n >= 1 => Ok(Every::Bars(n as usize)),
            NumberOrName::N(n) => Err(format!("{n} bars: a number of bars must be at least 1")),
            NumberOrName::Name(s) => match s.as_str() {
                "day" => Ok(Every::Day),
                "week_end" => Ok(Every::WeekEnd),
                "month_end" => Ok(Every::MonthEnd),
                other => Err(format!(
                    "`{other}`: expected \"day\", \"week_end\", \"month_end\" or a number of bars"
                )),
            },
        }
    }
}

impl From<Every> for NumberOrName {
    fn from(e: Every) -> Self {
        match e {
            Every::Day => NumberOrName::Name("day".into()),
            Every::WeekEnd => NumberOrName::Name("week_end".into()),
            Every::MonthEnd => NumberOrName::Name("month_end".into()),
            Every::Bars(n) => NumberOrName::N(n as i64),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    pub every: Every,
    #[serde(deserialize_with = "crate::backtest::schema::toml_date")]
    #[serde(default)]
    pub from: Option<NaiveDate>,
    #[serde(deserialize_with = "crate::backtest::schema::toml_date")]
    #[serde(default)]
    pub to: Option<NaiveDate>,
}

/// Kronos's sampling; the classifier reads `horizon` from its own label rule.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForecastSettings {
    pub horizon: usize,
    pub samples: usize,
    pub lookback: usize,
    pub seed: u64,
    pub temperature: f32,
    pub top_p: f32,
    pub top_k: usize,
    /// Histories forecast together in one batch.
    pub batch: usize,
}

impl Default for ForecastSettings {
    fn default() -> Self {
        ForecastSettings {
            horizon: 5,
            samples: 8,
            lookback: 256,
            seed: 7,
            temperature: 1.0,
            top_p: 0.9,
            top_k: 0,
            batch: 32,
        }
    }
}

/// Where the set goes: a CSV, a Parquet file, and the store (by name) when one is given.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutputConfig {
    pub csv: Option<PathBuf>,
    pub parquet: Option<PathBuf>,
    /// The store to keep the set in (the server's SQLite file).
    pub store: Option<PathBuf>,
    /// The set's name in the store (default: the config file's stem).
    pub name: Option<String>,
}

/// Reads and checks a `predict` file; the message names the key at fault.
pub fn parse(text: &str) -> Result<PredictConfig, ConfigError> {
    let c: PredictConfig = toml::from_str(text).map_err(|e| ConfigError {
        message: e.to_string(),
    })?;
    let f = &c.forecast;
    check(f.horizon >= 1, "forecast.horizon: must be at least 1")?;
    check(f.samples >= 1, "forecast.samples: must be at least 1")?;
    check(f.lookback >= 2, "forecast.lookback: must be at least 2")?;
    check(f.batch >= 1, "forecast.batch: must be at least 1")?;
    check(
        f.temperature.is_finite() && f.temperature > 0.0,
        "forecast.temperature: must be > 0",
    )?;
    check(
        f.top_p > 0.0 && f.top_p <= 1.0,
        "forecast.top_p: must be in (0, 1]",
    )?;
    if let (Some(a), Some(b)) = (c.schedule.from, c.schedule.to) {
        check(a <= b, "schedule: `from` is after `to`")?;
    }
    if let (Some(a), Some(b)) = (c.universe.from, c.universe.to) {
        check(a <= b, "universe: `from` is after `to`")?;
    }
    match c.model.kind {
        ModelKind::Kronos => {
            check(
                c.model.tokenizer.is_some() == c.model.predictor.is_some(),
                "model: give both `tokenizer` and `predictor`, or neither for the built-in model",
            )?;
            check(
                c.model.path.is_none(),
                "model.path: a Kronos model is `tokenizer` + `predictor`; `path` is a classifier's folder",
            )?;
        }
        ModelKind::Classifier => {
            check(
                c.model.path.is_some(),
                "model.path: a classifier needs its folder (config.json + model.safetensors)",
            )?;
            check(
                c.model.tokenizer.is_none() && c.model.predictor.is_none(),
                "model: `tokenizer` and `predictor` are Kronos's; a classifier has `path`",
            )?;
        }
    }
    check(
        c.output.csv.is_some() || c.output.parquet.is_some() || c.output.store.is_some(),
        "output: name at least one of `csv`, `parquet` or `store`",
    )?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[universe]
files = ["a.csv", "b.json"]
[model]
kind = "kronos"
[schedule]
every = "month_end"
from = 2023-01-01
to = 2023-12-31
[forecast]
horizon = 5
samples = 8
lookback = 256
seed = 7
[output]
csv = "preds.csv"
"#;

    #[test]
    fn the_issue_s_file_parses() {
        let c = parse(FILE).unwrap();
        assert_eq!(c.universe.files.len(), 2);
        assert_eq!(c.schedule.every, Every::MonthEnd);
        assert_eq!(c.schedule.from.unwrap().to_string(), "2023-01-01");
        assert_eq!((c.forecast.horizon, c.forecast.samples), (5, 8));
        assert_eq!(c.model.kind, ModelKind::Kronos);
    }

    #[test]
    fn every_takes_a_number_of_bars() {
        let c = parse(&FILE.replace("\"month_end\"", "10")).unwrap();
        assert_eq!(c.schedule.every, Every::Bars(10));
        let e = parse(&FILE.replace("\"month_end\"", "\"fortnight\"")).unwrap_err();
        assert!(e.message.contains("fortnight"), "{}", e.message);
        assert!(e.message.contains("every"), "{}", e.message);
    }

    #[test]
    fn a_malformed_key_is_named() {
        let e = parse(&FILE.replace("samples = 8", "sample = 8")).unwrap_err();
        assert!(e.message.contains("sample"), "{}", e.message);
        let e = parse(&FILE.replace("horizon = 5", "horizon = 0")).unwrap_err();
        assert!(e.message.contains("forecast.horizon"), "{}", e.message);
        let e = parse(&FILE.replace("kind = \"kronos\"", "kind = \"classifier\"")).unwrap_err();
        assert!(e.message.contains("model.path"), "{}", e.message);
    }
}

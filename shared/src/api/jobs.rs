//! `/api/jobs`: hosted jobs (downloads, finetunes) as submitted and as listed.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A job as submitted. Everything is checked before it is queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum JobSpec {
    /// Bars from a market-data source into the store.
    Download {
        /// `eastmoney` (default), `tushare` (needs the user's token) or `yahoo`.
        #[serde(default = "eastmoney")]
        source: String,
        #[serde(default)]
        symbols: Vec<String>,
        /// `all-etfs` or `all-a`: the source's whole list.
        #[serde(default)]
        universe: Option<String>,
        #[serde(default = "daily")]
        frequency: String,
        #[serde(default = "none")]
        adjustment: String,
        #[serde(default)]
        from: Option<NaiveDate>,
        #[serde(default)]
        to: Option<NaiveDate>,
    },
    /// Finetune the built-in model (or train from scratch) on series of the store.
    Finetune {
        symbols: Vec<String>,
        /// `tokenizer`, `predictor` or `both`.
        #[serde(default = "both")]
        stages: String,
        #[serde(default = "one")]
        epochs: u32,
        #[serde(default = "sixteen")]
        batch_size: u32,
        #[serde(default)]
        lr: Option<f64>,
        #[serde(default = "ninety")]
        lookback: u32,
        #[serde(default = "ten")]
        horizon: u32,
        /// Stop each stage after this many seconds.
        #[serde(default)]
        max_seconds: Option<f64>,
        /// The model to start from, by id (default: the built-in `kxian-default`).
        #[serde(default)]
        base: Option<String>,
    },
}

fn eastmoney() -> String {
    "eastmoney".into()
}
fn daily() -> String {
    "daily".into()
}
fn none() -> String {
    "none".into()
}
fn both() -> String {
    "both".into()
}
fn one() -> u32 {
    1
}
fn sixteen() -> u32 {
    16
}
fn ninety() -> u32 {
    90
}
fn ten() -> u32 {
    10
}

/// Most symbols one download job names (a whole market is `universe`).
pub const MAX_DOWNLOAD_SYMBOLS: usize = 2_000;
/// Most symbols one finetune trains on.
pub const MAX_TRAIN_SYMBOLS: usize = 500;

impl JobSpec {
    /// The spec as it is stored and run: every bound of [`JobSpec::check`] holds, symbols are
    /// in canonical spelling without repeats, and the error names the field.
    pub fn normalised(mut self) -> Result<JobSpec, String> {
        self.check()?;
        let canonical = |symbols: &mut Vec<String>, max: usize| -> Result<(), String> {
            let mut seen = std::collections::BTreeSet::new();
            let mut out = Vec::with_capacity(symbols.len());
            for s in symbols.iter() {
                let c = s
                    .parse::<crate::Symbol>()
                    .map_err(|e| format!("symbols: `{s}`: {e}"))?
                    .to_string();
                if seen.insert(c.clone()) {
                    out.push(c);
                }
            }
            if out.len() > max {
                return Err(format!(
                    "symbols: {} symbols; one job takes at most {max}",
                    out.len()
                ));
            }
            *symbols = out;
            Ok(())
        };
        match &mut self {
            JobSpec::Download {
                symbols,
                frequency,
                adjustment,
                from,
                to,
                ..
            } => {
                canonical(symbols, MAX_DOWNLOAD_SYMBOLS)?;
                *frequency = frequency
                    .parse::<crate::Frequency>()
                    .map_err(|e| format!("frequency: {e}"))?
                    .as_str()
                    .to_string();
                *adjustment = adjustment
                    .parse::<crate::Adjustment>()
                    .map_err(|e| format!("adjustment: {e}"))?
                    .as_str()
                    .to_string();
                let sane = |d: &NaiveDate| (1990..=2100).contains(&chrono::Datelike::year(d));
                for (field, d) in [("from", from), ("to", to)] {
                    if let Some(d) = d
                        && !sane(d)
                    {
                        return Err(format!("{field}: {d} is not between 1990 and 2100"));
                    }
                }
            }
            JobSpec::Finetune {
                symbols,
                lr,
                lookback,
                horizon,
                max_seconds,
                base,
                ..
            } => {
                canonical(symbols, MAX_TRAIN_SYMBOLS)?;
                if let Some(lr) = lr
                    && !(lr.is_finite() && *lr > 0.0 && *lr <= 1.0)
                {
                    return Err(format!("lr: {lr} is not in (0, 1]"));
                }
                if *lookback > 4096 || *horizon > 1024 {
                    return Err("lookback: at most 4096; horizon: at most 1024".into());
                }
                if let Some(m) = max_seconds
                    && !(m.is_finite() && *m > 0.0 && *m <= 7.0 * 86_400.0)
                {
                    return Err(format!("max_seconds: {m} is not in (0, 604800]"));
                }
                if let Some(b) = base
                    && (b.is_empty()
                        || b.len() > 128
                        || !b
                            .bytes()
                            .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(&c)))
                {
                    return Err("base: a model id (letters, digits, - _ .; at most 128)".into());
                }
            }
        }
        Ok(self)
    }

    pub fn kind(&self) -> &'static str {
        match self {
            JobSpec::Download { .. } => "download",
            JobSpec::Finetune { .. } => "finetune",
        }
    }

    /// The problem with the spec, naming the field.
    pub fn check(&self) -> Result<(), String> {
        let symbols_ok = |symbols: &[String]| -> Result<(), String> {
            for s in symbols {
                s.parse::<crate::Symbol>()
                    .map_err(|e| format!("symbols: `{s}`: {e}"))?;
            }
            Ok(())
        };
        match self {
            JobSpec::Download {
                source,
                symbols,
                universe,
                frequency,
                adjustment,
                from,
                to,
            } => {
                symbols_ok(symbols)?;
                if !["eastmoney", "tushare", "yahoo"].contains(&source.as_str()) {
                    return Err(format!(
                        "source: `{source}` is not eastmoney, tushare or yahoo"
                    ));
                }
                if symbols.is_empty() && universe.is_none() {
                    return Err("symbols: give symbols or a universe (all-etfs, all-a)".into());
                }
                if let Some(u) = universe
                    && u != "all-etfs"
                    && u != "all-a"
                {
                    return Err(format!("universe: `{u}` is not all-etfs or all-a"));
                }
                frequency
                    .parse::<crate::Frequency>()
                    .map_err(|e| format!("frequency: {e}"))?;
                adjustment
                    .parse::<crate::Adjustment>()
                    .map_err(|e| format!("adjustment: {e}"))?;
                if let (Some(f), Some(t)) = (from, to)
                    && f > t
                {
                    return Err("from: after `to`".into());
                }
                Ok(())
            }
            JobSpec::Finetune {
                symbols,
                stages,
                epochs,
                batch_size,
                lookback,
                horizon,
                ..
            } => {
                symbols_ok(symbols)?;
                if symbols.is_empty() {
                    return Err("symbols: at least one series to train on".into());
                }
                if !["tokenizer", "predictor", "both"].contains(&stages.as_str()) {
                    return Err(format!(
                        "stages: `{stages}` is not tokenizer, predictor or both"
                    ));
                }
                if !(1..=100).contains(epochs) || !(1..=1024).contains(batch_size) {
                    return Err("epochs: 1 to 100; batch_size: 1 to 1024".into());
                }
                if *lookback < 2 || *horizon < 1 {
                    return Err("lookback: at least 2; horizon: at least 1".into());
                }
                Ok(())
            }
        }
    }
}

/// A job as the API lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobInfo {
    pub id: i64,
    /// The owner's name.
    pub user: String,
    pub kind: String,
    pub spec: serde_json::Value,
    /// queued, running, done, failed or cancelled.
    pub state: String,
    pub attempts: i64,
    pub created_at: String,
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub finished_at: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub result: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobList {
    pub jobs: Vec<JobInfo>,
}

/// `GET /api/me`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Me {
    pub id: i64,
    pub name: String,
    pub admin: bool,
    /// Whether a Tushare token is stored for this user (the token itself is never sent back).
    #[serde(default)]
    pub tushare_token: bool,
}

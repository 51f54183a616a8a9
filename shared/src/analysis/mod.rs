//! Universe analysis: the market regime of an index over time and the style buckets of a
//! universe's stocks, from bars alone. The file `kxian-trainer analyze` reads:
//!
//! ```toml
//! [universe]                 # as for a backtest
//! symbols = ["000300.SH"]
//! [analysis]
//! index = "000300.SH"        # the index whose regime is reported
//! at = 2024-06-28            # the day the styles are bucketed on (default: the last bar)
//! ```

pub mod reference_styles;
pub mod regime;
pub mod styles;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::backtest::config::{ConfigError, UniverseConfig};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisConfig {
    pub universe: UniverseConfig,
    #[serde(default)]
    pub analysis: AnalysisSection,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisSection {
    /// The index whose regime is reported (default: CSI 300, `000300.SH`).
    pub index: Option<String>,
    /// The day styles are bucketed on (default: the universe's last day).
    #[serde(default, deserialize_with = "crate::backtest::schema::toml_date")]
    pub at: Option<NaiveDate>,
}

impl AnalysisSection {
    pub fn index(&self) -> &str {
        self.index.as_deref().unwrap_or("000300.SH")
    }
}

/// The annualised volatility (252 trading days) of daily log returns.
pub fn annualised_vol(log_returns: &[f64]) -> f64 {
    crate::backtest::metrics::sample_std(log_returns) * 252f64.sqrt()
}

/// Parses an analysis file; the message names the key.
pub fn parse(text: &str) -> Result<AnalysisConfig, ConfigError> {
    let c: AnalysisConfig = toml::from_str(text).map_err(|e| ConfigError {
        message: e.to_string(),
    })?;
    if let Some(i) = &c.analysis.index {
        i.parse::<crate::Symbol>().map_err(|e| ConfigError {
            message: format!("analysis.index: `{i}`: {e}"),
        })?;
    }
    Ok(c)
}

/// What the analysis cannot report yet, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unavailable {
    pub what: String,
    pub needs: String,
}

/// The whole analysis, as `kxian-trainer analyze --format json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisReport {
    /// The stocks analysed (the universe less the index).
    pub symbols: usize,
    /// The day styles are bucketed on.
    pub at: Option<NaiveDate>,
    pub regime: regime::RegimeReport,
    pub volatility: styles::Buckets,
    pub momentum: styles::Buckets,
    /// Sectors, size and value / growth: present when the store holds reference data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub industry: Option<styles::Buckets>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<styles::Buckets>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_growth: Option<styles::Buckets>,
    pub unavailable: Vec<Unavailable>,
}

/// The parts that need reference data, when the store holds none.
pub fn unavailable() -> Vec<Unavailable> {
    [
        (
            "industry",
            "each stock's industry (Shenwan or CSRC), from reference data",
        ),
        (
            "size",
            "float shares over time (float market cap), from reference data",
        ),
        ("value_growth", "PB over time, from reference data"),
    ]
    .iter()
    .map(|(w, n)| Unavailable {
        what: w.to_string(),
        needs: n.to_string(),
    })
    .collect()
}

/// Flat bars (open = high = low = close) on consecutive calendar days from `day0`, one per
/// close: an index path for tests.
#[cfg(test)]
pub(crate) fn bars_of(day0: NaiveDate, closes: impl IntoIterator<Item = f64>) -> Vec<crate::Bar> {
    closes
        .into_iter()
        .enumerate()
        .map(|(i, c)| crate::Bar {
            ts: (day0 + chrono::Days::new(i as u64))
                .and_hms_opt(0, 0, 0)
                .expect("midnight"),
            open: c,
            high: c,
            low: c,
            close: c,
            volume: 1.0,
            amount: None,
        })
        .collect()
}

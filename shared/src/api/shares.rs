//! Share links: `POST /api/shares` stores an immutable snapshot of a forecast and answers its
//! id; `GET /api/shares/{id}` returns it to anyone who has the link. There is no listing and
//! no update.

use crate::domain::Bar;
use serde::{Deserialize, Serialize};

use super::ForecastReport;

/// Snapshot format version; bumped on incompatible changes.
pub const SHARE_VERSION: u32 = 1;
/// Largest snapshot body the server accepts.
pub const SHARE_MAX_BYTES: usize = 4 * 1024 * 1024;
/// Most history bars a snapshot may carry.
pub const SHARE_MAX_BARS: usize = 4096;
/// Most sample paths and forecast bars a snapshot may carry.
pub const SHARE_MAX_SAMPLES: usize = 256;
pub const SHARE_MAX_HORIZON: usize = 1024;

/// Everything needed to show a forecast again and to re-run it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShareSnapshot {
    pub version: u32,
    pub symbol: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `daily`, `5m`, … as in `Frequency`.
    pub frequency: String,
    /// `none`, `qfq` or `hfq`.
    pub adjustment: String,
    /// The model by id and by the hash of its weights (`ModelEntry::sha256`).
    pub model_id: String,
    pub model_sha256: String,
    /// The exact history the model saw (the report's lookback).
    pub history: Vec<Bar>,
    /// Bars that really happened after the history (the backtest view); may be empty.
    #[serde(default)]
    pub actual: Vec<Bar>,
    /// The outputs, with every sampling parameter and the seed in `report.params`.
    pub report: ForecastReport,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShareCreated {
    pub id: String,
    /// Path of the page that shows it, e.g. `/s/3q2-…`.
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShareResponse {
    pub id: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub snapshot: ShareSnapshot,
}

impl ShareSnapshot {
    /// Checks the snapshot is one a forecast could have produced: sizes within the limits,
    /// every series of the report `horizon` long, every number finite, bars well formed.
    /// The message names the field at fault.
    pub fn validate(&self) -> Result<(), String> {
        let r = &self.report;
        let p = &r.params;
        if self.version != SHARE_VERSION {
            return Err(format!(
                "version: {} is not supported (expected {SHARE_VERSION})",
                self.version
            ));
        }
        if self.symbol.trim().is_empty() || self.symbol.len() > 32 {
            return Err("symbol: empty or longer than 32 characters".into());
        }
        if self.name.as_ref().is_some_and(|n| n.len() > 128) {
            return Err("name: longer than 128 characters".into());
        }
        if self.frequency.parse::<crate::domain::Frequency>().is_err() {
            return Err(format!("frequency: unknown value `{}`", self.frequency));
        }
        if self
            .adjustment
            .parse::<crate::domain::Adjustment>()
            .is_err()
        {
            return Err(format!("adjustment: unknown value `{}`", self.adjustment));
        }
        if self.model_id.is_empty()
            || self.model_id.len() > 64
            || !self
                .model_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        {
            return Err("model_id: 1 to 64 letters, digits, `-`, `_` or `.`".into());
        }
        if self.model_sha256.len() != 64
            || !self.model_sha256.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err("model_sha256: not a hex SHA-256".into());
        }
        if self.history.is_empty() || self.history.len() > SHARE_MAX_BARS {
            return Err(format!(
                "history: {} bars (1 to {SHARE_MAX_BARS} allowed)",
                self.history.len()
            ));
        }
        if self.actual.len() > SHARE_MAX_HORIZON {
            return Err(format!("actual: more than {SHARE_MAX_HORIZON} bars"));
        }
        for (name, bars) in [("history", &self.history), ("actual", &self.actual)] {
            for (i, b) in bars.iter().enumerate() {
                let v = [b.open, b.high, b.low, b.close, b.volume];
                if v.iter().any(|x| !x.is_finite()) || b.amount.is_some_and(|a| !a.is_finite()) {
                    return Err(format!("{name}[{i}]: a value is not a finite number"));
                }
                if i > 0 && bars[i - 1].ts >= b.ts {
                    return Err(format!("{name}[{i}]: timestamps are not ascending"));
                }
            }
        }
        if r.input.lookback != self.history.len() {
            return Err(format!(
                "report.input.lookback: {} but the history has {} bars",
                r.input.lookback,
                self.history.len()
            ));
        }
        let h = p.horizon;
        if h == 0 || h > SHARE_MAX_HORIZON {
            return Err(format!(
                "report.params.horizon: {h} (1 to {SHARE_MAX_HORIZON} allowed)"
            ));
        }
        if p.samples == 0 || p.samples > SHARE_MAX_SAMPLES {
            return Err(format!(
                "report.params.samples: {} (1 to {SHARE_MAX_SAMPLES} allowed)",
                p.samples
            ));
        }
        let lens = [
            ("timestamps", r.timestamps.len()),
            ("provisional", r.provisional.len()),
            ("mean", r.mean.len()),
            ("quantiles.p10", r.quantiles.p10.len()),
            ("quantiles.p50", r.quantiles.p50.len()),
            ("quantiles.p90", r.quantiles.p90.len()),
            ("p_up", r.p_up.len()),
            ("tokens.s1", r.tokens.s1.len()),
            ("tokens.s2", r.tokens.s2.len()),
        ];
        for (name, len) in lens {
            if len != h {
                return Err(format!("report.{name}: {len} entries for a horizon of {h}"));
            }
        }
        if r.paths.len() != p.samples {
            return Err(format!(
                "report.paths: {} paths for {} samples",
                r.paths.len(),
                p.samples
            ));
        }
        if let Some(i) = r.paths.iter().position(|path| path.len() != h) {
            return Err(format!("report.paths[{i}]: not {h} bars long"));
        }
        let rows = r
            .mean
            .iter()
            .chain(&r.quantiles.p10)
            .chain(&r.quantiles.p50)
            .chain(&r.quantiles.p90)
            .chain(r.paths.iter().flatten());
        if rows.flatten().any(|v| !v.is_finite()) {
            return Err("report: a forecast value is not a finite number".into());
        }
        if r.p_up.iter().any(|v| !(0.0..=1.0).contains(v)) {
            return Err("report.p_up: a probability outside [0, 1]".into());
        }
        if r.timestamps.iter().any(|t| t.len() > 32) || r.input.file.len() > 512 {
            return Err("report: a label is too long".into());
        }
        Ok(())
    }
}

//! The import vocabulary: what a user may tell an import, what it reports back, and the one
//! shape of a problem with a row or a file. Always built (the API speaks it); the importers
//! themselves are `crate::ingest` (feature `files`).

use crate::domain::{Adjustment, Frequency, Symbol};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where and what: one rejected or repaired row, or a problem with the whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// File name as the user gave it.
    pub file: String,
    /// 1-based row in the file as a spreadsheet shows it (the header is row 1), or the
    /// 1-based element index of a JSON `data` array.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<u64>,
    /// The column (header name as written in the file) or field to blame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(r) = self.row {
            write!(f, ", row {r}")?;
        }
        if let Some(c) = &self.column {
            write!(f, ", column `{c}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The unit of a file's volume column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VolumeUnit {
    Shares,
    /// 手 = 100 shares.
    Lots,
}

impl VolumeUnit {
    pub fn shares_per_unit(self) -> f64 {
        match self {
            VolumeUnit::Shares => 1.0,
            VolumeUnit::Lots => 100.0,
        }
    }
}

impl std::str::FromStr for VolumeUnit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "shares" | "share" | "股" => Ok(VolumeUnit::Shares),
            "lots" | "lot" | "hands" | "手" => Ok(VolumeUnit::Lots),
            _ => Err(format!(
                "unknown volume unit `{s}` (expected shares or lots)"
            )),
        }
    }
}

/// What the user may tell an import; everything is detected when left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportOptions {
    /// The symbol, when the file has no code column and its name carries no code.
    #[serde(default)]
    pub symbol: Option<Symbol>,
    /// Display name to store with the symbol.
    #[serde(default)]
    pub name: Option<String>,
    /// Overrides the frequency inferred from the timestamps.
    #[serde(default)]
    pub frequency: Option<Frequency>,
    /// Adjustment of the prices in the file (default: none, i.e. raw prices).
    #[serde(default)]
    pub adjustment: Adjustment,
    /// Overrides the volume unit of the detected layout.
    #[serde(default)]
    pub volume_unit: Option<VolumeUnit>,
    /// Import the valid rows and report the rejected ones, instead of failing the import.
    #[serde(default)]
    pub skip_invalid: bool,
}

/// What one import stored, per series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportedSeries {
    pub symbol: Symbol,
    pub name: Option<String>,
    pub frequency: Frequency,
    pub adjustment: Adjustment,
    /// Unit the file's volume column was read in (converted to shares).
    pub volume_unit: VolumeUnit,
    pub bars: u64,
    /// Bars new to the store.
    pub inserted: u64,
    /// Bars that replaced stored bars with the same timestamp.
    pub updated: u64,
    pub first: Option<NaiveDateTime>,
    pub last: Option<NaiveDateTime>,
}

/// `POST /api/import` and `kxian import` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportReport {
    pub file: String,
    /// Detected layout, e.g. `akshare`, `tushare`, `kronos`, `yahoo`, `equinet-xlsx`, `hqchart-json`.
    pub layout: String,
    pub rows_read: u64,
    pub series: Vec<ImportedSeries>,
    /// Rows rejected and skipped (only with `skip_invalid`).
    pub rejected: Vec<Problem>,
    /// Repairs and notes; the rows were kept.
    pub warnings: Vec<Problem>,
}

//! What a download leaves beside its CSVs (`manifest.json`), which the next run of the same
//! folder continues from and the server imports from.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::spec::DownloadSource;
use crate::{Adjustment, Frequency};

/// How one symbol went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// New bars were written.
    Downloaded {
        new_bars: usize,
        first: NaiveDate,
        last: NaiveDate,
    },
    /// The source had nothing after the last bar already held.
    UpToDate,
    /// The security exists but has no bars in the range.
    Empty,
    /// The source does not know the symbol (tried these ids).
    Unknown {
        tried: Vec<String>,
    },
    Failed {
        error: String,
    },
}

/// One symbol's file and how its last run went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesRecord {
    pub symbol: String,
    pub name: Option<String>,
    pub file: Option<String>,
    /// The request that answered (e.g. `secid=1.600000&klt=101&fqt=0`).
    pub request: Option<String>,
    /// Last bar held after this run (the next run starts after it).
    pub last: Option<NaiveDate>,
    /// Bars in the file.
    pub bars: usize,
    pub outcome: Outcome,
    pub requests: u64,
    /// The sources whose bars are in the file, in the order they came: more than one when a
    /// failover appended another source's bars to the series (prices may differ at the seam).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<DownloadSource>,
    /// The sources tried before the one that served this run, each with why it was passed over.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passed_over: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub source: DownloadSource,
    pub frequency: Frequency,
    pub adjustment: Adjustment,
    /// By canonical symbol.
    pub series: BTreeMap<String, SeriesRecord>,
}

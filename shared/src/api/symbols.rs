use crate::domain::{Adjustment, Board, Exchange, Frequency, InstrumentKind, Symbol};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

/// `GET /api/symbols`: symbols with their stored series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolList {
    pub symbols: Vec<SymbolSummary>,
    /// Matches before `limit` was applied.
    pub total: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolSummary {
    /// Canonical spelling, e.g. `000300.SH`.
    pub symbol: Symbol,
    pub name: Option<String>,
    pub exchange: Exchange,
    pub kind: InstrumentKind,
    pub board: Board,
    pub series: Vec<SeriesSummary>,
}

/// One stored series: a symbol at one frequency and adjustment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesSummary {
    pub frequency: Frequency,
    pub adjustment: Adjustment,
    pub bars: u64,
    pub first: Option<NaiveDateTime>,
    pub last: Option<NaiveDateTime>,
    /// Where the bars came from, e.g. `embedded:hqchart` or `import:000001.csv`.
    pub source: String,
}

/// `GET /api/health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub version: String,
    pub symbols: u64,
    pub series: u64,
    pub bars: u64,
}

use crate::domain::{Adjustment, Bar, Frequency, Symbol};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

/// Query of `GET /api/symbols/{symbol}/bars`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BarsQuery {
    /// Default: daily.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freq: Option<Frequency>,
    /// Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adj: Option<Adjustment>,
    /// Inclusive lower bound: `2024-01-02` or `2024-01-02T09:31:00`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Inclusive upper bound, same forms as `start`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// At most this many bars, the most recent ones in the range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// Units of the numbers in a bars response; fixed project-wide, stated for the reader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Units {
    pub price: String,
    pub volume: String,
    pub amount: String,
}

impl Default for Units {
    fn default() -> Self {
        Units {
            price: "CNY".into(),
            volume: "shares".into(),
            amount: "CNY".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BarsResponse {
    pub symbol: Symbol,
    pub name: Option<String>,
    pub frequency: Frequency,
    pub adjustment: Adjustment,
    pub units: Units,
    /// Ascending by `ts`.
    pub bars: Vec<Bar>,
    /// True when `limit` cut bars from the start of the range.
    pub truncated: bool,
    /// First and last bar of the whole stored series, for range pickers.
    pub series_first: Option<NaiveDateTime>,
    pub series_last: Option<NaiveDateTime>,
}

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

/// One K-line bar.
///
/// `ts` is the bar's label in Asia/Shanghai local time: the trading date at 00:00 for daily,
/// weekly and monthly bars, and the bar's END time for intraday bars (09:31 … 15:00 for 1-minute
/// bars), the convention of Eastmoney, akshare, Tushare and Kronos.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bar {
    pub ts: NaiveDateTime,
    /// CNY.
    pub open: f64,
    /// CNY.
    pub high: f64,
    /// CNY.
    pub low: f64,
    /// CNY.
    pub close: f64,
    /// Shares (not lots).
    pub volume: f64,
    /// Turnover in CNY; `None` where the source has none (Yahoo, EquiNet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<f64>,
}

/// A named numeric field of a bar, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OhlcField {
    Open,
    High,
    Low,
    Close,
    Volume,
    Amount,
}

impl OhlcField {
    pub fn as_str(self) -> &'static str {
        match self {
            OhlcField::Open => "open",
            OhlcField::High => "high",
            OhlcField::Low => "low",
            OhlcField::Close => "close",
            OhlcField::Volume => "volume",
            OhlcField::Amount => "amount",
        }
    }
}

impl std::fmt::Display for OhlcField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Bar {
    /// Volume-weighted average price in CNY per share, when amount and volume allow it.
    pub fn vwap(&self) -> Option<f64> {
        match self.amount {
            Some(a) if self.volume > 0.0 && a > 0.0 => Some(a / self.volume),
            _ => None,
        }
    }

    /// True when the close is above the open (drawn red in the A-share convention).
    pub fn is_up(&self) -> bool {
        self.close >= self.open
    }
}

//! What a run produced: fills, refusals with their reasons, equity and metrics.

use super::*;
use crate::backtest::metrics::{BootstrapCi, Metrics};
use crate::domain::Symbol;
use crate::rules::{Fees, Side};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fill {
    pub day: NaiveDate,
    pub symbol: Symbol,
    pub side: Side,
    pub shares: f64,
    pub price: f64,
    pub fees: Fees,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// No bar that day.
    Suspended,
    /// Buy at a price at limit-up.
    LimitUp,
    /// Sell at a price at limit-down.
    LimitDown,
    /// Only shares bought today are held.
    TPlusOne,
    NothingToSell,
    /// Less than one board lot after rounding or capping.
    BelowLot,
    NoCash,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    pub day: NaiveDate,
    pub order: Order,
    pub reason: RejectReason,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestResult {
    pub dates: Vec<NaiveDate>,
    /// Equity at each day's close.
    pub equity: Vec<f64>,
    pub fills: Vec<Fill>,
    pub rejections: Vec<Rejection>,
    pub costs: Fees,
    /// Traded value over average equity.
    pub turnover: f64,
    /// Average share of equity held in positions at the close (0 = always in cash).
    #[serde(default)]
    pub exposure: f64,
    /// Sell fills, and those whose proceeds per share (after fees) beat the average cost of
    /// the shares held: the win rate is `winning_sells / sells`.
    #[serde(default)]
    pub sells: usize,
    #[serde(default)]
    pub winning_sells: usize,
    pub metrics: Option<Metrics>,
    /// Block-bootstrap confidence intervals of Sharpe and max drawdown (the config's run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<BootstrapCi>,
}

impl BacktestResult {
    /// Share of sells that closed above their cost; `None` when nothing was sold.
    pub fn win_rate(&self) -> Option<f64> {
        (self.sells > 0).then(|| self.winning_sells as f64 / self.sells as f64)
    }
}

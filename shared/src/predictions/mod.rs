//! Prediction sets: any model's output for every stock of a universe at each scheduled date,
//! computed from the bars up to and including that date, and the honest report on them.
//!
//! - [`config`]: the `predict` file (`[universe]` as the backtest's, `[model]`, `[schedule]`,
//!   `[forecast]`, `[output]`), checked with messages that name the key.
//! - [`schedule`]: the as-of dates (every day, week end, month end, every N bars).
//! - [`rows`]: one row per (symbol, as-of date) and its CSV, the columns others script against.
//! - [`evaluate`]: IC, rank IC, quintiles, hit rate, Brier and reliability, band coverage and
//!   CRPS, beside momentum, reversal and random-walk baselines on the same rows.
//! - [`calibrate`]: P(up) and the return band recalibrated on each date's own known past.

pub mod calibrate;
pub mod config;
pub mod evaluate;
pub mod rows;
pub mod schedule;

pub use config::{ModelKind, PredictConfig};
pub use rows::{PredictionRow, RowKind};

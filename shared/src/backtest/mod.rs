//! The backtest engine. Rules live in [`crate::rules`]; here are the daily-bar portfolio
//! engine and the performance metrics (strategies, walk-forward and reports follow).

pub mod engine;
pub mod metrics;
pub mod risk;
pub mod strategies;

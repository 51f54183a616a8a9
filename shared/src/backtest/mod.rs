//! The backtest engine. Rules live in [`crate::rules`]; here are the daily-bar portfolio
//! engine, strategies, the risk manager, metrics, walk-forward and the TOML config that the
//! CLI and the browser share.

pub mod benchmarks;
pub mod config;
pub mod engine;
pub mod fields;
pub mod metrics;
pub mod report;
pub mod risk;
pub mod run;
pub mod schema;
pub mod score_ic;
pub mod session;
pub mod signals;
pub mod strategies;
pub mod threshold;
pub mod top_k;
pub mod walk_forward;

//! Kxian's native worker: market-data downloads, Kronos forecasts, finetuning and evaluation,
//! the up/down/flat classifier, factor IC and backtests. Every command reads its bars through
//! [`input`] (files) or [`store`] (the local store), and fails through [`cli_error`]'s one
//! exit-code policy.

pub mod analyze;
pub mod backtest;
pub mod classifier;
pub mod cli_error;
pub mod device;
pub mod download;
pub mod evaluate;
pub mod factors;
pub mod fetch_model;
mod fit;
pub mod forecast;
pub mod health;
pub mod init;
pub mod input;
pub mod mine;
pub mod models;
pub mod predict;
pub mod progress;
pub mod retrain;
pub mod schedule;
pub mod store;
pub mod train;
pub mod zoo;

//! The backtest engine's building blocks. Rules live in [`crate::rules`]; this module has the
//! performance metrics so far (the engine, strategies and reports follow).

pub mod metrics;

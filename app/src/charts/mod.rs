//! Chart building as pure functions: bars in, ECharts option JSON out. No DOM here, so all
//! of it is unit-tested natively (`cargo test -p kxian-app`).

pub mod backtest;
pub mod forecast;
pub mod indicators;
pub mod kline;
pub mod mine;
pub mod predictions;
pub mod ranges;
pub mod regime;
pub mod training;

//! The crate's integration tests, one binary: each module was its own test binary, and every
//! binary linked the whole dependency tree again (the largest part of a cold CI run).

mod analysis_page;
mod backtest_page;
mod common;
#[path = "common/eastmoney_mock.rs"]
mod eastmoney_mock;
mod fetch_model_page;
mod forecast_page;
#[path = "common/hub_mock.rs"]
mod hub_mock;
mod jobs;
mod jobs_pages;
mod kline_page;
mod mine_page;
#[path = "common/planted.rs"]
mod planted;
mod predictions_page;
mod security;
mod strip;
#[path = "common/tdx_mock.rs"]
mod tdx_mock;
mod upload;
mod zoo_page;

//! The crate's integration tests, one binary: each module was its own test binary, and every
//! binary linked the whole dependency tree again (the largest part of a cold CI run).

mod analyze_cli;
mod backtest_cli;
mod checkpoints;
mod classifier_cli;
mod download_cli;
#[path = "../../tests/tests/common/eastmoney_mock.rs"]
mod eastmoney_mock;
mod examples_cli;
mod fetch_model_cli;
mod forecast_cli;
mod health_cli;
mod mine_cli;
#[path = "../../tests/tests/common/planted.rs"]
mod planted;
mod predict_cli;
mod tdx_cli;
mod train_cli;
mod universe_cli;
mod wgpu_backend;
mod zoo_cli;

//! Everything a config asks for, as the CLI and the browser run it: the run, its walk-forward
//! and the report of both.

use super::engine::{BacktestResult, Universe};
use super::report::{report, walk_forward_report};
use super::run::{RunInputs, run_config};
use super::schema::{BacktestConfig, ConfigError};
use super::signals::Signals;
use super::walk_forward::{WalkForwardResult, walk_forward};

/// Everything a config asks for: the run, its walk-forward when `[walk_forward]` is given,
/// and the report text of both. The CLI and the browser print exactly this.
pub struct Completed {
    pub result: BacktestResult,
    pub walk_forward: Option<WalkForwardResult>,
    pub report: String,
}

pub fn run_all(
    config: &BacktestConfig,
    universe: &Universe,
    signals: Option<&Signals>,
) -> Result<Completed, ConfigError> {
    let result = run_config(config, universe, signals);
    let mut report = report(config, universe, &result);
    let walk_forward = match &config.walk_forward {
        Some(wf) => {
            let w = walk_forward(
                wf,
                RunInputs::of(config, universe, signals),
                config.universe.from,
                config.universe.to,
            )?;
            report.push_str(&walk_forward_report(&w));
            Some(w)
        }
        None => None,
    };
    Ok(Completed {
        result,
        walk_forward,
        report,
    })
}

//! Everything a config asks for, as the CLI and the browser run it: the run, its walk-forward
//! and the report of both.

use super::benchmarks::{Benchmark, benchmarks};
use super::engine::{BacktestResult, Universe};
use super::report::{benchmarks_report, report, score_ic_report, walk_forward_report};
use super::run::{RunInputs, run_config};
use super::schema::{BacktestConfig, ConfigError};
use super::score_ic::score_ic;
use super::signals::Signals;
use super::walk_forward::{WalkForwardResult, walk_forward};
use crate::predictions::evaluate::ScoreReport;

/// Everything a config asks for: the run, its walk-forward when `[walk_forward]` is given,
/// and the report text of both. The CLI and the browser print exactly this.
pub struct Completed {
    pub result: BacktestResult,
    pub walk_forward: Option<WalkForwardResult>,
    /// Equal-weight buy-and-hold of the universe, and its index when one is stored.
    pub benchmarks: Vec<Benchmark>,
    /// The IC report of the strategy's score expression, when it has one.
    pub score_ic: Option<ScoreReport>,
    pub report: String,
}

/// What the strategy reads from reference data that the universe lacks: `float_cap` weights
/// need float shares, `industry_neutral(…)` each stock's industry, the `ref.` fields their
/// figures. Bad input: the message says what to download.
pub fn check_reference(config: &BacktestConfig, universe: &Universe) -> Result<(), ConfigError> {
    if let super::schema::StrategyConfig::TopK(t) = &config.strategy
        && t.weighting == super::top_k::Weighting::FloatCap
        && !universe.has_float_shares()
    {
        return Err(ConfigError {
            message: "strategy.weighting: `float_cap` needs float shares, which come with reference data: `kxian-trainer download --reference --source tushare`, then `kxian import reference.json` into the universe's store".into(),
        });
    }
    let neutral = config.strategy.expressions().iter().any(|e| {
        crate::expr::parse(e, &super::fields::fields_for(true, None))
            .is_ok_and(|x| x.fields().contains(crate::expr::SECTOR_FIELD))
    });
    if neutral && !universe.has_sectors() {
        return Err(ConfigError {
            message: "strategy: industry_neutral(…) needs each stock's industry, which comes with reference data: `kxian-trainer download --reference --source tushare`, then `kxian import reference.json` into the universe's store".into(),
        });
    }
    let reads = |field: &str| {
        config.strategy.expressions().iter().any(|e| {
            crate::expr::parse(e, &super::fields::fields_for(true, None))
                .is_ok_and(|x| x.fields().contains(field))
        })
    };
    for (field, has, what) in [
        (
            "ref.northbound",
            universe.has_northbound(),
            "northbound holdings (hk_hold)",
        ),
        (
            "ref.pe",
            universe.has_valuations(),
            "PE and PB (daily_basic)",
        ),
        (
            "ref.pb",
            universe.has_valuations(),
            "PE and PB (daily_basic)",
        ),
    ] {
        if reads(field) && !has {
            return Err(ConfigError {
                message: format!(
                    "strategy: `{field}` needs {what}, which come with reference data: `kxian-trainer download --reference --source tushare`, then `kxian import reference.json` into the universe's store"
                ),
            });
        }
    }
    Ok(())
}

pub fn run_all(
    config: &BacktestConfig,
    universe: &Universe,
    signals: Option<&Signals>,
) -> Result<Completed, ConfigError> {
    check_reference(config, universe)?;
    let result = run_config(config, universe, signals);
    let mut report = report(config, universe, &result);
    let benchmarks = benchmarks(config, universe, &result);
    report.push_str(&benchmarks_report(&result, &benchmarks));
    let score_ic = score_ic(config, universe);
    if let Some(s) = &score_ic {
        report.push_str(&score_ic_report(s));
    }
    let walk_forward = match &config.walk_forward {
        // The trainer refits the model and runs that walk-forward itself.
        Some(wf) if wf.retrain => None,
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
        benchmarks,
        score_ic,
        report,
    })
}

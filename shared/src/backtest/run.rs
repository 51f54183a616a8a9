//! Running a strategy from its config: one window ([`run_strategy`]) or the config's whole
//! range with bootstrap intervals ([`run_config`]).

use super::engine::{BacktestResult, EngineConfig, Strategy, Universe, run_window};
use super::metrics::{bootstrap, returns};
use super::risk::{RiskLimits, RiskManaged};
use super::schema::{BacktestConfig, StrategyConfig};
use super::signals::{SignalStrategy, Signals};
use chrono::NaiveDate;

/// What a run of a strategy reads: the strategy and its risk limits, the engine, the bars and
/// (for a signal strategy) the probabilities. A walk-forward varies `strategy` and the engine's
/// starting cash, and keeps the rest.
#[derive(Debug, Clone, Copy)]
pub struct RunInputs<'a> {
    pub strategy: &'a StrategyConfig,
    pub risk: Option<RiskLimits>,
    pub engine: &'a EngineConfig,
    pub universe: &'a Universe,
    pub signals: Option<&'a Signals>,
}

impl<'a> RunInputs<'a> {
    /// The config's own run over `universe`.
    pub fn of(
        config: &'a BacktestConfig,
        universe: &'a Universe,
        signals: Option<&'a Signals>,
    ) -> Self {
        RunInputs {
            strategy: &config.strategy,
            risk: config.risk,
            engine: &config.engine,
            universe,
            signals,
        }
    }
}

/// Runs the strategy (wrapped by the risk manager when `[risk]` is given) between the dates.
pub fn run_strategy(
    inputs: RunInputs<'_>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> BacktestResult {
    let RunInputs {
        strategy,
        risk,
        engine,
        universe,
        signals,
    } = inputs;
    fn go<S: Strategy>(
        s: S,
        risk: Option<RiskLimits>,
        u: &Universe,
        e: &EngineConfig,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> BacktestResult {
        match risk {
            Some(limits) => run_window(u, e, &mut RiskManaged::new(s, limits), from, to),
            None => {
                let mut s = s;
                run_window(u, e, &mut s, from, to)
            }
        }
    }
    let empty = Signals::default();
    match strategy {
        StrategyConfig::MonthlyRotation(m) => go(m.clone(), risk, universe, engine, from, to),
        StrategyConfig::SmaCross(s) => go(s.clone(), risk, universe, engine, from, to),
        StrategyConfig::TopK(t) => go(
            // `parse` checked the expressions against the price fields every universe has.
            super::top_k::TopKStrategy::new(t, universe)
                .expect("strategy.score and strategy.filter were checked by config::parse"),
            risk,
            universe,
            engine,
            from,
            to,
        ),
        StrategyConfig::Threshold(t) => go(
            super::threshold::ThresholdStrategy::new(t, universe)
                .expect("the strategy's expressions were checked by config::parse"),
            risk,
            universe,
            engine,
            from,
            to,
        ),
        StrategyConfig::Signal(c) => go(
            SignalStrategy::new(c.rule(), signals.unwrap_or(&empty)),
            risk,
            universe,
            engine,
            from,
            to,
        ),
    }
}

/// Bootstrap paths, block length in days and level of the report's confidence intervals.
pub const BOOTSTRAP: (usize, usize, f64) = (1000, 20, 0.95);

/// The config's run over its whole universe, with bootstrap intervals of Sharpe and drawdown.
pub fn run_config(
    config: &BacktestConfig,
    universe: &Universe,
    signals: Option<&Signals>,
) -> BacktestResult {
    let mut r = run_strategy(
        RunInputs::of(config, universe, signals),
        config.universe.from,
        config.universe.to,
    );
    let (paths, block, level) = BOOTSTRAP;
    r.bootstrap = bootstrap(
        &returns(&r.equity),
        config.engine.risk_free,
        paths,
        block,
        level,
        7,
    );
    r
}

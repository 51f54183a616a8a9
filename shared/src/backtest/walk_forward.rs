//! Walk-forward evaluation: slide a training window and a test window through the dates; on
//! each training window pick the grid's best parameters, then trade them on the following
//! test window only. The stitched test windows are the out-of-sample record.

use super::engine::EngineConfig;
use super::metrics::{Metrics, metrics};
use super::run::{RunInputs, run_strategy};
use super::schema::{ConfigError, StrategyConfig, WalkForwardConfig};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use super::schema::Objective;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fold {
    pub train_from: NaiveDate,
    pub train_to: NaiveDate,
    pub test_from: NaiveDate,
    pub test_to: NaiveDate,
    /// The chosen parameters, as `name=value` pairs ("" for an empty grid).
    pub chosen: String,
    pub train_score: f64,
    pub test_metrics: Option<Metrics>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WalkForwardResult {
    pub folds: Vec<Fold>,
    pub dates: Vec<NaiveDate>,
    /// The test windows chained: each starts in cash with the previous one's final equity.
    pub equity: Vec<f64>,
    pub metrics: Option<Metrics>,
}

/// One fold's windows: train on the first pair of dates, test on the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub train_from: NaiveDate,
    pub train_to: NaiveDate,
    pub test_from: NaiveDate,
    pub test_to: NaiveDate,
}

/// The folds over `dates` (ascending trading days): `train` days, then the next `test` days,
/// moving on by `test` days until the dates run out.
pub fn windows(dates: &[NaiveDate], train: usize, test: usize) -> Result<Vec<Window>, ConfigError> {
    if dates.len() < train + test {
        return Err(ConfigError {
            message: format!(
                "walk_forward: {} trading days, fewer than train_days + test_days = {}",
                dates.len(),
                train + test
            ),
        });
    }
    let mut out = Vec::new();
    let mut start = 0;
    while start + train < dates.len() {
        let test_end = (start + train + test).min(dates.len()) - 1;
        out.push(Window {
            train_from: dates[start],
            train_to: dates[start + train - 1],
            test_from: dates[start + train],
            test_to: dates[test_end],
        });
        start += test;
    }
    Ok(out)
}

/// The walk-forward of `inputs`' strategy over `wf`'s grid between the dates.
pub fn walk_forward(
    wf: &WalkForwardConfig,
    inputs: RunInputs<'_>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<WalkForwardResult, ConfigError> {
    let RunInputs {
        strategy,
        engine,
        universe,
        ..
    } = inputs;
    let candidates = wf.candidates(strategy)?;
    let dates: Vec<NaiveDate> = universe
        .dates()
        .into_iter()
        .filter(|d| from.is_none_or(|f| *d >= f) && to.is_none_or(|t| *d <= t))
        .collect();
    let folds = windows(&dates, wf.train_days, wf.test_days)?;
    let mut out = WalkForwardResult {
        folds: Vec::new(),
        dates: Vec::new(),
        equity: Vec::new(),
        metrics: None,
    };
    let mut cash = engine.initial_cash;
    for Window {
        train_from,
        train_to,
        test_from,
        test_to,
    } in folds
    {
        let mut best: Option<(f64, &(String, StrategyConfig))> = None;
        for c in &candidates {
            let r = run_strategy(
                RunInputs {
                    strategy: &c.1,
                    ..inputs
                },
                Some(train_from),
                Some(train_to),
            );
            let score = wf.objective.score(r.metrics.as_ref());
            if best.is_none_or(|b| score > b.0) {
                best = Some((score, c));
            }
        }
        let (train_score, (chosen, s)) = best.expect("at least one candidate");
        let test_engine = EngineConfig {
            initial_cash: cash,
            ..engine.clone()
        };
        let r = run_strategy(
            RunInputs {
                strategy: s,
                engine: &test_engine,
                ..inputs
            },
            Some(test_from),
            Some(test_to),
        );
        cash = r.equity.last().copied().unwrap_or(cash);
        out.dates.extend(&r.dates);
        out.equity.extend(&r.equity);
        out.folds.push(Fold {
            train_from,
            train_to,
            test_from,
            test_to,
            chosen: chosen.clone(),
            train_score,
            test_metrics: r.metrics,
        });
    }
    out.metrics = metrics(&out.equity, engine.risk_free);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::config::parse;
    use crate::backtest::engine::Universe;
    use crate::calendar::TradingCalendar;
    use crate::domain::{Bar, Symbol};

    /// A trend that flips every 60 days: a fast SMA pair follows it, a slow one lags.
    fn universe() -> Universe {
        let d = TradingCalendar::embedded()
            .trading_days_between(
                NaiveDate::from_ymd_opt(2022, 1, 4).unwrap(),
                NaiveDate::from_ymd_opt(2023, 12, 29).unwrap(),
            )
            .to_vec();
        let mut p = 10.0;
        let bars = d
            .iter()
            .enumerate()
            .map(|(i, day)| {
                p *= if (i / 60) % 2 == 0 { 1.008 } else { 0.993 };
                Bar {
                    ts: day.and_hms_opt(0, 0, 0).unwrap(),
                    open: p,
                    high: p,
                    low: p,
                    close: p,
                    volume: 1e8,
                    amount: None,
                }
            })
            .collect();
        let mut u = Universe::new();
        u.insert("600000.SH".parse::<Symbol>().unwrap(), bars);
        u
    }

    #[test]
    fn folds_tile_the_dates_and_the_grid_picks_per_fold() {
        let c = parse(
            "[universe]\n[strategy]\nkind = \"sma_cross\"\nfast = 5\nslow = 20\n\
             [walk_forward]\ntrain_days = 120\ntest_days = 60\n\
             grid = { fast = [2, 5], slow = [10, 40] }\n",
        )
        .unwrap();
        let wf = c.walk_forward.clone().unwrap();
        assert_eq!(wf.candidates(&c.strategy).unwrap().len(), 4);
        let u = universe();
        let inputs = RunInputs {
            strategy: &c.strategy,
            risk: None,
            engine: &c.engine,
            universe: &u,
            signals: None,
        };
        let w = walk_forward(&wf, inputs, None, None).unwrap();
        let n = u.dates().len();
        // Test windows follow each other without gaps or overlap, after the first training.
        assert_eq!(w.dates.len(), n - 120);
        assert_eq!(w.dates, u.dates()[120..].to_vec());
        assert_eq!(w.folds.len(), (n - 120).div_ceil(60));
        for pair in w.folds.windows(2) {
            assert!(pair[0].test_to < pair[1].test_from);
            assert!(pair[1].train_from > pair[0].train_from);
        }
        for f in &w.folds {
            assert!(f.train_to < f.test_from, "no look-ahead: {f:?}");
            // Each fold's choice is the best of the four on its own training window.
            let best = wf
                .candidates(&c.strategy)
                .unwrap()
                .into_iter()
                .map(|(label, s)| {
                    let r = run_strategy(
                        RunInputs {
                            strategy: &s,
                            ..inputs
                        },
                        Some(f.train_from),
                        Some(f.train_to),
                    );
                    (Objective::Sharpe.score(r.metrics.as_ref()), label)
                })
                .fold((f64::NEG_INFINITY, String::new()), |a, b| {
                    if b.0 > a.0 { b } else { a }
                });
            assert_eq!(f.chosen, best.1);
            assert_eq!(f.train_score, best.0);
        }
        // The chained equity starts from the initial cash and carries across folds.
        assert!((w.equity[0] - c.engine.initial_cash).abs() / c.engine.initial_cash < 0.01);
        assert!(w.metrics.is_some());
    }

    #[test]
    fn grid_mistakes_are_named() {
        let base = "[universe]\n[strategy]\nkind = \"sma_cross\"\nfast = 5\nslow = 20\n[walk_forward]\ntrain_days = 120\ntest_days = 60\n";
        for (extra, want) in [
            ("grid = { fast = [30] }\n", "fast < slow"),
            ("grid = { speed = [3] }\n", "speed"),
            (
                "grid = { kind = [\"monthly_rotation\"] }\n",
                "`kind` cannot vary",
            ),
            ("grid = { fast = [] }\n", "at least one value"),
        ] {
            let e = parse(&format!("{base}{extra}")).unwrap_err().message;
            assert!(e.contains(want), "{extra}: {e}");
        }
        let e = parse(&base.replace("test_days = 60", "test_days = 1"))
            .unwrap_err()
            .message;
        assert!(e.contains("test_days"), "{e}");
    }
}

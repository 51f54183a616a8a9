//! The strategy's score judged on its own, before any trading rule: the IC report of the
//! `top_k` score (or a `threshold` strategy's `rank`) against the return over the holding
//! period that follows, on non-overlapping dates of the run, beside momentum and reversal.
//! A score without signal shows here, whatever the rules did to it.

use std::collections::BTreeMap;

use super::engine::Universe;
use super::fields::panel_for;
use super::schema::{BacktestConfig, StrategyConfig};
use super::top_k::Rebalance;
use crate::Bar;
use crate::predictions::evaluate::{ScoreReport, score_report};
use crate::predictions::rows::{Detail, PredictionRow};

/// The score report of the config's strategy; `None` for strategies without a score
/// expression.
pub fn score_ic(config: &BacktestConfig, universe: &Universe) -> Option<ScoreReport> {
    let (expr, horizon, predictions, rows) = match &config.strategy {
        StrategyConfig::TopK(t) => (
            t.score.as_str(),
            match t.rebalance {
                Rebalance::Daily => 1,
                Rebalance::Weekly => 5,
                Rebalance::Monthly => 21,
                Rebalance::Days(n) => n,
            },
            t.predictions.is_some(),
            t.rows.as_deref(),
        ),
        StrategyConfig::Threshold(t) => (
            t.rank.as_deref()?,
            t.hold_days.unwrap_or(5),
            t.predictions.is_some(),
            t.rows.as_deref(),
        ),
        _ => return None,
    };
    let panel = panel_for(universe, &[expr], predictions, rows.map(Vec::as_slice));
    let score = panel.evaluate(expr).ok()?;
    let u = &config.universe;
    let in_run: Vec<usize> = (0..panel.dates.len())
        .filter(|&d| u.contains(panel.dates[d]))
        .collect();
    let mut out = Vec::new();
    for &d in in_run.iter().step_by(horizon.max(1)) {
        for (s, symbol) in panel.symbols.iter().enumerate() {
            let v = score[s][d];
            if panel.present[s][d] && v.is_finite() {
                out.push(PredictionRow {
                    symbol: symbol.clone(),
                    as_of: panel.dates[d],
                    horizon: horizon as u32,
                    score: v,
                    p_up: f64::NAN,
                    detail: Detail::Classifier {
                        p_down: f64::NAN,
                        p_flat: f64::NAN,
                    },
                });
            }
        }
    }
    // The universe's own bars, borrowed: no copy of a large universe.
    let bars: BTreeMap<String, &[Bar]> = universe
        .series()
        .iter()
        .map(|(s, b)| (s.to_string(), b.as_slice()))
        .collect();
    Some(score_report(&out, &bars))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::config;
    use chrono::NaiveDate;

    /// Ten names whose next-day return is planted in a visible field (`$volume`).
    fn planted() -> Universe {
        let mut u = Universe::new();
        let codes = [
            "600000", "600004", "600006", "600007", "600008", "600009", "600010", "600011",
            "600012", "600015",
        ];
        for (k, code) in codes.iter().enumerate() {
            let mut close = 10.0;
            let mut bars = Vec::new();
            for i in 0..120u64 {
                let day = NaiveDate::from_ymd_opt(2023, 1, 2).unwrap() + chrono::Days::new(i);
                // Tomorrow's return, known today through the volume.
                let next = (((k * 7 + i as usize * 3) % 10) as f64 - 4.5) / 300.0;
                bars.push(Bar {
                    ts: day.and_hms_opt(0, 0, 0).unwrap(),
                    open: close,
                    high: close,
                    low: close,
                    close,
                    volume: 1e6 * (1.0 + next * 10.0),
                    amount: None,
                });
                close *= 1.0 + next;
            }
            u.insert(code.parse().unwrap(), bars);
        }
        u
    }

    #[test]
    fn a_planted_score_has_rank_ic_one_and_its_negation_minus_one() {
        let u = planted();
        let run = |score: &str| {
            let cfg = config::parse(&format!(
                "[universe]\nsymbols = [\"600000\"]\n[strategy]\nkind = \"top_k\"\nscore = \"{score}\"\nk = 2\nrebalance = \"daily\"\n"
            ))
            .unwrap();
            score_ic(&cfg, &u).unwrap()
        };
        let good = run("$volume");
        assert_eq!(good.horizon, 1);
        let s = &good.signals[0];
        assert!(s.rank_ic > 0.99 && s.dates > 100, "{s:?}");
        assert!(s.quintiles[4] > s.quintiles[0]);
        let flipped = run("-$volume");
        assert!(
            flipped.signals[0].rank_ic < -0.99,
            "{:?}",
            flipped.signals[0]
        );
    }
}

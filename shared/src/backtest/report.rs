//! The report a person reads after a run: the strategy in words, the metrics with their
//! bootstrap intervals, refusals by reason, and the walk-forward's folds.

use super::benchmarks::Benchmark;
use super::engine::{BacktestResult, Universe};
use super::metrics::Metrics;
use super::schema::{BacktestConfig, StrategyConfig};
use super::strategies::Weighting;
use super::walk_forward::WalkForwardResult;
use crate::predictions::evaluate::ScoreReport;
use std::collections::BTreeMap;
use std::fmt::Write as _;

pub fn describe_strategy(s: &StrategyConfig) -> String {
    match s {
        StrategyConfig::MonthlyRotation(m) => format!(
            "monthly rotation, top {:.0} %, {} weights",
            m.top_fraction * 100.0,
            match m.weighting {
                Weighting::Equal => "equal",
                Weighting::ByReturn => "return-proportional",
            }
        ),
        StrategyConfig::SmaCross(c) => format!("SMA crossover {}/{}", c.fast, c.slow),
        StrategyConfig::TopK(t) => format!(
            "top {} by `{}`, {} weights, rebalanced {}{}{}",
            t.k.map_or_else(
                || format!("{:.0} %", t.top_fraction.unwrap_or(0.2) * 100.0),
                |k| k.to_string()
            ),
            t.score,
            match t.weighting {
                super::top_k::Weighting::Equal => "equal",
                super::top_k::Weighting::Score => "score-proportional",
                super::top_k::Weighting::InverseVol => "inverse-volatility",
                super::top_k::Weighting::FloatCap => "float-cap",
            },
            match t.rebalance {
                super::top_k::Rebalance::Daily => "daily".to_string(),
                super::top_k::Rebalance::Weekly => "weekly".to_string(),
                super::top_k::Rebalance::Monthly => "monthly".to_string(),
                super::top_k::Rebalance::Days(n) => format!("every {n} trading days"),
            },
            if t.n_drop > 0 {
                format!(", at most {} replaced", t.n_drop)
            } else {
                String::new()
            },
            t.filter
                .as_ref()
                .map_or(String::new(), |f| format!(", among `{f}`"))
        ),
        StrategyConfig::Threshold(t) => format!(
            "threshold: buy when `{}`, sell when `{}`{}, {} slots",
            t.buy,
            t.sell,
            t.hold_days
                .map_or(String::new(), |h| format!(" or after {h} days")),
            t.max_positions
        ),
        StrategyConfig::Signal(c) => {
            let r = c.rule();
            format!(
                "signal: buy P(up) > {:.0} %, sell P(down) > {:.0} %, gate {:.0} pts, {} slots{}",
                r.buy_above * 100.0,
                r.sell_above * 100.0,
                r.min_confidence * 100.0,
                r.max_positions,
                r.hold_days
                    .map_or(String::new(), |h| format!(", exit after {h} days"))
            )
        }
    }
}

/// The report a person reads: the run, its metrics, costs, trading and refusals.
pub fn report(config: &BacktestConfig, universe: &Universe, r: &BacktestResult) -> String {
    let mut s = String::new();
    let symbols = universe.symbols().count();
    let (first, last) = (r.dates.first(), r.dates.last());
    let _ = writeln!(s, "strategy      {}", describe_strategy(&config.strategy));
    let _ = writeln!(
        s,
        "universe      {symbols} symbols, {} trading days{}",
        r.dates.len(),
        match (first, last) {
            (Some(a), Some(b)) => format!(" ({a} to {b})"),
            _ => String::new(),
        }
    );
    let rules = if config.engine.frictionless {
        "frictionless (fractional shares, no fees, no rules)".to_string()
    } else {
        let w = config.engine.rules;
        format!(
            "T+1 {}, price limits {}, lots {}, fees {}",
            on(w.t_plus_one),
            on(w.price_limits),
            on(w.lots),
            on(w.fees)
        ) + match (
            config.engine.fees.stamp_duty,
            config.engine.fees.transfer_fee,
        ) {
            (true, true) => "",
            (false, true) => " (no stamp duty)",
            (true, false) => " (no transfer fee)",
            (false, false) => " (commission only: no stamp duty, no transfer fee)",
        }
    };
    let _ = writeln!(s, "rules         {rules}");
    let start = config.engine.initial_cash;
    let end = r.equity.last().copied().unwrap_or(start);
    let _ = writeln!(s, "equity        {start:.2} → {end:.2} CNY");
    match &r.metrics {
        Some(m) => {
            let rows = [
                ("total return", pct(m.total_return)),
                ("annual return", pct(m.annual_return)),
                ("volatility", pct(m.annual_volatility)),
                ("Sharpe", format!("{:.3}", m.sharpe)),
                ("Sortino", format!("{:.3}", m.sortino)),
                ("max drawdown", pct(m.max_drawdown)),
                ("drawdown days", m.max_drawdown_days.to_string()),
                ("Calmar", format!("{:.3}", m.calmar)),
                ("positive days", pct(m.positive_days)),
            ];
            for (k, v) in rows {
                let _ = writeln!(s, "{k:<14}{v}");
            }
            if let Some(b) = &r.bootstrap {
                let _ = writeln!(
                    s,
                    "{:.0} % CI      Sharpe {:.3} to {:.3}, max drawdown {} to {} ({} block-bootstrap paths, {}-day blocks)",
                    b.level * 100.0,
                    b.sharpe.low,
                    b.sharpe.high,
                    pct(b.max_drawdown.low),
                    pct(b.max_drawdown.high),
                    b.resamples,
                    b.block
                );
            }
        }
        None => {
            let _ = writeln!(s, "metrics       (too few days)");
        }
    }
    let win = r
        .win_rate()
        .map_or("no sells".to_string(), |w| format!("win rate {}", pct(w)));
    let _ = writeln!(
        s,
        "trades        {} fills ({} sells, {win}), turnover {:.2}×, exposure {}",
        r.fills.len(),
        r.sells,
        r.turnover,
        pct(r.exposure)
    );
    let _ = writeln!(
        s,
        "costs         {:.2} CNY (commission {:.2}, stamp duty {:.2}, transfer fee {:.2})",
        r.costs.total(),
        r.costs.commission,
        r.costs.stamp_duty,
        r.costs.transfer_fee
    );
    let refused = refusals(r);
    let refused = if refused.is_empty() {
        "none".to_string()
    } else {
        refused
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(s, "refused       {refused}");
    s
}

/// The strategy beside its benchmarks on the same dates.
pub fn benchmarks_report(r: &BacktestResult, benchmarks: &[Benchmark]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "benchmarks    {:<34}{:>10}{:>10}{:>9}{:>10}",
        "(same universe and dates)", "total", "annual", "Sharpe", "max DD"
    );
    let row = |s: &mut String, name: &str, m: Option<&Metrics>| {
        let _ = match m {
            Some(m) => writeln!(
                s,
                "              {name:<34}{:>10}{:>10}{:>9.3}{:>10}",
                pct(m.total_return),
                pct(m.annual_return),
                m.sharpe,
                pct(m.max_drawdown)
            ),
            None => writeln!(s, "              {name:<34}(too few days)"),
        };
    };
    row(&mut s, "strategy", r.metrics.as_ref());
    for b in benchmarks {
        row(&mut s, &b.name, b.metrics.as_ref());
    }
    s
}

/// The score's IC report: does the idea have signal before any trading rule?
pub fn score_ic_report(r: &ScoreReport) -> String {
    let mut s = String::new();
    let bars = if r.horizon == 1 { "bar" } else { "bars" };
    for (k, g) in r.signals.iter().enumerate() {
        let label = if k == 0 { "score IC" } else { "" };
        let name = if k == 0 {
            "the score"
        } else {
            g.signal.as_str()
        };
        let quintiles = if g.spread.is_finite() {
            format!(
                "quintiles {} → {}, top − bottom {}",
                pct(g.quintiles[0]),
                pct(g.quintiles[4]),
                pct(g.spread)
            )
        } else {
            "no quintiles (fewer than 5 names a date)".to_string()
        };
        let _ = writeln!(
            s,
            "{label:<14}{name:<12} rank IC {:>7.4} (ICIR {:.2}, t {:.2}, positive {}) over {} dates; {quintiles}",
            g.rank_ic,
            g.icir,
            g.t_stat,
            pct(g.positive_rank_ic_share),
            g.dates,
        );
    }
    let _ = writeln!(
        s,
        "              (each against the return over the next {} {bars}, {} rows)",
        r.horizon, r.scored
    );
    s
}

/// The walk-forward's folds and its out-of-sample metrics, appended to the report.
pub fn walk_forward_report(w: &WalkForwardResult) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "\nwalk-forward  {} folds, out of sample:", w.folds.len());
    for f in &w.folds {
        let test = f.test_metrics.as_ref().map_or("-".to_string(), |m| {
            format!("return {}, Sharpe {:.2}", pct(m.total_return), m.sharpe)
        });
        let chosen = if f.chosen.is_empty() {
            "(fixed)"
        } else {
            &f.chosen
        };
        let _ = writeln!(
            s,
            "  train {} to {} → {chosen} (score {:.2}); test {} to {}: {test}",
            f.train_from, f.train_to, f.train_score, f.test_from, f.test_to
        );
    }
    match &w.metrics {
        Some(m) => {
            let _ = writeln!(
                s,
                "  stitched     return {}, annual {}, Sharpe {:.3}, max drawdown {}",
                pct(m.total_return),
                pct(m.annual_return),
                m.sharpe,
                pct(m.max_drawdown)
            );
        }
        None => {
            let _ = writeln!(s, "  stitched     (too few days)");
        }
    }
    s
}

/// Refused orders counted by reason (the reason's JSON name).
pub fn refusals(r: &BacktestResult) -> BTreeMap<String, usize> {
    let mut refused: BTreeMap<String, usize> = BTreeMap::new();
    for x in &r.rejections {
        let reason = serde_json::to_value(x.reason)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        *refused.entry(reason).or_default() += 1;
    }
    refused
}

fn on(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

/// A fraction as a percentage with two decimals.
pub fn pct(x: f64) -> String {
    format!("{:.2} %", x * 100.0)
}

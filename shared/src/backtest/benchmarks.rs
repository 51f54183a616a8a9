//! What a strategy is held against on the same universe and dates: the universe bought in
//! equal weights and held, through the same engine (lots, limits, fees, slippage), and the
//! universe's index when one is stored (its closes: an index is not traded, so no costs).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::engine::{BacktestResult, Context, Order, Strategy, Timing, Universe, run_window};
use super::metrics::{Metrics, metrics};
use super::schema::BacktestConfig;
use crate::domain::{Bar, Symbol};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Benchmark {
    pub name: String,
    /// On the strategy's dates, starting from its initial cash.
    pub equity: Vec<f64>,
    pub metrics: Option<Metrics>,
}

/// Buys every name with a bar on the first day in equal weights and holds; a buy the rules
/// refuse (a limit-up open, a suspension) is tried again on the following days.
struct BuyAndHold {
    names: Option<Vec<Symbol>>,
    tries: usize,
}

impl Strategy for BuyAndHold {
    fn on_day(&mut self, ctx: &Context<'_>) -> Vec<Order> {
        let names = self.names.get_or_insert_with(|| {
            ctx.histories()
                .filter(|(_, h, _)| h.last().is_some_and(|b| b.ts.date() == ctx.day))
                .map(|(s, _, _)| s.clone())
                .collect()
        });
        if names.is_empty() || self.tries >= 10 {
            return Vec::new();
        }
        self.tries += 1;
        let w = 0.998 / names.len() as f64;
        names
            .iter()
            .filter(|s| ctx.shares(s) == 0.0)
            .filter_map(|s| ctx.order_target_weight(s, w, Timing::Open))
            .collect()
    }
}

/// The equal-weight buy-and-hold of `universe` and, when the universe has one, its index.
pub fn benchmarks(
    config: &BacktestConfig,
    universe: &Universe,
    result: &BacktestResult,
) -> Vec<Benchmark> {
    let (from, to) = (result.dates.first().copied(), result.dates.last().copied());
    let rf = config.engine.risk_free;
    let held = run_window(
        universe,
        &config.engine,
        &mut BuyAndHold {
            names: None,
            tries: 0,
        },
        from,
        to,
    );
    let mut out = vec![Benchmark {
        name: "equal-weight buy-and-hold".into(),
        metrics: metrics(&held.equity, rf),
        equity: held.equity,
    }];
    // A universe that trades the index itself (the embedded files) compares with it too.
    let own = config
        .universe
        .benchmark_symbol()
        .0
        .parse::<Symbol>()
        .ok()
        .and_then(|s| universe.series().get_key_value(&s))
        .map(|(s, b)| (s, b.as_slice()));
    if let Some((symbol, bars)) = universe.benchmark().or(own)
        && let Some(equity) = index_equity(bars, &result.dates, config.engine.initial_cash)
    {
        out.push(Benchmark {
            name: format!("index {symbol}"),
            metrics: metrics(&equity, rf),
            equity,
        });
    }
    out
}

/// The index's close on each date (the last one on or before it), scaled to `cash` on the
/// first date; `None` when the index has no bar by then.
fn index_equity(bars: &[Bar], dates: &[NaiveDate], cash: f64) -> Option<Vec<f64>> {
    let close_on = |d: NaiveDate| {
        let n = bars.partition_point(|b| b.ts.date() <= d);
        n.checked_sub(1).map(|i| bars[i].close)
    };
    let first = close_on(*dates.first()?)?;
    Some(
        dates
            .iter()
            .map(|d| cash * close_on(*d).unwrap_or(first) / first)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::config;

    fn bar(day: NaiveDate, close: f64) -> Bar {
        Bar {
            ts: day.and_hms_opt(0, 0, 0).unwrap(),
            open: close,
            high: close,
            low: close,
            close,
            volume: 1e7,
            amount: Some(close * 1e7),
        }
    }

    #[test]
    fn buy_and_hold_follows_the_names_and_the_index_its_closes() {
        let days: Vec<NaiveDate> = (0..30)
            .map(|i| NaiveDate::from_ymd_opt(2024, 3, 1).unwrap() + chrono::Days::new(i))
            .collect();
        let mut u = Universe::new();
        // One name rises 1 % a day, the other is flat: held half and half, the portfolio
        // ends near the mean of the two.
        u.insert(
            "600000".parse().unwrap(),
            days.iter()
                .enumerate()
                .map(|(i, d)| bar(*d, 10.0 * 1.01f64.powi(i as i32)))
                .collect(),
        );
        u.insert(
            "000001".parse().unwrap(),
            days.iter().map(|d| bar(*d, 10.0)).collect(),
        );
        u.set_benchmark(
            "000300.SH".parse().unwrap(),
            days.iter()
                .step_by(2)
                .enumerate()
                .map(|(i, d)| bar(*d, 100.0 + i as f64))
                .collect(),
        );
        let cfg = config::parse(
            "[universe]\nsymbols = [\"600000\"]\n[strategy]\nkind = \"sma_cross\"\nfast = 5\nslow = 20\n[engine]\ninitial_cash = 1_000_000\n",
        )
        .unwrap();
        let r = run_window(
            &u,
            &cfg.engine,
            &mut BuyAndHold {
                names: None,
                tries: 0,
            },
            None,
            None,
        );
        let b = benchmarks(&cfg, &u, &r);
        assert_eq!(b.len(), 2);
        let ew = &b[0].metrics.as_ref().unwrap().total_return;
        // Bought at day 1's open: the rising name gains 1.01^28 − 1 ≈ 32 %; half of that.
        assert!((0.14..0.17).contains(ew), "{ew}");
        let idx = &b[1];
        assert_eq!(idx.name, "index 000300.SH");
        // 30 days, the index on every other: its last close is 114 from 100.
        assert!((idx.equity.last().unwrap() / idx.equity[0] - 1.14).abs() < 1e-12);
        assert_eq!(
            idx.equity[1], idx.equity[0],
            "a day without a bar keeps the last close"
        );
    }
}

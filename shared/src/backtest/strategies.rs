//! Ready-made strategies. Parameters are serde structs, so they load from TOML files.

use super::engine::{Context, Order, Strategy, Timing};
use crate::calendar::TradingCalendar;
use crate::domain::{Bar, Symbol};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// Mean close of the last `n` bars.
fn sma(bars: &[Bar], n: usize) -> Option<f64> {
    let from = bars.len().checked_sub(n).filter(|_| n > 0)?;
    Some(bars[from..].iter().map(|b| b.close).sum::<f64>() / n as f64)
}

/// Simple moving-average crossover: hold an equal weight of every symbol whose fast SMA is
/// above its slow SMA, none otherwise; trades at the next open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmaCross {
    pub fast: usize,
    pub slow: usize,
}

impl Strategy for SmaCross {
    fn on_day(&mut self, ctx: &Context<'_>) -> Vec<Order> {
        let weight = 1.0 / ctx.symbols().count().max(1) as f64;
        let mut orders = Vec::new();
        for (s, h, shares) in ctx.histories() {
            if h.last().is_none_or(|b| b.ts.date() != ctx.day) {
                continue; // not traded today: keep whatever is held
            }
            let (Some(f), Some(sl)) = (sma(h, self.fast), sma(h, self.slow)) else {
                continue;
            };
            let held = shares > 0.0;
            let target = if f > sl { weight } else { 0.0 };
            // Act on crossings only, so lots and fees do not churn small rebalances.
            if (target > 0.0) != held {
                orders.extend(ctx.order_target_weight(s, target, Timing::Open));
            }
        }
        orders
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Weighting {
    #[default]
    Equal,
    /// Proportional to last month's return (positive returns only).
    ByReturn,
}

/// The seed users' monthly rotation: the universe is fixed at the start; after the last
/// trading day of each month, rank symbols by that month's return, and hold the top
/// `top_fraction` from the next (first) trading day's open, sells before buys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonthlyRotation {
    #[serde(default = "default_top")]
    pub top_fraction: f64,
    #[serde(default)]
    pub weighting: Weighting,
}

fn default_top() -> f64 {
    0.2
}

impl MonthlyRotation {
    fn is_month_end(day: NaiveDate) -> bool {
        let next = TradingCalendar::embedded().next_trading_days(day, 1)[0].0;
        next.month() != day.month()
    }

    /// Return over the month ending `day`: today's close against the last close before the
    /// month began.
    fn month_return(ctx: &Context<'_>, h: &[Bar]) -> Option<f64> {
        let last = h.last().filter(|b| b.ts.date() == ctx.day)?;
        let month_start = ctx.day.with_day(1)?;
        let before = h.iter().rev().find(|b| b.ts.date() < month_start)?;
        Some(last.close / before.close - 1.0)
    }
}

impl Strategy for MonthlyRotation {
    fn on_day(&mut self, ctx: &Context<'_>) -> Vec<Order> {
        if !Self::is_month_end(ctx.day) {
            return Vec::new();
        }
        let mut ranked: Vec<(Symbol, f64)> = ctx
            .histories()
            .filter(|(s, _, _)| ctx.is_member(s))
            .filter_map(|(s, h, _)| Self::month_return(ctx, h).map(|r| (s.clone(), r)))
            .collect();
        if ranked.is_empty() {
            return Vec::new();
        }
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let n = ((ranked.len() as f64 * self.top_fraction).round() as usize).clamp(1, ranked.len());
        let top = &ranked[..n];
        let weights: Vec<f64> = match self.weighting {
            Weighting::Equal => vec![1.0 / n as f64; n],
            Weighting::ByReturn => {
                let pos: Vec<f64> = top.iter().map(|(_, r)| r.max(0.0)).collect();
                let sum: f64 = pos.iter().sum();
                if sum > 0.0 {
                    pos.iter().map(|p| p / sum).collect()
                } else {
                    vec![1.0 / n as f64; n]
                }
            }
        };
        // Keep a sliver of cash for fees so the buys are not cut by the cash check.
        let scale = 0.998;
        let mut orders: Vec<Order> = ctx
            .positions
            .iter()
            .filter(|(s, p)| p.shares > 0.0 && !top.iter().any(|(t, _)| t == *s))
            .filter_map(|(s, _)| ctx.order_target_weight(s, 0.0, Timing::Open))
            .collect();
        for ((s, _), w) in top.iter().zip(weights) {
            orders.extend(ctx.order_target_weight(s, w * scale, Timing::Open));
        }
        orders
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::engine::{EngineConfig, Universe, run};
    use crate::domain::Bar;
    use crate::rules::Side;

    fn series(days: &[NaiveDate], price: impl Fn(usize) -> f64) -> Vec<Bar> {
        days.iter()
            .enumerate()
            .map(|(i, d)| {
                let p = price(i);
                Bar {
                    ts: d.and_hms_opt(0, 0, 0).unwrap(),
                    open: p,
                    high: p,
                    low: p,
                    close: p,
                    volume: 1e7,
                    amount: None,
                }
            })
            .collect()
    }

    fn days(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
        TradingCalendar::embedded()
            .trading_days_between(from, to)
            .to_vec()
    }

    #[test]
    fn sma_cross_buys_the_uptrend_and_sells_the_downtrend() {
        let d = days(
            NaiveDate::from_ymd_opt(2024, 1, 2).unwrap(),
            NaiveDate::from_ymd_opt(2024, 6, 28).unwrap(),
        );
        // Up 1 % a day for 60 days, then down 1 % a day (within the 10 % band).
        let price = |i: usize| {
            if i < 60 {
                10.0 * 1.01f64.powi(i as i32)
            } else {
                10.0 * 1.01f64.powi(60) * 0.99f64.powi(i as i32 - 60)
            }
        };
        let mut u = Universe::new();
        u.insert(Symbol::parse("600000").unwrap(), series(&d, price));
        let r = run(
            &u,
            &EngineConfig::default(),
            &mut SmaCross { fast: 5, slow: 20 },
        );
        let sides: Vec<Side> = r.fills.iter().map(|f| f.side).collect();
        assert_eq!(sides, vec![Side::Buy, Side::Sell], "{:?}", r.fills);
        // Bought once the slow SMA exists (day 20), sold a few days after the turn at day 60.
        let buy_i = d.iter().position(|x| *x == r.fills[0].day).unwrap();
        let sell_i = d.iter().position(|x| *x == r.fills[1].day).unwrap();
        assert_eq!(buy_i, 20);
        assert!((61..75).contains(&sell_i), "sold at {sell_i}");
        assert!(r.metrics.unwrap().total_return > 0.2);
    }

    #[test]
    fn rotation_holds_last_months_winner_from_the_first_trading_day() {
        let d = days(
            NaiveDate::from_ymd_opt(2023, 12, 1).unwrap(),
            NaiveDate::from_ymd_opt(2024, 4, 30).unwrap(),
        );
        let mut u = Universe::new();
        // Five symbols, flat in December; in January 600004 rises most, in February 600001.
        for (k, code) in ["600000", "600001", "600002", "600003", "600004"]
            .iter()
            .enumerate()
        {
            let jan_rate = [0.001, 0.002, 0.003, 0.004, 0.005][k];
            let feb_rate = [0.001, 0.008, 0.003, 0.002, 0.001][k];
            let mut level = 10.0;
            let mut prices = Vec::with_capacity(d.len());
            for day in &d {
                level *= match (day.year(), day.month()) {
                    (2024, 1) => 1.0 + jan_rate,
                    (2024, 2) => 1.0 + feb_rate,
                    _ => 1.0,
                };
                prices.push(level);
            }
            u.insert(Symbol::parse(code).unwrap(), series(&d, |i| prices[i]));
        }
        let cfg = EngineConfig {
            initial_cash: 1_000_000.0,
            ..Default::default()
        };
        let r = run(
            &u,
            &cfg,
            &mut MonthlyRotation {
                top_fraction: 0.2,
                weighting: Weighting::Equal,
            },
        );
        let first: Vec<(NaiveDate, String, Side)> = r
            .fills
            .iter()
            .take(3)
            .map(|f| (f.day, f.symbol.to_string(), f.side))
            .collect();
        assert_eq!(
            first[0],
            (
                NaiveDate::from_ymd_opt(2024, 2, 1).unwrap(),
                "600004.SH".into(),
                Side::Buy
            )
        );
        // At March's first trading day: sell 600004 first, then buy 600001.
        let march = NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
        let m: Vec<(String, Side)> = r
            .fills
            .iter()
            .filter(|f| f.day == march)
            .map(|f| (f.symbol.to_string(), f.side))
            .collect();
        assert_eq!(
            m,
            vec![
                ("600004.SH".into(), Side::Sell),
                ("600001.SH".into(), Side::Buy)
            ]
        );
    }

    #[test]
    fn parameters_come_from_serde() {
        let p: MonthlyRotation = serde_json::from_str(r#"{"weighting": "by_return"}"#).unwrap();
        assert_eq!((p.top_fraction, p.weighting), (0.2, Weighting::ByReturn));
        let s: SmaCross = serde_json::from_str(r#"{"fast": 5, "slow": 20}"#).unwrap();
        assert_eq!((s.fast, s.slow), (5, 20));
    }
}

//! A risk manager that wraps any strategy: caps on what is bought, and exits the strategy
//! did not ask for. Exits trade at the next open, like every order.

use super::engine::{Context, Order, Strategy, Timing};
use crate::domain::Symbol;
use crate::rules::Side;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RiskLimits {
    /// Largest weight of equity in one symbol after a buy (e.g. 0.1).
    pub max_symbol_weight: Option<f64>,
    /// Largest total weight held in symbols (e.g. 0.8 keeps 20 % cash).
    pub max_gross_weight: Option<f64>,
    /// Sell everything of a symbol whose close falls this far below its average cost (0.08 = −8 %).
    pub stop_loss: Option<f64>,
    /// Sell everything of a symbol whose close falls this far below its highest close since
    /// it was bought.
    pub trailing_stop: Option<f64>,
}

pub struct RiskManaged<S> {
    pub inner: S,
    pub limits: RiskLimits,
    peaks: BTreeMap<Symbol, f64>,
}

impl<S: Strategy> RiskManaged<S> {
    pub fn new(inner: S, limits: RiskLimits) -> Self {
        RiskManaged {
            inner,
            limits,
            peaks: BTreeMap::new(),
        }
    }
}

impl<S: Strategy> Strategy for RiskManaged<S> {
    fn on_day(&mut self, ctx: &Context<'_>) -> Vec<Order> {
        let mut orders = self.inner.on_day(ctx);
        let close_of = |s: &Symbol| ctx.history(s).last().map(|b| b.close);

        // Exits: stop loss and trailing stop override the strategy for that symbol.
        self.peaks.retain(|s, _| ctx.shares(s) > 0.0);
        let mut exits = Vec::new();
        for (s, p) in ctx.positions.iter().filter(|(_, p)| p.shares > 0.0) {
            let Some(close) = close_of(s) else { continue };
            let peak = self.peaks.entry(s.clone()).or_insert(close);
            *peak = peak.max(close);
            let stopped = self
                .limits
                .stop_loss
                .is_some_and(|l| close <= p.avg_cost * (1.0 - l));
            let trailed = self
                .limits
                .trailing_stop
                .is_some_and(|l| close <= *peak * (1.0 - l));
            if stopped || trailed {
                exits.push(s.clone());
            }
        }
        orders.retain(|o| !exits.contains(&o.symbol));
        for s in &exits {
            orders.push(Order {
                symbol: s.clone(),
                side: Side::Sell,
                shares: ctx.shares(s),
                timing: Timing::Open,
            });
        }

        // Caps: shrink buys so the symbol and the whole book stay within their weights.
        let equity = ctx.equity.max(f64::MIN_POSITIVE);
        let value = |s: &Symbol| ctx.shares(s) * close_of(s).unwrap_or(0.0);
        let mut gross: f64 = ctx.positions.keys().map(value).sum::<f64>()
            - orders
                .iter()
                .filter(|o| o.side == Side::Sell)
                .map(|o| o.shares * close_of(&o.symbol).unwrap_or(0.0))
                .sum::<f64>();
        for o in orders.iter_mut().filter(|o| o.side == Side::Buy) {
            let Some(price) = close_of(&o.symbol) else {
                continue;
            };
            let mut room = f64::INFINITY;
            if let Some(w) = self.limits.max_symbol_weight {
                room = room.min(w * equity - value(&o.symbol));
            }
            if let Some(w) = self.limits.max_gross_weight {
                room = room.min(w * equity - gross);
            }
            o.shares = o.shares.min((room / price).max(0.0));
            gross += o.shares * price;
        }
        orders.retain(|o| o.shares > 0.0);
        orders
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::engine::{EngineConfig, Universe, run};
    use crate::calendar::TradingCalendar;
    use crate::domain::Bar;
    use chrono::NaiveDate;

    /// Wants all its cash in 600000 every day.
    struct AllIn;
    impl Strategy for AllIn {
        fn on_day(&mut self, ctx: &Context<'_>) -> Vec<Order> {
            let s = Symbol::parse("600000").unwrap();
            if ctx.shares(&s) > 0.0 {
                return Vec::new();
            }
            ctx.order_target_weight(&s, 0.99, Timing::Open)
                .into_iter()
                .collect()
        }
    }

    fn universe(prices: &[f64]) -> Universe {
        let days = TradingCalendar::embedded()
            .next_trading_days(NaiveDate::from_ymd_opt(2024, 3, 1).unwrap(), prices.len());
        let bars = days
            .iter()
            .zip(prices)
            .map(|((d, _), &p)| Bar {
                ts: d.and_hms_opt(0, 0, 0).unwrap(),
                open: p,
                high: p,
                low: p,
                close: p,
                volume: 1e8,
                amount: None,
            })
            .collect();
        let mut u = Universe::new();
        u.insert(Symbol::parse("600000").unwrap(), bars);
        u
    }

    #[test]
    fn symbol_cap_shrinks_the_buy() {
        let u = universe(&[10.0, 10.0, 10.0]);
        let limits = RiskLimits {
            max_symbol_weight: Some(0.1),
            ..Default::default()
        };
        let r = run(
            &u,
            &EngineConfig::default(),
            &mut RiskManaged::new(AllIn, limits),
        );
        // 10 % of ¥1,000,000 at ¥10 = 10,000 shares.
        assert_eq!(r.fills[0].shares, 10_000.0);
    }

    #[test]
    fn stop_loss_sells_after_the_close_breaks_it() {
        // Bought at 10.0 on day 2; closes 9.6, 9.1 (−9 % < −8 %): sold at day 5's open.
        let u = universe(&[10.0, 10.0, 9.6, 9.1, 9.0, 9.0]);
        let limits = RiskLimits {
            stop_loss: Some(0.08),
            ..Default::default()
        };
        let r = run(
            &u,
            &EngineConfig::default(),
            &mut RiskManaged::new(AllIn, limits),
        );
        let sell = r
            .fills
            .iter()
            .find(|f| f.side == Side::Sell)
            .expect("stopped out");
        assert_eq!((sell.day, sell.price), (r.dates[4], 9.0));
    }

    #[test]
    fn trailing_stop_follows_the_peak() {
        // Bought at 10 (day 2), peak 12 (day 4), 10.7 is −10.8 % from the peak: sold next open.
        let u = universe(&[10.0, 10.0, 11.0, 12.0, 10.7, 10.6, 10.6]);
        let limits = RiskLimits {
            trailing_stop: Some(0.1),
            stop_loss: Some(0.5),
            ..Default::default()
        };
        let r = run(
            &u,
            &EngineConfig::default(),
            &mut RiskManaged::new(AllIn, limits),
        );
        let sell = r
            .fills
            .iter()
            .find(|f| f.side == Side::Sell)
            .expect("trailed out");
        assert_eq!(sell.day, r.dates[5]);
    }
}

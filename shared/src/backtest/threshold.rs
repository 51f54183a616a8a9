//! `kind = "threshold"`: buy a name when its `buy` expression holds and sell it when `sell`
//! holds (or after `hold_days`), with at most `max_positions` held, each at `weight` of equity.
//! Candidates are taken best first by `rank` when given, else in symbol order.
//!
//! ```toml
//! [strategy]
//! kind = "threshold"
//! buy = "$close > mean($close, 20) and ref($close, 1) <= ref(mean($close, 20), 1)"
//! sell = "$close < mean($close, 20)"
//! max_positions = 5
//! hold_days = 10            # optional
//! rank = "pred.p_up"        # optional: which buys come first
//! predictions = "preds.csv" # optional: pred.* fields, as for top_k
//! ```

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::engine::{Context, Order, Strategy, Timing, Universe};
use super::fields::{PredictionSource, check_expressions, panel_for, symbol_index};
use crate::domain::Symbol;
use crate::expr::ExprError;
use crate::predictions::rows::{PredictionRow, RowKind};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    pub buy: String,
    pub sell: String,
    #[serde(default = "five")]
    pub max_positions: usize,
    /// Sell after this many trading days held, whatever `sell` says.
    #[serde(default)]
    pub hold_days: Option<usize>,
    /// Fraction of equity per position (default: an equal share of `max_positions`).
    #[serde(default)]
    pub weight: Option<f64>,
    #[serde(default)]
    pub rank: Option<String>,
    /// A prediction set for `pred.` fields, as for `top_k`.
    #[serde(default)]
    pub predictions: Option<PredictionSource>,
    #[serde(skip)]
    pub rows: Option<std::sync::Arc<Vec<PredictionRow>>>,
}

fn five() -> usize {
    5
}

impl Threshold {
    fn check_expressions(&self, kind: Option<RowKind>) -> Result<(), String> {
        let exprs = [
            ("buy", Some(self.buy.as_str())),
            ("sell", Some(self.sell.as_str())),
            ("rank", self.rank.as_deref()),
        ];
        check_expressions(&exprs, self.predictions.is_some(), kind)
    }

    pub fn validate(&self) -> Result<(), String> {
        self.check_expressions(None)?;
        if self.max_positions == 0 {
            return Err("strategy.max_positions: must be at least 1".into());
        }
        if self.hold_days == Some(0) {
            return Err("strategy.hold_days: must be at least 1".into());
        }
        if let Some(w) = self.weight
            && !(w > 0.0 && w <= 1.0)
        {
            return Err("strategy.weight: must be in (0, 1]".into());
        }
        Ok(())
    }

    /// Attaches the prediction set's rows, checking the expressions against its columns.
    pub fn attach(&mut self, kind: RowKind, rows: Vec<PredictionRow>) -> Result<(), String> {
        self.check_expressions(Some(kind))?;
        self.rows = Some(std::sync::Arc::new(rows));
        Ok(())
    }
}

pub struct ThresholdStrategy {
    cfg: Threshold,
    buy: Vec<Vec<f64>>,
    sell: Vec<Vec<f64>>,
    rank: Option<Vec<Vec<f64>>>,
    dates: BTreeMap<NaiveDate, usize>,
    symbols: crate::domain::SymbolMap<usize>,
    /// Trading days each holding has been held.
    held_for: BTreeMap<Symbol, usize>,
}

fn holds(v: f64) -> bool {
    v.is_finite() && v != 0.0
}

impl ThresholdStrategy {
    pub fn new(cfg: &Threshold, universe: &Universe) -> Result<ThresholdStrategy, ExprError> {
        let mut exprs = vec![cfg.buy.as_str(), cfg.sell.as_str()];
        exprs.extend(cfg.rank.as_deref());
        let panel = panel_for(
            universe,
            &exprs,
            cfg.predictions.is_some(),
            cfg.rows.as_deref().map(Vec::as_slice),
        );
        Ok(ThresholdStrategy {
            buy: panel.evaluate(&cfg.buy)?,
            sell: panel.evaluate(&cfg.sell)?,
            rank: cfg.rank.as_deref().map(|r| panel.evaluate(r)).transpose()?,
            dates: panel
                .dates
                .iter()
                .enumerate()
                .map(|(i, d)| (*d, i))
                .collect(),
            symbols: symbol_index(universe, &panel),
            cfg: cfg.clone(),
            held_for: BTreeMap::new(),
        })
    }
}

impl Strategy for ThresholdStrategy {
    fn on_day(&mut self, ctx: &Context<'_>) -> Vec<Order> {
        let held: Vec<Symbol> = ctx
            .positions
            .iter()
            .filter(|(_, p)| p.shares > 0.0)
            .map(|(s, _)| s.clone())
            .collect();
        self.held_for.retain(|s, _| held.contains(s));
        for s in &held {
            *self.held_for.entry(s.clone()).or_default() += 1;
        }
        let Some(&d) = self.dates.get(&ctx.day) else {
            return Vec::new();
        };
        let today = |s: &Symbol| {
            ctx.history(s)
                .last()
                .is_some_and(|b| b.ts.date() == ctx.day)
        };
        let mut orders = Vec::new();
        let mut staying = 0usize;
        for s in &held {
            let i = self.symbols.get(s).copied();
            let timed_out = self
                .cfg
                .hold_days
                .is_some_and(|h| self.held_for.get(s).copied().unwrap_or(0) >= h);
            if today(s) && (timed_out || i.is_some_and(|i| holds(self.sell[i][d]))) {
                orders.extend(ctx.order_target_weight(s, 0.0, Timing::Open));
            } else {
                staying += 1;
            }
        }
        let free = self.cfg.max_positions.saturating_sub(staying);
        if free == 0 {
            return orders;
        }
        let mut candidates: Vec<(Symbol, f64)> = self
            .symbols
            .iter()
            .filter(|(s, i)| {
                !held.contains(s) && today(s) && ctx.is_member(s) && holds(self.buy[**i][d])
            })
            .map(|(s, &i)| {
                let r = self.rank.as_ref().map_or(0.0, |r| r[i][d]);
                (s.clone(), if r.is_finite() { r } else { f64::NEG_INFINITY })
            })
            .collect();
        candidates.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let w = self
            .cfg
            .weight
            .unwrap_or(0.998 / self.cfg.max_positions as f64);
        for (s, _) in candidates.into_iter().take(free) {
            orders.extend(ctx.order_target_weight(&s, w, Timing::Open));
        }
        orders
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::engine::{EngineConfig, run};
    use crate::calendar::TradingCalendar;
    use crate::domain::Bar;
    use crate::rules::Side;

    #[test]
    fn buys_on_the_cross_and_sells_on_the_way_down_or_after_hold_days() {
        let d: Vec<NaiveDate> = TradingCalendar::embedded()
            .trading_days_between(
                NaiveDate::from_ymd_opt(2024, 1, 2).unwrap(),
                NaiveDate::from_ymd_opt(2024, 6, 28).unwrap(),
            )
            .to_vec();
        // Up 1 % a day for 60 days, then down 1 % a day.
        let price = |i: usize| {
            if i < 60 {
                10.0 * 1.01f64.powi(i as i32)
            } else {
                10.0 * 1.01f64.powi(60) * 0.99f64.powi(i as i32 - 60)
            }
        };
        let bars: Vec<Bar> = d
            .iter()
            .enumerate()
            .map(|(i, day)| Bar {
                ts: day.and_hms_opt(0, 0, 0).unwrap(),
                open: price(i),
                high: price(i),
                low: price(i),
                close: price(i),
                volume: 1e7,
                amount: None,
            })
            .collect();
        let mut u = Universe::new();
        u.insert(Symbol::parse("600000").unwrap(), bars);
        let cfg: Threshold = toml::from_str(
            "buy = \"$close > mean($close, 20) and $close >= mean($close, 5)\"\nsell = \"$close < mean($close, 5)\"\nmax_positions = 1\n",
        )
        .unwrap();
        cfg.validate().unwrap();
        let r = run(
            &u,
            &EngineConfig::default(),
            &mut ThresholdStrategy::new(&cfg, &u).unwrap(),
        );
        let sides: Vec<Side> = r.fills.iter().map(|f| f.side).collect();
        assert_eq!(sides, [Side::Buy, Side::Sell], "{:?}", r.fills);
        let at = |f: usize| d.iter().position(|x| *x == r.fills[f].day).unwrap();
        // Bought once the 20-day mean exists; sold just after the turn.
        assert_eq!(at(0), 20);
        assert!((61..66).contains(&at(1)), "sold at {}", at(1));

        // With hold_days the position is closed after 10 days and bought again.
        let cfg: Threshold = toml::from_str(
            "buy = \"$close > mean($close, 20)\"\nsell = \"0\"\nmax_positions = 1\nhold_days = 10\n",
        )
        .unwrap();
        let r = run(
            &u,
            &EngineConfig::default(),
            &mut ThresholdStrategy::new(&cfg, &u).unwrap(),
        );
        assert!(r.fills.len() >= 6, "{:?}", r.fills);
        assert_eq!(r.fills[1].side, Side::Sell);
    }

    #[test]
    fn mistakes_name_their_key() {
        let c: Threshold = toml::from_str("buy = \"$close >\"\nsell = \"1\"\n").unwrap();
        let e = c.validate().unwrap_err();
        assert!(e.starts_with("strategy.buy") && e.contains("column"), "{e}");
        let c: Threshold =
            toml::from_str("buy = \"1\"\nsell = \"1\"\nmax_positions = 0\n").unwrap();
        assert!(c.validate().unwrap_err().contains("max_positions"));
    }
}

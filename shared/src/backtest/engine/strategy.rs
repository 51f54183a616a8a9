//! The strategy API: what a strategy sees after a day's close and the orders it places.

use super::*;
use crate::domain::{Bar, Symbol};
use crate::rules::Side;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub symbol: Symbol,
    pub side: Side,
    /// Shares wanted; rounded to the board lot unless frictionless.
    pub shares: f64,
    pub timing: Timing,
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Position {
    pub shares: f64,
    /// Shares that may be sold today (T+1 holds back today's buys).
    pub sellable: f64,
    /// Average cost per share of the shares held, fees included.
    pub avg_cost: f64,
}

/// What a strategy may look at after a day's close.
pub struct Context<'a> {
    pub day: NaiveDate,
    pub cash: f64,
    pub equity: f64,
    pub positions: &'a BTreeMap<Symbol, Position>,
    pub(super) universe: &'a Universe,
    pub(super) series: &'a [&'a [Bar]],
    /// Per symbol (in `universe` order), how many of its bars are on or before `day`.
    pub(super) seen: &'a [u32],
    /// Per symbol (in `universe` order), the shares held.
    pub(super) held: &'a [f64],
    /// Per symbol (in `universe` order), the last close on or before `day` (0 before the
    /// first bar): today's row of the universe's table, read without touching the bars.
    pub(super) closes: &'a [f64],
}

impl Context<'_> {
    /// Whether `symbol` is in the universe's index today (always, for a universe without one).
    pub fn is_member(&self, symbol: &Symbol) -> bool {
        self.universe.is_member(symbol, self.day)
    }

    /// `symbol`'s float market cap today: its last close × its float shares as the reference
    /// data has them on or before today.
    pub fn float_cap(&self, symbol: &Symbol) -> Option<f64> {
        let close = self.history(symbol).last()?.close;
        Some(close * self.universe.float_shares(symbol, self.day)?)
    }

    /// Bars of `symbol` up to and including today (never later).
    pub fn history(&self, symbol: &Symbol) -> &[Bar] {
        match self.universe.index.get(symbol) {
            Some(&k) => &self.series[k][..self.seen[k] as usize],
            None => &[],
        }
    }

    /// Every symbol with its bars up to and including today and the shares held, in symbol
    /// order: what a strategy that looks at every symbol every day reads, without lookups.
    pub fn histories(&self) -> impl Iterator<Item = (&Symbol, &[Bar], f64)> {
        self.universe
            .series
            .keys()
            .zip(self.series.iter().zip(self.seen.iter().zip(self.held)))
            .map(|(s, (bars, (&n, &held)))| (s, &bars[..n as usize], held))
    }

    pub fn symbols(&self) -> impl Iterator<Item = &Symbol> {
        self.universe.symbols()
    }

    pub fn shares(&self, symbol: &Symbol) -> f64 {
        self.positions.get(symbol).map_or(0.0, |p| p.shares)
    }

    /// The order that moves `symbol` to `weight` of today's equity at today's close.
    pub fn order_target_weight(
        &self,
        symbol: &Symbol,
        weight: f64,
        timing: Timing,
    ) -> Option<Order> {
        // The history's last close and the position's shares, from the day's rows.
        let k = *self.universe.index.get(symbol)?;
        if self.seen[k] == 0 {
            return None;
        }
        let price = self.closes[k];
        let delta = weight * self.equity / price - self.held[k];
        (delta.abs() > 1e-9).then(|| Order {
            symbol: symbol.clone(),
            side: if delta > 0.0 { Side::Buy } else { Side::Sell },
            shares: delta.abs(),
            timing,
        })
    }
}

pub trait Strategy {
    /// Called after each day's close; the returned orders execute on the next trading day.
    fn on_day(&mut self, ctx: &Context<'_>) -> Vec<Order>;
}

//! The bars a backtest runs over: daily bars per symbol.

use crate::domain::{Bar, Symbol};
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// Daily bars per symbol, each ascending by date.
#[derive(Debug, Clone, Default)]
pub struct Universe {
    pub(super) series: BTreeMap<Symbol, Vec<Bar>>,
    /// Position of each symbol in `series`' order: the engine keeps per-symbol state in
    /// vectors in that order instead of maps.
    pub(super) index: BTreeMap<Symbol, usize>,
    /// Every date on which at least one symbol has a bar, ascending.
    pub(super) dates: Vec<NaiveDate>,
    /// An index the report compares with; never traded.
    pub(super) benchmark: Option<(Symbol, Vec<Bar>)>,
}

impl Universe {
    pub fn new() -> Universe {
        Universe::default()
    }

    /// Sets the index the report compares the strategy with (not part of the tradable set).
    pub fn set_benchmark(&mut self, symbol: Symbol, mut bars: Vec<Bar>) {
        bars.sort_by_key(|b| b.ts);
        self.benchmark = Some((symbol, bars));
    }

    pub fn benchmark(&self) -> Option<(&Symbol, &[Bar])> {
        self.benchmark.as_ref().map(|(s, b)| (s, b.as_slice()))
    }

    pub fn insert(&mut self, symbol: Symbol, mut bars: Vec<Bar>) {
        bars.sort_by_key(|b| b.ts);
        let mut dates: Vec<NaiveDate> = bars.iter().map(|b| b.ts.date()).collect();
        if self.series.insert(symbol, bars).is_some() {
            // The replaced series may take dates with it: count every series afresh.
            dates = self
                .series
                .values()
                .flat_map(|b| b.iter().map(|b| b.ts.date()))
                .collect();
        } else {
            dates.extend_from_slice(&self.dates);
        }
        dates.sort_unstable();
        dates.dedup();
        self.dates = dates;
        self.index = self
            .series
            .keys()
            .enumerate()
            .map(|(i, s)| (s.clone(), i))
            .collect();
    }

    pub fn symbols(&self) -> impl Iterator<Item = &Symbol> {
        self.series.keys()
    }

    /// Every symbol's bars.
    pub fn series(&self) -> &BTreeMap<Symbol, Vec<Bar>> {
        &self.series
    }

    /// Every date on which at least one symbol has a bar.
    pub fn dates(&self) -> Vec<NaiveDate> {
        self.dates.clone()
    }
}

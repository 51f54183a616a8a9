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
    /// Each date's last close of every symbol (on or before the date; 0 before its first
    /// bar), date by date: made once and read by every run over the universe, so marking to
    /// market walks one row instead of every symbol's own bars.
    pub(super) closes: std::sync::OnceLock<Vec<f64>>,
    /// Each date's count of every symbol's bars on or before the date, laid out as `closes`:
    /// a run reads a day's row instead of walking each symbol's bars.
    pub(super) seen: std::sync::OnceLock<Vec<u32>>,
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
        self.closes = std::sync::OnceLock::new();
        self.seen = std::sync::OnceLock::new();
    }

    /// [`Universe::closes`]'s rows: `[date][symbol]`, in `series`' order.
    pub(super) fn closes(&self) -> &[f64] {
        self.closes.get_or_init(|| {
            // The last bar so far is the one before the count of bars so far.
            let series: Vec<&Vec<Bar>> = self.series.values().collect();
            let n = series.len().max(1);
            self.seen()
                .iter()
                .enumerate()
                .map(|(i, &c)| match c {
                    0 => 0.0,
                    c => series[i % n][c as usize - 1].close,
                })
                .collect()
        })
    }

    /// [`Universe::seen`]'s rows: `[date][symbol]`, in `series`' order.
    pub(super) fn seen(&self) -> &[u32] {
        self.seen.get_or_init(|| {
            let n = self.series.len();
            let mut out = vec![0; n * self.dates.len()];
            for (k, bars) in self.series.values().enumerate() {
                let mut j = 0;
                for (d, day) in self.dates.iter().enumerate() {
                    while j < bars.len() && bars[j].ts.date() <= *day {
                        j += 1;
                    }
                    out[d * n + k] = j as u32;
                }
            }
            out
        })
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

//! Scoring a formula: its daily rank IC against the forward return in each period.

use super::config::{MineSection, Period};
use super::{DECAY_HORIZONS, Formula};
use crate::expr::{Expr, Panel};
use crate::features::ic::spearman;
use chrono::NaiveDate;

/// A formula's training and validation figures, and a small signature of its values to tell
/// near-copies apart. The test period is not here: the search never sees it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Scored {
    pub size: usize,
    #[serde(deserialize_with = "crate::json_nan::f64_or_nan")]
    pub train_ic: f64,
    #[serde(deserialize_with = "crate::json_nan::f64_or_nan")]
    pub validation_ic: f64,
    #[serde(deserialize_with = "crate::json_nan::f64_or_nan")]
    pub validation_t: f64,
    /// Cross-sectional ranks on a few training dates, of a few symbols, laid end to end (NaN
    /// where missing).
    #[serde(deserialize_with = "crate::json_nan::f32s_or_nan")]
    pub sample: Vec<f32>,
}

/// What scoring needs, made once per panel: forward returns and the periods' dates.
pub struct Scorer {
    pub horizon: usize,
    pub train: Period,
    pub validation: Period,
    pub test: Period,
    /// `[symbol][date]`: the return from a date's close to the close `horizon` bars later.
    forward: Vec<Vec<f64>>,
    /// The same at each of [`DECAY_HORIZONS`], made once for every report.
    decay_forward: Vec<Vec<Vec<f64>>>,
    train_dates: Vec<usize>,
    validation_dates: Vec<usize>,
    test_dates: Vec<usize>,
    sample_dates: Vec<usize>,
    sample_symbols: Vec<usize>,
}

/// Dates a signature is read on, and symbols it keeps (small enough to keep thousands of
/// signatures, and to write them down for a resumed search).
const SAMPLE_DATES: usize = 40;
const SAMPLE_SYMBOLS: usize = 64;

/// The return `h` bars ahead of each bar, per symbol over its own bars (NaN near the end).
pub fn forward_returns(panel: &Panel, h: usize) -> Vec<Vec<f64>> {
    let close = &panel.columns["$close"];
    close
        .iter()
        .zip(&panel.present)
        .map(|(c, present)| {
            let bars: Vec<usize> = (0..c.len()).filter(|&d| present[d]).collect();
            let mut out = vec![f64::NAN; c.len()];
            for (k, &d) in bars.iter().enumerate() {
                if let Some(&later) = bars.get(k + h) {
                    out[d] = c[later] / c[d] - 1.0;
                }
            }
            out
        })
        .collect()
}

/// The daily rank ICs of `values` against `forward` on `dates` (dates with five names or more).
pub fn daily_ics(values: &[Vec<f64>], forward: &[Vec<f64>], dates: &[usize]) -> Vec<f64> {
    dated_ics(values, forward, dates)
        .into_iter()
        .map(|(_, ic)| ic)
        .collect()
}

/// [`daily_ics`] with the date (its index) of each.
fn dated_ics(values: &[Vec<f64>], forward: &[Vec<f64>], dates: &[usize]) -> Vec<(usize, f64)> {
    let mut out = Vec::with_capacity(dates.len());
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for &d in dates {
        x.clear();
        y.clear();
        for (v, f) in values.iter().zip(forward) {
            if v[d].is_finite() && f[d].is_finite() {
                x.push(v[d]);
                y.push(f[d]);
            }
        }
        if x.len() >= 5 {
            let ic = spearman(&x, &y);
            if ic.is_finite() {
                out.push((d, ic));
            }
        }
    }
    out
}

/// Mean, and mean over its standard error.
fn mean_t(ics: &[f64]) -> (f64, f64) {
    if ics.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = ics.len() as f64;
    let m = ics.iter().sum::<f64>() / n;
    let sd = crate::backtest::metrics::sample_std(ics);
    (
        m,
        if sd > 0.0 {
            m / (sd / n.sqrt())
        } else {
            f64::NAN
        },
    )
}

/// Pearson correlation of two signatures over the places both have a value.
pub fn sample_correlation(a: &[f32], b: &[f32]) -> f64 {
    let (x, y): (Vec<f64>, Vec<f64>) = a
        .iter()
        .zip(b)
        .filter(|(p, q)| p.is_finite() && q.is_finite())
        .map(|(p, q)| (*p as f64, *q as f64))
        .unzip();
    if x.len() < 3 {
        return 0.0;
    }
    let r = crate::features::ic::pearson(&x, &y);
    if r.is_finite() { r } else { 0.0 }
}

fn dates_in(dates: &[NaiveDate], p: Period) -> Vec<usize> {
    (0..dates.len()).filter(|&d| p.holds(dates[d])).collect()
}

impl Scorer {
    pub fn new(panel: &Panel, c: &MineSection) -> Scorer {
        let train_dates = dates_in(&panel.dates, c.train);
        let step = (train_dates.len() / SAMPLE_DATES).max(1);
        let sample_dates = train_dates.iter().step_by(step).copied().collect();
        let n = panel.symbols.len();
        let sample_symbols = (0..n).step_by((n / SAMPLE_SYMBOLS).max(1)).collect();
        Scorer {
            horizon: c.horizon,
            train: c.train,
            validation: c.validation,
            test: c.test,
            forward: forward_returns(panel, c.horizon),
            decay_forward: DECAY_HORIZONS
                .iter()
                .map(|&h| forward_returns(panel, h))
                .collect(),
            train_dates,
            validation_dates: dates_in(&panel.dates, c.validation),
            test_dates: dates_in(&panel.dates, c.test),
            sample_dates,
            sample_symbols,
        }
    }

    /// Dates in each period: (train, validation, test).
    pub fn period_dates(&self) -> (usize, usize, usize) {
        (
            self.train_dates.len(),
            self.validation_dates.len(),
            self.test_dates.len(),
        )
    }

    /// Training and validation figures of `e`.
    pub fn score(&self, panel: &Panel, e: &Expr) -> Scored {
        let values = panel.eval(e);
        let (train_ic, _) = mean_t(&daily_ics(&values, &self.forward, &self.train_dates));
        let (validation_ic, validation_t) =
            mean_t(&daily_ics(&values, &self.forward, &self.validation_dates));
        let mut sample = Vec::with_capacity(self.sample_dates.len() * self.sample_symbols.len());
        for &d in &self.sample_dates {
            let day: Vec<f64> = values.iter().map(|v| v[d]).collect();
            let ranks = crate::expr::ops::cross("rank", &day, 0.0);
            sample.extend(self.sample_symbols.iter().map(|&s| ranks[s] as f32));
        }
        Scored {
            size: super::tree::size(e),
            train_ic,
            validation_ic,
            validation_t,
            sample,
        }
    }

    /// The test period's mean rank IC of `e` (to measure a search from outside; the search
    /// itself never calls it).
    pub fn test_ic(&self, panel: &Panel, e: &Expr) -> f64 {
        mean_t(&daily_ics(&panel.eval(e), &self.forward, &self.test_dates)).0
    }

    /// The whole report of a formula, test period included; with `orient`, turned to rank the
    /// right way round (a formula whose training IC is negative is negated).
    pub fn report(&self, panel: &Panel, e: &Expr, s: &Scored, orient: bool) -> Formula {
        let (e, sign) = if orient && s.train_ic < 0.0 {
            (super::tree::fold(Expr::Neg(Box::new(e.clone()))), -1.0)
        } else {
            (e.clone(), 1.0)
        };
        let values = panel.eval(&e);
        let test = daily_ics(&values, &self.forward, &self.test_dates);
        let (test_ic, _) = mean_t(&test);
        let sd = crate::backtest::metrics::sample_std(&test);
        let decay = self
            .decay_forward
            .iter()
            .map(|fwd| mean_t(&daily_ics(&values, fwd, &self.test_dates)).0)
            .collect();
        let all: Vec<usize> = self
            .train_dates
            .iter()
            .chain(&self.validation_dates)
            .chain(&self.test_dates)
            .copied()
            .collect();
        let mut sum = 0.0;
        let cumulative_ic = dated_ics(&values, &self.forward, &all)
            .into_iter()
            .map(|(d, ic)| {
                sum += ic;
                (panel.dates[d], sum)
            })
            .collect();
        Formula {
            formula: super::tree::render(&e),
            size: super::tree::size(&e),
            train_ic: sign * s.train_ic,
            validation_ic: sign * s.validation_ic,
            validation_t: sign * s.validation_t,
            test_ic,
            test_icir: if sd > 0.0 { test_ic / sd } else { f64::NAN },
            turnover: turnover(&values, &self.test_dates),
            decay,
            cumulative_ic,
        }
    }
}

/// Share of the top fifth by value that is new from one date to the next, on average.
fn turnover(values: &[Vec<f64>], dates: &[usize]) -> f64 {
    let top = |d: usize| -> std::collections::BTreeSet<usize> {
        let mut v: Vec<(usize, f64)> = values
            .iter()
            .enumerate()
            .filter(|(_, x)| x[d].is_finite())
            .map(|(s, x)| (s, x[d]))
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1));
        let k = v.len() / 5;
        v.into_iter().take(k).map(|(s, _)| s).collect()
    };
    let (mut sum, mut n) = (0.0, 0);
    let mut prev: Option<std::collections::BTreeSet<usize>> = None;
    for &d in dates {
        let now = top(d);
        if let Some(p) = &prev
            && !p.is_empty()
            && !now.is_empty()
        {
            sum += now.difference(p).count() as f64 / now.len() as f64;
            n += 1;
        }
        prev = Some(now);
    }
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

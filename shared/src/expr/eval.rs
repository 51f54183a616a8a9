//! The universe as a panel of columns (symbols × dates), and an expression evaluated over it.
//! Time-series operators walk each symbol's own bars (a suspended day is skipped, not a zero),
//! cross-sectional ones each date's symbols, so a value at a date never reads a later one.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::ops::cross_in_place;
use super::parse::{Expr, ExprError, parse};
use super::row::{Leaves, is_cross};
use crate::Bar;

/// Columns over every (symbol, date) of a universe; NaN where a symbol has no value.
#[derive(Debug, Clone, Default)]
pub struct Panel {
    pub dates: Vec<NaiveDate>,
    pub symbols: Vec<String>,
    /// Each column is `[symbol][date]`.
    pub columns: BTreeMap<String, Vec<Vec<f64>>>,
    /// Whether the symbol has a bar on the date: time series count bars, not calendar days.
    pub present: Vec<Vec<bool>>,
}

type Grid = Vec<Vec<f64>>;

impl Panel {
    /// The price fields (`$open $high $low $close $volume $amount $vwap`) of daily bars.
    pub fn from_bars(series: &BTreeMap<String, Vec<Bar>>) -> Panel {
        Panel::from_series(series.iter().map(|(s, b)| (s.clone(), b.as_slice())))
    }

    /// [`Panel::from_bars`] from borrowed series (each ascending), in symbol order.
    pub fn from_series<'a>(series: impl IntoIterator<Item = (String, &'a [Bar])>) -> Panel {
        Panel::from_series_with(series, |_| true)
    }

    /// [`Panel::from_series`] with only the price fields `wanted` admits: a strategy builds
    /// the columns its expressions read, not all seven.
    pub fn from_series_with<'a>(
        series: impl IntoIterator<Item = (String, &'a [Bar])>,
        wanted: impl Fn(&str) -> bool,
    ) -> Panel {
        let series: Vec<(String, &[Bar])> = series.into_iter().collect();
        let mut dates: Vec<NaiveDate> = series
            .iter()
            .flat_map(|(_, b)| b.iter().map(|x| x.ts.date()))
            .collect();
        dates.sort_unstable();
        dates.dedup();
        Panel::from_series_on(dates, series, wanted)
    }

    /// [`Panel::from_series_with`] over `dates`, ascending, which hold every bar's date (a
    /// universe's own): no sort of every bar's date.
    pub fn from_series_on<'a>(
        dates: Vec<NaiveDate>,
        series: impl IntoIterator<Item = (String, &'a [Bar])>,
        wanted: impl Fn(&str) -> bool,
    ) -> Panel {
        let series: Vec<(String, &[Bar])> = series.into_iter().collect();
        let symbols: Vec<String> = series.iter().map(|(s, _)| s.clone()).collect();
        let blank = || vec![vec![f64::NAN; dates.len()]; symbols.len()];
        let names = [
            "$open", "$high", "$low", "$close", "$volume", "$amount", "$vwap",
        ];
        let keep: Vec<bool> = names.iter().map(|n| wanted(n)).collect();
        let mut cols: Vec<Grid> = keep
            .iter()
            .map(|k| if *k { blank() } else { Vec::new() })
            .collect();
        let mut present = vec![vec![false; dates.len()]; symbols.len()];
        let mut at: Vec<(usize, usize)> = Vec::new();
        for (s, (_, bars)) in series.iter().enumerate() {
            // Each bar's date in the panel (bars and dates both ascend: one walk, no
            // lookups), then each wanted field in a loop of its own.
            at.clear();
            let mut d = 0;
            for (i, b) in bars.iter().enumerate() {
                let day = b.ts.date();
                while d < dates.len() && dates[d] < day {
                    d += 1;
                }
                if dates.get(d) == Some(&day) {
                    at.push((i, d));
                    present[s][d] = true;
                }
            }
            for (f, c) in cols.iter_mut().enumerate().filter(|(f, _)| keep[*f]) {
                let row = &mut c[s];
                let value: fn(&Bar) -> f64 = match f {
                    0 => |b| b.open,
                    1 => |b| b.high,
                    2 => |b| b.low,
                    3 => |b| b.close,
                    4 => |b| b.volume,
                    5 => |b| b.amount.unwrap_or(f64::NAN),
                    _ => |b| b.vwap().unwrap_or(f64::NAN),
                };
                for &(i, d) in &at {
                    row[d] = value(&bars[i]);
                }
            }
        }
        Panel {
            columns: names
                .iter()
                .map(|n| n.to_string())
                .zip(cols)
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(c, _)| c)
                .collect(),
            dates,
            symbols,
            present,
        }
    }

    /// Adds a column (a factor, a prediction set's field) by name.
    pub fn insert(&mut self, name: &str, values: Grid) {
        self.columns.insert(name.to_string(), values);
    }

    /// The field names expressions may use.
    pub fn fields(&self) -> Vec<String> {
        self.columns.keys().cloned().collect()
    }

    /// Parses and evaluates `src`; `[symbol][date]`.
    pub fn evaluate(&self, src: &str) -> Result<Grid, ExprError> {
        let e = parse(src, &self.fields())?;
        Ok(self.eval(&e))
    }

    /// Parses and evaluates `src` where only the dates `need` marks are read (a strategy's
    /// rebalance days): a cross-section is ranked on those dates alone, while time-series
    /// operators still see every bar. Other dates are missing; `[symbol][date]`.
    pub fn evaluate_at(&self, src: &str, need: &[bool]) -> Result<Grid, ExprError> {
        let e = parse(src, &self.fields())?;
        let mut g = self.eval_at(&e, Some(need));
        for row in &mut g {
            for (v, n) in row.iter_mut().zip(need) {
                if !n {
                    *v = f64::NAN;
                }
            }
        }
        Ok(g)
    }

    /// Evaluates a parsed expression; `[symbol][date]`.
    pub fn eval(&self, e: &Expr) -> Grid {
        self.eval_at(e, None)
    }

    /// [`Panel::eval`], right at least on the dates `need` marks (every date when `None`).
    /// A cross-section is worked out over the whole grid, date by date; anything else symbol
    /// by symbol, with the cross-sections beneath it read as finished grids.
    pub(super) fn eval_at(&self, e: &Expr, need: Option<&[bool]>) -> Grid {
        if let Expr::Call(name, args) = e
            && is_cross(name)
        {
            let q = match args.get(1) {
                Some(Expr::Num(q)) => *q,
                _ => 0.0,
            };
            let x = match &args[0] {
                Expr::Field(f) if self.columns.contains_key(f) => {
                    std::borrow::Cow::Borrowed(&self.columns[f])
                }
                x => std::borrow::Cow::Owned(self.eval_at(x, need)),
            };
            return self.per_date(x, name, q, need);
        }
        let mut leaves = Leaves::new(need);
        self.cross_leaves(e, need, &mut leaves);
        let sparse = leaves.sparse();
        (0..self.symbols.len())
            .map(|s| self.row(e, s, &leaves, sparse).into_owned())
            .collect()
    }

    /// A cross-sectional operator on each date (each date `need` marks). `demean` and `zscore`
    /// sum down the symbols' rows as they lie; the others gather each date's values from the
    /// rows, work on them and put them back: the rows' current cache lines are reused for
    /// eight dates, with no transposed copy of the grid.
    fn per_date(
        &self,
        x: std::borrow::Cow<'_, Grid>,
        name: &str,
        q: f64,
        need: Option<&[bool]>,
    ) -> Grid {
        let (symbols, days) = (x.len(), self.dates.len());
        if name == "demean" || name == "zscore" {
            let scale = name == "zscore";
            return match need {
                Some(need) => moments_on(x.into_owned(), need, scale),
                None => moments(x.into_owned(), days, scale),
            };
        }
        if name == "industry_neutral" {
            return self.industry_neutral(x.into_owned(), need);
        }
        let mut out = match x {
            std::borrow::Cow::Owned(g) => g,
            std::borrow::Cow::Borrowed(g) => g.clone(),
        };
        let (mut col, mut scratch) = (vec![0.0; symbols], super::ops::RankScratch::default());
        let dates = (0..days).filter(|&d| need.is_none_or(|n| n[d]));
        if name == "rank" {
            return rank_by_blocks(out, need);
        }
        for d in dates {
            for (c, row) in col.iter_mut().zip(&out) {
                *c = row[d];
            }
            cross_in_place(name, &mut col, q, &mut scratch);
            for (c, row) in col.iter().zip(out.iter_mut()) {
                row[d] = *c;
            }
        }
        out
    }
}

impl Panel {
    /// Each value less the mean of its sector's values that date (the sectors in
    /// [`SECTOR_FIELD`](super::SECTOR_FIELD)); a value without a sector is missing.
    fn industry_neutral(&self, mut x: Grid, need: Option<&[bool]>) -> Grid {
        let Some(sector) = self.columns.get(super::SECTOR_FIELD) else {
            return vec![vec![f64::NAN; self.dates.len()]; x.len()];
        };
        let groups = crate::reference::Sector::ALL.len();
        let (mut sum, mut n) = (vec![0.0; groups], vec![0u32; groups]);
        for d in (0..self.dates.len()).filter(|&d| need.is_none_or(|n| n[d])) {
            sum.fill(0.0);
            n.fill(0);
            let group = |s: usize| {
                let g = sector[s][d];
                (g.is_finite() && g >= 0.0 && (g as usize) < groups).then_some(g as usize)
            };
            for (s, row) in x.iter().enumerate() {
                if let (Some(g), true) = (group(s), row[d].is_finite()) {
                    sum[g] += row[d];
                    n[g] += 1;
                }
            }
            for (s, row) in x.iter_mut().enumerate() {
                row[d] = match group(s) {
                    Some(g) if row[d].is_finite() => row[d] - sum[g] / f64::from(n[g]),
                    _ => f64::NAN,
                };
            }
        }
        x
    }
}

/// Dates ranked together: one cache line of each row.
const RANK_BLOCK: usize = 8;

/// `rank` on each date (each date `need` marks), eight dates at a time: each row's cache line
/// of those dates is read once into eight dates' keys, and the ranks go back a line a row,
/// where a date at a time would walk every row's line for each of its dates.
fn rank_by_blocks(mut g: Grid, need: Option<&[bool]>) -> Grid {
    let Some(days) = g.first().map(Vec::len) else {
        return g;
    };
    let symbols = g.len();
    let mut scratch: [super::ops::RankScratch; RANK_BLOCK] = Default::default();
    let mut ranks = vec![f64::NAN; symbols * RANK_BLOCK];
    for d0 in (0..days).step_by(RANK_BLOCK) {
        let width = RANK_BLOCK.min(days - d0);
        let mut wanted = [false; RANK_BLOCK];
        for (j, w) in wanted.iter_mut().enumerate().take(width) {
            *w = need.is_none_or(|n| n[d0 + j]);
        }
        if !wanted.contains(&true) {
            continue;
        }
        for k in &mut scratch {
            k.clear();
        }
        for (s, row) in g.iter().enumerate() {
            for (j, &x) in row[d0..d0 + width].iter().enumerate() {
                if wanted[j] && x.is_finite() {
                    scratch[j].push(x, s);
                }
            }
        }
        ranks.fill(f64::NAN);
        for (j, k) in scratch.iter_mut().enumerate().take(width) {
            if wanted[j] {
                k.ranks(|s| g[s][d0 + j], |s, r| ranks[s * RANK_BLOCK + j] = r);
            }
        }
        for (s, row) in g.iter_mut().enumerate() {
            let from = &ranks[s * RANK_BLOCK..];
            for (j, v) in row[d0..d0 + width].iter_mut().enumerate() {
                if wanted[j] {
                    *v = from[j];
                }
            }
        }
    }
    g
}

/// [`moments`] on the dates `need` marks alone (a strategy's rebalance days), down each date's
/// column; the other dates keep their input. The sums run in the same order, so the values
/// are the same to the last bit.
fn moments_on(g: Grid, need: &[bool], scale: bool) -> Grid {
    super::ops::wide(
        #[inline(always)]
        || moments_on_wide(g, need, scale),
    )
}

#[inline(always)]
fn moments_on_wide(mut g: Grid, need: &[bool], scale: bool) -> Grid {
    for d in (0..need.len()).filter(|&d| need[d]) {
        let (mut sum, mut n) = (0.0, 0u32);
        for row in &g {
            let v = row[d];
            let f = v.is_finite();
            sum += if f { v } else { 0.0 };
            n += u32::from(f);
        }
        let mean = if n > 0 { sum / f64::from(n) } else { f64::NAN };
        let sd = if scale {
            let mut sq = 0.0;
            for row in &g {
                let v = row[d];
                let dv = if v.is_finite() { v - mean } else { 0.0 };
                sq += dv * dv;
            }
            let sd = (sq / f64::from(n)).sqrt();
            if sd > 0.0 { sd } else { f64::NAN }
        } else {
            1.0
        };
        let inv = 1.0 / sd;
        for row in &mut g {
            let v = &mut row[d];
            *v = if v.is_finite() {
                (*v - mean) * inv
            } else {
                f64::NAN
            };
        }
    }
    g
}

/// Each date's mean (and population standard deviation) over the symbols with a value, summed
/// down the rows as they lie; then each value less the mean (over the deviation). A date
/// without spread gives missing z-scores, as [`cross`](super::ops::cross) does.
fn moments(g: Grid, days: usize, scale: bool) -> Grid {
    super::ops::wide(
        #[inline(always)]
        || moments_wide(g, days, scale),
    )
}

#[inline(always)]
fn moments_wide(mut g: Grid, days: usize, scale: bool) -> Grid {
    let (mut sum, mut n) = (vec![0.0; days], vec![0u32; days]);
    // Branch-free sums, which the compiler vectorises.
    for row in &g {
        for ((s, c), v) in sum.iter_mut().zip(n.iter_mut()).zip(row) {
            let f = v.is_finite();
            *s += if f { *v } else { 0.0 };
            *c += u32::from(f);
        }
    }
    let mean: Vec<f64> = sum
        .iter()
        .zip(&n)
        .map(|(s, c)| if *c > 0 { s / f64::from(*c) } else { f64::NAN })
        .collect();
    let sd: Vec<f64> = if scale {
        let mut sq = vec![0.0; days];
        for row in &g {
            for ((q, m), v) in sq.iter_mut().zip(&mean).zip(row) {
                let d = if v.is_finite() { v - m } else { 0.0 };
                *q += d * d;
            }
        }
        sq.iter()
            .zip(&n)
            .map(|(q, c)| {
                let sd = (q / f64::from(*c)).sqrt();
                if sd > 0.0 { sd } else { f64::NAN }
            })
            .collect()
    } else {
        vec![1.0; days]
    };
    // Products by the reciprocal, and a select rather than a branch: a loop the compiler
    // vectorises. The reciprocal is taken as `moments_on` takes it, so both agree to the bit.
    let inv: Vec<f64> = sd.iter().map(|s| 1.0 / s).collect();
    for row in &mut g {
        for ((v, m), r) in row.iter_mut().zip(&mean).zip(&inv) {
            let z = (*v - m) * r;
            *v = if v.is_finite() { z } else { f64::NAN };
        }
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;

    fn bars(n: usize, seed: u64, gap: Option<usize>) -> Vec<Bar> {
        let mut x = seed;
        let mut price = 10.0;
        let day0 = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        (0..n)
            .filter(|i| Some(*i) != gap)
            .map(|i| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let r = ((x >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 0.04;
                price *= 1.0 + r;
                let ts: NaiveDateTime = (day0 + chrono::Days::new(i as u64))
                    .and_hms_opt(0, 0, 0)
                    .unwrap();
                Bar {
                    ts,
                    open: price / (1.0 + r),
                    high: price * 1.01,
                    low: price / 1.01 / (1.0 + r.abs()),
                    close: price,
                    volume: 1e5 + (x >> 40) as f64,
                    amount: Some(price * 1e5),
                }
            })
            .collect()
    }

    fn universe(n: usize) -> BTreeMap<String, Vec<Bar>> {
        (0..6)
            .map(|s| {
                (
                    format!("60000{s}.SH"),
                    bars(n, s as u64 + 1, (s == 2).then_some(20)),
                )
            })
            .collect()
    }

    /// Every operator, cut after a date: nothing up to that date changes.
    #[test]
    fn no_operator_reads_a_later_date() {
        let full = Panel::from_bars(&universe(60));
        let cut_at = 40;
        let cut = Panel::from_bars(
            &universe(60)
                .into_iter()
                .map(|(s, b)| {
                    (
                        s,
                        b.into_iter()
                            .filter(|x| x.ts.date() <= full.dates[cut_at])
                            .collect(),
                    )
                })
                .collect(),
        );
        let exprs = [
            "ref($close, 3)",
            "delta($close, 2)",
            "mean($close, 5)",
            "std($close, 5)",
            "sum($volume, 4)",
            "min($low, 5)",
            "max($high, 5)",
            "ema($close, 10)",
            "wma($close, 5)",
            "ts_rank($close, 10)",
            "slope($close, 10)",
            "rsquare($close, 10)",
            "resi($close, 10)",
            "corr($close, $volume, 10)",
            "cov($close, $volume, 10)",
            "rank($close / ref($close, 5))",
            "zscore($volume)",
            "demean($close)",
            "quantile($close, 0.8)",
            "abs(delta($close, 1))",
            "sign(delta($close, 1))",
            "log($close)",
            "pow($close, 2)",
            "clip(delta($close, 1), -0.1, 0.1)",
            "if($close > mean($close, 5), 1, -1)",
            "$close > $open and not $volume < 0 or $vwap == $vwap",
            "ref_week($close)",
            "$close / ref_month($close) - 1",
        ];
        for src in exprs {
            let a = full.evaluate(src).unwrap();
            let b = cut.evaluate(src).unwrap();
            for s in 0..a.len() {
                for d in 0..=cut_at {
                    let (x, y) = (a[s][d], b[s][d]);
                    assert!(
                        x == y || (x.is_nan() && y.is_nan()),
                        "{src}: symbol {s}, date {d}: {x} vs {y}"
                    );
                }
            }
            // Every operator gives values after its warm-up.
            assert!(a.iter().flatten().any(|v| v.is_finite()), "{src}: all NaN");
        }
    }

    /// Worked out only on some dates, every operator gives there what the whole panel gives.
    #[test]
    fn evaluating_at_some_dates_agrees_with_the_whole_panel() {
        let p = Panel::from_bars(&universe(60));
        let need: Vec<bool> = (0..p.dates.len()).map(|d| d % 7 == 3).collect();
        for src in [
            "rank(delta($close, 5) / ref($close, 5)) * zscore(std($close, 20))",
            "mean(rank($close), 5)",
            "if(rank($volume) > 0.5, quantile($close, 0.8), demean($close))",
            "abs(zscore(corr($close, $volume, 10))) + ts_rank(rank($low), 4)",
            "-rank(ref_week($close)) and not $close > 10",
        ] {
            let all = p.evaluate(src).unwrap();
            let some = p.evaluate_at(src, &need).unwrap();
            for s in 0..all.len() {
                for d in 0..need.len() {
                    let (x, y) = (all[s][d], some[s][d]);
                    if need[d] {
                        assert!(
                            x == y || (x.is_nan() && y.is_nan()),
                            "{src}: symbol {s}, date {d}: {x} vs {y}"
                        );
                    } else {
                        assert!(y.is_nan(), "{src}: a date not asked for has a value");
                    }
                }
            }
            assert!(some.iter().flatten().any(|v| v.is_finite()), "{src}");
        }
    }

    /// On a few dates, a window is worked out on those dates alone: the same values as over
    /// the whole series (`std`, summed directly there and slid here, to rounding).
    #[test]
    fn windows_on_a_few_dates_agree_with_the_sliding_ones() {
        let p = Panel::from_bars(&universe(60));
        let need: Vec<bool> = (0..p.dates.len()).map(|d| d % 20 == 19).collect();
        for op in [
            "ref", "delta", "mean", "std", "sum", "min", "max", "ema", "wma", "ts_rank", "slope",
            "rsquare", "resi",
        ] {
            for n in [1, 5, 10] {
                let src = format!("{op}($close, {n}) * 2");
                let all = p.evaluate(&src).unwrap();
                let some = p.evaluate_at(&src, &need).unwrap();
                for s in 0..all.len() {
                    for d in (0..need.len()).filter(|&d| need[d]) {
                        let (x, y) = (all[s][d], some[s][d]);
                        let close = x == y || (op == "std" && (x - y).abs() <= 1e-12 * x.abs());
                        assert!(
                            close || (x.is_nan() && y.is_nan()),
                            "{src}: symbol {s}, date {d}: {x} vs {y}"
                        );
                    }
                }
            }
        }
        // The dates asked for are few enough that the windows were worked out there alone.
        assert!(super::super::ops::sparse_is_cheaper("std", 3, 10, 60));
    }

    #[test]
    fn ref_month_reads_the_last_bar_of_the_month_before() {
        let p = Panel::from_bars(&universe(70));
        let r = p.evaluate("ref_month($close)").unwrap();
        let c = &p.columns["$close"];
        let last_of = |month: u32| {
            p.dates
                .iter()
                .rposition(|d| chrono::Datelike::month(d) == month)
                .unwrap()
        };
        let first_of = |month: u32| {
            p.dates
                .iter()
                .position(|d| chrono::Datelike::month(d) == month)
                .unwrap()
        };
        // The series starts in one month: nothing before it, so no value that month.
        let m0 = chrono::Datelike::month(&p.dates[0]);
        assert!(r[0][..=last_of(m0)].iter().all(|v| v.is_nan()));
        let m1 = chrono::Datelike::month(&p.dates[first_of(m0 % 12 + 1)]);
        let month = &r[0][first_of(m1)..=last_of(m1)];
        assert!(month.iter().all(|v| *v == c[0][last_of(m0)]), "{month:?}");
    }

    #[test]
    fn cross_sections_over_the_grid_equal_each_dates_own() {
        // Symbol 2 misses day 20: every date's values, with and without it, as `cross` gives.
        let p = Panel::from_bars(&universe(30));
        let close = &p.columns["$close"];
        for name in ["rank", "zscore", "demean"] {
            let got = p.evaluate(&format!("{name}($close)")).unwrap();
            for d in 0..p.dates.len() {
                let col: Vec<f64> = close.iter().map(|row| row[d]).collect();
                let want = super::super::ops::cross(name, &col, 0.0);
                for (s, w) in want.iter().enumerate() {
                    let g = got[s][d];
                    assert!(
                        (g.is_nan() && w.is_nan()) || (g - w).abs() < 1e-12,
                        "{name} day {d} symbol {s}: {g} vs {w}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_suspended_day_is_skipped_not_counted() {
        let p = Panel::from_bars(&universe(30));
        let r = p.evaluate("ref($close, 1)").unwrap();
        let c = &p.columns["$close"];
        // Symbol 2 has no bar on day 20: on day 21 its previous close is day 19's.
        assert!(r[2][20].is_nan());
        assert_eq!(r[2][21], c[2][19]);
        assert_eq!(r[0][21], c[0][20]);
    }

    #[test]
    fn industry_neutral_subtracts_each_sectors_mean_of_the_day() {
        let mut p = Panel::from_bars(&universe(30));
        // Sectors 0, 0, 0, 1, 1 and none; the stock without one is missing.
        let codes = [0.0, 0.0, 0.0, 1.0, 1.0, f64::NAN];
        p.insert(
            crate::expr::SECTOR_FIELD,
            codes.iter().map(|c| vec![*c; p.dates.len()]).collect(),
        );
        let close = p.evaluate("$close").unwrap();
        let g = p.evaluate("industry_neutral($close)").unwrap();
        for d in 25..30 {
            let m0 = (0..3)
                .map(|s| close[s][d])
                .filter(|x| x.is_finite())
                .collect::<Vec<_>>();
            let mean0 = m0.iter().sum::<f64>() / m0.len() as f64;
            let mean1 = (close[3][d] + close[4][d]) / 2.0;
            assert!((g[0][d] - (close[0][d] - mean0)).abs() < 1e-12);
            assert!((g[3][d] - (close[3][d] - mean1)).abs() < 1e-12);
            assert!((g[3][d] + g[4][d]).abs() < 1e-12, "two names: opposite");
            assert!(g[5][d].is_nan(), "no sector, no value");
        }
        // Nested, and the same on the dates asked for alone.
        let need: Vec<bool> = (0..p.dates.len()).map(|d| d % 5 == 4).collect();
        let all = p.evaluate("rank(industry_neutral($close))").unwrap();
        let at = p
            .evaluate_at("rank(industry_neutral($close))", &need)
            .unwrap();
        for s in 0..6 {
            for d in (0..p.dates.len()).filter(|&d| need[d]) {
                assert!(all[s][d] == at[s][d] || (all[s][d].is_nan() && at[s][d].is_nan()));
            }
        }
        // Without sectors in the panel nothing has a value.
        let bare = Panel::from_bars(&universe(30));
        assert!(
            bare.evaluate("industry_neutral($close)")
                .unwrap()
                .iter()
                .flatten()
                .all(|x| x.is_nan())
        );
    }
}

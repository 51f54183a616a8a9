//! The universe as a panel of columns (symbols × dates), and an expression evaluated over it.
//! Time-series operators walk each symbol's own bars (a suspended day is skipped, not a zero),
//! cross-sectional ones each date's symbols, so a value at a date never reads a later one.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::ops::{cross_in_place, rolling, rolling_pair};
use super::parse::{BinOp, Expr, ExprError, parse};
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
        for (s, (_, bars)) in series.iter().enumerate() {
            // Bars and dates both ascend: one walk, no lookups.
            let mut d = 0;
            for b in bars.iter() {
                let day = b.ts.date();
                while dates[d] < day {
                    d += 1;
                }
                present[s][d] = true;
                let v = [
                    b.open,
                    b.high,
                    b.low,
                    b.close,
                    b.volume,
                    b.amount.unwrap_or(f64::NAN),
                    b.vwap().unwrap_or(f64::NAN),
                ];
                for ((c, x), k) in cols.iter_mut().zip(v).zip(&keep) {
                    if *k {
                        c[s][d] = x;
                    }
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

    /// Evaluates a parsed expression; `[symbol][date]`.
    pub fn eval(&self, e: &Expr) -> Grid {
        match e {
            Expr::Num(n) => self.fill(*n),
            // `parse` checked the name against this panel; another panel's expression reads
            // a column it lacks as missing.
            Expr::Field(f) => self
                .columns
                .get(f)
                .cloned()
                .unwrap_or_else(|| self.fill(f64::NAN)),
            Expr::Neg(x) => map(self.eval(x), |v| -v),
            Expr::Not(x) => map(self.eval(x), |v| {
                if v.is_nan() {
                    f64::NAN
                } else {
                    f64::from(u8::from(v == 0.0))
                }
            }),
            // A constant side is applied in place, not spread over a grid of its own.
            Expr::Binary(op, a, b) => match (a.as_ref(), b.as_ref()) {
                (x, Expr::Num(n)) if !matches!(x, Expr::Num(_)) => {
                    map(self.eval(x), |v| binary(*op, v, *n))
                }
                (Expr::Num(n), y) => map(self.eval(y), |v| binary(*op, *n, v)),
                (a, b) => zip(self.eval(a), &self.arg(b), |x, y| binary(*op, x, y)),
            },
            Expr::Call(name, args) => self.call(name, args),
        }
    }

    /// An operand that is only read: a column as it is, anything else computed.
    fn arg(&self, e: &Expr) -> std::borrow::Cow<'_, Grid> {
        match e {
            Expr::Field(f) if self.columns.contains_key(f) => {
                std::borrow::Cow::Borrowed(&self.columns[f])
            }
            _ => std::borrow::Cow::Owned(self.eval(e)),
        }
    }

    fn fill(&self, v: f64) -> Grid {
        self.present
            .iter()
            .map(|row| row.iter().map(|p| if *p { v } else { f64::NAN }).collect())
            .collect()
    }

    fn call(&self, name: &str, args: &[Expr]) -> Grid {
        let num = |k: usize| match &args[k] {
            Expr::Num(n) => *n,
            _ => unreachable!("checked by the parser"),
        };
        match name {
            "corr" | "cov" => {
                let (x, y) = (self.arg(&args[0]), self.arg(&args[1]));
                let n = num(2) as usize;
                self.per_symbol2(&x, &y, |a, b| rolling_pair(name, a, b, n))
            }
            "rank" | "zscore" | "demean" => self.per_date(self.arg(&args[0]), name, 0.0),
            "quantile" => self.per_date(self.arg(&args[0]), name, num(1)),
            "ref_week" | "ref_month" => {
                use chrono::Datelike;
                let period = |d: NaiveDate| {
                    if name == "ref_week" {
                        let w = d.iso_week();
                        (w.year(), w.week())
                    } else {
                        (d.year(), d.month())
                    }
                };
                let x = self.eval(&args[0]);
                x.iter()
                    .enumerate()
                    .map(|(s, row)| {
                        let mut out = vec![f64::NAN; row.len()];
                        // The symbol's last bar so far, and the last bar of an earlier period.
                        let (mut last, mut before) = (None::<usize>, f64::NAN);
                        for d in (0..row.len()).filter(|&d| self.present[s][d]) {
                            if let Some(l) = last
                                && period(self.dates[l]) != period(self.dates[d])
                            {
                                before = row[l];
                            }
                            out[d] = before;
                            last = Some(d);
                        }
                        out
                    })
                    .collect()
            }
            "abs" => map(self.eval(&args[0]), f64::abs),
            "sign" => map(self.eval(&args[0]), |v| {
                if v.is_nan() {
                    v
                } else if v == 0.0 {
                    0.0
                } else {
                    v.signum()
                }
            }),
            "log" => map(
                self.eval(&args[0]),
                |v| if v > 0.0 { v.ln() } else { f64::NAN },
            ),
            "pow" => {
                let (a, b) = (self.eval(&args[0]), self.eval(&args[1]));
                zip(a, &b, f64::powf)
            }
            "clip" => {
                let (lo, hi) = (num(1), num(2));
                map(self.eval(&args[0]), |v| {
                    if v.is_nan() {
                        v
                    } else {
                        v.clamp(lo.min(hi), hi.max(lo))
                    }
                })
            }
            "if" => {
                let (c, a, b) = (
                    self.eval(&args[0]),
                    self.eval(&args[1]),
                    self.eval(&args[2]),
                );
                let mut out = a;
                for (s, row) in out.iter_mut().enumerate() {
                    for (d, v) in row.iter_mut().enumerate() {
                        let cond = c[s][d];
                        *v = if cond.is_nan() {
                            f64::NAN
                        } else if cond != 0.0 {
                            *v
                        } else {
                            b[s][d]
                        };
                    }
                }
                out
            }
            _ => {
                let n = num(1) as usize;
                self.per_symbol(&self.arg(&args[0]), |s| rolling(name, s, n))
            }
        }
    }

    /// Applies `f` to each symbol's series over its own bars.
    fn per_symbol(&self, x: &Grid, f: impl Fn(&[f64]) -> Vec<f64>) -> Grid {
        x.iter()
            .enumerate()
            .map(|(s, row)| {
                if self.present[s].iter().all(|p| *p) {
                    return f(row); // a bar every day: the row is the series
                }
                let idx: Vec<usize> = (0..row.len()).filter(|&d| self.present[s][d]).collect();
                let series: Vec<f64> = idx.iter().map(|&d| row[d]).collect();
                let mut out = vec![f64::NAN; row.len()];
                for (k, v) in f(&series).into_iter().enumerate() {
                    out[idx[k]] = v;
                }
                out
            })
            .collect()
    }

    fn per_symbol2(&self, x: &Grid, y: &Grid, f: impl Fn(&[f64], &[f64]) -> Vec<f64>) -> Grid {
        (0..x.len())
            .map(|s| {
                let idx: Vec<usize> = (0..x[s].len()).filter(|&d| self.present[s][d]).collect();
                let a: Vec<f64> = idx.iter().map(|&d| x[s][d]).collect();
                let b: Vec<f64> = idx.iter().map(|&d| y[s][d]).collect();
                let mut out = vec![f64::NAN; x[s].len()];
                for (k, v) in f(&a, &b).into_iter().enumerate() {
                    out[idx[k]] = v;
                }
                out
            })
            .collect()
    }

    /// Applies `f` to each date's cross-section.
    /// A cross-sectional operator on each date. `demean` and `zscore` sum down the symbols' rows
    /// as they lie; the others turn the grid to dates × symbols in tiles, so each date's values
    /// lie together, work on them in place, and turn them back.
    fn per_date(&self, x: std::borrow::Cow<'_, Grid>, name: &str, q: f64) -> Grid {
        let (symbols, days) = (x.len(), self.dates.len());
        if name == "demean" || name == "zscore" {
            return moments(x.into_owned(), days, name == "zscore");
        }
        let mut by_date = vec![f64::NAN; symbols * days];
        const TILE: usize = 16;
        for s0 in (0..symbols).step_by(TILE) {
            let rows = &x[s0..(s0 + TILE).min(symbols)];
            for d in 0..days {
                let at = d * symbols + s0;
                for (k, row) in rows.iter().enumerate() {
                    by_date[at + k] = row[d];
                }
            }
        }
        let mut scratch = Vec::with_capacity(symbols);
        for col in by_date.chunks_mut(symbols.max(1)) {
            cross_in_place(name, col, q, &mut scratch);
        }
        let mut out = match x {
            std::borrow::Cow::Owned(g) => g,
            std::borrow::Cow::Borrowed(_) => vec![vec![f64::NAN; days]; symbols],
        };
        for s0 in (0..symbols).step_by(TILE) {
            let rows = &mut out[s0..(s0 + TILE).min(symbols)];
            for d in 0..days {
                let at = d * symbols + s0;
                for (k, row) in rows.iter_mut().enumerate() {
                    row[d] = by_date[at + k];
                }
            }
        }
        out
    }
}

/// Each date's mean (and population standard deviation) over the symbols with a value, summed
/// down the rows as they lie; then each value less the mean (over the deviation). A date
/// without spread gives missing z-scores, as [`cross`](super::ops::cross) does.
fn moments(mut g: Grid, days: usize, scale: bool) -> Grid {
    let (mut sum, mut n) = (vec![0.0; days], vec![0u32; days]);
    for row in &g {
        for ((s, c), v) in sum.iter_mut().zip(n.iter_mut()).zip(row) {
            if v.is_finite() {
                *s += v;
                *c += 1;
            }
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
                if v.is_finite() {
                    *q += (v - m) * (v - m);
                }
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
    for row in &mut g {
        for ((v, m), s) in row.iter_mut().zip(&mean).zip(&sd) {
            *v = if v.is_finite() {
                (*v - m) / s
            } else {
                f64::NAN
            };
        }
    }
    g
}

fn map(mut g: Grid, f: impl Fn(f64) -> f64) -> Grid {
    g.iter_mut().flatten().for_each(|v| *v = f(*v));
    g
}

fn zip(mut a: Grid, b: &Grid, f: impl Fn(f64, f64) -> f64) -> Grid {
    for (ra, rb) in a.iter_mut().zip(b) {
        for (x, y) in ra.iter_mut().zip(rb) {
            *x = f(*x, *y);
        }
    }
    a
}

fn binary(op: BinOp, x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    let b = |c: bool| f64::from(u8::from(c));
    match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div if y == 0.0 => f64::NAN,
        BinOp::Div => x / y,
        BinOp::Lt => b(x < y),
        BinOp::Le => b(x <= y),
        BinOp::Gt => b(x > y),
        BinOp::Ge => b(x >= y),
        BinOp::Eq => b(x == y),
        BinOp::Ne => b(x != y),
        BinOp::And => b(x != 0.0 && y != 0.0),
        BinOp::Or => b(x != 0.0 || y != 0.0),
    }
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
}

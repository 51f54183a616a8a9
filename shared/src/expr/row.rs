//! Everything but the cross-sections, one symbol's row at a time: the row and the rows it is
//! made of stay in the cache (a row of 2,500 days is 20 kB), where evaluating operator by
//! operator over the whole panel would stream every intermediate grid through memory.

use std::borrow::Cow;
use std::cell::RefCell;

use chrono::NaiveDate;

use super::eval::Panel;
use super::ops::{rolling, rolling_at, rolling_pair, sparse_is_cheaper, wide};
use super::parse::{BinOp, Expr};

/// A symbol's values over the panel's dates.
pub(super) type Row<'a> = Cow<'a, [f64]>;

/// The cross-sections under a row-wise node, already worked out over the panel, found by the
/// node they stand for. Each row is read once, so it is taken, not copied: the node's own row
/// reuses its memory.
pub(super) struct Leaves {
    grids: RefCell<Vec<Leaf>>,
    /// The dates the rows are read on, when not all of them are (a strategy's rebalance
    /// days): a window is then worked out on those dates alone where that is cheaper.
    need: Option<Vec<usize>>,
}

/// A cross-section's node and its grid.
type Leaf = (*const Expr, Vec<Vec<f64>>);

/// Whether `name` is worked out across the symbols of each date.
pub(super) fn is_cross(name: &str) -> bool {
    matches!(
        name,
        "rank" | "zscore" | "demean" | "quantile" | "industry_neutral"
    )
}

/// Whether `name` works cell by cell (and so needs its arguments only where it is needed).
fn is_elementwise(name: &str) -> bool {
    matches!(name, "abs" | "sign" | "log" | "pow" | "clip" | "if")
}

impl Leaves {
    /// Leaves for rows read on the dates `need` marks (every date when `None`).
    pub(super) fn new(need: Option<&[bool]>) -> Leaves {
        Leaves {
            grids: RefCell::new(Vec::new()),
            need: need.map(|n| (0..n.len()).filter(|&d| n[d]).collect()),
        }
    }

    /// Whether the rows are read on some dates only.
    pub(super) fn sparse(&self) -> bool {
        self.need.is_some()
    }

    fn take(&self, e: &Expr, s: usize) -> Vec<f64> {
        let mut all = self.grids.borrow_mut();
        let at = all
            .iter_mut()
            .find(|(p, _)| std::ptr::eq(*p, e))
            .expect("every cross-section under the node was collected");
        std::mem::take(&mut at.1[s])
    }
}

impl Panel {
    /// Works out the topmost cross-sections under `e` as grids, right at least on the dates
    /// `need` marks; a time-series operator needs every date of its argument.
    pub(super) fn cross_leaves(&self, e: &Expr, need: Option<&[bool]>, out: &mut Leaves) {
        match e {
            Expr::Num(_) | Expr::Field(_) => {}
            Expr::Neg(x) | Expr::Not(x) => self.cross_leaves(x, need, out),
            Expr::Binary(_, a, b) => {
                self.cross_leaves(a, need, out);
                self.cross_leaves(b, need, out);
            }
            Expr::Call(name, _) if is_cross(name) => {
                let grid = self.eval_at(e, need);
                out.grids.borrow_mut().push((e as *const Expr, grid));
            }
            Expr::Call(name, args) => {
                let need = if is_elementwise(name) { need } else { None };
                for a in args {
                    self.cross_leaves(a, need, out);
                }
            }
        }
    }

    /// Symbol `s`'s row of `e`, reading the cross-sections under it from `leaves`. When
    /// `sparse`, only the dates of `leaves`' need are read: other dates may be missing.
    pub(super) fn row<'a>(
        &'a self,
        e: &Expr,
        s: usize,
        leaves: &'a Leaves,
        sparse: bool,
    ) -> Row<'a> {
        match e {
            Expr::Num(n) => Cow::Owned(
                self.present[s]
                    .iter()
                    .map(|p| if *p { *n } else { f64::NAN })
                    .collect(),
            ),
            // `parse` checked the name against this panel; another panel's expression reads
            // a column it lacks as missing.
            Expr::Field(f) => match self.columns.get(f) {
                Some(g) => Cow::Borrowed(&g[s]),
                None => Cow::Owned(vec![f64::NAN; self.dates.len()]),
            },
            Expr::Neg(x) => map(self.row(x, s, leaves, sparse), |v| -v),
            Expr::Not(x) => map(self.row(x, s, leaves, sparse), |v| {
                if v.is_nan() {
                    f64::NAN
                } else {
                    f64::from(u8::from(v == 0.0))
                }
            }),
            // A constant side is applied in place, not spread over a row of its own.
            Expr::Binary(op, a, b) => match (a.as_ref(), b.as_ref()) {
                (x, Expr::Num(n)) if !matches!(x, Expr::Num(_)) => {
                    map(self.row(x, s, leaves, sparse), |v| binary(*op, v, *n))
                }
                (Expr::Num(n), y) => map(self.row(y, s, leaves, sparse), |v| binary(*op, *n, v)),
                (a, b) => zip_op(
                    *op,
                    self.row(a, s, leaves, sparse),
                    &self.row(b, s, leaves, sparse),
                ),
            },
            Expr::Call(name, _) if is_cross(name) => Cow::Owned(leaves.take(e, s)),
            Expr::Call(name, args) => self.call_row(name, args, s, leaves, sparse),
        }
    }

    fn call_row<'a>(
        &'a self,
        name: &str,
        args: &[Expr],
        s: usize,
        leaves: &'a Leaves,
        sparse: bool,
    ) -> Row<'a> {
        let num = |k: usize| match &args[k] {
            Expr::Num(n) => *n,
            _ => unreachable!("checked by the parser"),
        };
        // A cell-by-cell operator reads its arguments on its own dates; anything else reads
        // every date of them.
        let arg = |k: usize| self.row(&args[k], s, leaves, sparse && is_elementwise(name));
        match name {
            "corr" | "cov" => {
                let (x, y) = (arg(0), arg(1));
                let n = num(2) as usize;
                let present = &self.present[s];
                let idx: Vec<usize> = (0..x.len()).filter(|&d| present[d]).collect();
                let a: Vec<f64> = idx.iter().map(|&d| x[d]).collect();
                let b: Vec<f64> = idx.iter().map(|&d| y[d]).collect();
                let mut out = vec![f64::NAN; x.len()];
                for (k, v) in rolling_pair(name, &a, &b, n).into_iter().enumerate() {
                    out[idx[k]] = v;
                }
                Cow::Owned(out)
            }
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
                let x = arg(0);
                let mut out = vec![f64::NAN; x.len()];
                // The symbol's last bar so far, and the last bar of an earlier period.
                let (mut last, mut before) = (None::<usize>, f64::NAN);
                for d in (0..x.len()).filter(|&d| self.present[s][d]) {
                    if let Some(l) = last
                        && period(self.dates[l]) != period(self.dates[d])
                    {
                        before = x[l];
                    }
                    out[d] = before;
                    last = Some(d);
                }
                Cow::Owned(out)
            }
            "abs" => map(arg(0), f64::abs),
            "sign" => map(arg(0), |v| {
                if v.is_nan() {
                    v
                } else if v == 0.0 {
                    0.0
                } else {
                    v.signum()
                }
            }),
            "log" => map(arg(0), |v| if v > 0.0 { v.ln() } else { f64::NAN }),
            "pow" => zip(arg(0), &arg(1), f64::powf),
            "clip" => {
                let (lo, hi) = (num(1), num(2));
                map(arg(0), |v| {
                    if v.is_nan() {
                        v
                    } else {
                        v.clamp(lo.min(hi), hi.max(lo))
                    }
                })
            }
            "if" => {
                let (c, a, b) = (arg(0), arg(1), arg(2));
                let mut out = a.into_owned();
                for ((v, cond), other) in out.iter_mut().zip(c.iter()).zip(b.iter()) {
                    *v = if cond.is_nan() {
                        f64::NAN
                    } else if *cond != 0.0 {
                        *v
                    } else {
                        *other
                    };
                }
                Cow::Owned(out)
            }
            _ => {
                // A window over the symbol's own bars: a suspended day is skipped, not a zero.
                let n = num(1) as usize;
                let x = arg(0);
                let present = &self.present[s];
                // A fold without an early exit, which the compiler vectorises: most rows
                // are complete, and the scan would otherwise cost as much as a window.
                if present.iter().fold(true, |all, p| all & *p) {
                    return Cow::Owned(match leaves.need.as_deref().filter(|_| sparse) {
                        Some(at) if sparse_is_cheaper(name, at.len(), n, x.len()) => {
                            rolling_at(name, &x, n, at)
                        }
                        _ => rolling(name, &x, n),
                    });
                }
                let idx: Vec<usize> = (0..x.len()).filter(|&d| present[d]).collect();
                let series: Vec<f64> = idx.iter().map(|&d| x[d]).collect();
                let mut out = vec![f64::NAN; x.len()];
                for (k, v) in rolling(name, &series, n).into_iter().enumerate() {
                    out[idx[k]] = v;
                }
                Cow::Owned(out)
            }
        }
    }
}

fn map(row: Row<'_>, f: impl Fn(f64) -> f64) -> Row<'static> {
    let mut row = row.into_owned();
    wide(
        #[inline(always)]
        || row.iter_mut().for_each(|v| *v = f(*v)),
    );
    Cow::Owned(row)
}

fn zip(a: Row<'_>, b: &[f64], f: impl Fn(f64, f64) -> f64) -> Row<'static> {
    let mut a = a.into_owned();
    wide(
        #[inline(always)]
        || {
            for (x, y) in a.iter_mut().zip(b) {
                *x = f(*x, *y);
            }
        },
    );
    Cow::Owned(a)
}

/// `a op b` cell by cell. Sums, differences and products carry a NaN through on their own,
/// so they run as plain loops the compiler vectorises; the rest check each cell.
fn zip_op(op: BinOp, a: Row<'_>, b: &[f64]) -> Row<'static> {
    match op {
        BinOp::Add => zip(a, b, |x, y| x + y),
        BinOp::Sub => zip(a, b, |x, y| x - y),
        BinOp::Mul => zip(a, b, |x, y| x * y),
        // The quotient first, then a select: a loop the compiler vectorises.
        BinOp::Div => zip(a, b, |x, y| {
            let q = x / y;
            if y == 0.0 { f64::NAN } else { q }
        }),
        _ => zip(a, b, |x, y| binary(op, x, y)),
    }
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

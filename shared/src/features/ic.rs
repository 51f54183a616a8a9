//! How well each factor ranks a universe: the information coefficient (Pearson) and the rank
//! IC (Spearman) between a factor on day `t` and the forward return from `t`'s close to
//! `t + h`'s close, across symbols, per day; their mean, spread, ICIR and t-statistic; the
//! top-minus-bottom quintile return; and the factors' correlation matrix.

use super::factors::{FACTORS, FactorRow, factor_rows};
use crate::{Bar, Symbol};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IcOptions {
    /// Forward return horizon in trading days.
    pub horizon: usize,
    /// Days with fewer symbols than this (both factor and return known) are skipped.
    pub min_symbols: usize,
}

impl Default for IcOptions {
    fn default() -> Self {
        IcOptions {
            horizon: 5,
            min_symbols: 5,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactorIc {
    pub factor: String,
    pub days: usize,
    pub ic_mean: f64,
    pub ic_std: f64,
    /// `ic_mean / ic_std`.
    pub icir: f64,
    /// `ic_mean / (ic_std / sqrt(days))`.
    pub t_stat: f64,
    pub rank_ic_mean: f64,
    pub rank_ic_std: f64,
    pub rank_icir: f64,
    /// Share of days with a positive rank IC.
    pub rank_ic_positive: f64,
    /// Mean forward return of the top fifth minus that of the bottom fifth, per day.
    pub top_minus_bottom: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IcReport {
    pub options: IcOptions,
    pub symbols: usize,
    /// Days that had enough symbols.
    pub days: usize,
    pub factors: Vec<FactorIc>,
    /// Names in matrix order.
    pub names: Vec<String>,
    /// Pearson correlation of the factors' per-day cross-sectional ranks, pooled over days.
    pub correlation: Vec<Vec<f64>>,
}

/// 0-based ranks, ties sharing their average rank.
pub(crate) fn average_ranks(xs: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..xs.len()).collect();
    idx.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    let mut out = vec![0.0; xs.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && xs[idx[j + 1]] == xs[idx[i]] {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0;
        for &k in &idx[i..=j] {
            out[k] = r;
        }
        i = j + 1;
    }
    out
}

/// Ranks from 0 to 1 (ties share their average rank); a single value ranks 0.5.
fn ranks(xs: &[f64]) -> Vec<f64> {
    if xs.len() == 1 {
        return vec![0.5];
    }
    let d = (xs.len().max(2) - 1) as f64;
    average_ranks(xs).iter().map(|r| r / d).collect()
}

/// Pearson correlation; `NaN` when either side has no spread.
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    if saa <= 0.0 || sbb <= 0.0 {
        f64::NAN
    } else {
        sab / (saa * sbb).sqrt()
    }
}

pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    pearson(&ranks(a), &ranks(b))
}

fn mean_std(xs: &[f64]) -> (f64, f64) {
    if xs.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = if xs.len() > 1 {
        xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0)
    } else {
        f64::NAN
    };
    (m, v.sqrt())
}

/// Factor values and forward returns per day, per symbol.
struct Panel {
    by_day: BTreeMap<NaiveDate, Vec<(FactorRow, f64)>>,
}

fn panel(universe: &BTreeMap<Symbol, Vec<Bar>>, horizon: usize) -> Panel {
    let mut by_day: BTreeMap<NaiveDate, Vec<(FactorRow, f64)>> = BTreeMap::new();
    for bars in universe.values() {
        let rows = factor_rows(bars);
        for t in 0..bars.len().saturating_sub(horizon) {
            let fwd = bars[t + horizon].close / bars[t].close - 1.0;
            if fwd.is_finite() {
                by_day
                    .entry(bars[t].ts.date())
                    .or_default()
                    .push((rows[t], fwd));
            }
        }
    }
    Panel { by_day }
}

/// The IC report of every factor over `universe` (daily bars per symbol, ascending).
pub fn ic_report(universe: &BTreeMap<Symbol, Vec<Bar>>, options: IcOptions) -> IcReport {
    let p = panel(universe, options.horizon.max(1));
    let k = FACTORS.len();
    let mut ic: Vec<Vec<f64>> = vec![Vec::new(); k];
    let mut ric: Vec<Vec<f64>> = vec![Vec::new(); k];
    let mut spread: Vec<Vec<f64>> = vec![Vec::new(); k];
    // Pooled sums for the correlation of per-day ranks.
    let mut sxy = vec![vec![0.0; k]; k];
    let mut pairs = vec![vec![0usize; k]; k];
    let mut sums = vec![vec![(0.0, 0.0, 0.0, 0.0); k]; k]; // Σx, Σy, Σx², Σy²
    let mut days = 0;
    for rows in p.by_day.values() {
        if rows.len() < options.min_symbols.max(2) {
            continue;
        }
        days += 1;
        // Per factor, each row's rank that day (NaN where the factor is missing).
        let mut day_ranks: Vec<Option<Vec<f64>>> = vec![None; k];
        for f in 0..k {
            let (xs, ys): (Vec<f64>, Vec<f64>) = rows
                .iter()
                .filter(|(r, _)| r[f].is_finite())
                .map(|(r, y)| (r[f], *y))
                .unzip();
            if xs.len() < options.min_symbols.max(2) {
                continue;
            }
            let c = pearson(&xs, &ys);
            let rc = spearman(&xs, &ys);
            if c.is_finite() {
                ic[f].push(c);
            }
            if rc.is_finite() {
                ric[f].push(rc);
            }
            let mut order: Vec<usize> = (0..xs.len()).collect();
            order.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
            let q = (xs.len() / 5).max(1);
            let bottom = order[..q].iter().map(|&i| ys[i]).sum::<f64>() / q as f64;
            let top = order[xs.len() - q..].iter().map(|&i| ys[i]).sum::<f64>() / q as f64;
            spread[f].push(top - bottom);
            let mut dense = vec![f64::NAN; rows.len()];
            let idx = (0..rows.len()).filter(|&i| rows[i].0[f].is_finite());
            for (i, r) in idx.zip(ranks(&xs)) {
                dense[i] = r;
            }
            day_ranks[f] = Some(dense);
        }
        for a in 0..k {
            let Some(ra) = &day_ranks[a] else { continue };
            for b in a..k {
                let Some(rb) = &day_ranks[b] else { continue };
                let s = &mut sums[a][b];
                for (x, y) in ra.iter().zip(rb) {
                    if x.is_finite() && y.is_finite() {
                        s.0 += x;
                        s.1 += y;
                        s.2 += x * x;
                        s.3 += y * y;
                        sxy[a][b] += x * y;
                        pairs[a][b] += 1;
                    }
                }
            }
        }
    }
    let mut correlation = vec![vec![f64::NAN; k]; k];
    for a in 0..k {
        for b in a..k {
            let n = pairs[a][b] as f64;
            let (x, y, xx, yy) = sums[a][b];
            let cov = sxy[a][b] / n - (x / n) * (y / n);
            let va = xx / n - (x / n) * (x / n);
            let vb = yy / n - (y / n) * (y / n);
            let c = if n > 1.0 && va > 0.0 && vb > 0.0 {
                (cov / (va * vb).sqrt()).clamp(-1.0, 1.0)
            } else {
                f64::NAN
            };
            correlation[a][b] = c;
            correlation[b][a] = c;
        }
    }
    let factors = (0..k)
        .map(|f| {
            let (m, s) = mean_std(&ic[f]);
            let (rm, rs) = mean_std(&ric[f]);
            FactorIc {
                factor: FACTORS[f].to_string(),
                days: ric[f].len(),
                ic_mean: m,
                ic_std: s,
                icir: m / s,
                t_stat: m / s * (ic[f].len() as f64).sqrt(),
                rank_ic_mean: rm,
                rank_ic_std: rs,
                rank_icir: rm / rs,
                rank_ic_positive: ric[f].iter().filter(|x| **x > 0.0).count() as f64
                    / ric[f].len().max(1) as f64,
                top_minus_bottom: mean_std(&spread[f]).0,
            }
        })
        .collect();
    IcReport {
        options,
        symbols: universe.len(),
        days,
        factors,
        names: FACTORS.iter().map(|s| s.to_string()).collect(),
        correlation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlations_by_hand() {
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [2.0, 4.0, 6.0, 8.5];
        assert!((pearson(&a, &b) - 0.998_380).abs() < 1e-5);
        assert!((spearman(&a, &b) - 1.0).abs() < 1e-12);
        // Ties share their rank: ranks of [1, 1, 2] are [0.25, 0.25, 1].
        assert_eq!(ranks(&[1.0, 1.0, 2.0]), vec![0.25, 0.25, 1.0]);
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        assert!(pearson(&[1.0, 1.0], &[1.0, 2.0]).is_nan());
    }

    /// Ten symbols with different steady drifts and a little deterministic noise: past returns
    /// rank them as their future returns do, so momentum has a rank IC near 1.
    #[test]
    fn persistent_drifts_give_momentum_a_high_rank_ic() {
        let d0 = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
        let mut u = BTreeMap::new();
        for s in 0..10u64 {
            let drift = -0.004 + 0.0008 * s as f64;
            let mut p = 10.0;
            let bars = (0..200u64)
                .map(|i| {
                    let noise = (((i * 7919 + s * 104_729) % 1000) as f64 / 1000.0 - 0.5) * 0.002;
                    p *= 1.0 + drift + noise;
                    Bar {
                        ts: (d0 + chrono::Days::new(i)).and_hms_opt(0, 0, 0).unwrap(),
                        open: p,
                        high: p * 1.01,
                        low: p * 0.99,
                        close: p,
                        volume: 1e6,
                        amount: None,
                    }
                })
                .collect();
            u.insert(format!("6000{s:02}.SH").parse::<Symbol>().unwrap(), bars);
        }
        let r = ic_report(&u, IcOptions::default());
        assert_eq!(r.symbols, 10);
        assert_eq!(r.days, 195);
        let get = |n: &str| r.factors.iter().find(|f| f.factor == n).unwrap();
        let m = get("ret_20");
        assert!(m.rank_ic_mean > 0.9, "{m:?}");
        assert!(
            m.rank_ic_positive > 0.95 && m.top_minus_bottom > 0.0,
            "{m:?}"
        );
        // The matrix is symmetric with a unit diagonal; ret_20 and mom_60 agree here.
        for a in 0..24 {
            for b in 0..24 {
                let (x, y) = (r.correlation[a][b], r.correlation[b][a]);
                assert!(x.is_nan() && y.is_nan() || x == y);
            }
        }
        let i = |n: &str| r.names.iter().position(|x| x == n).unwrap();
        assert!((r.correlation[i("ret_20")][i("ret_20")] - 1.0).abs() < 1e-9);
        assert!(r.correlation[i("ret_20")][i("mom_60")] > 0.9);
    }
}

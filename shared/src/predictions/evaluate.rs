//! The report on a prediction set against what happened: per date and overall, the IC and
//! rank IC of each signal with ICIR, t-statistic and the share of dates with a positive rank
//! IC, mean forward return by quintile, the hit rate of the sign, the Brier score of P(up)
//! against the base rate with a reliability table, the q10–q90 band's coverage and the CRPS.
//! Beside the model, on exactly the same rows: 20-day momentum and 5-day reversal as scores,
//! and a random walk (the trailing 60-day volatility, no drift) for the distributional ones.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::calibrate::{self, Calibration, CalibrationOptions};
use super::rows::{Detail, PredictionRow, RowKind};
use crate::Bar;
use crate::features::ic::{pearson, spearman};

/// One row with what happened after it and the baselines' view at the same date.
#[derive(Debug, Clone)]
pub struct Observed {
    pub symbol: String,
    pub as_of: NaiveDate,
    /// The day the outcome became known (the close `horizon` bars later).
    pub known_on: NaiveDate,
    pub forward_return: f64,
    pub score: f64,
    pub p_up: f64,
    pub exp_return: Option<f64>,
    pub band: Option<(f64, f64)>,
    pub q50: Option<f64>,
    pub path_returns: Vec<f32>,
    pub momentum_20: f64,
    pub reversal_5: f64,
    /// The random walk's standard deviation of the horizon return.
    pub rw_sigma: f64,
}

/// Why rows were left out of the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Left {
    /// Rows whose outcome is not in the bars yet (the newest dates).
    pub outcome_unknown: usize,
    /// Rows of a symbol the bars do not hold, or without a bar on the as-of date.
    pub no_bar: usize,
}

/// Pairs each row with its realised forward return; rows that cannot be scored are counted.
pub fn observe<B: AsRef<[Bar]>>(
    rows: &[PredictionRow],
    bars: &BTreeMap<String, B>,
) -> (Vec<Observed>, Left) {
    let mut left = Left::default();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let Some(b) = bars.get(&r.symbol).map(AsRef::as_ref) else {
            left.no_bar += 1;
            continue;
        };
        let Ok(t) = b.binary_search_by_key(&r.as_of, |x| x.ts.date()) else {
            left.no_bar += 1;
            continue;
        };
        let h = r.horizon as usize;
        let Some(later) = b.get(t + h) else {
            left.outcome_unknown += 1;
            continue;
        };
        let close = b[t].close;
        let back = |k: usize| {
            t.checked_sub(k)
                .map_or(f64::NAN, |i| close / b[i].close - 1.0)
        };
        let logs: Vec<f64> = b[t.saturating_sub(60)..=t]
            .windows(2)
            .map(|w| (w[1].close / w[0].close).ln())
            .filter(|x| x.is_finite())
            .collect();
        let sd = if logs.len() >= 2 {
            let m = logs.iter().sum::<f64>() / logs.len() as f64;
            (logs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (logs.len() - 1) as f64).sqrt()
        } else {
            f64::NAN
        };
        let (exp_return, band, q50, path_returns) = match &r.detail {
            Detail::Kronos {
                exp_return,
                q10,
                q50,
                q90,
                path_returns,
                ..
            } => (
                Some(*exp_return),
                Some((*q10, *q90)),
                Some(*q50),
                path_returns.clone(),
            ),
            Detail::Classifier { .. } => (None, None, None, Vec::new()),
        };
        out.push(Observed {
            symbol: r.symbol.clone(),
            as_of: r.as_of,
            known_on: later.ts.date(),
            forward_return: later.close / close - 1.0,
            score: r.score,
            p_up: r.p_up,
            exp_return,
            band,
            q50,
            path_returns,
            momentum_20: back(20),
            reversal_5: -back(5),
            rw_sigma: sd * (h as f64).sqrt(),
        });
    }
    (out, left)
}

/// IC and friends of one signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalStats {
    pub signal: String,
    /// Dates with at least 3 names and spread in both signal and outcome.
    pub dates: usize,
    pub ic: f64,
    pub rank_ic: f64,
    pub rank_ic_sd: f64,
    /// Mean rank IC over its standard deviation.
    pub icir: f64,
    /// The rank IC's t-statistic over dates.
    pub t_stat: f64,
    pub positive_rank_ic_share: f64,
    /// Mean forward return of each quintile of the signal, lowest first (dates with ≥ 5 names).
    pub quintiles: [f64; 5],
    /// Top quintile minus bottom quintile.
    pub spread: f64,
    /// Share of rows where the signal's sign is the outcome's (zero outcomes left out).
    pub hit_rate: f64,
}

/// One date of the model's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DateStats {
    pub date: NaiveDate,
    pub names: usize,
    pub ic: f64,
    pub rank_ic: f64,
    /// Cumulative rank IC up to and including this date.
    pub cum_rank_ic: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    pub from: f64,
    pub to: f64,
    pub count: usize,
    pub mean_p: f64,
    pub observed: f64,
}

/// How well P(up) is calibrated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probability {
    pub brier: f64,
    /// A constant forecast of the rows' own share of ups.
    pub brier_base_rate: f64,
    pub base_rate: f64,
    /// 1 − brier / brier_base_rate: above 0 beats the base rate.
    pub brier_skill: f64,
    pub reliability: Vec<ReliabilityBin>,
}

/// The return distribution: band coverage and CRPS, the model's beside the random walk's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    /// Share of outcomes inside the q10–q90 band (80 % when calibrated).
    pub coverage: f64,
    pub random_walk_coverage: f64,
    pub crps: f64,
    /// "paths" (every path's return) or "quantiles" (pinball loss of q10/q50/q90, when only
    /// the CSV is at hand).
    pub crps_from: String,
    pub random_walk_crps: f64,
    pub mean_band_width: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionReport {
    pub kind: RowKind,
    pub rows: usize,
    pub scored: usize,
    pub left: Left,
    pub symbols: usize,
    pub first_date: Option<NaiveDate>,
    pub last_date: Option<NaiveDate>,
    /// The model's signals, then the baselines (`momentum_20`, `reversal_5`).
    pub signals: Vec<SignalStats>,
    pub by_date: Vec<DateStats>,
    pub probability: Probability,
    pub random_walk_brier: f64,
    pub distribution: Option<Distribution>,
    pub calibration: Option<Calibration>,
    /// The score's rank IC by the market regime of the universe's index on each as-of date
    /// (empty when the universe has no index).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub by_regime: Vec<RegimeStats>,
    /// The score's rank IC within each sector and each size fifth on each as-of date (empty
    /// without reference data): does the model rank names inside a group, or only the groups?
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub by_bucket: Vec<BucketStats>,
}

/// The score's rank IC among the names of one bucket, date by date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketStats {
    /// `sector` or `size`.
    pub grouping: String,
    /// The sector (`finance`, …) or size fifth (`mega` … `micro`).
    pub bucket: String,
    /// Dates with at least three scored names in the bucket.
    pub dates: usize,
    /// Names a date, on average over those dates.
    pub names: f64,
    pub mean_rank_ic: f64,
    /// Mean over its standard error.
    pub t_stat: f64,
    pub positive_rank_ic_share: f64,
}

/// Each of a date's names' bucket, or none.
pub type BucketOf<'a> = dyn Fn(NaiveDate, &[&str]) -> Vec<Option<String>> + 'a;

/// The score's rank IC within buckets: `assign` gives each of a date's names (as scored that
/// day) its bucket, or none. `grouping` names the kind of bucket.
pub fn by_bucket<B: AsRef<[Bar]>>(
    rows: &[PredictionRow],
    bars: &BTreeMap<String, B>,
    grouping: &str,
    assign: &BucketOf<'_>,
) -> Vec<BucketStats> {
    let (mut obs, _) = observe(rows, bars);
    obs.sort_by(|a, b| (a.as_of, &a.symbol).cmp(&(b.as_of, &b.symbol)));
    // bucket → (rank ICs, names) over its dates
    let mut per: BTreeMap<String, (Vec<f64>, usize)> = BTreeMap::new();
    for (date, idx) in by_date(&obs) {
        let names: Vec<&str> = idx.iter().map(|&i| obs[i].symbol.as_str()).collect();
        let buckets = assign(date, &names);
        let mut groups: BTreeMap<&str, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
        for (&i, b) in idx.iter().zip(&buckets) {
            let o = &obs[i];
            if let Some(b) = b
                && o.score.is_finite()
                && o.forward_return.is_finite()
            {
                let g = groups.entry(b.as_str()).or_default();
                g.0.push(o.score);
                g.1.push(o.forward_return);
            }
        }
        for (b, (s, y)) in groups {
            if s.len() < 3 {
                continue;
            }
            let ric = spearman(&s, &y);
            if ric.is_finite() {
                let e = per.entry(b.to_string()).or_default();
                e.0.push(ric);
                e.1 += s.len();
            }
        }
    }
    per.into_iter()
        .map(|(bucket, (ics, names))| {
            let (mean_rank_ic, t_stat, positive_rank_ic_share) = ic_summary(&ics);
            BucketStats {
                grouping: grouping.to_string(),
                bucket,
                dates: ics.len(),
                names: names as f64 / ics.len() as f64,
                mean_rank_ic,
                t_stat,
                positive_rank_ic_share,
            }
        })
        .collect()
}

/// Size fifths of `caps` (a date's names' float caps; none where unknown), largest first:
/// `mega`, `large`, `mid`, `small`, `micro`.
pub fn size_fifths(caps: &[Option<f64>]) -> Vec<Option<String>> {
    let mut known: Vec<(usize, f64)> = caps
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.filter(|c| c.is_finite() && *c > 0.0).map(|c| (i, c)))
        .collect();
    known.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut out = vec![None; caps.len()];
    let n = known.len();
    for (rank, (i, _)) in known.into_iter().enumerate() {
        let fifth = (rank * 5 / n.max(1)).min(4);
        out[i] = Some(crate::analysis::reference_styles::SIZE_BUCKETS[fifth].to_string());
    }
    out
}

/// The score's rank IC on the dates of one market regime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegimeStats {
    /// The index the regime is read from.
    pub index: String,
    pub regime: crate::analysis::regime::Regime,
    pub dates: usize,
    pub mean_rank_ic: f64,
    /// Mean over its standard error.
    pub t_stat: f64,
    pub positive_rank_ic_share: f64,
}

/// [`DateStats`] grouped by the regime of `index` (ascending bars) on each date: the regime
/// its bars up to that date give.
pub fn by_regime(by_date: &[DateStats], index: &str, bars: &[Bar]) -> Vec<RegimeStats> {
    use crate::analysis::regime::{Regime, daily, on_day};
    let days = daily(bars);
    let on = |d: NaiveDate| on_day(bars, &days, d);
    Regime::ALL
        .iter()
        .filter_map(|&g| {
            let ics: Vec<f64> = by_date
                .iter()
                .filter(|x| on(x.date) == Some(g) && x.rank_ic.is_finite())
                .map(|x| x.rank_ic)
                .collect();
            if ics.is_empty() {
                return None;
            }
            let (mean_rank_ic, t_stat, positive_rank_ic_share) = ic_summary(&ics);
            Some(RegimeStats {
                index: index.to_string(),
                regime: g,
                dates: ics.len(),
                mean_rank_ic,
                t_stat,
                positive_rank_ic_share,
            })
        })
        .collect()
}

/// Daily ICs (not empty) summed up: their mean, the mean over its standard error, and the share
/// above zero.
fn ic_summary(ics: &[f64]) -> (f64, f64, f64) {
    let n = ics.len() as f64;
    let m = ics.iter().sum::<f64>() / n;
    let sd = crate::backtest::metrics::sample_std(ics);
    let t = if sd > 0.0 {
        m / (sd / n.sqrt())
    } else {
        f64::NAN
    };
    (m, t, ics.iter().filter(|x| **x > 0.0).count() as f64 / n)
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (mut s, mut n) = (0.0, 0usize);
    for x in xs.filter(|x| x.is_finite()) {
        s += x;
        n += 1;
    }
    if n == 0 { f64::NAN } else { s / n as f64 }
}

fn by_date(obs: &[Observed]) -> BTreeMap<NaiveDate, Vec<usize>> {
    let mut m: BTreeMap<NaiveDate, Vec<usize>> = BTreeMap::new();
    for (i, o) in obs.iter().enumerate() {
        m.entry(o.as_of).or_default().push(i);
    }
    m
}

/// The per-date ICs of one signal (dates where both sides have spread).
fn date_ics(
    obs: &[Observed],
    dates: &BTreeMap<NaiveDate, Vec<usize>>,
    signal: &dyn Fn(&Observed) -> f64,
) -> Vec<(NaiveDate, usize, f64, f64)> {
    let mut out = Vec::new();
    for (d, idx) in dates {
        let (s, y): (Vec<f64>, Vec<f64>) = idx
            .iter()
            .map(|&i| (signal(&obs[i]), obs[i].forward_return))
            .filter(|(s, y)| s.is_finite() && y.is_finite())
            .unzip();
        if s.len() < 3 {
            continue;
        }
        let (ic, ric) = (pearson(&s, &y), spearman(&s, &y));
        if ic.is_finite() && ric.is_finite() {
            out.push((*d, s.len(), ic, ric));
        }
    }
    out
}

fn signal_stats(
    name: &str,
    obs: &[Observed],
    dates: &BTreeMap<NaiveDate, Vec<usize>>,
    signal: &dyn Fn(&Observed) -> f64,
) -> SignalStats {
    let ics = date_ics(obs, dates, signal);
    let n = ics.len() as f64;
    let rank_ic = mean(ics.iter().map(|x| x.3));
    let sd = if ics.len() >= 2 {
        (ics.iter().map(|x| (x.3 - rank_ic).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    } else {
        f64::NAN
    };
    let mut buckets = [(0.0, 0usize); 5];
    for idx in dates.values() {
        let mut v: Vec<(f64, f64)> = idx
            .iter()
            .map(|&i| (signal(&obs[i]), obs[i].forward_return))
            .filter(|(s, y)| s.is_finite() && y.is_finite())
            .collect();
        if v.len() < 5 {
            continue;
        }
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        let len = v.len();
        let mut sums = [(0.0, 0usize); 5];
        for (k, (_, y)) in v.iter().enumerate() {
            let q = k * 5 / len;
            sums[q].0 += y;
            sums[q].1 += 1;
        }
        for q in 0..5 {
            buckets[q].0 += sums[q].0 / sums[q].1 as f64;
            buckets[q].1 += 1;
        }
    }
    let quintiles = buckets.map(|(s, n)| if n == 0 { f64::NAN } else { s / n as f64 });
    let (mut hits, mut total) = (0usize, 0usize);
    for o in obs {
        let s = signal(o);
        if s.is_finite() && s != 0.0 && o.forward_return != 0.0 {
            total += 1;
            hits += usize::from((s > 0.0) == (o.forward_return > 0.0));
        }
    }
    SignalStats {
        signal: name.to_string(),
        dates: ics.len(),
        ic: mean(ics.iter().map(|x| x.2)),
        rank_ic,
        rank_ic_sd: sd,
        icir: rank_ic / sd,
        t_stat: rank_ic / sd * n.sqrt(),
        positive_rank_ic_share: if ics.is_empty() {
            f64::NAN
        } else {
            ics.iter().filter(|x| x.3 > 0.0).count() as f64 / n
        },
        quintiles,
        spread: quintiles[4] - quintiles[0],
        hit_rate: if total == 0 {
            f64::NAN
        } else {
            hits as f64 / total as f64
        },
    }
}

/// The score's IC on each date, with the running sum of its rank IC.
fn score_by_date(obs: &[Observed], dates: &BTreeMap<NaiveDate, Vec<usize>>) -> Vec<DateStats> {
    let mut cum = 0.0;
    date_ics(obs, dates, &|o| o.score)
        .into_iter()
        .map(|(date, names, ic, rank_ic)| {
            cum += rank_ic;
            DateStats {
                date,
                names,
                ic,
                rank_ic,
                cum_rank_ic: cum,
            }
        })
        .collect()
}

/// Brier score and reliability of probabilities `p` for outcomes `up`.
pub fn probability(p: &[f64], up: &[bool]) -> Probability {
    let n = p.len() as f64;
    let base_rate = up.iter().filter(|u| **u).count() as f64 / n;
    let y = |u: bool| if u { 1.0 } else { 0.0 };
    let brier = p
        .iter()
        .zip(up)
        .map(|(p, u)| (p - y(*u)).powi(2))
        .sum::<f64>()
        / n;
    let brier_base_rate = base_rate * (1.0 - base_rate);
    let mut bins: Vec<ReliabilityBin> = (0..10)
        .map(|k| ReliabilityBin {
            from: k as f64 / 10.0,
            to: (k + 1) as f64 / 10.0,
            count: 0,
            mean_p: 0.0,
            observed: 0.0,
        })
        .collect();
    for (p, u) in p.iter().zip(up) {
        let b = &mut bins[((p * 10.0).floor() as usize).min(9)];
        b.count += 1;
        b.mean_p += p;
        b.observed += y(*u);
    }
    for b in &mut bins {
        if b.count > 0 {
            b.mean_p /= b.count as f64;
            b.observed /= b.count as f64;
        }
    }
    bins.retain(|b| b.count > 0);
    Probability {
        brier,
        brier_base_rate,
        base_rate,
        brier_skill: 1.0 - brier / brier_base_rate,
        reliability: bins,
    }
}

/// Sample CRPS: `E|X − y| − ½ E|X − X'|`, computed exactly over the sorted samples.
pub fn crps(xs: &[f64], y: f64) -> f64 {
    let n = xs.len() as f64;
    let mut s: Vec<f64> = xs.to_vec();
    s.sort_by(f64::total_cmp);
    let abs: f64 = s.iter().map(|x| (x - y).abs()).sum::<f64>() / n;
    // Σ_i Σ_j |x_i − x_j| = 2 Σ_i (2i − n + 1) x_(i) for sorted x.
    let spread: f64 = s
        .iter()
        .enumerate()
        .map(|(i, x)| (2.0 * i as f64 - n + 1.0) * x)
        .sum::<f64>()
        * 2.0
        / (n * n);
    abs - 0.5 * spread
}

/// The CRPS of a centred normal with standard deviation `s` at `y` (closed form).
pub fn crps_normal(s: f64, y: f64) -> f64 {
    let z = y / s;
    let pdf = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
    s * (z * (2.0 * normal_cdf(z) - 1.0) + 2.0 * pdf - 1.0 / std::f64::consts::PI.sqrt())
}

/// Φ through erf (Abramowitz–Stegun 7.1.26, |error| < 1.5e-7).
pub fn normal_cdf(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    if z >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

/// Pinball loss of q10/q50/q90, doubled: the CRPS's quantile approximation.
fn crps_quantiles(q10: f64, q50: f64, q90: f64, y: f64) -> f64 {
    let pin = |q: f64, tau: f64| {
        let d = y - q;
        if d >= 0.0 { tau * d } else { (tau - 1.0) * d }
    };
    2.0 * (pin(q10, 0.1) + pin(q50, 0.5) + pin(q90, 0.9)) / 3.0
}

/// z of the normal's 90th percentile: the random walk's q10–q90 band is ±Z90·σ.
const Z90: f64 = 1.281_551_565_5;

fn distribution(obs: &[Observed]) -> Option<Distribution> {
    let with: Vec<&Observed> = obs.iter().filter(|o| o.band.is_some()).collect();
    if with.is_empty() {
        return None;
    }
    let n = with.len() as f64;
    let inside = |o: &&Observed| {
        let (lo, hi) = o.band.expect("filtered");
        o.forward_return >= lo && o.forward_return <= hi
    };
    let paths = with.iter().all(|o| !o.path_returns.is_empty());
    let crps = mean(with.iter().map(|o| {
        if paths {
            let xs: Vec<f64> = o.path_returns.iter().map(|x| f64::from(*x)).collect();
            crps(&xs, o.forward_return)
        } else {
            let (lo, hi) = o.band.expect("filtered");
            crps_quantiles(lo, o.q50.unwrap_or(f64::NAN), hi, o.forward_return)
        }
    }));
    Some(Distribution {
        coverage: with.iter().filter(|o| inside(o)).count() as f64 / n,
        random_walk_coverage: mean(with.iter().map(|o| {
            let s = o.rw_sigma;
            if s.is_finite() {
                f64::from(u8::from(o.forward_return.abs() <= Z90 * s))
            } else {
                f64::NAN
            }
        })),
        crps,
        crps_from: if paths { "paths" } else { "quantiles" }.into(),
        random_walk_crps: mean(
            with.iter()
                .filter(|o| o.rw_sigma > 0.0)
                .map(|o| crps_normal(o.rw_sigma, o.forward_return)),
        ),
        mean_band_width: mean(with.iter().map(|o| {
            let (lo, hi) = o.band.expect("filtered");
            hi - lo
        })),
    })
}

/// The whole report; with `calibration`, P(up) and the band recalibrated on each date's past.
pub fn report(
    kind: RowKind,
    rows: &[PredictionRow],
    bars: &BTreeMap<String, Vec<Bar>>,
    calibration: Option<CalibrationOptions>,
) -> PredictionReport {
    let (mut obs, left) = observe(rows, bars);
    // One order whatever the rows came in (a CSV, the store): ties in a quintile sort and the
    // sums' rounding then come out the same.
    obs.sort_by(|a, b| (a.as_of, &a.symbol).cmp(&(b.as_of, &b.symbol)));
    let dates = by_date(&obs);
    let mut signals = vec![signal_stats("score", &obs, &dates, &|o| o.score)];
    signals.push(signal_stats("p_up", &obs, &dates, &|o| o.p_up));
    if kind == RowKind::Kronos {
        signals.push(signal_stats("exp_return", &obs, &dates, &|o| {
            o.exp_return.unwrap_or(f64::NAN)
        }));
    }
    signals.push(signal_stats("momentum_20", &obs, &dates, &|o| {
        o.momentum_20
    }));
    signals.push(signal_stats("reversal_5", &obs, &dates, &|o| o.reversal_5));
    let by_date = score_by_date(&obs, &dates);
    let p: Vec<f64> = obs.iter().map(|o| o.p_up).collect();
    let up: Vec<bool> = obs.iter().map(|o| o.forward_return > 0.0).collect();
    let symbols = obs
        .iter()
        .map(|o| o.symbol.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    PredictionReport {
        kind,
        rows: rows.len(),
        scored: obs.len(),
        left,
        symbols,
        first_date: dates.keys().next().copied(),
        last_date: dates.keys().next_back().copied(),
        signals,
        by_date,
        probability: probability(&p, &up),
        random_walk_brier: 0.25,
        distribution: distribution(&obs),
        calibration: calibration.map(|c| calibrate::calibrate(&obs, &c)),
        by_regime: Vec::new(),
        by_bucket: Vec::new(),
    }
}

/// The IC report of a bare score (an expression's values as rows): its stats by date, and the
/// momentum and reversal baselines on the same rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreReport {
    /// Bars ahead each outcome is read.
    pub horizon: u32,
    pub scored: usize,
    pub left: Left,
    /// The score first, then `momentum_20` and `reversal_5`.
    pub signals: Vec<SignalStats>,
    pub by_date: Vec<DateStats>,
}

/// [`ScoreReport`] of `rows` (only `score` is read) against `bars`.
pub fn score_report<B: AsRef<[Bar]>>(
    rows: &[PredictionRow],
    bars: &BTreeMap<String, B>,
) -> ScoreReport {
    let (mut obs, left) = observe(rows, bars);
    obs.sort_by(|a, b| (a.as_of, &a.symbol).cmp(&(b.as_of, &b.symbol)));
    let dates = by_date(&obs);
    let signals = vec![
        signal_stats("score", &obs, &dates, &|o| o.score),
        signal_stats("momentum_20", &obs, &dates, &|o| o.momentum_20),
        signal_stats("reversal_5", &obs, &dates, &|o| o.reversal_5),
    ];
    let by_date = score_by_date(&obs, &dates);
    ScoreReport {
        horizon: rows.first().map_or(0, |r| r.horizon),
        scored: obs.len(),
        left,
        signals,
        by_date,
    }
}

fn f(x: f64, digits: usize) -> String {
    if x.is_finite() {
        format!("{x:.digits$}")
    } else {
        "-".into()
    }
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.2} %", x * 100.0)
    } else {
        "-".into()
    }
}

/// The report as a person reads it.
pub fn table(r: &PredictionReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} rows scored of {} ({} symbols, {} to {}); left out: {} with the outcome still unknown, {} without a bar",
        r.scored,
        r.rows,
        r.symbols,
        r.first_date.map_or("-".into(), |d| d.to_string()),
        r.last_date.map_or("-".into(), |d| d.to_string()),
        r.left.outcome_unknown,
        r.left.no_bar
    );
    let _ = writeln!(
        s,
        "\n{:<12} {:>6} {:>8} {:>8} {:>7} {:>7} {:>7} {:>9} {:>9} {:>9} {:>7}",
        "signal", "dates", "IC", "rank IC", "ICIR", "t", "IC>0", "Q1", "Q5", "Q5-Q1", "hit"
    );
    for g in &r.signals {
        let _ = writeln!(
            s,
            "{:<12} {:>6} {:>8} {:>8} {:>7} {:>7} {:>7} {:>9} {:>9} {:>9} {:>7}",
            g.signal,
            g.dates,
            f(g.ic, 4),
            f(g.rank_ic, 4),
            f(g.icir, 2),
            f(g.t_stat, 2),
            pct(g.positive_rank_ic_share),
            pct(g.quintiles[0]),
            pct(g.quintiles[4]),
            pct(g.spread),
            pct(g.hit_rate)
        );
    }
    if let Some(first) = r.by_regime.first() {
        let _ = writeln!(
            s,
            "\nthe score's rank IC by the market regime of {} on the as-of date:",
            first.index
        );
        for g in &r.by_regime {
            let _ = writeln!(
                s,
                "  {:<9} {:>4} dates  rank IC {}  t {}  IC>0 {}",
                g.regime.as_str(),
                g.dates,
                f(g.mean_rank_ic, 4),
                f(g.t_stat, 2),
                pct(g.positive_rank_ic_share)
            );
        }
    }
    for grouping in ["sector", "size"] {
        let rows: Vec<&BucketStats> = r
            .by_bucket
            .iter()
            .filter(|b| b.grouping == grouping)
            .collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(
            s,
            "\nthe score's rank IC within each {grouping} on each as-of date (dates with 3 names or more):"
        );
        for b in rows {
            let _ = writeln!(
                s,
                "  {:<12} {:>4} dates  {:>5.1} names  rank IC {}  t {}  IC>0 {}",
                b.bucket,
                b.dates,
                b.names,
                f(b.mean_rank_ic, 4),
                f(b.t_stat, 2),
                pct(b.positive_rank_ic_share)
            );
        }
    }
    let p = &r.probability;
    let _ = writeln!(
        s,
        "\nP(up): Brier {} against the base rate's {} (base rate {}, skill {}); the random walk's P(up) = 0.5 scores {}",
        f(p.brier, 4),
        f(p.brier_base_rate, 4),
        pct(p.base_rate),
        f(p.brier_skill, 3),
        f(r.random_walk_brier, 4)
    );
    let _ = writeln!(
        s,
        "reliability  {:>9} {:>7} {:>9}",
        "P(up)", "rows", "observed"
    );
    for b in &p.reliability {
        let _ = writeln!(
            s,
            "  {:.1}–{:.1}    {:>9} {:>7} {:>9}",
            b.from,
            b.to,
            pct(b.mean_p),
            b.count,
            pct(b.observed)
        );
    }
    if let Some(d) = &r.distribution {
        let _ = writeln!(
            s,
            "\nq10–q90 band: coverage {} (target 80 %), the random walk's {}; mean width {}\nCRPS {} (from the {}) against the random walk's {}",
            pct(d.coverage),
            pct(d.random_walk_coverage),
            pct(d.mean_band_width),
            f(d.crps, 5),
            d.crps_from,
            f(d.random_walk_crps, 5)
        );
    }
    if let Some(c) = &r.calibration {
        s.push_str(&calibrate::table(c));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dates in the index's rise count as bull and those in its fall as bear; each group's
    /// mean is its dates' own.
    #[test]
    fn rank_ic_splits_by_the_regime_on_each_date() {
        let day0 = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
        // A rise then a fall, with steady day-to-day noise (never a storm).
        let bars = crate::analysis::bars_of(
            day0,
            (0..500u64).map(|i| {
                let noise = 1.0 + 0.01 * ((i * 7919) % 13) as f64 / 13.0;
                noise
                    * if i < 250 {
                        100.0 * (1.0 + 0.003 * i as f64)
                    } else {
                        175.0 * (1.0 - 0.003 * (i - 250) as f64)
                    }
            }),
        );
        let stats = |i: u64, ic: f64| DateStats {
            date: day0 + chrono::Days::new(i),
            names: 10,
            ic,
            rank_ic: ic,
            cum_rank_ic: 0.0,
        };
        // Two dates warming up (no regime), three in the rise, two in the fall.
        let dates = [
            stats(5, 0.9),
            stats(50, 0.9),
            stats(200, 0.1),
            stats(220, 0.2),
            stats(240, 0.3),
            stats(450, -0.1),
            stats(480, -0.3),
        ];
        let r = by_regime(&dates, "000300.SH", &bars);
        let of = |g| r.iter().find(|x| x.regime == g).unwrap();
        use crate::analysis::regime::Regime;
        assert_eq!(of(Regime::Bull).dates, 3);
        assert!((of(Regime::Bull).mean_rank_ic - 0.2).abs() < 1e-12);
        assert_eq!(of(Regime::Bear).dates, 2);
        assert!((of(Regime::Bear).mean_rank_ic + 0.2).abs() < 1e-12);
        assert_eq!(of(Regime::Bear).positive_rank_ic_share, 0.0);
        assert_eq!(r.iter().map(|x| x.dates).sum::<usize>(), 5, "{r:?}");
    }

    /// Within one sector the score ranks the names' next returns right, within the other
    /// exactly wrong: each bucket's IC says so, where the pooled IC would blur them.
    #[test]
    fn rank_ic_within_buckets_is_each_buckets_own() {
        let day0 = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
        let growth = [0.001, 0.002, 0.003, 0.004, 0.005, 0.006];
        let names: Vec<String> = (1..=6).map(|k| format!("60000{k}.SH")).collect();
        let bars: BTreeMap<String, Vec<Bar>> = names
            .iter()
            .zip(growth)
            .map(|(n, g)| {
                let closes = (0..60).map(|i| 10.0 * (1.0f64 + g).powi(i));
                (n.clone(), crate::analysis::bars_of(day0, closes))
            })
            .collect();
        let mut rows = Vec::new();
        for day in [25u64, 30, 35] {
            for (k, (n, g)) in names.iter().zip(growth).enumerate() {
                rows.push(PredictionRow {
                    symbol: n.clone(),
                    as_of: day0 + chrono::Days::new(day),
                    horizon: 5,
                    score: if k < 3 { g } else { -g },
                    p_up: 0.5,
                    detail: crate::predictions::rows::Detail::Classifier {
                        p_down: 0.25,
                        p_flat: 0.25,
                    },
                });
            }
        }
        let sector = |_: NaiveDate, ns: &[&str]| -> Vec<Option<String>> {
            ns.iter()
                .map(|n| {
                    let k: u32 = n[5..6].parse().unwrap();
                    Some(if k <= 3 { "finance" } else { "energy" }.to_string())
                })
                .collect()
        };
        let b = by_bucket(&rows, &bars, "sector", &sector);
        let of = |x: &str| b.iter().find(|s| s.bucket == x).unwrap();
        assert_eq!((of("finance").dates, of("finance").names), (3, 3.0));
        assert!((of("finance").mean_rank_ic - 1.0).abs() < 1e-12, "{b:?}");
        assert!((of("energy").mean_rank_ic + 1.0).abs() < 1e-12, "{b:?}");
        assert_eq!(of("energy").positive_rank_ic_share, 0.0);
        assert!(b.iter().all(|x| x.grouping == "sector"));
    }

    #[test]
    fn size_fifths_run_from_the_largest_cap_and_skip_unknown_ones() {
        let caps = [Some(5.0), None, Some(1.0), Some(3.0), Some(4.0), Some(2.0)];
        let fifths = size_fifths(&caps);
        let got: Vec<Option<&str>> = fifths.iter().map(|x| x.as_deref()).collect();
        assert_eq!(
            got,
            [
                Some("mega"),
                None,
                Some("micro"),
                Some("mid"),
                Some("large"),
                Some("small")
            ]
        );
    }

    #[test]
    fn crps_of_a_normal_matches_its_ensemble() {
        // A large symmetric ensemble of N(0, 0.02) quantiles.
        let n = 2000;
        let xs: Vec<f64> = (0..n)
            .map(|i| {
                let p = (i as f64 + 0.5) / n as f64;
                // Inverse normal by bisection on normal_cdf.
                let (mut lo, mut hi) = (-10.0, 10.0);
                for _ in 0..80 {
                    let m = (lo + hi) / 2.0;
                    if normal_cdf(m) < p { lo = m } else { hi = m }
                }
                0.02 * lo
            })
            .collect();
        for y in [0.0, 0.01, -0.05] {
            let a = crps(&xs, y);
            let b = crps_normal(0.02, y);
            assert!((a - b).abs() < 2e-4, "{y}: {a} vs {b}");
        }
    }

    #[test]
    fn brier_of_the_base_rate_is_its_variance() {
        let up = [true, false, false, true];
        let p = probability(&[0.5; 4], &up);
        assert!((p.brier - 0.25).abs() < 1e-12 && (p.brier_base_rate - 0.25).abs() < 1e-12);
        let perfect = probability(&[1.0, 0.0, 0.0, 1.0], &up);
        assert_eq!(perfect.brier, 0.0);
        assert_eq!(perfect.brier_skill, 1.0);
    }
}

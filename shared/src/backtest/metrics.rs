//! Performance metrics quants quote, from an equity curve sampled once per trading day.
//!
//! Conventions (stated because every library differs): simple daily returns; 252 trading days
//! a year; volatility and Sharpe use the sample standard deviation (n − 1); Sharpe and Sortino
//! subtract a daily risk-free rate of `risk_free / 252`; Sortino's downside deviation is the
//! root mean square of the returns below that rate over ALL days; annualised return is
//! geometric (CAGR over `days / 252` years); drawdown is measured from the running peak of
//! the equity, its duration in trading days from the peak to the recovery (or to the end).

use serde::{Deserialize, Serialize};

pub const TRADING_DAYS: f64 = 252.0;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Drawdown {
    /// Largest peak-to-trough loss as a positive fraction (0.25 = −25 %).
    pub max: f64,
    /// Index of the peak and the trough in the equity curve.
    pub peak: usize,
    pub trough: usize,
    /// Index where equity first regained the peak, if it did.
    pub recovery: Option<usize>,
    /// Longest stretch under water, in trading days (peak to recovery, or to the end).
    pub longest_days: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub total_return: f64,
    pub annual_return: f64,
    pub annual_volatility: f64,
    pub sharpe: f64,
    pub sortino: f64,
    pub max_drawdown: f64,
    pub max_drawdown_days: usize,
    /// Annual return over max drawdown.
    pub calmar: f64,
    /// Share of days with a positive return.
    pub positive_days: f64,
    pub days: usize,
}

/// Daily simple returns of an equity curve.
pub fn returns(equity: &[f64]) -> Vec<f64> {
    equity.windows(2).map(|w| w[1] / w[0] - 1.0).collect()
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

pub(crate) fn sample_std(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return 0.0;
    }
    let m = mean(x);
    (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() - 1) as f64).sqrt()
}

/// Annualised Sharpe ratio of daily returns (0 when they do not vary).
pub fn sharpe(daily: &[f64], risk_free: f64) -> f64 {
    let sd = sample_std(daily);
    if daily.is_empty() || sd == 0.0 {
        return 0.0;
    }
    (mean(daily) - risk_free / TRADING_DAYS) / sd * TRADING_DAYS.sqrt()
}

/// Annualised Sortino ratio (0 when there is no downside).
pub fn sortino(daily: &[f64], risk_free: f64) -> f64 {
    if daily.is_empty() {
        return 0.0;
    }
    let rf = risk_free / TRADING_DAYS;
    let downside =
        (daily.iter().map(|r| (r - rf).min(0.0).powi(2)).sum::<f64>() / daily.len() as f64).sqrt();
    if downside == 0.0 {
        return 0.0;
    }
    (mean(daily) - rf) / downside * TRADING_DAYS.sqrt()
}

/// Maximum drawdown of an equity curve and the longest time under water.
pub fn drawdown(equity: &[f64]) -> Drawdown {
    let mut dd = Drawdown {
        max: 0.0,
        peak: 0,
        trough: 0,
        recovery: None,
        longest_days: 0,
    };
    let mut peak_i = 0;
    let mut under_since: Option<usize> = None;
    for (i, &v) in equity.iter().enumerate() {
        if v >= equity[peak_i] {
            if let Some(s) = under_since.take() {
                dd.longest_days = dd.longest_days.max(i - s);
                if dd.peak == s && dd.recovery.is_none() && dd.max > 0.0 {
                    dd.recovery = Some(i);
                }
            }
            peak_i = i;
            continue;
        }
        under_since.get_or_insert(peak_i);
        let loss = 1.0 - v / equity[peak_i];
        if loss > dd.max {
            dd = Drawdown {
                max: loss,
                peak: peak_i,
                trough: i,
                recovery: None,
                ..dd
            };
        }
    }
    if let Some(s) = under_since {
        dd.longest_days = dd.longest_days.max(equity.len() - 1 - s);
    }
    dd
}

/// All metrics of a daily equity curve (at least two points).
pub fn metrics(equity: &[f64], risk_free: f64) -> Option<Metrics> {
    if equity.len() < 2 || equity.iter().any(|v| !v.is_finite() || *v <= 0.0) {
        return None;
    }
    let daily = returns(equity);
    let total = equity[equity.len() - 1] / equity[0] - 1.0;
    let years = daily.len() as f64 / TRADING_DAYS;
    let annual = (1.0 + total).powf(1.0 / years) - 1.0;
    let dd = drawdown(equity);
    Some(Metrics {
        total_return: total,
        annual_return: annual,
        annual_volatility: sample_std(&daily) * TRADING_DAYS.sqrt(),
        sharpe: sharpe(&daily, risk_free),
        sortino: sortino(&daily, risk_free),
        max_drawdown: dd.max,
        max_drawdown_days: dd.longest_days,
        calmar: if dd.max > 0.0 { annual / dd.max } else { 0.0 },
        positive_days: daily.iter().filter(|r| **r > 0.0).count() as f64 / daily.len() as f64,
        days: daily.len(),
    })
}

/// A seeded SplitMix64: deterministic everywhere (wasm too), no dependency.
#[derive(Debug, Clone)]
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A two-sided percentile confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

/// Bootstrap confidence intervals for Sharpe and max drawdown.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BootstrapCi {
    pub sharpe: Interval,
    pub max_drawdown: Interval,
    pub level: f64,
    pub resamples: usize,
    pub block: usize,
}

/// Moving-block bootstrap of daily returns: resample blocks of `block` consecutive days
/// (keeping volatility clustering; 1 = iid) into `resamples` paths as long as the original,
/// and take the `level` percentile interval of each statistic. Deterministic per `seed`.
pub fn bootstrap(
    daily: &[f64],
    risk_free: f64,
    resamples: usize,
    block: usize,
    level: f64,
    seed: u64,
) -> Option<BootstrapCi> {
    let n = daily.len();
    let block = block.clamp(1, n.max(1));
    if n < 2 || resamples == 0 || !(0.0..1.0).contains(&level) {
        return None;
    }
    let mut rng = SplitMix(seed);
    let mut sharpes = Vec::with_capacity(resamples);
    let mut dds = Vec::with_capacity(resamples);
    let mut path = Vec::with_capacity(n);
    let mut equity = Vec::with_capacity(n + 1);
    for _ in 0..resamples {
        path.clear();
        while path.len() < n {
            let start = rng.below(n - block + 1);
            let take = block.min(n - path.len());
            path.extend_from_slice(&daily[start..start + take]);
        }
        equity.clear();
        equity.push(1.0);
        for r in &path {
            let last = *equity.last().expect("non-empty");
            equity.push(last * (1.0 + r));
        }
        sharpes.push(sharpe(&path, risk_free));
        dds.push(drawdown(&equity).max);
    }
    let interval = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let q = |p: f64| v[((p * (v.len() - 1) as f64).round() as usize).min(v.len() - 1)];
        Interval {
            low: q((1.0 - level) / 2.0),
            high: q((1.0 + level) / 2.0),
        }
    };
    Some(BootstrapCi {
        sharpe: interval(&mut sharpes),
        max_drawdown: interval(&mut dds),
        level,
        resamples,
        block,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn drawdown_by_hand() {
        // Peak 120 at 1, trough 90 at 3 (−25 %), back above 120 at 5.
        let eq = [100.0, 120.0, 100.0, 90.0, 110.0, 125.0, 120.0];
        let dd = drawdown(&eq);
        assert!(close(dd.max, 0.25, 1e-12), "{dd:?}");
        assert_eq!((dd.peak, dd.trough, dd.recovery), (1, 3, Some(5)));
        assert_eq!(dd.longest_days, 4, "days 1→5 under water");
        // Never recovers: duration runs to the end.
        let dd = drawdown(&[100.0, 80.0, 90.0]);
        assert_eq!((dd.recovery, dd.longest_days), (None, 2));
        assert_eq!(drawdown(&[1.0, 2.0, 3.0]).max, 0.0);
    }

    #[test]
    fn sharpe_and_sortino_by_hand() {
        let r = [0.01, -0.01, 0.02, 0.0];
        // mean 0.005, sample sd = sqrt((0.000025+0.000225+0.000225+0.000025)/3) = 0.0129099…
        let expected = 0.005 / (0.0005f64 / 3.0).sqrt() * 252f64.sqrt();
        assert!(
            close(sharpe(&r, 0.0), expected, 1e-9),
            "{}",
            sharpe(&r, 0.0)
        );
        // downside: sqrt(0.0001 / 4) = 0.005 → 0.005/0.005*sqrt(252)
        assert!(close(sortino(&r, 0.0), 252f64.sqrt(), 1e-9));
        assert_eq!(sharpe(&[0.01, 0.01], 0.0), 0.0, "no variation, no ratio");
    }

    #[test]
    fn cagr_and_calmar_on_a_doubling_over_two_years() {
        let n = 504;
        let g = 2f64.powf(1.0 / n as f64);
        let eq: Vec<f64> = (0..=n).map(|i| 100.0 * g.powi(i)).collect();
        let m = metrics(&eq, 0.0).unwrap();
        assert!(close(m.total_return, 1.0, 1e-9));
        assert!(
            close(m.annual_return, 2f64.sqrt() - 1.0, 1e-9),
            "{}",
            m.annual_return
        );
        assert_eq!((m.max_drawdown, m.calmar, m.days), (0.0, 0.0, 504));
        assert!(metrics(&[100.0], 0.0).is_none());
        assert!(metrics(&[100.0, f64::NAN], 0.0).is_none());
    }

    #[test]
    fn bootstrap_brackets_the_point_estimate_and_is_reproducible() {
        // A deterministic wiggly series with positive drift.
        let daily: Vec<f64> = (0..750)
            .map(|i| 0.0004 + 0.01 * ((i as f64) * 0.7).sin())
            .collect();
        let ci = bootstrap(&daily, 0.0, 400, 5, 0.9, 42).unwrap();
        let s = sharpe(&daily, 0.0);
        assert!(ci.sharpe.low < s && s < ci.sharpe.high, "{ci:?} vs {s}");
        assert!(ci.max_drawdown.low > 0.0 && ci.max_drawdown.low < ci.max_drawdown.high);
        assert_eq!(
            bootstrap(&daily, 0.0, 400, 5, 0.9, 42),
            Some(ci),
            "same seed, same interval"
        );
        assert_ne!(
            bootstrap(&daily, 0.0, 400, 5, 0.9, 7).unwrap().sharpe,
            ci.sharpe
        );
        assert!(bootstrap(&daily, 0.0, 0, 5, 0.9, 1).is_none());
    }
}

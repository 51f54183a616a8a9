//! The 24-factor set of the seed users' research (returns, pressure, FOMO, deviations from
//! moving averages, volatility, amplitude, RSI, MACD, Bollinger, ATR, momentum, volume), each
//! computed on bar `t` from bars `..=t` only. A factor without enough history is `NaN`.

use crate::Bar;

/// Names in column order of [`FactorRow`].
pub const FACTORS: [&str; 24] = [
    "ret_1",
    "ret_5",
    "ret_20",
    "mom_60",
    "pressure",
    "range_pos_20",
    "fomo",
    "dev_ma5",
    "dev_ma20",
    "dev_ma60",
    "vol_20",
    "vol_60",
    "amplitude",
    "amplitude_20",
    "rsi_14",
    "macd_dif",
    "macd_dea",
    "macd_hist",
    "boll_pos",
    "boll_width",
    "atr_14",
    "volume_ratio_5",
    "volume_trend",
    "gap",
];

/// What each factor measures, for reports and the UI.
pub const DESCRIPTIONS: [&str; 24] = [
    "1-day return: close / previous close − 1",
    "5-day return",
    "20-day return",
    "60-day momentum",
    "selling pressure: (high − close) / (high − low), 1 = closed at the low",
    "position in the 20-day range: (close − lowest low) / (highest high − lowest low)",
    "FOMO: 1-day return × volume / 20-day average volume (chasing on heavy volume)",
    "deviation from MA5: close / MA5 − 1",
    "deviation from MA20: close / MA20 − 1",
    "deviation from MA60: close / MA60 − 1",
    "20-day volatility of daily returns (not annualised)",
    "60-day volatility of daily returns",
    "amplitude: (high − low) / previous close",
    "20-day average amplitude",
    "RSI(14), Wilder's smoothing, 0–100",
    "MACD DIF: (EMA12 − EMA26) / close",
    "MACD DEA: EMA9 of DIF",
    "MACD histogram: 2 × (DIF − DEA)",
    "Bollinger position: (close − MA20) / (2 × std20); ±1 at the bands",
    "Bollinger width: 4 × std20 / MA20",
    "ATR(14) / close",
    "volume / 5-day average volume (the previous five days)",
    "volume trend: ln(MA5 volume / MA20 volume)",
    "opening gap: open / previous close − 1",
];

pub type FactorRow = [f64; 24];

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

fn std(xs: &[f64]) -> f64 {
    let m = mean(xs);
    (xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / xs.len() as f64).sqrt()
}

/// `f(window)` over the last `n` values ending at each index; `NaN` before that.
fn rolling(xs: &[f64], n: usize, f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    (0..xs.len())
        .map(|i| {
            if i + 1 < n {
                return f64::NAN;
            }
            let w = &xs[i + 1 - n..=i];
            if w.iter().any(|x| x.is_nan()) {
                f64::NAN
            } else {
                f(w)
            }
        })
        .collect()
}

/// Exponential moving average with `alpha = 2 / (n + 1)`, seeded with the first value.
fn ema(xs: &[f64], n: usize) -> Vec<f64> {
    let alpha = 2.0 / (n as f64 + 1.0);
    let mut out = Vec::with_capacity(xs.len());
    let mut e = f64::NAN;
    for &x in xs {
        e = if e.is_nan() {
            x
        } else {
            alpha * x + (1.0 - alpha) * e
        };
        out.push(e);
    }
    out
}

/// Wilder's RSI over `n` bars; `NaN` for the first `n` bars.
fn rsi(close: &[f64], n: usize) -> Vec<f64> {
    let mut out = vec![f64::NAN; close.len()];
    if close.len() <= n {
        return out;
    }
    let (mut gain, mut loss) = (0.0, 0.0);
    for i in 1..=n {
        let d = close[i] - close[i - 1];
        gain += d.max(0.0);
        loss += (-d).max(0.0);
    }
    gain /= n as f64;
    loss /= n as f64;
    let value = |g: f64, l: f64| {
        if g + l == 0.0 {
            50.0
        } else {
            100.0 * g / (g + l)
        }
    };
    out[n] = value(gain, loss);
    for i in n + 1..close.len() {
        let d = close[i] - close[i - 1];
        gain = (gain * (n as f64 - 1.0) + d.max(0.0)) / n as f64;
        loss = (loss * (n as f64 - 1.0) + (-d).max(0.0)) / n as f64;
        out[i] = value(gain, loss);
    }
    out
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 || !a.is_finite() || !b.is_finite() {
        f64::NAN
    } else {
        a / b
    }
}

/// Every factor for every bar of one series (ascending bars).
pub fn factor_rows(bars: &[Bar]) -> Vec<FactorRow> {
    let n = bars.len();
    let close: Vec<f64> = bars.iter().map(|b| b.close).collect();
    let volume: Vec<f64> = bars.iter().map(|b| b.volume).collect();
    let prev = |i: usize| if i == 0 { f64::NAN } else { close[i - 1] };
    let ret: Vec<f64> = (0..n).map(|i| ratio(close[i], prev(i)) - 1.0).collect();
    let back = |i: usize, k: usize| {
        if i >= k {
            ratio(close[i], close[i - k]) - 1.0
        } else {
            f64::NAN
        }
    };
    let ma = |k: usize| rolling(&close, k, mean);
    let (ma5, ma20, ma60) = (ma(5), ma(20), ma(60));
    let sd20 = rolling(&close, 20, std);
    let vol20 = rolling(&ret, 20, std);
    let vol60 = rolling(&ret, 60, std);
    let vma5 = rolling(&volume, 5, mean);
    let vma20 = rolling(&volume, 20, mean);
    let amplitude: Vec<f64> = (0..n)
        .map(|i| ratio(bars[i].high - bars[i].low, prev(i)))
        .collect();
    let amp20 = rolling(&amplitude, 20, mean);
    let hi20 = rolling(&bars.iter().map(|b| b.high).collect::<Vec<_>>(), 20, |w| {
        w.iter().copied().fold(f64::MIN, f64::max)
    });
    let lo20 = rolling(&bars.iter().map(|b| b.low).collect::<Vec<_>>(), 20, |w| {
        w.iter().copied().fold(f64::MAX, f64::min)
    });
    let rsi14 = rsi(&close, 14);
    let (e12, e26) = (ema(&close, 12), ema(&close, 26));
    let dif: Vec<f64> = (0..n)
        .map(|i| {
            if i + 1 < 26 {
                f64::NAN
            } else {
                ratio(e12[i] - e26[i], close[i])
            }
        })
        .collect();
    let dea = {
        let first = dif.iter().position(|x| !x.is_nan()).unwrap_or(n);
        let mut out = vec![f64::NAN; n];
        let tail = ema(&dif[first..], 9);
        for (k, v) in tail.into_iter().enumerate() {
            // Warm the signal line for nine bars before reporting it.
            if k >= 8 {
                out[first + k] = v;
            }
        }
        out
    };
    let tr: Vec<f64> = (0..n)
        .map(|i| {
            let b = &bars[i];
            let p = prev(i);
            if p.is_nan() {
                f64::NAN
            } else {
                (b.high - b.low)
                    .max((b.high - p).abs())
                    .max((b.low - p).abs())
            }
        })
        .collect();
    let atr14 = rolling(&tr, 14, mean);
    (0..n)
        .map(|i| {
            let b = &bars[i];
            let vma5_prev = if i >= 1 { vma5[i - 1] } else { f64::NAN };
            [
                ret[i],
                back(i, 5),
                back(i, 20),
                back(i, 60),
                if b.high > b.low {
                    (b.high - b.close) / (b.high - b.low)
                } else {
                    0.5
                },
                ratio(b.close - lo20[i], hi20[i] - lo20[i]),
                ret[i] * ratio(volume[i], vma20[i]),
                ratio(close[i], ma5[i]) - 1.0,
                ratio(close[i], ma20[i]) - 1.0,
                ratio(close[i], ma60[i]) - 1.0,
                vol20[i],
                vol60[i],
                amplitude[i],
                amp20[i],
                rsi14[i],
                dif[i],
                dea[i],
                2.0 * (dif[i] - dea[i]),
                ratio(close[i] - ma20[i], 2.0 * sd20[i]),
                ratio(4.0 * sd20[i], ma20[i]),
                ratio(atr14[i], close[i]),
                ratio(volume[i], vma5_prev),
                ratio(vma5[i], vma20[i]).ln(),
                ratio(b.open, prev(i)) - 1.0,
            ]
            .map(|x| if x.is_finite() { x } else { f64::NAN })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn bars(closes: &[f64]) -> Vec<Bar> {
        let d0 = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        closes
            .iter()
            .enumerate()
            .map(|(i, &c)| Bar {
                ts: (d0 + chrono::Days::new(i as u64))
                    .and_hms_opt(0, 0, 0)
                    .unwrap(),
                open: c * 0.99,
                high: c * 1.02,
                low: c * 0.97,
                close: c,
                volume: 1000.0 + 100.0 * i as f64,
                amount: None,
            })
            .collect()
    }

    fn col(name: &str) -> usize {
        FACTORS.iter().position(|f| *f == name).unwrap()
    }

    #[test]
    fn hand_computed_values() {
        let closes: Vec<f64> = (0..80).map(|i| 10.0 + i as f64 * 0.1).collect();
        let b = bars(&closes);
        let rows = factor_rows(&b);
        let last = rows[79];
        let c = &closes;
        let close = |i: usize| c[i];
        assert!((last[col("ret_1")] - (close(79) / close(78) - 1.0)).abs() < 1e-12);
        assert!((last[col("ret_5")] - (close(79) / close(74) - 1.0)).abs() < 1e-12);
        assert!((last[col("mom_60")] - (close(79) / close(19) - 1.0)).abs() < 1e-12);
        // high = 1.02c, low = 0.97c: pressure (0.02) / (0.05) = 0.4.
        assert!((last[col("pressure")] - 0.4).abs() < 1e-12);
        // amplitude = 0.05 c_t / c_{t-1}.
        assert!((last[col("amplitude")] - 0.05 * close(79) / close(78)).abs() < 1e-12);
        let ma20 = c[60..80].iter().sum::<f64>() / 20.0;
        assert!((last[col("dev_ma20")] - (close(79) / ma20 - 1.0)).abs() < 1e-12);
        // A steady rise: RSI is 100, the close sits near the top of its range.
        assert!((last[col("rsi_14")] - 100.0).abs() < 1e-9);
        let lo = c[60..80].iter().map(|x| x * 0.97).fold(f64::MAX, f64::min);
        let hi = c[60..80].iter().map(|x| x * 1.02).fold(f64::MIN, f64::max);
        assert!((last[col("range_pos_20")] - (close(79) - lo) / (hi - lo)).abs() < 1e-12);
        // Gap: open at 0.99 of today's close over yesterday's close.
        assert!((last[col("gap")] - (0.99 * close(79) / close(78) - 1.0)).abs() < 1e-12);
        // volume ratio: 8900 / mean(8400..8800).
        assert!((last[col("volume_ratio_5")] - 8900.0 / 8600.0).abs() < 1e-12);
        assert!(last[col("macd_dif")] > 0.0);
    }

    #[test]
    fn no_look_ahead_and_warm_up() {
        let closes: Vec<f64> = (0..120)
            .map(|i| 10.0 + (i as f64 * 0.3).sin() + i as f64 * 0.01)
            .collect();
        let b = bars(&closes);
        let full = factor_rows(&b);
        // Values on bar t do not change when later bars are added.
        for t in [30, 61, 90] {
            let cut = factor_rows(&b[..=t]);
            for k in 0..24 {
                let (x, y) = (full[t][k], cut[t][k]);
                assert!(
                    (x.is_nan() && y.is_nan()) || (x - y).abs() < 1e-12,
                    "{} at {t}",
                    FACTORS[k]
                );
            }
        }
        assert!(full[0][col("ret_1")].is_nan());
        assert!(full[58][col("mom_60")].is_nan());
        assert!(!full[60][col("mom_60")].is_nan());
        // From bar 60 on, every factor is defined.
        assert!(full[60..].iter().all(|r| r.iter().all(|x| x.is_finite())));
    }
}

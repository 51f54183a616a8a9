//! Recalibration that never looks ahead. At each as-of date only rows whose outcome was
//! already known (its close `horizon` bars later is on or before that date) are used: the
//! newest `window` of them fit an isotonic map of P(up) to the observed share of ups, and a
//! conformal shift of the q10–q90 band (the 80 % quantile of how far outcomes fell outside
//! it). Dates with fewer than `min_known` known rows stay as they were and are not scored:
//! the report compares before and after on the same held-out rows.

use serde::{Deserialize, Serialize};

use super::evaluate::{Observed, ReliabilityBin, probability};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CalibrationOptions {
    /// Known rows used at each date, newest first.
    pub window: usize,
    /// Known rows needed before a date is recalibrated (and scored).
    pub min_known: usize,
}

impl Default for CalibrationOptions {
    fn default() -> Self {
        CalibrationOptions {
            window: 2000,
            min_known: 100,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub options: CalibrationOptions,
    /// Rows on dates that had enough known past to recalibrate.
    pub held_out_rows: usize,
    pub held_out_dates: usize,
    pub brier_before: f64,
    pub brier_after: f64,
    pub brier_base_rate: f64,
    pub reliability_after: Vec<ReliabilityBin>,
    pub coverage_before: Option<f64>,
    pub coverage_after: Option<f64>,
}

/// Pool-adjacent-violators: the non-decreasing fit of `y` on sorted `x`, as (x, fitted) knots.
pub fn isotonic(points: &mut [(f64, f64)]) -> Vec<(f64, f64)> {
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Blocks of (sum y, count, last x).
    let mut blocks: Vec<(f64, f64, f64, f64)> = Vec::new(); // (sum, n, first x, last x)
    for &(x, y) in points.iter() {
        blocks.push((y, 1.0, x, x));
        while blocks.len() >= 2 {
            let k = blocks.len();
            let (a, b) = (blocks[k - 2], blocks[k - 1]);
            if a.0 / a.1 > b.0 / b.1 {
                blocks[k - 2] = (a.0 + b.0, a.1 + b.1, a.2, b.3);
                blocks.pop();
            } else {
                break;
            }
        }
    }
    let mut knots = Vec::with_capacity(blocks.len() * 2);
    for (s, n, x0, x1) in blocks {
        knots.push((x0, s / n));
        if x1 > x0 {
            knots.push((x1, s / n));
        }
    }
    knots
}

/// The isotonic map at `x`: linear between knots, flat beyond them.
pub fn apply(knots: &[(f64, f64)], x: f64) -> f64 {
    let Some(first) = knots.first() else { return x };
    if x <= first.0 {
        return first.1;
    }
    for w in knots.windows(2) {
        let (a, b) = (w[0], w[1]);
        if x <= b.0 {
            return if b.0 > a.0 {
                a.1 + (b.1 - a.1) * (x - a.0) / (b.0 - a.0)
            } else {
                b.1
            };
        }
    }
    knots.last().expect("non-empty").1
}

/// The conformal quantile: the ⌈(n+1)·0.8⌉-th smallest score.
fn conformal_shift(scores: &mut [f64]) -> f64 {
    scores.sort_by(f64::total_cmp);
    let n = scores.len();
    let k = (((n + 1) as f64) * 0.8).ceil() as usize;
    scores[k.clamp(1, n) - 1]
}

pub fn calibrate(obs: &[Observed], o: &CalibrationOptions) -> Calibration {
    let mut order: Vec<usize> = (0..obs.len()).collect();
    order.sort_by_key(|&i| (obs[i].as_of, obs[i].symbol.clone()));
    let mut by_known: Vec<usize> = (0..obs.len()).collect();
    by_known.sort_by_key(|&i| obs[i].known_on);

    let (mut p_before, mut p_after, mut up) = (Vec::new(), Vec::new(), Vec::new());
    let (mut in_before, mut in_after, mut banded) = (0usize, 0usize, 0usize);
    let mut dates = 0usize;
    let mut i = 0;
    while i < order.len() {
        let day = obs[order[i]].as_of;
        let mut j = i;
        while j < order.len() && obs[order[j]].as_of == day {
            j += 1;
        }
        // Rows known at this date's close: known_on ≤ day.
        let known_end = by_known.partition_point(|&k| obs[k].known_on <= day);
        let known = &by_known[known_end.saturating_sub(o.window)..known_end];
        if known.len() >= o.min_known {
            dates += 1;
            let mut pts: Vec<(f64, f64)> = known
                .iter()
                .map(|&k| {
                    (
                        obs[k].p_up,
                        f64::from(u8::from(obs[k].forward_return > 0.0)),
                    )
                })
                .collect();
            let knots = isotonic(&mut pts);
            let mut scores: Vec<f64> = known
                .iter()
                .filter_map(|&k| {
                    obs[k].band.map(|(lo, hi)| {
                        (lo - obs[k].forward_return).max(obs[k].forward_return - hi)
                    })
                })
                .collect();
            let shift = (!scores.is_empty()).then(|| conformal_shift(&mut scores));
            for &r in &order[i..j] {
                let x = &obs[r];
                p_before.push(x.p_up);
                p_after.push(apply(&knots, x.p_up));
                up.push(x.forward_return > 0.0);
                if let (Some((lo, hi)), Some(q)) = (x.band, shift) {
                    banded += 1;
                    let y = x.forward_return;
                    in_before += usize::from(y >= lo && y <= hi);
                    in_after += usize::from(y >= lo - q && y <= hi + q);
                }
            }
        }
        i = j;
    }
    let before = probability(&p_before, &up);
    let after = probability(&p_after, &up);
    let share = |k: usize| (banded > 0).then(|| k as f64 / banded as f64);
    Calibration {
        options: *o,
        held_out_rows: up.len(),
        held_out_dates: dates,
        brier_before: before.brier,
        brier_after: after.brier,
        brier_base_rate: before.brier_base_rate,
        reliability_after: after.reliability,
        coverage_before: share(in_before),
        coverage_after: share(in_after),
    }
}

/// The calibration as a person reads it.
pub fn table(c: &Calibration) -> String {
    let f = |x: f64| {
        if x.is_finite() {
            format!("{x:.4}")
        } else {
            "-".into()
        }
    };
    let p = |x: Option<f64>| x.map_or("-".into(), |x| format!("{:.1} %", x * 100.0));
    format!(
        "\nrecalibrated on each date's known past ({} held-out rows on {} dates, window {}, at least {} known):\n  Brier {} -> {} (base rate {})\n  q10–q90 coverage {} -> {}\n",
        c.held_out_rows,
        c.held_out_dates,
        c.options.window,
        c.options.min_known,
        f(c.brier_before),
        f(c.brier_after),
        f(c.brier_base_rate),
        p(c.coverage_before),
        p(c.coverage_after)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isotonic_pools_violators() {
        let mut pts = vec![(0.1, 0.0), (0.2, 1.0), (0.3, 0.0), (0.4, 1.0)];
        let k = isotonic(&mut pts);
        assert_eq!(apply(&k, 0.1), 0.0);
        assert_eq!(apply(&k, 0.25), 0.5);
        assert_eq!(apply(&k, 0.4), 1.0);
        assert_eq!(apply(&k, 0.9), 1.0);
        // Fitted values never decrease.
        assert!(k.windows(2).all(|w| w[0].1 <= w[1].1));
    }

    #[test]
    fn the_conformal_shift_covers_eighty_percent() {
        let mut s: Vec<f64> = (1..=9).map(f64::from).collect();
        assert_eq!(conformal_shift(&mut s), 8.0);
    }
}

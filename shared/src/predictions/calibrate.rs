//! Recalibration that never looks ahead. At each as-of date only rows whose outcome was
//! already known (its close `horizon` bars later is on or before that date) are used: the
//! newest `window` of them fit an isotonic map of P(up) to the observed share of ups, and a
//! conformal shift of the q10–q90 band (the 80 % quantile of how far outcomes fell outside
//! it). Dates with fewer than `min_known` known rows stay as they were and are not scored:
//! the report compares before and after on the same held-out rows.
//!
//! A model without skill would be made worse by any map fitted to its noise, so at each date
//! the map must first earn its place: fitted on the older two thirds of the known rows, it must
//! beat their base rate on the newest third by more than one standard error (both known at
//! the date, and that third at least [`MIN_CHECK_ROWS`] rows). Where it does not, the date's P(up) is the known base rate: never
//! worse than having no model.

use serde::{Deserialize, Serialize};

use super::evaluate::{Observed, ReliabilityBin, probability};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CalibrationOptions {
    /// Known rows used at each date, newest first.
    pub window: usize,
    /// Known rows needed before a date is recalibrated (and scored).
    pub min_known: usize,
    /// Pseudo-rows of the known base rate added to every isotonic block: a block of few rows
    /// leans towards the base rate instead of to 0 or 1.
    pub shrink: usize,
}

impl Default for CalibrationOptions {
    fn default() -> Self {
        CalibrationOptions {
            window: 2000,
            min_known: 100,
            shrink: 50,
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
    /// The held-out rows' own share of ups as a constant forecast (known only afterwards).
    pub brier_base_rate: f64,
    /// The share of ups among each date's known rows as the forecast: the honest no-skill bar.
    pub brier_past_base_rate: f64,
    pub reliability_after: Vec<ReliabilityBin>,
    /// Held-out dates whose P(up) is the known base rate, the isotonic map having failed its
    /// check on the known past.
    #[serde(default)]
    pub dates_on_base_rate: usize,
    pub coverage_before: Option<f64>,
    pub coverage_after: Option<f64>,
}

/// Pool-adjacent-violators: the non-decreasing fit of `y` on sorted `x`, as (x, fitted) knots;
/// each block's mean gets `shrink` pseudo-points at `prior`.
pub fn isotonic(points: &mut [(f64, f64)], prior: f64, shrink: f64) -> Vec<(f64, f64)> {
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
        let fit = (s + shrink * prior) / (n + shrink);
        knots.push((x0, fit));
        if x1 > x0 {
            knots.push((x1, fit));
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

/// One row recalibrated from what was known at its date.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recalibrated {
    pub p_up: f64,
    /// The band after the conformal shift (Kronos rows).
    pub band: Option<(f64, f64)>,
    /// The known rows' share of ups at the row's date.
    pub past_base_rate: f64,
    /// Whether P(up) is that base rate (the map failed its check).
    pub on_base_rate: bool,
}

/// Known rows the map is checked on, at least: with fewer, the base rate stands.
pub const MIN_CHECK_ROWS: usize = 100;

/// Whether the isotonic map beats the base rate on the known rows themselves: fitted on the
/// older two thirds (`known` is in the order outcomes became known), scored on the rest, where
/// its Brier score must undercut the base rate's by more than one standard error.
fn map_earns_its_place(known: &[(f64, f64)], shrink: f64) -> bool {
    let split = known.len() * 2 / 3;
    let (old, new) = known.split_at(split);
    // Fewer checks than this and a map of noise passes by luck too often.
    if new.len() < MIN_CHECK_ROWS {
        return false;
    }
    let prior = old.iter().map(|p| p.1).sum::<f64>() / old.len() as f64;
    let knots = isotonic(&mut old.to_vec(), prior, shrink);
    // Per row, how much the map's squared error undercuts the base rate's; the map must win
    // by more than one standard error of the mean, not by luck.
    let gains: Vec<f64> = new
        .iter()
        .map(|&(x, y)| (prior - y).powi(2) - (apply(&knots, x) - y).powi(2))
        .collect();
    let n = gains.len() as f64;
    let mean = gains.iter().sum::<f64>() / n;
    let sd = crate::backtest::metrics::sample_std(&gains);
    mean > sd / n.sqrt()
}

/// Each row recalibrated on the rows whose outcome was known at its date's close; `None`
/// where fewer than `min_known` were (the row stays as it was and is not held out).
pub fn recalibrate(obs: &[Observed], o: &CalibrationOptions) -> Vec<Option<Recalibrated>> {
    let mut order: Vec<usize> = (0..obs.len()).collect();
    order.sort_by_key(|&i| obs[i].as_of);
    let mut by_known: Vec<usize> = (0..obs.len()).collect();
    by_known.sort_by_key(|&i| (obs[i].known_on, obs[i].as_of, obs[i].symbol.clone()));
    let mut out = vec![None; obs.len()];
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
            let mut pts: Vec<(f64, f64)> = known
                .iter()
                .map(|&k| {
                    (
                        obs[k].p_up,
                        f64::from(u8::from(obs[k].forward_return > 0.0)),
                    )
                })
                .collect();
            let prior = pts.iter().map(|p| p.1).sum::<f64>() / pts.len() as f64;
            let on_base_rate = !map_earns_its_place(&pts, o.shrink as f64);
            let knots = isotonic(&mut pts, prior, o.shrink as f64);
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
                out[r] = Some(Recalibrated {
                    p_up: if on_base_rate {
                        prior
                    } else {
                        apply(&knots, x.p_up)
                    },
                    band: x.band.zip(shift).map(|((lo, hi), q)| (lo - q, hi + q)),
                    past_base_rate: prior,
                    on_base_rate,
                });
            }
        }
        i = j;
    }
    out
}

pub fn calibrate(obs: &[Observed], o: &CalibrationOptions) -> Calibration {
    let cal = recalibrate(obs, o);
    let (mut p_before, mut p_after, mut p_past, mut up) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut in_before, mut in_after, mut banded) = (0usize, 0usize, 0usize);
    let mut dates = std::collections::BTreeSet::new();
    let mut base_dates = std::collections::BTreeSet::new();
    for (x, c) in obs.iter().zip(&cal) {
        let Some(c) = c else { continue };
        dates.insert(x.as_of);
        if c.on_base_rate {
            base_dates.insert(x.as_of);
        }
        p_before.push(x.p_up);
        p_after.push(c.p_up);
        p_past.push(c.past_base_rate);
        up.push(x.forward_return > 0.0);
        if let (Some((lo, hi)), Some((lo2, hi2))) = (x.band, c.band) {
            banded += 1;
            let y = x.forward_return;
            in_before += usize::from(y >= lo && y <= hi);
            in_after += usize::from(y >= lo2 && y <= hi2);
        }
    }
    let before = probability(&p_before, &up);
    let after = probability(&p_after, &up);
    let past = probability(&p_past, &up);
    let share = |k: usize| (banded > 0).then(|| k as f64 / banded as f64);
    Calibration {
        options: *o,
        held_out_rows: up.len(),
        held_out_dates: dates.len(),
        brier_before: before.brier,
        brier_after: after.brier,
        brier_base_rate: before.brier_base_rate,
        brier_past_base_rate: past.brier,
        reliability_after: after.reliability,
        dates_on_base_rate: base_dates.len(),
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
        "\nrecalibrated on each date's known past ({} held-out rows on {} dates, window {}, at least {} known, {} pseudo-rows):\n  Brier {} -> {} (the past base rate as the forecast: {}; the held-out rows' own base rate: {})\n  on {} of the {} dates the isotonic map did not beat the base rate on the known past, so P(up) is that base rate there\n  q10–q90 coverage {} -> {}\n",
        c.held_out_rows,
        c.held_out_dates,
        c.options.window,
        c.options.min_known,
        c.options.shrink,
        f(c.brier_before),
        f(c.brier_after),
        f(c.brier_past_base_rate),
        f(c.brier_base_rate),
        c.dates_on_base_rate,
        c.held_out_dates,
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
        let k = isotonic(&mut pts, 0.5, 0.0);
        assert_eq!(apply(&k, 0.1), 0.0);
        assert_eq!(apply(&k, 0.25), 0.5);
        assert_eq!(apply(&k, 0.4), 1.0);
        assert_eq!(apply(&k, 0.9), 1.0);
        // Fitted values never decrease; pseudo-points pull small blocks to the prior.
        assert!(k.windows(2).all(|w| w[0].1 <= w[1].1));
        let shrunk = isotonic(&mut pts, 0.5, 2.0);
        assert_eq!(apply(&shrunk, 0.1), 1.0 / 3.0);
    }

    fn obs(day: u32, known_after: u32, p: f64, y: f64) -> Observed {
        let d =
            chrono::NaiveDate::from_ymd_opt(2023, 1, 1).unwrap() + chrono::Days::new(day.into());
        Observed {
            symbol: format!("{:06}.SZ", day % 7),
            as_of: d,
            known_on: d + chrono::Days::new(known_after.into()),
            forward_return: y,
            score: p,
            p_up: p,
            exp_return: Some(y),
            band: Some((-0.01, 0.01)),
            q50: Some(0.0),
            path_returns: Vec::new(),
            momentum_20: 0.0,
            reversal_5: 0.0,
            rw_sigma: 0.02,
        }
    }

    /// Changing every outcome learned after a day changes nothing recalibrated up to it.
    #[test]
    fn no_outcome_unknown_at_a_date_is_used_there() {
        let make = |late: f64| -> Vec<Observed> {
            (0..200)
                .map(|i| {
                    let y = if i >= 120 {
                        late
                    } else if i % 3 == 0 {
                        0.02
                    } else {
                        -0.015
                    };
                    obs(i, 5, (i % 10) as f64 / 10.0, y)
                })
                .collect()
        };
        let o = CalibrationOptions {
            window: 50,
            min_known: 20,
            shrink: 5,
        };
        let (a, b) = (recalibrate(&make(0.5), &o), recalibrate(&make(-0.5), &o));
        // Rows dated up to day 124 only know outcomes learned by then (rows up to day 119).
        assert!(a[..125].iter().any(Option::is_some));
        assert_eq!(a[..125], b[..125]);
        assert_ne!(a[130..], b[130..]);
        // Too little known at first: nothing recalibrated.
        assert!(a[..20].iter().all(Option::is_none));
    }

    /// A model whose P(up) runs against the outcomes is not bent into a worse forecast: its
    /// recalibrated Brier is the known base rate's. A model with skill keeps its map, and beats
    /// the base rate.
    #[test]
    fn a_map_is_used_only_where_it_beats_the_base_rate_on_the_known_past() {
        let mut x = 11u64;
        let mut uniform = move || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let o = CalibrationOptions {
            window: 400,
            min_known: 100,
            shrink: 20,
        };
        for skill in [-0.15, 0.0, 0.6] {
            let rows: Vec<Observed> = (0..1500)
                .map(|i| {
                    let p = uniform();
                    // P(up) = 0.5 + skill · (p − 0.5): anti-skill, none, or real skill.
                    let up = uniform() < 0.5 + skill * (p - 0.5);
                    obs(i / 5, 3, p, if up { 0.01 } else { -0.01 })
                })
                .collect();
            let c = calibrate(&rows, &o);
            assert!(c.held_out_rows > 1000);
            if skill > 0.0 {
                assert!(
                    c.brier_after < c.brier_past_base_rate - 0.005,
                    "skill {skill}: {c:?}"
                );
                assert!(c.dates_on_base_rate < c.held_out_dates / 4, "{c:?}");
            } else {
                assert!(
                    c.brier_after <= c.brier_past_base_rate + 0.002,
                    "skill {skill}: {c:?}"
                );
                assert!(c.dates_on_base_rate > c.held_out_dates / 2, "{c:?}");
            }
        }
    }

    #[test]
    fn the_conformal_shift_covers_eighty_percent() {
        let mut s: Vec<f64> = (1..=9).map(f64::from).collect();
        assert_eq!(conformal_shift(&mut s), 8.0);
    }
}

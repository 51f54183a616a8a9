//! How a zoo model is scored on held-out days: for classes, EquiNet's metrics with EquiNet's
//! definitions (and ours beside them under other names), Brier and reliability, and the cost
//! of its decisions; for numbers, MAE, direction accuracy and rank IC.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::features::classify::{
    Decision, ReliabilityBin, extreme_threshold, ratio, reliability_bins,
};
use crate::features::ic::spearman;

/// Index of "up" in every classification part; the down classes are 1 and, in updown4, 3.
pub const UP: usize = 0;

/// The default `cost[true][called]` of an `n`-class part. Buying into a fall costs twice any
/// other mistake (EquiNet's asymmetric penalty), and into a strong fall more still.
pub fn default_cost(n: usize) -> Vec<Vec<f64>> {
    match n {
        2 => vec![vec![0.0, 1.0], vec![2.0, 0.0]],
        4 => vec![
            vec![0.0, 2.0, 1.0, 2.0],
            vec![4.0, 0.0, 1.0, 1.0],
            vec![1.0, 1.0, 0.0, 1.0],
            vec![6.0, 1.0, 2.0, 0.0],
        ],
        _ => vec![
            vec![0.0, 2.0, 1.0],
            vec![4.0, 0.0, 1.0],
            vec![1.0, 1.0, 0.0],
        ],
    }
}

/// The class that stands aside: flat where there is one, else "down" (do not buy).
pub fn stand_aside(n: usize) -> usize {
    if n >= 3 { 2 } else { 1 }
}

fn is_down(n: usize, class: usize) -> bool {
    class == 1 || (n == 4 && class == 3)
}

/// The call of `p` under `rule`: least expected cost under `cost`, or (lift) up when P(up)
/// is at least `lift` times its base rate and rates above every down class, a down class
/// likewise, else standing aside.
pub fn decide(p: &[f64], rule: Decision, base: &[f64], cost: &[Vec<f64>]) -> usize {
    let n = p.len();
    match rule {
        Decision::Cost => {
            let expected = |k: usize| (0..n).map(|t| p[t] * cost[t][k]).sum::<f64>();
            (0..n)
                .min_by(|&a, &b| expected(a).total_cmp(&expected(b)))
                .unwrap_or(stand_aside(n))
        }
        Decision::Lift { lift } => {
            let ratio = |k: usize| p[k] / base[k].max(1e-9);
            let best = (0..n)
                .filter(|&k| k == UP || is_down(n, k))
                .max_by(|&a, &b| ratio(a).total_cmp(&ratio(b)))
                .unwrap_or(UP);
            if ratio(best) >= lift {
                best
            } else {
                stand_aside(n)
            }
        }
    }
}

/// One held-out sample of a classification part.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassSample {
    pub p: Vec<f64>,
    pub class: usize,
    pub forward_return: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    pub samples: usize,
    pub classes: Vec<String>,
    #[serde(deserialize_with = "crate::json_nan::f64s_or_nan")]
    pub class_share: Vec<f64>,
    #[serde(deserialize_with = "crate::json_nan::f64_or_nan")]
    pub accuracy: f64,
    /// `confusion[true][called]`.
    pub confusion: Vec<Vec<usize>>,
    /// EquiNet: rises called up over all rises.
    #[serde(deserialize_with = "crate::json_nan::f64_or_nan")]
    pub up_recall: f64,
    /// EquiNet: falls called up over all falls.
    #[serde(deserialize_with = "crate::json_nan::f64_or_nan")]
    pub down_misjudge: f64,
    /// EquiNet: of the samples with the top 5 % of forward returns, the share called up.
    #[serde(deserialize_with = "crate::json_nan::f64_or_nan")]
    pub extreme_up_capture: f64,
    /// Ours: of the up calls, the share that fell.
    #[serde(deserialize_with = "crate::json_nan::f64_or_nan")]
    pub up_calls_fell: f64,
    /// Ours: of the moves of at least twice the up threshold, the share called up.
    #[serde(deserialize_with = "crate::json_nan::f64_or_nan")]
    pub double_up_capture: f64,
    pub up_calls: usize,
    /// Up calls whose forward return was above zero.
    pub up_calls_rose: usize,
    /// Multi-class Brier, `mean Σ_k (p_k − y_k)²`.
    #[serde(deserialize_with = "crate::json_nan::f64_or_nan")]
    pub brier: f64,
    /// Brier of always predicting the training class frequencies.
    #[serde(deserialize_with = "crate::json_nan::f64_or_nan")]
    pub brier_baseline: f64,
    #[serde(deserialize_with = "crate::json_nan::f64_or_nan")]
    pub brier_skill: f64,
    #[serde(deserialize_with = "crate::json_nan::f64_or_nan")]
    pub log_loss: f64,
    /// Mean cost per decision, and that of always standing aside (calling flat).
    #[serde(deserialize_with = "crate::json_nan::f64_or_nan")]
    pub mean_cost: f64,
    #[serde(deserialize_with = "crate::json_nan::f64_or_nan")]
    pub mean_cost_stand_aside: f64,
    /// The 积分制 score: `mean_cost_stand_aside − mean_cost` (above 0 beats standing aside).
    #[serde(deserialize_with = "crate::json_nan::f64_or_nan")]
    pub points: f64,
    /// The rule the calls were made by.
    pub decision: Decision,
    pub reliability_up: Vec<ReliabilityBin>,
}

/// Every classification metric of `samples`, deciding by least expected cost.
pub fn class_metrics(
    samples: &[ClassSample],
    names: &[&str],
    base_freq: &[f64],
    cost: &[Vec<f64>],
    rule: Decision,
    up_threshold: f64,
) -> ClassMetrics {
    let n = names.len();
    let count = samples.len().max(1) as f64;
    let mut confusion = vec![vec![0usize; n]; n];
    let (mut brier, mut brier0, mut ll, mut cost_sum, mut aside) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut double, mut double_hit, mut rose) = (0, 0, 0);
    let top = extreme_threshold(samples.iter().map(|s| s.forward_return));
    let (mut extreme, mut extreme_hit) = (0, 0);
    for s in samples {
        let call = decide(&s.p, rule, base_freq, cost);
        confusion[s.class][call] += 1;
        for (k, (p, f)) in s.p.iter().zip(base_freq).enumerate() {
            let y = (s.class == k) as u8 as f64;
            brier += (p - y).powi(2);
            brier0 += (f - y).powi(2);
        }
        ll -= s.p[s.class].max(1e-12).ln();
        cost_sum += cost[s.class][call];
        aside += cost[s.class][stand_aside(n)];
        if call == UP && s.forward_return > 0.0 {
            rose += 1;
        }
        if s.forward_return >= 2.0 * up_threshold {
            double += 1;
            double_hit += (call == UP) as usize;
        }
        if s.forward_return >= top {
            extreme += 1;
            extreme_hit += (call == UP) as usize;
        }
    }
    let row = |k: usize| confusion[k].iter().sum::<usize>();
    let up_calls = (0..n).map(|t| confusion[t][UP]).sum::<usize>();
    let downs: usize = (0..n).filter(|&k| is_down(n, k)).map(row).sum();
    let downs_called_up: usize = (0..n)
        .filter(|&k| is_down(n, k))
        .map(|k| confusion[k][UP])
        .sum();
    let up_points: Vec<(f64, bool)> = samples.iter().map(|s| (s.p[UP], s.class == UP)).collect();
    let reliability_up = reliability_bins(&up_points);
    let (brier, brier0) = (brier / count, brier0 / count);
    ClassMetrics {
        samples: samples.len(),
        classes: names.iter().map(|s| s.to_string()).collect(),
        class_share: (0..n).map(|k| row(k) as f64 / count).collect(),
        accuracy: (0..n).map(|k| confusion[k][k]).sum::<usize>() as f64 / count,
        up_recall: ratio(confusion[UP][UP], row(UP)),
        down_misjudge: ratio(downs_called_up, downs),
        extreme_up_capture: ratio(extreme_hit, extreme),
        up_calls_fell: ratio(downs_called_up, up_calls),
        double_up_capture: ratio(double_hit, double),
        up_calls,
        up_calls_rose: rose,
        brier,
        brier_baseline: brier0,
        brier_skill: 1.0 - brier / brier0,
        log_loss: ll / count,
        mean_cost: cost_sum / count,
        mean_cost_stand_aside: aside / count,
        points: (aside - cost_sum) / count,
        decision: rule,
        confusion,
        reliability_up,
    }
}

/// One held-out prediction of a numeric part.
#[derive(Debug, Clone, PartialEq)]
pub struct RealSample {
    pub date: NaiveDate,
    pub predicted: f64,
    pub actual: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealMetrics {
    pub part: String,
    pub samples: usize,
    #[serde(deserialize_with = "crate::json_nan::f64_or_nan")]
    pub mae: f64,
    #[serde(deserialize_with = "crate::json_nan::f64_or_nan")]
    pub rmse: f64,
    /// MAE of always predicting the training mean.
    #[serde(deserialize_with = "crate::json_nan::f64_or_nan")]
    pub mae_baseline: f64,
    /// Share of samples whose predicted sign matches the actual sign (signed parts only).
    pub direction_accuracy: Option<f64>,
    /// Mean over days (with at least 3 stocks) of the rank correlation between predicted
    /// and actual across stocks; pooled over all samples when no day has 3.
    #[serde(deserialize_with = "crate::json_nan::f64_or_nan")]
    pub rank_ic: f64,
    pub ic_days: usize,
}

pub fn real_metrics(
    part: &str,
    samples: &[RealSample],
    train_mean: f64,
    signed: bool,
) -> RealMetrics {
    let n = samples.len().max(1) as f64;
    let mae = samples
        .iter()
        .map(|s| (s.predicted - s.actual).abs())
        .sum::<f64>()
        / n;
    let rmse = (samples
        .iter()
        .map(|s| (s.predicted - s.actual).powi(2))
        .sum::<f64>()
        / n)
        .sqrt();
    let mae_baseline = samples
        .iter()
        .map(|s| (train_mean - s.actual).abs())
        .sum::<f64>()
        / n;
    let direction_accuracy = signed.then(|| {
        samples
            .iter()
            .filter(|s| (s.predicted > 0.0) == (s.actual > 0.0))
            .count() as f64
            / n
    });
    let mut by_day: BTreeMap<NaiveDate, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for s in samples {
        let e = by_day.entry(s.date).or_default();
        e.0.push(s.predicted);
        e.1.push(s.actual);
    }
    let ics: Vec<f64> = by_day
        .values()
        .filter(|(a, _)| a.len() >= 3)
        .map(|(a, b)| spearman(a, b))
        .filter(|x| x.is_finite())
        .collect();
    let rank_ic = if ics.is_empty() {
        let (a, b): (Vec<f64>, Vec<f64>) = samples.iter().map(|s| (s.predicted, s.actual)).unzip();
        spearman(&a, &b)
    } else {
        ics.iter().sum::<f64>() / ics.len() as f64
    };
    RealMetrics {
        part: part.into(),
        samples: samples.len(),
        mae,
        rmse,
        mae_baseline,
        direction_accuracy,
        rank_ic,
        ic_days: ics.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(p: [f64; 3], class: usize, r: f64) -> ClassSample {
        ClassSample {
            p: p.to_vec(),
            class,
            forward_return: r,
        }
    }

    #[test]
    fn equinet_definitions_on_a_hand_built_confusion_matrix() {
        // 20 samples. Rises (class 0): 4, two called up. Falls (class 1): 5, one called up.
        // Flats: 11, one called up. The single largest return (top 5 % of 20 = 1 sample) is
        // a rise that was called up.
        let up = [0.9, 0.05, 0.05];
        let flat = [0.05, 0.05, 0.9];
        let down = [0.05, 0.9, 0.05];
        let mut v = vec![
            s(up, 0, 0.10),
            s(up, 0, 0.04),
            s(flat, 0, 0.05),
            s(flat, 0, 0.035),
            s(up, 1, -0.03),
        ];
        v.extend((0..4).map(|_| s(down, 1, -0.04)));
        v.push(s(up, 2, 0.01));
        v.extend((0..10).map(|_| s(flat, 2, 0.0)));
        let names = UPDOWN3_NAMES;
        let m = class_metrics(
            &v,
            &names,
            &[0.2, 0.25, 0.55],
            &default_cost(3),
            Decision::Cost,
            0.03,
        );
        assert_eq!(
            m.confusion,
            vec![vec![2, 0, 2], vec![1, 4, 0], vec![1, 0, 10]]
        );
        assert_eq!(m.up_recall, 0.5);
        // EquiNet: falls called up / all falls = 1 / 5; ours: falls among up calls = 1 / 4.
        assert_eq!(m.down_misjudge, 0.2);
        assert_eq!(m.up_calls_fell, 0.25);
        assert_eq!(m.extreme_up_capture, 1.0);
        // Ours: moves ≥ 6 %: only the 10 % rise, called up.
        assert_eq!(m.double_up_capture, 1.0);
        assert_eq!(m.up_calls, 4);
        assert_eq!(m.up_calls_rose, 3);
        // Costs: up→flat 1 each (2), down→up 4, flat→up 1: 7 over 20; standing aside:
        // 4 rises + 5 falls = 9 over 20.
        assert!((m.mean_cost - 7.0 / 20.0).abs() < 1e-12);
        assert!((m.mean_cost_stand_aside - 9.0 / 20.0).abs() < 1e-12);
        assert!((m.points - 2.0 / 20.0).abs() < 1e-12);
    }

    const UPDOWN3_NAMES: [&str; 3] = ["up", "down", "flat"];

    #[test]
    fn four_classes_count_strong_falls_as_falls() {
        let p = vec![0.97, 0.01, 0.01, 0.01];
        let v = vec![
            ClassSample {
                p: p.clone(),
                class: 3,
                forward_return: -0.08,
            },
            ClassSample {
                p,
                class: 0,
                forward_return: 0.05,
            },
        ];
        let m = class_metrics(
            &v,
            &["up", "down", "flat", "strong_down"],
            &[0.25; 4],
            &default_cost(4),
            Decision::Cost,
            0.03,
        );
        assert_eq!(m.down_misjudge, 1.0);
        assert_eq!(m.up_calls_fell, 0.5);
    }

    #[test]
    fn the_lift_rule_calls_a_class_well_above_its_base_rate() {
        let base = [0.1, 0.2, 0.7];
        let lift = Decision::Lift { lift: 2.5 };
        let cost = default_cost(3);
        assert_eq!(decide(&[0.3, 0.2, 0.5], lift, &base, &cost), 0);
        assert_eq!(decide(&[0.3, 0.2, 0.5], Decision::Cost, &base, &cost), 2);
        assert_eq!(decide(&[0.2, 0.2, 0.6], lift, &base, &cost), 2);
        assert_eq!(decide(&[0.1, 0.55, 0.35], lift, &base, &cost), 1);
        // Four classes: a strong fall well above its rate is called.
        let base4 = [0.1, 0.15, 0.7, 0.05];
        assert_eq!(
            decide(&[0.1, 0.1, 0.6, 0.2], lift, &base4, &default_cost(4)),
            3
        );
        // Two classes: "down" stands aside.
        assert_eq!(
            decide(
                &[0.55, 0.45],
                Decision::Lift { lift: 1.5 },
                &[0.5, 0.5],
                &default_cost(2)
            ),
            1
        );
    }

    #[test]
    fn numbers_by_hand() {
        let d = |k: u32| NaiveDate::from_ymd_opt(2024, 1, k).unwrap();
        let v: Vec<RealSample> = [(1, 0.1, 0.2), (1, 0.2, 0.3), (1, 0.3, 0.1), (2, -0.1, 0.1)]
            .iter()
            .map(|&(k, p, a)| RealSample {
                date: d(k),
                predicted: p,
                actual: a,
            })
            .collect();
        let m = real_metrics("return", &v, 0.0, true);
        assert!((m.mae - 0.6 / 4.0).abs() < 1e-12);
        assert_eq!(m.direction_accuracy, Some(0.75));
        // Day 1 ranks: predicted 1,2,3; actual 2,3,1 → Spearman 1 − 6·(1+1+4)/(3·8) = −0.5.
        assert!((m.rank_ic + 0.5).abs() < 1e-12);
        assert_eq!(m.ic_days, 1);
    }
}

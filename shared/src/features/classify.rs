//! The up/down/flat classifier's data side (no tensors, so the browser and the trainer share
//! it): the label rule, the per-bar context features, the cost-sensitive decision rule with
//! its confidence gate, and the evaluation metrics.

use crate::Bar;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Class order everywhere: probabilities, labels, the cost matrix's rows and columns.
pub const CLASSES: [&str; 3] = ["up", "down", "flat"];
pub const UP: usize = 0;
pub const DOWN: usize = 1;
pub const FLAT: usize = 2;

/// Context features per bar; see [`context_rows`].
pub const FEATURES: usize = 9;

/// What counts as up and down: the close `horizon` bars after the decision bar against the
/// decision bar's close. EquiNet's rule: up ≥ +3 %, down ≤ −2 % over 3 days, flat otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LabelRule {
    pub horizon: usize,
    pub up: f64,
    pub down: f64,
}

impl Default for LabelRule {
    fn default() -> Self {
        LabelRule {
            horizon: 3,
            up: 0.03,
            down: -0.02,
        }
    }
}

impl LabelRule {
    /// The class of bar `t` and its forward return; `None` without `horizon` bars after it.
    pub fn label(&self, bars: &[Bar], t: usize) -> Option<(usize, f64)> {
        let later = bars.get(t + self.horizon)?;
        let r = later.close / bars[t].close - 1.0;
        if !r.is_finite() {
            return None;
        }
        // A move of exactly the threshold counts (≥ 3 %), whatever the division rounds to.
        let class = if r >= self.up - 1e-12 {
            UP
        } else if r <= self.down + 1e-12 {
            DOWN
        } else {
            FLAT
        };
        Some((class, r))
    }
}

/// A market index's closes by day, the classifier's market features.
#[derive(Debug, Clone, Default)]
pub struct Market {
    close: BTreeMap<NaiveDate, f64>,
}

impl Market {
    pub fn new(bars: &[Bar]) -> Market {
        Market {
            close: bars.iter().map(|b| (b.ts.date(), b.close)).collect(),
        }
    }

    /// The market's last close on or before `day`, and the one before that.
    fn closes(&self, day: NaiveDate) -> Option<(f64, f64)> {
        let mut it = self.close.range(..=day).rev();
        let a = *it.next()?.1;
        let b = *it.next()?.1;
        Some((a, b))
    }
}

const SCALE: f64 = 10.0;
const CLIP: f32 = 5.0;

fn clip(x: f64) -> f32 {
    if x.is_finite() {
        (x as f32).clamp(-CLIP, CLIP)
    } else {
        0.0
    }
}

/// Features of the `len` bars ending at `t` (inclusive), normalised within the context so no
/// later bar leaks in and every stock is on one scale: log prices against the last close
/// (×10), the daily log return (×10), the log volume z-scored over the context, the bar's
/// amplitude (×10), and the market's daily log return and log level against its close on day
/// `t` (×10; zeros without a market). `None` when the context would start before bar 1.
pub fn context_rows(
    bars: &[Bar],
    t: usize,
    len: usize,
    market: Option<&Market>,
) -> Option<Vec<[f32; FEATURES]>> {
    if len == 0 || t >= bars.len() || t + 1 < len + 1 {
        return None;
    }
    let start = t + 1 - len;
    let ctx = &bars[start..=t];
    let last = bars[t].close;
    let lv: Vec<f64> = ctx.iter().map(|b| b.volume.max(0.0).ln_1p()).collect();
    let mean = lv.iter().sum::<f64>() / len as f64;
    let sd = (lv.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / len as f64).sqrt();
    let market_last = market
        .and_then(|m| m.closes(bars[t].ts.date()))
        .map(|c| c.0);
    Some(
        ctx.iter()
            .enumerate()
            .map(|(i, b)| {
                let prev = bars[start + i - 1].close;
                let (m_ret, m_level) = match (market, market_last) {
                    (Some(m), Some(ml)) => m
                        .closes(b.ts.date())
                        .map_or((0.0, 0.0), |(c, p)| ((c / p).ln(), (c / ml).ln())),
                    _ => (0.0, 0.0),
                };
                [
                    clip((b.open / last).ln() * SCALE),
                    clip((b.high / last).ln() * SCALE),
                    clip((b.low / last).ln() * SCALE),
                    clip((b.close / last).ln() * SCALE),
                    clip((b.close / prev).ln() * SCALE),
                    clip(if sd > 1e-9 { (lv[i] - mean) / sd } else { 0.0 }),
                    clip((b.high - b.low) / prev * SCALE),
                    clip(m_ret * SCALE),
                    clip(m_level * SCALE),
                ]
            })
            .collect(),
    )
}

/// `cost[true][predicted]`: what a wrong call costs, in units of a flat day's mistake.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CostMatrix(pub [[f64; 3]; 3]);

impl Default for CostMatrix {
    /// Buying into a fall (true down, called up) costs the most; missing a rise by calling it
    /// down costs twice a flat mistake.
    fn default() -> Self {
        CostMatrix([[0.0, 2.0, 1.0], [4.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    }
}

impl CostMatrix {
    /// Reads `"0,2,1;4,0,1;1,1,0"` (rows are the true class up, down, flat).
    pub fn parse(text: &str) -> Result<CostMatrix, String> {
        let rows: Vec<&str> = text.split(';').collect();
        if rows.len() != 3 {
            return Err(format!(
                "cost matrix `{text}`: 3 rows separated by `;` (true up; down; flat)"
            ));
        }
        let mut m = [[0.0; 3]; 3];
        for (i, r) in rows.iter().enumerate() {
            let cells: Vec<&str> = r.split(',').map(str::trim).collect();
            if cells.len() != 3 {
                return Err(format!("cost matrix row {} `{r}`: 3 numbers", i + 1));
            }
            for (j, c) in cells.iter().enumerate() {
                let v: f64 = c
                    .parse()
                    .map_err(|_| format!("cost matrix row {}: `{c}` is not a number", i + 1))?;
                if !v.is_finite() || v < 0.0 {
                    return Err(format!("cost matrix row {}: costs are ≥ 0", i + 1));
                }
                m[i][j] = v;
            }
        }
        Ok(CostMatrix(m))
    }

    /// Expected cost of calling `predicted` under the probabilities `p`.
    pub fn expected(&self, p: [f64; 3], predicted: usize) -> f64 {
        (0..3).map(|t| p[t] * self.0[t][predicted]).sum()
    }
}

/// The decision: the class of least expected cost, unless the most probable class falls short
/// of `min_confidence`, in which case the call is flat (stand aside).
pub fn decide(p: [f64; 3], cost: &CostMatrix, min_confidence: f64) -> usize {
    let top = p.iter().copied().fold(f64::MIN, f64::max);
    if top < min_confidence {
        return FLAT;
    }
    (0..3)
        .min_by(|&a, &b| cost.expected(p, a).total_cmp(&cost.expected(p, b)))
        .unwrap_or(FLAT)
}

/// How probabilities become calls.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Decision {
    /// The class of least expected cost (with the confidence gate). Calibrated probabilities
    /// of rare moves seldom make a call worth its cost, so this mostly stands aside.
    Cost,
    /// Up (or down) when its probability is at least `lift` times its base rate, and more so
    /// than the other's; flat otherwise. Relative to the base rates, so a model whose P(up)
    /// never nears 0.5 still calls the days it rates well above the usual.
    Lift { lift: f64 },
}

/// The call under `decision`; `base` is the training class frequencies.
pub fn decide_by(
    p: [f64; 3],
    decision: Decision,
    base: [f64; 3],
    cost: &CostMatrix,
    min_confidence: f64,
) -> usize {
    match decision {
        Decision::Cost => decide(p, cost, min_confidence),
        Decision::Lift { lift } => {
            let ratio = |k: usize| p[k] / base[k].max(1e-9);
            let best = if ratio(UP) >= ratio(DOWN) { UP } else { DOWN };
            if ratio(best) >= lift { best } else { FLAT }
        }
    }
}

/// One evaluated sample: the probabilities, the true class and the forward return.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub p: [f64; 3],
    pub class: usize,
    pub forward_return: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    pub from: f64,
    pub to: f64,
    pub count: usize,
    /// NaN (JSON `null`) in an empty bin.
    #[serde(deserialize_with = "crate::json_nan::f64_or_nan")]
    pub mean_predicted: f64,
    #[serde(deserialize_with = "crate::json_nan::f64_or_nan")]
    pub observed: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifierMetrics {
    pub samples: usize,
    /// Share of samples per true class (up, down, flat).
    pub class_share: [f64; 3],
    pub accuracy: f64,
    pub precision: [f64; 3],
    pub recall: [f64; 3],
    /// EquiNet: rises called up over all rises.
    pub up_recall: f64,
    /// EquiNet: falls called up over all falls.
    pub down_misjudge: f64,
    /// EquiNet: of the samples with the top 5 % of forward returns, the share called up.
    pub extreme_up_capture: f64,
    /// Ours: of the up calls, the share that fell.
    pub up_calls_fell: f64,
    /// Ours: of the moves of at least twice the up threshold, the share called up.
    pub double_up_capture: f64,
    pub up_calls: usize,
    /// Up calls whose forward return was above zero.
    pub up_calls_rose: usize,
    /// Mean forward return of the up calls, and of every sample.
    pub up_calls_mean_return: f64,
    pub mean_return: f64,
    /// The rule the calls were made by.
    pub decision: Decision,
    /// Multi-class Brier score, `mean Σ_k (p_k − y_k)²`; 0 is perfect.
    pub brier: f64,
    /// The Brier score of always predicting the training set's class frequencies.
    pub brier_baseline: f64,
    /// `1 − brier / brier_baseline`: above 0 beats the baseline.
    pub brier_skill: f64,
    pub log_loss: f64,
    /// Mean cost per decision under the cost matrix, and that of always calling flat.
    pub mean_cost: f64,
    pub mean_cost_always_flat: f64,
    /// `confusion[true][predicted]`.
    pub confusion: [[usize; 3]; 3],
    /// P(up) in ten bins: how often the rise came true in each.
    pub reliability_up: Vec<ReliabilityBin>,
    pub reliability_down: Vec<ReliabilityBin>,
}

/// Ten bins of predicted probability, each with how often the event came true: `points` are
/// (predicted probability, whether it happened).
pub fn reliability_bins(points: &[(f64, bool)]) -> Vec<ReliabilityBin> {
    (0..10)
        .map(|b| {
            let (from, to) = (b as f64 / 10.0, (b + 1) as f64 / 10.0);
            let in_bin: Vec<&(f64, bool)> = points
                .iter()
                .filter(|(p, _)| *p >= from && (*p < to || (b == 9 && *p <= 1.0)))
                .collect();
            let n = in_bin.len();
            let mean = |f: &dyn Fn(&(f64, bool)) -> f64| {
                if n == 0 {
                    f64::NAN
                } else {
                    in_bin.iter().map(|x| f(x)).sum::<f64>() / n as f64
                }
            };
            ReliabilityBin {
                from,
                to,
                count: n,
                mean_predicted: mean(&|x| x.0),
                observed: mean(&|x| x.1 as u8 as f64),
            }
        })
        .collect()
}

fn reliability(samples: &[Scored], class: usize) -> Vec<ReliabilityBin> {
    let points: Vec<(f64, bool)> = samples
        .iter()
        .map(|s| (s.p[class], s.class == class))
        .collect();
    reliability_bins(&points)
}

/// EquiNet's extreme rises: the forward return at the top 5 % of `returns` (at least one
/// sample); every return at or above it is one. Infinite when there are none.
pub fn extreme_threshold(returns: impl Iterator<Item = f64>) -> f64 {
    let mut returns: Vec<f64> = returns.collect();
    returns.sort_by(|a, b| b.total_cmp(a));
    returns
        .get((returns.len() as f64 * 0.05).ceil().max(1.0) as usize - 1)
        .copied()
        .unwrap_or(f64::INFINITY)
}

/// `a / b`, NaN when `b` is 0 (a rate of nothing is not 0).
pub fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        f64::NAN
    } else {
        a as f64 / b as f64
    }
}

/// Every metric of a set of scored samples, with the decision rule applied to each.
pub fn classifier_metrics(
    samples: &[Scored],
    rule: &LabelRule,
    base_freq: [f64; 3],
    cost: &CostMatrix,
    min_confidence: f64,
    decision: Decision,
) -> ClassifierMetrics {
    let n = samples.len().max(1) as f64;
    let mut confusion = [[0usize; 3]; 3];
    let (mut brier, mut brier0, mut log_loss, mut cost_sum, mut flat_cost) =
        (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut double, mut double_hit, mut extreme, mut extreme_hit) = (0, 0, 0, 0);
    let (mut rose, mut up_return, mut all_return) = (0, 0.0, 0.0);
    let top = extreme_threshold(samples.iter().map(|s| s.forward_return));
    for s in samples {
        let pred = decide_by(s.p, decision, base_freq, cost, min_confidence);
        all_return += s.forward_return;
        if pred == UP {
            up_return += s.forward_return;
            rose += (s.forward_return > 0.0) as usize;
        }
        if s.forward_return >= top {
            extreme += 1;
            extreme_hit += (pred == UP) as usize;
        }
        confusion[s.class][pred] += 1;
        for (k, (p, f)) in s.p.iter().zip(base_freq).enumerate() {
            let y = (s.class == k) as u8 as f64;
            brier += (p - y).powi(2);
            brier0 += (f - y).powi(2);
        }
        log_loss -= s.p[s.class].max(1e-12).ln();
        cost_sum += cost.0[s.class][pred];
        flat_cost += cost.0[s.class][FLAT];
        if s.forward_return >= 2.0 * rule.up {
            double += 1;
            double_hit += (pred == UP) as usize;
        }
    }
    let col = |k: usize| (0..3).map(|t| confusion[t][k]).sum::<usize>();
    let row = |k: usize| confusion[k].iter().sum::<usize>();
    let precision = [0, 1, 2].map(|k| ratio(confusion[k][k], col(k)));
    let recall = [0, 1, 2].map(|k| ratio(confusion[k][k], row(k)));
    let (brier, brier0) = (brier / n, brier0 / n);
    ClassifierMetrics {
        samples: samples.len(),
        class_share: [0, 1, 2].map(|k| row(k) as f64 / n),
        accuracy: (0..3).map(|k| confusion[k][k]).sum::<usize>() as f64 / n,
        precision,
        recall,
        up_recall: recall[UP],
        down_misjudge: ratio(confusion[DOWN][UP], row(DOWN)),
        extreme_up_capture: ratio(extreme_hit, extreme),
        up_calls_fell: ratio(confusion[DOWN][UP], col(UP)),
        double_up_capture: ratio(double_hit, double),
        up_calls: col(UP),
        up_calls_rose: rose,
        up_calls_mean_return: if col(UP) == 0 {
            f64::NAN
        } else {
            up_return / col(UP) as f64
        },
        mean_return: all_return / n,
        decision,
        brier,
        brier_baseline: brier0,
        brier_skill: 1.0 - brier / brier0,
        log_loss: log_loss / n,
        mean_cost: cost_sum / n,
        mean_cost_always_flat: flat_cost / n,
        confusion,
        reliability_up: reliability(samples, UP),
        reliability_down: reliability(samples, DOWN),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(day: u32, close: f64) -> Bar {
        Bar {
            ts: NaiveDate::from_ymd_opt(2024, 3, day)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
            open: close,
            high: close * 1.01,
            low: close * 0.99,
            close,
            volume: 1000.0 * day as f64,
            amount: None,
        }
    }

    #[test]
    fn labels_follow_the_thresholds() {
        let bars: Vec<Bar> = [10.0, 10.0, 10.0, 10.3, 9.8, 9.79, 10.1]
            .iter()
            .enumerate()
            .map(|(i, &c)| bar(i as u32 + 1, c))
            .collect();
        let r = LabelRule::default();
        assert_eq!(r.label(&bars, 0).unwrap().0, UP); // 10.3 / 10 = +3 % exactly
        assert_eq!(r.label(&bars, 1).unwrap().0, DOWN); // 9.8 / 10 = −2 %
        assert_eq!(r.label(&bars, 3).unwrap().0, FLAT); // 10.1 / 10.3 = −1.9 %
        assert_eq!(r.label(&bars, 4), None);
    }

    #[test]
    fn context_is_relative_to_the_last_close_and_never_looks_ahead() {
        let bars: Vec<Bar> = (1..=20).map(|d| bar(d, 10.0 + d as f64)).collect();
        let rows = context_rows(&bars, 10, 5, None).unwrap();
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[4][3], 0.0); // the last close against itself
        assert!((rows[0][3] - ((17.0f64 / 21.0).ln() * 10.0) as f32).abs() < 1e-6);
        // Changing a later bar changes nothing.
        let mut later = bars.clone();
        later[11].close = 99.0;
        assert_eq!(context_rows(&later, 10, 5, None).unwrap(), rows);
        assert!(context_rows(&bars, 3, 4, None).is_none());
        assert!(context_rows(&bars, 4, 4, None).is_some());
    }

    #[test]
    fn the_lift_rule_calls_what_beats_its_base_rate() {
        let base = [0.1, 0.2, 0.7];
        let c = CostMatrix::default();
        let lift = Decision::Lift { lift: 2.5 };
        // P(up) 0.3 is three times its base rate; P(down) 0.2 is its base rate: up.
        assert_eq!(decide_by([0.3, 0.2, 0.5], lift, base, &c, 0.0), UP);
        // The cost rule stands aside on the same probabilities.
        assert_eq!(
            decide_by([0.3, 0.2, 0.5], Decision::Cost, base, &c, 0.0),
            FLAT
        );
        assert_eq!(decide_by([0.2, 0.2, 0.6], lift, base, &c, 0.0), FLAT);
        assert_eq!(decide_by([0.1, 0.55, 0.35], lift, base, &c, 0.0), DOWN);
    }

    #[test]
    fn decisions_weigh_costs_and_respect_the_gate() {
        let c = CostMatrix::default();
        // 45 % up, 35 % down: calling up costs 0.35·4 + 0.2 = 1.6, flat 0.45 + 0.35 = 0.8.
        assert_eq!(decide([0.45, 0.35, 0.20], &c, 0.0), FLAT);
        assert_eq!(decide([0.80, 0.05, 0.15], &c, 0.0), UP);
        assert_eq!(decide([0.80, 0.05, 0.15], &c, 0.9), FLAT);
        assert_eq!(decide([0.1, 0.7, 0.2], &c, 0.0), DOWN);
        assert_eq!(
            CostMatrix::parse("0,2,1;4,0,1;1,1,0").unwrap(),
            CostMatrix::default()
        );
        assert!(
            CostMatrix::parse("0,2;4,0,1;1,1,0")
                .unwrap_err()
                .contains("row 1")
        );
    }

    #[test]
    fn metrics_by_hand() {
        let s = |p: [f64; 3], class: usize, r: f64| Scored {
            p,
            class,
            forward_return: r,
        };
        let samples = [
            s([0.9, 0.05, 0.05], UP, 0.07), // called up, rose 7 %: extreme captured
            s([0.9, 0.05, 0.05], DOWN, -0.03), // called up, fell: a misjudge
            s([0.1, 0.8, 0.1], DOWN, -0.05), // called down, right
            s([0.1, 0.1, 0.8], UP, 0.06),   // called flat, missed an extreme rise
        ];
        let m = classifier_metrics(
            &samples,
            &LabelRule::default(),
            [0.5, 0.5, 0.0],
            &CostMatrix::default(),
            0.0,
            Decision::Cost,
        );
        assert_eq!(m.confusion, [[1, 0, 1], [1, 1, 0], [0, 0, 0]]);
        assert_eq!(m.accuracy, 0.5);
        assert_eq!(m.up_recall, 0.5);
        // EquiNet's: one of the two falls was called up; ours: one of the two up calls fell.
        assert_eq!(m.down_misjudge, 0.5);
        assert_eq!(m.up_calls_fell, 0.5);
        // The top 5 % of four returns is the single largest (7 %), called up.
        assert_eq!(m.extreme_up_capture, 1.0);
        assert_eq!(m.double_up_capture, 0.5);
        assert_eq!(m.up_calls_rose, 1);
        assert!((m.up_calls_mean_return - 0.02).abs() < 1e-12);
        // Brier: (0.01+0.0025+0.0025) + (0.81+0.9025+0.0025) + (0.01+0.04+0.01) + (0.81+0.01+0.64)
        let b = (0.015 + 1.715 + 0.06 + 1.46) / 4.0;
        assert!((m.brier - b).abs() < 1e-12);
        assert!((m.brier_baseline - 0.5).abs() < 1e-12);
        // Costs: 0 + 4 + 0 + 1 over 4; always flat: 1 + 1 + 1 + 1.
        assert!((m.mean_cost - 1.25).abs() < 1e-12);
        assert!((m.mean_cost_always_flat - 1.0).abs() < 1e-12);
        assert_eq!(m.reliability_up[9].count, 2);
        assert_eq!(m.reliability_up[9].observed, 0.5);
    }
}

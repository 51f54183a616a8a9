//! What a zoo model predicts: classes of the forward move, or numbers about the path to the
//! horizon. A target is one or more parts ([`Component`]); each reads only the bars from the
//! decision day to the horizon.

use serde::{Deserialize, Serialize};

use crate::Bar;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// Up / down / flat by the `up` and `down` thresholds (EquiNet's task).
    Updown3,
    /// Up / down / flat / strong down.
    Updown4,
    /// Up (above `threshold`) or not.
    Binary,
    Return,
    Volatility,
    /// Several parts, weighted (`tasks`, `weights`).
    Multitask,
}

impl TargetKind {
    pub fn name(self) -> &'static str {
        match self {
            TargetKind::Updown3 => "updown3",
            TargetKind::Updown4 => "updown4",
            TargetKind::Binary => "binary",
            TargetKind::Return => "return",
            TargetKind::Volatility => "volatility",
            TargetKind::Multitask => "multitask",
        }
    }

    pub fn components(self, tasks: &[Component]) -> Vec<Component> {
        match self {
            TargetKind::Updown3 => vec![Component::Updown3],
            TargetKind::Updown4 => vec![Component::Updown4],
            TargetKind::Binary => vec![Component::Binary],
            TargetKind::Return => vec![Component::Return],
            TargetKind::Volatility => vec![Component::Volatility],
            TargetKind::Multitask => tasks.to_vec(),
        }
    }
}

/// One part of a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Component {
    Updown3,
    Updown4,
    Binary,
    /// `close[t+h] / close[t] − 1`.
    Return,
    /// Standard deviation of the daily log returns over the horizon.
    Volatility,
    /// Mean over standard deviation of those returns (0 when they do not vary).
    Sharpe,
    /// Largest fall from a running peak along the closes `t..=t+h`, as a positive share.
    Drawdown,
    /// Mean daily log return over the horizon.
    Momentum,
}

/// Class names in output order, per classification part.
pub const UPDOWN3: [&str; 3] = ["up", "down", "flat"];
pub const UPDOWN4: [&str; 4] = ["up", "down", "flat", "strong_down"];
pub const BINARY: [&str; 2] = ["up", "down"];

/// A class part's probabilities (in its classes' order) as a prediction set and the strip
/// read them: P(up), P(down) with a strong fall counted as a fall, P(flat) (0 for binary).
pub fn up_down_flat(p: &[f64]) -> [f64; 3] {
    [
        p[0],
        p[1] + p.get(3).copied().unwrap_or(0.0),
        p.get(2).copied().unwrap_or(0.0),
    ]
}

impl Component {
    pub fn name(self) -> &'static str {
        match self {
            Component::Updown3 => "updown3",
            Component::Updown4 => "updown4",
            Component::Binary => "binary",
            Component::Return => "return",
            Component::Volatility => "volatility",
            Component::Sharpe => "sharpe",
            Component::Drawdown => "drawdown",
            Component::Momentum => "momentum",
        }
    }

    /// The number of classes, for a classification part.
    pub fn classes(self) -> Option<usize> {
        self.class_names().map(<[_]>::len)
    }

    pub fn class_names(self) -> Option<&'static [&'static str]> {
        match self {
            Component::Updown3 => Some(&UPDOWN3),
            Component::Updown4 => Some(&UPDOWN4),
            Component::Binary => Some(&BINARY),
            _ => None,
        }
    }

    /// Outputs this part takes from the head: one logit per class, or one number.
    pub fn width(self) -> usize {
        self.classes().unwrap_or(1)
    }

    pub fn needs_two_bars(self) -> bool {
        matches!(
            self,
            Component::Volatility | Component::Sharpe | Component::Momentum
        )
    }
}

/// The thresholds the classification parts use.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub horizon: usize,
    pub up: f64,
    pub down: f64,
    pub strong_down: f64,
    pub threshold: f64,
}

/// One part's true value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Class(usize),
    Real(f64),
}

/// A sample's truth: every part's value and the forward return (the metrics need it).
#[derive(Debug, Clone, PartialEq)]
pub struct Truth {
    pub values: Vec<Value>,
    pub forward_return: f64,
}

const EPS: f64 = 1e-12;

/// The truth of decision bar `t`, or `None` without `horizon` bars after it (or with a
/// non-finite close among them).
pub fn truth(parts: &[Component], th: &Thresholds, bars: &[Bar], t: usize) -> Option<Truth> {
    let h = th.horizon;
    let path: Vec<f64> = bars.get(t..=t + h)?.iter().map(|b| b.close).collect();
    if path.iter().any(|c| !(c.is_finite() && *c > 0.0)) {
        return None;
    }
    let r = path[h] / path[0] - 1.0;
    let logs: Vec<f64> = path.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
    let mean = logs.iter().sum::<f64>() / h as f64;
    let sd = (logs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / h as f64).sqrt();
    let values = parts
        .iter()
        .map(|p| match p {
            Component::Updown3 | Component::Updown4 => Value::Class(if r >= th.up - EPS {
                0
            } else if *p == Component::Updown4 && r <= th.strong_down + EPS {
                3
            } else if r <= th.down + EPS {
                1
            } else {
                2
            }),
            Component::Binary => Value::Class(if r > th.threshold { 0 } else { 1 }),
            Component::Return => Value::Real(r),
            Component::Volatility => Value::Real(sd),
            Component::Sharpe => Value::Real(if sd > 1e-9 { mean / sd } else { 0.0 }),
            Component::Momentum => Value::Real(mean),
            Component::Drawdown => {
                let (mut peak, mut worst) = (path[0], 0.0f64);
                for &c in &path {
                    peak = peak.max(c);
                    worst = worst.max(1.0 - c / peak);
                }
                Value::Real(worst)
            }
        })
        .collect();
    Some(Truth {
        values,
        forward_return: r,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn bars(closes: &[f64]) -> Vec<Bar> {
        closes
            .iter()
            .enumerate()
            .map(|(i, &c)| Bar {
                ts: NaiveDate::from_ymd_opt(2024, 1, 1 + i as u32)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap(),
                open: c,
                high: c,
                low: c,
                close: c,
                volume: 1.0,
                amount: None,
            })
            .collect()
    }

    #[test]
    fn every_part_by_hand() {
        let th = Thresholds {
            horizon: 3,
            up: 0.03,
            down: -0.02,
            strong_down: -0.05,
            threshold: 0.0,
        };
        let all = [
            Component::Updown3,
            Component::Updown4,
            Component::Binary,
            Component::Return,
            Component::Volatility,
            Component::Sharpe,
            Component::Drawdown,
            Component::Momentum,
        ];
        // 10 → 11 → 9 → 9.4: −6 %, a strong down; the worst fall 11 → 9.
        let b = bars(&[10.0, 11.0, 9.0, 9.4, 20.0]);
        let t = truth(&all, &th, &b, 0).unwrap();
        assert!((t.forward_return + 0.06).abs() < 1e-12);
        assert_eq!(t.values[0], Value::Class(1));
        assert_eq!(t.values[1], Value::Class(3));
        assert_eq!(t.values[2], Value::Class(1));
        let logs = [(1.1f64).ln(), (9.0f64 / 11.0).ln(), (9.4f64 / 9.0).ln()];
        let mean = logs.iter().sum::<f64>() / 3.0;
        let sd = (logs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
        let real = |v: Value| match v {
            Value::Real(x) => x,
            Value::Class(_) => panic!("a number"),
        };
        assert!((real(t.values[4]) - sd).abs() < 1e-12);
        assert!((real(t.values[5]) - mean / sd).abs() < 1e-12);
        assert!((real(t.values[6]) - 2.0 / 11.0).abs() < 1e-12);
        assert!((real(t.values[7]) - mean).abs() < 1e-12);
        // The last bars have no outcome yet; a later bar never changes an earlier truth.
        assert!(truth(&all, &th, &b, 2).is_none());
        let mut later = b.clone();
        later[4].close = 1.0;
        assert_eq!(truth(&all, &th, &later, 0), Some(t));
    }
}

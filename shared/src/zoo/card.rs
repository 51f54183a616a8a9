//! A zoo model's card: what was trained on what, and how it did on the held-out test part.
//! The trainer writes it (`card.json`), a hosted job's result carries it, and the app and the
//! CLI show it as the same text ([`table`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::metrics::{ClassMetrics, RealMetrics};

/// Samples in each part of the split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub train: usize,
    pub val: usize,
    pub test: usize,
}

/// Every figure of one group of samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    pub samples: usize,
    /// The classification part, with EquiNet's `up_recall`, `down_misjudge` and
    /// `extreme_up_capture` at the top level of it.
    pub class: Option<ClassMetrics>,
    /// Each numeric part.
    pub numbers: Vec<RealMetrics>,
}

/// The model card: what was trained on what, and how it did on the held-out test part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Card {
    pub backbone: String,
    pub target: Vec<String>,
    pub parameters: usize,
    pub samples: Counts,
    pub trained_until: Option<NaiveDate>,
    pub val_from: Option<NaiveDate>,
    pub test_from: Option<NaiveDate>,
    /// Test-part scores.
    pub test: Scores,
    pub per_symbol: BTreeMap<String, Scores>,
    /// The test part split by the market's regime on each decision day (bull, bear,
    /// sideways, volatile; read from the market's bars up to that day). Empty without a market.
    pub per_regime: BTreeMap<String, Scores>,
    /// The test part split by each stock's sector on the decision day (with reference data).
    pub per_industry: BTreeMap<String, Scores>,
    /// Where the prediction set is, or why there is none.
    pub prediction_set: String,
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1} %", x * 100.0)
    } else {
        "-".into()
    }
}

/// A card as a person reads it.
pub fn table(card: &Card) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} on {} ({} parameters); {} test samples from {}",
        card.backbone,
        card.target.join(" + "),
        card.parameters,
        card.test.samples,
        card.test_from.map_or("-".into(), |d| d.to_string())
    );
    if let Some(m) = &card.test.class {
        let _ = writeln!(s, "accuracy            {}", pct(m.accuracy));
        let _ = writeln!(
            s,
            "up_recall           {}  (rises called up / rises)",
            pct(m.up_recall)
        );
        let _ = writeln!(
            s,
            "down_misjudge       {}  (falls called up / falls)",
            pct(m.down_misjudge)
        );
        let _ = writeln!(
            s,
            "extreme_up_capture  {}  (top 5 % of returns called up)",
            pct(m.extreme_up_capture)
        );
        let _ = writeln!(
            s,
            "up calls            {} ({} rose); of them fell {}",
            m.up_calls,
            m.up_calls_rose,
            pct(m.up_calls_fell)
        );
        let _ = writeln!(
            s,
            "Brier               {:.4} (class-frequency baseline {:.4}, skill {:+.3})",
            m.brier, m.brier_baseline, m.brier_skill
        );
        let _ = writeln!(
            s,
            "mean cost           {:.3} per call (standing aside {:.3}; points {:+.3})",
            m.mean_cost, m.mean_cost_stand_aside, m.points
        );
    }
    for r in &card.test.numbers {
        let _ = writeln!(
            s,
            "{:<10} MAE {:.5} (train mean {:.5}), RMSE {:.5}, direction {}, rank IC {:+.3} over {} days",
            r.part,
            r.mae,
            r.mae_baseline,
            r.rmse,
            r.direction_accuracy.map_or("-".into(), pct),
            r.rank_ic,
            r.ic_days
        );
    }
    let _ = writeln!(s, "prediction set: {}", card.prediction_set);
    s
}

impl Card {
    /// One line of the held-out figures a user looks at first: for a classifier the Brier
    /// skill and the up calls, for a number its MAE against the training mean and rank IC.
    pub fn headline(&self) -> String {
        let mut parts = Vec::new();
        if let Some(m) = &self.test.class {
            parts.push(format!(
                "Brier skill {:+.3}, {} up calls ({} rose), points {:+.3}",
                m.brier_skill, m.up_calls, m.up_calls_rose, m.points
            ));
        }
        for r in &self.test.numbers {
            parts.push(format!(
                "{} MAE {:.4} (train mean {:.4}), rank IC {:+.3}",
                r.part, r.mae, r.mae_baseline, r.rank_ic
            ));
        }
        format!(
            "{} on {}: {} over {} test samples",
            self.backbone,
            self.target.join(" + "),
            parts.join("; "),
            self.test.samples
        )
    }
}

//! A zoo model's inputs for one decision bar: the feature rows of its context and the ids of
//! its conditions. The trainer builds its batches with these and the browser its strip, so
//! both feed a model the same numbers.

use crate::Bar;
use crate::analysis::regime::{Regime, daily, on_day};
use crate::features::classify::{FEATURES as BAR_FEATURES, Market, context_rows};
use crate::features::factors::FACTORS;

use super::config::FeatureSet;

/// Input width of a feature list.
pub fn input_width(features: &[FeatureSet]) -> usize {
    features
        .iter()
        .map(|f| match f {
            FeatureSet::Bars => BAR_FEATURES,
            FeatureSet::Factors => FACTORS.len(),
        })
        .sum()
}

/// How a model turns a context into rows: the feature sets, the market and each factor's
/// training mean and deviation.
pub struct Featurizer<'a> {
    pub features: &'a [FeatureSet],
    pub market: Option<&'a Market>,
    pub factor_norm: &'a [[f64; 2]],
}

impl Featurizer<'_> {
    /// The `len` rows ending at bar `t` of a series (its bars and their factor rows),
    /// flattened into `out`; `None` when the context would start before the series' second
    /// bar.
    pub fn rows(
        &self,
        bars: &[Bar],
        factors: &[[f64; 24]],
        t: usize,
        len: usize,
        out: &mut Vec<f32>,
    ) -> Option<()> {
        let rows = if self.features.contains(&FeatureSet::Bars) {
            Some(context_rows(bars, t, len, self.market)?)
        } else {
            if t < len {
                return None;
            }
            None
        };
        for i in 0..len {
            for f in self.features {
                match f {
                    FeatureSet::Bars => out.extend_from_slice(&rows.as_ref()?[i]),
                    FeatureSet::Factors => {
                        let row = &factors[t + 1 - len + i];
                        out.extend(row.iter().zip(self.factor_norm).map(|(x, [m, sd])| {
                            let z = (x - m) / sd.max(1e-12);
                            if z.is_finite() {
                                z.clamp(-5.0, 5.0) as f32
                            } else {
                                0.0
                            }
                        }));
                    }
                }
            }
        }
        Some(())
    }
}

/// The market's regime as of each day, as the regime condition's embedding ids (0: unknown,
/// then bull, bear, sideways, volatile). Read from the market's bars up to the day only; the
/// rule's history is the whole series, so give it every bar the market has.
pub struct RegimeIds<'a> {
    bars: &'a [Bar],
    days: Vec<Option<Regime>>,
}

impl<'a> RegimeIds<'a> {
    pub fn new(market: &'a [Bar]) -> RegimeIds<'a> {
        RegimeIds {
            bars: market,
            days: daily(market),
        }
    }

    pub fn on(&self, day: chrono::NaiveDate) -> i64 {
        on_day(self.bars, &self.days, day).map_or(0, |g| {
            1 + Regime::ALL.iter().position(|x| *x == g).expect("a regime") as i64
        })
    }
}

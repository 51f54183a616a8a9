//! A zoo model's inputs for one decision bar: the feature rows of its context and the ids of
//! its conditions. The trainer builds its batches with these and the browser its strip, so
//! both feed a model the same numbers.

use std::collections::BTreeMap;

use chrono::NaiveDate;

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
            FeatureSet::Market => MARKET_FEATURES,
        })
        .sum()
}

/// Columns of the `market` feature set: change, range, volume.
pub const MARKET_FEATURES: usize = 3;

/// A market index's days as the `market` feature set reads them: each day's log change and
/// range against the previous close, and its log volume.
#[derive(Debug, Clone, Default)]
pub struct MarketDays {
    days: BTreeMap<NaiveDate, [f64; 3]>,
}

impl MarketDays {
    pub fn new(bars: &[Bar]) -> MarketDays {
        MarketDays {
            days: bars
                .windows(2)
                .map(|w| {
                    let (p, b) = (w[0].close, &w[1]);
                    (
                        b.ts.date(),
                        [
                            (b.close / p).ln(),
                            (b.high - b.low) / p,
                            b.volume.max(0.0).ln_1p(),
                        ],
                    )
                })
                .collect(),
        }
    }

    /// The index's last day on or before `day`.
    fn on(&self, day: NaiveDate) -> Option<[f64; 3]> {
        self.days.range(..=day).next_back().map(|(_, v)| *v)
    }
}

/// How a model turns a context into rows: the feature sets, the market and each factor's
/// training mean and deviation.
pub struct Featurizer<'a> {
    pub features: &'a [FeatureSet],
    pub market: Option<&'a Market>,
    /// The index's days, for the `market` feature set.
    pub market_days: Option<&'a MarketDays>,
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
        // The index's day for each context bar, its volume z-scored within the context (as
        // the stock's own volume is), so no later day leaks in.
        let market: Vec<Option<[f64; 3]>> = match self.market_days {
            Some(m) if self.features.contains(&FeatureSet::Market) => (0..len)
                .map(|i| m.on(bars[t + 1 - len + i].ts.date()))
                .collect(),
            _ => Vec::new(),
        };
        let vols: Vec<f64> = market.iter().flatten().map(|d| d[2]).collect();
        let mean = vols.iter().sum::<f64>() / vols.len().max(1) as f64;
        let sd = (vols.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>()
            / vols.len().max(1) as f64)
            .sqrt();
        let clip = |x: f64| {
            if x.is_finite() {
                (x as f32).clamp(-5.0, 5.0)
            } else {
                0.0
            }
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
                    FeatureSet::Market => match market.get(i).copied().flatten() {
                        Some([change, range, volume]) => out.extend([
                            clip(change * 10.0),
                            clip(range * 10.0),
                            clip(if sd > 1e-9 { (volume - mean) / sd } else { 0.0 }),
                        ]),
                        None => out.extend([0.0; MARKET_FEATURES]),
                    },
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

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(day: u32, close: f64, range: f64, volume: f64) -> Bar {
        Bar {
            ts: NaiveDate::from_ymd_opt(2024, 3, day)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
            open: close,
            high: close + range / 2.0,
            low: close - range / 2.0,
            close,
            volume,
            amount: None,
        }
    }

    /// The `market` set gives the index's change, range and context-z-scored volume for each
    /// context bar, from days up to the bar's own: cutting the index after the decision day
    /// changes nothing.
    #[test]
    fn the_market_set_reads_the_index_day_by_day_without_look_ahead() {
        let stock: Vec<Bar> = (1..=20)
            .map(|d| bar(d, 10.0 + d as f64 * 0.1, 0.2, 1e6))
            .collect();
        let index: Vec<Bar> = (1..=20)
            .map(|d| {
                bar(
                    d,
                    3000.0 + (d as f64 * 1.7).sin() * 30.0,
                    20.0 + d as f64,
                    1e8 * d as f64,
                )
            })
            .collect();
        let features = [FeatureSet::Market];
        assert_eq!(input_width(&features), MARKET_FEATURES);
        let rows = |index: &[Bar]| {
            let days = MarketDays::new(index);
            let f = Featurizer {
                features: &features,
                market: None,
                market_days: Some(&days),
                factor_norm: &[],
            };
            let mut out = Vec::new();
            f.rows(&stock, &[], 14, 5, &mut out).unwrap();
            out
        };
        let full = rows(&index);
        assert_eq!(full.len(), 5 * MARKET_FEATURES);
        // Bar 14's index day: its change and range against day 14's previous close.
        let (p, b) = (&index[13], &index[14]);
        assert!((full[12] as f64 - 10.0 * (b.close / p.close).ln()).abs() < 1e-5);
        assert!((full[13] as f64 - 10.0 * (b.high - b.low) / p.close).abs() < 1e-5);
        // The volumes are z-scored within the context: they sum to zero.
        let z: f32 = (0..5).map(|i| full[i * 3 + 2]).sum();
        assert!(z.abs() < 1e-4, "{full:?}");
        assert_eq!(rows(&index[..15]), full, "no later index day is read");
        // Without the index's days the set is zeros, and a file asking for it needs a market.
        let f = Featurizer {
            features: &features,
            market: None,
            market_days: None,
            factor_norm: &[],
        };
        let mut out = Vec::new();
        f.rows(&stock, &[], 14, 5, &mut out).unwrap();
        assert!(out.iter().all(|x| *x == 0.0));
        let file = "[data]\nfiles = [\"a.csv\"]\nfeatures = [\"bars\", \"market\"]\n[model]\nbackbone = \"lstm\"\n";
        let e = super::super::config::read(file)
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("data.features") && e.contains("data.market"),
            "{e}"
        );
    }
}

//! Style buckets a universe's bars alone decide, each with its thresholds stated:
//!
//! - **volatility** `low` / `medium` / `high`: the annualised volatility of the last 60 daily
//!   returns, cut at the universe's terciles on the day;
//! - **momentum** from the 20- and 60-day returns `r20`, `r60`: `reversal` when the last
//!   20 days moved more than 5 % against the 60-day direction, else `strong` (`r60` > 20 %),
//!   `positive` (`r60` > 5 %), `negative` (`r60` < −5 %) or `neutral`.
//!
//! Size (float cap), value/growth (PB) and industry need reference data.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::Bar;

pub const VOL_BARS: usize = 60;
pub const SHORT_BARS: usize = 20;
pub const LONG_BARS: usize = 60;
pub const REVERSAL: f64 = 0.05;
pub const STRONG: f64 = 0.20;
pub const POSITIVE: f64 = 0.05;
pub const NEGATIVE: f64 = -0.05;

/// One bucket and the symbols in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    pub name: String,
    pub symbols: Vec<String>,
}

/// One style's buckets: each bucket's members, and the cuts between them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Buckets {
    /// The rule, in words, with its numbers.
    pub rule: String,
    /// The buckets in the rule's order, each with its symbols.
    pub buckets: Vec<Bucket>,
    /// The cuts used on the day (for volatility, the terciles).
    pub thresholds: BTreeMap<String, f64>,
    /// Symbols the rule cannot place on the day (too few bars, or no reference data).
    pub too_short: Vec<String>,
}

fn named(names: &[&str]) -> Vec<Bucket> {
    names
        .iter()
        .map(|n| Bucket {
            name: n.to_string(),
            symbols: Vec::new(),
        })
        .collect()
}

fn put(buckets: &mut [Bucket], name: &str, symbol: String) {
    if let Some(b) = buckets.iter_mut().find(|b| b.name == name) {
        b.symbols.push(symbol);
    }
}

impl Buckets {
    /// The symbols of the bucket `name`.
    pub fn of(&self, name: &str) -> &[String] {
        self.buckets
            .iter()
            .find(|b| b.name == name)
            .map_or(&[], |b| b.symbols.as_slice())
    }
}

/// The day's last bar of `bars` (ascending) on or before `at`, as an index.
fn last_on(bars: &[Bar], at: NaiveDate) -> Option<usize> {
    bars.partition_point(|b| b.ts.date() <= at).checked_sub(1)
}

fn ret(bars: &[Bar], i: usize, n: usize) -> Option<f64> {
    let before = bars.get(i.checked_sub(n)?)?.close;
    (before > 0.0).then(|| bars[i].close / before - 1.0)
}

/// Volatility terciles on `at`.
pub fn volatility(series: &BTreeMap<String, Vec<Bar>>, at: NaiveDate) -> Buckets {
    let mut vols: Vec<(String, f64)> = Vec::new();
    let mut too_short = Vec::new();
    for (s, bars) in series {
        let v = last_on(bars, at).filter(|&i| i >= VOL_BARS).map(|i| {
            let r: Vec<f64> = bars[i - VOL_BARS..=i]
                .windows(2)
                .filter(|w| w[0].close > 0.0 && w[1].close > 0.0)
                .map(|w| (w[1].close / w[0].close).ln())
                .collect();
            super::annualised_vol(&r)
        });
        match v {
            Some(v) if v.is_finite() => vols.push((s.clone(), v)),
            _ => too_short.push(s.clone()),
        }
    }
    let mut sorted: Vec<f64> = vols.iter().map(|(_, v)| *v).collect();
    sorted.sort_by(f64::total_cmp);
    let q = |p: f64| crate::predictions::rows::quantile(&sorted, p);
    let (lo, hi) = (q(1.0 / 3.0), q(2.0 / 3.0));
    let mut buckets = named(&["low", "medium", "high"]);
    for (s, v) in vols {
        let b = if v <= lo {
            "low"
        } else if v <= hi {
            "medium"
        } else {
            "high"
        };
        put(&mut buckets, b, s);
    }
    Buckets {
        rule: format!(
            "annualised volatility of the last {VOL_BARS} daily returns: low up to the universe's lower tercile, high above its upper tercile, medium between"
        ),
        buckets,
        thresholds: [
            ("low_up_to".to_string(), lo),
            ("high_above".to_string(), hi),
        ]
        .into_iter()
        .filter(|(_, v)| v.is_finite())
        .collect(),
        too_short,
    }
}

/// The momentum class of one symbol from its 20- and 60-day returns.
pub fn momentum_class(r20: f64, r60: f64) -> &'static str {
    if (r60 > 0.0 && r20 < -REVERSAL) || (r60 < 0.0 && r20 > REVERSAL) {
        "reversal"
    } else if r60 > STRONG {
        "strong"
    } else if r60 > POSITIVE {
        "positive"
    } else if r60 < NEGATIVE {
        "negative"
    } else {
        "neutral"
    }
}

/// Momentum classes on `at`.
pub fn momentum(series: &BTreeMap<String, Vec<Bar>>, at: NaiveDate) -> Buckets {
    let mut buckets = named(&["strong", "positive", "neutral", "negative", "reversal"]);
    let mut too_short = Vec::new();
    for (s, bars) in series {
        let r = last_on(bars, at)
            .and_then(|i| Some((ret(bars, i, SHORT_BARS)?, ret(bars, i, LONG_BARS)?)));
        match r {
            Some((r20, r60)) => put(&mut buckets, momentum_class(r20, r60), s.clone()),
            None => too_short.push(s.clone()),
        }
    }
    Buckets {
        rule: format!(
            "from the {SHORT_BARS}-day return r20 and the {LONG_BARS}-day return r60: reversal when r20 moved more than {:.0} % against r60's sign, else strong when r60 > {:.0} %, positive when r60 > {:.0} %, negative when r60 < {:.0} %, neutral otherwise",
            REVERSAL * 100.0,
            STRONG * 100.0,
            POSITIVE * 100.0,
            NEGATIVE * 100.0
        ),
        buckets,
        thresholds: [
            ("reversal".to_string(), REVERSAL),
            ("strong".to_string(), STRONG),
            ("positive".to_string(), POSITIVE),
            ("negative".to_string(), NEGATIVE),
        ]
        .into_iter()
        .collect(),
        too_short,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn momentum_classes_follow_the_stated_cuts() {
        assert_eq!(momentum_class(0.02, 0.30), "strong");
        assert_eq!(momentum_class(-0.08, 0.30), "reversal");
        assert_eq!(momentum_class(0.08, -0.10), "reversal");
        assert_eq!(momentum_class(0.0, 0.10), "positive");
        assert_eq!(momentum_class(0.0, -0.10), "negative");
        assert_eq!(momentum_class(0.01, 0.01), "neutral");
    }

    #[test]
    fn volatility_terciles_split_calm_from_wild() {
        let day0 = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let series: BTreeMap<String, Vec<Bar>> = (0..6)
            .map(|k| {
                let amp = 0.002 * (k + 1) as f64;
                let bars = crate::analysis::bars_of(
                    day0,
                    (0..80).map(|i| 10.0 * (1.0 + if i % 2 == 0 { amp } else { -amp })),
                );
                (format!("S{k}"), bars)
            })
            .collect();
        let at = day0 + chrono::Days::new(79);
        let v = volatility(&series, at);
        assert_eq!(v.of("low"), ["S0", "S1"]);
        assert_eq!(v.of("high"), ["S4", "S5"]);
        // Too early for a 60-day window: nobody is bucketed.
        let early = volatility(&series, day0 + chrono::Days::new(30));
        assert_eq!(early.too_short.len(), 6);
    }
}

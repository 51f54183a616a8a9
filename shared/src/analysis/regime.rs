//! The market regime of an index over time, by a rule stated here so a user can check it:
//!
//! - **volatile**: the index's 20-day volatility (annualised, of daily log returns) is at or
//!   above the 80th percentile of its own earlier values (at least 250 of them) and at least
//!   1.5 times their median: a storm, not the ordinary ups and downs of calm markets;
//! - else **bull**: the close is above its 120-day mean and that mean has risen over the last
//!   20 days;
//! - else **bear**: the close is below its 120-day mean and that mean has fallen over the last
//!   20 days;
//! - else **sideways**.
//!
//! A new regime takes over only once the rule has given it 5 trading days running (it starts
//! on the fifth), so a day's noise does not cut a period in two. Every day's regime reads only
//! that day's close and earlier ones: truncating the index after a date changes nothing up to
//! it (tested).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::Bar;

/// Bars of the 120-day mean.
pub const TREND_BARS: usize = 120;
/// Bars over which the mean must rise (bull) or fall (bear).
pub const SLOPE_BARS: usize = 20;
/// Bars of the volatility.
pub const VOL_BARS: usize = 20;
/// The percentile of its own history at which the volatility counts as high.
pub const VOL_PERCENTILE: f64 = 0.8;
/// How far above its usual (the median of earlier values) the volatility must be.
pub const VOL_OVER_MEDIAN: f64 = 1.5;
/// Earlier volatilities needed before a day can be volatile.
pub const VOL_HISTORY: usize = 250;
/// Days a new regime must hold before it takes over.
pub const CONFIRM_DAYS: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    Bull,
    Bear,
    Sideways,
    Volatile,
}

impl Regime {
    pub const ALL: [Regime; 4] = [
        Regime::Bull,
        Regime::Bear,
        Regime::Sideways,
        Regime::Volatile,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Regime::Bull => "bull",
            Regime::Bear => "bear",
            Regime::Sideways => "sideways",
            Regime::Volatile => "volatile",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Regime::Bull => "牛市",
            Regime::Bear => "熊市",
            Regime::Sideways => "震荡",
            Regime::Volatile => "高波动",
        }
    }
}

/// A run of days in one regime, both ends included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub regime: Regime,
    /// Trading days in the period.
    pub days: usize,
    /// The index's return from the close before the period to its last close.
    pub index_return: f64,
}

/// What each regime amounted to over the whole history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegimeShare {
    pub regime: Regime,
    pub days: usize,
    /// Share of the classified days.
    pub share: f64,
    /// The index's mean return over the day after each of those days: what the regime, known
    /// at a close, said about the next day (NaN, written `null`, over no days).
    #[serde(deserialize_with = "crate::json_nan::f64_or_nan")]
    pub mean_next_day_return: f64,
}

/// The regime report: `current` is the last day's regime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegimeReport {
    pub index: String,
    /// The rule, in words.
    pub rule: String,
    pub current: Option<Regime>,
    /// The last day classified.
    pub as_of: Option<NaiveDate>,
    pub periods: Vec<Period>,
    pub shares: Vec<RegimeShare>,
}

/// The rule on day `i`; `earlier` holds the finite volatilities before it, sorted.
fn raw(closes: &[f64], vols: &[f64], earlier: &[f64], i: usize) -> Option<Regime> {
    if i + 1 < TREND_BARS + SLOPE_BARS {
        return None;
    }
    let mean =
        |end: usize| closes[end + 1 - TREND_BARS..=end].iter().sum::<f64>() / TREND_BARS as f64;
    let (now, before) = (mean(i), mean(i - SLOPE_BARS));
    let v = vols[i];
    if v.is_finite() && earlier.len() >= VOL_HISTORY {
        let at = |p: f64| earlier[((earlier.len() - 1) as f64 * p).round() as usize];
        if v >= at(VOL_PERCENTILE) && v >= VOL_OVER_MEDIAN * at(0.5) {
            return Some(Regime::Volatile);
        }
    }
    let c = closes[i];
    Some(if c > now && now > before {
        Regime::Bull
    } else if c < now && now < before {
        Regime::Bear
    } else {
        Regime::Sideways
    })
}

/// Each bar's regime (`None` while the rule warms up), confirmed as the module says.
pub fn daily(bars: &[Bar]) -> Vec<Option<Regime>> {
    let closes: Vec<f64> = bars.iter().map(|b| b.close).collect();
    let rets: Vec<f64> = closes
        .windows(2)
        .map(|w| {
            if w[0] > 0.0 && w[1] > 0.0 {
                (w[1] / w[0]).ln()
            } else {
                f64::NAN
            }
        })
        .collect();
    // vols[i]: the volatility of the VOL_BARS returns ending at bar i.
    let vols: Vec<f64> = (0..closes.len())
        .map(|i| {
            if i < VOL_BARS {
                return f64::NAN;
            }
            super::annualised_vol(&rets[i - VOL_BARS..i])
        })
        .collect();
    let mut out = Vec::with_capacity(bars.len());
    let (mut current, mut candidate, mut run) = (None::<Regime>, None::<Regime>, 0usize);
    // The volatilities so far, kept sorted as each day's joins.
    let mut earlier: Vec<f64> = Vec::with_capacity(closes.len());
    for i in 0..closes.len() {
        let r = raw(&closes, &vols, &earlier, i);
        if vols[i].is_finite() {
            let at = earlier.partition_point(|x| *x < vols[i]);
            earlier.insert(at, vols[i]);
        }
        match (current, r) {
            (_, None) => {}
            (None, Some(r)) => current = Some(r),
            (Some(c), Some(r)) if r == c => {
                candidate = None;
                run = 0;
            }
            (Some(_), Some(r)) => {
                if candidate == Some(r) {
                    run += 1;
                } else {
                    candidate = Some(r);
                    run = 1;
                }
                if run >= CONFIRM_DAYS {
                    current = Some(r);
                    candidate = None;
                    run = 0;
                }
            }
        }
        out.push(current);
    }
    out
}

/// The regime on `day` given each bar's regime (`days`, from [`daily`]): that of the index's
/// last bar on or before it.
pub fn on_day(bars: &[Bar], days: &[Option<Regime>], day: NaiveDate) -> Option<Regime> {
    let n = bars.partition_point(|b| b.ts.date() <= day);
    n.checked_sub(1).and_then(|i| days[i])
}

/// The regime report over an index's daily bars (ascending).
pub fn report(index: &str, bars: &[Bar]) -> RegimeReport {
    let days = daily(bars);
    let mut periods: Vec<Period> = Vec::new();
    for (i, r) in days.iter().enumerate() {
        let Some(r) = *r else { continue };
        let day = bars[i].ts.date();
        match periods.last_mut() {
            Some(p) if p.regime == r => {
                p.to = day;
                p.days += 1;
            }
            _ => periods.push(Period {
                from: day,
                to: day,
                regime: r,
                days: 1,
                index_return: 0.0,
            }),
        }
    }
    // Each period's return, from the close before its first day.
    let at: std::collections::BTreeMap<NaiveDate, usize> = bars
        .iter()
        .enumerate()
        .map(|(i, b)| (b.ts.date(), i))
        .collect();
    for p in &mut periods {
        let (a, b) = (at[&p.from], at[&p.to]);
        let start = bars[a.saturating_sub(1)].close;
        p.index_return = if start > 0.0 {
            bars[b].close / start - 1.0
        } else {
            f64::NAN
        };
    }
    let classified = days.iter().filter(|r| r.is_some()).count();
    let shares = Regime::ALL
        .iter()
        .map(|&g| {
            let rets: Vec<f64> = (0..bars.len().saturating_sub(1))
                .filter(|&i| days[i] == Some(g) && bars[i].close > 0.0)
                .map(|i| bars[i + 1].close / bars[i].close - 1.0)
                .collect();
            let n = days.iter().filter(|r| **r == Some(g)).count();
            RegimeShare {
                regime: g,
                days: n,
                share: if classified > 0 {
                    n as f64 / classified as f64
                } else {
                    0.0
                },
                mean_next_day_return: if rets.is_empty() {
                    f64::NAN
                } else {
                    rets.iter().sum::<f64>() / rets.len() as f64
                },
            }
        })
        .collect();
    let last = days.iter().rposition(Option::is_some);
    RegimeReport {
        index: index.to_string(),
        rule: format!(
            "volatile when the {VOL_BARS}-day volatility is at or above the {:.0}th percentile of its earlier values (at least {VOL_HISTORY}) and {VOL_OVER_MEDIAN} times their median; else bull when the close is above its {TREND_BARS}-day mean and the mean rose over {SLOPE_BARS} days, bear when below and falling, sideways otherwise; a new regime takes over after {CONFIRM_DAYS} days running",
            VOL_PERCENTILE * 100.0
        ),
        current: last.and_then(|i| days[i]),
        as_of: last.map(|i| bars[i].ts.date()),
        periods,
        shares,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars(closes: &[f64]) -> Vec<Bar> {
        crate::analysis::bars_of(
            NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
            closes.to_vec(),
        )
    }

    /// A calm rise, a calm fall, a stretch of wild swings, then flat: the rule names each.
    fn path() -> Vec<f64> {
        let mut c = vec![100.0];
        let mut x = 3u64;
        let mut noise = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((x >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 0.004
        };
        for i in 1..1100 {
            let drift = match i {
                0..400 => 0.002,
                400..700 => -0.002,
                _ => 0.0,
            };
            let swing = if (800..860).contains(&i) {
                if i % 2 == 0 { 0.05 } else { -0.048 }
            } else {
                0.0
            };
            let last = *c.last().unwrap();
            c.push(last * (1.0 + drift + swing + noise()));
        }
        c
    }

    #[test]
    fn a_rise_a_fall_and_a_storm_get_their_names() {
        let b = bars(&path());
        let d = daily(&b);
        assert!(d[..TREND_BARS + SLOPE_BARS - 1].iter().all(Option::is_none));
        assert_eq!(d[350], Some(Regime::Bull));
        assert_eq!(d[650], Some(Regime::Bear));
        assert_eq!(d[850], Some(Regime::Volatile));
        let r = report("X", &b);
        let seen: std::collections::BTreeSet<Regime> = r.periods.iter().map(|p| p.regime).collect();
        assert_eq!(seen.len(), 4, "{:?}", r.periods);
        // Periods tile the classified days without gaps or overlaps.
        assert_eq!(
            r.periods.iter().map(|p| p.days).sum::<usize>(),
            d.iter().flatten().count()
        );
        for w in r.periods.windows(2) {
            assert!(w[0].to < w[1].from && w[0].regime != w[1].regime);
        }
        assert_eq!(r.current, *d.last().unwrap());
        let bull = r.shares.iter().find(|s| s.regime == Regime::Bull).unwrap();
        assert!(bull.mean_next_day_return > 0.0, "{bull:?}");
        // No period is shorter than the confirmation, but for the last one.
        let n = r.periods.len();
        assert!(
            r.periods[1..n - 1].iter().all(|p| p.days >= CONFIRM_DAYS),
            "{:?}",
            r.periods
        );
    }

    #[test]
    fn no_day_reads_a_later_close() {
        let b = bars(&path());
        let full = daily(&b);
        for cut in [300, 640, 845, 1000] {
            assert_eq!(daily(&b[..=cut]), full[..=cut], "cut at {cut}");
        }
    }
}

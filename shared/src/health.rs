//! Data health of a stored series against the exchange calendar: the trading days between its
//! first and last bar that have no bar, its longest such gap, and how many trading days old its
//! last bar is. Days the stored reference data says the stock was suspended are counted apart
//! (`suspended`), so `missing` is the holes a download left; without reference data the two
//! look alike. Days the published calendar does not cover are not judged.
//!
//! Against a second source's bars ([`disagreement`]), the days where the two differ beyond a
//! tolerance: open, high, low and close relative to ours, and volume in shares. The amount is
//! left out (TDX sends it in float32, Yahoo not at all).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::calendar::TradingCalendar;

/// Missing days listed by name, at most.
pub const LISTED: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesHealth {
    pub symbol: String,
    pub source: String,
    pub first: Option<NaiveDate>,
    pub last: Option<NaiveDate>,
    /// Days with at least one bar.
    pub days: usize,
    /// Trading days between the first and the last bar without one, suspensions aside.
    pub missing: usize,
    /// Trading days without a bar that fall in a stored suspension.
    #[serde(default)]
    pub suspended: usize,
    /// The first [`LISTED`] of them.
    pub missing_days: Vec<NaiveDate>,
    /// The longest run of missing trading days.
    pub longest_gap: usize,
    /// Trading days after the last bar, up to and including `today` (0: up to date).
    pub behind: usize,
    /// Where another source's bars of the series differ from the stored ones (when checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disagreement: Option<Disagreement>,
}

/// How a series' stored bars compare with another source's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Disagreement {
    /// The other source.
    pub source: String,
    /// Bars both have (matched by timestamp).
    pub compared: usize,
    /// Of them, the bars where some field differs beyond the tolerance.
    pub days: usize,
    /// The first [`LISTED`] of them, with the field that differs most.
    pub listed: Vec<DisagreeDay>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisagreeDay {
    pub ts: chrono::NaiveDateTime,
    /// `open`, `high`, `low`, `close` or `volume`.
    pub field: String,
    pub ours: f64,
    pub theirs: f64,
}

/// A cross-check job's result: each downloaded series against the stored one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckedSource {
    pub source: String,
    pub frequency: crate::Frequency,
    pub adjustment: crate::Adjustment,
    /// By symbol, the series both have.
    pub series: std::collections::BTreeMap<String, Disagreement>,
    /// Downloaded but not stored: nothing to compare with.
    #[serde(default)]
    pub not_stored: Vec<String>,
}

impl HealthReport {
    /// Marks each series `checked` compared (a cross-check of the same frequency and
    /// adjustment).
    pub fn merge(&mut self, checked: &CheckedSource) {
        if (checked.frequency, checked.adjustment) != (self.frequency, self.adjustment) {
            return;
        }
        for h in &mut self.series {
            if let Some(d) = checked.series.get(&h.symbol) {
                h.disagreement = Some(d.clone());
            }
        }
    }
}

/// Compares `ours` with `theirs` (each ascending) where both have a bar: a bar disagrees when
/// a price or the volume differs from ours by more than `tolerance` of ours (0.0001 flags one
/// tick on a stock under 100 yuan).
pub fn disagreement(
    source: &str,
    ours: &[crate::Bar],
    theirs: &[crate::Bar],
    tolerance: f64,
) -> Disagreement {
    let mut out = Disagreement {
        source: source.to_string(),
        compared: 0,
        days: 0,
        listed: Vec::new(),
    };
    let mut j = 0;
    for a in ours {
        while j < theirs.len() && theirs[j].ts < a.ts {
            j += 1;
        }
        let Some(b) = theirs.get(j).filter(|b| b.ts == a.ts) else {
            continue;
        };
        out.compared += 1;
        let fields = [
            ("open", a.open, b.open),
            ("high", a.high, b.high),
            ("low", a.low, b.low),
            ("close", a.close, b.close),
            ("volume", a.volume, b.volume),
        ];
        let off = |x: f64, y: f64| (x - y).abs() / x.abs().max(f64::MIN_POSITIVE);
        let worst = fields
            .iter()
            .filter(|(_, x, y)| off(*x, *y) > tolerance)
            .max_by(|p, q| off(p.1, p.2).total_cmp(&off(q.1, q.2)));
        if let Some((field, x, y)) = worst {
            out.days += 1;
            if out.listed.len() < LISTED {
                out.listed.push(DisagreeDay {
                    ts: a.ts,
                    field: field.to_string(),
                    ours: *x,
                    theirs: *y,
                });
            }
        }
    }
    out
}

/// Every series checked on one day, worst first: what `kxian-trainer health --format json`
/// prints and `GET /api/data/health` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthReport {
    pub today: NaiveDate,
    pub frequency: crate::Frequency,
    pub adjustment: crate::Adjustment,
    /// Worst first: the most missing days, then the most behind.
    pub series: Vec<SeriesHealth>,
}

/// Checks every `(symbol, source, days)` on `today` and orders them worst first; `status` is
/// the stored reference data's periods (its suspensions are not holes).
pub fn report<'a>(
    series: impl IntoIterator<Item = (&'a str, &'a str, &'a [NaiveDate])>,
    status: &[crate::reference::StatusRecord],
    frequency: crate::Frequency,
    adjustment: crate::Adjustment,
    today: NaiveDate,
) -> HealthReport {
    let cal = TradingCalendar::embedded();
    let mut suspensions: std::collections::HashMap<&str, Vec<&crate::reference::StatusRecord>> =
        std::collections::HashMap::new();
    for r in status
        .iter()
        .filter(|r| r.kind == crate::reference::StatusKind::Suspended)
    {
        suspensions.entry(r.symbol.as_str()).or_default().push(r);
    }
    let mut series: Vec<SeriesHealth> = series
        .into_iter()
        .map(|(symbol, source, days)| {
            let suspended = suspensions.get(symbol).map_or(&[][..], Vec::as_slice);
            check_with(symbol, source, days, cal, today, |d| {
                suspended.iter().any(|r| r.holds_on(d))
            })
        })
        .collect();
    series.sort_by(|a, b| (b.missing, b.behind, &a.symbol).cmp(&(a.missing, a.behind, &b.symbol)));
    HealthReport {
        today,
        frequency,
        adjustment,
        series,
    }
}

/// Checks one series' days (ascending; repeats, as intraday bars give, are fine) on `today`.
pub fn check(
    symbol: &str,
    source: &str,
    days: &[NaiveDate],
    calendar: &TradingCalendar,
    today: NaiveDate,
) -> SeriesHealth {
    check_with(symbol, source, days, calendar, today, |_| false)
}

/// [`check`], with the days `suspended` marks counted as suspensions, not holes.
pub fn check_with(
    symbol: &str,
    source: &str,
    days: &[NaiveDate],
    calendar: &TradingCalendar,
    today: NaiveDate,
    suspended: impl Fn(NaiveDate) -> bool,
) -> SeriesHealth {
    let mut have: Vec<NaiveDate> = days.to_vec();
    have.dedup();
    let (first, last) = (have.first().copied(), have.last().copied());
    let (mut missing, mut listed, mut longest, mut run) = (0, Vec::new(), 0, 0);
    let mut off = 0;
    if let (Some(a), Some(b)) = (first, last) {
        for d in calendar.trading_days_between(a, b) {
            if have.binary_search(d).is_ok() {
                run = 0;
                continue;
            }
            if suspended(*d) {
                off += 1;
                run = 0;
                continue;
            }
            missing += 1;
            run += 1;
            longest = longest.max(run);
            if listed.len() < LISTED {
                listed.push(*d);
            }
        }
    }
    let behind = last.map_or(0, |l| {
        calendar
            .trading_days_between(l, today)
            .iter()
            .filter(|d| **d > l)
            .count()
    });
    SeriesHealth {
        symbol: symbol.to_string(),
        source: source.to_string(),
        first,
        last,
        days: have.len(),
        missing,
        suspended: off,
        missing_days: listed,
        longest_gap: longest,
        behind,
        disagreement: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holes_and_staleness_are_counted_in_trading_days() {
        let cal = TradingCalendar::embedded();
        let d = |m, day| NaiveDate::from_ymd_opt(2024, m, day).unwrap();
        // September 2024's trading days but the 10th–12th; two bars on the 2nd (intraday).
        let mut days: Vec<NaiveDate> = cal
            .trading_days_between(d(9, 2), d(9, 13))
            .iter()
            .copied()
            .filter(|x| !(d(9, 10)..=d(9, 12)).contains(x))
            .collect();
        days.insert(0, d(9, 2));
        let h = check("000001.SZ", "test", &days, cal, d(9, 20));
        assert_eq!((h.first, h.last), (Some(d(9, 2)), Some(d(9, 13))));
        assert_eq!(h.days, 7);
        assert_eq!(h.missing, 3);
        assert_eq!(h.missing_days, [d(9, 10), d(9, 11), d(9, 12)]);
        assert_eq!(h.longest_gap, 3);
        // The 16th and 17th are the Mid-Autumn holiday: 18, 19, 20 are behind.
        assert_eq!(h.behind, 3);
        let fresh = check("x", "t", &[d(9, 20)], cal, d(9, 20));
        assert_eq!((fresh.missing, fresh.behind), (0, 0));
    }

    #[test]
    fn stored_suspensions_are_not_holes() {
        let cal = TradingCalendar::embedded();
        let d = |m, day| NaiveDate::from_ymd_opt(2024, m, day).unwrap();
        let days: Vec<NaiveDate> = cal
            .trading_days_between(d(9, 2), d(9, 13))
            .iter()
            .copied()
            .filter(|x| !(d(9, 5)..=d(9, 11)).contains(x))
            .collect();
        // Suspended the 5th to the 9th: the 10th and 11th are still a hole.
        let status = [crate::reference::StatusRecord {
            symbol: "600001.SH".into(),
            kind: crate::reference::StatusKind::Suspended,
            from: d(9, 5),
            to: Some(d(9, 9)),
            note: None,
        }];
        let r = report(
            [
                ("600001.SH", "test", days.as_slice()),
                ("600002.SH", "test", days.as_slice()),
            ],
            &status,
            crate::Frequency::Daily,
            crate::Adjustment::None,
            d(9, 13),
        );
        let of = |s: &str| r.series.iter().find(|x| x.symbol == s).unwrap();
        assert_eq!((of("600001.SH").missing, of("600001.SH").suspended), (2, 3));
        assert_eq!(of("600001.SH").missing_days, [d(9, 10), d(9, 11)]);
        assert_eq!((of("600002.SH").missing, of("600002.SH").suspended), (5, 0));
    }

    #[test]
    fn bars_that_differ_beyond_the_tolerance_are_counted_and_listed() {
        let bar = |day: u32, close: f64, volume: f64| crate::Bar {
            ts: NaiveDate::from_ymd_opt(2024, 9, day)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
            open: 10.0,
            high: 10.5,
            low: 9.5,
            close,
            volume,
            amount: None,
        };
        let ours = [
            bar(2, 10.0, 1e6),
            bar(3, 10.1, 1e6),
            bar(4, 10.2, 1e6),
            bar(5, 10.3, 1e6),
        ];
        // Day 3: one tick off; day 4: volume a tenth higher; day 6 only theirs.
        let theirs = [
            bar(2, 10.0, 1e6),
            bar(3, 10.11, 1e6),
            bar(4, 10.2, 1.1e6),
            bar(6, 9.0, 1.0),
        ];
        let d = disagreement("tushare", &ours, &theirs, 0.0005);
        assert_eq!((d.compared, d.days), (3, 2));
        assert_eq!(d.listed[0].field, "close");
        assert_eq!((d.listed[0].ours, d.listed[0].theirs), (10.1, 10.11));
        assert_eq!(d.listed[1].field, "volume");
        // A looser tolerance lets the tick through, not the volume.
        assert_eq!(disagreement("t", &ours, &theirs, 0.002).days, 1);
    }
}

//! Data health of a stored series against the exchange calendar: the trading days between its
//! first and last bar that have no bar, its longest such gap, and how many trading days old its
//! last bar is. Days the stored reference data says the stock was suspended are counted apart
//! (`suspended`), so `missing` is the holes a download left; without reference data the two
//! look alike. Days the published calendar does not cover are not judged.

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
}

//! Data health of a stored series against the exchange calendar: the trading days between its
//! first and last bar that have no bar (a suspension or a hole in the download: without
//! reference data the two look alike), its longest such gap, and how many trading days old its
//! last bar is. Days the published calendar does not cover are not judged.

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
    /// Trading days between the first and the last bar without one.
    pub missing: usize,
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

/// Checks every `(symbol, source, days)` on `today` and orders them worst first.
pub fn report<'a>(
    series: impl IntoIterator<Item = (&'a str, &'a str, &'a [NaiveDate])>,
    frequency: crate::Frequency,
    adjustment: crate::Adjustment,
    today: NaiveDate,
) -> HealthReport {
    let cal = TradingCalendar::embedded();
    let mut series: Vec<SeriesHealth> = series
        .into_iter()
        .map(|(symbol, source, days)| check(symbol, source, days, cal, today))
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
    let mut have: Vec<NaiveDate> = days.to_vec();
    have.dedup();
    let (first, last) = (have.first().copied(), have.last().copied());
    let (mut missing, mut listed, mut longest, mut run) = (0, Vec::new(), 0, 0);
    if let (Some(a), Some(b)) = (first, last) {
        for d in calendar.trading_days_between(a, b) {
            if have.binary_search(d).is_ok() {
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
}

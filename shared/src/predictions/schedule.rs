//! The as-of dates of a prediction set. Whether a day ends its week or month is read from the
//! trading calendar (the next trading day falls in another period), never from which bars the
//! data happens to hold, so cutting the data after a day cannot add or move an as-of date.

use chrono::{Datelike, NaiveDate};

use super::config::Every;
use crate::calendar::TradingCalendar;

/// The as-of dates among `days` (the universe's trading days, sorted) within `[from, to]`.
pub fn as_of_dates(
    days: &[NaiveDate],
    every: Every,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    calendar: &TradingCalendar,
) -> Vec<NaiveDate> {
    let in_range: Vec<NaiveDate> = days
        .iter()
        .copied()
        .filter(|d| from.is_none_or(|f| *d >= f) && to.is_none_or(|t| *d <= t))
        .collect();
    let next = |d: NaiveDate| {
        calendar
            .next_trading_days(d, 1)
            .first()
            .map_or(d, |(n, _)| *n)
    };
    match every {
        Every::Day => in_range,
        Every::Bars(n) => in_range.into_iter().step_by(n.max(1)).collect(),
        Every::WeekEnd => in_range
            .into_iter()
            .filter(|d| next(*d).iso_week() != d.iso_week())
            .collect(),
        Every::MonthEnd => in_range
            .into_iter()
            .filter(|d| {
                let n = next(*d);
                (n.year(), n.month()) != (d.year(), d.month())
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn month_and_week_ends_come_from_the_calendar() {
        let cal = TradingCalendar::embedded();
        let days = cal.trading_days_between(d("2023-01-01"), d("2023-03-31"));
        let m = as_of_dates(days, Every::MonthEnd, None, None, cal);
        assert_eq!(m, [d("2023-01-31"), d("2023-02-28"), d("2023-03-31")]);
        // Cut after the 15th of March: March's end is not an as-of date of the cut data.
        let cut: Vec<NaiveDate> = days
            .iter()
            .copied()
            .filter(|x| *x <= d("2023-03-15"))
            .collect();
        assert_eq!(
            as_of_dates(&cut, Every::MonthEnd, None, None, cal),
            [d("2023-01-31"), d("2023-02-28")]
        );
        let w = as_of_dates(
            days,
            Every::WeekEnd,
            Some(d("2023-01-02")),
            Some(d("2023-01-31")),
            cal,
        );
        // The Spring Festival week ends on Friday the 20th (the market reopens on the 30th).
        assert!(w.contains(&d("2023-01-20")) && w.contains(&d("2023-01-13")));
        assert!(!w.contains(&d("2023-01-19")));
    }

    #[test]
    fn every_n_bars_counts_from_the_first_day() {
        let cal = TradingCalendar::embedded();
        let days = cal.trading_days_between(d("2023-01-03"), d("2023-01-13"));
        let e = as_of_dates(days, Every::Bars(3), None, None, cal);
        assert_eq!(e, [d("2023-01-03"), d("2023-01-06"), d("2023-01-11")]);
    }
}

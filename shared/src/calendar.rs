//! The A-share trading calendar (SSE; SZSE and BSE share it) and the intraday session grid.
//!
//! The published calendar is embedded at build time and runs to its last published date
//! (2026-12-31 in this build). Beyond that the next year's closures are not yet announced:
//! dates there are projected as weekdays and flagged `provisional`, so a caller can say so.

use crate::domain::Frequency;
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use std::sync::OnceLock;

const EMBEDDED: &str = include_str!("../data/sse_trading_days.txt");

/// A future bar label and whether it lies past the published calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FutureBar {
    pub ts: NaiveDateTime,
    pub provisional: bool,
}

#[derive(Debug, Clone)]
pub struct TradingCalendar {
    /// Sorted, unique.
    days: Vec<NaiveDate>,
}

impl TradingCalendar {
    /// The calendar compiled into this build.
    pub fn embedded() -> &'static TradingCalendar {
        static CAL: OnceLock<TradingCalendar> = OnceLock::new();
        CAL.get_or_init(|| {
            let days = EMBEDDED
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| {
                    NaiveDate::parse_from_str(l.trim(), "%Y%m%d")
                        .expect("embedded calendar is valid")
                })
                .collect();
            TradingCalendar::from_days(days)
        })
    }

    /// A calendar from a list of trading days (any order, duplicates ignored).
    pub fn from_days(mut days: Vec<NaiveDate>) -> TradingCalendar {
        days.sort_unstable();
        days.dedup();
        TradingCalendar { days }
    }

    pub fn first_day(&self) -> Option<NaiveDate> {
        self.days.first().copied()
    }

    /// The last published trading day.
    pub fn last_day(&self) -> Option<NaiveDate> {
        self.days.last().copied()
    }

    pub fn len(&self) -> usize {
        self.days.len()
    }

    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }

    /// Whether `date` is inside the published range.
    pub fn is_published(&self, date: NaiveDate) -> bool {
        matches!((self.first_day(), self.last_day()), (Some(a), Some(b)) if date >= a && date <= b)
    }

    /// Trading day per the published calendar; a weekday guess past its end.
    pub fn is_trading_day(&self, date: NaiveDate) -> bool {
        if self.is_published(date) {
            self.days.binary_search(&date).is_ok()
        } else {
            !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
        }
    }

    /// Trading days in `[from, to]` per the published calendar.
    pub fn trading_days_between(&self, from: NaiveDate, to: NaiveDate) -> &[NaiveDate] {
        let a = self.days.partition_point(|d| *d < from);
        let b = self.days.partition_point(|d| *d <= to);
        &self.days[a..b.max(a)]
    }

    /// The `n` trading days after `date`, each flagged provisional past the published end.
    pub fn next_trading_days(&self, date: NaiveDate, n: usize) -> Vec<(NaiveDate, bool)> {
        let mut out = Vec::with_capacity(n);
        let mut d = date;
        while out.len() < n {
            d += Duration::days(1);
            if self.is_trading_day(d) {
                out.push((d, !self.is_published(d)));
            }
        }
        out
    }

    /// Labels of the `n` bars after `last` at `frequency`: trading days for daily bars, the
    /// last trading day of each following week/month for weekly/monthly bars, and bar ends on
    /// the 09:30–11:30 / 13:00–15:00 session grid for intraday bars.
    pub fn next_bars(&self, last: NaiveDateTime, frequency: Frequency, n: usize) -> Vec<FutureBar> {
        let midnight = NaiveTime::MIN;
        match frequency {
            Frequency::Daily => self
                .next_trading_days(last.date(), n)
                .into_iter()
                .map(|(d, provisional)| FutureBar {
                    ts: d.and_time(midnight),
                    provisional,
                })
                .collect(),
            Frequency::Weekly | Frequency::Monthly => {
                let same_period = |a: NaiveDate, b: NaiveDate| match frequency {
                    Frequency::Weekly => a.iso_week() == b.iso_week(),
                    _ => (a.year(), a.month()) == (b.year(), b.month()),
                };
                let mut out = Vec::with_capacity(n);
                let mut day = last.date();
                let mut current: Option<(NaiveDate, bool)> = None;
                while out.len() < n {
                    let (d, prov) = self.next_trading_days(day, 1)[0];
                    day = d;
                    if same_period(d, last.date()) {
                        continue;
                    }
                    match current {
                        Some((c, p)) if !same_period(c, d) => {
                            out.push(FutureBar {
                                ts: c.and_time(midnight),
                                provisional: p,
                            });
                            current = Some((d, prov));
                        }
                        _ => current = Some((d, prov)),
                    }
                }
                out
            }
            _ => {
                let step = frequency.minutes().expect("intraday") as i64;
                let grid = session_grid(step);
                let mut out = Vec::with_capacity(n);
                let mut date = last.date();
                let mut after = last.time();
                if !self.is_trading_day(date) {
                    after = NaiveTime::MIN;
                }
                let provisional_of = |d: NaiveDate| !self.is_published(d);
                let mut day_ok = self.is_trading_day(date);
                while out.len() < n {
                    if day_ok {
                        for t in grid.iter().filter(|t| **t > after) {
                            out.push(FutureBar {
                                ts: date.and_time(*t),
                                provisional: provisional_of(date),
                            });
                            if out.len() == n {
                                break;
                            }
                        }
                    }
                    let (next, _) = self.next_trading_days(date, 1)[0];
                    date = next;
                    after = NaiveTime::MIN;
                    day_ok = true;
                }
                out
            }
        }
    }
}

/// Bar END times of one trading day for a step in minutes: 09:31…11:30, 13:01…15:00 for 1m.
pub fn session_grid(step_minutes: i64) -> Vec<NaiveTime> {
    let mut out = Vec::new();
    for (open, close) in [(9 * 60 + 30, 11 * 60 + 30), (13 * 60, 15 * 60)] {
        let mut m = open + step_minutes;
        while m <= close {
            out.push(NaiveTime::from_hms_opt((m / 60) as u32, (m % 60) as u32, 0).expect("valid"));
            m += step_minutes;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn embedded_calendar_matches_the_published_counts() {
        let cal = TradingCalendar::embedded();
        assert_eq!(cal.len(), 8797);
        assert_eq!(cal.first_day(), Some(d(1990, 12, 19)));
        assert_eq!(cal.last_day(), Some(d(2026, 12, 31)));
        // docs/a-share-rules.md §7: 242 / 243 / 242 trading days.
        assert_eq!(
            cal.trading_days_between(d(2024, 1, 1), d(2024, 12, 31))
                .len(),
            242
        );
        assert_eq!(
            cal.trading_days_between(d(2025, 1, 1), d(2025, 12, 31))
                .len(),
            243
        );
        assert_eq!(
            cal.trading_days_between(d(2026, 1, 1), d(2026, 12, 31))
                .len(),
            242
        );
        // 2026 National Day closures.
        assert!(!cal.is_trading_day(d(2026, 10, 1)));
        assert!(!cal.is_trading_day(d(2026, 10, 7)));
        assert!(cal.is_trading_day(d(2026, 10, 8)));
    }

    #[test]
    fn next_days_skip_holidays_and_flag_projection() {
        let cal = TradingCalendar::embedded();
        let next = cal.next_trading_days(d(2026, 9, 30), 2);
        assert_eq!(next, vec![(d(2026, 10, 8), false), (d(2026, 10, 9), false)]);
        let past_end = cal.next_trading_days(d(2026, 12, 31), 1);
        assert_eq!(
            past_end,
            vec![(d(2027, 1, 1), true)],
            "weekday projection, flagged"
        );
    }

    #[test]
    fn intraday_bars_cross_lunch_and_the_night() {
        let cal = TradingCalendar::embedded();
        let last = d(2024, 9, 13).and_hms_opt(11, 25, 0).unwrap();
        let next = cal.next_bars(last, Frequency::M5, 3);
        let times: Vec<String> = next
            .iter()
            .map(|b| b.ts.format("%m-%d %H:%M").to_string())
            .collect();
        assert_eq!(times, ["09-13 11:30", "09-13 13:05", "09-13 13:10"]);
        let close = d(2024, 9, 13).and_hms_opt(15, 0, 0).unwrap();
        // 2024-09-16/17 were the Mid-Autumn holiday.
        let next = cal.next_bars(close, Frequency::M60, 2);
        assert_eq!(next[0].ts, d(2024, 9, 18).and_hms_opt(10, 30, 0).unwrap());
        assert_eq!(session_grid(1).len(), 240);
        assert_eq!(session_grid(60).len(), 4);
    }

    #[test]
    fn weekly_and_monthly_bars_land_on_period_ends() {
        let cal = TradingCalendar::embedded();
        let next = cal.next_bars(
            d(2024, 9, 13).and_hms_opt(0, 0, 0).unwrap(),
            Frequency::Weekly,
            2,
        );
        assert_eq!(next[0].ts.date(), d(2024, 9, 20));
        assert_eq!(next[1].ts.date(), d(2024, 9, 27));
        let next = cal.next_bars(
            d(2024, 8, 30).and_hms_opt(0, 0, 0).unwrap(),
            Frequency::Monthly,
            1,
        );
        assert_eq!(next[0].ts.date(), d(2024, 9, 30));
    }
}

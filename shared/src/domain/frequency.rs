use chrono::{NaiveDateTime, Timelike};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Bar frequency. Intraday bars follow the A-share sessions 09:30–11:30 and 13:00–15:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Frequency {
    #[serde(rename = "1m")]
    M1,
    #[serde(rename = "5m")]
    M5,
    #[serde(rename = "15m")]
    M15,
    #[serde(rename = "30m")]
    M30,
    #[serde(rename = "60m")]
    M60,
    #[serde(rename = "daily")]
    Daily,
    #[serde(rename = "weekly")]
    Weekly,
    #[serde(rename = "monthly")]
    Monthly,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown frequency `{0}` (expected one of 1m, 5m, 15m, 30m, 60m, daily, weekly, monthly)")]
pub struct ParseFrequencyError(pub String);

impl Frequency {
    pub const ALL: [Frequency; 8] = [
        Frequency::M1,
        Frequency::M5,
        Frequency::M15,
        Frequency::M30,
        Frequency::M60,
        Frequency::Daily,
        Frequency::Weekly,
        Frequency::Monthly,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::M1 => "1m",
            Frequency::M5 => "5m",
            Frequency::M15 => "15m",
            Frequency::M30 => "30m",
            Frequency::M60 => "60m",
            Frequency::Daily => "daily",
            Frequency::Weekly => "weekly",
            Frequency::Monthly => "monthly",
        }
    }

    /// Minutes per bar for intraday frequencies.
    pub fn minutes(self) -> Option<u32> {
        match self {
            Frequency::M1 => Some(1),
            Frequency::M5 => Some(5),
            Frequency::M15 => Some(15),
            Frequency::M30 => Some(30),
            Frequency::M60 => Some(60),
            _ => None,
        }
    }

    pub fn is_intraday(self) -> bool {
        self.minutes().is_some()
    }

    /// Bars per full trading day for intraday frequencies (240 one-minute bars).
    pub fn bars_per_day(self) -> Option<u32> {
        self.minutes().map(|m| 240 / m)
    }

    fn from_minutes(m: i64) -> Option<Frequency> {
        match m {
            1 => Some(Frequency::M1),
            5 => Some(Frequency::M5),
            15 => Some(Frequency::M15),
            30 => Some(Frequency::M30),
            60 => Some(Frequency::M60),
            _ => None,
        }
    }

    /// Whether a bar label fits this frequency: a date at 00:00 for daily and longer bars,
    /// a bar END on the session grid for intraday bars (09:31…11:30, 13:01…15:00 for 1-minute;
    /// 10:30, 11:30, 14:00, 15:00 for 60-minute). Eastmoney's separate 09:30 auction print is
    /// accepted for 1-minute bars.
    pub fn accepts(self, ts: NaiveDateTime) -> bool {
        let minute_of_day = ts.hour() * 60 + ts.minute();
        let Some(step) = self.minutes() else {
            return minute_of_day == 0 && ts.second() == 0;
        };
        if ts.second() != 0 {
            return false;
        }
        const MORNING: (u32, u32) = (9 * 60 + 30, 11 * 60 + 30);
        const AFTERNOON: (u32, u32) = (13 * 60, 15 * 60);
        if step == 1 && minute_of_day == MORNING.0 {
            return true;
        }
        [MORNING, AFTERNOON].iter().any(|&(open, close)| {
            minute_of_day > open
                && minute_of_day <= close
                && (minute_of_day - open).is_multiple_of(step)
        })
    }

    /// Infers the frequency of sorted timestamps: intraday from the most common gap inside a
    /// day, otherwise daily/weekly/monthly from the median gap between dates.
    pub fn infer(sorted: &[NaiveDateTime]) -> Option<Frequency> {
        if sorted.is_empty() {
            return None;
        }
        let intraday = sorted
            .iter()
            .any(|t| t.hour() != 0 || t.minute() != 0 || t.second() != 0);
        let gaps = sorted.windows(2).filter_map(|w| {
            let same_day = w[0].date() == w[1].date();
            (intraday == same_day).then(|| (w[1] - w[0]).num_minutes())
        });
        if intraday {
            let mut counts = std::collections::BTreeMap::<i64, usize>::new();
            for g in gaps.filter(|g| *g > 0) {
                *counts.entry(g).or_default() += 1;
            }
            let mode = counts
                .into_iter()
                .max_by_key(|&(g, n)| (n, -g))
                .map(|(g, _)| g);
            // A single intraday bar, or only one per day: read the step off the clock.
            let step = mode.unwrap_or_else(|| {
                let m = i64::from(sorted[0].hour() * 60 + sorted[0].minute());
                [60, 30, 15, 5, 1]
                    .into_iter()
                    .find(|s| (m - 570) % s == 0 || (m - 780) % s == 0)
                    .unwrap_or(1)
            });
            return Frequency::from_minutes(step);
        }
        let mut days: Vec<i64> = gaps.map(|g| g / (24 * 60)).filter(|d| *d > 0).collect();
        if days.is_empty() {
            return Some(Frequency::Daily);
        }
        days.sort_unstable();
        let median = days[days.len() / 2];
        Some(match median {
            0..=4 => Frequency::Daily,
            5..=15 => Frequency::Weekly,
            _ => Frequency::Monthly,
        })
    }
}

impl fmt::Display for Frequency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Frequency {
    type Err = ParseFrequencyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase();
        Ok(match norm.as_str() {
            "1m" | "1min" | "m1" | "1" | "minute" => Frequency::M1,
            "5m" | "5min" | "m5" | "5" => Frequency::M5,
            "15m" | "15min" | "m15" | "15" => Frequency::M15,
            "30m" | "30min" | "m30" | "30" => Frequency::M30,
            "60m" | "60min" | "m60" | "1h" | "60" => Frequency::M60,
            "daily" | "day" | "d" | "1d" | "101" => Frequency::Daily,
            "weekly" | "week" | "w" | "1w" | "102" => Frequency::Weekly,
            "monthly" | "month" | "mo" | "1mo" | "103" => Frequency::Monthly,
            _ => return Err(ParseFrequencyError(s.to_string())),
        })
    }
}

/// Price adjustment of a stored series. Raw prices are the default and the only kind the
/// embedded data has; adjusted series are stored as separate series, never mixed.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Adjustment {
    /// Unadjusted (不复权).
    #[default]
    None,
    /// Forward-adjusted (前复权).
    Qfq,
    /// Backward-adjusted (后复权).
    Hfq,
}

impl Adjustment {
    pub const ALL: [Adjustment; 3] = [Adjustment::None, Adjustment::Qfq, Adjustment::Hfq];

    pub fn as_str(self) -> &'static str {
        match self {
            Adjustment::None => "none",
            Adjustment::Qfq => "qfq",
            Adjustment::Hfq => "hfq",
        }
    }
}

impl fmt::Display for Adjustment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown adjustment `{0}` (expected none, qfq or hfq)")]
pub struct ParseAdjustmentError(pub String);

impl FromStr for Adjustment {
    type Err = ParseAdjustmentError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "none" | "raw" | "bfq" | "0" => Ok(Adjustment::None),
            "qfq" | "forward" | "1" => Ok(Adjustment::Qfq),
            "hfq" | "backward" | "2" => Ok(Adjustment::Hfq),
            _ => Err(ParseAdjustmentError(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(d: u32, h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2024, 9, d)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    #[test]
    fn infers_intraday_steps_across_the_lunch_break() {
        let bars: Vec<_> = [(10, 25), (10, 30), (11, 30), (13, 5), (13, 10)]
            .iter()
            .map(|&(h, m)| at(13, h, m))
            .collect();
        assert_eq!(Frequency::infer(&bars), Some(Frequency::M5));
    }

    #[test]
    fn infers_daily_weekly_monthly() {
        let daily = [at(2, 0, 0), at(3, 0, 0), at(4, 0, 0), at(9, 0, 0)];
        assert_eq!(Frequency::infer(&daily), Some(Frequency::Daily));
        let weekly = [at(2, 0, 0), at(9, 0, 0), at(16, 0, 0)];
        assert_eq!(Frequency::infer(&weekly), Some(Frequency::Weekly));
        let monthly = [
            NaiveDate::from_ymd_opt(2024, 1, 31)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
            NaiveDate::from_ymd_opt(2024, 2, 29)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
            NaiveDate::from_ymd_opt(2024, 3, 29)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
        ];
        assert_eq!(Frequency::infer(&monthly), Some(Frequency::Monthly));
    }

    #[test]
    fn session_grid() {
        assert!(Frequency::M1.accepts(at(2, 9, 31)));
        assert!(Frequency::M1.accepts(at(2, 15, 0)));
        assert!(!Frequency::M1.accepts(at(2, 12, 0)));
        assert!(Frequency::M5.accepts(at(2, 13, 5)));
        assert!(!Frequency::M5.accepts(at(2, 13, 3)));
        assert!(Frequency::M60.accepts(at(2, 10, 30)));
        assert!(Frequency::M60.accepts(at(2, 14, 0)));
        assert!(!Frequency::M60.accepts(at(2, 10, 0)));
        assert!(Frequency::Daily.accepts(at(2, 0, 0)));
        assert!(!Frequency::Daily.accepts(at(2, 15, 0)));
    }

    #[test]
    fn parses_aliases() {
        assert_eq!("5min".parse::<Frequency>().unwrap(), Frequency::M5);
        assert_eq!("Daily".parse::<Frequency>().unwrap(), Frequency::Daily);
        assert!("2m".parse::<Frequency>().is_err());
        assert_eq!("QFQ".parse::<Adjustment>().unwrap(), Adjustment::Qfq);
        let e = "xfq".parse::<Adjustment>().unwrap_err().to_string();
        assert_eq!(e, "unknown adjustment `xfq` (expected none, qfq or hfq)");
    }
}

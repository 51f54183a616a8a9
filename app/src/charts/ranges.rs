//! Time range presets: which ones a frequency offers, and where each starts.

use crate::i18n::Lang;
use chrono::{Months, NaiveDate};
use kxian_shared::{Bar, Frequency};

/// The server's largest page; enough for 20 years of daily bars.
pub const MAX_BARS: u32 = 100_000;

/// Intraday series load this many trading days unless the user picks "All".
pub const INTRADAY_DAYS: u32 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RangePreset {
    D1,
    D5,
    D20,
    M1,
    M3,
    M6,
    Y1,
    Y3,
    Y5,
    All,
}

const DAILY_PRESETS: [RangePreset; 7] = [
    RangePreset::M1,
    RangePreset::M3,
    RangePreset::M6,
    RangePreset::Y1,
    RangePreset::Y3,
    RangePreset::Y5,
    RangePreset::All,
];

const INTRADAY_PRESETS: [RangePreset; 4] = [
    RangePreset::D1,
    RangePreset::D5,
    RangePreset::D20,
    RangePreset::All,
];

impl RangePreset {
    /// The URL spelling (`?range=1Y`), also used in element ids (`#range-1Y`).
    pub fn code(self) -> &'static str {
        match self {
            RangePreset::D1 => "1D",
            RangePreset::D5 => "5D",
            RangePreset::D20 => "20D",
            RangePreset::M1 => "1M",
            RangePreset::M3 => "3M",
            RangePreset::M6 => "6M",
            RangePreset::Y1 => "1Y",
            RangePreset::Y3 => "3Y",
            RangePreset::Y5 => "5Y",
            RangePreset::All => "All",
        }
    }

    pub fn parse(s: &str) -> Option<RangePreset> {
        [INTRADAY_PRESETS.as_slice(), DAILY_PRESETS.as_slice()]
            .concat()
            .into_iter()
            .find(|p| p.code().eq_ignore_ascii_case(s))
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (lang, self) {
            (Lang::En, p) => p.code(),
            (Lang::Zh, RangePreset::D1) => "1日",
            (Lang::Zh, RangePreset::D5) => "5日",
            (Lang::Zh, RangePreset::D20) => "20日",
            (Lang::Zh, RangePreset::M1) => "1月",
            (Lang::Zh, RangePreset::M3) => "3月",
            (Lang::Zh, RangePreset::M6) => "6月",
            (Lang::Zh, RangePreset::Y1) => "1年",
            (Lang::Zh, RangePreset::Y3) => "3年",
            (Lang::Zh, RangePreset::Y5) => "5年",
            (Lang::Zh, RangePreset::All) => "全部",
        }
    }

    /// The presets offered for a frequency: trading days for intraday bars, calendar spans
    /// otherwise.
    pub fn for_frequency(frequency: Frequency) -> &'static [RangePreset] {
        if frequency.is_intraday() {
            &INTRADAY_PRESETS
        } else {
            &DAILY_PRESETS
        }
    }

    pub fn default_for(frequency: Frequency) -> RangePreset {
        match frequency {
            f if f.is_intraday() => RangePreset::D1,
            Frequency::Daily => RangePreset::Y1,
            Frequency::Weekly => RangePreset::Y5,
            _ => RangePreset::All,
        }
    }

    /// The preset from the URL when it fits the frequency, else the frequency's default.
    pub fn resolve(raw: Option<&str>, frequency: Frequency) -> RangePreset {
        raw.and_then(RangePreset::parse)
            .filter(|p| Self::for_frequency(frequency).contains(p))
            .unwrap_or_else(|| Self::default_for(frequency))
    }
}

/// How many bars to request: everything for daily and longer bars, and for intraday bars the
/// last [`INTRADAY_DAYS`] trading days unless the preset is "All".
pub fn fetch_limit(frequency: Frequency, preset: RangePreset) -> u32 {
    match frequency.bars_per_day() {
        // +1 a day for Eastmoney's separate 09:30 auction print.
        Some(per_day) if preset != RangePreset::All => INTRADAY_DAYS * (per_day + 1),
        _ => MAX_BARS,
    }
}

/// Index of the first bar inside the preset's window, which ends at the last bar.
pub fn window_start(bars: &[Bar], preset: RangePreset) -> usize {
    let Some(last) = bars.last() else {
        return 0;
    };
    let last_day = last.ts.date();
    let months = |n: u32| -> usize {
        let cutoff = last_day
            .checked_sub_months(Months::new(n))
            .unwrap_or(NaiveDate::MIN);
        bars.partition_point(|b| b.ts.date() <= cutoff)
    };
    let days = |n: usize| -> usize {
        let mut seen = 0;
        let mut day = None;
        for (i, b) in bars.iter().enumerate().rev() {
            if day != Some(b.ts.date()) {
                if seen == n {
                    return i + 1;
                }
                seen += 1;
                day = Some(b.ts.date());
            }
        }
        0
    };
    match preset {
        RangePreset::D1 => days(1),
        RangePreset::D5 => days(5),
        RangePreset::D20 => days(20),
        RangePreset::M1 => months(1),
        RangePreset::M3 => months(3),
        RangePreset::M6 => months(6),
        RangePreset::Y1 => months(12),
        RangePreset::Y3 => months(36),
        RangePreset::Y5 => months(60),
        RangePreset::All => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;

    fn bar(ts: NaiveDateTime) -> Bar {
        Bar {
            ts,
            open: 1.0,
            high: 1.0,
            low: 1.0,
            close: 1.0,
            volume: 1.0,
            amount: None,
        }
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn presets_per_frequency() {
        assert_eq!(RangePreset::for_frequency(Frequency::M1).len(), 4);
        assert_eq!(RangePreset::for_frequency(Frequency::Daily).len(), 7);
        assert_eq!(
            RangePreset::resolve(Some("1y"), Frequency::Daily),
            RangePreset::Y1
        );
        assert_eq!(
            RangePreset::resolve(Some("1Y"), Frequency::M1),
            RangePreset::D1
        );
        assert_eq!(
            RangePreset::resolve(None, Frequency::Daily),
            RangePreset::Y1
        );
        assert_eq!(
            RangePreset::resolve(Some("All"), Frequency::M1),
            RangePreset::All
        );
        assert_eq!(fetch_limit(Frequency::M1, RangePreset::D1), 4820);
        assert_eq!(fetch_limit(Frequency::M1, RangePreset::All), MAX_BARS);
        assert_eq!(fetch_limit(Frequency::Daily, RangePreset::M1), MAX_BARS);
    }

    #[test]
    fn month_windows_count_calendar_months_back_from_the_last_bar() {
        let start = day(2023, 1, 1);
        let bars: Vec<Bar> = (0..700)
            .map(|i| bar((start + chrono::Days::new(i)).and_hms_opt(0, 0, 0).unwrap()))
            .collect();
        let last = bars.last().unwrap().ts.date();
        assert_eq!(last, day(2024, 11, 30));
        let i = window_start(&bars, RangePreset::M1);
        assert_eq!(bars[i].ts.date(), day(2024, 10, 31));
        let i = window_start(&bars, RangePreset::Y1);
        assert_eq!(bars[i].ts.date(), day(2023, 12, 1));
        assert_eq!(window_start(&bars, RangePreset::Y5), 0);
        assert_eq!(window_start(&bars, RangePreset::All), 0);
        assert_eq!(window_start(&[], RangePreset::Y1), 0);
    }

    #[test]
    fn day_windows_count_trading_days() {
        let mut bars = Vec::new();
        for d in [2, 3, 4] {
            for m in [31, 32, 33] {
                bars.push(bar(day(2024, 9, d).and_hms_opt(9, m, 0).unwrap()));
            }
        }
        assert_eq!(window_start(&bars, RangePreset::D1), 6);
        assert_eq!(window_start(&bars, RangePreset::D5), 0);
        assert_eq!(window_start(&bars[..7], RangePreset::D1), 6);
    }
}

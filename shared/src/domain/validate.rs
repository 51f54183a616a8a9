//! Validation rules for bars and series, and what is rejected versus repaired.
//!
//! **Rejected** (the row is reported as an error; by default the whole import fails and
//! nothing is written):
//! - a non-finite value (NaN, ±inf) in any field;
//! - a price ≤ 0;
//! - a negative volume or amount;
//! - high below max(open, close) or low above min(open, close), unless swapping high and low
//!   fixes it (see below) or the gap is float noise;
//! - two rows with the same timestamp and different values (which one is right is unknowable);
//! - a timestamp that is not on the series' frequency grid (mixed frequencies in one file,
//!   e.g. a 10:33 bar in a 5-minute file, or an intraday time in a daily file).
//!
//! **Repaired with a warning** (the row is kept):
//! - high and low swapped (high < low, and the swapped pair brackets open and close);
//! - high/low off the body by at most [`NOISE`] relative (float32 rounding, as in Yahoo data):
//!   clamped to the body;
//! - rows out of order: sorted. A file that is exactly newest-first (Tushare exports) is
//!   reversed silently, since that is its documented layout;
//! - a row repeated verbatim: the later copy is dropped.

use super::{Bar, Frequency, OhlcField};
use chrono::NaiveDateTime;
use std::collections::HashSet;
use std::fmt;

/// Relative tolerance below which an OHLC inconsistency is treated as rounding noise.
pub const NOISE: f64 = 1e-4;

/// Why one bar is invalid.
#[derive(Debug, Clone, PartialEq)]
pub enum BarIssue {
    NonFinite { field: OhlcField },
    NonPositivePrice { field: OhlcField, value: f64 },
    Negative { field: OhlcField, value: f64 },
    HighBelowBody { high: f64, body_top: f64 },
    LowAboveBody { low: f64, body_bottom: f64 },
}

impl BarIssue {
    /// The field to blame in an error message.
    pub fn field(&self) -> OhlcField {
        match self {
            BarIssue::NonFinite { field }
            | BarIssue::NonPositivePrice { field, .. }
            | BarIssue::Negative { field, .. } => *field,
            BarIssue::HighBelowBody { .. } => OhlcField::High,
            BarIssue::LowAboveBody { .. } => OhlcField::Low,
        }
    }
}

impl fmt::Display for BarIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BarIssue::NonFinite { field } => write!(f, "{field} is not a finite number"),
            BarIssue::NonPositivePrice { field, value } => {
                write!(f, "{field} price must be positive, got {value}")
            }
            BarIssue::Negative { field, value } => {
                write!(f, "{field} must not be negative, got {value}")
            }
            BarIssue::HighBelowBody { high, body_top } => {
                write!(f, "high {high} is below max(open, close) = {body_top}")
            }
            BarIssue::LowAboveBody { low, body_bottom } => {
                write!(f, "low {low} is above min(open, close) = {body_bottom}")
            }
        }
    }
}

/// A repair applied to a bar that was kept.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Repair {
    SwappedHighLow,
    ClampedRoundingNoise,
}

impl fmt::Display for Repair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Repair::SwappedHighLow => f.write_str("high and low were swapped; swapped them back"),
            Repair::ClampedRoundingNoise => {
                f.write_str("high/low off the open-close body by rounding noise; clamped")
            }
        }
    }
}

/// Checks one bar, repairing what [the policy](self) allows in place.
pub fn check_bar(bar: &mut Bar) -> Result<Option<Repair>, BarIssue> {
    let prices = [
        (OhlcField::Open, bar.open),
        (OhlcField::High, bar.high),
        (OhlcField::Low, bar.low),
        (OhlcField::Close, bar.close),
    ];
    let others = [
        (OhlcField::Volume, bar.volume),
        (OhlcField::Amount, bar.amount.unwrap_or(0.0)),
    ];
    if let Some(&(field, _)) = prices.iter().chain(&others).find(|(_, v)| !v.is_finite()) {
        return Err(BarIssue::NonFinite { field });
    }
    if let Some(&(field, value)) = prices.iter().find(|(_, v)| *v <= 0.0) {
        return Err(BarIssue::NonPositivePrice { field, value });
    }
    if bar.volume < 0.0 {
        return Err(BarIssue::Negative {
            field: OhlcField::Volume,
            value: bar.volume,
        });
    }
    if let Some(a) = bar.amount.filter(|a| *a < 0.0) {
        return Err(BarIssue::Negative {
            field: OhlcField::Amount,
            value: a,
        });
    }
    let top = bar.open.max(bar.close);
    let bottom = bar.open.min(bar.close);
    if bar.high >= top && bar.low <= bottom {
        return Ok(None);
    }
    if bar.high < bar.low && bar.low >= top && bar.high <= bottom {
        std::mem::swap(&mut bar.high, &mut bar.low);
        return Ok(Some(Repair::SwappedHighLow));
    }
    let high_ok = bar.high >= top * (1.0 - NOISE);
    let low_ok = bar.low <= bottom * (1.0 + NOISE);
    if !high_ok {
        return Err(BarIssue::HighBelowBody {
            high: bar.high,
            body_top: top,
        });
    }
    if !low_ok {
        return Err(BarIssue::LowAboveBody {
            low: bar.low,
            body_bottom: bottom,
        });
    }
    bar.high = bar.high.max(top);
    bar.low = bar.low.min(bottom);
    Ok(Some(Repair::ClampedRoundingNoise))
}

/// A problem of a row within a series.
#[derive(Debug, Clone, PartialEq)]
pub enum SeriesIssue {
    /// Same timestamp as an earlier row with different values.
    ConflictingDuplicate { ts: NaiveDateTime, first_row: u64 },
    /// Same timestamp and same values as an earlier row: dropped (a warning).
    RepeatedRow { ts: NaiveDateTime, first_row: u64 },
    /// Timestamp not on the frequency's grid.
    OffGrid {
        ts: NaiveDateTime,
        frequency: Frequency,
    },
}

impl SeriesIssue {
    pub fn is_error(&self) -> bool {
        !matches!(self, SeriesIssue::RepeatedRow { .. })
    }
}

impl fmt::Display for SeriesIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeriesIssue::ConflictingDuplicate { ts, first_row } => write!(
                f,
                "duplicate timestamp {ts} with different values (first seen at row {first_row})"
            ),
            SeriesIssue::RepeatedRow { ts, first_row } => {
                write!(f, "row repeats row {first_row} ({ts}); dropped")
            }
            SeriesIssue::OffGrid { ts, frequency } => {
                if frequency.is_intraday() {
                    write!(
                        f,
                        "{ts} is not a {frequency} bar end in the A-share sessions (mixed frequencies?)"
                    )
                } else {
                    write!(
                        f,
                        "{ts} has a time of day in a {frequency} series (mixed frequencies?)"
                    )
                }
            }
        }
    }
}

/// Bars of one series in order, with the issues found while ordering them.
#[derive(Debug, Clone, Default)]
pub struct PreparedSeries {
    pub bars: Vec<Bar>,
    /// (source row, issue); errors and warnings, see [`SeriesIssue::is_error`].
    pub issues: Vec<(u64, SeriesIssue)>,
    /// The input was neither ascending nor exactly newest-first, and was sorted.
    pub reordered: bool,
}

/// Orders rows by time, drops verbatim repeats, and flags conflicting duplicates and
/// timestamps off the frequency grid. `rows` pairs each bar with its 1-based source row.
pub fn prepare_series(mut rows: Vec<(u64, Bar)>, frequency: Frequency) -> PreparedSeries {
    let ascending = rows.windows(2).all(|w| w[0].1.ts <= w[1].1.ts);
    let descending = rows.windows(2).all(|w| w[0].1.ts >= w[1].1.ts);
    let reordered = !ascending && !descending;
    if !ascending {
        // Stable on rows, so "first seen" below means first in the file.
        rows.sort_by_key(|(row, bar)| (bar.ts, *row));
    }
    let mut out = PreparedSeries {
        reordered,
        ..Default::default()
    };
    out.bars.reserve(rows.len());
    // Rows are sorted here, so a duplicate can only follow its first copy.
    let mut first_row_of_last = 0u64;
    for (row, bar) in rows {
        if !frequency.accepts(bar.ts) {
            out.issues.push((
                row,
                SeriesIssue::OffGrid {
                    ts: bar.ts,
                    frequency,
                },
            ));
            continue;
        }
        if let Some(prev) = out.bars.last().filter(|b| b.ts == bar.ts) {
            let first_row = first_row_of_last;
            let issue = if *prev == bar {
                SeriesIssue::RepeatedRow {
                    ts: bar.ts,
                    first_row,
                }
            } else {
                SeriesIssue::ConflictingDuplicate {
                    ts: bar.ts,
                    first_row,
                }
            };
            out.issues.push((row, issue));
            continue;
        }
        first_row_of_last = row;
        out.bars.push(bar);
    }
    // A conflicting duplicate poisons the kept copy too: neither can be trusted.
    let conflicted: Vec<NaiveDateTime> = out
        .issues
        .iter()
        .filter_map(|(_, i)| match i {
            SeriesIssue::ConflictingDuplicate { ts, .. } => Some(*ts),
            _ => None,
        })
        .collect();
    if !conflicted.is_empty() {
        let conflicted: HashSet<NaiveDateTime> = conflicted.into_iter().collect();
        out.bars.retain(|b| !conflicted.contains(&b.ts));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn bar(day: u32, o: f64, h: f64, l: f64, c: f64) -> Bar {
        Bar {
            ts: NaiveDate::from_ymd_opt(2024, 9, day)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
            open: o,
            high: h,
            low: l,
            close: c,
            volume: 1000.0,
            amount: Some(10_000.0),
        }
    }

    #[test]
    fn accepts_a_good_bar() {
        assert_eq!(check_bar(&mut bar(2, 10.0, 11.0, 9.0, 10.5)), Ok(None));
    }

    #[test]
    fn rejects_non_finite_and_non_positive() {
        let mut b = bar(2, f64::NAN, 11.0, 9.0, 10.5);
        assert_eq!(
            check_bar(&mut b),
            Err(BarIssue::NonFinite {
                field: OhlcField::Open
            })
        );
        let mut b = bar(2, 10.0, 11.0, -9.0, 10.5);
        assert_eq!(
            check_bar(&mut b).unwrap_err().field(),
            OhlcField::Low,
            "negative low is a non-positive price"
        );
        let mut b = bar(2, 10.0, 11.0, 9.0, 10.5);
        b.volume = -1.0;
        assert_eq!(check_bar(&mut b).unwrap_err().field(), OhlcField::Volume);
        let mut b = bar(2, 10.0, 11.0, 9.0, 10.5);
        b.amount = Some(f64::INFINITY);
        assert_eq!(check_bar(&mut b).unwrap_err().field(), OhlcField::Amount);
    }

    #[test]
    fn swapped_high_low_is_repaired() {
        let mut b = bar(2, 10.0, 9.0, 11.0, 10.5);
        assert_eq!(check_bar(&mut b), Ok(Some(Repair::SwappedHighLow)));
        assert_eq!((b.high, b.low), (11.0, 9.0));
    }

    #[test]
    fn high_below_body_is_rejected_but_noise_is_clamped() {
        let mut b = bar(2, 10.0, 10.2, 9.0, 10.5);
        let e = check_bar(&mut b).unwrap_err();
        assert_eq!(e.field(), OhlcField::High);
        assert!(e.to_string().contains("below max(open, close)"), "{e}");
        let mut b = bar(2, 10.0, 10.4999, 9.0, 10.5);
        assert_eq!(check_bar(&mut b), Ok(Some(Repair::ClampedRoundingNoise)));
        assert_eq!(b.high, 10.5);
    }

    #[test]
    fn newest_first_is_reversed_silently_and_shuffles_are_flagged() {
        let rows = vec![
            (1, bar(4, 1.0, 1.0, 1.0, 1.0)),
            (2, bar(3, 1.0, 1.0, 1.0, 1.0)),
            (3, bar(2, 1.0, 1.0, 1.0, 1.0)),
        ];
        let p = prepare_series(rows, Frequency::Daily);
        assert!(!p.reordered);
        assert!(p.bars.windows(2).all(|w| w[0].ts < w[1].ts));
        let rows = vec![
            (1, bar(3, 1.0, 1.0, 1.0, 1.0)),
            (2, bar(2, 1.0, 1.0, 1.0, 1.0)),
            (3, bar(4, 1.0, 1.0, 1.0, 1.0)),
        ];
        assert!(prepare_series(rows, Frequency::Daily).reordered);
    }

    #[test]
    fn duplicates_repeated_dropped_conflicting_rejected() {
        let rows = vec![
            (2, bar(2, 1.0, 1.0, 1.0, 1.0)),
            (3, bar(2, 1.0, 1.0, 1.0, 1.0)),
            (4, bar(3, 1.0, 1.0, 1.0, 1.0)),
            (5, bar(3, 2.0, 2.0, 2.0, 2.0)),
        ];
        let p = prepare_series(rows, Frequency::Daily);
        assert_eq!(p.bars.len(), 1, "the conflicting day is dropped entirely");
        assert_eq!(p.issues.len(), 2);
        assert!(!p.issues[0].1.is_error());
        assert_eq!(p.issues[1].0, 5);
        assert!(matches!(
            p.issues[1].1,
            SeriesIssue::ConflictingDuplicate { first_row: 4, .. }
        ));
    }

    #[test]
    fn intraday_time_in_a_daily_series_is_off_grid() {
        let mut b = bar(2, 1.0, 1.0, 1.0, 1.0);
        b.ts = b.ts.date().and_hms_opt(10, 33, 0).unwrap();
        let p = prepare_series(vec![(7, b)], Frequency::Daily);
        assert!(p.bars.is_empty());
        assert!(matches!(p.issues[0], (7, SeriesIssue::OffGrid { .. })));
    }
}

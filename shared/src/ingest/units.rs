//! What the rows say about their units and frequency: volume in shares or lots (by whether
//! amount / volume falls inside the bar's range), and the frequency of the timestamps.

use crate::domain::{Bar, Frequency};
use crate::import::VolumeUnit;
use chrono::{NaiveDateTime, NaiveTime};

pub(crate) fn unit_name(u: VolumeUnit) -> &'static str {
    match u {
        VolumeUnit::Shares => "shares",
        VolumeUnit::Lots => "lots",
    }
}

/// How many rows say "shares" or "lots" by the vwap check.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Vote {
    /// Rows with a positive amount and volume.
    pub(crate) n: u64,
    pub(crate) shares: u64,
    pub(crate) lots: u64,
}

impl Vote {
    pub(crate) fn count(rows: &[(u64, Bar)]) -> Vote {
        let mut v = Vote::default();
        for (_, b) in rows {
            let Some(a) = b.amount else { continue };
            if !(a > 0.0 && b.volume > 0.0 && b.low.is_finite() && b.high.is_finite()) {
                continue;
            }
            let (lo, hi) = (b.low.min(b.high), b.low.max(b.high));
            if lo <= 0.0 {
                continue;
            }
            v.n += 1;
            let inside = |x: f64| x >= lo * 0.99 && x <= hi * 1.01;
            let vwap = a / b.volume;
            if inside(vwap) {
                v.shares += 1;
            } else if inside(vwap / 100.0) {
                v.lots += 1;
            }
        }
        v
    }

    pub(crate) fn count_for(&self, u: VolumeUnit) -> u64 {
        match u {
            VolumeUnit::Shares => self.shares,
            VolumeUnit::Lots => self.lots,
        }
    }

    /// The unit most rows agree on (a strict majority of rows with an amount).
    pub(crate) fn decisive(&self) -> Option<VolumeUnit> {
        if self.shares * 2 > self.n {
            Some(VolumeUnit::Shares)
        } else if self.lots * 2 > self.n {
            Some(VolumeUnit::Lots)
        } else {
            None
        }
    }

    /// Most rows fit one of the units, i.e. the amount is money in CNY.
    pub(crate) fn money_like(&self) -> bool {
        self.n > 0 && (self.shares + self.lots) * 2 > self.n
    }
}

/// The frequency of a series: from the majority kind of timestamps (dates or times of day), so
/// that a few stray rows of another frequency are flagged off-grid instead of the rest.
pub(crate) fn infer_frequency(rows: &[(u64, Bar)]) -> Frequency {
    let (mut dates, mut times): (Vec<NaiveDateTime>, Vec<NaiveDateTime>) = rows
        .iter()
        .map(|(_, b)| b.ts)
        .partition(|ts| ts.time() == NaiveTime::MIN);
    let group = if times.len() > dates.len() {
        &mut times
    } else {
        &mut dates
    };
    group.sort_unstable();
    group.dedup();
    Frequency::infer(group).unwrap_or(Frequency::Daily)
}

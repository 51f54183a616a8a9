//! Model features from bars: the six Kronos columns, per-window z-scoring and calendar stamps.
//! Plain Rust (no tensors), shared by inference, training and the browser.

use chrono::{Datelike, NaiveDateTime, Timelike};

use crate::Bar;

pub mod classify;
pub mod factors;
pub mod ic;
pub mod windows;

/// Column order of every Kronos model: open, high, low, close, volume, amount.
pub const COLUMNS: [&str; 6] = ["open", "high", "low", "close", "volume", "amount"];

/// The reference's clip after z-scoring.
pub const CLIP: f32 = 5.0;
/// Added to the standard deviation before dividing, as the reference does.
pub const STD_EPS: f32 = 1e-5;

/// Bars as f32 rows in [`COLUMNS`] order. Where the series has no turnover at all, amount is
/// `volume × mean(open, high, low, close)` per bar, as the reference fills it; a series that
/// has it for some bars only keeps those and fills the rest the same way.
pub fn kline_rows(bars: &[Bar]) -> Vec<[f32; 6]> {
    bars.iter()
        .map(|b| {
            let amount = b
                .amount
                .unwrap_or(b.volume * (b.open + b.high + b.low + b.close) / 4.0);
            [b.open, b.high, b.low, b.close, b.volume, amount].map(|v| v as f32)
        })
        .collect()
}

/// Per-column mean and population standard deviation of a lookback window.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ZScore {
    pub mean: [f32; 6],
    pub std: [f32; 6],
}

impl ZScore {
    /// Statistics over `rows` (the lookback only: never the bars being predicted).
    pub fn fit(rows: &[[f32; 6]]) -> Self {
        let n = rows.len().max(1) as f64;
        let mut mean = [0f64; 6];
        for r in rows {
            for c in 0..6 {
                mean[c] += f64::from(r[c]);
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = [0f64; 6];
        for r in rows {
            for c in 0..6 {
                var[c] += (f64::from(r[c]) - mean[c]).powi(2);
            }
        }
        Self {
            mean: mean.map(|m| m as f32),
            std: var.map(|v| (v / n).sqrt() as f32),
        }
    }

    /// `clip((x - mean) / (std + 1e-5), ±5)`.
    pub fn apply(&self, rows: &[[f32; 6]]) -> Vec<[f32; 6]> {
        rows.iter()
            .map(|r| {
                std::array::from_fn(|c| {
                    ((r[c] - self.mean[c]) / (self.std[c] + STD_EPS)).clamp(-CLIP, CLIP)
                })
            })
            .collect()
    }

    /// `x · (std + 1e-5) + mean`, no clipping.
    pub fn invert(&self, row: &[f32; 6]) -> [f32; 6] {
        std::array::from_fn(|c| row[c] * (self.std[c] + STD_EPS) + self.mean[c])
    }
}

/// Calendar features of a bar timestamp in the reference's order: minute, hour, weekday
/// (0 = Monday), day of month, month. Daily bars carry midnight, so minute = hour = 0.
pub fn stamp(ts: NaiveDateTime) -> [u32; 5] {
    [
        ts.minute(),
        ts.hour(),
        ts.weekday().num_days_from_monday(),
        ts.day(),
        ts.month(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn zscore_round_trips_and_clips() {
        let rows: Vec<[f32; 6]> = (0..10).map(|i| [i as f32; 6]).collect();
        let z = ZScore::fit(&rows);
        assert!((z.mean[0] - 4.5).abs() < 1e-6);
        assert!((z.std[0] - 8.25f32.sqrt()).abs() < 1e-6);
        let n = z.apply(&rows);
        let back = z.invert(&n[3]);
        assert!((back[0] - 3.0).abs() < 1e-5);
        let far = z.apply(&[[100.0; 6]]);
        assert_eq!(far[0][0], CLIP);
    }

    #[test]
    fn amount_is_filled_from_volume_and_price() {
        let ts = NaiveDate::from_ymd_opt(2024, 1, 2)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        let bar = Bar {
            ts,
            open: 1.0,
            high: 3.0,
            low: 1.0,
            close: 3.0,
            volume: 10.0,
            amount: None,
        };
        assert_eq!(kline_rows(&[bar])[0][5], 20.0);
    }

    #[test]
    fn stamps_follow_the_reference_order() {
        let ts = NaiveDate::from_ymd_opt(2024, 6, 18)
            .unwrap()
            .and_hms_opt(11, 15, 0)
            .unwrap();
        assert_eq!(stamp(ts), [15, 11, 1, 18, 6]);
    }
}

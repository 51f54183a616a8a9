//! Training windows (docs/kronos.md §8): `lookback + horizon + 1` consecutive bars, z-scored with the
//! statistics of the lookback part only (the reference's CSV pipeline leaks the future into
//! them), clipped, with calendar stamps; and a chronological split of a series into train,
//! validation and test parts that share no bar.

use super::{ZScore, kline_rows, stamp};
use crate::Bar;

/// One normalised window, ready to batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub rows: Vec<[f32; 6]>,
    pub stamps: Vec<[u32; 5]>,
}

/// Which part of each series a window comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Validation,
    Test,
}

/// Where each part of a series of `len` bars ends: the first `train` share, then `validation`,
/// then the rest. Parts never overlap, so no window of one part sees a bar of another.
pub fn split_ranges(len: usize, validation: f64, test: f64) -> [std::ops::Range<usize>; 3] {
    let n_test = ((len as f64) * test).round() as usize;
    let n_val = ((len as f64) * validation).round() as usize;
    let train_end = len.saturating_sub(n_val + n_test);
    let val_end = len.saturating_sub(n_test);
    [0..train_end, train_end..val_end, val_end..len]
}

/// Every `stride`-th window of `lookback + horizon + 1` bars of `bars`, normalised with the
/// lookback's statistics.
pub fn windows(bars: &[Bar], lookback: usize, horizon: usize, stride: usize) -> Vec<Window> {
    let len = lookback + horizon + 1;
    if bars.len() < len || lookback == 0 {
        return Vec::new();
    }
    let rows = kline_rows(bars);
    (0..=bars.len() - len)
        .step_by(stride.max(1))
        .map(|start| {
            let w = &rows[start..start + len];
            let z = ZScore::fit(&w[..lookback]);
            Window {
                rows: z.apply(w),
                stamps: bars[start..start + len]
                    .iter()
                    .map(|b| stamp(b.ts))
                    .collect(),
            }
        })
        .collect()
}

/// The windows of one part of a series.
pub fn split_windows(
    bars: &[Bar],
    part: Split,
    validation: f64,
    test: f64,
    lookback: usize,
    horizon: usize,
    stride: usize,
) -> Vec<Window> {
    let [train, val, tst] = split_ranges(bars.len(), validation, test);
    let range = match part {
        Split::Train => train,
        Split::Validation => val,
        Split::Test => tst,
    };
    windows(&bars[range], lookback, horizon, stride)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn bars(n: usize) -> Vec<Bar> {
        let d0 = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        (0..n)
            .map(|i| {
                let p = 10.0 + i as f64;
                Bar {
                    ts: (d0 + chrono::Days::new(i as u64))
                        .and_hms_opt(0, 0, 0)
                        .unwrap(),
                    open: p,
                    high: p + 1.0,
                    low: p - 1.0,
                    close: p,
                    volume: 100.0 + i as f64,
                    amount: Some(1000.0),
                }
            })
            .collect()
    }

    #[test]
    fn statistics_come_from_the_lookback_only() {
        let b = bars(30);
        let w = windows(&b, 10, 4, 5);
        assert_eq!(w.len(), 4); // starts 0, 5, 10, 15
        assert_eq!(w[0].rows.len(), 15);
        // The lookback of a rising series is centred; the future part lies above it.
        let closes: Vec<f32> = w[0].rows.iter().map(|r| r[3]).collect();
        let mean_lookback: f32 = closes[..10].iter().sum::<f32>() / 10.0;
        assert!(mean_lookback.abs() < 1e-5);
        assert!(closes[10..].iter().all(|&c| c > closes[9]));
        // Amount is constant: std 0, so it normalises to 0 instead of dividing by zero.
        assert!(w[0].rows.iter().all(|r| r[5] == 0.0));
        assert_eq!(w[1].stamps[0], stamp(b[5].ts));
    }

    #[test]
    fn parts_share_no_bar() {
        let [a, b, c] = split_ranges(100, 0.1, 0.2);
        assert_eq!((a, b, c), (0..70, 70..80, 80..100));
        let b = bars(100);
        let val = split_windows(&b, Split::Validation, 0.1, 0.2, 3, 2, 1);
        assert_eq!(val.len(), 10 - 6 + 1);
        assert_eq!(val[0].stamps[0], stamp(b[70].ts));
        assert!(windows(&b[..5], 3, 2, 1).is_empty());
    }
}

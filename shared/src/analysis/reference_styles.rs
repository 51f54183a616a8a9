//! The styles that need reference data: each stock's sector on the day, its size from float
//! market cap, and value / growth from PB — all as of the day, never later.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::styles::{Bucket, Buckets};
use crate::Bar;
use crate::reference::{ReferenceData, Sector, sectors};

/// The size buckets, largest first, each a fifth of the universe by float market cap.
pub const SIZE_BUCKETS: [&str; 5] = ["mega", "large", "mid", "small", "micro"];

fn buckets(names: impl IntoIterator<Item = String>) -> Vec<Bucket> {
    names
        .into_iter()
        .map(|name| Bucket {
            name,
            symbols: Vec::new(),
        })
        .collect()
}

fn put(b: &mut [Bucket], name: &str, symbol: &str) {
    if let Some(b) = b.iter_mut().find(|b| b.name == name) {
        b.symbols.push(symbol.to_string());
    }
}

/// Each stock's sector on `at`, from the industry in force that day.
pub fn industry(symbols: &[String], reference: &ReferenceData, at: NaiveDate) -> Buckets {
    let mut out = buckets(Sector::ALL.map(|s| s.as_str().to_string()));
    let mut unplaced = Vec::new();
    for s in symbols {
        let sector = reference
            .industries
            .iter()
            .filter(|r| &r.symbol == s && r.from <= at && r.to.is_none_or(|t| at <= t))
            .find_map(|r| sectors::sector_of(&r.industry));
        match sector {
            Some(sec) => put(&mut out, sec.as_str(), s),
            None => unplaced.push(s.clone()),
        }
    }
    Buckets {
        rule: "the sector of the industry in force on the day (Tushare's industry or Shenwan level 1, mapped by shared/src/reference/sectors.csv)".into(),
        buckets: out,
        thresholds: BTreeMap::new(),
        too_short: unplaced,
    }
}

/// The latest figure of `symbol` on or before `at` among the shares rows.
fn latest<'a>(
    reference: &'a ReferenceData,
    symbol: &str,
    at: NaiveDate,
) -> Option<&'a crate::reference::SharesRecord> {
    reference
        .shares
        .iter()
        .filter(|r| r.symbol == symbol && r.date <= at)
        .max_by_key(|r| r.date)
}

/// Ranks `values` and cuts them into `names.len()` equal groups, largest first; the cuts are
/// the smallest value of each group but the last.
fn by_rank(
    values: Vec<(String, f64)>,
    names: &[&str],
    key: &str,
) -> (Vec<Bucket>, BTreeMap<String, f64>) {
    let mut v = values;
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut out = buckets(names.iter().map(|s| s.to_string()));
    let mut cuts = BTreeMap::new();
    let n = v.len();
    for (i, (s, x)) in v.iter().enumerate() {
        let g = (i * names.len()) / n.max(1);
        put(&mut out, names[g], s);
        let next = ((i + 1) * names.len()) / n.max(1);
        if next != g && g + 1 < names.len() {
            cuts.insert(format!("{}_{key}_from", names[g]), *x);
        }
    }
    (out, cuts)
}

/// Size by float market cap on `at` (the day's close × the float shares in force): five
/// equal groups of the universe, mega to micro.
pub fn size(
    series: &BTreeMap<String, Vec<Bar>>,
    reference: &ReferenceData,
    at: NaiveDate,
) -> Buckets {
    let mut caps = Vec::new();
    let mut unplaced = Vec::new();
    for (s, bars) in series {
        let close = bars
            .partition_point(|b| b.ts.date() <= at)
            .checked_sub(1)
            .map(|i| bars[i].close);
        match (close, latest(reference, s, at)) {
            (Some(c), Some(r)) if r.float_shares > 0.0 => {
                caps.push((s.clone(), c * r.float_shares))
            }
            _ => unplaced.push(s.clone()),
        }
    }
    let (b, thresholds) = by_rank(caps, &SIZE_BUCKETS, "float_cap");
    Buckets {
        rule: "float market cap on the day (close × float shares in force): the universe's largest fifth is mega, then large, mid, small and micro".into(),
        buckets: b,
        thresholds,
        too_short: unplaced,
    }
}

/// Value / blend / growth by PB on `at`: the universe's lowest third is value, its highest
/// third growth. A stock without a positive PB (losses, no figure) is not placed.
pub fn value_growth(symbols: &[String], reference: &ReferenceData, at: NaiveDate) -> Buckets {
    let mut pbs = Vec::new();
    let mut unplaced = Vec::new();
    for s in symbols {
        match latest(reference, s, at)
            .and_then(|r| r.pb)
            .filter(|pb| *pb > 0.0)
        {
            Some(pb) => pbs.push((s.clone(), pb)),
            None => unplaced.push(s.clone()),
        }
    }
    let (b, thresholds) = by_rank(pbs, &["growth", "blend", "value"], "pb");
    Buckets {
        rule: "PB in force on the day: the universe's lowest third is value, its highest third growth, blend between".into(),
        buckets: b,
        thresholds,
        too_short: unplaced,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::{IndustryRecord, SharesRecord};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn sectors_sizes_and_pb_are_read_as_of_the_day() {
        let syms: Vec<String> = (0..10).map(|i| format!("60000{i}.SH")).collect();
        let mut reference = ReferenceData::default();
        for (i, s) in syms.iter().enumerate() {
            reference.industries.push(IndustryRecord {
                symbol: s.clone(),
                industry: if i < 3 { "银行" } else { "半导体" }.into(),
                from: d("2020-01-02"),
                to: None,
            });
            for (date, k) in [("2024-01-31", 1.0), ("2024-03-29", 100.0)] {
                reference.shares.push(SharesRecord {
                    symbol: s.clone(),
                    date: d(date),
                    total_shares: 1e9 * (i + 1) as f64 * k,
                    float_shares: 1e9 * (i + 1) as f64 * k,
                    pe: None,
                    pb: Some(0.5 + i as f64),
                });
            }
        }
        let bars: BTreeMap<String, Vec<Bar>> = syms
            .iter()
            .map(|s| {
                (
                    s.clone(),
                    crate::analysis::bars_of(d("2024-02-01"), [10.0; 5]),
                )
            })
            .collect();
        let at = d("2024-02-05");
        let ind = industry(&syms, &reference, at);
        assert_eq!(ind.of("finance").len(), 3);
        assert_eq!(ind.of("technology").len(), 7);
        let sz = size(&bars, &reference, at);
        assert_eq!(sz.of("mega"), ["600009.SH", "600008.SH"]);
        assert_eq!(sz.of("micro"), ["600001.SH", "600000.SH"]);
        let vg = value_growth(&syms, &reference, at);
        assert!(vg.of("value").contains(&"600000.SH".to_string()));
        assert!(vg.of("growth").contains(&"600009.SH".to_string()));
        // Before the first figure nothing is placed: no look-ahead to later shares.
        assert!(
            size(&bars, &reference, d("2024-01-30"))
                .buckets
                .iter()
                .all(|b| b.symbols.is_empty())
        );
    }
}

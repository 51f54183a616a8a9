//! Each bar's conditions (seed 003): the stock's sector, its style bucket and the market's
//! regime on that day, as embedding ids (0: unknown). Everything is read as of the bar's own
//! day — the sector in force, the latest float shares and PB on or before it, the regime the
//! market's bars up to it give — so no later fact reaches a sample.

use std::collections::BTreeMap;

use kxian_shared::backtest::engine::Universe;
use kxian_shared::reference::Sector;
use kxian_shared::zoo::config::Condition;

use super::*;

/// Ids of one bar, in [`Condition`] order: industry, style, regime.
pub(crate) type Ids = [i64; 3];

pub(crate) fn slot(c: Condition) -> usize {
    match c {
        Condition::Industry => 0,
        Condition::Style => 1,
        Condition::Regime => 2,
    }
}

fn sector_id(s: Sector) -> i64 {
    1 + Sector::ALL.iter().position(|x| *x == s).expect("a sector") as i64
}

/// One bar's day facts: series, bar, float cap and PB.
type Facts = (usize, usize, Option<f64>, Option<f64>);

/// Every bar's ids, per series.
pub(crate) fn ids(
    series: &[Series],
    reference: Option<&Universe>,
    market: Option<&[Bar]>,
) -> Vec<Vec<Ids>> {
    // Style: each day's float caps and PBs across the series, ranked into fifths and terciles.
    let mut by_day: BTreeMap<NaiveDate, Vec<Facts>> = BTreeMap::new();
    if let Some(u) = reference {
        for (i, s) in series.iter().enumerate() {
            for (t, b) in s.bars.iter().enumerate() {
                let day = b.ts.date();
                let cap = u.float_shares(&s.symbol, day).map(|f| f * b.close);
                let pb = u.valuation(&s.symbol, day).1;
                by_day.entry(day).or_default().push((i, t, cap, pb));
            }
        }
    }
    let mut out: Vec<Vec<Ids>> = series.iter().map(|s| vec![[0; 3]; s.bars.len()]).collect();
    for names in by_day.values() {
        let rank = |value: &dyn Fn(&Facts) -> Option<f64>, buckets: usize| {
            let mut known: Vec<(f64, usize)> = names
                .iter()
                .enumerate()
                .filter_map(|(k, x)| value(x).filter(|v| v.is_finite()).map(|v| (v, k)))
                .collect();
            known.sort_by(|a, b| b.0.total_cmp(&a.0));
            let n = known.len();
            let mut at = vec![None; names.len()];
            for (r, (_, k)) in known.into_iter().enumerate() {
                at[k] = Some((r * buckets / n.max(1)).min(buckets - 1));
            }
            at
        };
        let size = rank(&|x| x.2, 5);
        let value = rank(&|x| x.3, 3);
        for (k, &(i, t, _, _)) in names.iter().enumerate() {
            if let Some(fifth) = size[k] {
                // Without a PB the name sits in the middle tercile.
                out[i][t][1] = 1 + (fifth * 3 + value[k].unwrap_or(1)) as i64;
            }
        }
    }
    let regimes = market.map(kxian_shared::zoo::inputs::RegimeIds::new);
    for (i, s) in series.iter().enumerate() {
        for (t, b) in s.bars.iter().enumerate() {
            let day = b.ts.date();
            if let Some(u) = reference {
                out[i][t][0] = u.sector(&s.symbol, day).map_or(0, sector_id);
            }
            if let Some(r) = &regimes {
                out[i][t][2] = r.on(day);
            }
        }
    }
    out
}

/// Whether bar `t` of series `i` belongs to `industry` on its day.
pub(crate) fn in_industry(ids: &[Vec<Ids>], i: usize, t: usize, industry: Sector) -> bool {
    ids[i][t][0] == sector_id(industry)
}

/// The sector an id names, for the card.
pub(crate) fn sector_name(id: i64) -> Option<&'static str> {
    usize::try_from(id - 1)
        .ok()
        .and_then(|k| Sector::ALL.get(k))
        .map(|s| s.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kxian_shared::backtest::engine::PointInTime;
    use kxian_shared::reference::{IndustryRecord, ReferenceData, SharesRecord};

    fn day(k: i64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2020, 1, 1).unwrap() + chrono::Duration::days(k)
    }

    fn series(symbol: &str, drift: f64, days: i64) -> Series {
        let bars: Vec<Bar> = (0..days)
            .map(|k| {
                let c = 10.0 * (1.0 + drift).powi(k as i32) * (1.0 + 0.02 * ((k % 7) as f64 - 3.0));
                Bar {
                    ts: day(k).and_hms_opt(0, 0, 0).unwrap(),
                    open: c,
                    high: c * 1.01,
                    low: c * 0.99,
                    close: c,
                    volume: 1e6,
                    amount: None,
                }
            })
            .collect();
        Series {
            symbol: symbol.parse().unwrap(),
            factors: kxian_shared::features::factors::factor_rows(&bars),
            bars,
        }
    }

    /// Ids of every bar up to a day are the same whether or not the bars after it exist.
    #[test]
    fn no_bar_after_a_day_changes_the_ids_up_to_it() {
        let reference = ReferenceData {
            source: "test".into(),
            industries: vec![
                IndustryRecord {
                    symbol: "600000.SH".into(),
                    industry: "银行".into(),
                    from: day(0),
                    to: Some(day(250)),
                },
                // A reclassification later: it must not reach the earlier days.
                IndustryRecord {
                    symbol: "600000.SH".into(),
                    industry: "电气设备".into(),
                    from: day(251),
                    to: None,
                },
            ],
            shares: [
                ("600000.SH", 1e9, 0.5),
                ("000001.SZ", 2e9, 1.5),
                ("000002.SZ", 5e8, 3.0),
            ]
            .into_iter()
            .flat_map(|(s, f, pb)| {
                // 600000.SH's float shares grow ninefold later on (it turns from the
                // smallest to the largest), which must not move its earlier style.
                let later = if s == "600000.SH" { 9.0 } else { 1.0 };
                [(0, 1.0), (200, later)].map(|(k, m)| SharesRecord {
                    symbol: s.into(),
                    date: day(k),
                    total_shares: f * m,
                    float_shares: f * m,
                    pe: None,
                    pb: Some(pb * m),
                })
            })
            .collect(),
            ..Default::default()
        };
        let cut = 180;
        // The reference data as it stood on the cut day: nothing dated after it.
        let mut known = reference.clone();
        known.shares.retain(|r| r.date < day(cut));
        known.industries.retain(|r| r.from < day(cut));
        for r in &mut known.industries {
            // An end after the cut was not known on it.
            r.to = r.to.filter(|t| *t < day(cut));
        }
        let universe = |data: ReferenceData| {
            let mut u = Universe::new();
            u.set_point_in_time(PointInTime::from_reference(data, None));
            u
        };
        let u = universe(reference);
        let full = [
            series("600000.SH", 0.001, 400),
            series("000001.SZ", -0.001, 400),
            series("000002.SZ", 0.0, 400),
        ];
        let market = series("000300.SH", 0.002, 400).bars;
        let all = ids(&full, Some(&u), Some(&market));
        let short: Vec<Series> = full
            .iter()
            .map(|s| series(&s.symbol.to_string(), 0.0, 0))
            .zip(&full)
            .map(|(mut t, s)| {
                t.bars = s.bars[..cut as usize].to_vec();
                t.factors = s.factors[..cut as usize].to_vec();
                t
            })
            .collect();
        let part = ids(
            &short,
            Some(&universe(known)),
            Some(&market[..cut as usize]),
        );
        for i in 0..3 {
            assert_eq!(part[i][..], all[i][..cut as usize], "series {i}");
        }
        // And the facts are there: a bank before its reclassification, styles and regimes.
        assert_eq!(sector_name(all[0][10][0]), Some("finance"));
        assert_eq!(sector_name(all[0][300][0]), Some("industrial"));
        assert!(all.iter().all(|s| s[100][1] > 0));
        assert_ne!(
            all[0][100][1], all[0][300][1],
            "its style follows its float cap"
        );
        assert!(all[0][300][2] > 0);
    }
}

//! The `ref.` fields of the expression language: PE, PB and northbound holdings from stored
//! reference data, point in time, inside a strategy.

use chrono::{Datelike, NaiveDate, Weekday};
use kxian_shared::backtest::engine::{PointInTime, Universe};
use kxian_shared::backtest::fields::panel_for;
use kxian_shared::backtest::{schema, session};
use kxian_shared::reference::{NorthboundRecord, ReferenceData, SharesRecord};
use kxian_shared::rules::Side;
use kxian_shared::{Bar, Symbol};

fn weekdays(n: usize) -> Vec<NaiveDate> {
    let mut d = NaiveDate::from_ymd_opt(2024, 1, 2).unwrap();
    let mut out = Vec::new();
    while out.len() < n {
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            out.push(d);
        }
        d = d.succ_opt().unwrap();
    }
    out
}

fn flat(days: &[NaiveDate], price: f64) -> Vec<Bar> {
    days.iter()
        .enumerate()
        .map(|(i, d)| {
            let c = price + (i % 3) as f64 * 0.01;
            Bar {
                ts: d.and_hms_opt(0, 0, 0).unwrap(),
                open: c,
                high: c + 0.02,
                low: c - 0.02,
                close: c,
                volume: 1e6,
                amount: Some(c * 1e6),
            }
        })
        .collect()
}

const A: &str = "600000.SH";
const B: &str = "000001.SZ";
const C: &str = "000151.SZ";

/// Three names over `n` days, with reference data up to the `n`-th day: A's northbound share
/// is 1 % until day 10, then 9 %; B's is 5 %; C has none. PB: A 0.5, B 2.0 from day 0.
fn universe(n: usize) -> Universe {
    let days = weekdays(n);
    let mut u = Universe::new();
    for (s, p) in [(A, 10.0), (B, 11.0), (C, 12.0)] {
        u.insert(s.parse::<Symbol>().unwrap(), flat(&days, p));
    }
    let all = weekdays(40);
    let hold = |s: &str, i: usize, ratio: f64| NorthboundRecord {
        symbol: s.into(),
        date: all[i],
        shares: ratio * 1e7,
        ratio: Some(ratio),
    };
    let northbound: Vec<NorthboundRecord> = [hold(A, 0, 1.0), hold(B, 0, 5.0), hold(A, 10, 9.0)]
        .into_iter()
        .filter(|r| r.date <= days[n - 1])
        .collect();
    let shares = [(A, 0.5), (B, 2.0)]
        .into_iter()
        .map(|(s, pb)| SharesRecord {
            symbol: s.into(),
            date: all[0],
            total_shares: 1e9,
            float_shares: 1e9,
            pe: Some(pb * 10.0),
            pb: Some(pb),
        })
        .collect();
    let data = ReferenceData {
        northbound,
        shares,
        ..ReferenceData::default()
    };
    u.set_point_in_time(PointInTime::from_reference(data, None));
    u
}

/// A field's values by symbol, each by day.
fn column(u: &Universe, field: &str) -> std::collections::BTreeMap<String, Vec<f64>> {
    let p = panel_for(u, &[field], false, None);
    p.symbols
        .iter()
        .cloned()
        .zip(p.columns[field].clone())
        .collect()
}

#[test]
fn northbound_holdings_are_read_the_day_after_their_date_and_nothing_later_leaks_in() {
    let u = universe(40);
    let nb = column(&u, "ref.northbound");
    let (a, b, c) = (&nb[A], &nb[B], &nb[C]);
    assert!(a[0].is_nan(), "day 0's holding is disclosed on day 1");
    assert_eq!((a[1], a[10], a[11], a[39]), (1.0, 1.0, 9.0, 9.0));
    assert_eq!(b[5], 5.0);
    assert!(c.iter().all(|x| x.is_nan()));
    let pb = column(&u, "ref.pb");
    assert_eq!((pb[B][0], pb[A][0], pb[A][39]), (2.0, 0.5, 0.5));
    assert!(pb[C].iter().all(|x| x.is_nan()));

    // Truncated after day 15 (bars and reference data): nothing up to that day changes.
    let cut = universe(16);
    let nb16 = column(&cut, "ref.northbound");
    for s in [A, B, C] {
        for d in 0..16 {
            let (x, y) = (nb[s][d], nb16[s][d]);
            assert!(x == y || (x.is_nan() && y.is_nan()), "symbol {s} day {d}");
        }
    }
}

#[test]
fn a_strategy_ranks_on_northbound_holdings_and_one_without_them_is_refused() {
    let config = schema::parse(
        r#"
[universe]
symbols = ["600000.SH", "000001.SZ", "000151.SZ"]
from = 2024-01-02
to = 2024-02-26

[strategy]
kind = "top_k"
score = "ref.northbound"
k = 1
rebalance = "daily"

[engine]
initial_cash = 1_000_000
"#,
    )
    .unwrap();
    let u = universe(40);
    let done = session::run_all(&config, &u, None).unwrap();
    let buys: Vec<(NaiveDate, String)> = done
        .result
        .fills
        .iter()
        .filter(|f| f.side == Side::Buy)
        .map(|f| (f.day, f.symbol.to_string()))
        .collect();
    let days = weekdays(40);
    // B (5 %) leads until A's 9 % is known on day 11; then A is bought and B sold.
    assert_eq!(buys.first().map(|b| b.1.as_str()), Some(B), "{buys:?}");
    let a_buy = buys.iter().find(|b| b.1 == A).expect("A is bought");
    assert!(a_buy.0 > days[10], "{buys:?}");
    assert!(
        done.result
            .fills
            .iter()
            .any(|f| f.side == Side::Sell && f.symbol.to_string() == B)
    );

    let mut bare = Universe::new();
    for (s, bars) in u.series() {
        bare.insert(s.clone(), bars.clone());
    }
    let e = session::run_all(&config, &bare, None)
        .err()
        .expect("refused");
    assert!(
        e.message
            .contains("`ref.northbound` needs northbound holdings"),
        "{}",
        e.message
    );
}

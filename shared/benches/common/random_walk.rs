//! The seeded random-walk universe of the backtest benchmarks: half Shanghai, half Shenzhen
//! main-board codes, daily bars from 2010 on. Included by path from `benches/backtest.rs`
//! and `examples/backtest_throughput.rs`, so both measure the same data.

use chrono::NaiveDate;
use kxian_shared::backtest::engine::Universe;
use kxian_shared::calendar::TradingCalendar;
use kxian_shared::{Bar, Symbol};

pub(crate) fn universe(symbols: usize, days: usize) -> Universe {
    let cal = TradingCalendar::embedded();
    let dates = cal.next_trading_days(NaiveDate::from_ymd_opt(2010, 1, 1).unwrap(), days);
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let mut u = Universe::new();
    for k in 0..symbols {
        let mut p = 10.0;
        let bars = dates
            .iter()
            .map(|(d, _)| {
                let open = p;
                p = (p * (1.0 + 0.03 * rnd())).max(0.5);
                Bar {
                    ts: d.and_hms_opt(0, 0, 0).unwrap(),
                    open,
                    high: open.max(p) * 1.005,
                    low: open.min(p) * 0.995,
                    close: p,
                    volume: 1e7,
                    amount: None,
                }
            })
            .collect();
        let code = if k % 2 == 0 {
            600_000 + k / 2
        } else {
            k / 2 + 1
        };
        u.insert(Symbol::parse(&format!("{code:06}")).unwrap(), bars);
    }
    u
}

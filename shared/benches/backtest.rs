//! `cargo bench -p kxian-shared --bench backtest`: engine throughput in bars per second, with
//! every A-share rule on (T+1, limits, lots, fees, 1 bp slippage) and frictionless, on a
//! generated universe of 500 symbols × 2,500 trading days (1.25 M bars) of random-walk daily
//! bars. `cargo run --release -p kxian-shared --example backtest_throughput` prints the same
//! as bars per CPU-second with the peak memory.

use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kxian_shared::backtest::engine::{EngineConfig, Slippage, Universe, run};
use kxian_shared::backtest::strategies::{MonthlyRotation, SmaCross, Weighting};
use kxian_shared::calendar::TradingCalendar;
use kxian_shared::{Bar, Symbol};
use std::time::Duration;

fn universe(symbols: usize, days: usize) -> Universe {
    let cal = TradingCalendar::embedded();
    let dates = cal.next_trading_days(NaiveDate::from_ymd_opt(2015, 1, 1).unwrap(), days);
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
                let (hi, lo) = (open.max(p) * 1.005, open.min(p) * 0.995);
                Bar {
                    ts: d.and_hms_opt(0, 0, 0).unwrap(),
                    open,
                    high: hi,
                    low: lo,
                    close: p,
                    volume: 1e7,
                    amount: None,
                }
            })
            .collect();
        u.insert(Symbol::parse(&format!("{:06}", 600_000 + k)).unwrap(), bars);
    }
    u
}

fn bench(c: &mut Criterion) {
    let (n, days) = (500, 2_500);
    let u = universe(n, days);
    let rules = EngineConfig {
        initial_cash: 100_000_000.0,
        slippage: Slippage::Bps { bps: 1.0 },
        ..Default::default()
    };
    let frictionless = EngineConfig {
        frictionless: true,
        ..rules.clone()
    };
    let mut g = c.benchmark_group("backtest");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements((n * days) as u64));
    for (name, cfg) in [("rules", &rules), ("frictionless", &frictionless)] {
        g.bench_function(format!("sma_cross_5_20/{name}"), |b| {
            b.iter(|| run(&u, cfg, &mut SmaCross { fast: 5, slow: 20 }))
        });
        g.bench_function(format!("monthly_rotation_top20/{name}"), |b| {
            b.iter(|| {
                run(
                    &u,
                    cfg,
                    &mut MonthlyRotation {
                        top_fraction: 0.2,
                        weighting: Weighting::Equal,
                    },
                )
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! `cargo bench -p kxian-shared --bench backtest`: engine throughput in bars per second, with
//! every A-share rule on (T+1, limits, lots, fees, 1 bp slippage) and frictionless, and a
//! five-operator expression alone and as a `top_k` strategy, on a
//! generated universe of 500 symbols × 2,500 trading days (1.25 M bars) of random-walk daily
//! bars. `cargo run --release -p kxian-shared --example backtest_throughput` prints the same
//! as bars per CPU-second with the peak memory.

#[path = "common/random_walk.rs"]
mod random_walk;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kxian_shared::backtest::config;
use kxian_shared::backtest::engine::{EngineConfig, Slippage, run};
use kxian_shared::backtest::strategies::{MonthlyRotation, SmaCross, Weighting};
use kxian_shared::backtest::top_k::TopKStrategy;
use kxian_shared::expr::Panel;
use random_walk::universe;
use std::time::Duration;

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
    // The five-operator score: alone (cells), and as a top-20 % strategy (bars).
    let score = "rank(delta($close, 5) / ref($close, 5)) * zscore(std($close, 20))";
    let panel = Panel::from_series(
        u.series()
            .iter()
            .map(|(s, b)| (s.to_string(), b.as_slice())),
    );
    g.bench_function("expression_five_operators", |b| {
        b.iter(|| panel.evaluate(score).expect("parses"))
    });
    let cfg = config::parse(&format!(
        "[universe]\nsymbols = [\"600000\"]\n[strategy]\nkind = \"top_k\"\nscore = \"{score}\"\ntop_fraction = 0.2\nrebalance = \"monthly\"\n"
    ))
    .expect("the config parses");
    let config::StrategyConfig::TopK(top_k) = cfg.strategy else {
        unreachable!("top_k")
    };
    g.bench_function("top_k_expression/rules", |b| {
        b.iter(|| {
            run(
                &u,
                &rules,
                &mut TopKStrategy::new(&top_k, &u).expect("evaluates"),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

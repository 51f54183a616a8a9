//! `cargo run --release -p kxian-shared --example backtest_throughput [symbols] [days] [dump-dir]`:
//! bars per CPU-second of the monthly rotation, the SMA crossover and a `top_k` strategy on a
//! five-operator expression, frictionless and with every A-share rule on, on a seeded
//! random-walk universe (default 500 symbols × 2,500 days); the expression's evaluation alone
//! in cells (symbol × day) per CPU-second; and the process's peak memory. Single-threaded.
//! With a third argument, the universe's opens and closes are written there as wide CSVs for
//! `scripts/bench/backtest-vs-vectorbt.sh`. `KXIAN_BENCH_ONLY=<text>` runs only the lines whose
//! name holds the text (to profile one of them).

// The trainer, which runs the CLI's backtests, allocates with mimalloc: measure under it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../benches/common/random_walk.rs"]
mod random_walk;

use kxian_shared::backtest::config;
use kxian_shared::backtest::engine::{EngineConfig, Slippage, Strategy, Universe, run};
use kxian_shared::backtest::strategies::{MonthlyRotation, SmaCross, Weighting};
use kxian_shared::backtest::top_k::TopKStrategy;
use kxian_shared::expr::Panel;
use random_walk::universe;

/// CPU seconds this process has used (user + system), from /proc.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 of stat (utime, stime) are 12 and 13 after the command name.
    (ticks(11) + ticks(12)) / 100.0
}

fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Whether `KXIAN_BENCH_ONLY` (when set) admits the line `name`.
fn wanted(name: &str) -> bool {
    std::env::var("KXIAN_BENCH_ONLY").map_or(true, |only| name.contains(&only))
}

fn measure(
    name: &str,
    bars: usize,
    cfg: &EngineConfig,
    u: &Universe,
    make: &dyn Fn() -> Box<dyn Strategy>,
) {
    if !wanted(name) {
        return;
    }
    // Run for at least two CPU-seconds.
    let (c0, w0) = (cpu_seconds(), std::time::Instant::now());
    let mut runs = 0;
    let mut fills = 0;
    while runs < 3 || cpu_seconds() - c0 < 2.0 {
        let mut s = make();
        fills = run(u, cfg, s.as_mut()).fills.len();
        runs += 1;
    }
    let cpu = cpu_seconds() - c0;
    let wall = w0.elapsed().as_secs_f64();
    println!(
        "{name:<42} {:>12.0} bars/CPU-s  ({runs} runs, {:.3} s each, {fills} fills; wall {:.0} bars/s)",
        (bars * runs) as f64 / cpu,
        cpu / runs as f64,
        (bars * runs) as f64 / wall
    );
}

/// The five-operator expression: the benchmark's score.
const SCORE: &str = "rank(delta($close, 5) / ref($close, 5)) * zscore(std($close, 20))";

/// Opens and closes as wide CSVs (a date column, then one column per symbol).
fn dump(u: &Universe, dir: &std::path::Path) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let series: Vec<_> = u.series().iter().collect();
    for (name, field) in [("open", 0), ("close", 1)] {
        let mut f =
            std::io::BufWriter::new(std::fs::File::create(dir.join(format!("{name}.csv")))?);
        write!(f, "date")?;
        for (s, _) in &series {
            write!(f, ",{s}")?;
        }
        writeln!(f)?;
        for (i, d) in u.dates().iter().enumerate() {
            write!(f, "{d}")?;
            for (_, bars) in &series {
                let b = &bars[i];
                write!(f, ",{}", if field == 0 { b.open } else { b.close })?;
            }
            writeln!(f)?;
        }
    }
    Ok(())
}

/// Cells of the expression per CPU-second: the panel is built once, as a strategy does.
fn measure_expression(u: &Universe, symbols: usize, days: usize) {
    let name = format!("expression `{SCORE}`");
    if !wanted(&name) {
        return;
    }
    let series = u
        .series()
        .iter()
        .map(|(s, b)| (s.to_string(), b.clone()))
        .collect();
    let panel = Panel::from_bars(&series);
    let c0 = cpu_seconds();
    let mut runs = 0;
    let mut last = Vec::new();
    while runs < 3 || cpu_seconds() - c0 < 2.0 {
        last = panel
            .evaluate(SCORE)
            .expect("the benchmark's expression parses");
        runs += 1;
    }
    let cpu = cpu_seconds() - c0;
    // Counted outside the clock: reading the result is not evaluating it.
    let finite = last.iter().flatten().filter(|x| x.is_finite()).count();
    println!(
        "{:<42} {:>12.0} cells/CPU-s  ({runs} runs, {:.3} s each, {finite} finite cells)",
        name,
        (symbols * days * runs) as f64 / cpu,
        cpu / runs as f64
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let symbols: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(500);
    let days: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2_500);
    let u = universe(symbols, days);
    let bars = symbols * days;
    println!(
        "{symbols} symbols × {days} days = {bars} bars; peak after generating: {:.0} MiB",
        peak_mib()
    );
    if let Some(dir) = args.next() {
        dump(&u, std::path::Path::new(&dir)).expect("writing the CSVs");
        println!("opens and closes written to {dir}");
    }
    measure_expression(&u, symbols, days);
    let top_k = config::parse(&format!(
        "[universe]\nsymbols = [\"600000\"]\n[strategy]\nkind = \"top_k\"\nscore = \"{SCORE}\"\ntop_fraction = 0.2\nrebalance = \"monthly\"\n"
    ))
    .expect("the benchmark's config parses");
    let config::StrategyConfig::TopK(top_k) = top_k.strategy else {
        unreachable!("a top_k config")
    };
    let rules = EngineConfig {
        initial_cash: 100_000_000.0,
        slippage: Slippage::Bps { bps: 1.0 },
        ..Default::default()
    };
    let frictionless = EngineConfig {
        frictionless: true,
        ..rules.clone()
    };
    let rotation = || -> Box<dyn Strategy> {
        Box::new(MonthlyRotation {
            top_fraction: 0.2,
            weighting: Weighting::Equal,
        })
    };
    let sma = || -> Box<dyn Strategy> { Box::new(SmaCross { fast: 5, slow: 20 }) };
    // The score is evaluated when the strategy is made: inside the measured runs.
    let ranked = || -> Box<dyn Strategy> {
        Box::new(TopKStrategy::new(&top_k, &u).expect("the score evaluates"))
    };
    measure(
        "top_k 20 % on the expression, A-share rules",
        bars,
        &rules,
        &u,
        &ranked,
    );
    // The same with the score evaluated once, outside the runs: the engine and the strategy.
    let made = TopKStrategy::new(&top_k, &u).expect("the score evaluates");
    let trade_only = || -> Box<dyn Strategy> { Box::new(made.clone()) };
    measure(
        "top_k 20 %, score evaluated once, rules",
        bars,
        &rules,
        &u,
        &trade_only,
    );
    measure(
        "top_k 20 % on the expression, frictionless",
        bars,
        &frictionless,
        &u,
        &ranked,
    );
    measure(
        "monthly rotation, A-share rules",
        bars,
        &rules,
        &u,
        &rotation,
    );
    measure(
        "monthly rotation, frictionless",
        bars,
        &frictionless,
        &u,
        &rotation,
    );
    measure("SMA crossover 5/20, A-share rules", bars, &rules, &u, &sma);
    measure(
        "SMA crossover 5/20, frictionless",
        bars,
        &frictionless,
        &u,
        &sma,
    );
    println!("peak memory (VmHWM): {:.0} MiB", peak_mib());
}

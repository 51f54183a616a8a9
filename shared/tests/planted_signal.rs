//! A `top_k` strategy on a planted signal beats the universe bought and held, after the A-share
//! costs and rules; the same strategy on the signal shuffled across names does not.

use chrono::NaiveDate;
use kxian_shared::Bar;
use kxian_shared::backtest::config::{self, run_all};
use kxian_shared::backtest::engine::Universe;

/// A small deterministic generator (SplitMix64), so the universe is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u, v) = (self.next().max(1e-12), self.next());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// 40 stocks over 500 trading days. Each has a drift that changes every 20 days; `$amount`
/// shows the drift in force through noise (the planted signal), or another name's drift when
/// `shuffled`.
fn universe(shuffled: bool) -> Universe {
    let names = 40;
    let days: Vec<NaiveDate> = kxian_shared::calendar::TradingCalendar::embedded()
        .next_trading_days(NaiveDate::from_ymd_opt(2021, 1, 4).unwrap(), 500)
        .into_iter()
        .map(|d| d.0)
        .collect();
    let mut rng = Rng(11);
    let drifts: Vec<Vec<f64>> = (0..names)
        .map(|_| {
            (0..days.len().div_ceil(20))
                .map(|_| rng.normal() * 0.004)
                .collect()
        })
        .collect();
    let mut u = Universe::new();
    for s in 0..names {
        let shown = if shuffled { (s * 7 + 3) % names } else { s };
        let mut close = 10.0 + s as f64 * 0.1;
        let mut bars = Vec::new();
        for (i, day) in days.iter().enumerate() {
            let drift = drifts[s][i / 20];
            let r = drift + rng.normal() * 0.015;
            let open = close * (1.0 + r * 0.3);
            close *= 1.0 + r;
            let seen = drifts[shown][i / 20] + rng.normal() * 0.002;
            bars.push(Bar {
                ts: day.and_hms_opt(0, 0, 0).unwrap(),
                open,
                high: open.max(close) * 1.002,
                low: open.min(close) * 0.998,
                close,
                volume: 5e6,
                amount: Some(1e8 * (1.0 + seen)),
            });
        }
        u.insert(format!("6{:05}", 1000 + s).parse().unwrap(), bars);
    }
    u
}

fn excess(shuffled: bool) -> (f64, f64, usize) {
    let cfg = config::parse(
        "[universe]\nsymbols = [\"601000\"]\n\n[strategy]\nkind = \"top_k\"\nscore = \"$amount\"\nk = 8\nrebalance = \"weekly\"\n\n[engine]\ninitial_cash = 10_000_000\n",
    )
    .unwrap();
    let u = universe(shuffled);
    let done = run_all(&cfg, &u, None).unwrap();
    let strategy = done.result.metrics.unwrap().total_return;
    let held = done.benchmarks[0].metrics.as_ref().unwrap().total_return;
    (strategy, held, done.result.fills.len())
}

#[test]
fn a_planted_signal_beats_buy_and_hold_after_costs_and_a_shuffled_one_does_not() {
    let (planted, held, fills) = excess(false);
    assert!(fills > 100, "{fills} fills");
    assert!(
        planted > held + 0.2,
        "planted {planted:.3} vs buy-and-hold {held:.3}"
    );
    let (shuffled, held, _) = excess(true);
    assert!(
        shuffled < held,
        "shuffled {shuffled:.3} vs buy-and-hold {held:.3}"
    );
}

//! How fast `kxian-trainer mine` searches: 500 symbols × 2,500 days of bars whose next returns
//! depend on `-delta($close, 3) / std($close, 20)` plus noise, mined with the price fields and
//! the 24 factors. Prints formulas scored per second and, generation by generation, how close
//! the best formula's test-period rank IC is to the planted formula's (measured from outside:
//! the search never reads the test period).
//!
//!     cargo run --release -p kxian-trainer --example mine_bench

use std::time::Instant;

use chrono::NaiveDate;
use kxian_shared::Symbol;
use kxian_shared::backtest::engine::Universe;
use kxian_shared::backtest::fields::panel_for;
use kxian_shared::expr::Expr;
use kxian_shared::mine::{self, MineSection, Scorer};

#[path = "../../tests/tests/common/planted.rs"]
mod planted;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn main() {
    let (symbols, days) = (500, 2500);
    let mut universe = Universe::new();
    for (k, bars) in planted::planted(symbols, days, d("2015-01-05"), 0.004, 11)
        .into_iter()
        .enumerate()
    {
        let sym: Symbol = format!("{:06}.SZ", 1 + k).parse().unwrap();
        universe.insert(sym, bars);
    }
    let mut fields: Vec<String> = ["$open", "$high", "$low", "$close", "$volume", "$vwap"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    fields.extend(
        kxian_shared::features::factors::FACTORS
            .iter()
            .map(|s| s.to_string()),
    );
    let exprs: Vec<&str> = fields.iter().map(String::as_str).collect();
    let t = Instant::now();
    let panel = panel_for(&universe, &exprs, false, None);
    println!(
        "{symbols} symbols × {days} days, {} columns, panel built in {:.1} s",
        panel.columns.len(),
        t.elapsed().as_secs_f64()
    );
    let config: MineSection = toml::from_str(
        "train = { from = 2015-03-02, to = 2019-12-31 }\n\
         validation = { from = 2020-01-02, to = 2021-12-31 }\n\
         test = { from = 2022-01-03, to = 2024-07-31 }\n\
         population = 100\ngenerations = 10\nrounds = 1\nmax_seconds = 900\n",
    )
    .unwrap();
    let scorer = Scorer::new(&panel, &config);
    let planted =
        kxian_shared::expr::parse("-delta($close, 3) / std($close, 20)", &panel.fields()).unwrap();
    let planted_ic = scorer.test_ic(&panel, &planted);
    println!("the planted formula's test-period rank IC: {planted_ic:.4}");
    let t0 = Instant::now();
    let mut reached: Option<f64> = None;
    let report = mine::search(
        &panel,
        &config,
        &scorer,
        &|c: &[Expr]| kxian_trainer::mine::evaluate_all(&panel, &scorer, c),
        &|| t0.elapsed().as_secs_f64(),
        &mut |p| {
            let e = kxian_shared::expr::parse(&p.best_formula, &panel.fields()).unwrap();
            let ic = scorer.test_ic(&panel, &e) * p.best_train_ic.signum();
            let at = t0.elapsed().as_secs_f64();
            if reached.is_none() && ic >= 0.8 * planted_ic {
                reached = Some(at);
            }
            println!(
                "generation {:>2} at {at:>6.1} s: {:>5} formulas, best train IC {:.4}, its test IC {ic:.4}: {}",
                p.generation, p.tried, p.best_train_ic, p.best_formula
            );
        },
        mine::Checkpoints {
            resume: None,
            fingerprint: String::new(),
            save: &mut |_| {},
        },
    );
    let secs = report.seconds;
    println!(
        "{} formulas scored in {secs:.1} s on {} threads: {:.1} formulas/s ({:.2} per core-second)",
        report.tried,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        report.tried as f64 / secs,
        report.tried as f64
            / secs
            / std::thread::available_parallelism().map_or(1, |n| n.get()) as f64
    );
    match reached {
        Some(s) => println!("a formula at 80 % of the planted test IC or better after {s:.1} s"),
        None => println!("no formula reached 80 % of the planted test IC"),
    }
    for f in &report.formulas {
        println!(
            "accepted: test IC {:.4} (validation {:.4}): {}",
            f.test_ic, f.validation_ic, f.formula
        );
    }
}

//! `kxian-trainer backtest --config FILE.toml` on the embedded daily series: the seed's monthly
//! rotation with the A-share rules and frictionless, the SMA crossover under a risk manager,
//! and the errors a person makes in the file.

use kxian_shared::backtest::engine::BacktestResult;
use std::path::PathBuf;
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

const DAILY: [&str; 8] = [
    "000300.sh",
    "000001.sh",
    "399001.sz",
    "399005.sz",
    "399006.sz",
    "600000.sh",
    "000001.sz",
    "000151.sz",
];

fn files() -> String {
    let list: Vec<String> = DAILY
        .iter()
        .map(|f| {
            format!(
                "\"{}\"",
                repo()
                    .join(format!("server/data/hqchart/{f}.day.kline.json"))
                    .display()
            )
        })
        .collect();
    list.join(", ")
}

pub(crate) fn run(dir: &tempfile::TempDir, toml: &str) -> (Output, Option<BacktestResult>) {
    let cfg = dir.path().join("run.toml");
    std::fs::write(&cfg, toml).unwrap();
    let out_json = dir.path().join("result.json");
    let _ = std::fs::remove_file(&out_json);
    let out = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args(["backtest", "--config", cfg.to_str().unwrap(), "--output"])
        .arg(&out_json)
        .output()
        .unwrap();
    let result = std::fs::read(&out_json)
        .ok()
        .map(|b| serde_json::from_slice(&b).unwrap());
    (out, result)
}

fn rotation(engine: &str) -> String {
    format!(
        "[universe]\nfiles = [{}]\nskip_invalid = true\nfrom = 2015-01-05\nto = 2024-09-19\n\n\
         [strategy]\nkind = \"monthly_rotation\"\ntop_fraction = 0.25\nweighting = \"equal\"\n\n\
         [engine]\ninitial_cash = 100_000_000\n{engine}\n",
        files()
    )
}

#[test]
fn monthly_rotation_with_the_rules_and_frictionless() {
    let dir = tempfile::tempdir().unwrap();
    let (out, ruled) = run(&dir, &rotation("slippage = { kind = \"bps\", bps = 1 }"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = ruled.expect("the JSON result");
    assert!(text.contains("95 % CI      Sharpe"), "{text}");
    let ci = r.bootstrap.expect("bootstrap intervals");
    assert!(ci.sharpe.low < ci.sharpe.high && ci.max_drawdown.low <= ci.max_drawdown.high);
    assert_eq!((ci.resamples, ci.block), (1000, 20));
    assert!(text.contains("monthly rotation, top 25 %"), "{text}");
    assert!(text.contains("8 symbols"), "{text}");
    assert!(
        text.contains("T+1 on, price limits on, lots on, fees on"),
        "{text}"
    );
    for line in [
        "Sharpe",
        "max drawdown",
        "Calmar",
        "turnover",
        "stamp duty",
        "win rate",
        "exposure",
    ] {
        assert!(text.contains(line), "{line} missing:\n{text}");
    }
    assert_eq!(r.equity.len(), r.dates.len());
    assert_eq!(
        r.dates.first().map(|d| d.to_string()).as_deref(),
        Some("2015-01-05")
    );
    assert_eq!(
        r.dates.last().map(|d| d.to_string()).as_deref(),
        Some("2024-09-19")
    );
    // Two of eight symbols held, rebalanced monthly for almost ten years: many fills, and
    // every sell paid stamp duty.
    assert!(r.fills.len() > 200, "{} fills", r.fills.len());
    assert!(r.costs.stamp_duty > 0.0 && r.costs.commission > 0.0);
    // Whole shares only with the rules on.
    assert!(
        r.fills
            .iter()
            .all(|f| f.shares.fract() == 0.0 && f.shares > 0.0)
    );
    assert!(r.sells > 0 && r.winning_sells <= r.sells);
    assert!(
        r.exposure > 0.5 && r.exposure <= 1.0,
        "fully invested most days: {}",
        r.exposure
    );
    let m = r.metrics.expect("metrics");
    let total = r.equity.last().unwrap() / 100_000_000.0 - 1.0;
    assert!((m.total_return - total).abs() < 1e-9);
    assert!(text.contains(&format!("{:.2} %", total * 100.0)), "{text}");

    // Frictionless: no costs, and it is deterministic against itself.
    let (out, free) = run(&dir, &rotation("frictionless = true"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let free = free.unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("frictionless"));
    assert_eq!(free.costs.total(), 0.0);
    let (_, again) = run(&dir, &rotation("frictionless = true"));
    assert_eq!(again.unwrap().equity, free.equity);
}

#[test]
fn sma_crossover_under_a_stop_loss() {
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "[universe]\nfiles = [{}]\nskip_invalid = true\nfrom = 2020-01-02\n\n[strategy]\nkind = \"sma_cross\"\nfast = 5\nslow = 20\n\n\
         [risk]\nstop_loss = 0.05\nmax_symbol_weight = 0.2\n",
        files()
    );
    let (out, r) = run(&dir, &toml);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = r.unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("SMA crossover 5/20"));
    assert!(!r.fills.is_empty());
    assert_eq!(
        r.dates.first().map(|d| d.to_string()).as_deref(),
        Some("2020-01-02")
    );
}

/// A strategy written as an expression: the top 2 of the embedded series by 60-day momentum,
/// monthly, under the A-share rules.
#[test]
fn top_k_on_an_expression_trades_the_ranked_names() {
    let dir = tempfile::tempdir().unwrap();
    let (out, result) = run(
        &dir,
        &format!(
            "[universe]\nfiles = [{}]\nskip_invalid = true\nfrom = 2018-01-02\nto = 2023-12-29\n\n\
             [strategy]\nkind = \"top_k\"\nscore = \"$close / ref($close, 60) - 1\"\nk = 2\nrebalance = \"monthly\"\n\n\
             [engine]\ninitial_cash = 10_000_000\n",
            files()
        ),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("top 2 by `$close / ref($close, 60) - 1`, equal weights, rebalanced monthly"),
        "{text}"
    );
    // Beside the run: both benchmarks on the same dates, and the score's own IC report.
    for line in [
        "equal-weight buy-and-hold",
        "index 000300.SH",
        "score IC      the score",
        "against the return over the next 21 bars",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    let r = result.unwrap();
    let buys = r
        .fills
        .iter()
        .filter(|f| f.side == kxian_shared::rules::Side::Buy)
        .count();
    let sells = r
        .fills
        .iter()
        .filter(|f| f.side == kxian_shared::rules::Side::Sell)
        .count();
    assert!(buys >= 10 && sells >= 8, "{buys} buys, {sells} sells");
    // Never more than two names held at the end of a day (sells go before buys).
    let mut held = std::collections::BTreeMap::<String, f64>::new();
    let mut days = r.fills.iter().map(|f| f.day).collect::<Vec<_>>();
    days.dedup();
    for day in days {
        for f in r.fills.iter().filter(|f| f.day == day) {
            let sign = if f.side == kxian_shared::rules::Side::Buy {
                1.0
            } else {
                -1.0
            };
            *held.entry(f.symbol.to_string()).or_default() += sign * f.shares;
        }
        let names = held.values().filter(|s| **s > 1e-9).count();
        assert!(names <= 2, "{names} names held on {day}");
    }
}

/// The fixed strategies written in the expression language trade exactly as they do.
#[test]
fn the_fixed_strategies_written_as_expressions_give_the_same_fills() {
    let dir = tempfile::tempdir().unwrap();
    let universe = format!(
        "[universe]\nfiles = [{}]\nskip_invalid = true\nfrom = 2015-01-05\nto = 2024-09-19\n\n",
        files()
    );
    let engine = "[engine]\ninitial_cash = 100_000_000\nslippage = { kind = \"bps\", bps = 1 }\n";
    let pairs = [
        (
            "[strategy]\nkind = \"monthly_rotation\"\ntop_fraction = 0.25\n",
            "[strategy]\nkind = \"top_k\"\nscore = \"$close / ref_month($close) - 1\"\ntop_fraction = 0.25\nrebalance = \"monthly\"\n",
        ),
        (
            "[strategy]\nkind = \"sma_cross\"\nfast = 5\nslow = 20\n",
            "[strategy]\nkind = \"threshold\"\nbuy = \"mean($close, 5) > mean($close, 20)\"\nsell = \"mean($close, 5) <= mean($close, 20)\"\nmax_positions = 8\nweight = 0.125\n",
        ),
    ];
    for (fixed, written) in pairs {
        let (_, a) = run(&dir, &format!("{universe}{fixed}\n{engine}"));
        let (out, b) = run(&dir, &format!("{universe}{written}\n{engine}"));
        let (a, b) = (
            a.unwrap(),
            b.unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(&out.stderr))),
        );
        assert!(a.fills.len() > 50, "{fixed}: {} fills", a.fills.len());
        assert_eq!(a.fills, b.fills, "{fixed} vs {written}");
        assert_eq!(a.equity, b.equity);
    }
}

#[test]
fn mistakes_in_the_file_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            format!("[universe]\nfiles = [{}]\n[strategy]\nkind = \"buy_the_dip\"\n", files()),
            "buy_the_dip",
        ),
        (
            format!("[universe]\nfiles = [{}]\n[strategy]\nkind = \"sma_cross\"\nfast = 20\nslow = 5\n", files()),
            "fast < slow",
        ),
        (
            format!("[universe]\nfiles = [{}]\n[strategy]\nkind = \"monthly_rotation\"\ntop_fraction = 1.5\n", files()),
            "top_fraction",
        ),
        (
            format!("[universe]\nfiles = [{}]\nfrm = 2020-01-01\n[strategy]\nkind = \"sma_cross\"\nfast = 5\nslow = 20\n", files()),
            "frm",
        ),
        (
            "[universe]\nfiles = [\"missing.csv\"]\n[strategy]\nkind = \"sma_cross\"\nfast = 5\nslow = 20\n".to_string(),
            "missing.csv",
        ),
        (
            "[universe]\n[strategy]\nkind = \"sma_cross\"\nfast = 5\nslow = 20\n".to_string(),
            "the universe is empty",
        ),
        (
            format!("[universe]\nfiles = [{}]\n[strategy]\nkind = \"top_k\"\nscore = \"mean($close,\"\n", files()),
            "expected a window length after ',' at column 13",
        ),
    ];
    for (toml, needle) in cases {
        let (out, result) = run(&dir, &toml);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{needle}: {err}");
        assert!(err.contains(needle), "{needle} not in: {err}");
        assert!(result.is_none());
    }
}

/// Probabilities from the bars themselves: `foresight` looks at the next three closes (a
/// perfect classifier), the opposite sign gives the worst one.
fn oracle_signals(foresight: bool) -> String {
    use kxian_shared::api::ImportOptions;
    let mut csv = String::from("symbol,date,p_up,p_down,p_flat\n");
    let opts = ImportOptions {
        skip_invalid: true,
        ..ImportOptions::default()
    };
    for f in DAILY {
        let name = format!("{f}.day.kline.json");
        let bytes = std::fs::read(repo().join("server/data/hqchart").join(&name)).unwrap();
        let s = kxian_shared::ingest::parse_file(&name, &bytes, &opts)
            .unwrap()
            .series
            .remove(0);
        for w in s.bars.windows(5) {
            // Decided after w[0]'s close, bought at w[1]'s open, sold around w[4]'s open.
            let r = w[4].open / w[1].open - 1.0;
            let r = if foresight { r } else { -r };
            let (up, down) = if r > 0.02 {
                (0.8, 0.05)
            } else if r < -0.01 {
                (0.05, 0.8)
            } else {
                (0.2, 0.2)
            };
            csv.push_str(&format!(
                "{},{},{up},{down},{:.2}\n",
                s.symbol,
                w[0].ts.date(),
                1.0 - up - down
            ));
        }
    }
    csv
}

#[test]
fn signal_strategy_trades_on_probabilities_behind_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let mut total = Vec::new();
    for (name, foresight) in [("good.csv", true), ("bad.csv", false)] {
        std::fs::write(dir.path().join(name), oracle_signals(foresight)).unwrap();
        let toml = format!(
            "[universe]\nfiles = [{}]\nskip_invalid = true\nfrom = 2022-01-04\n\n\
             [strategy]\nkind = \"signal\"\nsignals = \"{name}\"\nbuy_above = 0.6\n\
             sell_above = 0.5\nmin_confidence = 0.2\nmax_positions = 4\nhold_days = 3\n",
            files()
        );
        let (out, r) = run(&dir, &toml);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("signal: buy P(up) > 60 %"), "{text}");
        let r = r.unwrap();
        assert!(r.sells > 10, "{text}");
        total.push(r.metrics.unwrap().total_return);
    }
    // The strategy does what its probabilities say: foresight wins, its mirror loses.
    assert!(total[0] > 0.2 && total[1] < 0.0, "{total:?}");

    std::fs::write(
        dir.path().join("broken.csv"),
        "symbol,date,p_up,p_down,p_flat\n600000.SH,2024-03-01,0.7,0.7,0.1\n",
    )
    .unwrap();
    let toml = format!(
        "[universe]\nfiles = [{}]\nskip_invalid = true\n[strategy]\nkind = \"signal\"\nsignals = \"broken.csv\"\n",
        files()
    );
    let (out, _) = run(&dir, &toml);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("broken.csv") && err.contains("line 2"),
        "{err}"
    );
}

#[test]
fn walk_forward_reports_folds_and_the_stitched_out_of_sample_run() {
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "[universe]\nfiles = [{}]\nskip_invalid = true\nfrom = 2019-01-02\n\n\
         [strategy]\nkind = \"sma_cross\"\nfast = 5\nslow = 20\n\n\
         [walk_forward]\ntrain_days = 250\ntest_days = 120\ngrid = {{ fast = [5, 10], slow = [20, 60] }}\n",
        files()
    );
    let (out, _) = run(&dir, &toml);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("result.json")).unwrap()).unwrap();
    let folds = json["walk_forward"]["folds"].as_array().unwrap();
    assert!(folds.len() >= 3, "{text}");
    assert!(
        text.contains(&format!("walk-forward  {} folds", folds.len())),
        "{text}"
    );
    assert!(text.contains("stitched"), "{text}");
    for f in folds {
        assert!(f["train_to"].as_str() < f["test_from"].as_str());
        let chosen = f["chosen"].as_str().unwrap();
        assert!(
            chosen.starts_with("fast=") && chosen.contains(" slow="),
            "{chosen}"
        );
    }
    // The full-range run is still there, at the top level as before.
    assert!(
        json["equity"].as_array().unwrap().len()
            > json["walk_forward"]["equity"].as_array().unwrap().len()
    );
}

#[test]
fn factors_report_ic_and_correlations_for_the_universe() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("f.toml");
    std::fs::write(
        &cfg,
        format!(
            "[universe]\nfiles = [{}]\nskip_invalid = true\nfrom = 2015-01-05\n[factors]\nhorizon = 3\n",
            files()
        ),
    )
    .unwrap();
    let (json, values) = (dir.path().join("ic.json"), dir.path().join("v.csv"));
    let out = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args(["factors", "--config", cfg.to_str().unwrap(), "--output"])
        .arg(&json)
        .arg("--values")
        .arg(&values)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("8 symbols") && text.contains("over 3 days"),
        "{text}"
    );
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let factors = r["factors"].as_array().unwrap();
    assert_eq!(factors.len(), 24);
    for f in factors {
        let ric = f["rank_ic_mean"].as_f64().unwrap();
        assert!(ric.abs() < 1.0 && f["days"].as_u64().unwrap() > 1000, "{f}");
    }
    let m = r["correlation"].as_array().unwrap();
    assert_eq!(m.len(), 24);
    assert!((m[0][0].as_f64().unwrap() - 1.0).abs() < 1e-9);
    let csv = std::fs::read_to_string(&values).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    assert_eq!(header.len(), 26);
    assert_eq!(&header[..3], &["symbol", "date", "ret_1"]);
    // Every series from 2015 on, one row per bar.
    assert!(csv.lines().filter(|l| l.starts_with("000300.SH,")).count() > 2000);

    std::fs::write(&cfg, "[universe]\n[factors]\nhorizn = 3\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args(["factors", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("horizn"), "{err}");
}

/// One exit-code policy: a file that cannot be read as a run is bad input (2); a valid file
/// whose run fails — here a walk-forward longer than the data — is a failed run (1).
#[test]
fn a_bad_file_exits_2_and_a_valid_file_whose_run_fails_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = run(&dir, "[universe]\nfiles = [\"a.csv\"\n");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let toml = format!(
        "[universe]\nfiles = [{}]\nskip_invalid = true\nfrom = 2024-01-02\n\n\
         [strategy]\nkind = \"sma_cross\"\nfast = 5\nslow = 20\n\n\
         [walk_forward]\ntrain_days = 2500\ntest_days = 1200\ngrid = {{ fast = [5, 10] }}\n",
        files()
    );
    let (out, result) = run(&dir, &toml);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("the run failed") && err.contains("trading days"),
        "{err}"
    );
    assert!(result.is_none(), "nothing is written for a failed run");
}

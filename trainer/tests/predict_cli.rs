//! `kxian-trainer predict` and `evaluate-predictions` on synthetic universes: no row depends
//! on a later bar, a seed fixes every row, a killed run resumes to the same set, a classifier
//! trained on a planted signal ranks by it (and finds nothing in a shuffled universe), and bad
//! input exits 2 with a message naming what is wrong.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::NaiveDate;
use kxian_shared::calendar::TradingCalendar;
use serde_json::Value;

fn trainer() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A small deterministic generator (xorshift) with normal draws.
struct Gen(u64);

impl Gen {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// `n` stocks over `days` trading days from 2019. With `persistence` φ, each daily return is
/// φ times the day before's plus noise: the next days' return is planted in the last bar's.
/// With φ = 0 the returns are independent (a shuffled universe: nothing to find).
fn universe(dir: &Path, n: usize, days: usize, persistence: f64, seed: u64) -> Vec<PathBuf> {
    let cal = TradingCalendar::embedded();
    let start: NaiveDate = "2019-01-02".parse().unwrap();
    let dates: Vec<NaiveDate> = cal
        .trading_days_between(start, "2024-12-31".parse().unwrap())
        .iter()
        .take(days)
        .copied()
        .collect();
    let noise = 0.018 * (1.0 - persistence * persistence).sqrt();
    (0..n)
        .map(|i| {
            let mut g = Gen(seed.wrapping_mul(0x9e37_79b9) ^ ((i as u64 + 1) * 0x2545_f491));
            let mut price = 10.0 + i as f64;
            let mut r = 0.0;
            let mut csv = String::from("date,open,high,low,close,volume,amount\n");
            for d in &dates {
                r = persistence * r + noise * g.normal();
                let open = price;
                price *= r.exp();
                let hi = open.max(price) * (1.0 + 0.004 * g.uniform());
                let lo = open.min(price) * (1.0 - 0.004 * g.uniform());
                let vol = 1e6 * (1.0 + g.uniform());
                csv.push_str(&format!(
                    "{d},{open:.4},{hi:.4},{lo:.4},{price:.4},{vol:.0},{:.0}\n",
                    vol * price
                ));
            }
            let p = dir.join(format!("6000{i:02}.csv"));
            std::fs::write(&p, csv).unwrap();
            p
        })
        .collect()
}

fn files_toml(files: &[PathBuf]) -> String {
    let list: Vec<String> = files
        .iter()
        .map(|f| format!("{:?}", f.display().to_string()))
        .collect();
    format!("files = [{}]", list.join(", "))
}

/// A Kronos (built-in model) file over `files`: small contexts so a debug build is quick.
fn kronos_config(
    files: &[PathBuf],
    extra_universe: &str,
    every: &str,
    seed: u64,
    csv: &Path,
) -> String {
    format!(
        r#"[universe]
{}
{extra_universe}
[model]
kind = "kronos"
[schedule]
every = {every}
from = 2019-03-01
[forecast]
horizon = 3
samples = 4
lookback = 32
seed = {seed}
batch = 4
[output]
csv = {:?}
parquet = {:?}
"#,
        files_toml(files),
        csv.display().to_string(),
        csv.with_extension("parquet").display().to_string()
    )
}

fn predict(config: &Path, extra: &[&str]) -> Output {
    trainer()
        .args([
            "predict",
            "--config",
            config.to_str().unwrap(),
            "--device",
            "cpu",
        ])
        .args(extra)
        .output()
        .unwrap()
}

fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::write(path, text).unwrap();
    path.to_path_buf()
}

fn rows(csv: &Path) -> Vec<String> {
    std::fs::read_to_string(csv)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn kronos_rows_see_no_later_bar_and_are_fixed_by_the_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let files = universe(tmp.path(), 5, 160, 0.3, 1);
    let full_csv = tmp.path().join("full.csv");
    let full = write(
        &tmp.path().join("full.toml"),
        &kronos_config(&files, "", "5", 7, &full_csv),
    );
    let o = predict(&full, &["--progress", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Job events on stdout: a start, one per date, the summary last.
    let events: Vec<Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events[0]["event"], "start");
    assert_eq!(events.last().unwrap()["event"], "done");
    assert!(events.iter().filter(|e| e["event"] == "dated").count() > 10);
    let all = rows(&full_csv);
    assert_eq!(
        all[0],
        "symbol,as_of,horizon,score,p_up,exp_return,q10,q50,q90,n_paths"
    );
    assert!(all.len() > 50, "{} rows", all.len());

    // Cut every series after a date: every row up to it is the same, byte for byte.
    let cut: NaiveDate = "2019-06-14".parse().unwrap();
    let cut_csv = tmp.path().join("cut.csv");
    let cut_cfg = write(
        &tmp.path().join("cut.toml"),
        &kronos_config(&files, &format!("to = {cut}"), "5", 7, &cut_csv),
    );
    let o = predict(&cut_cfg, &["--progress", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let upto = |v: &[String]| -> Vec<String> {
        v.iter()
            .skip(1)
            .filter(|l| l.split(',').nth(1).unwrap().parse::<NaiveDate>().unwrap() <= cut)
            .cloned()
            .collect()
    };
    let (a, b) = (upto(&all), upto(&rows(&cut_csv)));
    assert!(a.len() > 20, "{} rows up to the cut", a.len());
    assert_eq!(a, b);
    assert_eq!(rows(&cut_csv).len() - 1, b.len(), "no row after the cut");

    // The same seed gives the same set; another seed another one.
    let again_csv = tmp.path().join("again.csv");
    let again = write(
        &tmp.path().join("again.toml"),
        &kronos_config(&files, "", "5", 7, &again_csv),
    );
    assert!(
        predict(&again, &["--threads", "1", "--progress", "json"])
            .status
            .success()
    );
    assert_eq!(rows(&again_csv), all, "threads or reruns change nothing");
    let other_csv = tmp.path().join("other.csv");
    let other = write(
        &tmp.path().join("other.toml"),
        &kronos_config(&files, "", "5", 8, &other_csv),
    );
    assert!(predict(&other, &["--progress", "json"]).status.success());
    assert_ne!(rows(&other_csv), all);

    // The report prints both baselines beside the model.
    let o = trainer()
        .args(["evaluate-predictions", "--config", full.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    for want in [
        "score",
        "momentum_20",
        "reversal_5",
        "Brier",
        "coverage",
        "CRPS",
    ] {
        assert!(text.contains(want), "{want} missing from\n{text}");
    }
}

#[test]
fn a_killed_run_resumes_to_the_set_an_unbroken_run_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let files = universe(tmp.path(), 4, 400, 0.3, 2);
    let whole_csv = tmp.path().join("whole.csv");
    let whole = write(
        &tmp.path().join("whole.toml"),
        &kronos_config(&files, "", "\"day\"", 7, &whole_csv),
    );
    assert!(
        predict(&whole, &["--threads", "1", "--progress", "json"])
            .status
            .success()
    );

    let broken_csv = tmp.path().join("broken.csv");
    let broken = write(
        &tmp.path().join("broken.toml"),
        &kronos_config(&files, "", "\"day\"", 7, &broken_csv),
    );
    let journal = tmp.path().join("broken.csv.partial.jsonl");
    let mut child = trainer()
        .args([
            "predict",
            "--config",
            broken.to_str().unwrap(),
            "--device",
            "cpu",
        ])
        .args(["--threads", "1", "--progress", "json"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once some dates are written.
    let t0 = std::time::Instant::now();
    loop {
        let lines = std::fs::read_to_string(&journal).map_or(0, |t| t.lines().count());
        if lines > 20 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed"
        );
        assert!(t0.elapsed().as_secs() < 300, "no rows written");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !broken_csv.exists(),
        "the CSV is written only when the run is done"
    );
    // A kill mid-write leaves a torn line: the resume cuts it off.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap();
    std::io::Write::write_all(&mut f, b"{\"symbol\":\"600001.SH\",\"as_").unwrap();
    drop(f);

    let o = predict(&broken, &["--threads", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(summary["resumed_rows"].as_u64().unwrap() >= 20, "{summary}");
    assert_eq!(rows(&broken_csv), rows(&whole_csv));
    assert!(
        !journal.exists(),
        "the journal goes once the set is written"
    );

    // A journal left by other parameters is refused, not mixed in.
    std::fs::write(&journal, "{\"params\":{}}\n").unwrap();
    let o = predict(&broken, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--overwrite"), "{}", stderr(&o));
    assert!(predict(&broken, &["--overwrite"]).status.success());
}

/// Trains a tiny classifier on days before 2020-06-01 and predicts every day after.
fn classifier_set(dir: &Path, persistence: f64) -> Value {
    let files = universe(dir, 30, 420, persistence, 3);
    let run = dir.join("run");
    let o = trainer()
        .arg("train-classifier")
        .arg("--input")
        .args(&files)
        .args(["--out", run.to_str().unwrap(), "--val-from", "2020-06-01"])
        .args([
            "--epochs",
            "4",
            "--steps-per-epoch",
            "25",
            "--batch-size",
            "64",
        ])
        .args(["--d-model", "16", "--heads", "2", "--layers", "1"])
        .args([
            "--context",
            "10",
            "--min-context",
            "10",
            "--max-context",
            "20",
        ])
        .args(["--max-val", "512", "--device", "cpu", "--progress", "json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = dir.join("preds.csv");
    let config = write(
        &dir.join("p.toml"),
        &format!(
            r#"[universe]
{}
[model]
kind = "classifier"
path = {:?}
[schedule]
every = "day"
from = 2020-06-01
[output]
csv = {:?}
"#,
            files_toml(&files),
            run.join("best").display().to_string(),
            csv.display().to_string()
        ),
    );
    let o = predict(&config, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        rows(&csv)[0],
        "symbol,as_of,horizon,score,p_up,p_down,p_flat"
    );
    let report = dir.join("report.json");
    let o = trainer()
        .args(["evaluate-predictions", "--config", config.to_str().unwrap()])
        .args(["--output", report.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap()
}

fn rank_ic(report: &Value, signal: &str) -> f64 {
    report["signals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["signal"] == signal)
        .unwrap()["rank_ic"]
        .as_f64()
        .unwrap()
}

#[test]
fn a_classifier_ranks_by_a_planted_signal_and_finds_none_in_noise() {
    let tmp = tempfile::tempdir().unwrap();
    let planted = tmp.path().join("planted");
    std::fs::create_dir(&planted).unwrap();
    let r = classifier_set(&planted, 0.9);
    let ic = rank_ic(&r, "score");
    assert!(ic > 0.3, "rank IC {ic} on a planted signal");
    assert!(r["scored"].as_u64().unwrap() > 2000);

    // The set drives a strategy: top 5 by `pred.score` each day, against the bottom 5.
    let files: Vec<String> = (0..30)
        .map(|i| {
            format!(
                "{:?}",
                planted
                    .join(format!("6000{i:02}.csv"))
                    .display()
                    .to_string()
            )
        })
        .collect();
    let backtest = |score: &str| -> Value {
        let cfg = planted.join("bt.toml");
        std::fs::write(
            &cfg,
            format!(
                "[universe]\nfiles = [{}]\nfrom = 2020-06-01\n[strategy]\nkind = \"top_k\"\n\
                 score = {score:?}\npredictions = \"preds.csv\"\nk = 5\nrebalance = \"daily\"\n",
                files.join(", ")
            ),
        )
        .unwrap();
        let out_json = planted.join("bt.json");
        let o = trainer()
            .args(["backtest", "--config", cfg.to_str().unwrap(), "--output"])
            .arg(&out_json)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_slice(&std::fs::read(&out_json).unwrap()).unwrap()
    };
    // The same set through a threshold rule (EquiNet's: buy on P(up), leave on P(down) or
    // after three days).
    let cfg = planted.join("th.toml");
    std::fs::write(
        &cfg,
        format!(
            "[universe]\nfiles = [{}]\nfrom = 2020-06-01\n[strategy]\nkind = \"threshold\"\n\
             buy = \"pred.p_up > 0.5\"\nsell = \"pred.p_down > 0.4\"\nhold_days = 3\n\
             max_positions = 5\npredictions = \"preds.csv\"\n",
            files.join(", ")
        ),
    )
    .unwrap();
    let th_json = planted.join("th.json");
    let o = trainer()
        .args(["backtest", "--config", cfg.to_str().unwrap(), "--output"])
        .arg(&th_json)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let th: Value = serde_json::from_slice(&std::fs::read(&th_json).unwrap()).unwrap();
    assert!(th["fills"].as_array().unwrap().len() > 20, "too few trades");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("threshold: buy when `pred.p_up > 0.5`"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );

    let (best, worst) = (backtest("pred.score"), backtest("-pred.score"));
    let ret = |r: &Value| r["metrics"]["total_return"].as_f64().unwrap();
    assert!(
        best["fills"].as_array().unwrap().len() > 50,
        "too few trades"
    );
    assert!(
        ret(&best) > ret(&worst) + 0.2,
        "top {} vs bottom {}",
        ret(&best),
        ret(&worst)
    );

    let noise = tmp.path().join("noise");
    std::fs::create_dir(&noise).unwrap();
    let r = classifier_set(&noise, 0.0);
    let ic = rank_ic(&r, "score");
    // About 100 dates of 30 names: the mean rank IC's noise is about 0.02.
    assert!(
        ic.abs() < 0.08,
        "rank IC {ic} where there is nothing to find"
    );
}

#[test]
fn bad_input_exits_2_naming_what_is_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let files = universe(tmp.path(), 2, 120, 0.0, 4);
    let csv = tmp.path().join("p.csv");
    let good = kronos_config(&files, "", "5", 7, &csv);
    let check = |name: &str, text: &str, wants: &[&str]| {
        let cfg = write(&tmp.path().join(name), text);
        let o = predict(&cfg, &[]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        for w in wants {
            assert!(stderr(&o).contains(w), "{name}: {w} not in {}", stderr(&o));
        }
    };
    check(
        "key.toml",
        &good.replace("samples = 4", "sample = 4"),
        &["key.toml", "sample"],
    );
    check(
        "range.toml",
        &good.replace("from = 2019-03-01", "from = 2023-01-01"),
        &["range.toml", "schedule", "no trading day"],
    );
    check(
        "missing.toml",
        &good.replace(
            "kind = \"kronos\"",
            "kind = \"kronos\"\ntokenizer = \"nope/tok\"\npredictor = \"nope/pred\"",
        ),
        &["nope/tok"],
    );
    // A tokenizer of 8+8-bit ids beside the built-in predictor's 10+10.
    let tok_dir = tmp.path().join("tok8");
    let device = burn::tensor::Device::flex();
    let tc = kxian_shared::model::TokenizerConfig {
        d_model: 32,
        n_heads: 2,
        ff_dim: 64,
        n_enc_layers: 1,
        n_dec_layers: 1,
        s1_bits: 8,
        s2_bits: 8,
        group_size: 4,
        ..kxian_shared::model::TokenizerConfig::kronos_2k()
    };
    let tok = kxian_shared::model::KronosTokenizer::new(&tc, &device);
    kxian_trainer::models::save(&tok_dir, &kxian_shared::model::save_tokenizer(&tok)).unwrap();
    let o = trainer()
        .args(["init", "--preset", "tiny", "--out"])
        .arg(tmp.path().join("tiny"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let pair = format!(
        "kind = \"kronos\"\ntokenizer = {:?}\npredictor = {:?}",
        tok_dir.display().to_string(),
        tmp.path().join("tiny/predictor").display().to_string()
    );
    check(
        "pair.toml",
        &good.replace("kind = \"kronos\"", &pair),
        &["do not pair", "tok8"],
    );

    // An unknown symbol in a store universe.
    let db = tmp.path().join("kxian.db");
    let bytes = std::fs::read(&files[0]).unwrap();
    let parsed =
        kxian_shared::ingest::parse_file("600000.csv", &bytes, &Default::default()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = kxian_store::Store::open(&db).await.unwrap();
        store.import(&parsed, "test").await.unwrap();
        store.close().await;
    });
    let store_universe = format!(
        "store = {:?}\nsymbols = [\"600000\", \"600999\"]",
        db.display().to_string()
    );
    check(
        "symbol.toml",
        &good.replace(&files_toml(&files), &store_universe),
        &["600999.SH"],
    );
}

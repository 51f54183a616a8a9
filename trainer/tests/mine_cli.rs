//! `kxian-trainer mine` on synthetic universes: with a planted formula (the next days' returns
//! depend on `-delta($close, 3) / std($close, 20)` plus noise) it finds a formula that does at
//! least 80 % as well on the test period, which the search never saw; on a universe without
//! one, nothing passes validation. The mined formula runs unchanged as a `top_k` score.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDate;
use serde_json::Value;

use crate::planted::{PLANTED, csv, planted};

/// `n` symbols × `days` weekdays of daily bars from 2018-01-02 as CSV files.
fn universe(dir: &Path, n: usize, days: usize, beta: f64, seed: u64) -> Vec<PathBuf> {
    let first = NaiveDate::from_ymd_opt(2018, 1, 2).unwrap();
    planted(n, days, first, beta, seed)
        .iter()
        .enumerate()
        .map(|(k, bars)| {
            let path = dir.join(format!("{:06}.sz.csv", 1 + k));
            std::fs::write(&path, csv(bars)).unwrap();
            path
        })
        .collect()
}

fn config(dir: &Path, files: &[PathBuf], extra: &str) -> PathBuf {
    let list: Vec<String> = files
        .iter()
        .map(|f| format!("{:?}", f.display().to_string()))
        .collect();
    let path = dir.join("mine.toml");
    std::fs::write(
        &path,
        format!(
            "[universe]\nfiles = [{}]\n\n[mine]\nhorizon = 5\n\
             train = {{ from = 2018-03-01, to = 2019-06-28 }}\n\
             validation = {{ from = 2019-07-01, to = 2020-06-30 }}\n\
             test = {{ from = 2020-07-01, to = 2021-06-30 }}\n\
             max_seconds = 300\nseed = 1\npopulation = 60\ngenerations = 10\nrounds = 1\nfactors = false\n{extra}",
            list.join(", ")
        ),
    )
    .unwrap();
    path
}

fn mine(config: &Path) -> Value {
    let o = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args(["mine", "--format", "json", "--config"])
        .arg(config)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn the_miner_finds_a_planted_formula_and_nothing_where_there_is_none() {
    let tmp = tempfile::tempdir().unwrap();
    let planted_dir = tmp.path().join("planted");
    std::fs::create_dir_all(&planted_dir).unwrap();
    let files = universe(&planted_dir, 40, 900, 0.004, 11);
    let cfg = config(
        &planted_dir,
        &files,
        &format!("baselines = [{PLANTED:?}]\n"),
    );
    let r = mine(&cfg);
    assert!(r["tried"].as_u64().unwrap() >= 100, "{}", r["tried"]);
    let planted_ic = r["baselines"][0]["test_ic"].as_f64().unwrap();
    assert!(
        planted_ic > 0.05,
        "the planted formula's own test IC: {planted_ic}"
    );
    let best = r["formulas"][0].clone();
    let best_ic = best["test_ic"].as_f64().unwrap();
    assert!(
        best_ic >= 0.8 * planted_ic,
        "best {} has test IC {best_ic} against the planted {planted_ic}",
        best["formula"]
    );
    // The TOML list beside the file, and the formula as a top_k score, unchanged.
    let list = std::fs::read_to_string(cfg.with_extension("formulas.toml")).unwrap();
    let formula = best["formula"].as_str().unwrap();
    assert!(list.contains(&format!("score = {formula:?}")), "{list}");
    let bt = planted_dir.join("bt.toml");
    let names: Vec<String> = files
        .iter()
        .map(|f| format!("{:?}", f.display().to_string()))
        .collect();
    std::fs::write(
        &bt,
        format!(
            "[universe]\nfiles = [{}]\nfrom = 2020-07-01\nto = 2021-06-30\n\n[strategy]\nkind = \"top_k\"\n\
             score = {formula:?}\nk = 8\nrebalance = 5\n\n[engine]\ninitial_cash = 1_000_000\n",
            names.join(", ")
        ),
    )
    .unwrap();
    let out = planted_dir.join("bt.json");
    let o = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args(["backtest", "--config"])
        .arg(&bt)
        .arg("--output")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let result: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert!(
        result["fills"].as_array().is_some_and(|f| f.len() > 20),
        "the mined score trades"
    );

    // The same universe without the planted dependence: nothing passes validation.
    let none_dir = tmp.path().join("none");
    std::fs::create_dir_all(&none_dir).unwrap();
    let files = universe(&none_dir, 40, 900, 0.0, 11);
    let r = mine(&config(&none_dir, &files, ""));
    assert_eq!(r["formulas"], serde_json::json!([]), "{}", r["formulas"]);
}

/// A search killed after some generations carries on from where it stood and ends with the
/// same formulas as one that was never stopped.
#[test]
fn a_killed_search_carries_on_to_what_an_unbroken_one_finds() {
    let tmp = tempfile::tempdir().unwrap();
    let files = universe(tmp.path(), 20, 500, 0.004, 3);
    let extra = "";
    let whole = config(tmp.path(), &files, extra);
    // Eight generations over two rounds, small: the test is of the carrying on.
    let text = std::fs::read_to_string(&whole)
        .unwrap()
        .replace(
            "population = 60\ngenerations = 10\nrounds = 1",
            "population = 40\ngenerations = 8\nrounds = 2",
        )
        .replace("2018-03-01, to = 2019-06-28", "2018-03-01, to = 2018-12-31")
        .replace("2019-07-01, to = 2020-06-30", "2019-01-02, to = 2019-06-28")
        .replace("2020-07-01, to = 2021-06-30", "2019-07-01, to = 2019-11-29");
    std::fs::write(&whole, &text).unwrap();
    let run = |cfg: &Path, out: &Path| {
        let o = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
            .args(["mine", "--config"])
            .arg(cfg)
            .arg("--output")
            .arg(out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice::<Value>(&std::fs::read(out).unwrap()).unwrap()
    };
    let unbroken = run(&whole, &tmp.path().join("whole.json"));
    assert!(
        !whole.with_extension("mine-state.json").exists(),
        "the state goes when it ends"
    );

    let broken = tmp.path().join("broken.toml");
    std::fs::write(&broken, &text).unwrap();
    let state = broken.with_extension("mine-state.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args(["mine", "--progress", "json", "--config"])
        .arg(&broken)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    loop {
        let line = lines
            .next()
            .expect("the search ended before it could be killed")
            .unwrap();
        let e: Value = serde_json::from_str(&line).unwrap();
        if e["event"] == "generation" && e["generation"] == 5 {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let left: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert!(
        left["generation"].as_u64().unwrap() >= 4,
        "{}",
        left["generation"]
    );
    let resumed = run(&broken, &tmp.path().join("broken.json"));
    assert!(
        resumed["resumed_at"].as_u64().unwrap() >= 4,
        "{}",
        resumed["resumed_at"]
    );
    assert_eq!(resumed["tried"], unbroken["tried"]);
    assert_eq!(resumed["generations"], unbroken["generations"]);
    assert_eq!(resumed["formulas"], unbroken["formulas"]);
    assert!(!state.exists());
}

//! `kxian-trainer train-classifier` and `evaluate-classifier` on the embedded daily series:
//! a tiny model learns past the uniform guess, its evaluation starts after its training
//! labels, and its probabilities drive the backtest's signal strategy.

use kxian_shared::backtest::signals::Signals;
use std::path::PathBuf;
use std::process::Command;

fn inputs() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../server/data/hqchart");
    [
        "000300.sh",
        "000001.sh",
        "399001.sz",
        "399006.sz",
        "600000.sh",
        "000001.sz",
    ]
    .iter()
    .map(|f| dir.join(format!("{f}.day.kline.json")))
    .collect()
}

fn trainer() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
}

#[test]
fn train_evaluate_and_trade_on_the_probabilities() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let out = trainer()
        .arg("train-classifier")
        .arg("--input")
        .args(inputs())
        .args(["--skip-invalid", "--market", "000300.SH", "--out"])
        .arg(&run)
        .args([
            "--epochs",
            "2",
            "--steps-per-epoch",
            "12",
            "--batch-size",
            "32",
            "--d-model",
            "16",
            "--heads",
            "2",
            "--layers",
            "1",
            "--max-val",
            "512",
            "--device",
            "cpu",
            "--progress",
            "json",
            "--val-from",
            "2021-01-04",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    // JSON progress on stdout, one event per line, for the job runner.
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"start"));
    assert_eq!(kinds.iter().filter(|k| **k == "step").count(), 24);
    assert_eq!(kinds.iter().filter(|k| **k == "epoch").count(), 2);
    assert_eq!(kinds.last(), Some(&"done"));
    let start = &events[0];
    let freq: Vec<f64> = start["class_freq"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!((freq.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    // Better than the uniform guess (log 3 = 1.0986) on days it never trained on.
    let best = events.last().unwrap()["best_val_loss"].as_f64().unwrap();
    assert!(best < 1.05, "{best}: {err}");

    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("best/config.json")).unwrap()).unwrap();
    assert_eq!(config["model_type"], "kxian-classifier");
    assert_eq!(config["market"], "000300.SH");
    let trained_until = config["trained_until"].as_str().unwrap().to_string();
    assert!(trained_until.as_str() < "2021-01-04", "{trained_until}");

    let (json, csv) = (dir.path().join("eval.json"), dir.path().join("signals.csv"));
    let out = trainer()
        .arg("evaluate-classifier")
        .arg("--input")
        .args(inputs())
        .args([
            "--skip-invalid",
            "--device",
            "cpu",
            "--min-confidence",
            "0.4",
            "--model",
        ])
        .arg(run.join("best"))
        .arg("--output")
        .arg(&json)
        .arg("--signals")
        .arg(&csv)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "up_recall",
        "down_misjudge",
        "extreme_up_capture",
        "Brier",
        "reliability",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    let e: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    // Evaluation starts the day after the last training label, never before.
    assert!(e["from"].as_str().unwrap() > trained_until.as_str());
    let m = &e["metrics"];
    let n = m["samples"].as_u64().unwrap();
    let confusion: u64 = m["confusion"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_u64().unwrap()))
        .sum();
    assert_eq!(confusion, n);
    assert!(m["brier"].as_f64().unwrap() < 2.0 && m["brier_baseline"].as_f64().unwrap() > 0.0);
    assert_eq!(e["per_symbol"].as_object().unwrap().len(), 5); // the market is not a sample
    let signals = Signals::from_csv(&std::fs::read_to_string(&csv).unwrap()).unwrap();
    assert!(signals.len() as u64 >= n);

    // The probabilities drive the signal strategy of `backtest` (with cash for a lot of each
    // index among the inputs: at ¥1 M a tenth of equity buys no lot of a 4,000-point index).
    let files: Vec<String> = inputs()
        .iter()
        .map(|p| format!("{:?}", p.display().to_string()))
        .collect();
    let toml = format!(
        "[universe]\nfiles = [{}]\nskip_invalid = true\nfrom = {}\n\n[strategy]\nkind = \"signal\"\nsignals = \"signals.csv\"\nbuy_above = 0.2\nsell_above = 0.3\nmin_confidence = 0.0\nhold_days = 3\n\n[engine]\ninitial_cash = 100_000_000\n",
        files.join(", "),
        e["from"].as_str().unwrap()
    );
    std::fs::write(dir.path().join("bt.toml"), toml).unwrap();
    let result = dir.path().join("bt.json");
    let out = trainer()
        .args(["backtest", "--config"])
        .arg(dir.path().join("bt.toml"))
        .arg("--output")
        .arg(&result)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("signal: buy P(up) > 20 %"), "{text}");
    // …and it trades on them: buys, and the horizon's exits.
    let r: kxian_shared::backtest::engine::BacktestResult =
        serde_json::from_slice(&std::fs::read(&result).unwrap()).unwrap();
    assert!(r.fills.len() >= 4 && r.sells >= 2, "no trades: {text}");

    // A Kronos folder is not a classifier, and says so.
    let out = trainer()
        .arg("evaluate-classifier")
        .arg("--input")
        .args(inputs())
        .args(["--skip-invalid", "--model"])
        .arg(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../public/models/kxian-default/predictor"),
        )
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("config.json"), "{err}");
}

/// The classifier trains on the trainer's one loop, so it resumes: a run asked for more
/// epochs with `--resume` goes on from the last checkpoint's step, and one that is done says
/// so; gradient accumulation makes fewer, larger steps.
#[test]
fn the_classifier_resumes_and_accumulates() {
    let dir = tempfile::tempdir().unwrap();
    let run = |out: &std::path::Path, epochs: &str, extra: &[&str]| {
        let o = trainer()
            .arg("train-classifier")
            .arg("--input")
            .args(inputs())
            .args(["--skip-invalid", "--out"])
            .arg(out)
            .args([
                "--epochs",
                epochs,
                "--steps-per-epoch",
                "4",
                "--batch-size",
                "16",
                "--d-model",
                "16",
                "--heads",
                "2",
                "--layers",
                "1",
                "--max-val",
                "128",
                "--device",
                "cpu",
                "--progress",
                "json",
                "--val-from",
                "2021-01-04",
            ])
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let parts = dir.path().join("parts");
    run(&parts, "1", &[]);
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(parts.join("last/train_state.json")).unwrap())
            .unwrap();
    assert_eq!(
        (state["step"].as_u64(), state["epoch"].as_u64()),
        (Some(4), Some(1))
    );
    let second = run(&parts, "2", &["--resume"]);
    let steps: Vec<u64> = second
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["event"] == "step")
        .map(|e| e["step"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, [5, 6, 7, 8], "the resumed run goes on from step 4");
    let accumulated = run(&dir.path().join("acc"), "1", &["--accumulation", "2"]);
    let steps = accumulated
        .lines()
        .filter(|l| l.contains("\"event\":\"step\""))
        .count();
    assert_eq!(steps, 4, "four steps of two batches each");
}

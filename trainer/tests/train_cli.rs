//! `kxian-trainer train` as a user runs it: both stages finetuned for a few seconds each on
//! the embedded CSI 300 series, from a random checkpoint pair (Kronos-mini shapes), on the CPU.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn csi300_path() -> PathBuf {
    repo().join("server/data/hqchart/000300.sh.day.kline.json")
}

fn csi300() -> String {
    csi300_path().display().to_string()
}

/// The random checkpoint pair (Kronos-mini shapes), by the parity checkpoints' names.
fn parity(name: &str) -> String {
    crate::checkpoints::by_reference_name(name)
        .display()
        .to_string()
}

#[test]
fn both_stages_lower_the_validation_loss_and_write_loadable_checkpoints() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let csi300 = csi300();
    let out = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args(["train", "--input", &csi300, "--out", run.to_str().unwrap()])
        .args([
            "--tokenizer",
            &parity("Kronos-Tokenizer-2k-rand"),
            "--predictor",
            &parity("Kronos-mini-rand"),
        ])
        .args([
            "--lookback",
            "30",
            "--horizon",
            "5",
            "--stride",
            "8",
            "--epochs",
            "2",
            "--batch-size",
            "16",
        ])
        .args([
            "--lr",
            "1e-3",
            // A bound for a busy machine (the whole suite runs beside it): enough for five
            // steps of each stage on 2 loaded cores without AVX-512.
            "--max-seconds",
            "40",
            "--device",
            "cpu",
            "--progress",
            "json",
        ])
        .args(["--accumulation", "2"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // --progress json: one event per line on stdout, the same lines as metrics.jsonl.
    let events: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let logged = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert_eq!(logged.lines().count(), events.len());
    for stage in ["tokenizer", "predictor"] {
        let of = |kind: &'static str| {
            events
                .iter()
                .filter(move |e| e["event"] == kind && e["stage"] == stage)
        };
        let start = of("start").next().unwrap();
        // 475 windows, batches of 16 (30), two batches per step, two epochs.
        assert_eq!(start["train_windows"], 475, "{start}");
        assert_eq!(start["steps"], 30, "{start}");
        let before = of("baseline").next().unwrap()["val_loss"].as_f64().unwrap();
        let best = of("done").next().unwrap()["best_val_loss"]
            .as_f64()
            .unwrap();
        assert!(
            best < before * 0.9,
            "{stage}: validation loss {before} -> {best}"
        );
        assert!(of("step").count() >= 5, "{stage} ran steps");
        for e in of("step") {
            assert!(e["loss"].as_f64().unwrap().is_finite() && e["lr"].as_f64().unwrap() > 0.0);
        }
    }

    // The best checkpoints are ordinary model directories: the forecast command loads them.
    let f = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args([
            "forecast",
            "--input",
            &csi300,
            "--horizon",
            "3",
            "--lookback",
            "60",
            "-q",
        ])
        .args(["--tokenizer", run.join("tokenizer/best").to_str().unwrap()])
        .args(["--predictor", run.join("predictor/best").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(f.status.success(), "{}", String::from_utf8_lossy(&f.stderr));
    let r: Value = serde_json::from_slice(&f.stdout).unwrap();
    assert_eq!(r["mean"].as_array().unwrap().len(), 3);
    assert!(run.join("tokenizer/last/model.safetensors").exists());
    let card = std::fs::read_to_string(run.join("MODEL_CARD.md")).unwrap();
    assert!(
        card.contains("| tokenizer |")
            && card.contains("| predictor |")
            && card.contains("seed 42"),
        "{card}"
    );
    let config: Value =
        serde_json::from_slice(&std::fs::read(run.join("run.json")).unwrap()).unwrap();
    assert_eq!(config["accumulation"], 2);
    // Every argument, from the arguments' own type: also those a hand-made list had missed.
    for key in [
        "command",
        "tokenizer",
        "clip",
        "max_seconds",
        "save_every",
        "device",
        "preset",
    ] {
        assert!(config.get(key).is_some(), "run.json lacks {key}: {config}");
    }
}

#[test]
fn the_predictor_stage_needs_a_tokenizer_and_short_inputs_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let csi300 = csi300();
    let out = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args([
            "finetune-predictor",
            "--input",
            &csi300,
            "--out",
            tmp.path().to_str().unwrap(),
            "--device",
            "cpu",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "bad input exits 2");
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a tokenizer"));

    let out = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args([
            "finetune-tokenizer",
            "--input",
            &csi300,
            "--out",
            tmp.path().to_str().unwrap(),
            "--device",
            "cpu",
        ])
        .args(["--lookback", "4000", "--horizon", "500"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "bad input exits 2");
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("0 training and 0 validation windows of 4501 bars"),
        "{e}"
    );
}

#[test]
fn a_killed_run_resumes_from_its_last_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let csi300 = csi300();
    let args = |extra: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"));
        c.args([
            "finetune-tokenizer",
            "--input",
            &csi300,
            "--out",
            run.to_str().unwrap(),
        ])
        .args(["--tokenizer", &parity("Kronos-Tokenizer-2k-rand")])
        .args([
            "--lookback",
            "30",
            "--horizon",
            "5",
            "--stride",
            "8",
            "--epochs",
            "1",
            "--batch-size",
            "8",
        ])
        .args(["--save-every", "3", "--device", "cpu", "--progress", "json"])
        .args(extra);
        c
    };
    let state = run.join("tokenizer/last/train_state.json");
    let mut child = args(&[])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let saved_step = loop {
        if let Ok(bytes) = std::fs::read(&state) {
            let s: Value = serde_json::from_slice(&bytes).unwrap();
            if s["step"].as_u64().unwrap() >= 6 {
                break s["step"].as_u64().unwrap();
            }
        }
        assert!(
            started.elapsed().as_secs() < 120,
            "no checkpoint after two minutes"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    child.kill().unwrap();
    child.wait().unwrap();

    let out = args(&["--resume"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("resuming at epoch 0, step"), "{err}");
    let steps: Vec<u64> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["event"] == "step")
        .map(|e| e["step"].as_u64().unwrap())
        .collect();
    // It picks up after the last saved step (a kill may lose the steps since), never from 1.
    assert!(
        steps[0] > saved_step && steps[0] <= saved_step + 3,
        "first step {} after saved {saved_step}",
        steps[0]
    );
    let last: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(last["done"], true);
    let total: usize = 1 + (3832 - 36) / 8; // windows of the training part (80 % of 4,790 bars)
    assert_eq!(last["step"].as_u64().unwrap() as usize, total.div_ceil(8));
    // Running it again finds the stage finished.
    let again = args(&["--resume"]).output().unwrap();
    assert!(String::from_utf8_lossy(&again.stderr).contains("already finished"));
}

#[test]
fn evaluate_walks_forward_against_the_baselines() {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("eval.json");
    let csi300 = csi300();
    let out = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args([
            "evaluate",
            "--input",
            &csi300,
            "--out",
            json.to_str().unwrap(),
            "--device",
            "cpu",
        ])
        .args([
            "--tokenizer",
            &parity("Kronos-Tokenizer-2k-rand"),
            "--predictor",
            &parity("Kronos-mini-rand"),
        ])
        .args([
            "--lookback",
            "64",
            "--horizon",
            "5",
            "--samples",
            "4",
            "--test-fraction",
            "0.02",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8_lossy(&out.stderr);
    assert!(
        table.contains("| random walk (last close) |")
            && table.contains("| GBM fitted on the lookback |"),
        "{table}"
    );
    let e: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    // The last 2 % of 4,790 bars (96) walked every 5 bars: 19 non-overlapping forecasts.
    assert_eq!(e["model"]["forecasts"], 19);
    assert_eq!(e["random_walk"]["forecasts"], 19);
    assert!(
        e["random_walk"]["direction_accuracy"].is_null()
            && e["random_walk"]["coverage_p10_p90"].is_null()
    );
    // A point forecast's CRPS is its absolute error.
    let rw = &e["random_walk"];
    assert!((rw["crps_pct"].as_f64().unwrap() - rw["mae_pct"].as_f64().unwrap()).abs() < 1e-9);
    for who in ["model", "gbm"] {
        let c = e[who]["coverage_p10_p90"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&c), "{who} coverage {c}");
        assert!(e[who]["crps_pct"].as_f64().unwrap() > 0.0);
    }
}

/// A store (the server's own, through the store crate) holding one real series (the embedded
/// CSI 300) and a second, short one of another board.
fn make_store(path: &std::path::Path) {
    let csi300 = csi300_path();
    let bytes = std::fs::read(&csi300).unwrap();
    let name = csi300.file_name().unwrap().to_string_lossy().into_owned();
    let mut parsed = kxian_shared::ingest::parse_file(&name, &bytes, &Default::default()).unwrap();
    assert_eq!(parsed.series.len(), 1);
    let mut chinext = parsed.series[0].clone();
    chinext.symbol = "300750.SZ".parse().unwrap();
    chinext.name = None;
    chinext.bars.truncate(50);
    parsed.series.push(chinext);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = kxian_store::Store::open(path).await.unwrap();
        store.import(&parsed, "test").await.unwrap();
        store.close().await;
    });
}

#[test]
fn trains_on_series_from_the_local_store() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("kxian.db");
    make_store(&db);
    let run = tmp.path().join("run");
    let base = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
            .args([
                "finetune-tokenizer",
                "--store",
                db.to_str().unwrap(),
                "--out",
                run.to_str().unwrap(),
            ])
            .args([
                "--tokenizer",
                &parity("Kronos-Tokenizer-2k-rand"),
                "--device",
                "cpu",
                "--progress",
                "json",
            ])
            .args([
                "--lookback",
                "30",
                "--horizon",
                "5",
                "--stride",
                "8",
                "--epochs",
                "1",
                "--max-seconds",
                "3",
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    // By symbol, in any spelling, cut to a date range (inclusive days).
    let csi300 = csi300_path();
    let all = kxian_trainer::input::load(&csi300, &Default::default(), None)
        .unwrap()
        .series
        .bars;
    let (from, to) = (
        chrono::NaiveDate::from_ymd_opt(2015, 1, 1).unwrap(),
        chrono::NaiveDate::from_ymd_opt(2019, 12, 31).unwrap(),
    );
    let expected = all
        .iter()
        .filter(|b| (from..=to).contains(&b.ts.date()))
        .count();
    assert!(expected > 1000);
    let out = base(&[
        "--symbols",
        "sh000300",
        "--from",
        "2015-01-01",
        "--to",
        "2019-12-31",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains(&format!("store: 000300.SH, {expected} bars")),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // By board: only the ChiNext series, too short for a validation window.
    let out = base(&["--board", "chinext"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "data too short for the run is bad input"
    );
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("store: 300750.SZ, 50 bars") && e.contains("0 validation windows"),
        "{e}"
    );
    // Nothing stored for the selection, and no selection at all.
    let out = base(&["--symbols", "600000", "--frequency", "5m"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no 5m none series for 600000.SH"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = base(&[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs --symbols or --board"));
}

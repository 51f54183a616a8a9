//! `kxian-trainer train-model` and `evaluate-model` on the embedded daily series: every
//! backbone learns past its untrained loss and writes a card and a prediction set from its
//! test period; numeric and multitask targets; EquiNet's metrics as JSON; a killed run
//! resumes; bad files exit 2 naming the key.

use kxian_shared::predictions::rows::{RowKind, from_csv};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn files() -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../server/data/hqchart");
    let list: Vec<String> = ["000300.sh", "600000.sh", "000001.sz"]
        .iter()
        .map(|f| {
            format!(
                "{:?}",
                dir.join(format!("{f}.day.kline.json"))
                    .display()
                    .to_string()
            )
        })
        .collect();
    format!(
        "files = [{}]\nskip_invalid = true\nmarket = \"000300.SH\"",
        list.join(", ")
    )
}

/// A small, fast training file: `model`, `target` and `rest` are TOML lines of their sections.
fn config(dir: &Path, name: &str, model: &str, target: &str, loss: &str, train: &str) -> PathBuf {
    let text = format!(
        "[data]\n{}\ncontext = [20, 40]\nsplit = {{ val_from = 2016-01-04, test_from = 2019-01-02 }}\n\
         [model]\nd_model = 16\nlayers = 1\nheads = 2\ndropout = 0.0\n{model}\n\
         [target]\nhorizon = 3\n{target}\n[loss]\n{loss}\n\
         [train]\nepochs = 2\nsteps_per_epoch = 10\nbatch_size = 32\nmax_val = 384\nlr = 0.01\n{train}\n",
        files()
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn trainer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args(args)
        .output()
        .unwrap()
}

fn train(config: &Path, out: &Path, extra: &[&str]) -> (Vec<Value>, String) {
    let mut args = vec![
        "train-model",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--device",
        "cpu",
        "--progress",
        "json",
    ];
    args.extend(extra);
    let o = trainer(&args);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{err}");
    let events = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect();
    (events, err)
}

fn card(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("card.json")).unwrap()).unwrap()
}

#[test]
fn every_backbone_learns_and_writes_a_card_and_a_prediction_set_from_its_test_period() {
    let tmp = tempfile::tempdir().unwrap();
    for (backbone, extra) in [
        ("transformer", "qk_norm = true"),
        ("lstm", ""),
        ("gru", ""),
        ("cnn_lstm", "kernel = 3"),
        ("tsmixer", ""),
    ] {
        let model = format!("backbone = \"{backbone}\"\n{extra}");
        let path = config(
            tmp.path(),
            backbone,
            &model,
            "kind = \"updown3\"",
            "kind = \"ce\"",
            "",
        );
        if backbone == "tsmixer" {
            // TSMixer mixes over a fixed number of bars.
            let t = std::fs::read_to_string(&path)
                .unwrap()
                .replace("[20, 40]", "30");
            std::fs::write(&path, t).unwrap();
        }
        let out = tmp.path().join(backbone);
        let (events, _) = train(&path, &out, &[]);
        let baseline = events.iter().find(|e| e["event"] == "baseline").unwrap()["val_loss"]
            .as_f64()
            .unwrap();
        let best = events
            .iter()
            .filter(|e| e["event"] == "epoch")
            .map(|e| e["val_loss"].as_f64().unwrap())
            .fold(f64::MAX, f64::min);
        assert!(
            best < baseline,
            "{backbone}: validation loss {best} vs untrained {baseline}"
        );
        let c = card(&out);
        assert_eq!(c["backbone"], backbone);
        assert_eq!(c["test_from"], "2019-01-02");
        // No training outcome reaches the validation years.
        assert!(
            c["trained_until"].as_str().unwrap() < "2016-01-04",
            "{}",
            c["trained_until"]
        );
        let test = &c["test"];
        assert!(test["samples"].as_u64().unwrap() > 1000, "{backbone}");
        let m = &test["class"];
        for key in [
            "up_recall",
            "down_misjudge",
            "extreme_up_capture",
            "brier",
            "brier_baseline",
        ] {
            assert!(m.get(key).is_some(), "{backbone}: {key}");
        }
        assert_eq!(c["prediction_set"], "predictions.csv");
        // Every test sample is in one regime of the CSI 300 (the market), and in its symbol.
        let split = |key: &str| {
            c[key]
                .as_object()
                .unwrap()
                .values()
                .map(|s| s["samples"].as_u64().unwrap())
                .sum::<u64>()
        };
        assert_eq!(split("per_symbol"), test["samples"].as_u64().unwrap());
        assert_eq!(split("per_regime"), test["samples"].as_u64().unwrap());
        assert!(
            c["per_regime"].as_object().unwrap().len() >= 2,
            "{backbone}"
        );
        let (kind, rows) =
            from_csv(&std::fs::read_to_string(out.join("predictions.csv")).unwrap()).unwrap();
        assert_eq!(kind, RowKind::Classifier);
        assert_eq!(rows.len() as u64, test["samples"].as_u64().unwrap());
        let first = chrono::NaiveDate::from_ymd_opt(2019, 1, 2).unwrap();
        assert!(
            rows.iter().all(|r| r.as_of >= first),
            "{backbone}: a row before the test period"
        );
        assert!(
            rows.iter().all(|r| r.symbol != "000300.SH"),
            "the market is not a sample"
        );
    }
}

#[test]
fn numeric_and_multitask_targets_report_mae_and_rank_ic_and_a_return_model_gives_a_set() {
    let tmp = tempfile::tempdir().unwrap();
    // AlphaQuant's shape: factors into a QK-norm transformer, return + Sharpe + drawdown
    // with a 0.4 / 0.3 / 0.3 L1 loss.
    let path = config(
        tmp.path(),
        "multi",
        "backbone = \"transformer\"\nqk_norm = true",
        "kind = \"multitask\"\ntasks = [\"return\", \"sharpe\", \"drawdown\"]\nweights = [0.4, 0.3, 0.3]",
        "kind = \"l1\"",
        "",
    );
    let t = std::fs::read_to_string(&path).unwrap().replace(
        "context = [20, 40]",
        "context = [20, 40]\nfeatures = [\"bars\", \"factors\"]",
    );
    std::fs::write(&path, t).unwrap();
    let out = tmp.path().join("multi");
    train(&path, &out, &[]);
    let c = card(&out);
    let parts: Vec<&str> = c["test"]["numbers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["part"].as_str().unwrap())
        .collect();
    assert_eq!(parts, ["return", "sharpe", "drawdown"]);
    let r = &c["test"]["numbers"][0];
    assert!(r["mae"].as_f64().unwrap() > 0.0 && r["rank_ic"].as_f64().unwrap().is_finite());
    assert!(r["direction_accuracy"].as_f64().is_some());
    assert!(
        c["test"]["numbers"][2]["direction_accuracy"].is_null(),
        "drawdown has no sign"
    );
    let (kind, rows) =
        from_csv(&std::fs::read_to_string(out.join("predictions.csv")).unwrap()).unwrap();
    assert_eq!(kind, RowKind::Kronos);
    assert!(
        rows.iter().any(|r| r.score != rows[0].score),
        "one forecast for every stock and day"
    );

    // A volatility model predicts no return: the card says so and writes no set.
    let path = config(
        tmp.path(),
        "vol",
        "backbone = \"gru\"",
        "kind = \"volatility\"\nhorizon = 5",
        "kind = \"huber\"",
        "",
    );
    let t = std::fs::read_to_string(&path)
        .unwrap()
        .replace("horizon = 3\n", "");
    std::fs::write(&path, t).unwrap();
    let out = tmp.path().join("vol");
    train(&path, &out, &[]);
    let c = card(&out);
    assert_eq!(c["test"]["numbers"][0]["part"], "volatility");
    assert!(
        c["prediction_set"].as_str().unwrap().starts_with("none"),
        "{}",
        c["prediction_set"]
    );
    assert!(!out.join("predictions.csv").exists());
}

#[test]
fn evaluate_model_reports_equinet_metrics_by_equinet_definitions() {
    let tmp = tempfile::tempdir().unwrap();
    // EquiNet: the cost-sensitive loss and 积分制 selection.
    let path = config(
        tmp.path(),
        "equinet",
        "backbone = \"lstm\"",
        "kind = \"updown3\"",
        "kind = \"cost\"\nce_mix = 0.2",
        "select = \"points\"",
    );
    let out = tmp.path().join("run");
    let (_, err) = train(&path, &out, &[]);
    assert!(err.contains("best validation points"), "{err}");
    let set = tmp.path().join("set.csv");
    let o = trainer(&[
        "evaluate-model",
        "--model",
        out.join("best").to_str().unwrap(),
        "--config",
        path.to_str().unwrap(),
        "--format",
        "json",
        "--from",
        "2020-01-02",
        "--predictions",
        set.to_str().unwrap(),
        "--device",
        "cpu",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let e: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(e["from"], "2020-01-02");
    let m = &e["test"]["class"];
    let conf: Vec<Vec<f64>> = m["confusion"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect();
    let row = |k: usize| conf[k].iter().sum::<f64>();
    let ratio = |a: f64, b: f64| if b == 0.0 { None } else { Some(a / b) };
    assert_eq!(m["up_recall"].as_f64(), ratio(conf[0][0], row(0)));
    // Falls called up over all falls (EquiNet's), not over the up calls (ours, renamed).
    assert_eq!(m["down_misjudge"].as_f64(), ratio(conf[1][0], row(1)));
    let up_calls = conf[0][0] + conf[1][0] + conf[2][0];
    assert_eq!(m["up_calls"].as_f64(), Some(up_calls));
    assert_eq!(m["up_calls_fell"].as_f64(), ratio(conf[1][0], up_calls));
    assert!(m.get("extreme_up_capture").is_some());
    let (kind, rows) = from_csv(&std::fs::read_to_string(&set).unwrap()).unwrap();
    assert_eq!(kind, RowKind::Classifier);
    // The newest days have no outcome yet but still get a prediction.
    assert!(rows.len() as u64 > e["test"]["samples"].as_u64().unwrap());
}

#[test]
fn a_killed_run_resumes_from_its_saved_step() {
    let tmp = tempfile::tempdir().unwrap();
    let path = config(
        tmp.path(),
        "resume",
        "backbone = \"gru\"",
        "kind = \"binary\"",
        "kind = \"focal\"\nclass_weights = \"balanced\"",
        "save_every = 2\nschedule = \"cosine\"",
    );
    let t = std::fs::read_to_string(&path)
        .unwrap()
        .replace("steps_per_epoch = 10", "steps_per_epoch = 40");
    std::fs::write(&path, t).unwrap();
    let out = tmp.path().join("run");
    let state = out.join("last/train_state.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args(["train-model", "--config", path.to_str().unwrap(), "--out"])
        .arg(&out)
        .args(["--device", "cpu", "--progress", "json"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let saved = loop {
        if let Ok(bytes) = std::fs::read(&state)
            && let Ok(s) = serde_json::from_slice::<Value>(&bytes)
            && s["step"].as_u64().unwrap() >= 6
        {
            break s["step"].as_u64().unwrap();
        }
        assert!(
            started.elapsed().as_secs() < 120,
            "no checkpoint after two minutes"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    let (events, err) = train(&path, &out, &["--resume"]);
    assert!(err.contains("resuming at epoch"), "{err}");
    let steps: Vec<u64> = events
        .iter()
        .filter(|e| e["event"] == "step")
        .map(|e| e["step"].as_u64().unwrap())
        .collect();
    assert!(
        steps[0] > saved && steps[0] <= saved + 3,
        "first step {} after the saved {saved}",
        steps[0]
    );
    assert_eq!(*steps.last().unwrap(), 80);
    let (_, err) = train(&path, &out, &["--resume"]);
    assert!(err.contains("already finished"), "{err}");
}

#[test]
fn bad_files_exit_2_naming_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    for (model, target, loss, train, want) in [
        (
            "backbone = \"xgboost\"",
            "kind = \"updown3\"",
            "kind = \"ce\"",
            "",
            "backbone",
        ),
        (
            "backbone = \"lstm\"",
            "kind = \"return\"",
            "kind = \"ce\"",
            "",
            "loss.kind",
        ),
        (
            "backbone = \"lstm\"",
            "kind = \"updown3\"",
            "kind = \"mse\"",
            "",
            "loss.kind",
        ),
        (
            "backbone = \"lstm\"",
            "kind = \"return\"",
            "kind = \"l1\"",
            "select = \"points\"",
            "train.select",
        ),
        (
            "backbone = \"lstm\"",
            "kind = \"updown3\"\nhorizon = 9000",
            "kind = \"ce\"",
            "",
            "target.horizon",
        ),
        (
            "backbone = \"lstm\"",
            "kind = \"updown3\"",
            "kind = \"cost\"\ncost = [[0, 1], [1, 0]]",
            "",
            "loss.cost",
        ),
        (
            "backbone = \"tsmixer\"",
            "kind = \"updown3\"",
            "kind = \"ce\"",
            "",
            "data.context",
        ),
        (
            "backbone = \"lstm\"\nwidth = 3",
            "kind = \"updown3\"",
            "kind = \"ce\"",
            "",
            "width",
        ),
    ] {
        let path = config(tmp.path(), "bad", model, target, loss, train);
        let t = std::fs::read_to_string(&path).unwrap().replace(
            "horizon = 3\nkind = \"updown3\"\nhorizon = 9000",
            "kind = \"updown3\"\nhorizon = 9000",
        );
        std::fs::write(&path, t).unwrap();
        let o = trainer(&[
            "train-model",
            "--config",
            path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{want}: {err}");
        assert!(
            err.contains(want) && err.contains("bad.toml"),
            "{want}: {err}"
        );
    }
    // A horizon the data cannot hold: 40 bars, 20 of context and 30 after.
    let csv = tmp.path().join("sh600000.csv");
    let mut text = String::from("date,open,high,low,close,volume\n");
    let mut day = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    for k in 0..40 {
        let c = 10.0 + (k % 5) as f64 * 0.1;
        text.push_str(&format!("{day},{c},{c},{c},{c},1000\n"));
        day = day.succ_opt().unwrap();
    }
    std::fs::write(&csv, text).unwrap();
    let path = tmp.path().join("short.toml");
    std::fs::write(
        &path,
        format!(
            "[data]\nfiles = [{:?}]\ncontext = 20\n[model]\nbackbone = \"lstm\"\n[target]\nhorizon = 30\n",
            csv.display().to_string()
        ),
    )
    .unwrap();
    let o = trainer(&[
        "train-model",
        "--config",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("target.horizon") && err.contains("40 bars"),
        "{err}"
    );
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One command per seed: EquiNet's cost-sensitive classifier with 积分制 selection, seed 002's
/// LSTM and trees on its three targets, AlphaQuant's multitask Transformer with QK-norm. Each
/// writes a card from its test period (after 2021-01-04) and, where it predicts a class or a
/// return, a prediction set. Runs are cut to a few seconds; the files are the seeds' own.
#[test]
fn every_seed_example_trains_and_writes_its_card() {
    let tmp = tempfile::tempdir().unwrap();
    let models = repo().join("examples/models");
    let runs: [(&str, &[&str], &str); 8] = [
        ("equinet", &[], "updown3"),
        ("seed002-lstm", &[], "binary"),
        ("seed002-lstm", &["--target", "updown3"], "updown3"),
        (
            "seed002-lstm",
            &["--target", "return", "--loss", "mse"],
            "return",
        ),
        ("seed002-gbdt", &[], "binary"),
        ("seed002-gbdt", &["--target", "updown3"], "updown3"),
        (
            "seed002-gbdt",
            &["--target", "return", "--loss", "mse"],
            "return",
        ),
        ("alphaquant", &[], "return"),
    ];
    for (k, (name, extra, first_part)) in runs.iter().enumerate() {
        let config = models.join(format!("{name}.toml"));
        let out = tmp.path().join(format!("run{k}"));
        let mut args = vec!["--max-seconds", "2"];
        args.extend(*extra);
        train(&config, &out, &args);
        let c = card(&out);
        assert_eq!(c["target"][0], *first_part, "{name} {extra:?}");
        assert_eq!(c["test_from"], "2021-01-04", "{name}");
        assert!(c["test"]["samples"].as_u64().unwrap() > 2000, "{name}");
        let set = std::fs::read_to_string(out.join("predictions.csv")).unwrap();
        let (_, rows) = from_csv(&set).unwrap();
        assert_eq!(
            rows.len() as u64,
            c["test"]["samples"].as_u64().unwrap(),
            "{name}"
        );
        if name.ends_with("gbdt") {
            assert!(out.join("best/trees.json").exists());
            // The trees load back for evaluation like any model.
            let o = trainer(&[
                "evaluate-model",
                "--model",
                out.join("best").to_str().unwrap(),
                "--config",
                config.to_str().unwrap(),
                "--format",
                "json",
            ]);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let e: Value = serde_json::from_slice(&o.stdout).unwrap();
            assert_eq!(
                e["test"]["samples"], c["test"]["samples"],
                "{name} {extra:?}"
            );
        }
    }
}

/// The embedded stocks and the CSI 300 in a store, with fixture reference data: two banks
/// (finance) and one industrial name, their float shares and PBs.
fn reference_store(dir: &Path, with_reference: bool) -> PathBuf {
    use kxian_shared::reference::{IndustryRecord, ReferenceData, SharesRecord};
    let db = crate::examples_cli::store_until(dir, None);
    if !with_reference {
        return db;
    }
    let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
    let data = ReferenceData {
        source: "test".into(),
        industries: [
            ("600000.SH", "银行"),
            ("000001.SZ", "银行"),
            ("000151.SZ", "电气设备"),
        ]
        .into_iter()
        .map(|(s, i)| IndustryRecord {
            symbol: s.into(),
            industry: i.into(),
            from: d("2000-01-04"),
            to: None,
        })
        .collect(),
        shares: [
            ("600000.SH", 2.9e10, 0.6),
            ("000001.SZ", 1.9e10, 0.7),
            ("000151.SZ", 3.0e8, 2.5),
        ]
        .into_iter()
        .map(|(s, f, pb)| SharesRecord {
            symbol: s.into(),
            date: d("2005-01-04"),
            total_shares: f,
            float_shares: f,
            pe: None,
            pb: Some(pb),
        })
        .collect(),
        ..Default::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = kxian_store::Store::open(&db).await.unwrap();
        store.import_reference(&data).await.unwrap();
        store.close().await;
    });
    db
}

/// Seed 003: the unified conditional CNN + LSTM on fixture reference data, scored per
/// industry and regime; the single-industry model from the same file; and the conditions
/// refused, naming the key, where the store has no reference data.
#[test]
fn seed003_conditions_on_industry_style_and_regime() {
    let tmp = tempfile::tempdir().unwrap();
    let db = reference_store(tmp.path(), true);
    let example = std::fs::read_to_string(repo().join("examples/models/seed003-conditional.toml"))
        .unwrap()
        .replace("~/.local/share/kxian/kxian.db", db.to_str().unwrap());
    let config = tmp.path().join("seed003.toml");
    std::fs::write(&config, &example).unwrap();
    let out = tmp.path().join("unified");
    train(&config, &out, &["--max-seconds", "3"]);
    let c = card(&out);
    let keys = |k: &str| -> Vec<String> { c[k].as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys("per_industry"), ["finance", "industrial"]);
    assert_eq!(keys("per_symbol"), ["000001.SZ", "000151.SZ", "600000.SH"]);
    assert!(keys("per_regime").len() >= 2);
    let model: Value =
        serde_json::from_slice(&std::fs::read(out.join("best/config.json")).unwrap()).unwrap();
    assert_eq!(
        model["conditions"],
        serde_json::json!(["industry", "style", "regime"])
    );

    // One industry only: the industrial name is never a sample.
    let single = tmp.path().join("single.toml");
    std::fs::write(
        &single,
        example.replace("[data]\n", "[data]\nindustry = \"finance\"\n"),
    )
    .unwrap();
    let out = tmp.path().join("finance");
    train(&single, &out, &["--max-seconds", "2"]);
    let c = card(&out);
    assert_eq!(
        c["per_symbol"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["000001.SZ", "600000.SH"]
    );

    // The same file on a store without reference data: exit 2, naming the key and the fix.
    let bare = tempfile::tempdir().unwrap();
    let db = reference_store(bare.path(), false);
    let config = bare.path().join("seed003.toml");
    std::fs::write(
        &config,
        example.replace(
            tmp.path().join("kxian.db").to_str().unwrap(),
            db.to_str().unwrap(),
        ),
    )
    .unwrap();
    let o = trainer(&[
        "train-model",
        "--config",
        config.to_str().unwrap(),
        "--out",
        bare.path().join("out").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("data.conditions") && err.contains("download --reference"),
        "{err}"
    );
}

use super::*;
use serde_json::{Value, json};
use std::path::Path;

/// One line of every kind a job's stream carries, as the trainer and the server print them.
fn every_event() -> Vec<Value> {
    vec![
        json!({"event": "start", "stage": "tokenizer", "train_windows": 120, "val_windows": 12, "steps": 8, "parameters": 4096}),
        json!({"event": "start", "stage": "classifier", "train_samples": 900, "val_samples": 90, "steps": 30, "parameters": 1200, "class_freq": [0.2, 0.3, 0.5]}),
        json!({"event": "start", "stage": "download", "symbols": 3}),
        json!({"event": "baseline", "stage": "predictor", "val_loss": 2.5}),
        json!({"event": "step", "stage": "predictor", "epoch": 1, "step": 4, "loss": 2.25, "lr": 0.0001, "bars_per_s": 5120.5}),
        json!({"event": "step", "stage": "classifier", "epoch": 1, "step": 4, "loss": 1.0, "lr": 0.001, "samples_per_s": 300.0}),
        json!({"event": "epoch", "stage": "tokenizer", "epoch": 1, "train_loss": 0.5, "val_loss": 0.25, "best": true}),
        json!({"event": "epoch", "stage": "classifier", "epoch": 2, "train_loss": 1.0, "val_loss": 0.75, "best": false, "val_brier": 0.5, "val_brier_baseline": 0.625, "val_accuracy": 0.5}),
        json!({"event": "done", "stage": "tokenizer", "best_val_loss": 0.25, "checkpoint": "/r/tokenizer/best"}),
        json!({"event": "done", "stage": "download", "downloaded": 1, "up_to_date": 1, "empty": 0, "unknown": 1, "failed": 0, "requests": 5}),
        json!({"event": "symbol", "stage": "download", "index": 1, "total": 3, "symbol": "510300.SH", "status": "downloaded", "new_bars": 10, "first": "2024-09-02", "last": "2024-09-13"}),
        json!({"event": "symbol", "stage": "download", "index": 2, "total": 3, "symbol": "600000.SH", "status": "up_to_date"}),
        json!({"event": "symbol", "stage": "download", "index": 3, "total": 3, "symbol": "000001.SZ", "status": "unknown", "tried": ["0.000001"]}),
        json!({"event": "start", "stage": "fetch", "repo": "NeoQuasar/Kronos-mini", "files": 2, "bytes": 16433152}),
        json!({"event": "file", "stage": "fetch", "repo": "NeoQuasar/Kronos-mini", "file": "model.safetensors", "received": 1048576, "size": 16432512}),
        json!({"event": "file", "stage": "fetch", "repo": "NeoQuasar/Kronos-mini", "file": "config.json", "received": 640, "size": 640, "how": "present"}),
        json!({"event": "done", "stage": "fetch", "model": "model", "files": 4, "bytes": 16433152}),
        json!({"event": "started", "attempt": 1, "command": "train"}),
        json!({"event": "requeued", "reason": "the server stopped while the job ran; it resumes"}),
        json!({"event": "retried", "attempt": 2}),
        json!({"event": "end", "state": "cancelled"}),
        json!({"event": "end", "state": "failed", "error": "kxian-trainer exited with 2"}),
        json!({"event": "end", "state": "done", "result": {"model": "job-3"}}),
        json!({"event": "start", "stage": "predict", "symbols": 240}),
        json!({"event": "dated", "stage": "predict", "date": "2023-01-31", "rows": 8, "done": 8, "total": 240}),
        json!({"event": "done", "stage": "predict", "rows": 240, "skipped_no_bar": 2, "skipped_short_history": 0, "set": 4}),
        json!({"event": "start", "stage": "backtest", "symbols": 3}),
        json!({"event": "done", "stage": "backtest", "fills": 12, "total_return": 0.25, "sharpe": 1.5}),
        json!({"event": "end", "state": "done", "result": {"set": 4, "rows": 240}}),
        json!({"event": "end", "state": "done", "result": {"imported": [{"symbol": "510300.SH", "inserted": 10, "updated": 0}], "outcomes": {"510300.SH": {"status": "empty"}}}}),
    ]
}

#[test]
fn every_event_reads_and_prints_back_the_same_line() {
    let mut names = std::collections::BTreeSet::new();
    for line in every_event() {
        let e: JobEvent =
            serde_json::from_value(line.clone()).unwrap_or_else(|err| panic!("{line}: {err}"));
        assert_eq!(e.name(), line["event"], "{line}");
        names.insert(e.name());
        // As text: a loss is an f32, which a JSON value would widen to f64 digits.
        let line_text = line.to_string();
        assert_eq!(e.to_line().len(), line_text.len(), "{line_text}");
        let back: Value = serde_json::from_str(&e.to_line()).unwrap();
        assert_eq!(back, line);
    }
    assert_eq!(names.len(), 12, "every variant is covered: {names:?}");
}

#[test]
fn a_loss_that_went_non_finite_still_reads() {
    let e: JobEvent = serde_json::from_value(
        json!({"event": "step", "stage": "predictor", "epoch": 1, "step": 1, "loss": null, "lr": 0.1, "bars_per_s": 1.0}),
    )
    .unwrap();
    let JobEvent::Step { loss, .. } = e else {
        panic!("{e:?}")
    };
    assert!(loss.is_nan());
}

#[test]
fn a_spec_takes_any_spelling_and_is_stored_in_the_canonical_one() {
    let spec: JobSpec = serde_json::from_value(json!({
        "kind": "download", "symbols": ["sh600000", "600000", "510300"], "frequency": "1d", "adjustment": "qfq"
    }))
    .unwrap();
    let spec = spec.normalised().unwrap();
    assert_eq!(
        serde_json::to_value(&spec).unwrap(),
        json!({"kind": "download", "source": "eastmoney", "symbols": ["600000.SH", "510300.SH"],
               "universe": null, "frequency": "daily", "adjustment": "qfq", "from": null, "to": null})
    );
    assert_eq!(spec.kind(), JobKind::Download);
}

/// A value the types refuse names its field and what is allowed; so does a bound the check
/// refuses.
#[test]
fn a_bad_spec_names_what_is_wrong() {
    let bad = [
        (
            json!({"kind": "download", "symbols": ["600000"], "source": "bloomberg"}),
            "source: `bloomberg` is not eastmoney, tushare, yahoo",
        ),
        (
            json!({"kind": "download", "symbols": ["600000"], "frequency": "hourly"}),
            "frequency: unknown frequency `hourly`",
        ),
        (
            json!({"kind": "download", "universe": "everything"}),
            "universe: `everything` is not all-etfs, all-a",
        ),
        (
            json!({"kind": "download", "symbols": ["600000"], "colour": "red"}),
            "unknown field `colour`",
        ),
        (
            json!({"kind": "finetune", "symbols": ["600000"], "stages": "all"}),
            "stages: `all` is not tokenizer, predictor, both",
        ),
    ];
    for (spec, want) in bad {
        let err = serde_json::from_value::<JobSpec>(spec.clone())
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{spec}: {err}");
    }
    let checked = [
        (json!({"kind": "download"}), "symbols"),
        (
            json!({"kind": "download", "symbols": ["60000x"]}),
            "symbols",
        ),
        (
            json!({"kind": "download", "symbols": ["600000"], "from": "2024-02-01", "to": "2024-01-01"}),
            "from",
        ),
        (
            json!({"kind": "download", "symbols": ["600000"], "limit": 100}),
            "limit: only with a universe",
        ),
        (
            json!({"kind": "download", "universe": "all-a", "limit": 0}),
            "limit: at least 1",
        ),
        (json!({"kind": "finetune", "symbols": []}), "symbols"),
        (
            json!({"kind": "finetune", "symbols": ["600000"], "lr": 3.0}),
            "lr",
        ),
        (
            json!({"kind": "finetune", "symbols": ["600000"], "epochs": 0}),
            "epochs",
        ),
        (
            json!({"kind": "finetune", "symbols": ["600000"], "base": "../etc"}),
            "base",
        ),
        (
            json!({"kind": "fetch_model", "repo": "Kronos-mini"}),
            "repo",
        ),
        (json!({"kind": "fetch_model", "repo": "a/../b"}), "repo"),
        (
            json!({"kind": "fetch_model", "repo": "NeoQuasar/Kronos-mini", "tokenizer": "x y/z"}),
            "tokenizer",
        ),
        (
            json!({"kind": "fetch_model", "repo": "NeoQuasar/Kronos-mini", "revision": "../main"}),
            "revision",
        ),
    ];
    for (spec, field) in checked {
        let parsed: JobSpec = serde_json::from_value(spec.clone()).unwrap();
        let err = parsed.normalised().unwrap_err();
        assert!(err.starts_with(field), "{spec}: {err}");
    }
}

#[test]
fn trainer_arguments_name_the_job_folder_and_the_owner() {
    let dir = JobDir::new(Path::new("/w"), 7);
    let ctx = TrainerContext {
        store: Path::new("/db/k.db"),
        dir: &dir,
        owner: Owner {
            id: 3,
            admin: false,
        },
    };
    let spec: JobSpec = serde_json::from_value(
        json!({"kind": "finetune", "symbols": ["600000.SH"], "stages": "predictor", "lr": 0.001}),
    )
    .unwrap();
    let args: Vec<String> = spec
        .trainer_args(&ctx)
        .into_iter()
        .map(|a| a.into_string().unwrap())
        .collect();
    assert_eq!(args[0], "finetune-predictor");
    let after = |flag: &str| {
        let i = args
            .iter()
            .position(|a| a == flag)
            .unwrap_or_else(|| panic!("{flag}: {args:?}"));
        args[i + 1].clone()
    };
    assert_eq!(after("--out"), "/w/job-7/run");
    assert_eq!(after("--tokenizer"), "/w/job-7/base/tokenizer");
    assert_eq!(after("--as-user"), "3");
    assert_eq!(after("--lr"), "0.001");
    assert!(!args.contains(&"--as-admin".to_string()));

    // A limited list reaches the trainer as `--universe` and `--limit`.
    let spec: JobSpec =
        serde_json::from_value(json!({"kind": "download", "universe": "all-a", "limit": 100}))
            .unwrap();
    let joined = spec
        .normalised()
        .unwrap()
        .trainer_args(&ctx)
        .into_iter()
        .map(|a| a.into_string().unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(joined.contains("--universe all-a --limit 100"), "{joined}");
}

#[test]
fn a_fetch_model_job_runs_fetch_model_into_the_job_folder() {
    let dir = JobDir::new(Path::new("/w"), 9);
    let ctx = TrainerContext {
        store: Path::new("/db/k.db"),
        dir: &dir,
        owner: Owner { id: 1, admin: true },
    };
    let spec: JobSpec = serde_json::from_value::<JobSpec>(
        json!({"kind": "fetch_model", "repo": " NeoQuasar/Kronos-mini ", "tokenizer": "", "revision": "v1.0"}),
    )
    .unwrap()
    .normalised()
    .unwrap();
    assert_eq!(spec.kind(), JobKind::FetchModel);
    assert_eq!(spec.kind().as_str(), "fetch_model");
    let args: Vec<String> = spec
        .trainer_args(&ctx)
        .into_iter()
        .map(|a| a.into_string().unwrap())
        .collect();
    assert_eq!(
        args,
        [
            "fetch-model",
            "NeoQuasar/Kronos-mini",
            "--models",
            "/w/job-9/fetch",
            "--id",
            "model",
            "--progress",
            "json",
            "--revision",
            "v1.0"
        ]
    );
    assert_eq!(dir.fetched(), Path::new("/w/job-9/fetch/model"));
}

/// A predict job becomes a `predict` file the trainer reads, with the store as its universe,
/// the job's folder for the model and the output, and the set named after the job.
#[test]
fn a_predict_job_writes_a_predict_file_that_parses() {
    use crate::predictions::config::{Every, parse};
    let spec: JobSpec = serde_json::from_value(serde_json::json!({
        "kind": "predict", "symbols": ["600000", "sz000001"], "every": "20",
        "from": "2021-01-04", "to": "2021-12-31", "horizon": 10, "samples": 4
    }))
    .unwrap();
    let spec = spec.normalised().unwrap();
    assert_eq!(spec.kind(), JobKind::Predict);
    let JobSpec::Predict(p) = &spec else {
        unreachable!()
    };
    let dir = JobDir::new(std::path::Path::new("/work \"q\""), 12);
    let text = p.config_toml(std::path::Path::new("/data/kx.db"), &dir, 12);
    let c = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(c.universe.symbols, ["600000.SH", "000001.SZ"]);
    assert_eq!(
        c.universe.store.unwrap(),
        std::path::Path::new("/data/kx.db")
    );
    assert_eq!(c.schedule.every, Every::Bars(20));
    assert_eq!(
        (c.forecast.horizon, c.forecast.samples, c.forecast.lookback),
        (10, 4, 256)
    );
    assert_eq!(c.output.name.as_deref(), Some("job-12"));
    assert_eq!(c.output.csv.unwrap(), dir.predictions_csv());
    assert_eq!(c.model.tokenizer.unwrap(), dir.base().join("tokenizer"));
    assert_eq!(c.model.name.as_deref(), Some("kxian-default"));

    for (bad, field) in [
        (serde_json::json!({"kind": "predict"}), "symbols"),
        (
            serde_json::json!({"kind": "predict", "board": "main", "every": "fortnight"}),
            "every",
        ),
        (
            serde_json::json!({"kind": "predict", "board": "main", "horizon": 0}),
            "horizon",
        ),
        (
            serde_json::json!({"kind": "predict", "board": "main", "model": "../x"}),
            "model",
        ),
    ] {
        let spec: JobSpec = serde_json::from_value(bad).unwrap();
        let e = spec.normalised().unwrap_err();
        assert!(e.starts_with(field), "{e}");
    }
}

/// A backtest job is the page's file as it is; the trainer's copy reads the server's store,
/// and a file the server cannot run is refused naming why.
#[test]
fn a_backtest_job_runs_the_file_on_the_servers_store() {
    let file = "[universe]\nsymbols = [\"600000\"]\nfrom = 2020-01-02\n\n[strategy]\nkind = \"top_k\"\nscore = \"rank($close / ref($close, 20))\"\nk = 1\n";
    let spec: JobSpec = serde_json::from_value(serde_json::json!({
        "kind": "backtest", "config": file
    }))
    .unwrap();
    let spec = spec.normalised().unwrap();
    assert_eq!(spec.kind(), JobKind::Backtest);
    let JobSpec::Backtest(b) = &spec else {
        unreachable!()
    };
    let text = b
        .config_toml(std::path::Path::new("/data/kx \"q\".db"))
        .unwrap();
    let c = crate::backtest::config::parse(&text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
    assert_eq!(
        c.universe.store.unwrap(),
        std::path::Path::new("/data/kx \"q\".db")
    );
    assert_eq!(c.universe.from, chrono::NaiveDate::from_ymd_opt(2020, 1, 2));
    let args = spec.trainer_args(&super::args::TrainerContext {
        store: std::path::Path::new("/data/kx.db"),
        dir: &JobDir::new(std::path::Path::new("/w"), 3),
        owner: super::args::Owner {
            id: 5,
            admin: false,
        },
    });
    let args: Vec<String> = args.iter().map(|a| a.to_string_lossy().into()).collect();
    assert_eq!(args[0], "backtest");
    assert!(
        args.windows(2).any(|w| w == ["--progress", "json"]),
        "{args:?}"
    );
    assert!(args.windows(2).any(|w| w == ["--as-user", "5"]), "{args:?}");

    for (bad, why) in [
        (file.replace("symbols", "files"), "universe.files"),
        (file.replace("k = 1", "k = 0"), "strategy.k"),
        (
            file.replace("k = 1", "k = 1\npredictions = \"p.csv\""),
            "not files",
        ),
        (file.replace("$close, 20", "$close,"), "column"),
    ] {
        let e = JobSpec::Backtest(BacktestJob { config: bad })
            .normalised()
            .unwrap_err();
        assert!(e.contains(why), "{why}: {e}");
    }
}

/// A train-model job is the Training page's file as it is; the trainer's copy reads the
/// server's store within the hosted time limit, and a file the server cannot run is refused
/// naming the key.
#[test]
fn a_train_model_job_runs_the_file_on_the_servers_store() {
    let file = "[data]\nsymbols = [\"600000\", \"000001.SZ\"]\ncontext = 20\n\n[model]\nbackbone = \"lstm\"\n\n[target]\nkind = \"updown3\"\nhorizon = 3\n\n[loss]\nkind = \"cost\"\n";
    let spec: JobSpec = serde_json::from_value(serde_json::json!({
        "kind": "train_model", "config": file
    }))
    .unwrap();
    let spec = spec.normalised().unwrap();
    assert_eq!(spec.kind(), JobKind::TrainModel);
    let JobSpec::TrainModel(m) = &spec else {
        unreachable!()
    };
    let text = m.config_toml(std::path::Path::new("/data/kx.db")).unwrap();
    let c = crate::zoo::config::read(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(
        c.data.store.as_deref(),
        Some(std::path::Path::new("/data/kx.db"))
    );
    assert_eq!(c.train.max_seconds, Some(super::MAX_TRAIN_MODEL_SECONDS));
    assert_eq!(c.data.symbols, ["600000", "000001.SZ"]);
    // A file's own limit is kept.
    let own = m.config.clone() + "\n[train]\nmax_seconds = 30\n";
    let text = super::TrainModelJob { config: own }
        .config_toml(std::path::Path::new("/d.db"))
        .unwrap();
    assert_eq!(
        crate::zoo::config::read(&text).unwrap().train.max_seconds,
        Some(30.0)
    );
    let args = spec.trainer_args(&super::args::TrainerContext {
        store: std::path::Path::new("/data/kx.db"),
        dir: &JobDir::new(std::path::Path::new("/w"), 3),
        owner: super::args::Owner {
            id: 5,
            admin: false,
        },
    });
    let args: Vec<String> = args.iter().map(|a| a.to_string_lossy().into()).collect();
    assert_eq!(args[0], "train-model");
    assert!(args.iter().any(|a| a == "--resume"), "{args:?}");
    assert!(args.windows(2).any(|w| w == ["--as-user", "5"]), "{args:?}");

    for (bad, why) in [
        (
            file.replace(
                "symbols = [\"600000\", \"000001.SZ\"]",
                "files = [\"a.csv\"]",
            ),
            "data.files",
        ),
        (
            file.replace(
                "symbols = [\"600000\", \"000001.SZ\"]",
                "store = \"/x.db\"\nsymbols = [\"600000\"]",
            ),
            "data.store",
        ),
        (file.replace("\"lstm\"", "\"rnn\""), "backbone"),
        (
            file.to_string() + "\n[train]\nmax_seconds = 99999\n",
            "train.max_seconds",
        ),
        (
            file.replace("symbols = [\"600000\", \"000001.SZ\"]\n", ""),
            "data.symbols",
        ),
    ] {
        let e = JobSpec::TrainModel(super::TrainModelJob { config: bad })
            .normalised()
            .unwrap_err();
        assert!(e.contains(why), "{why}: {e}");
    }
}

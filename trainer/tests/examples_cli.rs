//! Every backtest example under `examples/backtest/` runs as it is, against a store of the
//! embedded data with the two prediction sets the model-driven ones name (a Kronos set made
//! by the built-in model, a classifier set made by a classifier trained here), trades, and
//! reports its benchmarks; the same file with a broken expression exits 2 naming the column.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kxian_shared::backtest::engine::BacktestResult;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn trainer() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const STOCKS: [&str; 3] = ["600000.sh", "000001.sz", "000151.sz"];

fn embedded(file: &str) -> PathBuf {
    repo().join(format!("server/data/hqchart/{file}.day.kline.json"))
}

/// An embedded daily file as the server reads it (its few invalid rows left out).
pub(crate) fn parsed(file: &str) -> kxian_shared::ingest::ParsedImport {
    let path = embedded(file);
    let opts = kxian_shared::api::ImportOptions {
        skip_invalid: true,
        ..Default::default()
    };
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    kxian_shared::ingest::parse_file(&name, &std::fs::read(&path).unwrap(), &opts).unwrap()
}

/// The embedded stocks and the CSI 300 in a fresh store, as the server seeds them.
fn store(dir: &Path) -> PathBuf {
    store_until(dir, None)
}

/// The same with every bar after `until` left out.
pub(crate) fn store_until(dir: &Path, until: Option<chrono::NaiveDate>) -> PathBuf {
    let db = dir.join("kxian.db");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = kxian_store::Store::open(&db).await.unwrap();
        for f in STOCKS.iter().chain(&["000300.sh"]) {
            let mut parsed = parsed(f);
            if let Some(d) = until {
                for s in &mut parsed.series {
                    s.bars.retain(|b| b.ts.date() <= d);
                }
            }
            store.import(&parsed, "test").await.unwrap();
        }
        store.close().await;
    });
    db
}

fn run(args: &[&str]) -> Output {
    let o = trainer().args(args).output().unwrap();
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    o
}

/// The two stored sets the model-driven examples read, small enough for a debug build.
fn prediction_sets(dir: &Path, db: &Path) {
    let universe = format!(
        "[universe]\nstore = {:?}\nsymbols = [\"600000.SH\", \"000001.SZ\", \"000151.SZ\"]\n",
        db.display().to_string()
    );
    let kronos = dir.join("kronos.toml");
    std::fs::write(
        &kronos,
        format!(
            "{universe}[model]\nkind = \"kronos\"\n[schedule]\nevery = \"month_end\"\nfrom = 2023-01-01\nto = 2024-08-31\n\
             [forecast]\nhorizon = 20\nsamples = 4\nlookback = 64\nseed = 7\n\
             [output]\nstore = {:?}\nname = \"embedded-monthly\"\n",
            db.display().to_string()
        ),
    )
    .unwrap();
    run(&[
        "predict",
        "--config",
        kronos.to_str().unwrap(),
        "--device",
        "cpu",
    ]);

    let model = dir.join("classifier");
    let mut train = vec!["train-classifier".to_string(), "--input".into()];
    train.extend(STOCKS.iter().map(|f| embedded(f).display().to_string()));
    train.extend(
        [
            "--skip-invalid",
            "--out",
            model.to_str().unwrap(),
            // The labels the example names. Validation after the set's dates: the set is
            // in-sample, so this checks the plumbing, not the model's skill (the predictions
            // tests do that).
            "--horizon",
            "5",
            "--up",
            "0.001",
            "--down",
            "-0.03",
            "--val-from",
            "2024-06-01",
            "--epochs",
            "8",
            "--steps-per-epoch",
            "40",
            "--batch-size",
            "64",
            "--d-model",
            "16",
            "--heads",
            "2",
            "--layers",
            "1",
            "--max-val",
            "256",
            "--device",
            "cpu",
        ]
        .map(String::from),
    );
    let train: Vec<&str> = train.iter().map(String::as_str).collect();
    run(&train);
    let classifier = dir.join("classifier.toml");
    std::fs::write(
        &classifier,
        format!(
            "{universe}[model]\nkind = \"classifier\"\npath = {:?}\n[schedule]\nevery = \"day\"\nfrom = 2023-01-01\n\
             [output]\nstore = {:?}\nname = \"embedded-classifier\"\n",
            model.join("best").display().to_string(),
            db.display().to_string()
        ),
    )
    .unwrap();
    run(&[
        "predict",
        "--config",
        classifier.to_str().unwrap(),
        "--device",
        "cpu",
    ]);
}

fn backtest(config: &Path, db: &Path, out: &Path) -> Output {
    trainer()
        .args(["backtest", "--config", config.to_str().unwrap()])
        .args([
            "--store",
            db.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap()
}

/// The first expression of the file (`score` or `buy`) with a dangling operator.
fn broken(text: &str) -> String {
    let key = if text.contains("\nscore = \"") {
        "\nscore = \""
    } else {
        "\nbuy = \""
    };
    text.replacen(key, &format!("{key}1 + "), 1)
        .replacen("1 + ", "1 + * ", 1)
}

#[test]
fn every_backtest_example_runs_trades_and_names_a_broken_expression() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    prediction_sets(dir.path(), &db);
    let mut examples: Vec<PathBuf> = std::fs::read_dir(repo().join("examples/backtest"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        // A point-in-time universe needs reference data this store lacks: seed 002's rotation
        // runs from a download in `download_cli::seed_002_*`.
        .filter(|p| !std::fs::read_to_string(p).unwrap().contains("\nindex = "))
        .collect();
    examples.sort();
    assert!(examples.len() >= 7, "{examples:?}");
    for example in &examples {
        let name = example.file_name().unwrap().to_string_lossy().into_owned();
        let out = dir.path().join(format!("{name}.json"));
        let o = backtest(example, &db, &out);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let text = String::from_utf8_lossy(&o.stdout);
        let r: BacktestResult = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        assert!(
            r.fills.len() >= 2 && r.sells >= 1,
            "{name}: no trades\n{text}"
        );
        assert!(text.contains("3 symbols"), "{name}: {text}");
        for line in ["equal-weight buy-and-hold", "index 000300.SH"] {
            assert!(text.contains(line), "{name}: {line}\n{text}");
        }
        if name.contains("walk-forward") {
            // Four folds refitted (the last one short), each with its own model.
            assert_eq!(
                text.matches("refitted: validation log loss").count(),
                4,
                "{text}"
            );
        }
        if name.contains("top-k") {
            assert!(text.contains("score IC      the score"), "{name}: {text}");
        }

        let bad = dir.path().join(format!("bad-{name}"));
        std::fs::write(&bad, broken(&std::fs::read_to_string(example).unwrap())).unwrap();
        let o = backtest(&bad, &db, &out);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        assert!(stderr(&o).contains("at column 5"), "{name}: {}", stderr(&o));
    }
}

/// The retraining walk-forward sees no later bar: with every bar after a date cut from the
/// store, each fold's model and every prediction up to that date are the same.
#[test]
fn the_retraining_walk_forward_reads_no_later_bar() {
    let cut = chrono::NaiveDate::from_ymd_opt(2024, 3, 29).unwrap();
    let file = "[universe]\nsymbols = [\"600000.SH\", \"000001.SZ\", \"000151.SZ\"]\nfrom = 2022-06-01\n\n\
        [strategy]\nkind = \"top_k\"\nscore = \"pred.p_up\"\nk = 1\nrebalance = \"weekly\"\n\n\
        [walk_forward]\ntrain_days = 250\ntest_days = 120\nretrain = true\n\
        [walk_forward.model]\nkind = \"classifier\"\n\
        train = { horizon = 5, up = 0.001, down = -0.03, epochs = 1, steps_per_epoch = 10, batch_size = 32, d_model = 8, heads = 2, layers = 1, max_val = 64 }\n";
    let rows = |until: Option<chrono::NaiveDate>| {
        let dir = tempfile::tempdir().unwrap();
        let db = store_until(dir.path(), until);
        let config = dir.path().join("wf.toml");
        std::fs::write(&config, file).unwrap();
        let work = dir.path().join("work");
        let o = trainer()
            .args(["backtest", "--config", config.to_str().unwrap()])
            .args([
                "--store",
                db.to_str().unwrap(),
                "--work",
                work.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{until:?}: {}", stderr(&o));
        let mut lines = Vec::new();
        for k in 0.. {
            let Ok(text) = std::fs::read_to_string(work.join(format!("fold-{k}/predictions.csv")))
            else {
                break;
            };
            lines.extend(text.lines().skip(1).map(String::from));
        }
        lines
    };
    let full = rows(None);
    let cut_rows = rows(Some(cut));
    let before = |r: &Vec<String>| -> Vec<String> {
        r.iter()
            .filter(|l| {
                l.split(',')
                    .nth(1)
                    .is_some_and(|d| d <= cut.to_string().as_str())
            })
            .cloned()
            .collect()
    };
    assert!(
        full.len() > cut_rows.len(),
        "{} vs {}",
        full.len(),
        cut_rows.len()
    );
    assert!(before(&full).len() > 300, "{}", before(&full).len());
    assert_eq!(before(&full), before(&cut_rows));
}

/// The regime-gated example buys only after a bull or sideways month end of the CSI 300 (by
/// the library's rule on the same bars), sells out after a bear or volatile one, and a
/// universe without the index is refused naming `regime.*`.
#[test]
fn a_regime_gate_trades_only_in_the_regimes_it_admits() {
    use kxian_shared::analysis::regime::{Regime, daily};
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    let out = dir.path().join("gated.json");
    let config = repo().join("examples/backtest/regime-gated-momentum.toml");
    let o = backtest(&config, &db, &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: BacktestResult = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let index = parsed("000300.sh");
    let bars = &index.series[0].bars;
    let regimes = daily(bars);
    // The regime on the trading day before a fill: the rebalance day whose orders it carries.
    let before = |day: chrono::NaiveDate| {
        let n = bars.partition_point(|b| b.ts.date() < day);
        regimes[n - 1]
    };
    let (mut buys, mut gated_sells) = (0, 0);
    for f in &r.fills {
        let g = before(f.day);
        if f.side == kxian_shared::rules::Side::Buy {
            buys += 1;
            assert!(
                matches!(g, Some(Regime::Bull | Regime::Sideways)),
                "bought on {} after a {g:?} day",
                f.day
            );
        } else if matches!(g, Some(Regime::Bear | Regime::Volatile)) {
            gated_sells += 1;
        }
    }
    assert!(
        buys > 5 && gated_sells > 2,
        "{buys} buys, {gated_sells} sells out"
    );

    // Without the index in the store, the file is refused.
    let bare = dir.path().join("bare");
    std::fs::create_dir_all(&bare).unwrap();
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "symbols = [\"600000.SH\", \"000001.SZ\", \"000151.SZ\"]",
        &format!(
            "files = [{:?}]\nbenchmark = \"000905.SH\"",
            embedded("600000.sh").display().to_string()
        ),
    );
    let cfg = bare.join("gated.toml");
    std::fs::write(&cfg, text).unwrap();
    let o = trainer()
        .args(["backtest", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("regime.*"), "{}", stderr(&o));
}

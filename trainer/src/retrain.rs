//! The retraining walk-forward (`[walk_forward] retrain = true`): on each fold the classifier is
//! trained on the training window's bars only, then predicts every day of the following test
//! window (each from the bars up to that day); the test windows' predictions, stitched, are
//! the prediction set the strategy trades out of sample.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::NaiveDate;
use clap::Parser;
use kxian_shared::backtest::config::{BacktestConfig, WalkForwardConfig};
use kxian_shared::backtest::engine::Universe;
use kxian_shared::backtest::walk_forward::{Window, windows};
use kxian_shared::predictions::config::{
    Every, ModelConfig, ModelKind, OutputConfig, PredictConfig, ScheduleConfig,
};
use kxian_shared::predictions::rows::{self, PredictionRow, RowKind};

use crate::classifier::TrainClassifierArgs;
use crate::device::DeviceChoice;
use crate::predict::PredictArgs;
use crate::progress::ProgressMode;
use crate::store::StoreReader;

/// One refitted fold: its windows, the model's best validation loss and the rows it made.
#[derive(Debug, Clone)]
pub struct Refit {
    pub window: Window,
    pub best_val_loss: f32,
    pub rows: usize,
}

#[derive(Parser)]
struct TrainOptions {
    #[command(flatten)]
    args: TrainClassifierArgs,
}

/// `train-classifier`'s command line for one training window: the universe's store and
/// symbols, the window's dates, and the file's `[walk_forward.model] train` options.
fn train_args(
    config: &BacktestConfig,
    wf: &WalkForwardConfig,
    db: &Path,
    window: &Window,
    out: &Path,
    progress: ProgressMode,
) -> anyhow::Result<TrainClassifierArgs> {
    let u = &config.universe;
    let mut argv: Vec<String> = vec!["train-classifier".into(), "--store".into()];
    argv.push(db.display().to_string());
    if !u.symbols.is_empty() {
        argv.extend(["--symbols".into(), u.symbols.join(",")]);
    }
    if let Some(b) = &u.board {
        argv.extend(["--board".into(), b.clone()]);
    }
    argv.extend([
        "--to".into(),
        window.train_to.to_string(),
        "--out".into(),
        out.display().to_string(),
        "--device".into(),
        "cpu".into(),
        "--from".into(),
        window.train_from.to_string(),
        "--progress".into(),
        match progress {
            ProgressMode::Json => "json".into(),
            ProgressMode::Bar => "bar".into(),
        },
    ]);
    let model = wf.model.as_ref().context("walk_forward.model")?;
    for (key, value) in &model.train {
        if [
            "store", "symbols", "board", "from", "to", "out", "input", "progress",
        ]
        .contains(&key.as_str())
        {
            crate::bail_input!(
                "walk_forward.model.train.{key}: set by the walk-forward (the universe and each window), not here"
            );
        }
        let flag = format!("--{}", key.replace('_', "-"));
        match value {
            toml::Value::Boolean(true) => argv.push(flag),
            toml::Value::Boolean(false) => {}
            toml::Value::String(s) => argv.extend([flag, s.clone()]),
            other => argv.extend([flag, other.to_string()]),
        }
    }
    match TrainOptions::try_parse_from(&argv) {
        Ok(o) => Ok(o.args),
        Err(e) => crate::bail_input!(
            "walk_forward.model.train: {}",
            e.render().to_string().lines().next().unwrap_or_default()
        ),
    }
}

/// Refits the model on every fold and predicts its test window; the stitched rows and the
/// folds. `work` keeps each fold's model and predictions.
pub fn refit(
    config: &BacktestConfig,
    universe: &Universe,
    db: &Path,
    work: &Path,
    (reader, progress): (StoreReader, ProgressMode),
) -> anyhow::Result<(Vec<PredictionRow>, Vec<Refit>)> {
    let wf = config.walk_forward.as_ref().context("[walk_forward]")?;
    let dates: Vec<NaiveDate> = universe
        .dates()
        .into_iter()
        .filter(|d| config.universe.contains(*d))
        .collect();
    let folds = match windows(&dates, wf.train_days, wf.test_days) {
        Ok(f) => f,
        Err(e) => crate::bail_input!("{}", e.message),
    };
    let mut all = Vec::new();
    let mut refits = Vec::new();
    for (k, window) in folds.iter().enumerate() {
        let dir = work.join(format!("fold-{k}"));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        tracing::info!(fold = k, %window.train_from, %window.train_to, "refitting");
        let args = train_args(config, wf, db, window, &dir.join("model"), progress)?;
        let trained = crate::classifier::train(&args).with_context(|| {
            format!(
                "fold {k}: training on {} to {}",
                window.train_from, window.train_to
            )
        })?;
        let rows = predict_window(
            config,
            db,
            &trained.best_dir,
            window,
            &dir,
            (reader, progress),
        )
        .with_context(|| {
            format!(
                "fold {k}: predicting {} to {}",
                window.test_from, window.test_to
            )
        })?;
        refits.push(Refit {
            window: *window,
            best_val_loss: trained.best_val_loss,
            rows: rows.len(),
        });
        all.extend(rows);
    }
    Ok((all, refits))
}

/// Every day of the test window, from the refitted model, as `predict` makes them.
fn predict_window(
    config: &BacktestConfig,
    db: &Path,
    model: &Path,
    window: &Window,
    dir: &Path,
    (reader, progress): (StoreReader, ProgressMode),
) -> anyhow::Result<Vec<PredictionRow>> {
    let csv: PathBuf = dir.join("predictions.csv");
    let mut universe = config.universe.clone();
    universe.store = Some(db.to_path_buf());
    let p = PredictConfig {
        universe,
        model: ModelConfig {
            kind: ModelKind::Classifier,
            path: Some(model.to_path_buf()),
            ..ModelConfig::default()
        },
        schedule: ScheduleConfig {
            every: Every::Day,
            from: Some(window.test_from),
            to: Some(window.test_to),
        },
        forecast: Default::default(),
        output: OutputConfig {
            csv: Some(csv.clone()),
            ..OutputConfig::default()
        },
    };
    let file = dir.join("predict.toml");
    std::fs::write(&file, toml::to_string(&p)?)?;
    crate::predict::run(&PredictArgs {
        config: file,
        device: DeviceChoice::Cpu,
        threads: None,
        overwrite: true,
        progress,
        reader,
    })?;
    let text = std::fs::read_to_string(&csv)?;
    let (kind, rows) = rows::from_csv(&text)?;
    anyhow::ensure!(
        kind == RowKind::Classifier,
        "{}: not a classifier set",
        csv.display()
    );
    Ok(rows)
}

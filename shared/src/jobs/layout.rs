//! Where a job's files are, in one place: the job folder the server makes, the run folder
//! the trainer fills, and the model folder a finetune becomes.

use std::path::{Path, PathBuf};

/// The two parts of a Kronos model, each a folder of [`MODEL_FILES`].
pub const MODEL_PARTS: [&str; 2] = ["tokenizer", "predictor"];
/// A model part's files, in the Hugging Face layout.
pub const MODEL_FILES: [&str; 2] = ["config.json", "model.safetensors"];
/// A model folder's description (Markdown).
pub const MODEL_CARD: &str = "MODEL_CARD.md";

/// One job's folder on the server: `job-{id}/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobDir(PathBuf);

impl JobDir {
    pub fn new(work: &Path, id: i64) -> JobDir {
        JobDir(work.join(format!("job-{id}")))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The trainer's standard error.
    pub fn log(&self) -> PathBuf {
        self.0.join("log.txt")
    }

    /// A download's CSVs and its [`Manifest`](super::Manifest).
    pub fn data(&self) -> PathBuf {
        self.0.join("data")
    }

    pub fn manifest(&self) -> PathBuf {
        self.data().join(MANIFEST)
    }

    /// The model a finetune starts from, copied in before the trainer starts.
    pub fn base(&self) -> PathBuf {
        self.0.join("base")
    }

    /// Where a fetch-model job's trainer puts the model (`--models`): it lands in
    /// `fetch/`[`FETCHED_ID`]`/{predictor,tokenizer}`, and the server moves it into its models
    /// folder when the job is done.
    pub fn fetch(&self) -> PathBuf {
        self.0.join("fetch")
    }

    /// The fetched model's folder.
    pub fn fetched(&self) -> PathBuf {
        self.fetch().join(FETCHED_ID)
    }

    /// A predict job's file for the trainer.
    pub fn predict_config(&self) -> PathBuf {
        self.0.join("predict.toml")
    }

    /// A predict job's set as CSV (the stored set's rows, for download).
    /// A backtest job's file (the job's own, with the server's store).
    pub fn backtest_config(&self) -> PathBuf {
        self.0.join("backtest.toml")
    }

    /// A backtest job's result: `kxian-trainer backtest --output`.
    pub fn backtest_result(&self) -> PathBuf {
        self.0.join("backtest.json")
    }

    /// Where a retraining walk-forward keeps each fold's model.
    /// A mine job's file, and the report the trainer writes.
    pub fn mine_config(&self) -> PathBuf {
        self.0.join("mine.toml")
    }

    pub fn mine_result(&self) -> PathBuf {
        self.0.join("mine.json")
    }

    /// A train-model job's file (the job's own, with the server's store).
    pub fn model_config(&self) -> PathBuf {
        self.0.join("model.toml")
    }

    /// A train-model job's run: best/ and last/ checkpoints, metrics.jsonl, card.json and
    /// predictions.csv.
    pub fn model_run(&self) -> PathBuf {
        self.0.join("model-run")
    }

    pub fn backtest_work(&self) -> PathBuf {
        self.0.join("walk-forward")
    }

    pub fn predictions_csv(&self) -> PathBuf {
        self.0.join("predictions.csv")
    }

    /// A predict job's set as Parquet.
    pub fn predictions_parquet(&self) -> PathBuf {
        self.0.join("predictions.parquet")
    }

    /// A finetune's run folder.
    pub fn run(&self) -> RunDir {
        RunDir(self.0.join("run"))
    }
}

/// The `--id` a fetch-model job's trainer is given; the server picks the served id.
pub const FETCHED_ID: &str = "model";

/// What a download writes beside its CSVs.
pub const MANIFEST: &str = "manifest.json";

/// A training run's folder, as `kxian-trainer train --out` fills it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir(pub PathBuf);

impl RunDir {
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// One stage's folder (`tokenizer`, `predictor`, `classifier`).
    pub fn stage(&self, stage: &str) -> PathBuf {
        self.0.join(stage)
    }

    /// The stage's best checkpoint so far.
    pub fn best(&self, stage: &str) -> PathBuf {
        self.stage(stage).join("best")
    }

    /// The stage's last checkpoint, which `--resume` continues from.
    pub fn last(&self, stage: &str) -> PathBuf {
        self.stage(stage).join("last")
    }

    /// Every event of the run, one JSON line each.
    pub fn metrics(&self) -> PathBuf {
        self.0.join("metrics.jsonl")
    }

    /// The run's arguments.
    pub fn run_json(&self) -> PathBuf {
        self.0.join("run.json")
    }

    pub fn model_card(&self) -> PathBuf {
        self.0.join(MODEL_CARD)
    }
}

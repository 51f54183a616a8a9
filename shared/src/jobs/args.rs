//! The trainer's command line for a job: the one place the server's job becomes
//! `kxian-trainer` flags. The trainer's own test parses this argv with its clap parser for
//! every kind of job, so the two cannot drift apart.

use std::ffi::OsString;
use std::path::Path;

use super::layout::{FETCHED_ID, JobDir};
use super::spec::{DownloadJob, FetchModelJob, FinetuneJob, JobSpec};

/// Who a job runs for: the trainer reads the store with their eyes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub id: i64,
    pub admin: bool,
}

/// What the runner knows beyond the spec.
#[derive(Debug, Clone, Copy)]
pub struct TrainerContext<'a> {
    /// The store's file.
    pub store: &'a Path,
    pub dir: &'a JobDir,
    pub owner: Owner,
}

struct Argv(Vec<OsString>);

impl Argv {
    fn flag(&mut self, name: &str) -> &mut Self {
        self.0.push(name.into());
        self
    }

    fn arg(&mut self, name: &str, value: impl Into<OsString>) -> &mut Self {
        self.0.push(name.into());
        self.0.push(value.into());
        self
    }

    fn opt<T: ToString>(&mut self, name: &str, value: Option<T>) -> &mut Self {
        if let Some(v) = value {
            self.arg(name, v.to_string());
        }
        self
    }

    fn owner(&mut self, owner: Owner) -> &mut Self {
        self.arg("--as-user", owner.id.to_string());
        if owner.admin {
            self.flag("--as-admin");
        }
        self
    }
}

impl JobSpec {
    /// `kxian-trainer`'s arguments for this job (the subcommand first), with `--progress json`
    /// so its standard output is [`JobEvent`](super::JobEvent) lines.
    pub fn trainer_args(&self, ctx: &TrainerContext<'_>) -> Vec<OsString> {
        match self {
            JobSpec::Download(d) => download_args(d, ctx),
            JobSpec::Finetune(f) => finetune_args(f, ctx),
            JobSpec::FetchModel(m) => fetch_model_args(m, ctx),
            JobSpec::Predict(_) => predict_args(ctx),
            JobSpec::Backtest(_) => backtest_args(ctx),
            JobSpec::Mine(_) => mine_args(ctx),
            JobSpec::TrainModel(_) => train_model_args(ctx),
        }
    }
}

fn download_args(d: &DownloadJob, ctx: &TrainerContext<'_>) -> Vec<OsString> {
    let mut a = Argv(vec!["download".into()]);
    if d.reference && d.csindex {
        a.flag("--reference")
            .flag("--csindex")
            .arg("--out", ctx.dir.data())
            .arg("--progress", "json");
        if !d.index.is_empty() {
            a.arg("--index", d.index.join(","));
        }
        return a.0;
    }
    if d.reference {
        a.arg("--source", d.source.as_str())
            .flag("--reference")
            .arg("--out", ctx.dir.data())
            .arg("--progress", "json")
            .opt("--from", d.from)
            .opt("--to", d.to);
        if !d.index.is_empty() {
            a.arg("--index", d.index.join(","));
        }
        return a.0;
    }
    a.arg("--source", d.source.as_str())
        .arg("--out", ctx.dir.data())
        .arg("--progress", "json")
        .arg("--frequency", d.frequency.as_str())
        .arg("--adjustment", d.adjustment.as_str());
    // A cross-check compares the whole range, so it does not start after the stored bars.
    if !d.check {
        a.arg("--store", ctx.store).owner(ctx.owner);
    }
    if !d.symbols.is_empty() {
        a.arg("--symbols", d.symbols.join(","));
    }
    a.opt("--universe", d.universe.map(|u| u.as_str()))
        .opt("--limit", d.limit)
        .opt("--from", d.from)
        .opt("--to", d.to);
    a.0
}

fn finetune_args(f: &FinetuneJob, ctx: &TrainerContext<'_>) -> Vec<OsString> {
    let base = ctx.dir.base();
    let mut a = Argv(vec![f.stages.command().into()]);
    a.arg("--store", ctx.store)
        .arg("--symbols", f.symbols.join(","))
        .arg("--out", ctx.dir.run().path())
        .arg("--tokenizer", base.join("tokenizer"))
        .arg("--predictor", base.join("predictor"))
        .arg("--epochs", f.epochs.to_string())
        .arg("--batch-size", f.batch_size.to_string())
        .arg("--lookback", f.lookback.to_string())
        .arg("--horizon", f.horizon.to_string())
        .flag("--resume")
        .flag("--skip-invalid")
        .arg("--progress", "json")
        .owner(ctx.owner)
        .opt("--lr", f.lr)
        .opt("--max-seconds", f.max_seconds);
    a.0
}

/// The job's file is written by the runner ([`PredictJob::config_toml`](super::PredictJob::config_toml)).
fn predict_args(ctx: &TrainerContext<'_>) -> Vec<OsString> {
    let mut a = Argv(vec!["predict".into()]);
    a.arg("--config", ctx.dir.predict_config())
        .arg("--progress", "json")
        .owner(ctx.owner);
    a.0
}

/// The job's file is written by the runner ([`BacktestJob::config_toml`](super::BacktestJob::config_toml)).
fn backtest_args(ctx: &TrainerContext<'_>) -> Vec<OsString> {
    let mut a = Argv(vec!["backtest".into()]);
    a.arg("--config", ctx.dir.backtest_config())
        .arg("--output", ctx.dir.backtest_result())
        .arg("--work", ctx.dir.backtest_work())
        .arg("--progress", "json")
        .owner(ctx.owner);
    a.0
}

/// The job's file is written by the runner ([`MineJob::config_toml`](super::MineJob::config_toml)).
fn mine_args(ctx: &TrainerContext<'_>) -> Vec<OsString> {
    let mut a = Argv(vec!["mine".into()]);
    a.arg("--config", ctx.dir.mine_config())
        .arg("--output", ctx.dir.mine_result())
        .arg("--out", ctx.dir.path().join("formulas.toml"))
        .arg("--state", ctx.dir.path().join("mine-state.json"))
        .arg("--progress", "json")
        .owner(ctx.owner);
    a.0
}

/// The job's file is written by the runner ([`TrainModelJob::config_toml`](super::TrainModelJob::config_toml));
/// `--resume` continues a retried or re-queued job from its last checkpoint.
fn train_model_args(ctx: &TrainerContext<'_>) -> Vec<OsString> {
    let mut a = Argv(vec!["train-model".into()]);
    a.arg("--config", ctx.dir.model_config())
        .arg("--out", ctx.dir.model_run())
        .flag("--resume")
        .arg("--progress", "json")
        .owner(ctx.owner);
    a.0
}

fn fetch_model_args(m: &FetchModelJob, ctx: &TrainerContext<'_>) -> Vec<OsString> {
    let mut a = Argv(vec!["fetch-model".into(), m.repo.clone().into()]);
    a.arg("--models", ctx.dir.fetch())
        .arg("--id", FETCHED_ID)
        .arg("--progress", "json")
        .opt("--tokenizer", m.tokenizer.as_deref())
        .opt("--revision", m.revision.as_deref());
    a.0
}

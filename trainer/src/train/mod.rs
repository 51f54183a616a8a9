//! `kxian-trainer finetune-tokenizer`, `finetune-predictor` and `train` (both in turn), on the
//! bars of files: the recipe of docs/kronos.md §8 on one machine, CPU by default.
//!
//! Windows of `lookback + horizon + 1` bars z-scored with lookback-only statistics; each
//! series split by time into train / validation / test parts that share no bar; a seeded
//! shuffle per epoch; AdamW with a one-cycle schedule and gradient clipping; the checkpoint
//! with the best validation loss and the last one, written in the HF layout so `forecast`
//! and the browser load them; metrics as JSON lines.

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Int, Tensor, TensorData};
use kxian_shared::features::windows::{Split, Window, split_windows};
use kxian_shared::model::predictor::{PredictorInput, cross_entropy};
use kxian_shared::model::sampling::Rng;
use kxian_shared::model::{KronosPredictor, KronosTokenizer, save_predictor, save_tokenizer};
use serde::Serialize;

use crate::device::{DeviceChoice, pick};
use crate::init::Preset;
use crate::input::{self, import_options};
use crate::models;

pub use crate::progress::ProgressMode;
pub use crate::schedule::one_cycle;
use kxian_shared::jobs::{Rate, StageName, StagePlan};

/// What both stages read.
/// Also what `run.json` records of a run, field for field.
#[derive(Debug, Clone, clap::Args, Serialize)]
pub struct TrainArgs {
    /// Bar files (any format the importer reads), one series each.
    #[arg(long, num_args = 1.., required_unless_present = "store")]
    pub input: Vec<PathBuf>,
    #[command(flatten)]
    #[serde(flatten)]
    pub store: crate::store::StoreSelection,
    /// Drop rows the importer rejects (reported on standard error) instead of failing.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Run directory: a folder per stage (best/, last/) and metrics.jsonl.
    #[arg(long)]
    pub out: PathBuf,
    /// Starting tokenizer (HF layout). Without one, a random tokenizer of `--preset`.
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    /// Starting predictor (HF layout). Without one, a random predictor of `--preset`.
    #[arg(long)]
    pub predictor: Option<PathBuf>,
    /// Architecture when starting from scratch.
    #[arg(long, value_enum, default_value_t = Preset::Mini)]
    pub preset: Preset,
    /// Bars each window gives as context (normalisation statistics come from these only).
    #[arg(long, default_value_t = 90)]
    pub lookback: usize,
    /// Bars after the lookback each window carries.
    #[arg(long, default_value_t = 10)]
    pub horizon: usize,
    /// Step between window starts.
    #[arg(long, default_value_t = 1)]
    pub stride: usize,
    /// Share of each series, at its end, kept for validation (then test).
    #[arg(long, default_value_t = 0.1)]
    pub val_fraction: f64,
    #[arg(long, default_value_t = 0.1)]
    pub test_fraction: f64,
    #[arg(long, default_value_t = 2)]
    pub epochs: usize,
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// Peak learning rate of the one-cycle schedule (default: 2e-4 tokenizer, 4e-5 predictor).
    #[arg(long)]
    pub lr: Option<f64>,
    #[arg(long, default_value_t = 0.1)]
    pub weight_decay: f64,
    /// Batches whose gradients are summed before each optimiser step (a larger effective batch
    /// in the same memory).
    #[arg(long, default_value_t = 1)]
    pub accumulation: usize,
    /// Gradient-norm clip (default: 2.0 tokenizer, 3.0 predictor, as upstream).
    #[arg(long)]
    pub clip: Option<f32>,
    /// Train the s2 head on the true next s1 instead of a sampled one (upstream samples).
    #[arg(long)]
    pub teacher_forcing: bool,
    /// Stop each stage after this many seconds (the epoch in progress ends early).
    #[arg(long)]
    pub max_seconds: Option<f64>,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Continue an interrupted run in `--out` from its last checkpoint (weights, data order and
    /// schedule position; the AdamW moments restart).
    #[arg(long)]
    pub resume: bool,
    /// Also write the last checkpoint every this many steps (and always at the end of an epoch).
    #[arg(long, default_value_t = 200)]
    pub save_every: usize,
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    pub device: DeviceChoice,
    #[arg(long, value_enum, default_value_t = ProgressMode::Bar)]
    pub progress: ProgressMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Tokenizer,
    Predictor,
}

impl Stage {
    fn name(self) -> &'static str {
        self.event_name().as_str()
    }

    fn event_name(self) -> StageName {
        match self {
            Stage::Tokenizer => StageName::Tokenizer,
            Stage::Predictor => StageName::Predictor,
        }
    }
}

/// The stage's outcome.
#[derive(Debug, Clone)]
pub struct StageReport {
    pub first_val_loss: f32,
    pub best_val_loss: f32,
    pub best_dir: PathBuf,
    pub epochs: Vec<(f32, f32)>,
}

mod batches;
mod stage;
mod state;

pub use batches::load_windows;
pub use stage::run_stage;
pub use state::TrainState;
pub(crate) use state::{last_checkpoint, save_dir};

#[cfg(test)]
mod tests {
    use super::batches::*;

    #[test]
    fn epochs_are_seeded_permutations() {
        let a = epoch_order(50, 1, 0);
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_eq!(a, epoch_order(50, 1, 0));
        assert_ne!(a, epoch_order(50, 1, 1));
    }
}

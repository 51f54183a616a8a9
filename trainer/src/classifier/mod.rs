//! `kxian-trainer train-classifier` and `evaluate-classifier`: EquiNet's up/down/flat task.
//!
//! Training draws random contexts of 20–100 bars (one length per batch) from every series
//! before a cut-off day; validation and evaluation read the days after it with the model's
//! fixed context. A label needs `horizon` bars after its day, and no training label reaches
//! the cut-off, so the two never share a bar's outcome.

use crate::cli_error::BadInput;
use kxian_shared::jobs::{ClassifierScores, Rate, StageName, StagePlan};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use chrono::NaiveDate;
use kxian_shared::Bar;
use kxian_shared::Symbol;
use kxian_shared::backtest::signals::{Probs, Signals};
use kxian_shared::features::classify::{
    CLASSES, ClassifierMetrics, CostMatrix, Decision, FEATURES, LabelRule, Market, Scored,
    classifier_metrics, context_rows,
};
use kxian_shared::model::checkpoint;
use kxian_shared::model::classifier::{Classifier, ClassifierConfig, Loss, batch, loss};
use kxian_shared::model::sampling::Rng;
use serde::Serialize;

use crate::device::{DeviceChoice, pick};
use crate::input::{self, import_options};
use crate::models::ModelDirError;
use crate::train::ProgressMode;

/// Where the bars come from (both commands).
#[derive(Debug, Clone, clap::Args)]
pub struct DataArgs {
    /// Bar files (any format the importer reads), one series each.
    #[arg(long, num_args = 1..)]
    pub input: Vec<PathBuf>,
    #[command(flatten)]
    pub store: crate::store::StoreSelection,
    /// Drop rows the importer rejects instead of failing.
    #[arg(long)]
    pub skip_invalid: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LossChoice {
    Ce,
    Focal,
}

#[derive(Debug, Clone, clap::Args)]
pub struct TrainClassifierArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The market index among the inputs (e.g. 000300.SH): its bars become the market
    /// features of every context, and it is not itself a sample.
    #[arg(long)]
    pub market: Option<String>,
    /// Output folder: best/ and last/ (config.json + model.safetensors) and metrics.jsonl.
    #[arg(long)]
    pub out: PathBuf,
    /// Days on or after this are validation (default: the last `--val-fraction` of days).
    #[arg(long)]
    pub val_from: Option<NaiveDate>,
    #[arg(long, default_value_t = 0.2)]
    pub val_fraction: f64,
    /// Up when the close `horizon` bars later is this much higher (0.03 = +3 %).
    #[arg(long, default_value_t = 0.03)]
    pub up: f64,
    /// Down when it is this much lower (−0.02 = −2 %).
    #[arg(long, default_value_t = -0.02, allow_hyphen_values = true)]
    pub down: f64,
    #[arg(long, default_value_t = 3)]
    pub horizon: usize,
    /// Training contexts are drawn between these lengths; validation uses `--context`.
    #[arg(long, default_value_t = 20)]
    pub min_context: usize,
    #[arg(long, default_value_t = 100)]
    pub max_context: usize,
    #[arg(long, default_value_t = 60)]
    pub context: usize,
    /// Width of the model: more learns more patterns and needs more data (64 ≈ 0.1 M parameters).
    #[arg(long, default_value_t = 64)]
    pub d_model: usize,
    #[arg(long, default_value_t = 4)]
    pub heads: usize,
    #[arg(long, default_value_t = 2)]
    pub layers: usize,
    #[arg(long, default_value_t = 0.1)]
    pub dropout: f64,
    /// Cross-entropy gives calibrated probabilities; focal trades calibration for the rare moves.
    #[arg(long, value_enum, default_value_t = LossChoice::Ce)]
    pub loss: LossChoice,
    /// Focal loss γ: 0 is cross-entropy; 2 focuses on the hard, rarer moves.
    #[arg(long, default_value_t = 2.0)]
    pub gamma: f64,
    /// Weight classes by inverse frequency in the loss (up and down are rarer than flat).
    #[arg(long)]
    pub balance: bool,
    #[arg(long, default_value_t = 5)]
    pub epochs: usize,
    #[arg(long, default_value_t = 100)]
    pub steps_per_epoch: usize,
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Batches whose gradients add up to one step (an effective batch of batch-size × this).
    #[arg(long, default_value_t = 1)]
    pub accumulation: usize,
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    #[arg(long, default_value_t = 0.01)]
    pub weight_decay: f64,
    /// At most this many validation samples, spread evenly over the validation days.
    #[arg(long, default_value_t = 4096)]
    pub max_val: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Continue from `last/` in --out when an earlier run of the same command left one.
    #[arg(long)]
    pub resume: bool,
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    pub device: DeviceChoice,
    #[arg(long, value_enum, default_value_t = ProgressMode::Bar)]
    pub progress: ProgressMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RuleChoice {
    Lift,
    Cost,
}

#[derive(Debug, Clone, clap::Args)]
pub struct EvaluateClassifierArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The classifier folder (config.json + model.safetensors), e.g. RUN/best.
    #[arg(long)]
    pub model: PathBuf,
    /// First day to evaluate (default: the day after the model's training labels end).
    #[arg(long)]
    pub eval_from: Option<NaiveDate>,
    /// Last day to evaluate.
    #[arg(long)]
    pub eval_to: Option<NaiveDate>,
    /// `cost[true][predicted]`, rows up;down;flat.
    #[arg(long, default_value = "0,2,1;4,0,1;1,1,0")]
    pub cost: String,
    /// Call flat unless the most likely class has at least this probability (rule `cost`).
    #[arg(long, default_value_t = 0.0)]
    pub min_confidence: f64,
    /// How probabilities become calls: `lift` calls up (down) when P(up) (P(down)) is at
    /// least --lift times its training base rate; `cost` takes the call of least expected
    /// cost, which with calibrated probabilities of rare moves mostly stands aside.
    #[arg(long, value_enum, default_value_t = RuleChoice::Lift)]
    pub rule: RuleChoice,
    #[arg(long, default_value_t = 2.0)]
    pub lift: f64,
    /// The report as JSON.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Every probability as `symbol,date,p_up,p_down,p_flat`, for `backtest` `kind = "signal"`.
    #[arg(long)]
    pub signals: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    pub device: DeviceChoice,
}

struct Series {
    symbol: Symbol,
    bars: Vec<Bar>,
}

fn load_series(d: &DataArgs) -> anyhow::Result<Vec<Series>> {
    let mut out = Vec::new();
    for path in &d.input {
        let s = input::load(path, &import_options(d.skip_invalid), None)?.series;
        out.push(Series {
            symbol: s.symbol,
            bars: s.bars,
        });
    }
    if let Some(db) = &d.store.store {
        for (symbol, bars) in crate::store::load(&d.store, db)? {
            out.push(Series {
                symbol: symbol
                    .parse()
                    .map_err(|e| anyhow::anyhow!("store symbol {symbol}: {e}"))?,
                bars,
            });
        }
    }
    crate::ensure_input!(
        !out.is_empty(),
        "no bars: give --input files or --store with --symbols or --board"
    );
    Ok(out)
}

/// Splits off the market series, if one is named.
fn market_of(series: &mut Vec<Series>, name: Option<&str>) -> anyhow::Result<Option<Market>> {
    let Some(name) = name else { return Ok(None) };
    let want: Symbol = name
        .parse()
        .map_err(|e| BadInput(format!("--market {name}: {e}")))?;
    let i = series
        .iter()
        .position(|s| s.symbol == want)
        .ok_or_else(|| BadInput(format!("--market {want}: not among the inputs")))?;
    let m = series.remove(i);
    crate::ensure_input!(
        !series.is_empty(),
        "--market {want} is the only series; nothing to classify"
    );
    Ok(Some(Market::new(&m.bars)))
}

/// One sample: series index and decision bar.
type Sample = (usize, usize);

const STAGE: StageName = StageName::Classifier;

fn contexts(
    series: &[Series],
    samples: &[Sample],
    len: usize,
    market: Option<&Market>,
) -> Vec<Vec<[f32; FEATURES]>> {
    samples
        .iter()
        .map(|&(i, t)| context_rows(&series[i].bars, t, len, market).expect("eligible sample"))
        .collect()
}

fn targets(
    series: &[Series],
    samples: &[Sample],
    rule: &LabelRule,
    device: &Device,
) -> Tensor<1, Int> {
    let y: Vec<i64> = samples
        .iter()
        .map(|&(i, t)| rule.label(&series[i].bars, t).expect("labelled sample").0 as i64)
        .collect();
    Tensor::from_data(TensorData::new(y, [samples.len()]), device)
}

/// Probabilities for `samples`, in chunks, with the model's inference context.
fn predict(
    model: &Classifier,
    series: &[Series],
    samples: &[Sample],
    market: Option<&Market>,
    device: &Device,
) -> Vec<[f64; 3]> {
    let mut out = Vec::with_capacity(samples.len());
    for chunk in samples.chunks(256) {
        let x = batch(
            &contexts(series, chunk, model.config.context, market),
            device,
        );
        let p: Vec<f32> = model
            .probabilities(x)
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32 probabilities");
        out.extend(p.chunks(3).map(|r| [r[0] as f64, r[1] as f64, r[2] as f64]));
    }
    out
}

fn scored(series: &[Series], samples: &[Sample], p: &[[f64; 3]], rule: &LabelRule) -> Vec<Scored> {
    samples
        .iter()
        .zip(p)
        .map(|(&(i, t), p)| {
            let (class, forward_return) = rule.label(&series[i].bars, t).expect("labelled");
            Scored {
                p: *p,
                class,
                forward_return,
            }
        })
        .collect()
}

/// The cut-off: `val_from`, or the day that leaves `val_fraction` of all bar-days after it.
fn cutoff(series: &[Series], val_from: Option<NaiveDate>, val_fraction: f64) -> NaiveDate {
    if let Some(d) = val_from {
        return d;
    }
    let mut days: Vec<NaiveDate> = series
        .iter()
        .flat_map(|s| s.bars.iter().map(|b| b.ts.date()))
        .collect();
    days.sort_unstable();
    let k = ((days.len() as f64) * (1.0 - val_fraction.clamp(0.01, 0.99))) as usize;
    days[k.min(days.len() - 1)]
}

mod evaluate;
mod train;

pub use evaluate::{Evaluation, evaluate, load_model, table};
pub use train::{TrainOutcome, train};

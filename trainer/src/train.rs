//! `kxian-trainer finetune-tokenizer`, `finetune-predictor` and `train` (both in turn), on the
//! bars of files: spec §8's recipe on one machine, CPU by default.
//!
//! Windows of `lookback + horizon + 1` bars z-scored with lookback-only statistics; each
//! series split by time into train / validation / test parts that share no bar; a seeded
//! shuffle per epoch; AdamW with a one-cycle schedule and gradient clipping; the checkpoint
//! with the best validation loss and the last one, written in the HF layout so `forecast`
//! and the browser load them; metrics as JSON lines.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsAccumulator, GradientsParams};
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// A progress bar on a terminal, nothing otherwise.
    Bar,
    /// One JSON event per line on standard output (for the server's job runner).
    Json,
}

/// What both stages read.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainArgs {
    /// Bar files (any format the importer reads), one series each.
    #[arg(long, num_args = 1.., required_unless_present = "store")]
    pub input: Vec<PathBuf>,
    #[command(flatten)]
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
        match self {
            Stage::Tokenizer => "tokenizer",
            Stage::Predictor => "predictor",
        }
    }
}

/// One line of `metrics.jsonl` and of `--progress json`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TrainEvent {
    Start {
        stage: &'static str,
        train_windows: usize,
        val_windows: usize,
        steps: usize,
        parameters: usize,
    },
    /// The validation loss before the first step.
    Baseline { stage: &'static str, val_loss: f32 },
    Step {
        stage: &'static str,
        epoch: usize,
        step: usize,
        loss: f32,
        lr: f64,
        bars_per_s: f64,
    },
    Epoch {
        stage: &'static str,
        epoch: usize,
        train_loss: f32,
        val_loss: f32,
        best: bool,
    },
    Done {
        stage: &'static str,
        best_val_loss: f32,
        checkpoint: String,
    },
}

/// The stage's outcome.
#[derive(Debug, Clone)]
pub struct StageReport {
    pub first_val_loss: f32,
    pub best_val_loss: f32,
    pub best_dir: PathBuf,
    pub epochs: Vec<(f32, f32)>,
}

/// One-cycle learning rate (PyTorch's `OneCycleLR` with cosine annealing): from max/10 up to
/// max over the first 3 % of steps, then down to max/1e5.
pub fn one_cycle(max_lr: f64, step: usize, total: usize) -> f64 {
    let warm = ((total as f64) * 0.03).max(1.0);
    let (start, end) = (max_lr / 10.0, max_lr / 1e5);
    let cos = |from: f64, to: f64, t: f64| {
        to + (from - to) * (1.0 + (std::f64::consts::PI * t.clamp(0.0, 1.0)).cos()) / 2.0
    };
    let s = step as f64;
    if s < warm {
        cos(start, max_lr, s / warm)
    } else {
        cos(max_lr, end, (s - warm) / ((total as f64) - warm).max(1.0))
    }
}

struct Events {
    file: std::fs::File,
    json: bool,
}

impl Events {
    fn emit(&mut self, e: &TrainEvent) {
        let line = serde_json::to_string(e).expect("event serialises");
        let _ = writeln!(self.file, "{line}");
        if self.json {
            println!("{line}");
        }
    }
}

/// Training and validation windows of every input, loaded once per run.
pub fn load_windows(args: &TrainArgs) -> anyhow::Result<(Vec<Window>, Vec<Window>)> {
    let (mut train, mut val) = (Vec::new(), Vec::new());
    let mut all: Vec<Vec<kxian_shared::Bar>> = Vec::new();
    for path in &args.input {
        all.push(
            input::load(path, &import_options(args.skip_invalid), None)?
                .series
                .bars,
        );
    }
    if let Some(db) = &args.store.store {
        for (symbol, bars) in crate::store::load(&args.store, db)? {
            eprintln!("store: {symbol}, {} bars", bars.len());
            all.push(bars);
        }
    }
    for bars in &all {
        let w = |part| {
            split_windows(
                bars,
                part,
                args.val_fraction,
                args.test_fraction,
                args.lookback,
                args.horizon,
                args.stride,
            )
        };
        train.extend(w(Split::Train));
        val.extend(w(Split::Validation));
    }
    anyhow::ensure!(
        !train.is_empty() && !val.is_empty(),
        "the inputs give {} training and {} validation windows of {} bars; use longer series, a shorter --lookback/--horizon or a larger --val-fraction",
        train.len(),
        val.len(),
        args.lookback + args.horizon + 1
    );
    Ok((train, val))
}

fn batch_x(ws: &[&Window], device: &Device) -> Tensor<3> {
    let len = ws[0].rows.len();
    let flat: Vec<f32> = ws
        .iter()
        .flat_map(|w| w.rows.iter().flatten().copied())
        .collect();
    Tensor::from_data(TensorData::new(flat, [ws.len(), len, 6]), device)
}

/// Training batches of an epoch: a seeded shuffle, so a resumed or repeated run sees the
/// same order, and no window twice in an epoch.
fn epoch_order(n: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut rng = Rng::new(seed ^ (epoch as u64).wrapping_mul(0x9e37_79b9));
    let mut idx: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        idx.swap(i, j);
    }
    idx
}

/// The windows of a batch, borrowed: nothing is copied per step.
fn batch_of<'a>(set: &'a [Window], idx: &[usize]) -> Vec<&'a Window> {
    idx.iter().map(|&i| &set[i]).collect()
}

fn tokenizer_loss(model: &KronosTokenizer, ws: &[&Window], device: &Device) -> Tensor<1> {
    model.forward_train(batch_x(ws, device)).loss
}

fn tokenizer_val(model: &KronosTokenizer, ws: &[&Window], device: &Device) -> Tensor<1> {
    model.forward_train(batch_x(ws, device)).recon_mse
}

/// Tokens of every window, from the frozen tokenizer.
fn tokenize_all(
    tok: &KronosTokenizer,
    ws: &[Window],
    device: &Device,
    batch: usize,
) -> Vec<(Vec<u32>, Vec<u32>)> {
    let mut out = Vec::with_capacity(ws.len());
    for chunk in ws.chunks(batch) {
        let refs: Vec<&Window> = chunk.iter().collect();
        let ids = tok.encode(batch_x(&refs, device)).ids;
        for b in 0..ids.batch {
            let (s1, s2) = ids.row(b);
            out.push((s1.to_vec(), s2.to_vec()));
        }
    }
    out
}

fn predictor_loss(
    model: &KronosPredictor,
    ws: &[&Window],
    tokens: &[&(Vec<u32>, Vec<u32>)],
    teacher_forcing: bool,
    device: &Device,
) -> Tensor<1> {
    let b = ws.len();
    let l = ws[0].rows.len() - 1;
    let mut s1 = Vec::with_capacity(b * l);
    let mut s2 = Vec::with_capacity(b * l);
    let mut st = Vec::with_capacity(b * l);
    let mut t1 = Vec::with_capacity(b * l);
    let mut t2 = Vec::with_capacity(b * l);
    for (w, (a, c)) in ws.iter().zip(tokens) {
        s1.extend_from_slice(&a[..l]);
        s2.extend_from_slice(&c[..l]);
        st.extend_from_slice(&w.stamps[..l]);
        t1.extend(a[1..].iter().map(|&x| i64::from(x)));
        t2.extend(c[1..].iter().map(|&x| i64::from(x)));
    }
    let input = PredictorInput::from_slices(b, &s1, &s2, &st, device);
    let target = |v: Vec<i64>| Tensor::<2, Int>::from_data(TensorData::new(v, [b, l]), device);
    let (t1, t2) = (target(t1), target(t2));
    let siblings = if teacher_forcing {
        t1.clone()
    } else {
        // Upstream conditions s2 on an s1 drawn from the model's own (detached) s1 logits.
        let h = model.hidden(&input, 0, None);
        let probs = burn::tensor::activation::softmax(model.s1_logits(h).detach(), 2);
        probs.categorical(1).reshape([b, l])
    };
    let (l1, l2) = model.forward_train(&input, siblings);
    (cross_entropy(l1, t1) + cross_entropy(l2, t2)).div_scalar(2.0)
}

fn mean_loss(losses: &[f32]) -> f32 {
    losses.iter().sum::<f32>() / losses.len().max(1) as f32
}

/// Where a stage stands, saved inside each `last` checkpoint so weights and position always
/// travel together.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct TrainState {
    /// The epoch in progress and the batches of it already done.
    pub epoch: usize,
    pub batch: usize,
    pub step: usize,
    pub best_val_loss: f32,
    pub first_val_loss: f32,
    pub epochs: Vec<(f32, f32)>,
    pub done: bool,
}

const STATE_FILE: &str = "train_state.json";

pub(crate) fn save_dir(
    dir: &Path,
    saved: &kxian_shared::model::Saved,
    state: Option<&TrainState>,
) -> anyhow::Result<()> {
    // Write beside, then swap in: a kill leaves either the old or the new checkpoint whole
    // (`last.old` covers the moment between the two renames).
    let tmp = dir.with_extension("tmp");
    let old = dir.with_extension("old");
    let _ = std::fs::remove_dir_all(&tmp);
    models::save(&tmp, saved)?;
    if let Some(state) = state {
        std::fs::write(tmp.join(STATE_FILE), serde_json::to_vec_pretty(state)?)?;
    }
    let _ = std::fs::remove_dir_all(&old);
    if dir.exists() {
        std::fs::rename(dir, &old)?;
    }
    std::fs::rename(&tmp, dir)?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

/// The last checkpoint of a stage and its state, if the run got that far.
fn last_checkpoint(stage_dir: &Path) -> Option<(PathBuf, TrainState)> {
    ["last", "last.old"].iter().find_map(|name| {
        let dir = stage_dir.join(name);
        let state = serde_json::from_slice(&std::fs::read(dir.join(STATE_FILE)).ok()?).ok()?;
        Some((dir, state))
    })
}

/// Runs one stage on the run's windows (see [`load_windows`]) and returns where its best
/// checkpoint went.
pub fn run_stage(
    stage: Stage,
    args: &TrainArgs,
    windows: &(Vec<Window>, Vec<Window>),
    tokenizer_dir: Option<&Path>,
) -> anyhow::Result<StageReport> {
    let picked = pick(args.device)?;
    eprintln!("device: {} ({})", picked.backend, picked.why);
    let device = picked.device.clone().autodiff();
    device.seed(args.seed);
    let plain = picked.device.clone();
    let (train, val) = (&windows.0, &windows.1);
    let stage_dir = args.out.join(stage.name());
    std::fs::create_dir_all(&stage_dir)?;
    let mut events = Events {
        file: std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(args.out.join("metrics.jsonl"))?,
        json: args.progress == ProgressMode::Json,
    };
    let accumulation = args.accumulation.max(1);
    let steps_per_epoch = train.len().div_ceil(args.batch_size).div_ceil(accumulation);
    let total = steps_per_epoch * args.epochs;
    let (preset_tok, preset_pred) = args.preset.configs();
    let started = Instant::now();
    let out_of_time = || {
        args.max_seconds
            .is_some_and(|s| started.elapsed().as_secs_f64() > s)
    };
    let bar = if args.progress == ProgressMode::Bar
        && std::io::IsTerminal::is_terminal(&std::io::stderr())
    {
        indicatif::ProgressBar::new(total as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {msg} [{bar:30}] {pos}/{len} steps {elapsed} (ETA {eta})",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let resumed = if args.resume {
        last_checkpoint(&stage_dir)
    } else {
        None
    };
    let best_dir = stage_dir.join("best");
    if let Some((_, state)) = &resumed
        && state.done
    {
        eprintln!(
            "{}: already finished in {}",
            stage.name(),
            stage_dir.display()
        );
        return Ok(StageReport {
            first_val_loss: state.first_val_loss,
            best_val_loss: state.best_val_loss,
            best_dir,
            epochs: state.epochs.clone(),
        });
    }
    let mut state = resumed
        .as_ref()
        .map(|(_, s)| s.clone())
        .unwrap_or(TrainState {
            // Not infinity: JSON has no infinity, and the state must read back.
            best_val_loss: f32::MAX,
            ..TrainState::default()
        });
    let resume_dir = resumed.map(|(d, _)| d);
    if let Some(d) = &resume_dir {
        eprintln!(
            "{}: resuming at epoch {}, step {} from {}",
            stage.name(),
            state.epoch,
            state.step,
            d.display()
        );
    }
    let bars_per_window = (args.lookback + args.horizon + 1) as f64;

    macro_rules! train_loop {
        ($model:ident, $loss:expr, $val:expr, $save:expr, $default_lr:expr, $default_clip:expr) => {{
            events.emit(&TrainEvent::Start {
                stage: stage.name(),
                train_windows: train.len(),
                val_windows: val.len(),
                steps: total,
                parameters: $model.num_params(),
            });
            let lr_max = args.lr.unwrap_or($default_lr);
            let mut optim = AdamWConfig::new()
                .with_weight_decay(args.weight_decay as f32)
                .with_grad_clipping(Some(burn::grad_clipping::GradientClippingConfig::Norm(
                    args.clip.unwrap_or($default_clip),
                )))
                .init();
            let val_refs: Vec<usize> = (0..val.len()).collect();
            let validate = |m: &_| -> f32 {
                let losses: Vec<f32> = val_refs
                    .chunks(args.batch_size)
                    .map(|c| $val(m, c).into_scalar::<f32>())
                    .collect();
                mean_loss(&losses)
            };
            if state.step == 0 {
                state.first_val_loss = validate(&$model.valid());
            }
            events.emit(&TrainEvent::Baseline {
                stage: stage.name(),
                val_loss: state.first_val_loss,
            });
            bar.set_position(state.step as u64);
            let mut stopped = false;
            while state.epoch < args.epochs && !stopped {
                let epoch = state.epoch;
                let order = epoch_order(train.len(), args.seed, epoch);
                let mut losses = Vec::new();
                let batches: Vec<&[usize]> = order.chunks(args.batch_size).collect();
                for group in batches[state.batch.min(batches.len())..].chunks(accumulation) {
                    let t0 = Instant::now();
                    let mut accumulator = GradientsAccumulator::new();
                    let mut value = 0.0;
                    for chunk in group {
                        // Mean over the group: each batch's loss counts 1/len of it.
                        let loss = $loss(&$model, chunk).div_scalar(group.len() as f64);
                        value += loss.clone().into_scalar::<f32>();
                        accumulator.accumulate(
                            &$model,
                            GradientsParams::from_grads(loss.backward(), &$model),
                        );
                    }
                    let lr = one_cycle(lr_max, state.step, total);
                    $model = optim.step(lr, $model, accumulator.grads());
                    let chunk: Vec<usize> = group.iter().flat_map(|c| c.iter().copied()).collect();
                    losses.push(value);
                    state.step += 1;
                    state.batch += group.len();
                    bar.set_message(format!("{} loss {value:.4}", stage.name()));
                    bar.inc(1);
                    let bars_per_s =
                        chunk.len() as f64 * bars_per_window / t0.elapsed().as_secs_f64();
                    events.emit(&TrainEvent::Step {
                        stage: stage.name(),
                        epoch,
                        step: state.step,
                        loss: value,
                        lr,
                        bars_per_s,
                    });
                    if state.step % args.save_every.max(1) == 0 {
                        save_dir(&stage_dir.join("last"), &$save(&$model), Some(&state))?;
                    }
                    if out_of_time() {
                        stopped = true;
                        break;
                    }
                }
                let val_loss = validate(&$model.valid());
                let is_best = val_loss < state.best_val_loss;
                if is_best {
                    state.best_val_loss = val_loss;
                    save_dir(&best_dir, &$save(&$model), None)?;
                }
                let train_loss = mean_loss(&losses);
                state.epochs.push((train_loss, val_loss));
                if !stopped {
                    state.epoch += 1;
                    state.batch = 0;
                }
                save_dir(&stage_dir.join("last"), &$save(&$model), Some(&state))?;
                events.emit(&TrainEvent::Epoch {
                    stage: stage.name(),
                    epoch,
                    train_loss,
                    val_loss,
                    best: is_best,
                });
            }
            // Ran out of epochs or of the time budget: either way the stage is finished.
            state.done = true;
            save_dir(&stage_dir.join("last"), &$save(&$model), Some(&state))?;
        }};
    }

    match stage {
        Stage::Tokenizer => {
            let mut model = match (&resume_dir, &args.tokenizer) {
                (Some(dir), _) | (None, Some(dir)) => models::load_tokenizer(dir, &device)?,
                (None, None) => KronosTokenizer::new(&preset_tok, &device),
            };
            train_loop!(
                model,
                |m: &KronosTokenizer, idx: &[usize]| tokenizer_loss(
                    m,
                    &batch_of(train, idx),
                    &device
                ),
                |m: &KronosTokenizer, idx: &[usize]| tokenizer_val(m, &batch_of(val, idx), &plain),
                save_tokenizer,
                2e-4,
                2.0
            );
        }
        Stage::Predictor => {
            let tok_dir = tokenizer_dir.or(args.tokenizer.as_deref());
            let tokenizer = match tok_dir {
                Some(dir) => models::load_tokenizer(dir, &plain)?,
                None => anyhow::bail!(
                    "the predictor stage needs a tokenizer (--tokenizer, or run `train` for both stages)"
                ),
            };
            let mut model = match (&resume_dir, &args.predictor) {
                (Some(dir), _) | (None, Some(dir)) => models::load_predictor(dir, &device)?,
                (None, None) => KronosPredictor::new(&preset_pred, &device),
            };
            kxian_shared::model::check_pair(&tokenizer.config, &model.config)?;
            let train_tokens = tokenize_all(&tokenizer, train, &plain, args.batch_size);
            let val_tokens = tokenize_all(&tokenizer, val, &plain, args.batch_size);
            let tf = args.teacher_forcing;
            train_loop!(
                model,
                |m: &KronosPredictor, idx: &[usize]| {
                    let ws = batch_of(train, idx);
                    let tk: Vec<_> = idx.iter().map(|&i| &train_tokens[i]).collect();
                    predictor_loss(m, &ws, &tk, tf, &device)
                },
                |m: &KronosPredictor, idx: &[usize]| {
                    let ws = batch_of(val, idx);
                    let tk: Vec<_> = idx.iter().map(|&i| &val_tokens[i]).collect();
                    predictor_loss(m, &ws, &tk, true, &plain)
                },
                save_predictor,
                4e-5,
                3.0
            );
        }
    }
    bar.finish_and_clear();
    if state.done {
        events.emit(&TrainEvent::Done {
            stage: stage.name(),
            best_val_loss: state.best_val_loss,
            checkpoint: best_dir.display().to_string(),
        });
    }
    Ok(StageReport {
        first_val_loss: state.first_val_loss,
        best_val_loss: state.best_val_loss,
        best_dir,
        epochs: state.epochs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_cycle_warms_up_then_anneals() {
        let lr = |s| one_cycle(1e-3, s, 1000);
        assert!((lr(0) - 1e-4).abs() < 1e-12);
        assert!((lr(30) - 1e-3).abs() < 1e-9);
        assert!(lr(500) < lr(100));
        assert!((lr(1000) - 1e-8).abs() < 1e-10);
    }

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

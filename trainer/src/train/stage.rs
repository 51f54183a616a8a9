//! One stage's training loop: batches, accumulation, the schedule, validation each epoch,
//! checkpoints and events, resumable from `last/`.

use super::batches::*;
use super::state::*;
use super::*;
use crate::fit::{FitConfig, Task, fit};

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
    let accumulation = args.accumulation.max(1);
    let steps_per_epoch = train.len().div_ceil(args.batch_size).div_ceil(accumulation);
    let (preset_tok, preset_pred) = args.preset.configs();
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
    let state = resumed
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
    let metrics = args.out.join("metrics.jsonl");
    let fit_config = |default_lr: f64, default_clip: f32| FitConfig {
        stage: stage.event_name(),
        dir: &stage_dir,
        metrics: &metrics,
        progress: args.progress,
        epochs: args.epochs,
        steps_per_epoch,
        accumulation,
        lr: args.lr.unwrap_or(default_lr),
        weight_decay: args.weight_decay,
        clip: args.clip.unwrap_or(default_clip),
        max_seconds: args.max_seconds,
        save_every: args.save_every,
        schedule: crate::schedule::one_cycle,
    };
    let windows = Windows {
        train,
        val,
        batch_size: args.batch_size,
        seed: args.seed,
        bars_per_window: (args.lookback + args.horizon + 1) as f64,
    };
    let fitted = match stage {
        Stage::Tokenizer => {
            let model = match (&resume_dir, &args.tokenizer) {
                (Some(dir), _) | (None, Some(dir)) => models::load_tokenizer(dir, &device)?,
                (None, None) => KronosTokenizer::new(&preset_tok, &device),
            };
            let mut task = TokenizerTask {
                windows,
                device: &device,
                plain: &plain,
            };
            fit(&mut task, model, state, &fit_config(2e-4, 2.0))?
        }
        Stage::Predictor => {
            let tok_dir = tokenizer_dir.or(args.tokenizer.as_deref());
            let tokenizer = match tok_dir {
                Some(dir) => models::load_tokenizer(dir, &plain)?,
                None => crate::bail_input!(
                    "the predictor stage needs a tokenizer (--tokenizer, or run `train` for both stages)"
                ),
            };
            let model = match (&resume_dir, &args.predictor) {
                (Some(dir), _) | (None, Some(dir)) => models::load_predictor(dir, &device)?,
                (None, None) => KronosPredictor::new(&preset_pred, &device),
            };
            kxian_shared::model::check_pair(&tokenizer.config, &model.config)?;
            let mut task = PredictorTask {
                train_tokens: tokenize_all(&tokenizer, train, &plain, args.batch_size),
                val_tokens: tokenize_all(&tokenizer, val, &plain, args.batch_size),
                windows,
                teacher_forcing: args.teacher_forcing,
                device: &device,
                plain: &plain,
            };
            fit(&mut task, model, state, &fit_config(4e-5, 3.0))?
        }
    };
    let state = fitted.state;
    Ok(StageReport {
        first_val_loss: state.first_val_loss,
        best_val_loss: state.best_val_loss,
        best_dir,
        epochs: state.epochs,
    })
}

/// What both Kronos stages train on: the run's windows in seeded epoch order.
struct Windows<'a> {
    train: &'a [Window],
    val: &'a [Window],
    batch_size: usize,
    seed: u64,
    bars_per_window: f64,
}

impl Windows<'_> {
    fn batches(&self, epoch: usize) -> Vec<Vec<usize>> {
        epoch_order(self.train.len(), self.seed, epoch)
            .chunks(self.batch_size)
            .map(<[usize]>::to_vec)
            .collect()
    }

    /// The mean over validation batches of `loss`.
    fn validate(&self, loss: impl Fn(&[usize]) -> Tensor<1>) -> f32 {
        let all: Vec<usize> = (0..self.val.len()).collect();
        let losses: Vec<f32> = all
            .chunks(self.batch_size)
            .map(|c| loss(c).into_scalar::<f32>())
            .collect();
        mean_loss(&losses)
    }

    fn rate(&self, batches: &[Vec<usize>], secs: f64) -> Rate {
        let windows: usize = batches.iter().map(Vec::len).sum();
        Rate::Bars {
            bars_per_s: windows as f64 * self.bars_per_window / secs,
        }
    }

    fn plan(&self, parameters: usize, steps: usize) -> StagePlan {
        StagePlan::Windows {
            train_windows: self.train.len(),
            val_windows: self.val.len(),
            steps,
            parameters,
        }
    }
}

struct TokenizerTask<'a> {
    windows: Windows<'a>,
    device: &'a Device,
    plain: &'a Device,
}

impl Task for TokenizerTask<'_> {
    type Model = KronosTokenizer;
    type Batch = Vec<usize>;
    type Scores = ();

    fn batches(&mut self, epoch: usize) -> Vec<Vec<usize>> {
        self.windows.batches(epoch)
    }

    fn loss(&self, model: &KronosTokenizer, batch: &Vec<usize>) -> Tensor<1> {
        tokenizer_loss(model, &batch_of(self.windows.train, batch), self.device)
    }

    fn validate(&self, model: &KronosTokenizer) -> (f32, ()) {
        let loss = self
            .windows
            .validate(|idx| tokenizer_val(model, &batch_of(self.windows.val, idx), self.plain));
        (loss, ())
    }

    fn save(&self, model: &KronosTokenizer) -> kxian_shared::model::Saved {
        save_tokenizer(model)
    }

    fn rate(&self, batches: &[Vec<usize>], secs: f64) -> Rate {
        self.windows.rate(batches, secs)
    }

    fn plan(&self, parameters: usize, steps: usize) -> StagePlan {
        self.windows.plan(parameters, steps)
    }
}

struct PredictorTask<'a> {
    windows: Windows<'a>,
    train_tokens: Vec<(Vec<u32>, Vec<u32>)>,
    val_tokens: Vec<(Vec<u32>, Vec<u32>)>,
    teacher_forcing: bool,
    device: &'a Device,
    plain: &'a Device,
}

impl Task for PredictorTask<'_> {
    type Model = KronosPredictor;
    type Batch = Vec<usize>;
    type Scores = ();

    fn batches(&mut self, epoch: usize) -> Vec<Vec<usize>> {
        self.windows.batches(epoch)
    }

    fn loss(&self, model: &KronosPredictor, batch: &Vec<usize>) -> Tensor<1> {
        let ws = batch_of(self.windows.train, batch);
        let tk: Vec<_> = batch.iter().map(|&i| &self.train_tokens[i]).collect();
        predictor_loss(model, &ws, &tk, self.teacher_forcing, self.device)
    }

    fn validate(&self, model: &KronosPredictor) -> (f32, ()) {
        let loss = self.windows.validate(|idx| {
            let ws = batch_of(self.windows.val, idx);
            let tk: Vec<_> = idx.iter().map(|&i| &self.val_tokens[i]).collect();
            predictor_loss(model, &ws, &tk, true, self.plain)
        });
        (loss, ())
    }

    fn save(&self, model: &KronosPredictor) -> kxian_shared::model::Saved {
        save_predictor(model)
    }

    fn rate(&self, batches: &[Vec<usize>], secs: f64) -> Rate {
        self.windows.rate(batches, secs)
    }

    fn plan(&self, parameters: usize, steps: usize) -> StagePlan {
        self.windows.plan(parameters, steps)
    }
}

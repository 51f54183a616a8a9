//! The one training loop, for both Kronos stages and the classifier: batches in the task's
//! order, gradient accumulation, the one-cycle schedule, validation each epoch, the best and
//! last checkpoints, a time budget, resume from `last/`, and every event through one
//! [`Progress`] sink. A task says only what differs: its batches, its loss, its validation
//! and how its model is saved.

use std::path::Path;
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsAccumulator, GradientsParams};
use burn::tensor::Tensor;
use kxian_shared::jobs::{ClassifierScores, JobEvent, Rate, StageName, StagePlan, StageSummary};
use kxian_shared::model::Saved;

use crate::progress::{Progress, ProgressMode};
use crate::train::{TrainState, save_dir};

/// What one kind of training contributes to the loop.
pub(crate) trait Task {
    type Model: Module;
    /// One batch's worth of samples; `accumulation` of them make an optimizer step.
    type Batch;
    /// What validation reports beside its loss.
    type Scores: Clone;

    /// The batches of `epoch`, in training order. Called once per epoch in order from epoch 0
    /// (also for the epochs a resume skips), so a task that draws at random stays on one
    /// seeded sequence.
    fn batches(&mut self, epoch: usize) -> Vec<Self::Batch>;
    fn loss(&self, model: &Self::Model, batch: &Self::Batch) -> Tensor<1>;
    /// Validation loss (lower is better) and scores, on the model in evaluation mode.
    fn validate(&self, model: &Self::Model) -> (f32, Self::Scores);
    fn save(&self, model: &Self::Model) -> Saved;
    /// Throughput of a step over these batches taking `secs`.
    fn rate(&self, batches: &[Self::Batch], secs: f64) -> Rate;
    /// What the Start event says the stage works through.
    fn plan(&self, parameters: usize, steps: usize) -> StagePlan;
    /// The validation loss the events report, when the loop selects on something else (the
    /// zoo's points): by default what `validate` returned.
    fn reported_loss(_scores: &Self::Scores, selected: f32) -> f32 {
        selected
    }
    /// The scores an Epoch event carries.
    fn scores(_scores: &Self::Scores) -> Option<ClassifierScores> {
        None
    }
    /// A line for a person after each epoch (the bar shows the rest).
    fn epoch_done(
        &self,
        _epoch: usize,
        _train: f32,
        _val: f32,
        _scores: &Self::Scores,
        _best: bool,
    ) {
    }
}

/// How the loop runs, the same for every task.
pub(crate) struct FitConfig<'a> {
    pub stage: StageName,
    /// The stage's folder: `best/` and `last/` go here.
    pub dir: &'a Path,
    /// The run's `metrics.jsonl`.
    pub metrics: &'a Path,
    pub progress: ProgressMode,
    pub epochs: usize,
    /// Optimizer steps per epoch.
    pub steps_per_epoch: usize,
    pub accumulation: usize,
    pub lr: f64,
    pub weight_decay: f64,
    pub clip: f32,
    pub max_seconds: Option<f64>,
    /// The learning-rate schedule: `(peak, step, total) → lr`.
    pub schedule: fn(f64, usize, usize) -> f64,
    /// Steps between `last/` checkpoints (one is also saved after every epoch).
    pub save_every: usize,
}

/// How a stage ended.
pub(crate) struct Fitted<S> {
    pub state: TrainState,
    /// The scores of the best checkpoint this run saw (`None` when a resumed run saw none).
    pub best_scores: Option<S>,
}

/// Trains `model` from `state` (fresh, or resumed from `last/`) until the epochs or the time
/// budget run out; the state it returns is done.
pub(crate) fn fit<T: Task>(
    task: &mut T,
    mut model: T::Model,
    mut state: TrainState,
    cfg: &FitConfig<'_>,
) -> anyhow::Result<Fitted<T::Scores>> {
    let total = cfg.steps_per_epoch * cfg.epochs;
    let accumulation = cfg.accumulation.max(1);
    let best_dir = cfg.dir.join("best");
    let last_dir = cfg.dir.join("last");
    let mut events = Progress::new(cfg.progress, total as u64, "steps", Some(cfg.metrics))?;
    let bar = events.bar().clone();
    let started = Instant::now();
    let out_of_time = || {
        cfg.max_seconds
            .is_some_and(|s| started.elapsed().as_secs_f64() > s)
    };
    events.emit(&JobEvent::Start {
        stage: cfg.stage,
        plan: task.plan(model.num_params(), total),
    });
    let mut optim = AdamWConfig::new()
        .with_weight_decay(cfg.weight_decay as f32)
        .with_grad_clipping(Some(burn::grad_clipping::GradientClippingConfig::Norm(
            cfg.clip,
        )))
        .init();
    let mut best_scores = None;
    if state.step == 0 {
        let (loss, scores) = task.validate(&model.valid());
        state.first_val_loss = loss;
        state.first_reported_loss = Some(T::reported_loss(&scores, loss));
        best_scores = Some(scores);
    }
    events.emit(&JobEvent::Baseline {
        stage: cfg.stage,
        val_loss: state.first_reported_loss.unwrap_or(state.first_val_loss),
    });
    // A resumed run draws the batches of the epochs it skips, so its sequence is unchanged.
    for epoch in 0..state.epoch.min(cfg.epochs) {
        task.batches(epoch);
    }
    bar.set_position(state.step as u64);
    let name = cfg.stage.as_str();
    let mut stopped = false;
    while state.epoch < cfg.epochs && !stopped {
        let epoch = state.epoch;
        let batches = task.batches(epoch);
        let mut losses = Vec::new();
        for group in batches[state.batch.min(batches.len())..].chunks(accumulation) {
            let t0 = Instant::now();
            let mut accumulator = GradientsAccumulator::new();
            let mut value = 0.0;
            for batch in group {
                // Mean over the group: each batch's loss counts 1/len of it.
                let loss = task.loss(&model, batch).div_scalar(group.len() as f64);
                value += loss.clone().into_scalar::<f32>();
                accumulator
                    .accumulate(&model, GradientsParams::from_grads(loss.backward(), &model));
            }
            let lr = (cfg.schedule)(cfg.lr, state.step, total);
            model = optim.step(lr, model, accumulator.grads());
            losses.push(value);
            state.step += 1;
            state.batch += group.len();
            bar.set_message(format!("{name} loss {value:.4}"));
            bar.inc(1);
            events.emit(&JobEvent::Step {
                stage: cfg.stage,
                epoch,
                step: state.step,
                loss: value,
                lr,
                rate: task.rate(group, t0.elapsed().as_secs_f64()),
            });
            if state.step.is_multiple_of(cfg.save_every.max(1)) {
                save_dir(&last_dir, &task.save(&model), Some(&state))?;
            }
            if out_of_time() {
                stopped = true;
                break;
            }
        }
        let (val_loss, scores) = task.validate(&model.valid());
        let is_best = val_loss < state.best_val_loss;
        if is_best {
            state.best_val_loss = val_loss;
            save_dir(&best_dir, &task.save(&model), None)?;
            best_scores = Some(scores.clone());
        }
        let train_loss = losses.iter().sum::<f32>() / losses.len().max(1) as f32;
        state.epochs.push((train_loss, val_loss));
        if !stopped {
            state.epoch += 1;
            state.batch = 0;
        }
        save_dir(&last_dir, &task.save(&model), Some(&state))?;
        events.emit(&JobEvent::Epoch {
            stage: cfg.stage,
            epoch,
            train_loss,
            val_loss: T::reported_loss(&scores, val_loss),
            best: is_best,
            scores: T::scores(&scores),
        });
        task.epoch_done(epoch, train_loss, val_loss, &scores, is_best);
    }
    // Ran out of epochs or of the time budget: either way the stage is finished.
    state.done = true;
    save_dir(&last_dir, &task.save(&model), Some(&state))?;
    events.finish();
    events.emit(&JobEvent::Done {
        stage: cfg.stage,
        summary: StageSummary::Trained {
            best_val_loss: state.best_val_loss,
            checkpoint: best_dir.display().to_string(),
        },
    });
    Ok(Fitted { state, best_scores })
}

//! One stage's training loop: batches, accumulation, the schedule, validation each epoch,
//! checkpoints and events, resumable from `last/`.

use super::batches::*;
use super::state::*;
use super::*;

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
    let total = steps_per_epoch * args.epochs;
    let (preset_tok, preset_pred) = args.preset.configs();
    let started = Instant::now();
    let out_of_time = || {
        args.max_seconds
            .is_some_and(|s| started.elapsed().as_secs_f64() > s)
    };
    let mut events = Progress::new(
        args.progress,
        total as u64,
        "steps",
        Some(&args.out.join("metrics.jsonl")),
    )?;
    let bar = events.bar().clone();
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
            events.emit(&JobEvent::Start {
                stage: stage.event_name(),
                plan: StagePlan::Windows {
                    train_windows: train.len(),
                    val_windows: val.len(),
                    steps: total,
                    parameters: $model.num_params(),
                },
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
            events.emit(&JobEvent::Baseline {
                stage: stage.event_name(),
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
                    events.emit(&JobEvent::Step {
                        stage: stage.event_name(),
                        epoch,
                        step: state.step,
                        loss: value,
                        lr,
                        rate: Rate::Bars { bars_per_s },
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
                events.emit(&JobEvent::Epoch {
                    stage: stage.event_name(),
                    epoch,
                    train_loss,
                    val_loss,
                    best: is_best,
                    scores: None,
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
                None => crate::bail_input!(
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
    events.finish();
    if state.done {
        events.emit(&JobEvent::Done {
            stage: stage.event_name(),
            summary: StageSummary::Trained {
                best_val_loss: state.best_val_loss,
                checkpoint: best_dir.display().to_string(),
            },
        });
    }
    Ok(StageReport {
        first_val_loss: state.first_val_loss,
        best_val_loss: state.best_val_loss,
        best_dir,
        epochs: state.epochs,
    })
}

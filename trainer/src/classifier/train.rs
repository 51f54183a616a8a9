//! `kxian-trainer train-classifier`: the classifier trained on labelled days before the
//! cut-off, validated after it, with the best checkpoint kept.

use super::*;

pub struct TrainOutcome {
    pub best_dir: PathBuf,
    pub best_val_loss: f32,
    pub first_val_loss: f32,
    pub metrics: ClassifierMetrics,
}

pub fn train(args: &TrainClassifierArgs) -> anyhow::Result<TrainOutcome> {
    let mut series = load_series(&args.data)?;
    let market = market_of(&mut series, args.market.as_deref())?;
    let rule = LabelRule {
        horizon: args.horizon,
        up: args.up,
        down: args.down,
    };
    let cut = cutoff(&series, args.val_from, args.val_fraction);
    let mut config = ClassifierConfig {
        d_model: args.d_model,
        n_heads: args.heads,
        n_layers: args.layers,
        ff_dim: args.d_model * 2,
        min_context: args.min_context,
        max_context: args.max_context,
        context: args.context,
        dropout: args.dropout,
        label: rule,
        market: args.market.clone(),
        ..ClassifierConfig::small()
    };
    config.validate().map_err(|e| BadInput(e.to_string()))?;
    let (mut train, mut val): (Vec<Sample>, Vec<Sample>) = (Vec::new(), Vec::new());
    let mut last_train_label: Option<NaiveDate> = None;
    for (i, s) in series.iter().enumerate() {
        for t in args.max_context..s.bars.len().saturating_sub(rule.horizon) {
            let label_day = s.bars[t + rule.horizon].ts.date();
            if label_day < cut {
                train.push((i, t));
                last_train_label = last_train_label.max(Some(label_day));
            } else if s.bars[t].ts.date() >= cut && t >= args.context {
                val.push((i, t));
            }
        }
    }
    crate::ensure_input!(
        train.len() >= args.batch_size && !val.is_empty(),
        "{} training and {} validation samples (cut-off {cut}); use longer series, a smaller --max-context or another --val-from",
        train.len(),
        val.len()
    );
    if val.len() > args.max_val {
        let step = val.len() as f64 / args.max_val as f64;
        val = (0..args.max_val)
            .map(|k| val[(k as f64 * step) as usize])
            .collect();
    }
    let mut counts = [0usize; 3];
    for &(i, t) in &train {
        counts[rule.label(&series[i].bars, t).expect("labelled").0] += 1;
    }
    let class_freq = counts.map(|c| c as f64 / train.len() as f64);
    config.class_freq = class_freq;
    config.trained_until = last_train_label;
    let weights: [f32; 3] = if args.balance {
        counts.map(|c| (train.len() as f64 / (3.0 * c.max(1) as f64)) as f32)
    } else {
        [1.0; 3]
    };
    let kind = match args.loss {
        LossChoice::Ce => Loss::CrossEntropy,
        LossChoice::Focal => Loss::Focal { gamma: args.gamma },
    };

    let picked = pick(args.device)?;
    eprintln!("device: {} ({})", picked.backend, picked.why);
    let plain = picked.device.clone();
    let device = plain.clone().autodiff();
    device.seed(args.seed);
    let mut model = Classifier::new(&config, &device);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create", args.out.display()))?;
    let total = args.epochs * args.steps_per_epoch;
    let mut progress = Progress::new(
        args.progress,
        total as u64,
        "steps",
        Some(&args.out.join("metrics.jsonl")),
    )?;
    let bar = progress.bar().clone();
    let mut emit = |e: &JobEvent| progress.emit(e);
    emit(&JobEvent::Start {
        stage: STAGE,
        plan: StagePlan::Samples {
            train_samples: train.len(),
            val_samples: val.len(),
            steps: total,
            parameters: model.num_params(),
            class_freq,
        },
    });
    eprintln!(
        "{} training samples before {cut}, {} validation samples; class shares up {:.1} %, down {:.1} %, flat {:.1} %",
        train.len(),
        val.len(),
        class_freq[0] * 100.0,
        class_freq[1] * 100.0,
        class_freq[2] * 100.0
    );
    let mut optim = AdamWConfig::new()
        .with_weight_decay(args.weight_decay as f32)
        .with_grad_clipping(Some(burn::grad_clipping::GradientClippingConfig::Norm(1.0)))
        .init();
    let mut rng = Rng::new(args.seed);
    let val_targets = |m: &Classifier| -> (f32, ClassifierMetrics) {
        let p = predict(m, &series, &val, market.as_ref(), &plain);
        let s = scored(&series, &val, &p, &rule);
        let ll = s
            .iter()
            .map(|x| -(x.p[x.class].max(1e-12)).ln())
            .sum::<f64>()
            / s.len() as f64;
        let metrics = classifier_metrics(&s, &rule, class_freq, &CostMatrix::default(), 0.0);
        (ll as f32, metrics)
    };
    let (first_val_loss, mut best_metrics) = val_targets(&model.valid());
    let mut best = f32::MAX;
    let best_dir = args.out.join("best");
    let mut step = 0;
    for epoch in 0..args.epochs {
        let mut losses = Vec::new();
        for _ in 0..args.steps_per_epoch {
            let t0 = Instant::now();
            let span = (args.max_context - args.min_context + 1) as u64;
            let len = args.min_context + (rng.next_u64() % span) as usize;
            let picks: Vec<Sample> = (0..args.batch_size)
                .map(|_| train[(rng.next_u64() % train.len() as u64) as usize])
                .collect();
            let x = batch(&contexts(&series, &picks, len, market.as_ref()), &device);
            let y = targets(&series, &picks, &rule, &device);
            let l = loss(model.logits(x), y, kind, weights);
            let value = l.clone().into_scalar::<f32>();
            let grads = GradientsParams::from_grads(l.backward(), &model);
            let lr = one_cycle(args.lr, step, total);
            model = optim.step(lr, model, grads);
            step += 1;
            losses.push(value);
            bar.inc(1);
            bar.set_message(format!("loss {value:.4}"));
            emit(&JobEvent::Step {
                stage: STAGE,
                epoch,
                step,
                loss: value,
                lr,
                rate: Rate::Samples {
                    samples_per_s: picks.len() as f64 / t0.elapsed().as_secs_f64(),
                },
            });
        }
        let (val_loss, metrics) = val_targets(&model.valid());
        let is_best = val_loss < best;
        let saved = checkpoint::save_classifier(&model.valid());
        if is_best {
            best = val_loss;
            best_metrics = metrics.clone();
            save_dir(&best_dir, &saved, None)?;
        }
        save_dir(&args.out.join("last"), &saved, None)?;
        let train_loss = losses.iter().sum::<f32>() / losses.len().max(1) as f32;
        emit(&JobEvent::Epoch {
            stage: STAGE,
            epoch,
            train_loss,
            val_loss,
            best: is_best,
            scores: Some(ClassifierScores {
                val_brier: metrics.brier,
                val_brier_baseline: metrics.brier_baseline,
                val_accuracy: metrics.accuracy,
            }),
        });
        eprintln!(
            "epoch {epoch}: train loss {train_loss:.4}, validation log loss {val_loss:.4}, Brier {:.4} (baseline {:.4}){}",
            metrics.brier,
            metrics.brier_baseline,
            if is_best { ", best" } else { "" }
        );
    }
    bar.finish_and_clear();
    emit(&JobEvent::Done {
        stage: STAGE,
        summary: StageSummary::Trained {
            best_val_loss: best,
            checkpoint: best_dir.display().to_string(),
        },
    });
    Ok(TrainOutcome {
        best_dir,
        best_val_loss: best,
        first_val_loss,
        metrics: best_metrics,
    })
}

//! `kxian-trainer train-classifier`: the classifier trained on labelled days before the
//! cut-off, validated after it, with the best checkpoint kept.

use super::*;
use crate::fit::{FitConfig, Task, fit};

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
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create", args.out.display()))?;
    let resumed = if args.resume {
        crate::train::last_checkpoint(&args.out)
    } else {
        None
    };
    let model = match &resumed {
        Some((dir, _)) => load_model(dir, &device)?,
        None => Classifier::new(&config, &device),
    };
    let state = resumed.map(|(_, s)| s).unwrap_or(crate::train::TrainState {
        // Not infinity: JSON has no infinity, and the state must read back.
        best_val_loss: f32::MAX,
        ..Default::default()
    });
    eprintln!(
        "{} training samples before {cut}, {} validation samples; class shares up {:.1} %, down {:.1} %, flat {:.1} %",
        train.len(),
        val.len(),
        class_freq[0] * 100.0,
        class_freq[1] * 100.0,
        class_freq[2] * 100.0
    );
    let accumulation = args.accumulation.max(1);
    let mut task = ClassifierTask {
        series: &series,
        train: &train,
        val: &val,
        market: market.as_ref(),
        rule,
        class_freq,
        kind,
        weights,
        rng: Rng::new(args.seed),
        batches_per_epoch: args.steps_per_epoch * accumulation,
        args,
        device: &device,
        plain: &plain,
    };
    let fitted = fit(
        &mut task,
        model,
        state,
        &FitConfig {
            stage: STAGE,
            dir: &args.out,
            metrics: &args.out.join("metrics.jsonl"),
            progress: args.progress,
            epochs: args.epochs,
            steps_per_epoch: args.steps_per_epoch,
            accumulation,
            lr: args.lr,
            weight_decay: args.weight_decay,
            clip: 1.0,
            max_seconds: None,
            save_every: args.steps_per_epoch,
            schedule: crate::schedule::one_cycle,
        },
    )?;
    let best_dir = args.out.join("best");
    // A resumed run that saw no better epoch scores the best checkpoint it kept.
    let metrics = match fitted.best_scores {
        Some(m) => m,
        None => task.validate(&load_model(&best_dir, &plain)?).1,
    };
    Ok(TrainOutcome {
        best_dir,
        best_val_loss: fitted.state.best_val_loss,
        first_val_loss: fitted.state.first_val_loss,
        metrics,
    })
}

/// The classifier's training: batches of random training samples at a random context
/// length, drawn from one seeded sequence; validation is log loss with the Brier score and
/// accuracy beside it.
struct ClassifierTask<'a> {
    series: &'a [Series],
    train: &'a [Sample],
    val: &'a [Sample],
    market: Option<&'a Market>,
    rule: LabelRule,
    class_freq: [f64; 3],
    kind: Loss,
    weights: [f32; 3],
    rng: Rng,
    batches_per_epoch: usize,
    args: &'a TrainClassifierArgs,
    device: &'a Device,
    plain: &'a Device,
}

impl Task for ClassifierTask<'_> {
    type Model = Classifier;
    /// The context length and the samples.
    type Batch = (usize, Vec<Sample>);
    type Scores = ClassifierMetrics;

    fn batches(&mut self, _epoch: usize) -> Vec<(usize, Vec<Sample>)> {
        let a = self.args;
        let span = (a.max_context - a.min_context + 1) as u64;
        (0..self.batches_per_epoch)
            .map(|_| {
                let len = a.min_context + (self.rng.next_u64() % span) as usize;
                let picks = (0..a.batch_size)
                    .map(|_| self.train[(self.rng.next_u64() % self.train.len() as u64) as usize])
                    .collect();
                (len, picks)
            })
            .collect()
    }

    fn loss(&self, model: &Classifier, (len, picks): &(usize, Vec<Sample>)) -> Tensor<1> {
        let x = batch(
            &contexts(self.series, picks, *len, self.market),
            self.device,
        );
        let y = targets(self.series, picks, &self.rule, self.device);
        loss(model.logits(x), y, self.kind, self.weights)
    }

    fn validate(&self, model: &Classifier) -> (f32, ClassifierMetrics) {
        let p = predict(model, self.series, self.val, self.market, self.plain);
        let s = scored(self.series, self.val, &p, &self.rule);
        let ll = s
            .iter()
            .map(|x| -(x.p[x.class].max(1e-12)).ln())
            .sum::<f64>()
            / s.len() as f64;
        let metrics = classifier_metrics(
            &s,
            &self.rule,
            self.class_freq,
            &CostMatrix::default(),
            0.0,
            Decision::Cost,
        );
        (ll as f32, metrics)
    }

    fn save(&self, model: &Classifier) -> kxian_shared::model::Saved {
        checkpoint::save_classifier(&model.valid())
    }

    fn rate(&self, batches: &[(usize, Vec<Sample>)], secs: f64) -> Rate {
        let samples: usize = batches.iter().map(|b| b.1.len()).sum();
        Rate::Samples {
            samples_per_s: samples as f64 / secs,
        }
    }

    fn plan(&self, parameters: usize, steps: usize) -> StagePlan {
        StagePlan::Samples {
            train_samples: self.train.len(),
            val_samples: self.val.len(),
            steps,
            parameters,
            class_freq: self.class_freq,
        }
    }

    fn scores(m: &ClassifierMetrics) -> Option<ClassifierScores> {
        Some(ClassifierScores {
            val_points: None,
            val_brier: m.brier,
            val_brier_baseline: m.brier_baseline,
            val_accuracy: m.accuracy,
        })
    }

    fn epoch_done(
        &self,
        epoch: usize,
        train_loss: f32,
        val_loss: f32,
        m: &ClassifierMetrics,
        best: bool,
    ) {
        eprintln!(
            "epoch {epoch}: train loss {train_loss:.4}, validation log loss {val_loss:.4}, Brier {:.4} (baseline {:.4}){}",
            m.brier,
            m.brier_baseline,
            if best { ", best" } else { "" }
        );
    }
}

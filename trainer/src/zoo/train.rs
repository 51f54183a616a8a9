//! `kxian-trainer train-model`: one loop for every backbone and target, with the best
//! checkpoint chosen by validation loss or by the points of its decisions (积分制), then the
//! model card and the prediction set from the held-out test part.

use std::path::PathBuf;

use anyhow::Context as _;
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use kxian_shared::jobs::{ClassifierScores, Rate, StageName, StagePlan};
use kxian_shared::model::Saved;
use kxian_shared::model::sampling::Rng;
use kxian_shared::zoo::config::{ClassWeights, LossKind, Schedule, Selection};
use kxian_shared::zoo::io;
use kxian_shared::zoo::loss::{ClassLoss, class_loss, real_loss};
use kxian_shared::zoo::metrics::{self, ClassMetrics};
use kxian_shared::zoo::net::{MODEL_TYPE, NetConfig, ZooNet};
use kxian_shared::zoo::target::TargetKind;
use kxian_shared::zoo::target::Truth;
use serde::Serialize;

use super::*;
use crate::device::{DeviceChoice, pick};
use crate::fit::{FitConfig, Task, fit};
use crate::train::ProgressMode;

#[derive(Debug, Clone, clap::Args)]
pub struct TrainModelArgs {
    /// The training file (`[data]`, `[model]`, `[target]`, `[loss]`, `[train]`).
    #[arg(long)]
    pub config: PathBuf,
    /// Output folder: best/ and last/ checkpoints, metrics.jsonl, card.json and
    /// predictions.csv.
    #[arg(long)]
    pub out: PathBuf,
    /// Continue from `last/` in --out where an earlier run of this file left one.
    #[arg(long)]
    pub resume: bool,
    /// Start from this checkpoint's weights (same architecture) instead of random ones.
    #[arg(long, conflicts_with = "resume")]
    pub init: Option<PathBuf>,
    /// Train for this target instead of the file's `target.kind` (e.g. one file, three targets).
    #[arg(long, value_parser = parse_kind::<TargetKind>)]
    pub target: Option<TargetKind>,
    /// Use this loss instead of the file's `loss.kind`.
    #[arg(long, value_parser = parse_kind::<LossKind>)]
    pub loss: Option<LossKind>,
    /// Stop after this many seconds (the file's `train.max_seconds`).
    #[arg(long)]
    pub max_seconds: Option<f64>,
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    pub device: DeviceChoice,
    #[arg(long, value_enum, default_value_t = ProgressMode::Bar)]
    pub progress: ProgressMode,
    /// Whose eyes read the store (`data.store`): a hosted job's owner.
    #[command(flatten)]
    pub reader: crate::store::StoreReader,
}

/// A value of the file's vocabulary (`updown3`, `mse`, …) from the command line.
fn parse_kind<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(s.into())).map_err(|e| e.to_string())
}

/// What `train-model` leaves behind.
pub struct TrainedModel {
    pub best_dir: PathBuf,
    pub first_val_loss: f32,
    pub best_val_loss: f32,
    /// The losses above are the negative points of the decisions (积分制 selection).
    pub by_points: bool,
    pub card: kxian_shared::zoo::card::Card,
}

pub(crate) fn load_net(dir: &std::path::Path, device: &Device) -> anyhow::Result<ZooNet> {
    let read = |f: &str| {
        let p = dir.join(f);
        std::fs::read(&p).with_context(|| format!("{}: cannot read", p.display()))
    };
    let (c, w) = (read("config.json")?, read("model.safetensors")?);
    io::load(&c, &w, device).map_err(|e| BadInput(format!("{}: {e}", dir.display())).into())
}

pub fn train(args: &TrainModelArgs) -> anyhow::Result<TrainedModel> {
    let config = read_config(&args.config, |c| {
        if let Some(t) = args.target {
            c.target.kind = t;
        }
        if let Some(l) = args.loss {
            c.loss.kind = l;
        }
        if args.max_seconds.is_some() {
            c.train.max_seconds = args.max_seconds;
        }
    })?;
    let data = load(config, &args.config, args.reader)?;
    let c = &data.config;
    let parts = c.components();
    let th = thresholds(c);
    let (val_from, test_from) = split_dates(&data.series, c);
    let context = c.data.context.max();
    let longest = data.series.iter().map(|s| s.bars.len()).max().unwrap_or(0);
    crate::ensure_input!(
        longest > context + c.target.horizon,
        "target.horizon: {} bars of context and {} after need more than the longest series' {longest} bars",
        context,
        c.target.horizon
    );
    let mut sm = samples(&data, &parts, &th, context, (val_from, test_from));
    crate::ensure_input!(
        sm.train.len() >= c.train.batch_size && !sm.val.is_empty(),
        "data.split: {} training and {} validation samples (validation from {val_from}, test from {test_from}); use longer series, a shorter data.context or other split dates",
        sm.train.len(),
        sm.val.len()
    );
    let max_val = c.train.max_val.max(1);
    if sm.val.len() > max_val {
        let step = sm.val.len() as f64 / max_val as f64;
        sm.val = (0..max_val)
            .map(|k| sm.val[(k as f64 * step) as usize].clone())
            .collect();
    }
    let n_classes = parts.iter().find_map(|p| p.classes());
    let class_freq: Vec<f64> = match n_classes {
        Some(n) => {
            let mut counts = vec![0usize; n];
            for (_, t) in &sm.train {
                counts[class_of(t).expect("a class part")] += 1;
            }
            counts
                .iter()
                .map(|&k| k as f64 / sm.train.len() as f64)
                .collect()
        }
        None => Vec::new(),
    };
    let n_real = parts.iter().filter(|p| p.classes().is_none()).count();
    let part_norm: Vec<[f64; 2]> = (0..n_real)
        .map(|k| {
            mean_sd(
                &sm.train
                    .iter()
                    .map(|(_, t)| reals_of(t)[k])
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    let cost: Vec<Vec<f64>> = match (n_classes, &c.loss.cost) {
        (_, Some(m)) => m.clone(),
        (Some(n), None) => metrics::default_cost(n),
        (None, None) => Vec::new(),
    };
    let net_config = NetConfig {
        model_type: MODEL_TYPE.into(),
        backbone: c.model.backbone,
        d_in: input_width(&c.data.features),
        d_model: c.model.d_model,
        layers: c.model.layers,
        heads: c.model.heads,
        qk_norm: c.model.qk_norm,
        kernel: c.model.kernel,
        trees: c.model.tree_params(),
        dropout: c.model.dropout,
        features: c.data.features.clone(),
        conditions: c.data.conditions.clone(),
        min_context: c.data.context.min(),
        max_context: context,
        market: c.data.market.clone(),
        parts: parts.clone(),
        thresholds: th,
        class_freq: class_freq.clone(),
        part_norm,
        factor_norm: factor_norm(&data.series, val_from),
        cost: cost.clone(),
        decision: c.train.decision(),
        trained_until: sm.trained_until,
        val_from: Some(val_from),
        test_from: Some(test_from),
    };
    let class_weights: Vec<f32> = match (n_classes, &c.loss.class_weights) {
        (Some(n), ClassWeights::Named(s)) if s == "balanced" => class_freq
            .iter()
            .map(|f| (1.0 / (n as f64 * f.max(1e-6))) as f32)
            .collect(),
        (Some(_), ClassWeights::Given(w)) => w.iter().map(|x| *x as f32).collect(),
        (Some(n), _) => vec![1.0; n],
        (None, _) => Vec::new(),
    };
    let class_loss_plan = n_classes.map(|_| ClassLoss {
        kind: if parts.len() == 1 {
            c.loss.kind
        } else {
            c.loss.class_kind.unwrap_or(LossKind::Ce)
        },
        weights: class_weights,
        gamma: c.loss.gamma,
        cost: cost
            .iter()
            .map(|r| r.iter().map(|x| *x as f32).collect())
            .collect(),
        ce_mix: c.loss.ce_mix,
    });
    let weights: Vec<f32> = if c.target.weights.is_empty() {
        vec![1.0; parts.len()]
    } else {
        c.target.weights.iter().map(|w| *w as f32).collect()
    };

    let picked = pick(args.device)?;
    eprintln!("device: {} ({})", picked.backend, picked.why);
    let plain = picked.device.clone();
    if net_config.backbone == kxian_shared::zoo::config::BackboneKind::Gbdt {
        crate::ensure_input!(
            args.init.is_none(),
            "model.backbone = \"gbdt\": trees are fitted in one go, with no --init"
        );
        if args.resume {
            // Seconds of work: an interrupted fit is simply fitted again.
            eprintln!("trees are fitted in one go: fitting them again");
        }
        let weights: Vec<f64> = class_loss_plan
            .as_ref()
            .map(|p| p.weights.iter().map(|w| *w as f64).collect())
            .unwrap_or_default();
        let trees = super::trees::fit(
            &data,
            &net_config,
            &sm.train,
            &sm.val,
            &weights,
            c.train.seed,
        )?;
        let best_dir = args.out.join("best");
        trees.save(&best_dir)?;
        let model = super::trees::Model::Trees(trees);
        return finish(
            args,
            &data,
            &model,
            &sm,
            best_dir,
            (f32::NAN, f32::NAN),
            false,
            &plain,
        );
    }
    let device = plain.clone().autodiff();
    device.seed(c.train.seed);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create", args.out.display()))?;
    let resumed = if args.resume {
        crate::train::last_checkpoint(&args.out)
    } else {
        None
    };
    let model = match (&resumed, &args.init) {
        (Some((dir, _)), _) => load_net(dir, &device)?,
        (None, Some(dir)) => {
            let m = load_net(dir, &device)?;
            crate::ensure_input!(
                m.config.backbone == net_config.backbone
                    && m.config.d_model == net_config.d_model
                    && m.config.layers == net_config.layers
                    && m.config.d_in == net_config.d_in
                    && m.config.out_dim() == net_config.out_dim(),
                "--init {}: a {} model of width {} with {} outputs; this file builds a {} of width {} with {}",
                dir.display(),
                m.config.backbone.name(),
                m.config.d_model,
                m.config.out_dim(),
                net_config.backbone.name(),
                net_config.d_model,
                net_config.out_dim()
            );
            // The weights of the checkpoint, the data facts of this run.
            let mut m = m;
            m.config = net_config.clone();
            m
        }
        (None, None) => ZooNet::new(&net_config, &device),
    };
    let state = resumed.map(|(_, s)| s).unwrap_or(crate::train::TrainState {
        best_val_loss: f32::MAX,
        ..Default::default()
    });
    if args.resume {
        if state.done {
            eprintln!("already finished: {} steps", state.step);
        } else {
            eprintln!("resuming at epoch {}, step {}", state.epoch, state.step);
        }
    }
    eprintln!(
        "{} training samples before {val_from}, {} validation samples before {test_from}, {} test samples after",
        sm.train.len(),
        sm.val.len(),
        sm.test.len()
    );
    let t = &c.train;
    let batches_per_epoch = t.steps_per_epoch * t.accumulation;
    let mut task = ZooTask {
        data: &data,
        train: &sm.train,
        val: &sm.val,
        class_loss: class_loss_plan,
        weights,
        real_kind: c.loss.kind,
        delta: c.loss.delta,
        net_config: &net_config,
        rng: Rng::new(t.seed),
        batches_per_epoch,
        device: &device,
        plain: &plain,
    };
    let fitted = fit(
        &mut task,
        model,
        state,
        &FitConfig {
            stage: StageName::Model,
            dir: &args.out,
            metrics: &args.out.join("metrics.jsonl"),
            progress: args.progress,
            epochs: t.epochs,
            steps_per_epoch: t.steps_per_epoch,
            accumulation: t.accumulation,
            lr: t.lr,
            weight_decay: t.weight_decay,
            clip: t.clip as f32,
            max_seconds: t.max_seconds,
            save_every: t.save_every.unwrap_or(t.steps_per_epoch),
            schedule: match t.schedule {
                Schedule::OneCycle => crate::schedule::one_cycle,
                Schedule::Cosine => crate::schedule::cosine,
            },
        },
    )?;
    let best_dir = args.out.join("best");
    let best = super::trees::Model::Net(load_net(&best_dir, &plain)?);
    finish(
        args,
        &data,
        &best,
        &sm,
        best_dir,
        (fitted.state.first_val_loss, fitted.state.best_val_loss),
        c.train.select == Selection::Points,
        &plain,
    )
}

/// The card and the prediction set of the chosen model, from the test part.
#[allow(clippy::too_many_arguments)]
fn finish(
    args: &TrainModelArgs,
    data: &Data,
    best: &super::trees::Model,
    sm: &Samples,
    best_dir: PathBuf,
    (first_val_loss, best_val_loss): (f32, f32),
    by_points: bool,
    device: &Device,
) -> anyhow::Result<TrainedModel> {
    let counts = kxian_shared::zoo::card::Counts {
        train: sm.train.len(),
        val: sm.val.len(),
        test: sm.test.len(),
    };
    let (card, rows) = super::evaluate::card(data, best, &sm.test, counts, device)?;
    write_json(&args.out.join("card.json"), &card)?;
    let set = args.out.join("predictions.csv");
    match rows {
        Some(rows) => std::fs::write(&set, rows)
            .with_context(|| format!("{}: cannot write", set.display()))?,
        // A rerun with another target must not leave the old set beside the new card.
        None => {
            let _ = std::fs::remove_file(&set);
        }
    }
    Ok(TrainedModel {
        best_dir,
        first_val_loss,
        best_val_loss,
        by_points,
        card,
    })
}

/// What validation reports beside its loss.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ZooScores {
    pub loss: f32,
    pub class: Option<ClassMetrics>,
}

struct ZooTask<'a> {
    data: &'a Data,
    train: &'a [(Sample, Truth)],
    val: &'a [(Sample, Truth)],
    class_loss: Option<ClassLoss>,
    weights: Vec<f32>,
    real_kind: LossKind,
    delta: f64,
    net_config: &'a NetConfig,
    rng: Rng,
    batches_per_epoch: usize,
    device: &'a Device,
    plain: &'a Device,
}

/// The condition ids `[B, n]` of `picks`, for a model with conditions.
pub(crate) fn condition_ids(
    data: &Data,
    config: &NetConfig,
    picks: &[Sample],
    device: &Device,
) -> Option<Tensor<2, Int>> {
    if config.conditions.is_empty() {
        return None;
    }
    let n = config.conditions.len();
    let ids: Vec<i64> = picks
        .iter()
        .flat_map(|&(i, t)| {
            config
                .conditions
                .iter()
                .map(move |c| data.ids[i][t][super::conditions::slot(*c)])
        })
        .collect();
    Some(Tensor::from_data(
        TensorData::new(ids, [picks.len(), n]),
        device,
    ))
}

/// Model inputs `[B, len, d_in]` of `picks`.
pub(crate) fn inputs(
    data: &Data,
    config: &NetConfig,
    picks: &[Sample],
    len: usize,
    device: &Device,
) -> Tensor<3> {
    let f = Featurizer {
        features: &config.features,
        market: data.market.as_ref(),
        market_days: data.market_days.as_ref(),
        factor_norm: &config.factor_norm,
    };
    let mut flat = Vec::with_capacity(picks.len() * len * config.d_in);
    for &(i, t) in picks {
        f.rows(
            &data.series[i].bars,
            &data.series[i].factors,
            t,
            len,
            &mut flat,
        )
        .expect("samples start after their longest context");
    }
    Tensor::from_data(
        TensorData::new(flat, [picks.len(), len, config.d_in]),
        device,
    )
}

impl ZooTask<'_> {
    /// The weighted loss of `out: [B, out_dim]` against the truths.
    fn loss_of(&self, out: Tensor<2>, truths: &[&Truth], device: &Device) -> Tensor<1> {
        let b = truths.len();
        let mut total: Option<Tensor<1>> = None;
        let mut real = 0;
        for ((part, o), w) in self
            .net_config
            .parts
            .iter()
            .zip(self.net_config.offsets())
            .zip(&self.weights)
        {
            let width = part.width();
            let slice = out.clone().slice([0..b, o..o + width]);
            let l = if part.classes().is_some() {
                let y: Vec<i64> = truths
                    .iter()
                    .map(|t| class_of(t).expect("class") as i64)
                    .collect();
                let y = Tensor::<1, Int>::from_data(TensorData::new(y, [b]), device);
                class_loss(slice, y, self.class_loss.as_ref().expect("class plan"))
            } else {
                let [m, s] = self.net_config.part_norm[real];
                let y: Vec<f32> = truths
                    .iter()
                    .map(|t| ((reals_of(t)[real] - m) / s) as f32)
                    .collect();
                real += 1;
                let y = Tensor::<1>::from_data(TensorData::new(y, [b]), device);
                real_loss(slice.reshape([b]), y, self.real_kind, self.delta)
            };
            let l = l.mul_scalar(*w);
            total = Some(match total {
                Some(t) => t + l,
                None => l,
            });
        }
        total.expect("a target has parts")
    }
}

impl Task for ZooTask<'_> {
    type Model = ZooNet;
    type Batch = (usize, Vec<usize>);
    type Scores = ZooScores;

    fn batches(&mut self, _epoch: usize) -> Vec<(usize, Vec<usize>)> {
        let c = self.net_config;
        let span = (c.max_context - c.min_context + 1) as u64;
        let size = self.data.config.train.batch_size;
        (0..self.batches_per_epoch)
            .map(|_| {
                let len = c.min_context + (self.rng.next_u64() % span) as usize;
                let picks = (0..size)
                    .map(|_| (self.rng.next_u64() % self.train.len() as u64) as usize)
                    .collect();
                (len, picks)
            })
            .collect()
    }

    fn loss(&self, model: &ZooNet, (len, picks): &(usize, Vec<usize>)) -> Tensor<1> {
        let samples: Vec<Sample> = picks.iter().map(|&k| self.train[k].0).collect();
        let truths: Vec<&Truth> = picks.iter().map(|&k| &self.train[k].1).collect();
        let x = inputs(self.data, self.net_config, &samples, *len, self.device);
        let ids = condition_ids(self.data, self.net_config, &samples, self.device);
        self.loss_of(model.forward(x, ids), &truths, self.device)
    }

    fn validate(&self, model: &ZooNet) -> (f32, ZooScores) {
        let mut sum = 0.0f64;
        let mut outputs = Vec::with_capacity(self.val.len());
        for chunk in self.val.chunks(256) {
            let samples: Vec<Sample> = chunk.iter().map(|(s, _)| *s).collect();
            let truths: Vec<&Truth> = chunk.iter().map(|(_, t)| t).collect();
            let x = inputs(
                self.data,
                self.net_config,
                &samples,
                self.net_config.max_context,
                self.plain,
            );
            let ids = condition_ids(self.data, self.net_config, &samples, self.plain);
            let out = model.forward(x, ids);
            let l = self.loss_of(out.clone(), &truths, self.plain);
            sum += l.into_scalar::<f32>() as f64 * chunk.len() as f64;
            outputs.extend(kxian_shared::zoo::net::read_outputs(self.net_config, out));
        }
        let loss = (sum / self.val.len() as f64) as f32;
        let class = super::evaluate::class_part(self.net_config, self.val, &outputs);
        let select = match (&class, self.data.config.train.select) {
            // Lower is better in the loop: the negative points of the decisions, ties (a
            // model that stands aside every day scores 0 each epoch) broken by the loss.
            (Some(m), Selection::Points) => (-m.points + 1e-6 * loss as f64) as f32,
            _ => loss,
        };
        (select, ZooScores { loss, class })
    }

    fn save(&self, model: &ZooNet) -> Saved {
        io::save(&model.valid())
    }

    fn rate(&self, batches: &[(usize, Vec<usize>)], secs: f64) -> Rate {
        let samples: usize = batches.iter().map(|b| b.1.len()).sum();
        Rate::Samples {
            samples_per_s: samples as f64 / secs,
        }
    }

    fn plan(&self, parameters: usize, steps: usize) -> StagePlan {
        let mut freq = [0.0; 3];
        for (f, c) in freq.iter_mut().zip(&self.net_config.class_freq) {
            *f = *c;
        }
        StagePlan::Samples {
            train_samples: self.train.len(),
            val_samples: self.val.len(),
            steps,
            parameters,
            class_freq: freq,
        }
    }

    fn reported_loss(s: &ZooScores, _selected: f32) -> f32 {
        s.loss
    }

    fn scores(s: &ZooScores) -> Option<ClassifierScores> {
        s.class.as_ref().map(|m| ClassifierScores {
            val_points: Some(m.points),
            val_brier: m.brier,
            val_brier_baseline: m.brier_baseline,
            val_accuracy: m.accuracy,
        })
    }

    fn epoch_done(&self, epoch: usize, train: f32, val: f32, s: &ZooScores, best: bool) {
        let extra = s.class.as_ref().map_or(String::new(), |m| {
            format!(
                ", Brier {:.4} (baseline {:.4}), points {:+.4}",
                m.brier, m.brier_baseline, m.points
            )
        });
        eprintln!(
            "epoch {epoch}: train loss {train:.4}, validation loss {:.4}{extra}{}",
            s.loss,
            if best { ", best" } else { "" }
        );
        let _ = val;
    }
}

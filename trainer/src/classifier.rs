//! `kxian-trainer train-classifier` and `evaluate-classifier`: EquiNet's up/down/flat task.
//!
//! Training draws random contexts of 20–100 bars (one length per batch) from every series
//! before a cut-off day; validation and evaluation read the days after it with the model's
//! fixed context. A label needs `horizon` bars after its day, and no training label reaches
//! the cut-off, so the two never share a bar's outcome.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use chrono::NaiveDate;
use kxian_shared::Bar;
use kxian_shared::Symbol;
use kxian_shared::backtest::signals::{Probs, Signals};
use kxian_shared::features::classify::{
    CLASSES, ClassifierMetrics, CostMatrix, FEATURES, LabelRule, Market, Scored,
    classifier_metrics, context_rows,
};
use kxian_shared::model::checkpoint;
use kxian_shared::model::classifier::{Classifier, ClassifierConfig, Loss, batch, loss};
use kxian_shared::model::sampling::Rng;
use serde::Serialize;

use crate::device::{DeviceChoice, pick};
use crate::input::{self, import_options};
use crate::models::ModelDirError;
use crate::train::{ProgressMode, one_cycle, save_dir};

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
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    #[arg(long, default_value_t = 0.01)]
    pub weight_decay: f64,
    /// At most this many validation samples, spread evenly over the validation days.
    #[arg(long, default_value_t = 4096)]
    pub max_val: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    pub device: DeviceChoice,
    #[arg(long, value_enum, default_value_t = ProgressMode::Bar)]
    pub progress: ProgressMode,
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
    /// Call flat unless the most likely class has at least this probability.
    #[arg(long, default_value_t = 0.0)]
    pub min_confidence: f64,
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
    anyhow::ensure!(
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
        .map_err(|e| anyhow::anyhow!("--market {name}: {e}"))?;
    let i = series
        .iter()
        .position(|s| s.symbol == want)
        .with_context(|| format!("--market {want}: not among the inputs"))?;
    let m = series.remove(i);
    anyhow::ensure!(
        !series.is_empty(),
        "--market {want} is the only series; nothing to classify"
    );
    Ok(Some(Market::new(&m.bars)))
}

/// One sample: series index and decision bar.
type Sample = (usize, usize);

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum Event {
    Start {
        stage: &'static str,
        train_samples: usize,
        val_samples: usize,
        steps: usize,
        parameters: usize,
        class_freq: [f64; 3],
    },
    Step {
        stage: &'static str,
        epoch: usize,
        step: usize,
        loss: f32,
        lr: f64,
        samples_per_s: f64,
    },
    Epoch {
        stage: &'static str,
        epoch: usize,
        train_loss: f32,
        val_loss: f32,
        val_brier: f64,
        val_brier_baseline: f64,
        val_accuracy: f64,
        best: bool,
    },
    Done {
        stage: &'static str,
        best_val_loss: f32,
        checkpoint: String,
    },
}

const STAGE: &str = "classifier";

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
    config.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
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
    anyhow::ensure!(
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
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(args.out.join("metrics.jsonl"))?;
    let json = args.progress == ProgressMode::Json;
    let mut emit = |e: &Event| {
        let line = serde_json::to_string(e).expect("event serialises");
        use std::io::Write;
        let _ = writeln!(log, "{line}");
        if json {
            println!("{line}");
        }
    };
    let total = args.epochs * args.steps_per_epoch;
    emit(&Event::Start {
        stage: STAGE,
        train_samples: train.len(),
        val_samples: val.len(),
        steps: total,
        parameters: model.num_params(),
        class_freq,
    });
    eprintln!(
        "{} training samples before {cut}, {} validation samples; class shares up {:.1} %, down {:.1} %, flat {:.1} %",
        train.len(),
        val.len(),
        class_freq[0] * 100.0,
        class_freq[1] * 100.0,
        class_freq[2] * 100.0
    );
    let bar = if args.progress == ProgressMode::Bar
        && std::io::IsTerminal::is_terminal(&std::io::stderr())
    {
        indicatif::ProgressBar::new(total as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
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
            emit(&Event::Step {
                stage: STAGE,
                epoch,
                step,
                loss: value,
                lr,
                samples_per_s: picks.len() as f64 / t0.elapsed().as_secs_f64(),
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
        emit(&Event::Epoch {
            stage: STAGE,
            epoch,
            train_loss,
            val_loss,
            val_brier: metrics.brier,
            val_brier_baseline: metrics.brier_baseline,
            val_accuracy: metrics.accuracy,
            best: is_best,
        });
        eprintln!(
            "epoch {epoch}: train loss {train_loss:.4}, validation log loss {val_loss:.4}, Brier {:.4} (baseline {:.4}){}",
            metrics.brier,
            metrics.brier_baseline,
            if is_best { ", best" } else { "" }
        );
    }
    bar.finish_and_clear();
    emit(&Event::Done {
        stage: STAGE,
        best_val_loss: best,
        checkpoint: best_dir.display().to_string(),
    });
    Ok(TrainOutcome {
        best_dir,
        best_val_loss: best,
        first_val_loss,
        metrics: best_metrics,
    })
}

pub fn load_model(dir: &Path, device: &Device) -> Result<Classifier, ModelDirError> {
    let read = |f: &str| {
        let path = dir.join(f);
        std::fs::read(&path).map_err(|source| ModelDirError::Read { path, source })
    };
    let (c, w) = (read("config.json")?, read("model.safetensors")?);
    checkpoint::load_classifier(&c, &w, device).map_err(|source| ModelDirError::Checkpoint {
        dir: dir.to_path_buf(),
        source,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub model: String,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub symbols: usize,
    pub cost: CostMatrix,
    pub min_confidence: f64,
    pub label: LabelRule,
    pub metrics: ClassifierMetrics,
    /// The same metrics per symbol.
    pub per_symbol: BTreeMap<String, ClassifierMetrics>,
}

pub fn evaluate(args: &EvaluateClassifierArgs) -> anyhow::Result<(Evaluation, Signals)> {
    let cost = CostMatrix::parse(&args.cost).map_err(|e| anyhow::anyhow!("--cost: {e}"))?;
    anyhow::ensure!(
        (0.0..=1.0).contains(&args.min_confidence),
        "--min-confidence: a probability in [0, 1]"
    );
    let picked = pick(args.device)?;
    let model = load_model(&args.model, &picked.device)?;
    let c = model.config.clone();
    let mut series = load_series(&args.data)?;
    let market = market_of(&mut series, c.market.as_deref()).with_context(|| {
        format!(
            "the model was trained with the market {:?}; give its bars as an input",
            c.market
        )
    })?;
    let from = args
        .eval_from
        .or(c.trained_until.and_then(|d| d.succ_opt()));
    let in_range =
        |d: NaiveDate| from.is_none_or(|f| d >= f) && args.eval_to.is_none_or(|t| d <= t);
    let mut signals = Signals::default();
    let mut all = Vec::new();
    let mut per_symbol = BTreeMap::new();
    for (i, s) in series.iter().enumerate() {
        let eligible: Vec<Sample> = (c.context..s.bars.len())
            .filter(|&t| in_range(s.bars[t].ts.date()))
            .map(|t| (i, t))
            .collect();
        let p = predict(&model, &series, &eligible, market.as_ref(), &picked.device);
        for (&(_, t), p) in eligible.iter().zip(&p) {
            signals.insert(
                s.symbol.clone(),
                s.bars[t].ts.date(),
                Probs {
                    up: p[0],
                    down: p[1],
                    flat: p[2],
                },
            );
        }
        // Only days with a known outcome are scored; the newest days still get signals.
        let labelled: Vec<(Sample, [f64; 3])> = eligible
            .iter()
            .zip(&p)
            .filter(|(smp, _)| c.label.label(&s.bars, smp.1).is_some())
            .map(|(a, b)| (*a, *b))
            .collect();
        let (smp, pr): (Vec<Sample>, Vec<[f64; 3]>) = labelled.into_iter().unzip();
        let sc = scored(&series, &smp, &pr, &c.label);
        if !sc.is_empty() {
            per_symbol.insert(
                s.symbol.to_string(),
                classifier_metrics(&sc, &c.label, c.class_freq, &cost, args.min_confidence),
            );
        }
        all.extend(sc);
    }
    anyhow::ensure!(
        !all.is_empty(),
        "no day with a known outcome from {from:?} to {:?} (the model needs {} bars of context and {} after)",
        args.eval_to,
        c.context,
        c.label.horizon
    );
    let metrics = classifier_metrics(&all, &c.label, c.class_freq, &cost, args.min_confidence);
    Ok((
        Evaluation {
            model: args.model.display().to_string(),
            from,
            to: args.eval_to,
            symbols: series.len(),
            cost,
            min_confidence: args.min_confidence,
            label: c.label,
            metrics,
            per_symbol,
        },
        signals,
    ))
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1} %", x * 100.0)
    } else {
        "-".into()
    }
}

/// The evaluation as a person reads it.
pub fn table(e: &Evaluation) -> String {
    let m = &e.metrics;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} samples over {} symbols from {}; up ≥ {:+.1} %, down ≤ {:+.1} % over {} days",
        m.samples,
        e.symbols,
        e.from.map_or("the start".into(), |d| d.to_string()),
        e.label.up * 100.0,
        e.label.down * 100.0,
        e.label.horizon
    );
    let _ = writeln!(
        s,
        "class shares       up {}, down {}, flat {}",
        pct(m.class_share[0]),
        pct(m.class_share[1]),
        pct(m.class_share[2])
    );
    let _ = writeln!(s, "accuracy           {}", pct(m.accuracy));
    let _ = writeln!(s, "up_recall          {}", pct(m.up_recall));
    let _ = writeln!(
        s,
        "down_misjudge      {} of {} up calls fell",
        pct(m.down_misjudge),
        m.up_calls
    );
    let _ = writeln!(s, "extreme_up_capture {}", pct(m.extreme_up_capture));
    let _ = writeln!(
        s,
        "Brier              {:.4} (class-frequency baseline {:.4}, skill {:+.3})",
        m.brier, m.brier_baseline, m.brier_skill
    );
    let _ = writeln!(s, "log loss           {:.4}", m.log_loss);
    let _ = writeln!(
        s,
        "mean cost          {:.3} per call (always flat: {:.3})",
        m.mean_cost, m.mean_cost_always_flat
    );
    let _ = writeln!(s, "confusion (rows true, columns called: up down flat)");
    for (k, row) in m.confusion.iter().enumerate() {
        let _ = writeln!(
            s,
            "  {:<5}{:>8}{:>8}{:>8}",
            CLASSES[k], row[0], row[1], row[2]
        );
    }
    let _ = writeln!(
        s,
        "reliability of P(up): bin, samples, mean predicted, observed"
    );
    for b in m.reliability_up.iter().filter(|b| b.count > 0) {
        let _ = writeln!(
            s,
            "  {:.1}–{:.1}{:>8}{:>10}{:>10}",
            b.from,
            b.to,
            b.count,
            pct(b.mean_predicted),
            pct(b.observed)
        );
    }
    s
}

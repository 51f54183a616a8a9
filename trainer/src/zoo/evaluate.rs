//! `kxian-trainer evaluate-model`, and the model card `train-model` writes: a model scored on
//! days it never trained or chose its checkpoint on, overall and per symbol, and its outputs
//! as a prediction set.

use std::collections::BTreeMap;

use burn::tensor::Device;
use kxian_shared::analysis::regime::{daily, on_day};
use kxian_shared::predictions::rows::{Detail, PredictionRow, RowKind};
use kxian_shared::zoo::card::{Card, Counts, Scores};
use kxian_shared::zoo::metrics::{
    ClassMetrics, ClassSample, RealMetrics, RealSample, class_metrics, real_metrics,
};
use kxian_shared::zoo::net::NetConfig;
use kxian_shared::zoo::target::{Component, Truth};
use serde::Serialize;

use super::trees::Model;
use super::*;
use crate::device::{DeviceChoice, pick};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModelFormat {
    Json,
    Text,
}

#[derive(Debug, Clone, clap::Args)]
pub struct EvaluateModelArgs {
    /// The model folder (config.json + model.safetensors), e.g. RUN/best.
    #[arg(long)]
    pub model: PathBuf,
    /// The training file: where the bars come from.
    #[arg(long)]
    pub config: PathBuf,
    /// First decision day to score (default: the model's test period).
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// Last decision day to score.
    #[arg(long)]
    pub to: Option<NaiveDate>,
    #[arg(long, value_enum, default_value_t = ModelFormat::Text)]
    pub format: ModelFormat,
    /// Also write the model's outputs over the period as a prediction set (CSV).
    #[arg(long)]
    pub predictions: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    pub device: DeviceChoice,
    /// Whose eyes read the store (`data.store`): a hosted job's owner.
    #[command(flatten)]
    pub reader: crate::store::StoreReader,
}

/// The classification part's metrics of `samples` with their model outputs.
pub(crate) fn class_part(
    c: &NetConfig,
    samples: &[(Sample, Truth)],
    outputs: &[Vec<f64>],
) -> Option<ClassMetrics> {
    let (k, part) = c
        .parts
        .iter()
        .enumerate()
        .find(|(_, p)| p.classes().is_some())?;
    let o = c.offsets()[k];
    let names = part.class_names().expect("a class part");
    let scored: Vec<ClassSample> = samples
        .iter()
        .zip(outputs)
        .map(|((_, t), out)| ClassSample {
            p: out[o..o + names.len()].to_vec(),
            class: class_of(t).expect("class"),
            forward_return: t.forward_return,
        })
        .collect();
    if scored.is_empty() {
        return None;
    }
    Some(class_metrics(
        &scored,
        names,
        &c.class_freq,
        &c.cost,
        c.decision,
        c.thresholds.up,
    ))
}

fn real_parts(
    data: &Data,
    c: &NetConfig,
    samples: &[(Sample, Truth)],
    outputs: &[Vec<f64>],
) -> Vec<RealMetrics> {
    let offsets = c.offsets();
    let mut real = 0;
    let mut out = Vec::new();
    for (k, part) in c.parts.iter().enumerate() {
        if part.classes().is_some() {
            continue;
        }
        let v: Vec<RealSample> = samples
            .iter()
            .zip(outputs)
            .map(|(((i, t), truth), o)| RealSample {
                date: data.series[*i].bars[*t].ts.date(),
                predicted: o[offsets[k]],
                actual: reals_of(truth)[real],
            })
            .collect();
        let signed = matches!(
            part,
            Component::Return | Component::Sharpe | Component::Momentum
        );
        out.push(real_metrics(part.name(), &v, c.part_norm[real][0], signed));
        real += 1;
    }
    out
}

fn scores(data: &Data, c: &NetConfig, samples: &[(Sample, Truth)], outputs: &[Vec<f64>]) -> Scores {
    Scores {
        samples: samples.len(),
        class: class_part(c, samples, outputs),
        numbers: if samples.is_empty() {
            Vec::new()
        } else {
            real_parts(data, c, samples, outputs)
        },
    }
}

/// A prediction set's rows: classifier rows from a classification part (P(up), P(down)
/// with strong falls included, P(flat)); else one-path rows from a return part, whose
/// point forecast is its own distribution. Other numeric targets have no set.
fn rows(
    data: &Data,
    c: &NetConfig,
    samples: &[Sample],
    outputs: &[Vec<f64>],
) -> Result<String, String> {
    let offsets = c.offsets();
    let class = c.parts.iter().position(|p| p.classes().is_some());
    let ret = c.parts.iter().position(|p| *p == Component::Return);
    let kind = match (class, ret) {
        (Some(_), _) => RowKind::Classifier,
        (None, Some(_)) => RowKind::Kronos,
        (None, None) => {
            return Err(format!(
                "none: a {} model predicts no return or class for a strategy to rank by",
                c.parts
                    .iter()
                    .map(|p| p.name())
                    .collect::<Vec<_>>()
                    .join("+")
            ));
        }
    };
    let mut text = String::from(kind.header());
    text.push('\n');
    for ((i, t), o) in samples.iter().zip(outputs) {
        let base = |score: f64, p_up: f64, detail: Detail| PredictionRow {
            symbol: data.series[*i].symbol.to_string(),
            as_of: data.series[*i].bars[*t].ts.date(),
            horizon: c.thresholds.horizon as u32,
            score,
            p_up,
            detail,
        };
        let row = match (class, ret) {
            (Some(k), _) => {
                let [up, down, flat] = kxian_shared::zoo::target::up_down_flat(
                    &o[offsets[k]..offsets[k] + c.parts[k].width()],
                );
                base(
                    up - down,
                    up,
                    Detail::Classifier {
                        p_down: down,
                        p_flat: flat,
                    },
                )
            }
            (None, Some(k)) => {
                let r = o[offsets[k]];
                base(
                    r,
                    if r > 0.0 { 1.0 } else { 0.0 },
                    Detail::Kronos {
                        exp_return: r,
                        q10: r,
                        q50: r,
                        q90: r,
                        n_paths: 1,
                        path_returns: Vec::new(),
                    },
                )
            }
            (None, None) => unreachable!("checked above"),
        };
        text.push_str(&row.to_csv());
        text.push('\n');
    }
    Ok(text)
}

/// Samples with their truths, and the model's outputs for them.
type Scored = (Vec<(Sample, Truth)>, Vec<Vec<f64>>);

/// The card of `model` over the test samples, and the prediction set's CSV.
pub(crate) fn card(
    data: &Data,
    model: &Model,
    test: &[(Sample, Truth)],
    counts: Counts,
    device: &Device,
) -> anyhow::Result<(Card, Option<String>)> {
    let c = model.config();
    let samples: Vec<Sample> = test.iter().map(|(s, _)| *s).collect();
    let outputs = model.outputs(data, &samples, device);
    let mut per: BTreeMap<String, Scored> = BTreeMap::new();
    let mut regimes: BTreeMap<String, Scored> = BTreeMap::new();
    let mut industries: BTreeMap<String, Scored> = BTreeMap::new();
    let days = data.market_bars.as_deref().map(|b| (b, daily(b)));
    for (s, o) in test.iter().zip(&outputs) {
        let series = &data.series[s.0.0];
        let e = per.entry(series.symbol.to_string()).or_default();
        e.0.push(s.clone());
        e.1.push(o.clone());
        if let Some(name) = super::conditions::sector_name(data.ids[s.0.0][s.0.1][0]) {
            let e = industries.entry(name.to_string()).or_default();
            e.0.push(s.clone());
            e.1.push(o.clone());
        }
        if let Some((bars, days)) = &days
            && let Some(g) = on_day(bars, days, series.bars[s.0.1].ts.date())
        {
            let e = regimes.entry(g.as_str().to_string()).or_default();
            e.0.push(s.clone());
            e.1.push(o.clone());
        }
    }
    let set = rows(data, c, &samples, &outputs);
    let card = Card {
        backbone: c.backbone.name().into(),
        target: c.parts.iter().map(|p| p.name().to_string()).collect(),
        parameters: model.parameters(),
        samples: counts,
        trained_until: c.trained_until,
        val_from: c.val_from,
        test_from: c.test_from,
        test: scores(data, c, test, &outputs),
        per_symbol: per
            .iter()
            .map(|(k, (s, o))| (k.clone(), scores(data, c, s, o)))
            .collect(),
        per_regime: regimes
            .iter()
            .map(|(k, (s, o))| (k.clone(), scores(data, c, s, o)))
            .collect(),
        per_industry: industries
            .iter()
            .map(|(k, (s, o))| (k.clone(), scores(data, c, s, o)))
            .collect(),
        prediction_set: match &set {
            Ok(_) => "predictions.csv".into(),
            Err(why) => why.clone(),
        },
    };
    Ok((card, set.ok()))
}

/// What `evaluate-model` prints.
#[derive(Debug, Clone, Serialize)]
pub struct ModelEvaluation {
    pub model: String,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    #[serde(flatten)]
    pub card: Card,
}

pub fn evaluate(args: &EvaluateModelArgs) -> anyhow::Result<ModelEvaluation> {
    let config = read_config(&args.config, |_| {})?;
    let picked = pick(args.device)?;
    let model = Model::load(&args.model, &picked.device)?;
    let data = load(config, &args.config, args.reader)?;
    let c = model.config();
    crate::ensure_input!(
        c.market == data.config.data.market,
        "data.market: the model was trained with {:?}, the file gives {:?}",
        c.market,
        data.config.data.market
    );
    let from = args.from.or(c.test_from);
    let in_range = |d: NaiveDate| from.is_none_or(|f| d >= f) && args.to.is_none_or(|t| d <= t);
    let mut labelled = Vec::new();
    let mut all = Vec::new();
    for (i, s) in data.series.iter().enumerate() {
        for t in c.max_context..s.bars.len() {
            if !in_range(s.bars[t].ts.date()) {
                continue;
            }
            all.push((i, t));
            if let Some(truth) = truth(&c.parts, &c.thresholds, &s.bars, t) {
                labelled.push(((i, t), truth));
            }
        }
    }
    crate::ensure_input!(
        !labelled.is_empty(),
        "no decision day with a known outcome from {from:?} to {:?} (the model needs {} bars of context and {} after)",
        args.to,
        c.max_context,
        c.thresholds.horizon
    );
    let counts = Counts {
        train: 0,
        val: 0,
        test: labelled.len(),
    };
    let (card, _) = card(&data, &model, &labelled, counts, &picked.device)?;
    if let Some(path) = &args.predictions {
        let outputs = model.outputs(&data, &all, &picked.device);
        let text = rows(&data, c, &all, &outputs).map_err(BadInput)?;
        std::fs::write(path, text).with_context(|| format!("{}: cannot write", path.display()))?;
        eprintln!("wrote {} ({} rows)", path.display(), all.len());
    }
    Ok(ModelEvaluation {
        model: args.model.display().to_string(),
        from,
        to: args.to,
        card,
    })
}

//! `backbone = "gbdt"`: gradient-boosted trees (the `forust-ml` crate) over the last
//! [`GBDT_LAGS`] feature rows of each sample's context, flattened into one table row. A
//! classification part is one booster per class (one-vs-rest log loss, softmax across
//! them); a numeric part is one booster on squared error. Rounds stop early when the
//! validation part's loss has not improved for 20 of them, as XGBoost's early stopping does.
//!
//! Why `forust-ml`: pure Rust on the stable compiler (the LightGBM and XGBoost crates bind
//! their C++ libraries and need a C++ toolchain and CMake; `perpetual`, forust's successor,
//! needs a nightly compiler), XGBoost's own parameters (rounds, depth, eta, L2, minimum leaf
//! weight), histogram splits, sample weights and early stopping on an evaluation set.

use burn::tensor::Device;
use forust_ml::Matrix;
use forust_ml::gradientbooster::GradientBooster;
use forust_ml::metric::Metric;
use forust_ml::objective::ObjectiveType;
use kxian_shared::zoo::config::GBDT_LAGS;
use kxian_shared::zoo::net::NetConfig;
use kxian_shared::zoo::target::Truth;
use serde::{Deserialize, Serialize};

use super::*;

/// The trees of one part of the target.
#[derive(Serialize, Deserialize)]
pub(crate) enum PartTrees {
    /// One booster per class.
    Class(Vec<GradientBooster>),
    Real(Box<GradientBooster>),
}

pub(crate) struct Trees {
    pub config: NetConfig,
    pub parts: Vec<PartTrees>,
}

pub(crate) const TREES_FILE: &str = "trees.json";

/// Columns of a row: the last bars' features, then the conditions.
fn columns(c: &NetConfig) -> usize {
    GBDT_LAGS * c.d_in + c.conditions.len()
}

/// The table of `samples`, column-major (`[column][row]`), as the trees read it.
fn table(data: &Data, c: &NetConfig, samples: &[Sample]) -> Vec<f64> {
    let f = Featurizer {
        features: &c.features,
        market: data.market.as_ref(),
        market_days: data.market_days.as_ref(),
        factor_norm: &c.factor_norm,
    };
    let lags = GBDT_LAGS * c.d_in;
    let width = columns(c);
    let mut rows = Vec::with_capacity(samples.len() * width);
    let mut buf = Vec::new();
    for &(i, t) in samples {
        buf.clear();
        f.rows(
            &data.series[i].bars,
            &data.series[i].factors,
            t,
            c.max_context,
            &mut buf,
        )
        .expect("samples start after their longest context");
        rows.extend(buf[buf.len() - lags..].iter().map(|&x| x as f64));
        // Conditions as plain columns (the trees split on ids; 0 is unknown).
        rows.extend(
            c.conditions
                .iter()
                .map(|k| data.ids[i][t][super::conditions::slot(*k)] as f64),
        );
    }
    let n = samples.len();
    let mut cols = vec![0.0; rows.len()];
    for r in 0..n {
        for k in 0..width {
            cols[k * n + r] = rows[r * width + k];
        }
    }
    cols
}

/// Rounds without a better validation loss before the boosting stops.
const EARLY_STOP: usize = 20;

fn booster(c: &NetConfig, objective: ObjectiveType, metric: Metric, seed: u64) -> GradientBooster {
    let p = c.trees.expect("a gbdt config has its trees' settings");
    GradientBooster::default()
        .set_objective_type(objective)
        .set_iterations(p.rounds)
        .set_max_depth(p.depth)
        .set_learning_rate(p.eta as f32)
        .set_seed(seed)
        .set_evaluation_metric(Some(metric))
        .set_early_stopping_rounds(Some(EARLY_STOP))
}

/// Trees for every part, fitted on the training part and stopped on the validation part.
pub(crate) fn fit(
    data: &Data,
    c: &NetConfig,
    train: &[(Sample, Truth)],
    val: &[(Sample, Truth)],
    class_weights: &[f64],
    seed: u64,
) -> anyhow::Result<Trees> {
    let width = columns(c);
    let xs: Vec<Sample> = train.iter().map(|(s, _)| *s).collect();
    let vs: Vec<Sample> = val.iter().map(|(s, _)| *s).collect();
    let (x, xv) = (table(data, c, &xs), table(data, c, &vs));
    let (n, nv) = (xs.len(), vs.len());
    let fail = |e: forust_ml::errors::ForustError| anyhow::anyhow!("gbdt: {e}");
    let mut parts = Vec::new();
    let mut real = 0;
    for part in &c.parts {
        eprintln!(
            "fitting the trees of `{}`: {n} samples × {width} columns, stopping on {nv} validation samples",
            part.name()
        );
        match part.classes() {
            Some(k) => {
                let class = |t: &Truth| class_of(t).expect("class");
                let w: Vec<f64> = train.iter().map(|(_, t)| class_weights[class(t)]).collect();
                let wv = vec![1.0; nv];
                let mut boosters = Vec::with_capacity(k);
                for j in 0..k {
                    let y: Vec<f64> = train
                        .iter()
                        .map(|(_, t)| (class(t) == j) as u8 as f64)
                        .collect();
                    let yv: Vec<f64> = val
                        .iter()
                        .map(|(_, t)| (class(t) == j) as u8 as f64)
                        .collect();
                    let mut b = booster(c, ObjectiveType::LogLoss, Metric::LogLoss, seed);
                    b.fit(
                        &Matrix::new(&x, n, width),
                        &y,
                        &w,
                        Some(vec![(Matrix::new(&xv, nv, width), &yv, &wv)]),
                    )
                    .map_err(fail)?;
                    boosters.push(b);
                }
                parts.push(PartTrees::Class(boosters));
            }
            None => {
                let y: Vec<f64> = train.iter().map(|(_, t)| reals_of(t)[real]).collect();
                let yv: Vec<f64> = val.iter().map(|(_, t)| reals_of(t)[real]).collect();
                real += 1;
                let mut b = booster(
                    c,
                    ObjectiveType::SquaredLoss,
                    Metric::RootMeanSquaredError,
                    seed,
                );
                b.fit(
                    &Matrix::new(&x, n, width),
                    &y,
                    &vec![1.0; n],
                    Some(vec![(Matrix::new(&xv, nv, width), &yv, &vec![1.0; nv])]),
                )
                .map_err(fail)?;
                parts.push(PartTrees::Real(Box::new(b)));
            }
        }
    }
    Ok(Trees {
        config: c.clone(),
        parts,
    })
}

impl Trees {
    /// Every part's reading for `samples`, as [`kxian_shared::zoo::net::read_outputs`] gives it.
    pub(crate) fn outputs(&self, data: &Data, samples: &[Sample]) -> Vec<Vec<f64>> {
        let c = &self.config;
        let n = samples.len();
        let x = table(data, c, samples);
        let matrix = Matrix::new(&x, n, columns(c));
        let mut rows = vec![Vec::with_capacity(c.out_dim()); n];
        for (part, trees) in c.parts.iter().zip(&self.parts) {
            match trees {
                PartTrees::Class(boosters) => {
                    debug_assert_eq!(boosters.len(), part.width());
                    // Each class's log-odds against the rest, then a softmax across classes.
                    let odds: Vec<Vec<f64>> =
                        boosters.iter().map(|b| b.predict(&matrix, true)).collect();
                    for (r, row) in rows.iter_mut().enumerate() {
                        let top = odds.iter().map(|o| o[r]).fold(f64::MIN, f64::max);
                        let e: Vec<f64> = odds.iter().map(|o| (o[r] - top).exp()).collect();
                        let sum: f64 = e.iter().sum();
                        row.extend(e.iter().map(|v| v / sum));
                    }
                }
                PartTrees::Real(b) => {
                    for (row, v) in rows.iter_mut().zip(b.predict(&matrix, true)) {
                        row.push(v);
                    }
                }
            }
        }
        rows
    }

    /// Nodes over all trees: the count a card reports as parameters.
    pub(crate) fn nodes(&self) -> usize {
        let count = |b: &GradientBooster| {
            // Early stopping keeps the trees up to the best round for prediction.
            b.trees
                .iter()
                .take(b.prediction_iteration.unwrap_or(b.trees.len()))
                .map(|t| t.nodes.len())
                .sum::<usize>()
        };
        self.parts
            .iter()
            .map(|p| match p {
                PartTrees::Class(m) => m.iter().map(count).sum(),
                PartTrees::Real(b) => count(b),
            })
            .sum()
    }

    pub(crate) fn save(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir)?;
        write_json(&dir.join("config.json"), &self.config)?;
        std::fs::write(dir.join(TREES_FILE), serde_json::to_vec(&self.parts)?)
            .with_context(|| format!("{}: cannot write", dir.display()))
    }

    pub(crate) fn load(dir: &Path, config: NetConfig) -> anyhow::Result<Trees> {
        let path = dir.join(TREES_FILE);
        let bytes =
            std::fs::read(&path).with_context(|| format!("{}: cannot read", path.display()))?;
        let parts: Vec<PartTrees> = serde_json::from_slice(&bytes)
            .map_err(|e| BadInput(format!("{}: {e}", path.display())))?;
        crate::ensure_input!(
            parts.len() == config.parts.len(),
            "{}: {} parts of trees where config.json names {}",
            path.display(),
            parts.len(),
            config.parts.len()
        );
        Ok(Trees { config, parts })
    }
}

/// A trained model of either kind. One per run, so the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Model {
    Net(kxian_shared::zoo::net::ZooNet),
    Trees(Trees),
}

impl Model {
    pub(crate) fn config(&self) -> &NetConfig {
        match self {
            Model::Net(n) => &n.config,
            Model::Trees(t) => &t.config,
        }
    }

    pub(crate) fn parameters(&self) -> usize {
        match self {
            Model::Net(n) => burn::module::Module::num_params(n),
            Model::Trees(t) => t.nodes(),
        }
    }

    /// The outputs for `samples`, in chunks, at the model's inference context.
    pub(crate) fn outputs(
        &self,
        data: &Data,
        samples: &[Sample],
        device: &Device,
    ) -> Vec<Vec<f64>> {
        match self {
            Model::Trees(t) => t.outputs(data, samples),
            Model::Net(net) => {
                let c = &net.config;
                let mut out = Vec::with_capacity(samples.len());
                for chunk in samples.chunks(256) {
                    let x = super::train::inputs(data, c, chunk, c.max_context, device);
                    let ids = super::train::condition_ids(data, c, chunk, device);
                    out.extend(kxian_shared::zoo::net::read_outputs(c, net.forward(x, ids)));
                }
                out
            }
        }
    }

    /// A model folder: a network (config.json + model.safetensors) or trees (+ trees.json).
    pub(crate) fn load(dir: &Path, device: &Device) -> anyhow::Result<Model> {
        let path = dir.join("config.json");
        let bytes =
            std::fs::read(&path).with_context(|| format!("{}: cannot read", path.display()))?;
        let config: NetConfig = serde_json::from_slice(&bytes)
            .map_err(|e| BadInput(format!("{}: {e}", path.display())))?;
        if config.backbone == kxian_shared::zoo::config::BackboneKind::Gbdt {
            Ok(Model::Trees(Trees::load(dir, config)?))
        } else {
            Ok(Model::Net(super::train::load_net(dir, device)?))
        }
    }
}

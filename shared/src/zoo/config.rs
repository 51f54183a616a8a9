//! The model zoo's training file: `[data]`, `[model]`, `[target]`, `[loss]` and `[train]`.
//! Parsing refuses unknown keys and names the key of every value it cannot use.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

use super::target::{Component, TargetKind};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZooConfig {
    pub data: DataSpec,
    #[serde(default)]
    pub model: ModelSpec,
    #[serde(default)]
    pub target: TargetSpec,
    #[serde(default)]
    pub loss: LossSpec,
    #[serde(default)]
    pub train: TrainSpec,
}

/// Where the bars come from and how samples are cut from them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// Bar files, one series each (any format the importer reads).
    #[serde(default)]
    pub files: Vec<PathBuf>,
    /// Drop the rows the importer rejects instead of refusing the file.
    #[serde(default)]
    pub skip_invalid: bool,
    /// A store to read series from, with `symbols` or `board`.
    #[serde(default)]
    pub store: Option<PathBuf>,
    #[serde(default)]
    pub symbols: Vec<String>,
    #[serde(default)]
    pub board: Option<String>,
    /// The market index among the series: its bars become every context's market features
    /// and it is not itself a sample.
    #[serde(default)]
    pub market: Option<String>,
    #[serde(default = "default_features")]
    pub features: Vec<FeatureSet>,
    /// Bars of context: a fixed length, or `[min, max]` drawn at random per training batch
    /// (inference then uses the larger).
    #[serde(default = "default_context")]
    pub context: Context,
    #[serde(default)]
    pub split: SplitSpec,
    /// What else the model is told about each sample (seed 003): its industry, its style
    /// bucket and the market's regime on the decision day, each as a learned embedding fused
    /// with the backbone's features. Industry and style need the store's reference data.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// Train on one industry only (a sector: `finance`, `technology`, …): seed 003's
    /// single-industry model; without it, one unified model over every industry.
    #[serde(default)]
    pub industry: Option<String>,
}

/// A fact about a sample beside its bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// The stock's sector on the day (11 sectors), a 32-wide embedding.
    Industry,
    /// Its float-cap fifth × PB tercile among the series that day, a 16-wide embedding.
    Style,
    /// The market index's regime that day (bull, bear, sideways, volatile), 16 wide.
    Regime,
}

impl Condition {
    pub fn name(self) -> &'static str {
        match self {
            Condition::Industry => "industry",
            Condition::Style => "style",
            Condition::Regime => "regime",
        }
    }

    /// Ids an embedding holds, 0 being "unknown".
    pub fn vocabulary(self) -> usize {
        match self {
            Condition::Industry => 1 + crate::reference::Sector::ALL.len(),
            Condition::Style => 1 + 5 * 3,
            Condition::Regime => 1 + crate::analysis::regime::Regime::ALL.len(),
        }
    }

    /// Width of its embedding (seed 003's sizes).
    pub fn width(self) -> usize {
        match self {
            Condition::Industry => 32,
            Condition::Style | Condition::Regime => 16,
        }
    }
}

fn default_features() -> Vec<FeatureSet> {
    vec![FeatureSet::Bars]
}

fn default_context() -> Context {
    Context::Fixed(60)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureSet {
    /// Per-stock normalised OHLCV rows and the market's return and level (the classifier's).
    Bars,
    /// The 24 factors of `kxian-trainer factors`, clipped robust z-scores.
    Factors,
    /// The market index's own day: its change, its range and its volume (z-scored within the
    /// context) — the equivalents of EquiNet's `marketlimit`, `marketrange` and
    /// `marketvolume` columns, read from the index's bars (`data.market`).
    Market,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Context {
    Fixed(usize),
    Range([usize; 2]),
}

impl Context {
    pub fn min(self) -> usize {
        match self {
            Context::Fixed(n) => n,
            Context::Range([a, _]) => a,
        }
    }
    pub fn max(self) -> usize {
        match self {
            Context::Fixed(n) => n,
            Context::Range([_, b]) => b,
        }
    }
}

/// Chronological train / validation / test parts. A sample belongs to the part its decision
/// day falls in, and a training (validation) sample whose outcome reaches into the next part
/// is dropped, so no two parts share an outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SplitSpec {
    #[serde(deserialize_with = "crate::backtest::schema::toml_date")]
    pub val_from: Option<NaiveDate>,
    #[serde(deserialize_with = "crate::backtest::schema::toml_date")]
    pub test_from: Option<NaiveDate>,
    /// Shares of all bar-days for validation and test when the dates are not given.
    pub val_fraction: f64,
    pub test_fraction: f64,
}

impl Default for SplitSpec {
    fn default() -> Self {
        SplitSpec {
            val_from: None,
            test_from: None,
            val_fraction: 0.15,
            test_fraction: 0.15,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackboneKind {
    Transformer,
    Lstm,
    Gru,
    CnnLstm,
    Tsmixer,
    /// Gradient-boosted trees over the last bars' feature rows (the trainer's, not a network).
    Gbdt,
}

impl BackboneKind {
    pub fn name(self) -> &'static str {
        match self {
            BackboneKind::Transformer => "transformer",
            BackboneKind::Lstm => "lstm",
            BackboneKind::Gru => "gru",
            BackboneKind::CnnLstm => "cnn_lstm",
            BackboneKind::Tsmixer => "tsmixer",
            BackboneKind::Gbdt => "gbdt",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelSpec {
    pub backbone: BackboneKind,
    /// Width of every layer.
    pub d_model: usize,
    pub layers: usize,
    /// Attention heads (transformer only).
    pub heads: usize,
    /// RMS-normalise queries and keys per head (transformer only; AlphaQuant's QK-norm).
    pub qk_norm: bool,
    /// Convolution width in bars (cnn_lstm only).
    pub kernel: usize,
    pub dropout: f64,
    /// Boosting rounds at most (gbdt only; validation stops them earlier).
    pub rounds: usize,
    /// Tree depth (gbdt only).
    pub depth: usize,
    /// Shrinkage per round (gbdt only).
    pub eta: f64,
}

/// The trees' settings, as a gbdt model's config.json keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TreeParams {
    pub rounds: usize,
    pub depth: usize,
    pub eta: f64,
}

impl ModelSpec {
    pub fn tree_params(&self) -> Option<TreeParams> {
        (self.backbone == BackboneKind::Gbdt).then_some(TreeParams {
            rounds: self.rounds,
            depth: self.depth,
            eta: self.eta,
        })
    }
}

impl Default for ModelSpec {
    fn default() -> Self {
        ModelSpec {
            backbone: BackboneKind::Transformer,
            d_model: 64,
            layers: 2,
            heads: 4,
            qk_norm: false,
            kernel: 3,
            dropout: 0.1,
            rounds: 300,
            depth: 5,
            eta: 0.05,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TargetSpec {
    pub kind: TargetKind,
    /// Bars between the decision close and the close the target is about.
    pub horizon: usize,
    /// Up when the forward return is at least this (updown3, updown4).
    pub up: f64,
    /// Down when it is at most this.
    pub down: f64,
    /// Strong down when it is at most this (updown4).
    pub strong_down: f64,
    /// Binary: up when the forward return is above this.
    pub threshold: f64,
    /// Multitask: the parts, e.g. `["return", "sharpe", "drawdown"]` or
    /// `["updown3", "volatility", "momentum"]`.
    pub tasks: Vec<Component>,
    /// Multitask: each part's weight in the loss (default equal).
    pub weights: Vec<f64>,
}

impl Default for TargetSpec {
    fn default() -> Self {
        TargetSpec {
            kind: TargetKind::Updown3,
            horizon: 3,
            up: 0.03,
            down: -0.02,
            strong_down: -0.05,
            threshold: 0.0,
            tasks: Vec::new(),
            weights: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    Ce,
    Focal,
    Cost,
    L1,
    Huber,
    Mse,
}

impl LossKind {
    pub fn is_class(self) -> bool {
        matches!(self, LossKind::Ce | LossKind::Focal | LossKind::Cost)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ClassWeights {
    /// `"none"` or `"balanced"` (inverse training frequency).
    Named(String),
    Given(Vec<f64>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LossSpec {
    /// The loss of the target; in a multitask target, of its regression parts.
    pub kind: LossKind,
    /// Multitask: the loss of its classification part (default `ce`).
    pub class_kind: Option<LossKind>,
    /// Focal γ.
    pub gamma: f64,
    /// Huber δ, in standard deviations of the target.
    pub delta: f64,
    pub class_weights: ClassWeights,
    /// `cost[true][called]`, classes in the target's order (default: EquiNet's penalties,
    /// calling up before a fall twice as costly as any other mistake).
    pub cost: Option<Vec<Vec<f64>>>,
    /// Cross-entropy added to the cost loss with this weight, to keep probabilities honest.
    pub ce_mix: f64,
}

impl Default for LossSpec {
    fn default() -> Self {
        LossSpec {
            kind: LossKind::Ce,
            class_kind: None,
            gamma: 2.0,
            delta: 1.0,
            class_weights: ClassWeights::Named("none".into()),
            cost: None,
            ce_mix: 0.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    OneCycle,
    Cosine,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    /// The checkpoint of least validation loss.
    ValLoss,
    /// 积分制: the checkpoint of least mean cost of its decisions on validation.
    Points,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecideRule {
    Cost,
    Lift,
}

impl TrainSpec {
    pub fn decision(&self) -> crate::features::classify::Decision {
        match self.decide {
            DecideRule::Cost => crate::features::classify::Decision::Cost,
            DecideRule::Lift => crate::features::classify::Decision::Lift { lift: self.lift },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainSpec {
    pub epochs: usize,
    pub steps_per_epoch: usize,
    pub batch_size: usize,
    pub accumulation: usize,
    pub lr: f64,
    pub weight_decay: f64,
    pub clip: f64,
    pub schedule: Schedule,
    pub select: Selection,
    pub max_seconds: Option<f64>,
    /// Steps between `last/` checkpoints (default: one per epoch).
    pub save_every: Option<usize>,
    /// How probabilities become calls in the metrics and in 积分制: `"cost"` (least
    /// expected cost) or `"lift"` (a class at `lift` times its base rate).
    pub decide: DecideRule,
    pub lift: f64,
    /// At most this many validation samples, spread evenly over the validation days.
    pub max_val: usize,
    pub seed: u64,
}

impl Default for TrainSpec {
    fn default() -> Self {
        TrainSpec {
            epochs: 5,
            steps_per_epoch: 100,
            batch_size: 64,
            accumulation: 1,
            lr: 1e-3,
            weight_decay: 0.01,
            clip: 1.0,
            schedule: Schedule::OneCycle,
            select: Selection::ValLoss,
            max_seconds: None,
            save_every: None,
            decide: DecideRule::Cost,
            lift: 2.0,
            max_val: 4096,
            seed: 42,
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ZooConfigError {
    #[error("{0}")]
    Toml(String),
    #[error("{key}: {why}")]
    Key { key: &'static str, why: String },
}

/// Bars of feature rows the trees read, newest last.
pub const GBDT_LAGS: usize = 5;

fn bad(key: &'static str, why: impl Into<String>) -> ZooConfigError {
    ZooConfigError::Key {
        key,
        why: why.into(),
    }
}

/// `x ≥ 0`, and false for NaN.
fn nonneg(x: f64) -> bool {
    x >= 0.0
}

/// `x > 0`, and false for NaN.
fn positive(x: f64) -> bool {
    x > 0.0
}

/// Reads and checks a training file.
pub fn parse(text: &str) -> Result<ZooConfig, ZooConfigError> {
    let c = read(text)?;
    c.validate()?;
    Ok(c)
}

/// Reads a training file without checking it (for a caller that changes it first).
pub fn read(text: &str) -> Result<ZooConfig, ZooConfigError> {
    toml::from_str(text).map_err(|e| ZooConfigError::Toml(e.to_string()))
}

impl ZooConfig {
    /// The parts of the target, in output order.
    pub fn components(&self) -> Vec<Component> {
        self.target.kind.components(&self.target.tasks)
    }

    pub fn validate(&self) -> Result<(), ZooConfigError> {
        let (d, m, t, l, tr) = (
            &self.data,
            &self.model,
            &self.target,
            &self.loss,
            &self.train,
        );
        if d.files.is_empty() && d.store.is_none() {
            return Err(bad(
                "data.files",
                "give bar files, or `data.store` with symbols",
            ));
        }
        if d.store.is_some() && d.symbols.is_empty() && d.board.is_none() {
            return Err(bad("data.symbols", "a store needs `symbols` or `board`"));
        }
        let mut seen = d.conditions.clone();
        seen.sort();
        seen.dedup();
        if seen.len() != d.conditions.len() {
            return Err(bad("data.conditions", "each condition once"));
        }
        if d.conditions.contains(&Condition::Regime) && d.market.is_none() {
            return Err(bad(
                "data.conditions",
                "`regime` is read from the market index: set data.market",
            ));
        }
        if let Some(name) = &d.industry
            && crate::reference::Sector::parse(name).is_none()
        {
            return Err(bad(
                "data.industry",
                format!(
                    "`{name}` is not a sector; one of {}",
                    crate::reference::Sector::ALL
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        if d.features.is_empty() {
            return Err(bad(
                "data.features",
                "at least one of \"bars\", \"factors\", \"market\"",
            ));
        }
        if d.features.contains(&FeatureSet::Market) && d.market.is_none() {
            return Err(bad(
                "data.features",
                "`market` is read from the market index: set data.market",
            ));
        }
        let (lo, hi) = (d.context.min(), d.context.max());
        if lo < 2 || lo > hi || hi > 1000 {
            return Err(bad(
                "data.context",
                "a length, or [min, max], with 2 ≤ min ≤ max ≤ 1000",
            ));
        }
        let s = &d.split;
        if let (Some(v), Some(te)) = (s.val_from, s.test_from)
            && v >= te
        {
            return Err(bad("data.split.val_from", "must come before `test_from`"));
        }
        for (key, x) in [
            ("data.split.val_fraction", s.val_fraction),
            ("data.split.test_fraction", s.test_fraction),
        ] {
            if !(0.01..0.5).contains(&x) {
                return Err(bad(key, "a share between 0.01 and 0.5"));
            }
        }
        if m.d_model < 4 || m.d_model > 1024 {
            return Err(bad("model.d_model", "between 4 and 1024"));
        }
        if m.layers == 0 || m.layers > 12 {
            return Err(bad("model.layers", "between 1 and 12"));
        }
        if !(0.0..0.9).contains(&m.dropout) {
            return Err(bad("model.dropout", "between 0 and 0.9"));
        }
        match m.backbone {
            BackboneKind::Transformer => {
                if m.heads == 0
                    || !m.d_model.is_multiple_of(m.heads)
                    || !(m.d_model / m.heads).is_multiple_of(2)
                {
                    return Err(bad(
                        "model.heads",
                        "must split d_model into even head sizes",
                    ));
                }
            }
            BackboneKind::Tsmixer => {
                if matches!(d.context, Context::Range(_)) {
                    return Err(bad(
                        "data.context",
                        "tsmixer mixes across a fixed number of bars: give one length",
                    ));
                }
            }
            BackboneKind::CnnLstm => {
                if m.kernel == 0 || m.kernel > lo {
                    return Err(bad("model.kernel", "between 1 and the shortest context"));
                }
            }
            BackboneKind::Gbdt => {
                if lo < GBDT_LAGS {
                    return Err(bad(
                        "data.context",
                        format!(
                            "gbdt reads the last {GBDT_LAGS} bars: a context of at least {GBDT_LAGS}"
                        ),
                    ));
                }
                if m.rounds == 0 || m.rounds > 5000 {
                    return Err(bad("model.rounds", "between 1 and 5000"));
                }
                if m.depth == 0 || m.depth > 16 {
                    return Err(bad("model.depth", "between 1 and 16"));
                }
                if !(positive(m.eta) && m.eta <= 1.0) {
                    return Err(bad("model.eta", "in (0, 1]"));
                }
                if matches!(
                    l.kind,
                    LossKind::Focal | LossKind::Cost | LossKind::L1 | LossKind::Huber
                ) || l.class_kind.is_some_and(|k| k != LossKind::Ce)
                {
                    return Err(bad(
                        "loss.kind",
                        "gbdt fits classes by log loss (\"ce\") and numbers by squared error (\"mse\"); the cost matrix still decides its calls",
                    ));
                }
            }
            BackboneKind::Lstm | BackboneKind::Gru => {}
        }
        if t.horizon == 0 || t.horizon > 250 {
            return Err(bad("target.horizon", "between 1 and 250 bars"));
        }
        if !(t.up > 0.0 && t.down < 0.0 && t.strong_down < t.down) {
            return Err(bad("target.up", "need up > 0 > down > strong_down"));
        }
        let parts = self.components();
        if parts.is_empty() {
            return Err(bad("target.tasks", "a multitask target needs its parts"));
        }
        if t.kind != TargetKind::Multitask && !t.tasks.is_empty() {
            return Err(bad("target.tasks", "only for kind = \"multitask\""));
        }
        if parts.iter().filter(|c| c.classes().is_some()).count() > 1 {
            return Err(bad("target.tasks", "at most one classification part"));
        }
        if !t.weights.is_empty()
            && (t.weights.len() != parts.len() || t.weights.iter().any(|w| !nonneg(*w)))
        {
            return Err(bad(
                "target.weights",
                format!("{} non-negative weights, one per part", parts.len()),
            ));
        }
        if parts.iter().any(|c| c.needs_two_bars()) && t.horizon < 2 {
            return Err(bad(
                "target.horizon",
                "volatility, sharpe and momentum need a horizon of at least 2 bars",
            ));
        }
        let classes = parts.iter().find_map(|c| c.classes());
        let regression = parts.iter().any(|c| c.classes().is_none());
        let single = parts.len() == 1;
        if single && classes.is_some() && !l.kind.is_class() {
            return Err(bad(
                "loss.kind",
                format!(
                    "a {} target needs \"ce\", \"focal\" or \"cost\"",
                    parts[0].name()
                ),
            ));
        }
        if regression && l.kind.is_class() {
            return Err(bad(
                "loss.kind",
                format!(
                    "a {} target needs \"l1\", \"huber\" or \"mse\"",
                    t.kind.name()
                ),
            ));
        }
        if let Some(k) = l.class_kind
            && !k.is_class()
        {
            return Err(bad("loss.class_kind", "\"ce\", \"focal\" or \"cost\""));
        }
        if let Some(n) = classes {
            match &l.class_weights {
                ClassWeights::Named(s) if s == "none" || s == "balanced" => {}
                ClassWeights::Named(s) => {
                    return Err(bad(
                        "loss.class_weights",
                        format!("`{s}`: \"none\", \"balanced\" or a list"),
                    ));
                }
                ClassWeights::Given(w) => {
                    if w.len() != n || w.iter().any(|x| !positive(*x)) {
                        return Err(bad(
                            "loss.class_weights",
                            format!("{n} positive weights, one per class"),
                        ));
                    }
                }
            }
            if let Some(c) = &l.cost
                && (c.len() != n
                    || c.iter().any(|r| r.len() != n)
                    || c.iter().flatten().any(|x| !nonneg(*x)))
            {
                return Err(bad(
                    "loss.cost",
                    format!("{n} rows of {n} non-negative costs (rows: the true class)"),
                ));
            }
        } else if l.cost.is_some() {
            return Err(bad("loss.cost", "only for a classification target"));
        }
        if !nonneg(l.gamma) || !positive(l.delta) || !nonneg(l.ce_mix) {
            return Err(bad("loss.gamma", "gamma ≥ 0, delta > 0 and ce_mix ≥ 0"));
        }
        if tr.select == Selection::Points && classes.is_none() {
            return Err(bad(
                "train.select",
                "\"points\" scores decisions: it needs a classification target",
            ));
        }
        if tr.batch_size == 0 || tr.steps_per_epoch == 0 || tr.epochs == 0 || tr.accumulation == 0 {
            return Err(bad(
                "train.batch_size",
                "batch_size, steps_per_epoch, epochs and accumulation are at least 1",
            ));
        }
        if !positive(tr.lr) || !nonneg(tr.weight_decay) || !positive(tr.clip) {
            return Err(bad("train.lr", "lr > 0, weight_decay ≥ 0 and clip > 0"));
        }
        if !positive(tr.lift) {
            return Err(bad("train.lift", "a positive multiple of the base rate"));
        }
        if let Some(s) = tr.max_seconds
            && !positive(s)
        {
            return Err(bad("train.max_seconds", "a positive number of seconds"));
        }
        Ok(())
    }
}

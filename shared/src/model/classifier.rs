//! The up/down/flat classifier (EquiNet's task): a small causal Transformer over a 20–100-bar
//! context of per-stock normalised bars and market features
//! ([`crate::features::classify::context_rows`]), read out at the last bar into three logits:
//! P(up), P(down), P(flat) over the label rule's horizon.

use super::layers::{Block, Dropouts, Rope, linear, rms_norm};
use crate::features::classify::{FEATURES, LabelRule};
use burn::module::Module;
use burn::nn::{Linear, RmsNorm};
use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Device, Int, Tensor, TensorData};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// `config.json` of a classifier folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierConfig {
    /// Always `"kxian-classifier"`: tells this folder from a Kronos one.
    pub model_type: String,
    pub d_in: usize,
    pub d_model: usize,
    pub n_heads: usize,
    pub n_layers: usize,
    pub ff_dim: usize,
    /// Contexts are drawn between these lengths in training; inference uses `context`.
    pub min_context: usize,
    pub max_context: usize,
    pub context: usize,
    pub dropout: f64,
    pub label: LabelRule,
    /// The market index whose bars feed the market features, if any.
    pub market: Option<String>,
    /// Class frequencies (up, down, flat) of the training labels: the Brier baseline.
    pub class_freq: [f64; 3],
    /// The last day whose label the training saw; evaluation starts after it by default.
    pub trained_until: Option<NaiveDate>,
}

pub const MODEL_TYPE: &str = "kxian-classifier";

impl ClassifierConfig {
    pub fn small() -> Self {
        ClassifierConfig {
            model_type: MODEL_TYPE.into(),
            d_in: FEATURES,
            d_model: 64,
            n_heads: 4,
            n_layers: 2,
            ff_dim: 128,
            min_context: 20,
            max_context: 100,
            context: 60,
            dropout: 0.1,
            label: LabelRule::default(),
            market: None,
            class_freq: [1.0 / 3.0; 3],
            trained_until: None,
        }
    }

    pub fn validate(&self) -> Result<(), super::ModelError> {
        let err = |m: String| Err(super::ModelError::Config(m));
        if self.model_type != MODEL_TYPE {
            return err(format!(
                "model_type is `{}`, not `{MODEL_TYPE}`",
                self.model_type
            ));
        }
        if self.d_in != FEATURES {
            return err(format!(
                "d_in is {}; this build's features have {FEATURES}",
                self.d_in
            ));
        }
        if self.n_heads == 0
            || !self.d_model.is_multiple_of(self.n_heads)
            || !(self.d_model / self.n_heads).is_multiple_of(2)
        {
            return err("d_model must split into an even head size per head".into());
        }
        if self.min_context < 2 || self.min_context > self.max_context {
            return err("need 2 <= min_context <= max_context".into());
        }
        if !(self.min_context..=self.max_context).contains(&self.context) {
            return err("context must lie between min_context and max_context".into());
        }
        if self.label.horizon == 0 || self.label.up <= 0.0 || self.label.down >= 0.0 {
            return err("label: horizon >= 1, up > 0 and down < 0".into());
        }
        Ok(())
    }
}

#[derive(Module, Debug)]
pub struct Classifier {
    pub input: Linear,
    pub blocks: Vec<Block>,
    pub norm: RmsNorm,
    pub head: Linear,
    pub dropout: burn::nn::Dropout,
    #[module(skip)]
    pub config: ClassifierConfig,
}

impl Classifier {
    pub fn new(config: &ClassifierConfig, device: &Device) -> Self {
        let p = Dropouts {
            attn: config.dropout,
            resid: config.dropout,
            ffn: config.dropout,
        };
        Classifier {
            input: linear(config.d_in, config.d_model, true, device),
            blocks: (0..config.n_layers)
                .map(|_| Block::new(config.d_model, config.n_heads, config.ff_dim, p, device))
                .collect(),
            norm: rms_norm(config.d_model, device),
            head: linear(config.d_model, 3, true, device),
            dropout: super::layers::dropout(config.dropout),
            config: config.clone(),
        }
    }

    /// # Shapes
    /// `x: [B, L, d_in]` → logits `[B, 3]`, read at the last position (causal attention, so
    /// the last position has seen the whole context).
    pub fn logits(&self, x: Tensor<3>) -> Tensor<2> {
        let [b, l, _] = x.dims();
        let device = x.device();
        let rope = Rope::new(self.config.d_model / self.config.n_heads, 0, l, &device);
        let mut h = self.dropout.forward(self.input.forward(x));
        for block in &self.blocks {
            h = block.forward(h, &rope, None);
        }
        let last = self.norm.forward(h).slice([0..b, l - 1..l]);
        self.head.forward(last.reshape([b, self.config.d_model]))
    }

    pub fn probabilities(&self, x: Tensor<3>) -> Tensor<2> {
        softmax(self.logits(x), 1)
    }
}

/// Batches of contexts as a tensor; all contexts of one batch have the same length.
pub fn batch(rows: &[Vec<[f32; FEATURES]>], device: &Device) -> Tensor<3> {
    let l = rows[0].len();
    let flat: Vec<f32> = rows
        .iter()
        .flat_map(|r| r.iter().flatten().copied())
        .collect();
    Tensor::from_data(TensorData::new(flat, [rows.len(), l, FEATURES]), device)
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Loss {
    CrossEntropy,
    /// Focal loss: `−α_y (1 − p_y)^γ log p_y`, which down-weights the easy (mostly flat) days.
    Focal {
        gamma: f64,
    },
}

/// The mean loss of `logits: [B, 3]` against `targets: [B]`, with per-class weights.
pub fn loss(
    logits: Tensor<2>,
    targets: Tensor<1, Int>,
    kind: Loss,
    weights: [f32; 3],
) -> Tensor<1> {
    let [b, _] = logits.dims();
    let device = logits.device();
    let logp = log_softmax(logits, 1);
    let idx = targets.reshape([b, 1]);
    let logp_y = logp.gather(1, idx.clone()).reshape([b]);
    let w = Tensor::<1>::from_data(TensorData::new(weights.to_vec(), [3]), &device)
        .reshape([1, 3])
        .repeat_dim(0, b)
        .gather(1, idx)
        .reshape([b]);
    let per = match kind {
        Loss::CrossEntropy => logp_y.neg(),
        Loss::Focal { gamma } => {
            let p = logp_y.clone().exp();
            let one_minus = p.neg().add_scalar(1.0).clamp_min(0.0);
            one_minus.powf_scalar(gamma).mul(logp_y).neg()
        }
    };
    (per * w.clone()).sum().div(w.sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn focal_with_gamma_zero_is_cross_entropy_and_down_weights_easy_samples() {
        let device = Device::flex();
        let logits = Tensor::<2>::from_data(
            TensorData::new(vec![3.0f32, 0.0, 0.0, 0.0, 0.5, 0.0], [2, 3]),
            &device,
        );
        let t = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 1], [2]), &device);
        let ce = loss(logits.clone(), t.clone(), Loss::CrossEntropy, [1.0; 3]).into_scalar::<f32>();
        let f0 = loss(
            logits.clone(),
            t.clone(),
            Loss::Focal { gamma: 0.0 },
            [1.0; 3],
        )
        .into_scalar::<f32>();
        let f2 = loss(
            logits.clone(),
            t.clone(),
            Loss::Focal { gamma: 2.0 },
            [1.0; 3],
        )
        .into_scalar::<f32>();
        // By hand: −log softmax: sample 0 → log(e³+2) − 3; sample 1 → log(2 + e^0.5) − 0.5.
        let a = ((3f32).exp() + 2.0).ln() - 3.0;
        let b = (2.0 + 0.5f32.exp()).ln() - 0.5;
        assert!((ce - (a + b) / 2.0).abs() < 1e-5, "{ce}");
        assert!((f0 - ce).abs() < 1e-6);
        let (pa, pb) = ((-a).exp(), (-b).exp());
        let want = ((1.0 - pa).powi(2) * a + (1.0 - pb).powi(2) * b) / 2.0;
        assert!((f2 - want).abs() < 1e-5, "{f2} vs {want}");
        // Weights: class 1 counted three times.
        let w = loss(logits, t, Loss::CrossEntropy, [1.0, 3.0, 1.0]).into_scalar::<f32>();
        assert!((w - (a + 3.0 * b) / 4.0).abs() < 1e-5);
    }

    #[test]
    fn probabilities_sum_to_one_for_any_context_length() {
        let device = Device::flex();
        let m = Classifier::new(&ClassifierConfig::small(), &device);
        for l in [20, 57, 100] {
            let x = Tensor::<3>::random(
                [3, l, FEATURES],
                burn::tensor::Distribution::Normal(0.0, 1.0),
                &device,
            );
            let p: Vec<f32> = m.probabilities(x).into_data().try_to_vec::<f32>().unwrap();
            for row in p.chunks(3) {
                assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn save_and_load_give_the_same_probabilities() {
        let device = Device::flex();
        let m = Classifier::new(&ClassifierConfig::small(), &device);
        let saved = crate::model::save_classifier(&m);
        let back = crate::model::load_classifier(
            saved.config_json.as_bytes(),
            &saved.safetensors,
            &device,
        )
        .unwrap();
        let x = Tensor::<3>::random(
            [2, 30, FEATURES],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            &device,
        );
        let a: Vec<f32> = m
            .probabilities(x.clone())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let b: Vec<f32> = back
            .probabilities(x)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert_eq!(a, b);
        let e = crate::model::load_classifier(b"{}", &saved.safetensors, &device).unwrap_err();
        assert!(e.to_string().contains("config.json"), "{e}");
    }
}

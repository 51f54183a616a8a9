//! The zoo's backbones on burn — a causal Transformer (optional QK-norm), LSTM, GRU, CNN +
//! LSTM and TSMixer — each read out at the last bar of its context into the target's outputs.
//! The recurrent layers project every step's input in one product and only loop the hidden
//! state, as PyTorch's fused kernels do.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{Dropout, Embedding, EmbeddingConfig, Linear, RmsNorm};
use burn::tensor::activation::{relu, sigmoid, silu, softmax, tanh};
use burn::tensor::{Device, Int, Tensor};
use serde::{Deserialize, Serialize};

use super::config::{BackboneKind, Condition, FeatureSet};
use super::target::{Component, Thresholds};
use crate::model::layers::{FeedForward, Rope, causal_mask, dropout, linear, rms_norm};

pub const MODEL_TYPE: &str = "kxian-zoo";

/// A linear layer over `[B, L, D]` as one `[B·L, D]` product: the CPU backend runs one large
/// matrix product much faster than B small ones.
fn lin(layer: &Linear, x: Tensor<3>) -> Tensor<3> {
    let [b, l, d] = x.dims();
    let y = layer.forward(x.reshape([b * l, d]));
    let out = y.dims()[1];
    y.reshape([b, l, out])
}

/// `config.json` of a zoo model folder: the architecture and everything inference needs to
/// rebuild the inputs and read the outputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetConfig {
    /// Always `"kxian-zoo"`.
    pub model_type: String,
    pub backbone: BackboneKind,
    pub d_in: usize,
    pub d_model: usize,
    pub layers: usize,
    pub heads: usize,
    pub qk_norm: bool,
    pub kernel: usize,
    pub dropout: f64,
    /// The trees' settings (gbdt only).
    #[serde(default)]
    pub trees: Option<super::config::TreeParams>,
    pub features: Vec<FeatureSet>,
    /// The sample facts fused with the backbone's features, in input order.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    pub min_context: usize,
    pub max_context: usize,
    pub market: Option<String>,
    pub parts: Vec<Component>,
    pub thresholds: Thresholds,
    /// Training class frequencies of the classification part (the Brier baseline).
    pub class_freq: Vec<f64>,
    /// Mean and standard deviation of each numeric part on the training samples: the
    /// network predicts the standardised value.
    pub part_norm: Vec<[f64; 2]>,
    /// Mean and standard deviation of each factor on the training days.
    pub factor_norm: Vec<[f64; 2]>,
    /// The decisions' `cost[true][called]`.
    pub cost: Vec<Vec<f64>>,
    /// How the card's calls are made.
    #[serde(default = "cost_rule")]
    pub decision: crate::features::classify::Decision,
    /// The last day whose outcome training saw; held-out scoring starts after the split.
    pub trained_until: Option<chrono::NaiveDate>,
    pub val_from: Option<chrono::NaiveDate>,
    pub test_from: Option<chrono::NaiveDate>,
}

fn cost_rule() -> crate::features::classify::Decision {
    crate::features::classify::Decision::Cost
}

impl NetConfig {
    pub fn out_dim(&self) -> usize {
        self.parts.iter().map(|p| p.width()).sum()
    }

    /// Where each part's outputs start in the head.
    pub fn offsets(&self) -> Vec<usize> {
        self.parts
            .iter()
            .scan(0, |at, p| {
                let o = *at;
                *at += p.width();
                Some(o)
            })
            .collect()
    }
}

/// One causal Transformer block, pre-norm, with optional RMS norms on queries and keys.
#[derive(Module, Debug)]
pub struct TBlock {
    pub norm1: RmsNorm,
    pub q: Linear,
    pub k: Linear,
    pub v: Linear,
    pub o: Linear,
    pub q_norm: Option<RmsNorm>,
    pub k_norm: Option<RmsNorm>,
    pub norm2: RmsNorm,
    pub ffn: FeedForward,
    pub drop: Dropout,
    pub heads: usize,
}

impl TBlock {
    fn new(d: usize, heads: usize, qk_norm: bool, p: f64, device: &Device) -> Self {
        let h = d / heads;
        TBlock {
            norm1: rms_norm(d, device),
            q: linear(d, d, true, device),
            k: linear(d, d, true, device),
            v: linear(d, d, true, device),
            o: linear(d, d, true, device),
            q_norm: qk_norm.then(|| rms_norm(h, device)),
            k_norm: qk_norm.then(|| rms_norm(h, device)),
            norm2: rms_norm(d, device),
            ffn: FeedForward::new(d, 2 * d, p, device),
            drop: dropout(p),
            heads,
        }
    }

    fn forward(&self, x: Tensor<3>, rope: &Rope, mask: &Tensor<4>) -> Tensor<3> {
        let [b, l, d] = x.dims();
        let h = d / self.heads;
        let n = self.norm1.forward(x.clone());
        let split = |t: Tensor<3>| t.reshape([b, l, self.heads, h]).swap_dims(1, 2);
        let mut q = split(lin(&self.q, n.clone()));
        let mut k = split(lin(&self.k, n.clone()));
        let v = split(lin(&self.v, n));
        if let (Some(qn), Some(kn)) = (&self.q_norm, &self.k_norm) {
            q = qn.forward(q);
            k = kn.forward(k);
        }
        let (q, k) = (rope.apply(q), rope.apply(k));
        let scores = q
            .matmul(k.swap_dims(2, 3))
            .mul_scalar(1.0 / (h as f64).sqrt())
            + mask.clone();
        let att = softmax(scores, 3)
            .matmul(v)
            .swap_dims(1, 2)
            .reshape([b, l, d]);
        let x = x + self.drop.forward(lin(&self.o, att));
        let n = self.norm2.forward(x.clone());
        let f = &self.ffn;
        x + f
            .dropout
            .forward(lin(&f.w2, silu(lin(&f.w1, n.clone())) * lin(&f.w3, n)))
    }
}

/// An LSTM layer: `[B, L, D] → [B, L, D]`.
#[derive(Module, Debug)]
pub struct LstmLayer {
    /// Input to the four gates (input, forget, output, then the cell's candidate), biased.
    pub wx: Linear,
    /// Hidden state to the gates.
    pub wh: Linear,
}

impl LstmLayer {
    fn new(d: usize, device: &Device) -> Self {
        LstmLayer {
            wx: linear(d, 4 * d, true, device),
            wh: linear(d, 4 * d, false, device),
        }
    }

    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, l, d] = x.dims();
        let device = x.device();
        let gx = lin(&self.wx, x);
        let mut h = Tensor::<2>::zeros([b, d], &device);
        let mut c = Tensor::<2>::zeros([b, d], &device);
        let mut out = Vec::with_capacity(l);
        for t in 0..l {
            let g = gx.clone().slice([0..b, t..t + 1]).reshape([b, 4 * d]) + self.wh.forward(h);
            // One sigmoid over the three gates, one tanh over the candidate.
            let gates = sigmoid(g.clone().slice([0..b, 0..3 * d]));
            let cell = tanh(g.slice([0..b, 3 * d..4 * d]));
            let gate = |k: usize| gates.clone().slice([0..b, k * d..(k + 1) * d]);
            c = gate(1) * c + gate(0) * cell;
            h = gate(2) * tanh(c.clone());
            out.push(h.clone().unsqueeze_dim::<3>(1));
        }
        Tensor::cat(out, 1)
    }
}

/// A GRU layer (PyTorch's gate equations): `[B, L, D] → [B, L, D]`.
#[derive(Module, Debug)]
pub struct GruLayer {
    /// Input to reset, update and candidate.
    pub wx: Linear,
    /// Hidden state to the same, biased (the candidate's bias sits inside the reset).
    pub wh: Linear,
}

impl GruLayer {
    fn new(d: usize, device: &Device) -> Self {
        GruLayer {
            wx: linear(d, 3 * d, true, device),
            wh: linear(d, 3 * d, true, device),
        }
    }

    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, l, d] = x.dims();
        let device = x.device();
        let gx = lin(&self.wx, x);
        let mut h = Tensor::<2>::zeros([b, d], &device);
        let mut out = Vec::with_capacity(l);
        for t in 0..l {
            let xt = gx.clone().slice([0..b, t..t + 1]).reshape([b, 3 * d]);
            let ht = self.wh.forward(h.clone());
            let part = |m: &Tensor<2>, k: usize| m.clone().slice([0..b, k * d..(k + 1) * d]);
            // One sigmoid over reset and update together.
            let rz =
                sigmoid(xt.clone().slice([0..b, 0..2 * d]) + ht.clone().slice([0..b, 0..2 * d]));
            let (r, z) = (part(&rz, 0), part(&rz, 1));
            let n = tanh(part(&xt, 2) + r * part(&ht, 2));
            h = z.clone().neg().add_scalar(1.0) * n + z * h;
            out.push(h.clone().unsqueeze_dim::<3>(1));
        }
        Tensor::cat(out, 1)
    }
}

/// TSMixer's layer: an MLP across time (per feature), then one across features (per bar),
/// each residual. The time MLP mixes only bars of the context, all on or before its last day.
#[derive(Module, Debug)]
pub struct MixerLayer {
    pub norm_t: RmsNorm,
    pub time: Linear,
    pub norm_f: RmsNorm,
    pub f1: Linear,
    pub f2: Linear,
    pub drop: Dropout,
}

impl MixerLayer {
    fn new(len: usize, d: usize, p: f64, device: &Device) -> Self {
        MixerLayer {
            norm_t: rms_norm(d, device),
            time: linear(len, len, true, device),
            norm_f: rms_norm(d, device),
            f1: linear(d, 2 * d, true, device),
            f2: linear(2 * d, d, true, device),
            drop: dropout(p),
        }
    }

    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let t = self.norm_t.forward(x.clone()).swap_dims(1, 2);
        let t = relu(self.time.forward(t)).swap_dims(1, 2);
        let x = x + self.drop.forward(t);
        let f = self
            .f2
            .forward(relu(self.f1.forward(self.norm_f.forward(x.clone()))));
        x + self.drop.forward(f)
    }
}

/// A causal convolution over bars, then LSTM layers.
#[derive(Module, Debug)]
pub struct CnnLstm {
    pub conv: Conv1d,
    pub lstm: Vec<LstmLayer>,
}

// One per model, so the convolution's size inside the enum costs nothing (and burn's Module
// derive takes no Box).
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Backbone {
    Transformer(Vec<TBlock>),
    Lstm(Vec<LstmLayer>),
    Gru(Vec<GruLayer>),
    CnnLstm(CnnLstm),
    Tsmixer(Vec<MixerLayer>),
}

/// The whole model: input projection, backbone, the conditions' embeddings fused with the
/// last bar's features, norm and the head of every part.
#[derive(Module, Debug)]
pub struct ZooNet {
    pub input: Linear,
    pub backbone: Backbone,
    /// One table per condition.
    pub embeddings: Vec<Embedding>,
    /// `[features, embeddings…] → d_model`, with the conditions only.
    pub fusion: Option<Linear>,
    pub norm: RmsNorm,
    pub head: Linear,
    pub drop: Dropout,
    #[module(skip)]
    pub config: NetConfig,
}

impl ZooNet {
    pub fn new(c: &NetConfig, device: &Device) -> Self {
        let d = c.d_model;
        let backbone = match c.backbone {
            BackboneKind::Transformer => Backbone::Transformer(
                (0..c.layers)
                    .map(|_| TBlock::new(d, c.heads, c.qk_norm, c.dropout, device))
                    .collect(),
            ),
            BackboneKind::Lstm => {
                Backbone::Lstm((0..c.layers).map(|_| LstmLayer::new(d, device)).collect())
            }
            BackboneKind::Gru => {
                Backbone::Gru((0..c.layers).map(|_| GruLayer::new(d, device)).collect())
            }
            BackboneKind::CnnLstm => Backbone::CnnLstm(CnnLstm {
                conv: Conv1dConfig::new(d, d, c.kernel).init(device),
                lstm: (0..c.layers).map(|_| LstmLayer::new(d, device)).collect(),
            }),
            BackboneKind::Tsmixer => Backbone::Tsmixer(
                (0..c.layers)
                    .map(|_| MixerLayer::new(c.max_context, d, c.dropout, device))
                    .collect(),
            ),
            BackboneKind::Gbdt => unreachable!("gbdt is trees, not a network; io::load refuses it"),
        };
        // The head starts at zero: an untrained model gives equal class probabilities and
        // the training mean of every number, whatever the backbone's random start.
        let mut head = linear(d, c.out_dim(), true, device);
        head.weight = Param::from_tensor(Tensor::zeros([d, c.out_dim()], device));
        head.bias = Some(Param::from_tensor(Tensor::zeros([c.out_dim()], device)));
        let fused: usize = c.conditions.iter().map(|k| k.width()).sum();
        ZooNet {
            input: linear(c.d_in, d, true, device),
            backbone,
            embeddings: c
                .conditions
                .iter()
                .map(|k| EmbeddingConfig::new(k.vocabulary(), k.width()).init(device))
                .collect(),
            fusion: (fused > 0).then(|| linear(d + fused, d, true, device)),
            norm: rms_norm(d, device),
            head,
            drop: dropout(c.dropout),
            config: c.clone(),
        }
    }

    /// # Shapes
    /// `x: [B, L, d_in]`, `conditions: [B, n_conditions]` ids (with conditions only) →
    /// `[B, out_dim]`, read at the last bar.
    pub fn forward(&self, x: Tensor<3>, conditions: Option<Tensor<2, Int>>) -> Tensor<2> {
        let [b, l, _] = x.dims();
        let device = x.device();
        let mut h = self.drop.forward(lin(&self.input, x));
        match &self.backbone {
            Backbone::Transformer(blocks) => {
                let rope = Rope::new(self.config.d_model / self.config.heads, 0, l, &device);
                let mask = causal_mask(0, l, l, &device);
                for blk in blocks {
                    h = blk.forward(h, &rope, &mask);
                }
            }
            Backbone::Lstm(layers) => {
                for layer in layers {
                    h = layer.forward(h);
                }
            }
            Backbone::Gru(layers) => {
                for layer in layers {
                    h = layer.forward(h);
                }
            }
            Backbone::CnnLstm(cnn) => {
                let CnnLstm { conv, lstm: layers } = cnn;
                // Causal: pad k − 1 zero bars in front, so bar t sees bars t − k + 1 ..= t.
                let k = self.config.kernel;
                let d = self.config.d_model;
                let t = h.swap_dims(1, 2);
                let t = if k > 1 {
                    Tensor::cat(vec![Tensor::zeros([b, d, k - 1], &device), t], 2)
                } else {
                    t
                };
                h = relu(conv.forward(t)).swap_dims(1, 2);
                for layer in layers {
                    h = layer.forward(h);
                }
            }
            Backbone::Tsmixer(layers) => {
                for layer in layers {
                    h = layer.forward(h);
                }
            }
        }
        let d = self.config.d_model;
        let mut last = h.slice([0..b, l - 1..l]).reshape([b, d]);
        if let (Some(fusion), Some(ids)) = (&self.fusion, conditions) {
            let mut parts = vec![last];
            for (k, table) in self.embeddings.iter().enumerate() {
                let id = ids.clone().slice([0..b, k..k + 1]);
                let w = table.weight.dims()[1];
                parts.push(table.forward(id).reshape([b, w]));
            }
            last = silu(fusion.forward(Tensor::cat(parts, 1)));
        }
        self.head.forward(self.norm.forward(last))
    }
}

/// Every part's reading of the outputs `[B, out_dim]`: class probabilities, or numbers in
/// the target's own units.
pub fn read_outputs(config: &NetConfig, out: Tensor<2>) -> Vec<Vec<f64>> {
    let [b, _] = out.dims();
    let offsets = config.offsets();
    let mut rows = vec![Vec::with_capacity(config.out_dim()); b];
    let mut real = 0;
    for (part, &o) in config.parts.iter().zip(&offsets) {
        let w = part.width();
        let slice = out.clone().slice([0..b, o..o + w]);
        let vals: Vec<f32> = if part.classes().is_some() {
            softmax(slice, 1)
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32")
        } else {
            slice.into_data().try_to_vec::<f32>().expect("f32")
        };
        let norm = if part.classes().is_none() {
            let n = config.part_norm[real];
            real += 1;
            Some(n)
        } else {
            None
        };
        for (r, chunk) in rows.iter_mut().zip(vals.chunks(w)) {
            match norm {
                Some([m, s]) => r.push(chunk[0] as f64 * s + m),
                None => r.extend(chunk.iter().map(|&v| v as f64)),
            }
        }
    }
    rows
}

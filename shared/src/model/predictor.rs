//! `Kronos`, the predictor: a decoder-only causal Transformer over (s1, s2) token pairs plus
//! calendar features. Per position it gives logits for the next bar's s1, and — through the
//! dependency-aware cross-attention layer, conditioned on a chosen s1 — logits for its s2.

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, Initializer, Linear, RmsNorm};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::config::{CALENDAR_ROWS, DEP_LAYER_HEADS, PredictorConfig};
use super::layers::{
    Attention, AttnMode, Block, Dropouts, Keys, KvCache, Rope, dropout, linear, rms_norm,
};

/// `emb_s1[s1]·√D ⊕ emb_s2[s2]·√D`, fused by a linear layer.
#[derive(Module, Debug)]
pub struct HierarchicalEmbedding {
    pub emb_s1: Embedding,
    pub emb_s2: Embedding,
    pub fusion_proj: Linear,
}

/// Learned (or fixed sinusoidal) tables for minute, hour, weekday, day and month.
#[derive(Module, Debug)]
pub struct TemporalEmbedding {
    pub minute_embed: Embedding,
    pub hour_embed: Embedding,
    pub weekday_embed: Embedding,
    pub day_embed: Embedding,
    pub month_embed: Embedding,
}

/// Cross-attention from the chosen s1's raw embedding to the hidden states, then RMSNorm.
#[derive(Module, Debug)]
pub struct DependencyLayer {
    pub cross_attn: Attention,
    pub norm: RmsNorm,
}

#[derive(Module, Debug)]
pub struct DualHead {
    pub proj_s1: Linear,
    pub proj_s2: Linear,
}

/// The predictor; field names are the reference's state-dict prefixes.
#[derive(Module, Debug)]
pub struct KronosPredictor {
    pub embedding: HierarchicalEmbedding,
    pub time_emb: TemporalEmbedding,
    pub transformer: Vec<Block>,
    pub norm: RmsNorm,
    pub dep_layer: DependencyLayer,
    pub head: DualHead,
    /// `token_dropout_p`, on the embedded tokens (training only).
    pub token_dropout: burn::nn::Dropout,
    #[module(skip)]
    pub config: PredictorConfig,
}

/// K/V caches of one generation: one per block, plus the dependency layer's projected keys
/// and values of every hidden row so far (valid because the predictor is causal: earlier rows
/// never change while the window does not slide).
#[derive(Debug, Clone, Default)]
pub struct PredictorCache {
    pub blocks: Vec<KvCache>,
    pub dep: KvCache,
}

impl PredictorCache {
    /// Caches for `layers` blocks with room for `capacity` positions before they grow.
    pub fn new(layers: usize, capacity: usize) -> Self {
        Self {
            blocks: vec![KvCache::with_capacity(capacity); layers],
            dep: KvCache::with_capacity(capacity),
        }
    }

    pub fn len(&self) -> usize {
        self.dep.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dep.is_empty()
    }

    pub fn clear(&mut self) {
        self.blocks.iter_mut().for_each(KvCache::clear);
        self.dep.clear();
    }

    pub fn drop_oldest(&mut self, n: usize) {
        self.blocks.iter_mut().for_each(|c| c.drop_oldest(n));
        self.dep.drop_oldest(n);
    }

    /// What is cached so far becomes the part every row of a batch shares.
    pub fn share(&mut self) {
        self.blocks.iter_mut().for_each(KvCache::share);
        self.dep.share();
    }
}

/// Integer inputs of a window, row-major `[B, L]` ids and `[B, L, 5]` calendar features.
#[derive(Debug, Clone)]
pub struct PredictorInput {
    pub s1: Tensor<2, Int>,
    pub s2: Tensor<2, Int>,
    pub stamp: Tensor<3, Int>,
}

impl PredictorInput {
    pub fn from_slices(
        batch: usize,
        s1: &[u32],
        s2: &[u32],
        stamp: &[[u32; 5]],
        device: &Device,
    ) -> Self {
        let len = s1.len() / batch;
        assert_eq!(s2.len(), s1.len());
        assert_eq!(stamp.len(), s1.len());
        let ids = |v: &[u32]| {
            Tensor::<2, Int>::from_data(
                TensorData::new(
                    v.iter().map(|&x| x as i64).collect::<Vec<_>>(),
                    [batch, len],
                ),
                device,
            )
        };
        let st: Vec<i64> = stamp
            .iter()
            .flat_map(|r| r.iter().map(|&x| x as i64))
            .collect();
        Self {
            s1: ids(s1),
            s2: ids(s2),
            stamp: Tensor::from_data(TensorData::new(st, [batch, len, 5]), device),
        }
    }
}

/// Fixed sinusoid table of `learn_te = false`: `w[p, 2i] = sin(p·10000^(-2i/D))`, `w[p, 2i+1] = cos(…)`.
fn sinusoid_table(rows: usize, d: usize, device: &Device) -> Embedding {
    let mut w = vec![0f32; rows * d];
    for p in 0..rows {
        for i in (0..d).step_by(2) {
            let div = (-(i as f32) * (10000f32.ln() / d as f32)).exp();
            w[p * d + i] = (p as f32 * div).sin();
            if i + 1 < d {
                w[p * d + i + 1] = (p as f32 * div).cos();
            }
        }
    }
    let mut e = EmbeddingConfig::new(rows, d).init(device);
    e.weight =
        burn::module::Param::from_tensor(Tensor::from_data(TensorData::new(w, [rows, d]), device));
    e
}

impl KronosPredictor {
    /// A randomly initialised predictor (docs/kronos.md §5.6: Xavier-normal linears, zero biases,
    /// N(0, D^-1/2) tables).
    pub fn new(config: &PredictorConfig, device: &Device) -> Self {
        let d = config.d_model;
        let dropouts = Dropouts {
            attn: config.attn_dropout_p,
            resid: config.resid_dropout_p,
            ffn: config.ffn_dropout_p,
        };
        let table_init = Initializer::Normal {
            mean: 0.0,
            std: (d as f64).powf(-0.5),
        };
        let table = |rows: usize| {
            EmbeddingConfig::new(rows, d)
                .with_initializer(table_init.clone())
                .init(device)
        };
        let calendar = |i: usize| {
            if config.learn_te {
                table(CALENDAR_ROWS[i])
            } else {
                sinusoid_table(CALENDAR_ROWS[i], d, device)
            }
        };
        Self {
            embedding: HierarchicalEmbedding {
                emb_s1: table(config.s1_vocab()),
                emb_s2: table(config.s2_vocab()),
                fusion_proj: linear(2 * d, d, true, device),
            },
            time_emb: TemporalEmbedding {
                minute_embed: calendar(0),
                hour_embed: calendar(1),
                weekday_embed: calendar(2),
                day_embed: calendar(3),
                month_embed: calendar(4),
            },
            transformer: (0..config.n_layers)
                .map(|_| Block::new(d, config.n_heads, config.ff_dim, dropouts, device))
                .collect(),
            norm: rms_norm(d, device),
            dep_layer: DependencyLayer {
                cross_attn: Attention::new(
                    d,
                    DEP_LAYER_HEADS,
                    Dropouts {
                        ffn: 0.0,
                        ..dropouts
                    },
                    device,
                ),
                norm: rms_norm(d, device),
            },
            head: DualHead {
                proj_s1: linear(d, config.s1_vocab(), true, device),
                proj_s2: linear(d, config.s2_vocab(), true, device),
            },
            token_dropout: dropout(config.token_dropout_p),
            config: config.clone(),
        }
    }

    /// The embedded tokens and calendar features, `[B, L, D]`: the first blocks' input.
    pub fn embed(&self, input: &PredictorInput) -> Tensor<3> {
        let scale = (self.config.d_model as f64).sqrt();
        let e1 = self
            .embedding
            .emb_s1
            .forward(input.s1.clone())
            .mul_scalar(scale);
        let e2 = self
            .embedding
            .emb_s2
            .forward(input.s2.clone())
            .mul_scalar(scale);
        let mut x = self
            .embedding
            .fusion_proj
            .forward(Tensor::cat(vec![e1, e2], 2));
        let [b, l, _] = input.stamp.dims();
        let column = |c: usize| {
            input
                .stamp
                .clone()
                .slice([0..b, 0..l, c..c + 1])
                .reshape([b, l])
        };
        let t = &self.time_emb;
        for (c, table) in [
            &t.minute_embed,
            &t.hour_embed,
            &t.weekday_embed,
            &t.day_embed,
            &t.month_embed,
        ]
        .into_iter()
        .enumerate()
        {
            x = x + table.forward(column(c));
        }
        self.token_dropout.forward(x)
    }

    /// Hidden states after the final norm (the reference's "context").
    /// With a cache, `input` holds the new positions only, the first at absolute `offset`,
    /// and the dependency layer's keys and values of the new rows are cached as well.
    ///
    /// # Shapes
    /// ids `[B, L]`, stamp `[B, L, 5]` → `[B, L, D]`
    pub fn hidden(
        &self,
        input: &PredictorInput,
        offset: usize,
        cache: Option<&mut PredictorCache>,
    ) -> Tensor<3> {
        let mut x = self.embed(input);
        let head_dim = self.config.d_model / self.config.n_heads;
        let rope = Rope::new(head_dim, offset, x.dims()[1], &x.device());
        match cache {
            Some(cache) => {
                for (block, c) in self.transformer.iter().zip(cache.blocks.iter_mut()) {
                    x = block.forward(x, &rope, Some(c));
                }
                let h = self.norm.forward(x);
                let (k, v) = self
                    .dep_layer
                    .cross_attn
                    .keys_values(h.clone(), AttnMode::Open);
                cache.dep.append(k, v);
                h
            }
            None => {
                for block in &self.transformer {
                    x = block.forward(x, &rope, None);
                }
                self.norm.forward(x)
            }
        }
    }

    /// s1 logits of hidden states, `[B, L, D]` → `[B, L, V1]`.
    pub fn s1_logits(&self, h: Tensor<3>) -> Tensor<3> {
        self.head.proj_s1.forward(h)
    }

    /// s2 logits for the last row at inference (eval semantics, docs/kronos.md §5.3): the query is the
    /// raw `emb_s1` row of the chosen s1, attending without mask or rotation to every hidden
    /// row, whose projected keys and values come from the cache or from `window`.
    ///
    /// # Shapes
    /// h_last `[B, 1, D]`, s1 `[B, 1]` → `[B, 1, V2]`
    pub fn s2_logits_last(&self, h_last: Tensor<3>, s1: Tensor<2, Int>, keys: Keys) -> Tensor<3> {
        let sib = self.embedding.emb_s1.forward(s1);
        let a = self.dep_layer.cross_attn.forward_cached(sib, keys);
        self.head
            .proj_s2
            .forward(self.dep_layer.norm.forward(h_last + a))
    }

    /// Dependency-layer keys and values of a whole window of hidden states.
    pub fn dep_keys(&self, h: Tensor<3>) -> Keys {
        let (k, v) = self.dep_layer.cross_attn.keys_values(h, AttnMode::Open);
        Keys::own(k, v)
    }

    /// The training forward (docs/kronos.md §5.4): s1 logits at every position and s2 logits
    /// conditioned on `siblings` (the true next s1 for teacher forcing, or a sampled one),
    /// with the dependency layer causal and rotated as in the reference's training mode.
    ///
    /// # Shapes
    /// `[B, L]` inputs → (s1 `[B, L, V1]`, s2 `[B, L, V2]`)
    pub fn forward_train(
        &self,
        input: &PredictorInput,
        siblings: Tensor<2, Int>,
    ) -> (Tensor<3>, Tensor<3>) {
        let h = self.hidden(input, 0, None);
        let s1 = self.s1_logits(h.clone());
        let sib = self.embedding.emb_s1.forward(siblings);
        let rope = Rope::new(
            self.dep_layer.cross_attn.head_dim(),
            0,
            h.dims()[1],
            &h.device(),
        );
        let a = self
            .dep_layer
            .cross_attn
            .forward(sib, h.clone(), AttnMode::Causal(&rope), None);
        let s2 = self
            .head
            .proj_s2
            .forward(self.dep_layer.norm.forward(h + a));
        (s1, s2)
    }
}

/// Mean cross-entropy of `[B, L, V]` logits against `[B, L]` targets.
pub fn cross_entropy(logits: Tensor<3>, targets: Tensor<2, Int>) -> Tensor<1> {
    let logp = log_softmax(logits, 2);
    logp.gather(2, targets.unsqueeze_dim(2)).mean().neg()
}

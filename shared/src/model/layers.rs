//! The blocks the tokenizer and the predictor share: rotary position encoding, multi-head
//! attention (self and cross) with an optional caller-owned K/V cache, the SwiGLU feed-forward
//! and the pre-norm Transformer block. Dropout is left out on purpose: inference always runs
//! with eval semantics (the reference's train-mode inference is a bug, docs/kronos.md §12.7), and the
//! trainer applies dropout where it trains.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig, RmsNorm, RmsNormConfig};
use burn::tensor::activation::{silu, softmax};
use burn::tensor::{Device, Tensor, TensorData};

/// Dropout probabilities of a block, as the configs name them. Dropout only acts on an
/// autodiff device in training; inference and `valid()` models pass through unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Dropouts {
    /// On the attention probabilities (`attn_dropout_p`).
    pub attn: f64,
    /// On the attention output (`resid_dropout_p`).
    pub resid: f64,
    /// On the feed-forward output (`ffn_dropout_p`).
    pub ffn: f64,
}

pub fn dropout(p: f64) -> Dropout {
    DropoutConfig::new(p).init()
}

/// RMSNorm epsilon of the reference.
pub const NORM_EPS: f64 = 1e-5;

pub fn linear(d_in: usize, d_out: usize, bias: bool, device: &Device) -> Linear {
    LinearConfig::new(d_in, d_out).with_bias(bias).init(device)
}

pub fn rms_norm(d: usize, device: &Device) -> RmsNorm {
    RmsNormConfig::new(d).with_epsilon(NORM_EPS).init(device)
}

/// `inv_freq[j] = 10000^(-2j/h)` in f32, the reference's persistent `rotary.inv_freq` buffer.
pub fn rope_inv_freq(head_dim: usize) -> Vec<f32> {
    (0..head_dim / 2)
        .map(|j| 1.0 / 10000f32.powf((2 * j) as f32 / head_dim as f32))
        .collect()
}

/// RoPE cos and sin tables `[len, head_dim]` for positions `offset..offset + len`, laid out
/// as the reference does (`[cos θ, cos θ]` along the head dimension, θ computed in f32).
/// Built once per forward call and shared by every block.
#[derive(Debug, Clone)]
pub struct Rope {
    pub offset: usize,
    pub cos: Tensor<2>,
    pub sin: Tensor<2>,
}

/// RoPE cos and sin tables, `[len, head_dim]` row-major each, for positions `offset..offset + len`.
pub fn rope_tables(head_dim: usize, offset: usize, len: usize) -> (Vec<f32>, Vec<f32>) {
    let inv = rope_inv_freq(head_dim);
    let mut cos = Vec::with_capacity(len * head_dim);
    let mut sin = Vec::with_capacity(len * head_dim);
    for p in offset..offset + len {
        for _ in 0..2 {
            for &f in &inv {
                let theta = p as f32 * f;
                cos.push(theta.cos());
                sin.push(theta.sin());
            }
        }
    }
    (cos, sin)
}

impl Rope {
    pub fn new(head_dim: usize, offset: usize, len: usize, device: &Device) -> Self {
        let (cos, sin) = rope_tables(head_dim, offset, len);
        Self {
            offset,
            cos: Tensor::from_data(TensorData::new(cos, [len, head_dim]), device),
            sin: Tensor::from_data(TensorData::new(sin, [len, head_dim]), device),
        }
    }

    /// Half-split (NeoX) rotation of `x: [B, H, L, h]`.
    pub fn apply(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, heads, l, h] = x.dims();
        let half = h / 2;
        let x1 = x.clone().slice([0..b, 0..heads, 0..l, 0..half]);
        let x2 = x.clone().slice([0..b, 0..heads, 0..l, half..h]);
        let rotated = Tensor::cat(vec![x2.neg(), x1], 3);
        let cos: Tensor<4> = self.cos.clone().unsqueeze();
        let sin: Tensor<4> = self.sin.clone().unsqueeze();
        x * cos + rotated * sin
    }
}

/// Keys and values to attend over: a part shared by every row of the batch (batch 1: the
/// history that all sample paths have in common) and a part of each row's own.
#[derive(Debug, Clone, Default)]
pub struct Keys {
    pub shared: Option<(Tensor<4>, Tensor<4>)>,
    pub own: Option<(Tensor<4>, Tensor<4>)>,
}

impl Keys {
    pub fn own(k: Tensor<4>, v: Tensor<4>) -> Self {
        Self {
            shared: None,
            own: Some((k, v)),
        }
    }
}

/// One growable `[B, H, cap, h]` key/value buffer pair, written in place, so a generated
/// token costs its own row rather than a copy of the whole cache.
#[derive(Debug, Clone, Default)]
struct Buffer {
    kv: Option<(Tensor<4>, Tensor<4>)>,
    start: usize,
    end: usize,
}

impl Buffer {
    fn len(&self) -> usize {
        self.end - self.start
    }

    fn view(&self) -> Option<(Tensor<4>, Tensor<4>)> {
        let (k, v) = self.kv.as_ref()?;
        if self.end == self.start {
            return None;
        }
        let [b, h, _, d] = k.dims();
        let r = [0..b, 0..h, self.start..self.end, 0..d];
        Some((k.clone().slice(r.clone()), v.clone().slice(r)))
    }

    fn append(&mut self, k: Tensor<4>, v: Tensor<4>, capacity: usize) {
        let [b, h, n, d] = k.dims();
        let room = self.kv.as_ref().map_or(0, |(bk, _)| bk.dims()[2]);
        if self.end + n > room {
            // Compact to the front and grow: amortised, like a Vec.
            let keep = self.view();
            let len = self.len();
            let cap = (len + n).max(capacity).max(2 * len);
            let device = k.device();
            let (mut nk, mut nv) = (
                Tensor::zeros([b, h, cap, d], &device),
                Tensor::zeros([b, h, cap, d], &device),
            );
            if let Some((ok, ov)) = keep {
                nk = nk.slice_assign([0..b, 0..h, 0..len, 0..d], ok);
                nv = nv.slice_assign([0..b, 0..h, 0..len, 0..d], ov);
            }
            self.kv = Some((nk, nv));
            self.start = 0;
            self.end = len;
        }
        let (bk, bv) = self.kv.take().expect("allocated above");
        let r = [0..b, 0..h, self.end..self.end + n, 0..d];
        self.kv = Some((bk.slice_assign(r.clone(), k), bv.slice_assign(r, v)));
        self.end += n;
    }
}

/// The K/V cache of one attention layer, keys already rotated. After [`KvCache::share`] the
/// positions so far stay at batch 1 and are attended by every row, so sample paths that
/// start from one history neither copy nor re-read it per path. A plain struct owned by
/// whoever runs the generation; the model itself stays immutable.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    shared: Buffer,
    own: Buffer,
    /// Positions to allocate room for on first use.
    pub capacity: usize,
}

impl KvCache {
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity,
            ..Self::default()
        }
    }

    pub fn len(&self) -> usize {
        self.shared.len() + self.own.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn clear(&mut self) {
        self.shared = Buffer::default();
        self.own = Buffer::default();
    }

    pub fn keys(&self) -> Keys {
        Keys {
            shared: self.shared.view(),
            own: self.own.view(),
        }
    }

    /// Appends `k, v: [B, H, n, h]` and returns everything cached.
    pub fn append(&mut self, k: Tensor<4>, v: Tensor<4>) -> Keys {
        let capacity = self.capacity.saturating_sub(self.shared.len());
        self.own.append(k, v, capacity);
        self.keys()
    }

    /// Drops the oldest `n` positions (the absolute-position sliding mode).
    pub fn drop_oldest(&mut self, n: usize) {
        let from_shared = n.min(self.shared.len());
        self.shared.start += from_shared;
        self.own.start = (self.own.start + n - from_shared).min(self.own.end);
    }

    /// Turns a batch-G cache into the shared part of a batch of rows: what is cached so far
    /// for history g is attended by g's rows (consecutive, as many for each history), and
    /// later appends carry the whole batch.
    pub fn share(&mut self) {
        debug_assert!(self.shared.len() == 0, "shared once");
        self.shared = std::mem::take(&mut self.own);
    }
}

/// How a call masks and rotates. The reference's modes, named.
#[derive(Debug, Clone, Copy)]
pub enum AttnMode<'a> {
    /// Causal self-attention (or teacher-forced cross-attention): RoPE on q and k at the
    /// table's positions; query `i` sees every key up to its own position.
    Causal(&'a Rope),
    /// The dependency layer at inference: no mask, no rotation, the query sees every key.
    Open,
}

/// Multi-head attention with biased q/k/v/out projections (`*_proj` keys).
#[derive(Module, Debug)]
pub struct Attention {
    pub q_proj: Linear,
    pub k_proj: Linear,
    pub v_proj: Linear,
    pub out_proj: Linear,
    pub attn_dropout: Dropout,
    pub resid_dropout: Dropout,
    pub n_heads: usize,
}

/// Query rows per block of a long causal attention: each block only reads the keys its
/// last row may see, which skips most of the masked upper triangle.
const CAUSAL_CHUNK: usize = 64;

/// Additive mask for queries at key positions `first..first + n` over keys `0..lk`.
pub fn causal_mask(first: usize, n: usize, lk: usize, device: &Device) -> Tensor<4> {
    let mut mask = vec![0f32; n * lk];
    for i in 0..n {
        for j in first + i + 1..lk {
            mask[i * lk + j] = f32::NEG_INFINITY;
        }
    }
    Tensor::<2>::from_data(TensorData::new(mask, [n, lk]), device).unsqueeze()
}

/// Causal attention of `q: [B, H, Lq, h]` (already scaled) over `k, v: [B, H, Lk, h]`, the
/// queries being the last `Lq` key positions, one block of query rows at a time. Each row's
/// softmax sees exactly the keys it sees in one masked product, so the numbers are the same.
fn causal_in_chunks(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, dropout: &Dropout) -> Tensor<4> {
    let [b, heads, lq, h] = q.dims();
    let lk = k.dims()[2];
    let first = lk - lq;
    let device = q.device();
    let mut outs = Vec::with_capacity(lq.div_ceil(CAUSAL_CHUNK));
    for c0 in (0..lq).step_by(CAUSAL_CHUNK) {
        let c1 = (c0 + CAUSAL_CHUNK).min(lq);
        let visible = first + c1;
        let qc = q.clone().slice([0..b, 0..heads, c0..c1, 0..h]);
        let kc = k.clone().slice([0..b, 0..heads, 0..visible, 0..h]);
        let vc = v.clone().slice([0..b, 0..heads, 0..visible, 0..h]);
        let scores =
            qc.matmul(kc.swap_dims(2, 3)) + causal_mask(first + c0, c1 - c0, visible, &device);
        outs.push(dropout.forward(softmax(scores, 3)).matmul(vc));
    }
    Tensor::cat(outs, 2)
}

/// `[G·S, H, Lq, x]` → `[G, H, S·Lq, x]`: the rows of each of `g` groups (the sample paths of
/// one history) as the queries of one matrix, to meet that group's shared keys.
fn rows_as_queries(t: Tensor<4>, g: usize) -> Tensor<4> {
    let [b, h, l, x] = t.dims();
    let s = b / g;
    t.reshape([g, s, h, l * x])
        .swap_dims(1, 2)
        .reshape([g, h, s * l, x])
}

/// The inverse of [`rows_as_queries`]: `[G, H, S·Lq, y]` → `[G·S, H, Lq, y]`.
fn queries_as_rows(t: Tensor<4>, b: usize, l: usize) -> Tensor<4> {
    let [g, h, _, y] = t.dims();
    let s = b / g;
    t.reshape([g, h, s, l * y])
        .swap_dims(1, 2)
        .reshape([b, h, l, y])
}

impl Attention {
    pub fn new(d_model: usize, n_heads: usize, dropouts: Dropouts, device: &Device) -> Self {
        Self {
            q_proj: linear(d_model, d_model, true, device),
            k_proj: linear(d_model, d_model, true, device),
            v_proj: linear(d_model, d_model, true, device),
            out_proj: linear(d_model, d_model, true, device),
            attn_dropout: dropout(dropouts.attn),
            resid_dropout: dropout(dropouts.resid),
            n_heads,
        }
    }

    pub fn head_dim(&self) -> usize {
        self.q_proj.weight.dims()[1] / self.n_heads
    }

    fn split_heads(&self, x: Tensor<3>) -> Tensor<4> {
        let [b, l, d] = x.dims();
        x.reshape([b, l, self.n_heads, d / self.n_heads])
            .swap_dims(1, 2)
    }

    /// Keys and values of `kv_input: [B, Lk, D]` in the layout the cache keeps.
    pub fn keys_values(&self, kv_input: Tensor<3>, mode: AttnMode) -> (Tensor<4>, Tensor<4>) {
        let k = self.split_heads(self.k_proj.forward(kv_input.clone()));
        let v = self.split_heads(self.v_proj.forward(kv_input));
        let k = match mode {
            AttnMode::Causal(rope) => rope.apply(k),
            AttnMode::Open => k,
        };
        (k, v)
    }

    /// Attention of `query: [B, Lq, D]` over `kv_input: [B, Lk, D]` (the new positions only
    /// when a cache is given; the cache then supplies the earlier ones).
    ///
    /// # Shapes
    /// query `[B, Lq, D]`, kv_input `[B, Lk, D]` → `[B, Lq, D]`
    pub fn forward(
        &self,
        query: Tensor<3>,
        kv_input: Tensor<3>,
        mode: AttnMode,
        cache: Option<&mut KvCache>,
    ) -> Tensor<3> {
        // 1. project and split into heads
        let q = self.split_heads(self.q_proj.forward(query));
        let (k_new, v_new) = self.keys_values(kv_input, mode);
        // 2. rotate the queries (keys were rotated above)
        let q = match mode {
            AttnMode::Causal(rope) => rope.apply(q),
            AttnMode::Open => q,
        };
        // 3. append to the cache
        let keys = match cache {
            Some(cache) => cache.append(k_new, v_new),
            None => Keys::own(k_new, v_new),
        };
        self.attend(q, keys, matches!(mode, AttnMode::Causal(_)))
    }

    /// Attention of a query over keys and values already projected (the dependency layer's
    /// cached path: no mask, no rotation).
    pub fn forward_cached(&self, query: Tensor<3>, keys: Keys) -> Tensor<3> {
        let q = self.split_heads(self.q_proj.forward(query));
        self.attend(q, keys, false)
    }

    fn attend(&self, q: Tensor<4>, keys: Keys, causal: bool) -> Tensor<3> {
        let [b, heads, lq, h] = q.dims();
        let q = q.mul_scalar(1.0 / (h as f64).sqrt());
        if causal && lq > CAUSAL_CHUNK && keys.shared.is_none() {
            let (k, v) = keys.own.expect("keys to attend");
            let out = causal_in_chunks(q, k, v, &self.attn_dropout);
            let out = self
                .out_proj
                .forward(out.swap_dims(1, 2).reshape([b, lq, heads * h]));
            return self.resid_dropout.forward(out);
        }
        // 4. scaled scores: the shared part as one matrix product for all rows, then each
        //    row's own keys, causally masked where asked (the shared part precedes them all)
        let mut parts = Vec::with_capacity(2);
        // The shared part has one row per group of rows (per history, when several histories
        // run as one batch); the rows of a group are consecutive.
        let groups = keys.shared.as_ref().map_or(1, |(k, _)| k.dims()[0]);
        if let Some((k, _)) = &keys.shared {
            let s = rows_as_queries(q.clone(), groups).matmul(k.clone().swap_dims(2, 3));
            parts.push(queries_as_rows(s, b, lq));
        }
        if let Some((k, _)) = &keys.own {
            let mut s = q.matmul(k.clone().swap_dims(2, 3));
            let lk = k.dims()[2];
            if causal && lq > 1 {
                let mask = causal_mask(lk - lq, lq, lk, &s.device());
                s = s + mask;
            }
            parts.push(s);
        }
        let split = parts[0].dims()[3];
        let probs = softmax(
            if parts.len() == 1 {
                parts.pop().expect("one part")
            } else {
                Tensor::cat(parts, 3)
            },
            3,
        );
        let probs = self.attn_dropout.forward(probs);
        // 5. attend, merge heads, project out
        let total = probs.dims()[3];
        let out = match (keys.shared, keys.own) {
            (Some((_, vs)), Some((_, vo))) => {
                let ps = probs.clone().slice([0..b, 0..heads, 0..lq, 0..split]);
                let po = probs.slice([0..b, 0..heads, 0..lq, split..total]);
                queries_as_rows(rows_as_queries(ps, groups).matmul(vs), b, lq) + po.matmul(vo)
            }
            (Some((_, vs)), None) => {
                queries_as_rows(rows_as_queries(probs, groups).matmul(vs), b, lq)
            }
            (None, Some((_, vo))) => probs.matmul(vo),
            (None, None) => unreachable!("attention over no keys"),
        };
        let out = out.swap_dims(1, 2).reshape([b, lq, heads * h]);
        self.resid_dropout.forward(self.out_proj.forward(out))
    }
}

/// `w2(silu(w1 x) * w3 x)`, bias-free.
#[derive(Module, Debug)]
pub struct FeedForward {
    pub w1: Linear,
    pub w2: Linear,
    pub w3: Linear,
    pub dropout: Dropout,
}

impl FeedForward {
    pub fn new(d_model: usize, ff_dim: usize, p: f64, device: &Device) -> Self {
        Self {
            w1: linear(d_model, ff_dim, false, device),
            w2: linear(ff_dim, d_model, false, device),
            w3: linear(d_model, ff_dim, false, device),
            dropout: dropout(p),
        }
    }

    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.dropout.forward(
            self.w2
                .forward(silu(self.w1.forward(x.clone())) * self.w3.forward(x)),
        )
    }
}

/// Pre-norm block: `x + attn(norm1 x)`, then `x + ffn(norm2 x)`.
#[derive(Module, Debug)]
pub struct Block {
    pub norm1: RmsNorm,
    pub self_attn: Attention,
    pub norm2: RmsNorm,
    pub ffn: FeedForward,
}

impl Block {
    pub fn new(
        d_model: usize,
        n_heads: usize,
        ff_dim: usize,
        dropouts: Dropouts,
        device: &Device,
    ) -> Self {
        Self {
            norm1: rms_norm(d_model, device),
            self_attn: Attention::new(d_model, n_heads, dropouts, device),
            norm2: rms_norm(d_model, device),
            ffn: FeedForward::new(d_model, ff_dim, dropouts.ffn, device),
        }
    }

    /// # Shapes
    /// `[B, L, D]` → `[B, L, D]`; with a cache, `L` is the new positions, at the table's positions.
    pub fn forward(&self, x: Tensor<3>, rope: &Rope, cache: Option<&mut KvCache>) -> Tensor<3> {
        let n = self.norm1.forward(x.clone());
        let x = x + self
            .self_attn
            .forward(n.clone(), n, AttnMode::Causal(rope), cache);
        let n = self.norm2.forward(x.clone());
        x + self.ffn.forward(n)
    }
}

//! The blocks the tokenizer and the predictor share: rotary position encoding, multi-head
//! attention (self and cross) with an optional caller-owned K/V cache, the SwiGLU feed-forward
//! and the pre-norm Transformer block. Dropout is left out on purpose: inference always runs
//! with eval semantics (the reference's train-mode inference is a bug, spec §12.7), and the
//! trainer applies dropout where it trains.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig, RmsNorm, RmsNormConfig};
use burn::tensor::activation::{silu, softmax};
use burn::tensor::{Device, Tensor, TensorData};

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

impl Rope {
    pub fn new(head_dim: usize, offset: usize, len: usize, device: &Device) -> Self {
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
        Self {
            offset,
            cos: Tensor::from_data(TensorData::new(cos, [len, head_dim]), device),
            sin: Tensor::from_data(TensorData::new(sin, [len, head_dim]), device),
        }
    }

    /// Half-split (NeoX) rotation of `x: [B, H, L, h]`.
    fn apply(&self, x: Tensor<4>) -> Tensor<4> {
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

/// Keys and values of one attention layer, `[B, H, len, h]` each, already rotated. The
/// buffers are allocated with room to grow and written in place, so a generated token costs
/// its own row rather than a copy of the whole cache. A plain struct owned by whoever runs
/// the generation; the model itself stays immutable.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    buf: Option<(Tensor<4>, Tensor<4>)>,
    start: usize,
    end: usize,
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
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn clear(&mut self) {
        self.buf = None;
        self.start = 0;
        self.end = 0;
    }

    /// The cached keys and values (views into the buffers).
    pub fn view(&self) -> Option<(Tensor<4>, Tensor<4>)> {
        let (k, v) = self.buf.as_ref()?;
        let [b, h, _, d] = k.dims();
        let r = [0..b, 0..h, self.start..self.end, 0..d];
        Some((k.clone().slice(r.clone()), v.clone().slice(r)))
    }

    /// Appends `k, v: [B, H, n, h]` and returns views of everything cached.
    pub fn append(&mut self, k: Tensor<4>, v: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        let [b, h, n, d] = k.dims();
        let room = self.buf.as_ref().map_or(0, |(bk, _)| bk.dims()[2]);
        if self.end + n > room {
            // Compact to the front and grow: amortised, like a Vec.
            let keep = self.view();
            let cap = (self.len() + n).max(self.capacity).max(2 * self.len());
            let device = k.device();
            let (mut nk, mut nv) = (Tensor::zeros([b, h, cap, d], &device), Tensor::zeros([b, h, cap, d], &device));
            let len = self.len();
            if let Some((ok, ov)) = keep {
                nk = nk.slice_assign([0..b, 0..h, 0..len, 0..d], ok);
                nv = nv.slice_assign([0..b, 0..h, 0..len, 0..d], ov);
            }
            self.buf = Some((nk, nv));
            self.start = 0;
            self.end = len;
        }
        let (bk, bv) = self.buf.take().expect("allocated above");
        let r = [0..b, 0..h, self.end..self.end + n, 0..d];
        self.buf = Some((bk.slice_assign(r.clone(), k), bv.slice_assign(r, v)));
        self.end += n;
        self.view().expect("just written")
    }

    /// Drops the oldest `n` positions (the absolute-position sliding mode).
    pub fn drop_oldest(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }

    /// Repeats a batch-1 cache `times` times along the batch (one prefill for every sample path).
    pub fn repeat_batch(&mut self, times: usize) {
        if let Some((k, v)) = self.view() {
            let len = self.len();
            self.clear();
            self.capacity = self.capacity.max(len);
            self.append(k.repeat_dim(0, times), v.repeat_dim(0, times));
        }
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
    pub n_heads: usize,
}

impl Attention {
    pub fn new(d_model: usize, n_heads: usize, device: &Device) -> Self {
        Self {
            q_proj: linear(d_model, d_model, true, device),
            k_proj: linear(d_model, d_model, true, device),
            v_proj: linear(d_model, d_model, true, device),
            out_proj: linear(d_model, d_model, true, device),
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
        let [b, lq, d] = query.dims();
        // 1. project and split into heads
        let q = self.split_heads(self.q_proj.forward(query));
        let (k_new, v_new) = self.keys_values(kv_input, mode);
        // 2. rotate the queries (keys were rotated above)
        let q = match mode {
            AttnMode::Causal(rope) => rope.apply(q),
            AttnMode::Open => q,
        };
        // 3. append to the cache
        let (k, v) = match cache {
            Some(cache) => cache.append(k_new, v_new),
            None => (k_new, v_new),
        };
        self.attend(q, k, v, mode, b, lq, d)
    }

    /// Attention of a query over keys and values that are already projected (the cached
    /// dependency-layer path).
    pub fn forward_cached(&self, query: Tensor<3>, k: Tensor<4>, v: Tensor<4>) -> Tensor<3> {
        let [b, lq, d] = query.dims();
        let q = self.split_heads(self.q_proj.forward(query));
        self.attend(q, k, v, AttnMode::Open, b, lq, d)
    }

    #[allow(clippy::too_many_arguments)]
    fn attend(
        &self,
        q: Tensor<4>,
        k: Tensor<4>,
        v: Tensor<4>,
        mode: AttnMode,
        b: usize,
        lq: usize,
        d: usize,
    ) -> Tensor<3> {
        let h = self.head_dim();
        let lk = k.dims()[2];
        // 4. scaled scores, causal mask where asked
        let mut scores = q
            .matmul(k.swap_dims(2, 3))
            .mul_scalar(1.0 / (h as f64).sqrt());
        if let AttnMode::Causal(_) = mode {
            // Keys are the cached positions then the new ones; the queries are the last lq.
            let first_query = lk - lq;
            if lq > 1 {
                let mut mask = vec![0f32; lq * lk];
                for i in 0..lq {
                    for j in first_query + i + 1..lk {
                        mask[i * lk + j] = f32::NEG_INFINITY;
                    }
                }
                let mask: Tensor<2> =
                    Tensor::from_data(TensorData::new(mask, [lq, lk]), &scores.device());
                scores = scores + mask.unsqueeze::<4>();
            }
        }
        // 5. attend, merge heads, project out
        let out = softmax(scores, 3).matmul(v);
        let out = out.swap_dims(1, 2).reshape([b, lq, d]);
        self.out_proj.forward(out)
    }
}

/// `w2(silu(w1 x) * w3 x)`, bias-free.
#[derive(Module, Debug)]
pub struct FeedForward {
    pub w1: Linear,
    pub w2: Linear,
    pub w3: Linear,
}

impl FeedForward {
    pub fn new(d_model: usize, ff_dim: usize, device: &Device) -> Self {
        Self {
            w1: linear(d_model, ff_dim, false, device),
            w2: linear(ff_dim, d_model, false, device),
            w3: linear(d_model, ff_dim, false, device),
        }
    }

    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.w2
            .forward(silu(self.w1.forward(x.clone())) * self.w3.forward(x))
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
    pub fn new(d_model: usize, n_heads: usize, ff_dim: usize, device: &Device) -> Self {
        Self {
            norm1: rms_norm(d_model, device),
            self_attn: Attention::new(d_model, n_heads, device),
            norm2: rms_norm(d_model, device),
            ffn: FeedForward::new(d_model, ff_dim, device),
        }
    }

    /// # Shapes
    /// `[B, L, D]` → `[B, L, D]`; with a cache, `L` is the new positions, at the table's positions.
    pub fn forward(&self, x: Tensor<3>, rope: &Rope, cache: Option<&mut KvCache>) -> Tensor<3> {
        let n = self.norm1.forward(x.clone());
        let x = x + self.self_attn.forward(n.clone(), n, AttnMode::Causal(rope), cache);
        let n = self.norm2.forward(x.clone());
        x + self.ffn.forward(n)
    }
}

//! The passes over long histories, fused for the CPU.
//!
//! A prediction set spends nearly all its time on three causal passes over every history (the
//! tokenizer's encoder, the predictor's prefill and the decoder rows the forecast attends to).
//! Run as burn ops, each block streams a dozen batch-sized tensors through memory and takes a
//! scalar `exp` per attention weight. Here one history at a time runs through plain f32
//! buffers that stay in the cache: matrix products by `gemm`, biases and residuals folded into
//! them, RoPE, the causal softmax (only the visible keys) and SwiGLU as vectorised loops.
//!
//! The arithmetic is the blocks' own (`layers.rs`) up to rounding: a test holds each pass to the
//! burn path within 1e-4. Each history is computed alone, so its numbers never depend on what
//! else is in the batch.

use burn::module::Param;
use burn::nn::{Linear, RmsNorm};
use burn::tensor::Tensor;
use gemm::Parallelism;

use super::KronosPredictor;
use super::layers::{Block, rope_tables};
use super::tokenizer::{KronosTokenizer, TokenIds, ids_from_unit};

mod generate;
mod pool;

pub use generate::{Decoding, Generation};

/// Query rows per block of the causal attention: each block reads only the keys it may see.
const CHUNK: usize = 32;

/// Histories whose rows go through each matrix product together: the weights are packed
/// once for all of them, and the buffers of a group of 256-bar histories still fit in L2.
const GROUP: usize = 4;

fn values<const D: usize>(p: &Param<Tensor<D>>) -> Vec<f32> {
    p.val()
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 weights")
}

/// A linear layer as `[d_in, d_out]` row-major weights and a bias.
#[derive(Debug, Clone)]
struct Dense {
    w: Vec<f32>,
    b: Option<Vec<f32>>,
    d_in: usize,
    d_out: usize,
}

impl Dense {
    fn of(l: &Linear) -> Self {
        let [d_in, d_out] = l.weight.dims();
        Self {
            w: values(&l.weight),
            b: l.bias.as_ref().map(values),
            d_in,
            d_out,
        }
    }

    /// Several layers reading one input as one wider layer (their outputs side by side).
    fn side_by_side(parts: &[Dense]) -> Self {
        let d_in = parts[0].d_in;
        let d_out = parts.iter().map(|p| p.d_out).sum();
        let mut w = Vec::with_capacity(d_in * d_out);
        for r in 0..d_in {
            for p in parts {
                w.extend_from_slice(&p.w[r * p.d_out..(r + 1) * p.d_out]);
            }
        }
        let b = parts.iter().all(|p| p.b.is_some()).then(|| {
            parts
                .iter()
                .flat_map(|p| p.b.clone().expect("checked"))
                .collect()
        });
        Self { w, b, d_in, d_out }
    }

    /// `out[rows, d_out] (+)= x[rows, d_in] · W (+ b)`; `accumulate` adds to what `out` holds.
    fn apply(&self, x: &[f32], rows: usize, out: &mut [f32], accumulate: bool) {
        self.apply_strided((x, self.d_in), rows, out, accumulate);
    }

    /// [`Dense::apply`] of `x` rows `x_rs` apart.
    fn apply_strided(
        &self,
        (x, x_rs): (&[f32], usize),
        rows: usize,
        out: &mut [f32],
        accumulate: bool,
    ) {
        debug_assert!(out.len() >= rows * self.d_out);
        let mut read = accumulate;
        if let Some(b) = &self.b {
            for row in out[..rows * self.d_out].chunks_exact_mut(self.d_out) {
                if accumulate {
                    row.iter_mut().zip(b).for_each(|(o, b)| *o += b);
                } else {
                    row.copy_from_slice(b);
                }
            }
            read = true;
        }
        matmul(
            (rows, self.d_out, self.d_in),
            (out, self.d_out, read),
            (x, x_rs, 1),
            (&self.w, self.d_out, 1),
        );
    }
}

#[derive(Debug, Clone)]
struct Norm {
    gamma: Vec<f32>,
    eps: f32,
}

impl Norm {
    fn of(n: &RmsNorm) -> Self {
        Self {
            gamma: values(&n.gamma),
            eps: n.epsilon as f32,
        }
    }

    /// `x / sqrt(mean(x²) + eps) · γ`, row by row, into `out`.
    #[inline(always)]
    fn apply(&self, x: &[f32], out: &mut [f32]) {
        let d = self.gamma.len();
        for (xr, or) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
            let ss = fold16(xr, 0.0, |v| v * v, |a, b| a + b) / d as f32;
            let rms = (ss + self.eps).sqrt();
            for ((o, &v), &g) in or.iter_mut().zip(xr).zip(&self.gamma) {
                *o = v / rms * g;
            }
        }
    }
}

/// `exp` without a library call, so a loop of it vectorises: Cody–Waite reduction to
/// `2^k · e^r` with |r| ≤ ln2/2 and Cephes' degree-6 polynomial (about 1 ulp).
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const ROUND: f32 = 12_582_912.0; // 1.5 · 2^23: adding it rounds to an integer
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * LOG2E + ROUND;
    let k = shifted - ROUND;
    let r = x - k * LN2_HI - k * LN2_LO;
    let p = 1.987_569_1e-4_f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    // 2^k from the integer that `shifted`'s low mantissa bits hold: integer ops vectorise,
    // where `k as i32` (saturating) becomes a scalar conversion per lane.
    let k_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    e * f32::from_bits(k_bits.wrapping_add(127) << 23)
}

/// `dst[m, n] (+)= lhs[m, k] · rhs[k, n]` on row-major views given as (slice, row stride,
/// column stride); `dst` rows are contiguous. Every index the product touches is checked
/// against its slice first, which is what makes the call below sound.
fn matmul(
    (m, n, k): (usize, usize, usize),
    (dst, dst_rs, accumulate): (&mut [f32], usize, bool),
    (lhs, lhs_rs, lhs_cs): (&[f32], usize, usize),
    (rhs, rhs_rs, rhs_cs): (&[f32], usize, usize),
) {
    if m == 0 || n == 0 {
        return;
    }
    let last = |rows: usize, rs: usize, cols: usize, cs: usize| (rows - 1) * rs + (cols - 1) * cs;
    assert!(last(m, dst_rs, n, 1) < dst.len(), "gemm: dst out of bounds");
    if k > 0 {
        assert!(
            last(m, lhs_rs, k, lhs_cs) < lhs.len(),
            "gemm: lhs out of bounds"
        );
        assert!(
            last(k, rhs_rs, n, rhs_cs) < rhs.len(),
            "gemm: rhs out of bounds"
        );
    }
    let s = |x: usize| x as isize;
    // SAFETY: every element read or written lies inside its slice (asserted above), and
    // `dst` is borrowed mutably, so it aliases neither operand.
    #[allow(unsafe_code)]
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            s(dst_rs),
            accumulate,
            lhs.as_ptr(),
            s(lhs_cs),
            s(lhs_rs),
            rhs.as_ptr(),
            s(rhs_cs),
            s(rhs_rs),
            1.0,
            1.0,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

/// One pre-norm block's weights, laid out for the fused pass.
#[derive(Debug, Clone)]
struct FusedBlock {
    norm1: Norm,
    /// q, k and v projections side by side, `[D, 3D]`.
    qkv: Dense,
    out: Dense,
    norm2: Norm,
    /// w1 and w3 side by side, `[D, 2F]`.
    w13: Dense,
    w2: Dense,
}

/// Keys (rotated) and values of one block for a batch of histories, filled one history after
/// another: keys `[c, H, h, T]` (feature-major, so a product reads them as they lie, where
/// gemm would gather them element by element every time) and values `[c, H, T, h]`.
pub type BlockKeys = (Vec<f32>, Vec<f32>);

/// A stack of causal blocks (`layers::Block`) as the fused pass runs them.
#[derive(Debug, Clone)]
pub struct FusedStack {
    blocks: Vec<FusedBlock>,
    d: usize,
    heads: usize,
}

/// Buffers one batch of histories reuses from block to block and history to history, so
/// the pass asks the allocator for nothing per block.
#[derive(Default)]
pub struct Scratch {
    normed: Vec<f32>,
    qkv: Vec<f32>,
    attn: Vec<f32>,
    scores: Vec<f32>,
    /// One history's keys, `[H, h, t]`.
    keys_t: Vec<f32>,
    ffn: Vec<f32>,
    /// RoPE tables for `rope_len` positions.
    cos: Vec<f32>,
    sin: Vec<f32>,
    rope_len: usize,
}

fn grow(v: &mut Vec<f32>, n: usize) -> &mut [f32] {
    if v.capacity() < n {
        let old = std::mem::replace(v, pool::take(n));
        pool::give(old);
    }
    if v.len() < n {
        v.resize(n, 0.0);
    }
    &mut v[..n]
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for v in [
            &mut self.normed,
            &mut self.qkv,
            &mut self.attn,
            &mut self.scores,
            &mut self.keys_t,
            &mut self.ffn,
        ] {
            pool::give(std::mem::take(v));
        }
    }
}

/// `f` folded over `map` of `xs` in 16 independent lanes, so the loop vectorises (a single
/// running float accumulator would not, its order being fixed).
#[inline(always)]
fn fold16(xs: &[f32], init: f32, map: impl Fn(f32) -> f32, f: impl Fn(f32, f32) -> f32) -> f32 {
    let mut acc = [init; 16];
    let chunks = xs.chunks_exact(16);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = f(*a, map(x));
        }
    }
    let mut r = acc.into_iter().fold(init, &f);
    for &x in rest {
        r = f(r, map(x));
    }
    r
}

impl FusedStack {
    pub fn new(blocks: &[Block]) -> Self {
        let d = blocks.first().map_or(0, |b| b.norm1.gamma.dims()[0]);
        let heads = blocks.first().map_or(1, |b| b.self_attn.n_heads);
        Self {
            blocks: blocks
                .iter()
                .map(|b| {
                    let a = &b.self_attn;
                    FusedBlock {
                        norm1: Norm::of(&b.norm1),
                        qkv: Dense::side_by_side(&[
                            Dense::of(&a.q_proj),
                            Dense::of(&a.k_proj),
                            Dense::of(&a.v_proj),
                        ]),
                        out: Dense::of(&a.out_proj),
                        norm2: Norm::of(&b.norm2),
                        w13: Dense::side_by_side(&[Dense::of(&b.ffn.w1), Dense::of(&b.ffn.w3)]),
                        w2: Dense::of(&b.ffn.w2),
                    }
                })
                .collect(),
            d,
            heads,
        }
    }

    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// Empty key sinks for `c` histories of `t` positions, one per block.
    fn sinks(&self, c: usize, t: usize) -> Vec<BlockKeys> {
        let n = c * t * self.d;
        (0..self.blocks.len())
            .map(|_| (pool::take(n), pool::take(n)))
            .collect()
    }

    /// Runs `x: [g·t, D]` (`g` histories of `t` positions each, `0..t`) through every block
    /// in place; the products take all `g` histories at once (their weights are packed once),
    /// the attention each history alone. With `keys` (one sink per block), each block's
    /// rotated keys and values of every history are appended there (see [`BlockKeys`]);
    /// with `keys_only_last` the last block stops once its keys are out (nothing reads its
    /// output then) and `x` is left as that block's input.
    pub fn run(
        &self,
        x: &mut [f32],
        t: usize,
        keys: Option<&mut [BlockKeys]>,
        keys_only_last: bool,
        s: &mut Scratch,
    ) {
        // The closure must be inlined into pulp's `#[target_feature]` function: compiled on
        // its own it gets the baseline target, and every loop below runs 4 lanes wide.
        pulp::Arch::new().dispatch(
            #[inline(always)]
            || self.run_simd(x, t, keys, keys_only_last, s),
        );
    }

    #[inline(always)]
    fn run_simd(
        &self,
        x: &mut [f32],
        t: usize,
        mut keys: Option<&mut [BlockKeys]>,
        keys_only_last: bool,
        s: &mut Scratch,
    ) {
        let (d, heads) = (self.d, self.heads);
        let rows = x.len() / d;
        let hd = d / heads;
        if s.rope_len != t || s.cos.len() != t * hd {
            (s.cos, s.sin) = rope_tables(hd, 0, t);
            s.rope_len = t;
        }
        for (i, b) in self.blocks.iter().enumerate() {
            let normed = grow(&mut s.normed, rows * d);
            b.norm1.apply(x, normed);
            let qkv = grow(&mut s.qkv, rows * 3 * d);
            b.qkv.apply(normed, rows, qkv, false);
            for (r, row) in qkv.chunks_exact_mut(3 * d).enumerate() {
                let p = r % t;
                rotate(
                    row,
                    &s.cos[p * hd..(p + 1) * hd],
                    &s.sin[p * hd..(p + 1) * hd],
                    heads,
                );
            }
            let keys_only = keys_only_last && i + 1 == self.blocks.len();
            let attn = grow(&mut s.attn, rows * d);
            let scores = grow(&mut s.scores, CHUNK * t);
            for (hist, o) in qkv
                .chunks_exact(t * 3 * d)
                .zip(attn.chunks_exact_mut(t * d))
            {
                let keys_t = grow(&mut s.keys_t, t * d);
                for (h, kt) in keys_t.chunks_exact_mut(t * hd).enumerate() {
                    transpose(&hist[d + h * hd..], 3 * d, (t, hd), kt);
                }
                if let Some(keys) = keys.as_deref_mut() {
                    let (k, v) = &mut keys[i];
                    k.extend_from_slice(keys_t);
                    for h in 0..heads {
                        for row in hist.chunks_exact(3 * d) {
                            v.extend_from_slice(&row[2 * d + h * hd..2 * d + (h + 1) * hd]);
                        }
                    }
                }
                if !keys_only {
                    causal_attention(hist, keys_t, o, scores, t, d, heads);
                }
            }
            if keys_only {
                return;
            }
            b.out.apply(attn, rows, x, true);
            b.feed_forward(x, s);
        }
    }
}

/// `dst[j, i] = src[i·rs + j]` for `i < rows`, `j < cols`: a transpose into `dst: [cols,
/// rows]`, a few source rows at a time so that both sides stay in the cache.
#[inline(always)]
fn transpose(src: &[f32], rs: usize, (rows, cols): (usize, usize), dst: &mut [f32]) {
    const TILE: usize = 16;
    let dst = &mut dst[..rows * cols];
    for r0 in (0..rows).step_by(TILE) {
        let r1 = (r0 + TILE).min(rows);
        let mut tile: [&[f32]; TILE] = [&[]; TILE];
        for (row, r) in tile.iter_mut().zip(r0..r1) {
            *row = &src[r * rs..r * rs + cols];
        }
        for (j, out) in dst.chunks_exact_mut(rows).enumerate() {
            for (o, row) in out[r0..r1].iter_mut().zip(&tile) {
                *o = row[j];
            }
        }
    }
}

/// RoPE (half-split) on the q and k heads of one `[q | k | v]` row at the position of `cos`
/// and `sin`; q also takes the 1/√h scale, as `attend` does (k's factor 1 changes nothing).
#[inline(always)]
fn rotate(row: &mut [f32], cos: &[f32], sin: &[f32], heads: usize) {
    let (hd, d) = (cos.len(), row.len() / 3);
    let half = hd / 2;
    let (c1, c2) = cos.split_at(half);
    let (s1, s2) = sin.split_at(half);
    let scale = 1.0 / (hd as f32).sqrt();
    for (part, k) in [(0, scale), (1, 1.0)] {
        for h in 0..heads {
            let o = part * d + h * hd;
            let (x1, x2) = row[o..o + hd].split_at_mut(half);
            rotate_half(x1, x2, (c1, s1), (c2, s2), k);
        }
    }
}

/// `x1, x2 ← (x1·c1 − x2·s1, x2·c2 + x1·s2) · k`, 16 lanes at a time from copies (so the
/// compiler need not prove that the halves and the tables never overlap); a last short block
/// is padded.
#[inline(always)]
fn rotate_half(
    x1: &mut [f32],
    x2: &mut [f32],
    (c1, s1): (&[f32], &[f32]),
    (c2, s2): (&[f32], &[f32]),
    k: f32,
) {
    const L: usize = 16;
    for at in (0..x1.len()).step_by(L) {
        let w = L.min(x1.len() - at);
        let lanes = |v: &[f32]| {
            let mut a = [0.0; L];
            a[..w].copy_from_slice(&v[at..at + w]);
            a
        };
        let (a, b) = (lanes(x1), lanes(x2));
        let (c1, s1, c2, s2) = (lanes(c1), lanes(s1), lanes(c2), lanes(s2));
        let mut na = [0.0; L];
        let mut nb = [0.0; L];
        for j in 0..L {
            na[j] = (a[j] * c1[j] + (-b[j]) * s1[j]) * k;
            nb[j] = (b[j] * c2[j] + a[j] * s2[j]) * k;
        }
        x1[at..at + w].copy_from_slice(&na[..w]);
        x2[at..at + w].copy_from_slice(&nb[..w]);
    }
}

impl FusedBlock {
    /// `x += w2(silu(w1 n) · w3 n)` with `n = norm2(x)`, for every row of `x: [rows, D]`.
    #[inline(always)]
    fn feed_forward(&self, x: &mut [f32], s: &mut Scratch) {
        let d = self.norm2.gamma.len();
        let rows = x.len() / d;
        let normed = grow(&mut s.normed, rows * d);
        self.norm2.apply(x, normed);
        let ff = self.w2.d_in;
        let ffn = grow(&mut s.ffn, rows * 2 * ff);
        self.w13.apply(normed, rows, ffn, false);
        // silu(w1 n) · w3 n, in place of w1 n, which w2 reads rows 2F apart.
        for row in ffn.chunks_exact_mut(2 * ff) {
            let (g, u) = row.split_at_mut(ff);
            for (g, &u) in g.iter_mut().zip(u.iter()) {
                *g = *g * (1.0 / (1.0 + exp(-*g))) * u;
            }
        }
        self.w2.apply_strided((ffn, 2 * ff), rows, x, true);
    }
}

/// Causal multi-head attention of the (already rotated, q scaled) `qkv: [t, 3D]`, its keys
/// also given as `keys_t: [H, h, t]`, into `out: [t, D]`, one block of query rows at a time
/// over only the keys that block may see.
#[inline(always)]
fn causal_attention(
    qkv: &[f32],
    keys_t: &[f32],
    out: &mut [f32],
    scores: &mut [f32],
    t: usize,
    d: usize,
    heads: usize,
) {
    let hd = d / heads;
    let stride = 3 * d;
    for h in 0..heads {
        for c0 in (0..t).step_by(CHUNK) {
            let c1 = (c0 + CHUNK).min(t);
            let (rows, vis) = (c1 - c0, c1);
            let s = &mut scores[..rows * vis];
            matmul(
                (rows, vis, hd),
                (s, vis, false),
                (&qkv[c0 * 3 * d + h * hd..], stride, 1),
                (&keys_t[h * hd * t..], t, 1),
            );
            for r in 0..rows {
                let seen = c0 + r + 1;
                let row = &mut s[r * vis..(r + 1) * vis];
                let (live, masked) = row.split_at_mut(seen);
                let max = fold16(live, f32::NEG_INFINITY, |v| v, f32::max);
                live.iter_mut().for_each(|v| *v = exp(*v - max));
                let sum = fold16(live, 0.0, |v| v, |a, b| a + b);
                live.iter_mut().for_each(|v| *v /= sum);
                masked.fill(0.0);
            }
            matmul(
                (rows, hd, vis),
                (&mut out[c0 * d + h * hd..], d, false),
                (s, vis, 1),
                (&qkv[2 * d + h * hd..], stride, 1),
            );
        }
    }
}

/// The three history passes of a Kronos pair, fused (build once per loaded model).
#[derive(Debug, Clone)]
pub struct FusedKronos {
    embed: Dense,
    encoder: FusedStack,
    quant: Dense,
    post_quant: Dense,
    decoder: FusedStack,
    code_bits: usize,
    half_bits: usize,
    predictor: FusedStack,
    final_norm: Norm,
    /// The dependency layer's key and value projections side by side.
    dep_kv: Dense,
    dep_heads: usize,
    embedding: generate::Embedding,
    heads: generate::Heads,
    /// The tokenizer's head: a decoded row to a normalised bar.
    head: Dense,
}

impl FusedKronos {
    pub fn new(tokenizer: &KronosTokenizer, predictor: &KronosPredictor) -> Self {
        let dep = &predictor.dep_layer.cross_attn;
        Self {
            embed: Dense::of(&tokenizer.embed),
            encoder: FusedStack::new(&tokenizer.encoder),
            quant: Dense::of(&tokenizer.quant_embed),
            post_quant: Dense::of(&tokenizer.post_quant_embed),
            decoder: FusedStack::new(&tokenizer.decoder),
            code_bits: tokenizer.config.codebook_dim(),
            half_bits: tokenizer.config.s1_bits,
            predictor: FusedStack::new(&predictor.transformer),
            final_norm: Norm::of(&predictor.norm),
            dep_kv: Dense::side_by_side(&[Dense::of(&dep.k_proj), Dense::of(&dep.v_proj)]),
            dep_heads: dep.n_heads,
            embedding: generate::Embedding::of(predictor),
            heads: generate::Heads::of(predictor),
            head: Dense::of(&tokenizer.head),
        }
    }

    /// Token ids of `c` normalised histories `x: [c, t, 6]`, as `KronosTokenizer::encode`
    /// gives them.
    pub fn encode(&self, x: &[f32], c: usize, t: usize) -> TokenIds {
        let d = self.embed.d_out;
        let bits = self.quant.d_out;
        let mut unit = pool::zeros(c * t * bits);
        let mut h = pool::zeros(GROUP * t * d);
        let mut s = Scratch::default();
        for (hists, z) in x
            .chunks(GROUP * t * 6)
            .zip(unit.chunks_mut(GROUP * t * bits))
        {
            let rows = hists.len() / 6;
            let h = &mut h[..rows * d];
            self.embed.apply(hists, rows, h, false);
            self.encoder.run(h, t, None, false, &mut s);
            self.quant.apply(h, rows, z, false);
            for row in z.chunks_exact_mut(bits) {
                let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
                row.iter_mut().for_each(|v| *v /= norm);
            }
        }
        let ids = ids_from_unit(&unit, c, t, self.half_bits).0;
        pool::give(unit);
        pool::give(h);
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::exp;

    #[test]
    fn exp_is_within_two_ulp_of_the_library_over_the_softmax_range() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x <= 88.0 {
            let (ours, lib) = (exp(x) as f64, (x as f64).exp());
            worst = worst.max(((ours - lib) / lib).abs());
            x += 0.013;
        }
        assert!(
            worst < 2.0 * f32::EPSILON as f64,
            "worst relative error {worst:e}"
        );
        // Below the clamp, weights vanish instead of turning into NaN or infinity.
        assert!(exp(-1000.0) < 1e-37 && exp(-1000.0) >= 0.0);
        assert!(exp(1000.0).is_finite());
    }
}

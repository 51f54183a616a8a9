//! The predictor's prefill and generation, fused: the histories' keys stay in plain buffers
//! that every sample path of a history reads (as `KvCache::share` arranges for the burn
//! path), and each generated bar runs the blocks over one row per path, with its own keys
//! appended beside the shared ones.

use super::{
    BlockKeys, Dense, FusedKronos, FusedStack, GROUP, Norm, Scratch, exp, fold16, grow, matmul,
    pool, rotate, transpose,
};
use crate::model::KronosPredictor;
use crate::model::layers::rope_tables;
use crate::model::tokenizer::TokenIds;

/// The predictor's embedding tables and heads, laid out for the fused pass.
#[derive(Debug, Clone)]
pub(super) struct Embedding {
    /// `emb_s1` and `emb_s2`, `[V, D]` each.
    s1: Vec<f32>,
    s2: Vec<f32>,
    fusion: Dense,
    /// Minute, hour, weekday, day and month tables, `[rows, D]` each, in stamp order.
    calendar: Vec<Vec<f32>>,
    scale: f32,
    d: usize,
}

/// The heads and the dependency layer.
#[derive(Debug, Clone)]
pub(super) struct Heads {
    s1: Dense,
    s2: Dense,
    dep_q: Dense,
    dep_out: Dense,
    dep_norm: Norm,
}

impl Embedding {
    pub(super) fn of(p: &KronosPredictor) -> Self {
        let d = p.config.d_model;
        let t = &p.time_emb;
        Self {
            s1: super::values(&p.embedding.emb_s1.weight),
            s2: super::values(&p.embedding.emb_s2.weight),
            fusion: Dense::of(&p.embedding.fusion_proj),
            calendar: [
                &t.minute_embed,
                &t.hour_embed,
                &t.weekday_embed,
                &t.day_embed,
                &t.month_embed,
            ]
            .iter()
            .map(|e| super::values(&e.weight))
            .collect(),
            scale: (d as f64).sqrt() as f32,
            d,
        }
    }

    /// The embedded rows of `(s1, s2, stamp)` into `out: [n, D]`, as `KronosPredictor::embed`.
    fn apply(&self, tokens: impl Iterator<Item = (u32, u32, [u32; 5])>, out: &mut [f32]) {
        let d = self.d;
        let mut cat = Vec::with_capacity(out.len() * 2);
        let mut stamps = Vec::with_capacity(out.len() / d);
        for (a, b, stamp) in tokens {
            let (a, b) = (a as usize, b as usize);
            cat.extend(self.s1[a * d..(a + 1) * d].iter().map(|v| v * self.scale));
            cat.extend(self.s2[b * d..(b + 1) * d].iter().map(|v| v * self.scale));
            stamps.push(stamp);
        }
        let n = stamps.len();
        self.fusion.apply(&cat, n, &mut out[..n * d], false);
        for (row, stamp) in out.chunks_exact_mut(d).zip(&stamps) {
            for (table, &k) in self.calendar.iter().zip(stamp) {
                let k = k as usize;
                row.iter_mut()
                    .zip(&table[k * d..(k + 1) * d])
                    .for_each(|(x, e)| *x += e);
            }
        }
    }
}

impl Heads {
    pub(super) fn of(p: &KronosPredictor) -> Self {
        let dep = &p.dep_layer;
        Self {
            s1: Dense::of(&p.head.proj_s1),
            s2: Dense::of(&p.head.proj_s2),
            dep_q: Dense::of(&dep.cross_attn.q_proj),
            dep_out: Dense::of(&dep.cross_attn.out_proj),
            dep_norm: Norm::of(&dep.norm),
        }
    }
}

/// Keys and values of one attention layer for a batch of rows: the histories' part (laid out
/// as [`BlockKeys`] says) that each history's `paths` rows share, and each row's own `[R, H,
/// cap, h]`.
struct RowKeys {
    shared: BlockKeys,
    own: BlockKeys,
}

/// Shapes of a generation.
#[derive(Debug, Clone, Copy)]
struct Dims {
    /// Histories, rows per history, history length, room for own positions.
    c: usize,
    paths: usize,
    t: usize,
    cap: usize,
}

/// A generation in progress: after the prefill, one bar per [`Generation::step`].
pub struct Generation<'a> {
    model: &'a FusedKronos,
    dims: Dims,
    blocks: Vec<RowKeys>,
    dep: RowKeys,
    /// Own positions filled so far.
    own_len: usize,
    /// The last hidden row of every path, `[R, D]`.
    h_last: Vec<f32>,
    /// Buffers every step reuses (fresh memory per step costs page faults).
    scratch: Scratch,
}

impl FusedKronos {
    /// The predictor's prefill of the histories of `ids` (their calendar rows in `stamps`,
    /// one list per history, at least `ids.len` long) for `paths` sample paths each and up to
    /// `horizon` bars: `KronosPredictor::hidden` with a cache, then `PredictorCache::share`.
    pub fn prefill(
        &self,
        ids: &TokenIds,
        stamps: &[Vec<[u32; 5]>],
        paths: usize,
        horizon: usize,
    ) -> Generation<'_> {
        let (c, t) = (ids.batch, ids.len);
        let d = self.final_norm.gamma.len();
        let dims = Dims {
            c,
            paths,
            t,
            cap: horizon,
        };
        let hd_dep = d / self.dep_heads;
        let mut sinks = self.predictor.sinks(c, t);
        let (mut dep_k, mut dep_v) = (pool::take(c * t * d), pool::take(c * t * d));
        let mut last = pool::take(c * paths * d);
        let mut x = pool::zeros(GROUP * t * d);
        let mut h = pool::zeros(GROUP * t * d);
        let mut kv = pool::zeros(GROUP * t * 2 * d);
        let mut s = Scratch::default();
        for first in (0..c).step_by(GROUP) {
            let group = first..(first + GROUP).min(c);
            let rows = group.len() * t;
            let (x, h, kv) = (
                &mut x[..rows * d],
                &mut h[..rows * d],
                &mut kv[..rows * 2 * d],
            );
            self.embedding.apply(
                group.clone().flat_map(|b| {
                    let (s1, s2) = ids.row(b);
                    (0..t).map(move |i| (s1[i], s2[i], stamps[b][i]))
                }),
                x,
            );
            self.predictor.run(x, t, Some(&mut sinks), false, &mut s);
            self.final_norm.apply(x, h);
            self.dep_kv.apply(h, rows, kv, false);
            for hist in kv.chunks_exact(t * 2 * d) {
                for head in 0..self.dep_heads {
                    let at = dep_k.len();
                    dep_k.resize(at + t * hd_dep, 0.0);
                    transpose(&hist[head * hd_dep..], 2 * d, (t, hd_dep), &mut dep_k[at..]);
                    for row in hist.chunks_exact(2 * d) {
                        dep_v.extend_from_slice(&row[d + head * hd_dep..d + (head + 1) * hd_dep]);
                    }
                }
            }
            for hist in h.chunks_exact(t * d) {
                for _ in 0..paths {
                    last.extend_from_slice(&hist[(t - 1) * d..]);
                }
            }
        }
        // Every attention layer here spans D: its heads split it.
        for v in [x, h, kv] {
            pool::give(v);
        }
        let own = || {
            let n = c * paths * d * horizon;
            (pool::zeros(n), pool::zeros(n))
        };
        Generation {
            model: self,
            dims,
            blocks: sinks
                .into_iter()
                .map(|shared| RowKeys { shared, own: own() })
                .collect(),
            dep: RowKeys {
                shared: (dep_k, dep_v),
                own: own(),
            },
            own_len: 0,
            h_last: last,
            scratch: Scratch::default(),
        }
    }
}

impl Generation<'_> {
    /// The last hidden row of every path, `[R, D]`.
    pub fn h_last(&self) -> &[f32] {
        &self.h_last
    }

    /// Block `l`'s keys `[c, H, h, t]` and values `[c, H, t, h]` over the histories.
    pub fn shared_keys(&self, l: usize) -> (&[f32], &[f32]) {
        let kv = &self.blocks[l].shared;
        (&kv.0, &kv.1)
    }

    fn rows(&self) -> usize {
        self.dims.c * self.dims.paths
    }

    /// s1 logits of every path's next bar, `[R, V1]`.
    pub fn s1_logits(&self) -> Vec<f32> {
        let heads = &self.model.heads;
        let mut out = vec![0.0; self.rows() * heads.s1.d_out];
        heads.s1.apply(&self.h_last, self.rows(), &mut out, false);
        out
    }

    /// s2 logits given each path's chosen s1, `[R, V2]`: the dependency layer's query is the
    /// raw `emb_s1` row, attending to every hidden row so far (no mask, no rotation).
    pub fn s2_logits(&self, s1: &[u32]) -> Vec<f32> {
        let m = self.model;
        let (rows, d) = (self.rows(), self.model.embedding.d);
        let mut query = Vec::with_capacity(rows * d);
        for &a in s1 {
            let a = a as usize;
            query.extend_from_slice(&m.embedding.s1[a * d..(a + 1) * d]);
        }
        let mut q = vec![0.0; rows * d];
        m.heads.dep_q.apply(&query, rows, &mut q, false);
        let hd = d / m.dep_heads;
        let scale = 1.0 / (hd as f32).sqrt();
        q.iter_mut().for_each(|v| *v *= scale);
        let mut attn = vec![0.0; rows * d];
        let mut scores = Vec::new();
        pulp::Arch::new().dispatch(
            #[inline(always)]
            || {
                row_attention(
                    (&q, d),
                    &self.dep,
                    self.own_len,
                    self.dims,
                    (m.dep_heads, hd),
                    &mut attn,
                    &mut scores,
                )
            },
        );
        // h_last + out_proj(attention), normed, through the s2 head.
        let mut x = self.h_last.clone();
        m.heads.dep_out.apply(&attn, rows, &mut x, true);
        let mut n = vec![0.0; rows * d];
        m.heads.dep_norm.apply(&x, &mut n);
        let mut out = vec![0.0; rows * m.heads.s2.d_out];
        m.heads.s2.apply(&n, rows, &mut out, false);
        out
    }

    /// Runs every path's new bar `(s1[r], s2[r])` at position `pos` (its calendar row in
    /// `stamps`, one per history) through the predictor; its keys join the path's own.
    pub fn step(&mut self, s1: &[u32], s2: &[u32], stamps: &[[u32; 5]], pos: usize) {
        pulp::Arch::new().dispatch(
            #[inline(always)]
            || self.step_simd(s1, s2, stamps, pos),
        );
    }

    #[inline(always)]
    fn step_simd(&mut self, s1: &[u32], s2: &[u32], stamps: &[[u32; 5]], pos: usize) {
        let m = self.model;
        let (rows, d, paths) = (self.rows(), m.embedding.d, self.dims.paths);
        assert!(
            self.own_len < self.dims.cap,
            "more bars than the generation has room for"
        );
        let mut x = vec![0.0; rows * d];
        m.embedding
            .apply((0..rows).map(|r| (s1[r], s2[r], stamps[r / paths])), &mut x);
        let own_len = self.own_len;
        rows_through(
            &m.predictor,
            &mut self.blocks,
            &mut x,
            (pos, own_len),
            self.dims,
            &mut self.scratch,
        );
        let cap = self.dims.cap;
        // The final norm gives the new hidden rows; their dependency keys join the own ones.
        m.final_norm.apply(&x, &mut self.h_last);
        let mut kv = vec![0.0; rows * 2 * d];
        m.dep_kv.apply(&self.h_last, rows, &mut kv, false);
        let hd_dep = d / m.dep_heads;
        for (r, row) in kv.chunks_exact(2 * d).enumerate() {
            for h in 0..m.dep_heads {
                let at = ((r * m.dep_heads + h) * cap + own_len) * hd_dep;
                self.dep.own.0[at..at + hd_dep].copy_from_slice(&row[h * hd_dep..(h + 1) * hd_dep]);
                self.dep.own.1[at..at + hd_dep]
                    .copy_from_slice(&row[d + h * hd_dep..d + (h + 1) * hd_dep]);
            }
        }
        self.own_len += 1;
    }
}

/// One new position (`pos`, after `own_len` own ones) of every row, `x: [R, D]`, through
/// the blocks of `stack` in place; each block's key and value of it join the row's own.
#[inline(always)]
fn rows_through(
    stack: &FusedStack,
    blocks: &mut [RowKeys],
    x: &mut [f32],
    (pos, own_len): (usize, usize),
    dims: Dims,
    s: &mut Scratch,
) {
    let (d, heads) = (stack.d, stack.heads);
    let (rows, hd) = (x.len() / d, d / heads);
    let (cos, sin) = rope_tables(hd, pos, 1);
    let cap = dims.cap;
    for (b, keys) in stack.blocks.iter().zip(blocks) {
        let normed = grow(&mut s.normed, rows * d);
        b.norm1.apply(x, normed);
        let qkv = grow(&mut s.qkv, rows * 3 * d);
        b.qkv.apply(normed, rows, qkv, false);
        for (r, row) in qkv.chunks_exact_mut(3 * d).enumerate() {
            rotate(row, &cos, &sin, heads);
            // This row's key and value join its own.
            for h in 0..heads {
                let at = ((r * heads + h) * cap + own_len) * hd;
                keys.own.0[at..at + hd].copy_from_slice(&row[d + h * hd..d + (h + 1) * hd]);
                keys.own.1[at..at + hd].copy_from_slice(&row[2 * d + h * hd..2 * d + (h + 1) * hd]);
            }
        }
        let attn = grow(&mut s.attn, rows * d);
        row_attention(
            (qkv, 3 * d),
            keys,
            own_len + 1,
            dims,
            (heads, hd),
            attn,
            &mut s.scores,
        );
        b.out.apply(attn, rows, x, true);
        b.feed_forward(x, s);
    }
}

/// The decoder after the history rows: their keys, which every path of a history reads, and
/// room for each path's own bars.
pub struct Decoding<'a> {
    model: &'a FusedKronos,
    dims: Dims,
    blocks: Vec<RowKeys>,
}

impl FusedKronos {
    /// The decoder over the history rows of every history of `ids` (positions from 0), for
    /// `paths` paths each and `horizon` bars: what `KronosTokenizer::decode_cached` and
    /// `KvCache::share` leave, without the last block's output, which nothing reads.
    pub fn decode_prefix(&self, ids: &TokenIds, paths: usize, horizon: usize) -> Decoding<'_> {
        let (c, t) = (ids.batch, ids.len);
        let mut sinks = self.decoder.sinks(c, t);
        let d = self.post_quant.d_out;
        let mut h = pool::zeros(GROUP * t * d);
        let mut code = Vec::with_capacity(GROUP * t * self.code_bits);
        let mut s = Scratch::default();
        for first in (0..c).step_by(GROUP) {
            let group = first..(first + GROUP).min(c);
            let rows = group.len() * t;
            code.clear();
            for b in group {
                let (s1, s2) = ids.row(b);
                for (&a, &c) in s1.iter().zip(s2) {
                    self.push_code(a, c, &mut code);
                }
            }
            let h = &mut h[..rows * d];
            self.post_quant.apply(&code, rows, h, false);
            self.decoder.run(h, t, Some(&mut sinks), true, &mut s);
        }
        pool::give(h);
        let n = c * paths * d * horizon;
        Decoding {
            model: self,
            dims: Dims {
                c,
                paths,
                t,
                cap: horizon,
            },
            blocks: sinks
                .into_iter()
                .map(|shared| RowKeys {
                    shared,
                    own: (pool::zeros(n), pool::zeros(n)),
                })
                .collect(),
        }
    }

    /// The ±1/√bits code of the id pair `(s1, s2)`, appended to `out`.
    pub(super) fn push_code(&self, s1: u32, s2: u32, out: &mut Vec<f32>) {
        let scale = 1.0 / (self.code_bits as f32).sqrt();
        for id in [s1, s2] {
            out.extend(
                (0..self.half_bits).map(|k| if (id >> k) & 1 == 1 { scale } else { -scale }),
            );
        }
    }
}

impl Decoding<'_> {
    /// Block `l`'s keys `[c, H, h, t]` and values `[c, H, t, h]` over the histories.
    pub fn shared_keys(&self, l: usize) -> (&[f32], &[f32]) {
        let kv = &self.blocks[l].shared;
        (&kv.0, &kv.1)
    }

    /// Every path's own bars (`new`: one row of `horizon` ids per path, positions after the
    /// history) through the decoder and its head: normalised bars, `[R, horizon, 6]`.
    pub fn decode(mut self, new: &TokenIds) -> Vec<f32> {
        pulp::Arch::new().dispatch(
            #[inline(always)]
            || self.decode_simd(new),
        )
    }

    #[inline(always)]
    fn decode_simd(&mut self, new: &TokenIds) -> Vec<f32> {
        let m = self.model;
        let (rows, horizon) = (new.batch, new.len);
        let d = m.post_quant.d_out;
        let width = m.head.d_out;
        let mut out = vec![0.0; rows * horizon * width];
        let (mut code, mut x) = (Vec::with_capacity(rows * m.code_bits), vec![0.0; rows * d]);
        let mut bars = vec![0.0; rows * width];
        let mut s = Scratch::default();
        for k in 0..horizon {
            code.clear();
            for r in 0..rows {
                let i = r * horizon + k;
                m.push_code(new.s1[i], new.s2[i], &mut code);
            }
            m.post_quant.apply(&code, rows, &mut x, false);
            rows_through(
                &m.decoder,
                &mut self.blocks,
                &mut x,
                (self.dims.t + k, k),
                self.dims,
                &mut s,
            );
            m.head.apply(&x, rows, &mut bars, false);
            for (r, bar) in bars.chunks_exact(width).enumerate() {
                let at = (r * horizon + k) * width;
                out[at..at + width].copy_from_slice(bar);
            }
        }
        out
    }
}

impl Drop for RowKeys {
    fn drop(&mut self) {
        for v in [
            &mut self.shared.0,
            &mut self.shared.1,
            &mut self.own.0,
            &mut self.own.1,
        ] {
            pool::give(std::mem::take(v));
        }
    }
}

/// Attention of one query row per path (`q`: rows of stride `qs`, head `h` at `h·hd`,
/// already scaled) over its history's shared keys and its own first `own_len`, into `out:
/// [R, D]`. A history's paths meet its shared keys as one matrix product, as `attend` does.
#[inline(always)]
fn row_attention(
    (q, qs): (&[f32], usize),
    keys: &RowKeys,
    own_len: usize,
    dims: Dims,
    (heads, hd): (usize, usize),
    out: &mut [f32],
    scores: &mut Vec<f32>,
) {
    let Dims { c, paths, t, cap } = dims;
    let d = heads * hd;
    let width = t + own_len;
    let scores = grow(scores, paths * width);
    for g in 0..c {
        for h in 0..heads {
            let base = (g * heads + h) * t * hd;
            let (ks, vs) = (&keys.shared.0[base..], &keys.shared.1[base..]);
            let first = g * paths;
            matmul(
                (paths, t, hd),
                (scores, width, false),
                (&q[first * qs + h * hd..], qs, 1),
                (ks, t, 1),
            );
            for p in 0..paths {
                let r = first + p;
                let qr = &q[r * qs + h * hd..r * qs + (h + 1) * hd];
                let own = ((r * heads + h) * cap) * hd;
                let row = &mut scores[p * width..(p + 1) * width];
                for j in 0..own_len {
                    let k = &keys.own.0[own + j * hd..own + (j + 1) * hd];
                    row[t + j] = qr.iter().zip(k).map(|(a, b)| a * b).sum::<f32>();
                }
                let max = fold16(row, f32::NEG_INFINITY, |v| v, f32::max);
                row.iter_mut().for_each(|v| *v = exp(*v - max));
                let sum = fold16(row, 0.0, |v| v, |a, b| a + b);
                row.iter_mut().for_each(|v| *v /= sum);
            }
            matmul(
                (paths, hd, t),
                (&mut out[first * d + h * hd..], d, false),
                (scores, width, 1),
                (vs, hd, 1),
            );
            for p in 0..paths {
                let r = first + p;
                let own = ((r * heads + h) * cap) * hd;
                let o = &mut out[r * d + h * hd..r * d + (h + 1) * hd];
                for j in 0..own_len {
                    let w = scores[p * width + t + j];
                    let v = &keys.own.1[own + j * hd..own + (j + 1) * hd];
                    o.iter_mut().zip(v).for_each(|(o, v)| *o += w * v);
                }
            }
        }
    }
}

//! `KronosTokenizer`: a causal Transformer auto-encoder whose bottleneck is a binary spherical
//! quantizer (BSQ). Each normalised bar becomes a 20-bit code split into two ids, s1 (coarse,
//! the first half) and s2 (fine); decoding maps ids back to normalised bars.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor, TensorData};

use super::config::TokenizerConfig;
use super::layers::{Block, Dropouts, KvCache, Rope, linear};

/// The tokenizer; field names are the reference's state-dict prefixes.
#[derive(Module, Debug)]
pub struct KronosTokenizer {
    pub embed: Linear,
    pub encoder: Vec<Block>,
    pub quant_embed: Linear,
    pub post_quant_embed_pre: Linear,
    pub post_quant_embed: Linear,
    pub decoder: Vec<Block>,
    pub head: Linear,
    #[module(skip)]
    pub config: TokenizerConfig,
}

/// Token ids of `batch` rows of `len` bars each, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenIds {
    pub batch: usize,
    pub len: usize,
    pub s1: Vec<u32>,
    pub s2: Vec<u32>,
}

impl TokenIds {
    pub fn row(&self, b: usize) -> (&[u32], &[u32]) {
        let r = b * self.len..(b + 1) * self.len;
        (&self.s1[r.clone()], &self.s2[r])
    }
}

/// What the encoder produced for a batch, including the intermediates parity tests look at.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub ids: TokenIds,
    /// `quant_embed` output before normalisation, `[B, T, bits]`.
    pub z: Tensor<3>,
    /// `z` on the unit sphere.
    pub unit: Tensor<3>,
    /// The smallest `|unit|` component per bar: how close each id is to a bit flip.
    pub min_abs_unit: Vec<f32>,
}

/// The BSQ loss terms as the reference computes them (docs/kronos.md §4.6).
#[derive(Debug, Clone)]
pub struct BsqLoss {
    pub commit: Tensor<1>,
    pub per_sample_entropy: Tensor<1>,
    pub codebook_entropy: Tensor<1>,
    /// `commit + zeta (gamma0 H_ps - gamma H_cb)`.
    pub total: Tensor<1>,
}

/// The training forward: both reconstructions, the loss terms and the (straight-through) code.
#[derive(Debug, Clone)]
pub struct TokenizerTrainOutput {
    /// Reconstruction from the s1 half only.
    pub z_pre: Tensor<3>,
    /// Reconstruction from all bits.
    pub z: Tensor<3>,
    pub bsq: BsqLoss,
    pub quantized: Tensor<3>,
    pub recon_mse_pre: Tensor<1>,
    pub recon_mse: Tensor<1>,
    /// `(mse_pre + mse + bsq) / 2`, the tokenizer's training objective.
    pub loss: Tensor<1>,
}

impl KronosTokenizer {
    /// A randomly initialised tokenizer (framework-default init; only training uses it).
    pub fn new(config: &TokenizerConfig, device: &Device) -> Self {
        let d = config.d_model;
        let c = config.codebook_dim();
        let dropouts = Dropouts {
            attn: config.attn_dropout_p,
            resid: config.resid_dropout_p,
            ffn: config.ffn_dropout_p,
        };
        let blocks = |n: usize| -> Vec<Block> {
            (0..n.saturating_sub(1))
                .map(|_| Block::new(d, config.n_heads, config.ff_dim, dropouts, device))
                .collect()
        };
        Self {
            embed: linear(config.d_in, d, true, device),
            encoder: blocks(config.n_enc_layers),
            quant_embed: linear(d, c, true, device),
            post_quant_embed_pre: linear(config.s1_bits, d, true, device),
            post_quant_embed: linear(c, d, true, device),
            decoder: blocks(config.n_dec_layers),
            head: linear(d, config.d_in, true, device),
            config: config.clone(),
        }
    }

    fn code_dim(&self) -> usize {
        self.config.codebook_dim()
    }

    /// `quant_embed(encoder(embed(x)))` and its unit-sphere projection.
    ///
    /// # Shapes
    /// x `[B, T, 6]` → (z, unit) `[B, T, bits]`
    pub fn encode_latent(&self, x: Tensor<3>) -> (Tensor<3>, Tensor<3>) {
        let mut h = self.embed.forward(x);
        let rope = self.rope(&h);
        for block in &self.encoder {
            h = block.forward(h, &rope, None);
        }
        let z = self.quant_embed.forward(h);
        let norm = z.clone().square().sum_dim(2).sqrt().clamp_min(1e-12);
        let unit = z.clone() / norm;
        (z, unit)
    }

    /// Encodes normalised bars into (s1, s2) ids, LSB-first within each half; an exact zero
    /// component is bit 0 (the reference's sign rule is strictly `> 0`).
    pub fn encode(&self, x: Tensor<3>) -> Encoded {
        let [batch, len, _] = x.dims();
        let (z, unit) = self.encode_latent(x);
        let u: Vec<f32> = unit.to_data().try_to_vec().expect("f32 unit vectors");
        let (ids, min_abs_unit) = ids_from_unit(&u, batch, len, self.config.s1_bits);
        Encoded {
            ids,
            z,
            unit,
            min_abs_unit,
        }
    }

    /// The ±1/√bits code of ids, `[B, W, bits]`.
    pub fn ids_to_code(&self, ids: &TokenIds, device: &Device) -> Tensor<3> {
        let bits = self.code_dim();
        let half = self.config.s1_bits;
        let scale = 1.0 / (bits as f32).sqrt();
        let mut code = Vec::with_capacity(ids.batch * ids.len * bits);
        for (&a, &b) in ids.s1.iter().zip(&ids.s2) {
            for id in [a, b] {
                for k in 0..half {
                    code.push(if (id >> k) & 1 == 1 { scale } else { -scale });
                }
            }
        }
        Tensor::from_data(TensorData::new(code, [ids.batch, ids.len, bits]), device)
    }

    fn rope(&self, h: &Tensor<3>) -> Rope {
        let head_dim = self.config.d_model / self.config.n_heads;
        Rope::new(head_dim, 0, h.dims()[1], &h.device())
    }

    fn run_decoder(&self, mut h: Tensor<3>) -> Tensor<3> {
        let rope = self.rope(&h);
        for block in &self.decoder {
            h = block.forward(h, &rope, None);
        }
        self.head.forward(h)
    }

    /// Decodes the new positions of `ids` through the decoder with a cache per block (the
    /// decoder is causal, so rows shared by every sample path are decoded once), starting at
    /// position `offset`.
    pub fn decode_cached(
        &self,
        ids: &TokenIds,
        offset: usize,
        caches: &mut [KvCache],
        device: &Device,
    ) -> Tensor<3> {
        let code = self.ids_to_code(ids, device);
        let mut h = self.post_quant_embed.forward(code);
        let head_dim = self.config.d_model / self.config.n_heads;
        let rope = Rope::new(head_dim, offset, ids.len, device);
        for (block, cache) in self.decoder.iter().zip(caches.iter_mut()) {
            h = block.forward(h, &rope, Some(cache));
        }
        self.head.forward(h)
    }

    /// Decodes ids back to normalised bars; causal, so row t depends on ids 0..=t of its row.
    ///
    /// # Shapes
    /// ids `B × W` → `[B, W, 6]`
    pub fn decode(&self, ids: &TokenIds, device: &Device) -> Tensor<3> {
        let code = self.ids_to_code(ids, device);
        self.run_decoder(self.post_quant_embed.forward(code))
    }

    /// The training forward of docs/kronos.md §4.5 with the straight-through code and the loss terms.
    pub fn forward_train(&self, x: Tensor<3>) -> TokenizerTrainOutput {
        let cfg = &self.config;
        let bits = self.code_dim();
        let (_, unit) = self.encode_latent(x.clone());
        let scale = 1.0 / (bits as f64).sqrt();
        let hard = unit
            .clone()
            .greater_elem(0.0)
            .float()
            .mul_scalar(2.0)
            .sub_scalar(1.0)
            .mul_scalar(scale);
        let quantized = unit.clone() + (hard.clone() - unit.clone()).detach();
        let bsq = bsq_loss(&unit, hard, cfg);

        let [b, t, _] = quantized.dims();
        let s1_half = quantized.clone().slice([0..b, 0..t, 0..cfg.s1_bits]);
        let z_pre = self.run_decoder(self.post_quant_embed_pre.forward(s1_half));
        let z = self.run_decoder(self.post_quant_embed.forward(quantized.clone()));
        let recon_mse_pre = (z_pre.clone() - x.clone()).square().mean();
        let recon_mse = (z.clone() - x).square().mean();
        let loss = (recon_mse_pre.clone() + recon_mse.clone() + bsq.total.clone()).div_scalar(2.0);
        TokenizerTrainOutput {
            z_pre,
            z,
            bsq,
            quantized,
            recon_mse_pre,
            recon_mse,
            loss,
        }
    }
}

/// Ids of unit vectors read back from the device (`batch × len × 2·half` values), and the
/// smallest `|component|` of each bar.
pub fn ids_from_unit(u: &[f32], batch: usize, len: usize, half: usize) -> (TokenIds, Vec<f32>) {
    let mut s1 = Vec::with_capacity(batch * len);
    let mut s2 = Vec::with_capacity(batch * len);
    let mut min_abs = Vec::with_capacity(batch * len);
    let id = |part: &[f32]| {
        part.iter()
            .enumerate()
            .fold(0u32, |acc, (k, &v)| acc | (u32::from(v > 0.0) << k))
    };
    for row in u.chunks_exact(2 * half) {
        s1.push(id(&row[..half]));
        s2.push(id(&row[half..]));
        min_abs.push(row.iter().fold(f32::INFINITY, |m, v| m.min(v.abs())));
    }
    (TokenIds { batch, len, s1, s2 }, min_abs)
}

fn binary_entropy(p: Tensor<3>) -> Tensor<3> {
    let q = p.clone().neg().add_scalar(1.0);
    p.clone().neg() * p.add_scalar(1e-8).log() - q.clone() * q.add_scalar(1e-8).log()
}

/// docs/kronos.md §4.6: commitment, per-sample entropy and codebook entropy of the sign code.
fn bsq_loss(unit: &Tensor<3>, hard: Tensor<3>, cfg: &TokenizerConfig) -> BsqLoss {
    let bits = cfg.codebook_dim() as f64;
    let [b, t, k] = unit.dims();
    let commit = (hard.detach() - unit.clone())
        .square()
        .sum_dim(2)
        .mean()
        .mul_scalar(cfg.beta);
    let p = sigmoid(unit.clone().mul_scalar(-4.0 / bits.sqrt()));
    let per_sample_entropy = binary_entropy(p.clone()).sum_dim(2).mean();
    let mean_p = p.reshape([1, b * t, k]).mean_dim(1);
    let codebook_entropy = binary_entropy(mean_p).sum();
    let total = commit.clone()
        + (per_sample_entropy.clone().mul_scalar(cfg.gamma0)
            - codebook_entropy.clone().mul_scalar(cfg.gamma))
        .mul_scalar(cfg.zeta);
    BsqLoss {
        commit,
        per_sample_entropy,
        codebook_entropy,
        total,
    }
}

//! Many histories forecast as one batch: the prediction sets' path (a universe at one date).
//!
//! Each history is prefilled once (a batch of `C` rows), its caches become the part its `S`
//! sample paths share, and the generation runs `C × S` rows at a time. Every history keeps its
//! own z-score and its own random stream, so a history's paths are the ones a single
//! [`forecast`](super::forecast) with that seed draws, whatever else is in the batch.
//!
//! Narrower than the single forecast: the K/V cache in its exact mode only, no forced tokens,
//! and the window must not slide (`t + horizon ≤ max_context`; the caller shortens the history).
//! Native only: its reads from the device block (the browser forecasts one history at a time).

use burn::tensor::{Device, Int, Tensor, TensorData};

use super::{
    ForecastConfig, ForecastError, ForecastInput, PrefixDecode, block_on, choose, ids_of, last_row,
    read, validate,
};
use crate::features::{CLIP, ZScore};
use crate::model::layers::KvCache;
use crate::model::predictor::{PredictorCache, PredictorInput};
use crate::model::sampling::Rng;
use crate::model::tokenizer::{TokenIds, ids_from_unit};
use crate::model::{KronosPredictor, KronosTokenizer};

/// One history of a batch; every history of a batch has the same length.
#[derive(Debug, Clone)]
pub struct BatchInput<'a> {
    /// Raw history rows in `features::COLUMNS` order.
    pub rows: &'a [[f32; 6]],
    pub stamps: &'a [[u32; 5]],
    /// One stamp per future bar.
    pub future_stamps: &'a [[u32; 5]],
    /// This history's sampling seed (path `p` draws from `Rng::for_path(seed, p)`).
    pub seed: u64,
}

/// The sample paths of one history.
#[derive(Debug, Clone, PartialEq)]
pub struct PathSet {
    /// The last historical close.
    pub last_close: f32,
    /// `samples × horizon × 6`, de-normalised.
    pub paths: Vec<Vec<[f32; 6]>>,
}

impl PathSet {
    /// Each path's return from the last close to its close `h` bars ahead (1-based).
    pub fn returns_at(&self, h: usize) -> Vec<f64> {
        self.paths
            .iter()
            .map(|p| f64::from(p[h - 1][3]) / f64::from(self.last_close) - 1.0)
            .collect()
    }
}

/// Rows of a `[C·S, w]` window ending at `end`; row `r` belongs to history `r / paths`.
fn window(
    tokens: &[Vec<(u32, u32)>],
    paths: usize,
    end: usize,
    w: usize,
    stamps: &[Vec<[u32; 5]>],
    device: &Device,
) -> PredictorInput {
    let rows = tokens.len();
    let (mut s1, mut s2, mut st) = (
        Vec::with_capacity(rows * w),
        Vec::with_capacity(rows * w),
        Vec::with_capacity(rows * w),
    );
    for (r, path) in tokens.iter().enumerate() {
        let stamps = &stamps[r / paths];
        for (i, &(a, b)) in path[end - w..end].iter().enumerate() {
            s1.push(a);
            s2.push(b);
            st.push(stamps[end - w + i]);
        }
    }
    PredictorInput::from_slices(rows, &s1, &s2, &st, device)
}

#[cfg(feature = "fused")]
type Fused<'a> = Option<&'a crate::model::fused::FusedKronos>;
#[cfg(not(feature = "fused"))]
type Fused<'a> = Option<&'a std::convert::Infallible>;

/// Forecasts every history of `inputs` (all of one length) with `cfg.samples` paths each.
pub fn forecast_batch(
    tokenizer: &KronosTokenizer,
    predictor: &KronosPredictor,
    inputs: &[BatchInput<'_>],
    cfg: &ForecastConfig,
    device: &Device,
) -> Result<Vec<PathSet>, ForecastError> {
    batch_with(tokenizer, predictor, None, inputs, cfg, device)
}

/// [`forecast_batch`] on the fused CPU kernels when `fused` (built from the same pair) is
/// given, on the burn ops otherwise.
#[cfg(feature = "fused")]
pub fn forecast_batch_fused(
    fused: Option<&crate::model::fused::FusedKronos>,
    tokenizer: &KronosTokenizer,
    predictor: &KronosPredictor,
    inputs: &[BatchInput<'_>],
    cfg: &ForecastConfig,
    device: &Device,
) -> Result<Vec<PathSet>, ForecastError> {
    batch_with(tokenizer, predictor, fused, inputs, cfg, device)
}

/// Token ids of the normalised histories `flat: [c, t, 6]`.
fn encode(
    tokenizer: &KronosTokenizer,
    fused: Fused,
    flat: Vec<f32>,
    (c, t): (usize, usize),
    device: &Device,
) -> Result<TokenIds, ForecastError> {
    #[cfg(feature = "fused")]
    if let Some(f) = fused {
        return Ok(f.encode(&flat, c, t));
    }
    let _ = fused;
    let x = Tensor::<3>::from_data(TensorData::new(flat, [c, t, 6]), device);
    let (_, unit) = tokenizer.encode_latent(x);
    let unit = block_on(read(unit))?;
    Ok(ids_from_unit(&unit, c, t, tokenizer.config.s1_bits).0)
}

/// The histories of a batch: their ids, the same as token rows, and each one's calendar rows,
/// future included.
struct Histories<'a> {
    ids: &'a TokenIds,
    rows: &'a [Vec<(u32, u32)>],
    stamps: &'a [Vec<[u32; 5]>],
}

/// Rows being generated: each path's tokens so far and its random stream.
struct Rows<'a> {
    tokens: &'a mut [Vec<(u32, u32)>],
    rngs: &'a mut [Rng],
}

/// The predictor's prefill of the histories, whose caches each history's paths share, then
/// `cfg.horizon` bars drawn for every path.
fn generate(
    predictor: &KronosPredictor,
    fused: Fused,
    Histories {
        ids,
        rows: histories,
        stamps,
    }: Histories<'_>,
    rows: Rows<'_>,
    cfg: &ForecastConfig,
    device: &Device,
) -> Result<(), ForecastError> {
    let (c, t) = (ids.batch, ids.len);
    let (paths, horizon) = (cfg.samples, cfg.horizon);
    let (v1, v2) = (predictor.config.s1_vocab(), predictor.config.s2_vocab());
    #[cfg(feature = "fused")]
    if let Some(f) = fused {
        let mut generation = f.prefill(ids, stamps, paths, horizon);
        for step in 0..horizon {
            let mut s1_logits = generation.s1_logits();
            let (s1, _, _) = choose(&mut s1_logits, v1, None, &cfg.sampling, rows.rngs);
            let mut s2_logits = generation.s2_logits(&s1);
            let (s2, _, _) = choose(&mut s2_logits, v2, None, &cfg.sampling, rows.rngs);
            for (r, row) in rows.tokens.iter_mut().enumerate() {
                row.push((s1[r], s2[r]));
            }
            if step + 1 == horizon {
                break;
            }
            let at: Vec<[u32; 5]> = stamps.iter().map(|s| s[t + step]).collect();
            generation.step(&s1, &s2, &at, t + step);
        }
        return Ok(());
    }
    let _ = fused;
    let mut cache = PredictorCache::new(predictor.transformer.len(), t + horizon);
    let h = predictor.hidden(
        &window(histories, 1, t, t, stamps, device),
        0,
        Some(&mut cache),
    );
    cache.share();
    let d = predictor.config.d_model;
    let mut h_last = last_row(h)
        .reshape([c, 1, 1, d])
        .repeat_dim(1, paths)
        .reshape([c * paths, 1, d]);
    for step in 0..horizon {
        // s1, then s2 given s1 through the dependency layer, for every row
        let mut s1_logits = block_on(read(predictor.s1_logits(h_last.clone())))?;
        let (chosen_s1, _, _) = choose(&mut s1_logits, v1, None, &cfg.sampling, rows.rngs);
        let s1_t = Tensor::<2, Int>::from_data(
            TensorData::new(
                chosen_s1.iter().map(|&x| i64::from(x)).collect::<Vec<_>>(),
                [c * paths, 1],
            ),
            device,
        );
        let mut s2_logits = block_on(read(predictor.s2_logits_last(
            h_last.clone(),
            s1_t,
            cache.dep.keys(),
        )))?;
        let (chosen_s2, _, _) = choose(&mut s2_logits, v2, None, &cfg.sampling, rows.rngs);
        for (r, row) in rows.tokens.iter_mut().enumerate() {
            row.push((chosen_s1[r], chosen_s2[r]));
        }
        if step + 1 == horizon {
            break;
        }
        // the new token's hidden state through the cache
        let n = t + step + 1;
        h_last = predictor.hidden(
            &window(rows.tokens, paths, n, 1, stamps, device),
            n - 1,
            Some(&mut cache),
        );
    }
    Ok(())
}

/// The decoder after the history rows, which each history's rows share.
enum Prefix<'a> {
    Tensor(Vec<KvCache>, std::marker::PhantomData<&'a ()>),
    #[cfg(feature = "fused")]
    Fused(crate::model::fused::Decoding<'a>),
}

fn decode_prefix<'a>(
    tokenizer: &KronosTokenizer,
    fused: Fused<'a>,
    ids: TokenIds,
    (paths, horizon): (usize, usize),
    device: &Device,
) -> Prefix<'a> {
    #[cfg(feature = "fused")]
    if let Some(f) = fused {
        return Prefix::Fused(f.decode_prefix(&ids, paths, horizon));
    }
    let _ = (fused, paths);
    let capacity = ids.len + horizon;
    let mut caches = PrefixDecode::start(tokenizer, ids, capacity, device).finish();
    caches.iter_mut().for_each(KvCache::share);
    Prefix::Tensor(caches, std::marker::PhantomData)
}

/// Every path's own bars (`new`, after `t` history rows) through the decoder: normalised
/// bars, `[R, horizon, 6]`.
fn decode_new(
    tokenizer: &KronosTokenizer,
    prefix: Prefix<'_>,
    new: &TokenIds,
    t: usize,
    device: &Device,
) -> Result<Vec<f32>, ForecastError> {
    match prefix {
        Prefix::Tensor(mut caches, _) => {
            block_on(read(tokenizer.decode_cached(new, t, &mut caches, device)))
        }
        #[cfg(feature = "fused")]
        Prefix::Fused(decoding) => Ok(decoding.decode(new)),
    }
}

fn batch_with(
    tokenizer: &KronosTokenizer,
    predictor: &KronosPredictor,
    fused: Fused,
    inputs: &[BatchInput<'_>],
    cfg: &ForecastConfig,
    device: &Device,
) -> Result<Vec<PathSet>, ForecastError> {
    let Some(first) = inputs.first() else {
        return Ok(Vec::new());
    };
    let t = first.rows.len();
    for input in inputs {
        validate(
            &ForecastInput {
                rows: input.rows,
                stamps: input.stamps,
                future_stamps: input.future_stamps,
                forced: None,
            },
            cfg,
        )?;
        if input.rows.len() != t {
            return Err(ForecastError::Sampling(format!(
                "histories of one batch differ in length ({} and {t})",
                input.rows.len()
            )));
        }
    }
    let (c, paths, horizon) = (inputs.len(), cfg.samples, cfg.horizon);
    let total = t + horizon;
    if total > cfg.max_context {
        return Err(ForecastError::Sampling(format!(
            "{t} history bars + {horizon} forecast bars exceed the {}-token window",
            cfg.max_context
        )));
    }

    // 1. z-score each history, clip, tokenize them as one batch.
    let zscores: Vec<ZScore> = inputs.iter().map(|i| ZScore::fit(i.rows)).collect();
    let mut flat = Vec::with_capacity(c * t * 6);
    for (input, z) in inputs.iter().zip(&zscores) {
        flat.extend(
            z.apply(input.rows)
                .iter()
                .flatten()
                .map(|v| v.clamp(-CLIP, CLIP)),
        );
    }
    let history_ids = encode(tokenizer, fused, flat, (c, t), device)?;

    let stamps: Vec<Vec<[u32; 5]>> = inputs
        .iter()
        .map(|i| i.stamps.iter().chain(i.future_stamps).copied().collect())
        .collect();
    let histories: Vec<Vec<(u32, u32)>> = (0..c)
        .map(|b| {
            let (s1, s2) = history_ids.row(b);
            s1.iter().copied().zip(s2.iter().copied()).collect()
        })
        .collect();
    let mut tokens: Vec<Vec<(u32, u32)>> = histories
        .iter()
        .flat_map(|h| std::iter::repeat_n(h.clone(), paths))
        .collect();
    let mut rngs: Vec<Rng> = inputs
        .iter()
        .flat_map(|i| (0..paths).map(move |p| Rng::for_path(i.seed, p)))
        .collect();

    // The decoder is causal: the history rows are decoded once per history, beside the
    // generation.
    let prefix = decode_prefix(
        tokenizer,
        fused,
        ids_of(0..t, &histories),
        (paths, horizon),
        device,
    );

    // 2.–4. one prefill per history, whose caches its paths share, then the bars.
    generate(
        predictor,
        fused,
        Histories {
            ids: &history_ids,
            rows: &histories,
            stamps: &stamps,
        },
        Rows {
            tokens: &mut tokens,
            rngs: &mut rngs,
        },
        cfg,
        device,
    )?;

    // 5. decode every path's own bars after the shared history rows, de-normalise
    let decoded = decode_new(tokenizer, prefix, &ids_of(t..total, &tokens), t, device)?;
    let mut rows = decoded.chunks_exact(horizon * 6);
    Ok(inputs
        .iter()
        .zip(&zscores)
        .map(|(input, z)| PathSet {
            last_close: input.rows[t - 1][3],
            paths: (0..paths)
                .map(|_| {
                    rows.next()
                        .expect("one decoded row per path")
                        .chunks_exact(6)
                        .map(|r| z.invert(&std::array::from_fn(|k| r[k])))
                        .collect()
                })
                .collect(),
        })
        .collect())
}

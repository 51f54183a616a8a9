//! The autoregressive forecast (docs/kronos.md §7): z-score the history, tokenize all of it, sample the
//! next (s1, s2) pairs one bar at a time from a window of at most `max_context` tokens, decode
//! the final window and undo the z-score. Sample paths are rows of one batch.
//!
//! Beyond the reference: K/V caches for the self-attention and the dependency layer (exact
//! while the window has not slid; afterwards recompute or keep absolute positions), heads on
//! the last row only, one batch-1 prefill shared by every path, every path returned with
//! quantiles and P(up), and an optional OHLC repair.
//!
//! One loop serves native callers ([`forecast`], blocking) and the browser
//! ([`forecast_async`], whose reads from the device are awaited).

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::layers::{AttnMode, Keys, KvCache};
use super::predictor::{KronosPredictor, PredictorCache, PredictorInput};
use super::sampling::{Rng, Sampling, argmax, top2_margin};
use super::tokenizer::{KronosTokenizer, TokenIds, ids_from_unit};
use crate::features::{CLIP, ZScore};

mod batch;
#[cfg(feature = "fused")]
pub use batch::forecast_batch_fused;
pub use batch::{BatchInput, PathSet, forecast_batch};

/// How the predictor window is evaluated at each generated bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheMode {
    /// K/V caches; once the window slides, recompute it (equals the reference).
    #[default]
    Exact,
    /// K/V caches that keep absolute positions when the window slides: faster on long
    /// horizons, not the reference's arithmetic (it re-bases positions at every slide).
    Absolute,
    /// No cache: the reference's full re-run of the window every bar (for comparison).
    Off,
}

impl std::str::FromStr for CacheMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "exact" => Ok(Self::Exact),
            "absolute" => Ok(Self::Absolute),
            "off" => Ok(Self::Off),
            _ => Err(format!(
                "unknown cache mode `{s}` (expected exact, absolute or off)"
            )),
        }
    }
}

/// Everything that determines a forecast besides the model and the input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastConfig {
    pub horizon: usize,
    pub sampling: Sampling,
    /// Sample paths (the reference's `sample_count`).
    pub samples: usize,
    pub seed: u64,
    /// Longest token window the predictor sees (2048 for Kronos-mini, 512 for small/base).
    pub max_context: usize,
    pub cache: CacheMode,
    /// Make every forecast bar consistent (high ≥ open, close ≥ low; volume, amount ≥ 0).
    /// Off by default, for parity with the reference.
    pub repair_ohlc: bool,
}

impl Default for ForecastConfig {
    fn default() -> Self {
        Self {
            horizon: 30,
            sampling: Sampling::default(),
            samples: 1,
            seed: 0,
            max_context: 512,
            cache: CacheMode::Exact,
            repair_ohlc: false,
        }
    }
}

/// Normalised-space history and the calendar stamps of history and future bars.
#[derive(Debug, Clone)]
pub struct ForecastInput<'a> {
    /// Raw history rows in `features::COLUMNS` order.
    pub rows: &'a [[f32; 6]],
    pub stamps: &'a [[u32; 5]],
    /// One stamp per future bar (`horizon` of them).
    pub future_stamps: &'a [[u32; 5]],
    /// Tokens to take at each step instead of sampling (a given continuation is scored);
    /// the step trace still records what the model would have picked.
    pub forced: Option<(&'a [u32], &'a [u32])>,
}

/// What the model thought at one generated bar, for sample path 0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepTrace {
    pub s1_argmax: u32,
    pub s1_margin: f32,
    pub s2_argmax: u32,
    pub s2_margin: f32,
}

/// Per-bar quantiles over the sample paths, each `horizon × 6`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quantiles {
    pub p10: Vec<[f32; 6]>,
    pub p50: Vec<[f32; 6]>,
    pub p90: Vec<[f32; 6]>,
}

#[derive(Debug, Clone)]
pub struct Forecast {
    pub zscore: ZScore,
    /// The clipped, normalised history the tokenizer saw.
    pub history_norm: Vec<[f32; 6]>,
    pub history_tokens: TokenIds,
    /// The reference's output: paths averaged in normalised space, then de-normalised.
    pub mean: Vec<[f32; 6]>,
    pub mean_norm: Vec<[f32; 6]>,
    pub quantiles: Quantiles,
    /// `samples × horizon × 6`, de-normalised.
    pub paths: Vec<Vec<[f32; 6]>>,
    /// Share of paths whose close at each future bar is above the last historical close.
    pub p_up: Vec<f32>,
    /// Generated tokens, `samples × horizon`.
    pub tokens: TokenIds,
    pub trace: Vec<StepTrace>,
    /// The token window handed to the decoder (path 0).
    pub decode_window: (Vec<u32>, Vec<u32>),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ForecastError {
    #[error("the history is empty")]
    EmptyHistory,
    #[error("history has {rows} rows but {stamps} timestamps")]
    StampCount { rows: usize, stamps: usize },
    #[error("the horizon must be at least 1")]
    NoHorizon,
    #[error("{have} future timestamps for a horizon of {horizon}")]
    FutureStamps { have: usize, horizon: usize },
    #[error("history row {row}, column {column}: {value} is not a finite number")]
    NonFinite {
        row: usize,
        column: &'static str,
        value: f32,
    },
    #[error("samples must be at least 1")]
    NoSamples,
    #[error("max context must be at least 1")]
    NoContext,
    #[error("{0}")]
    Sampling(String),
    #[error("forced tokens: {0}")]
    Forced(String),
    #[error("reading from the device failed: {0}")]
    Device(String),
    #[error("cancelled after {0} of the forecast bars")]
    Cancelled(usize),
}

/// Awaited after every generated bar. The browser hands a macrotask (a `setTimeout(0)`) so the
/// page paints the progress and takes a click on Cancel between bars; native callers pass
/// `None`.
pub type Pause = dyn Fn() -> std::pin::Pin<Box<dyn Future<Output = ()>>>;

/// One generated bar done: `step` of `total`.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub step: usize,
    pub total: usize,
}

async fn read(t: Tensor<3>) -> Result<Vec<f32>, ForecastError> {
    let data = t
        .into_data_async()
        .await
        .map_err(|e| ForecastError::Device(format!("{e:?}")))?;
    data.try_to_vec::<f32>()
        .map_err(|e| ForecastError::Device(format!("{e:?}")))
}

fn validate(input: &ForecastInput<'_>, cfg: &ForecastConfig) -> Result<(), ForecastError> {
    if input.rows.is_empty() {
        return Err(ForecastError::EmptyHistory);
    }
    if input.stamps.len() != input.rows.len() {
        return Err(ForecastError::StampCount {
            rows: input.rows.len(),
            stamps: input.stamps.len(),
        });
    }
    if cfg.horizon == 0 {
        return Err(ForecastError::NoHorizon);
    }
    if input.future_stamps.len() != cfg.horizon {
        return Err(ForecastError::FutureStamps {
            have: input.future_stamps.len(),
            horizon: cfg.horizon,
        });
    }
    for (row, r) in input.rows.iter().enumerate() {
        if let Some(c) = r.iter().position(|v| !v.is_finite()) {
            return Err(ForecastError::NonFinite {
                row,
                column: crate::features::COLUMNS[c],
                value: r[c],
            });
        }
    }
    if cfg.samples == 0 {
        return Err(ForecastError::NoSamples);
    }
    if cfg.max_context == 0 {
        return Err(ForecastError::NoContext);
    }
    cfg.sampling.validate().map_err(ForecastError::Sampling)?;
    if let Some((s1, s2)) = input.forced
        && (s1.len() < cfg.horizon || s2.len() < cfg.horizon)
    {
        return Err(ForecastError::Forced(format!(
            "{}/{} ids for {} bars",
            s1.len(),
            s2.len(),
            cfg.horizon
        )));
    }
    Ok(())
}

/// Blocking forecast for native callers.
pub fn forecast(
    tokenizer: &KronosTokenizer,
    predictor: &KronosPredictor,
    input: &ForecastInput<'_>,
    cfg: &ForecastConfig,
    device: &Device,
    progress: &mut dyn FnMut(Progress) -> bool,
) -> Result<Forecast, ForecastError> {
    block_on(forecast_async(
        tokenizer, predictor, input, cfg, device, progress, None,
    ))
}

/// Token windows of every path, `[S, w]`, ending at position `end` (exclusive).
fn window(
    tokens: &[Vec<(u32, u32)>],
    end: usize,
    w: usize,
    stamps: &[[u32; 5]],
    device: &Device,
) -> PredictorInput {
    let s = tokens.len();
    let mut s1 = Vec::with_capacity(s * w);
    let mut s2 = Vec::with_capacity(s * w);
    let mut st = Vec::with_capacity(s * w);
    for path in tokens {
        for (i, &(a, b)) in path[end - w..end].iter().enumerate() {
            s1.push(a);
            s2.push(b);
            st.push(stamps[end - w + i]);
        }
    }
    PredictorInput::from_slices(s, &s1, &s2, &st, device)
}

/// Rows recomputed together when a window is recomputed without the cache: bounds the memory
/// of many sample paths at no cost in speed.
const RECOMPUTE_ROWS: usize = 4;

/// Hidden state of the last position and dependency-layer keys of the window of every path
/// ending at `end`, computed from scratch (positions re-based to 0, as the reference does).
fn recompute(
    predictor: &KronosPredictor,
    tokens: &[Vec<(u32, u32)>],
    end: usize,
    w: usize,
    stamps: &[[u32; 5]],
    device: &Device,
) -> (Tensor<3>, Keys) {
    let (mut lasts, mut ks, mut vs) = (Vec::new(), Vec::new(), Vec::new());
    for rows in tokens.chunks(RECOMPUTE_ROWS) {
        let h = predictor.hidden(&window(rows, end, w, stamps, device), 0, None);
        lasts.push(last_row(h.clone()));
        let (k, v) = predictor
            .dep_layer
            .cross_attn
            .keys_values(h, AttnMode::Open);
        ks.push(k);
        vs.push(v);
    }
    (
        Tensor::cat(lasts, 0),
        Keys::own(Tensor::cat(ks, 0), Tensor::cat(vs, 0)),
    )
}

fn last_row(h: Tensor<3>) -> Tensor<3> {
    let [b, l, d] = h.dims();
    h.slice([0..b, l - 1..l, 0..d])
}

/// The forecast, awaiting every read from the device (the browser's path).
pub async fn forecast_async(
    tokenizer: &KronosTokenizer,
    predictor: &KronosPredictor,
    input: &ForecastInput<'_>,
    cfg: &ForecastConfig,
    device: &Device,
    progress: &mut dyn FnMut(Progress) -> bool,
    pause: Option<&Pause>,
) -> Result<Forecast, ForecastError> {
    validate(input, cfg)?;
    let t = input.rows.len();
    let horizon = cfg.horizon;
    let paths = cfg.samples;

    // 1. z-score over the history, clip, tokenize all of it.
    let zscore = ZScore::fit(input.rows);
    let history_norm = zscore.apply(input.rows);
    let flat: Vec<f32> = history_norm
        .iter()
        .flatten()
        .map(|v| v.clamp(-CLIP, CLIP))
        .collect();
    let x = Tensor::<3>::from_data(TensorData::new(flat, [1, t, 6]), device);
    let (_, unit) = tokenizer.encode_latent(x);
    let unit = read(unit).await?;
    let (history_tokens, _) = ids_from_unit(&unit, 1, t, tokenizer.config.s1_bits);

    let stamps: Vec<[u32; 5]> = input
        .stamps
        .iter()
        .chain(input.future_stamps)
        .copied()
        .collect();
    let history: Vec<(u32, u32)> = history_tokens
        .s1
        .iter()
        .copied()
        .zip(history_tokens.s2.iter().copied())
        .collect();
    let mut tokens: Vec<Vec<(u32, u32)>> = vec![history; paths];
    let mut rngs: Vec<Rng> = (0..paths).map(|p| Rng::for_path(cfg.seed, p)).collect();
    let mut trace = Vec::with_capacity(horizon);
    let v1 = predictor.config.s1_vocab();
    let v2 = predictor.config.s2_vocab();

    // The decoder is causal, so the history rows of the final decode window are the same
    // for every path: decode them now, beside the generation (on another thread natively).
    let max_ctx = cfg.max_context;
    let total = t + horizon;
    let wd = total.min(max_ctx);
    let start = total - wd;
    let shared = t.saturating_sub(start);
    let prefix_job = (cfg.cache != CacheMode::Off && shared > 0)
        .then(|| PrefixDecode::start(tokenizer, ids_of(start..t, &tokens[..1]), wd, device));

    // 2. the first window: one batch-1 prefill shared by every path.
    let mut cache = PredictorCache::new(predictor.transformer.len(), (t + horizon).min(max_ctx));
    let w0 = t.min(max_ctx);
    let mut h_last: Tensor<3>;
    // Dependency-layer keys of a window recomputed without the cache (no cache, or a slid one).
    let mut window_keys: Option<Keys> = None;
    match cfg.cache {
        CacheMode::Off => {
            let (last, keys) = recompute(predictor, &tokens, t, w0, &stamps, device);
            h_last = last;
            window_keys = Some(keys);
        }
        CacheMode::Exact | CacheMode::Absolute => {
            let h = predictor.hidden(
                &window(&tokens[..1], t, w0, &stamps, device),
                0,
                Some(&mut cache),
            );
            h_last = last_row(h);
            if paths > 1 {
                cache.share();
                h_last = h_last.repeat_dim(0, paths);
            }
        }
    }
    // Absolute position of the next token fed through the cache.
    let mut next_pos = w0;

    for step in 0..horizon {
        let n = t + step;
        // 3. s1 for the next bar of every path
        let mut s1_logits = read(predictor.s1_logits(h_last.clone())).await?;
        let forced = input.forced.map(|(f1, f2)| (f1[step], f2[step]));
        let (chosen_s1, s1_argmax, s1_margin) = choose(
            &mut s1_logits,
            v1,
            forced.map(|f| f.0),
            &cfg.sampling,
            &mut rngs,
        );
        // 4. s2 given the chosen s1, through the dependency layer
        let s1_t = Tensor::<2, Int>::from_data(
            TensorData::new(
                chosen_s1.iter().map(|&x| i64::from(x)).collect::<Vec<_>>(),
                [paths, 1],
            ),
            device,
        );
        let keys = match window_keys.take() {
            Some(keys) => keys,
            None => cache.dep.keys(),
        };
        let mut s2_logits = read(predictor.s2_logits_last(h_last.clone(), s1_t, keys)).await?;
        let (chosen_s2, s2_argmax, s2_margin) = choose(
            &mut s2_logits,
            v2,
            forced.map(|f| f.1),
            &cfg.sampling,
            &mut rngs,
        );
        for (p, path) in tokens.iter_mut().enumerate() {
            path.push((chosen_s1[p], chosen_s2[p]));
        }
        trace.push(StepTrace {
            s1_argmax,
            s1_margin,
            s2_argmax,
            s2_margin,
        });
        if let Some(pause) = pause {
            pause().await;
        }
        if !progress(Progress {
            step: step + 1,
            total: horizon,
        }) {
            return Err(ForecastError::Cancelled(step + 1));
        }
        if step + 1 == horizon {
            break;
        }
        // 5. hidden state of the new token: through the cache, or a (re)computed window
        let n = n + 1;
        let w = n.min(max_ctx);
        match cfg.cache {
            CacheMode::Off => {
                let (last, keys) = recompute(predictor, &tokens, n, w, &stamps, device);
                h_last = last;
                window_keys = Some(keys);
            }
            CacheMode::Exact if n > max_ctx => {
                // The window slid: the reference re-bases every position, so recompute it,
                // here and at every later bar (so the cache is not kept).
                cache.clear();
                let (last, keys) = recompute(predictor, &tokens, n, w, &stamps, device);
                h_last = last;
                window_keys = Some(keys);
            }
            CacheMode::Exact | CacheMode::Absolute => {
                if n > max_ctx {
                    cache.drop_oldest(1);
                }
                let h = predictor.hidden(
                    &window(&tokens, n, 1, &stamps, device),
                    next_pos,
                    Some(&mut cache),
                );
                next_pos += 1;
                h_last = h;
            }
        }
    }

    // 6. decode the last window of history + forecast: the history rows (already decoded
    //    once for every path), then each path's own bars.
    let window_ids = ids_of(start..total, &tokens[..1]);
    let decode_window = (window_ids.s1, window_ids.s2);
    let norm_paths: Vec<Vec<[f32; 6]>> = if let Some(job) = prefix_job {
        let mut caches = job.finish();
        caches.iter_mut().for_each(KvCache::share);
        let decoded =
            read(tokenizer.decode_cached(&ids_of(t..total, &tokens), shared, &mut caches, device))
                .await?;
        decoded
            .chunks_exact(horizon * 6)
            .map(|p| {
                p.chunks_exact(6)
                    .map(|r| std::array::from_fn(|c| r[c]))
                    .collect()
            })
            .collect()
    } else {
        let decoded = read(tokenizer.decode(&ids_of(start..total, &tokens), device)).await?;
        decoded
            .chunks_exact(wd * 6)
            .map(|path| {
                path[(wd - horizon) * 6..]
                    .chunks_exact(6)
                    .map(|r| std::array::from_fn(|c| r[c]))
                    .collect()
            })
            .collect()
    };

    // 7. the mean path (the reference's output), every path, quantiles, P(up)
    let mean_norm: Vec<[f32; 6]> = (0..horizon)
        .map(|i| {
            std::array::from_fn(|c| norm_paths.iter().map(|p| p[i][c]).sum::<f32>() / paths as f32)
        })
        .collect();
    let repair = |r: [f32; 6]| if cfg.repair_ohlc { repair_bar(r) } else { r };
    let mean: Vec<[f32; 6]> = mean_norm.iter().map(|r| repair(zscore.invert(r))).collect();
    let out_paths: Vec<Vec<[f32; 6]>> = norm_paths
        .iter()
        .map(|p| p.iter().map(|r| repair(zscore.invert(r))).collect())
        .collect();
    let last_close = input.rows[t - 1][3];
    let p_up = (0..horizon)
        .map(|i| out_paths.iter().filter(|p| p[i][3] > last_close).count() as f32 / paths as f32)
        .collect();
    let quantiles = Quantiles {
        p10: quantile_rows(&out_paths, 0.1),
        p50: quantile_rows(&out_paths, 0.5),
        p90: quantile_rows(&out_paths, 0.9),
    };
    let mut gen_ids = TokenIds {
        batch: paths,
        len: horizon,
        s1: Vec::with_capacity(paths * horizon),
        s2: Vec::with_capacity(paths * horizon),
    };
    for path in &tokens {
        for &(a, b) in &path[t..] {
            gen_ids.s1.push(a);
            gen_ids.s2.push(b);
        }
    }
    Ok(Forecast {
        zscore,
        history_norm,
        history_tokens,
        mean,
        mean_norm,
        quantiles,
        paths: out_paths,
        p_up,
        tokens: gen_ids,
        trace,
        decode_window,
    })
}

/// One token per path from `paths × vocab` logits (sampled, or the forced one), with path 0's
/// arg-max and top-2 margin for the trace.
fn choose(
    logits: &mut [f32],
    vocab: usize,
    forced: Option<u32>,
    sampling: &Sampling,
    rngs: &mut [Rng],
) -> (Vec<u32>, u32, f32) {
    let (best, margin) = (
        argmax(&logits[..vocab]) as u32,
        top2_margin(&logits[..vocab]),
    );
    let chosen = logits
        .chunks_exact_mut(vocab)
        .zip(rngs.iter_mut())
        .map(|(row, rng)| forced.unwrap_or_else(|| sampling.sample(row, rng) as u32))
        .collect();
    (chosen, best, margin)
}

/// Ids of `range` of every token row.
fn ids_of(range: std::ops::Range<usize>, rows: &[Vec<(u32, u32)>]) -> TokenIds {
    let mut ids = TokenIds {
        batch: rows.len(),
        len: range.len(),
        s1: Vec::with_capacity(rows.len() * range.len()),
        s2: Vec::with_capacity(rows.len() * range.len()),
    };
    for path in rows {
        for &(a, b) in &path[range.clone()] {
            ids.s1.push(a);
            ids.s2.push(b);
        }
    }
    ids
}

/// The decoder's caches after the history rows every path shares.
struct PrefixDecode(Vec<KvCache>);

impl PrefixDecode {
    fn start(tokenizer: &KronosTokenizer, ids: TokenIds, capacity: usize, device: &Device) -> Self {
        let mut caches = vec![KvCache::with_capacity(capacity); tokenizer.decoder.len()];
        let _ = tokenizer.decode_cached(&ids, 0, &mut caches, device);
        PrefixDecode(caches)
    }

    fn finish(self) -> Vec<KvCache> {
        self.0
    }
}

/// Linear-interpolated quantile (numpy's default) of each bar and column over the paths.
fn quantile_rows(paths: &[Vec<[f32; 6]>], q: f64) -> Vec<[f32; 6]> {
    let horizon = paths[0].len();
    (0..horizon)
        .map(|i| {
            std::array::from_fn(|c| {
                let mut v: Vec<f32> = paths.iter().map(|p| p[i][c]).collect();
                v.sort_by(f32::total_cmp);
                let pos = q * (v.len() - 1) as f64;
                let lo = pos.floor() as usize;
                let hi = pos.ceil() as usize;
                let frac = (pos - lo as f64) as f32;
                v[lo] + (v[hi] - v[lo]) * frac
            })
        })
        .collect()
}

/// High at least max(open, close), low at most min(open, close), no negative volume/amount.
pub fn repair_bar(r: [f32; 6]) -> [f32; 6] {
    let [o, h, l, c, v, a] = r;
    let hi = h.max(o).max(c).max(l);
    let lo = l.min(o).min(c).min(h);
    [o, hi, lo, c, v.max(0.0), a.max(0.0)]
}

/// Drives a future whose awaits resolve without an event loop (native backends' reads).
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::hint::spin_loop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let paths: Vec<Vec<[f32; 6]>> = (1..=5).map(|v| vec![[v as f32; 6]]).collect();
        assert_eq!(quantile_rows(&paths, 0.5)[0][0], 3.0);
        assert!((quantile_rows(&paths, 0.1)[0][0] - 1.4).abs() < 1e-6);
        assert!((quantile_rows(&paths, 0.9)[0][0] - 4.6).abs() < 1e-6);
    }

    #[test]
    fn repair_makes_a_bar_consistent() {
        let r = repair_bar([10.0, 9.0, 11.0, 10.5, -3.0, 5.0]);
        assert_eq!(r, [10.0, 11.0, 9.0, 10.5, 0.0, 5.0]);
    }
}

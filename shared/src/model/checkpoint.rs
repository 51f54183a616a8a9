//! Checkpoints in the Hugging Face layout the reference writes (`config.json` +
//! `model.safetensors`), read from and written to bytes (the trainer and the browser do the
//! I/O). Parameters map by exact name, Linear weights transposed (PyTorch keeps `[out, in]`,
//! burn `[in, out]`); the persistent buffers (`*.rotary.inv_freq`, `tokenizer.bsq.*`) are
//! optional on load, recomputed and compared, and always written, so the reference's strict
//! loader accepts what we save.

use std::collections::{BTreeMap, BTreeSet};

use burn::module::{Module, Param};
use burn::nn::{Embedding, Linear, RmsNorm};
use burn::tensor::{Device, Tensor, TensorData};

use super::classifier::{Classifier, ClassifierConfig};
use super::config::{PredictorConfig, TokenizerConfig};
use super::layers::{Block, rope_inv_freq};
use super::predictor::KronosPredictor;
use super::safetensors::{self, Dtype, Owned, View};
use super::tokenizer::KronosTokenizer;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CheckpointError {
    #[error("config.json: {0}")]
    Config(String),
    #[error("model.safetensors: {0}")]
    File(#[from] safetensors::SafetensorsError),
    #[error("model.safetensors has no tensor `{key}` (expected shape {expected:?}){hint}")]
    Missing {
        key: String,
        expected: Vec<usize>,
        hint: String,
    },
    #[error("model.safetensors: `{key}` has shape {found:?}, the config needs {expected:?}")]
    Shape {
        key: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("model.safetensors: `{key}` is {dtype}; weights must be F32, F16 or BF16")]
    Dtype { key: String, dtype: String },
    #[error("model.safetensors: `{key}` holds non-finite values")]
    NonFinite { key: String },
    #[error("model.safetensors: buffer `{key}` differs from the value the config implies ({why})")]
    Buffer { key: String, why: String },
    #[error("model.safetensors has {count} tensor(s) this {what} does not use: {keys}")]
    Unexpected {
        what: &'static str,
        count: usize,
        keys: String,
    },
    #[error("tokenizer and predictor do not pair: {0}")]
    Mismatch(String),
}

/// What kind of model a `config.json` describes (the reference stores no type key).
#[derive(Debug, Clone, PartialEq)]
pub enum AnyConfig {
    Tokenizer(TokenizerConfig),
    Predictor(PredictorConfig),
}

/// Reads a `config.json`, telling a tokenizer (it has `n_enc_layers`) from a predictor.
pub fn parse_config(json: &[u8]) -> Result<AnyConfig, CheckpointError> {
    let v: serde_json::Value = serde_json::from_slice(json)
        .map_err(|e| CheckpointError::Config(format!("not JSON: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| CheckpointError::Config("not a JSON object".into()))?;
    let bad = |e: serde_json::Error| CheckpointError::Config(e.to_string());
    let config = if obj.contains_key("n_enc_layers") {
        let c: TokenizerConfig = serde_json::from_value(v).map_err(bad)?;
        c.validate()
            .map_err(|e| CheckpointError::Config(e.to_string()))?;
        AnyConfig::Tokenizer(c)
    } else if obj.contains_key("n_layers") {
        let c: PredictorConfig = serde_json::from_value(v).map_err(bad)?;
        c.validate()
            .map_err(|e| CheckpointError::Config(e.to_string()))?;
        AnyConfig::Predictor(c)
    } else {
        return Err(CheckpointError::Config(
            "neither a Kronos tokenizer (no `n_enc_layers`) nor a predictor (no `n_layers`)".into(),
        ));
    };
    Ok(config)
}

enum Slot<'a> {
    Linear(&'a mut Linear),
    Norm(&'a mut RmsNorm),
    Table(&'a mut Embedding),
}

fn walk_block(prefix: &str, b: &mut Block, f: &mut dyn FnMut(String, Slot)) {
    f(format!("{prefix}.norm1"), Slot::Norm(&mut b.norm1));
    f(format!("{prefix}.norm2"), Slot::Norm(&mut b.norm2));
    let a = &mut b.self_attn;
    for (name, l) in [
        ("q_proj", &mut a.q_proj),
        ("k_proj", &mut a.k_proj),
        ("v_proj", &mut a.v_proj),
        ("out_proj", &mut a.out_proj),
    ] {
        f(format!("{prefix}.self_attn.{name}"), Slot::Linear(l));
    }
    f(format!("{prefix}.ffn.w1"), Slot::Linear(&mut b.ffn.w1));
    f(format!("{prefix}.ffn.w2"), Slot::Linear(&mut b.ffn.w2));
    f(format!("{prefix}.ffn.w3"), Slot::Linear(&mut b.ffn.w3));
}

/// Every parameter of the tokenizer with its state-dict name: the one key table.
fn walk_tokenizer(m: &mut KronosTokenizer, f: &mut dyn FnMut(String, Slot)) {
    f("embed".into(), Slot::Linear(&mut m.embed));
    for (i, b) in m.encoder.iter_mut().enumerate() {
        walk_block(&format!("encoder.{i}"), b, f);
    }
    f("quant_embed".into(), Slot::Linear(&mut m.quant_embed));
    f(
        "post_quant_embed_pre".into(),
        Slot::Linear(&mut m.post_quant_embed_pre),
    );
    f(
        "post_quant_embed".into(),
        Slot::Linear(&mut m.post_quant_embed),
    );
    for (i, b) in m.decoder.iter_mut().enumerate() {
        walk_block(&format!("decoder.{i}"), b, f);
    }
    f("head".into(), Slot::Linear(&mut m.head));
}

/// Every parameter of the predictor with its state-dict name.
fn walk_predictor(m: &mut KronosPredictor, f: &mut dyn FnMut(String, Slot)) {
    let suffix = if m.config.learn_te { "" } else { ".emb" };
    f(
        "embedding.emb_s1".into(),
        Slot::Table(&mut m.embedding.emb_s1),
    );
    f(
        "embedding.emb_s2".into(),
        Slot::Table(&mut m.embedding.emb_s2),
    );
    f(
        "embedding.fusion_proj".into(),
        Slot::Linear(&mut m.embedding.fusion_proj),
    );
    let t = &mut m.time_emb;
    for (name, e) in [
        ("minute", &mut t.minute_embed),
        ("hour", &mut t.hour_embed),
        ("weekday", &mut t.weekday_embed),
        ("day", &mut t.day_embed),
        ("month", &mut t.month_embed),
    ] {
        f(format!("time_emb.{name}_embed{suffix}"), Slot::Table(e));
    }
    for (i, b) in m.transformer.iter_mut().enumerate() {
        walk_block(&format!("transformer.{i}"), b, f);
    }
    f("norm".into(), Slot::Norm(&mut m.norm));
    let a = &mut m.dep_layer.cross_attn;
    for (name, l) in [
        ("q_proj", &mut a.q_proj),
        ("k_proj", &mut a.k_proj),
        ("v_proj", &mut a.v_proj),
        ("out_proj", &mut a.out_proj),
    ] {
        f(format!("dep_layer.cross_attn.{name}"), Slot::Linear(l));
    }
    f("dep_layer.norm".into(), Slot::Norm(&mut m.dep_layer.norm));
    f("head.proj_s1".into(), Slot::Linear(&mut m.head.proj_s1));
    f("head.proj_s2".into(), Slot::Linear(&mut m.head.proj_s2));
}

/// `[rows, cols]` → `[cols, rows]`, in cache-sized tiles.
fn transpose(w: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    const TILE: usize = 32;
    let mut t = vec![0f32; w.len()];
    for r0 in (0..rows).step_by(TILE) {
        for c0 in (0..cols).step_by(TILE) {
            for r in r0..(r0 + TILE).min(rows) {
                for c in c0..(c0 + TILE).min(cols) {
                    t[c * rows + r] = w[r * cols + c];
                }
            }
        }
    }
    t
}

enum Buffer {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

fn tokenizer_buffers(c: &TokenizerConfig) -> Vec<(String, Buffer)> {
    let head_dim = c.d_model / c.n_heads;
    let mut out = Vec::new();
    for (part, n) in [
        ("encoder", c.n_enc_layers - 1),
        ("decoder", c.n_dec_layers - 1),
    ] {
        for i in 0..n {
            out.push((
                format!("{part}.{i}.self_attn.rotary.inv_freq"),
                Buffer::F32(rope_inv_freq(head_dim)),
            ));
        }
    }
    let bits = c.codebook_dim();
    out.push((
        "tokenizer.bsq.basis".into(),
        Buffer::I64((0..bits).rev().map(|k| 1i64 << k).collect()),
    ));
    out.push((
        "tokenizer.bsq.group_basis".into(),
        Buffer::I64((0..c.group_size).rev().map(|k| 1i64 << k).collect()),
    ));
    out
}

fn predictor_buffers(c: &PredictorConfig) -> Vec<(String, Buffer)> {
    let mut out: Vec<(String, Buffer)> = (0..c.n_layers)
        .map(|i| {
            (
                format!("transformer.{i}.self_attn.rotary.inv_freq"),
                Buffer::F32(rope_inv_freq(c.d_model / c.n_heads)),
            )
        })
        .collect();
    out.push((
        "dep_layer.cross_attn.rotary.inv_freq".into(),
        Buffer::F32(rope_inv_freq(c.d_model / super::config::DEP_LAYER_HEADS)),
    ));
    out
}

struct Reader<'a> {
    views: BTreeMap<String, View<'a>>,
    used: BTreeSet<String>,
    device: Device,
    hint: String,
    error: Option<CheckpointError>,
}

impl<'a> Reader<'a> {
    fn new(weights: &'a [u8], device: &Device, hint: String) -> Result<Self, CheckpointError> {
        Ok(Self {
            views: safetensors::parse(weights)?,
            used: BTreeSet::new(),
            device: device.clone(),
            hint,
            error: None,
        })
    }

    fn tensor(&mut self, key: &str, expected: &[usize]) -> Result<Vec<f32>, CheckpointError> {
        let view = self
            .views
            .get(key)
            .ok_or_else(|| CheckpointError::Missing {
                key: key.to_string(),
                expected: expected.to_vec(),
                hint: self.hint.clone(),
            })?;
        if view.shape != expected {
            return Err(CheckpointError::Shape {
                key: key.to_string(),
                expected: expected.to_vec(),
                found: view.shape.clone(),
            });
        }
        let values = view.to_f32().ok_or_else(|| CheckpointError::Dtype {
            key: key.to_string(),
            dtype: view.dtype_name.clone(),
        })?;
        if values.iter().any(|v| !v.is_finite()) {
            return Err(CheckpointError::NonFinite {
                key: key.to_string(),
            });
        }
        self.used.insert(key.to_string());
        Ok(values)
    }

    fn param<const D: usize>(&self, values: Vec<f32>, shape: [usize; D]) -> Param<Tensor<D>> {
        Param::from_tensor(Tensor::from_data(
            TensorData::new(values, shape),
            &self.device,
        ))
    }

    fn fill(&mut self, key: String, slot: Slot) -> Result<(), CheckpointError> {
        match slot {
            Slot::Linear(l) => {
                let [d_in, d_out] = l.weight.lazy_shape().dims();
                let w = self.tensor(&format!("{key}.weight"), &[d_out, d_in])?;
                // [out, in] → [in, out]
                l.weight = self.param(transpose(&w, d_out, d_in), [d_in, d_out]);
                if l.bias.is_some() {
                    let b = self.tensor(&format!("{key}.bias"), &[d_out])?;
                    l.bias = Some(self.param(b, [d_out]));
                }
            }
            Slot::Norm(n) => {
                let [d] = n.gamma.lazy_shape().dims();
                let w = self.tensor(&format!("{key}.weight"), &[d])?;
                n.gamma = self.param(w, [d]);
            }
            Slot::Table(e) => {
                let [rows, d] = e.weight.lazy_shape().dims();
                let w = self.tensor(&format!("{key}.weight"), &[rows, d])?;
                e.weight = self.param(w, [rows, d]);
            }
        }
        Ok(())
    }

    fn visit(&mut self, key: String, slot: Slot) {
        if self.error.is_none()
            && let Err(e) = self.fill(key, slot)
        {
            self.error = Some(e);
        }
    }

    fn check_buffers(&mut self, buffers: Vec<(String, Buffer)>) -> Result<(), CheckpointError> {
        for (key, expected) in buffers {
            let Some(view) = self.views.get(&key) else {
                continue;
            };
            let why = match (&expected, view.dtype) {
                (Buffer::F32(want), Dtype::F32 | Dtype::F16 | Dtype::BF16) => {
                    let got = view.to_f32().unwrap_or_default();
                    if got.len() != want.len() {
                        Some(format!("{} values, expected {}", got.len(), want.len()))
                    } else {
                        got.iter()
                            .zip(want)
                            .position(|(g, w)| (g - w).abs() > 1e-6 * w.abs().max(1e-3))
                            .map(|i| format!("element {i} is {}, expected {}", got[i], want[i]))
                    }
                }
                (Buffer::I64(want), Dtype::I64) => {
                    let got = view.to_i64().unwrap_or_default();
                    (got != *want).then(|| format!("{got:?}, expected {want:?}"))
                }
                _ => Some(format!("dtype {}", view.dtype_name)),
            };
            if let Some(why) = why {
                return Err(CheckpointError::Buffer { key, why });
            }
            self.used.insert(key);
        }
        Ok(())
    }

    fn finish(self, what: &'static str) -> Result<(), CheckpointError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let extra: Vec<&String> = self
            .views
            .keys()
            .filter(|k| !self.used.contains(*k))
            .collect();
        if extra.is_empty() {
            return Ok(());
        }
        let mut keys = extra
            .iter()
            .take(8)
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        if extra.len() > 8 {
            keys.push_str(", …");
        }
        Err(CheckpointError::Unexpected {
            what,
            count: extra.len(),
            keys,
        })
    }
}

fn config_of<T>(
    json: &[u8],
    pick: impl FnOnce(AnyConfig) -> Result<T, CheckpointError>,
) -> Result<T, CheckpointError> {
    pick(parse_config(json)?)
}

/// Loads a tokenizer from its `config.json` and `model.safetensors` bytes.
pub fn load_tokenizer(
    config_json: &[u8],
    weights: &[u8],
    device: &Device,
) -> Result<KronosTokenizer, CheckpointError> {
    let config = config_of(config_json, |c| match c {
        AnyConfig::Tokenizer(t) => Ok(t),
        AnyConfig::Predictor(_) => Err(CheckpointError::Config(
            "this is a predictor's config (it has `n_layers`), not a tokenizer's".into(),
        )),
    })?;
    let mut model = KronosTokenizer::new(&config, device);
    let hint = format!(
        "; is this a Kronos tokenizer with d_model {}, {} encoder and {} decoder blocks?",
        config.d_model,
        config.n_enc_layers - 1,
        config.n_dec_layers - 1
    );
    let mut r = Reader::new(weights, device, hint)?;
    walk_tokenizer(&mut model, &mut |k, s| r.visit(k, s));
    r.check_buffers(tokenizer_buffers(&config))?;
    r.finish("tokenizer")?;
    Ok(model)
}

/// Loads a predictor from its `config.json` and `model.safetensors` bytes.
pub fn load_predictor(
    config_json: &[u8],
    weights: &[u8],
    device: &Device,
) -> Result<KronosPredictor, CheckpointError> {
    let config = config_of(config_json, |c| match c {
        AnyConfig::Predictor(p) => Ok(p),
        AnyConfig::Tokenizer(_) => Err(CheckpointError::Config(
            "this is a tokenizer's config (it has `n_enc_layers`), not a predictor's".into(),
        )),
    })?;
    let mut model = KronosPredictor::new(&config, device);
    let hint = format!(
        "; is this a Kronos predictor with d_model {} and {} layers?",
        config.d_model, config.n_layers
    );
    let mut r = Reader::new(weights, device, hint)?;
    walk_predictor(&mut model, &mut |k, s| r.visit(k, s));
    r.check_buffers(predictor_buffers(&config))?;
    r.finish("predictor")?;
    Ok(model)
}

/// A released predictor shape and the tokenizer it was trained with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReleasedPair {
    /// The predictor's hub name(s), e.g. `Kronos-mini`.
    pub predictor: &'static str,
    /// The tokenizer's hub name, e.g. `Kronos-Tokenizer-2k`.
    pub tokenizer: &'static str,
    /// That tokenizer's `group_size`, the one field in which the two tokenizers differ.
    pub group_size: usize,
}

/// The released pairing for a predictor of a released shape (mini with Tokenizer-2k; small
/// and base with Tokenizer-base), or `None` for another shape.
pub fn released_pair(predictor: &PredictorConfig) -> Option<ReleasedPair> {
    let shape = |p: &PredictorConfig| (p.d_model, p.n_layers, p.n_heads, p.ff_dim);
    if shape(predictor) == shape(&PredictorConfig::kronos_mini()) {
        Some(ReleasedPair {
            predictor: "Kronos-mini",
            tokenizer: "Kronos-Tokenizer-2k",
            group_size: 5,
        })
    } else if shape(predictor) == shape(&PredictorConfig::kronos_small())
        || shape(predictor) == shape(&PredictorConfig::kronos_base())
    {
        Some(ReleasedPair {
            predictor: "Kronos-small/-base",
            tokenizer: "Kronos-Tokenizer-base",
            group_size: 4,
        })
    } else {
        None
    }
}

/// Checks that a tokenizer and a predictor can work together. The ids must have the same
/// widths; and the released predictors were trained against one tokenizer each (mini with
/// Tokenizer-2k, whose `group_size` is 5; small and base with Tokenizer-base, 4), which the
/// reference loads in any pairing without a word.
pub fn check_pair(
    tokenizer: &TokenizerConfig,
    predictor: &PredictorConfig,
) -> Result<(), CheckpointError> {
    if tokenizer.s1_bits != predictor.s1_bits || tokenizer.s2_bits != predictor.s2_bits {
        return Err(CheckpointError::Mismatch(format!(
            "the tokenizer makes {}+{}-bit ids, the predictor reads {}+{}",
            tokenizer.s1_bits, tokenizer.s2_bits, predictor.s1_bits, predictor.s2_bits
        )));
    }
    if let Some(pair) = released_pair(predictor)
        && tokenizer.d_model == 256
        && tokenizer.group_size != pair.group_size
    {
        return Err(CheckpointError::Mismatch(format!(
            "{} was trained with {} (group_size {}); this tokenizer has group_size {}",
            pair.predictor, pair.tokenizer, pair.group_size, tokenizer.group_size
        )));
    }
    Ok(())
}

/// Weights and config of a model, ready to write as `model.safetensors` and `config.json`.
#[derive(Debug, Clone)]
pub struct Saved {
    pub config_json: String,
    pub safetensors: Vec<u8>,
}

fn collect(
    buffers: Vec<(String, Buffer)>,
    walk: impl FnOnce(&mut dyn FnMut(String, Slot)),
) -> Vec<u8> {
    let mut out: BTreeMap<String, Owned> = BTreeMap::new();
    let read =
        |t: Tensor<1>| -> Vec<f32> { t.into_data().try_to_vec::<f32>().expect("f32 parameters") };
    walk(&mut |key, slot| match slot {
        Slot::Linear(l) => {
            let [d_in, d_out] = l.weight.shape().dims();
            let w = read(l.weight.val().reshape([d_in * d_out]));
            out.insert(
                format!("{key}.weight"),
                Owned::F32(vec![d_out, d_in], transpose(&w, d_in, d_out)),
            );
            if let Some(b) = &l.bias {
                out.insert(
                    format!("{key}.bias"),
                    Owned::F32(vec![d_out], read(b.val())),
                );
            }
        }
        Slot::Norm(n) => {
            out.insert(
                format!("{key}.weight"),
                Owned::F32(n.gamma.shape().dims::<1>().to_vec(), read(n.gamma.val())),
            );
        }
        Slot::Table(e) => {
            let [rows, d] = e.weight.shape().dims();
            out.insert(
                format!("{key}.weight"),
                Owned::F32(vec![rows, d], read(e.weight.val().reshape([rows * d]))),
            );
        }
    });
    for (key, b) in buffers {
        let t = match b {
            Buffer::F32(v) => Owned::F32(vec![v.len()], v),
            Buffer::I64(v) => Owned::I64(vec![v.len()], v),
        };
        out.insert(key, t);
    }
    safetensors::serialize(&out)
}

fn pretty<T: serde::Serialize>(config: &T) -> String {
    serde_json::to_string_pretty(config).expect("config serialises")
}

/// The tokenizer in the reference's layout.
pub fn save_tokenizer(model: &KronosTokenizer) -> Saved {
    let mut m = model.clone();
    let config = m.config.clone();
    Saved {
        config_json: pretty(&config),
        safetensors: collect(tokenizer_buffers(&config), |f| walk_tokenizer(&mut m, f)),
    }
}

/// The predictor in the reference's layout.
pub fn save_predictor(model: &KronosPredictor) -> Saved {
    let mut m = model.clone();
    let config = m.config.clone();
    Saved {
        config_json: pretty(&config),
        safetensors: collect(predictor_buffers(&config), |f| walk_predictor(&mut m, f)),
    }
}

/// Parameters actually held by a module, to assert against the config's count.
pub fn parameter_count<M: Module>(m: &M) -> usize {
    m.num_params()
}

fn walk_classifier(m: &mut Classifier, f: &mut dyn FnMut(String, Slot)) {
    f("input".into(), Slot::Linear(&mut m.input));
    for (i, b) in m.blocks.iter_mut().enumerate() {
        walk_block(&format!("blocks.{i}"), b, f);
    }
    f("norm".into(), Slot::Norm(&mut m.norm));
    f("head".into(), Slot::Linear(&mut m.head));
}

/// The up/down/flat classifier as `config.json` and `model.safetensors`.
pub fn save_classifier(model: &Classifier) -> Saved {
    let mut m = model.clone();
    Saved {
        config_json: pretty(&m.config),
        safetensors: collect(Vec::new(), |f| walk_classifier(&mut m, f)),
    }
}

/// Loads a classifier from its `config.json` and `model.safetensors` bytes.
pub fn load_classifier(
    config_json: &[u8],
    weights: &[u8],
    device: &Device,
) -> Result<Classifier, CheckpointError> {
    let config: ClassifierConfig = serde_json::from_slice(config_json)
        .map_err(|e| CheckpointError::Config(format!("config.json: {e}")))?;
    config
        .validate()
        .map_err(|e| CheckpointError::Config(format!("config.json: {e}")))?;
    let mut model = Classifier::new(&config, device);
    let hint = format!(
        "; is this a kxian classifier with d_model {} and {} layers?",
        config.d_model, config.n_layers
    );
    let mut r = Reader::new(weights, device, hint)?;
    walk_classifier(&mut model, &mut |k, s| r.visit(k, s));
    r.finish("classifier")?;
    Ok(model)
}

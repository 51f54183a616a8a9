//! The models a prediction set can come from, behind one trait: a Kronos tokenizer +
//! predictor pair (the built-in default when none is named) and the up/down/flat classifier.
//! A new model kind implements [`SetModel`] and the rest of `predict` serves it unchanged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::tensor::Device;
use chrono::NaiveDate;
use kxian_shared::Bar;
use kxian_shared::calendar::TradingCalendar;
use kxian_shared::features::classify::{Market, context_rows};
use kxian_shared::model::Sampling;
use kxian_shared::model::checkpoint::check_pair;
use kxian_shared::model::classifier::{Classifier, batch};
use kxian_shared::model::forecast::{BatchInput, CacheMode, ForecastConfig, forecast_batch_fused};
use kxian_shared::model::fused::FusedKronos;
use kxian_shared::model::report::default_context;
use kxian_shared::model::{KronosPredictor, KronosTokenizer};
use kxian_shared::predictions::config::{ForecastSettings, ModelConfig, ModelKind};
use kxian_shared::predictions::rows::{PredictionRow, RowKind, classifier_row, kronos_row};
use kxian_shared::{Frequency, Symbol, features};
use serde::Serialize;

use crate::cli_error::BadInput;
use crate::models;

/// One symbol's history as of a date: its last bar is the as-of bar.
pub struct Context<'a> {
    pub symbol: &'a str,
    pub as_of: NaiveDate,
    pub bars: &'a [Bar],
}

/// A model that turns histories into prediction rows.
pub trait SetModel: Sync {
    fn kind(&self) -> RowKind;
    /// Bars of history a context needs (a symbol with fewer at a date gets no row).
    fn context(&self) -> usize;
    /// One row per context, in order; `seed` makes a row's draws its own.
    fn predict(&self, contexts: &[Context<'_>], seed: u64) -> anyhow::Result<Vec<PredictionRow>>;
}

/// What the stored set says about its model.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct ModelId {
    pub kind: RowKind,
    /// The folders (or the built-in model's name).
    pub name: String,
    /// SHA-256 of every file the model was read from, in order.
    pub sha256: Vec<String>,
}

fn hash_dir(dir: &Path) -> anyhow::Result<Vec<String>> {
    ["config.json", "model.safetensors"]
        .iter()
        .map(|f| {
            let p = dir.join(f);
            std::fs::read(&p)
                .map(|b| kxian_store::sha256_hex(&b))
                .map_err(|e| anyhow::Error::new(BadInput(format!("{}: {e}", p.display()))))
        })
        .collect()
}

/// A per-(symbol, date) seed: a row draws the same paths whatever else runs beside it.
pub fn row_seed(seed: u64, symbol: &str, as_of: NaiveDate) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in symbol.bytes().chain(as_of.to_string().bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

pub struct Kronos {
    tokenizer: KronosTokenizer,
    predictor: KronosPredictor,
    /// The history passes as fused CPU kernels, when the device is the CPU.
    fused: Option<FusedKronos>,
    device: Device,
    cfg: ForecastConfig,
    lookback: usize,
    frequency: Frequency,
}

impl SetModel for Kronos {
    fn kind(&self) -> RowKind {
        RowKind::Kronos
    }

    fn context(&self) -> usize {
        self.lookback
    }

    fn predict(&self, contexts: &[Context<'_>], seed: u64) -> anyhow::Result<Vec<PredictionRow>> {
        let cal = TradingCalendar::embedded();
        // Each context's rows, stamps and future stamps.
        type Prepared = (Vec<[f32; 6]>, Vec<[u32; 5]>, Vec<[u32; 5]>);
        let prepared: Vec<Prepared> = contexts
            .iter()
            .map(|c| {
                let last = c.bars.last().expect("a context has bars");
                let future: Vec<[u32; 5]> = cal
                    .next_bars(last.ts, self.frequency, self.cfg.horizon)
                    .iter()
                    .map(|b| features::stamp(b.ts))
                    .collect();
                (
                    features::kline_rows(c.bars),
                    c.bars.iter().map(|b| features::stamp(b.ts)).collect(),
                    future,
                )
            })
            .collect();
        let inputs: Vec<BatchInput> = prepared
            .iter()
            .zip(contexts)
            .map(|((rows, stamps, future), c)| BatchInput {
                rows,
                stamps,
                future_stamps: future,
                seed: row_seed(seed, c.symbol, c.as_of),
            })
            .collect();
        let sets = forecast_batch_fused(
            self.fused.as_ref(),
            &self.tokenizer,
            &self.predictor,
            &inputs,
            &self.cfg,
            &self.device,
        )?;
        let h = self.cfg.horizon;
        Ok(sets
            .iter()
            .zip(contexts)
            .map(|(s, c)| kronos_row(c.symbol, c.as_of, h as u32, &s.returns_at(h)))
            .collect())
    }
}

pub struct ClassifierModel {
    model: Classifier,
    device: Device,
    market: Option<Market>,
}

impl SetModel for ClassifierModel {
    fn kind(&self) -> RowKind {
        RowKind::Classifier
    }

    /// The context's bars plus the one before its first (its first daily return).
    fn context(&self) -> usize {
        self.model.config.context + 1
    }

    fn predict(&self, contexts: &[Context<'_>], _seed: u64) -> anyhow::Result<Vec<PredictionRow>> {
        let len = self.model.config.context;
        let rows: Vec<_> = contexts
            .iter()
            .map(|c| {
                context_rows(c.bars, c.bars.len() - 1, len, self.market.as_ref())
                    .expect("the context holds len + 1 bars")
            })
            .collect();
        let p: Vec<f32> = self
            .model
            .probabilities(batch(&rows, &self.device))
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| anyhow::anyhow!("reading the probabilities: {e:?}"))?;
        let h = self.model.config.label.horizon as u32;
        Ok(p.chunks(3)
            .zip(contexts)
            .map(|(p, c)| {
                classifier_row(
                    c.symbol,
                    c.as_of,
                    h,
                    [f64::from(p[0]), f64::from(p[1]), f64::from(p[2])],
                )
            })
            .collect())
    }
}

pub struct Loaded {
    pub model: Box<dyn SetModel>,
    pub id: ModelId,
    /// A series the model reads as the market, not a stock to predict.
    pub market: Option<Symbol>,
}

/// Loads the model the file names (paths resolved against `base`).
pub fn load(
    m: &ModelConfig,
    f: &ForecastSettings,
    base: &Path,
    device: &Device,
    series: &BTreeMap<Symbol, Vec<Bar>>,
) -> anyhow::Result<Loaded> {
    let resolve = |p: &PathBuf| crate::backtest::resolve(base, p);
    match m.kind {
        ModelKind::Kronos => {
            let (tokenizer, predictor, id) = match (&m.tokenizer, &m.predictor) {
                (Some(t), Some(p)) => {
                    let (t, p) = (resolve(t), resolve(p));
                    let tokenizer = models::load_tokenizer(&t, device)?;
                    let predictor = models::load_predictor(&p, device)?;
                    check_pair(&tokenizer.config, &predictor.config).map_err(|e| {
                        BadInput(format!(
                            "model: {} and {} do not pair: {e}",
                            t.display(),
                            p.display()
                        ))
                    })?;
                    let mut sha = hash_dir(&t)?;
                    sha.extend(hash_dir(&p)?);
                    let name = format!("{} + {}", t.display(), p.display());
                    (tokenizer, predictor, (name, sha))
                }
                _ => {
                    use models::default_model::*;
                    let (t, p) = models::load_default(device)
                        .map_err(|e| anyhow::anyhow!("the built-in model does not load: {e}"))?;
                    let sha = [
                        TOKENIZER_CONFIG,
                        TOKENIZER_WEIGHTS,
                        PREDICTOR_CONFIG,
                        PREDICTOR_WEIGHTS,
                    ]
                    .iter()
                    .map(|b| kxian_store::sha256_hex(b))
                    .collect();
                    (t, p, (NAME.to_string(), sha))
                }
            };
            let max_context = default_context(&predictor.config);
            crate::ensure_input!(
                f.lookback + f.horizon <= max_context,
                "forecast.lookback: {} history bars + {} forecast bars exceed the model's {}-token window",
                f.lookback,
                f.horizon,
                max_context
            );
            let cfg = ForecastConfig {
                horizon: f.horizon,
                sampling: Sampling {
                    temperature: f.temperature,
                    top_k: f.top_k,
                    top_p: f.top_p,
                },
                samples: f.samples,
                seed: f.seed,
                max_context,
                cache: CacheMode::Exact,
                repair_ohlc: false,
            };
            let id = (m.name.clone().unwrap_or(id.0), id.1);
            Ok(Loaded {
                model: Box::new(Kronos {
                    fused: (*device == Device::flex())
                        .then(|| FusedKronos::new(&tokenizer, &predictor)),
                    tokenizer,
                    predictor,
                    device: device.clone(),
                    cfg,
                    lookback: f.lookback,
                    frequency: Frequency::Daily,
                }),
                id: ModelId {
                    kind: RowKind::Kronos,
                    name: id.0,
                    sha256: id.1,
                },
                market: None,
            })
        }
        ModelKind::Classifier => {
            let dir = resolve(m.path.as_ref().expect("checked by the schema"));
            let model = crate::classifier::load_model(&dir, device)?;
            // The market index the classifier was trained with feeds every context's market
            // features; it must be in the universe, and gets no rows of its own.
            let market = match &model.config.market {
                Some(name) => {
                    let sym: Symbol = name
                        .parse()
                        .map_err(|e| BadInput(format!("the classifier's market {name}: {e}")))?;
                    crate::ensure_input!(
                        series.contains_key(&sym),
                        "model: the classifier was trained with the market {sym}; add it to [universe]"
                    );
                    Some(sym)
                }
                None => None,
            };
            let bars = market.as_ref().map(|m| Market::new(&series[m]));
            Ok(Loaded {
                model: Box::new(ClassifierModel {
                    model,
                    device: device.clone(),
                    market: bars,
                }),
                id: ModelId {
                    kind: RowKind::Classifier,
                    name: m.name.clone().unwrap_or_else(|| dir.display().to_string()),
                    sha256: hash_dir(&dir)?,
                },
                market,
            })
        }
    }
}

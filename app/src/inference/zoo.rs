//! A zoo classifier in the browser: its config and weights from the server (verified and
//! cached like every model), on the CPU backend, over the last bars of a series. The
//! probabilities are those `kxian-trainer evaluate-model --predictions` writes: P(up),
//! P(down) with strong falls included, P(flat).

use super::classify::Strip;
use super::{next_macrotask, weights};
use burn::tensor::{Device, Int, Tensor, TensorData};
use kxian_shared::Bar;
use kxian_shared::api::ZooModelEntry;
use kxian_shared::features::classify::Market;
use kxian_shared::features::factors::factor_rows;
use kxian_shared::zoo::config::{Condition, FeatureSet};
use kxian_shared::zoo::inputs::{Featurizer, MarketDays, RegimeIds};
use kxian_shared::zoo::net::read_outputs;
use kxian_shared::zoo::target::up_down_flat;

/// A zoo classifier's strip, with what its classes mean.
pub struct ZooStrip {
    pub strip: Strip,
    pub horizon: usize,
    /// The up and down thresholds of its classes (returns over the horizon).
    pub up: f64,
    pub down: f64,
}

/// Whether the browser can run this zoo model: a network (trees run on the server) with a
/// class part.
pub fn runs_here(entry: &ZooModelEntry) -> bool {
    entry.card.backbone != "gbdt" && entry.card.test.class.is_some()
}

/// Scores the last `last` bars of `bars` (those with a full context). `market` are every bar
/// of the model's market index, when it reads one: the regime rule reads the whole history.
pub async fn classify(
    entry: &ZooModelEntry,
    bars: &[Bar],
    market: Option<&[Bar]>,
    last: usize,
) -> Result<ZooStrip, String> {
    let (files, all_cached) =
        weights::fetch_files(&[&entry.files.config, &entry.files.weights], &|_, _, _| {}).await?;
    let device = Device::flex();
    let net = kxian_shared::zoo::io::load(&files[0], &files[1], &device)
        .map_err(|e| format!("{}: {e}", entry.id))?;
    let c = net.config.clone();
    if let Some(k) = c
        .conditions
        .iter()
        .find(|k| matches!(k, Condition::Industry | Condition::Style))
    {
        return Err(format!(
            "{}: conditioned on {k:?}, which needs the store's reference data; score it with evaluate-model or a job",
            entry.id
        ));
    }
    let class = c
        .parts
        .iter()
        .position(|p| p.classes().is_some())
        .ok_or_else(|| format!("{}: predicts no classes", entry.id))?;
    let (offset, width) = (c.offsets()[class], c.parts[class].width());
    if c.market.is_some() && market.is_none() {
        return Err(format!("{}: needs its market's bars", entry.id));
    }
    let m = market.map(Market::new);
    let days = market.map(MarketDays::new);
    let regimes = market.map(RegimeIds::new);
    let factors = if c.features.contains(&FeatureSet::Factors) {
        factor_rows(bars)
    } else {
        Vec::new()
    };
    let f = Featurizer {
        features: &c.features,
        market: m.as_ref(),
        market_days: days.as_ref(),
        factor_norm: &c.factor_norm,
    };
    let len = c.max_context;
    let mut probs = vec![None; bars.len()];
    let first = bars.len().saturating_sub(last).max(len);
    let ts: Vec<usize> = (first..bars.len()).collect();
    for chunk in ts.chunks(64) {
        let mut flat = Vec::with_capacity(chunk.len() * len * c.d_in);
        for &t in chunk {
            f.rows(bars, &factors, t, len, &mut flat)
                .ok_or("a context could not be built")?;
        }
        let x = Tensor::<3>::from_data(TensorData::new(flat, [chunk.len(), len, c.d_in]), &device);
        let regimes = regimes.as_ref();
        let ids = (!c.conditions.is_empty()).then(|| {
            let ids: Vec<i64> = chunk
                .iter()
                .flat_map(|&t| {
                    let day = bars[t].ts.date();
                    c.conditions.iter().map(move |k| match k {
                        Condition::Regime => regimes.map_or(0, |r| r.on(day)),
                        _ => 0,
                    })
                })
                .collect();
            Tensor::<2, Int>::from_data(
                TensorData::new(ids, [chunk.len(), c.conditions.len()]),
                &device,
            )
        });
        for (&t, o) in chunk.iter().zip(read_outputs(&c, net.forward(x, ids))) {
            probs[t] = Some(up_down_flat(&o[offset..offset + width]));
        }
        next_macrotask().await;
    }
    Ok(ZooStrip {
        strip: Strip {
            probs,
            context: len,
            all_cached,
        },
        horizon: c.thresholds.horizon,
        up: c.thresholds.up,
        down: c.thresholds.down,
    })
}

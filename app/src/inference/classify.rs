//! The up/down/flat classifier in the browser: its two files from the server (verified and
//! cached like the forecasting models), run on the CPU backend (the model is small enough
//! that WebGPU's start-up would cost more than it saves), over the last bars of a series.

use super::{next_macrotask, weights};
use burn::tensor::Device;
use kxian_shared::Bar;
use kxian_shared::api::ClassifierEntry;
use kxian_shared::features::classify::{Market, context_rows};
use kxian_shared::model::classifier::batch;
use kxian_shared::model::load_classifier;

/// P(up), P(down), P(flat) per bar of the series (`None` where it was not scored), and the
/// context the model needs.
pub struct Strip {
    pub probs: Vec<Option<[f64; 3]>>,
    pub context: usize,
    pub all_cached: bool,
}

/// Scores the last `last` bars of `bars` (those with a full context). `market` are the
/// market index's bars, when the model reads one.
pub async fn classify(
    entry: &ClassifierEntry,
    bars: &[Bar],
    market: Option<&[Bar]>,
    last: usize,
) -> Result<Strip, String> {
    let (files, all_cached) =
        weights::fetch_files(&[&entry.files.config, &entry.files.weights], &|_, _, _| {}).await?;
    let device = Device::flex();
    let model =
        load_classifier(&files[0], &files[1], &device).map_err(|e| format!("{}: {e}", entry.id))?;
    let context = model.config.context;
    let market = market.map(Market::new);
    let mut probs = vec![None; bars.len()];
    let first = bars.len().saturating_sub(last).max(context);
    let ts: Vec<usize> = (first..bars.len()).collect();
    for chunk in ts.chunks(64) {
        let rows: Vec<_> = chunk
            .iter()
            .filter_map(|&t| context_rows(bars, t, context, market.as_ref()))
            .collect();
        if rows.len() != chunk.len() {
            return Err("a context could not be built".into());
        }
        let p: Vec<f32> = model
            .probabilities(batch(&rows, &device))
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| format!("{e:?}"))?;
        for (&t, row) in chunk.iter().zip(p.chunks(3)) {
            probs[t] = Some([row[0] as f64, row[1] as f64, row[2] as f64]);
        }
        next_macrotask().await;
    }
    Ok(Strip {
        probs,
        context,
        all_cached,
    })
}

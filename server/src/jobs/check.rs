//! A cross-check download job: the source's bars, downloaded into the job's folder, compared
//! with the series the job's owner reads from the store. Nothing is stored; the result lists,
//! per series, the days the two disagree (`kxian-trainer health --against` does the same from
//! the command line).

use crate::storage::{Store, User, Viewer};
use kxian_shared::Symbol;
use kxian_shared::api::ImportOptions;
use kxian_shared::health::{CheckedSource, disagreement};
use kxian_shared::jobs::{DownloadJob, JobDir};

/// How far a bar may differ before it counts (one tick on a stock under 100 yuan).
pub(super) const TOLERANCE: f64 = 0.0001;

pub(super) async fn compare(
    store: &Store,
    dir: &JobDir,
    d: &DownloadJob,
    owner: &User,
) -> Result<CheckedSource, String> {
    let manifest = super::runner::read_manifest(dir)?;
    let opts = ImportOptions {
        adjustment: d.adjustment,
        ..ImportOptions::default()
    };
    let viewer = Viewer::of(owner);
    let mut out = CheckedSource {
        source: manifest.source.as_str().to_string(),
        frequency: d.frequency,
        adjustment: d.adjustment,
        series: Default::default(),
        not_stored: Vec::new(),
    };
    for (symbol, rec) in &manifest.series {
        let Some(file) = &rec.file else { continue };
        let bytes = std::fs::read(dir.data().join(file)).map_err(|e| format!("{file}: {e}"))?;
        let parsed = kxian_shared::ingest::parse_file(file, &bytes, &opts)
            .map_err(|e| format!("{file}: {e}"))?;
        let Some(theirs) = parsed.series.into_iter().next() else {
            continue;
        };
        let sym: Symbol = symbol.parse().map_err(|e| format!("{symbol}: {e}"))?;
        let ours = store
            .bars_for(
                &viewer,
                &sym,
                d.frequency,
                d.adjustment,
                None,
                None,
                u32::MAX,
            )
            .await
            .map_err(|e| e.to_string())?;
        match ours {
            Some(range) if !range.bars.is_empty() => {
                let source = rec.sources.last().unwrap_or(&manifest.source).as_str();
                out.series.insert(
                    symbol.clone(),
                    disagreement(source, &range.bars, &theirs.bars, TOLERANCE),
                );
            }
            _ => out.not_stored.push(symbol.clone()),
        }
    }
    Ok(out)
}

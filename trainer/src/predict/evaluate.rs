//! `kxian-trainer evaluate-predictions`: a prediction set against what happened next, beside
//! momentum, reversal and random-walk baselines on the same rows, optionally recalibrated.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kxian_shared::Bar;
use kxian_shared::predictions::calibrate::CalibrationOptions;
use kxian_shared::predictions::evaluate::{PredictionReport, report};
use kxian_shared::predictions::rows::{self, PredictionRow, RowKind};

use crate::backtest;
use crate::cli_error::BadInput;
use crate::store::StoreReader;

#[derive(Debug, Clone, clap::Args)]
pub struct EvaluatePredictionsArgs {
    /// The `predict` file: its universe gives the bars the outcomes are read from, its
    /// `[output]` the set (the stored one when it names a store, else its CSV).
    #[arg(long)]
    pub config: PathBuf,
    /// Evaluate this CSV instead (the contract's columns).
    #[arg(long, conflicts_with = "set")]
    pub predictions: Option<PathBuf>,
    /// Evaluate the stored set with this id (from the config's `[output] store`).
    #[arg(long)]
    pub set: Option<i64>,
    /// Recalibrate P(up) and the q10–q90 band on each date's known past; report before/after.
    #[arg(long)]
    pub calibrate: bool,
    /// Known rows each date's recalibration uses, newest first.
    #[arg(long, default_value_t = 2000)]
    pub window: usize,
    /// Known rows needed before a date is recalibrated (and scored as held out).
    #[arg(long, default_value_t = 100)]
    pub min_known: usize,
    /// Pseudo-rows of the known base rate in every isotonic block (0: plain isotonic).
    #[arg(long, default_value_t = 50)]
    pub shrink: usize,
    /// The report as JSON.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub reader: StoreReader,
}

/// A stored set's rows, read as `reader` may see them.
pub(crate) fn store_rows(
    db: &Path,
    reader: StoreReader,
    pick: StorePick<'_>,
) -> anyhow::Result<(RowKind, Vec<PredictionRow>)> {
    crate::store::with_writable_store(db, async |store| {
        let viewer = reader.viewer();
        let set = match pick {
            StorePick::Id(id) => store.prediction_set(viewer, id).await?,
            StorePick::Name(name) => store
                .prediction_sets(viewer)
                .await?
                .into_iter()
                .find(|s| s.name == name && s.owner_id == reader.as_user),
        };
        let Some(set) = set else {
            crate::bail_input!(
                "{}: no prediction set {pick} (run `predict` first)",
                db.display()
            );
        };
        Ok((set.kind, store.prediction_rows(&set).await?))
    })
}

#[derive(Clone, Copy)]
pub(crate) enum StorePick<'a> {
    Id(i64),
    Name(&'a str),
}

impl std::fmt::Display for StorePick<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StorePick::Id(id) => write!(f, "with id {id}"),
            StorePick::Name(n) => write!(f, "named `{n}`"),
        }
    }
}

pub fn run(args: &EvaluatePredictionsArgs) -> anyhow::Result<PredictionReport> {
    let c = super::parse_config(&args.config)?;
    let base = args
        .config
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let name = c.output.name.clone().unwrap_or_else(|| {
        args.config
            .file_stem()
            .map_or("predictions".into(), |s| s.to_string_lossy().into_owned())
    });
    let db = c.output.store.as_ref().map(|p| backtest::resolve(&base, p));
    let (kind, rows) = match (&args.predictions, args.set, &db, &c.output.csv) {
        (Some(p), _, _, _) => read_csv(p)?,
        (None, Some(id), Some(db), _) => store_rows(db, args.reader, StorePick::Id(id))?,
        (None, Some(_), None, _) => {
            crate::bail_input!("--set: {} names no [output] store", args.config.display())
        }
        (None, None, Some(db), _) => store_rows(db, args.reader, StorePick::Name(&name))?,
        (None, None, None, Some(csv)) => read_csv(&backtest::resolve(&base, csv))?,
        (None, None, None, None) => {
            crate::bail_input!(
                "{}: [output] names no csv or store to read the set from",
                args.config.display()
            )
        }
    };
    crate::ensure_input!(!rows.is_empty(), "the prediction set has no rows");
    let universe = backtest::load_universe_as(&c.universe, &base, args.reader)?;
    let bars: BTreeMap<String, Vec<Bar>> = universe
        .series()
        .iter()
        .map(|(s, b)| (s.to_string(), b.clone()))
        .collect();
    let calibration = args.calibrate.then_some(CalibrationOptions {
        window: args.window,
        min_known: args.min_known,
        shrink: args.shrink,
    });
    let mut r = report(kind, &rows, &bars, calibration);
    if let Some(index) = kxian_shared::backtest::fields::regime_index(&universe) {
        let name = c.universe.benchmark_symbol().0;
        r.by_regime = kxian_shared::predictions::evaluate::by_regime(&r.by_date, &name, index);
    }
    r.by_bucket = buckets(&universe, &rows, &bars);
    crate::ensure_input!(
        r.scored > 0,
        "none of the {} rows can be scored: {} have no outcome in the bars yet and {} no bar on their date",
        r.rows,
        r.left.outcome_unknown,
        r.left.no_bar
    );
    Ok(r)
}

/// The score's rank IC within sectors and size fifths, from the universe's reference data
/// (nothing without it): a name's sector on the as-of date, and its float cap that day.
fn buckets(
    universe: &kxian_shared::backtest::engine::Universe,
    rows: &[kxian_shared::predictions::rows::PredictionRow],
    bars: &BTreeMap<String, Vec<Bar>>,
) -> Vec<kxian_shared::predictions::evaluate::BucketStats> {
    use kxian_shared::Symbol;
    use kxian_shared::predictions::evaluate::{by_bucket, size_fifths};
    let sym = |s: &str| s.parse::<Symbol>().ok();
    let mut out = Vec::new();
    if universe.has_sectors() {
        out.extend(by_bucket(rows, bars, "sector", &|d, names| {
            names
                .iter()
                .map(|n| {
                    sym(n)
                        .and_then(|s| universe.sector(&s, d))
                        .map(|x| x.as_str().to_string())
                })
                .collect()
        }));
    }
    if universe.has_float_shares() {
        out.extend(by_bucket(rows, bars, "size", &|d, names| {
            let caps: Vec<Option<f64>> = names
                .iter()
                .map(|n| {
                    let s = sym(n)?;
                    let close = bars
                        .get(*n)?
                        .iter()
                        .take_while(|b| b.ts.date() <= d)
                        .last()?
                        .close;
                    Some(close * universe.float_shares(&s, d)?)
                })
                .collect();
            size_fifths(&caps)
        }));
    }
    out
}

fn read_csv(path: &Path) -> anyhow::Result<(RowKind, Vec<PredictionRow>)> {
    let text =
        std::fs::read_to_string(path).map_err(|e| BadInput(format!("{}: {e}", path.display())))?;
    rows::from_csv(&text)
        .map_err(|e| anyhow::Error::new(BadInput(format!("{}: {e}", path.display()))))
}

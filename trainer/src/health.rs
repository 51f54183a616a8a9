//! `kxian-trainer health`: each stored series against the exchange calendar — its source, its
//! last bar, the trading days missing between its first and last bar, and how far behind today
//! it is — worst first. With `--against DIR` (a download folder from another source, not
//! imported), also the days where that source's bars differ from the stored ones.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use kxian_shared::health::{disagreement, report};
use kxian_shared::{Adjustment, Frequency};

use crate::store::{self, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HealthFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, clap::Args)]
pub struct HealthArgs {
    /// The store (default: the one `kxian serve` uses).
    #[arg(long)]
    pub store: Option<PathBuf>,
    #[arg(long, default_value = "daily")]
    pub frequency: Frequency,
    #[arg(long, default_value = "none")]
    pub adjustment: Adjustment,
    /// The day staleness is counted to (default: today).
    #[arg(long)]
    pub today: Option<NaiveDate>,
    #[arg(long, value_enum, default_value_t = HealthFormat::Text)]
    pub format: HealthFormat,
    /// A download folder from another source (`kxian-trainer download --source tushare
    /// --symbols … --out DIR`, not imported): each of its series is compared with the stored one.
    #[arg(long)]
    pub against: Option<PathBuf>,
    /// With --against: a bar disagrees when a price or its volume differs by more than this
    /// fraction of the stored value. The default flags one tick on any stock under 100 yuan;
    /// forward-adjusted series from two sources differ by their adjustment base, so loosen it
    /// there.
    #[arg(long, default_value_t = 0.0001, requires = "against")]
    pub tolerance: f64,
    #[command(flatten)]
    pub reader: store::StoreReader,
}

pub use kxian_shared::health::HealthReport;

#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The --against folder cannot be read or does not match the series asked for.
    #[error("--against {path}: {problem}")]
    Against { path: PathBuf, problem: String },
}

pub fn run(args: &HealthArgs) -> Result<HealthReport, HealthError> {
    let path = args.store.clone().unwrap_or_else(kxian_store::default_path);
    let today = args
        .today
        .unwrap_or_else(|| chrono::Local::now().date_naive());
    let other = args
        .against
        .as_deref()
        .map(|dir| against(dir, args))
        .transpose()?;
    let stored = store::series_days(&path, args.frequency, args.adjustment, args.reader)?;
    let names: Vec<String> = stored.iter().map(|s| s.symbol.clone()).collect();
    let status = store::reference_of(&path, &names)?.status;
    let mut r = report(
        stored
            .iter()
            .map(|s| (s.symbol.as_str(), s.source.as_str(), s.days.as_slice())),
        &status,
        args.frequency,
        args.adjustment,
        today,
    );
    if let Some((source, series)) = other {
        let asked: Vec<String> = r
            .series
            .iter()
            .filter(|h| series.contains_key(&h.symbol))
            .map(|h| h.symbol.clone())
            .collect();
        let sel = store::StoreSelection {
            store: None,
            symbols: asked.clone(),
            board: None,
            frequency: args.frequency,
            adjustment: args.adjustment,
            from: None,
            to: None,
            reader: args.reader,
        };
        let ours: BTreeMap<String, Vec<kxian_shared::Bar>> = if asked.is_empty() {
            BTreeMap::new()
        } else {
            store::load(&sel, &path)?.into_iter().collect()
        };
        for h in &mut r.series {
            if let (Some(o), Some(t)) = (ours.get(&h.symbol), series.get(&h.symbol)) {
                h.disagreement = Some(disagreement(&source, o, t, args.tolerance));
            }
        }
    }
    Ok(r)
}

/// The other source's series in a download folder, by symbol, and the source's name.
fn against(
    dir: &Path,
    args: &HealthArgs,
) -> Result<(String, BTreeMap<String, Vec<kxian_shared::Bar>>), HealthError> {
    let bad = |problem: String| HealthError::Against {
        path: dir.to_path_buf(),
        problem,
    };
    let file = dir.join(kxian_shared::jobs::MANIFEST);
    let m: kxian_shared::jobs::Manifest = serde_json::from_slice(
        &std::fs::read(&file).map_err(|e| bad(format!("{}: {e}", file.display())))?,
    )
    .map_err(|e| bad(format!("{}: not a download manifest ({e})", file.display())))?;
    if (m.frequency, m.adjustment) != (args.frequency, args.adjustment) {
        return Err(bad(format!(
            "it holds {} {} bars; this check is of {} {} series (--frequency, --adjustment)",
            m.frequency.as_str(),
            m.adjustment.as_str(),
            args.frequency.as_str(),
            args.adjustment.as_str()
        )));
    }
    let mut out = BTreeMap::new();
    for r in m.series.values() {
        let Some(name) = &r.file else { continue };
        let csv = dir.join(name);
        let bytes = std::fs::read(&csv).map_err(|e| bad(format!("{name}: {e}")))?;
        let parsed = kxian_shared::ingest::parse_file(name, &bytes, &Default::default())
            .map_err(|e| bad(e.to_string()))?;
        if let Some(s) = parsed.series.into_iter().next() {
            out.insert(r.symbol.clone(), s.bars);
        }
    }
    // The series' own sources when failover mixed them, else the folder's.
    let sources: std::collections::BTreeSet<&str> = m
        .series
        .values()
        .flat_map(|r| r.sources.iter().map(|s| s.as_str()))
        .collect();
    let source = if sources.is_empty() {
        m.source.as_str().to_string()
    } else {
        sources.into_iter().collect::<Vec<_>>().join("+")
    };
    Ok((source, out))
}

pub fn text(r: &HealthReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} stored series ({}, {}), checked against the exchange calendar on {}",
        r.series.len(),
        r.frequency.as_str(),
        r.adjustment.as_str(),
        r.today
    );
    let w = r
        .series
        .iter()
        .map(|h| h.source.chars().count())
        .max()
        .unwrap_or(0)
        .max(6);
    let _ = writeln!(
        s,
        "{:<11} {:<w$} {:>10} {:>10} {:>6} {:>8} {:>9} {:>7} {:>7}  first missing days",
        "symbol", "source", "first", "last", "days", "missing", "suspended", "longest", "behind"
    );
    let day = |d: Option<NaiveDate>| d.map_or("—".to_string(), |d| d.to_string());
    for h in &r.series {
        let listed: Vec<String> = h.missing_days.iter().map(|d| d.to_string()).collect();
        let _ = writeln!(
            s,
            "{:<11} {:<w$} {:>10} {:>10} {:>6} {:>8} {:>9} {:>7} {:>7}  {}",
            h.symbol,
            h.source,
            day(h.first),
            day(h.last),
            h.days,
            h.missing,
            h.suspended,
            h.longest_gap,
            h.behind,
            listed.join(" ")
        );
    }
    for h in &r.series {
        if let Some(d) = &h.disagreement {
            let listed: Vec<String> = d
                .listed
                .iter()
                .map(|x| {
                    let ts = if x.ts.time() == chrono::NaiveTime::MIN {
                        x.ts.date().to_string()
                    } else {
                        x.ts.format("%Y-%m-%d %H:%M").to_string()
                    };
                    format!("{ts} {} {} vs {}", x.field, x.ours, x.theirs)
                })
                .collect();
            let _ = writeln!(
                s,
                "{:<11} against {}: {} of {} bars disagree{}{}",
                h.symbol,
                d.source,
                d.days,
                d.compared,
                if listed.is_empty() { "" } else { ": " },
                listed.join("; ")
            );
        }
    }
    let _ = writeln!(
        s,
        "missing: trading days between a series' first and last bar without a bar (a hole in the download, or a suspension the store's reference data does not know); suspended: such days in a stored suspension; behind: trading days after its last bar up to {}",
        r.today
    );
    s
}

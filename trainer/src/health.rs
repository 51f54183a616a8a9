//! `kxian-trainer health`: each stored series against the exchange calendar — its source, its
//! last bar, the trading days missing between its first and last bar, and how far behind today
//! it is — worst first.

use std::fmt::Write as _;
use std::path::PathBuf;

use chrono::NaiveDate;
use kxian_shared::health::report;
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
    #[command(flatten)]
    pub reader: store::StoreReader,
}

pub use kxian_shared::health::HealthReport;

pub fn run(args: &HealthArgs) -> Result<HealthReport, StoreError> {
    let path = args.store.clone().unwrap_or_else(kxian_store::default_path);
    let today = args
        .today
        .unwrap_or_else(|| chrono::Local::now().date_naive());
    let stored = store::series_days(&path, args.frequency, args.adjustment, args.reader)?;
    let names: Vec<String> = stored.iter().map(|s| s.symbol.clone()).collect();
    let status = store::reference_of(&path, &names)?.status;
    Ok(report(
        stored
            .iter()
            .map(|s| (s.symbol.as_str(), s.source.as_str(), s.days.as_slice())),
        &status,
        args.frequency,
        args.adjustment,
        today,
    ))
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
    let _ = writeln!(
        s,
        "missing: trading days between a series' first and last bar without a bar (a hole in the download, or a suspension the store's reference data does not know); suspended: such days in a stored suspension; behind: trading days after its last bar up to {}",
        r.today
    );
    s
}

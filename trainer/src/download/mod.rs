//! `kxian-trainer download`: bars from a market-data source into an output folder, one CSV
//! per series (canonical units: raw or adjusted prices as asked, volume in shares, amount in
//! CNY) with a `manifest.json` that records each series' provenance and outcome.
//!
//! - **Polite**: one request at a time per host, a minimum interval, retries with exponential
//!   backoff and jitter on 429, 5xx and dropped connections ([`http`]).
//! - **Per symbol**: an unknown symbol, an empty answer or a failure is that symbol's outcome in
//!   the manifest and the progress events; the run goes on and exits 0 unless every symbol
//!   failed.
//! - **Incremental and resumable**: a series starts after its last bar in the manifest (or in
//!   `--store`), and new bars are appended to its CSV. The manifest is rewritten atomically
//!   after each symbol, so an interrupted run picks up where it stopped.
//!
//! The server's job runner imports the CSVs into the store; by hand, `kxian import DIR/*.csv`.

pub mod csindex;
pub mod eastmoney;
pub mod http;
pub mod reference;
mod source;
pub mod tdx;
pub mod tushare;
pub mod yahoo;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveDate;
use kxian_shared::{Adjustment, Bar, Frequency, Symbol};

use crate::progress::{Progress, ProgressMode};
use eastmoney::Kline;
use http::{Client, Policy};
use kxian_shared::jobs::{JobEvent, StageName, StagePlan, StageSummary};
use source::BarSource;

/// Where bars come from: the job contract's source, also on the command line.
pub use kxian_shared::jobs::DownloadSource as Source;

/// `--source`: the contract's names, listed in `--help`.
fn source_parser() -> impl clap::builder::TypedValueParser<Value = Source> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(Source::ALL.map(Source::as_str)).map(|s| {
        Source::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .expect("one of the possible values")
    })
}

/// A credential: its `Debug` and `Display` print nothing of it, so logs cannot leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.trim().to_string()))
    }
}

pub use kxian_shared::jobs::UniverseChoice;

/// `--universe`: `all-etfs` (every ETF of the source's list) or `all-a` (every A share).
fn universe_parser() -> impl clap::builder::TypedValueParser<Value = UniverseChoice> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(UniverseChoice::ALL.map(UniverseChoice::as_str)).map(
        |s| {
            UniverseChoice::ALL
                .into_iter()
                .find(|x| x.as_str() == s)
                .expect("one of the possible values")
        },
    )
}

#[derive(Debug, Clone, clap::Args)]
pub struct DownloadArgs {
    /// Where bars come from; a list (`eastmoney,tushare,yahoo`) is tried in order per symbol: a
    /// source that fails, answers nothing or does not know the symbol hands it to the next.
    #[arg(long, value_parser = source_parser(), value_delimiter = ',', default_value = "eastmoney")]
    pub source: Vec<Source>,
    /// Symbols in any spelling (600000, sh600000, 510310, 000300.SH), comma-separated.
    #[arg(long, value_delimiter = ',', required_unless_present_any = ["universe", "reference"])]
    pub symbols: Vec<String>,
    /// Reference data instead of bars (Tushare): industries, listing days, index members over
    /// time, shares and PE/PB at each month's end, ST periods and suspensions, written as
    /// `reference.json` in --out. Over --from..--to (default: the ten years up to today).
    #[arg(long, conflicts_with_all = ["symbols", "universe"])]
    pub reference: bool,
    /// With --reference: today's member lists of --index from CSIndex (no account) instead of
    /// Tushare's history; each list, imported, carries the stored history forward to its day.
    #[arg(long, requires = "reference")]
    pub csindex: bool,
    /// CSIndex's file host.
    #[arg(
        long,
        env = "KXIAN_CSINDEX_URL",
        default_value = "https://oss-ch.csindex.com.cn"
    )]
    pub csindex_url: String,
    /// With --reference: the indices whose members to fetch.
    #[arg(long, value_delimiter = ',', requires = "reference",
          default_values_t = reference::DEFAULT_INDICES.map(String::from))]
    pub index: Vec<String>,
    /// Instead of (or as well as) --symbols: a whole list from the source.
    #[arg(long, value_parser = universe_parser())]
    pub universe: Option<UniverseChoice>,
    /// With --universe: only this many names, those with the largest float market cap today
    /// (seed 003's "start with 100").
    #[arg(long, requires = "universe", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
    #[arg(long, default_value = "daily")]
    pub frequency: Frequency,
    /// none (raw), qfq or hfq: each is its own series, never mixed.
    #[arg(long, default_value = "none")]
    pub adjustment: Adjustment,
    /// First day (default: from listing).
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// Last day (default: today).
    #[arg(long)]
    pub to: Option<NaiveDate>,
    /// Output folder: one CSV per series and manifest.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Start each series after its last bar in this store (read-only), too.
    #[arg(long)]
    pub store: Option<PathBuf>,
    #[command(flatten)]
    pub reader: crate::store::StoreReader,
    /// Base URL of the kline host (a mock server in tests).
    #[arg(
        long,
        env = "KXIAN_EASTMONEY_URL",
        default_value = "https://push2his.eastmoney.com"
    )]
    pub eastmoney_url: String,
    /// Base URL of the spot-list host.
    #[arg(
        long,
        env = "KXIAN_EASTMONEY_LIST_URL",
        default_value = "https://push2delay.eastmoney.com"
    )]
    pub eastmoney_list_url: String,
    /// Tushare Pro's endpoint.
    #[arg(
        long,
        env = "KXIAN_TUSHARE_URL",
        default_value = "http://api.tushare.pro"
    )]
    pub tushare_url: String,
    /// Your Tushare Pro token. Prefer the environment variable: arguments show in `ps`.
    #[arg(long, env = "KXIAN_TUSHARE_TOKEN", hide_env_values = true)]
    pub tushare_token: Option<Secret>,
    /// How long to wait when Tushare says the per-minute quota is used up.
    #[arg(long, default_value_t = 61_000)]
    pub tushare_quota_wait_ms: u64,
    /// TDX quote servers (`host:port`, comma-separated, tried in order) for `--source tdx`.
    /// Public servers stopped answering bar requests in July 2026; a broker's or your own
    /// server that still speaks the legacy protocol works.
    #[arg(long, env = "KXIAN_TDX_HOST", value_delimiter = ',')]
    pub tdx_host: Vec<String>,
    /// Yahoo's chart host.
    #[arg(
        long,
        env = "KXIAN_YAHOO_URL",
        default_value = "https://query2.finance.yahoo.com"
    )]
    pub yahoo_url: String,
    /// Minimum milliseconds between two requests to one host (Tushare's free tier allows about
    /// 50 a minute: use 1200 there).
    #[arg(long, default_value_t = 500)]
    pub min_interval_ms: u64,
    /// Attempts per request (429, 5xx and dropped connections are retried).
    #[arg(long, default_value_t = 4)]
    pub attempts: u32,
    /// Backoff base in milliseconds: retry k waits base × 2^k plus 0.5–1.5 × base of jitter.
    #[arg(long, default_value_t = 1000)]
    pub backoff_ms: u64,
    #[arg(long, default_value_t = 15)]
    pub timeout_s: u64,
    #[arg(long, value_enum, default_value_t = ProgressMode::Bar)]
    pub progress: ProgressMode,
}

pub use kxian_shared::jobs::{MANIFEST, Manifest, Outcome, SeriesRecord};

#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("{0}")]
    Args(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("the {what} list: {error}")]
    List { what: &'static str, error: String },
    /// A source failed after its retries (the run's failure, not the input's).
    #[error("{0}")]
    Failed(String),
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> DownloadError + '_ {
    move |source| DownloadError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn file_name(symbol: &Symbol, f: Frequency, a: Adjustment) -> String {
    format!("{symbol}.{}.{}.csv", f.as_str(), a.as_str())
}

/// The header the importer reads as shares and CNY whatever the layout guess.
pub const CSV_HEADER: &str = "date,open,high,low,close,volume(shares),amount(cny)";

fn append_csv(path: &Path, bars: &[Bar], intraday: bool) -> Result<(), DownloadError> {
    let exists = path.exists();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io(path))?;
    let mut text = String::new();
    if !exists {
        text.push_str(CSV_HEADER);
        text.push('\n');
    }
    for b in bars {
        let ts = if intraday {
            b.ts.format("%Y-%m-%d %H:%M").to_string()
        } else {
            b.ts.date().to_string()
        };
        let amount = b.amount.map_or(String::new(), |a| format!("{a}"));
        text.push_str(&format!(
            "{ts},{},{},{},{},{},{amount}\n",
            b.open, b.high, b.low, b.close, b.volume
        ));
    }
    f.write_all(text.as_bytes()).map_err(io(path))
}

fn write_manifest(dir: &Path, m: &Manifest) -> Result<(), DownloadError> {
    let path = dir.join(MANIFEST);
    let tmp = dir.join(".manifest.json.tmp");
    let json = serde_json::to_string_pretty(m).expect("manifest serialises") + "\n";
    std::fs::write(&tmp, json).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io(&path))
}

fn read_manifest(dir: &Path) -> Option<Manifest> {
    serde_json::from_slice(&std::fs::read(dir.join(MANIFEST)).ok()?).ok()
}

/// The whole command. Returns the manifest of this folder after the run.
impl DownloadArgs {
    /// The first source of `--source`: the manifest's, and the lists'.
    pub fn primary(&self) -> Source {
        self.source.first().copied().unwrap_or(Source::Eastmoney)
    }
}

/// The polite HTTP client a download's requests go through; `seed` varies its jitter.
fn client(args: &DownloadArgs, seed: u64) -> Client {
    let policy = Policy {
        min_interval: Duration::from_millis(args.min_interval_ms),
        attempts: args.attempts,
        backoff_base: Duration::from_millis(args.backoff_ms),
        timeout: Duration::from_secs(args.timeout_s),
    };
    let headers = vec![
        (
            "User-Agent".to_string(),
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36".to_string(),
        ),
        ("Referer".to_string(), "https://quote.eastmoney.com/".to_string()),
    ];
    Client::new(policy, 0x5EED ^ seed, headers)
}

/// Tushare answers nothing without the user's token: refused before any request.
fn needs_tushare_token(args: &DownloadArgs) -> Result<(), DownloadError> {
    if args
        .tushare_token
        .as_ref()
        .is_none_or(|t| t.expose().is_empty())
    {
        return Err(DownloadError::Args(
            "--source tushare needs your token: --tushare-token or KXIAN_TUSHARE_TOKEN".into(),
        ));
    }
    Ok(())
}

/// `--reference`: Tushare's reference data into `--out/reference.json`; what it holds, counted.
pub fn run_reference(
    args: &DownloadArgs,
) -> Result<kxian_shared::reference::ReferenceData, DownloadError> {
    if args.csindex {
        let indices = index_symbols(args)?;
        std::fs::create_dir_all(&args.out).map_err(io(&args.out))?;
        let data = csindex::run(args, &indices)?;
        return write_reference(args, data);
    }
    if args.source != [Source::Tushare] {
        return Err(DownloadError::Args(format!(
            "--reference: reference data comes from Tushare Pro (--source tushare), not {}",
            args.source
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(",")
        )));
    }
    needs_tushare_token(args)?;
    let indices: Vec<String> = index_symbols(args)?.iter().map(|s| s.to_string()).collect();
    std::fs::create_dir_all(&args.out).map_err(io(&args.out))?;
    let data = reference::run(args, &indices)?;
    write_reference(args, data)
}

/// `--index`, each checked to be an index.
fn index_symbols(args: &DownloadArgs) -> Result<Vec<Symbol>, DownloadError> {
    args.index
        .iter()
        .map(|i| {
            let sym = i
                .parse::<Symbol>()
                .map_err(|e| DownloadError::Args(format!("--index `{i}`: {e}")))?;
            if sym.kind() != kxian_shared::InstrumentKind::Index {
                return Err(DownloadError::Args(format!(
                    "--index `{i}`: {sym} is not an index"
                )));
            }
            Ok(sym)
        })
        .collect()
}

/// Writes `reference.json` into `--out` atomically.
fn write_reference(
    args: &DownloadArgs,
    data: kxian_shared::reference::ReferenceData,
) -> Result<kxian_shared::reference::ReferenceData, DownloadError> {
    let path = args.out.join(reference::REFERENCE_FILE);
    let tmp = path.with_extension("json.tmp");
    std::fs::write(
        &tmp,
        serde_json::to_vec_pretty(&data).expect("serialisable"),
    )
    .map_err(io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    Ok(data)
}

pub fn run(args: &DownloadArgs) -> Result<Manifest, DownloadError> {
    for (k, source) in args.source.iter().enumerate() {
        if *source == Source::Tushare {
            needs_tushare_token(args)?;
        }
        match source {
            Source::Tushare | Source::Yahoo if args.frequency != Frequency::Daily => {
                return Err(DownloadError::Args(format!(
                    "--frequency {}: this source gives daily bars only",
                    args.frequency.as_str()
                )));
            }
            Source::Yahoo if args.adjustment == Adjustment::Hfq => {
                return Err(DownloadError::Args(
                    "--adjustment hfq: Yahoo gives raw and forward-adjusted (qfq) prices only"
                        .into(),
                ));
            }
            Source::Tdx if args.adjustment != Adjustment::None => {
                return Err(DownloadError::Args(format!(
                    "--adjustment {}: TDX gives raw prices only (--adjustment none)",
                    args.adjustment.as_str()
                )));
            }
            Source::Tdx if args.tdx_host.is_empty() => {
                return Err(DownloadError::Args(
                    "--source tdx needs a quote server: --tdx-host HOST:PORT or KXIAN_TDX_HOST (public servers stopped answering bar requests in July 2026; a broker's or your own server that still does works)".into(),
                ));
            }
            Source::Tushare | Source::Yahoo | Source::Tdx if k == 0 && args.universe.is_some() => {
                return Err(DownloadError::Args(
                "--universe: the lists come from Eastmoney; use --symbols with this source, or put eastmoney first".into(),
            ));
            }
            _ => {}
        }
    }
    let mut seen = Vec::new();
    for s in &args.source {
        if seen.contains(s) {
            return Err(DownloadError::Args(format!(
                "--source: {} twice",
                s.as_str()
            )));
        }
        seen.push(*s);
    }
    if args.frequency == Frequency::M1
        && args
            .from
            .is_some_and(|f| f < chrono::Local::now().date_naive() - chrono::Days::new(10))
    {
        tracing::warn!(
            "--frequency 1m: Eastmoney keeps one-minute bars of the last 5 trading days only; earlier minutes will not arrive"
        );
    }
    let mut symbols: Vec<Symbol> = Vec::new();
    for s in &args.symbols {
        let sym = s
            .parse::<Symbol>()
            .map_err(|e| DownloadError::Args(format!("--symbols `{s}`: {e}")))?;
        if !symbols.contains(&sym) {
            symbols.push(sym);
        }
    }
    std::fs::create_dir_all(&args.out).map_err(io(&args.out))?;
    let mut lists = eastmoney::EastmoneySource {
        args,
        client: client(args, symbols.len() as u64),
    };
    if let Some(u) = args.universe {
        for s in lists.list(u, args.limit.map(|n| n as usize))? {
            if !symbols.contains(&s) {
                symbols.push(s);
            }
        }
    }
    // The lists' client serves Eastmoney's bars too: one politeness interval per host.
    let mut lists_client = Some(lists.client);
    let mut sources: Vec<(Source, Box<dyn BarSource + '_>)> = Vec::new();
    for (k, s) in args.source.iter().enumerate() {
        let client = match (*s, lists_client.take()) {
            (Source::Eastmoney, Some(c)) => c,
            (_, kept) => {
                lists_client = kept;
                client(args, symbols.len() as u64 + k as u64)
            }
        };
        let b: Box<dyn BarSource + '_> = match s {
            Source::Eastmoney => Box::new(eastmoney::EastmoneySource { args, client }),
            Source::Tushare => Box::new(tushare::TushareSource { args, client }),
            Source::Yahoo => Box::new(yahoo::YahooSource { args, client }),
            Source::Tdx => Box::new(tdx::TdxSource {
                args,
                session: None,
                requests: 0,
                last: None,
            }),
        };
        sources.push((*s, b));
    }
    let lists_requests = lists_client.map_or(0, |c| c.requests);
    let requests = |sources: &[(Source, Box<dyn BarSource + '_>)]| {
        lists_requests + sources.iter().map(|(_, b)| b.requests()).sum::<u64>()
    };
    let stored = match &args.store {
        Some(db) => crate::store::last_bar_days(db, args.frequency, args.adjustment, args.reader)?,
        None => BTreeMap::new(),
    };
    let mut manifest = read_manifest(&args.out)
        .filter(|m| {
            m.source == args.primary()
                && m.frequency == args.frequency
                && m.adjustment == args.adjustment
        })
        .unwrap_or(Manifest {
            source: args.primary(),
            frequency: args.frequency,
            adjustment: args.adjustment,
            series: BTreeMap::new(),
        });
    let mut progress = Progress::new(args.progress, symbols.len() as u64, "symbols", None)
        .map_err(io(&args.out))?;
    let bar = progress.bar().clone();
    progress.emit(&JobEvent::Start {
        stage: StageName::Download,
        plan: StagePlan::Symbols {
            symbols: symbols.len(),
        },
    });
    let intraday = args.frequency.is_intraday();
    let total = symbols.len();
    for (index, symbol) in symbols.iter().enumerate() {
        let key = symbol.to_string();
        let held = manifest.series.get(&key).and_then(|r| r.last);
        let last_known = held.max(stored.get(&key).copied());
        // Start at the last bar held: it is fetched again and dropped, so an answer that
        // only repeats it is "up to date", not "empty".
        let beg = match (last_known, args.from) {
            (Some(l), Some(f)) => Some(l.max(f)),
            (Some(l), None) => Some(l),
            (None, f) => f,
        };
        let before = requests(&sources);
        let previous = manifest.series.get(&key).cloned();
        let file = file_name(symbol, args.frequency, args.adjustment);
        let mut record = SeriesRecord {
            symbol: key.clone(),
            name: previous.as_ref().and_then(|p| p.name.clone()),
            file: previous.as_ref().and_then(|p| p.file.clone()),
            request: previous.as_ref().and_then(|p| p.request.clone()),
            last: last_known,
            bars: previous.as_ref().map_or(0, |p| p.bars),
            outcome: Outcome::Empty,
            requests: 0,
            // A series from before sources were recorded came from the manifest's source.
            sources: previous.as_ref().map_or(Vec::new(), |p| {
                if p.sources.is_empty() && p.file.is_some() {
                    vec![manifest.source]
                } else {
                    p.sources.clone()
                }
            }),
            passed_over: Vec::new(),
        };
        let last_source = sources.len() - 1;
        for (k, (name, source)) in sources.iter_mut().enumerate() {
            let fetched = source.fetch(symbol, beg)?;
            let outcome = match fetched {
                Err(e) => Outcome::Failed {
                    error: e.to_string(),
                },
                Ok((Kline::Unknown, _)) => Outcome::Unknown {
                    tried: source.ids(symbol),
                },
                Ok((Kline::Bars { name: title, bars }, request)) => {
                    let fresh: Vec<Bar> = bars
                        .into_iter()
                        .filter(|b| last_known.is_none_or(|l| b.ts.date() > l))
                        .filter(|b| args.to.is_none_or(|t| b.ts.date() <= t))
                        .collect();
                    match (fresh.first(), fresh.last()) {
                        (Some(first), Some(last)) => {
                            record.name = title.or(record.name);
                            record.request = request;
                            append_csv(&args.out.join(&file), &fresh, intraday)?;
                            record.file = Some(file.clone());
                            record.bars += fresh.len();
                            record.last = Some(last.ts.date());
                            if let Some(p) = record.sources.last().filter(|p| **p != *name) {
                                tracing::warn!(
                                    symbol = %key,
                                    "{} bars appended to a series from {}: prices may differ where they meet",
                                    name.as_str(),
                                    p.as_str()
                                );
                            }
                            if record.sources.last() != Some(name) {
                                record.sources.push(*name);
                            }
                            Outcome::Downloaded {
                                new_bars: fresh.len(),
                                first: first.ts.date(),
                                last: last.ts.date(),
                            }
                        }
                        _ if last_known.is_some() => Outcome::UpToDate,
                        _ => Outcome::Empty,
                    }
                }
            };
            let served = matches!(outcome, Outcome::Downloaded { .. } | Outcome::UpToDate);
            if !served && k < last_source {
                let why = match &outcome {
                    Outcome::Failed { error } => error.clone(),
                    Outcome::Unknown { .. } => "does not know the symbol".into(),
                    _ => "no bars in the range".into(),
                };
                tracing::info!(symbol = %key, "{}: {why}; trying the next source", name.as_str());
                record.passed_over.push(format!("{}: {why}", name.as_str()));
            }
            record.outcome = outcome;
            if served {
                break;
            }
        }
        record.requests = requests(&sources) - before;
        progress.emit(&JobEvent::Symbol {
            stage: StageName::Download,
            index: index + 1,
            total,
            symbol: key.clone(),
            outcome: record.outcome.clone(),
        });
        if let Outcome::Failed { error } = &record.outcome {
            tracing::warn!(symbol = %key, "{error}");
        }
        manifest.series.insert(key, record);
        write_manifest(&args.out, &manifest)?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    let count = |f: fn(&Outcome) -> bool| {
        symbols
            .iter()
            .filter(|s| {
                manifest
                    .series
                    .get(&s.to_string())
                    .is_some_and(|r| f(&r.outcome))
            })
            .count()
    };
    progress.emit(&JobEvent::Done {
        stage: StageName::Download,
        summary: StageSummary::Downloaded {
            downloaded: count(|o| matches!(o, Outcome::Downloaded { .. })),
            up_to_date: count(|o| matches!(o, Outcome::UpToDate)),
            empty: count(|o| matches!(o, Outcome::Empty)),
            unknown: count(|o| matches!(o, Outcome::Unknown { .. })),
            failed: count(|o| matches!(o, Outcome::Failed { .. })),
            requests: requests(&sources),
        },
    });
    Ok(manifest)
}

/// One line per symbol for a person.
pub fn summary(m: &Manifest, symbols: &[String]) -> String {
    let mut s = String::new();
    for r in m.series.values() {
        if !symbols.is_empty()
            && !symbols
                .iter()
                .any(|x| x.parse::<Symbol>().is_ok_and(|y| y.to_string() == r.symbol))
        {
            continue;
        }
        let what = match &r.outcome {
            Outcome::Downloaded {
                new_bars,
                first,
                last,
            } => format!("{new_bars} new bars {first} to {last}"),
            Outcome::UpToDate => "up to date".into(),
            Outcome::Empty => "no bars in the range".into(),
            Outcome::Unknown { tried } => {
                format!("unknown to the source (tried {})", tried.join(", "))
            }
            Outcome::Failed { error } => format!("failed: {error}"),
        };
        let what = if r.passed_over.is_empty() {
            what
        } else {
            format!("{what} (passed over: {})", r.passed_over.join("; "))
        };
        let what = if r.sources.len() > 1 {
            let names: Vec<&str> = r.sources.iter().map(|s| s.as_str()).collect();
            format!(
                "{what} [bars from {}, in that order]",
                names.join(", then ")
            )
        } else {
            what
        };
        s.push_str(&format!(
            "{:<11} {:<12} {what}{}\n",
            r.symbol,
            r.name.clone().unwrap_or_default(),
            r.file
                .as_ref()
                .map_or(String::new(), |f| format!(" → {f} ({} bars)", r.bars))
        ));
    }
    s
}

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

pub mod eastmoney;
pub mod http;
pub mod tushare;
pub mod yahoo;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveDate;
use kxian_shared::{Adjustment, Bar, Frequency, Symbol};
use serde::{Deserialize, Serialize};

use crate::train::ProgressMode;
use eastmoney::{Kline, parse_clist, parse_kline};
use http::{Client, FetchError, Policy};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// Eastmoney's kline API as akshare uses it (no account).
    Eastmoney,
    /// Tushare Pro (a token: --tushare-token or KXIAN_TUSHARE_TOKEN); daily bars.
    Tushare,
    /// Yahoo Finance's chart API; daily bars, no amount, no Beijing listings.
    Yahoo,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UniverseChoice {
    /// Every ETF of the source's ETF spot list.
    AllEtfs,
    /// Every A share of the source's spot list.
    AllA,
}

#[derive(Debug, Clone, clap::Args)]
pub struct DownloadArgs {
    #[arg(long, value_enum, default_value_t = Source::Eastmoney)]
    pub source: Source,
    /// Symbols in any spelling (600000, sh600000, 510310, 000300.SH), comma-separated.
    #[arg(long, value_delimiter = ',', required_unless_present = "universe")]
    pub symbols: Vec<String>,
    /// Instead of (or as well as) --symbols: a whole list from the source.
    #[arg(long, value_enum)]
    pub universe: Option<UniverseChoice>,
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

/// How one symbol went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// New bars were written.
    Downloaded {
        new_bars: usize,
        first: NaiveDate,
        last: NaiveDate,
    },
    /// The source had nothing after the last bar already held.
    UpToDate,
    /// The security exists but has no bars in the range.
    Empty,
    /// The source does not know the symbol (tried these secids).
    Unknown {
        tried: Vec<String>,
    },
    Failed {
        error: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesRecord {
    pub symbol: String,
    pub name: Option<String>,
    pub file: Option<String>,
    /// The request that answered (e.g. `secid=1.600000&klt=101&fqt=0`).
    pub request: Option<String>,
    /// Last bar held after this run (the next run starts after it).
    pub last: Option<NaiveDate>,
    /// Bars in the file.
    pub bars: usize,
    pub outcome: Outcome,
    pub requests: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub source: Source,
    pub frequency: Frequency,
    pub adjustment: Adjustment,
    pub series: BTreeMap<String, SeriesRecord>,
}

/// One line of `--progress json`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event<'a> {
    Start {
        stage: &'static str,
        symbols: usize,
    },
    Symbol {
        stage: &'static str,
        index: usize,
        total: usize,
        symbol: &'a str,
        #[serde(flatten)]
        outcome: &'a Outcome,
    },
    Done {
        stage: &'static str,
        downloaded: usize,
        up_to_date: usize,
        empty: usize,
        unknown: usize,
        failed: usize,
        requests: u64,
    },
}

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
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> DownloadError + '_ {
    move |source| DownloadError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub const MANIFEST: &str = "manifest.json";

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

struct Eastmoney<'a> {
    args: &'a DownloadArgs,
    client: Client,
}

impl Eastmoney<'_> {
    fn list(&mut self, choice: UniverseChoice) -> Result<Vec<Symbol>, DownloadError> {
        let (fs, etf, what) = match choice {
            UniverseChoice::AllEtfs => (eastmoney::ETF_FS, true, "ETF"),
            UniverseChoice::AllA => (eastmoney::A_FS, false, "A-share"),
        };
        let url = format!("{}{}", self.args.eastmoney_list_url, eastmoney::CLIST_PATH);
        let mut out: Vec<Symbol> = Vec::new();
        let mut page = 1usize;
        let mut pages = 1usize;
        while page <= pages {
            let q = [
                ("pn", page.to_string()),
                ("pz", "100".to_string()),
                ("po", "1".to_string()),
                ("np", "1".to_string()),
                ("ut", eastmoney::CLIST_UT.to_string()),
                ("fltt", "2".to_string()),
                ("invt", "2".to_string()),
                ("fid", "f12".to_string()),
                ("fs", fs.to_string()),
                ("fields", "f12,f13,f14".to_string()),
            ];
            let fetched = self.client.get(&url, &q).map_err(|e| DownloadError::List {
                what,
                error: e.to_string(),
            })?;
            let (rows, total) =
                parse_clist(&fetched.body, etf).map_err(|e| DownloadError::List {
                    what,
                    error: e.to_string(),
                })?;
            if rows.is_empty() {
                break;
            }
            if page == 1 {
                pages = total.div_ceil(rows.len());
            }
            for r in rows {
                // Rows move between pages while the market is open: keep each once.
                if !out.contains(&r.symbol) {
                    out.push(r.symbol);
                }
            }
            page += 1;
        }
        Ok(out)
    }

    /// Bars of `symbol` from `beg`, probing market ids where the kind needs it.
    fn kline(
        &mut self,
        symbol: &Symbol,
        beg: Option<NaiveDate>,
    ) -> Result<(Kline, Option<String>), FetchError> {
        let a = self.args;
        let url = format!("{}{}", a.eastmoney_url, eastmoney::KLINE_PATH);
        let klt = eastmoney::klt(a.frequency).unwrap_or("101");
        let day = |d: NaiveDate| d.format("%Y%m%d").to_string();
        for secid in eastmoney::secids(symbol) {
            let q = [
                ("secid", secid.clone()),
                ("klt", klt.to_string()),
                ("fqt", eastmoney::fqt(a.adjustment).to_string()),
                ("fields1", "f1,f2,f3,f4,f5,f6".to_string()),
                (
                    "fields2",
                    "f51,f52,f53,f54,f55,f56,f57,f58,f59,f60,f61".to_string(),
                ),
                ("beg", beg.map_or("0".to_string(), day)),
                ("end", a.to.map_or("20500101".to_string(), day)),
                ("ut", eastmoney::KLINE_UT.to_string()),
            ];
            let fetched = self.client.get(&url, &q)?;
            let request = format!(
                "secid={secid}&klt={klt}&fqt={}",
                eastmoney::fqt(a.adjustment)
            );
            if fetched.status >= 400 {
                return Err(FetchError::Status {
                    url,
                    status: fetched.status,
                    attempts: fetched.attempts,
                });
            }
            match parse_kline(&fetched.body) {
                Ok(Kline::Unknown) => continue,
                Ok(k) => return Ok((k, Some(request))),
                Err(e) => {
                    return Err(FetchError::Transport {
                        url,
                        message: format!("malformed answer for {secid}: {e}"),
                        attempts: fetched.attempts,
                    });
                }
            }
        }
        Ok((Kline::Unknown, None))
    }
}

impl Eastmoney<'_> {
    /// One Tushare call, waiting out the per-minute quota a few times.
    fn tushare_call(
        &mut self,
        body: &serde_json::Value,
    ) -> Result<Result<tushare::Answer, FetchError>, DownloadError> {
        let url = self.args.tushare_url.clone();
        for _ in 0..4 {
            let fetched = match self.client.post_json(&url, &body.to_string()) {
                Ok(f) => f,
                Err(e) => return Ok(Err(e)),
            };
            match tushare::parse(&fetched.body) {
                Ok(tushare::Answer::BadToken) => {
                    return Err(DownloadError::Args(
                        "Tushare refused the token (40101): check --tushare-token / KXIAN_TUSHARE_TOKEN".into(),
                    ));
                }
                Ok(tushare::Answer::RateLimited(msg)) => {
                    tracing::warn!("Tushare quota: {msg}; waiting");
                    std::thread::sleep(Duration::from_millis(self.args.tushare_quota_wait_ms));
                }
                Ok(a) => return Ok(Ok(a)),
                Err(e) => {
                    return Ok(Err(FetchError::Transport {
                        url,
                        message: format!("malformed answer: {e}"),
                        attempts: fetched.attempts,
                    }));
                }
            }
        }
        Ok(Err(FetchError::Status {
            url,
            status: 429,
            attempts: 4,
        }))
    }

    fn tushare(
        &mut self,
        symbol: &Symbol,
        beg: Option<NaiveDate>,
    ) -> Result<Result<(Kline, Option<String>), FetchError>, DownloadError> {
        let a = self.args;
        let token = a
            .tushare_token
            .as_ref()
            .map_or(String::new(), |t| t.expose().to_string());
        let api = tushare::api_for(symbol);
        let as_error = |msg: String| FetchError::Transport {
            url: a.tushare_url.clone(),
            message: msg,
            attempts: 1,
        };
        let rows = |ans: tushare::Answer| match ans {
            tushare::Answer::Rows { fields, items, .. } => Ok((fields, items)),
            tushare::Answer::NoPermission(m) => {
                Err(as_error(format!("no permission for {api}: {m}")))
            }
            tushare::Answer::Error { code, msg } => Err(as_error(format!("{api}: {code} {msg}"))),
            _ => Err(as_error("unexpected answer".into())),
        };
        let answer = match self.tushare_call(&tushare::body(api, &token, symbol, beg, a.to))? {
            Ok(x) => x,
            Err(e) => return Ok(Err(e)),
        };
        let (fields, items) = match rows(answer) {
            Ok(x) => x,
            Err(e) => return Ok(Err(e)),
        };
        let mut bars = match tushare::bars(&fields, &items) {
            Ok(b) => b,
            Err(e) => return Ok(Err(as_error(e))),
        };
        if a.adjustment != Adjustment::None {
            let fapi = if api == "fund_daily" {
                "fund_adj"
            } else {
                "adj_factor"
            };
            let answer = match self.tushare_call(&tushare::body(fapi, &token, symbol, beg, a.to))? {
                Ok(x) => x,
                Err(e) => return Ok(Err(e)),
            };
            let (ff, fi) = match rows(answer) {
                Ok(x) => x,
                Err(e) => return Ok(Err(e)),
            };
            let factors = match tushare::factors(&ff, &fi) {
                Ok(f) => f,
                Err(e) => return Ok(Err(as_error(e))),
            };
            bars = tushare::adjust(&bars, &factors, a.adjustment == Adjustment::Qfq);
        }
        Ok(Ok((
            Kline::Bars { name: None, bars },
            Some(format!("api_name={api}&ts_code={}", symbol.ts_code())),
        )))
    }

    fn yahoo(
        &mut self,
        symbol: &Symbol,
        beg: Option<NaiveDate>,
    ) -> Result<(Kline, Option<String>), FetchError> {
        let a = self.args;
        let Some(ticker) = yahoo::ticker(symbol) else {
            return Ok((Kline::Unknown, None));
        };
        let url = format!("{}/v8/finance/chart/{ticker}", a.yahoo_url);
        // Shanghai midnight of the first day, and the day after the last (period2 is exclusive).
        let secs = |d: NaiveDate| {
            d.and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc()
                .timestamp()
                - 28_800
        };
        let from = beg.map_or(0, secs);
        let to =
            a.to.map_or(4_102_444_800, |d| secs(d + chrono::Days::new(1)));
        let q = [
            ("interval", "1d".to_string()),
            ("period1", from.to_string()),
            ("period2", to.to_string()),
            ("events", "div,splits".to_string()),
        ];
        let fetched = self.client.get(&url, &q)?;
        if fetched.status == 404 {
            return Ok((Kline::Unknown, None));
        }
        match yahoo::parse(&fetched.body, symbol, a.adjustment == Adjustment::Qfq) {
            Ok(yahoo::Answer::Bars(bars)) => Ok((
                Kline::Bars { name: None, bars },
                Some(format!("chart/{ticker}?interval=1d")),
            )),
            Ok(yahoo::Answer::Unknown(_)) => Ok((Kline::Unknown, None)),
            Err(e) => Err(FetchError::Transport {
                url,
                message: format!("malformed answer: {e}"),
                attempts: fetched.attempts,
            }),
        }
    }
}

/// The whole command. Returns the manifest of this folder after the run.
pub fn run(args: &DownloadArgs) -> Result<Manifest, DownloadError> {
    match args.source {
        Source::Tushare
            if args
                .tushare_token
                .as_ref()
                .is_none_or(|t| t.expose().is_empty()) =>
        {
            return Err(DownloadError::Args(
                "--source tushare needs your token: --tushare-token or KXIAN_TUSHARE_TOKEN".into(),
            ));
        }
        Source::Tushare | Source::Yahoo if args.frequency != Frequency::Daily => {
            return Err(DownloadError::Args(format!(
                "--frequency {}: this source gives daily bars only",
                args.frequency.as_str()
            )));
        }
        Source::Yahoo if args.adjustment == Adjustment::Hfq => {
            return Err(DownloadError::Args(
                "--adjustment hfq: Yahoo gives raw and forward-adjusted (qfq) prices only".into(),
            ));
        }
        Source::Tushare | Source::Yahoo if args.universe.is_some() => {
            return Err(DownloadError::Args(
                "--universe: the lists come from Eastmoney; use --symbols with this source".into(),
            ));
        }
        _ => {}
    }
    if eastmoney::klt(args.frequency).is_none() {
        return Err(DownloadError::Args(
            "--frequency 1m: Eastmoney's kline API has no 1-minute history; use 5m or longer"
                .into(),
        ));
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
    let mut em = Eastmoney {
        args,
        client: Client::new(policy, 0x5EED ^ symbols.len() as u64, headers),
    };
    if let Some(u) = args.universe {
        for s in em.list(u)? {
            if !symbols.contains(&s) {
                symbols.push(s);
            }
        }
    }
    let stored = match &args.store {
        Some(db) => crate::store::last_bar_days(db, args.frequency, args.adjustment, args.reader)?,
        None => BTreeMap::new(),
    };
    let mut manifest = read_manifest(&args.out)
        .filter(|m| {
            m.source == args.source
                && m.frequency == args.frequency
                && m.adjustment == args.adjustment
        })
        .unwrap_or(Manifest {
            source: args.source,
            frequency: args.frequency,
            adjustment: args.adjustment,
            series: BTreeMap::new(),
        });
    let json = args.progress == ProgressMode::Json;
    let emit = |e: &Event| {
        if json {
            println!("{}", serde_json::to_string(e).expect("event serialises"));
        }
    };
    let bar = if args.progress == ProgressMode::Bar
        && std::io::IsTerminal::is_terminal(&std::io::stderr())
    {
        indicatif::ProgressBar::new(symbols.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    emit(&Event::Start {
        stage: "download",
        symbols: symbols.len(),
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
        let before = em.client.requests;
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
        };
        let fetched = match args.source {
            Source::Eastmoney => em.kline(symbol, beg),
            Source::Tushare => em.tushare(symbol, beg)?,
            Source::Yahoo => em.yahoo(symbol, beg),
        };
        record.outcome = match fetched {
            Err(e) => Outcome::Failed {
                error: e.to_string(),
            },
            Ok((Kline::Unknown, _)) => Outcome::Unknown {
                tried: match args.source {
                    Source::Eastmoney => eastmoney::secids(symbol),
                    Source::Tushare => vec![symbol.ts_code()],
                    Source::Yahoo => yahoo::ticker(symbol).into_iter().collect(),
                },
            },
            Ok((Kline::Bars { name, bars }, request)) => {
                record.name = name.or(record.name);
                record.request = request;
                let fresh: Vec<Bar> = bars
                    .into_iter()
                    .filter(|b| last_known.is_none_or(|l| b.ts.date() > l))
                    .filter(|b| args.to.is_none_or(|t| b.ts.date() <= t))
                    .collect();
                match (fresh.first(), fresh.last()) {
                    (Some(first), Some(last)) => {
                        append_csv(&args.out.join(&file), &fresh, intraday)?;
                        record.file = Some(file);
                        record.bars += fresh.len();
                        record.last = Some(last.ts.date());
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
        record.requests = em.client.requests - before;
        emit(&Event::Symbol {
            stage: "download",
            index: index + 1,
            total,
            symbol: &key,
            outcome: &record.outcome,
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
    emit(&Event::Done {
        stage: "download",
        downloaded: count(|o| matches!(o, Outcome::Downloaded { .. })),
        up_to_date: count(|o| matches!(o, Outcome::UpToDate)),
        empty: count(|o| matches!(o, Outcome::Empty)),
        unknown: count(|o| matches!(o, Outcome::Unknown { .. })),
        failed: count(|o| matches!(o, Outcome::Failed { .. })),
        requests: em.client.requests,
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

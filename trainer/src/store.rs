//! Training series from Kxian's local store (the server's SQLite file), read-only: by symbol
//! list or board, frequency, adjustment and date range. Opened read-only, so a running server
//! (WAL mode) is never blocked or written to. The queries are the store crate's
//! (`kxian_store::reader`), with the same visibility rule as the server's API.

use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use chrono::NaiveDate;
use kxian_shared::{Adjustment, Bar, Frequency};
use kxian_store::Viewer;
use kxian_store::reader::{ReadOnlyStore, SeriesQuery};

/// Which series to read.
#[derive(Debug, Clone, clap::Args, serde::Serialize)]
pub struct StoreSelection {
    /// Read series from this store (e.g. ~/.local/share/kxian/kxian.db) instead of, or as well
    /// as, --input files.
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// Symbols to take (any spelling: 600000, 600000.SH, sh600000), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub symbols: Vec<String>,
    /// Every stored symbol of a board: main, chinext, star, bse, etf, lof, reit, index, …
    #[arg(long)]
    pub board: Option<String>,
    #[arg(long, default_value = "daily")]
    pub frequency: Frequency,
    #[arg(long, default_value = "none")]
    pub adjustment: Adjustment,
    /// First day of bars to read (inclusive).
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// Last day of bars to read (inclusive).
    #[arg(long)]
    pub to: Option<NaiveDate>,
    #[command(flatten)]
    #[serde(flatten)]
    pub reader: StoreReader,
}

/// Whose eyes the store is read with. The server passes a job's owner, so a job reads what
/// its owner may read and nothing else; without it (a person with the file) every series is
/// read, the public one first where several share a key.
#[derive(Debug, Clone, Copy, Default, clap::Args, serde::Serialize)]
pub struct StoreReader {
    /// Read as this user id: their own series and the public ones, never another user's.
    #[arg(long)]
    pub as_user: Option<i64>,
    /// With --as-user: that user is an admin (reads every series, their own first).
    #[arg(long, requires = "as_user")]
    pub as_admin: bool,
}

impl StoreReader {
    /// The store's viewer for this reader: nobody named is the machine itself.
    pub fn viewer(self) -> Viewer {
        match self.as_user {
            Some(id) => Viewer {
                user: Some(id),
                admin: self.as_admin,
            },
            None => Viewer::SYSTEM,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Open {
        path: PathBuf,
        source: kxian_store::StoreError,
    },
    #[error("{path}: {source}")]
    Query {
        path: PathBuf,
        source: kxian_store::StoreError,
    },
    #[error("--symbols: {0}")]
    Symbol(String),
    #[error("--store needs --symbols or --board (which series to read)")]
    NothingSelected,
    #[error("{path} has no {frequency} {adjustment} series for {what}")]
    NoSeries {
        path: PathBuf,
        frequency: &'static str,
        adjustment: &'static str,
        what: String,
    },
}

/// Runs one read against the store at `path` on a current-thread runtime.
fn with_store<T>(
    path: &Path,
    read: impl AsyncFnOnce(&ReadOnlyStore) -> Result<T, kxian_store::StoreError>,
) -> Result<T, StoreError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    rt.block_on(async {
        let store = ReadOnlyStore::open(path)
            .await
            .map_err(|source| StoreError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        let out = read(&store).await.map_err(|source| StoreError::Query {
            path: path.to_path_buf(),
            source,
        });
        store.close().await;
        out
    })
}

/// Runs `work` against the whole store at `path` (migrated and writable, where prediction sets
/// are kept and read back; `load` above is the read-only path for bars) on a current-thread
/// runtime; the store is closed whatever `work` returns.
pub fn with_writable_store<T>(
    path: &Path,
    work: impl AsyncFnOnce(&kxian_store::Store) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    use anyhow::Context as _;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let store = kxian_store::Store::open(path)
            .await
            .with_context(|| format!("opening the store {}", path.display()))?;
        let out = work(&store).await;
        store.close().await;
        out
    })
}

/// The selected series, each `(symbol, bars)` in ascending time.
pub fn load(sel: &StoreSelection, path: &Path) -> Result<Vec<(String, Vec<Bar>)>, StoreError> {
    let symbols: Vec<String> = sel
        .symbols
        .iter()
        .map(|s| {
            s.parse::<kxian_shared::Symbol>()
                .map(|s| s.to_string())
                .map_err(|e| StoreError::Symbol(e.to_string()))
        })
        .collect::<Result<_, _>>()?;
    if symbols.is_empty() && sel.board.is_none() {
        return Err(StoreError::NothingSelected);
    }
    let query = SeriesQuery {
        symbols: &symbols,
        board: sel.board.as_deref(),
        frequency: sel.frequency,
        adjustment: sel.adjustment,
        from: sel.from,
        to: sel.to,
    };
    let out = with_store(path, async |s| s.series(sel.reader.viewer(), &query).await)?;
    if out.is_empty() {
        let mut what = symbols.join(", ");
        if let Some(b) = &sel.board {
            what = if what.is_empty() {
                format!("board {b}")
            } else {
                format!("{what} or board {b}")
            };
        }
        return Err(StoreError::NoSeries {
            path: path.to_path_buf(),
            frequency: sel.frequency.as_str(),
            adjustment: sel.adjustment.as_str(),
            what,
        });
    }
    Ok(out)
}

/// The day of the last stored bar of every series at `frequency` and `adjustment`, by
/// canonical symbol: where an incremental download starts. Only the series the download
/// will be imported into count: `reader`'s own, or the public one when it is an admin (or
/// nobody is named), so a user never starts from a series they cannot write or see.
pub fn last_bar_days(
    path: &Path,
    frequency: Frequency,
    adjustment: Adjustment,
    reader: StoreReader,
) -> Result<BTreeMap<String, NaiveDate>, StoreError> {
    with_store(path, async |s| {
        s.last_bar_days(reader.viewer(), frequency, adjustment)
            .await
    })
}

/// Every series at `frequency` and `adjustment` that `reader` may read, with its source and
/// the day of each bar: what `kxian-trainer health` checks.
pub fn series_days(
    path: &Path,
    frequency: Frequency,
    adjustment: Adjustment,
    reader: StoreReader,
) -> Result<Vec<kxian_store::reader::SeriesDays>, StoreError> {
    with_store(path, async |s| {
        s.series_days(reader.viewer(), frequency, adjustment).await
    })
}

/// Every stay in `index` the store at `path` holds.
pub fn index_members(
    path: &Path,
    index: &str,
) -> Result<Vec<kxian_shared::reference::MemberRecord>, StoreError> {
    with_store(path, async |s| s.index_members(index).await)
}

/// The industries, shares and status of `symbols` the store at `path` holds.
pub fn reference_of(
    path: &Path,
    symbols: &[String],
) -> Result<kxian_shared::reference::ReferenceData, StoreError> {
    with_store(path, async |s| s.reference_of(symbols).await)
}

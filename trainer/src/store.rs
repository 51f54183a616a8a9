//! Training series from Kxian's local store (the server's SQLite file), read-only: by symbol
//! list or board, frequency, adjustment and date range. Opened read-only, so a running server
//! (WAL mode) is never blocked or written to; the schema is the server's
//! (`server/migrations/`).

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate};
use kxian_shared::{Adjustment, Bar, Frequency};
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

/// Which series to read.
#[derive(Debug, Clone, clap::Args)]
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
    pub reader: StoreReader,
}

/// Whose eyes the store is read with. The server passes a job's owner, so a job reads what
/// its owner may read and nothing else; without it (a person with the file) every series is
/// read, the public one first where several share a key.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct StoreReader {
    /// Read as this user id: their own series and the public ones, never another user's.
    #[arg(long)]
    pub as_user: Option<i64>,
    /// With --as-user: that user is an admin (reads every series, their own first).
    #[arg(long, requires = "as_user")]
    pub as_admin: bool,
}

impl StoreReader {
    /// The SQL condition on `series` (binds ?3 user, ?4 admin) and the order among several
    /// visible series of one symbol (the reader's own, then the public one). A store from
    /// before owners (no `owner_id` column) holds public series only.
    fn sql(owners: bool) -> (&'static str, &'static str) {
        if owners {
            (
                "(?3 IS NULL OR series.owner_id IS NULL OR series.owner_id = ?3 OR ?4 = 1)",
                "CASE WHEN series.owner_id = ?3 THEN 0 WHEN series.owner_id IS NULL THEN 1 ELSE 2 END, series.id",
            )
        } else {
            ("(?3 IS NULL OR 1 OR ?4)", "series.id")
        }
    }
}

/// Whether the store's series have owners (the server's migration 4 on).
async fn has_owners(pool: &SqlitePool) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) > 0 FROM pragma_table_info('series') WHERE name = 'owner_id'",
    )
    .fetch_one(pool)
    .await
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Open { path: PathBuf, source: sqlx::Error },
    #[error("{path}: {source}")]
    Query { path: PathBuf, source: sqlx::Error },
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

fn epoch(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp()
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
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    rt.block_on(async {
        let opts = SqliteConnectOptions::new().filename(path).read_only(true).create_if_missing(false);
        let pool = SqlitePool::connect_with(opts).await.map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let query_err = |source| StoreError::Query {
            path: path.to_path_buf(),
            source,
        };
        let (sees, prefers) = StoreReader::sql(has_owners(&pool).await.map_err(query_err)?);
        let series = sqlx::query(&format!(
            "SELECT series.id, symbols.symbol, symbols.board FROM series JOIN symbols ON symbols.id = series.symbol_id
             WHERE series.frequency = ?1 AND series.adjustment = ?2 AND {sees}
             ORDER BY symbols.symbol, {prefers}"
        ))
        .bind(sel.frequency.as_str())
        .bind(sel.adjustment.as_str())
        .bind(sel.reader.as_user)
        .bind(sel.reader.as_admin)
        .fetch_all(&pool)
        .await
        .map_err(query_err)?;
        let (lo, hi) = (sel.from.map_or(i64::MIN, epoch), sel.to.map_or(i64::MAX, |d| epoch(d) + 86_399));
        let mut out = Vec::new();
        for row in series {
            let (id, symbol, board): (i64, String, String) = (row.get(0), row.get(1), row.get(2));
            // Rows come in order of preference: the first series of a symbol is the one read.
            if out.last().is_some_and(|(s, _): &(String, Vec<Bar>)| *s == symbol) {
                continue;
            }
            if !(symbols.contains(&symbol) || sel.board.as_deref() == Some(board.as_str())) {
                continue;
            }
            let bars = sqlx::query(
                "SELECT ts, open, high, low, close, volume, amount FROM bars WHERE series_id = ? AND ts BETWEEN ? AND ? ORDER BY ts",
            )
            .bind(id)
            .bind(lo)
            .bind(hi)
            .fetch_all(&pool)
            .await
            .map_err(query_err)?
            .into_iter()
            .filter_map(|r| {
                Some(Bar {
                    ts: DateTime::from_timestamp(r.get(0), 0)?.naive_utc(),
                    open: r.get(1),
                    high: r.get(2),
                    low: r.get(3),
                    close: r.get(4),
                    volume: r.get(5),
                    amount: r.get(6),
                })
            })
            .collect();
            out.push((symbol, bars));
        }
        if out.is_empty() {
            let mut what = symbols.join(", ");
            if let Some(b) = &sel.board {
                what = if what.is_empty() { format!("board {b}") } else { format!("{what} or board {b}") };
            }
            return Err(StoreError::NoSeries {
                path: path.to_path_buf(),
                frequency: sel.frequency.as_str(),
                adjustment: sel.adjustment.as_str(),
                what,
            });
        }
        Ok(out)
    })
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
) -> Result<std::collections::BTreeMap<String, NaiveDate>, StoreError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    rt.block_on(async {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .create_if_missing(false);
        let pool = SqlitePool::connect_with(opts)
            .await
            .map_err(|source| StoreError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        let owners = has_owners(&pool)
            .await
            .map_err(|source| StoreError::Query {
                path: path.to_path_buf(),
                source,
            })?;
        // Before owners every series is public, which the machine itself or an admin writes.
        let (writes, prefers) = if owners {
            (
                "(series.owner_id IS ?3 OR (series.owner_id IS NULL AND ?4 = 1))",
                "CASE WHEN series.owner_id IS ?3 THEN 0 ELSE 1 END",
            )
        } else {
            ("(?3 IS NULL OR 1) AND ?4 = 1", "series.id")
        };
        let rows = sqlx::query(&format!(
            "SELECT symbols.symbol, (SELECT MAX(ts) FROM bars WHERE bars.series_id = series.id) AS last
             FROM series JOIN symbols ON symbols.id = series.symbol_id
             WHERE series.frequency = ?1 AND series.adjustment = ?2 AND last IS NOT NULL AND {writes}
             ORDER BY symbols.symbol, {prefers}"
        ))
        .bind(frequency.as_str())
        .bind(adjustment.as_str())
        .bind(reader.as_user)
        .bind(reader.as_admin || reader.as_user.is_none())
        .fetch_all(&pool)
        .await
        .map_err(|source| StoreError::Query {
            path: path.to_path_buf(),
            source,
        })?;
        let mut days = std::collections::BTreeMap::new();
        for r in rows {
            let ts: i64 = r.get(1);
            if let Some(t) = DateTime::from_timestamp(ts, 0) {
                // The first row of a symbol is the preferred series.
                days.entry(r.get::<String, _>(0)).or_insert(t.date_naive());
            }
        }
        Ok(days)
    })
}

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
        let series = sqlx::query(
            "SELECT series.id, symbols.symbol, symbols.board FROM series JOIN symbols ON symbols.id = series.symbol_id
             WHERE series.frequency = ? AND series.adjustment = ? ORDER BY symbols.symbol",
        )
        .bind(sel.frequency.as_str())
        .bind(sel.adjustment.as_str())
        .fetch_all(&pool)
        .await
        .map_err(query_err)?;
        let (lo, hi) = (sel.from.map_or(i64::MIN, epoch), sel.to.map_or(i64::MAX, |d| epoch(d) + 86_399));
        let mut out = Vec::new();
        for row in series {
            let (id, symbol, board): (i64, String, String) = (row.get(0), row.get(1), row.get(2));
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
/// canonical symbol: where an incremental download starts.
pub fn last_bar_days(
    path: &Path,
    frequency: Frequency,
    adjustment: Adjustment,
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
        let rows = sqlx::query(
            "SELECT symbols.symbol, MAX(bars.ts) FROM bars JOIN series ON series.id = bars.series_id
             JOIN symbols ON symbols.id = series.symbol_id
             WHERE series.frequency = ? AND series.adjustment = ? GROUP BY symbols.symbol",
        )
        .bind(frequency.as_str())
        .bind(adjustment.as_str())
        .fetch_all(&pool)
        .await
        .map_err(|source| StoreError::Query {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let ts: i64 = r.get(1);
                Some((
                    r.get::<String, _>(0),
                    DateTime::from_timestamp(ts, 0)?.date_naive(),
                ))
            })
            .collect())
    })
}

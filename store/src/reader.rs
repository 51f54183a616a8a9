//! The store opened read-only, as the trainer reads it beside a running server: training
//! series by symbol or board, and where an incremental download starts. Nothing is migrated
//! or written, so a server in WAL mode is never blocked; a store from before series had owners
//! (no `owner_id` column) is read as all public.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, NaiveDate};
use kxian_shared::{Adjustment, Bar, Frequency};
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

use crate::{StoreError, Viewer};

/// A series a viewer reads, as [`ReadOnlyStore::preferred`] finds it.
struct Visible {
    id: i64,
    symbol: String,
    board: String,
    source: String,
}

/// A stored series' symbol, source and the days of its bars.
#[derive(Debug, Clone)]
pub struct SeriesDays {
    pub symbol: String,
    /// Where the series' latest write came from.
    pub source: String,
    /// The day of each bar, ascending (several for intraday bars).
    pub days: Vec<NaiveDate>,
}

/// Which series to read: canonical symbols and/or every stored symbol of a board.
#[derive(Debug, Clone)]
pub struct SeriesQuery<'a> {
    pub symbols: &'a [String],
    pub board: Option<&'a str>,
    pub frequency: Frequency,
    pub adjustment: Adjustment,
    /// First day of bars (inclusive).
    pub from: Option<NaiveDate>,
    /// Last day of bars (inclusive).
    pub to: Option<NaiveDate>,
}

/// A read-only connection to a store file.
#[derive(Debug)]
pub struct ReadOnlyStore {
    pool: SqlitePool,
    owners: bool,
}

fn epoch(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp()
}

impl ReadOnlyStore {
    /// Opens an existing store; a missing file is an error, never a new empty store.
    pub async fn open(path: &Path) -> Result<ReadOnlyStore, StoreError> {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .create_if_missing(false);
        let pool = SqlitePool::connect_with(opts).await?;
        let owners: bool = sqlx::query_scalar(
            "SELECT COUNT(*) > 0 FROM pragma_table_info('series') WHERE name = 'owner_id'",
        )
        .fetch_one(&pool)
        .await?;
        Ok(ReadOnlyStore { pool, owners })
    }

    /// The series at `frequency` and `adjustment` that `viewer` reads, one per symbol in symbol
    /// order: the viewer's own where there are several, then the public one ([`Viewer`]'s
    /// order, the same as the API's).
    async fn preferred(
        &self,
        viewer: Viewer,
        frequency: Frequency,
        adjustment: Adjustment,
    ) -> Result<Vec<Visible>, StoreError> {
        let (sees, prefers) = if self.owners {
            (Viewer::SEES, Viewer::PREFERS)
        } else {
            ("(? IS NULL OR 1 OR ?)", "? IS NULL, r.id")
        };
        let rows = sqlx::query(&format!(
            "SELECT r.id, s.symbol, s.board, r.source FROM series r JOIN symbols s ON s.id = r.symbol_id
             WHERE r.frequency = ? AND r.adjustment = ? AND {sees}
             ORDER BY s.symbol, {prefers}"
        ))
        .bind(frequency.as_str())
        .bind(adjustment.as_str())
        .bind(viewer.user)
        .bind(viewer.admin)
        .bind(viewer.user)
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<Visible> = Vec::new();
        for row in rows {
            let symbol: String = row.get(1);
            // Rows come in order of preference: the first series of a symbol is the one read.
            if out.last().is_some_and(|v| v.symbol == symbol) {
                continue;
            }
            out.push(Visible {
                id: row.get(0),
                symbol,
                board: row.get(2),
                source: row.get(3),
            });
        }
        Ok(out)
    }

    /// The selected series `viewer` may read, each `(canonical symbol, bars)` in ascending time.
    /// Where several visible series share a symbol, the viewer's own is read, then the public
    /// one ([`Viewer`]'s order, the same as the API's).
    pub async fn series(
        &self,
        viewer: Viewer,
        q: &SeriesQuery<'_>,
    ) -> Result<Vec<(String, Vec<Bar>)>, StoreError> {
        let lo = q.from.map_or(i64::MIN, epoch);
        let hi = q.to.map_or(i64::MAX, |d| epoch(d) + 86_399);
        let mut out: Vec<(String, Vec<Bar>)> = Vec::new();
        for Visible {
            id, symbol, board, ..
        } in self.preferred(viewer, q.frequency, q.adjustment).await?
        {
            if !(q.symbols.contains(&symbol) || q.board == Some(board.as_str())) {
                continue;
            }
            let bars = sqlx::query(
                "SELECT ts, open, high, low, close, volume, amount FROM bars
                 WHERE series_id = ? AND ts BETWEEN ? AND ? ORDER BY ts",
            )
            .bind(id)
            .bind(lo)
            .bind(hi)
            .fetch_all(&self.pool)
            .await?
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
        Ok(out)
    }

    /// The day of the last stored bar of every series at `frequency` and `adjustment`, by
    /// canonical symbol: where an incremental download for `writer` starts. Only the series
    /// the download will be imported into count ([`Store::series_to_write`](crate::Store)'s
    /// rule): the writer's own, else the public one when the writer is an admin or the machine.
    pub async fn last_bar_days(
        &self,
        writer: Viewer,
        frequency: Frequency,
        adjustment: Adjustment,
    ) -> Result<BTreeMap<String, NaiveDate>, StoreError> {
        let (writes, prefers) = if self.owners {
            (
                "(r.owner_id IS ? OR (r.owner_id IS NULL AND ? = 1))",
                "CASE WHEN r.owner_id IS ? THEN 0 ELSE 1 END",
            )
        } else {
            ("(? IS NULL OR 1) AND ? = 1", "? IS NULL, r.id")
        };
        let rows = sqlx::query(&format!(
            "SELECT s.symbol, (SELECT MAX(ts) FROM bars WHERE bars.series_id = r.id) AS last
             FROM series r JOIN symbols s ON s.id = r.symbol_id
             WHERE r.frequency = ? AND r.adjustment = ? AND last IS NOT NULL AND {writes}
             ORDER BY s.symbol, {prefers}"
        ))
        .bind(frequency.as_str())
        .bind(adjustment.as_str())
        .bind(writer.user)
        .bind(writer.admin)
        .bind(writer.user)
        .fetch_all(&self.pool)
        .await?;
        let mut days = BTreeMap::new();
        for r in rows {
            let ts: i64 = r.get(1);
            if let Some(t) = DateTime::from_timestamp(ts, 0) {
                // The first row of a symbol is the preferred series.
                days.entry(r.get::<String, _>(0)).or_insert(t.date_naive());
            }
        }
        Ok(days)
    }

    /// Every series at `frequency` and `adjustment` that `viewer` reads (its preferred one per
    /// symbol), with its source and the day of each bar: what a data-health check needs.
    pub async fn series_days(
        &self,
        viewer: Viewer,
        frequency: Frequency,
        adjustment: Adjustment,
    ) -> Result<Vec<SeriesDays>, StoreError> {
        let mut out: Vec<SeriesDays> = Vec::new();
        for Visible {
            id, symbol, source, ..
        } in self.preferred(viewer, frequency, adjustment).await?
        {
            let days = sqlx::query("SELECT ts FROM bars WHERE series_id = ? ORDER BY ts")
                .bind(id)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .filter_map(|r| Some(DateTime::from_timestamp(r.get(0), 0)?.date_naive()))
                .collect();
            out.push(SeriesDays {
                symbol,
                source,
                days,
            });
        }
        Ok(out)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl ReadOnlyStore {
    /// Whether the store has the reference tables (a store from before them has none).
    async fn has_table(&self, name: &str) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
        )
        .bind(name)
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    async fn has_reference(&self) -> Result<bool, StoreError> {
        self.has_table("ref_members").await
    }

    /// Every stored stay in `index` (none in a store without reference data).
    pub async fn index_members(
        &self,
        index: &str,
    ) -> Result<Vec<kxian_shared::reference::MemberRecord>, StoreError> {
        if !self.has_reference().await? {
            return Ok(Vec::new());
        }
        crate::reference::index_members(&self.pool, index).await
    }

    /// The stored industries, shares, status and northbound holdings of `symbols` (a store from
    /// before a kind of reference data was added reads as holding none of it).
    pub async fn reference_of(
        &self,
        symbols: &[String],
    ) -> Result<kxian_shared::reference::ReferenceData, StoreError> {
        if !self.has_reference().await? {
            return Ok(kxian_shared::reference::ReferenceData::default());
        }
        let northbound = self.has_table("ref_northbound").await?;
        crate::reference::reference_of(&self.pool, symbols, northbound).await
    }
}

impl crate::Store {
    /// The reader's queries over this store's own connections (migrated, so series have
    /// owners): what the server answers a data-health view with.
    pub fn reader(&self) -> ReadOnlyStore {
        ReadOnlyStore {
            pool: self.pool.clone(),
            owners: true,
        }
    }
}

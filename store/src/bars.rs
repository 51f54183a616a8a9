use super::{Store, StoreError, Viewer, ts_from_db, ts_to_db};
use chrono::NaiveDateTime;
use kxian_shared::{Adjustment, Bar, Frequency, Symbol};
use sqlx::{QueryBuilder, Sqlite, Transaction};

/// Rows per INSERT statement: 8 parameters each stays far below SQLite's 32,766 limit, and
/// batches this size make the per-statement overhead negligible.
const ROWS_PER_STATEMENT: usize = 2_000;

/// Bars of one series in a time range, most recent `limit` of them.
#[derive(Debug, Clone)]
pub struct BarRange {
    pub name: Option<String>,
    pub bars: Vec<Bar>,
    pub truncated: bool,
    pub series_first: Option<NaiveDateTime>,
    pub series_last: Option<NaiveDateTime>,
}

type BarRow = (i64, f64, f64, f64, f64, f64, Option<f64>);
/// (series id, symbol name, first ts, last ts)
type SeriesRow = (i64, Option<String>, Option<i64>, Option<i64>);

async fn count_bars(tx: &mut Transaction<'_, Sqlite>, series_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM bars WHERE series_id = ?")
        .bind(series_id)
        .fetch_one(&mut **tx)
        .await
}

impl Store {
    /// The series `writer` writes for (symbol, frequency, adjustment) — the write rule, in one
    /// place: its own series if it has one; else, for an admin (or the machine itself: the
    /// embedded load, `kxian import`), the public series, created if missing; else a new
    /// series of its own. Never another user's: a private series of someone else is invisible
    /// to the writer, and so is the fact that it exists. Anonymous writers write nothing.
    async fn series_to_write(
        tx: &mut Transaction<'_, Sqlite>,
        symbol_id: i64,
        frequency: Frequency,
        adjustment: Adjustment,
        source: &str,
        writer: &Viewer,
    ) -> Result<i64, StoreError> {
        let now = chrono::Utc::now().to_rfc3339();
        let find = |owner: Option<i64>| {
            sqlx::query_scalar::<_, i64>(
                "SELECT id FROM series WHERE symbol_id = ? AND frequency = ? AND adjustment = ?
                 AND owner_id IS ?",
            )
            .bind(symbol_id)
            .bind(frequency.as_str())
            .bind(adjustment.as_str())
            .bind(owner)
        };
        let mut target = match writer.user {
            Some(u) => find(Some(u)).fetch_optional(&mut **tx).await?,
            None => None,
        };
        if target.is_none() && writer.admin {
            target = find(None).fetch_optional(&mut **tx).await?;
        }
        if let Some(id) = target {
            sqlx::query("UPDATE series SET source = ?, updated_at = ? WHERE id = ?")
                .bind(source)
                .bind(&now)
                .bind(id)
                .execute(&mut **tx)
                .await?;
            return Ok(id);
        }
        if writer.user.is_none() && !writer.admin {
            return Err(StoreError::NotAllowed(
                "writing to the store needs an account".into(),
            ));
        }
        // An admin's new series is public: admins curate the shared data.
        let owner = if writer.admin { None } else { writer.user };
        Ok(sqlx::query_scalar(
            "INSERT INTO series (symbol_id, frequency, adjustment, source, updated_at, owner_id)
             VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(symbol_id)
        .bind(frequency.as_str())
        .bind(adjustment.as_str())
        .bind(source)
        .bind(&now)
        .bind(owner)
        .fetch_one(&mut **tx)
        .await?)
    }

    /// Upserts `bars` into the series `writer` may write (see [`Store::series_to_write`]),
    /// inside `tx`; returns (inserted, updated), counted on that series only.
    pub(crate) async fn upsert_bars(
        tx: &mut Transaction<'_, Sqlite>,
        symbol_id: i64,
        frequency: Frequency,
        adjustment: Adjustment,
        source: &str,
        writer: &Viewer,
        bars: &[Bar],
    ) -> Result<(u64, u64), StoreError> {
        let series_id =
            Store::series_to_write(tx, symbol_id, frequency, adjustment, source, writer).await?;
        let before = count_bars(tx, series_id).await?;
        for chunk in bars.chunks(ROWS_PER_STATEMENT) {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO bars (series_id, ts, open, high, low, close, volume, amount) ",
            );
            qb.push_values(chunk, |mut row, bar| {
                row.push_bind(series_id)
                    .push_bind(ts_to_db(bar.ts))
                    .push_bind(bar.open)
                    .push_bind(bar.high)
                    .push_bind(bar.low)
                    .push_bind(bar.close)
                    .push_bind(bar.volume)
                    .push_bind(bar.amount);
            });
            qb.push(
                " ON CONFLICT (series_id, ts) DO UPDATE SET open = excluded.open, high = excluded.high,
                  low = excluded.low, close = excluded.close, volume = excluded.volume, amount = excluded.amount",
            );
            qb.build().execute(&mut **tx).await?;
        }
        let after = count_bars(tx, series_id).await?;
        sqlx::query(
            "UPDATE series SET bar_count = ?,
               first_ts = (SELECT MIN(ts) FROM bars WHERE series_id = ?),
               last_ts = (SELECT MAX(ts) FROM bars WHERE series_id = ?)
             WHERE id = ?",
        )
        .bind(after)
        .bind(series_id)
        .bind(series_id)
        .bind(series_id)
        .execute(&mut **tx)
        .await?;
        let inserted = (after - before).max(0) as u64;
        Ok((
            inserted,
            bars.len() as u64 - inserted.min(bars.len() as u64),
        ))
    }

    /// Bars of `symbol` at `frequency`/`adjustment` with `start <= ts <= end`, the most recent
    /// `limit` of them, ascending. `None` when the series does not exist.
    pub async fn bars(
        &self,
        symbol: &Symbol,
        frequency: Frequency,
        adjustment: Adjustment,
        start: Option<NaiveDateTime>,
        end: Option<NaiveDateTime>,
        limit: u32,
    ) -> Result<Option<BarRange>, StoreError> {
        self.bars_for(
            &Viewer::SYSTEM,
            symbol,
            frequency,
            adjustment,
            start,
            end,
            limit,
        )
        .await
    }

    /// [`Store::bars`] as `viewer` sees the store: another user's series does not exist.
    #[allow(clippy::too_many_arguments)]
    pub async fn bars_for(
        &self,
        viewer: &Viewer,
        symbol: &Symbol,
        frequency: Frequency,
        adjustment: Adjustment,
        start: Option<NaiveDateTime>,
        end: Option<NaiveDateTime>,
        limit: u32,
    ) -> Result<Option<BarRange>, StoreError> {
        let series: Option<SeriesRow> = sqlx::query_as(&format!(
            "SELECT r.id, s.name, r.first_ts, r.last_ts FROM series r JOIN symbols s ON s.id = r.symbol_id
             WHERE s.symbol = ? AND r.frequency = ? AND r.adjustment = ? AND {}
             ORDER BY {} LIMIT 1",
            Viewer::SEES,
            Viewer::PREFERS
        ))
        .bind(symbol.to_string())
        .bind(frequency.as_str())
        .bind(adjustment.as_str())
        .bind(viewer.user)
        .bind(viewer.admin)
        .bind(viewer.user)
        .fetch_optional(&self.pool)
        .await?;
        let Some((series_id, name, first, last)) = series else {
            return Ok(None);
        };
        let lo = start.map(ts_to_db).unwrap_or(i64::MIN);
        let hi = end.map(ts_to_db).unwrap_or(i64::MAX);
        // Newest first with LIMIT + 1 rows tells whether the range was cut, in one indexed scan.
        let mut rows: Vec<BarRow> = sqlx::query_as(
            "SELECT ts, open, high, low, close, volume, amount FROM bars
             WHERE series_id = ? AND ts BETWEEN ? AND ? ORDER BY ts DESC LIMIT ?",
        )
        .bind(series_id)
        .bind(lo)
        .bind(hi)
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let truncated = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        rows.reverse();
        let bars = rows
            .into_iter()
            .map(|(ts, open, high, low, close, volume, amount)| {
                Ok(Bar {
                    ts: ts_from_db(ts)?,
                    open,
                    high,
                    low,
                    close,
                    volume,
                    amount,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Some(BarRange {
            name,
            bars,
            truncated,
            series_first: first.map(ts_from_db).transpose()?,
            series_last: last.map(ts_from_db).transpose()?,
        }))
    }
}

use super::{Store, StoreError, Viewer, ts_from_db};
use kxian_shared::api::{SeriesSummary, SymbolSummary};
use kxian_shared::{Adjustment, Frequency, Symbol};
use sqlx::{Sqlite, Transaction};
use std::collections::BTreeMap;

type SummaryRow = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

impl Store {
    /// Inserts the symbol if new. A given name replaces the stored one only when `writer`
    /// may rename it: an admin, or the owner of every series the symbol has.
    pub(crate) async fn upsert_symbol(
        tx: &mut Transaction<'_, Sqlite>,
        symbol: &Symbol,
        name: Option<&str>,
        writer: &Viewer,
    ) -> Result<i64, StoreError> {
        let existing: Option<i64> = sqlx::query_scalar("SELECT id FROM symbols WHERE symbol = ?")
            .bind(symbol.to_string())
            .fetch_optional(&mut **tx)
            .await?;
        if let Some(id) = existing {
            if let Some(name) = name {
                let others: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM series WHERE symbol_id = ?
                       AND (owner_id IS NULL OR owner_id IS NOT ?))",
                )
                .bind(id)
                .bind(writer.user)
                .fetch_one(&mut **tx)
                .await?;
                if writer.admin || !others {
                    sqlx::query("UPDATE symbols SET name = ? WHERE id = ?")
                        .bind(name)
                        .bind(id)
                        .execute(&mut **tx)
                        .await?;
                }
            }
            return Ok(id);
        }
        let board = symbol.board();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO symbols (symbol, code, exchange, kind, board, name) VALUES (?, ?, ?, ?, ?, ?)
             RETURNING id",
        )
        .bind(symbol.to_string())
        .bind(symbol.code())
        .bind(symbol.exchange().suffix())
        .bind(symbol.kind().as_str())
        .bind(board.as_str())
        .bind(name)
        .fetch_one(&mut **tx)
        .await?;
        Ok(id)
    }

    /// Symbols whose code, canonical spelling or name contains `q` (all when `q` is empty),
    /// with their series; returns the page and the total number of matches.
    pub async fn list_symbols(
        &self,
        q: &str,
        limit: u32,
    ) -> Result<(Vec<SymbolSummary>, u64), StoreError> {
        self.list_symbols_for(&Viewer::SYSTEM, q, limit).await
    }

    /// [`Store::list_symbols`] as `viewer` sees it: symbols whose only series belong to
    /// someone else are left out.
    pub async fn list_symbols_for(
        &self,
        viewer: &Viewer,
        q: &str,
        limit: u32,
    ) -> Result<(Vec<SymbolSummary>, u64), StoreError> {
        let pattern = format!("%{}%", q.trim().replace(['%', '_'], ""));
        let rows: Vec<SummaryRow> = sqlx::query_as(
            "SELECT s.symbol, s.name, r.frequency, r.adjustment, r.bar_count, r.first_ts, r.last_ts, r.source
             FROM symbols s JOIN series r ON r.symbol_id = s.id
             WHERE (s.symbol LIKE ?1 OR s.code LIKE ?1 OR COALESCE(s.name, '') LIKE ?1)
               AND (r.owner_id IS NULL OR r.owner_id = ?2 OR ?3 = 1)
             ORDER BY s.symbol, r.frequency, r.adjustment,
               CASE WHEN r.owner_id = ?2 THEN 0 WHEN r.owner_id IS NULL THEN 1 ELSE 2 END, r.id",
        )
        .bind(&pattern)
        .bind(viewer.user)
        .bind(viewer.admin)
        .fetch_all(&self.pool)
        .await?;
        let all = group_summaries(rows)?;
        let total = all.len() as u64;
        Ok((all.into_iter().take(limit as usize).collect(), total))
    }

    pub async fn symbol(&self, symbol: &Symbol) -> Result<Option<SymbolSummary>, StoreError> {
        self.symbol_for(&Viewer::SYSTEM, symbol).await
    }

    pub async fn symbol_for(
        &self,
        viewer: &Viewer,
        symbol: &Symbol,
    ) -> Result<Option<SymbolSummary>, StoreError> {
        let rows: Vec<SummaryRow> = sqlx::query_as(
            "SELECT s.symbol, s.name, r.frequency, r.adjustment, r.bar_count, r.first_ts, r.last_ts, r.source
             FROM symbols s JOIN series r ON r.symbol_id = s.id
             WHERE s.symbol = ?1 AND (r.owner_id IS NULL OR r.owner_id = ?2 OR ?3 = 1)
             ORDER BY r.frequency, r.adjustment,
               CASE WHEN r.owner_id = ?2 THEN 0 WHEN r.owner_id IS NULL THEN 1 ELSE 2 END, r.id",
        )
        .bind(symbol.to_string())
        .bind(viewer.user)
        .bind(viewer.admin)
        .fetch_all(&self.pool)
        .await?;
        Ok(group_summaries(rows)?.into_iter().next())
    }

    /// (symbols, series, bars) in the store.
    pub async fn counts(&self) -> Result<(u64, u64, u64), StoreError> {
        let (a, b, c): (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM symbols), (SELECT COUNT(*) FROM series),
                    (SELECT COALESCE(SUM(bar_count), 0) FROM series)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((a as u64, b as u64, c as u64))
    }

    pub async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

fn group_summaries(rows: Vec<SummaryRow>) -> Result<Vec<SymbolSummary>, StoreError> {
    let mut by_symbol: BTreeMap<String, SymbolSummary> = BTreeMap::new();
    for (sym, name, freq, adj, count, first, last, source) in rows {
        let entry = match by_symbol.get_mut(&sym) {
            Some(e) => e,
            None => {
                let symbol = Symbol::parse(&sym).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let summary = SymbolSummary {
                    exchange: symbol.exchange(),
                    kind: symbol.kind(),
                    board: symbol.board(),
                    symbol,
                    name,
                    series: Vec::new(),
                };
                by_symbol.entry(sym).or_insert(summary)
            }
        };
        if let (Some(freq), Some(adj)) = (freq, adj) {
            let corrupt = |e: &dyn std::fmt::Display| StoreError::Corrupt(e.to_string());
            let frequency: Frequency = freq.parse().map_err(|e| corrupt(&e))?;
            let adjustment: Adjustment = adj.parse().map_err(|e| corrupt(&e))?;
            // Rows come in the viewer's order of preference: the first of a key is the one read.
            if entry
                .series
                .iter()
                .any(|r| r.frequency == frequency && r.adjustment == adjustment)
            {
                continue;
            }
            entry.series.push(SeriesSummary {
                frequency,
                adjustment,
                bars: count.unwrap_or(0) as u64,
                first: first.map(ts_from_db).transpose()?,
                last: last.map(ts_from_db).transpose()?,
                source: source.unwrap_or_default(),
            });
        }
    }
    let mut out: Vec<SymbolSummary> = by_symbol.into_values().collect();
    for s in &mut out {
        s.series.sort_by_key(|r| (r.frequency, r.adjustment));
    }
    Ok(out)
}

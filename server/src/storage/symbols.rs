use super::{Store, StoreError, ts_from_db};
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
    /// Inserts the symbol if new; a given name replaces the stored one.
    pub(crate) async fn upsert_symbol(
        tx: &mut Transaction<'_, Sqlite>,
        symbol: &Symbol,
        name: Option<&str>,
    ) -> Result<i64, StoreError> {
        let board = symbol.board();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO symbols (symbol, code, exchange, kind, board, name) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (symbol) DO UPDATE SET name = COALESCE(excluded.name, symbols.name)
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
        self.list_symbols_for(
            &super::Viewer {
                user: None,
                admin: true,
            },
            q,
            limit,
        )
        .await
    }

    /// [`Store::list_symbols`] as `viewer` sees it: symbols whose only series belong to
    /// someone else are left out.
    pub async fn list_symbols_for(
        &self,
        viewer: &super::Viewer,
        q: &str,
        limit: u32,
    ) -> Result<(Vec<SymbolSummary>, u64), StoreError> {
        let pattern = format!("%{}%", q.trim().replace(['%', '_'], ""));
        let rows: Vec<SummaryRow> = sqlx::query_as(
            "SELECT s.symbol, s.name, r.frequency, r.adjustment, r.bar_count, r.first_ts, r.last_ts, r.source
             FROM symbols s JOIN series r ON r.symbol_id = s.id
             WHERE (s.symbol LIKE ?1 OR s.code LIKE ?1 OR COALESCE(s.name, '') LIKE ?1)
               AND (r.owner_id IS NULL OR r.owner_id = ?2 OR ?3 = 1)
             ORDER BY s.symbol, r.frequency, r.adjustment",
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
        self.symbol_for(
            &super::Viewer {
                user: None,
                admin: true,
            },
            symbol,
        )
        .await
    }

    pub async fn symbol_for(
        &self,
        viewer: &super::Viewer,
        symbol: &Symbol,
    ) -> Result<Option<SymbolSummary>, StoreError> {
        let rows: Vec<SummaryRow> = sqlx::query_as(
            "SELECT s.symbol, s.name, r.frequency, r.adjustment, r.bar_count, r.first_ts, r.last_ts, r.source
             FROM symbols s JOIN series r ON r.symbol_id = s.id
             WHERE s.symbol = ? AND (r.owner_id IS NULL OR r.owner_id = ? OR ? = 1)
             ORDER BY r.frequency, r.adjustment",
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

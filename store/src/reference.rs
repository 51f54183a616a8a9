//! Reference data (industries, shares, index members, status, northbound holdings) in the store: checked whole before
//! anything is written, then written in one transaction, so a bad file or a failed write leaves
//! what was stored as it was.

use super::{Store, StoreError};
use chrono::NaiveDate;
use kxian_shared::reference::membership::{self, Snapshot};
use kxian_shared::reference::{
    IndustryRecord, MemberList, MemberRecord, NorthboundRecord, RefError, ReferenceData,
    SharesRecord, StatusKind, StatusRecord, sectors,
};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};
use std::collections::BTreeSet;

/// What an import wrote, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReferenceCounts {
    pub industries: usize,
    pub shares: usize,
    pub members: usize,
    pub status: usize,
    pub northbound: usize,
}

/// Rows per INSERT: well under SQLite's bound-variable limit with seven columns.
const CHUNK: usize = 500;

fn day(s: &str) -> Result<NaiveDate, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("reference day `{s}`")))
}

fn opt_day(s: Option<String>) -> Result<Option<NaiveDate>, StoreError> {
    s.as_deref().map(day).transpose()
}

impl Store {
    /// Imports reference data. What it covers replaces what was stored: an index's whole
    /// membership history, a symbol's industries, a symbol's periods of each status kind; shares
    /// rows replace the rows of the same symbol and day. Everything else stays.
    pub async fn import_reference(
        &self,
        data: &ReferenceData,
    ) -> Result<ReferenceCounts, StoreError> {
        data.check()?;
        let source = if data.source.is_empty() {
            "import"
        } else {
            data.source.as_str()
        };
        let mut tx = self.write_tx().await?;

        let indices: BTreeSet<&str> = data.members.iter().map(|m| m.index.as_str()).collect();
        for index in indices {
            sqlx::query("DELETE FROM ref_members WHERE index_code = ?")
                .bind(index)
                .execute(&mut *tx)
                .await?;
        }
        for chunk in data.members.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO ref_members (index_code, symbol, valid_from, valid_to, weight, source) ",
            );
            q.push_values(chunk, |mut b, m| {
                b.push_bind(&m.index)
                    .push_bind(&m.symbol)
                    .push_bind(m.from.to_string())
                    .push_bind(m.to.map(|d| d.to_string()))
                    .push_bind(m.weight)
                    .push_bind(source);
            });
            q.build().execute(&mut *tx).await?;
        }

        let symbols: BTreeSet<&str> = data.industries.iter().map(|r| r.symbol.as_str()).collect();
        for s in symbols {
            sqlx::query("DELETE FROM ref_industries WHERE symbol = ?")
                .bind(s)
                .execute(&mut *tx)
                .await?;
        }
        for chunk in data.industries.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO ref_industries (symbol, industry, sector, valid_from, valid_to, source) ",
            );
            q.push_values(chunk, |mut b, r| {
                let sector = sectors::sector_of(&r.industry).expect("checked above");
                b.push_bind(&r.symbol)
                    .push_bind(&r.industry)
                    .push_bind(sector.as_str())
                    .push_bind(r.from.to_string())
                    .push_bind(r.to.map(|d| d.to_string()))
                    .push_bind(source);
            });
            q.build().execute(&mut *tx).await?;
        }

        let kinds: BTreeSet<(&str, StatusKind)> = data
            .status
            .iter()
            .map(|r| (r.symbol.as_str(), r.kind))
            .collect();
        for (s, k) in kinds {
            sqlx::query("DELETE FROM ref_status WHERE symbol = ? AND kind = ?")
                .bind(s)
                .bind(k.as_str())
                .execute(&mut *tx)
                .await?;
        }
        for chunk in data.status.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO ref_status (symbol, kind, valid_from, valid_to, note, source) ",
            );
            q.push_values(chunk, |mut b, r| {
                b.push_bind(&r.symbol)
                    .push_bind(r.kind.as_str())
                    .push_bind(r.from.to_string())
                    .push_bind(r.to.map(|d| d.to_string()))
                    .push_bind(&r.note)
                    .push_bind(source);
            });
            q.build().execute(&mut *tx).await?;
        }

        for chunk in data.shares.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT OR REPLACE INTO ref_shares (symbol, date, total_shares, float_shares, pe, pb, source) ",
            );
            q.push_values(chunk, |mut b, r| {
                b.push_bind(&r.symbol)
                    .push_bind(r.date.to_string())
                    .push_bind(r.total_shares)
                    .push_bind(r.float_shares)
                    .push_bind(r.pe)
                    .push_bind(r.pb)
                    .push_bind(source);
            });
            q.build().execute(&mut *tx).await?;
        }
        // Dated lists carry the stored stays forward: open stays missing from a list end the
        // day before it, new names start on it; nothing stored is replaced.
        let mut lists: Vec<&MemberList> = data.member_lists.iter().collect();
        lists.sort_by_key(|l| l.date);
        let mut carried = 0;
        for (i, list) in lists.into_iter().enumerate() {
            let stored = index_members(&mut *tx, &list.index).await?;
            let snapshot = Snapshot {
                date: list.date,
                members: list.symbols.iter().map(|s| (s.clone(), None)).collect(),
            };
            let after =
                membership::carry_forward(&list.index, &stored, &snapshot).map_err(|problem| {
                    RefError {
                        record: format!("member_lists[{i}] {} {}", list.index, list.date),
                        problem,
                    }
                })?;
            let before: std::collections::HashMap<(&str, NaiveDate), Option<NaiveDate>> = stored
                .iter()
                .map(|s| ((s.symbol.as_str(), s.from), s.to))
                .collect();
            for m in &after {
                match before.get(&(m.symbol.as_str(), m.from)) {
                    Some(to) if *to == m.to => {}
                    Some(_) => {
                        sqlx::query(
                            "UPDATE ref_members SET valid_to = ? WHERE index_code = ? AND symbol = ? AND valid_from = ?",
                        )
                        .bind(m.to.map(|d| d.to_string()))
                        .bind(&m.index)
                        .bind(&m.symbol)
                        .bind(m.from.to_string())
                        .execute(&mut *tx)
                        .await?;
                    }
                    None => {
                        carried += 1;
                        sqlx::query(
                            "INSERT INTO ref_members (index_code, symbol, valid_from, valid_to, weight, source) VALUES (?, ?, ?, ?, ?, ?)",
                        )
                        .bind(&m.index)
                        .bind(&m.symbol)
                        .bind(m.from.to_string())
                        .bind(m.to.map(|d| d.to_string()))
                        .bind(m.weight)
                        .bind(source)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
            }
        }

        for chunk in data.northbound.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT OR REPLACE INTO ref_northbound (symbol, date, shares, ratio, source) ",
            );
            q.push_values(chunk, |mut b, r| {
                b.push_bind(&r.symbol)
                    .push_bind(r.date.to_string())
                    .push_bind(r.shares)
                    .push_bind(r.ratio)
                    .push_bind(source);
            });
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(ReferenceCounts {
            industries: data.industries.len(),
            shares: data.shares.len(),
            members: data.members.len() + carried,
            status: data.status.len(),
            northbound: data.northbound.len(),
        })
    }

    /// Every stored stay in `index`, by symbol and day.
    pub async fn index_members(&self, index: &str) -> Result<Vec<MemberRecord>, StoreError> {
        index_members(&self.pool, index).await
    }

    /// The stored industries, shares, status and northbound holdings of `symbols` (members are
    /// asked by index).
    pub async fn reference_of(&self, symbols: &[String]) -> Result<ReferenceData, StoreError> {
        reference_of(&self.pool, symbols, true).await
    }

    /// How many records of each kind the store holds.
    pub async fn reference_counts(&self) -> Result<ReferenceCounts, StoreError> {
        let n = |table: &'static str| {
            let pool = self.pool.clone();
            async move {
                let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                    .fetch_one(&pool)
                    .await?;
                Ok::<usize, StoreError>(n.max(0) as usize)
            }
        };
        Ok(ReferenceCounts {
            industries: n("ref_industries").await?,
            shares: n("ref_shares").await?,
            members: n("ref_members").await?,
            status: n("ref_status").await?,
            northbound: n("ref_northbound").await?,
        })
    }
}

/// Every stored stay in `index`, by symbol and day.
pub(crate) async fn index_members<'e>(
    pool: impl sqlx::SqliteExecutor<'e>,
    index: &str,
) -> Result<Vec<MemberRecord>, StoreError> {
    type Row = (String, String, String, Option<String>, Option<f64>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT index_code, symbol, valid_from, valid_to, weight FROM ref_members
         WHERE index_code = ? ORDER BY symbol, valid_from",
    )
    .bind(index)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(index, symbol, from, to, weight)| {
            Ok(MemberRecord {
                index,
                symbol,
                from: day(&from)?,
                to: opt_day(to)?,
                weight,
            })
        })
        .collect()
}

/// `SELECT {columns} FROM {table} WHERE symbol IN (chunk) ORDER BY {order}`.
fn of_symbols<'a>(
    columns: &str,
    table: &str,
    chunk: &'a [String],
    order: &str,
) -> QueryBuilder<'a, Sqlite> {
    let mut q = QueryBuilder::new(format!("SELECT {columns} FROM {table} WHERE symbol IN ("));
    let mut list = q.separated(", ");
    for s in chunk {
        list.push_bind(s);
    }
    list.push_unseparated(format!(") ORDER BY {order}"));
    q
}

/// The stored industries, shares and status of `symbols`, a few hundred symbols a query (a
/// backtest or a health check reads a whole universe's).
pub(crate) async fn reference_of(
    pool: &SqlitePool,
    symbols: &[String],
    northbound: bool,
) -> Result<ReferenceData, StoreError> {
    let mut out = ReferenceData {
        source: "store".into(),
        ..ReferenceData::default()
    };
    for chunk in symbols.chunks(CHUNK) {
        let rows: Vec<(String, String, String, Option<String>)> = of_symbols(
            "symbol, industry, valid_from, valid_to",
            "ref_industries",
            chunk,
            "symbol, valid_from",
        )
        .build_query_as()
        .fetch_all(pool)
        .await?;
        for (symbol, industry, from, to) in rows {
            out.industries.push(IndustryRecord {
                symbol,
                industry,
                from: day(&from)?,
                to: opt_day(to)?,
            });
        }
        type Shares = (String, String, f64, f64, Option<f64>, Option<f64>);
        let rows: Vec<Shares> = of_symbols(
            "symbol, date, total_shares, float_shares, pe, pb",
            "ref_shares",
            chunk,
            "symbol, date",
        )
        .build_query_as()
        .fetch_all(pool)
        .await?;
        for (symbol, date, total_shares, float_shares, pe, pb) in rows {
            out.shares.push(SharesRecord {
                symbol,
                date: day(&date)?,
                total_shares,
                float_shares,
                pe,
                pb,
            });
        }
        type Status = (String, String, String, Option<String>, Option<String>);
        let rows: Vec<Status> = of_symbols(
            "symbol, kind, valid_from, valid_to, note",
            "ref_status",
            chunk,
            "symbol, kind, valid_from",
        )
        .build_query_as()
        .fetch_all(pool)
        .await?;
        for (symbol, kind, from, to, note) in rows {
            let kind = StatusKind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("status kind `{kind}`")))?;
            out.status.push(StatusRecord {
                symbol,
                kind,
                from: day(&from)?,
                to: opt_day(to)?,
                note,
            });
        }
        if !northbound {
            continue;
        }
        let rows: Vec<(String, String, f64, Option<f64>)> = of_symbols(
            "symbol, date, shares, ratio",
            "ref_northbound",
            chunk,
            "symbol, date",
        )
        .build_query_as()
        .fetch_all(pool)
        .await?;
        for (symbol, date, shares, ratio) in rows {
            out.northbound.push(NorthboundRecord {
                symbol,
                date: day(&date)?,
                shares,
                ratio,
            });
        }
    }
    Ok(out)
}

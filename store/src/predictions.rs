//! Prediction sets: written whole in one transaction (a set is never half there), read by
//! whoever may see them — their owner, an admin, or anyone for a set with no owner.

use chrono::NaiveDate;
use kxian_shared::api::PredictionSetInfo;
use kxian_shared::predictions::RowKind;
use kxian_shared::predictions::rows::{Detail, PredictionRow};

use super::{Store, StoreError, Viewer};

/// A set about to be stored.
#[derive(Debug, Clone)]
pub struct NewPredictionSet {
    pub name: String,
    pub owner: Option<i64>,
    pub kind: RowKind,
    pub model: String,
    pub model_sha256: Vec<String>,
    pub params: serde_json::Value,
    pub first_date: NaiveDate,
    pub last_date: NaiveDate,
    pub symbols: usize,
    /// The set as a Parquet file (the server has no Parquet writer; it serves these bytes).
    pub parquet: Option<Vec<u8>>,
}

type Raw = (
    i64,
    String,
    Option<i64>,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    String,
);

const COLUMNS: &str = "id, name, owner_id, kind, model, model_sha256, params, first_date, last_date, symbols, row_count, created_at";

/// Whose sets a viewer sees (two binds: the user id, the admin flag).
const SEES: &str = "(owner_id IS NULL OR owner_id = ? OR ? = 1)";

fn info(r: Raw) -> Result<PredictionSetInfo, StoreError> {
    let id = r.0;
    let corrupt =
        |what: &str, e: String| StoreError::Corrupt(format!("prediction set {id}: {what}: {e}"));
    let date = |s: &str, what: &str| {
        s.parse::<NaiveDate>()
            .map_err(|e| corrupt(what, e.to_string()))
    };
    Ok(PredictionSetInfo {
        id,
        name: r.1,
        owner_id: r.2,
        kind: serde_json::from_value(serde_json::Value::String(r.3))
            .map_err(|e| corrupt("kind", e.to_string()))?,
        model: r.4,
        model_sha256: serde_json::from_str(&r.5)
            .map_err(|e| corrupt("model_sha256", e.to_string()))?,
        params: serde_json::from_str(&r.6).map_err(|e| corrupt("params", e.to_string()))?,
        first_date: date(&r.7, "first_date")?,
        last_date: date(&r.8, "last_date")?,
        symbols: r.9 as usize,
        rows: r.10 as usize,
        created_at: r.11,
    })
}

type RawRow = (
    String,
    String,
    i64,
    f64,
    f64,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<i64>,
    Option<f64>,
    Option<f64>,
    Option<Vec<u8>>,
);

impl Store {
    /// Stores a set and its rows in one transaction, replacing the owner's set of that name.
    pub async fn insert_prediction_set(
        &self,
        set: &NewPredictionSet,
        rows: impl Iterator<Item = Result<PredictionRow, String>>,
    ) -> Result<i64, StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM prediction_sets WHERE owner_id IS ? AND name = ?")
            .bind(set.owner)
            .bind(&set.name)
            .execute(&mut *tx)
            .await?;
        let kind = serde_json::to_value(set.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO prediction_sets (name, owner_id, kind, model, model_sha256, params, first_date, last_date, symbols, created_at, parquet)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&set.name)
        .bind(set.owner)
        .bind(kind)
        .bind(&set.model)
        .bind(serde_json::to_string(&set.model_sha256).unwrap_or_default())
        .bind(set.params.to_string())
        .bind(set.first_date.to_string())
        .bind(set.last_date.to_string())
        .bind(set.symbols as i64)
        .bind(super::jobs::now())
        .bind(set.parquet.as_deref())
        .fetch_one(&mut *tx)
        .await?;
        let mut n = 0i64;
        for row in rows {
            let r = row.map_err(StoreError::Corrupt)?;
            let (exp, q10, q50, q90, paths, n_paths, down, flat) = match &r.detail {
                Detail::Kronos {
                    exp_return,
                    q10,
                    q50,
                    q90,
                    n_paths,
                    path_returns,
                } => (
                    Some(*exp_return),
                    Some(*q10),
                    Some(*q50),
                    Some(*q90),
                    (!path_returns.is_empty()).then(|| {
                        path_returns
                            .iter()
                            .flat_map(|x| x.to_le_bytes())
                            .collect::<Vec<u8>>()
                    }),
                    Some(i64::from(*n_paths)),
                    None,
                    None,
                ),
                Detail::Classifier { p_down, p_flat } => (
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    Some(*p_down),
                    Some(*p_flat),
                ),
            };
            sqlx::query(
                "INSERT INTO prediction_rows (set_id, symbol, as_of, horizon, score, p_up, exp_return, q10, q50, q90, n_paths, p_down, p_flat, path_returns)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(id)
            .bind(&r.symbol)
            .bind(r.as_of.to_string())
            .bind(i64::from(r.horizon))
            .bind(r.score)
            .bind(r.p_up)
            .bind(exp)
            .bind(q10)
            .bind(q50)
            .bind(q90)
            .bind(n_paths)
            .bind(down)
            .bind(flat)
            .bind(paths)
            .execute(&mut *tx)
            .await?;
            n += 1;
        }
        sqlx::query("UPDATE prediction_sets SET row_count = ? WHERE id = ?")
            .bind(n)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The sets `viewer` may see, newest first.
    pub async fn prediction_sets(
        &self,
        viewer: Viewer,
    ) -> Result<Vec<PredictionSetInfo>, StoreError> {
        let raws: Vec<Raw> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM prediction_sets WHERE {SEES} ORDER BY id DESC"
        ))
        .bind(viewer.user)
        .bind(viewer.admin)
        .fetch_all(&self.pool)
        .await?;
        raws.into_iter().map(info).collect()
    }

    /// One set, if `viewer` may see it.
    pub async fn prediction_set(
        &self,
        viewer: Viewer,
        id: i64,
    ) -> Result<Option<PredictionSetInfo>, StoreError> {
        let raw: Option<Raw> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM prediction_sets WHERE id = ? AND {SEES}"
        ))
        .bind(id)
        .bind(viewer.user)
        .bind(viewer.admin)
        .fetch_optional(&self.pool)
        .await?;
        raw.map(info).transpose()
    }

    /// A set's Parquet file, when it was stored with one. Check visibility first.
    pub async fn prediction_parquet(
        &self,
        set: &PredictionSetInfo,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let row: Option<(Option<Vec<u8>>,)> =
            sqlx::query_as("SELECT parquet FROM prediction_sets WHERE id = ?")
                .bind(set.id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.and_then(|r| r.0))
    }

    /// A set's rows in (date, symbol) order, with their path returns. Check visibility with
    /// [`Store::prediction_set`] first.
    pub async fn prediction_rows(
        &self,
        set: &PredictionSetInfo,
    ) -> Result<Vec<PredictionRow>, StoreError> {
        let raws: Vec<RawRow> = sqlx::query_as(
            "SELECT symbol, as_of, horizon, score, p_up, exp_return, q10, q50, q90, n_paths, p_down, p_flat, path_returns
             FROM prediction_rows WHERE set_id = ? ORDER BY as_of, symbol",
        )
        .bind(set.id)
        .fetch_all(&self.pool)
        .await?;
        let corrupt = |e: String| StoreError::Corrupt(format!("prediction set {}: {e}", set.id));
        raws.into_iter()
            .map(|r| {
                let detail = match set.kind {
                    RowKind::Kronos => Detail::Kronos {
                        exp_return: r.5.unwrap_or(f64::NAN),
                        q10: r.6.unwrap_or(f64::NAN),
                        q50: r.7.unwrap_or(f64::NAN),
                        q90: r.8.unwrap_or(f64::NAN),
                        n_paths: r.9.unwrap_or(0) as u32,
                        path_returns: r
                            .12
                            .unwrap_or_default()
                            .chunks_exact(4)
                            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                            .collect(),
                    },
                    RowKind::Classifier => Detail::Classifier {
                        p_down: r.10.unwrap_or(f64::NAN),
                        p_flat: r.11.unwrap_or(f64::NAN),
                    },
                };
                Ok(PredictionRow {
                    symbol: r.0,
                    as_of: r
                        .1
                        .parse()
                        .map_err(|e: chrono::ParseError| corrupt(e.to_string()))?,
                    horizon: r.2 as u32,
                    score: r.3,
                    p_up: r.4,
                    detail,
                })
            })
            .collect()
    }
}

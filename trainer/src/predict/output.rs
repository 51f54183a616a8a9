//! A finished set written out: the CSV (the contract's columns), the Parquet file (the same
//! columns typed, plus each Kronos row's path returns as a list), and the store. Files are
//! written beside their final name and renamed, so a reader never sees half a file.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use arrow_array::builder::{
    Date32Builder, Float32Builder, Float64Builder, ListBuilder, StringBuilder, UInt32Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use chrono::NaiveDate;
use kxian_shared::predictions::rows::{Detail, PredictionRow, RowKind};
use parquet::arrow::ArrowWriter;

use super::Params;
use super::journal::read_rows;

/// Rows per Parquet record batch: memory stays bounded whatever the set's size.
const BATCH: usize = 8192;

fn temp_beside(path: &Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(".tmp");
    name.into()
}

/// Writes the CSV and the Parquet file from the journal; returns the number of rows.
pub(super) fn write_files(
    journal: &Path,
    kind: RowKind,
    csv: Option<&Path>,
    parquet: Option<&Path>,
) -> anyhow::Result<usize> {
    let mut csv_out = csv
        .map(|p| -> anyhow::Result<_> {
            let f = std::fs::File::create(temp_beside(p))
                .with_context(|| format!("creating {}", p.display()))?;
            let mut w = std::io::BufWriter::new(f);
            writeln!(w, "{}", kind.header())?;
            Ok(w)
        })
        .transpose()?;
    let mut pq = parquet
        .map(|p| -> anyhow::Result<_> {
            let f = std::fs::File::create(temp_beside(p))
                .with_context(|| format!("creating {}", p.display()))?;
            Ok(ArrowWriter::try_new(f, schema(kind), None)?)
        })
        .transpose()?;
    let mut n = 0usize;
    let mut chunk = Vec::with_capacity(BATCH);
    // Dates ascend (symbols within a date are in the universe's order).
    let mut last: Option<NaiveDate> = None;
    for row in read_rows(journal)? {
        let row = row?;
        anyhow::ensure!(
            last.is_none_or(|l| l <= row.as_of),
            "{}: rows out of date order at {} {}",
            journal.display(),
            row.symbol,
            row.as_of
        );
        last = Some(row.as_of);
        if let Some(w) = &mut csv_out {
            writeln!(w, "{}", row.to_csv())?;
        }
        n += 1;
        if let Some(w) = &mut pq {
            chunk.push(row);
            if chunk.len() == BATCH {
                w.write(&record_batch(kind, &chunk)?)?;
                chunk.clear();
            }
        }
    }
    if let (Some(w), Some(p)) = (csv_out, csv) {
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(temp_beside(p), p).with_context(|| format!("writing {}", p.display()))?;
    }
    if let (Some(mut w), Some(p)) = (pq, parquet) {
        if !chunk.is_empty() {
            w.write(&record_batch(kind, &chunk)?)?;
        }
        w.close()?;
        std::fs::rename(temp_beside(p), p).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(n)
}

fn schema(kind: RowKind) -> Arc<Schema> {
    let f64_field = |n: &str| Field::new(n, DataType::Float64, false);
    let mut fields = vec![
        Field::new("symbol", DataType::Utf8, false),
        Field::new("as_of", DataType::Date32, false),
        Field::new("horizon", DataType::UInt32, false),
        f64_field("score"),
        f64_field("p_up"),
    ];
    match kind {
        RowKind::Kronos => {
            fields.extend(["exp_return", "q10", "q50", "q90"].map(f64_field));
            fields.push(Field::new("n_paths", DataType::UInt32, false));
            fields.push(Field::new(
                "path_returns",
                DataType::List(Arc::new(Field::new_list_field(DataType::Float32, true))),
                false,
            ));
        }
        RowKind::Classifier => fields.extend(["p_down", "p_flat"].map(f64_field)),
    }
    Arc::new(Schema::new(fields))
}

fn record_batch(kind: RowKind, rows: &[PredictionRow]) -> anyhow::Result<RecordBatch> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid day");
    let mut symbol = StringBuilder::new();
    let mut as_of = Date32Builder::new();
    let mut horizon = UInt32Builder::new();
    let mut cols: Vec<Float64Builder> = (0..6).map(|_| Float64Builder::new()).collect();
    let mut n_paths = UInt32Builder::new();
    let mut paths = ListBuilder::new(Float32Builder::new());
    for r in rows {
        symbol.append_value(&r.symbol);
        as_of.append_value((r.as_of - epoch).num_days() as i32);
        horizon.append_value(r.horizon);
        cols[0].append_value(r.score);
        cols[1].append_value(r.p_up);
        match &r.detail {
            Detail::Kronos {
                exp_return,
                q10,
                q50,
                q90,
                n_paths: n,
                path_returns,
            } => {
                for (k, v) in [exp_return, q10, q50, q90].into_iter().enumerate() {
                    cols[2 + k].append_value(*v);
                }
                n_paths.append_value(*n);
                paths.values().append_slice(path_returns);
                paths.append(true);
            }
            Detail::Classifier { p_down, p_flat } => {
                cols[2].append_value(*p_down);
                cols[3].append_value(*p_flat);
            }
        }
    }
    let mut arrays: Vec<ArrayRef> = vec![
        Arc::new(symbol.finish()),
        Arc::new(as_of.finish()),
        Arc::new(horizon.finish()),
    ];
    let used = match kind {
        RowKind::Kronos => 6,
        RowKind::Classifier => 4,
    };
    for c in cols.iter_mut().take(used) {
        arrays.push(Arc::new(c.finish()));
    }
    if kind == RowKind::Kronos {
        arrays.push(Arc::new(n_paths.finish()));
        arrays.push(Arc::new(paths.finish()));
    }
    Ok(RecordBatch::try_new(schema(kind), arrays)?)
}

/// What the store keeps beside the rows.
pub(super) struct SetMeta<'a> {
    pub name: String,
    pub owner: Option<i64>,
    pub params: &'a Params,
    pub first_date: NaiveDate,
    pub last_date: NaiveDate,
    pub symbols: usize,
    /// The set's Parquet file, kept in the store beside the rows.
    pub parquet: Option<&'a Path>,
}

/// Stores the set (replacing the owner's set of that name); returns its id.
pub(super) fn store_set(db: &Path, meta: &SetMeta<'_>, journal: &Path) -> anyhow::Result<i64> {
    crate::store::with_writable_store(db, async |store| {
        let set = kxian_store::NewPredictionSet {
            name: meta.name.clone(),
            owner: meta.owner,
            kind: meta.params.model.kind,
            model: meta.params.model.name.clone(),
            model_sha256: meta.params.model.sha256.clone(),
            params: serde_json::json!({
                "universe": meta.params.universe,
                "schedule": meta.params.schedule,
                "forecast": meta.params.forecast,
            }),
            first_date: meta.first_date,
            last_date: meta.last_date,
            symbols: meta.symbols,
            parquet: meta
                .parquet
                .map(|p| std::fs::read(p).with_context(|| format!("reading {}", p.display())))
                .transpose()?,
        };
        let rows = read_rows(journal)?.map(|r| r.map_err(|e| format!("{e:#}")));
        store
            .insert_prediction_set(&set, rows)
            .await
            .with_context(|| format!("storing the set in {}", db.display()))
    })
}

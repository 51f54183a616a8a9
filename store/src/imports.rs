use super::{Store, StoreError, Viewer};
use kxian_shared::api::{ImportReport, ImportedSeries};
use kxian_shared::ingest::ParsedImport;

impl Store {
    /// Writes every series of a parsed file in ONE transaction: either all of it is stored
    /// and logged, or (on any error) nothing is, and what was stored before stays as it was.
    pub async fn import(
        &self,
        parsed: &ParsedImport,
        source: &str,
    ) -> Result<ImportReport, StoreError> {
        self.import_as(parsed, source, &Viewer::SYSTEM).await
    }

    /// [`Store::import`] by `writer`, under the write rule: its own series, the public ones
    /// only when it is an admin, never another user's (see `Store::series_to_write`).
    pub async fn import_as(
        &self,
        parsed: &ParsedImport,
        source: &str,
        writer: &Viewer,
    ) -> Result<ImportReport, StoreError> {
        let mut tx = self.write_tx().await?;
        let mut series = Vec::with_capacity(parsed.series.len());
        for s in &parsed.series {
            let symbol_id =
                Store::upsert_symbol(&mut tx, &s.symbol, s.name.as_deref(), writer).await?;
            let (inserted, updated) = Store::upsert_bars(
                &mut tx,
                symbol_id,
                s.frequency,
                s.adjustment,
                source,
                writer,
                &s.bars,
            )
            .await?;
            series.push(ImportedSeries {
                symbol: s.symbol.clone(),
                name: s.name.clone(),
                frequency: s.frequency,
                adjustment: s.adjustment,
                volume_unit: s.volume_unit,
                bars: s.bars.len() as u64,
                inserted,
                updated,
                first: s.bars.first().map(|b| b.ts),
                last: s.bars.last().map(|b| b.ts),
            });
        }
        let report = ImportReport {
            file: parsed.file.clone(),
            layout: parsed.layout.as_str().to_string(),
            rows_read: parsed.rows_read,
            series,
            rejected: parsed.rejected.clone(),
            warnings: parsed.warnings.clone(),
        };
        sqlx::query("INSERT INTO imports (file, layout, source, rows_read, report, created_at) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(&report.file)
            .bind(&report.layout)
            .bind(source)
            .bind(report.rows_read as i64)
            .bind(serde_json::to_string(&report).unwrap_or_default())
            .bind(chrono::Utc::now().to_rfc3339())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(report)
    }
}

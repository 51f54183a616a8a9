use super::{Store, StoreError};
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
        self.import_owned(parsed, source, None).await
    }

    /// [`Store::import`], new series owned by `owner` (`None`: public).
    pub async fn import_owned(
        &self,
        parsed: &ParsedImport,
        source: &str,
        owner: Option<i64>,
    ) -> Result<ImportReport, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut series = Vec::with_capacity(parsed.series.len());
        for s in &parsed.series {
            let symbol_id = Store::upsert_symbol(&mut tx, &s.symbol, s.name.as_deref()).await?;
            let (inserted, updated) = Store::upsert_bars(
                &mut tx,
                symbol_id,
                s.frequency,
                s.adjustment,
                source,
                owner,
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

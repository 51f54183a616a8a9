//! `kxian import FILE...`: the same importers and store as the upload API, from a terminal.

use crate::config::ImportArgs;
use crate::storage::Store;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use kxian_shared::api::{ApiError, ImportOptions, ImportReport, Problem};
use std::time::{Duration, Instant};

/// How many problems to print per file before summarising the rest.
const SHOWN_PROBLEMS: usize = 20;

/// How a `kxian import` went, for its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imported {
    /// Every file was stored.
    All,
    /// A file was unreadable or invalid (exit 2): nothing of it was stored.
    BadInput,
    /// The store failed on a valid file (exit 1).
    Failed,
}

impl Imported {
    pub fn exit_code(self) -> i32 {
        match self {
            Imported::All => 0,
            Imported::BadInput => 2,
            Imported::Failed => 1,
        }
    }
}

/// Imports every file (each in its own transaction), going on after a file that fails.
pub async fn run(args: ImportArgs) -> anyhow::Result<Imported> {
    let store = Store::open(&args.store.db)
        .await
        .with_context(|| format!("opening the store {}", args.store.db.display()))?;
    let opts = ImportOptions {
        symbol: args.symbol.clone(),
        name: args.name.clone(),
        frequency: args.frequency,
        adjustment: args.adjustment,
        volume_unit: args.volume_unit,
        skip_invalid: args.skip_invalid,
    };
    let writer = match &args.owner {
        None => crate::storage::Viewer::SYSTEM,
        Some(name) => crate::storage::Viewer::of(
            &store
                .user_by_name(name)
                .await?
                .with_context(|| format!("--owner: no user `{name}`"))?,
        ),
    };
    let progress = ProgressBar::new(args.files.len() as u64).with_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    if args.json {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    progress.enable_steady_tick(Duration::from_millis(120));
    let mut outcome = Imported::All;
    for path in &args.files {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        progress.set_message(file_name.clone());
        let started = Instant::now();
        let result = if is_reference(&file_name) {
            import_reference(&store, path, &file_name)
                .await
                .map(|c| Stored::Reference(file_name.clone(), c))
        } else {
            import_one(&store, path, &file_name, &opts, &writer)
                .await
                .map(Stored::Bars)
        };
        progress.inc(1);
        match result {
            Ok(stored) => {
                let line = match (&stored, args.json) {
                    (Stored::Bars(report), true) => serde_json::to_string(report)?,
                    (Stored::Bars(report), false) => describe(report, started.elapsed()),
                    (Stored::Reference(file, counts), true) => serde_json::to_string(
                        &serde_json::json!({"file": file, "reference": counts}),
                    )?,
                    (Stored::Reference(file, c), false) => format!(
                        "✔ {file} (reference data, {:.2?}): {} industries, {} shares rows, {} index stays, {} status periods, {} northbound holdings",
                        started.elapsed(),
                        c.industries,
                        c.shares,
                        c.members,
                        c.status,
                        c.northbound
                    ),
                };
                progress.suspend(|| println!("{line}"));
            }
            Err(failure) => {
                outcome = worse(outcome, &failure);
                let text = if args.json {
                    serde_json::to_string(&failure.body)?
                } else {
                    let mut t = format!(
                        "✘ {}: {} — nothing stored",
                        failure.file, failure.body.message
                    );
                    push_problems(&mut t, &failure.body.problems, "");
                    t
                };
                progress.suspend(|| eprintln!("{text}"));
            }
        }
    }
    progress.finish_and_clear();
    store.close().await;
    Ok(outcome)
}

/// What one file became in the store.
enum Stored {
    Bars(ImportReport),
    Reference(String, kxian_store::ReferenceCounts),
}

struct Failure {
    file: String,
    body: kxian_shared::api::ApiError,
}

fn failure(file_name: &str, error: &str, message: String) -> Failure {
    Failure {
        file: file_name.to_string(),
        body: kxian_shared::api::ApiError {
            error: error.into(),
            message,
            problems: Vec::new(),
        },
    }
}

async fn read(path: &std::path::Path, file_name: &str) -> Result<Vec<u8>, Failure> {
    tokio::fs::read(path).await.map_err(|e| {
        failure(
            file_name,
            "unreadable",
            format!("cannot read {}: {e}", path.display()),
        )
    })
}

/// A failed run outweighs bad input: the exit code says the worst.
fn worse(outcome: Imported, failure: &Failure) -> Imported {
    match (outcome, failure.body.error.as_str()) {
        (_, "store" | "internal") | (Imported::Failed, _) => Imported::Failed,
        _ => Imported::BadInput,
    }
}

/// `reference.json` (what `kxian-trainer download --reference` writes) is reference data.
fn is_reference(file_name: &str) -> bool {
    file_name.ends_with(".json")
}

/// Reference data: parsed, checked and stored in one transaction, or refused naming the record.
async fn import_reference(
    store: &Store,
    path: &std::path::Path,
    file_name: &str,
) -> Result<kxian_store::ReferenceCounts, Failure> {
    let fail = |error: &str, message: String| failure(file_name, error, message);
    let bytes = read(path, file_name).await?;
    let data: kxian_shared::reference::ReferenceData = serde_json::from_slice(&bytes)
        .map_err(|e| fail("invalid", format!("not reference data: {e}")))?;
    store.import_reference(&data).await.map_err(|e| match e {
        kxian_store::StoreError::BadReference(r) => fail("invalid", r.to_string()),
        e => fail("store", e.to_string()),
    })
}

async fn import_one(
    store: &Store,
    path: &std::path::Path,
    file_name: &str,
    opts: &ImportOptions,
    writer: &crate::storage::Viewer,
) -> Result<ImportReport, Failure> {
    let fail = |error: &str, message: String| failure(file_name, error, message);
    let bytes = read(path, file_name).await?;
    let (name, o) = (file_name.to_string(), opts.clone());
    let parsed =
        tokio::task::spawn_blocking(move || kxian_shared::ingest::parse_file(&name, &bytes, &o))
            .await
            .map_err(|e| fail("internal", e.to_string()))?
            .map_err(|e| Failure {
                file: file_name.to_string(),
                body: ApiError::from(&e),
            })?;
    store
        .import_as(&parsed, &format!("import:{file_name}"), writer)
        .await
        .map_err(|e| fail("store", e.to_string()))
}

fn describe(report: &ImportReport, took: Duration) -> String {
    let mut t = format!(
        "✔ {} ({}, {} rows read, {:.2?})",
        report.file, report.layout, report.rows_read, took
    );
    for s in &report.series {
        let range = match (s.first, s.last) {
            (Some(a), Some(b)) => format!("{a} … {b}"),
            _ => "empty".into(),
        };
        t.push_str(&format!(
            "\n  {} {} {} — {} bars ({} new, {} updated), volume read in {:?}, {range}",
            s.symbol, s.frequency, s.adjustment, s.bars, s.inserted, s.updated, s.volume_unit
        ));
    }
    push_problems(&mut t, &report.rejected, "skipped: ");
    push_problems(&mut t, &report.warnings, "warning: ");
    t
}

fn push_problems(t: &mut String, problems: &[Problem], prefix: &str) {
    for p in problems.iter().take(SHOWN_PROBLEMS) {
        t.push_str(&format!("\n  {prefix}{p}"));
    }
    if problems.len() > SHOWN_PROBLEMS {
        t.push_str(&format!(
            "\n  {prefix}… and {} more",
            problems.len() - SHOWN_PROBLEMS
        ));
    }
}

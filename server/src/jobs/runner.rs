//! Runs queued jobs: claims one per free slot, starts `kxian-trainer` as a child process with
//! `--progress json`, stores every JSON line it prints as an event (and fans it out to
//! watchers), keeps its standard error as the job's log, and finishes the job from its exit:
//! a download is imported into the store, a finetune becomes a model folder.
//!
//! Crash safety: the job's state is in the store. At start, running jobs of a server that
//! died are queued again; their trainer resumes (downloads are incremental, training has
//! `--resume`). A child stops itself when the server is gone (`KXIAN_WATCH_PARENT`), so no
//! orphan writes beside its successor. A crashing trainer fails its job with the tail of its log; the
//! server goes on.

use super::{JobSpec, Jobs, RunnerConfig};
use crate::models::Models;
use crate::storage::{JobRow, JobState, Store};
use kxian_shared::api::ImportOptions;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// Stores an event and hands it to the job's watchers.
pub async fn emit(store: &Store, jobs: &Jobs, id: i64, body: &serde_json::Value) {
    let text = body.to_string();
    match store.add_job_event(id, &text).await {
        Ok(seq) => {
            let _ = jobs.sender(id).send((seq, text));
        }
        Err(e) => tracing::error!(job = id, "cannot store an event: {e}"),
    }
}

/// Starts the runner; it lives as long as the process.
pub fn start(store: Store, jobs: Jobs, models: Models) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let Some(config) = jobs.config() else {
            return;
        };
        match store.requeue_orphans().await {
            Ok(ids) => {
                for id in ids {
                    tracing::info!(job = id, "queued again: the server stopped while it ran");
                    emit(
                        &store,
                        &jobs,
                        id,
                        &json!({"event": "requeued", "reason": "the server stopped while the job ran; it resumes"}),
                    )
                    .await;
                }
            }
            Err(e) => tracing::error!("cannot re-queue orphaned jobs: {e}"),
        }
        let running = Arc::new(AtomicUsize::new(0));
        loop {
            while running.load(Ordering::SeqCst) < config.slots.max(1) {
                match store.claim_job().await {
                    Ok(Some(job)) => {
                        running.fetch_add(1, Ordering::SeqCst);
                        let (store, jobs, models, config, running) = (
                            store.clone(),
                            jobs.clone(),
                            models.clone(),
                            config.clone(),
                            Arc::clone(&running),
                        );
                        tokio::spawn(async move {
                            run_job(&store, &jobs, &models, &config, job).await;
                            running.fetch_sub(1, Ordering::SeqCst);
                            jobs.wake();
                        });
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::error!("cannot claim a job: {e}");
                        break;
                    }
                }
            }
            tokio::select! {
                _ = jobs.woken() => {},
                _ = tokio::time::sleep(Duration::from_secs(2)) => {},
            }
        }
    })
}

fn dir_of(config: &RunnerConfig, id: i64) -> PathBuf {
    config.work.join(format!("job-{id}"))
}

/// The trainer's arguments for a job, writing what it needs into its folder first.
async fn arguments(
    spec: &JobSpec,
    dir: &Path,
    config: &RunnerConfig,
    models: &Models,
    owner: &crate::storage::User,
) -> Result<Vec<String>, String> {
    let s = |x: &str| x.to_string();
    // The trainer reads the store as the job's owner: what they may read, nothing else.
    let mut reader = vec![s("--as-user"), owner.id.to_string()];
    if owner.admin {
        reader.push(s("--as-admin"));
    }
    match spec {
        JobSpec::Download {
            source,
            symbols,
            universe,
            frequency,
            adjustment,
            from,
            to,
        } => {
            let mut a = vec![
                s("download"),
                s("--source"),
                source.clone(),
                s("--out"),
                dir.join("data").display().to_string(),
                s("--progress"),
                s("json"),
                s("--frequency"),
                frequency.clone(),
                s("--adjustment"),
                adjustment.clone(),
                s("--store"),
                config.db.display().to_string(),
            ];
            a.extend(reader);
            if !symbols.is_empty() {
                a.push(s("--symbols"));
                a.push(symbols.join(","));
            }
            if let Some(u) = universe {
                a.push(s("--universe"));
                a.push(u.clone());
            }
            if let Some(f) = from {
                a.push(s("--from"));
                a.push(f.to_string());
            }
            if let Some(t) = to {
                a.push(s("--to"));
                a.push(t.to_string());
            }
            Ok(a)
        }
        JobSpec::Finetune {
            symbols,
            stages,
            epochs,
            batch_size,
            lr,
            lookback,
            horizon,
            max_seconds,
            base: base_id,
        } => {
            // The base model (the built-in one unless the job names one it may see), written
            // beside the run.
            let base = dir.join("base");
            let id = base_id.as_deref().unwrap_or(crate::models::DEFAULT_ID);
            for part in ["tokenizer", "predictor"] {
                std::fs::create_dir_all(base.join(part)).map_err(|e| e.to_string())?;
                for file in ["config.json", "model.safetensors"] {
                    let (bytes, _) = models
                        .file(id, part, file)
                        .await
                        .ok_or_else(|| format!("the base model `{id}` has no {part}/{file}"))?
                        .map_err(|e| e.to_string())?;
                    std::fs::write(base.join(part).join(file), bytes).map_err(|e| e.to_string())?;
                }
            }
            let command = match stages.as_str() {
                "tokenizer" => "finetune-tokenizer",
                "predictor" => "finetune-predictor",
                _ => "train",
            };
            let mut a = vec![
                s(command),
                s("--store"),
                config.db.display().to_string(),
                s("--symbols"),
                symbols.join(","),
                s("--out"),
                dir.join("run").display().to_string(),
                s("--tokenizer"),
                base.join("tokenizer").display().to_string(),
                s("--predictor"),
                base.join("predictor").display().to_string(),
                s("--epochs"),
                epochs.to_string(),
                s("--batch-size"),
                batch_size.to_string(),
                s("--lookback"),
                lookback.to_string(),
                s("--horizon"),
                horizon.to_string(),
                s("--resume"),
                s("--skip-invalid"),
                s("--progress"),
                s("json"),
            ];
            a.extend(reader);
            if let Some(lr) = lr {
                a.push(s("--lr"));
                a.push(lr.to_string());
            }
            if let Some(m) = max_seconds {
                a.push(s("--max-seconds"));
                a.push(m.to_string());
            }
            Ok(a)
        }
    }
}

fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

async fn run_job(store: &Store, jobs: &Jobs, models: &Models, config: &RunnerConfig, job: JobRow) {
    let id = job.id;
    let dir = dir_of(config, id);
    let log_path = dir.join("log.txt");
    let fail = |why: String| async move {
        emit(
            store,
            jobs,
            id,
            &json!({"event": "end", "state": "failed", "error": why}),
        )
        .await;
        let _ = store
            .finish_job(id, JobState::Failed, Some(&why), None)
            .await;
    };
    let spec: JobSpec = match serde_json::from_value(job.spec.clone()) {
        Ok(s) => s,
        Err(e) => return fail(format!("the stored spec no longer reads: {e}")).await,
    };
    let owner = match store.user_by_id(job.user_id).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            return fail(format!(
                "the job's owner (user {}) no longer exists",
                job.user_id
            ))
            .await;
        }
        Err(e) => return fail(e.to_string()).await,
    };
    if let Err(e) = crate::files::private_dir(&dir) {
        return fail(format!("{}: {e}", dir.display())).await;
    }
    let args = match arguments(&spec, &dir, config, models, &owner).await {
        Ok(a) => a,
        Err(e) => return fail(e).await,
    };
    let log = match crate::files::private_append(&log_path) {
        Ok(f) => f,
        Err(e) => return fail(format!("{}: {e}", log_path.display())).await,
    };
    emit(
        store,
        jobs,
        id,
        &json!({"event": "started", "attempt": job.attempts, "command": args[0]}),
    )
    .await;
    let mut cmd = Command::new(&config.trainer);
    // The user's Tushare token goes through the environment, never the arguments (`ps`).
    if let JobSpec::Download { source, .. } = &spec
        && source == "tushare"
    {
        match store.secret(job.user_id, "tushare").await {
            Ok(Some(t)) => {
                cmd.env("KXIAN_TUSHARE_TOKEN", t);
            }
            _ => {
                return fail("no Tushare token: store yours first (PUT /api/me/secrets/tushare, or on the Data page)".into()).await;
            }
        }
    }
    cmd.args(&args)
        .envs(config.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .kill_on_drop(true);
    // The trainer stops itself when this process is gone (see `kxian-trainer`'s main).
    cmd.env("KXIAN_WATCH_PARENT", std::process::id().to_string());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return fail(format!("cannot start {}: {e}", config.trainer.display())).await;
        }
    };
    let stdout = child.stdout.take().expect("piped");
    let mut lines = BufReader::new(stdout).lines();
    let cancel = jobs.cancel_handle(id);
    let mut cancelled = false;
    loop {
        tokio::select! {
            line = lines.next_line() => match line {
                Ok(Some(l)) => {
                    match serde_json::from_str::<serde_json::Value>(&l) {
                        Ok(v) if v.is_object() => emit(store, jobs, id, &v).await,
                        _ => {}
                    }
                }
                _ => break,
            },
            _ = cancel.notified() => {
                cancelled = true;
                let _ = child.start_kill();
                break;
            }
        }
    }
    let status = child.wait().await;
    jobs.forget(id);
    // A cancel may also have been asked while the job started.
    let asked = store
        .job(id)
        .await
        .ok()
        .flatten()
        .is_some_and(|j| j.cancel_requested);
    if cancelled || asked {
        emit(
            store,
            jobs,
            id,
            &json!({"event": "end", "state": "cancelled"}),
        )
        .await;
        let _ = store.finish_job(id, JobState::Cancelled, None, None).await;
        return;
    }
    match status {
        Ok(s) if s.success() => {
            match finish(store, &spec, &dir, config, models, (id, &owner)).await {
                Ok(result) => {
                    emit(
                        store,
                        jobs,
                        id,
                        &json!({"event": "end", "state": "done", "result": result}),
                    )
                    .await;
                    let _ = store
                        .finish_job(id, JobState::Done, None, Some(&result))
                        .await;
                }
                Err(e) => fail(e).await,
            }
        }
        Ok(s) => {
            let tail = log_tail(&log_path, 20);
            fail(format!("kxian-trainer exited with {s}:\n{tail}")).await
        }
        Err(e) => fail(format!("waiting for kxian-trainer: {e}")).await,
    }
}

/// The model card's evaluation: each stage's validation loss before training and at its best
/// checkpoint, from the run's `metrics.jsonl`.
fn evaluation_table(metrics: &Path) -> String {
    let text = std::fs::read_to_string(metrics).unwrap_or_default();
    let mut rows: Vec<(String, Option<f64>, Option<f64>, usize)> = Vec::new();
    for v in text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
    {
        let Some(stage) = v["stage"].as_str() else {
            continue;
        };
        let i = match rows.iter().position(|r| r.0 == stage) {
            Some(i) => i,
            None => {
                rows.push((stage.to_string(), None, None, 0));
                rows.len() - 1
            }
        };
        match v["event"].as_str() {
            Some("baseline") => rows[i].1 = v["val_loss"].as_f64(),
            Some("done") => rows[i].2 = v["best_val_loss"].as_f64(),
            Some("step") => rows[i].3 += 1,
            _ => {}
        }
    }
    if rows.is_empty() {
        return String::new();
    }
    let num = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.4}"));
    let mut t = String::from(
        "## Evaluation (held-out validation windows)\n\n| stage | validation loss before | best after | steps |\n| --- | ---: | ---: | ---: |\n",
    );
    for (stage, before, after, steps) in rows {
        t.push_str(&format!(
            "| {stage} | {} | {} | {steps} |\n",
            num(before),
            num(after)
        ));
    }
    t
}

/// What a successful job leaves behind: imported series, or a model folder.
async fn finish(
    store: &Store,
    spec: &JobSpec,
    dir: &Path,
    config: &RunnerConfig,
    models: &Models,
    (id, owner): (i64, &crate::storage::User),
) -> Result<serde_json::Value, String> {
    match spec {
        JobSpec::Download {
            source, adjustment, ..
        } => {
            let data = dir.join("data");
            let manifest: serde_json::Value = serde_json::from_slice(
                &std::fs::read(data.join("manifest.json")).map_err(|e| format!("manifest: {e}"))?,
            )
            .map_err(|e| format!("manifest: {e}"))?;
            let opts = ImportOptions {
                adjustment: adjustment.parse().unwrap_or_default(),
                ..ImportOptions::default()
            };
            let mut imported = Vec::new();
            let mut outcomes = serde_json::Map::new();
            for (symbol, rec) in manifest["series"].as_object().into_iter().flatten() {
                outcomes.insert(symbol.clone(), rec["outcome"].clone());
                let Some(file) = rec["file"].as_str() else {
                    continue;
                };
                let bytes = std::fs::read(data.join(file)).map_err(|e| format!("{file}: {e}"))?;
                let mut parsed = kxian_shared::ingest::parse_file(file, &bytes, &opts)
                    .map_err(|e| format!("{file}: {}", e.to_api_error().message))?;
                if let (Some(name), Some(s)) = (rec["name"].as_str(), parsed.series.first_mut()) {
                    s.name = Some(name.to_string());
                }
                // The downloaded series are written as the job's owner, under the write rule.
                let report = store
                    .import_as(
                        &parsed,
                        &format!("{source}:job-{id}"),
                        &crate::storage::Viewer::of(owner),
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                for s in report.series {
                    imported.push(json!({
                        "symbol": s.symbol.to_string(), "inserted": s.inserted, "updated": s.updated
                    }));
                }
            }
            Ok(json!({"imported": imported, "outcomes": outcomes}))
        }
        JobSpec::Finetune { .. } => {
            let Some(root) = &config.models else {
                return Ok(json!({"run": dir.join("run").display().to_string()}));
            };
            let model_id = format!("job-{id}");
            let target = root.join(&model_id);
            for part in ["tokenizer", "predictor"] {
                let best = dir.join("run").join(part).join("best");
                let from = if best.exists() {
                    best
                } else {
                    dir.join("base").join(part)
                };
                std::fs::create_dir_all(target.join(part)).map_err(|e| e.to_string())?;
                for file in ["config.json", "model.safetensors"] {
                    std::fs::copy(from.join(file), target.join(part).join(file))
                        .map_err(|e| format!("{}: {e}", from.join(file).display()))?;
                }
            }
            let (symbols, base) = match spec {
                JobSpec::Finetune { symbols, base, .. } => (
                    symbols.join(", "),
                    base.clone()
                        .unwrap_or_else(|| crate::models::DEFAULT_ID.to_string()),
                ),
                _ => (String::new(), String::new()),
            };
            let card = format!(
                "# {model_id}\n\nFinetuned by job {id} from {base} on {symbols}.\n\n{}",
                evaluation_table(&dir.join("run").join("metrics.jsonl"))
            );
            std::fs::write(target.join("MODEL_CARD.md"), card).map_err(|e| e.to_string())?;
            std::fs::write(
                target.join(crate::models::OWNER_FILE),
                json!({ "user_id": owner.id }).to_string(),
            )
            .map_err(|e| e.to_string())?;
            models.reload(Some(root)).map_err(|e| e.to_string())?;
            Ok(json!({"model": model_id}))
        }
    }
}

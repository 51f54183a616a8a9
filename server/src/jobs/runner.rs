//! Runs queued jobs: claims one per free slot, starts `kxian-trainer` as a child process with
//! `--progress json`, stores every JSON line it prints as an event (and fans it out to
//! watchers), keeps its standard error as the job's log, and finishes the job from its exit:
//! a download is imported into the store, a finetune or a fetched model becomes a model folder.
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
use kxian_shared::jobs::{
    ImportedCount, JobDir, JobEvent, JobResult, MODEL_CARD, MODEL_FILES, MODEL_PARTS, Manifest,
    Owner, TrainerContext, evaluation_table, read_events,
};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// Stores an event and hands it to the job's watchers.
pub async fn emit(store: &Store, jobs: &Jobs, id: i64, event: &JobEvent) {
    match store.add_job_event(id, event).await {
        Ok(seq) => {
            let _ = jobs.sender(id).send((seq, event.clone()));
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
                        &JobEvent::Requeued {
                            reason: "the server stopped while the job ran; it resumes".into(),
                        },
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

/// Writes what the trainer needs into the job's folder before it starts: a finetune's base
/// model, or a predict job's model and file (the built-in model unless the job names one its
/// owner may see).
async fn prepare(
    spec: &JobSpec,
    dir: &JobDir,
    models: &Models,
    (store, job): (&Path, i64),
) -> Result<(), String> {
    let model = match spec {
        JobSpec::Finetune(f) => f.base.as_deref(),
        JobSpec::Backtest(b) => {
            std::fs::create_dir_all(dir.path()).map_err(|e| e.to_string())?;
            std::fs::write(dir.backtest_config(), b.config_toml(store)?)
                .map_err(|e| e.to_string())?;
            return Ok(());
        }
        JobSpec::Mine(m) => {
            std::fs::create_dir_all(dir.path()).map_err(|e| e.to_string())?;
            std::fs::write(dir.mine_config(), m.config_toml(store)?).map_err(|e| e.to_string())?;
            return Ok(());
        }
        JobSpec::TrainModel(m) => {
            std::fs::create_dir_all(dir.path()).map_err(|e| e.to_string())?;
            std::fs::write(dir.model_config(), m.config_toml(store)?).map_err(|e| e.to_string())?;
            return Ok(());
        }
        JobSpec::Predict(p) => {
            std::fs::create_dir_all(dir.path()).map_err(|e| e.to_string())?;
            std::fs::write(dir.predict_config(), p.config_toml(store, dir, job))
                .map_err(|e| e.to_string())?;
            p.model.as_deref()
        }
        _ => return Ok(()),
    };
    let base = dir.base();
    let id = model.unwrap_or(crate::models::DEFAULT_ID);
    for part in MODEL_PARTS {
        std::fs::create_dir_all(base.join(part)).map_err(|e| e.to_string())?;
        for file in MODEL_FILES {
            let (bytes, _) = models
                .file(id, part, file)
                .await
                .ok_or_else(|| format!("the base model `{id}` has no {part}/{file}"))?
                .map_err(|e| e.to_string())?;
            std::fs::write(base.join(part).join(file), bytes).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

async fn run_job(store: &Store, jobs: &Jobs, models: &Models, config: &RunnerConfig, job: JobRow) {
    let id = job.id;
    let dir = JobDir::new(&config.work, id);
    let log_path = dir.log();
    // The store says the job is over before its `end` event goes out, so whoever sees the
    // event and asks the API finds it finished.
    let fail = |why: String| async move {
        let _ = store
            .finish_job(id, JobState::Failed, Some(&why), None)
            .await;
        emit(
            store,
            jobs,
            id,
            &JobEvent::End {
                state: JobState::Failed,
                error: Some(why.clone()),
                result: None,
            },
        )
        .await;
    };
    let spec = job.spec.clone();
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
    if let Err(e) = crate::files::private_dir(dir.path()) {
        return fail(format!("{}: {e}", dir.path().display())).await;
    }
    if let Err(e) = prepare(&spec, &dir, models, (&config.db, id)).await {
        return fail(e).await;
    }
    // The trainer reads the store as the job's owner: what they may read, nothing else.
    let args = spec.trainer_args(&TrainerContext {
        store: &config.db,
        dir: &dir,
        owner: Owner {
            id: owner.id,
            admin: owner.admin,
        },
    });
    let log = match crate::files::private_append(&log_path) {
        Ok(f) => f,
        Err(e) => return fail(format!("{}: {e}", log_path.display())).await,
    };
    emit(
        store,
        jobs,
        id,
        &JobEvent::Started {
            attempt: job.attempts,
            command: args[0].to_string_lossy().into_owned(),
        },
    )
    .await;
    let mut cmd = Command::new(&config.trainer);
    // The user's Tushare token goes through the environment, never the arguments (`ps`).
    if let JobSpec::Download(d) = &spec
        && d.source == kxian_shared::jobs::DownloadSource::Tushare
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
                Ok(Some(l)) => match serde_json::from_str::<JobEvent>(&l) {
                    Ok(e) => emit(store, jobs, id, &e).await,
                    // Not the contract: a trainer built from other sources. Kept in the log.
                    Err(e) => tracing::warn!(job = id, "not a job event ({e}): {l}"),
                },
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
        let _ = store.finish_job(id, JobState::Cancelled, None, None).await;
        emit(
            store,
            jobs,
            id,
            &JobEvent::End {
                state: JobState::Cancelled,
                error: None,
                result: None,
            },
        )
        .await;
        return;
    }
    match status {
        Ok(s) if s.success() => {
            match finish(store, &spec, &dir, config, models, (id, &owner)).await {
                Ok(result) => {
                    let _ = store
                        .finish_job(id, JobState::Done, None, Some(&result))
                        .await;
                    emit(
                        store,
                        jobs,
                        id,
                        &JobEvent::End {
                            state: JobState::Done,
                            error: None,
                            result: Some(result),
                        },
                    )
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

/// A download job's manifest, as the trainer left it.
pub(super) fn read_manifest(dir: &JobDir) -> Result<Manifest, String> {
    serde_json::from_slice(&std::fs::read(dir.manifest()).map_err(|e| format!("manifest: {e}"))?)
        .map_err(|e| format!("manifest: {e}"))
}

/// What a successful job leaves behind: imported series, or a model folder.
async fn finish(
    store: &Store,
    spec: &JobSpec,
    dir: &JobDir,
    config: &RunnerConfig,
    models: &Models,
    (id, owner): (i64, &crate::storage::User),
) -> Result<JobResult, String> {
    match spec {
        JobSpec::Download(d) if d.check => super::check::compare(store, dir, d, owner)
            .await
            .map(JobResult::Checked),
        JobSpec::Download(d) if d.reference => {
            let path = dir.data().join("reference.json");
            let bytes = std::fs::read(&path).map_err(|e| format!("reference.json: {e}"))?;
            let data: kxian_shared::reference::ReferenceData =
                serde_json::from_slice(&bytes).map_err(|e| format!("reference.json: {e}"))?;
            let c = store
                .import_reference(&data)
                .await
                .map_err(|e| e.to_string())?;
            Ok(JobResult::Reference {
                industries: c.industries,
                shares: c.shares,
                members: c.members,
                status: c.status,
                northbound: c.northbound,
            })
        }
        JobSpec::Download(d) => {
            let data = dir.data();
            let manifest = read_manifest(dir)?;
            let opts = ImportOptions {
                adjustment: d.adjustment,
                ..ImportOptions::default()
            };
            let mut imported = Vec::new();
            let mut outcomes = BTreeMap::new();
            for (symbol, rec) in manifest.series {
                outcomes.insert(symbol.clone(), rec.outcome.clone());
                let Some(file) = &rec.file else {
                    continue;
                };
                let bytes = std::fs::read(data.join(file)).map_err(|e| format!("{file}: {e}"))?;
                let mut parsed = kxian_shared::ingest::parse_file(file, &bytes, &opts)
                    .map_err(|e| format!("{file}: {e}"))?;
                if let (Some(name), Some(s)) = (&rec.name, parsed.series.first_mut()) {
                    s.name = Some(name.clone());
                }
                // The downloaded series are written as the job's owner, under the write rule,
                // with the source they really came from.
                let report = store
                    .import_as(
                        &parsed,
                        &format!(
                            "{}:job-{id}",
                            rec.sources.last().unwrap_or(&manifest.source).as_str()
                        ),
                        &crate::storage::Viewer::of(owner),
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                for s in report.series {
                    imported.push(ImportedCount {
                        symbol: s.symbol.to_string(),
                        inserted: s.inserted,
                        updated: s.updated,
                    });
                }
            }
            Ok(JobResult::Download { imported, outcomes })
        }
        JobSpec::Finetune(f) => {
            let run = dir.run();
            let Some(root) = &config.models else {
                return Ok(JobResult::Run {
                    run: run.path().display().to_string(),
                });
            };
            let model_id = format!("job-{id}");
            let target = root.join(&model_id);
            copy_model(
                |part| {
                    let best = run.best(part);
                    if best.exists() {
                        best
                    } else {
                        dir.base().join(part)
                    }
                },
                &target,
            )?;
            let base = f.base.as_deref().unwrap_or(crate::models::DEFAULT_ID);
            let events = read_events(&std::fs::read_to_string(run.metrics()).unwrap_or_default());
            let card = format!(
                "# {model_id}\n\nFinetuned by job {id} from {base} on {symbols}.\n\n\
                 由任务 {id} 从 {base} 在 {symbols} 上微调而成。\n\n{}",
                evaluation_table(&events),
                symbols = f.symbols.join(", "),
            );
            std::fs::write(target.join(MODEL_CARD), card).map_err(|e| e.to_string())?;
            std::fs::write(
                target.join(crate::models::OWNER_FILE),
                serde_json::json!({ "user_id": owner.id }).to_string(),
            )
            .map_err(|e| e.to_string())?;
            models.reload(Some(root)).map_err(|e| e.to_string())?;
            Ok(JobResult::Model { model: model_id })
        }
        JobSpec::Predict(p) => {
            // The trainer stored the set as the job's owner; its name says which.
            let name = p.name.clone().unwrap_or_else(|| format!("job-{id}"));
            let set = store
                .prediction_sets(crate::storage::Viewer::of(owner))
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .find(|s| s.name == name && s.owner_id == Some(owner.id))
                .ok_or_else(|| format!("the trainer stored no prediction set `{name}`"))?;
            Ok(JobResult::Predictions {
                set: set.id,
                rows: set.rows,
            })
        }
        JobSpec::Backtest(_) => {
            let path = dir.backtest_result();
            let v: serde_json::Value = serde_json::from_slice(
                &std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?,
            )
            .map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(JobResult::Backtest {
                report: v["report"].as_str().unwrap_or_default().to_string(),
                fills: v["fills"].as_array().map_or(0, Vec::len),
            })
        }
        JobSpec::Mine(_) => {
            let path = dir.mine_result();
            let report: kxian_shared::mine::MineReport = serde_json::from_slice(
                &std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?,
            )
            .map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(JobResult::Mined(Box::new(report)))
        }
        JobSpec::TrainModel(m) => {
            let run = dir.model_run();
            let Some(root) = &config.models else {
                return Ok(JobResult::Run {
                    run: run.display().to_string(),
                });
            };
            let model_id = format!("job-{id}");
            let card = install_zoo(&run, &root.join(&model_id), &m.config, (id, owner))?;
            models.reload(Some(root)).map_err(|e| e.to_string())?;
            let set = store_zoo_set(store, &run, &model_id, &card, owner).await?;
            Ok(JobResult::Zoo {
                model: model_id,
                card: Box::new(card),
                set,
            })
        }
        JobSpec::FetchModel(m) => {
            let root = config
                .models
                .as_ref()
                .ok_or("this server has no models folder (kxian serve --models DIR)")?;
            let model_id = install_fetched(&dir.fetched(), root, m, (id, owner))?;
            models.reload(Some(root)).map_err(|e| e.to_string())?;
            Ok(JobResult::Model { model: model_id })
        }
    }
}

/// Moves a fetched model into the models folder under the repository's name (or, when that
/// is taken, `<name>-job-<id>`), with a card saying where it came from. Published weights
/// fetched by an admin are everyone's; a user's fetch is theirs, like their finetunes.
fn install_fetched(
    fetched: &Path,
    root: &Path,
    m: &kxian_shared::jobs::FetchModelJob,
    (id, owner): (i64, &crate::storage::User),
) -> Result<String, String> {
    if !fetched.join("predictor").join("config.json").exists() {
        return Err(format!(
            "{} holds a tokenizer alone; fetch a predictor repository (it brings its tokenizer)",
            m.repo
        ));
    }
    let name = m.repo.rsplit('/').next().unwrap_or(&m.repo);
    let model_id = if name != crate::models::DEFAULT_ID && !root.join(name).exists() {
        name.to_string()
    } else {
        format!("{name}-job-{id}")
    };
    let target = root.join(&model_id);
    std::fs::create_dir_all(root).map_err(|e| format!("{}: {e}", root.display()))?;
    if std::fs::rename(fetched, &target).is_err() {
        // The jobs folder is on another file system: copy, then the models folder sees it whole.
        let staging = root.join(format!(".{model_id}.tmp"));
        copy_model(|part| fetched.join(part), &staging)?;
        std::fs::rename(&staging, &target).map_err(|e| format!("{}: {e}", target.display()))?;
    }
    let revision = m.revision.as_deref().unwrap_or("main");
    let card = format!(
        "# {model_id}\n\n{repo} at revision {revision}, from the Hugging Face hub: the published \
         weights, fetched by job {id}.\n\n\
         Hugging Face 上 {repo} 的 {revision} 版本：发布者公开的权重，由任务 {id} 获取。\n",
        repo = m.repo
    );
    std::fs::write(target.join(MODEL_CARD), card).map_err(|e| e.to_string())?;
    if !owner.admin {
        std::fs::write(
            target.join(crate::models::OWNER_FILE),
            serde_json::json!({ "user_id": owner.id }).to_string(),
        )
        .map_err(|e| e.to_string())?;
    }
    Ok(model_id)
}

/// Stores a zoo run's test-part outputs as the owner's prediction set named after the model,
/// so the backtest page can trade on them; `None` when the run wrote no set.
async fn store_zoo_set(
    store: &Store,
    run: &Path,
    name: &str,
    card: &kxian_shared::zoo::card::Card,
    owner: &crate::storage::User,
) -> Result<Option<i64>, String> {
    let path = run.join("predictions.csv");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let (kind, rows) = kxian_shared::predictions::rows::from_csv(&text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let (Some(first), Some(last)) = (
        rows.iter().map(|r| r.as_of).min(),
        rows.iter().map(|r| r.as_of).max(),
    ) else {
        return Ok(None);
    };
    let symbols = rows
        .iter()
        .map(|r| r.symbol.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let set = kxian_store::NewPredictionSet {
        name: name.to_string(),
        owner: Some(owner.id),
        kind,
        model: name.to_string(),
        model_sha256: Vec::new(),
        params: serde_json::json!({
            "zoo": { "backbone": card.backbone, "target": card.target, "part": "test",
                     "test_from": card.test_from },
        }),
        first_date: first,
        last_date: last,
        symbols,
        parquet: None,
    };
    store
        .insert_prediction_set(&set, rows.into_iter().map(Ok))
        .await
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Makes a zoo run's best checkpoint a model folder: `zoo/` (config and weights), the card
/// as the trainer wrote it, a readable card with the training file, and the owner. Written
/// beside the target and renamed, so the catalogue never sees half a model.
fn install_zoo(
    run: &Path,
    target: &Path,
    config: &str,
    (id, owner): (i64, &crate::storage::User),
) -> Result<kxian_shared::zoo::card::Card, String> {
    use crate::models::{ZOO_CARD, ZOO_PART, ZOO_WEIGHTS};
    let io = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    let card_path = run.join(ZOO_CARD);
    let card: kxian_shared::zoo::card::Card =
        serde_json::from_slice(&std::fs::read(&card_path).map_err(|e| io(&card_path, e))?)
            .map_err(|e| format!("{}: {e}", card_path.display()))?;
    let best = run.join("best");
    let root = target.parent().ok_or("a model folder has a parent")?;
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("model");
    let staging = root.join(format!(".{name}.tmp"));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(staging.join(ZOO_PART)).map_err(|e| io(&staging, e))?;
    let weights = ZOO_WEIGHTS
        .iter()
        .find(|f| best.join(f).is_file())
        .ok_or_else(|| format!("{}: no model.safetensors or trees.json", best.display()))?;
    for file in ["config.json", *weights] {
        std::fs::copy(best.join(file), staging.join(ZOO_PART).join(file))
            .map_err(|e| io(&best.join(file), e))?;
    }
    std::fs::copy(&card_path, staging.join(ZOO_CARD)).map_err(|e| io(&card_path, e))?;
    let md = format!(
        "# {name}\n\nA {backbone} model of the zoo trained by job {id} for {target}; the figures \
         below are from its held-out test part.\n\n\
         由任务 {id} 训练的 {backbone} 模型，目标为 {target}；以下数字来自未参与训练的测试期。\n\n\
         ```text\n{table}```\n\n## Training file\n\n```toml\n{config}\n```\n",
        backbone = card.backbone,
        target = card.target.join(" + "),
        table = kxian_shared::zoo::card::table(&card),
        config = config.trim_end(),
    );
    std::fs::write(staging.join(MODEL_CARD), md).map_err(|e| e.to_string())?;
    std::fs::write(
        staging.join(crate::models::OWNER_FILE),
        serde_json::json!({ "user_id": owner.id }).to_string(),
    )
    .map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(target);
    std::fs::rename(&staging, target).map_err(|e| io(target, e))?;
    Ok(card)
}

/// Copies a model's parts (each from the folder `from` gives for it) into `target`.
fn copy_model(from: impl Fn(&str) -> std::path::PathBuf, target: &Path) -> Result<(), String> {
    for part in MODEL_PARTS {
        let src = from(part);
        std::fs::create_dir_all(target.join(part)).map_err(|e| e.to_string())?;
        for file in MODEL_FILES {
            std::fs::copy(src.join(file), target.join(part).join(file))
                .map_err(|e| format!("{}: {e}", src.join(file).display()))?;
        }
    }
    Ok(())
}

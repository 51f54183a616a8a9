//! `/api/jobs`: submit, list, watch (server-sent events), cancel and retry hosted jobs, and
//! `/api/session` / `/api/me` for the browser's login. A job is visible to its owner and to
//! admins only; to anyone else it does not exist (404, not 403).

use crate::caller::Caller;
use crate::error::AppError;
use crate::jobs::{JobEvent, JobSpec};
use crate::state::AppState;
use crate::storage::JobRow;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use kxian_shared::jobs::{JobList, JobState};
use serde::Deserialize;
use std::convert::Infallible;
use std::time::Duration;

async fn owned(state: &AppState, caller: &Caller, id: i64) -> Result<JobRow, AppError> {
    match state.store.job(id).await? {
        Some(j) if caller.may_access(j.user_id) => Ok(j),
        _ => Err(AppError::NotFound(format!("no job {id}"))),
    }
}

pub(super) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<JobSpec>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, AppError> {
    let Json(spec) = body.map_err(|e| AppError::BadRequest(format!("job: {}", e.body_text())))?;
    let spec = spec
        .normalised()
        .map_err(|e| AppError::BadRequest(format!("job: {e}")))?;
    let viewer = caller.viewer();
    if let JobSpec::Download(d) = &spec
        && d.reference
        && !caller.0.admin
    {
        return Err(AppError::BadRequest(
            "job: reference: reference data is shared by every user of this server, so only an admin downloads it".into(),
        ));
    }
    // TDX needs a quote server, which the server's operator configures (public ones stopped
    // answering bar requests in July 2026).
    if let JobSpec::Download(d) = &spec
        && d.source == kxian_shared::jobs::DownloadSource::Tdx
        && !d.reference
    {
        let configured = state.jobs.config().is_some_and(|c| {
            c.env
                .iter()
                .any(|(k, v)| k == "KXIAN_TDX_HOST" && !v.trim().is_empty())
        }) || std::env::var("KXIAN_TDX_HOST").is_ok_and(|v| !v.trim().is_empty());
        if !configured {
            return Err(AppError::BadRequest(
                "job: source: this server has no TDX quote server (its operator sets KXIAN_TDX_HOST where `kxian serve` runs; public servers stopped answering bar requests in July 2026)".into(),
            ));
        }
    }
    // A base model (a finetune's start, a prediction's model) must be one the caller may see.
    let (field, model) = match &spec {
        JobSpec::Finetune(f) => ("base", f.base.as_ref()),
        JobSpec::Predict(p) => ("model", p.model.as_ref()),
        _ => ("", None),
    };
    if let Some(b) = model {
        let forecasting = state
            .models
            .list_for(&viewer)
            .models
            .iter()
            .any(|m| &m.id == b);
        if !forecasting {
            return Err(AppError::BadRequest(format!(
                "job: {field}: no forecasting model `{b}` (see GET /api/models)"
            )));
        }
    }
    // A finetune trains on (a prediction reads) series the caller may read; another user's
    // private series is answered exactly like one that does not exist.
    let adjustment = match &spec {
        JobSpec::Predict(p) => p.adjustment,
        _ => kxian_shared::Adjustment::None,
    };
    if matches!(spec, JobSpec::Finetune(_) | JobSpec::Predict(_)) {
        for raw in spec.symbols() {
            let symbol = super::symbols::parse_symbol(raw)?;
            let readable = state
                .store
                .symbol_for(&viewer, &symbol)
                .await?
                .is_some_and(|s| {
                    s.series.iter().any(|r| {
                        r.frequency == kxian_shared::Frequency::Daily && r.adjustment == adjustment
                    })
                });
            if !readable {
                return Err(AppError::BadRequest(format!(
                    "job: symbols: {symbol} has no daily series in the store"
                )));
            }
        }
    }
    // Checked and stored under one lock: parallel submissions cannot slip past the quota.
    let id = {
        let _admission = state.limits.admission().await;
        check_quota(&state, &caller).await?;
        state.store.create_job(caller.0.id, &spec).await?
    };
    // Read the row before waking the runner: the answer is the job as submitted (queued).
    let job = owned(&state, &caller, id).await?;
    state.jobs.wake();
    Ok((StatusCode::CREATED, Json(job)).into_response())
}

async fn check_quota(state: &AppState, caller: &Caller) -> Result<(), AppError> {
    let quota = state.jobs.config().map_or(4, |c| c.quota);
    if state.store.active_jobs(caller.0.id).await? >= quota {
        return Err(AppError::Quota(format!(
            "{} already has {quota} queued or running jobs; wait for one or cancel one",
            caller.0.name
        )));
    }
    Ok(())
}

pub(super) async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<JobList>, AppError> {
    let jobs = state
        .store
        .jobs((!caller.0.admin).then_some(caller.0.id))
        .await?;
    Ok(Json(JobList { jobs }))
}

pub(super) async fn one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<JobRow>, AppError> {
    Ok(Json(owned(&state, &caller, id).await?))
}

pub(super) async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<JobRow>, AppError> {
    let job = owned(&state, &caller, id).await?;
    if job.state.finished() {
        return Err(AppError::Conflict(format!(
            "job {id} is already {}",
            job.state.as_str()
        )));
    }
    let after = state.store.request_cancel(id).await?;
    if job.state == JobState::Queued && after == Some(JobState::Cancelled) {
        // It never started, so no runner will end its stream: end it here.
        crate::jobs::runner::emit(
            &state.store,
            &state.jobs,
            id,
            &JobEvent::End {
                state: JobState::Cancelled,
                error: None,
                result: None,
            },
        )
        .await;
    }
    state.jobs.cancel(id);
    Ok(Json(owned(&state, &caller, id).await?))
}

pub(super) async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<JobRow>, AppError> {
    let job = owned(&state, &caller, id).await?;
    let retried = {
        let _admission = state.limits.admission().await;
        if job.state.finished() && job.state != JobState::Done {
            check_quota(&state, &caller).await?;
        }
        state.store.retry_job(id).await?.ok_or_else(|| {
            AppError::Conflict(format!(
                "job {id} is {}; only failed or cancelled jobs are retried",
                job.state.as_str()
            ))
        })?
    };
    // Watchers that reconnect read on past the old attempt's `end` to this one's.
    crate::jobs::runner::emit(
        &state.store,
        &state.jobs,
        id,
        &JobEvent::Retried {
            attempt: job.attempts + 1,
        },
    )
    .await;
    state.jobs.wake();
    // The job as retried: the runner may already have claimed it.
    Ok(Json(retried))
}

pub(super) async fn log(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    owned(&state, &caller, id).await?;
    let path = state
        .jobs
        .config()
        .map(|c| kxian_shared::jobs::JobDir::new(&c.work, id).log());
    let text = path
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(500)..].join("\n");
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], tail).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct After {
    after: Option<i64>,
}

/// Every event of the job from `after` (or `Last-Event-ID`) on — without either, of its
/// current attempt — then live ones; the stream ends after the last attempt's `end` event.
pub(super) async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<After>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    let job = owned(&state, &caller, id).await?;
    let after = q.after.or_else(|| {
        headers
            .get("last-event-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
    });
    // Subscribe before reading the stored events, so nothing falls between the two.
    let live = state.jobs.subscribe(id);
    let mut stored = state.store.job_events(id, after.unwrap_or(0)).await?;
    // A new watcher follows the current attempt: a retried job's stream starts at its last
    // `retried` event (`?after=0` replays every attempt).
    if after.is_none()
        && let Some(i) = stored
            .iter()
            .rposition(|(_, e)| matches!(e, JobEvent::Retried { .. }))
    {
        stored.drain(..i);
    }
    let finished = job.state.finished();
    // A retried job has an `end` per attempt: only the last stored event ends the replay.
    let ended = stored.last().is_some_and(|(_, e)| e.is_end());
    let last_stored = stored.last().map(|(seq, _)| *seq);
    struct S {
        stored: std::vec::IntoIter<(i64, JobEvent)>,
        live: tokio::sync::broadcast::Receiver<(i64, JobEvent)>,
        last: i64,
        done: bool,
        store: crate::storage::Store,
        id: i64,
        last_stored: Option<i64>,
    }
    let init = S {
        last: after.unwrap_or(0),
        stored: stored.into_iter(),
        live,
        done: finished && ended,
        store: state.store.clone(),
        id,
        last_stored,
    };
    let event = |seq: i64, e: &JobEvent| Event::default().id(seq.to_string()).data(e.to_line());
    let s = stream::unfold((init, false), move |(mut s, stop)| async move {
        if stop {
            return None;
        }
        if let Some((seq, e)) = s.stored.next() {
            s.last = seq;
            let end = e.is_end() && Some(seq) == s.last_stored && s.done;
            return Some((Ok(event(seq, &e)), (s, end)));
        }
        if s.done {
            return None;
        }
        loop {
            match s.live.recv().await {
                Ok((seq, e)) if seq > s.last => {
                    s.last = seq;
                    let end = e.is_end();
                    return Some((Ok(event(seq, &e)), (s, end)));
                }
                Ok(_) => continue,
                // A slow watcher missed events: catch up from the store.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    let missed = s.store.job_events(s.id, s.last).await.unwrap_or_default();
                    s.stored = missed.into_iter();
                    if let Some((seq, e)) = s.stored.next() {
                        s.last = seq;
                        let end = e.is_end();
                        return Some((Ok(event(seq, &e)), (s, end)));
                    }
                }
                Err(_) => return None,
            }
        }
    });
    Ok(Sse::new(s).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

#[derive(Debug, Deserialize)]
pub(super) struct Login {
    token: String,
}

/// Signs the browser in with an API token: a new session (not the token) goes into an
/// HttpOnly cookie, and lasts until signing out or `auth::SESSION_SECONDS`.
pub(super) async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<Login>,
) -> Result<Response, AppError> {
    // No other site may sign this browser in (into the attacker's account).
    crate::auth::require_same_origin(&axum::http::Method::POST, &headers)?;
    let Some((user, crate::storage::TokenKind::Api)) =
        state.store.credential(body.token.trim()).await?
    else {
        return Err(AppError::Unauthorized("this token is not valid".into()));
    };
    let session = crate::auth::new_session();
    let expires =
        chrono::Utc::now() + chrono::Duration::seconds(crate::auth::SESSION_SECONDS as i64);
    state
        .store
        .add_token_with(
            user.id,
            &session,
            "browser session",
            crate::storage::TokenKind::Session,
            Some(expires),
        )
        .await?;
    let cookie = state
        .auth
        .session_cookie(&session, crate::auth::SESSION_SECONDS);
    Ok(([(header::SET_COOKIE, cookie)], Json(user)).into_response())
}

/// Signs out: the session ends in the store, not only in this browser.
pub(super) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    crate::auth::require_same_origin(&axum::http::Method::DELETE, &headers)?;
    if let Some(session) = crate::auth::session_of(&headers) {
        state.store.end_session(&session).await?;
    }
    let cookie = state.auth.session_cookie("", 0);
    Ok(([(header::SET_COOKIE, cookie)], StatusCode::NO_CONTENT).into_response())
}

pub(super) async fn me(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<kxian_shared::api::Me>, AppError> {
    let u = caller.0;
    let tushare_token = state.store.secret(u.id, "tushare").await?.is_some();
    Ok(Json(kxian_shared::api::Me {
        id: u.id,
        name: u.name,
        admin: u.admin,
        tushare_token,
    }))
}

#[derive(Debug, Deserialize)]
pub(super) struct SecretBody {
    value: String,
}

/// `PUT /api/me/secrets/{name}`: stores a credential for this user's jobs (only `tushare`).
pub(super) async fn put_secret(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(body): Json<SecretBody>,
) -> Result<StatusCode, AppError> {
    if name != "tushare" {
        return Err(AppError::NotFound(format!(
            "no secret `{name}` (only tushare)"
        )));
    }
    state
        .store
        .set_secret(caller.0.id, &name, body.value.trim())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

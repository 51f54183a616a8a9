//! Every HTTP call the app makes, one function per endpoint, typed by `kxian_shared::api`.
//!
//! Failures always come back as an [`ApiError`]: the server's own JSON error body when it sent
//! one, otherwise one made here (`network`, `http_<status>`, `bad_response`), so pages have a
//! single error type to show. GET requests are aborted when the reactive owner that started
//! them is cleaned up (a refetch or leaving the page), as in leptos' hackernews example.
//!
//! The functions are plain `fn`s returning futures (not `async fn`) so that the abort hook is
//! registered synchronously, under the owner of the resource that calls them.

use gloo_net::http::{Request, Response};
use kxian_shared::api::CLIENT_HEADER;
use kxian_shared::api::{
    ApiError, BarsResponse, Health, ImportReport, ModelList, ShareCreated, ShareResponse,
    ShareSnapshot, SymbolList, SymbolSummary,
};
use kxian_shared::{Adjustment, Frequency};
use leptos::prelude::*;
use serde::de::DeserializeOwned;
use std::future::Future;

fn client_error(code: &str, message: impl Into<String>) -> ApiError {
    ApiError {
        error: code.to_string(),
        message: message.into(),
        problems: Vec::new(),
    }
}

/// An `AbortSignal` that fires when the current reactive owner is cleaned up.
fn abort_on_cleanup() -> Option<web_sys::AbortSignal> {
    let controller = web_sys::AbortController::new().ok()?;
    let signal = controller.signal();
    let stored = StoredValue::new_local(Some(controller));
    on_cleanup(move || {
        if let Some(c) = stored.try_update_value(Option::take).flatten() {
            c.abort();
        }
    });
    Some(signal)
}

async fn decode<T: DeserializeOwned>(resp: Response) -> Result<T, ApiError> {
    let status = resp.status();
    let body = resp
        .text()
        .await
        .map_err(|e| client_error("network", e.to_string()))?;
    if (200..300).contains(&status) {
        return serde_json::from_str(&body).map_err(|e| {
            client_error(
                "bad_response",
                format!("unexpected response from the server: {e}"),
            )
        });
    }
    Err(serde_json::from_str::<ApiError>(&body).unwrap_or_else(|_| {
        let text: String = body.chars().take(200).collect();
        client_error(
            &format!("http_{status}"),
            format!("HTTP {status} {}: {}", resp.status_text(), text.trim()),
        )
    }))
}

fn get<T: DeserializeOwned>(
    path: String,
    query: Vec<(&'static str, String)>,
) -> impl Future<Output = Result<T, ApiError>> {
    let signal = abort_on_cleanup();
    async move {
        let resp = Request::get(&path)
            .query(query)
            .abort_signal(signal.as_ref())
            .send()
            .await
            .map_err(|e| client_error("network", format!("cannot reach the server: {e}")))?;
        decode(resp).await
    }
}

fn symbol_path(symbol: &str) -> String {
    format!(
        "/api/symbols/{}",
        String::from(js_sys::encode_uri_component(symbol.trim()))
    )
}

/// `GET /api/health`.
pub fn health() -> impl Future<Output = Result<Health, ApiError>> {
    get("/api/health".into(), Vec::new())
}

/// `GET /api/data/health?frequency=&adjustment=`: every series against the exchange calendar.
pub fn data_health(
    frequency: Frequency,
    adjustment: Adjustment,
) -> impl Future<Output = Result<kxian_shared::health::HealthReport, ApiError>> {
    get(
        "/api/data/health".into(),
        vec![
            ("frequency", frequency.as_str().to_string()),
            ("adjustment", adjustment.as_str().to_string()),
        ],
    )
}

/// `POST /api/reference`: the index's stored stays, and the industries, shares and status of
/// its members and of `symbols`.
pub async fn reference(
    index: Option<String>,
    symbols: Vec<String>,
) -> Result<kxian_shared::reference::ReferenceData, ApiError> {
    post_json(
        "/api/reference",
        &serde_json::json!({"index": index, "symbols": symbols}),
    )
    .await
}

/// `GET /api/symbols?q=&limit=`.
pub fn symbols(q: String, limit: u32) -> impl Future<Output = Result<SymbolList, ApiError>> {
    let mut query = vec![("limit", limit.to_string())];
    if !q.trim().is_empty() {
        query.push(("q", q.trim().to_string()));
    }
    get("/api/symbols".into(), query)
}

/// `GET /api/symbols/{symbol}`.
pub fn symbol(symbol: &str) -> impl Future<Output = Result<SymbolSummary, ApiError>> + use<> {
    get(symbol_path(symbol), Vec::new())
}

/// `GET /api/symbols/{symbol}/bars?freq=&adj=&limit=`: the most recent `limit` bars.
pub fn bars(
    symbol: &str,
    frequency: Frequency,
    adjustment: Adjustment,
    limit: u32,
) -> impl Future<Output = Result<BarsResponse, ApiError>> + use<> {
    get(
        format!("{}/bars", symbol_path(symbol)),
        vec![
            ("freq", frequency.as_str().to_string()),
            ("adj", adjustment.as_str().to_string()),
            ("limit", limit.to_string()),
        ],
    )
}

/// `POST /api/import` with the upload form's fields (`file`, `symbol`, `name`, `frequency`,
/// `volume_unit`, `skip_invalid`) as multipart.
pub async fn import(form: web_sys::FormData) -> Result<ImportReport, ApiError> {
    let resp = Request::post("/api/import")
        .header(CLIENT_HEADER, "app")
        .body(form)
        .map_err(|e| client_error("bad_request", e.to_string()))?
        .send()
        .await
        .map_err(|e| client_error("network", format!("cannot reach the server: {e}")))?;
    decode(resp).await
}

/// `GET /api/models`.
pub fn models() -> impl Future<Output = Result<ModelList, ApiError>> {
    get("/api/models".into(), Vec::new())
}

/// `POST /api/shares`: stores the snapshot, answers its id and page path.
pub async fn create_share(snapshot: &ShareSnapshot) -> Result<ShareCreated, ApiError> {
    let resp = Request::post("/api/shares")
        .header(CLIENT_HEADER, "app")
        .json(snapshot)
        .map_err(|e| client_error("bad_request", e.to_string()))?
        .send()
        .await
        .map_err(|e| client_error("network", format!("cannot reach the server: {e}")))?;
    decode(resp).await
}

/// `GET /api/shares/{id}`.
pub fn share(id: &str) -> impl Future<Output = Result<ShareResponse, ApiError>> + use<> {
    get(
        format!(
            "/api/shares/{}",
            String::from(js_sys::encode_uri_component(id.trim()))
        ),
        Vec::new(),
    )
}

/// `GET /api/symbols/{symbol}/bars?freq=&adj=&start=&end=`: every bar of the range.
pub fn bars_between(
    symbol: &str,
    frequency: Frequency,
    adjustment: Adjustment,
    start: Option<chrono::NaiveDate>,
    end: Option<chrono::NaiveDate>,
) -> impl Future<Output = Result<BarsResponse, ApiError>> + use<> {
    let mut query = vec![
        ("freq", frequency.as_str().to_string()),
        ("adj", adjustment.as_str().to_string()),
    ];
    if let Some(s) = start {
        query.push(("start", s.to_string()));
    }
    if let Some(e) = end {
        query.push(("end", e.to_string()));
    }
    get(format!("{}/bars", symbol_path(symbol)), query)
}

async fn post_json<T: DeserializeOwned>(
    path: &str,
    body: &impl serde::Serialize,
) -> Result<T, ApiError> {
    let resp = Request::post(path)
        .header(CLIENT_HEADER, "app")
        .json(body)
        .map_err(|e| client_error("bad_request", e.to_string()))?
        .send()
        .await
        .map_err(|e| client_error("network", format!("cannot reach the server: {e}")))?;
    decode(resp).await
}

/// `GET /api/me`: who the server takes this browser for (401 when signed out remotely).
pub fn me() -> impl Future<Output = Result<kxian_shared::api::Me, ApiError>> {
    get("/api/me".into(), Vec::new())
}

/// `POST /api/session`: signs this browser in with an API token (an HttpOnly cookie).
pub async fn sign_in(token: &str) -> Result<kxian_shared::api::Me, ApiError> {
    post_json("/api/session", &serde_json::json!({ "token": token })).await
}

/// `GET /api/jobs`: this user's jobs (an admin's: everyone's), newest first.
pub fn jobs() -> impl Future<Output = Result<kxian_shared::api::JobList, ApiError>> {
    get("/api/jobs".into(), Vec::new())
}

/// `POST /api/jobs`.
pub async fn submit_job(
    spec: &kxian_shared::api::JobSpec,
) -> Result<kxian_shared::api::JobInfo, ApiError> {
    post_json("/api/jobs", spec).await
}

/// `POST /api/jobs/{id}/cancel`.
pub async fn cancel_job(id: i64) -> Result<kxian_shared::api::JobInfo, ApiError> {
    post_json(&format!("/api/jobs/{id}/cancel"), &serde_json::json!({})).await
}

/// `POST /api/jobs/{id}/retry`: a failed or cancelled job queued again (a training resumes
/// from its last checkpoint).
pub async fn retry_job(id: i64) -> Result<kxian_shared::api::JobInfo, ApiError> {
    post_json(&format!("/api/jobs/{id}/retry"), &serde_json::json!({})).await
}

/// `GET /api/models/{id}/card` as text.
pub async fn model_card(url: &str) -> Result<String, ApiError> {
    let resp = Request::get(url)
        .send()
        .await
        .map_err(|e| client_error("network", format!("cannot reach the server: {e}")))?;
    resp.text()
        .await
        .map_err(|e| client_error("network", e.to_string()))
}

/// `PUT /api/me/secrets/tushare`: stores this user's Tushare token for their jobs.
pub async fn put_tushare_token(token: &str) -> Result<(), ApiError> {
    let resp = Request::put("/api/me/secrets/tushare")
        .header(CLIENT_HEADER, "app")
        .json(&serde_json::json!({ "value": token }))
        .map_err(|e| client_error("bad_request", e.to_string()))?
        .send()
        .await
        .map_err(|e| client_error("network", format!("cannot reach the server: {e}")))?;
    if resp.ok() {
        Ok(())
    } else {
        decode::<serde_json::Value>(resp).await.map(|_| ())
    }
}

/// `GET /api/jobs/{id}/events` as an `EventSource`: calls `on_event` with every event of the
/// job (the server replays past ones first, so a reload shows the whole history) until its
/// `end`, or until the component goes away. Lines that are not events of the contract are
/// skipped.
pub fn watch_job(id: i64, on_event: impl Fn(kxian_shared::jobs::JobEvent) + 'static) {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::prelude::Closure;
    let Ok(source) = web_sys::EventSource::new(&format!("/api/jobs/{id}/events")) else {
        return;
    };
    let closer = source.clone();
    let handler =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            let Some(text) = e.data().as_string() else {
                return;
            };
            let Ok(event) = serde_json::from_str::<kxian_shared::jobs::JobEvent>(&text) else {
                return;
            };
            let end = event.is_end();
            on_event(event);
            if end {
                closer.close();
            }
        });
    source.set_onmessage(Some(handler.as_ref().unchecked_ref()));
    let kept = StoredValue::new_local(Some((source, handler)));
    on_cleanup(move || {
        if let Some(Some((s, _))) = kept.try_update_value(Option::take) {
            s.close();
        }
    });
}

/// `GET /api/predictions`: the prediction sets this browser may see, newest first.
pub fn prediction_sets()
-> impl Future<Output = Result<kxian_shared::api::PredictionSetList, ApiError>> {
    get("/api/predictions".into(), Vec::new())
}

/// `GET /api/predictions/{id}/rows.csv`: the set's rows as `kxian-trainer predict` writes them.
pub fn prediction_rows_csv(id: i64) -> impl Future<Output = Result<String, ApiError>> {
    let signal = abort_on_cleanup();
    async move {
        let resp = Request::get(&format!("/api/predictions/{id}/rows.csv"))
            .abort_signal(signal.as_ref())
            .send()
            .await
            .map_err(|e| client_error("network", format!("cannot reach the server: {e}")))?;
        if (200..300).contains(&resp.status()) {
            return resp
                .text()
                .await
                .map_err(|e| client_error("network", e.to_string()));
        }
        // Not a success: `decode` turns the body into the server's error.
        match decode::<serde_json::Value>(resp).await {
            Err(e) => Err(e),
            Ok(_) => Err(client_error("bad_response", "unexpected response")),
        }
    }
}

/// `GET /api/predictions/{id}/evaluation`: the set against the store's bars, with baselines.
pub fn prediction_evaluation(
    id: i64,
) -> impl Future<Output = Result<kxian_shared::predictions::evaluate::PredictionReport, ApiError>> {
    get(format!("/api/predictions/{id}/evaluation"), Vec::new())
}

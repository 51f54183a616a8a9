//! Model files from the server, verified against their SHA-256 and kept in the browser's
//! Cache Storage under their hash-carrying URL, so a second visit downloads nothing. Where
//! Cache Storage is unavailable (an insecure origin), the server's `immutable` caching
//! headers still spare the network.

use js_sys::Uint8Array;
use kxian_shared::api::{ModelEntry, ModelFile};
use sha2::{Digest, Sha256};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

const CACHE_NAME: &str = "kxian-models-v1";

pub struct ModelFiles {
    pub tokenizer_config: Vec<u8>,
    pub tokenizer_weights: Vec<u8>,
    pub predictor_config: Vec<u8>,
    pub predictor_weights: Vec<u8>,
    pub all_cached: bool,
}

fn js_err(what: &str, e: JsValue) -> String {
    let msg = js_sys::Reflect::get(&e, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"));
    format!("{what}: {msg}")
}

fn hex(d: impl AsRef<[u8]>) -> String {
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

async fn open_cache() -> Option<web_sys::Cache> {
    let caches = web_sys::window()?.caches().ok()?;
    let cache = JsFuture::from(caches.open(CACHE_NAME)).await.ok()?;
    cache.dyn_into().ok()
}

async fn from_cache(cache: &web_sys::Cache, f: &ModelFile) -> Option<Vec<u8>> {
    let hit = JsFuture::from(cache.match_with_str(&f.url)).await.ok()?;
    let resp: web_sys::Response = hit.dyn_into().ok()?;
    let buf = JsFuture::from(resp.array_buffer().ok()?).await.ok()?;
    let bytes = Uint8Array::new(&buf).to_vec();
    // A damaged entry is downloaded again, not trusted.
    (hex(Sha256::digest(&bytes)) == f.sha256).then_some(bytes)
}

/// Streams `f` from the server, reporting bytes as they arrive.
async fn download(f: &ModelFile, on_bytes: &dyn Fn(u64)) -> Result<Vec<u8>, String> {
    let window = web_sys::window().ok_or("no window")?;
    let resp: web_sys::Response = JsFuture::from(window.fetch_with_str(&f.url))
        .await
        .map_err(|e| js_err(&format!("downloading {}", f.url), e))?
        .dyn_into()
        .map_err(|_| "fetch gave no response".to_string())?;
    if !resp.ok() {
        return Err(format!(
            "downloading {}: HTTP {} {}",
            f.url,
            resp.status(),
            resp.status_text()
        ));
    }
    let mut bytes = Vec::with_capacity(f.bytes as usize);
    match resp.body() {
        Some(body) => {
            let reader: web_sys::ReadableStreamDefaultReader = body
                .get_reader()
                .dyn_into()
                .map_err(|_| "the response body has no reader".to_string())?;
            loop {
                let chunk = JsFuture::from(reader.read())
                    .await
                    .map_err(|e| js_err(&format!("downloading {}", f.url), e))?;
                let done = js_sys::Reflect::get(&chunk, &"done".into())
                    .ok()
                    .and_then(|d| d.as_bool())
                    .unwrap_or(true);
                if done {
                    break;
                }
                let value = js_sys::Reflect::get(&chunk, &"value".into())
                    .map_err(|e| js_err("reading a chunk", e))?;
                bytes.extend_from_slice(&Uint8Array::new(&value).to_vec());
                on_bytes(bytes.len() as u64);
            }
        }
        None => {
            let buf = JsFuture::from(resp.array_buffer().map_err(|e| js_err("body", e))?)
                .await
                .map_err(|e| js_err("body", e))?;
            bytes = Uint8Array::new(&buf).to_vec();
            on_bytes(bytes.len() as u64);
        }
    }
    let got = hex(Sha256::digest(&bytes));
    if got != f.sha256 {
        return Err(format!(
            "{}: the download does not match its SHA-256 (expected {}, got {got}); try again",
            f.url, f.sha256
        ));
    }
    Ok(bytes)
}

async fn store(cache: &web_sys::Cache, f: &ModelFile, bytes: &[u8]) {
    let mut copy = bytes.to_vec();
    if let Ok(resp) = web_sys::Response::new_with_opt_u8_array(Some(&mut copy)) {
        // Best effort: a full quota only costs the next visit a download.
        let _ = JsFuture::from(cache.put_with_str(&f.url, &resp)).await;
    }
}

/// `files`, each from the cache or the network; `on_progress(done, total, from_cache)` in
/// bytes over all of them. Returns the bytes in order and whether all came from the cache.
pub async fn fetch_files(
    files: &[&ModelFile],
    on_progress: &dyn Fn(u64, u64, bool),
) -> Result<(Vec<Vec<u8>>, bool), String> {
    let total: u64 = files.iter().map(|f| f.bytes).sum();
    let cache = open_cache().await;
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(files.len());
    let mut done = 0u64;
    let mut all_cached = true;
    for f in files {
        let hit = match &cache {
            Some(c) => from_cache(c, f).await,
            None => None,
        };
        let bytes = match hit {
            Some(b) => {
                done += f.bytes;
                on_progress(done, total, true);
                b
            }
            None => {
                all_cached = false;
                let base = done;
                let b = download(f, &|n| on_progress(base + n, total, false)).await?;
                if let Some(c) = &cache {
                    store(c, f, &b).await;
                }
                done += f.bytes;
                b
            }
        };
        out.push(bytes);
    }
    Ok((out, all_cached))
}

/// The four files of `model`, each from the cache or the network; `on_progress(done, total,
/// from_cache)` in bytes over the whole model.
pub async fn fetch_model(
    model: &ModelEntry,
    on_progress: &dyn Fn(u64, u64, bool),
) -> Result<ModelFiles, String> {
    let (out, all_cached) = fetch_files(
        &[
            &model.tokenizer.config,
            &model.tokenizer.weights,
            &model.predictor.config,
            &model.predictor.weights,
        ],
        on_progress,
    )
    .await?;
    let mut it = out.into_iter();
    let mut next = || it.next().unwrap_or_default();
    Ok(ModelFiles {
        tokenizer_config: next(),
        tokenizer_weights: next(),
        predictor_config: next(),
        predictor_weights: next(),
        all_cached,
    })
}

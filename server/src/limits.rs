//! What one client may ask of the server: uploads parsed at once, share links over time and
//! in stored bytes, and the admission of jobs against the per-user quota (one at a time, so
//! parallel submissions cannot slip past it). Timeouts on reading requests live in `serve`.

use crate::error::AppError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The knobs, with the defaults `kxian serve` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitsConfig {
    /// Uploads parsed at once; more get 503 with `Retry-After`.
    pub parallel_imports: usize,
    /// Share links one client may create in a burst…
    pub share_burst: u32,
    /// …and then one per this many seconds.
    pub share_every_s: u32,
    /// Bytes of share links one client may keep in the store.
    pub share_quota_bytes: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            parallel_imports: 2,
            share_burst: 20,
            share_every_s: 30,
            share_quota_bytes: 64 * 1024 * 1024,
        }
    }
}

#[derive(Debug)]
struct Inner {
    config: LimitsConfig,
    imports: Arc<Semaphore>,
    /// Share-link token buckets by client: (tokens, last refill).
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
    admission: tokio::sync::Mutex<()>,
}

/// Cheap to clone; every handler shares one.
#[derive(Debug, Clone)]
pub struct Limits(Arc<Inner>);

impl Default for Limits {
    fn default() -> Self {
        Limits::new(LimitsConfig::default())
    }
}

impl Limits {
    pub fn new(config: LimitsConfig) -> Limits {
        Limits(Arc::new(Inner {
            config,
            imports: Arc::new(Semaphore::new(config.parallel_imports.max(1))),
            buckets: Mutex::new(HashMap::new()),
            admission: tokio::sync::Mutex::new(()),
        }))
    }

    pub fn config(&self) -> LimitsConfig {
        self.0.config
    }

    /// A slot to parse one upload in, or 503 when all are taken. Held until the parse ends;
    /// taken before the body is read, so waiting uploads are not buffered either.
    pub fn import_slot(&self) -> Result<OwnedSemaphorePermit, AppError> {
        Arc::clone(&self.0.imports)
            .try_acquire_owned()
            .map_err(|_| AppError::Busy {
                message: format!(
                    "{} uploads are being read already; try again in a few seconds",
                    self.0.config.parallel_imports
                ),
                retry_after: 5,
            })
    }

    /// Takes one share link from `client`'s bucket, or says when the next is allowed.
    pub fn take_share(&self, client: &str) -> Result<(), AppError> {
        let c = self.0.config;
        let every = f64::from(c.share_every_s.max(1));
        let burst = f64::from(c.share_burst.max(1));
        let now = Instant::now();
        let mut buckets = self.0.buckets.lock().expect("not poisoned");
        if buckets.len() > 100_000 {
            // Forget full buckets so the table cannot grow without bound.
            buckets.retain(|_, (t, at)| *t + now.duration_since(*at).as_secs_f64() / every < burst);
        }
        let (tokens, at) = buckets.entry(client.to_string()).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() / every).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            return Ok(());
        }
        let wait = ((1.0 - *tokens) * every).ceil() as u32;
        Err(AppError::Quota(format!(
            "too many share links from this client: at most {} at once and one every {} s; try again in {wait} s",
            c.share_burst, c.share_every_s
        )))
    }

    /// Held while a job's quota is checked and the job stored (or retried).
    pub async fn admission(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.0.admission.lock().await
    }
}

/// How long the server waits for a request's headers, and between parts of its body.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// See [`HEADER_READ_TIMEOUT`].
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(20);
/// The body an upload of at most `max_upload` bytes may have: the file plus its multipart
/// framing and form fields.
pub fn upload_body_limit(max_upload: usize) -> usize {
    max_upload + 64 * 1024
}

/// Largest body of an API request other than an upload or a share link.
pub const MAX_JSON_BODY: u64 = 1024 * 1024;
/// Longest symbol search (`q`).
pub const MAX_SEARCH_CHARS: usize = 64;

//! Polite HTTP for market-data hosts: one request at a time per host with a minimum interval,
//! a fresh connection per request (as akshare does, so one cut connection does not poison the
//! next), a timeout, and retries with exponential backoff and jitter on 429, 5xx and dropped
//! connections. A 4xx other than 429 is an answer, not a retry.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Policy {
    /// Minimum time between two requests to one host.
    pub min_interval: Duration,
    /// Attempts per request, the first included.
    pub attempts: u32,
    /// Backoff before retry `k` (1-based): `base × 2^k + U(0.5, 1.5) × base`.
    pub backoff_base: Duration,
    pub timeout: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            min_interval: Duration::from_millis(500),
            attempts: 4,
            backoff_base: Duration::from_secs(1),
            timeout: Duration::from_secs(15),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: HTTP {status} after {attempts} attempts")]
    Status {
        url: String,
        status: u16,
        attempts: u32,
    },
    #[error(
        "{url}: {message} after {attempts} attempts (the host may be blocking us; retry later)"
    )]
    Transport {
        url: String,
        message: String,
        attempts: u32,
    },
}

/// A response body with what it took to get it.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub status: u16,
    pub body: String,
    pub attempts: u32,
}

/// A response body as bytes.
struct FetchedBytes {
    status: u16,
    body: Vec<u8>,
    attempts: u32,
}

/// The body as text: every JSON answer is UTF-8.
fn text(url: &str, f: FetchedBytes) -> Result<Fetched, FetchError> {
    match String::from_utf8(f.body) {
        Ok(body) => Ok(Fetched {
            status: f.status,
            body,
            attempts: f.attempts,
        }),
        Err(e) => Err(FetchError::Transport {
            url: url.to_string(),
            message: format!("the answer is not UTF-8 text ({e})"),
            attempts: f.attempts,
        }),
    }
}

pub struct Client {
    policy: Policy,
    last: BTreeMap<String, Instant>,
    rng: u64,
    headers: Vec<(String, String)>,
    /// Requests sent, retries included.
    pub requests: u64,
}

fn host_of(url: &str) -> String {
    url.split("://")
        .nth(1)
        .unwrap_or(url)
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string()
}

impl Client {
    pub fn new(policy: Policy, seed: u64, headers: Vec<(String, String)>) -> Client {
        Client {
            policy,
            last: BTreeMap::new(),
            rng: seed | 1,
            headers,
            requests: 0,
        }
    }

    fn jitter(&mut self) -> f64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        0.5 + (self.rng >> 11) as f64 / (1u64 << 53) as f64
    }

    fn wait_turn(&mut self, host: &str) {
        if let Some(t) = self.last.get(host) {
            let since = t.elapsed();
            if since < self.policy.min_interval {
                std::thread::sleep(self.policy.min_interval - since);
            }
        }
        self.last.insert(host.to_string(), Instant::now());
    }

    /// GET `url` with `query`, retrying what is worth retrying.
    pub fn get(&mut self, url: &str, query: &[(&str, String)]) -> Result<Fetched, FetchError> {
        self.send(url, query, None).and_then(|f| text(url, f))
    }

    /// POST a JSON `body` to `url`, with the same retries.
    pub fn post_json(&mut self, url: &str, body: &str) -> Result<Fetched, FetchError> {
        self.send(url, &[], Some(body)).and_then(|f| text(url, f))
    }

    /// GET a file (a workbook): its bytes and status.
    pub fn get_bytes(&mut self, url: &str) -> Result<(u16, Vec<u8>), FetchError> {
        self.send(url, &[], None).map(|f| (f.status, f.body))
    }

    fn send(
        &mut self,
        url: &str,
        query: &[(&str, String)],
        body: Option<&str>,
    ) -> Result<FetchedBytes, FetchError> {
        let host = host_of(url);
        let mut last_err = String::new();
        let mut last_status = None;
        for attempt in 1..=self.policy.attempts.max(1) {
            if attempt > 1 {
                let base = self.policy.backoff_base.as_secs_f64();
                let pause = base * 2f64.powi(attempt as i32 - 1) + base * self.jitter();
                std::thread::sleep(Duration::from_secs_f64(pause));
            }
            self.wait_turn(&host);
            self.requests += 1;
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .timeout_global(Some(self.policy.timeout))
                .http_status_as_error(false)
                .build()
                .into();
            let result = match body {
                None => {
                    let mut req = agent.get(url);
                    for (k, v) in query {
                        req = req.query(*k, v);
                    }
                    for (k, v) in &self.headers {
                        req = req.header(k.as_str(), v.as_str());
                    }
                    req.call()
                }
                Some(b) => {
                    let mut req = agent.post(url).header("content-type", "application/json");
                    for (k, v) in &self.headers {
                        req = req.header(k.as_str(), v.as_str());
                    }
                    req.send(b.as_bytes())
                }
            };
            match result {
                Ok(mut resp) => {
                    let status = resp.status().as_u16();
                    let body = resp.body_mut().read_to_vec();
                    match body {
                        Ok(body) if status == 429 || status >= 500 => {
                            let _ = body;
                            last_status = Some(status);
                        }
                        Ok(body) => {
                            return Ok(FetchedBytes {
                                status,
                                body,
                                attempts: attempt,
                            });
                        }
                        // The connection dropped in the middle of the body.
                        Err(e) => {
                            last_status = None;
                            last_err = e.to_string();
                        }
                    }
                }
                Err(e) => {
                    last_status = None;
                    last_err = e.to_string();
                }
            }
        }
        let attempts = self.policy.attempts.max(1);
        Err(match last_status {
            Some(status) => FetchError::Status {
                url: url.to_string(),
                status,
                attempts,
            },
            None => FetchError::Transport {
                url: url.to_string(),
                message: last_err,
                attempts,
            },
        })
    }
}

//! `cargo run --release -p kxian-server --example sse_watchers -- [watchers...]`
//!
//! How many browsers can watch one job live: the real server on loopback with a job whose
//! events are published ten times a second, and N concurrent `GET /api/jobs/{id}/events`
//! streams; for each N, the delay from publishing an event to each watcher reading it.

use kxian_server::jobs::{Jobs, runner};
use kxian_server::{AppState, Store};
use kxian_shared::jobs::{JobEvent, JobSpec, JobState, Rate, StageName};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

async fn watcher(
    addr: std::net::SocketAddr,
    id: i64,
    t0: Instant,
    sent: Arc<Mutex<Vec<f64>>>,
    tx: tokio::sync::mpsc::UnboundedSender<f64>,
) {
    let Ok(mut s) = TcpStream::connect(addr).await else {
        return;
    };
    let req = format!(
        "GET /api/jobs/{id}/events HTTP/1.1\r\nhost: x\r\naccept: text/event-stream\r\n\r\n"
    );
    if s.write_all(req.as_bytes()).await.is_err() {
        return;
    }
    let mut lines = BufReader::new(s).lines();
    while let Ok(Some(l)) = lines.next_line().await {
        // Each step's publishing time is kept beside the stream, by step number.
        if let Some(data) = l.strip_prefix("data: ")
            && let Ok(JobEvent::Step { step, .. }) = serde_json::from_str::<JobEvent>(data)
            && let Some(sent) = sent.lock().expect("not poisoned").get(step).copied()
        {
            let now = t0.elapsed().as_secs_f64() * 1e6;
            if tx.send((now - sent) / 1000.0).is_err() {
                return;
            }
        }
    }
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let counts: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let counts = if counts.is_empty() {
        vec![100, 500, 1000, 2000, 4000]
    } else {
        counts
    };
    let dir = tempfile::tempdir()?;
    let store = Store::open(&dir.path().join("kxian.db")).await?;
    let user = store
        .create_user("admin", true)
        .await?
        .expect("fresh store");
    let jobs = Jobs::default();
    let state = AppState {
        store: store.clone(),
        dist: dir.path().to_path_buf(),
        max_upload: 1 << 20,
        models: kxian_server::models::Models::load(None)?,
        auth: kxian_server::auth::AuthConfig {
            local_admin: true,
            ..Default::default()
        },
        jobs: jobs.clone(),
        limits: Default::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(kxian_server::serve(listener, state, std::future::pending()));
    let t0 = Instant::now();
    println!("watchers  events read  p50 ms  p99 ms  max ms  (10 events/s for 5 s)");
    for n in counts {
        let spec: JobSpec =
            serde_json::from_value(serde_json::json!({"kind": "download", "symbols": ["600000"]}))?;
        let id = store.create_job(user.id, &spec).await?;
        let sent = Arc::new(Mutex::new(Vec::new()));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for _ in 0..n {
            tokio::spawn(watcher(addr, id, t0, Arc::clone(&sent), tx.clone()));
        }
        drop(tx);
        // Let every watcher connect before the first event.
        tokio::time::sleep(Duration::from_millis(500 + n as u64)).await;
        for k in 0..50 {
            sent.lock()
                .expect("not poisoned")
                .push(t0.elapsed().as_secs_f64() * 1e6);
            let step = JobEvent::Step {
                stage: StageName::Predictor,
                epoch: 1,
                step: k,
                loss: 1.0,
                lr: 1e-4,
                rate: Rate::Bars { bars_per_s: 1.0 },
            };
            runner::emit(&store, &jobs, id, &step).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        runner::emit(
            &store,
            &jobs,
            id,
            &JobEvent::End {
                state: JobState::Done,
                error: None,
                result: None,
            },
        )
        .await;
        let mut delays = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while delays.len() < n * 50 && Instant::now() < deadline {
            match tokio::time::timeout(Duration::from_secs(2), rx.recv()).await {
                Ok(Some(d)) => delays.push(d),
                _ => break,
            }
        }
        let got = delays.len();
        println!(
            "{n:>8}  {got:>6}/{:<6}  {:>6.2}  {:>6.2}  {:>6.2}",
            n * 50,
            pct(&mut delays, 0.5),
            pct(&mut delays, 0.99),
            pct(&mut delays, 1.0)
        );
    }
    Ok(())
}

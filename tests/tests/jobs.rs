//! Hosted jobs through the real HTTP API: a finetune submitted by one user, watched over
//! server-sent events until it ends and its model is served; who may see, watch, cancel and
//! retry which job (every job endpoint, for its owner, another user, an admin and nobody);
//! quotas, cancel, a trainer killed mid-job, and a server killed with SIGKILL mid-job whose
//! job resumes after the restart with nothing lost.

use crate::common;

use anyhow::{Context, Result, bail, ensure};
use common::{Server, free_port, target_bin, users, workspace_root};
use kxian_shared::jobs::JobEvent;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        // Generous: on 2 cores a full-epoch finetune of the kill test runs beside these.
        .timeout_global(Some(Duration::from_secs(900)))
        .build()
        .into()
}

/// `(status, json body)` of a request with an optional bearer token.
fn call(method: &str, url: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let a = agent();
    let auth = token.map(|t| format!("Bearer {t}"));
    let resp = match (method, body) {
        ("GET", _) => {
            let mut r = a.get(url);
            if let Some(h) = &auth {
                r = r.header("Authorization", h);
            }
            r.call()
        }
        ("PUT", b) => {
            let mut r = a.put(url).header(kxian_shared::api::CLIENT_HEADER, "test");
            if let Some(h) = &auth {
                r = r.header("Authorization", h);
            }
            r.header("content-type", "application/json")
                .send(b.unwrap_or(Value::Null).to_string().as_bytes())
        }
        (_, b) => {
            let mut r = a.post(url).header(kxian_shared::api::CLIENT_HEADER, "test");
            if let Some(h) = &auth {
                r = r.header("Authorization", h);
            }
            match b {
                Some(b) => r
                    .header("content-type", "application/json")
                    .send(b.to_string().as_bytes()),
                None => r.send_empty(),
            }
        }
    };
    let mut resp = resp.expect("the server answers");
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Reads the job's event stream until its `end` event (or the deadline), returning every
/// event's data.
fn watch(
    base: &str,
    id: i64,
    token: Option<&str>,
    until: &dyn Fn(&Value) -> bool,
) -> Result<Vec<Value>> {
    let mut req = agent().get(&format!("{base}/api/jobs/{id}/events"));
    if let Some(t) = token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    let mut resp = req.call()?;
    ensure!(
        resp.status().as_u16() == 200,
        "events: HTTP {}",
        resp.status()
    );
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    ensure!(ct.starts_with("text/event-stream"), "content type {ct}");
    let reader = BufReader::new(resp.body_mut().as_reader());
    let mut out = Vec::new();
    for line in reader.lines() {
        let line = line?;
        if let Some(data) = line.strip_prefix("data: ") {
            let v: Value = serde_json::from_str(data)?;
            // Every event came from the trainer's stdout or the server, through the store and
            // SSE: each is one of the contract's, and prints back as the same line.
            let typed: JobEvent =
                serde_json::from_str(data).with_context(|| format!("not a JobEvent: {data}"))?;
            ensure!(typed.to_line() == data, "{data} does not round-trip");
            let stop = until(&v);
            out.push(v);
            if stop {
                return Ok(out);
            }
        }
    }
    Ok(out)
}

fn finetune(max_seconds: Option<f64>, epochs: u32) -> Value {
    json!({
        "kind": "finetune", "symbols": ["600000.SH"], "epochs": epochs,
        "lookback": 30, "horizon": 5, "batch_size": 16, "max_seconds": max_seconds
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_run_watch_cancel_and_stay_private() -> Result<()> {
    let server = Server::start_with_jobs(false, 2).await?;
    let store = &server.store;
    let tokens = users(store, &[("alice", false), ("bob", false), ("root", true)]).await?;
    let (alice, bob, root) = (
        tokens["alice"].clone(),
        tokens["bob"].clone(),
        tokens["root"].clone(),
    );
    let base = server.base.clone();
    tokio::task::spawn_blocking(move || -> Result<()> {
        let url = |p: &str| format!("{base}{p}");
        // Nobody: no token, or a wrong one.
        for token in [None, Some("kx_not_a_token")] {
            assert_eq!(call("GET", &url("/api/jobs"), token, None).0, 401);
            assert_eq!(
                call(
                    "POST",
                    &url("/api/jobs"),
                    token,
                    Some(finetune(Some(1.0), 1))
                )
                .0,
                401
            );
        }
        // A bad spec names its field.
        let (s, e) = call(
            "POST",
            &url("/api/jobs"),
            Some(&alice),
            Some(json!({"kind": "finetune", "symbols": ["60000x"]})),
        );
        assert_eq!(s, 400, "{e}");
        assert!(e["message"].as_str().unwrap().contains("symbols"), "{e}");
        let (s, e) = call(
            "POST",
            &url("/api/jobs"),
            Some(&alice),
            Some(json!({"kind": "download"})),
        );
        assert_eq!(s, 400, "{e}");
        // A value the contract's types refuse: the message has its field and what is allowed.
        let (s, e) = call(
            "POST",
            &url("/api/jobs"),
            Some(&alice),
            Some(json!({"kind": "download", "symbols": ["600000"], "source": "bloomberg"})),
        );
        assert_eq!(s, 400, "{e}");
        let m = e["message"].as_str().unwrap();
        assert!(m.contains("source") && m.contains("eastmoney"), "{e}");

        // Alice's finetune, watched to its end.
        let (s, job) = call(
            "POST",
            &url("/api/jobs"),
            Some(&alice),
            Some(finetune(Some(2.0), 1)),
        );
        assert_eq!(s, 201, "{job}");
        let id = job["id"].as_i64().unwrap();
        // Queued as submitted (the runner may already have claimed it).
        assert!(
            job["state"] == "queued" || job["state"] == "running",
            "{job}"
        );
        let events = watch(&base, id, Some(&alice), &|v| v["event"] == "end")?;
        let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
        assert_eq!(kinds.first(), Some(&"started"), "{kinds:?}");
        for stage in ["tokenizer", "predictor"] {
            assert!(
                events
                    .iter()
                    .any(|e| e["event"] == "step" && e["stage"] == stage),
                "{stage}"
            );
            assert!(
                events
                    .iter()
                    .any(|e| e["event"] == "epoch" && e["stage"] == stage),
                "{stage}"
            );
        }
        let end = events.last().unwrap();
        assert_eq!(end["state"], "done", "{end}");
        let model = end["result"]["model"].as_str().unwrap().to_string();
        let (_, models) = call("GET", &url("/api/models"), Some(&alice), None);
        assert!(
            models["models"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["id"] == model.as_str()),
            "{model} is served: {models}"
        );
        // A finished stream replays whole and closes; Last-Event-ID resumes after an event.
        let again = watch(&base, id, Some(&alice), &|_| false)?;
        assert_eq!(again, events);

        // Every job endpoint: Bob sees nothing of Alice's job; the admin sees it.
        for (method, path) in [
            ("GET", format!("/api/jobs/{id}")),
            ("GET", format!("/api/jobs/{id}/events")),
            ("GET", format!("/api/jobs/{id}/log")),
            ("POST", format!("/api/jobs/{id}/cancel")),
            ("POST", format!("/api/jobs/{id}/retry")),
        ] {
            let (s, _) = call(method, &url(&path), Some(&bob), None);
            assert_eq!(s, 404, "bob {method} {path}");
            let (s, _) = call(method, &url(&path), None, None);
            assert_eq!(s, 401, "nobody {method} {path}");
        }
        let (_, list) = call("GET", &url("/api/jobs"), Some(&bob), None);
        assert_eq!(list["jobs"].as_array().unwrap().len(), 0);
        let (_, list) = call("GET", &url("/api/jobs"), Some(&root), None);
        assert_eq!(list["jobs"][0]["user"], "alice");
        let (s, one) = call("GET", &url(&format!("/api/jobs/{id}")), Some(&root), None);
        assert_eq!((s, one["state"].as_str()), (200, Some("done")));
        let (s, log) = call(
            "GET",
            &url(&format!("/api/jobs/{id}/log")),
            Some(&alice),
            None,
        );
        assert_eq!(s, 200);
        assert!(
            log.as_str().unwrap_or_default().contains("best checkpoint"),
            "{log}"
        );

        // Quota 2: a long job and a queued one fill it; a third is refused.
        let (_, long) = call(
            "POST",
            &url("/api/jobs"),
            Some(&alice),
            Some(finetune(None, 50)),
        );
        let (_, queued) = call(
            "POST",
            &url("/api/jobs"),
            Some(&alice),
            Some(finetune(Some(1.0), 1)),
        );
        let (s, e) = call(
            "POST",
            &url("/api/jobs"),
            Some(&alice),
            Some(finetune(Some(1.0), 1)),
        );
        assert_eq!(s, 429, "{e}");
        // Bob's quota is his own.
        let (s, bobs) = call(
            "POST",
            &url("/api/jobs"),
            Some(&bob),
            Some(finetune(Some(1.0), 1)),
        );
        assert_eq!(s, 201);
        let (long, queued) = (long["id"].as_i64().unwrap(), queued["id"].as_i64().unwrap());
        // Cancel the queued one at once, and the long one once it runs.
        let (s, c) = call(
            "POST",
            &url(&format!("/api/jobs/{queued}/cancel")),
            Some(&alice),
            None,
        );
        assert_eq!((s, c["state"].as_str()), (200, Some("cancelled")));
        watch(&base, long, Some(&alice), &|v| v["event"] == "step")?;
        let (s, _) = call(
            "POST",
            &url(&format!("/api/jobs/{long}/cancel")),
            Some(&alice),
            None,
        );
        assert_eq!(s, 200);
        let ev = watch(&base, long, Some(&alice), &|v| v["event"] == "end")?;
        assert_eq!(ev.last().unwrap()["state"], "cancelled");
        let (s, e) = call(
            "POST",
            &url(&format!("/api/jobs/{long}/cancel")),
            Some(&alice),
            None,
        );
        assert_eq!(s, 409, "{e}");
        // Retry brings a cancelled job back; Bob's job ran in the meantime or runs now.
        let (s, r) = call(
            "POST",
            &url(&format!("/api/jobs/{queued}/retry")),
            Some(&alice),
            None,
        );
        assert_eq!((s, r["state"].as_str()), (200, Some("queued")));
        let bid = bobs["id"].as_i64().unwrap();
        let ev = watch(&base, bid, Some(&bob), &|v| v["event"] == "end")?;
        assert_eq!(ev.last().unwrap()["state"], "done");
        let ev = watch(&base, queued, Some(&alice), &|v| v["event"] == "end")?;
        assert_eq!(ev.last().unwrap()["state"], "done");
        Ok(())
    })
    .await?
}

/// `kxian serve` as its own process, so it can be killed with SIGKILL.
struct Process {
    child: std::process::Child,
    base: String,
}

fn serve(dir: &std::path::Path) -> Result<Process> {
    let port = free_port()?;
    let child = std::process::Command::new(target_bin("kxian")?)
        .args(["serve", "--port", &port.to_string(), "--db"])
        .arg(dir.join("kxian.db"))
        .arg("--trainer")
        .arg(target_bin("kxian-trainer")?)
        .arg("--dist")
        .arg(workspace_root().join("dist"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let base = format!("http://127.0.0.1:{port}");
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(30) {
        if agent().get(&format!("{base}/api/health")).call().is_ok() {
            return Ok(Process { child, base });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("kxian serve did not come up");
}

/// The pids of running `kxian-trainer` processes whose command line mentions `needle`.
fn trainers(needle: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains("kxian-trainer") && cmd.contains(needle) {
            out.push(pid);
        }
    }
    out
}

#[test]
fn killing_the_trainer_or_the_server_mid_job_loses_nothing() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let jobs_dir = dir.path().join("jobs");
    let mut p = serve(dir.path())?;
    // Loopback without a token: the local admin, as a single-user install.
    let (s, job) = call(
        "POST",
        &format!("{}/api/jobs", p.base),
        None,
        Some(finetune(None, 1)),
    );
    assert_eq!(s, 201, "{job}");
    let id = job["id"].as_i64().unwrap();
    let before = watch(&p.base, id, None, &|v| {
        v["event"] == "step" && v["step"].as_u64() >= Some(5)
    })?;
    let seen = before.len();
    // SIGKILL the server; its trainer notices and stops.
    p.child.kill()?;
    p.child.wait()?;
    let needle = jobs_dir.join(format!("job-{id}")).display().to_string();
    let t0 = Instant::now();
    while !trainers(&needle).is_empty() && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(trainers(&needle).is_empty(), "the orphaned trainer stopped");

    // Restarted: the job is queued again, resumes, and ends; earlier events are all kept.
    let mut p = serve(dir.path())?;
    let events = watch(&p.base, id, None, &|v| v["event"] == "end")?;
    assert_eq!(
        &events[..seen],
        &before[..],
        "events before the kill are kept"
    );
    assert!(
        events.iter().any(|e| e["event"] == "requeued"),
        "{events:?}"
    );
    assert_eq!(
        events.last().unwrap()["state"],
        "done",
        "{:?}",
        events.last()
    );
    let (_, j) = call("GET", &format!("{}/api/jobs/{id}", p.base), None, None);
    assert_eq!(j["attempts"], 2);

    // A trainer killed mid-job fails its job with its log tail; the server goes on.
    let (_, job) = call(
        "POST",
        &format!("{}/api/jobs", p.base),
        None,
        Some(finetune(None, 1)),
    );
    let id2 = job["id"].as_i64().unwrap();
    watch(&p.base, id2, None, &|v| v["event"] == "step")?;
    let needle = jobs_dir.join(format!("job-{id2}")).display().to_string();
    for pid in trainers(&needle) {
        std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()?;
    }
    let ev = watch(&p.base, id2, None, &|v| v["event"] == "end")?;
    let end = ev.last().unwrap();
    assert_eq!(end["state"], "failed", "{end}");
    assert!(
        end["error"]
            .as_str()
            .unwrap()
            .contains("kxian-trainer exited"),
        "{end}"
    );
    let (s, _) = call("GET", &format!("{}/api/health", p.base), None, None);
    assert_eq!(s, 200);
    p.child.kill()?;
    p.child.wait()?;
    Ok(())
}

use crate::eastmoney_mock;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_job_fills_the_store_and_reports_each_symbol() -> Result<()> {
    let mock = eastmoney_mock::Mock::start(std::collections::BTreeMap::from([(
        "1.600000".to_string(),
        eastmoney_mock::Fault::TooMany(1),
    )]));
    let env = vec![
        ("KXIAN_EASTMONEY_URL".to_string(), mock.base.clone()),
        ("KXIAN_EASTMONEY_LIST_URL".to_string(), mock.base.clone()),
    ];
    let server = Server::start_with_jobs_env(true, 4, env).await?;
    let admin = server
        .store
        .create_user("admin", true)
        .await?
        .context("admin")?;
    let token = kxian_server::auth::new_token();
    server.store.add_token(admin.id, &token, "test").await?;
    let base = server.base.clone();
    tokio::task::spawn_blocking(move || -> Result<()> {
        let spec = json!({
            "kind": "download", "symbols": ["510300", "600000.SH", "999998.SH"],
            "from": "2024-09-02", "to": "2024-09-13"
        });
        let (s, job) = call("POST", &format!("{base}/api/jobs"), Some(&token), Some(spec));
        assert_eq!(s, 201, "{job}");
        let id = job["id"].as_i64().unwrap();
        let events = watch(&base, id, Some(&token), &|v| v["event"] == "end")?;
        let per_symbol: Vec<(String, String)> = events
            .iter()
            .filter(|e| e["event"] == "symbol")
            .map(|e| (e["symbol"].as_str().unwrap().into(), e["status"].as_str().unwrap().into()))
            .collect();
        // 600000.SH is in the store (embedded, up to 2024-09-19) already: incremental, it
        // asks only for what follows and finds nothing new.
        assert_eq!(
            per_symbol,
            [
                ("510300.SH".to_string(), "downloaded".to_string()),
                ("600000.SH".into(), "up_to_date".into()),
                ("999998.SH".into(), "unknown".into()),
            ]
        );
        let end = events.last().unwrap();
        assert_eq!(end["state"], "done", "{end}");
        // The new series is in the store with its provenance, in shares and CNY.
        let (s, sym) = call("GET", &format!("{base}/api/symbols/510300.SH"), None, None);
        assert_eq!(s, 200, "{sym}");
        let series = &sym["series"][0];
        assert_eq!(series["bars"], 10, "{sym}");
        assert_eq!(series["source"], format!("eastmoney:job-{id}"));
        let (_, bars) = call(
            "GET",
            &format!("{base}/api/symbols/510300.SH/bars?freq=daily&limit=1"),
            None,
            None,
        );
        let fixture: Value = serde_json::from_slice(&std::fs::read(
            eastmoney_mock::fixtures().join("eastmoney/kline_daily_1.510300_fqt0_20240902_20240913.json"),
        )?)?;
        let last: Vec<&str> = fixture["data"]["klines"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .as_str()
            .unwrap()
            .split(',')
            .collect();
        let b = &bars["bars"][0];
        assert_eq!(b["close"].as_f64().unwrap(), last[2].parse::<f64>()?);
        assert_eq!(b["volume"].as_f64().unwrap(), last[5].parse::<f64>()? * 100.0);
        // A second run is incremental: nothing new, everything up to date.
        let spec = json!({"kind": "download", "symbols": ["510300"], "from": "2024-09-02", "to": "2024-09-13"});
        let (_, job) = call("POST", &format!("{base}/api/jobs"), Some(&token), Some(spec));
        let events = watch(&base, job["id"].as_i64().unwrap(), Some(&token), &|v| v["event"] == "end")?;
        assert!(events.iter().any(|e| e["event"] == "symbol" && e["status"] == "up_to_date"), "{events:?}");
        Ok(())
    })
    .await?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compare_only_download_lists_where_the_source_disagrees_and_stores_nothing() -> Result<()>
{
    // Eastmoney's 000001.SZ with the close of 2024-09-05 one tick above the embedded bars.
    let mock = eastmoney_mock::Mock::start(std::collections::BTreeMap::from([(
        "0.000001".to_string(),
        eastmoney_mock::Fault::Tick("2024-09-05".into()),
    )]));
    let env = vec![("KXIAN_EASTMONEY_URL".to_string(), mock.base.clone())];
    let server = Server::start_with_jobs_env(true, 4, env).await?;
    let tokens = users(&server.store, &[("dana", false)]).await?;
    let base = server.base.clone();
    tokio::task::spawn_blocking(move || -> Result<()> {
        let url = |p: &str| format!("{base}{p}");
        let dana = tokens["dana"].as_str();
        let close_0905 = || -> f64 {
            let (_, bars) = call(
                "GET",
                &url("/api/symbols/000001.SZ/bars?freq=daily&start=2024-09-05&end=2024-09-05"),
                Some(dana),
                None,
            );
            bars["bars"][0]["close"].as_f64().unwrap()
        };
        let before = close_0905();
        let spec = json!({"kind": "download", "symbols": ["000001.SZ", "510300"], "check": true,
                          "from": "2024-09-02", "to": "2024-09-13"});
        let (s, job) = call("POST", &url("/api/jobs"), Some(dana), Some(spec));
        assert_eq!(s, 201, "{job}");
        let events = watch(&base, job["id"].as_i64().unwrap(), Some(dana), &|v| {
            v["event"] == "end"
        })?;
        let end = events.last().unwrap();
        assert_eq!(end["state"], "done", "{events:?}");
        let d = &end["result"]["series"]["000001.SZ"];
        assert_eq!(
            (d["compared"].as_u64(), d["days"].as_u64()),
            (Some(10), Some(1)),
            "{end}"
        );
        assert_eq!(d["listed"][0]["field"], "close");
        assert_eq!(d["listed"][0]["ours"].as_f64(), Some(before));
        assert_eq!(end["result"]["not_stored"], json!(["510300.SH"]), "{end}");
        // Nothing was written: the stored close is as it was, and 510300 is still not stored.
        assert_eq!(close_0905(), before);
        let (s, _) = call("GET", &url("/api/symbols/510300.SH"), Some(dana), None);
        assert_eq!(s, 404);
        // The health table marks the series with the disagreement.
        let (_, health) = call("GET", &url("/api/data/health"), Some(dana), None);
        let row = health["series"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["symbol"] == "000001.SZ")
            .unwrap();
        assert_eq!(row["disagreement"]["days"], 1, "{row}");
        assert_eq!(row["disagreement"]["source"], "eastmoney", "{row}");
        assert!(
            health["series"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["symbol"] != "000001.SZ")
                .all(|r| r["disagreement"].is_null()),
            "{health}"
        );
        Ok(())
    })
    .await?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tdx_download_needs_the_servers_quote_server_and_stores_its_bars() -> Result<()> {
    use kxian_trainer::download::tdx::wire::WireBar;
    let day = |d: u32| {
        chrono::NaiveDate::from_ymd_opt(2024, 9, d)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
    };
    let bars: Vec<WireBar> = [2u32, 3, 4, 5, 6]
        .iter()
        .map(|&d| WireBar {
            ts: day(d),
            open: 1.5,
            high: 1.52,
            low: 1.49,
            close: 1.51,
            volume: 1000.0,
            amount: 151_000.0,
        })
        .collect();
    let tdx = crate::tdx_mock::TdxMock::start(
        std::collections::BTreeMap::from([((0, "000002".to_string(), 9), (false, bars))]),
        crate::tdx_mock::Mode::Serve,
    );
    // Without a quote server configured, the job is refused as it is submitted.
    let bare = Server::start_with_jobs_env(false, 4, Vec::new()).await?;
    let tokens = users(&bare.store, &[("erin", false)]).await?;
    let spec = json!({"kind": "download", "source": "tdx", "symbols": ["000002.SZ"],
                      "from": "2024-09-02", "to": "2024-09-06"});
    let base = bare.base.clone();
    let (erin, sp) = (tokens["erin"].clone(), spec.clone());
    tokio::task::spawn_blocking(move || -> Result<()> {
        let (s, body) = call("POST", &format!("{base}/api/jobs"), Some(&erin), Some(sp));
        assert_eq!(s, 400, "{body}");
        assert!(body.to_string().contains("KXIAN_TDX_HOST"), "{body}");
        Ok(())
    })
    .await??;
    // With one, the bars arrive in shares, from TDX.
    let env = vec![("KXIAN_TDX_HOST".to_string(), tdx.addr.clone())];
    let server = Server::start_with_jobs_env(false, 4, env).await?;
    let tokens = users(&server.store, &[("erin", false)]).await?;
    let base = server.base.clone();
    tokio::task::spawn_blocking(move || -> Result<()> {
        let erin = tokens["erin"].as_str();
        let (s, job) = call("POST", &format!("{base}/api/jobs"), Some(erin), Some(spec));
        assert_eq!(s, 201, "{job}");
        let id = job["id"].as_i64().unwrap();
        let events = watch(&base, id, Some(erin), &|v| v["event"] == "end")?;
        assert_eq!(events.last().unwrap()["state"], "done", "{events:?}");
        let (_, sym) = call(
            "GET",
            &format!("{base}/api/symbols/000002.SZ"),
            Some(erin),
            None,
        );
        assert_eq!(sym["series"][0]["bars"], 5, "{sym}");
        assert_eq!(sym["series"][0]["source"], format!("tdx:job-{id}"));
        let (_, bars) = call(
            "GET",
            &format!("{base}/api/symbols/000002.SZ/bars?freq=daily&limit=1"),
            Some(erin),
            None,
        );
        assert_eq!(bars["bars"][0]["volume"].as_f64(), Some(100_000.0));
        Ok(())
    })
    .await?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mine_job_searches_the_store_and_returns_its_formulas() -> Result<()> {
    let server = Server::start_with_jobs_env(false, 4, Vec::new()).await?;
    // Twelve synthetic stocks with the planted formula, stored as the machine's own series.
    let symbols = crate::planted::store_planted(&server.store, 12).await?;
    let tokens = users(&server.store, &[("finn", false)]).await?;
    let base = server.base.clone();
    let config = format!(
        "[universe]\nsymbols = {symbols:?}\n\n[mine]\nhorizon = 5\n\
         train = {{ from = 2018-03-01, to = 2019-03-29 }}\n\
         validation = {{ from = 2019-04-01, to = 2019-12-31 }}\n\
         test = {{ from = 2020-01-02, to = 2020-09-30 }}\n\
         population = 30\ngenerations = 4\nrounds = 1\nfactors = false\nmax_seconds = 120\n"
    );
    tokio::task::spawn_blocking(move || -> Result<()> {
        let finn = tokens["finn"].as_str();
        let url = |p: &str| format!("{base}{p}");
        // A file that reads local files is refused before it is queued.
        let bad = json!({"kind": "mine", "config": config.replace("symbols =", "files = [\"a.csv\"]\nsymbols =")});
        let (s, body) = call("POST", &url("/api/jobs"), Some(finn), Some(bad));
        assert_eq!(s, 400, "{body}");
        assert!(body.to_string().contains("universe.files"), "{body}");
        let (s, job) = call(
            "POST",
            &url("/api/jobs"),
            Some(finn),
            Some(json!({"kind": "mine", "config": config})),
        );
        assert_eq!(s, 201, "{job}");
        let events = watch(&base, job["id"].as_i64().unwrap(), Some(finn), &|v| {
            v["event"] == "end"
        })?;
        let end = events.last().unwrap();
        assert_eq!(end["state"], "done", "{events:?}");
        let generations: Vec<&Value> = events.iter().filter(|e| e["event"] == "generation").collect();
        assert_eq!(generations.len(), 4, "{events:?}");
        assert!(generations[3]["tried"].as_u64().unwrap() >= 30);
        let r = &end["result"];
        assert!(r["tried"].as_u64().unwrap() >= 30, "{r}");
        let formulas = r["formulas"].as_array().unwrap();
        assert!(!formulas.is_empty(), "{r}");
        assert!(formulas[0]["test_ic"].as_f64().unwrap() > 0.0, "{r}");
        Ok(())
    })
    .await?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn series_and_models_are_private_to_their_owner() -> Result<()> {
    let mock = eastmoney_mock::Mock::start(Default::default());
    let env = vec![("KXIAN_EASTMONEY_URL".to_string(), mock.base.clone())];
    let server = Server::start_with_jobs_env(false, 4, env).await?;
    let tokens = users(
        &server.store,
        &[("alice", false), ("bob", false), ("root", true)],
    )
    .await?;
    let base = server.base.clone();
    tokio::task::spawn_blocking(move || -> Result<()> {
        let url = |p: &str| format!("{base}{p}");
        let alice = tokens["alice"].as_str();
        let dl = json!({"kind": "download", "symbols": ["510300"], "from": "2024-09-02", "to": "2024-09-13"});
        let (_, job) = call("POST", &url("/api/jobs"), Some(alice), Some(dl));
        let ev = watch(&base, job["id"].as_i64().unwrap(), Some(alice), &|v| v["event"] == "end")?;
        assert_eq!(ev.last().unwrap()["state"], "done", "{ev:?}");
        let (_, job) = call("POST", &url("/api/jobs"), Some(alice), Some(finetune(Some(1.0), 1)));
        let ev = watch(&base, job["id"].as_i64().unwrap(), Some(alice), &|v| v["event"] == "end")?;
        let model = ev.last().unwrap()["result"]["model"].as_str().unwrap().to_string();
        let (_, list) = call("GET", &url("/api/models"), Some(alice), None);
        let entry = list["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == model.as_str())
            .cloned()
            .context("alice sees her model")?;
        let file = entry["predictor"]["weights"]["url"].as_str().unwrap().to_string();
        let card = format!("/api/models/{model}/card");
        // The card has the run's evaluation: both stages' validation loss before and after.
        let (_, text) = call("GET", &url(&card), Some(alice), None);
        let text = text.as_str().unwrap_or_default().to_string();
        assert!(text.contains("## Evaluation") && text.contains("| tokenizer |") && text.contains("| predictor |"), "{text}");
        // Bob cannot start from Alice's model; Alice can.
        let mut spec = finetune(Some(1.0), 1);
        spec["base"] = json!(model);
        let (s, e) = call("POST", &url("/api/jobs"), Some(tokens["bob"].as_str()), Some(spec.clone()));
        assert_eq!(s, 400, "{e}");
        assert!(e["message"].as_str().unwrap().contains("base"), "{e}");
        let (s, job2) = call("POST", &url("/api/jobs"), Some(alice), Some(spec));
        assert_eq!(s, 201, "{job2}");
        let ev = watch(&base, job2["id"].as_i64().unwrap(), Some(alice), &|v| v["event"] == "end")?;
        let second = ev.last().unwrap()["result"]["model"].as_str().unwrap().to_string();
        let (_, text) = call("GET", &url(&format!("/api/models/{second}/card")), Some(alice), None);
        assert!(text.as_str().unwrap_or_default().contains(&format!("from {model} on")), "{text}");
        // Every endpoint that reads a series or a model, for each kind of caller.
        let reads = [
            "/api/symbols/510300.SH".to_string(),
            "/api/symbols/510300.SH/bars?freq=daily".to_string(),
            file.clone(),
            card.clone(),
        ];
        for (who, token, sees) in [
            ("alice", Some(alice), true),
            ("root", Some(tokens["root"].as_str()), true),
            ("bob", Some(tokens["bob"].as_str()), false),
            ("nobody", None, false),
        ] {
            for path in &reads {
                let (s, _) = call("GET", &url(path), token, None);
                assert_eq!(s, if sees { 200 } else { 404 }, "{who} GET {path}");
            }
            let (_, found) = call("GET", &url("/api/symbols?q=510300"), token, None);
            assert_eq!(found["total"], if sees { 1 } else { 0 }, "{who} searches: {found}");
            let (_, list) = call("GET", &url("/api/models"), token, None);
            let listed = list["models"].as_array().unwrap().iter().any(|m| m["id"] == model.as_str());
            assert_eq!(listed, sees, "{who} lists models");
            // The public data stays public.
            let (s, _) = call("GET", &url("/api/symbols/000300.SH/bars?freq=daily&limit=5"), token, None);
            assert_eq!(s, 200, "{who} reads the embedded data");
        }
        Ok(())
    })
    .await?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tushare_download_uses_the_users_stored_token_and_never_shows_it() -> Result<()> {
    let mock = eastmoney_mock::Mock::start(Default::default());
    let env = vec![("KXIAN_TUSHARE_URL".to_string(), mock.base.clone())];
    let server = Server::start_with_jobs_env(false, 4, env).await?;
    let tokens = users(&server.store, &[("alice", false), ("bob", false)]).await?;
    let base = server.base.clone();
    tokio::task::spawn_blocking(move || -> Result<()> {
        let url = |p: &str| format!("{base}{p}");
        let (alice, bob) = (tokens["alice"].as_str(), tokens["bob"].as_str());
        let (s, _) = call(
            "PUT",
            &url("/api/me/secrets/tushare"),
            Some(alice),
            Some(json!({"value": "test-token"})),
        );
        assert_eq!(s, 204);
        let (_, me) = call("GET", &url("/api/me"), Some(alice), None);
        assert_eq!(me["tushare_token"], true, "{me}");
        assert!(!me.to_string().contains("test-token"));
        let spec = json!({"kind": "download", "source": "tushare", "symbols": ["510300"],
                          "from": "2024-09-02", "to": "2024-09-13"});
        let (_, job) = call("POST", &url("/api/jobs"), Some(alice), Some(spec.clone()));
        let id = job["id"].as_i64().unwrap();
        let events = watch(&base, id, Some(alice), &|v| v["event"] == "end")?;
        assert_eq!(events.last().unwrap()["state"], "done", "{events:?}");
        assert!(
            events
                .iter()
                .any(|e| e["symbol"] == "510300.SH" && e["status"] == "downloaded")
        );
        let (_, log) = call(
            "GET",
            &url(&format!("/api/jobs/{id}/log")),
            Some(alice),
            None,
        );
        let (_, one) = call("GET", &url(&format!("/api/jobs/{id}")), Some(alice), None);
        for text in [
            serde_json::to_string(&events)?,
            log.to_string(),
            one.to_string(),
        ] {
            assert!(!text.contains("test-token"), "the token leaked: {text}");
        }
        let (_, sym) = call("GET", &url("/api/symbols/510300.SH"), Some(alice), None);
        assert_eq!(sym["series"][0]["bars"], 10, "{sym}");
        // Bob has no token: his job fails and says what to do.
        let (_, job) = call("POST", &url("/api/jobs"), Some(bob), Some(spec));
        let events = watch(&base, job["id"].as_i64().unwrap(), Some(bob), &|v| {
            v["event"] == "end"
        })?;
        let end = events.last().unwrap();
        assert_eq!(end["state"], "failed");
        assert!(
            end["error"].as_str().unwrap().contains("no Tushare token"),
            "{end}"
        );
        Ok(())
    })
    .await?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admins_reference_job_stores_point_in_time_data_and_a_user_is_refused() -> Result<()> {
    let mock = eastmoney_mock::Mock::start(Default::default());
    let env = vec![
        ("KXIAN_TUSHARE_URL".to_string(), mock.base.clone()),
        ("KXIAN_CSINDEX_URL".to_string(), mock.base.clone()),
    ];
    let server = Server::start_with_jobs_env(false, 4, env).await?;
    let tokens = users(&server.store, &[("root", true), ("carol", false)]).await?;
    let base = server.base.clone();
    let store = server.store.clone();
    let members = tokio::task::spawn_blocking(move || -> Result<()> {
        let url = |p: &str| format!("{base}{p}");
        let (root, carol) = (tokens["root"].as_str(), tokens["carol"].as_str());
        let spec = json!({"kind": "download", "source": "tushare", "reference": true,
                          "index": ["000905.SH"], "from": "2023-11-01", "to": "2024-02-29"});
        let (s, body) = call("POST", &url("/api/jobs"), Some(carol), Some(spec.clone()));
        assert_eq!(s, 400, "{body}");
        assert!(body.to_string().contains("only an admin"), "{body}");
        let (s, _) = call(
            "PUT",
            &url("/api/me/secrets/tushare"),
            Some(root),
            Some(json!({"value": "test-token"})),
        );
        assert_eq!(s, 204);
        let (_, job) = call("POST", &url("/api/jobs"), Some(root), Some(spec));
        let id = job["id"].as_i64().unwrap();
        let events = watch(&base, id, Some(root), &|v| v["event"] == "end")?;
        let end = events.last().unwrap();
        assert_eq!(end["state"], "done", "{events:?}");
        // One event per API call: three lists, one index, shares and northbound holdings at
        // four month-ends, ST and suspensions.
        let calls: Vec<&str> = events
            .iter()
            .filter(|e| e["event"] == "call")
            .map(|e| e["call"].as_str().unwrap())
            .collect();
        assert_eq!(calls.len(), 14, "{calls:?}");
        assert!(calls.contains(&"hk_hold 2023-12-29"), "{calls:?}");
        assert_eq!(end["result"]["northbound"], 3, "{end}");
        assert!(calls.contains(&"index_weight 000905.SH"), "{calls:?}");
        assert!(end["result"]["industries"].as_u64().unwrap() >= 6, "{end}");
        assert_eq!(end["result"]["members"], 5, "{end}");
        // Then CSIndex's list of 2024-03-01, no token: one stay added, the history kept.
        let spec = json!({"kind": "download", "reference": true, "csindex": true,
                          "index": ["000905.SH"]});
        let (s, job) = call("POST", &url("/api/jobs"), Some(root), Some(spec));
        assert_eq!(s, 201, "{job}");
        let events = watch(&base, job["id"].as_i64().unwrap(), Some(root), &|v| {
            v["event"] == "end"
        })?;
        let end = events.last().unwrap();
        assert_eq!(end["state"], "done", "{events:?}");
        assert_eq!(end["result"]["members"], 1, "{end}");
        assert!(
            events
                .iter()
                .any(|e| e["call"] == "csindex 000905.SH 2024-03-01"),
            "{events:?}"
        );
        Ok(())
    });
    members.await??;
    let stays = store.index_members("000905.SH").await?;
    assert_eq!(stays.len(), 6);
    assert!(
        stays
            .iter()
            .any(|m| m.symbol == "601398.SH" && m.from.to_string() == "2024-03-01")
    );
    assert!(
        stays
            .iter()
            .any(|m| m.symbol == "300750.SZ" && m.to.is_some_and(|t| t.to_string() == "2024-02-29"))
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_job_neither_reads_nor_writes_another_users_series() -> Result<()> {
    let mock = eastmoney_mock::Mock::start(Default::default());
    let env = vec![("KXIAN_EASTMONEY_URL".to_string(), mock.base.clone())];
    let server = Server::start_with_jobs_env(false, 4, env).await?;
    let tokens = users(&server.store, &[("alice", false), ("bob", false)]).await?;
    // Bob holds 510300.SH privately, with a bar after the range Alice asks for.
    let bob = server.store.user_by_name("bob").await?.context("bob")?;
    let csv = "date,open,high,low,close,volume,amount\n2024-09-30,100,100,100,100,1,100\n";
    let opts = kxian_shared::api::ImportOptions {
        symbol: Some("510300.SH".parse()?),
        ..Default::default()
    };
    let parsed = kxian_shared::ingest::parse_file("bob.csv", csv.as_bytes(), &opts)?;
    server
        .store
        .import_as(&parsed, "bob", &kxian_server::storage::Viewer::of(&bob))
        .await?;
    let read = |who: kxian_server::storage::Viewer| {
        let store = server.store.clone();
        async move {
            store
                .bars_for(
                    &who,
                    &"510300.SH".parse().unwrap(),
                    kxian_shared::Frequency::Daily,
                    kxian_shared::Adjustment::None,
                    None,
                    None,
                    10_000,
                )
                .await
                .map(|r| r.map(|r| serde_json::to_string(&r.bars).unwrap_or_default()))
        }
    };
    let bobs = read(kxian_server::storage::Viewer::of(&bob)).await?;
    let base = server.base.clone();
    let alice = tokens["alice"].clone();
    tokio::task::spawn_blocking(move || -> Result<()> {
        let dl = json!({"kind": "download", "symbols": ["510300"], "from": "2024-09-02", "to": "2024-09-13"});
        let (s, job) = call("POST", &format!("{base}/api/jobs"), Some(&alice), Some(dl));
        assert_eq!(s, 201, "{job}");
        let ev = watch(&base, job["id"].as_i64().unwrap(), Some(&alice), &|v| v["event"] == "end")?;
        // Bob's later bar is not Alice's start point: she downloads the whole range.
        assert!(
            ev.iter().any(|e| e["event"] == "symbol" && e["status"] == "downloaded"),
            "{ev:?}"
        );
        assert_eq!(ev.last().unwrap()["state"], "done", "{ev:?}");
        let (_, sym) = call("GET", &format!("{base}/api/symbols/510300.SH"), Some(&alice), None);
        assert_eq!(sym["series"][0]["bars"], 10, "{sym}");
        Ok(())
    })
    .await??;
    assert_eq!(read(kxian_server::storage::Viewer::of(&bob)).await?, bobs);
    Ok(())
}

/// A backtest job: the page's file run by the trainer on the server's store as its owner, its
/// start and end as events, and the report in the result; a file the server cannot run is
/// refused before it is queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backtest_job_runs_the_file_and_returns_its_report() -> Result<()> {
    let server = Server::start_with_jobs(false, 4).await?;
    let user = server
        .store
        .create_user("quant", false)
        .await?
        .context("user")?;
    let token = kxian_server::auth::new_token();
    server.store.add_token(user.id, &token, "test").await?;
    let base = server.base.clone();
    tokio::task::spawn_blocking(move || -> Result<()> {
        let file = std::fs::read_to_string(
            common::workspace_root().join("examples/backtest/momentum-top-k.toml"),
        )?;
        let (s, job) = call(
            "POST",
            &format!("{base}/api/jobs"),
            Some(&token),
            Some(json!({"kind": "backtest", "config": file})),
        );
        assert_eq!(s, 201, "{job}");
        let events = watch(&base, job["id"].as_i64().unwrap(), Some(&token), &|v| {
            v["event"] == "end"
        })?;
        assert!(
            events
                .iter()
                .any(|e| e["event"] == "start" && e["stage"] == "backtest" && e["symbols"] == 3),
            "{events:?}"
        );
        let done = events
            .iter()
            .find(|e| e["event"] == "done" && e["stage"] == "backtest")
            .context("the backtest's done event")?;
        assert!(done["fills"].as_u64().unwrap() > 10, "{done}");
        let end = events.last().unwrap();
        assert_eq!(end["state"], "done", "{end}");
        let report = end["result"]["report"].as_str().unwrap_or_default();
        assert!(report.contains("score IC      the score"), "{report}");
        assert!(report.contains("index 000300.SH"), "{report}");
        assert_eq!(end["result"]["fills"], done["fills"]);

        let (s, err) = call(
            "POST",
            &format!("{base}/api/jobs"),
            Some(&token),
            Some(json!({"kind": "backtest", "config": file.replace("delta($close, 20)", "delta($close,)")})),
        );
        assert_eq!(s, 400, "{err}");
        assert!(err.to_string().contains("column"), "{err}");
        Ok(())
    })
    .await?
}

/// A zoo model trained as a job: its curves with the learning rate, a card from the held-out
/// part, the model served to its owner alone with that card; a cancelled run, retried,
/// resumes from its last checkpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_train_model_job_serves_its_model_and_card_and_resumes_when_retried() -> Result<()> {
    let server = Server::start_with_jobs_env(false, 4, Vec::new()).await?;
    let symbols = crate::planted::store_planted(&server.store, 6).await?;
    let tokens = users(&server.store, &[("zoe", false), ("max", false)]).await?;
    let base = server.base.clone();
    let config = move |epochs: usize, steps: usize| {
        format!(
            "[data]\nsymbols = {symbols:?}\ncontext = 20\n\n[model]\nbackbone = \"lstm\"\nd_model = 16\n\n\
             [target]\nkind = \"updown3\"\nhorizon = 3\n\n[loss]\nkind = \"cost\"\n\n\
             [train]\nepochs = {epochs}\nsteps_per_epoch = {steps}\nbatch_size = 32\nmax_seconds = 120\nselect = \"points\"\n"
        )
    };
    tokio::task::spawn_blocking(move || -> Result<()> {
        let (zoe, max) = (tokens["zoe"].as_str(), tokens["max"].as_str());
        let url = |p: &str| format!("{base}{p}");
        // A file that reads local files is refused before it is queued, naming the key.
        let bad = json!({"kind": "train_model", "config": config(2, 4).replace("symbols =", "files = [\"a.csv\"]\nsymbols =")});
        let (s, body) = call("POST", &url("/api/jobs"), Some(zoe), Some(bad));
        assert_eq!(s, 400, "{body}");
        assert!(body.to_string().contains("data.files"), "{body}");

        let (s, job) = call(
            "POST",
            &url("/api/jobs"),
            Some(zoe),
            Some(json!({"kind": "train_model", "config": config(2, 4)})),
        );
        assert_eq!(s, 201, "{job}");
        let id = job["id"].as_i64().unwrap();
        let events = watch(&base, id, Some(zoe), &|v| v["event"] == "end")?;
        let end = events.last().unwrap();
        assert_eq!(end["state"], "done", "{events:?}");
        let steps: Vec<&Value> = events.iter().filter(|e| e["event"] == "step").collect();
        assert_eq!(steps.len(), 8, "{events:?}");
        assert!(steps.iter().all(|s| s["stage"] == "model" && s["lr"].as_f64().unwrap() > 0.0));
        let epochs: Vec<&Value> = events.iter().filter(|e| e["event"] == "epoch").collect();
        assert_eq!(epochs.len(), 2, "{events:?}");
        // Selected by points, the curve still shows the validation loss, the points beside it.
        assert!(
            epochs
                .iter()
                .all(|e| e["val_loss"].as_f64().unwrap() > 0.05 && e["val_points"].is_number()),
            "{epochs:?}"
        );
        let r = &end["result"];
        let model = r["model"].as_str().unwrap().to_string();
        assert_eq!(model, format!("job-{id}"));
        assert_eq!(r["card"]["backbone"], "lstm", "{r}");
        assert!(r["card"]["test"]["samples"].as_u64().unwrap() > 0, "{r}");
        // The test part's outputs are the owner's prediction set, named after the model.
        let set = r["set"].as_i64().unwrap_or_else(|| panic!("a set: {r}"));
        let (s, info) = call("GET", &url(&format!("/api/predictions/{set}")), Some(zoe), None);
        assert_eq!(s, 200, "{info}");
        assert_eq!(info["name"], format!("job-{id}"), "{info}");
        assert_eq!(info["rows"].as_u64(), r["card"]["test"]["samples"].as_u64(), "{info}");
        let (s, _) = call("GET", &url(&format!("/api/predictions/{set}")), Some(max), None);
        assert_eq!(s, 404);
        assert!(r["card"]["test"]["class"]["up_recall"].is_number() || r["card"]["test"]["class"]["up_recall"].is_null(), "{r}");

        // Served to Zoe with its card; Max does not see it.
        let (_, list) = call("GET", &url("/api/models"), Some(zoe), None);
        let entry = list["zoo"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == model.as_str())
            .cloned()
            .unwrap_or_else(|| panic!("{model} is served: {list}"));
        assert_eq!(entry["card"]["test"], r["card"]["test"], "{entry}");
        let (s, card) = call("GET", &url(&format!("/api/models/{model}/card")), Some(zoe), None);
        assert_eq!(s, 200);
        let card = card.as_str().unwrap_or_default().to_string();
        assert!(card.contains("down_misjudge") && card.contains("backbone = \"lstm\""), "{card}");
        let (s, w) = call("GET", &url(&format!("/api/models/{model}/zoo/model.safetensors")), Some(zoe), None);
        assert_eq!(s, 200, "{w}");
        let (_, theirs) = call("GET", &url("/api/models"), Some(max), None);
        assert!(!theirs.to_string().contains(&model), "{theirs}");
        let (s, _) = call("GET", &url(&format!("/api/models/{model}/card")), Some(max), None);
        assert_eq!(s, 404);

        // A long run cancelled after its first epoch, then retried: it resumes from there.
        let (_, job) = call(
            "POST",
            &url("/api/jobs"),
            Some(zoe),
            Some(json!({"kind": "train_model", "config": config(400, 4)})),
        );
        let id = job["id"].as_i64().unwrap();
        let first = watch(&base, id, Some(zoe), &|v| v["event"] == "epoch")?;
        let (s, _) = call("POST", &url(&format!("/api/jobs/{id}/cancel")), Some(zoe), None);
        assert_eq!(s, 200);
        let ended = watch(&base, id, Some(zoe), &|v| v["event"] == "end")?;
        assert_eq!(ended.last().unwrap()["state"], "cancelled", "{ended:?}");
        let last_step = ended
            .iter()
            .filter(|e| e["event"] == "step")
            .filter_map(|e| e["step"].as_u64())
            .max()
            .unwrap();
        assert!(last_step >= 4, "{first:?}");
        let (s, _) = call("POST", &url(&format!("/api/jobs/{id}/retry")), Some(zoe), None);
        assert_eq!(s, 200);
        // The retried attempt's steps go on from the checkpoint, not from 1.
        let retried = std::cell::Cell::new(false);
        let again = watch(&base, id, Some(zoe), &|v| {
            if v["event"] == "retried" {
                retried.set(true);
            }
            retried.get() && v["event"] == "step"
        })?;
        let resumed_at = again.last().unwrap()["step"].as_u64().unwrap();
        assert!(resumed_at > 4, "the retry starts at step {resumed_at}: {again:?}");
        let (_, log) = call("GET", &url(&format!("/api/jobs/{id}/log")), Some(zoe), None);
        assert!(log.to_string().contains("resuming at epoch"), "{log}");
        let (s, _) = call("POST", &url(&format!("/api/jobs/{id}/cancel")), Some(zoe), None);
        assert_eq!(s, 200);
        Ok(())
    })
    .await?
}

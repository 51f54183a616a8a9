//! The security report's cases, kept closed: over real HTTP on loopback, as an attacker
//! would send them (raw requests, so `Host`, `Origin` and the rest are exactly as written).
//! Each test asserts the refusal and that what it tried to change is unchanged afterwards.

use crate::common;

use anyhow::{Context, Result, ensure};
use common::{Server, users};
use kxian_server::Store;
use kxian_server::storage::Viewer;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// An HTTP response as the test reads it.
struct Answer {
    status: u16,
    headers: String,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::String(self.body.clone()))
    }
}

/// Sends `head` (request line and headers, without the blank line) and `body` to the server
/// at `base` as they are, on a fresh connection, and reads the whole answer.
fn raw(base: &str, head: &str, body: &[u8]) -> Result<Answer> {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut req = format!("{head}\r\nConnection: close\r\n");
    if !body.is_empty() && !head.to_ascii_lowercase().contains("content-length") {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    let text = String::from_utf8_lossy(&out).to_string();
    let (headers, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = headers
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .context("no status line")?;
    // Chunked bodies (JSON answers are small): drop the chunk sizes.
    let body = if headers
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut joined = String::new();
        let mut rest = body;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 || tail.len() < n {
                break;
            }
            joined.push_str(&tail[..n]);
            rest = tail[n..].trim_start_matches("\r\n");
        }
        joined
    } else {
        body.to_string()
    };
    Ok(Answer {
        status,
        headers: headers.to_string(),
        body,
    })
}

fn host(base: &str) -> String {
    base.trim_start_matches("http://").to_string()
}

/// A request from this server's own app: its host, the app's header, and a bearer token
/// when given.
fn app_request(base: &str, method: &str, path: &str, token: Option<&str>, extra: &str) -> String {
    let mut h = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\n{}: test",
        host(base),
        kxian_shared::api::CLIENT_HEADER
    );
    if let Some(t) = token {
        h.push_str(&format!("\r\nAuthorization: Bearer {t}"));
    }
    if !extra.is_empty() {
        h.push_str("\r\n");
        h.push_str(extra);
    }
    h
}

const BOUNDARY: &str = "kxian-security-boundary";

fn multipart(file_name: &str, bytes: &[u8], fields: &[(&str, &str)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Uploads `csv` as `who` (a token, or nobody) through the app's form.
fn upload(
    base: &str,
    token: Option<&str>,
    name: &str,
    csv: &str,
    fields: &[(&str, &str)],
) -> Result<Answer> {
    let head = app_request(
        base,
        "POST",
        "/api/import",
        token,
        &format!("Content-Type: multipart/form-data; boundary={BOUNDARY}"),
    );
    raw(base, &head, &multipart(name, csv.as_bytes(), fields))
}

/// [`upload`] from async code (the request blocks, so it runs on the blocking pool).
async fn upload_from(
    base: &str,
    token: Option<&str>,
    name: &'static str,
    csv: String,
    fields: &'static [(&'static str, &'static str)],
) -> Result<Answer> {
    let (base, token) = (base.to_string(), token.map(str::to_string));
    tokio::task::spawn_blocking(move || upload(&base, token.as_deref(), name, &csv, fields)).await?
}

/// A daily akshare-style file of `n` days with closes `close`.
fn daily_csv(n: usize, close: f64) -> String {
    let mut s = String::from("date,open,high,low,close,volume,amount\n");
    let cal = kxian_shared::calendar::TradingCalendar::embedded();
    let start = chrono::NaiveDate::from_ymd_opt(2024, 8, 30).unwrap();
    for (day, _) in cal.next_trading_days(start, n) {
        writeln_csv(&mut s, &day.to_string(), close);
    }
    s
}

fn writeln_csv(s: &mut String, day: &str, close: f64) {
    s.push_str(&format!(
        "{day},{close},{},{},{close},1000,{}\n",
        close * 1.01,
        close * 0.99,
        close * 1000.0
    ));
}

/// Every bar of a series exactly as `viewer` reads it, as JSON (for byte-for-byte checks).
async fn bars_of(store: &Store, viewer: Viewer, symbol: &str) -> Result<String> {
    let sym = kxian_shared::Symbol::parse(symbol)?;
    let range = store
        .bars_for(
            &viewer,
            &sym,
            kxian_shared::Frequency::Daily,
            kxian_shared::Adjustment::None,
            None,
            None,
            u32::MAX - 1,
        )
        .await?;
    Ok(match range {
        None => "none".into(),
        Some(r) => format!("{:?} {}", r.name, serde_json::to_string(&r.bars)?),
    })
}

async fn viewer(store: &Store, name: &str) -> Result<Viewer> {
    Ok(Viewer::of(
        &store.user_by_name(name).await?.context("user")?,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_writes_a_series_they_cannot_read() -> Result<()> {
    let server = Server::start_queue_only(true, 4).await?;
    let store = server.store.clone();
    let t = users(&store, &[("alice", false), ("bob", false), ("root", true)]).await?;
    let base = server.base.clone();
    let (alice, bob, root) = (t["alice"].clone(), t["bob"].clone(), t["root"].clone());
    // Bob's private series: 20 days at 100.
    let a = upload_from(
        &base,
        Some(&bob),
        "600519.csv",
        daily_csv(20, 100.0),
        &[("symbol", "600519.SH"), ("name", "Bob's Moutai")],
    )
    .await?;
    ensure!(a.status == 200, "bob's upload: {} {}", a.status, a.body);
    let bob_v = viewer(&store, "bob").await?;
    let bob_before = bars_of(&store, bob_v, "600519.SH").await?;
    let public_before = bars_of(&store, Viewer::default(), "600000.SH").await?;

    // Alice uploads the same symbol with other prices and a new name: she gets a series of
    // her own, told only about her own rows; Bob's rows and his symbol's name stay.
    let a = upload_from(
        &base,
        Some(&alice),
        "600519.csv",
        daily_csv(23, 2.0),
        &[("symbol", "600519.SH"), ("name", "hacked")],
    )
    .await?;
    ensure!(a.status == 200, "alice's upload: {} {}", a.status, a.body);
    let report = a.json();
    assert_eq!(report["series"][0]["inserted"], 23, "{report}");
    assert_eq!(report["series"][0]["updated"], 0, "{report}");
    assert_eq!(bars_of(&store, bob_v, "600519.SH").await?, bob_before);
    assert!(bob_before.contains("Bob's Moutai"), "{bob_before}");
    let alice_v = viewer(&store, "alice").await?;
    let hers = bars_of(&store, alice_v, "600519.SH").await?;
    assert!(
        hers.contains("\"close\":2.0") && !hers.contains("\"close\":100.0"),
        "{hers}"
    );

    // A non-admin writing public data gets a copy of their own; the public series stays.
    let a = upload_from(
        &base,
        Some(&alice),
        "600000.csv",
        daily_csv(3, 0.7),
        &[("symbol", "600000.SH")],
    )
    .await?;
    ensure!(a.status == 200, "{} {}", a.status, a.body);
    assert_eq!(
        bars_of(&store, Viewer::default(), "600000.SH").await?,
        public_before
    );
    assert!(
        bars_of(&store, alice_v, "600000.SH")
            .await?
            .contains("\"close\":0.7")
    );

    // Nobody (no token, no local admin: a forwarded request) writes nothing at all.
    let b = base.clone();
    let a = tokio::task::spawn_blocking(move || {
        let head = format!(
            "POST /api/import HTTP/1.1\r\nHost: {}\r\n{}: x\r\nX-Forwarded-For: 203.0.113.9\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}",
            host(&b),
            kxian_shared::api::CLIENT_HEADER
        );
        raw(&b, &head, &multipart("600000.csv", daily_csv(3, 0.7).as_bytes(), &[("symbol", "600000.SH")]))
    })
    .await??;
    assert_eq!(a.status, 401, "{}", a.body);
    assert_eq!(
        bars_of(&store, Viewer::default(), "600000.SH").await?,
        public_before
    );

    // An admin writes the public series.
    let a = upload_from(
        &base,
        Some(&root),
        "600000.csv",
        daily_csv(1, 9.99),
        &[("symbol", "600000.SH")],
    )
    .await?;
    ensure!(a.status == 200, "{} {}", a.status, a.body);
    assert_ne!(
        bars_of(&store, Viewer::default(), "600000.SH").await?,
        public_before
    );

    // A finetune on Bob's private symbol is answered as if the symbol did not exist.
    let b = base.clone();
    let (s1, s2) = tokio::task::spawn_blocking(move || -> Result<(Answer, Answer)> {
        let submit = |symbol: &str| {
            let body =
                json!({"kind": "finetune", "symbols": [symbol], "max_seconds": 1.0}).to_string();
            raw(
                &b,
                &app_request(
                    &b,
                    "POST",
                    "/api/jobs",
                    Some(&alice),
                    "Content-Type: application/json",
                ),
                body.as_bytes(),
            )
        };
        let mut bobs = submit("300750.SZ")?;
        let upload_ok = upload(
            &b,
            Some(&bob),
            "300750.csv",
            &daily_csv(40, 50.0),
            &[("symbol", "300750.SZ")],
        )?;
        ensure!(upload_ok.status == 200, "{}", upload_ok.body);
        let missing = bobs;
        bobs = submit("300750.SZ")?;
        Ok((missing, bobs))
    })
    .await??;
    assert_eq!(s1.status, 400, "{}", s1.body);
    assert_eq!(s2.status, 400, "{}", s2.body);
    assert_eq!(
        s1.json()["message"],
        s2.json()["message"],
        "the refusal must not tell Bob's series exists"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_admin_cannot_be_borrowed_by_another_host_a_proxy_or_another_site() -> Result<()>
{
    let server = Server::start_queue_only(true, 4).await?;
    let store = server.store.clone();
    store.create_user("admin", true).await?.context("admin")?;
    let t = users(&store, &[("alice", false)]).await?;
    let base = server.base.clone();
    let alice = t["alice"].clone();
    let public_before = bars_of(&store, Viewer::default(), "600000.SH").await?;
    let port = host(&base)
        .rsplit_once(':')
        .map(|(_, p)| p.to_string())
        .unwrap();
    // Alice's job, for the body-less cross-site POSTs below.
    let b = base.clone();
    let alice2 = alice.clone();
    let job = tokio::task::spawn_blocking(move || {
        let body = json!({"kind": "download", "symbols": ["510300"]}).to_string();
        raw(
            &b,
            &app_request(
                &b,
                "POST",
                "/api/jobs",
                Some(&alice2),
                "Content-Type: application/json",
            ),
            body.as_bytes(),
        )
    })
    .await??;
    assert_eq!(job.status, 201, "{}", job.body);
    let id = job.json()["id"].as_i64().unwrap();

    let b = base.clone();
    tokio::task::spawn_blocking(move || -> Result<()> {
        // The local install itself: admin, without a token.
        let me = raw(&b, &format!("GET /api/me HTTP/1.1\r\nHost: 127.0.0.1:{port}"), b"")?;
        assert_eq!(me.status, 200, "{}", me.body);
        assert_eq!(me.json()["admin"], true);
        // DNS rebinding: the same loopback socket, another host name.
        for h in [format!("evil.example:{port}"), "evil.example".into(), format!("127.0.0.1.evil.example:{port}")] {
            let a = raw(&b, &format!("GET /api/jobs HTTP/1.1\r\nHost: {h}"), b"")?;
            assert_eq!(a.status, 421, "Host {h}: {}", a.body);
            assert!(!a.body.contains("\"jobs\""), "{}", a.body);
        }
        // Through a proxy on this machine: nobody, not the admin.
        for fwd in ["X-Forwarded-For: 203.0.113.9", "Forwarded: for=203.0.113.9", "X-Real-IP: 203.0.113.9", "Via: 1.1 proxy"] {
            let a = raw(&b, &format!("GET /api/me HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{fwd}"), b"")?;
            assert_eq!(a.status, 401, "{fwd}: {}", a.body);
        }
        // CSRF: a cross-site multipart form (a simple request: no custom header possible).
        let form = multipart("600000.csv", daily_csv(3, 0.7).as_bytes(), &[("symbol", "600000.SH")]);
        for extra in [
            "Origin: http://evil.example\r\nSec-Fetch-Site: cross-site",
            "Origin: http://evil.example",
            "Sec-Fetch-Site: same-site",
            "Origin: null",
            "", // same origin, but not the app: no custom header
        ] {
            let mut head = format!(
                "POST /api/import HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}"
            );
            if !extra.is_empty() {
                head.push_str("\r\n");
                head.push_str(extra);
            }
            let a = raw(&b, &head, &form)?;
            assert_eq!(a.status, 403, "{extra:?}: {}", a.body);
        }
        // Body-less cross-site POSTs on a job.
        for action in ["cancel", "retry"] {
            let a = raw(
                &b,
                &format!("POST /api/jobs/{id}/{action} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://evil.example\r\nSec-Fetch-Site: cross-site"),
                b"",
            )?;
            assert_eq!(a.status, 403, "{action}: {}", a.body);
        }
        // The app itself (same origin, its header) still works without a login.
        let a = raw(
            &b,
            &format!(
                "POST /api/jobs/{id}/cancel HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\nSec-Fetch-Site: same-origin\r\n{}: app",
                kxian_shared::api::CLIENT_HEADER
            ),
            b"",
        )?;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.json()["state"], "cancelled");
        Ok(())
    })
    .await??;
    assert_eq!(
        bars_of(&store, Viewer::default(), "600000.SH").await?,
        public_before
    );
    let job = store.job(id).await?.context("job")?;
    assert_eq!(job.attempts, 0, "the cross-site retry did nothing");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spreadsheet_bombs_and_oversized_bodies_are_refused_and_the_server_stays_up() -> Result<()>
{
    let server = Server::start_queue_only(true, 4).await?;
    let store = server.store.clone();
    let t = users(&store, &[("alice", false)]).await?;
    let alice = t["alice"].clone();
    let base = server.base.clone();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "date")?;
    ws.write_string(1_048_575, 16_383, "x")?;
    let bomb = wb.save_to_buffer()?;
    assert!(bomb.len() < 8 * 1024);
    let (symbols_before, _) = store.list_symbols("", 1000).await?;
    let b = base.clone();
    tokio::task::spawn_blocking(move || -> Result<()> {
        let head = app_request(&b, "POST", "/api/import", Some(&alice), &format!("Content-Type: multipart/form-data; boundary={BOUNDARY}"));
        let a = raw(&b, &head, &multipart("bomb.xlsx", &bomb, &[("symbol", "600519.SH")]))?;
        assert_eq!(a.status, 422, "{}", a.body);
        assert_eq!(a.json()["error"], "sheet_too_large", "{}", a.body);
        // A 100 GB Content-Length is refused at once, before a byte of it is read.
        let t0 = Instant::now();
        let head = app_request(
            &b,
            "POST",
            "/api/import",
            Some(&alice),
            &format!("Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: 100000000000"),
        );
        let a = raw(&b, &head, b"")?;
        assert_eq!(a.status, 413, "{}", a.body);
        assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
        // A long search is a 400 that names the parameter, not SQLite's error.
        let q = "a".repeat(50_001);
        let a = raw(&b, &format!("GET /api/symbols?q={q} HTTP/1.1\r\nHost: {}", host(&b)), b"")?;
        assert_eq!(a.status, 400, "{}", &a.body[..a.body.len().min(200)]);
        assert!(a.body.contains("q:") && !a.body.to_lowercase().contains("sqlite"), "{}", a.body);
        let h = raw(&b, &format!("GET /api/health HTTP/1.1\r\nHost: {}", host(&b)), b"")?;
        assert_eq!(h.status, 200);
        Ok(())
    })
    .await??;
    let (symbols_after, _) = store.list_symbols("", 1000).await?;
    assert_eq!(format!("{symbols_before:?}"), format!("{symbols_after:?}"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_sends_its_headers_slowly_is_cut_off() -> Result<()> {
    let server = Server::start().await?;
    let addr = host(&server.base);
    let r = tokio::task::spawn_blocking(move || -> Result<Duration> {
        let mut s = TcpStream::connect(&addr)?;
        s.set_read_timeout(Some(Duration::from_secs(60)))?;
        let t0 = Instant::now();
        s.write_all(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")?;
        let mut buf = [0u8; 256];
        // The server closes the connection (or answers 408) once its header timeout passes.
        let _ = s.read(&mut buf);
        Ok(t0.elapsed())
    })
    .await??;
    let limit = kxian_server::limits::HEADER_READ_TIMEOUT;
    assert!(
        r >= limit - Duration::from_secs(1) && r < limit + Duration::from_secs(15),
        "{r:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_job_quota_holds_under_parallel_submits_and_on_retry_and_streams_end() -> Result<()> {
    let server = Server::start_queue_only(false, 2).await?;
    let t = users(&server.store, &[("alice", false)]).await?;
    let alice = t["alice"].clone();
    let base = server.base.clone();
    tokio::task::spawn_blocking(move || -> Result<()> {
        let submit = |b: &str, tok: &str| {
            let body = json!({"kind": "download", "symbols": ["510300"]}).to_string();
            raw(
                b,
                &app_request(
                    b,
                    "POST",
                    "/api/jobs",
                    Some(tok),
                    "Content-Type: application/json",
                ),
                body.as_bytes(),
            )
        };
        let answers: Vec<u16> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| submit(&base, &alice).map(|a| a.status).unwrap_or(0)))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or(0)).collect()
        });
        assert_eq!(
            answers.iter().filter(|s| **s == 201).count(),
            2,
            "{answers:?}"
        );
        assert_eq!(
            answers.iter().filter(|s| **s == 429).count(),
            6,
            "{answers:?}"
        );
        // Cancel one while queued: its event stream ends.
        let list = raw(
            &base,
            &app_request(&base, "GET", "/api/jobs", Some(&alice), ""),
            b"",
        )?
        .json();
        let id = list["jobs"][0]["id"].as_i64().unwrap();
        let a = raw(
            &base,
            &app_request(
                &base,
                "POST",
                &format!("/api/jobs/{id}/cancel"),
                Some(&alice),
                "",
            ),
            b"",
        )?;
        assert_eq!(a.status, 200, "{}", a.body);
        let events = raw(
            &base,
            &app_request(
                &base,
                "GET",
                &format!("/api/jobs/{id}/events"),
                Some(&alice),
                "",
            ),
            b"",
        )?;
        assert!(
            events.body.contains("\"event\":\"end\"") && events.body.contains("cancelled"),
            "{}",
            events.body
        );
        // Back at the quota, a retry is refused like a submission.
        assert_eq!(submit(&base, &alice)?.status, 201);
        let a = raw(
            &base,
            &app_request(
                &base,
                "POST",
                &format!("/api/jobs/{id}/retry"),
                Some(&alice),
                "",
            ),
            b"",
        )?;
        assert_eq!(a.status, 429, "{}", a.body);
        // Bounded fields: 20,000 symbols are named and refused at once.
        let many: Vec<String> = (0..20_000)
            .map(|i| format!("{:06}", 600_000 + i % 4000))
            .collect();
        let body = json!({"kind": "download", "symbols": many, "from": "2024-01-01"}).to_string();
        let a = raw(
            &base,
            &app_request(
                &base,
                "POST",
                "/api/jobs",
                Some(&alice),
                "Content-Type: application/json",
            ),
            body.as_bytes(),
        )?;
        assert_eq!(a.status, 400, "{}", &a.body[..a.body.len().min(300)]);
        assert!(a.body.contains("symbols"), "{}", a.body);
        let body = json!({"kind": "finetune", "symbols": ["600000.SH"], "lr": -1.0}).to_string();
        let a = raw(
            &base,
            &app_request(
                &base,
                "POST",
                "/api/jobs",
                Some(&alice),
                "Content-Type: application/json",
            ),
            body.as_bytes(),
        )?;
        assert_eq!(a.status, 400, "{}", a.body);
        assert!(a.body.contains("lr"), "{}", a.body);
        Ok(())
    })
    .await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_jobs_stream_follows_the_new_attempt() -> Result<()> {
    let server = Server::start_queue_only(false, 4).await?;
    let t = users(&server.store, &[("alice", false)]).await?;
    let alice = t["alice"].clone();
    let base = server.base.clone();
    tokio::task::spawn_blocking(move || -> Result<()> {
        let body = json!({"kind": "download", "symbols": ["510300"]}).to_string();
        let job = raw(&base, &app_request(&base, "POST", "/api/jobs", Some(&alice), "Content-Type: application/json"), body.as_bytes())?.json();
        let id = job["id"].as_i64().unwrap();
        raw(&base, &app_request(&base, "POST", &format!("/api/jobs/{id}/cancel"), Some(&alice), ""), b"")?;
        let a = raw(&base, &app_request(&base, "POST", &format!("/api/jobs/{id}/retry"), Some(&alice), ""), b"")?;
        assert_eq!(a.status, 200, "{}", a.body);
        // Replayed from the start, the stream reads past the first attempt's `end` to
        // `retried` and stays open for the new attempt; a new watcher starts at `retried`.
        let addr = host(&base);
        let read_until_retried = |query: &str| -> Result<String> {
            let mut s = TcpStream::connect(&addr)?;
            s.set_read_timeout(Some(Duration::from_secs(10)))?;
            s.write_all(format!("GET /api/jobs/{id}/events{query} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {alice}\r\n\r\n").as_bytes())?;
            let mut seen = String::new();
            let mut buf = [0u8; 4096];
            let t0 = Instant::now();
            while !seen.contains("\"retried\"") && t0.elapsed() < Duration::from_secs(10) {
                match s.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
                    Err(_) => break,
                }
            }
            Ok(seen)
        };
        let current = read_until_retried("")?;
        assert!(current.contains("\"retried\"") && !current.contains("\"end\""), "{current}");
        let seen = read_until_retried("?after=0")?;
        assert!(seen.contains("\"end\"") && seen.contains("\"retried\""), "{seen}");
        Ok(())
    })
    .await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_end_at_sign_out_tokens_can_be_revoked_or_expire_and_files_are_private()
-> Result<()> {
    let server = Server::start_queue_only(false, 4).await?;
    let store = server.store.clone();
    let t = users(&store, &[("alice", false)]).await?;
    let alice = t["alice"].clone();
    let u = store.user_by_name("alice").await?.context("alice")?;
    let old = kxian_server::auth::new_token();
    let past = chrono::Utc::now() - chrono::Duration::days(1);
    store
        .add_token_with(
            u.id,
            &old,
            "expired",
            kxian_server::storage::TokenKind::Api,
            Some(past),
        )
        .await?;
    store
        .set_secret(u.id, "tushare", "tushare-secret-value")
        .await?;
    let base = server.base.clone();
    let a2 = alice.clone();
    let public_before = bars_of(&store, Viewer::default(), "600000.SH").await?;
    tokio::task::spawn_blocking(move || -> Result<()> {
        // With login required, an upload from this very machine without a token is refused.
        let a = upload(
            &base,
            None,
            "600000.csv",
            &daily_csv(3, 0.7),
            &[("symbol", "600000.SH")],
        )?;
        assert_eq!(a.status, 401, "{}", a.body);
        let me = |extra: &str| {
            raw(
                &base,
                &format!("GET /api/me HTTP/1.1\r\nHost: {}\r\n{extra}", host(&base)),
                b"",
            )
        };
        assert_eq!(
            me(&format!("Authorization: Bearer {old}"))?.status,
            401,
            "expired"
        );
        let body = json!({"token": a2}).to_string();
        let login = raw(
            &base,
            &app_request(
                &base,
                "POST",
                "/api/session",
                None,
                "Content-Type: application/json",
            ),
            body.as_bytes(),
        )?;
        assert_eq!(login.status, 200, "{}", login.body);
        let cookie = login
            .headers
            .lines()
            .find_map(|l| {
                l.strip_prefix("set-cookie: ")
                    .or_else(|| l.strip_prefix("Set-Cookie: "))
            })
            .context("a cookie")?
            .to_string();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        let value = cookie.split(';').next().unwrap().to_string();
        assert!(
            !value.contains(&a2),
            "the cookie is not the API token: {value}"
        );
        assert_eq!(me(&format!("Cookie: {value}"))?.status, 200);
        let out = raw(
            &base,
            &app_request(
                &base,
                "DELETE",
                "/api/session",
                None,
                &format!("Cookie: {value}"),
            ),
            b"",
        )?;
        assert_eq!(out.status, 204, "{}", out.body);
        assert_eq!(
            me(&format!("Cookie: {value}"))?.status,
            401,
            "the session ended in the store"
        );
        assert_eq!(me(&format!("Authorization: Bearer {a2}"))?.status, 200);
        Ok(())
    })
    .await??;
    assert_eq!(
        bars_of(&store, Viewer::default(), "600000.SH").await?,
        public_before
    );
    assert!(store.revoke_tokens(u.id, None).await? >= 2);
    let base = server.base.clone();
    tokio::task::spawn_blocking(move || -> Result<()> {
        let a = raw(
            &base,
            &format!(
                "GET /api/me HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {alice}",
                host(&base)
            ),
            b"",
        )?;
        assert_eq!(a.status, 401, "revoked");
        // The browser security headers, on the API and the app alike.
        for path in ["/api/health", "/"] {
            let a = raw(
                &base,
                &format!("GET {path} HTTP/1.1\r\nHost: {}", host(&base)),
                b"",
            )?;
            let h = a.headers.to_ascii_lowercase();
            for want in [
                "content-security-policy: default-src 'self'",
                "frame-ancestors 'none'",
                "x-content-type-options: nosniff",
                "referrer-policy: same-origin",
            ] {
                assert!(h.contains(want), "{path} lacks {want}: {h}");
            }
        }
        Ok(())
    })
    .await??;
    // The token is sealed at rest; the database, its WAL and its key are the owner's only.
    let sealed = store
        .secret_at_rest(u.id, "tushare")
        .await?
        .context("stored")?;
    assert!(!sealed.contains("tushare-secret-value"), "{sealed}");
    assert_eq!(
        store.secret(u.id, "tushare").await?.as_deref(),
        Some("tushare-secret-value")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut key = server.db.as_os_str().to_os_string();
        key.push(".key");
        let mut wal = server.db.as_os_str().to_os_string();
        wal.push("-wal");
        for f in [server.db.clone(), key.into(), wal.into()] {
            let mode = std::fs::metadata(&f)?.permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", f.display());
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trainer_reads_the_store_as_the_jobs_owner() -> Result<()> {
    let server = Server::start_queue_only(false, 4).await?;
    let store = server.store.clone();
    users(&store, &[("alice", false), ("bob", false)]).await?;
    let bob = store.user_by_name("bob").await?.context("bob")?;
    let alice = store.user_by_name("alice").await?.context("alice")?;
    let opts = kxian_shared::api::ImportOptions {
        symbol: Some("300750.SZ".parse()?),
        ..Default::default()
    };
    let parsed = kxian_shared::ingest::parse_file("bob.csv", daily_csv(5, 50.0).as_bytes(), &opts)?;
    store.import_as(&parsed, "bob", &Viewer::of(&bob)).await?;
    let db_path = server.db.clone();
    let selection =
        move |reader: kxian_trainer::store::StoreReader| kxian_trainer::store::StoreSelection {
            store: Some(db_path.clone()),
            symbols: vec!["300750.SZ".into(), "600000.SH".into()],
            board: None,
            frequency: kxian_shared::Frequency::Daily,
            adjustment: kxian_shared::Adjustment::None,
            from: None,
            to: None,
            reader,
        };
    let as_user = |u: &kxian_server::storage::User| kxian_trainer::store::StoreReader {
        as_user: Some(u.id),
        as_admin: u.admin,
    };
    let db = server.db.clone();
    let (alices, bobs) = tokio::task::spawn_blocking(move || {
        (
            kxian_trainer::store::load(&selection(as_user(&alice)), &db),
            kxian_trainer::store::load(&selection(as_user(&bob)), &db),
        )
    })
    .await?;
    let names = |r: &Vec<(String, Vec<kxian_shared::Bar>)>| {
        r.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>()
    };
    assert_eq!(
        names(&alices?),
        ["600000.SH"],
        "Alice reads the public series only"
    );
    assert_eq!(names(&bobs?), ["300750.SZ", "600000.SH"]);
    Ok(())
}

//! The JSON API end to end through the router, on a real SQLite store in a temp folder.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use kxian_server::{AppState, Store, embedded};
use kxian_shared::Frequency;
use kxian_shared::api::{ApiError, BarsResponse, Health, ImportReport, SymbolList, SymbolSummary};
use serde::de::DeserializeOwned;
use tower::ServiceExt;

/// The fixture admin's API token.
const ADMIN_TOKEN: &str = "kx_test_admin_token";

struct Fixture {
    app: axum::Router,
    store: Store,
    _dir: tempfile::TempDir,
}

async fn fixture(embedded_data: bool, max_upload: usize) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("kxian.db")).await.unwrap();
    if embedded_data {
        embedded::load_once(&store).await.unwrap();
    }
    // Uploads need an account: the tests upload as an admin.
    let admin = store.create_user("admin", true).await.unwrap().unwrap();
    store
        .add_token(admin.id, ADMIN_TOKEN, "test")
        .await
        .unwrap();
    let dist = dir.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><title>Kxian app</title>",
    )
    .unwrap();
    std::fs::write(dist.join("app.js"), "console.log(1)").unwrap();
    let app = kxian_server::app(AppState {
        store: store.clone(),
        dist,
        max_upload,
        models: kxian_server::models::Models::load(None).unwrap(),
        auth: Default::default(),
        jobs: Default::default(),
        limits: Default::default(),
    });
    Fixture {
        app,
        store,
        _dir: dir,
    }
}

async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, Vec<u8>) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    (
        status,
        res.into_body().collect().await.unwrap().to_bytes().to_vec(),
    )
}

async fn get<T: DeserializeOwned>(app: &axum::Router, uri: &str) -> (StatusCode, T) {
    let (status, body) = call(app, Request::get(uri).body(Body::empty()).unwrap()).await;
    let parsed = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{uri}: {e}: {}", String::from_utf8_lossy(&body)));
    (status, parsed)
}

fn multipart(file_name: &str, bytes: &[u8], fields: &[(&str, &str)]) -> Request<Body> {
    let boundary = "kxian-test-boundary-7d1f";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Request::post("/api/import")
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .body(Body::from(body))
        .unwrap()
}

const AKSHARE: &str = "日期,开盘,收盘,最高,最低,成交量,成交额\n\
2024-09-02,8.50,8.40,8.55,8.35,100000,84500000\n\
2024-09-03,8.40,8.45,8.50,8.38,120000,101000000\n\
2024-09-04,8.45,8.30,8.46,8.28,90000,75000000\n";

#[tokio::test]
async fn health_counts_the_embedded_data() {
    let f = fixture(true, 1 << 20).await;
    let (status, h): (_, Health) = get(&f.app, "/api/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h.status, "ok");
    assert_eq!(h.symbols, 8);
    assert_eq!(h.series, 11);
    // 4790+8162+8160+4534+3476+5908+7972+5779 daily + 3×16080 minute, less the rows the
    // source gets wrong (early-1990s SSE Composite OHLC, skipped at load).
    assert!(
        h.bars > 96_000 && h.bars <= 48_781 + 48_240,
        "bars = {}",
        h.bars
    );
}

#[tokio::test]
async fn data_health_names_the_holes_of_the_embedded_series_as_the_cli_does() {
    let f = fixture(true, 1 << 20).await;
    let (status, r): (_, kxian_shared::health::HealthReport) =
        get(&f.app, "/api/data/health?frequency=daily&today=2024-09-27").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(r.series.len(), 8, "the eight daily series");
    let pa = r.series.iter().find(|s| s.symbol == "000001.SZ").unwrap();
    // The README's figures for the CLI on the same data: 239 missing days, a 46-day gap.
    assert_eq!((pa.missing, pa.longest_gap), (239, 46), "{pa:?}");
    assert!(
        r.series.iter().all(|s| s.behind == 6),
        "6 trading days behind"
    );
    assert!(
        r.series.windows(2).all(|w| w[0].missing >= w[1].missing),
        "worst first"
    );
    let (status, _): (_, serde_json::Value) = get(&f.app, "/api/data/health?frequency=2h").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A stored suspension from the first to the third missing day: they are no longer holes.
    let days = &pa.missing_days;
    let data = kxian_shared::reference::ReferenceData {
        status: vec![kxian_shared::reference::StatusRecord {
            symbol: "000001.SZ".into(),
            kind: kxian_shared::reference::StatusKind::Suspended,
            from: days[0],
            to: Some(days[2]),
            note: None,
        }],
        ..Default::default()
    };
    f.store.import_reference(&data).await.unwrap();
    let (_, after): (_, kxian_shared::health::HealthReport) =
        get(&f.app, "/api/data/health?frequency=daily&today=2024-09-27").await;
    let pa2 = after
        .series
        .iter()
        .find(|s| s.symbol == "000001.SZ")
        .unwrap();
    // The days between them have bars: only the three missing ones become suspended.
    assert_eq!((pa2.missing, pa2.suspended), (236, 3), "{pa2:?}");
    assert_eq!(pa2.missing_days[0], days[3]);
}

#[tokio::test]
async fn symbols_list_search_and_detail() {
    let f = fixture(true, 1 << 20).await;
    let (_, all): (_, SymbolList) = get(&f.app, "/api/symbols").await;
    assert_eq!(all.total, 8);
    let mut listed: Vec<_> = all.symbols.iter().map(|s| s.symbol.clone()).collect();
    listed.sort();
    assert_eq!(
        listed,
        embedded::symbols(),
        "the embedded table names what its files hold"
    );
    let (_, one): (_, SymbolList) = get(&f.app, "/api/symbols?q=399006").await;
    assert_eq!(one.symbols.len(), 1);
    assert_eq!(one.symbols[0].symbol.to_string(), "399006.SZ");
    let (_, by_name): (_, SymbolList) = get(&f.app, "/api/symbols?q=%E6%B2%AA%E6%B7%B1").await; // 沪深
    assert_eq!(by_name.symbols[0].symbol.to_string(), "000300.SH");
    let (_, limited): (_, SymbolList) = get(&f.app, "/api/symbols?limit=3").await;
    assert_eq!((limited.symbols.len(), limited.total), (3, 8));

    let (status, csi): (_, SymbolSummary) = get(&f.app, "/api/symbols/000300.SH").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(serde_json::to_value(csi.board).unwrap(), "index");
    let freqs: Vec<(Frequency, u64)> = csi.series.iter().map(|s| (s.frequency, s.bars)).collect();
    assert_eq!(
        freqs,
        vec![(Frequency::M1, 16_080), (Frequency::Daily, 4_790)]
    );
    let daily = &csi.series[1];
    assert_eq!(daily.first.unwrap().to_string(), "2005-01-04 00:00:00");
    assert_eq!(daily.last.unwrap().to_string(), "2024-09-19 00:00:00");
    // Any common spelling reaches the same symbol.
    let (status, _): (_, SymbolSummary) = get(&f.app, "/api/symbols/sh000300").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn bars_by_range_with_units_and_limit() {
    let f = fixture(true, 1 << 20).await;
    let (status, r): (_, BarsResponse) = get(
        &f.app,
        "/api/symbols/000300.SH/bars?freq=daily&start=2024-09-02&end=2024-09-13",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(r.bars.len(), 10, "two trading weeks");
    assert_eq!(
        (r.units.volume.as_str(), r.units.amount.as_str()),
        ("shares", "CNY")
    );
    let last = r.bars.last().unwrap();
    assert_eq!(last.ts.to_string(), "2024-09-13 00:00:00");
    assert!(!r.truncated);

    let (_, tail): (_, BarsResponse) = get(&f.app, "/api/symbols/000300.SH/bars?limit=5").await;
    assert_eq!(tail.bars.len(), 5);
    assert!(tail.truncated);
    let b = tail.bars.last().unwrap();
    assert_eq!(b.ts.to_string(), "2024-09-19 00:00:00");
    assert_eq!(
        (b.open, b.high, b.low, b.close),
        (3178.4, 3213.84, 3149.79, 3196.04)
    );
    assert_eq!(
        b.volume, 12_543_927_200.0,
        "index volume: 125,439,272 lots in the file"
    );
    assert_eq!(b.amount, Some(181_785_116_672.0));

    let (_, minute): (_, BarsResponse) = get(
        &f.app,
        "/api/symbols/600000.SH/bars?freq=1m&start=2024-09-18&end=2024-09-18",
    )
    .await;
    assert_eq!(
        minute.bars.len(),
        240,
        "a full trading day of 1-minute bars"
    );
    assert_eq!(minute.bars[0].ts.to_string(), "2024-09-18 09:31:00");
    assert_eq!(minute.bars[239].ts.to_string(), "2024-09-18 15:00:00");
}

#[tokio::test]
async fn errors_are_json_and_name_the_problem() {
    let f = fixture(true, 1 << 20).await;
    let (status, e): (_, ApiError) = get(&f.app, "/api/symbols/600519.SH").await;
    assert_eq!(
        (status, e.error.as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    assert!(e.message.contains("600519.SH"), "{}", e.message);
    let (status, e): (_, ApiError) = get(&f.app, "/api/symbols/ABC/bars").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(e.message.contains("ABC"), "{}", e.message);
    let (status, e): (_, ApiError) = get(&f.app, "/api/symbols/000300.SH/bars?freq=2h").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(e.message.contains("2h"), "{}", e.message);
    let (status, e): (_, ApiError) = get(&f.app, "/api/symbols/000300.SH/bars?adj=xfq").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(e.message.contains("xfq"), "{}", e.message);
    let (status, e): (_, ApiError) =
        get(&f.app, "/api/symbols/000300.SH/bars?start=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(e.message.contains("start"), "{}", e.message);
    let (status, e): (_, ApiError) = get(&f.app, "/api/symbols/000151.SZ/bars?freq=5m").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(e.message.contains("stored: daily/none"), "{}", e.message);
    let (status, e): (_, ApiError) = get(&f.app, "/api/nope").await;
    assert_eq!(
        (status, e.error.as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
}

#[tokio::test]
async fn import_stores_and_reimport_is_idempotent() {
    let f = fixture(false, 1 << 20).await;
    let req = multipart(
        "akshare.csv",
        AKSHARE.as_bytes(),
        &[("symbol", "600519"), ("name", "贵州茅台")],
    );
    let (status, body) = call(&f.app, req).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let report: ImportReport = serde_json::from_slice(&body).unwrap();
    assert_eq!(report.layout, "akshare");
    assert_eq!(report.series.len(), 1);
    let s = &report.series[0];
    assert_eq!(
        (s.symbol.to_string().as_str(), s.bars, s.inserted, s.updated),
        ("600519.SH", 3, 3, 0)
    );

    let (_, r): (_, BarsResponse) = get(&f.app, "/api/symbols/600519.SH/bars").await;
    assert_eq!(r.name.as_deref(), Some("贵州茅台"));
    assert_eq!(r.bars[0].volume, 10_000_000.0, "akshare volume is in lots");

    let (status, body) = call(
        &f.app,
        multipart("akshare.csv", AKSHARE.as_bytes(), &[("symbol", "600519")]),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let again: ImportReport = serde_json::from_slice(&body).unwrap();
    assert_eq!((again.series[0].inserted, again.series[0].updated), (0, 3));
    assert_eq!(f.store.counts().await.unwrap(), (1, 1, 3));
}

#[tokio::test]
async fn a_bad_file_is_rejected_with_rows_and_columns_and_changes_nothing() {
    let f = fixture(false, 1 << 20).await;
    call(
        &f.app,
        multipart("akshare.csv", AKSHARE.as_bytes(), &[("symbol", "600519")]),
    )
    .await;
    let before = f.store.counts().await.unwrap();
    let (_, before_bars): (_, BarsResponse) = get(&f.app, "/api/symbols/600519.SH/bars").await;

    // Good rows for new dates plus one bad row: the good ones must not be stored either.
    let bad = "日期,开盘,收盘,最高,最低,成交量,成交额\n\
               2024-09-05,8.30,8.35,8.40,8.25,90000,75000000\n\
               2024-09-06,8.35,NaN,8.40,8.25,90000,75000000\n\
               2024-09-09,-8.35,8.30,8.40,8.25,90000,75000000\n";
    let (status, body) = call(
        &f.app,
        multipart("bad.csv", bad.as_bytes(), &[("symbol", "600519")]),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let e: ApiError = serde_json::from_slice(&body).unwrap();
    assert_eq!(e.error, "invalid_rows");
    let at: Vec<(Option<u64>, Option<String>)> = e
        .problems
        .iter()
        .map(|p| (p.row, p.column.clone()))
        .collect();
    assert!(
        at.contains(&(Some(3), Some("收盘".into()))),
        "NaN close at row 3: {at:?}"
    );
    assert!(
        at.contains(&(Some(4), Some("开盘".into()))),
        "negative open at row 4: {at:?}"
    );
    assert!(e.problems.iter().all(|p| p.file == "bad.csv"));

    assert_eq!(f.store.counts().await.unwrap(), before);
    let (_, after_bars): (_, BarsResponse) = get(&f.app, "/api/symbols/600519.SH/bars").await;
    assert_eq!(after_bars.bars, before_bars.bars);

    // With skip_invalid the good row goes in and the bad ones are reported.
    let (status, body) = call(
        &f.app,
        multipart(
            "bad.csv",
            bad.as_bytes(),
            &[("symbol", "600519"), ("skip_invalid", "true")],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let r: ImportReport = serde_json::from_slice(&body).unwrap();
    assert_eq!((r.series[0].inserted, r.rejected.len()), (1, 2));
}

#[tokio::test]
async fn uploads_over_the_limit_and_unusable_forms_get_clear_errors() {
    let f = fixture(false, 1024).await;
    let big = AKSHARE.repeat(40);
    let (status, body) = call(
        &f.app,
        multipart("big.csv", big.as_bytes(), &[("symbol", "600519")]),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let e: ApiError = serde_json::from_slice(&body).unwrap();
    assert_eq!(e.error, "too_large");

    let (status, body) = call(&f.app, multipart("x.csv", b"", &[("frequency", "2h")])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("2h"));

    let (status, body) = call(&f.app, multipart("x.csv", b"", &[("adjustment", "xfq")])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        String::from_utf8_lossy(&body).contains("unknown adjustment `xfq`"),
        "{}",
        String::from_utf8_lossy(&body)
    );

    let (status, body) = call(&f.app, multipart("empty.csv", b"", &[])).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let e: ApiError = serde_json::from_slice(&body).unwrap();
    assert!(e.message.contains("empty.csv"), "{}", e.message);
}

#[tokio::test]
async fn the_app_is_served_with_a_spa_fallback() {
    let f = fixture(false, 1024).await;
    let (status, body) = call(
        &f.app,
        Request::get("/symbols/000300.SH?freq=daily")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&body).contains("Kxian app"));
    let (status, body) = call(&f.app, Request::get("/app.js").body(Body::empty()).unwrap()).await;
    assert_eq!(
        (status, body.as_slice()),
        (StatusCode::OK, b"console.log(1)".as_slice())
    );
    // A browser that accepts gzip gets the precompressed twin build-app.sh writes.
    let dist = f._dir.path().join("dist");
    std::fs::write(dist.join("app.js.gz"), b"\x1f\x8bfake").unwrap();
    let res = f
        .app
        .clone()
        .oneshot(
            Request::get("/app.js")
                .header("accept-encoding", "gzip, br")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.headers()["content-encoding"], "gzip");
    assert_eq!(res.headers()["content-type"], "text/javascript");
}

// ---- models: listing and hash-addressed, cacheable downloads ----

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

#[tokio::test]
async fn models_list_the_builtin_model_with_verifiable_hashes() {
    let f = fixture(false, 1 << 20).await;
    let (status, list): (_, kxian_shared::api::ModelList) = get(&f.app, "/api/models").await;
    assert_eq!(status, StatusCode::OK);
    let m = &list.models[0];
    assert_eq!(m.id, "kxian-default");
    assert!(m.default);
    for file in [
        &m.tokenizer.config,
        &m.tokenizer.weights,
        &m.predictor.config,
        &m.predictor.weights,
    ] {
        let res = f
            .app
            .clone()
            .oneshot(Request::get(&file.url).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{}", file.url);
        let h = res.headers().clone();
        assert_eq!(
            h["cache-control"], "public, max-age=31536000, immutable",
            "{}",
            file.url
        );
        assert_eq!(h["etag"], format!("\"{}\"", file.sha256));
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body.len() as u64, file.bytes);
        assert_eq!(sha256_hex(&body), file.sha256, "{}", file.url);

        // Revalidation answers 304 without a body.
        let res = f
            .app
            .clone()
            .oneshot(
                Request::get(&file.url)
                    .header("if-none-match", format!("\"{}\"", file.sha256))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    }
    // A URL without (or with a stale) content hash must not be cached for good.
    let bare = m
        .predictor
        .weights
        .url
        .split('?')
        .next()
        .unwrap()
        .to_string();
    for uri in [bare.clone(), format!("{bare}?v=0000000000000000")] {
        let res = f
            .app
            .clone()
            .oneshot(Request::get(&uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["cache-control"], "no-cache", "{uri}");
    }
    let (status, body) = call(
        &f.app,
        Request::get("/api/models/kxian-default/card")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&body).contains("kxian-default"));
    for uri in [
        "/api/models/nope/tokenizer/config.json",
        "/api/models/kxian-default/tokenizer/secret.txt",
        "/api/models/kxian-default/..%2F..%2FCargo.toml/config.json",
    ] {
        let (status, _) = call(&f.app, Request::get(uri).body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
    }
}

#[tokio::test]
async fn a_models_folder_adds_complete_models_and_skips_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let src =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../public/models/kxian-default");
    let mine = dir.path().join("csi300-finetune");
    for part in ["tokenizer", "predictor"] {
        std::fs::create_dir_all(mine.join(part)).unwrap();
        for file in ["config.json", "model.safetensors"] {
            std::fs::copy(src.join(part).join(file), mine.join(part).join(file)).unwrap();
        }
    }
    std::fs::write(
        mine.join("MODEL_CARD.md"),
        "# Mine\n\nFinetuned on CSI 300.\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("half/tokenizer")).unwrap();
    let models = kxian_server::models::Models::load(Some(dir.path())).unwrap();
    let list = models.list();
    let ids: Vec<&str> = list.models.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["kxian-default", "csi300-finetune"]);
    let m = &list.models[1];
    assert_eq!(m.description, "Finetuned on CSI 300.");
    assert!(!m.default);
    // Same weights, same hash: a share link names weights, not a folder name.
    assert_eq!(m.sha256, list.models[0].sha256);
    let (bytes, sha) = models
        .file("csi300-finetune", "predictor", "config.json")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sha256_hex(&bytes), sha);
}

#[tokio::test]
async fn classifiers_are_listed_beside_the_forecasting_models() {
    let f = fixture(false, 1 << 20).await;
    let (_, list): (_, kxian_shared::api::ModelList) = get(&f.app, "/api/models").await;
    let c = &list.classifiers[0];
    assert_eq!(c.id, "kxian-classifier");
    assert!(c.default);
    assert_eq!(c.market.as_deref(), Some("000300.SH"));
    // Its files are hash-addressed like the others, and the config is a classifier's.
    for file in [&c.files.config, &c.files.weights] {
        let (status, body) =
            call(&f.app, Request::get(&file.url).body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{}", file.url);
        assert_eq!(sha256_hex(&body), file.sha256);
    }
    let (_, config) = call(
        &f.app,
        Request::get(&c.files.config.url)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let config: serde_json::Value = serde_json::from_slice(&config).unwrap();
    assert_eq!(config["model_type"], "kxian-classifier");
    assert!(!list.models.iter().any(|m| m.id == c.id));

    // A folder with classifier/ is a classifier; the trained one from the trainer's best/.
    let dir = tempfile::tempdir().unwrap();
    let src =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../public/models/kxian-classifier");
    std::fs::create_dir_all(dir.path().join("mine/classifier")).unwrap();
    for file in ["config.json", "model.safetensors"] {
        std::fs::copy(
            src.join(file),
            dir.path().join("mine/classifier").join(file),
        )
        .unwrap();
    }
    let list = kxian_server::models::Models::load(Some(dir.path()))
        .unwrap()
        .list();
    let ids: Vec<&str> = list.classifiers.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["kxian-classifier", "mine"]);
    assert_eq!(list.classifiers[1].sha256, list.classifiers[0].sha256);
}

// ---- share links: immutable snapshots behind unguessable ids ----

async fn snapshot(f: &Fixture, horizon: usize) -> kxian_shared::api::ShareSnapshot {
    use kxian_shared::api::*;
    let (_, bars): (_, BarsResponse) =
        get(&f.app, "/api/symbols/000300.SH/bars?freq=daily&limit=50").await;
    let row = |c: f32| [c, c + 1.0, c - 1.0, c, 1e9, 1e11];
    let h = horizon;
    ShareSnapshot {
        version: SHARE_VERSION,
        symbol: "000300.SH".into(),
        name: Some("沪深300".into()),
        frequency: "daily".into(),
        adjustment: "none".into(),
        model_id: "kxian-default".into(),
        model_sha256: "ab".repeat(32),
        history: bars.bars.clone(),
        actual: Vec::new(),
        report: ForecastReport {
            symbol: "000300.SH".into(),
            frequency: "daily".into(),
            input: ForecastInputSummary {
                file: "store:000300.SH/daily".into(),
                lookback: bars.bars.len(),
                first: "2024-07-09".into(),
                last: "2024-09-19".into(),
                last_close: 3196.04,
            },
            timestamps: (0..h).map(|i| format!("2024-09-{:02}", 20 + i)).collect(),
            provisional: vec![false; h],
            columns: FORECAST_COLUMNS.iter().map(|c| c.to_string()).collect(),
            units: Default::default(),
            mean: vec![row(3200.0); h],
            quantiles: ForecastQuantiles {
                p10: vec![row(3100.0); h],
                p50: vec![row(3200.0); h],
                p90: vec![row(3300.0); h],
            },
            paths: vec![vec![row(3200.0); h]; 2],
            p_up: vec![0.5; h],
            tokens: ForecastTokens {
                s1: vec![1; h],
                s2: vec![2; h],
            },
            params: ForecastParams {
                horizon: h,
                temperature: 1.0,
                top_k: 0,
                top_p: 0.9,
                samples: 2,
                seed: 7,
                max_context: 512,
                cache: "exact".into(),
                repair_ohlc: false,
            },
            model: ForecastModelInfo {
                tokenizer: ModelSummary {
                    name: "kxian-default/tokenizer".into(),
                    parameters: 169_562,
                },
                predictor: ModelSummary {
                    name: "kxian-default/predictor".into(),
                    parameters: 421_952,
                },
                backend: "webgpu".into(),
                device_reason: "test".into(),
                elapsed_ms: 12.0,
                ms_per_bar: 4.0,
            },
        },
    }
}

fn post_json(uri: &str, body: Vec<u8>) -> Request<Body> {
    Request::post(uri)
        .header("content-type", "application/json")
        .header(kxian_shared::api::CLIENT_HEADER, "test")
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn shares_are_stored_once_and_read_back_exactly() {
    use kxian_shared::api::{ShareCreated, ShareResponse};
    let f = fixture(true, 1 << 20).await;
    let snap = snapshot(&f, 3).await;
    let body = serde_json::to_vec(&snap).unwrap();
    let (status, created) = call(&f.app, post_json("/api/shares", body.clone())).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&created)
    );
    let created: ShareCreated = serde_json::from_slice(&created).unwrap();
    assert_eq!(created.id.len(), 22);
    assert_eq!(created.path, format!("/s/{}", created.id));
    let (status, got): (_, ShareResponse) =
        get(&f.app, &format!("/api/shares/{}", created.id)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got.snapshot, snap);

    // The same snapshot again is a new link; ids are not derived from the content.
    let (_, again) = call(&f.app, post_json("/api/shares", body)).await;
    let again: ShareCreated = serde_json::from_slice(&again).unwrap();
    assert_ne!(again.id, created.id);

    // Nothing lists, alters or deletes them.
    let (status, _) = call(
        &f.app,
        Request::get("/api/shares").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    for method in ["PUT", "DELETE", "PATCH"] {
        let req = Request::builder()
            .method(method)
            .uri(format!("/api/shares/{}", created.id))
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let (status, _) = call(&f.app, req).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
    }
    let (_, still): (_, ShareResponse) = get(&f.app, &format!("/api/shares/{}", created.id)).await;
    assert_eq!(still.snapshot, snap);

    // Unknown and malformed ids look the same from outside.
    for id in ["AAAAAAAAAAAAAAAAAAAAAA", "short", "..%2F..%2Fetc"] {
        let (status, err): (_, ApiError) = get(&f.app, &format!("/api/shares/{id}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{id}");
        assert_eq!(err.error, "not_found");
    }
}

#[tokio::test]
async fn invalid_or_oversized_snapshots_are_refused_with_the_field_named() {
    let f = fixture(true, 1 << 20).await;
    let good = snapshot(&f, 3).await;
    type Breaker = Box<dyn Fn(&mut kxian_shared::api::ShareSnapshot)>;
    let cases: Vec<(&str, Breaker)> = vec![
        (
            "report.mean",
            Box::new(|s| {
                s.report.mean.pop();
            }),
        ),
        ("report.paths", Box::new(|s| s.report.params.samples = 3)),
        ("report.p_up", Box::new(|s| s.report.p_up[0] = 1.5)),
        ("history", Box::new(|s| s.history.clear())),
        (
            "history[1]",
            Box::new(|s| s.history[1].ts = s.history[0].ts),
        ),
        ("model_sha256", Box::new(|s| s.model_sha256 = "xyz".into())),
        ("frequency", Box::new(|s| s.frequency = "hourly".into())),
        ("version", Box::new(|s| s.version = 99)),
        (
            "report.input.lookback",
            Box::new(|s| s.report.input.lookback += 1),
        ),
    ];
    for (field, break_it) in cases {
        let mut s = good.clone();
        break_it(&mut s);
        let (status, body) = call(
            &f.app,
            post_json("/api/shares", serde_json::to_vec(&s).unwrap()),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}");
        let err: ApiError = serde_json::from_slice(&body).unwrap();
        assert!(
            err.message.contains(field),
            "{field}: the message should name it: {}",
            err.message
        );
    }
    let (status, _) = call(
        &f.app,
        post_json("/api/shares", b"{\"version\": 1}".to_vec()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let huge = vec![b' '; kxian_shared::api::SHARE_MAX_BYTES + 1];
    let (status, _) = call(&f.app, post_json("/api/shares", huge)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn share_links_are_rate_limited_per_client_and_admins_are_not() {
    let f = fixture(true, 1 << 20).await;
    let snap = snapshot(&f, 3).await;
    let body = serde_json::to_vec(&snap).unwrap();
    let burst = kxian_server::limits::LimitsConfig::default().share_burst;
    for i in 0..burst {
        let (status, _) = call(&f.app, post_json("/api/shares", body.clone())).await;
        assert_eq!(status, StatusCode::CREATED, "share {i}");
    }
    let (status, err) = call(&f.app, post_json("/api/shares", body.clone())).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let err: ApiError = serde_json::from_slice(&err).unwrap();
    assert!(err.message.contains("try again in"), "{}", err.message);
    // The admin (the single-user install) is not limited.
    let mut req = post_json("/api/shares", body);
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {ADMIN_TOKEN}").parse().unwrap(),
    );
    let (status, _) = call(&f.app, req).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn uploads_need_an_account_and_a_third_parallel_parse_waits() {
    let f = fixture(true, 1 << 20).await;
    let mut req = multipart("600000.csv", AKSHARE.as_bytes(), &[("symbol", "600001.SH")]);
    req.headers_mut().remove("authorization");
    req.headers_mut()
        .insert(kxian_shared::api::CLIENT_HEADER, "test".parse().unwrap());
    let (status, _) = call(&f.app, req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        f.store
            .symbol(&"600001.SH".parse().unwrap())
            .await
            .unwrap()
            .is_none()
    );
    let limits = kxian_server::limits::Limits::default();
    let held: Vec<_> = (0..limits.config().parallel_imports)
        .map(|_| limits.import_slot().unwrap())
        .collect();
    let busy = limits.import_slot().unwrap_err();
    assert!(
        matches!(
            busy,
            kxian_server::error::AppError::Busy { retry_after: 5, .. }
        ),
        "{busy}"
    );
    drop(held);
    assert!(limits.import_slot().is_ok());
}

/// The write rule for every writer of the store: each tries to write a private series of
/// Bob's, the public embedded series, and a symbol nobody has.
#[tokio::test]
async fn every_writer_writes_only_what_it_may_read() {
    use kxian_server::storage::Viewer;
    let f = fixture(true, 1 << 20).await;
    let s = &f.store;
    let bob = s.create_user("bob", false).await.unwrap().unwrap();
    let alice = s.create_user("alice", false).await.unwrap().unwrap();
    let root = s.user_by_name("admin").await.unwrap().unwrap();
    let parse = |sym: &str, close: &str, name: &str| {
        let csv = format!(
            "date,open,high,low,close,volume,amount\n2024-09-30,{close},{close},{close},{close},100,1000\n"
        );
        let opts = kxian_shared::api::ImportOptions {
            symbol: Some(sym.parse().unwrap()),
            name: Some(name.into()),
            ..Default::default()
        };
        kxian_shared::ingest::parse_file("w.csv", csv.as_bytes(), &opts).unwrap()
    };
    s.import_as(
        &parse("600519.SH", "100", "Bob's"),
        "bob",
        &Viewer::of(&bob),
    )
    .await
    .unwrap();
    let read = |v: Viewer, sym: &'static str| async move {
        let r = s
            .bars_for(
                &v,
                &sym.parse().unwrap(),
                Frequency::Daily,
                kxian_shared::Adjustment::None,
                None,
                None,
                100_000,
            )
            .await
            .unwrap();
        r.map(|r| (r.name, serde_json::to_string(&r.bars).unwrap()))
    };
    let bobs = read(Viewer::of(&bob), "600519.SH").await;
    let public = read(Viewer::default(), "600000.SH").await;
    assert!(public.is_some());
    // Anonymous: nothing at all.
    for sym in ["600519.SH", "600000.SH", "688981.SH"] {
        let e = s
            .import_as(&parse(sym, "1", "x"), "anon", &Viewer::default())
            .await
            .unwrap_err();
        assert!(e.to_string().contains("account"), "{e}");
    }
    // Another user, and an admin: their own series beside Bob's, never Bob's.
    for (who, v) in [("alice", Viewer::of(&alice)), ("admin", Viewer::of(&root))] {
        let r = s
            .import_as(&parse("600519.SH", "2", "renamed"), who, &v)
            .await
            .unwrap_or_else(|e| panic!("{who}'s write failed: {e:?}"));
        assert_eq!((r.series[0].inserted, r.series[0].updated), (1, 0), "{who}");
        let now = read(Viewer::of(&bob), "600519.SH").await.unwrap();
        assert_eq!(now.1, bobs.as_ref().unwrap().1, "{who} changed Bob's bars");
        // Only an admin renames a symbol it does not wholly own.
        let name = if who == "admin" { "renamed" } else { "Bob's" };
        assert_eq!(now.0.as_deref(), Some(name), "{who}");
    }
    // A non-admin never writes the public series (a copy of their own instead); the admin
    // and the machine itself (`kxian import`, the embedded load) do.
    s.import_as(
        &parse("600000.SH", "0.7", "x"),
        "alice",
        &Viewer::of(&alice),
    )
    .await
    .unwrap();
    assert_eq!(read(Viewer::default(), "600000.SH").await, public);
    assert!(
        read(Viewer::of(&alice), "600000.SH")
            .await
            .unwrap()
            .1
            .contains("0.7")
    );
    s.import_as(
        &parse("600000.SH", "9.5", "浦发银行"),
        "admin",
        &Viewer::of(&root),
    )
    .await
    .unwrap();
    assert!(
        read(Viewer::default(), "600000.SH")
            .await
            .unwrap()
            .1
            .contains("9.5")
    );
    s.import(&parse("600000.SH", "9.25", "浦发银行"), "system")
        .await
        .unwrap();
    assert!(
        read(Viewer::default(), "600000.SH")
            .await
            .unwrap()
            .1
            .contains("9.25")
    );
    // Bob's bars are as they were; each reader reads its own series first.
    assert_eq!(
        read(Viewer::of(&bob), "600519.SH").await.unwrap().1,
        bobs.as_ref().unwrap().1
    );
    assert!(
        read(Viewer::of(&alice), "600519.SH")
            .await
            .unwrap()
            .1
            .contains("2.0")
    );
    let listed = s
        .list_symbols_for(&Viewer::of(&root), "600519", 10)
        .await
        .unwrap()
        .0;
    assert_eq!(listed[0].series.len(), 1, "one series per key in a listing");
}

/// A stored prediction set is listed, served as CSV and evaluated for its owner only: another
/// user and an anonymous caller do not learn it exists.
#[tokio::test]
async fn prediction_sets_are_served_to_their_owner_only() {
    use kxian_shared::predictions::rows::classifier_row;
    let f = fixture(true, 1 << 20).await;
    let alice = f.store.create_user("alice", false).await.unwrap().unwrap();
    f.store
        .add_token(alice.id, "kx_alice_token", "t")
        .await
        .unwrap();
    let bob = f.store.create_user("bob", false).await.unwrap().unwrap();
    f.store
        .add_token(bob.id, "kx_bob_token", "t")
        .await
        .unwrap();
    // Month-end rows for two embedded symbols over 2020.
    let days = kxian_shared::calendar::TradingCalendar::embedded()
        .trading_days_between("2020-01-01".parse().unwrap(), "2020-12-31".parse().unwrap());
    let mut rows = Vec::new();
    for (i, d) in days.iter().enumerate().step_by(20) {
        for (k, s) in ["600000.SH", "000001.SZ"].iter().enumerate() {
            let p = 0.2 + 0.1 * ((i + k) % 5) as f64;
            rows.push(Ok(classifier_row(s, *d, 5, [p, 0.2, 0.8 - p])));
        }
    }
    let n = rows.len();
    let id = f
        .store
        .insert_prediction_set(
            &kxian_server::storage::NewPredictionSet {
                name: "monthly".into(),
                owner: Some(alice.id),
                kind: kxian_shared::predictions::RowKind::Classifier,
                model: "run/best".into(),
                model_sha256: vec!["ab".repeat(32)],
                params: serde_json::json!({"universe": {}, "schedule": {"every": "month_end"}}),
                first_date: days[0],
                last_date: *days.last().unwrap(),
                symbols: 2,
                parquet: Some(b"PAR1 stand-in PAR1".to_vec()),
            },
            rows.into_iter(),
        )
        .await
        .unwrap();
    let as_user = |uri: &str, token: Option<&str>| {
        let mut r = Request::get(uri);
        if let Some(t) = token {
            r = r.header("authorization", format!("Bearer {t}"));
        }
        r.body(Body::empty()).unwrap()
    };
    let (status, body) = call(&f.app, as_user("/api/predictions", Some("kx_alice_token"))).await;
    assert_eq!(status, StatusCode::OK);
    let list: kxian_shared::api::PredictionSetList = serde_json::from_slice(&body).unwrap();
    assert_eq!(list.sets.len(), 1);
    assert_eq!((list.sets[0].id, list.sets[0].rows), (id, n));
    let (status, body) = call(
        &f.app,
        as_user(
            &format!("/api/predictions/{id}/rows.csv"),
            Some("kx_alice_token"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(body).unwrap();
    assert_eq!(
        text.lines().next(),
        Some("symbol,as_of,horizon,score,p_up,p_down,p_flat")
    );
    assert_eq!(text.lines().count(), n + 1);
    let (status, body) = call(
        &f.app,
        as_user(
            &format!("/api/predictions/{id}/evaluation"),
            Some("kx_alice_token"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let report: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(report["scored"].as_u64().unwrap() as usize, n);
    assert!(
        report["signals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["signal"] == "momentum_20")
    );

    for token in [Some("kx_bob_token"), None] {
        let (status, body) = call(&f.app, as_user("/api/predictions", token)).await;
        assert_eq!(status, StatusCode::OK);
        let list: kxian_shared::api::PredictionSetList = serde_json::from_slice(&body).unwrap();
        assert!(list.sets.is_empty(), "{token:?} sees {list:?}");
        for path in ["", "/rows.csv", "/rows.parquet", "/evaluation"] {
            let (status, _) = call(
                &f.app,
                as_user(&format!("/api/predictions/{id}{path}"), token),
            )
            .await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{token:?} {path}");
        }
    }
}

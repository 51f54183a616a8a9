//! The store's own tests: migrations from older schemas, and the read-only reader's rule.

use crate::reader::{ReadOnlyStore, SeriesQuery};
use crate::{Store, Viewer};
use kxian_shared::ingest::{Layout, ParsedImport, ParsedSeries};
use kxian_shared::{Adjustment, Bar, Frequency};

/// A store made before series were per owner: migrating it keeps every bar, and its foreign
/// keys still hold.
#[tokio::test]
async fn an_older_store_migrates_without_losing_a_bar() {
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let opts = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new().connect_with(opts).await.unwrap();
    for sql in [
        include_str!("../migrations/0001_init.sql"),
        include_str!("../migrations/0002_shares.sql"),
        include_str!("../migrations/0003_jobs.sql"),
        include_str!("../migrations/0004_owners.sql"),
        include_str!("../migrations/0005_secrets.sql"),
    ] {
        sqlx::raw_sql(sql).execute(&pool).await.unwrap();
    }
    sqlx::raw_sql(
        "INSERT INTO users (id, name, admin, created_at) VALUES (1, 'admin', 1, 'then');
         INSERT INTO symbols (id, symbol, code, exchange, kind, board, name) VALUES (1, '600000.SH', '600000', 'SH', 'stock', 'main', 'PF');
         INSERT INTO series (id, symbol_id, frequency, adjustment, source, bar_count, first_ts, last_ts, updated_at)
           VALUES (7, 1, 'daily', 'none', 'old', 2, 1725235200, 1725321600, 'then');
         INSERT INTO bars VALUES (7, 1725235200, 1, 2, 0.5, 1.5, 100, 150), (7, 1725321600, 1.5, 2, 1, 1.8, 120, 200);
         INSERT INTO secrets VALUES (1, 'tushare', 'plain-old-token', 'then');",
    )
    .execute(&pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    pool.close().await;
    // Mark migrations 1–5 as applied, as sqlx would have.
    let store = {
        let opts = SqliteConnectOptions::new().filename(&path);
        let pool = SqlitePoolOptions::new().connect_with(opts).await.unwrap();
        sqlx::raw_sql("CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, checksum BLOB NOT NULL, execution_time BIGINT NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        // Re-running 1–5 would fail on the existing tables: record them with their checksums
        // by letting a fresh store of the same migrations tell us.
        let fresh = tempfile::tempdir().unwrap();
        let f = Store::open(&fresh.path().join("f.db")).await.unwrap();
        f.close().await;
        let opts = SqliteConnectOptions::new().filename(fresh.path().join("f.db"));
        let fp = SqlitePoolOptions::new().connect_with(opts).await.unwrap();
        let rows: Vec<(i64, String, Vec<u8>)> = sqlx::query_as(
            "SELECT version, description, checksum FROM _sqlx_migrations WHERE version <= 5",
        )
        .fetch_all(&fp)
        .await
        .unwrap();
        fp.close().await;
        let opts = SqliteConnectOptions::new().filename(&path);
        let pool = SqlitePoolOptions::new().connect_with(opts).await.unwrap();
        for (v, d, c) in rows {
            sqlx::query("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (?, ?, 1, ?, 0)")
                .bind(v)
                .bind(d)
                .bind(c)
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
        Store::open(&path).await.unwrap()
    };
    let r = store
        .bars(
            &"600000.SH".parse().unwrap(),
            kxian_shared::Frequency::Daily,
            kxian_shared::Adjustment::None,
            None,
            None,
            10,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.bars.len(), 2);
    assert_eq!(r.bars[1].close, 1.8);
    store.close().await;
    let opts = SqliteConnectOptions::new().filename(&path);
    let pool = SqlitePoolOptions::new().connect_with(opts).await.unwrap();
    let broken: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(broken.is_empty(), "{broken:?}");
    let refs: String = sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE name = 'bars'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        refs.replace('"', "").contains("REFERENCES series(id)"),
        "{refs}"
    );
    let secret: String = sqlx::query_scalar("SELECT value FROM secrets")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        !secret.contains("plain-old-token"),
        "sealed at the first start: {secret}"
    );
}

fn one_series(symbol: &str, close: f64) -> ParsedImport {
    let ts = |d: u32| {
        chrono::NaiveDate::from_ymd_opt(2024, 9, d)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
    };
    ParsedImport {
        file: format!("{symbol}.csv"),
        layout: Layout::Kronos,
        rows_read: 2,
        series: vec![ParsedSeries {
            symbol: symbol.parse().unwrap(),
            name: None,
            frequency: Frequency::Daily,
            adjustment: Adjustment::None,
            volume_unit: kxian_shared::api::VolumeUnit::Shares,
            bars: [2, 3]
                .map(|d| Bar {
                    ts: ts(d),
                    open: close,
                    high: close,
                    low: close,
                    close,
                    volume: 100.0,
                    amount: Some(100.0 * close),
                })
                .to_vec(),
        }],
        rejected: vec![],
        warnings: vec![],
    }
}

/// What the trainer reads as a job's owner: the public series and their own, never another
/// user's private one, and the owner's own first where both exist.
#[tokio::test]
async fn the_reader_reads_what_the_viewer_may_see() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.db");
    let store = Store::open(&path).await.unwrap();
    let alice = store.create_user("alice", false).await.unwrap().unwrap();
    let bob = store.create_user("bob", false).await.unwrap().unwrap();
    store
        .import(&one_series("600000.SH", 1.0), "public")
        .await
        .unwrap();
    let mine = Viewer::of(&alice);
    store
        .import_as(&one_series("600000.SH", 2.0), "alice", &mine)
        .await
        .unwrap();
    store
        .import_as(&one_series("600519.SH", 3.0), "alice", &mine)
        .await
        .unwrap();
    store.close().await;
    let reader = ReadOnlyStore::open(&path).await.unwrap();
    let symbols = ["600000.SH".to_string(), "600519.SH".to_string()];
    let q = SeriesQuery {
        symbols: &symbols,
        board: None,
        frequency: Frequency::Daily,
        adjustment: Adjustment::None,
        from: None,
        to: None,
    };
    let read = |v: Viewer| {
        let (reader, q) = (&reader, &q);
        async move {
            reader
                .series(v, q)
                .await
                .unwrap()
                .into_iter()
                .map(|(s, bars)| (s, bars[0].close))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        read(mine).await,
        [
            ("600000.SH".to_string(), 2.0),
            ("600519.SH".to_string(), 3.0)
        ]
    );
    assert_eq!(
        read(Viewer::of(&bob)).await,
        [("600000.SH".to_string(), 1.0)],
        "bob reads the public series and nothing of alice's"
    );
    assert_eq!(read(Viewer::SYSTEM).await.len(), 2, "the machine reads all");
    // A download for bob starts from nothing of alice's; for alice from her own series.
    let bob_days = reader
        .last_bar_days(Viewer::of(&bob), Frequency::Daily, Adjustment::None)
        .await
        .unwrap();
    assert!(bob_days.is_empty(), "{bob_days:?}");
    let alice_days = reader
        .last_bar_days(mine, Frequency::Daily, Adjustment::None)
        .await
        .unwrap();
    assert_eq!(alice_days.len(), 2);
    let system_days = reader
        .last_bar_days(Viewer::SYSTEM, Frequency::Daily, Adjustment::None)
        .await
        .unwrap();
    assert_eq!(system_days.keys().collect::<Vec<_>>(), ["600000.SH"]);
}

/// A store from before series had owners is read whole, as public series.
#[tokio::test]
async fn the_reader_reads_a_store_from_before_owners() {
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let opts = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true);
    let pool = SqlitePoolOptions::new().connect_with(opts).await.unwrap();
    sqlx::raw_sql(include_str!("../migrations/0001_init.sql"))
        .execute(&pool)
        .await
        .unwrap();
    sqlx::raw_sql(
        "INSERT INTO symbols (id, symbol, code, exchange, kind, board, name) VALUES (1, '600000.SH', '600000', 'SH', 'stock', 'main', 'PF');
         INSERT INTO series (id, symbol_id, frequency, adjustment, source, bar_count, first_ts, last_ts, updated_at)
           VALUES (7, 1, 'daily', 'none', 'old', 2, 1725235200, 1725321600, 'then');
         INSERT INTO bars VALUES (7, 1725235200, 1, 2, 0.5, 1.5, 100, 150), (7, 1725321600, 1.5, 2, 1, 1.8, 120, 200);",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let reader = ReadOnlyStore::open(&path).await.unwrap();
    let q = SeriesQuery {
        symbols: &[],
        board: Some("main"),
        frequency: Frequency::Daily,
        adjustment: Adjustment::None,
        from: None,
        to: None,
    };
    let got = reader
        .series(
            Viewer {
                user: Some(3),
                admin: false,
            },
            &q,
        )
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1.len(), 2);
    let days = reader
        .last_bar_days(Viewer::SYSTEM, Frequency::Daily, Adjustment::None)
        .await
        .unwrap();
    assert_eq!(days.len(), 1);
}

/// Writers at the same time (a download's imports while a user uploads, two users at once)
/// wait their turn: none fails with "database is locked", and every bar lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_wait_for_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(Store::open(&dir.path().join("k.db")).await.unwrap());
    let alice = store.create_user("alice", false).await.unwrap().unwrap();
    let mut tasks = Vec::new();
    for k in 0..32 {
        let (store, alice) = (store.clone(), alice.clone());
        tasks.push(tokio::spawn(async move {
            let symbol = format!("6{:05}.SH", k);
            if k % 2 == 0 {
                store
                    .import(&one_series(&symbol, 1.0 + k as f64), "public")
                    .await
            } else {
                store
                    .import_as(
                        &one_series(&symbol, 1.0 + k as f64),
                        "alice",
                        &Viewer::of(&alice),
                    )
                    .await
            }
        }));
    }
    for (k, t) in tasks.into_iter().enumerate() {
        let report = t
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("writer {k}: {e}"));
        assert_eq!(report.series[0].inserted, 2, "writer {k}");
    }
}

mod reference {
    use crate::{ReferenceCounts, Store};
    use kxian_shared::reference::{
        IndustryRecord, MemberList, MemberRecord, NorthboundRecord, ReferenceData, SharesRecord,
        StatusKind, StatusRecord,
    };

    fn d(s: &str) -> chrono::NaiveDate {
        s.parse().unwrap()
    }

    fn member(symbol: &str, from: &str, to: Option<&str>) -> MemberRecord {
        MemberRecord {
            index: "000905.SH".into(),
            symbol: symbol.into(),
            from: d(from),
            to: to.map(d),
            weight: None,
        }
    }

    fn data() -> ReferenceData {
        ReferenceData {
            source: "tushare".into(),
            industries: vec![IndustryRecord {
                symbol: "600000.SH".into(),
                industry: "银行".into(),
                from: d("1999-11-10"),
                to: None,
            }],
            shares: vec![SharesRecord {
                symbol: "600000.SH".into(),
                date: d("2024-09-13"),
                total_shares: 2.9e10,
                float_shares: 2.9e10,
                pe: Some(5.0),
                pb: None,
            }],
            members: vec![
                member("600000.SH", "2023-11-30", None),
                member("600001.SH", "2023-11-30", Some("2024-01-30")),
            ],
            status: vec![StatusRecord {
                symbol: "600000.SH".into(),
                kind: StatusKind::St,
                from: d("2020-05-06"),
                to: Some(d("2021-05-06")),
                note: Some("*ST".into()),
            }],
            northbound: vec![NorthboundRecord {
                symbol: "600000.SH".into(),
                date: d("2024-09-13"),
                shares: 6.1e8,
                ratio: Some(2.08),
            }],
            member_lists: Vec::new(),
        }
    }

    #[tokio::test]
    async fn reference_data_round_trips_and_a_new_history_replaces_the_old() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("r.db")).await.unwrap();
        let counts = store.import_reference(&data()).await.unwrap();
        assert_eq!(
            counts,
            ReferenceCounts {
                industries: 1,
                shares: 1,
                members: 2,
                status: 1,
                northbound: 1
            }
        );
        let mut members = data().members;
        members.sort_by(|a, b| a.symbol.cmp(&b.symbol));
        assert_eq!(store.index_members("000905.SH").await.unwrap(), members);
        let back = store.reference_of(&["600000.SH".into()]).await.unwrap();
        assert_eq!(back.industries, data().industries);
        assert_eq!(back.shares, data().shares);
        assert_eq!(back.status, data().status);
        assert_eq!(back.northbound, data().northbound);

        // A later download of the index's history replaces it; other indices stay.
        let other = ReferenceData {
            members: vec![MemberRecord {
                index: "000300.SH".into(),
                ..member("600519.SH", "2005-04-08", None)
            }],
            ..ReferenceData::default()
        };
        store.import_reference(&other).await.unwrap();
        let newer = ReferenceData {
            members: vec![member("600000.SH", "2023-11-30", Some("2024-05-30"))],
            ..ReferenceData::default()
        };
        store.import_reference(&newer).await.unwrap();
        assert_eq!(
            store.index_members("000905.SH").await.unwrap(),
            newer.members
        );
        assert_eq!(store.index_members("000300.SH").await.unwrap().len(), 1);
        store.close().await;
    }

    #[tokio::test]
    async fn a_dated_member_list_carries_the_stored_history_forward() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("r.db")).await.unwrap();
        store.import_reference(&data()).await.unwrap();
        let list = |date: &str, symbols: &[&str]| ReferenceData {
            source: "csindex".into(),
            member_lists: vec![MemberList {
                index: "000905.SH".into(),
                date: d(date),
                symbols: symbols.iter().map(|s| s.to_string()).collect(),
            }],
            ..ReferenceData::default()
        };
        let before = store.index_members("000905.SH").await.unwrap();
        let today = list("2026-12-04", &["600000.SH", "688981.SH"]);
        let counts = store.import_reference(&today).await.unwrap();
        assert_eq!(counts.members, 1, "one new stay");
        let after = store.index_members("000905.SH").await.unwrap();
        let open: Vec<&str> = after
            .iter()
            .filter(|m| m.to.is_none())
            .map(|m| m.symbol.as_str())
            .collect();
        assert_eq!(open, ["600000.SH", "688981.SH"]);
        // Every stay stored before is still there, with its start.
        for m in &before {
            assert!(
                after
                    .iter()
                    .any(|a| (&a.symbol, a.from) == (&m.symbol, m.from))
            );
        }
        // The same list again changes nothing; an older one is refused and changes nothing.
        store.import_reference(&today).await.unwrap();
        assert_eq!(store.index_members("000905.SH").await.unwrap(), after);
        let e = store
            .import_reference(&list("2025-01-02", &["600000.SH"]))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("member_lists[0] 000905.SH 2025-01-02: the list of 000905.SH dated 2025-01-02 is older"),
            "{e}"
        );
        assert_eq!(store.index_members("000905.SH").await.unwrap(), after);
        store.close().await;
    }

    #[tokio::test]
    async fn bad_reference_data_is_refused_and_what_was_stored_stays() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("r.db")).await.unwrap();
        store.import_reference(&data()).await.unwrap();
        let before = store.reference_counts().await.unwrap();
        let mut bad = data();
        bad.members = vec![member("600009.SH", "2024-01-02", None)];
        bad.shares[0].total_shares = -5.0;
        let e = store.import_reference(&bad).await.unwrap_err().to_string();
        assert!(e.starts_with("shares[0] 600000.SH 2024-09-13"), "{e}");
        assert_eq!(store.reference_counts().await.unwrap(), before);
        assert_eq!(store.index_members("000905.SH").await.unwrap().len(), 2);
        store.close().await;
    }
}

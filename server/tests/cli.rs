//! `kxian import` as a user runs it: the real binary, a real database file.

use std::process::Command;

fn kxian(db: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let db = db.to_str().expect("a UTF-8 temp path");
    kxian_cmd(&[&["import", "--db", db], args].concat())
}

const TUSHARE: &str = "ts_code,trade_date,open,high,low,close,pre_close,change,pct_chg,vol,amount\n\
000001.SZ,20240913,10.17,10.22,10.11,10.16,10.20,-0.04,-0.39,1049231.5,1066548.2\n\
000001.SZ,20240912,10.25,10.28,10.18,10.20,10.25,-0.05,-0.49,815384.1,832442.9\n";

#[test]
fn imports_a_tushare_export_then_rejects_a_bad_file_without_touching_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let good = dir.path().join("daily.csv");
    std::fs::write(&good, TUSHARE).unwrap();
    let (ok, out, err) = kxian(&db, &[good.to_str().unwrap()]);
    assert!(ok, "stdout: {out}\nstderr: {err}");
    assert!(
        out.contains("000001.SZ daily none — 2 bars (2 new, 0 updated)"),
        "{out}"
    );
    assert!(out.contains("tushare"), "{out}");

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, TUSHARE.replace("10.17,10.22", "10.17,abc")).unwrap();
    let before = std::fs::metadata(&db).unwrap().len();
    let (ok, out, err) = kxian(&db, &["--json", bad.to_str().unwrap()]);
    assert!(!ok, "a bad file must fail the command: {out}");
    let code = Command::new(env!("CARGO_BIN_EXE_kxian"))
        .args([
            "import",
            "--db",
            db.to_str().unwrap(),
            bad.to_str().unwrap(),
        ])
        .status()
        .unwrap()
        .code();
    assert_eq!(code, Some(2), "a bad file is bad input");
    let body: serde_json::Value = serde_json::from_str(err.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {err}"));
    let p = &body["problems"][0];
    assert_eq!(
        (p["file"].as_str(), p["row"].as_u64(), p["column"].as_str()),
        (Some("bad.csv"), Some(2), Some("high"))
    );

    // Still exactly the two good bars.
    let (ok, out, _) = kxian(&db, &["--json", good.to_str().unwrap()]);
    assert!(ok);
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["series"][0]["inserted"], 0);
    assert_eq!(report["series"][0]["updated"], 2);
    assert!(std::fs::metadata(&db).unwrap().len() >= before);
}

#[test]
fn a_missing_file_and_a_missing_symbol_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let (ok, _, err) = kxian(&db, &["/nonexistent/file.csv"]);
    assert!(!ok);
    assert!(err.contains("cannot read /nonexistent/file.csv"), "{err}");

    let anon = dir.path().join("prices.csv");
    std::fs::write(
        &anon,
        "date,open,high,low,close,volume\n2024-09-13,10,11,9,10.5,1000\n",
    )
    .unwrap();
    let (ok, _, err) = kxian(&db, &[anon.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("prices.csv") && err.to_lowercase().contains("symbol"),
        "{err}"
    );
    let (ok, out, err) = kxian(&db, &["--symbol", "600000.SH", anon.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("600000.SH daily"), "{out}");
}

#[test]
fn reference_data_imports_and_a_bad_record_is_refused_by_name_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let good = dir.path().join("reference.json");
    let data = serde_json::json!({
        "source": "tushare",
        "industries": [{"symbol": "600000.SH", "industry": "银行", "from": "1999-11-10"}],
        "members": [
            {"index": "000905.SH", "symbol": "600000.SH", "from": "2023-11-30"},
            {"index": "000905.SH", "symbol": "600077.SH", "from": "2023-11-30", "to": "2024-01-30"}
        ],
        "status": [{"symbol": "600077.SH", "kind": "st", "from": "2023-05-05"}]
    });
    std::fs::write(&good, data.to_string()).unwrap();
    let (ok, out, err) = kxian(&db, &[good.to_str().unwrap()]);
    assert!(ok, "stdout: {out}\nstderr: {err}");
    assert!(
        out.contains("1 industries, 0 shares rows, 2 index stays, 1 status periods"),
        "{out}"
    );

    let mut bad = data.clone();
    bad["industries"][0]["industry"] = "火星采矿".into();
    let path = dir.path().join("bad-reference.json");
    std::fs::write(&path, bad.to_string()).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_kxian"))
        .args([
            "import",
            "--db",
            db.to_str().unwrap(),
            path.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "bad reference data is bad input");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("industries[0] 600000.SH 火星采矿") && err.contains("unknown industry code"),
        "{err}"
    );
}

fn kxian_cmd(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kxian"))
        .args(args)
        .output()
        .expect("run kxian");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn tokens_are_listed_by_id_and_revoked_one_or_all() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let db = db.to_str().unwrap();
    let (ok, first, err) = kxian_cmd(&["user", "--db", db, "add", "bob", "--expires-days", "3"]);
    assert!(ok, "{err}");
    assert!(first.trim().starts_with("kx_"), "{first}");
    let (ok, _, err) = kxian_cmd(&["user", "--db", db, "token", "bob", "--label", "laptop"]);
    assert!(ok, "{err}");
    let (ok, list, err) = kxian_cmd(&["user", "--db", db, "tokens", "bob"]);
    assert!(ok, "{err}");
    let rows: Vec<&str> = list.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{list}");
    assert!(
        !list.contains(first.trim()),
        "a listing never shows a token: {list}"
    );
    assert!(
        rows.iter()
            .any(|r| r.contains("laptop") && r.contains("never")),
        "{list}"
    );
    assert!(
        rows.iter()
            .any(|r| r.contains("kxian user add") && !r.contains("never")),
        "{list}"
    );
    let laptop = rows.iter().find(|r| r.contains("laptop")).unwrap();
    let id = laptop.split_whitespace().next().unwrap();
    let (ok, _, err) = kxian_cmd(&["user", "--db", db, "revoke", "bob", "--token", id]);
    assert!(ok, "{err}");
    let (_, list, _) = kxian_cmd(&["user", "--db", db, "tokens", "bob"]);
    assert_eq!(list.lines().count(), 2, "{list}");
    let (ok, _, err) = kxian_cmd(&["user", "--db", db, "revoke", "bob"]);
    assert!(ok, "{err}");
    let (ok, _, err) = kxian_cmd(&["user", "--db", db, "revoke", "bob"]);
    assert!(!ok, "nothing left to revoke");
    assert!(err.contains("no token"), "{err}");
    let (ok, _, err) = kxian_cmd(&["share", "--db", db, "delete", "AAAAAAAAAAAAAAAAAAAAAA"]);
    assert!(!ok && err.contains("no share link"), "{err}");
}

//! `kxian-trainer analyze`: the CSI 300's regime and the style buckets of the embedded stocks,
//! from a store as the server seeds it; nothing up to a date changes when later bars are cut;
//! mistakes in the file exit 2 naming the key.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kxian_shared::analysis::AnalysisReport;

use super::examples_cli::store_until;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn analyze(config: &Path, db: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args(["analyze", "--format", "json", "--config"])
        .arg(config)
        .arg("--store")
        .arg(db)
        .output()
        .unwrap()
}

fn report(o: &Output) -> AnalysisReport {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn the_example_reports_the_csi300_regime_and_the_stocks_styles() {
    let dir = tempfile::tempdir().unwrap();
    let db = store_until(dir.path(), None);
    let r = report(&analyze(
        &repo().join("examples/analyze/csi300-regime.toml"),
        &db,
    ));
    let g = &r.regime;
    assert_eq!(g.index, "000300.SH");
    assert!(
        g.current.is_some(),
        "the embedded CSI 300 has years of bars"
    );
    assert!(g.periods.len() > 20, "{} periods", g.periods.len());
    for w in g.periods.windows(2) {
        assert!(w[0].to < w[1].from && w[0].regime != w[1].regime, "{w:?}");
    }
    let last = g.periods.last().unwrap();
    assert_eq!((Some(last.to), Some(last.regime)), (g.as_of, g.current));
    // All four regimes occur in 19 years of the CSI 300, and the shares add up.
    assert!(g.shares.iter().all(|s| s.days > 0), "{:?}", g.shares);
    let total: f64 = g.shares.iter().map(|s| s.share).sum();
    assert!((total - 1.0).abs() < 1e-9);
    // The three stocks (the index is not one of them), each in one bucket of each style.
    assert_eq!(r.symbols, 3);
    for style in [&r.volatility, &r.momentum] {
        let mut all: Vec<&String> = style.buckets.iter().flat_map(|b| &b.symbols).collect();
        all.sort();
        assert_eq!(
            all,
            ["000001.SZ", "000151.SZ", "600000.SH"],
            "{}",
            style.rule
        );
    }
    assert!(r.unavailable.iter().any(|u| u.what == "industry"));
}

#[test]
fn cutting_the_bars_after_a_date_changes_no_regime_before_it() {
    let (full_dir, cut_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let cut_day = chrono::NaiveDate::from_ymd_opt(2020, 6, 30).unwrap();
    let config = repo().join("examples/analyze/csi300-regime.toml");
    let full = report(&analyze(&config, &store_until(full_dir.path(), None)));
    let cut = report(&analyze(
        &config,
        &store_until(cut_dir.path(), Some(cut_day)),
    ));
    let (f, c) = (&full.regime.periods, &cut.regime.periods);
    // Every period that ended before the cut is the same; the one running at the cut began on
    // the same day in the same regime.
    let n = c.len();
    assert_eq!(&f[..n - 1], &c[..n - 1]);
    assert_eq!(
        (f[n - 1].from, f[n - 1].regime),
        (c[n - 1].from, c[n - 1].regime)
    );
    assert_eq!(cut.regime.as_of, Some(cut_day));
}

#[test]
fn mistakes_in_the_file_exit_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = store_until(dir.path(), None);
    for (body, want) in [
        ("[analysis]\nindx = \"000300.SH\"\n", "indx"),
        (
            "[analysis]\nindex = \"000905.SH\"\n",
            "analysis.index: `000905.SH`",
        ),
        ("[analysis]\nindex = \"30.XX\"\n", "analysis.index"),
    ] {
        let cfg = dir.path().join("bad.toml");
        std::fs::write(
            &cfg,
            format!("[universe]\nsymbols = [\"600000.SH\"]\n{body}"),
        )
        .unwrap();
        let o = analyze(&cfg, &db);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{body}: {err}");
        assert!(err.contains(want), "{body}: {err}");
    }
}

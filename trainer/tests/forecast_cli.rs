//! `kxian-trainer forecast` as a user runs it: the real binary on the embedded CSI 300 series
//! with a random checkpoint pair of the Kronos-mini shapes, and the errors bad inputs get.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use burn::tensor::Device;
use kxian_shared::model::{KronosTokenizer, TokenizerConfig, save_tokenizer};
use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The random checkpoint pair (Kronos-mini shapes), by the parity checkpoints' names.
fn parity(name: &str) -> PathBuf {
    crate::checkpoints::by_reference_name(name)
}

fn csi300() -> PathBuf {
    repo().join("server/data/hqchart/000300.sh.day.kline.json")
}

fn trainer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args(args)
        .output()
        .expect("runs")
}

fn models() -> Vec<String> {
    vec![
        "--tokenizer".into(),
        parity("Kronos-Tokenizer-2k-rand").display().to_string(),
        "--predictor".into(),
        parity("Kronos-mini-rand").display().to_string(),
    ]
}

fn forecast(extra: &[&str]) -> Output {
    let mut args = vec!["forecast".to_string()];
    args.extend(models());
    args.extend(extra.iter().map(|s| s.to_string()));
    trainer(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn forecasts_the_embedded_csi300_with_quantiles() {
    let input = csi300().display().to_string();
    let out = forecast(&[
        "--input",
        &input,
        "--horizon",
        "12",
        "--samples",
        "6",
        "--seed",
        "3",
        "--lookback",
        "200",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["symbol"], "000300.SH");
    assert_eq!(r["frequency"], "daily");
    assert_eq!(
        r["units"],
        serde_json::json!({"price": "CNY", "volume": "shares", "amount": "CNY"}),
        "the output says what its numbers are in"
    );
    assert_eq!(r["input"]["lookback"], 200);
    assert_eq!(r["input"]["last"], "2024-09-19");
    // The next trading days after 2024-09-19 (a Thursday): Friday, then Monday.
    let ts: Vec<&str> = r["timestamps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(ts.len(), 12);
    assert_eq!(&ts[..3], ["2024-09-20", "2024-09-23", "2024-09-24"]);
    assert!(
        !ts.contains(&"2024-10-01"),
        "the National Day holiday is not a trading day: {ts:?}"
    );
    assert_eq!(r["mean"].as_array().unwrap().len(), 12);
    assert_eq!(r["paths"].as_array().unwrap().len(), 6);
    assert_eq!(r["paths"][5].as_array().unwrap().len(), 12);
    for i in 0..12 {
        let q = |k: &str| r["quantiles"][k][i][3].as_f64().unwrap();
        assert!(q("p10") <= q("p50") && q("p50") <= q("p90"));
        let p = r["p_up"][i].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p));
    }
    assert_eq!(r["tokens"]["s1"].as_array().unwrap().len(), 12);
    assert_eq!(r["model"]["predictor"]["parameters"], 4_108_032);
    assert_eq!(r["model"]["tokenizer"]["parameters"], 3_958_042);
    assert_eq!(
        r["params"]["max_context"], 2048,
        "Kronos-mini's context by default"
    );
    assert!(r["model"]["backend"].as_str().unwrap().starts_with("cpu"));
    assert!(r["model"]["elapsed_ms"].as_f64().unwrap() > 0.0);

    // The same seed gives the same forecast; CSV has a row per bar.
    let again = forecast(&[
        "--input",
        &input,
        "--horizon",
        "12",
        "--samples",
        "6",
        "--seed",
        "3",
        "--lookback",
        "200",
    ]);
    let r2: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(r["paths"], r2["paths"]);
    let csv = forecast(&[
        "--input",
        &input,
        "--horizon",
        "5",
        "--lookback",
        "100",
        "--format",
        "csv",
        "--top-k",
        "1",
    ]);
    assert!(csv.status.success(), "{}", stderr(&csv));
    let text = String::from_utf8(csv.stdout).unwrap();
    assert_eq!(text.lines().count(), 6);
    assert!(text.starts_with("timestamp,open,high,low,close,volume,amount,close_p10"));
    assert!(text.lines().nth(1).unwrap().starts_with("2024-09-20,"));
}

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

#[test]
fn bad_inputs_get_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let mut csv = String::from("date,open,high,low,close,volume\n");
    for d in 1..=20 {
        csv.push_str(&format!("2024-01-{d:02},10,11,9,10.5,1000\n"));
    }
    let short = write(tmp.path(), "600000.csv", &csv);
    let out = forecast(&["--input", short.to_str().unwrap(), "--lookback", "50"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("has 20 bars but the lookback needs 50"),
        "{}",
        stderr(&out)
    );

    let nan = write(
        tmp.path(),
        "600001.csv",
        &csv.replace("2024-01-05,10,11", "2024-01-05,NaN,11"),
    );
    let out = forecast(&["--input", nan.to_str().unwrap(), "--lookback", "10"]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(e.contains("600001.csv") && e.contains("open"), "{e}");

    let out = forecast(&["--input", tmp.path().join("nope.csv").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nope.csv"));

    let input = csi300().display().to_string();
    let out = forecast(&["--input", &input, "--temperature", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("temperature"), "{}", stderr(&out));

    // A tokenizer directory given as the predictor, and a directory that holds nothing.
    let tok = parity("Kronos-Tokenizer-2k-rand").display().to_string();
    let out = trainer(&[
        "forecast",
        "--tokenizer",
        &tok,
        "--predictor",
        &tok,
        "--input",
        &input,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("tokenizer's config"),
        "{}",
        stderr(&out)
    );
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let pred = parity("Kronos-mini-rand").display().to_string();
    let out = trainer(&[
        "forecast",
        "--tokenizer",
        empty.to_str().unwrap(),
        "--predictor",
        &pred,
        "--input",
        &input,
    ]);
    assert!(stderr(&out).contains("config.json"), "{}", stderr(&out));

    // Kronos-mini with a Tokenizer-base-shaped tokenizer: refused, naming the right one.
    let base_dir = tmp.path().join("tok-base");
    let base = KronosTokenizer::new(&TokenizerConfig::kronos_base(), &Device::flex());
    kxian_trainer::models::save(&base_dir, &save_tokenizer(&base)).unwrap();
    let out = trainer(&[
        "forecast",
        "--tokenizer",
        base_dir.to_str().unwrap(),
        "--predictor",
        &pred,
        "--input",
        &input,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("Kronos-Tokenizer-2k"),
        "{}",
        stderr(&out)
    );

    // A truncated weights file.
    let cut = tmp.path().join("cut");
    std::fs::create_dir(&cut).unwrap();
    std::fs::copy(
        parity("Kronos-mini-rand/config.json"),
        cut.join("config.json"),
    )
    .unwrap();
    let w = std::fs::read(parity("Kronos-mini-rand/model.safetensors")).unwrap();
    std::fs::write(cut.join("model.safetensors"), &w[..w.len() - 1000]).unwrap();
    let out = trainer(&[
        "forecast",
        "--tokenizer",
        &tok,
        "--predictor",
        cut.to_str().unwrap(),
        "--input",
        &input,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("truncated"), "{}", stderr(&out));
}

#[test]
fn init_writes_a_checkpoint_pair_that_forecasts() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("mini");
    let o = trainer(&[
        "init",
        "--preset",
        "mini",
        "--seed",
        "7",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("4108032"), "{}", stderr(&o));
    let config: Value =
        serde_json::from_slice(&std::fs::read(out.join("predictor/config.json")).unwrap()).unwrap();
    assert_eq!(config["d_model"], 256);
    let input = csi300().display().to_string();
    let tok = out.join("tokenizer").display().to_string();
    let pred = out.join("predictor").display().to_string();
    let f = trainer(&[
        "forecast",
        "--tokenizer",
        &tok,
        "--predictor",
        &pred,
        "--input",
        &input,
        "--horizon",
        "3",
        "--lookback",
        "50",
    ]);
    assert!(f.status.success(), "{}", stderr(&f));
    assert!(
        stderr(&f).contains("device: cpu"),
        "the chosen device is said: {}",
        stderr(&f)
    );
    let r: Value = serde_json::from_slice(&f.stdout).unwrap();
    assert_eq!(r["model"]["predictor"]["parameters"], 4_108_032);
}

#[test]
fn without_a_model_the_built_in_default_forecasts() {
    let input = csi300().display().to_string();
    let out = trainer(&[
        "forecast",
        "--input",
        &input,
        "--horizon",
        "10",
        "--samples",
        "8",
        "--lookback",
        "90",
        "-q",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["model"]["predictor"]["name"], "kxian-default/predictor");
    let closes: Vec<f64> = r["mean"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row[3].as_f64().unwrap())
        .collect();
    // A trained model stays near the market: within 20 % of the last close over ten days.
    let last = r["input"]["last_close"].as_f64().unwrap();
    assert!(
        closes.iter().all(|c| (c / last - 1.0).abs() < 0.2),
        "{closes:?} from {last}"
    );
    // Only one of the pair is a usage error.
    let tok = parity("Kronos-Tokenizer-2k-rand").display().to_string();
    let half = trainer(&["forecast", "--input", &input, "--tokenizer", &tok]);
    assert_eq!(half.status.code(), Some(2));
    assert!(stderr(&half).contains("--predictor"), "{}", stderr(&half));
}

//! The wgpu path (feature `wgpu`): the same forecast on wgpu and on the CPU. Without a GPU,
//! wgpu runs on Mesa's lavapipe (Vulkan on the CPU), which is slow but tests the same code.
#![cfg(feature = "wgpu")]

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// The random checkpoint pair (Kronos-mini shapes), by the parity checkpoints' names.
fn parity(name: &str) -> String {
    crate::checkpoints::by_reference_name(name)
        .display()
        .to_string()
}

fn run(device: &str) -> Value {
    let csi300 = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../server/data/hqchart/000300.sh.day.kline.json");
    let out = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args([
            "forecast",
            "--tokenizer",
            &parity("Kronos-Tokenizer-2k-rand"),
            "--predictor",
            &parity("Kronos-mini-rand"),
        ])
        .args([
            "--input",
            csi300.to_str().unwrap(),
            "--lookback",
            "64",
            "--horizon",
            "4",
            "--top-k",
            "1",
            "--device",
            device,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{device}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn wgpu_forecast_matches_the_cpu() {
    let cpu = run("cpu");
    let gpu = run("wgpu");
    assert_eq!(gpu["model"]["backend"], "wgpu");
    assert_eq!(
        cpu["tokens"], gpu["tokens"],
        "arg-max tokens on wgpu and CPU"
    );
    for (a, b) in cpu["mean"]
        .as_array()
        .unwrap()
        .iter()
        .zip(gpu["mean"].as_array().unwrap())
    {
        for (x, y) in a.as_array().unwrap().iter().zip(b.as_array().unwrap()) {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                (x - y).abs() <= 1e-3 * x.abs().max(1.0),
                "cpu {x} vs wgpu {y}"
            );
        }
    }
}

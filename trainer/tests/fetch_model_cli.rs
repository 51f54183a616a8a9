//! `kxian-trainer fetch-model` against a loopback mock of the Hugging Face hub: the file list
//! with sizes and hashes, `resolve` URLs with `Range`, a connection that drops half-way through
//! the weights, an unknown repository and a file that does not match its listing. What arrives
//! must be a model the forecast command loads.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

#[path = "../../tests/tests/common/hub_mock.rs"]
mod hub_mock;

use hub_mock::{Faults, Hub, Repos, read_dir_files};

/// The hub holds the random Kronos-mini pair under the published names.
fn repos() -> Repos {
    let mut r = Repos::new();
    r.insert(
        "NeoQuasar/Kronos-mini".into(),
        read_dir_files(&crate::checkpoints::predictor()),
    );
    r.insert(
        "NeoQuasar/Kronos-Tokenizer-2k".into(),
        read_dir_files(&crate::checkpoints::tokenizer()),
    );
    r
}

fn fetch(hub: &Hub, models: &Path, repo: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args(["fetch-model", repo, "--endpoint", &hub.url, "--models"])
        .arg(models)
        .env_remove("HF_ENDPOINT")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_published_model_arrives_resumed_checked_and_loadable() {
    let repos = repos();
    let hub = Hub::start(
        repos.clone(),
        Faults {
            drop_once: true,
            wrong_hash: false,
        },
    );
    let tmp = tempfile::tempdir().unwrap();
    let models = tmp.path().join("models");

    let o = fetch(&hub, &models, "NeoQuasar/Kronos-mini");
    assert!(o.status.success(), "{}", stderr(&o));
    let model = models.join("Kronos-mini");
    for (part, repo) in [
        ("predictor", "NeoQuasar/Kronos-mini"),
        ("tokenizer", "NeoQuasar/Kronos-Tokenizer-2k"),
    ] {
        assert_eq!(
            read_dir_files(&model.join(part)),
            repos[repo],
            "{part} arrived byte for byte"
        );
    }
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["id"], "Kronos-mini");
    assert_eq!(report["files"].as_array().unwrap().len(), 4, "{report}");
    assert_eq!(report["files"][1]["how"], "resumed", "{report}");
    assert_eq!(
        report["files"][3]["path"],
        model
            .join("tokenizer/model.safetensors")
            .display()
            .to_string()
    );
    let log = hub.requests();
    assert!(
        log.iter()
            .any(|l| l.contains("Kronos-mini/resolve/main/model.safetensors range=Some(")),
        "the dropped download resumed with a Range request: {log:?}"
    );
    assert!(
        !std::fs::read_dir(model.join("predictor"))
            .unwrap()
            .flatten()
            .any(|e| e.path().to_string_lossy().ends_with(".part")),
        "no part file is left behind"
    );

    // The forecast command loads what arrived.
    let csi300 = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../server/data/hqchart/000300.sh.day.kline.json");
    let f = Command::new(env!("CARGO_BIN_EXE_kxian-trainer"))
        .args([
            "forecast",
            "--horizon",
            "2",
            "--lookback",
            "40",
            "--top-k",
            "1",
            "--input",
        ])
        .arg(&csi300)
        .arg("--tokenizer")
        .arg(model.join("tokenizer"))
        .arg("--predictor")
        .arg(model.join("predictor"))
        .output()
        .unwrap();
    assert!(f.status.success(), "{}", stderr(&f));
    let r: Value = serde_json::from_slice(&f.stdout).unwrap();
    assert_eq!(r["model"]["predictor"]["parameters"], 4_108_032);

    // Again: everything is there, nothing is downloaded.
    let before = hub.requests().len();
    let o = fetch(&hub, &models, "NeoQuasar/Kronos-mini");
    assert!(o.status.success(), "{}", stderr(&o));
    let again: Vec<String> = hub.requests()[before..].to_vec();
    assert!(
        !again.iter().any(|l| l.contains("model.safetensors")),
        "a second run fetches no weights: {again:?}"
    );
    assert!(stderr(&o).contains("present"), "{}", stderr(&o));
}

#[test]
fn unknown_repositories_and_files_that_do_not_check_out_are_refused() {
    let hub = Hub::start(
        repos(),
        Faults {
            drop_once: false,
            wrong_hash: true,
        },
    );
    let tmp = tempfile::tempdir().unwrap();
    let models = tmp.path().join("models");

    let o = fetch(&hub, &models, "NeoQuasar/Kronos-huge");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("NeoQuasar/Kronos-huge"),
        "{}",
        stderr(&o)
    );

    let o = fetch(&hub, &models, "not-a-repo");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("OWNER/NAME"), "{}", stderr(&o));

    // The tokenizer's weights are not what the hub lists: the run fails and keeps nothing of it.
    let o = fetch(&hub, &models, "NeoQuasar/Kronos-mini");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("does not match"), "{}", stderr(&o));
    let tok = models.join("Kronos-mini/tokenizer");
    assert!(!tok.join("model.safetensors").exists());
    assert!(
        !std::fs::read_dir(&tok)
            .unwrap()
            .flatten()
            .any(|e| e.path().to_string_lossy().ends_with(".part")),
        "a part that fails its check is removed"
    );
}

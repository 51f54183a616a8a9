//! A published model fetched from the Models page: the server's runner starts the real
//! `kxian-trainer fetch-model` against a loopback mock of the Hugging Face hub (named by the
//! server's `HF_ENDPOINT`, as a mirror would be), the page shows each file's progress, the
//! catalogue lists the new model, and the forecast page runs it in the browser.

use crate::common::{self, Browser, Server};
use crate::hub_mock::{Faults, Hub, Repos, read_dir_files};

use anyhow::{Context, Result, ensure};
use std::process::Command;
use std::time::Duration;

/// A random tiny pair (fast in a debug browser build) under hub names: a predictor whose shape
/// is not a released one, so the form names its tokenizer.
fn hub_repos(dir: &std::path::Path) -> Result<Repos> {
    let out = Command::new(common::target_bin("kxian-trainer")?)
        .args(["init", "--preset", "tiny", "--seed", "7", "--out"])
        .arg(dir)
        .output()?;
    ensure!(
        out.status.success(),
        "kxian-trainer init: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut r = Repos::new();
    r.insert(
        "someone/Kronos-tiny".into(),
        read_dir_files(&dir.join("predictor")),
    );
    r.insert(
        "someone/Kronos-tiny-tokenizer".into(),
        read_dir_files(&dir.join("tokenizer")),
    );
    Ok(r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_fetched_from_the_models_page_is_served_and_forecasts() -> Result<()> {
    let weights = tempfile::tempdir()?;
    let repos = hub_repos(weights.path())?;
    let hub = Hub::start(
        repos.clone(),
        Faults {
            drop_once: true,
            wrong_hash: false,
        },
    );
    let env = vec![("HF_ENDPOINT".to_string(), hub.url.clone())];
    let server = Server::start_with_jobs_env(true, 4, env).await?;
    server
        .store
        .create_user("admin", true)
        .await?
        .context("admin")?;
    let browser = Browser::start().await?;
    let b = &browser.client;

    b.goto(&format!("{}/models", server.base)).await?;
    browser
        .wait_for_js(
            "the fetch form",
            "return document.getElementById('fetch-submit') ? true : null;",
            Duration::from_secs(60),
            |v| v.is_boolean(),
        )
        .await?;
    b.execute(
        &format!(
            "{} {}
             document.getElementById('fetch-submit').click();",
            common::set_input("fetch-repo", "someone/Kronos-tiny"),
            common::set_input("fetch-tokenizer", "someone/Kronos-tiny-tokenizer"),
        ),
        vec![],
    )
    .await?;
    let done = browser
        .wait_for_js(
            "the fetch to end",
            "const e = document.getElementById('fetch-error'); if (e) return 'ERROR: ' + e.textContent;
             const s = document.getElementById('fetch-state');
             if (!s || !['done', 'failed', 'cancelled'].includes(s.dataset.state)) return null;
             const use = document.getElementById('fetch-use');
             // The table refetches when the job ends: wait for it (without a reload).
             const listed = !!document.querySelector('#models-table tr[data-model=\"Kronos-tiny\"]');
             if (s.dataset.state === 'done' && (!use || !listed)) return null;
             return { state: s.dataset.state, href: use ? use.getAttribute('href') : null,
                      files: [...document.querySelectorAll('#fetch-progress tbody tr')]
                          .map(r => [r.dataset.file, r.dataset.how]),
                      listed };",
            Duration::from_secs(120),
            |v| v.is_object() || v.as_str().is_some_and(|s| s.starts_with("ERROR")),
        )
        .await?;
    ensure!(done.is_object(), "{done}");
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["href"], "/forecast?model=Kronos-tiny", "{done}");
    assert_eq!(
        done["files"],
        serde_json::json!([
            ["someone/Kronos-tiny/config.json", "downloaded"],
            ["someone/Kronos-tiny/model.safetensors", "resumed"],
            ["someone/Kronos-tiny-tokenizer/config.json", "downloaded"],
            [
                "someone/Kronos-tiny-tokenizer/model.safetensors",
                "downloaded"
            ],
        ]),
        "every file arrived, the dropped one resumed: {done}"
    );
    assert!(
        hub.requests()
            .iter()
            .any(|l| l.contains("someone/Kronos-tiny/resolve/main/model.safetensors range=Some(")),
        "the dropped download resumed with a Range request"
    );

    // The catalogue serves the fetched files byte for byte, and the table lists the model.
    let list: kxian_shared::api::ModelList = serde_json::from_str(
        &ureq::get(&format!("{}/api/models", server.base))
            .call()?
            .body_mut()
            .read_to_string()?,
    )?;
    let entry = list
        .models
        .iter()
        .find(|m| m.id == "Kronos-tiny")
        .context("Kronos-tiny in /api/models")?;
    let served = ureq::get(&format!("{}{}", server.base, entry.predictor.weights.url))
        .call()?
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()?;
    assert_eq!(
        served, repos["someone/Kronos-tiny"]["model.safetensors"],
        "the predictor's weights are the hub's"
    );
    assert_eq!(
        done["listed"], true,
        "the Models table lists it without a reload: {done}"
    );

    // The forecast page runs it in this browser.
    let href = done["href"].as_str().unwrap_or_default();
    let report = browser.forecast_at(&server.base, href).await?;
    assert_eq!(report.model.predictor.name, "Kronos-tiny/predictor");
    assert_eq!(report.mean.len(), 3);
    browser.quit().await;
    Ok(())
}

//! The Training page's model zoo in headless Chromium: a GRU on the multi-dimensional tab
//! (the market's regime as a condition) submitted as a job, its curves with the learning rate
//! live, its card from the held-out part; the Models page then lists it with that card, and
//! the chart's probability strip runs a classifier other than the default when picked.

use crate::common;

use anyhow::{Context, Result, ensure};
use common::{Browser, Server, workspace_root};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zoo_model_trained_from_the_training_page_is_served_with_its_card() -> Result<()> {
    let server = Server::start_with_jobs_env(true, 4, Vec::new()).await?;
    server
        .store
        .create_user("admin", true)
        .await?
        .context("admin")?;
    let symbols = crate::planted::store_planted(&server.store, 6).await?;
    // A second classifier in the models folder: the catalogue reads it when the job's model
    // lands, and the strip may then pick it.
    let copy = server
        .models_dir()
        .join("classifier-copy")
        .join("classifier");
    std::fs::create_dir_all(&copy)?;
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(
            workspace_root()
                .join("public/models/kxian-classifier")
                .join(f),
            copy.join(f),
        )?;
    }

    let browser = Browser::start().await?;
    let b = &browser.client;
    b.goto(&format!("{}/training", server.base)).await?;
    // The page opens on the Kronos finetune; the zoo is its other tab.
    browser
        .wait_for_js(
            "the training tabs",
            "return document.getElementById('training-zoo') ? true : null;",
            Duration::from_secs(60),
            |v| v.is_boolean(),
        )
        .await?;
    b.execute("document.getElementById('training-zoo').click();", vec![])
        .await?;
    browser
        .wait_for_js(
            "the zoo form",
            "return document.getElementById('zoo-submit') ? true : null;",
            Duration::from_secs(60),
            |v| v.is_boolean(),
        )
        .await?;
    let (market, stocks) = symbols.split_first().context("symbols")?;
    b.execute(
        &format!(
            "{} {} {} {} {} {} document.getElementById('zoo-tab-multi').click();",
            common::set_input("zoo-symbols", &symbols.join(", ")),
            common::set_input("zoo-market", market),
            common::set_select("zoo-backbone", "gru"),
            common::set_select("zoo-features", "bars_market"),
            common::set_input("zoo-epochs", "2"),
            common::set_input("zoo-context", "20"),
        ),
        vec![],
    )
    .await?;
    browser
        .wait_for_js(
            "the conditions",
            "return document.getElementById('zoo-cond-regime') ? true : null;",
            Duration::from_secs(10),
            |v| v.is_boolean(),
        )
        .await?;
    b.execute(
        "document.getElementById('zoo-cond-regime').click();",
        vec![],
    )
    .await?;
    // The file follows the fields; a short run is asked for in the file itself.
    let file = browser
        .wait_for_js(
            "the training file",
            "const t = document.getElementById('zoo-config').value;
             return t.includes('conditions = [\"regime\"]') && t.includes('\"gru\"')
                 && t.includes('features = [\"bars\", \"market\"]') ? t : null;",
            Duration::from_secs(10),
            |v| v.is_string(),
        )
        .await?;
    let file = format!(
        "{}steps_per_epoch = 4\nbatch_size = 32\n",
        file.as_str().unwrap_or_default()
    );
    b.execute(
        &format!(
            "{} document.getElementById('zoo-submit').click();",
            common::set_input("zoo-config", &file)
        ),
        vec![],
    )
    .await?;
    let done = browser
        .wait_for_js(
            "the training to end",
            "const e = document.getElementById('zoo-error'); if (e) return 'ERROR: ' + e.textContent;
             const s = document.getElementById('zoo-state');
             if (s && (s.dataset.state === 'failed' || s.dataset.state === 'cancelled')) return 'ERROR: ' + s.dataset.state;
             const c = document.getElementById('zoo-card');
             if (!c) return null;
             const chart = echarts.getInstanceByDom(document.getElementById('zoo-curves'));
             const o = chart.getOption();
             const p = document.getElementById('zoo-progress');
             const set = document.getElementById('zoo-set');
             return { model: c.dataset.model, card: c.textContent, steps: +p.dataset.steps, set: set ? +set.dataset.set : null,
                      epochs: +p.dataset.epochs, lr: o.series[2].data.length, axes: o.yAxis.length,
                      val: o.series[1].data.map(p => p[1]),
                      epoch: document.getElementById('zoo-epoch').textContent };",
            Duration::from_secs(180),
            |v| v.is_object() || v.as_str().is_some_and(|s| s.starts_with("ERROR")),
        )
        .await?;
    ensure!(done.is_object(), "{done}");
    let _ = b
        .execute(
            "document.getElementById('zoo-multi').scrollIntoView();",
            vec![],
        )
        .await;
    let _ = browser.screenshot("zoo-training.png").await;
    let _ = b
        .execute(
            "document.getElementById('zoo-curves').scrollIntoView();",
            vec![],
        )
        .await;
    let _ = browser.screenshot("zoo-curves.png").await;
    assert_eq!(done["steps"], 8, "{done}");
    assert_eq!(done["epochs"], 2, "{done}");
    assert_eq!(done["lr"], 8, "the learning rate is drawn: {done}");
    assert_eq!(done["axes"], 2, "{done}");
    let epoch = done["epoch"].as_str().unwrap_or_default();
    assert!(
        epoch.starts_with("epoch 1: validation loss") && epoch.contains("points"),
        "{done}"
    );
    // 积分制 picks the checkpoint; the validation curve is still the validation loss.
    let val = done["val"].as_array().context("val")?;
    assert!(
        val.len() == 2 && val.iter().all(|v| v.as_f64().unwrap_or(0.0) > 0.05),
        "{done}"
    );
    assert!(done["set"].as_i64().is_some(), "a prediction set: {done}");
    let card = done["card"].as_str().unwrap_or_default();
    assert!(
        card.starts_with("gru on updown3") && card.contains("down_misjudge"),
        "{card}"
    );
    let model = done["model"].as_str().unwrap_or_default().to_string();
    ensure!(model.starts_with("job-"), "{done}");
    ensure!(stocks.len() == 5);

    // The Models page lists it with its card.
    b.goto(&format!("{}/models", server.base)).await?;
    let row = browser
        .wait_for_js(
            "the zoo model's row",
            &format!(
                "const r = document.querySelector('#zoo-models tr[data-model=\"{model}\"]');
                 return r ? {{ backbone: r.dataset.backbone, headline: r.querySelector('.zoo-headline').textContent }} : null;"
            ),
            Duration::from_secs(30),
            |v| v.is_object(),
        )
        .await?;
    assert_eq!(row["backbone"], "gru", "{row}");
    b.execute(
        &format!("document.getElementById('card-{model}').click();"),
        vec![],
    )
    .await?;
    let shown = browser
        .wait_for_js(
            "the card",
            "const c = document.getElementById('model-card'); return c ? c.textContent : null;",
            Duration::from_secs(20),
            |v| v.is_string(),
        )
        .await?;
    let shown = shown.as_str().unwrap_or_default();
    assert!(
        shown.contains("up_recall") && shown.contains("conditions = [\"regime\"]"),
        "{shown}"
    );

    // The strip runs the classifier picked, not only the default.
    b.goto(&format!("{}/symbols/600000.SH?freq=daily", server.base))
        .await?;
    browser
        .wait_for_js(
            "the classifier choice",
            "return document.getElementById('strip-model') && document.getElementById('kline-chart') ? true : null;",
            Duration::from_secs(60),
            |v| v.is_boolean(),
        )
        .await?;
    b.execute(
        &format!(
            "{} document.getElementById('strip-run').click();",
            common::set_select("strip-model", "classifier-copy")
        ),
        vec![],
    )
    .await?;
    let strip = browser.strip_reading("the strip").await?;
    let strip = strip["text"].as_str().unwrap_or_default();
    assert!(strip.starts_with("classifier-copy:"), "{strip}");

    // The zoo model itself runs in the browser: its strip on one of its stocks (the regime
    // read from the market's whole history) equals what evaluate-model writes for that day.
    let stock = &stocks[0];
    b.goto(&format!("{}/symbols/{stock}?freq=daily", server.base))
        .await?;
    browser
        .wait_for_js(
            "the zoo model in the choice",
            &format!(
                "const s = document.getElementById('strip-model');
                 return s && [...s.options].some(o => o.value === 'zoo:{model}') ? true : null;"
            ),
            Duration::from_secs(60),
            |v| v.is_boolean(),
        )
        .await?;
    b.execute(
        &format!(
            "{} document.getElementById('strip-run').click();",
            common::set_select("strip-model", &format!("zoo:{model}"))
        ),
        vec![],
    )
    .await?;
    let got = browser.strip_reading("the zoo model's strip").await?;
    let text = got["text"].as_str().unwrap_or_default().to_string();
    ensure!(text.starts_with(&format!("{model}:")), "{text}");
    browser.quit().await;

    let work = tempfile::tempdir()?;
    let config = work.path().join("model.toml");
    std::fs::write(
        &config,
        file.replacen(
            "[data]\n",
            &format!("[data]\nstore = {:?}\n", server.db.display().to_string()),
            1,
        ),
    )?;
    let csv = work.path().join("p.csv");
    let args = kxian_trainer::zoo::EvaluateModelArgs {
        model: server.models_dir().join(&model).join("zoo"),
        config,
        from: None,
        to: None,
        format: kxian_trainer::zoo::ModelFormat::Json,
        predictions: Some(csv.clone()),
        device: kxian_trainer::device::DeviceChoice::Cpu,
        reader: Default::default(),
    };
    tokio::task::spawn_blocking(move || kxian_trainer::zoo::evaluate(&args)).await??;
    let rows = std::fs::read_to_string(&csv)?;
    let last = rows
        .lines()
        .rev()
        .find(|l| l.starts_with(&format!("{stock},")))
        .context("the CLI's rows for the stock")?;
    // symbol,as_of,horizon,score,p_up,p_down,p_flat
    let cols: Vec<&str> = last.split(',').collect();
    ensure!(text.contains(cols[1]), "the same day: {text} vs {last}");
    for (k, key) in ["up", "down", "flat"].iter().enumerate() {
        let cli: f64 = cols[4 + k].parse()?;
        let page = got[key].as_f64().context("a probability")?;
        ensure!(
            (page - cli).abs() < 1e-5,
            "{key}: page {page} vs CLI {cli} ({last})"
        );
    }
    Ok(())
}

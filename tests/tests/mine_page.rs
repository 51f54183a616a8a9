//! The Mining page in headless Chromium: a search over stored stocks with a planted formula,
//! submitted as a job, its progress generation by generation, then the accepted formulas with
//! their test ICs; the best one, as a `top_k` score on the backtest page, trades exactly as in
//! the CLI.

use crate::common;

use anyhow::{Context, Result, ensure};
use common::{Browser, Server};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_from_the_mining_page_shows_its_formulas() -> Result<()> {
    let server = Server::start_with_jobs_env(true, 4, Vec::new()).await?;
    server
        .store
        .create_user("admin", true)
        .await?
        .context("admin")?;
    // Twelve synthetic stocks with the planted formula, stored as the machine's own series.
    let symbols = crate::planted::store_planted(&server.store, 12).await?;
    let config = format!(
        "[universe]\nsymbols = {symbols:?}\n\n[mine]\nhorizon = 5\n\
         train = {{ from = 2018-03-01, to = 2019-03-29 }}\n\
         validation = {{ from = 2019-04-01, to = 2019-12-31 }}\n\
         test = {{ from = 2020-01-02, to = 2020-09-30 }}\n\
         population = 30\ngenerations = 4\nrounds = 1\nfactors = false\nmax_seconds = 120\n"
    );
    let browser = Browser::start().await?;
    let b = &browser.client;
    b.goto(&format!("{}/mine", server.base)).await?;
    browser
        .wait_for_js(
            "the mining form",
            "return document.getElementById('mine-submit') ? true : null;",
            Duration::from_secs(60),
            |v| v.is_boolean(),
        )
        .await?;
    b.execute(
        &format!(
            "{} document.getElementById('mine-submit').click();",
            common::set_input("mine-config", &config)
        ),
        vec![],
    )
    .await?;
    let done = browser
        .wait_for_js(
            "the search to end",
            "const e = document.getElementById('mine-error'); if (e) return 'ERROR: ' + e.textContent;
             const s = document.getElementById('mine-summary');
             if (!s) return null;
             const chart = document.getElementById('mine-ic-chart');
             if (!chart || !chart.querySelector('canvas')) return null;
             const p = document.getElementById('mine-progress');
             return { tried: s.dataset.tried, accepted: s.dataset.accepted,
                      generation: p ? p.dataset.generation : null,
                      formulas: [...document.querySelectorAll('#mine-formulas .mine-formula')]
                          .map(r => [r.querySelector('code').textContent,
                                     r.querySelector('.mine-test-ic').textContent]) };",
            Duration::from_secs(120),
            |v| v.is_object() || v.as_str().is_some_and(|s| s.starts_with("ERROR")),
        )
        .await?;
    ensure!(done.is_object(), "{done}");
    let _ = browser.screenshot("mining.png").await;
    assert_eq!(done["generation"], "4", "{done}");
    assert!(
        done["tried"].as_str().unwrap().parse::<u64>()? >= 30,
        "{done}"
    );
    let formulas = done["formulas"].as_array().context("formulas")?;
    ensure!(!formulas.is_empty(), "{done}");
    let (formula, test_ic) = (
        formulas[0][0].as_str().unwrap(),
        formulas[0][1].as_str().unwrap().parse::<f64>()?,
    );
    ensure!(test_ic > 0.0, "{done}");
    // The formula the page shows is one the language reads.
    let fields: Vec<String> = ["$open", "$high", "$low", "$close", "$volume", "$vwap"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    kxian_shared::expr::parse(formula, &fields).map_err(|e| anyhow::anyhow!("{e}"))?;
    browser.quit().await;

    // The formula as a top_k score, unchanged: the backtest page's fills equal the CLI's.
    use crate::backtest_page::{open_page, run_cli, run_page, same_json};
    let toml = format!(
        "[universe]\nsymbols = {symbols:?}\nfrom = 2020-01-02\nto = 2020-09-30\n\n\
         [strategy]\nkind = \"top_k\"\nscore = {formula:?}\nk = 3\nrebalance = 5\n\n\
         [engine]\ninitial_cash = 1_000_000\n"
    );
    let browser = open_page(&server).await?;
    browser
        .client
        .execute(&common::set_input("bt-config", &toml), vec![])
        .await?;
    let page = run_page(&browser, None).await?;
    let (report, cli) = run_cli(&server, &toml).await?;
    assert_eq!(page["report"].as_str().unwrap_or_default(), report);
    same_json(&page["fills"], &cli["fills"], "fills")?;
    ensure!(
        cli["fills"].as_array().is_some_and(|f| f.len() > 10),
        "the mined score trades"
    );
    browser.quit().await;
    Ok(())
}

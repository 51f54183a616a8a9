//! `/s/:id`: a shared forecast, exactly as it was stored, for anyone with the link; "Re-run"
//! computes it again in this browser from the stored bars, model and seed and says whether it
//! came out the same.

use crate::api;
use crate::components::error::{ErrorPanel, Loading};
use crate::components::forecast_view::{ForecastData, ForecastView, backend_name};
use crate::i18n::use_i18n;
use crate::inference::device::BackendPref;
use crate::inference::{self, Stage};
use kxian_shared::Frequency;
use kxian_shared::api::{ForecastReport, ShareResponse};
use kxian_shared::model::Sampling;
use kxian_shared::model::forecast::{CacheMode, ForecastConfig};
use kxian_shared::model::report::ReportInput;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;

/// How far a re-run is from the stored forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct Agreement {
    pub tokens_equal: bool,
    /// Largest relative difference over every number of the mean and the paths.
    pub max_rel_diff: f64,
}

pub fn compare(a: &ForecastReport, b: &ForecastReport) -> Agreement {
    let max_rel_diff = a.max_rel_diff(b);
    Agreement {
        tokens_equal: max_rel_diff.is_finite() && a.tokens == b.tokens,
        max_rel_diff,
    }
}

fn config_of(r: &ForecastReport) -> ForecastConfig {
    let p = &r.params;
    ForecastConfig {
        horizon: p.horizon,
        sampling: Sampling {
            temperature: p.temperature,
            top_k: p.top_k,
            top_p: p.top_p,
        },
        samples: p.samples,
        seed: p.seed,
        max_context: p.max_context,
        cache: p.cache.parse().unwrap_or(CacheMode::Exact),
        repair_ohlc: p.repair_ohlc,
    }
}

#[derive(Debug, Clone)]
enum Rerun {
    Idle,
    Running(String),
    Failed(String),
    Done(Agreement, String, f64),
}

#[component]
pub fn SharePage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let share = LocalResource::new(move || api::share(&id.get()));
    let rerun = RwSignal::new(Rerun::Idle);
    let lang = move || i18n.lang();
    super::set_title("Shared forecast · Kxian");

    let start_rerun = move |resp: ShareResponse, backend: BackendPref| {
        rerun.set(Rerun::Running(String::new()));
        leptos::task::spawn_local(async move {
            let snap = resp.snapshot;
            let models = match api::models().await {
                Ok(m) => m,
                Err(e) => return rerun.set(Rerun::Failed(e.to_string())),
            };
            let Some(model) = models.models.into_iter().find(|m| m.id == snap.model_id) else {
                return rerun.set(Rerun::Failed(format!(
                    "this server no longer offers the model `{}`",
                    snap.model_id
                )));
            };
            if model.sha256 != snap.model_sha256 {
                return rerun.set(Rerun::Failed(format!(
                    "the model `{}` has changed since this forecast was shared (weights {} now, {} then)",
                    model.id,
                    &model.sha256[..12],
                    &snap.model_sha256[..12.min(snap.model_sha256.len())]
                )));
            }
            let frequency: Frequency = snap.frequency.parse().unwrap_or(Frequency::Daily);
            let on_stage = move |st: Stage| {
                let text = match st {
                    Stage::Forecasting { step, total } => format!("{step}/{total}"),
                    Stage::Download { done, total, .. } => {
                        format!("{:.1}/{:.1} MB", done as f64 / 1e6, total as f64 / 1e6)
                    }
                    _ => String::new(),
                };
                rerun.set(Rerun::Running(text));
            };
            let out = inference::run(
                &model,
                inference::Request {
                    input: ReportInput {
                        symbol: &snap.symbol,
                        frequency,
                        source: snap.report.input.file.clone(),
                        bars: &snap.history,
                    },
                    config: config_of(&snap.report),
                    backend,
                },
                &on_stage,
                Rc::new(Cell::new(false)),
            )
            .await;
            match out {
                Ok(o) => rerun.set(Rerun::Done(
                    compare(&snap.report, &o.report),
                    o.report.model.backend.clone(),
                    o.timing.run_ms,
                )),
                Err(e) => rerun.set(Rerun::Failed(e)),
            }
        });
    };

    let body = move || match share.get() {
        None => view! { <Loading/> }.into_any(),
        Some(Err(e)) => view! { <ErrorPanel error=e id="share-error"/> }.into_any(),
        Some(Ok(resp)) => {
            let snap = &resp.snapshot;
            let data = Arc::new(ForecastData {
                symbol: snap.symbol.clone(),
                frequency: snap.frequency.parse().unwrap_or(Frequency::Daily),
                history: snap.history.clone(),
                actual: snap.actual.clone(),
                report: snap.report.clone(),
                timing: None,
            });
            let title = format!(
                "{} {} · {} → {}",
                snap.symbol,
                snap.name.clone().unwrap_or_default(),
                snap.report.input.last,
                snap.report.timestamps.last().cloned().unwrap_or_default()
            );
            let created = resp.created_at.clone();
            let model = format!("{} ({}…)", snap.model_id, &snap.model_sha256[..12]);
            let for_auto = resp.clone();
            let for_cpu = resp.clone();
            let status = move || {
                match rerun.get() {
                Rerun::Idle => ().into_any(),
                Rerun::Running(t) => view! {
                    <span id="rerun-status" data-state="running">{format!("{} {t}", lang().tr("重新计算中…", "Re-running…"))}</span>
                }
                .into_any(),
                Rerun::Failed(e) => view! {
                    <span id="rerun-status" class="error-message" data-state="failed">{e}</span>
                }
                .into_any(),
                Rerun::Done(a, backend, ms) => {
                    let same = a.tokens_equal && a.max_rel_diff < 1e-3;
                    view! {
                        <span id="rerun-status" data-state="done" data-same=same.to_string()
                            data-tokens-equal=a.tokens_equal.to_string()
                            data-max-rel-diff=format!("{:e}", a.max_rel_diff)
                            class=if same { "ok" } else { "bad" }>
                            {format!("{} · {} · {:.0} ms · {} {:.1e}",
                                if same { lang().tr("结果一致", "Same result") } else { lang().tr("结果不同", "Different result") },
                                backend_name(lang(), &backend), ms,
                                lang().tr("最大相对差", "max relative difference"), a.max_rel_diff)}
                        </span>
                    }
                    .into_any()
                }
            }
            };
            view! {
                <div class="share-head">
                    <h1 id="share-title">{title}</h1>
                    <p class="muted">{move || format!("{} {created} · {} {model}",
                        lang().tr("分享于", "Shared"), lang().tr("模型", "model"))}</p>
                    <div class="share-row">
                        <button type="button" id="rerun" class="btn btn-primary"
                            prop:disabled=move || matches!(rerun.get(), Rerun::Running(_))
                            on:click=move |_| start_rerun(for_auto.clone(), BackendPref::Auto)>
                            {move || lang().tr("在本浏览器重新计算", "Re-run in this browser")}
                        </button>
                        <button type="button" class="btn" id="rerun-cpu"
                            prop:disabled=move || matches!(rerun.get(), Rerun::Running(_))
                            on:click=move |_| start_rerun(for_cpu.clone(), BackendPref::Cpu)>
                            {move || lang().tr("用 CPU 重新计算", "Re-run on the CPU")}
                        </button>
                        {status}
                    </div>
                </div>
                <ForecastView data=data/>
            }
            .into_any()
        }
    };
    view! {
        <div class="page share-page">
            <section class="panel">{body}</section>
        </div>
    }
}

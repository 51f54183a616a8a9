//! The run's progress line: which stage, how far, and a cancel button.

use crate::i18n::{Lang, use_i18n};
use crate::inference::Stage;
use leptos::prelude::*;
use std::cell::Cell;
use std::rc::Rc;

#[component]
pub fn RunProgress(
    stage: Stage,
    cancel: StoredValue<Rc<Cell<bool>>, LocalStorage>,
) -> impl IntoView {
    let i18n = use_i18n();
    let pct = stage_fraction(&stage) * 100.0;
    let label = format!("{stage:?}");
    view! {
        <div class="forecast-progress" id="forecast-progress" data-stage=label>
            <progress max="100" value=format!("{pct:.0}")></progress>
            <span>{move || stage_text(i18n.lang(), &stage)}</span>
            <button type="button" class="btn" id="forecast-cancel"
                on:click=move |_| cancel.with_value(|c| c.set(true))>
                {move || i18n.tr("取消", "Cancel")}
            </button>
        </div>
    }
}

fn stage_text(lang: Lang, s: &Stage) -> String {
    match s {
        Stage::Device => lang.tr("准备设备…", "Starting the device…").into(),
        Stage::Download {
            done,
            total,
            cached,
        } => format!(
            "{} {:.1} / {:.1} MB{}",
            lang.tr("下载模型", "Downloading the model"),
            *done as f64 / 1e6,
            *total as f64 / 1e6,
            if *cached {
                lang.tr("（缓存）", " (cache)")
            } else {
                ""
            }
        ),
        Stage::Loading => lang.tr("加载模型…", "Building the model…").into(),
        Stage::Forecasting { step, total } => {
            format!("{} {step}/{total}", lang.tr("预测第", "Forecasting bar"))
        }
    }
}

fn stage_fraction(s: &Stage) -> f64 {
    match s {
        Stage::Device => 0.0,
        Stage::Download { done, total, .. } => *done as f64 / (*total).max(1) as f64,
        Stage::Loading => 1.0,
        Stage::Forecasting { step, total } => *step as f64 / (*total).max(1) as f64,
    }
}

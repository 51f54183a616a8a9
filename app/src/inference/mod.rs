//! In-browser forecasting: the model's weights downloaded once and kept in the browser's
//! Cache Storage ([`weights`]), burn on WebGPU or, where the browser has none, on the flex CPU
//! backend compiled to wasm ([`device`]), and the same bars-to-report path the native CLI
//! takes (`kxian_shared::model::report`), so both give the same numbers.

pub mod classify;
pub mod device;
pub mod weights;
pub mod zoo;

use device::{BackendPref, Picked};
use kxian_shared::api::{ForecastReport, ModelEntry};
use kxian_shared::model::forecast::{ForecastConfig, Progress};
use kxian_shared::model::report::{
    ReportDevice, ReportInput, ReportModels, default_context, forecast_report,
};
use kxian_shared::model::{KronosPredictor, KronosTokenizer, load_predictor, load_tokenizer};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

/// Where a run is: what the progress bar shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    Device,
    Download { done: u64, total: u64, cached: bool },
    Loading,
    Forecasting { step: usize, total: usize },
}

/// What a finished run measured, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Timing {
    pub device_ms: f64,
    pub download_ms: f64,
    /// Building the model on the device from the weights.
    pub init_ms: f64,
    pub run_ms: f64,
    /// Until the first forecast bar: normalising, tokenizing and the history's prefill.
    pub first_bar_ms: f64,
    /// True when every weight file came from the browser's cache.
    pub cached: bool,
}

pub struct Outcome {
    pub report: ForecastReport,
    pub timing: Timing,
}

/// Everything a run needs besides the model.
pub struct Request<'a> {
    /// The history (already cut to the lookback) and where it came from.
    pub input: ReportInput<'a>,
    pub config: ForecastConfig,
    pub backend: BackendPref,
}

struct Loaded {
    key: String,
    tokenizer: KronosTokenizer,
    predictor: KronosPredictor,
}

thread_local! {
    /// The last model built, so a second run on the same backend skips download and init.
    static LOADED: RefCell<Option<Rc<Loaded>>> = const { RefCell::new(None) };
}

pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

/// Resolves on the next macrotask, letting the page paint and handle input.
pub fn next_macrotask() -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            if let Some(w) = web_sys::window() {
                let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    })
}

/// Downloads (or takes from the cache), builds and runs. `on_stage` is called as the run
/// moves on; `cancelled` is read between bars.
pub async fn run(
    model: &ModelEntry,
    req: Request<'_>,
    on_stage: &dyn Fn(Stage),
    cancelled: Rc<Cell<bool>>,
) -> Result<Outcome, String> {
    let mut timing = Timing::default();
    on_stage(Stage::Device);
    let t0 = now_ms();
    let picked: Picked = device::pick(req.backend).await;
    timing.device_ms = now_ms() - t0;

    let key = format!("{}@{}", model.sha256, picked.backend);
    let cached_model = LOADED.with_borrow(|l| l.as_ref().filter(|l| l.key == key).cloned());
    let loaded = match cached_model {
        Some(l) => {
            timing.cached = true;
            l
        }
        None => {
            let t1 = now_ms();
            let files = weights::fetch_model(model, &|done, total, cached| {
                on_stage(Stage::Download {
                    done,
                    total,
                    cached,
                })
            })
            .await?;
            timing.download_ms = now_ms() - t1;
            timing.cached = files.all_cached;
            on_stage(Stage::Loading);
            next_macrotask().await;
            let t2 = now_ms();
            let tokenizer = load_tokenizer(
                &files.tokenizer_config,
                &files.tokenizer_weights,
                &picked.device,
            )
            .map_err(|e| format!("{}: tokenizer: {e}", model.id))?;
            let predictor = load_predictor(
                &files.predictor_config,
                &files.predictor_weights,
                &picked.device,
            )
            .map_err(|e| format!("{}: predictor: {e}", model.id))?;
            timing.init_ms = now_ms() - t2;
            let l = Rc::new(Loaded {
                key,
                tokenizer,
                predictor,
            });
            LOADED.with_borrow_mut(|slot| *slot = Some(Rc::clone(&l)));
            l
        }
    };

    let mut config = req.config;
    if config.max_context == 0 {
        config.max_context = default_context(&loaded.predictor.config);
    }
    let horizon = config.horizon;
    on_stage(Stage::Forecasting {
        step: 0,
        total: horizon,
    });
    // Yield to the page at most once a frame: a setTimeout per bar would cost more than a
    // small model's bar.
    let last_yield = Rc::new(Cell::new(now_ms()));
    let pause = {
        let last_yield = Rc::clone(&last_yield);
        move || -> Pin<Box<dyn Future<Output = ()>>> {
            if now_ms() - last_yield.get() < 16.0 {
                return Box::pin(async {});
            }
            let last_yield = Rc::clone(&last_yield);
            Box::pin(async move {
                next_macrotask().await;
                last_yield.set(now_ms());
            })
        }
    };
    let t3 = now_ms();
    let first_bar = Cell::new(0.0);
    let mut progress = |p: Progress| {
        if p.step == 1 {
            first_bar.set(now_ms() - t3);
        }
        on_stage(Stage::Forecasting {
            step: p.step,
            total: p.total,
        });
        !cancelled.get()
    };
    let mut report = forecast_report(
        &ReportModels {
            tokenizer: &loaded.tokenizer,
            predictor: &loaded.predictor,
            tokenizer_name: format!("{}/tokenizer", model.id),
            predictor_name: format!("{}/predictor", model.id),
        },
        &req.input,
        &config,
        &ReportDevice {
            device: &picked.device,
            backend: picked.backend.to_string(),
            reason: picked.reason.clone(),
        },
        &mut progress,
        Some(&pause),
    )
    .await
    .map_err(|e| e.to_string())?;
    timing.run_ms = now_ms() - t3;
    timing.first_bar_ms = first_bar.get();
    report.model.elapsed_ms = timing.run_ms;
    report.model.ms_per_bar = timing.run_ms / horizon.max(1) as f64;
    Ok(Outcome { report, timing })
}

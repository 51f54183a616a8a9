//! Which burn device runs the forecast: WebGPU when the browser offers an adapter, else the
//! flex CPU backend compiled to wasm. The WebGPU runtime can be initialised once per page, so
//! its outcome is remembered.

use burn::tensor::Device;
use burn::tensor::wgpu::WgpuBackend;
use std::cell::RefCell;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendPref {
    /// WebGPU when available, else the CPU.
    #[default]
    Auto,
    Cpu,
}

impl BackendPref {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendPref::Auto => "auto",
            BackendPref::Cpu => "cpu",
        }
    }

    pub fn parse(s: &str) -> Option<BackendPref> {
        match s {
            "auto" | "webgpu" => Some(BackendPref::Auto),
            "cpu" => Some(BackendPref::Cpu),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Picked {
    pub device: Device,
    /// `webgpu` or `cpu`.
    pub backend: &'static str,
    /// Why this one, in words for the page.
    pub reason: String,
}

thread_local! {
    static WEBGPU: RefCell<Option<Result<Device, String>>> = const { RefCell::new(None) };
}

fn cpu(reason: String) -> Picked {
    Picked {
        device: Device::flex(),
        backend: "cpu",
        reason,
    }
}

async fn adapter_info() -> Result<String, String> {
    let window = web_sys::window().ok_or("no window")?;
    let gpu = js_sys::Reflect::get(&window.navigator(), &JsValue::from_str("gpu"))
        .map_err(|_| "navigator.gpu is not readable")?;
    if gpu.is_undefined() || gpu.is_null() {
        return Err("this browser has no WebGPU (navigator.gpu is missing)".into());
    }
    let request = js_sys::Reflect::get(&gpu, &"requestAdapter".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or("navigator.gpu.requestAdapter is missing")?;
    let promise = request
        .call0(&gpu)
        .map_err(|e| format!("requestAdapter failed: {e:?}"))?;
    let adapter = JsFuture::from(js_sys::Promise::from(promise))
        .await
        .map_err(|e| format!("requestAdapter failed: {e:?}"))?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err("WebGPU found no adapter".into());
    }
    let info = js_sys::Reflect::get(&adapter, &"info".into()).unwrap_or(JsValue::UNDEFINED);
    let field = |k: &str| {
        js_sys::Reflect::get(&info, &k.into())
            .ok()
            .and_then(|v| v.as_string())
            .filter(|s| !s.is_empty())
    };
    let name = [field("vendor"), field("architecture"), field("description")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    Ok(if name.is_empty() {
        "adapter".to_string()
    } else {
        name
    })
}

use wasm_bindgen::JsCast;

async fn init_webgpu() -> Result<(Device, String), String> {
    let info = adapter_info().await?;
    let device = Device::wgpu_options()
        .graphics_api(WgpuBackend::WebGpu)
        .init_async()
        .await
        .map_err(|e| format!("WebGPU did not start: {e}"))?;
    Ok((device, info))
}

thread_local! {
    static WEBGPU_INFO: RefCell<String> = const { RefCell::new(String::new()) };
}

pub async fn pick(pref: BackendPref) -> Picked {
    if pref == BackendPref::Cpu {
        return cpu("CPU chosen on the page".into());
    }
    let known = WEBGPU.with_borrow(|w| w.clone());
    let result = match known {
        Some(r) => r,
        None => {
            let r = init_webgpu().await.map(|(d, info)| {
                WEBGPU_INFO.with_borrow_mut(|i| *i = info);
                d
            });
            WEBGPU.with_borrow_mut(|w| *w = Some(r.clone()));
            r
        }
    };
    match result {
        Ok(device) => Picked {
            device,
            backend: "webgpu",
            reason: format!("WebGPU adapter: {}", WEBGPU_INFO.with_borrow(|i| i.clone())),
        },
        Err(why) => cpu(format!("{why}; running on the CPU (wasm)")),
    }
}

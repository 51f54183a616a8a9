//! Which burn device runs the forecast: WebGPU when the browser offers a hardware adapter,
//! else the flex CPU backend compiled to wasm. A software adapter is WebGPU emulated on the CPU
//! (headless Chromium's SwiftShader took 55 s for the default forecast the wasm CPU path runs in
//! 1 s), so "auto" never takes one; choosing WebGPU on the page still does. The adapter is asked
//! once and the WebGPU runtime started once per page, so both outcomes are remembered.

use burn::tensor::Device;
#[cfg(all(target_arch = "wasm32", feature = "webgpu"))]
use burn::tensor::wgpu::WgpuBackend;
use std::cell::RefCell;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendPref {
    /// WebGPU on a hardware adapter, else the CPU: a software adapter (SwiftShader, llvmpipe,
    /// WARP) emulates a GPU on the CPU and is many times slower than the wasm CPU path.
    #[default]
    Auto,
    Cpu,
    /// WebGPU on whatever adapter the browser gives, software ones included.
    WebGpu,
}

impl BackendPref {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendPref::Auto => "auto",
            BackendPref::Cpu => "cpu",
            BackendPref::WebGpu => "webgpu",
        }
    }

    pub fn parse(s: &str) -> Option<BackendPref> {
        match s {
            "auto" => Some(BackendPref::Auto),
            "cpu" => Some(BackendPref::Cpu),
            "webgpu" => Some(BackendPref::WebGpu),
            _ => None,
        }
    }
}

/// What the browser says about its WebGPU adapter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AdapterInfo {
    pub vendor: String,
    pub architecture: String,
    pub description: String,
    /// `GPUAdapterInfo.isFallbackAdapter` (or the older `GPUAdapter.isFallbackAdapter`).
    pub is_fallback: bool,
}

impl AdapterInfo {
    /// "google swiftshader …", for the page.
    pub fn name(&self) -> String {
        let name = [&self.vendor, &self.architecture, &self.description]
            .into_iter()
            .filter(|s| !s.is_empty())
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ");
        if name.is_empty() {
            "adapter".into()
        } else {
            name
        }
    }

    /// Why this adapter is a CPU emulation, if it is one: the browser flags it as a fallback,
    /// or it names one of the software rasterisers browsers ship.
    pub fn software(&self) -> Option<String> {
        if self.is_fallback {
            return Some("the browser marks it as a fallback adapter".into());
        }
        let text = self.name().to_ascii_lowercase();
        [
            "swiftshader",
            "llvmpipe",
            "lavapipe",
            "softpipe",
            "microsoft basic render",
            "warp",
        ]
        .into_iter()
        .find(|k| text.contains(k))
        .map(|k| format!("{k} is a software renderer"))
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

#[cfg(all(target_arch = "wasm32", feature = "webgpu"))]
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

async fn adapter_info() -> Result<AdapterInfo, String> {
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
    let text = |k: &str| {
        js_sys::Reflect::get(&info, &k.into())
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default()
    };
    let flag = |o: &JsValue| {
        js_sys::Reflect::get(o, &"isFallbackAdapter".into())
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    };
    Ok(AdapterInfo {
        vendor: text("vendor"),
        architecture: text("architecture"),
        description: text("description"),
        is_fallback: flag(&info) || flag(&adapter),
    })
}

use wasm_bindgen::JsCast;

thread_local! {
    static ADAPTER: RefCell<Option<Result<AdapterInfo, String>>> = const { RefCell::new(None) };
}

/// The adapter's description, asked once per page.
async fn adapter() -> Result<AdapterInfo, String> {
    if let Some(known) = ADAPTER.with_borrow(|a| a.clone()) {
        return known;
    }
    let r = adapter_info().await;
    ADAPTER.with_borrow_mut(|a| *a = Some(r.clone()));
    r
}

/// Whether this build can run WebGPU at all: the native build (the app's unit tests) cannot, nor
/// can the browser bundle `scripts/run.sh` serves first, before its full build is done.
const HAS_WEBGPU: bool = cfg!(all(target_arch = "wasm32", feature = "webgpu"));

/// Why this build has no WebGPU, for the page.
const NO_WEBGPU: &str = "this build of the app has no WebGPU (scripts/run.sh serves a CPU-only \
     build first and swaps in the full one when it is built: reload the page then)";

#[cfg(not(all(target_arch = "wasm32", feature = "webgpu")))]
async fn webgpu_device() -> Result<Device, String> {
    Err(NO_WEBGPU.into())
}

/// The WebGPU device, started once per page (burn's runtime cannot be started twice).
#[cfg(all(target_arch = "wasm32", feature = "webgpu"))]
async fn webgpu_device() -> Result<Device, String> {
    if let Some(known) = WEBGPU.with_borrow(|w| w.clone()) {
        return known;
    }
    let r = Device::wgpu_options()
        .graphics_api(WgpuBackend::WebGpu)
        .init_async()
        .await
        .map_err(|e| format!("WebGPU did not start: {e}"));
    WEBGPU.with_borrow_mut(|w| *w = Some(r.clone()));
    r
}

pub async fn pick(pref: BackendPref) -> Picked {
    if pref == BackendPref::Cpu {
        return cpu("CPU chosen on the page".into());
    }
    if !HAS_WEBGPU {
        return cpu(format!("{NO_WEBGPU}; running on the CPU (wasm)"));
    }
    let info = match adapter().await {
        Ok(info) => info,
        Err(why) => return cpu(format!("{why}; running on the CPU (wasm)")),
    };
    let software = info.software();
    if let (BackendPref::Auto, Some(why)) = (pref, &software) {
        return cpu(format!(
            "WebGPU adapter {} is not a GPU ({why}); the CPU (wasm) is faster, so auto runs there",
            info.name()
        ));
    }
    match webgpu_device().await {
        Ok(device) => Picked {
            device,
            backend: "webgpu",
            reason: match software {
                Some(why) => format!("WebGPU chosen on the page; adapter {} ({why})", info.name()),
                None => format!("WebGPU adapter: {}", info.name()),
            },
        },
        Err(why) => cpu(format!("{why}; running on the CPU (wasm)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter(vendor: &str, architecture: &str, description: &str) -> AdapterInfo {
        AdapterInfo {
            vendor: vendor.into(),
            architecture: architecture.into(),
            description: description.into(),
            is_fallback: false,
        }
    }

    #[test]
    fn software_adapters_are_recognised_and_gpus_are_not() {
        for soft in [
            adapter("google", "swiftshader", ""),
            adapter("mesa", "", "llvmpipe (LLVM 15.0.6, 256 bits)"),
            adapter("microsoft", "", "Microsoft Basic Render Driver"),
            AdapterInfo {
                is_fallback: true,
                ..adapter("", "", "")
            },
        ] {
            assert!(soft.software().is_some(), "{soft:?}");
        }
        for gpu in [
            adapter("nvidia", "ampere", "NVIDIA GeForce RTX 3060"),
            adapter("apple", "metal-3", ""),
            adapter("intel", "gen-12lp", ""),
            adapter("", "", ""),
        ] {
            assert_eq!(gpu.software(), None, "{gpu:?}");
        }
        assert_eq!(
            adapter("google", "swiftshader", "").name(),
            "google swiftshader"
        );
    }

    #[test]
    fn backend_choices_round_trip_through_the_url() {
        for b in [BackendPref::Auto, BackendPref::Cpu, BackendPref::WebGpu] {
            assert_eq!(BackendPref::parse(b.as_str()), Some(b));
        }
        assert_eq!(BackendPref::parse("gpu"), None);
    }

    #[test]
    fn a_build_without_webgpu_runs_every_choice_on_the_cpu_and_says_why() {
        // The native build has no WebGPU, like run.sh's first bundle: `pick` must answer without
        // asking the browser (there is none here) and say why on the page.
        for pref in [BackendPref::Auto, BackendPref::WebGpu] {
            let mut fut = std::pin::pin!(pick(pref));
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            let std::task::Poll::Ready(picked) = fut.as_mut().poll(&mut cx) else {
                panic!("{pref:?}: pick waited for a browser");
            };
            assert_eq!(picked.backend, "cpu");
            assert!(picked.reason.contains("no WebGPU"), "{}", picked.reason);
        }
    }
}

//! Picking the burn device at the edge: the CPU (flex) always, wgpu and CUDA when built with
//! their features. `auto` takes CUDA when a GPU answers and says why it chose what it chose.

use burn::tensor::Device;

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceChoice {
    Auto,
    Cpu,
    Wgpu,
    Cuda,
}

/// The device with a name for reports and the reason it was picked.
#[derive(Debug, Clone)]
pub struct Picked {
    pub device: Device,
    pub backend: &'static str,
    pub why: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error(
        "this kxian-trainer was built without the `{0}` feature; rebuild with `cargo build --release -p kxian-trainer --features {0}`"
    )]
    NotBuilt(&'static str),
    #[error("no CUDA device answered (is the NVIDIA driver installed and a GPU visible?)")]
    NoCuda,
}

fn cpu(why: String) -> Picked {
    Picked {
        device: Device::flex(),
        backend: "cpu (burn-flex)",
        why,
    }
}

#[cfg(feature = "cuda")]
fn first_cuda() -> Option<Device> {
    // `enumerate` checks for libcuda before touching it: no panic on a machine without one.
    Device::enumerate(burn::tensor::DeviceType::Cuda)
        .into_vec()
        .into_iter()
        .next()
}

pub fn pick(choice: DeviceChoice) -> Result<Picked, DeviceError> {
    match choice {
        DeviceChoice::Cpu => Ok(cpu("asked for".into())),
        DeviceChoice::Auto => {
            #[cfg(feature = "cuda")]
            if let Some(device) = first_cuda() {
                return Ok(Picked {
                    device,
                    backend: "cuda",
                    why: "auto: a CUDA device answered".into(),
                });
            }
            let why = if cfg!(feature = "cuda") {
                "auto: no CUDA device answered".to_string()
            } else {
                "auto: built without CUDA (feature `cuda`)".to_string()
            };
            Ok(cpu(why))
        }
        DeviceChoice::Wgpu => {
            #[cfg(feature = "wgpu")]
            return Ok(Picked {
                device: Device::wgpu(Default::default()),
                backend: "wgpu",
                why: "asked for".into(),
            });
            #[cfg(not(feature = "wgpu"))]
            Err(DeviceError::NotBuilt("wgpu"))
        }
        DeviceChoice::Cuda => {
            #[cfg(feature = "cuda")]
            return first_cuda()
                .map(|device| Picked {
                    device,
                    backend: "cuda",
                    why: "asked for".into(),
                })
                .ok_or(DeviceError::NoCuda);
            #[cfg(not(feature = "cuda"))]
            Err(DeviceError::NotBuilt("cuda"))
        }
    }
}

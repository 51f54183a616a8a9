//! The Kronos K-line foundation model on burn: the BSQ tokenizer, the autoregressive
//! predictor, checkpoints in the reference's Hugging Face layout, and forecasting.
//!
//! No backend is chosen here; every function takes a `Device`, and binaries pick the backend
//! (flex on the CPU, wgpu, CUDA). It reproduces the reference implementation
//! (upstream Kronos) number for number.

pub mod checkpoint;
pub mod classifier;
pub mod config;
pub mod forecast;
#[cfg(feature = "fused")]
pub mod fused;
pub mod layers;
pub mod predictor;
pub mod report;
pub mod safetensors;
pub mod sampling;
pub mod tokenizer;

pub use checkpoint::{
    AnyConfig, CheckpointError, ReleasedPair, Saved, check_pair, load_classifier, load_predictor,
    load_tokenizer, parse_config, released_pair, save_classifier, save_predictor, save_tokenizer,
};
pub use config::{PredictorConfig, TokenizerConfig};
pub use forecast::{
    CacheMode, Forecast, ForecastConfig, ForecastError, ForecastInput, forecast, forecast_async,
};
pub use predictor::KronosPredictor;
pub use sampling::Sampling;
pub use tokenizer::KronosTokenizer;

/// A configuration the architecture cannot be built from.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error("{0}")]
    Config(String),
}

//! `kxian-trainer init`: a randomly initialised tokenizer + predictor of a named Kronos shape,
//! written in the Hugging Face layout. The starting point for training from scratch, and a
//! checkpoint of any released shape to check against the reference without downloading one.

use std::path::PathBuf;

use burn::tensor::Device;
use kxian_shared::model::{
    KronosPredictor, KronosTokenizer, PredictorConfig, TokenizerConfig, save_predictor,
    save_tokenizer,
};

use crate::models::{self, ModelDirError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// Kxian's default model: the Kronos architecture at d_model 64 (about 0.6M parameters,
    /// 2.3 MB), small enough to ship in the repository and to run in a browser.
    Tiny,
    /// Kronos-mini (4.1M) with Kronos-Tokenizer-2k.
    Mini,
    /// Kronos-small (24.7M) with Kronos-Tokenizer-base.
    Small,
    /// Kronos-base (102.3M) with Kronos-Tokenizer-base.
    Base,
}

impl Preset {
    pub fn configs(self) -> (TokenizerConfig, PredictorConfig) {
        match self {
            Preset::Tiny => (
                TokenizerConfig {
                    d_model: 64,
                    n_heads: 2,
                    ff_dim: 128,
                    n_enc_layers: 3,
                    n_dec_layers: 3,
                    ..TokenizerConfig::kronos_2k()
                },
                PredictorConfig {
                    d_model: 64,
                    n_heads: 2,
                    ff_dim: 128,
                    n_layers: 3,
                    ffn_dropout_p: 0.0,
                    resid_dropout_p: 0.0,
                    ..PredictorConfig::kronos_mini()
                },
            ),
            Preset::Mini => (TokenizerConfig::kronos_2k(), PredictorConfig::kronos_mini()),
            Preset::Small => (
                TokenizerConfig::kronos_base(),
                PredictorConfig::kronos_small(),
            ),
            Preset::Base => (
                TokenizerConfig::kronos_base(),
                PredictorConfig::kronos_base(),
            ),
        }
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct InitArgs {
    #[arg(long, value_enum)]
    pub preset: Preset,
    /// Seed of the random initialisation.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Writes `DIR/tokenizer` and `DIR/predictor`.
    #[arg(long)]
    pub out: PathBuf,
}

/// Writes both directories and returns their parameter counts.
pub fn run(args: &InitArgs) -> Result<(usize, usize), ModelDirError> {
    let (tc, pc) = args.preset.configs();
    let device = Device::flex();
    device.seed(args.seed);
    let tokenizer = KronosTokenizer::new(&tc, &device);
    let predictor = KronosPredictor::new(&pc, &device);
    models::save(&args.out.join("tokenizer"), &save_tokenizer(&tokenizer))?;
    models::save(&args.out.join("predictor"), &save_predictor(&predictor))?;
    Ok((tc.parameter_count(), pc.parameter_count()))
}

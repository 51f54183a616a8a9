//! Model directories in the Hugging Face layout (`config.json` + `model.safetensors`), as the
//! published Kronos checkpoints and our own trainer write them.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use kxian_shared::model::checkpoint::{self, CheckpointError, Saved};
use kxian_shared::model::{KronosPredictor, KronosTokenizer};

#[derive(Debug, thiserror::Error)]
pub enum ModelDirError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{dir}: {source}")]
    Checkpoint {
        dir: PathBuf,
        source: CheckpointError,
    },
    #[error("{path}: cannot write: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn read(dir: &Path, file: &str) -> Result<Vec<u8>, ModelDirError> {
    let path = dir.join(file);
    std::fs::read(&path).map_err(|source| {
        let hint = if source.kind() == std::io::ErrorKind::NotFound {
            " (a model directory holds config.json and model.safetensors)"
        } else {
            ""
        };
        ModelDirError::Read {
            path: path.clone(),
            source: std::io::Error::new(source.kind(), format!("{source}{hint}")),
        }
    })
}

/// Kxian's default model (`public/models/kxian-default`, made by
/// `scripts/train-default-model.sh`), compiled in so the binary forecasts with no download.
pub mod default_model {
    pub const NAME: &str = "kxian-default";
    pub const TOKENIZER_CONFIG: &[u8] =
        include_bytes!("../../public/models/kxian-default/tokenizer/config.json");
    pub const TOKENIZER_WEIGHTS: &[u8] =
        include_bytes!("../../public/models/kxian-default/tokenizer/model.safetensors");
    pub const PREDICTOR_CONFIG: &[u8] =
        include_bytes!("../../public/models/kxian-default/predictor/config.json");
    pub const PREDICTOR_WEIGHTS: &[u8] =
        include_bytes!("../../public/models/kxian-default/predictor/model.safetensors");
}

/// The built-in default tokenizer and predictor.
pub fn load_default(
    device: &Device,
) -> Result<(KronosTokenizer, KronosPredictor), CheckpointError> {
    use default_model::*;
    Ok((
        checkpoint::load_tokenizer(TOKENIZER_CONFIG, TOKENIZER_WEIGHTS, device)?,
        checkpoint::load_predictor(PREDICTOR_CONFIG, PREDICTOR_WEIGHTS, device)?,
    ))
}

pub fn load_tokenizer(dir: &Path, device: &Device) -> Result<KronosTokenizer, ModelDirError> {
    let (config, weights) = (read(dir, "config.json")?, read(dir, "model.safetensors")?);
    checkpoint::load_tokenizer(&config, &weights, device).map_err(|source| {
        ModelDirError::Checkpoint {
            dir: dir.to_path_buf(),
            source,
        }
    })
}

pub fn load_predictor(dir: &Path, device: &Device) -> Result<KronosPredictor, ModelDirError> {
    let (config, weights) = (read(dir, "config.json")?, read(dir, "model.safetensors")?);
    checkpoint::load_predictor(&config, &weights, device).map_err(|source| {
        ModelDirError::Checkpoint {
            dir: dir.to_path_buf(),
            source,
        }
    })
}

/// Writes a model directory atomically: each file goes to a temporary name first, so a crash
/// never leaves half a checkpoint under the real name.
pub fn save(dir: &Path, saved: &Saved) -> Result<(), ModelDirError> {
    let write = |name: &str, bytes: &[u8]| -> Result<(), ModelDirError> {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        let err = |source| ModelDirError::Write {
            path: path.clone(),
            source,
        };
        std::fs::write(&tmp, bytes).map_err(err)?;
        std::fs::rename(&tmp, &path).map_err(err)
    };
    std::fs::create_dir_all(dir).map_err(|source| ModelDirError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    write("model.safetensors", &saved.safetensors)?;
    write("config.json", saved.config_json.as_bytes())
}

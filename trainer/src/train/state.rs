//! A stage's resumable state and its checkpoints (`last/`, `best/`).

use super::*;

/// Where a stage stands, saved inside each `last` checkpoint so weights and position always
/// travel together.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct TrainState {
    /// The epoch in progress and the batches of it already done.
    pub epoch: usize,
    pub batch: usize,
    pub step: usize,
    pub best_val_loss: f32,
    pub first_val_loss: f32,
    /// The validation loss before training, when the loop selects on something else.
    #[serde(default)]
    pub first_reported_loss: Option<f32>,
    pub epochs: Vec<(f32, f32)>,
    pub done: bool,
}

pub(super) const STATE_FILE: &str = "train_state.json";

pub(crate) fn save_dir(
    dir: &Path,
    saved: &kxian_shared::model::Saved,
    state: Option<&TrainState>,
) -> anyhow::Result<()> {
    // Write beside, then swap in: a kill leaves either the old or the new checkpoint whole
    // (`last.old` covers the moment between the two renames).
    let tmp = dir.with_extension("tmp");
    let old = dir.with_extension("old");
    let _ = std::fs::remove_dir_all(&tmp);
    models::save(&tmp, saved)?;
    if let Some(state) = state {
        std::fs::write(tmp.join(STATE_FILE), serde_json::to_vec_pretty(state)?)?;
    }
    let _ = std::fs::remove_dir_all(&old);
    if dir.exists() {
        std::fs::rename(dir, &old)?;
    }
    std::fs::rename(&tmp, dir)?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

/// The last checkpoint of a stage and its state, if the run got that far.
pub(crate) fn last_checkpoint(stage_dir: &Path) -> Option<(PathBuf, TrainState)> {
    ["last", "last.old"].iter().find_map(|name| {
        let dir = stage_dir.join(name);
        let state = serde_json::from_slice(&std::fs::read(dir.join(STATE_FILE)).ok()?).ok()?;
        Some((dir, state))
    })
}

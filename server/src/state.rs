use crate::models::Models;
use crate::storage::Store;
use std::path::PathBuf;

/// Shared by every handler; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    /// The built web app (index.html, wasm, js, css, echarts.min.js).
    pub dist: PathBuf,
    /// Largest accepted upload in bytes.
    pub max_upload: usize,
    /// The forecasting models offered to the browser.
    pub models: Models,
    pub auth: crate::auth::AuthConfig,
    /// The job runner's handle: wakes it, cancels, and fans events out to watchers.
    pub jobs: crate::jobs::Jobs,
    /// What one client may ask of the server at once or over time.
    pub limits: crate::limits::Limits,
}

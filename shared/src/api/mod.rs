//! HTTP wire types shared by the server and the app. One module per resource.

mod bars;
mod error;
mod forecast;
mod me;
mod models;
mod predictions;
mod shares;
mod symbols;

pub use bars::{BarsQuery, BarsResponse, Units};
pub use error::ApiError;
pub use forecast::{
    FORECAST_COLUMNS, ForecastInputSummary, ForecastModelInfo, ForecastParams, ForecastQuantiles,
    ForecastReport, ForecastTokens, ModelSummary,
};
/// The header the app sends with every state-changing request. The server refuses such a
/// request without it unless it carries an API token: no cross-site form can set a header, and
/// no cross-site script can send one without a CORS preflight the server never grants.
pub const CLIENT_HEADER: &str = "x-kxian-client";

/// The import API speaks the import vocabulary, the jobs API the job contract.
pub use crate::import::{ImportOptions, ImportReport, ImportedSeries, Problem, VolumeUnit};
pub use crate::jobs::{JobInfo, JobList, JobSpec};
pub use me::Me;
pub use models::{ClassifierEntry, ModelEntry, ModelFile, ModelList, ModelPart, ZooModelEntry};
pub use predictions::{PredictionSetInfo, PredictionSetList};
pub use shares::{
    SHARE_MAX_BARS, SHARE_MAX_BYTES, SHARE_MAX_HORIZON, SHARE_MAX_SAMPLES, SHARE_VERSION,
    ShareCreated, ShareResponse, ShareSnapshot,
};
pub use symbols::{Health, SeriesSummary, SymbolList, SymbolSummary};

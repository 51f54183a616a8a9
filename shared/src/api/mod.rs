//! HTTP wire types shared by the server and the app. One module per resource.

mod bars;
mod error;
mod forecast;
mod import;
mod jobs;
mod models;
mod shares;
mod symbols;

pub use bars::{BarsQuery, BarsResponse, Units};
pub use error::{ApiError, Problem};
pub use forecast::{
    FORECAST_COLUMNS, ForecastInputSummary, ForecastModelInfo, ForecastParams, ForecastQuantiles,
    ForecastReport, ForecastTokens, ModelSummary,
};
pub use import::{ImportOptions, ImportReport, ImportedSeries, VolumeUnit};
pub use jobs::{JobInfo, JobList, JobSpec, Me};
pub use models::{ClassifierEntry, ModelEntry, ModelFile, ModelList, ModelPart};
pub use shares::{
    SHARE_MAX_BARS, SHARE_MAX_BYTES, SHARE_MAX_HORIZON, SHARE_MAX_SAMPLES, SHARE_VERSION,
    ShareCreated, ShareResponse, ShareSnapshot,
};
pub use symbols::{Health, SeriesSummary, SymbolList, SymbolSummary};

//! HTTP wire types shared by the server and the app. One module per resource.

mod bars;
mod error;
mod forecast;
mod import;
mod symbols;

pub use bars::{BarsQuery, BarsResponse, Units};
pub use error::{ApiError, Problem};
pub use forecast::{
    FORECAST_COLUMNS, ForecastInputSummary, ForecastModelInfo, ForecastParams, ForecastQuantiles,
    ForecastReport, ForecastTokens, ModelSummary,
};
pub use import::{ImportOptions, ImportReport, ImportedSeries, VolumeUnit};
pub use symbols::{Health, SeriesSummary, SymbolList, SymbolSummary};

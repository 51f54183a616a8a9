//! What every market-data source does for a download: fetch one symbol's bars after a day,
//! say which ids it tried for a symbol it does not know, and count its requests. Each
//! source's requests live beside its parser (`eastmoney`, `tushare`, `yahoo`, `tdx`).

use chrono::NaiveDate;
use kxian_shared::Symbol;

use super::DownloadError;
use super::eastmoney::Kline;
use super::http::FetchError;

/// One symbol's answer: its bars (or that the source does not know it) and the request that
/// answered; a failed fetch is that symbol's outcome, not the run's.
pub(crate) type Fetched = Result<(Kline, Option<String>), FetchError>;

pub(crate) trait BarSource {
    /// The bars of `symbol` from `beg` (all history without it). An `Err` stops the whole
    /// run (a refused token); a failed fetch is in the `Ok`.
    fn fetch(&mut self, symbol: &Symbol, beg: Option<NaiveDate>) -> Result<Fetched, DownloadError>;

    /// The ids the source knows `symbol` by, as tried for an unknown one.
    fn ids(&self, symbol: &Symbol) -> Vec<String>;

    /// Requests sent so far, retries included, for the run's count.
    fn requests(&self) -> u64;
}

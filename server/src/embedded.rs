//! The embedded default data set: real A-share bars from the npm package `hqchart`
//! (Apache-2.0, see `server/data/hqchart/README.md`), compiled into the binary so that a
//! first start with no internet has something real to chart.

use crate::storage::{Store, StoreError};
use kxian_shared::api::ImportOptions;
use kxian_shared::ingest::{ImportError, parse_file};
use kxian_shared::{Frequency, Symbol};

/// Provenance of every embedded series, and the meta key that marks the set as loaded.
pub const SOURCE: &str = "embedded:hqchart-1.1.15808";
const LOADED_KEY: &str = "embedded_data";

struct Embedded {
    file: &'static str,
    symbol: &'static str,
    name: &'static str,
    bytes: &'static [u8],
}

macro_rules! embedded {
    ($file:literal, $symbol:literal, $name:literal) => {
        Embedded {
            file: $file,
            symbol: $symbol,
            name: $name,
            bytes: include_bytes!(concat!("../data/hqchart/", $file)),
        }
    };
}

const FILES: &[Embedded] = &[
    embedded!("000300.sh.day.kline.json", "000300.SH", "沪深300 CSI 300"),
    embedded!(
        "000001.sh.day.kline.json",
        "000001.SH",
        "上证指数 SSE Composite"
    ),
    embedded!(
        "399001.sz.day.kline.json",
        "399001.SZ",
        "深证成指 SZSE Component"
    ),
    embedded!("399005.sz.day.kline.json", "399005.SZ", "中小100 SME 100"),
    embedded!("399006.sz.day.kline.json", "399006.SZ", "创业板指 ChiNext"),
    embedded!("600000.sh.day.kline.json", "600000.SH", "浦发银行 SPD Bank"),
    embedded!(
        "000001.sz.day.kline.json",
        "000001.SZ",
        "平安银行 Ping An Bank"
    ),
    embedded!("000151.sz.day.kline.json", "000151.SZ", "中成股份 CCPIE"),
    embedded!(
        "000001.sz.minute.kline.json",
        "000001.SZ",
        "平安银行 Ping An Bank"
    ),
    embedded!(
        "600000.sh.minute.kline.json",
        "600000.SH",
        "浦发银行 SPD Bank"
    ),
    embedded!(
        "000300.sh.minute.kline.json",
        "000300.SH",
        "沪深300 CSI 300"
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error("embedded file {0} does not parse: {1}")]
    Parse(&'static str, ImportError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a load did, for the log.
#[derive(Debug, Default)]
pub struct LoadSummary {
    pub series: usize,
    pub bars: u64,
    pub skipped_rows: usize,
    pub already_loaded: bool,
}

/// Loads the embedded series once per store. A store that has them already (even if the user
/// has since re-imported some of those symbols) is left untouched, so nothing a user stored is
/// ever overwritten by a restart.
pub async fn load_once(store: &Store) -> Result<LoadSummary, EmbeddedError> {
    if store.meta(LOADED_KEY).await?.as_deref() == Some(SOURCE) {
        return Ok(LoadSummary {
            already_loaded: true,
            ..Default::default()
        });
    }
    let mut summary = LoadSummary::default();
    for e in FILES {
        let opts = ImportOptions {
            name: Some(e.name.to_string()),
            skip_invalid: true,
            ..Default::default()
        };
        let mut parsed =
            parse_file(e.file, e.bytes, &opts).map_err(|err| EmbeddedError::Parse(e.file, err))?;
        for s in &mut parsed.series {
            // hqchart's index 1-minute "volume" is amount/100, not a volume: store none.
            if s.frequency == Frequency::M1
                && s.symbol.kind() == kxian_shared::InstrumentKind::Index
            {
                s.bars.iter_mut().for_each(|b| b.volume = 0.0);
            }
        }
        for p in &parsed.rejected {
            tracing::debug!(problem = %p, "embedded row skipped");
        }
        summary.skipped_rows += parsed.rejected.len();
        let report = store.import(&parsed, SOURCE).await?;
        summary.series += report.series.len();
        summary.bars += report.series.iter().map(|s| s.bars).sum::<u64>();
    }
    store.set_meta(LOADED_KEY, SOURCE).await?;
    Ok(summary)
}

/// Symbols of the embedded set (for tests and the docs).
pub fn symbols() -> Vec<Symbol> {
    let mut out: Vec<Symbol> = FILES
        .iter()
        .map(|e| Symbol::parse(e.symbol).expect("embedded symbols are valid"))
        .collect();
    out.sort();
    out.dedup();
    out
}

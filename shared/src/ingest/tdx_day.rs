//! TDX's local daily files, `vipdoc/{sh,sz,bj}/lday/sh600000.day`: what a TDX client keeps on
//! disk after "download day data" (盘后数据下载), a source that works offline and since the
//! public servers stopped answering bar requests. 32-byte little-endian records: `u32`
//! yyyymmdd, `u32` open, high, low and close in cents (funds in tenths of a cent), `f32` amount
//! in yuan, `u32` volume in shares, `u32` reserved. The symbol comes from the file name.

use super::build::{Builder, DefaultSymbol};
use super::header::{ColumnMap, Flavor, HeaderCell, UnitSource};
use super::value::Field;
use super::{ImportError, Layout, ParsedImport, names};
use crate::domain::InstrumentKind;
use crate::import::{ImportOptions, VolumeUnit};

const RECORD: usize = 32;

const COLUMNS: [&str; 7] = ["date", "open", "high", "low", "close", "amount", "volume"];

/// Whether a file name is a TDX daily file.
pub(crate) fn is_day_file(file: &str) -> bool {
    file.to_ascii_lowercase().ends_with(".day")
}

pub(crate) fn parse(
    file: &str,
    bytes: &[u8],
    opts: &ImportOptions,
) -> Result<ParsedImport, ImportError> {
    let bad = |record: Option<u64>, detail: String| ImportError::BadTdxDay {
        file: file.to_string(),
        record,
        detail,
    };
    if bytes.is_empty() {
        return Err(ImportError::EmptyFile {
            file: file.to_string(),
            what: "the file",
        });
    }
    if !bytes.len().is_multiple_of(RECORD) {
        return Err(bad(
            Some((bytes.len() / RECORD) as u64 + 1),
            format!(
                "cut off after {} of its 32 bytes (the file is {} bytes; a TDX .day file is whole 32-byte records)",
                bytes.len() % RECORD,
                bytes.len()
            ),
        ));
    }
    let symbol = opts
        .symbol
        .clone()
        .or_else(|| names::symbol_from_file_name(file))
        .ok_or_else(|| ImportError::NoSymbol {
            file: file.to_string(),
        })?;
    // Funds are priced to the tenth of a cent, everything else to the cent.
    let scale = if symbol.kind() == InstrumentKind::Fund {
        1000.0
    } else {
        100.0
    };
    let volume = if symbol.kind() == InstrumentKind::Index {
        UnitSource::Guess(VolumeUnit::Shares)
    } else {
        UnitSource::Known(VolumeUnit::Shares)
    };
    let flavor = Flavor {
        layout: Layout::TdxDay,
        volume,
        amount_scale: 1.0,
    };
    let map = ColumnMap::new(COLUMNS.iter().map(|c| HeaderCell::new(c)).collect())
        .map_err(|_| bad(None, "internal column map".to_string()))?;
    let default_symbol = Some(DefaultSymbol { symbol, name: None });
    let mut b = Builder::new(file, opts, map, flavor, default_symbol, None)?;
    for (i, rec) in bytes.chunks_exact(RECORD).enumerate() {
        let word = |k: usize| [rec[4 * k], rec[4 * k + 1], rec[4 * k + 2], rec[4 * k + 3]];
        let int = |k: usize| u32::from_le_bytes(word(k)) as f64;
        let values = [
            int(0),
            int(1) / scale,
            int(2) / scale,
            int(3) / scale,
            int(4) / scale,
            f32::from_le_bytes(word(5)) as f64,
            int(6),
        ];
        b.row(i as u64 + 1, values.len(), |k| {
            values.get(k).map_or(Field::Empty, |v| Field::Num(*v))
        });
    }
    b.finish()
}

//! File importers: CSV/TSV/TXT, XLSX, HQChart JSON and TDX `.day` bytes → validated series in canonical
//! units (docs/data-sources.md §0 and §5). Pure parsing: no I/O, no storage.
//!
//! What happens to a file, in order:
//! 1. **Kind** by content (the extension only picks the error message), except TDX's binary
//!    `.day` files, known by their name (`tdx_day.rs`): workbook magic
//!    (ZIP/OLE) → calamine, first sheet, cached values; `{` → HQChart JSON; other text → CSV-like.
//!    Images, archives, HTML → [`ImportError::UnsupportedFormat`].
//! 2. **Encoding**: UTF-8 (BOM stripped), UTF-16 with BOM, else GB18030 (GBK exports).
//! 3. **Header**: the first of the first 30 rows naming the most of date/open/high/low/close/
//!    volume, with `,` `\t` `;` or whitespace as the delimiter (a TDX title line above it is
//!    skipped, its code and name used). Headers match the §5 alias table case-insensitively;
//!    units in parentheses (`成交量(手)`, `成交额(千元)`) are honoured.
//! 4. **Layout** from the header set ([`Layout`]), which fixes the default units.
//! 5. **Rows**: unreadable or missing required values reject the row (a [`Problem`] naming row
//!    and column); blank lines and the TDX footer are skipped.
//! 6. **Per series** (one per symbol in a code column): volume unit checked with the vwap rule,
//!    converted to shares; [`validate::check_bar`](crate::domain::validate::check_bar) (repairs
//!    are warnings); frequency from the options or inferred; [`prepare_series`](crate::domain::validate::prepare_series).
//! 7. Any rejection fails the import ([`ImportError::InvalidRows`]) unless
//!    [`ImportOptions::skip_invalid`] is set.

mod build;
mod delimited;
mod error;
mod header;
mod hqchart;
mod names;
mod problems;
mod tdx_day;
mod text;
mod units;
mod value;
mod xlsx;

pub use error::ImportError;

use crate::domain::{Adjustment, Bar, Frequency, Symbol};
use crate::import::{ImportOptions, Problem, VolumeUnit};
use std::fmt;

/// Rejections listed one by one (in [`ParsedImport::rejected`] and
/// [`ImportError::InvalidRows`]); beyond this a single summary entry gives the count.
pub const MAX_LISTED_PROBLEMS: usize = 10_000;

/// What one file held.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedImport {
    /// The file name as given.
    pub file: String,
    pub layout: Layout,
    /// Data rows read (blank lines and footers not counted).
    pub rows_read: u64,
    /// One per symbol, in order of first appearance; series left without bars are omitted.
    pub series: Vec<ParsedSeries>,
    /// Rows rejected and skipped (only non-empty with `skip_invalid`).
    pub rejected: Vec<Problem>,
    /// Repairs and notes; those rows were kept.
    pub warnings: Vec<Problem>,
}

/// One symbol's bars from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedSeries {
    pub symbol: Symbol,
    pub name: Option<String>,
    pub frequency: Frequency,
    pub adjustment: Adjustment,
    /// The unit the file's volume column was read in (bars are converted to shares).
    pub volume_unit: VolumeUnit,
    /// Ascending, validated, canonical units (volume in shares, amount in CNY).
    pub bars: Vec<Bar>,
}

/// The detected file layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layout {
    /// akshare `stock_zh_a_hist` / minute exports and other Chinese headers (TDX, NetEase).
    Akshare,
    Tushare,
    Kronos,
    Yahoo,
    Baostock,
    /// Plain English headers.
    Generic,
    EquinetXlsx,
    /// Any other workbook.
    Xlsx,
    HqchartJson,
    /// A TDX client's local daily file (`vipdoc/sh/lday/sh600000.day`).
    TdxDay,
}

impl Layout {
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Akshare => "akshare",
            Layout::Tushare => "tushare",
            Layout::Kronos => "kronos",
            Layout::Yahoo => "yahoo",
            Layout::Baostock => "baostock",
            Layout::Generic => "generic",
            Layout::EquinetXlsx => "equinet-xlsx",
            Layout::Xlsx => "xlsx",
            Layout::HqchartJson => "hqchart-json",
            Layout::TdxDay => "tdx-day",
        }
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses one user file (CSV/TSV/TXT, XLSX, or HQChart JSON; picked by content, with the
/// extension as a hint).
pub fn parse_file(
    file_name: &str,
    bytes: &[u8],
    opts: &ImportOptions,
) -> Result<ParsedImport, ImportError> {
    let file = file_name;
    let empty = || ImportError::EmptyFile {
        file: file.to_string(),
        what: "the file",
    };
    let unsupported = |what: &str| ImportError::UnsupportedFormat {
        file: file.to_string(),
        what: what.to_string(),
    };
    let content = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if content.iter().all(u8::is_ascii_whitespace) {
        return Err(empty());
    }
    if tdx_day::is_day_file(file) {
        return tdx_day::parse(file, bytes, opts);
    }
    match text::sniff(bytes) {
        text::Sniffed::Workbook => return xlsx::parse(file, bytes, opts),
        text::Sniffed::OtherBinary(what) => return Err(unsupported(what)),
        text::Sniffed::Text => {}
    }
    let decoded = text::decode(bytes).map_err(|e| match e {
        text::DecodeError::Binary => unsupported("binary data"),
        text::DecodeError::Undecodable(offset) => ImportError::BadEncoding {
            file: file.to_string(),
            offset,
        },
    })?;
    let body = value::trim(&decoded);
    if body.is_empty() {
        return Err(empty());
    }
    let lower_name = file.to_ascii_lowercase();
    let csv_named = [".csv", ".tsv", ".txt"]
        .iter()
        .any(|e| lower_name.ends_with(e));
    match body.first() {
        Some(b'{') => return hqchart::parse(file, body, opts),
        Some(b'[') if !csv_named => return hqchart::parse(file, body, opts),
        Some(b'<') => {
            let head = String::from_utf8_lossy(body.get(..body.len().min(256)).unwrap_or_default())
                .to_ascii_lowercase();
            if head.contains("<html") || head.contains("<!doctype") {
                return Err(unsupported("an HTML page"));
            }
            if head.starts_with("<?xml") {
                return Err(unsupported("an XML document"));
            }
        }
        _ => {}
    }
    delimited::parse(file, &decoded, opts)
}

//! Why a whole file could not be imported.

use crate::import::Problem;

/// A file that cannot be imported at all. Every message names the file, and the row and
/// column where one is to blame; [`ImportError::problems`] gives the same as [`Problem`]s.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImportError {
    /// Zero bytes, only whitespace, or an empty first sheet.
    #[error("{file}: {what} is empty; there is nothing to import")]
    EmptyFile { file: String, what: &'static str },

    /// A header and nothing after it.
    #[error("{file}: no data rows after the header{}", at_row(*header_row))]
    NoDataRows {
        file: String,
        header_row: Option<u64>,
    },

    /// Neither CSV-like text, a workbook nor JSON (an image, an archive, …).
    #[error(
        "{file}: this is {what}, not a file Kxian can import; upload CSV/TSV/TXT text, an XLSX workbook or an HQChart JSON file"
    )]
    UnsupportedFormat { file: String, what: String },

    /// Text in an encoding that is neither UTF-8 nor GBK/GB18030.
    #[error(
        "{file}: the text is neither UTF-8 nor GBK/GB18030 (first undecodable byte at offset {offset}); save it as UTF-8 CSV and try again"
    )]
    BadEncoding { file: String, offset: usize },

    /// No row in the first lines names date and price columns.
    #[error(
        "{file}: no header row found in the first {searched} rows: expected columns such as date/日期, open/开盘, high/最高, low/最低, close/收盘, volume/成交量 (first row: `{first_row}`)"
    )]
    NoHeaderMatch {
        file: String,
        searched: usize,
        first_row: String,
    },

    /// The header lacks a required column.
    #[error("{file}, row {header_row}: missing column `{column}` (accepted headers: {accepted})")]
    MissingColumn {
        file: String,
        header_row: u64,
        column: &'static str,
        accepted: String,
    },

    /// No code column, no symbol in the options, and none in the file name.
    #[error(
        "{file}: cannot tell which symbol this file holds (no code column, and the file name has no code); pass the symbol, e.g. 600000.SH"
    )]
    NoSymbol { file: String },

    /// Rows that break the validation rules; nothing was imported.
    #[error("{file}: {summary}")]
    InvalidRows {
        file: String,
        /// Number of rejected rows (may exceed `problems.len()` for huge files).
        rejected: u64,
        /// One sentence for a person.
        summary: String,
        /// Every rejected row (up to [`super::MAX_LISTED_PROBLEMS`], then a summary entry).
        problems: Vec<Problem>,
    },

    /// A workbook calamine cannot read.
    #[error("{file}: not a readable Excel workbook ({detail})")]
    BadXlsx { file: String, detail: String },

    /// A workbook beyond the bounds Kxian reads (a sheet too wide or tall, parts that unpack
    /// to too much): refused before anything is allocated for it.
    #[error("{file}: this workbook is too large to read: {detail}")]
    SheetTooLarge { file: String, detail: String },

    /// JSON that does not parse, or is not HQChart's shape.
    #[error("{file}{}: {detail}", row.map(|r| format!(", row {r}")).unwrap_or_default())]
    BadJson {
        file: String,
        row: Option<u64>,
        detail: String,
    },

    /// A TDX `.day` file that is not whole 32-byte records.
    #[error("{file}{}: {detail}", record.map(|r| format!(", record {r}")).unwrap_or_default())]
    BadTdxDay {
        file: String,
        record: Option<u64>,
        detail: String,
    },

    /// CSV the reader gives up on.
    #[error("{file}, row {row}: unreadable CSV ({detail})")]
    BadCsv {
        file: String,
        row: u64,
        detail: String,
    },
}

fn at_row(row: Option<u64>) -> String {
    row.map(|r| format!(" in row {r}")).unwrap_or_default()
}

impl ImportError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ImportError::EmptyFile { .. } => "empty_file",
            ImportError::NoDataRows { .. } => "no_data_rows",
            ImportError::UnsupportedFormat { .. } => "unsupported_format",
            ImportError::BadEncoding { .. } => "bad_encoding",
            ImportError::NoHeaderMatch { .. } => "no_header_match",
            ImportError::MissingColumn { .. } => "missing_column",
            ImportError::NoSymbol { .. } => "no_symbol",
            ImportError::InvalidRows { .. } => "invalid_rows",
            ImportError::BadXlsx { .. } => "bad_xlsx",
            ImportError::SheetTooLarge { .. } => "sheet_too_large",
            ImportError::BadJson { .. } => "bad_json",
            ImportError::BadCsv { .. } => "bad_csv",
            ImportError::BadTdxDay { .. } => "bad_tdx_day",
        }
    }

    /// The file name the error is about.
    pub fn file(&self) -> &str {
        match self {
            ImportError::EmptyFile { file, .. }
            | ImportError::NoDataRows { file, .. }
            | ImportError::UnsupportedFormat { file, .. }
            | ImportError::BadEncoding { file, .. }
            | ImportError::NoHeaderMatch { file, .. }
            | ImportError::MissingColumn { file, .. }
            | ImportError::NoSymbol { file }
            | ImportError::InvalidRows { file, .. }
            | ImportError::BadXlsx { file, .. }
            | ImportError::SheetTooLarge { file, .. }
            | ImportError::BadJson { file, .. }
            | ImportError::BadCsv { file, .. }
            | ImportError::BadTdxDay { file, .. } => file,
        }
    }

    /// Row-level detail: every rejected row for [`ImportError::InvalidRows`], otherwise one
    /// entry naming the file (and the row and column where they apply).
    pub fn problems(&self) -> Vec<Problem> {
        let file = self.file().to_string();
        let (row, column) = match self {
            ImportError::InvalidRows { problems, .. } if !problems.is_empty() => {
                return problems.clone();
            }
            ImportError::NoDataRows { header_row, .. } => (*header_row, None),
            ImportError::MissingColumn {
                header_row, column, ..
            } => (Some(*header_row), Some(column.to_string())),
            ImportError::BadJson { row, .. } => (*row, None),
            ImportError::BadCsv { row, .. } => (Some(*row), None),
            ImportError::BadTdxDay { record, .. } => (*record, None),
            _ => (None, None),
        };
        // The message without the leading "file, row n:" that `Problem`'s Display adds back.
        let text = self.to_string();
        let rest = text.strip_prefix(file.as_str()).unwrap_or(&text);
        let message = rest.split_once(": ").map_or(rest, |(_, m)| m).to_string();
        vec![Problem {
            file,
            row,
            column,
            message,
        }]
    }
}

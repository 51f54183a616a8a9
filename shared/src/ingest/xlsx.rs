//! Workbooks (XLSX, and XLS/ODS since calamine reads them too): the first sheet, cached values.

use super::build::{Builder, DefaultSymbol};
use super::delimited::{HEADER_SEARCH_ROWS, missing_column};
use super::header::{self, ColumnMap, HeaderCell};
use super::value::Field;
use super::{ImportError, ParsedImport};
use crate::api::ImportOptions;
use calamine::{Data, Range, Reader};
use std::io::Cursor;

fn cell(d: Option<&Data>) -> Field<'_> {
    match d {
        None | Some(Data::Empty) => Field::Empty,
        Some(Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s)) => {
            Field::Text(s.as_bytes())
        }
        Some(Data::Int(i)) => Field::Num(*i as f64),
        Some(Data::Float(f)) => Field::Num(*f),
        Some(Data::DateTime(dt)) => Field::Serial(dt.as_f64()),
        Some(Data::Bool(_) | Data::Error(_)) => Field::Error,
    }
}

fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        other => other.to_string(),
    }
}

fn is_workbook_name(file: &str) -> bool {
    let lower = file.to_ascii_lowercase();
    [".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"]
        .iter()
        .any(|e| lower.ends_with(e))
}

/// Opens the first sheet. calamine is third-party code fed arbitrary bytes: a panic in it is
/// turned into an error rather than taking the caller down.
fn first_sheet(bytes: &[u8]) -> Result<Range<Data>, String> {
    let opened = std::panic::catch_unwind(|| {
        let mut wb =
            calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|e| e.to_string())?;
        match wb.worksheet_range_at(0) {
            Some(r) => r.map_err(|e| e.to_string()),
            None => Err("the workbook has no sheets".to_string()),
        }
    });
    opened.unwrap_or_else(|_| Err("the workbook is corrupt".to_string()))
}

pub(crate) fn parse(
    file: &str,
    bytes: &[u8],
    opts: &ImportOptions,
) -> Result<ParsedImport, ImportError> {
    let range = match first_sheet(bytes) {
        Ok(r) => r,
        Err(detail) => {
            let zip = bytes.starts_with(b"PK");
            // A ZIP that does not even look like an Office file is some other archive.
            let office_like = !zip
                || bytes.windows(3).take(64 * 1024).any(|w| w == b"xl/")
                || bytes.windows(8).take(64 * 1024).any(|w| w == b"mimetype");
            return Err(if office_like || is_workbook_name(file) {
                ImportError::BadXlsx {
                    file: file.to_string(),
                    detail,
                }
            } else {
                ImportError::UnsupportedFormat {
                    file: file.to_string(),
                    what: "a ZIP archive".to_string(),
                }
            });
        }
    };
    let rows: Vec<&[Data]> = range.rows().collect();
    if rows
        .iter()
        .all(|r| r.iter().all(|c| matches!(c, Data::Empty)))
    {
        return Err(ImportError::EmptyFile {
            file: file.to_string(),
            what: "the first sheet",
        });
    }
    let first_row = u64::from(range.start().map_or(0, |(r, _)| r)) + 1;

    let mut best: Option<(usize, usize)> = None;
    for (i, r) in rows.iter().enumerate().take(HEADER_SEARCH_ROWS) {
        let texts: Vec<String> = r.iter().map(cell_text).collect();
        let score = header::header_score(texts.iter().map(String::as_str));
        if score >= 2 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, i));
        }
    }
    let Some((_, h)) = best else {
        let first = rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(cell_text)
                    .collect::<Vec<_>>()
                    .join(",")
                    .trim_matches(',')
                    .to_string()
            })
            .find(|l| !l.is_empty())
            .unwrap_or_default();
        return Err(ImportError::NoHeaderMatch {
            file: file.to_string(),
            searched: rows.len().min(HEADER_SEARCH_ROWS),
            first_row: first.chars().take(80).collect(),
        });
    };
    let header_row = first_row + h as u64;
    let headers: Vec<HeaderCell> = rows
        .get(h)
        .map(|r| r.iter().map(|c| HeaderCell::new(&cell_text(c))).collect())
        .unwrap_or_default();
    let map = ColumnMap::new(headers).map_err(|e| missing_column(file, header_row, e))?;

    let title = rows
        .iter()
        .take(h)
        .map(|r| {
            r.iter()
                .map(cell_text)
                .filter(|t| !t.trim().is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .find(|l| !l.is_empty());
    let footer = rows.iter().rev().take(3).any(|r| {
        r.iter()
            .any(|c| matches!(c, Data::String(s) if s.contains("数据来源")))
    });
    let flavor = header::detect(&map, true, title.is_some() || footer);
    let default_symbol = DefaultSymbol::resolve(opts, title.as_deref(), file);
    let mut b = Builder::new(file, opts, map, flavor, default_symbol, Some(header_row))?;
    for (i, r) in rows.iter().enumerate().skip(h + 1) {
        b.row(first_row + i as u64, r.len(), |k| cell(r.get(k)));
    }
    b.finish()
}

//! Workbooks (XLSX, and XLS/ODS since calamine reads them too): the first sheet, cached values.

use super::build::{Builder, DefaultSymbol};
use super::delimited::{HEADER_SEARCH_ROWS, missing_column};
use super::header::{self, ColumnMap, HeaderCell};
use super::value::Field;
use super::{ImportError, ParsedImport};
use crate::import::ImportOptions;
use calamine::{Cell, Data, DataRef, Range, Reader};
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

/// Bounds a workbook must stay within. They are checked while the sheet streams in, before
/// anything is allocated for its grid: calamine lays a sheet out densely, so one cell at
/// XFD1048576 in a 1.5 KB file would otherwise ask for 512 GiB and abort the process.
pub(super) const MAX_SHEET_ROWS: u32 = 2_000_000;
/// See [`MAX_SHEET_ROWS`].
pub(super) const MAX_SHEET_COLUMNS: u32 = 64;
/// Rows × columns of the grid the used cells span (16 M cells take about 512 MB).
pub(super) const MAX_SHEET_CELLS: u64 = 16_000_000;
/// What the archive's parts may unpack to, in all (a deflate bomb stops here).
pub(super) const MAX_UNPACKED_BYTES: u64 = 256 * 1024 * 1024;
/// Parts an archive may have.
const MAX_PARTS: usize = 10_000;

/// Why a workbook is not read.
enum Refusal {
    Bad(String),
    TooLarge(String),
    Unsupported(String),
}

/// `A1` notation of a zero-based (row, column).
fn a1((row, col): (u32, u32)) -> String {
    let mut letters = Vec::new();
    let mut c = u64::from(col) + 1;
    while c > 0 {
        let r = ((c - 1) % 26) as u8;
        letters.push(char::from(b'A' + r));
        c = (c - 1) / 26;
    }
    letters.iter().rev().collect::<String>() + &(u64::from(row) + 1).to_string()
}

fn beyond_bounds((row, col): (u32, u32)) -> bool {
    row >= MAX_SHEET_ROWS || col >= MAX_SHEET_COLUMNS
}

fn bounds_text() -> String {
    format!(
        "a sheet may span at most {MAX_SHEET_ROWS} rows and {MAX_SHEET_COLUMNS} columns ({})",
        a1((MAX_SHEET_ROWS - 1, MAX_SHEET_COLUMNS - 1))
    )
}

/// Unpacks every part of the archive into nothing, counting: refuses an archive whose parts
/// unpack to more than [`MAX_UNPACKED_BYTES`] (whatever their headers claim), and OpenDocument
/// spreadsheets (calamine expands their repeated cells without a bound).
fn check_archive(bytes: &[u8]) -> Result<(), Refusal> {
    let mut zip =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| Refusal::Bad(e.to_string()))?;
    if zip.len() > MAX_PARTS {
        return Err(Refusal::TooLarge(format!(
            "the archive has {} parts; at most {MAX_PARTS} are read",
            zip.len()
        )));
    }
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let mut part = zip.by_index(i).map_err(|e| Refusal::Bad(e.to_string()))?;
        if part.name() == "mimetype" {
            let mut head = Vec::new();
            std::io::Read::read_to_end(&mut std::io::Read::take(&mut part, 64), &mut head)
                .map_err(|e| Refusal::Bad(e.to_string()))?;
            if head.starts_with(b"application/vnd.oasis.opendocument") {
                return Err(Refusal::Unsupported(
                    "an OpenDocument spreadsheet (ODS); save it as XLSX or CSV".into(),
                ));
            }
            total += head.len() as u64;
            continue;
        }
        let left = MAX_UNPACKED_BYTES - total;
        let n = std::io::copy(
            &mut std::io::Read::take(&mut part, left + 1),
            &mut std::io::sink(),
        )
        .map_err(|e| Refusal::Bad(format!("{}: {e}", part.name())))?;
        total += n;
        if total > MAX_UNPACKED_BYTES {
            return Err(Refusal::TooLarge(format!(
                "its parts unpack to more than {} MiB",
                MAX_UNPACKED_BYTES / (1024 * 1024)
            )));
        }
    }
    Ok(())
}

/// Collects the used cells of a sheet as they stream in, refusing the sheet at the first
/// cell (or a dimension) beyond the bounds, then lays them out.
fn bounded_range<'a, E: std::fmt::Display>(
    dimension: calamine::Dimensions,
    mut next: impl FnMut() -> Result<Option<Cell<DataRef<'a>>>, E>,
) -> Result<Range<Data>, Refusal> {
    if dimension.end != (0, 0) && beyond_bounds(dimension.end) {
        return Err(Refusal::TooLarge(format!(
            "its first sheet claims the range {}:{}; {}",
            a1(dimension.start),
            a1(dimension.end),
            bounds_text()
        )));
    }
    let mut cells = Vec::new();
    let (mut lo, mut hi) = ((u32::MAX, u32::MAX), (0u32, 0u32));
    while let Some(c) = next().map_err(|e| Refusal::Bad(e.to_string()))? {
        let pos = c.get_position();
        if beyond_bounds(pos) {
            return Err(Refusal::TooLarge(format!(
                "cell {} of its first sheet is out of bounds; {}",
                a1(pos),
                bounds_text()
            )));
        }
        if matches!(c.get_value(), DataRef::Empty) {
            continue;
        }
        lo = (lo.0.min(pos.0), lo.1.min(pos.1));
        hi = (hi.0.max(pos.0), hi.1.max(pos.1));
        let value: Data = c.get_value().clone().into();
        cells.push(Cell::new(pos, value));
    }
    if !cells.is_empty() {
        let grid = u64::from(hi.0 - lo.0 + 1) * u64::from(hi.1 - lo.1 + 1);
        if grid > MAX_SHEET_CELLS {
            return Err(Refusal::TooLarge(format!(
                "its used cells span {}:{} ({grid} cells); at most {MAX_SHEET_CELLS} are read",
                a1(lo),
                a1(hi)
            )));
        }
    }
    Ok(Range::from_sparse(cells))
}

/// Opens the first sheet of an XLSX (or XLSB) workbook within the bounds above. calamine is
/// third-party code fed arbitrary bytes: a panic in it is turned into an error rather than
/// taking the caller down, and nothing reaches it that could make it allocate without bound.
fn first_sheet(bytes: &[u8]) -> Result<Range<Data>, Refusal> {
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(Refusal::Unsupported(
            "an XLS (Excel 97–2003) workbook; save it as XLSX or CSV".into(),
        ));
    }
    check_archive(bytes)?;
    // Xlsx and Xlsb have the same cell-reader methods but no trait for them.
    macro_rules! first_sheet_of {
        ($wb:expr) => {{
            let mut wb = $wb;
            let name = wb
                .sheet_names()
                .first()
                .cloned()
                .ok_or_else(|| Refusal::Bad("the workbook has no sheets".into()))?;
            let mut cells = wb
                .worksheet_cells_reader(&name)
                .map_err(|e| Refusal::Bad(e.to_string()))?;
            let dimension = cells.dimensions();
            bounded_range(dimension, || cells.next_cell())
        }};
    }
    let opened = std::panic::catch_unwind(|| {
        if let Ok(wb) = calamine::Xlsx::new(Cursor::new(bytes)) {
            return first_sheet_of!(wb);
        }
        match calamine::Xlsb::new(Cursor::new(bytes)) {
            Ok(wb) => first_sheet_of!(wb),
            Err(e) => Err(Refusal::Bad(e.to_string())),
        }
    });
    opened.unwrap_or_else(|_| Err(Refusal::Bad("the workbook is corrupt".to_string())))
}

pub(crate) fn parse(
    file: &str,
    bytes: &[u8],
    opts: &ImportOptions,
) -> Result<ParsedImport, ImportError> {
    let range = match first_sheet(bytes) {
        Ok(r) => r,
        Err(Refusal::TooLarge(detail)) => {
            return Err(ImportError::SheetTooLarge {
                file: file.to_string(),
                detail,
            });
        }
        Err(Refusal::Unsupported(what)) => {
            return Err(ImportError::UnsupportedFormat {
                file: file.to_string(),
                what,
            });
        }
        Err(Refusal::Bad(detail)) => {
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

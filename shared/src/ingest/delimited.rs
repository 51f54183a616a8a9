//! CSV, TSV, semicolon- and whitespace-separated text, TDX client exports included.

use super::build::{Builder, DefaultSymbol};
use super::header::{self, Col, ColumnMap, HeaderCell, HeaderError};
use super::value::Field;
use super::{ImportError, ParsedImport};
use crate::import::ImportOptions;

/// Lines searched for the header row.
pub(crate) const HEADER_SEARCH_ROWS: usize = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delim {
    Byte(u8),
    /// Runs of spaces and tabs.
    Whitespace,
}

impl Delim {
    const ALL: [Delim; 4] = [
        Delim::Byte(b','),
        Delim::Byte(b'\t'),
        Delim::Byte(b';'),
        Delim::Whitespace,
    ];

    /// Naive split (no quoting) used to score header candidates.
    fn split(self, line: &str) -> Vec<&str> {
        match self {
            Delim::Byte(d) => line.split(char::from(d)).collect(),
            Delim::Whitespace => line.split_ascii_whitespace().collect(),
        }
    }
}

/// Lines with their byte offsets (without the line break).
fn lines(text: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= text.len() {
            return None;
        }
        let rest = text.get(start..)?;
        let (line, next) = match memchr_newline(rest) {
            Some(i) => (rest.get(..i)?, start + i + 1),
            None => (rest, text.len()),
        };
        let at = start;
        start = next;
        Some((at, line.strip_suffix(b"\r").unwrap_or(line)))
    })
}

fn memchr_newline(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

/// The header row: its line index, byte offset and delimiter.
struct HeaderAt {
    line: usize,
    offset: usize,
    delim: Delim,
}

fn find_header(text: &[u8]) -> Option<HeaderAt> {
    let mut best: Option<(usize, HeaderAt)> = None;
    for (line_no, (offset, line)) in lines(text).take(HEADER_SEARCH_ROWS).enumerate() {
        let line = String::from_utf8_lossy(line);
        for delim in Delim::ALL {
            let score = header::header_score(delim.split(&line).into_iter());
            if score >= 2 && best.as_ref().is_none_or(|(s, _)| score > *s) {
                best = Some((
                    score,
                    HeaderAt {
                        line: line_no,
                        offset,
                        delim,
                    },
                ));
            }
        }
    }
    best.map(|(_, h)| h)
}

pub(crate) fn missing_column(file: &str, header_row: u64, e: HeaderError) -> ImportError {
    let HeaderError::Missing(col) = e;
    let accepted = col
        .aliases()
        .iter()
        .map(|a| format!("`{a}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let column = match col {
        Col::Date => "date",
        other => other.as_str(),
    };
    ImportError::MissingColumn {
        file: file.to_string(),
        header_row,
        column,
        accepted,
    }
}

/// The first non-empty line, shortened, for messages.
pub(crate) fn first_line(text: &str) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut out: String = line.trim().chars().take(80).collect();
    if line.trim().chars().count() > 80 {
        out.push('…');
    }
    out
}

pub(crate) fn parse(
    file: &str,
    text: &[u8],
    opts: &ImportOptions,
) -> Result<ParsedImport, ImportError> {
    let Some(at) = find_header(text) else {
        return Err(ImportError::NoHeaderMatch {
            file: file.to_string(),
            searched: lines(text).take(HEADER_SEARCH_ROWS).count(),
            first_row: first_line(&String::from_utf8_lossy(
                text.get(..text.len().min(4096)).unwrap_or_default(),
            )),
        });
    };
    let header_row = at.line as u64 + 1;
    let body = text.get(at.offset..).unwrap_or_default();

    // Lines above the header: a TDX title such as `600000 浦发银行 日线 不复权`.
    let title = lines(text)
        .take(at.line)
        .map(|(_, l)| String::from_utf8_lossy(l).trim().to_string())
        .find(|l| !l.is_empty());
    let tail = text
        .get(text.len().saturating_sub(256)..)
        .unwrap_or_default();
    let tdx_footer = String::from_utf8_lossy(tail).contains("数据来源");
    let tdx_like = title.is_some() || tdx_footer;

    let default_symbol = DefaultSymbol::resolve(opts, title.as_deref(), file);

    match at.delim {
        Delim::Byte(d) => {
            let mut rdr = csv::ReaderBuilder::new()
                .delimiter(d)
                .has_headers(false)
                .flexible(true)
                .from_reader(body);
            let mut rec = csv::ByteRecord::new();
            let bad_csv = |row: u64, e: csv::Error| ImportError::BadCsv {
                file: file.to_string(),
                row,
                detail: e.to_string(),
            };
            rdr.read_byte_record(&mut rec)
                .map_err(|e| bad_csv(header_row, e))?;
            let headers: Vec<HeaderCell> = rec
                .iter()
                .map(|h| HeaderCell::new(&String::from_utf8_lossy(h)))
                .collect();
            let map = ColumnMap::new(headers).map_err(|e| missing_column(file, header_row, e))?;
            let flavor = header::detect(&map, false, tdx_like);
            let mut b = Builder::new(file, opts, map, flavor, default_symbol, Some(header_row))?;
            b.set_decimal_comma(d == b';');
            loop {
                let more = rdr
                    .read_byte_record(&mut rec)
                    .map_err(|e| bad_csv(header_row + rdr.position().line(), e))?;
                if !more {
                    break;
                }
                let line = rec.position().map_or(0, |p| p.line());
                let row = header_row + line.saturating_sub(1);
                let r = &rec;
                b.row(row, r.len(), |i| r.get(i).map_or(Field::Empty, Field::Text));
            }
            b.finish()
        }
        Delim::Whitespace => {
            let mut it = lines(body);
            let headers: Vec<HeaderCell> = it
                .next()
                .map(|(_, l)| {
                    String::from_utf8_lossy(l)
                        .split_ascii_whitespace()
                        .map(HeaderCell::new)
                        .collect()
                })
                .unwrap_or_default();
            let map = ColumnMap::new(headers).map_err(|e| missing_column(file, header_row, e))?;
            let flavor = header::detect(&map, false, tdx_like);
            let mut b = Builder::new(file, opts, map, flavor, default_symbol, Some(header_row))?;
            let mut cells: Vec<&[u8]> = Vec::new();
            for (n, (_, line)) in it.enumerate() {
                cells.clear();
                cells.extend(
                    line.split(|c| *c == b' ' || *c == b'\t')
                        .filter(|c| !c.is_empty()),
                );
                if cells.is_empty() {
                    continue;
                }
                let row = header_row + 1 + n as u64;
                let c = &cells;
                b.row(row, c.len(), |i| {
                    c.get(i).map_or(Field::Empty, |s| Field::Text(s))
                });
            }
            b.finish()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_header_below_a_title() {
        let text = "600000 浦发银行 日线 不复权\n日期\t开盘\t最高\t最低\t收盘\t成交量\t成交额\n";
        let at = find_header(text.as_bytes()).unwrap();
        assert_eq!(at.line, 1);
        assert_eq!(at.delim, Delim::Byte(b'\t'));
        let text = "Date;Open;High;Low;Close;Volume\n";
        assert_eq!(
            find_header(text.as_bytes()).unwrap().delim,
            Delim::Byte(b';')
        );
        let text = "date open high low close volume\n";
        assert_eq!(
            find_header(text.as_bytes()).unwrap().delim,
            Delim::Whitespace
        );
        assert!(find_header(b"hello world\n1,2,3\n").is_none());
    }
}

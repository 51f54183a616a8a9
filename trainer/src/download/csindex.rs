//! CSIndex's published constituent lists (中证指数, what akshare's `index_stock_cons_csindex`
//! reads): `{host}/static/html/csindex/public/uploads/file/autofile/cons/{code}cons.xls`, an
//! Excel 97 workbook listing today's members of an index with the list's date. No account.
//!
//! Each list is written as a dated [`MemberList`]: the store carries the stored stays forward
//! to its day, so downloading it every day builds the history a free source does not publish.

use std::io::Cursor;

use calamine::{Data, Reader};
use chrono::NaiveDate;
use kxian_shared::reference::{MemberList, ReferenceData};
use kxian_shared::{Exchange, Symbol};

use super::{DownloadArgs, DownloadError};
use kxian_shared::jobs::{JobEvent, StageName};

pub const CONS_PATH: &str = "/static/html/csindex/public/uploads/file/autofile/cons";

/// Columns of the list, by position (the headers are bilingual and have changed over time).
const DATE: usize = 0;
const INDEX: usize = 1;
const CODE: usize = 4;
const EXCHANGE: usize = 7;

fn cell(row: &[Data], col: usize) -> String {
    match row.get(col) {
        None | Some(Data::Empty) => String::new(),
        Some(Data::String(s)) => s.trim().to_string(),
        Some(Data::Float(f)) if f.fract() == 0.0 => format!("{}", *f as i64),
        Some(Data::Int(i)) => i.to_string(),
        Some(other) => other.to_string(),
    }
}

/// The list in a `{code}cons.xls` workbook, which must be `index`'s.
pub fn parse_cons(bytes: &[u8], index: &Symbol) -> Result<MemberList, String> {
    let range = std::panic::catch_unwind(|| {
        // An Excel 97 file; a newer workbook under the same name is read too.
        let mut wb =
            calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|e| e.to_string())?;
        wb.worksheet_range_at(0)
            .ok_or_else(|| "the workbook has no sheet".to_string())?
            .map_err(|e| e.to_string())
    })
    .unwrap_or_else(|_| Err("the workbook is corrupt".into()))
    .map_err(|e| format!("not a CSIndex list ({e})"))?;
    let mut date: Option<NaiveDate> = None;
    let mut symbols = Vec::new();
    // Row 1 is the header; data rows are numbered as a spreadsheet shows them.
    for (n, row) in range.rows().enumerate().skip(1) {
        let at = |col: usize, what: &str| format!("row {}, column {} ({what})", n + 1, col + 1);
        let code = cell(row, CODE);
        if code.is_empty() {
            continue;
        }
        let day = NaiveDate::parse_from_str(&cell(row, DATE), "%Y%m%d").map_err(|_| {
            format!(
                "{}: `{}` is not a yyyymmdd date",
                at(DATE, "日期"),
                cell(row, DATE)
            )
        })?;
        if date.is_some_and(|d| d != day) {
            return Err(format!(
                "{}: {day}, but earlier rows say {}",
                at(DATE, "日期"),
                date.unwrap_or(day)
            ));
        }
        date = Some(day);
        let listed = format!("{:0>6}", cell(row, INDEX));
        if listed != index.code() {
            return Err(format!(
                "{}: this is the list of {listed}, not of {index}",
                at(INDEX, "指数代码")
            ));
        }
        let code = format!("{code:0>6}");
        let exchange = cell(row, EXCHANGE);
        let suffix = if exchange.contains("上海")
            || exchange.to_ascii_lowercase().contains("shanghai")
        {
            Some(Exchange::Sse)
        } else if exchange.contains("深圳") || exchange.to_ascii_lowercase().contains("shenzhen")
        {
            Some(Exchange::Szse)
        } else if exchange.contains("北京") || exchange.to_ascii_lowercase().contains("beijing") {
            Some(Exchange::Bse)
        } else {
            None
        };
        let text = match suffix {
            Some(Exchange::Sse) => format!("{code}.SH"),
            Some(Exchange::Szse) => format!("{code}.SZ"),
            Some(Exchange::Bse) => format!("{code}.BJ"),
            None => code.clone(),
        };
        let sym: Symbol = text
            .parse()
            .map_err(|e| format!("{}: `{code}` ({exchange}): {e}", at(CODE, "成分券代码")))?;
        symbols.push(sym.to_string());
    }
    let date = date.ok_or_else(|| "the list has no member rows".to_string())?;
    Ok(MemberList {
        index: index.to_string(),
        date,
        symbols,
    })
}

/// `--reference --csindex`: today's list of each `--index`.
pub fn run(args: &DownloadArgs, indices: &[Symbol]) -> Result<ReferenceData, DownloadError> {
    let mut client = super::client(args, indices.len() as u64);
    let mut progress = super::reference::started(args, indices.len(), "lists")?;
    let mut data = ReferenceData {
        source: "csindex".into(),
        ..ReferenceData::default()
    };
    for (k, index) in indices.iter().enumerate() {
        let url = format!("{}{CONS_PATH}/{}cons.xls", args.csindex_url, index.code());
        let failed = |e: String| DownloadError::Failed(format!("CSIndex list of {index}: {e}"));
        let (status, bytes) = client.get_bytes(&url).map_err(|e| failed(e.to_string()))?;
        if status != 200 {
            return Err(failed(format!(
                "{url}: HTTP {status} (CSIndex publishes no list for it)"
            )));
        }
        let list = parse_cons(&bytes, index).map_err(|e| failed(format!("{url}: {e}")))?;
        progress.bar().inc(1);
        progress.emit(&JobEvent::Call {
            stage: StageName::Download,
            index: k + 1,
            total: indices.len(),
            call: format!("csindex {index} {}", list.date),
            rows: list.symbols.len(),
        });
        data.member_lists.push(list);
    }
    progress.bar().finish_and_clear();
    data.check()
        .map_err(|e| DownloadError::Args(e.to_string()))?;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &[u8] = include_bytes!("../../../tests/fixtures/upstream/csindex/000905cons.xls");

    #[test]
    fn a_list_reads_its_date_and_members_with_their_exchanges() {
        let l = parse_cons(LIST, &"000905.SH".parse().unwrap()).unwrap();
        assert_eq!(l.index, "000905.SH");
        assert_eq!(l.date.to_string(), "2024-03-01");
        assert_eq!(l.symbols[0], "000001.SZ");
        assert_eq!(l.symbols.len(), 4);
    }

    #[test]
    fn another_index_list_or_a_broken_file_is_refused_by_name() {
        let e = parse_cons(LIST, &"000300.SH".parse().unwrap()).unwrap_err();
        assert_eq!(
            e,
            "row 2, column 2 (指数代码): this is the list of 000905, not of 000300.SH"
        );
        let e = parse_cons(b"<html>busy</html>", &"000905.SH".parse().unwrap()).unwrap_err();
        assert!(e.starts_with("not a CSIndex list"), "{e}");
        let e = parse_cons(&LIST[..LIST.len() / 2], &"000905.SH".parse().unwrap()).unwrap_err();
        assert!(e.starts_with("not a CSIndex list"), "{e}");
    }
}

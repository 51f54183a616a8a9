//! A corpus of broken files, generated here: every one gets a clear error or a documented
//! repair, and nothing panics.

use chrono::NaiveDate;
use kxian_shared::api::{ImportOptions, VolumeUnit};
use kxian_shared::ingest::{ImportError, MAX_LISTED_PROBLEMS, ParsedImport, parse_file};
use kxian_shared::{Frequency, Symbol};

const HEADER: &str = "date,open,high,low,close,volume,amount\n";

fn opts() -> ImportOptions {
    ImportOptions {
        symbol: Some(Symbol::parse("600000.SH").unwrap()),
        ..ImportOptions::default()
    }
}

fn skipping() -> ImportOptions {
    ImportOptions {
        skip_invalid: true,
        ..opts()
    }
}

/// `n` good daily rows (consecutive days), volume in shares.
fn rows(n: usize) -> String {
    let start = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    let mut s = String::new();
    for i in 0..n {
        let d = start + chrono::Duration::days(i as i64);
        let p = 10.0 + (i % 50) as f64 / 10.0;
        s.push_str(&format!(
            "{},{p},{},{},{},{},{}\n",
            d.format("%F"),
            p + 0.5,
            p - 0.5,
            p + 0.2,
            1000 + i,
            (p + 0.1) * (1000 + i) as f64
        ));
    }
    s
}

fn err(name: &str, bytes: &[u8], o: &ImportOptions) -> ImportError {
    match parse_file(name, bytes, o) {
        Ok(p) => panic!("{name}: expected an error, got {} series", p.series.len()),
        Err(e) => {
            let text = e.to_string();
            assert!(text.contains(name), "the message names the file: {text}");
            let problems = e.problems();
            assert!(!problems.is_empty());
            assert!(problems.iter().all(|p| p.file == name));
            e
        }
    }
}

fn ok(name: &str, text: &str, o: &ImportOptions) -> ParsedImport {
    parse_file(name, text.as_bytes(), o).unwrap_or_else(|e| panic!("{e}\n{:#?}", e.problems()))
}

#[test]
fn truncated_mid_row() {
    let full = format!("{HEADER}{}", rows(10));
    let cut = &full[..full.len() - 30];
    let e = err("cut.csv", cut.as_bytes(), &opts());
    assert_eq!(e.code(), "invalid_rows");
    let p = &e.problems()[0];
    assert_eq!(p.row, Some(11), "the last row (header is row 1)");
    assert!(p.message.contains("cut short"), "{p}");

    let parsed = parse_file("cut.csv", cut.as_bytes(), &skipping()).unwrap();
    assert_eq!(parsed.rows_read, 10);
    assert_eq!(parsed.series[0].bars.len(), 9);
    assert_eq!(parsed.rejected.len(), 1);
    assert_eq!(parsed.rejected[0].row, Some(11));
}

#[test]
fn gbk_akshare_csv_imports() {
    let text = "日期,股票代码,开盘,收盘,最高,最低,成交量,成交额\n\
        2024-09-02,000001,10.12,10.11,10.21,10.09,968836,983898752.00\n\
        2024-09-03,000001,10.11,10.15,10.20,10.05,800000,815000000.00\n";
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable);
    assert!(std::str::from_utf8(&gbk).is_err(), "really GBK bytes");
    let p = parse_file("akshare_gbk.csv", &gbk, &ImportOptions::default()).unwrap();
    let s = &p.series[0];
    assert_eq!(s.symbol.to_string(), "000001.SZ");
    assert_eq!(s.volume_unit, VolumeUnit::Lots);
    assert_eq!(s.bars.len(), 2);
    assert_eq!(s.bars[0].volume, 96_883_600.0);
    assert_eq!(s.bars[0].amount, Some(983_898_752.0));
}

#[test]
fn utf8_bom_and_utf16() {
    let text = format!("\u{feff}{HEADER}{}", rows(3));
    assert_eq!(ok("bom.csv", &text, &opts()).series[0].bars.len(), 3);
    let mut utf16 = vec![0xFF, 0xFE];
    for u in format!("{HEADER}{}", rows(3))
        .replace(',', "\t")
        .encode_utf16()
    {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    let p = parse_file("unicode.txt", &utf16, &opts()).unwrap();
    assert_eq!(p.series[0].bars.len(), 3);
}

#[test]
fn empty_header_only_and_blank() {
    assert_eq!(err("empty.csv", b"", &opts()).code(), "empty_file");
    assert_eq!(err("blank.csv", b" \r\n\n\t", &opts()).code(), "empty_file");
    assert_eq!(
        err("bom.csv", b"\xEF\xBB\xBF", &opts()).code(),
        "empty_file"
    );
    let e = err("header.csv", HEADER.as_bytes(), &opts());
    assert_eq!(e.code(), "no_data_rows");
    assert!(e.to_string().contains("row 1"), "{e}");
    let e = err(
        "header.csv",
        format!("{HEADER},,,,,,\n\n").as_bytes(),
        &opts(),
    );
    assert_eq!(e.code(), "no_data_rows", "blank rows are not data");
    let e = err(
        "empty.json",
        br#"{"symbol":"600000.sh","data":[]}"#,
        &opts(),
    );
    assert_eq!(e.code(), "no_data_rows");
}

#[test]
fn nan_cell_rejects_the_row_naming_row_and_column() {
    let text = format!(
        "{HEADER}2024-09-02,10,11,9,10.5,1000,10000\n2024-09-03,NaN,11,9,10.5,1000,10000\n"
    );
    let e = err("nan.csv", text.as_bytes(), &opts());
    assert_eq!(e.code(), "invalid_rows");
    let [p] = e.problems().try_into().unwrap();
    assert_eq!((p.row, p.column.as_deref()), (Some(3), Some("open")));
    assert!(p.message.contains("missing value"), "{p}");
    let msg = e.to_string();
    assert!(msg.contains("row 3") && msg.contains("`open`"), "{msg}");
}

#[test]
fn unreadable_values_are_quoted_back() {
    let text = format!("{HEADER}2024-13-45,abc,11,9,10.5,1000,10000\n");
    let e = err("bad.csv", text.as_bytes(), &opts());
    let [p] = e.problems().try_into().unwrap();
    assert_eq!(p.column.as_deref(), Some("date"));
    assert!(p.message.contains("`2024-13-45` is not a date"), "{p}");
    assert!(p.message.contains("`open`: `abc` is not a number"), "{p}");
}

#[test]
fn negative_price_is_rejected() {
    let text = format!("{HEADER}2024-09-02,10,11,-9,10.5,1000,10000\n");
    let e = err("neg.csv", text.as_bytes(), &opts());
    let [p] = e.problems().try_into().unwrap();
    assert_eq!((p.row, p.column.as_deref()), (Some(2), Some("low")));
    assert!(p.message.contains("must be positive"), "{p}");
}

#[test]
fn swapped_high_low_is_repaired_with_a_warning() {
    let text = format!("{HEADER}2024-09-02,10,9,11,10.5,1000,10200\n");
    let p = ok("swap.csv", &text, &opts());
    let b = p.series[0].bars[0];
    assert_eq!((b.high, b.low), (11.0, 9.0));
    let [w] = p.warnings.as_slice() else {
        panic!("{:#?}", p.warnings)
    };
    assert_eq!(w.row, Some(2));
    assert!(w.message.contains("swapped"), "{w}");
}

#[test]
fn high_below_body_is_rejected() {
    let text = format!("{HEADER}2024-09-02,10,10.2,9,10.5,1000,10000\n");
    let e = err("hb.csv", text.as_bytes(), &opts());
    let [p] = e.problems().try_into().unwrap();
    assert_eq!((p.row, p.column.as_deref()), (Some(2), Some("high")));
    assert!(p.message.contains("below max(open, close)"), "{p}");
}

#[test]
fn duplicate_dates_identical_dropped_conflicting_rejected() {
    let text = format!(
        "{HEADER}2024-09-02,10,11,9,10.5,1000,10000\n2024-09-02,10,11,9,10.5,1000,10000\n2024-09-03,10,11,9,10.5,1000,10000\n"
    );
    let p = ok("dup.csv", &text, &opts());
    assert_eq!(p.series[0].bars.len(), 2);
    let [w] = p.warnings.as_slice() else {
        panic!("{:#?}", p.warnings)
    };
    assert_eq!((w.row, w.column.as_deref()), (Some(3), Some("date")));
    assert!(w.message.contains("repeats row 2"), "{w}");

    let text = format!(
        "{HEADER}2024-09-02,10,11,9,10.5,1000,10000\n2024-09-02,10,11,9,10.6,1000,10000\n2024-09-03,10,11,9,10.5,1000,10000\n"
    );
    let e = err("conflict.csv", text.as_bytes(), &opts());
    let rows: Vec<_> = e.problems().iter().map(|p| p.row).collect();
    assert_eq!(rows, [Some(2), Some(3)], "both copies are rejected");
    let p = parse_file("conflict.csv", text.as_bytes(), &skipping()).unwrap();
    assert_eq!(p.series[0].bars.len(), 1);
    assert_eq!(p.rejected.len(), 2);
}

#[test]
fn unsorted_rows_are_sorted_with_a_warning() {
    let text = format!(
        "{HEADER}2024-09-03,10,11,9,10.5,1000,10000\n2024-09-02,10,11,9,10.5,1000,10000\n2024-09-04,10,11,9,10.5,1000,10000\n"
    );
    let p = ok("unsorted.csv", &text, &opts());
    let ts: Vec<_> = p.series[0]
        .bars
        .iter()
        .map(|b| b.ts.format("%d").to_string())
        .collect();
    assert_eq!(ts, ["02", "03", "04"]);
    assert!(
        p.warnings.iter().any(|w| w.message.contains("sorted")),
        "{:#?}",
        p.warnings
    );
}

#[test]
fn mixed_frequencies_reject_the_stray_rows() {
    let mut text = String::from(HEADER);
    for m in [35, 40, 45, 50, 55] {
        text.push_str(&format!("2024-09-02 09:{m}:00,10,11,9,10.5,1000,10000\n"));
    }
    text.push_str("2024-09-02 09:57:00,10,11,9,10.5,1000,10000\n");
    text.push_str("2024-09-03,10,11,9,10.5,1000,10000\n");
    let e = err("mixed.csv", text.as_bytes(), &opts());
    let rows: Vec<_> = e.problems().iter().map(|p| p.row).collect();
    assert_eq!(rows, [Some(7), Some(8)]);
    assert!(e.problems()[0].message.contains("mixed frequencies"));
    let p = parse_file("mixed.csv", text.as_bytes(), &skipping()).unwrap();
    assert_eq!(p.series[0].frequency, Frequency::M5);
    assert_eq!(p.series[0].bars.len(), 5);
}

#[test]
fn wrong_files() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0";
    let e = err("chart.png", png, &opts());
    assert_eq!(e.code(), "unsupported_format");
    assert!(e.to_string().contains("PNG"), "{e}");
    let e = err("prices.csv", png, &opts());
    assert_eq!(e.code(), "unsupported_format", "content wins over the name");

    let e = err(
        "notes.txt",
        b"Dear diary,\nthe market went up today.\n",
        &opts(),
    );
    assert_eq!(e.code(), "no_header_match");
    assert!(e.to_string().contains("Dear diary"), "{e}");

    let mut noise = Vec::new();
    let mut s = 7u64;
    for _ in 0..5000 {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
        noise.push((s >> 56) as u8);
    }
    let code = err("noise.csv", &noise, &opts()).code();
    assert!(
        matches!(code, "unsupported_format" | "bad_encoding"),
        "{code}"
    );

    let e = err(
        "page.csv",
        b"<!DOCTYPE html><html><body>Too Many Requests</body></html>",
        &opts(),
    );
    assert_eq!(e.code(), "unsupported_format");
    let e = err("x.zip", b"PK\x03\x04\x14\0\0\0\0\0garbage", &opts());
    assert_eq!(e.code(), "unsupported_format");
    let e = err("book.xlsx", b"PK\x03\x04\x14\0\0\0\0\0garbage", &opts());
    assert_eq!(e.code(), "bad_xlsx");
    let e = err(
        "latin1.csv",
        b"date,open,high,low,close,volume\n\xff\xfe\xfd,1,1,1,1,1\n",
        &opts(),
    );
    assert_eq!(e.code(), "bad_encoding");
}

#[test]
fn missing_column_names_it_and_the_accepted_headers() {
    let e = err(
        "nc.csv",
        b"date,open,high,low,volume\n2024-09-02,1,1,1,1\n",
        &opts(),
    );
    assert_eq!(e.code(), "missing_column");
    let p = &e.problems()[0];
    assert_eq!((p.row, p.column.as_deref()), (Some(1), Some("close")));
    assert!(e.to_string().contains("`收盘`"), "{e}");
    let e = err(
        "nv.csv",
        b"date,open,high,low,close\n2024-09-02,1,1,1,1\n",
        &opts(),
    );
    assert!(e.to_string().contains("missing column `volume`"), "{e}");
}

#[test]
fn bad_json() {
    let e = err("k.json", br#"{"data": [[20240902, 1, 1"#, &opts());
    assert_eq!(e.code(), "bad_json");
    assert!(e.to_string().contains("line 1"), "{e}");
    let e = err("k.json", br#"{"klines": []}"#, &opts());
    assert_eq!(e.code(), "bad_json");
    assert!(e.to_string().contains("`data` array"), "{e}");
    let e = err(
        "k.json",
        br#"{"symbol":"600000.sh","data":[[20240902,1,1]]}"#,
        &opts(),
    );
    assert_eq!(e.code(), "invalid_rows");
    assert!(
        e.problems()[0].message.contains("3 of 9"),
        "{:?}",
        e.problems()
    );
}

#[test]
fn skip_invalid_with_nothing_valid_is_still_an_error() {
    let text = format!("{HEADER}2024-09-02,-1,11,9,10.5,1000,10000\n");
    let e = err("allbad.csv", text.as_bytes(), &skipping());
    assert_eq!(e.code(), "invalid_rows");
    assert!(e.to_string().contains("all 1 data rows are invalid"), "{e}");
}

#[test]
fn bad_codes_reject_their_rows_only() {
    let text = "code,date,open,high,low,close,volume\n600000,2024-09-02,10,11,9,10.5,1000\nAAPL,2024-09-02,10,11,9,10.5,1000\n";
    let e = err("codes.csv", text.as_bytes(), &ImportOptions::default());
    let [p] = e.problems().try_into().unwrap();
    assert_eq!((p.row, p.column.as_deref()), (Some(3), Some("code")));
    assert!(p.message.contains("not an A-share symbol"), "{p}");
}

#[test]
fn huge_error_lists_are_capped_with_a_count() {
    let mut text = String::from(HEADER);
    for _ in 0..(MAX_LISTED_PROBLEMS + 500) {
        text.push_str("2024-09-02,x,11,9,10.5,1000,10000\n");
    }
    let e = err("broken.csv", text.as_bytes(), &opts());
    let ImportError::InvalidRows {
        rejected, problems, ..
    } = &e
    else {
        panic!("{e}")
    };
    assert_eq!(*rejected, MAX_LISTED_PROBLEMS as u64 + 500);
    assert_eq!(problems.len(), MAX_LISTED_PROBLEMS + 1);
    assert!(problems.last().unwrap().message.contains("500 more"));
}

#[test]
fn fifty_megabyte_csv() {
    let header = "日期,股票代码,开盘,收盘,最高,最低,成交量,成交额,振幅,涨跌幅,涨跌额,换手率\n";
    let start = NaiveDate::from_ymd_opt(1990, 1, 1).unwrap();
    let mut text = String::with_capacity(55 << 20);
    text.push_str(header);
    let symbols = 70;
    let per = 10_000;
    for s in 0..symbols {
        let code = format!("{:06}", 600_000 + s);
        for i in 0..per {
            let d = start + chrono::Duration::days(i as i64);
            let p = 10.0 + (i % 97) as f64 / 100.0;
            let lots = 10_000 + i % 1000;
            let amount = (p + 0.05) * (lots * 100) as f64;
            text.push_str(&format!(
                "{},{code},{p:.2},{:.2},{:.2},{:.2},{lots},{amount:.2},1.18,-0.49,-0.05,0.50\n",
                d.format("%F"),
                p + 0.1,
                p + 0.2,
                p - 0.1
            ));
        }
    }
    assert!(text.len() > 50_000_000, "{}", text.len());
    let p = parse_file("big.csv", text.as_bytes(), &ImportOptions::default()).unwrap();
    assert_eq!(p.rows_read, (symbols * per) as u64);
    assert_eq!(p.series.len(), symbols);
    assert!(p.series.iter().all(|s| s.bars.len() == per));
    assert!(
        p.rejected.is_empty() && p.warnings.is_empty(),
        "{:#?}",
        p.warnings
    );
}

/// Truncations at every length and random byte flips: errors are fine, panics are not.
#[test]
fn no_panics_on_mangled_input() {
    let csv = format!(
        "日期,股票代码,开盘,收盘,最高,最低,成交量,成交额\n{}",
        {
            let mut s = String::new();
            for i in 1..=9 {
                s.push_str(&format!(
                    "2024-09-0{i} 10:30,\"000001\",10.1,10.2,10.3,10.0,100,101000.5\n"
                ));
            }
            s
        }
    );
    let json = br#"{"symbol":"600000.sh","data":[[20240614,8.1,8.1,8.14,8.07,8.11,865600,7014515.5,931],[20240614,8.11,8.1,8.12,8.1,8.12,380700,3087343.0,932]]}"#.to_vec();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["date", "open", "high", "low", "close", "volume"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
        ws.write_string(1, c as u16, if c == 0 { "2024-09-02" } else { "10" })
            .unwrap();
    }
    let xlsx = wb.save_to_buffer().unwrap();
    let (gbk, _, _) = encoding_rs::GBK.encode(&csv);
    let samples: [(&str, Vec<u8>); 4] = [
        ("a.csv", csv.clone().into_bytes()),
        ("a.json", json),
        ("a.xlsx", xlsx),
        ("a.csv", gbk.into_owned()),
    ];
    let o = ImportOptions::default();
    let mut seed = 99u64;
    for (name, bytes) in &samples {
        let step = (bytes.len() / 300).max(1);
        for len in (0..bytes.len()).step_by(step) {
            let _ = parse_file(name, &bytes[..len], &o);
        }
        for _ in 0..300 {
            let mut m = bytes.clone();
            for _ in 0..4 {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let at = (seed >> 33) as usize % m.len();
                m[at] = (seed >> 20) as u8;
            }
            let _ = parse_file(name, &m, &o);
        }
    }
}

#[test]
fn other_bar_rules_reject_with_the_blamed_column() {
    let cases = [
        (
            "2024-09-02,10,11,9,10.5,-5,10000",
            "volume",
            "must not be negative",
        ),
        (
            "2024-09-02,10,11,9,10.5,1000,-1",
            "amount",
            "must not be negative",
        ),
        (
            "2024-09-02,10,inf,9,10.5,1000,10000",
            "high",
            "not a finite number",
        ),
        (
            "2024-09-02,10,11,10.2,10.5,1000,10000",
            "low",
            "above min(open, close)",
        ),
        (
            "2024-09-02,0,11,9,10.5,1000,10000",
            "open",
            "must be positive",
        ),
    ];
    for (row, column, text) in cases {
        let csv = format!("{HEADER}{row}\n");
        let e = err("rules.csv", csv.as_bytes(), &opts());
        let [p] = e.problems().try_into().unwrap();
        assert_eq!(
            (p.row, p.column.as_deref()),
            (Some(2), Some(column)),
            "{row}"
        );
        assert!(p.message.contains(text), "{row}: {p}");
    }
}

/// The 1.5 KB workbook of the security report: cells A1 and `far` only. calamine would lay
/// the sheet out densely (512 GiB for XFD1048576) and the allocation failure aborts the
/// process; the importer must refuse it from the cell references alone.
fn sparse_bomb(far_row: u32, far_col: u16) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "date").unwrap();
    ws.write_string(far_row, far_col, "x").unwrap();
    wb.save_to_buffer().unwrap()
}

#[test]
fn a_tiny_workbook_with_one_far_cell_is_refused_before_anything_is_allocated() {
    let bomb = sparse_bomb(1_048_575, 16_383);
    assert!(bomb.len() < 8 * 1024, "{} bytes", bomb.len());
    let e = err("bomb.xlsx", &bomb, &opts());
    assert_eq!(e.code(), "sheet_too_large", "{e}");
    let text = e.to_string();
    assert!(
        text.contains("XFD1048576") && text.contains("bomb.xlsx"),
        "{text}"
    );
    // Within the row and column bounds, but a grid of 27 M cells: refused by its size.
    let e = err("tall.xlsx", &sparse_bomb(1_048_575, 25), &opts());
    assert_eq!(e.code(), "sheet_too_large", "{e}");
    assert!(e.to_string().contains("Z1048576"), "{e}");
    // A sheet of ordinary shape still reads.
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["date", "open", "high", "low", "close", "volume"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
        ws.write_string(1, c as u16, if c == 0 { "2024-09-02" } else { "10" })
            .unwrap();
    }
    let ok = parse_file("ok.xlsx", &wb.save_to_buffer().unwrap(), &opts()).unwrap();
    assert_eq!(ok.series[0].bars.len(), 1);
}

#[test]
fn a_workbook_whose_parts_unpack_to_too_much_is_refused() {
    use std::io::Write;
    // A deflate bomb: 260 MiB of whitespace in the sheet's XML packs to a few hundred KB.
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    zip.start_file("[Content_Types].xml", deflated).unwrap();
    zip.write_all(br#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>"#).unwrap();
    zip.start_file("xl/worksheets/sheet1.xml", deflated)
        .unwrap();
    let chunk = vec![b' '; 1 << 20];
    for _ in 0..260 {
        zip.write_all(&chunk).unwrap();
    }
    let bomb = zip.finish().unwrap().into_inner();
    assert!(bomb.len() < 2 << 20, "{} bytes", bomb.len());
    let e = err("deflate-bomb.xlsx", &bomb, &opts());
    assert_eq!(e.code(), "sheet_too_large", "{e}");
    assert!(e.to_string().contains("256 MiB"), "{e}");
}

#[test]
fn old_excel_and_opendocument_workbooks_are_refused_with_what_to_do() {
    let xls = [
        &[0xD0u8, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1][..],
        &[0u8; 504],
    ]
    .concat();
    let e = err("old.xls", &xls, &opts());
    assert_eq!(e.code(), "unsupported_format", "{e}");
    assert!(e.to_string().contains("XLSX or CSV"), "{e}");
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("mimetype", stored).unwrap();
    zip.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
        .unwrap();
    let ods = zip.finish().unwrap().into_inner();
    let e = err("sheet.ods", &ods, &opts());
    assert_eq!(e.code(), "unsupported_format", "{e}");
    assert!(e.to_string().contains("ODS"), "{e}");
}

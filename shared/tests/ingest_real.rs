//! The importers against real files kept in the repository: the embedded HQChart JSON
//! (`server/data/hqchart/`) and test copies (`shared/tests/data/`, each folder with its
//! upstream licence and origin).

use chrono::{NaiveDate, NaiveDateTime};
use kxian_shared::api::{ImportOptions, VolumeUnit};
use kxian_shared::ingest::{Layout, ParsedImport, parse_file};
use kxian_shared::{Board, Frequency, InstrumentKind};

/// Paths are relative to this crate.
fn read(rel: &str) -> (String, Vec<u8>) {
    let path = format!("{}/{rel}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let name = rel.rsplit('/').next().unwrap().to_string();
    (name, bytes)
}

fn import(rel: &str) -> ParsedImport {
    let (name, bytes) = read(rel);
    parse_file(&name, &bytes, &ImportOptions::default())
        .unwrap_or_else(|e| panic!("{rel}: {e}\n{:#?}", e.problems().first()))
}

fn day(y: i32, m: u32, d: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
}

fn at(y: i32, m: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(h, mi, 0)
        .unwrap()
}

#[test]
fn hqchart_csi300_daily_json_is_an_index_in_lots() {
    let p = import("../server/data/hqchart/000300.sh.day.kline.json");
    assert_eq!(p.layout, Layout::HqchartJson);
    assert_eq!(p.rows_read, 4790);
    assert!(p.rejected.is_empty());
    let [s] = p.series.as_slice() else {
        panic!("{:?}", p.series.len())
    };
    assert_eq!(s.symbol.to_string(), "000300.SH");
    assert_eq!(s.symbol.kind(), InstrumentKind::Index);
    assert_eq!(s.name, None, "HQChart's name is just the symbol again");
    assert_eq!(s.frequency, Frequency::Daily);
    assert_eq!(s.volume_unit, VolumeUnit::Lots);
    assert_eq!(s.bars.len(), 4790);
    let first = s.bars[0];
    assert_eq!(first.ts, day(2005, 1, 4));
    assert_eq!(
        (first.open, first.high, first.low, first.close),
        (994.76, 994.76, 980.65, 982.79)
    );
    assert_eq!(first.volume, 741_286_900.0, "7,412,869 lots");
    assert_eq!(first.amount, Some(4_431_975_936.0));
    let last = s.bars.last().unwrap();
    assert_eq!(last.ts, day(2024, 9, 19));
    assert_eq!(last.close, 3196.04);
    assert_eq!(last.volume, 12_543_927_200.0);
}

#[test]
fn hqchart_stock_json_daily_and_minute_are_in_shares() {
    let p = import("../server/data/hqchart/600000.sh.day.kline.json");
    let s = &p.series[0];
    assert_eq!(s.symbol.to_string(), "600000.SH");
    assert_eq!(s.volume_unit, VolumeUnit::Shares);
    assert_eq!(s.bars.len(), 5908);
    assert_eq!(s.bars[0].ts, day(1999, 11, 10));
    assert!(
        p.warnings.iter().all(|w| !w.message.contains("lots")),
        "{:#?}",
        p.warnings
    );

    let p = import("../server/data/hqchart/600000.sh.minute.kline.json");
    let s = &p.series[0];
    assert_eq!(s.frequency, Frequency::M1);
    assert_eq!(s.bars.len(), 16_080);
    assert_eq!(s.bars[0].ts, at(2024, 6, 14, 9, 31));
    assert_eq!(s.bars[0].volume, 865_600.0);
    assert_eq!(s.bars.last().unwrap().ts, at(2024, 9, 18, 15, 0));
}

#[test]
fn hqchart_minute_csv() {
    let p = import("tests/data/hqchart/600000.sh.1min.csv");
    assert_eq!(p.layout, Layout::Generic);
    assert_eq!(p.rows_read, 16_080);
    assert!(p.rejected.is_empty());
    let [s] = p.series.as_slice() else { panic!() };
    assert_eq!(s.symbol.to_string(), "600000.SH");
    assert_eq!(s.frequency, Frequency::M1);
    assert_eq!(
        s.volume_unit,
        VolumeUnit::Shares,
        "inferred with the vwap check"
    );
    assert_eq!(s.bars.len(), 16_080);
    let b = s.bars[0];
    assert_eq!(b.ts, at(2024, 6, 14, 9, 31));
    assert_eq!((b.open, b.high, b.low, b.close), (8.1, 8.14, 8.07, 8.11));
    assert_eq!((b.volume, b.amount), (865_600.0, Some(7_014_516.0)));
    assert_eq!(s.bars.last().unwrap().ts, at(2024, 9, 18, 15, 0));
}

#[test]
fn hqchart_daily_csvs() {
    let p = import("tests/data/hqchart/600000.sh.daily.csv");
    let s = &p.series[0];
    assert_eq!(s.volume_unit, VolumeUnit::Shares);
    assert_eq!(s.bars.len(), 5908);
    assert_eq!(s.bars[0].volume, 174_085_000.0);

    // An index in a generic layout: volume assumed lots, with a note saying so.
    let p = import("tests/data/hqchart/000300.sh.daily.csv");
    let s = &p.series[0];
    assert_eq!(s.symbol.to_string(), "000300.SH");
    assert_eq!(s.volume_unit, VolumeUnit::Lots);
    assert_eq!(s.bars.len(), 4790);
    assert_eq!(s.bars[0].volume, 741_286_900.0);
    assert!(
        p.warnings.iter().any(|w| w.message.contains("index")),
        "{:#?}",
        p.warnings
    );
}

#[test]
fn kronos_600977_five_minute() {
    let p = import("tests/data/kronos/XSHG_5min_600977.csv");
    assert_eq!(p.layout, Layout::Kronos);
    assert_eq!(p.rows_read, 2500);
    let [s] = p.series.as_slice() else { panic!() };
    assert_eq!(s.symbol.to_string(), "600977.SH");
    assert_eq!(s.frequency, Frequency::M5);
    assert_eq!(s.volume_unit, VolumeUnit::Lots);
    assert_eq!(s.bars.len(), 2500);
    let b = s.bars[0];
    assert_eq!(b.ts, at(2024, 6, 18, 11, 15));
    assert_eq!(b.close, 11.27);
    assert_eq!(b.volume, 37_900.0, "379 lots");
    assert_eq!(b.amount, Some(427_161.0));
    assert_eq!(s.bars.last().unwrap().ts, at(2024, 8, 29, 11, 30));
    assert!(
        !p.warnings
            .iter()
            .any(|w| w.message.contains("amount/volume")),
        "{:#?}",
        p.warnings
    );
}

#[test]
fn all_six_equinet_workbooks() {
    let cases = [
        ("000008", "000008.SZ", Board::Main),
        ("002021", "002021.SZ", Board::Main),
        ("300006", "300006.SZ", Board::ChiNext),
        ("600008", "600008.SH", Board::Main),
        ("688055", "688055.SH", Board::Star),
        ("833819", "833819.BJ", Board::Bse),
    ];
    for (code, symbol, board) in cases {
        let p = import(&format!("tests/data/equinet/processed_{code}.xlsx"));
        assert_eq!(p.layout, Layout::EquinetXlsx, "{code}");
        assert_eq!(p.rows_read, 420, "{code}");
        let [s] = p.series.as_slice() else { panic!() };
        assert_eq!(s.symbol.to_string(), symbol);
        assert_eq!(s.symbol.board(), board);
        assert_eq!(s.frequency, Frequency::Daily, "{code}");
        assert_eq!(s.volume_unit, VolumeUnit::Shares);
        assert_eq!(
            s.bars.len() + p.rejected.len(),
            420,
            "{code}: {:#?}",
            p.rejected
        );
        assert!(s.bars.iter().all(|b| b.amount.is_none()));
        assert_eq!(s.bars.last().unwrap().ts, day(2025, 3, 19), "{code}");
    }
    let p = import("tests/data/equinet/processed_833819.xlsx");
    let b = p.series[0].bars[0];
    assert_eq!(b.ts, day(2023, 6, 26));
    assert_eq!(
        (b.open, b.high, b.low, b.close, b.volume),
        (4.51, 4.52, 4.44, 4.46, 1_479_356.0)
    );
}

/// The README says 16 early-1990s rows of the SSE Composite break low ≤ open/close ≤ high:
/// 15 are rejected, one is within rounding noise and clamped.
#[test]
fn sse_composite_early_rows_are_rejected_unless_skipped() {
    let (name, bytes) = read("../server/data/hqchart/000001.sh.day.kline.json");
    let e = parse_file(&name, &bytes, &ImportOptions::default()).unwrap_err();
    assert_eq!(e.code(), "invalid_rows");
    let problems = e.problems();
    assert_eq!(problems.len(), 15);
    let first = &problems[0];
    assert_eq!(
        (first.row, first.column.as_deref()),
        (Some(32), Some("low"))
    );
    assert!(first.message.contains("above min(open, close)"), "{first}");

    let opts = ImportOptions {
        skip_invalid: true,
        ..ImportOptions::default()
    };
    let p = parse_file(&name, &bytes, &opts).unwrap();
    let s = &p.series[0];
    assert_eq!(s.symbol.to_string(), "000001.SH");
    assert_eq!(
        s.symbol.kind(),
        InstrumentKind::Index,
        "000001.sh is the index here"
    );
    assert_eq!(p.rows_read, 8162);
    assert_eq!(s.bars.len(), 8147);
    assert_eq!(p.rejected.len(), 15);
    assert_eq!(p.warnings.len(), 1);
    assert!(p.warnings[0].message.contains("rounding noise"));
}

#[test]
fn csi300_minute_json_index() {
    let p = import("../server/data/hqchart/000300.sh.minute.kline.json");
    let s = &p.series[0];
    assert_eq!(s.frequency, Frequency::M1);
    assert_eq!(s.volume_unit, VolumeUnit::Lots);
    assert_eq!(s.bars.len(), 16_080);
    assert!(p.warnings.is_empty(), "{:#?}", p.warnings);
}

//! One test per known layout (docs/data-sources.md §5), with files generated in code, checking what a
//! user would check: bar count, first/last bar after unit conversion, symbol, frequency, layout.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Weekday};
use kxian_shared::api::{ImportOptions, VolumeUnit};
use kxian_shared::ingest::{Layout, ParsedImport, parse_file};
use kxian_shared::{Adjustment, Frequency, Symbol};

/// One generated bar: prices rounded to cents, volume in lots, amount in CNY.
#[derive(Debug, Clone, Copy)]
struct G {
    ts: NaiveDateTime,
    o: f64,
    h: f64,
    l: f64,
    c: f64,
    lots: f64,
    amount: f64,
}

impl G {
    fn shares(&self) -> f64 {
        self.lots * 100.0
    }
}

fn r2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A deterministic random walk over the given timestamps.
fn walk(ts: &[NaiveDateTime], start: f64, seed: u64) -> Vec<G> {
    let mut s = seed;
    let mut p = start;
    ts.iter()
        .map(|&ts| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = ((s >> 33) as f64 / (1u64 << 31) as f64) - 0.5;
            let o = r2(p);
            let c = r2(p * (1.0 + r * 0.04)).max(0.01);
            let h = r2(o.max(c) * 1.01);
            let l = r2(o.min(c) * 0.99);
            let lots = (1000 + (s >> 40) % 5000) as f64;
            let amount = r2((h + l) / 2.0 * lots * 100.0);
            p = c;
            G {
                ts,
                o,
                h,
                l,
                c,
                lots,
                amount,
            }
        })
        .collect()
}

fn weekdays(n: usize) -> Vec<NaiveDateTime> {
    let mut d = NaiveDate::from_ymd_opt(2024, 1, 2).unwrap();
    let mut out = Vec::new();
    while out.len() < n {
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            out.push(d.and_hms_opt(0, 0, 0).unwrap());
        }
        d += Duration::days(1);
    }
    out
}

/// `step`-minute bar ends over `days` weekdays.
fn intraday(days: usize, step: u32) -> Vec<NaiveDateTime> {
    let mut out = Vec::new();
    for d in weekdays(days) {
        for (open, close) in [(9 * 60 + 30, 11 * 60 + 30), (13 * 60, 15 * 60)] {
            let mut m = open + step;
            while m <= close {
                out.push(d + Duration::minutes(i64::from(m)));
                m += step;
            }
        }
    }
    out
}

fn date(ts: NaiveDateTime) -> String {
    ts.format("%Y-%m-%d").to_string()
}

fn ok(name: &str, text: &str, opts: &ImportOptions) -> ParsedImport {
    parse_file(name, text.as_bytes(), opts).unwrap_or_else(|e| panic!("{e}\n{:#?}", e.problems()))
}

fn default() -> ImportOptions {
    ImportOptions::default()
}

fn sym(s: &str) -> Symbol {
    Symbol::parse(s).unwrap()
}

#[test]
fn akshare_daily_two_symbols_lots_to_shares() {
    let mut text =
        String::from("日期,股票代码,开盘,收盘,最高,最低,成交量,成交额,振幅,涨跌幅,涨跌额,换手率\n");
    let a = walk(&weekdays(30), 10.0, 1);
    let b = walk(&weekdays(20), 1700.0, 2);
    for (code, bars) in [("\"000001\"", &a), ("600519", &b)] {
        for g in bars.iter() {
            text.push_str(&format!(
                "{},{code},{},{},{},{},{},{},1.18,-0.49,-0.05,0.50\n",
                date(g.ts),
                g.o,
                g.c,
                g.h,
                g.l,
                g.lots,
                g.amount
            ));
        }
    }
    let p = ok("export.csv", &text, &default());
    assert_eq!(p.layout, Layout::Akshare);
    assert_eq!(p.rows_read, 50);
    assert!(p.warnings.is_empty(), "{:#?}", p.warnings);
    assert_eq!(p.series.len(), 2);
    let s = &p.series[0];
    assert_eq!(s.symbol, sym("000001.SZ"));
    assert_eq!(s.frequency, Frequency::Daily);
    assert_eq!(s.volume_unit, VolumeUnit::Lots);
    assert_eq!(s.bars.len(), 30);
    let (f, g) = (s.bars[0], a[0]);
    assert_eq!(f.ts, a[0].ts);
    assert_eq!((f.open, f.high, f.low, f.close), (g.o, g.h, g.l, g.c));
    assert_eq!(f.volume, g.shares());
    assert_eq!(f.amount, Some(g.amount));
    let s = &p.series[1];
    assert_eq!(s.symbol, sym("600519.SH"));
    assert_eq!(s.bars.len(), 20);
    assert_eq!(s.bars.last().unwrap().close, b[19].c);
}

#[test]
fn akshare_minute_export_without_code_uses_the_file_name() {
    let bars = walk(&intraday(3, 5), 3.9, 3);
    let mut text =
        String::from("时间,开盘,收盘,最高,最低,涨跌幅,涨跌额,成交量,成交额,振幅,换手率\n");
    for g in &bars {
        text.push_str(&format!(
            "{},{},{},{},{},0.1,0.01,{},{},0.5,0.1\n",
            g.ts.format("%Y-%m-%d %H:%M:%S"),
            g.o,
            g.c,
            g.h,
            g.l,
            g.lots,
            g.amount
        ));
    }
    let p = ok("510300_5min.csv", &text, &default());
    assert_eq!(p.layout, Layout::Akshare);
    let s = &p.series[0];
    assert_eq!(s.symbol, sym("510300.SH"));
    assert_eq!(s.frequency, Frequency::M5);
    assert_eq!(s.bars.len(), 144);
    assert_eq!(s.bars[0].ts.format("%H:%M").to_string(), "09:35");
    assert_eq!(
        s.bars.last().unwrap().ts.format("%H:%M").to_string(),
        "15:00"
    );
    assert_eq!(s.bars[0].volume, bars[0].shares());
}

#[test]
fn tushare_newest_first_vol_lots_amount_thousands() {
    let bars = walk(&weekdays(25), 12.0, 4);
    let mut text = String::from(
        "ts_code,trade_date,open,high,low,close,pre_close,change,pct_chg,vol,amount\n",
    );
    for g in bars.iter().rev() {
        text.push_str(&format!(
            "000001.SZ,{},{},{},{},{},{},0.1,0.5,{},{}\n",
            g.ts.format("%Y%m%d"),
            g.o,
            g.h,
            g.l,
            g.c,
            g.o,
            g.lots,
            r2(g.amount / 1000.0)
        ));
    }
    let p = ok("daily.csv", &text, &default());
    assert_eq!(p.layout, Layout::Tushare);
    assert!(
        p.warnings.is_empty(),
        "newest-first is Tushare's layout: {:#?}",
        p.warnings
    );
    let s = &p.series[0];
    assert_eq!(s.symbol, sym("000001.SZ"));
    assert_eq!(s.bars.len(), 25);
    assert!(s.bars.windows(2).all(|w| w[0].ts < w[1].ts), "ascending");
    assert_eq!(s.bars[0].ts, bars[0].ts);
    assert_eq!(s.bars[0].volume, bars[0].shares());
    assert_eq!(s.bars[0].amount, Some(r2(bars[0].amount / 1000.0) * 1000.0));
    assert_eq!(s.volume_unit, VolumeUnit::Lots);
}

#[test]
fn kronos_layout() {
    let bars = walk(&intraday(2, 5), 11.27, 5);
    let mut text = String::from("timestamps,open,high,low,close,volume,amount\n");
    for g in &bars {
        text.push_str(&format!(
            "{},{},{},{},{},{}.0,{}\n",
            g.ts.format("%Y-%m-%d %H:%M:%S"),
            g.o,
            g.h,
            g.l,
            g.c,
            g.lots,
            g.amount
        ));
    }
    let p = ok("XSHE_5min_000001.csv", &text, &default());
    assert_eq!(p.layout, Layout::Kronos);
    let s = &p.series[0];
    assert_eq!(s.symbol, sym("000001.SZ"));
    assert_eq!(s.frequency, Frequency::M5);
    assert_eq!(s.bars.len(), 96);
    assert_eq!(s.bars[95].volume, bars[95].shares());
}

#[test]
fn yahoo_download_shares_no_amount() {
    let text = "Date,Open,High,Low,Close,Adj Close,Volume\n\
        2024-06-11,10.869999885559082,11.0,10.8,10.95,9.8,1234500\n\
        2024-06-12,10.95,11.1,10.9,11.05,9.9,2345600\n";
    let opts = ImportOptions {
        symbol: Some(sym("000001.SZ")),
        ..default()
    };
    let p = ok("yahoo.csv", text, &opts);
    assert_eq!(p.layout, Layout::Yahoo);
    let s = &p.series[0];
    assert_eq!(s.symbol, sym("000001.SZ"));
    assert_eq!(s.volume_unit, VolumeUnit::Shares);
    assert_eq!(s.bars[0].open, 10.869999885559082);
    assert_eq!(s.bars[0].volume, 1_234_500.0);
    assert_eq!(s.bars[1].amount, None);
    assert!(p.warnings.is_empty(), "{:#?}", p.warnings);
}

#[test]
fn baostock_daily_and_minute() {
    let bars = walk(&weekdays(5), 8.0, 6);
    let mut text = String::from(
        "date,code,open,high,low,close,preclose,volume,amount,adjustflag,turn,tradestatus,pctChg,isST\n",
    );
    for g in &bars {
        text.push_str(&format!(
            "{},sh.600000,{},{},{},{},{},{},{},3,0.1,1,0.5,0\n",
            date(g.ts),
            g.o,
            g.h,
            g.l,
            g.c,
            g.o,
            g.shares(),
            g.amount
        ));
    }
    let p = ok("k_data.csv", &text, &default());
    assert_eq!(p.layout, Layout::Baostock);
    let s = &p.series[0];
    assert_eq!(s.symbol, sym("600000.SH"));
    assert_eq!(s.volume_unit, VolumeUnit::Shares);
    assert_eq!(s.bars[4].volume, bars[4].shares());

    // Minute data: a `date` column plus baostock's 17-digit `time`.
    let bars = walk(&intraday(1, 5), 8.0, 7);
    let mut text = String::from("date,time,code,open,high,low,close,volume,amount,adjustflag\n");
    for g in &bars {
        text.push_str(&format!(
            "{},{}000,sz.000001,{},{},{},{},{},{},3\n",
            date(g.ts),
            g.ts.format("%Y%m%d%H%M%S"),
            g.o,
            g.h,
            g.l,
            g.c,
            g.shares(),
            g.amount
        ));
    }
    let p = ok("k_5.csv", &text, &default());
    assert_eq!(p.layout, Layout::Baostock);
    let s = &p.series[0];
    assert_eq!(s.symbol, sym("000001.SZ"));
    assert_eq!(s.frequency, Frequency::M5);
    assert_eq!(s.bars.len(), 48);
    assert_eq!(s.bars[0].ts, bars[0].ts);
}

#[test]
fn generic_layout_infers_the_volume_unit() {
    let bars = walk(&weekdays(40), 20.0, 8);
    let make = |lots: bool| {
        let mut t = String::from("date,open,high,low,close,volume,amount\n");
        for g in &bars {
            let v = if lots { g.lots } else { g.shares() };
            t.push_str(&format!(
                "{},{},{},{},{},{v},{}\n",
                date(g.ts),
                g.o,
                g.h,
                g.l,
                g.c,
                g.amount
            ));
        }
        t
    };
    let p = ok("600000.csv", &make(true), &default());
    assert_eq!(p.layout, Layout::Generic);
    assert_eq!(p.series[0].volume_unit, VolumeUnit::Lots);
    assert_eq!(p.series[0].bars[0].volume, bars[0].shares());
    assert!(p.warnings.is_empty(), "{:#?}", p.warnings);
    let p = ok("600000.csv", &make(false), &default());
    assert_eq!(p.series[0].volume_unit, VolumeUnit::Shares);
    assert_eq!(p.series[0].bars[0].volume, bars[0].shares());

    // The user's word beats inference, with a warning when the amount disagrees.
    let opts = ImportOptions {
        volume_unit: Some(VolumeUnit::Shares),
        ..default()
    };
    let p = ok("600000.csv", &make(true), &opts);
    assert_eq!(p.series[0].volume_unit, VolumeUnit::Shares);
    assert_eq!(p.series[0].bars[0].volume, bars[0].lots);
    assert!(
        p.warnings
            .iter()
            .any(|w| w.message.contains("matches lots")),
        "{:#?}",
        p.warnings
    );
}

#[test]
fn a_known_layout_keeps_its_unit_but_warns_when_the_amount_disagrees() {
    let bars = walk(&weekdays(10), 10.0, 9);
    let mut text = String::from("日期,开盘,收盘,最高,最低,成交量,成交额\n");
    for g in &bars {
        // Shares in an akshare-named column.
        text.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            date(g.ts),
            g.o,
            g.c,
            g.h,
            g.l,
            g.shares(),
            g.amount
        ));
    }
    let p = ok("000001.csv", &text, &default());
    let s = &p.series[0];
    assert_eq!(s.volume_unit, VolumeUnit::Lots, "not silently switched");
    let w = p
        .warnings
        .iter()
        .find(|w| w.message.contains("matches shares"))
        .expect("a unit warning");
    assert_eq!(w.column.as_deref(), Some("成交量"));
    assert_eq!(w.file, "000001.csv");
}

#[test]
fn generic_without_amount_assumes_shares_and_says_so() {
    let text = "date,open,high,low,close,volume\n2024-09-02,10,11,9,10.5,1000\n";
    let p = ok("600000.csv", text, &default());
    assert_eq!(p.series[0].volume_unit, VolumeUnit::Shares);
    assert!(
        p.warnings
            .iter()
            .any(|w| w.message.contains("assumed shares")),
        "{:#?}",
        p.warnings
    );
}

#[test]
fn options_override_symbol_frequency_name_and_adjustment() {
    let text = "date,open,high,low,close,volume\n2024-09-02,10,11,9,10.5,1000\n2024-09-09,10,11,9,10.5,1000\n";
    let opts = ImportOptions {
        symbol: Some(sym("600000.SH")),
        name: Some("浦发银行".into()),
        frequency: Some(Frequency::Weekly),
        adjustment: Adjustment::Qfq,
        volume_unit: Some(VolumeUnit::Lots),
        skip_invalid: false,
    };
    let p = ok("prices.csv", text, &opts);
    let s = &p.series[0];
    assert_eq!(s.symbol, sym("600000.SH"));
    assert_eq!(s.name.as_deref(), Some("浦发银行"));
    assert_eq!(s.frequency, Frequency::Weekly);
    assert_eq!(s.adjustment, Adjustment::Qfq);
    assert_eq!(s.volume_unit, VolumeUnit::Lots);
    assert_eq!(s.bars[0].volume, 100_000.0);
    // Without the options, a weekly gap is inferred as weekly as well.
    let p = ok("600000.csv", text, &default());
    assert_eq!(p.series[0].frequency, Frequency::Weekly);
}

#[test]
fn no_symbol_anywhere_is_an_error_that_says_what_to_do() {
    let text = "date,open,high,low,close,volume\n2024-09-02,10,11,9,10.5,1000\n";
    let e = parse_file("prices.csv", text.as_bytes(), &default()).unwrap_err();
    assert_eq!(e.code(), "no_symbol");
    let msg = e.to_string();
    assert!(
        msg.contains("prices.csv") && msg.contains("pass the symbol"),
        "{msg}"
    );
    assert_eq!(e.problems()[0].file, "prices.csv");
}

#[test]
fn tdx_export_gbk_tab_separated_with_title_and_footer() {
    let bars = walk(&weekdays(6), 8.1, 10);
    let mut text = String::from(
        "600000 浦发银行 日线 不复权\r\n      日期\t    开盘\t    最高\t    最低\t    收盘\t    成交量\t    成交额\r\n",
    );
    for g in &bars {
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\r\n",
            g.ts.format("%Y/%m/%d"),
            g.o,
            g.h,
            g.l,
            g.c,
            g.shares(),
            g.amount
        ));
    }
    text.push_str("数据来源:通达信\r\n");
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    let p = parse_file("SH#600000.txt", &gbk, &default()).unwrap();
    assert_eq!(p.layout, Layout::Akshare);
    assert_eq!(p.rows_read, 6, "the footer is not a row");
    let s = &p.series[0];
    assert_eq!(s.symbol, sym("600000.SH"));
    assert_eq!(s.name.as_deref(), Some("浦发银行"));
    // TDX's unit is not documented: the vwap check decides (shares here), no warning.
    assert_eq!(s.volume_unit, VolumeUnit::Shares);
    assert_eq!(s.bars[0].volume, bars[0].shares());
    assert!(p.warnings.is_empty(), "{:#?}", p.warnings);
}

#[test]
fn semicolons_with_decimal_commas_and_whitespace_separated() {
    let text = "Date;Open;High;Low;Close;Volume\n2024-09-02;10,5;11,25;9,75;10,8;1.000\n";
    let opts = ImportOptions {
        symbol: Some(sym("600000.SH")),
        ..default()
    };
    let p = ok("eu.csv", text, &opts);
    let b = p.series[0].bars[0];
    assert_eq!(
        (b.open, b.high, b.low, b.close, b.volume),
        (10.5, 11.25, 9.75, 10.8, 1000.0)
    );

    let text = "date   open  high  low   close  volume\n2024-09-02  10.5  11.25  9.75  10.8  1000\n\n2024-09-03  10.8  11  10  10.2  2000\n";
    let p = ok("600000.txt", text, &default());
    assert_eq!(p.series[0].bars.len(), 2);
    assert_eq!(p.series[0].bars[1].close, 10.2);
}

#[test]
fn header_units_shuffled_columns_extras_and_thousands_separators() {
    let text = "成交额(千元),收盘价,备注,最低价,日期,成交量(股),最高价,开盘价\n\
        \"1,050.5\",10.5,x,9.8,2024/9/2,\"100,000\",10.6,10\n\
        -,10.7,y,10.1,2024/9/3,\"120,000\",10.9,10.5\n";
    let p = ok("000001.csv", text, &default());
    assert_eq!(p.layout, Layout::Akshare);
    let s = &p.series[0];
    assert_eq!(s.volume_unit, VolumeUnit::Shares);
    let b = s.bars[0];
    assert_eq!((b.open, b.high, b.low, b.close), (10.0, 10.6, 9.8, 10.5));
    assert_eq!(b.volume, 100_000.0);
    assert_eq!(b.amount, Some(1_050_500.0));
    assert_eq!(s.bars[1].amount, None, "`-` is a missing amount");
}

#[test]
fn hqchart_json_generated_minute_and_bare_array() {
    let bars = walk(&intraday(2, 1), 9.7, 11);
    let rows: Vec<String> = bars
        .iter()
        .map(|g| {
            format!(
                "[{}, {}, {}, {}, {}, {}, {}, {}, {}]",
                g.ts.format("%Y%m%d"),
                g.o,
                g.o,
                g.h,
                g.l,
                g.c,
                g.shares(),
                g.amount,
                g.ts.format("%H%M").to_string().trim_start_matches('0')
            )
        })
        .collect();
    let json = format!(
        "{{\"data\": [{}], \"symbol\": \"000001.sz\", \"name\": \"平安银行\", \"ver\": 2}}",
        rows.join(", ")
    );
    let p = ok("whatever.json", &json, &default());
    assert_eq!(p.layout, Layout::HqchartJson);
    let s = &p.series[0];
    assert_eq!(s.symbol, sym("000001.SZ"));
    assert_eq!(s.name.as_deref(), Some("平安银行"));
    assert_eq!(s.frequency, Frequency::M1);
    assert_eq!(s.bars.len(), 480);
    assert_eq!(s.bars[0].ts, bars[0].ts);
    assert_eq!(s.bars[0].volume, bars[0].shares());

    let bare = format!("[{}]", rows[..3].join(","));
    let p = ok("000001.sz.minute.kline.json", &bare, &default());
    assert_eq!(p.series[0].symbol, sym("000001.SZ"));
    assert_eq!(p.series[0].bars.len(), 3);
}

#[test]
fn hqchart_json_problems_name_the_array_index() {
    let json = r#"{"symbol":"600000.sh","data":[[20240902,8,8,8.2,7.9,8.1,1000,8100],[20240903,8.1,8.1,8.2,null,8.0,1000,8100]]}"#;
    let e = parse_file("600000.json", json.as_bytes(), &default()).unwrap_err();
    assert_eq!(e.code(), "invalid_rows");
    let p = &e.problems()[0];
    assert_eq!((p.row, p.column.as_deref()), (Some(2), Some("low")));
    assert!(p.message.contains("missing"), "{p}");
}

#[test]
fn turnover_counts_as_amount_only_when_it_is_money() {
    let bars = walk(&weekdays(12), 10.0, 14);
    let make = |rate: bool| {
        let mut t = String::from("date,open,high,low,close,volume,turnover\n");
        for g in &bars {
            let turnover = if rate { 0.85 } else { g.amount };
            t.push_str(&format!(
                "{},{},{},{},{},{},{turnover}\n",
                date(g.ts),
                g.o,
                g.h,
                g.l,
                g.c,
                g.shares()
            ));
        }
        t
    };
    let p = ok("600000.csv", &make(false), &default());
    assert_eq!(p.series[0].bars[0].amount, Some(bars[0].amount));
    let p = ok("600000.csv", &make(true), &default());
    assert_eq!(p.series[0].bars[0].amount, None);
    assert!(
        p.warnings
            .iter()
            .any(|w| w.column.as_deref() == Some("turnover")),
        "{:#?}",
        p.warnings
    );
}

/// `bars` as a TDX `.day` file: prices × `per_yuan` as integers, amount as f32, shares.
fn day_file(bars: &[G], per_yuan: f64) -> Vec<u8> {
    let mut out = Vec::new();
    for g in bars {
        let d = g.ts.date();
        let ymd = d.year() as u32 * 10_000 + d.month() * 100 + d.day();
        out.extend_from_slice(&ymd.to_le_bytes());
        for p in [g.o, g.h, g.l, g.c] {
            out.extend_from_slice(&((p * per_yuan).round() as u32).to_le_bytes());
        }
        out.extend_from_slice(&(g.amount as f32).to_le_bytes());
        out.extend_from_slice(&(g.shares() as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
    }
    out
}

#[test]
fn tdx_day_files_give_shares_and_yuan_with_the_symbol_from_the_name() {
    let bars = walk(&weekdays(250), 10.0, 7);
    let bytes = day_file(&bars, 100.0);
    let p = parse_file("vipdoc/sh/lday/sh600000.day", &bytes, &default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.layout, Layout::TdxDay);
    let s = &p.series[0];
    assert_eq!(s.symbol, sym("600000.SH"));
    assert_eq!(s.frequency, Frequency::Daily);
    assert_eq!(s.bars.len(), 250);
    let (first, last) = (&s.bars[0], &s.bars[249]);
    assert_eq!(first.ts, bars[0].ts);
    assert_eq!((first.open, first.close), (bars[0].o, bars[0].c));
    assert_eq!(last.volume, bars[249].shares());
    assert!((last.amount.unwrap() - bars[249].amount).abs() <= bars[249].amount * 1e-7);

    // A fund's prices are in tenths of a cent: 3.856 stays 3.856.
    let mut etf = walk(&weekdays(5), 3.856, 8);
    for g in &mut etf {
        g.o = 3.856;
        g.c = 3.861;
        g.h = 3.87;
        g.l = 3.85;
    }
    let p = parse_file("sz159915.day", &day_file(&etf, 1000.0), &default()).unwrap();
    assert_eq!(p.series[0].symbol, sym("159915.SZ"));
    assert_eq!(
        (p.series[0].bars[0].open, p.series[0].bars[0].close),
        (3.856, 3.861)
    );
}

#[test]
fn a_cut_tdx_day_file_or_a_bad_record_is_named() {
    let bars = walk(&weekdays(3), 10.0, 9);
    let mut bytes = day_file(&bars, 100.0);
    bytes.truncate(32 * 2 + 20);
    let e = parse_file("sz000001.day", &bytes, &default()).unwrap_err();
    assert_eq!(e.code(), "bad_tdx_day");
    assert!(
        e.to_string()
            .starts_with("sz000001.day, record 3: cut off after 20"),
        "{e}"
    );

    let mut bytes = day_file(&bars, 100.0);
    bytes[32..36].copy_from_slice(&20241341u32.to_le_bytes());
    let e = parse_file("sz000001.day", &bytes, &default()).unwrap_err();
    let problems = e.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].row, Some(2));
    assert_eq!(problems[0].column.as_deref(), Some("date"));

    let e = parse_file("lday.day", &day_file(&bars, 100.0), &default()).unwrap_err();
    assert_eq!(e.code(), "no_symbol");
}

#[test]
fn layout_names() {
    let all = [
        (Layout::Akshare, "akshare"),
        (Layout::Tushare, "tushare"),
        (Layout::Kronos, "kronos"),
        (Layout::Yahoo, "yahoo"),
        (Layout::Baostock, "baostock"),
        (Layout::Generic, "generic"),
        (Layout::EquinetXlsx, "equinet-xlsx"),
        (Layout::Xlsx, "xlsx"),
        (Layout::HqchartJson, "hqchart-json"),
        (Layout::TdxDay, "tdx-day"),
    ];
    for (l, s) in all {
        assert_eq!(l.as_str(), s);
        assert_eq!(l.to_string(), s);
    }
}

mod xlsx {
    use super::*;
    use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook};

    #[test]
    fn formulas_are_read_by_their_cached_values() {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        for (c, h) in ["date", "open", "high", "low", "close", "volume"]
            .iter()
            .enumerate()
        {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        ws.write_string(1, 0, "2024-09-02").unwrap();
        for (c, v) in [10.0, 10.5, 9.9, 10.2, 5000.0].into_iter().enumerate() {
            ws.write_number(1, c as u16 + 1, v).unwrap();
        }
        ws.write_formula(1, 4, Formula::new("=B2+0.2").set_result("10.2"))
            .unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        let p = parse_file("600000.xlsx", &bytes, &default()).unwrap();
        assert_eq!(p.series[0].bars[0].close, 10.2);
    }

    #[test]
    fn equinet_layout_with_text_dates_and_a_leading_space() {
        let bars = walk(&weekdays(15), 4.5, 12);
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        let headers = [
            "time",
            "start",
            "max",
            "min",
            "end",
            "volume",
            "marketvolume",
            "marketlimit",
            "marketrange",
        ];
        for (c, h) in headers.iter().enumerate() {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        for (i, g) in bars.iter().enumerate() {
            let r = i as u32 + 1;
            ws.write_string(r, 0, format!(" {}", g.ts.format("%Y/%m/%d")))
                .unwrap();
            for (c, v) in [g.o, g.h, g.l, g.c, g.shares(), 3.08e8, -0.0083, 36.8]
                .into_iter()
                .enumerate()
            {
                ws.write_number(r, c as u16 + 1, v).unwrap();
            }
        }
        let bytes = wb.save_to_buffer().unwrap();
        let p = parse_file("processed_600008.xlsx", &bytes, &default()).unwrap();
        assert_eq!(p.layout, Layout::EquinetXlsx);
        assert_eq!(p.rows_read, 15);
        let s = &p.series[0];
        assert_eq!(s.symbol, sym("600008.SH"));
        assert_eq!(s.volume_unit, VolumeUnit::Shares);
        assert_eq!(s.bars.len(), 15);
        assert_eq!(s.bars[0].ts, bars[0].ts);
        assert_eq!(s.bars[14].close, bars[14].c);
        assert_eq!(s.bars[14].volume, bars[14].shares());
        assert_eq!(s.bars[0].amount, None);
    }

    #[test]
    fn real_date_cells_and_intraday_times() {
        let bars = walk(&intraday(1, 30), 20.0, 13);
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        let fmt = Format::new().set_num_format("yyyy-mm-dd hh:mm");
        for (c, h) in ["日期", "开盘", "最高", "最低", "收盘", "成交量", "成交额"]
            .iter()
            .enumerate()
        {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        for (i, g) in bars.iter().enumerate() {
            let r = i as u32 + 1;
            let dt = ExcelDateTime::parse_from_str(&g.ts.format("%Y-%m-%dT%H:%M:%S").to_string())
                .unwrap();
            ws.write_datetime_with_format(r, 0, &dt, &fmt).unwrap();
            for (c, v) in [g.o, g.h, g.l, g.c, g.lots, g.amount]
                .into_iter()
                .enumerate()
            {
                ws.write_number(r, c as u16 + 1, v).unwrap();
            }
        }
        let bytes = wb.save_to_buffer().unwrap();
        let opts = ImportOptions {
            symbol: Some(sym("300006.SZ")),
            ..default()
        };
        let p = parse_file("book.xlsx", &bytes, &opts).unwrap();
        assert_eq!(p.layout, Layout::Xlsx);
        let s = &p.series[0];
        assert_eq!(s.frequency, Frequency::M30);
        assert_eq!(
            s.volume_unit,
            VolumeUnit::Lots,
            "akshare headers in a workbook"
        );
        assert_eq!(s.bars.len(), 8);
        assert_eq!(s.bars[0].ts, bars[0].ts);
        assert_eq!(s.bars[7].ts, bars[7].ts);
        assert_eq!(s.bars[7].volume, bars[7].shares());
    }

    #[test]
    fn tdx_style_sheet_with_a_title_row_and_numeric_codes() {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(0, 0, "平安银行 日线").unwrap();
        for (c, h) in ["代码", "日期", "开盘", "最高", "最低", "收盘", "成交量"]
            .iter()
            .enumerate()
        {
            ws.write_string(1, c as u16, *h).unwrap();
        }
        // Excel dropped the leading zeros of 000001; dates as yyyymmdd numbers.
        ws.write_number(2, 0, 1.0).unwrap();
        ws.write_number(2, 1, 20240902.0).unwrap();
        for (c, v) in [10.0, 10.5, 9.9, 10.2, 5000.0].into_iter().enumerate() {
            ws.write_number(2, c as u16 + 2, v).unwrap();
        }
        let bytes = wb.save_to_buffer().unwrap();
        let p = parse_file("tdx.xlsx", &bytes, &default()).unwrap();
        let s = &p.series[0];
        assert_eq!(s.symbol, sym("000001.SZ"));
        assert_eq!(s.bars[0].ts.format("%F").to_string(), "2024-09-02");
        assert_eq!(s.bars[0].volume, 500_000.0);
    }

    #[test]
    fn xlsx_problems_use_spreadsheet_rows() {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        for (c, h) in ["Date", "Open", "High", "Low", "Close", "Volume"]
            .iter()
            .enumerate()
        {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        ws.write_string(1, 0, "2024-09-02").unwrap();
        ws.write_string(2, 0, "2024-09-03").unwrap();
        for (c, v) in [10.0, 10.5, 9.9, 10.2, 5000.0].into_iter().enumerate() {
            ws.write_number(1, c as u16 + 1, v).unwrap();
            ws.write_number(2, c as u16 + 1, v).unwrap();
        }
        ws.write_string(2, 2, "n/a").unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        let e = parse_file("600000.xlsx", &bytes, &default()).unwrap_err();
        let p = &e.problems()[0];
        assert_eq!((p.row, p.column.as_deref()), (Some(3), Some("High")));
    }
}

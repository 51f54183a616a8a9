//! Header aliases (docs/data-sources.md §5), column mapping and layout detection.

use super::Layout;
use crate::import::VolumeUnit;

/// The columns the importer understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Col {
    Date,
    Open,
    High,
    Low,
    Close,
    Volume,
    Amount,
    AdjClose,
    PrevClose,
    Code,
    Name,
}

impl Col {
    /// The canonical name, for messages.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Col::Date => "date",
            Col::Open => "open",
            Col::High => "high",
            Col::Low => "low",
            Col::Close => "close",
            Col::Volume => "volume",
            Col::Amount => "amount",
            Col::AdjClose => "adj close",
            Col::PrevClose => "prev close",
            Col::Code => "code",
            Col::Name => "name",
        }
    }

    /// Headers accepted for the column, normalised (trimmed, ASCII-lowercased).
    pub(crate) fn aliases(self) -> &'static [&'static str] {
        match self {
            Col::Date => &[
                "date",
                "日期",
                "trade_date",
                "time",
                "timestamps",
                "timestamp",
                "datetime",
                "时间",
                "交易日期",
                "trade_time",
                "交易时间",
                "日期时间",
            ],
            Col::Open => &["open", "开盘", "开盘价", "start", "今开"],
            Col::High => &["high", "最高", "最高价", "max"],
            Col::Low => &["low", "最低", "最低价", "min"],
            Col::Close => &["close", "收盘", "收盘价", "end", "price"],
            Col::Volume => &["volume", "vol", "成交量"],
            // `turnover` is read as money only when no other amount column exists.
            Col::Amount => &["amount", "成交额", "成交金额", "money", "turnover"],
            Col::AdjClose => &["adj close", "adj_close", "adjclose"],
            Col::PrevClose => &["pre_close", "preclose", "prev_close", "昨收", "前收盘"],
            Col::Code => &["ts_code", "code", "symbol", "股票代码", "代码", "证券代码"],
            Col::Name => &["name", "名称", "股票名称", "证券名称", "股票简称", "简称"],
        }
    }

    const ALL: [Col; 11] = [
        Col::Date,
        Col::Open,
        Col::High,
        Col::Low,
        Col::Close,
        Col::Volume,
        Col::Amount,
        Col::AdjClose,
        Col::PrevClose,
        Col::Code,
        Col::Name,
    ];

    /// The columns every file must have.
    pub(crate) const REQUIRED: [Col; 6] = [
        Col::Date,
        Col::Open,
        Col::High,
        Col::Low,
        Col::Close,
        Col::Volume,
    ];
}

/// A header cell split into its normalised name and an optional unit in parentheses
/// (`成交量(手)` → `成交量`, `手`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HeaderCell {
    /// As written, trimmed: what error messages show.
    pub written: String,
    /// Lowercased, without the unit suffix.
    pub norm: String,
    pub unit: Option<String>,
}

impl HeaderCell {
    pub(crate) fn new(raw: &str) -> HeaderCell {
        let written = raw
            .trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}' || c == '"' || c == '\'')
            .to_string();
        let mut norm = written.to_lowercase();
        let mut unit = None;
        for (open, close) in [('(', ')'), ('（', '）'), ('[', ']')] {
            if norm.ends_with(close)
                && let Some(start) = norm.rfind(open)
            {
                let inner = norm[start + open.len_utf8()..norm.len() - close.len_utf8()].trim();
                unit = Some(inner.to_string());
                norm = norm[..start].trim().to_string();
                break;
            }
        }
        HeaderCell {
            written,
            norm,
            unit,
        }
    }

    fn col(&self) -> Option<Col> {
        Col::ALL
            .into_iter()
            .find(|c| c.aliases().contains(&self.norm.as_str()))
    }
}

/// How many of the required columns a candidate header row names (for header sniffing).
pub(crate) fn header_score<'a>(cells: impl Iterator<Item = &'a str>) -> usize {
    let mut seen = [false; 6];
    for cell in cells {
        if let Some(c) = HeaderCell::new(cell).col()
            && let Some(i) = Col::REQUIRED.iter().position(|r| *r == c)
        {
            seen[i] = true;
        }
    }
    seen.iter().filter(|s| **s).count()
}

/// Column indices of one file.
#[derive(Debug, Clone)]
pub(crate) struct ColumnMap {
    pub headers: Vec<HeaderCell>,
    pub date: usize,
    /// A second date/time column (baostock `date` + `time`): time of day or full timestamp.
    pub time: Option<usize>,
    pub open: usize,
    pub high: usize,
    pub low: usize,
    pub close: usize,
    pub volume: usize,
    pub amount: Option<usize>,
    pub code: Option<usize>,
    pub name: Option<usize>,
    pub adj_close: Option<usize>,
}

/// Why the header does not work.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum HeaderError {
    Missing(Col),
}

impl ColumnMap {
    /// Maps header cells to columns; the first matching header wins.
    pub(crate) fn new(headers: Vec<HeaderCell>) -> Result<ColumnMap, HeaderError> {
        let mut found: [Option<usize>; 11] = [None; 11];
        let mut time = None;
        let mut turnover = None;
        for (i, h) in headers.iter().enumerate() {
            let Some(c) = h.col() else { continue };
            if c == Col::Amount && h.norm == "turnover" {
                turnover.get_or_insert(i);
                continue;
            }
            let slot = &mut found[c as usize];
            match slot {
                None => *slot = Some(i),
                Some(_) if c == Col::Date && time.is_none() => time = Some(i),
                Some(_) => {}
            }
        }
        let get = |c: Col| found[c as usize];
        let need = |c: Col| get(c).ok_or(HeaderError::Missing(c));
        Ok(ColumnMap {
            date: need(Col::Date)?,
            time,
            open: need(Col::Open)?,
            high: need(Col::High)?,
            low: need(Col::Low)?,
            close: need(Col::Close)?,
            volume: need(Col::Volume)?,
            amount: get(Col::Amount).or(turnover),
            code: get(Col::Code),
            name: get(Col::Name),
            adj_close: get(Col::AdjClose),
            headers,
        })
    }

    /// Header text as written in the file, for problems.
    pub(crate) fn written(&self, i: usize) -> &str {
        self.headers.get(i).map_or("", |h| h.written.as_str())
    }

    fn norm(&self, i: usize) -> &str {
        self.headers.get(i).map_or("", |h| h.norm.as_str())
    }

    fn has(&self, name: &str) -> bool {
        self.headers.iter().any(|h| h.norm == name)
    }
}

/// What the headers say about units, beyond the layout name.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Flavor {
    pub layout: Layout,
    /// Volume unit and how sure we are of it.
    pub volume: UnitSource,
    /// Multiply the amount column by this to get CNY.
    pub amount_scale: f64,
}

/// Where a volume unit comes from, which decides what the vwap check may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnitSource {
    /// Given by the user (`ImportOptions::volume_unit`): kept; a contradiction is a warning.
    User(VolumeUnit),
    /// Written in the header (`成交量(手)`) or documented for the layout: kept; a
    /// contradiction is a warning.
    Known(VolumeUnit),
    /// Only a default: the vwap check decides when it can.
    Guess(VolumeUnit),
}

impl UnitSource {
    pub(crate) fn unit(self) -> VolumeUnit {
        match self {
            UnitSource::User(u) | UnitSource::Known(u) | UnitSource::Guess(u) => u,
        }
    }
}

/// Detects the layout from the header and picks the unit defaults.
/// `tdx_like`: the file had a title line or a TDX footer, so Chinese headers are not akshare's.
pub(crate) fn detect(map: &ColumnMap, xlsx: bool, tdx_like: bool) -> Flavor {
    let is_chinese = |i: usize| !map.norm(i).is_ascii();
    let ohlc = [map.date, map.open, map.high, map.low, map.close, map.volume];
    let equinet = map.norm(map.date) == "time"
        && map.norm(map.open) == "start"
        && map.norm(map.high) == "max"
        && map.norm(map.low) == "min"
        && map.norm(map.close) == "end";
    let baostock_markers = ["adjustflag", "tradestatus", "pctchg", "isst"];
    let (layout, volume, amount_scale) = if map.adj_close.is_some() {
        (Layout::Yahoo, UnitSource::Known(VolumeUnit::Shares), 1.0)
    } else if map.norm(map.date) == "timestamps" {
        (Layout::Kronos, UnitSource::Known(VolumeUnit::Lots), 1.0)
    } else if map.code.is_some_and(|c| map.norm(c) == "ts_code")
        || (map.norm(map.date) == "trade_date" && map.norm(map.volume) == "vol")
    {
        let scale = if map.amount.is_some_and(|a| map.norm(a) == "amount") {
            1000.0
        } else {
            1.0
        };
        (Layout::Tushare, UnitSource::Known(VolumeUnit::Lots), scale)
    } else if baostock_markers.iter().any(|m| map.has(m))
        || (map.code.is_some_and(|c| map.norm(c) == "code") && map.has("preclose"))
    {
        (Layout::Baostock, UnitSource::Known(VolumeUnit::Shares), 1.0)
    } else if equinet {
        let layout = if xlsx {
            Layout::EquinetXlsx
        } else {
            Layout::Generic
        };
        (layout, UnitSource::Known(VolumeUnit::Shares), 1.0)
    } else if ohlc.iter().any(|&i| is_chinese(i)) {
        // akshare's own names mean lots; other Chinese exports (TDX, NetEase `开盘价`) vary.
        let akshare_names = ["开盘", "最高", "最低", "收盘", "成交量"];
        let exact = [map.open, map.high, map.low, map.close, map.volume]
            .iter()
            .all(|&i| akshare_names.contains(&map.norm(i)));
        let source = if exact && !tdx_like {
            UnitSource::Known(VolumeUnit::Lots)
        } else {
            UnitSource::Guess(VolumeUnit::Lots)
        };
        (Layout::Akshare, source, 1.0)
    } else {
        (Layout::Generic, UnitSource::Guess(VolumeUnit::Shares), 1.0)
    };
    let layout = if xlsx && layout != Layout::EquinetXlsx {
        Layout::Xlsx
    } else {
        layout
    };
    // Units written in the header beat layout defaults.
    let volume = match map.headers.get(map.volume).and_then(|h| h.unit.as_deref()) {
        Some("手" | "lots" | "lot" | "hands") => UnitSource::Known(VolumeUnit::Lots),
        Some("股" | "shares" | "share") => UnitSource::Known(VolumeUnit::Shares),
        _ => volume,
    };
    let amount_scale = match map
        .amount
        .and_then(|a| map.headers.get(a))
        .and_then(|h| h.unit.as_deref())
    {
        Some("元" | "cny" | "rmb" | "yuan") => 1.0,
        Some("千元") => 1e3,
        Some("万元" | "万") => 1e4,
        Some("亿元" | "亿") => 1e8,
        _ => amount_scale,
    };
    Flavor {
        layout,
        volume,
        amount_scale,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(line: &str) -> ColumnMap {
        ColumnMap::new(line.split(',').map(HeaderCell::new).collect()).unwrap()
    }

    #[test]
    fn detects_every_known_layout() {
        let cases = [
            (
                "日期,股票代码,开盘,收盘,最高,最低,成交量,成交额,振幅,涨跌幅,涨跌额,换手率",
                Layout::Akshare,
            ),
            (
                "ts_code,trade_date,open,high,low,close,pre_close,change,pct_chg,vol,amount",
                Layout::Tushare,
            ),
            (
                "timestamps,open,high,low,close,volume,amount",
                Layout::Kronos,
            ),
            ("Date,Open,High,Low,Close,Adj Close,Volume", Layout::Yahoo),
            (
                "date,code,open,high,low,close,preclose,volume,amount,adjustflag,turn,tradestatus,pctChg,isST",
                Layout::Baostock,
            ),
            (
                "date,open,high,low,close,volume,amount,prev_close",
                Layout::Generic,
            ),
        ];
        for (line, layout) in cases {
            assert_eq!(detect(&map(line), false, false).layout, layout, "{line}");
        }
        let eq = map("time,start,max,min,end,volume,marketvolume,marketlimit,marketrange");
        assert_eq!(detect(&eq, true, false).layout, Layout::EquinetXlsx);
        assert_eq!(
            detect(&map("date,open,high,low,close,volume"), true, false).layout,
            Layout::Xlsx
        );
    }

    #[test]
    fn units_per_layout_and_header_suffix() {
        let ts = detect(
            &map("ts_code,trade_date,open,high,low,close,vol,amount"),
            false,
            false,
        );
        assert_eq!(ts.volume, UnitSource::Known(VolumeUnit::Lots));
        assert_eq!(ts.amount_scale, 1000.0);
        let hinted = detect(
            &map("日期,开盘价,最高价,最低价,收盘价,成交量(股),成交额(千元)"),
            false,
            false,
        );
        assert_eq!(hinted.volume, UnitSource::Known(VolumeUnit::Shares));
        assert_eq!(hinted.amount_scale, 1000.0);
        let tdx = detect(&map("日期,开盘,最高,最低,收盘,成交量,成交额"), false, true);
        assert_eq!(tdx.volume, UnitSource::Guess(VolumeUnit::Lots));
    }

    #[test]
    fn header_matching_is_forgiving() {
        let m = map("\u{feff} Date ,OPEN,High,Low,Close,Volume,turnover");
        assert_eq!(m.date, 0);
        assert_eq!(m.written(0), "Date");
        assert_eq!(m.amount, Some(6));
        let m = map("date,time,code,open,high,low,close,volume,amount,adjustflag");
        assert_eq!((m.date, m.time), (0, Some(1)));
        let err = ColumnMap::new(
            "date,open,high,low,volume"
                .split(',')
                .map(HeaderCell::new)
                .collect(),
        )
        .unwrap_err();
        assert_eq!(err, HeaderError::Missing(Col::Close));
    }
}

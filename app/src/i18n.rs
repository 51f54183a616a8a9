//! UI strings in Chinese (default) and English, with the choice remembered in `localStorage`.
//!
//! Strings are plain `&'static str` fields of [`Strings`], so a missing translation is a compile
//! error. Components read them through [`I18n::t`], which is reactive: switching the language in
//! the header re-renders every label without reloading data.

use kxian_shared::{Adjustment, Board, Frequency, InstrumentKind};
use leptos::prelude::*;

const STORAGE_KEY: &str = "kxian.lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        match code {
            "zh" | "zh-CN" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    fn pick(self, (zh, en): (&'static str, &'static str)) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    pub fn strings(self) -> &'static Strings {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }

    pub fn frequency(self, f: Frequency) -> &'static str {
        self.pick(match f {
            Frequency::M1 => ("1分钟", "1 min"),
            Frequency::M5 => ("5分钟", "5 min"),
            Frequency::M15 => ("15分钟", "15 min"),
            Frequency::M30 => ("30分钟", "30 min"),
            Frequency::M60 => ("60分钟", "60 min"),
            Frequency::Daily => ("日线", "Daily"),
            Frequency::Weekly => ("周线", "Weekly"),
            Frequency::Monthly => ("月线", "Monthly"),
        })
    }

    pub fn adjustment(self, a: Adjustment) -> &'static str {
        self.pick(match a {
            Adjustment::None => ("不复权", "Raw"),
            Adjustment::Qfq => ("前复权", "Forward-adj."),
            Adjustment::Hfq => ("后复权", "Backward-adj."),
        })
    }

    pub fn board(self, b: Board) -> &'static str {
        self.pick(match b {
            Board::Main => ("主板", "Main board"),
            Board::ChiNext => ("创业板", "ChiNext"),
            Board::Star => ("科创板", "STAR"),
            Board::Bse => ("北交所", "BSE"),
            Board::Etf => ("ETF", "ETF"),
            Board::Lof => ("LOF", "LOF"),
            Board::Reit => ("REITs", "REITs"),
            Board::Index => ("指数", "Index"),
            Board::BShare => ("B股", "B share"),
            Board::ConvertibleBond => ("可转债", "Convertible"),
            Board::Other => ("其他", "Other"),
        })
    }

    pub fn kind(self, k: InstrumentKind) -> &'static str {
        self.pick(match k {
            InstrumentKind::Stock => ("股票", "Stock"),
            InstrumentKind::Fund => ("基金", "Fund"),
            InstrumentKind::Index => ("指数", "Index"),
            InstrumentKind::Bond => ("债券", "Bond"),
            InstrumentKind::Other => ("其他", "Other"),
        })
    }

    /// "Showing 11 of 11".
    pub fn showing(self, shown: usize, total: u64) -> String {
        match self {
            Lang::Zh => format!("共 {total} 个，显示 {shown} 个"),
            Lang::En => format!("Showing {shown} of {total}"),
        }
    }

    /// Note under the chart when `limit` cut older bars.
    pub fn truncated(self, n: usize) -> String {
        match self {
            Lang::Zh => format!("仅加载了最近 {n} 根K线；选择「全部」加载完整序列。"),
            Lang::En => {
                format!("Only the latest {n} bars are loaded; choose All to load the whole series.")
            }
        }
    }

    /// Note under the chart when every bar has zero volume.
    pub fn no_volume(self) -> &'static str {
        match self {
            Lang::Zh => "该序列没有成交量数据（数据源未提供），成交量图为空。",
            Lang::En => {
                "This series has no volume data (the source has none), so the volume pane is empty."
            }
        }
    }

    pub fn rows_read(self, n: u64) -> String {
        match self {
            Lang::Zh => format!("读取 {n} 行"),
            Lang::En => format!("{n} rows read"),
        }
    }
}

/// Every UI string, one field per label.
pub struct Strings {
    pub brand: &'static str,
    pub tagline: &'static str,
    pub nav_symbols: &'static str,
    pub nav_forecast: &'static str,
    /// Label of the language switch: the language it switches TO.
    pub switch_to: &'static str,
    pub footer_symbols: &'static str,
    pub footer_bars: &'static str,

    pub symbols_title: &'static str,
    pub search_placeholder: &'static str,
    pub col_code: &'static str,
    pub col_name: &'static str,
    pub col_board: &'static str,
    pub col_kind: &'static str,
    pub col_series: &'static str,
    pub bars_unit: &'static str,
    pub loading: &'static str,
    pub no_match: &'static str,
    pub open_chart: &'static str,

    pub upload_title: &'static str,
    pub upload_hint: &'static str,
    pub file_label: &'static str,
    pub symbol_label: &'static str,
    pub symbol_placeholder: &'static str,
    pub name_label: &'static str,
    pub name_placeholder: &'static str,
    pub freq_label: &'static str,
    pub detect: &'static str,
    pub volume_unit_label: &'static str,
    pub shares: &'static str,
    pub lots: &'static str,
    pub skip_invalid: &'static str,
    pub submit: &'static str,
    pub importing: &'static str,
    pub no_file: &'static str,
    pub import_ok: &'static str,
    pub layout: &'static str,
    pub col_adj: &'static str,
    pub col_bars: &'static str,
    pub col_inserted: &'static str,
    pub col_updated: &'static str,
    pub col_range: &'static str,
    pub warnings: &'static str,
    pub rejected: &'static str,
    pub col_file: &'static str,
    pub col_row: &'static str,
    pub col_column: &'static str,
    pub col_message: &'static str,
    pub import_failed: &'static str,

    pub error_title: &'static str,
    pub back_to_list: &'static str,
    pub unknown_symbol: &'static str,
    pub no_series: &'static str,

    pub adj_label: &'static str,
    pub range_label: &'static str,
    pub latest: &'static str,
    pub open: &'static str,
    pub high: &'static str,
    pub low: &'static str,
    pub close: &'static str,
    pub change: &'static str,
    pub volume: &'static str,
    pub amount: &'static str,
    pub bars_loaded: &'static str,
    pub candles: &'static str,
    pub date: &'static str,
    pub all: &'static str,
    pub units_note: &'static str,

    pub not_found_title: &'static str,
    pub not_found_text: &'static str,
}

pub static ZH: Strings = Strings {
    brand: "K线研究",
    tagline: "A股K线数据 · 本地离线",
    nav_symbols: "行情列表",
    nav_forecast: "预测",
    switch_to: "English",
    footer_symbols: "个证券",
    footer_bars: "根K线",

    symbols_title: "证券列表",
    search_placeholder: "搜索代码或名称，如 600000、沪深、CSI",
    col_code: "代码",
    col_name: "名称",
    col_board: "板块",
    col_kind: "类型",
    col_series: "数据序列（周期 · 根数 · 区间）",
    bars_unit: "根",
    loading: "加载中…",
    no_match: "没有匹配的证券。",
    open_chart: "查看K线",

    upload_title: "导入K线文件",
    upload_hint: "支持 CSV / TXT / XLSX / JSON（akshare、Tushare、Kronos、Yahoo、baostock、HQChart 等格式自动识别）。",
    file_label: "文件",
    symbol_label: "代码",
    symbol_placeholder: "可选，如 600519.SH",
    name_label: "名称",
    name_placeholder: "可选",
    freq_label: "周期",
    detect: "自动识别",
    volume_unit_label: "成交量单位",
    shares: "股",
    lots: "手（100股）",
    skip_invalid: "跳过无效行",
    submit: "导入",
    importing: "导入中…",
    no_file: "请先选择一个文件。",
    import_ok: "导入成功",
    layout: "格式",
    col_adj: "复权",
    col_bars: "根数",
    col_inserted: "新增",
    col_updated: "更新",
    col_range: "区间",
    warnings: "警告（数据已修复并保留）",
    rejected: "已跳过的无效行",
    col_file: "文件",
    col_row: "行",
    col_column: "列",
    col_message: "说明",
    import_failed: "导入失败",

    error_title: "出错了",
    back_to_list: "返回行情列表",
    unknown_symbol: "未找到该证券",
    no_series: "该证券没有K线数据。",

    adj_label: "复权",
    range_label: "区间",
    latest: "最新",
    open: "开盘",
    high: "最高",
    low: "最低",
    close: "收盘",
    change: "涨跌幅",
    volume: "成交量",
    amount: "成交额",
    bars_loaded: "K线数",
    candles: "K线",
    date: "时间",
    all: "全部",
    units_note: "价格：元；成交量：股；成交额：元",

    not_found_title: "页面不存在",
    not_found_text: "这个地址没有对应的页面。",
};

pub static EN: Strings = Strings {
    brand: "Kxian",
    tagline: "A-share K-lines · offline",
    nav_symbols: "Symbols",
    nav_forecast: "Forecast",
    switch_to: "中文",
    footer_symbols: "symbols",
    footer_bars: "bars",

    symbols_title: "Symbols",
    search_placeholder: "Search code or name, e.g. 600000, 沪深, CSI",
    col_code: "Code",
    col_name: "Name",
    col_board: "Board",
    col_kind: "Kind",
    col_series: "Series (frequency · bars · range)",
    bars_unit: "bars",
    loading: "Loading…",
    no_match: "No symbol matches.",
    open_chart: "Chart",

    upload_title: "Import a K-line file",
    upload_hint: "CSV / TXT / XLSX / JSON; akshare, Tushare, Kronos, Yahoo, baostock and HQChart layouts are detected.",
    file_label: "File",
    symbol_label: "Symbol",
    symbol_placeholder: "optional, e.g. 600519.SH",
    name_label: "Name",
    name_placeholder: "optional",
    freq_label: "Frequency",
    detect: "Detect",
    volume_unit_label: "Volume unit",
    shares: "shares",
    lots: "lots (100 shares)",
    skip_invalid: "Skip invalid rows",
    submit: "Import",
    importing: "Importing…",
    no_file: "Choose a file first.",
    import_ok: "Imported",
    layout: "Layout",
    col_adj: "Adj.",
    col_bars: "Bars",
    col_inserted: "Inserted",
    col_updated: "Updated",
    col_range: "Range",
    warnings: "Warnings (rows repaired and kept)",
    rejected: "Invalid rows skipped",
    col_file: "File",
    col_row: "Row",
    col_column: "Column",
    col_message: "Message",
    import_failed: "Import failed",

    error_title: "Something went wrong",
    back_to_list: "Back to the symbol list",
    unknown_symbol: "Unknown symbol",
    no_series: "This symbol has no K-line data.",

    adj_label: "Adjustment",
    range_label: "Range",
    latest: "Latest",
    open: "Open",
    high: "High",
    low: "Low",
    close: "Close",
    change: "Change",
    volume: "Volume",
    amount: "Amount",
    bars_loaded: "Bars",
    candles: "K-line",
    date: "Time",
    all: "All",
    units_note: "Prices in CNY; volume in shares; amount in CNY",

    not_found_title: "Page not found",
    not_found_text: "There is no page at this address.",
};

/// The app-wide language; `Copy`, so components capture it freely.
#[derive(Debug, Clone, Copy)]
pub struct I18n {
    lang: RwSignal<Lang>,
}

impl I18n {
    /// The current language (reactive).
    pub fn lang(&self) -> Lang {
        self.lang.get()
    }

    /// The current strings (reactive).
    pub fn t(&self) -> &'static Strings {
        self.lang.get().strings()
    }

    pub fn set(&self, lang: Lang) {
        self.lang.set(lang);
        store(lang);
    }
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn stored() -> Option<Lang> {
    Lang::from_code(&local_storage()?.get_item(STORAGE_KEY).ok().flatten()?)
}

fn store(lang: Lang) {
    if let Some(s) = local_storage() {
        let _ = s.set_item(STORAGE_KEY, lang.code());
    }
}

fn set_document_lang(lang: Lang) {
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("lang", if lang == Lang::Zh { "zh-CN" } else { "en" });
    }
}

/// Reads the remembered language (default Chinese) and provides it to the whole app.
pub fn provide_i18n() {
    let lang = RwSignal::new(stored().unwrap_or(Lang::Zh));
    Effect::new(move |_| set_document_lang(lang.get()));
    provide_context(I18n { lang });
}

pub fn use_i18n() -> I18n {
    expect_context::<I18n>()
}

//! UI strings in Chinese (default) and English, with the choice remembered in `localStorage`.
//!
//! Every string is written where it is shown, as a pair: `i18n.tr("中文", "English")` in a
//! component (reactive: switching the language in the header re-renders every label without
//! reloading data) or `lang.tr(..)` where a `Lang` is at hand (chart builders, formatters).
//! The pair's two arguments make a missing translation a compile error; the labels of domain
//! enums and the strings with numbers in them are the `Lang` methods below.

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

    /// `zh` or `en`, whichever `self` is: the one way the app writes a UI string, so both
    /// languages stand next to the markup that shows them and neither can be left out.
    pub fn tr(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    fn pick(self, (zh, en): (&'static str, &'static str)) -> &'static str {
        self.tr(zh, en)
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

    /// `zh` or `en`, whichever the current language is (reactive).
    pub fn tr(&self, zh: &'static str, en: &'static str) -> &'static str {
        self.lang.get().tr(zh, en)
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

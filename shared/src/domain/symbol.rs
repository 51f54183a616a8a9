//! A-share symbols: exchange, instrument kind and board derived from the code
//! (by the code ranges the exchanges assign: SSE 6xxxxx, SZSE 0/3xxxxx, BSE 4/8/92xxxx, and so on).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Exchange {
    /// Shanghai Stock Exchange (suffix `.SH`).
    #[serde(rename = "SH")]
    Sse,
    /// Shenzhen Stock Exchange (suffix `.SZ`).
    #[serde(rename = "SZ")]
    Szse,
    /// Beijing Stock Exchange (suffix `.BJ`).
    #[serde(rename = "BJ")]
    Bse,
}

impl Exchange {
    pub fn suffix(self) -> &'static str {
        match self {
            Exchange::Sse => "SH",
            Exchange::Szse => "SZ",
            Exchange::Bse => "BJ",
        }
    }

    fn from_tag(tag: &str) -> Option<Exchange> {
        match tag.to_ascii_uppercase().as_str() {
            "SH" | "SS" | "SSE" | "XSHG" | "1" => Some(Exchange::Sse),
            "SZ" | "SZSE" | "XSHE" | "0" => Some(Exchange::Szse),
            "BJ" | "BSE" | "XBSE" => Some(Exchange::Bse),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InstrumentKind {
    Stock,
    Fund,
    Index,
    Bond,
    Other,
}

impl InstrumentKind {
    /// The serde spelling: `stock`, `fund`, `index`, `bond`, `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            InstrumentKind::Stock => "stock",
            InstrumentKind::Fund => "fund",
            InstrumentKind::Index => "index",
            InstrumentKind::Bond => "bond",
            InstrumentKind::Other => "other",
        }
    }
}

/// Board (板块) as far as the code tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Board {
    /// SSE/SZSE main board (主板; 002 is the former SME board).
    Main,
    /// SZSE ChiNext (创业板).
    ChiNext,
    /// SSE STAR Market (科创板), including STAR CDRs.
    Star,
    /// Beijing Stock Exchange (北交所).
    Bse,
    /// Exchange-traded fund.
    Etf,
    /// Listed open-ended fund or closed-end fund.
    Lof,
    /// Infrastructure REIT.
    Reit,
    /// Index (not tradable).
    Index,
    /// B shares (USD/HKD).
    BShare,
    /// Convertible bond (out of scope for the backtester).
    ConvertibleBond,
    Other,
}

impl Board {
    pub fn as_str(self) -> &'static str {
        match self {
            Board::Main => "main",
            Board::ChiNext => "chinext",
            Board::Star => "star",
            Board::Bse => "bse",
            Board::Etf => "etf",
            Board::Lof => "lof",
            Board::Reit => "reit",
            Board::Index => "index",
            Board::BShare => "b_share",
            Board::ConvertibleBond => "convertible_bond",
            Board::Other => "other",
        }
    }

    pub fn kind(self) -> InstrumentKind {
        match self {
            Board::Main | Board::ChiNext | Board::Star | Board::Bse | Board::BShare => {
                InstrumentKind::Stock
            }
            Board::Etf | Board::Lof | Board::Reit => InstrumentKind::Fund,
            Board::Index => InstrumentKind::Index,
            Board::ConvertibleBond => InstrumentKind::Bond,
            Board::Other => InstrumentKind::Other,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SymbolError {
    #[error(
        "`{0}` is not an A-share symbol (expected a 6-digit code such as 600000, 600000.SH, sh600000 or 1.600000)"
    )]
    Malformed(String),
    #[error("`{0}`: unknown exchange `{1}` (expected SH, SZ or BJ)")]
    UnknownExchange(String, String),
    #[error(
        "`{0}`: cannot tell the exchange from a bare code; write it with a suffix such as {0}.SH"
    )]
    Ambiguous(String),
}

/// An A-share instrument: a 6-digit code on one exchange. Displayed as `600000.SH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    exchange: Exchange,
    code: [u8; 6],
}

impl Symbol {
    /// The exchange, then the code's digits, in one word: ordered as the fields are, so a
    /// comparison or a hash is one operation instead of a walk over the bytes.
    fn word(&self) -> u64 {
        let mut bytes = [0; 8];
        bytes[1] = self.exchange as u8;
        bytes[2..].copy_from_slice(&self.code);
        u64::from_be_bytes(bytes)
    }
}

/// By exchange, then code, as the fields' own order would give.
impl Ord for Symbol {
    fn cmp(&self, other: &Symbol) -> std::cmp::Ordering {
        self.word().cmp(&other.word())
    }
}

impl PartialOrd for Symbol {
    fn partial_cmp(&self, other: &Symbol) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The one word [`SymbolHasher`] mixes in a single multiply.
impl std::hash::Hash for Symbol {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.word());
    }
}

/// A map from symbols: a backtest looks a symbol up for every order and every name of every
/// rebalance, where a tree's nine comparisons cost several times one multiply.
pub type SymbolMap<V> =
    std::collections::HashMap<Symbol, V, std::hash::BuildHasherDefault<SymbolHasher>>;

/// A multiply-and-fold hasher for [`Symbol`]s (not for keys an adversary picks: a universe's
/// symbols are the user's own).
#[derive(Debug, Default, Clone, Copy)]
pub struct SymbolHasher(u64);

impl std::hash::Hasher for SymbolHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        // The product's high half is the well-mixed one: fold it onto the low bits, which
        // pick the bucket.
        self.0 ^ self.0 >> 32
    }
}

impl Symbol {
    /// Builds a symbol from a 6-digit code and an exchange.
    pub fn new(code: &str, exchange: Exchange) -> Result<Symbol, SymbolError> {
        let bytes = code.as_bytes();
        if bytes.len() != 6 || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(SymbolError::Malformed(code.to_string()));
        }
        let mut c = [0u8; 6];
        c.copy_from_slice(bytes);
        Ok(Symbol { exchange, code: c })
    }

    /// Parses every common spelling: `600519`, `sh600519`, `SH600519`, `600519.SH`,
    /// `600519.SS`, `1.600519` (Eastmoney secid), `sh.600519` (baostock), `600519.XSHG`
    /// (JoinQuant), `600000.sh` (HQChart). A bare code means a stock or fund: `000001` is
    /// Ping An Bank; the SSE Composite index must be written `000001.SH`.
    pub fn parse(input: &str) -> Result<Symbol, SymbolError> {
        let s = input.trim();
        let bad = || SymbolError::Malformed(input.to_string());
        if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) {
            let exchange =
                Self::exchange_of_bare_code(s).ok_or_else(|| SymbolError::Ambiguous(s.into()))?;
            return Symbol::new(s, exchange);
        }
        let is_code = |t: &str| t.len() == 6 && t.bytes().all(|b| b.is_ascii_digit());
        let (code, tag) = match s.split_once('.') {
            Some((a, b)) if is_code(a) => (a, b.trim()),
            Some((a, b)) if is_code(b) => (b, a.trim()),
            Some(_) => return Err(bad()),
            None if s.len() == 8 && s.is_char_boundary(2) && is_code(&s[2..]) => (&s[2..], &s[..2]),
            None => return Err(bad()),
        };
        let exchange = Exchange::from_tag(tag)
            .ok_or_else(|| SymbolError::UnknownExchange(input.to_string(), tag.to_string()))?;
        // Eastmoney's `0.` prefix covers both SZSE and BSE.
        let exchange = if tag == "0" && Self::exchange_of_bare_code(code) == Some(Exchange::Bse) {
            Exchange::Bse
        } else {
            exchange
        };
        Symbol::new(code, exchange)
    }

    /// Exchange of a bare 6-digit code, reading it as a stock or fund (never an index).
    fn exchange_of_bare_code(code: &str) -> Option<Exchange> {
        let p3 = &code[..3];
        let p2 = &code[..2];
        match code.as_bytes()[0] {
            b'6' | b'5' => Some(Exchange::Sse),
            b'0' | b'2' | b'3' => Some(Exchange::Szse),
            b'9' if p3 == "920" => Some(Exchange::Bse),
            b'9' if p3 == "900" => Some(Exchange::Sse),
            b'4' | b'8' => Some(Exchange::Bse),
            b'1' if p2 == "11" => Some(Exchange::Sse),
            b'1' => Some(Exchange::Szse),
            _ => None,
        }
    }

    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.code).expect("codes are ASCII digits")
    }

    pub fn exchange(&self) -> Exchange {
        self.exchange
    }

    /// Board per the code-prefix table of docs/a-share-rules.md §1.
    pub fn board(&self) -> Board {
        let c = self.code();
        let p3 = &c[..3];
        let p2 = &c[..2];
        match self.exchange {
            Exchange::Sse => match p3 {
                "600" | "601" | "603" | "605" => Board::Main,
                "688" | "689" => Board::Star,
                "900" => Board::BShare,
                "000" => Board::Index,
                "508" => Board::Reit,
                "501" | "502" | "506" => Board::Lof,
                "110" | "111" | "113" | "118" => Board::ConvertibleBond,
                _ if matches!(p3.parse::<u32>(), Ok(510..=530 | 560..=563 | 588 | 589)) => {
                    Board::Etf
                }
                _ => Board::Other,
            },
            Exchange::Szse => match p3 {
                "000" | "001" | "002" | "003" => Board::Main,
                "300" | "301" | "302" => Board::ChiNext,
                "200" => Board::BShare,
                "159" => Board::Etf,
                "180" => Board::Reit,
                "399" => Board::Index,
                "123" | "127" | "128" => Board::ConvertibleBond,
                _ if p2 == "16" => Board::Lof,
                _ => Board::Other,
            },
            Exchange::Bse => match p3 {
                "899" => Board::Index,
                "920" => Board::Bse,
                _ if matches!(p2, "43" | "83" | "87" | "88") => Board::Bse,
                _ => Board::Other,
            },
        }
    }

    pub fn kind(&self) -> InstrumentKind {
        self.board().kind()
    }

    /// Tushare `ts_code` spelling, which is also our canonical one.
    pub fn ts_code(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.code(), self.exchange.suffix())
    }
}

impl FromStr for Symbol {
    type Err = SymbolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Symbol::parse(s)
    }
}

impl Serialize for Symbol {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Symbol {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Symbol::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ordered by exchange, then code, as the derived order of the fields was; equal symbols
    /// hash alike.
    #[test]
    fn orders_by_exchange_then_code() {
        let mut v: Vec<Symbol> = [
            "600000.SH",
            "000001.SZ",
            "830799.BJ",
            "000001.SH",
            "300750.SZ",
        ]
        .iter()
        .map(|s| Symbol::parse(s).unwrap())
        .collect();
        let mut by_fields = v.clone();
        by_fields.sort_by_key(|s| (s.exchange, s.code));
        v.sort();
        assert_eq!(v, by_fields);
        assert_eq!(v[0].to_string(), "000001.SH");
        assert_eq!(v[4].to_string(), "830799.BJ");
        let mut m = SymbolMap::default();
        m.insert(Symbol::parse("600000.SH").unwrap(), 1);
        assert_eq!(m.get(&Symbol::parse("600000").unwrap()), Some(&1));
        assert_eq!(m.get(&Symbol::parse("600001.SH").unwrap()), None);
    }

    #[test]
    fn parses_every_spelling_to_the_same_symbol() {
        for s in [
            "600519",
            "sh600519",
            "SH600519",
            "600519.SH",
            "600519.SS",
            "1.600519",
            "sh.600519",
            "600519.XSHG",
            "600519.sh",
        ] {
            assert_eq!(Symbol::parse(s).unwrap().to_string(), "600519.SH", "{s}");
        }
        assert_eq!(Symbol::parse("0.000001").unwrap().to_string(), "000001.SZ");
        assert_eq!(
            Symbol::parse("000001.XSHE").unwrap().to_string(),
            "000001.SZ"
        );
        assert_eq!(Symbol::parse("0.920819").unwrap().to_string(), "920819.BJ");
        assert_eq!(Symbol::parse("bj833819").unwrap().to_string(), "833819.BJ");
    }

    #[test]
    fn bare_000001_is_ping_an_bank_and_the_index_needs_a_suffix() {
        let bank = Symbol::parse("000001").unwrap();
        assert_eq!(
            (bank.exchange(), bank.board()),
            (Exchange::Szse, Board::Main)
        );
        let index = Symbol::parse("000001.SH").unwrap();
        assert_eq!(index.board(), Board::Index);
        assert_eq!(index.kind(), InstrumentKind::Index);
    }

    #[test]
    fn boards_by_prefix() {
        let cases = [
            ("600000.SH", Board::Main),
            ("688055", Board::Star),
            ("689009", Board::Star),
            ("002021", Board::Main),
            ("300006", Board::ChiNext),
            ("301499", Board::ChiNext),
            ("833819", Board::Bse),
            ("920819", Board::Bse),
            ("510300", Board::Etf),
            ("588000", Board::Etf),
            ("159915", Board::Etf),
            ("399006.SZ", Board::Index),
            ("000300.SH", Board::Index),
            ("900901", Board::BShare),
            ("113050", Board::ConvertibleBond),
        ];
        for (s, board) in cases {
            assert_eq!(Symbol::parse(s).unwrap().board(), board, "{s}");
        }
        assert_eq!(Symbol::parse("510300").unwrap().exchange(), Exchange::Sse);
        assert_eq!(Symbol::parse("159915").unwrap().exchange(), Exchange::Szse);
    }

    #[test]
    fn rejects_garbage_with_a_clear_message() {
        let e = Symbol::parse("60000").unwrap_err();
        assert!(e.to_string().contains("not an A-share symbol"), "{e}");
        let e = Symbol::parse("600000.HK").unwrap_err();
        assert!(e.to_string().contains("unknown exchange `HK`"), "{e}");
        assert!(Symbol::parse("AAPL").is_err());
    }

    #[test]
    fn kind_names_match_serde() {
        use InstrumentKind::*;
        for k in [Stock, Fund, Index, Bond, Other] {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
    }

    #[test]
    fn serde_round_trip() {
        let s = Symbol::parse("sz000001").unwrap();
        let j = serde_json::to_string(&s).unwrap();
        assert_eq!(j, "\"000001.SZ\"");
        assert_eq!(serde_json::from_str::<Symbol>(&j).unwrap(), s);
    }
}

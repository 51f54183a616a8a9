//! Symbols read from places other than a code column: the file name and a TDX title line.

use crate::domain::Symbol;

const EXCHANGE_TAGS: [&str; 10] = [
    "sh", "sz", "bj", "ss", "xshg", "xshe", "sse", "szse", "bse", "xbse",
];

fn is_code(t: &str) -> bool {
    t.len() == 6 && t.bytes().all(|b| b.is_ascii_digit())
}

fn is_tag(t: &str) -> bool {
    EXCHANGE_TAGS.iter().any(|x| x.eq_ignore_ascii_case(t))
}

/// The symbol a file name carries: `600000.sh.daily.csv`, `XSHG_5min_600977.csv`,
/// `processed_688055.xlsx`, `sz000001.csv`, `SH#600000.txt`, `000001.SZ_daily.csv`.
/// `None` when the name has no code, or several different ones.
pub(crate) fn symbol_from_file_name(file_name: &str) -> Option<Symbol> {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let tokens: Vec<&str> = base
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    // A code glued to its exchange: sz000001, SH600000, 600000SH.
    let glued: Vec<Symbol> = tokens
        .iter()
        .filter(|t| t.len() == 8 && t.is_ascii())
        .filter_map(|t| {
            let (a, b) = (t.get(..2)?, t.get(2..)?);
            let (c, d) = (t.get(..6)?, t.get(6..)?);
            if is_tag(a) && is_code(b) {
                Symbol::parse(&format!("{b}.{a}")).ok()
            } else if is_code(c) && is_tag(d) {
                Symbol::parse(&format!("{c}.{d}")).ok()
            } else {
                None
            }
        })
        .collect();
    if let Some(s) = unique(glued) {
        return Some(s);
    }
    let codes: Vec<&str> = tokens.iter().copied().filter(|t| is_code(t)).collect();
    let mut distinct = codes.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let [code] = distinct.as_slice() else {
        return None;
    };
    // An exchange tag anywhere in the name: the one right after the code first (600000.sh),
    // then the one right before it (XSHG_5min_600977), then any.
    let at = tokens.iter().position(|t| t == code)?;
    let after = tokens.get(at + 1).filter(|t| is_tag(t));
    let before = at
        .checked_sub(1)
        .and_then(|i| tokens.get(i))
        .filter(|t| is_tag(t));
    let anywhere = tokens.iter().find(|t| is_tag(t));
    match after.or(before).or(anywhere) {
        Some(tag) => Symbol::parse(&format!("{code}.{tag}")).ok(),
        None => Symbol::parse(code).ok(),
    }
}

fn unique(mut v: Vec<Symbol>) -> Option<Symbol> {
    v.sort();
    v.dedup();
    match v.len() {
        1 => v.pop(),
        _ => None,
    }
}

/// A TDX export's title line, e.g. `600000 浦发银行 日线 不复权`: the code and the name.
pub(crate) fn symbol_from_title(line: &str) -> Option<(Symbol, Option<String>)> {
    let tokens: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || c == ',' || c == '\t')
        .filter(|t| !t.is_empty())
        .collect();
    let at = tokens
        .iter()
        .position(|t| is_code(t) || (t.len() == 8 && Symbol::parse(t).is_ok()))?;
    let symbol = Symbol::parse(tokens[at]).ok()?;
    let name = tokens
        .get(at + 1)
        .filter(|t| !t.is_ascii())
        .map(|t| (*t).to_string());
    Some((symbol, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &str) -> Option<String> {
        symbol_from_file_name(name).map(|s| s.to_string())
    }

    #[test]
    fn symbols_from_file_names() {
        assert_eq!(f("600000.sh.daily.csv").as_deref(), Some("600000.SH"));
        assert_eq!(
            f("data/real/000300.sh.1min.csv").as_deref(),
            Some("000300.SH")
        );
        assert_eq!(f("XSHG_5min_600977.csv").as_deref(), Some("600977.SH"));
        assert_eq!(f("processed_688055.xlsx").as_deref(), Some("688055.SH"));
        assert_eq!(f("processed_833819.xlsx").as_deref(), Some("833819.BJ"));
        assert_eq!(f("sz000001.csv").as_deref(), Some("000001.SZ"));
        assert_eq!(
            f("C:\\exports\\SH#600000.txt").as_deref(),
            Some("600000.SH")
        );
        assert_eq!(
            f("000001.SZ_daily_20240101.csv").as_deref(),
            Some("000001.SZ")
        );
        assert_eq!(f("399006.sz.day.kline.json").as_deref(), Some("399006.SZ"));
        assert_eq!(f("000001.csv").as_deref(), Some("000001.SZ"));
        assert_eq!(f("prices.csv"), None);
        assert_eq!(f("600000_vs_000001.csv"), None);
        assert_eq!(f("20240101.csv"), None);
    }

    #[test]
    fn symbol_from_a_tdx_title() {
        let (s, name) = symbol_from_title("600000 浦发银行 日线 不复权").unwrap();
        assert_eq!(s.to_string(), "600000.SH");
        assert_eq!(name.as_deref(), Some("浦发银行"));
        assert!(symbol_from_title("some title").is_none());
    }
}

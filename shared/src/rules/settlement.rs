//! Settlement (docs/a-share-rules.md §4): A shares and ordinary funds are T+1; bond, money-market and gold ETFs
//! (SSE 511xxx, 518xxx) and funds the caller marks (cross-border, commodity) are T+0.

use crate::domain::{Board, Symbol};

/// Whether shares bought today may be sold today. `t0_fund` marks a fund whose T+0 status
/// the code does not reveal (a curated per-fund fact).
pub fn can_sell_same_day(symbol: &Symbol, t0_fund: bool) -> bool {
    match symbol.board() {
        Board::Etf | Board::Lof => {
            let code = symbol.code();
            t0_fund || code.starts_with("511") || code.starts_with("518")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stocks_are_t_plus_one_and_gold_and_bond_etfs_t_plus_zero() {
        let s = |c: &str| Symbol::parse(c).unwrap();
        assert!(!can_sell_same_day(&s("600000"), false));
        assert!(
            !can_sell_same_day(&s("600000"), true),
            "a stock is never T+0"
        );
        assert!(!can_sell_same_day(&s("510300"), false));
        assert!(can_sell_same_day(&s("518880"), false));
        assert!(can_sell_same_day(&s("511880"), false));
        assert!(can_sell_same_day(&s("159920"), true));
    }
}

//! Order quantities (docs/a-share-rules.md §3): board lots for buys, odd remainders sold in one order.

use crate::domain::{Board, Symbol};

/// Buy quantity rule: at least `min`, then multiples of `step` above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LotRule {
    pub min: u64,
    pub step: u64,
}

impl LotRule {
    /// The largest valid buy of at most `shares` (0 when below the minimum).
    pub fn round_buy(self, shares: u64) -> u64 {
        if shares < self.min {
            return 0;
        }
        self.min + (shares - self.min) / self.step * self.step
    }

    /// Whether selling `shares` of a `holding` is a valid order: a multiple of the board
    /// lot, or the whole remainder when what would be left is below the minimum.
    pub fn valid_sell(self, shares: u64, holding: u64) -> bool {
        if shares == 0 || shares > holding {
            return false;
        }
        if shares == holding {
            return true;
        }
        let left = holding - shares;
        left >= self.min && (self.step == 1 || shares.is_multiple_of(self.min))
    }
}

/// STAR: 200 then any share; BSE: 100 then any share; everything else: multiples of 100.
pub fn lot_rule(symbol: &Symbol) -> LotRule {
    match symbol.board() {
        Board::Star => LotRule { min: 200, step: 1 },
        Board::Bse => LotRule { min: 100, step: 1 },
        _ => LotRule {
            min: 100,
            step: 100,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buys_round_down_to_the_boards_lot() {
        let main = lot_rule(&Symbol::parse("600000").unwrap());
        assert_eq!(
            (
                main.round_buy(99),
                main.round_buy(250),
                main.round_buy(1000)
            ),
            (0, 200, 1000)
        );
        let star = lot_rule(&Symbol::parse("688055").unwrap());
        assert_eq!(
            (
                star.round_buy(199),
                star.round_buy(200),
                star.round_buy(257)
            ),
            (0, 200, 257)
        );
        let bse = lot_rule(&Symbol::parse("920819").unwrap());
        assert_eq!((bse.round_buy(99), bse.round_buy(101)), (0, 101));
    }

    #[test]
    fn odd_remainders_go_in_one_order() {
        let main = lot_rule(&Symbol::parse("600000").unwrap());
        assert!(main.valid_sell(150, 150), "the whole odd holding");
        assert!(
            !main.valid_sell(50, 150),
            "leaves a sellable 100 but 50 is not a lot"
        );
        assert!(!main.valid_sell(100, 150), "would leave an odd 50 behind");
        assert!(main.valid_sell(100, 300));
        let star = lot_rule(&Symbol::parse("688055").unwrap());
        assert!(star.valid_sell(57, 300));
        assert!(!star.valid_sell(150, 300), "would leave 150 < 200");
    }
}

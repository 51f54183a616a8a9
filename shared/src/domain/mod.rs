//! Domain model: bars, symbols, frequencies, adjustments, and the validation rules.
//!
//! Units are fixed across the whole project: prices in CNY, `volume` in shares (never lots),
//! `amount` (turnover) in CNY. Importers convert to these units before a bar exists.

mod bar;
mod frequency;
mod symbol;
pub mod validate;

pub use bar::{Bar, OhlcField};
pub use frequency::{Adjustment, Frequency, ParseAdjustmentError, ParseFrequencyError};
pub use symbol::{Board, Exchange, InstrumentKind, Symbol, SymbolError, SymbolHasher, SymbolMap};

//! A small expression language for factors, scores and trading rules, evaluated over a
//! universe panel (symbols × dates; symbol by symbol, and date by date for cross-sections)
//! with no look-ahead: the value at a date reads only
//! that date and earlier ones. Pure Rust, so the browser evaluates the same expressions.
//!
//! ```text
//! expr     := or
//! or       := and ("or" and)*
//! and      := not ("and" not)*
//! not      := "not" not | compare
//! compare  := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
//! sum      := product (("+" | "-") product)*
//! product  := unary (("*" | "/") unary)*
//! unary    := "-" unary | atom
//! atom     := number | field | name "(" expr ("," expr)* ")" | "(" expr ")"
//! field    := "$" name | name ("." name)*        e.g. $close, pred.p_up, mom_20
//! ```
//!
//! Booleans are 1 and 0; a missing value is NaN and stays NaN through arithmetic.
//! [`parse()`] checks names and arities and says where an expression is wrong; [`Panel::eval`]
//! computes it. Operators are listed in [`ops`].

pub mod eval;
pub mod ops;
pub mod parse;
mod row;

pub use eval::Panel;

/// The hidden column `industry_neutral(x)` groups by: each stock's sector on each date (an index
/// into [`crate::reference::Sector::ALL`], NaN where unknown). No expression can name it.
pub const SECTOR_FIELD: &str = "#sector";
pub use parse::{Expr, ExprError, parse};

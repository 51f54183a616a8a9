//! Trees of the expression language as a genetic program sees them: random growth, crossover,
//! mutation, constant folding, and the text a tree is written as (which parses back to it).

use crate::expr::Expr;
use crate::expr::ops::{Arg, signature};
use crate::expr::parse::BinOp;

/// A small seeded generator (SplitMix64): the same seed, the same search.
pub struct Gen(u64);

impl Gen {
    pub fn new(seed: u64) -> Gen {
        Gen(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// Where the sequence stands, to carry on from it later ([`Gen::resume`]).
    pub fn state(&self) -> u64 {
        self.0
    }

    pub fn resume(state: u64) -> Gen {
        Gen(state)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (0 when n is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// Time-series operators `(x, n)` the search uses.
pub const SERIES_OPS: [&str; 10] = [
    "ref", "delta", "mean", "std", "sum", "min", "max", "ts_rank", "slope", "ema",
];
/// Cross-sectional operators `(x)`.
pub const CROSS_OPS: [&str; 2] = ["rank", "zscore"];
/// Window lengths.
pub const WINDOWS: [f64; 6] = [3.0, 5.0, 10.0, 20.0, 40.0, 60.0];
const PRICE_FIELDS: [&str; 6] = ["$open", "$high", "$low", "$close", "$volume", "$vwap"];
const BINARY: [BinOp; 4] = [BinOp::Add, BinOp::Sub, BinOp::Mul, BinOp::Div];

/// The terminals and operators trees are grown from.
pub struct Primitives {
    terminals: Vec<String>,
}

impl Primitives {
    /// The price fields the panel has, and its factors when `factors` is set.
    pub fn new(fields: &[String], factors: bool) -> Primitives {
        let mut terminals: Vec<String> = PRICE_FIELDS
            .iter()
            .filter(|f| fields.iter().any(|x| x == *f))
            .map(|f| f.to_string())
            .collect();
        if factors {
            terminals.extend(
                crate::features::factors::FACTORS
                    .iter()
                    .filter(|f| fields.iter().any(|x| x == *f))
                    .map(|f| f.to_string()),
            );
        }
        Primitives { terminals }
    }

    fn terminal(&self, rng: &mut Gen) -> Expr {
        Expr::Field(rng.pick(&self.terminals).clone())
    }

    /// A random tree at most `depth` deep: every branch that deep when `full`, else some end
    /// early (ramped half-and-half).
    pub fn random(&self, rng: &mut Gen, depth: usize, full: bool) -> Expr {
        if depth == 0 || (!full && rng.unit() < 0.3) {
            return self.terminal(rng);
        }
        let r = rng.unit();
        let sub = |rng: &mut Gen| self.random(rng, depth - 1, full);
        if r < 0.4 {
            let op = *rng.pick(&BINARY);
            let a = sub(rng);
            let b = sub(rng);
            Expr::Binary(op, Box::new(a), Box::new(b))
        } else if r < 0.8 {
            let op = rng.pick(&SERIES_OPS).to_string();
            let x = sub(rng);
            Expr::Call(op, vec![x, Expr::Num(*rng.pick(&WINDOWS))])
        } else if r < 0.93 {
            let op = rng.pick(&CROSS_OPS).to_string();
            Expr::Call(op, vec![sub(rng)])
        } else {
            let (x, y) = (sub(rng), sub(rng));
            Expr::Call("corr".into(), vec![x, y, Expr::Num(*rng.pick(&WINDOWS))])
        }
    }

    /// One node changed for one of its kind: a field for a field, an operator for one with the
    /// same arguments, a window for another.
    pub fn point_mutation(&self, e: &Expr, rng: &mut Gen) -> Expr {
        let n = value_nodes(e);
        let at = rng.below(n);
        let mut k = 0;
        rewrite(e, at, &mut k, &mut |node| match node {
            Expr::Field(_) => self.terminal(rng),
            Expr::Binary(_, a, b) => Expr::Binary(*rng.pick(&BINARY), a.clone(), b.clone()),
            Expr::Call(name, args) if SERIES_OPS.contains(&name.as_str()) => {
                let op = if rng.unit() < 0.5 {
                    rng.pick(&SERIES_OPS).to_string()
                } else {
                    name.clone()
                };
                Expr::Call(op, vec![args[0].clone(), Expr::Num(*rng.pick(&WINDOWS))])
            }
            Expr::Call(name, args) if CROSS_OPS.contains(&name.as_str()) => {
                Expr::Call(rng.pick(&CROSS_OPS).to_string(), args.clone())
            }
            other => other.clone(),
        })
    }

    /// A random node replaced by a new random tree.
    pub fn subtree_mutation(&self, e: &Expr, rng: &mut Gen) -> Expr {
        let at = rng.below(value_nodes(e));
        let depth = 1 + rng.below(3);
        let mut k = 0;
        rewrite(e, at, &mut k, &mut |_| self.random(rng, depth, false))
    }
}

/// Nodes that hold a value (windows and constants, which must stay literals, are not counted).
pub fn value_nodes(e: &Expr) -> usize {
    let mut n = 1;
    for c in children(e) {
        n += value_nodes(c);
    }
    n
}

/// The children that hold values (a window or constant literal is not one).
pub fn value_children(e: &Expr) -> Vec<&Expr> {
    children(e)
}

fn children(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::Num(_) | Expr::Field(_) => Vec::new(),
        Expr::Neg(x) | Expr::Not(x) => vec![x],
        Expr::Binary(_, a, b) => vec![a, b],
        Expr::Call(name, args) => {
            let sig = signature(name).unwrap_or(&[]);
            args.iter()
                .zip(sig.iter().chain(std::iter::repeat(&Arg::Value)))
                .filter(|(_, s)| **s == Arg::Value)
                .map(|(a, _)| a)
                .collect()
        }
    }
}

/// The value node at pre-order position `at`.
pub fn node_at(e: &Expr, at: usize) -> Expr {
    let mut k = 0;
    let mut found = None;
    fn walk(e: &Expr, at: usize, k: &mut usize, found: &mut Option<Expr>) {
        if found.is_some() {
            return;
        }
        if *k == at {
            *found = Some(e.clone());
            return;
        }
        *k += 1;
        for c in children(e) {
            walk(c, at, k, found);
        }
    }
    walk(e, at, &mut k, &mut found);
    found.unwrap_or_else(|| e.clone())
}

/// `e` with the value node at pre-order position `at` replaced by `f(node)`.
fn rewrite(e: &Expr, at: usize, k: &mut usize, f: &mut dyn FnMut(&Expr) -> Expr) -> Expr {
    if *k == at {
        *k += value_nodes(e);
        return f(e);
    }
    *k += 1;
    let mut child = |c: &Expr, k: &mut usize| rewrite(c, at, k, f);
    match e {
        Expr::Num(_) | Expr::Field(_) => e.clone(),
        Expr::Neg(x) => Expr::Neg(Box::new(child(x, k))),
        Expr::Not(x) => Expr::Not(Box::new(child(x, k))),
        Expr::Binary(op, a, b) => {
            let a = child(a, k);
            let b = child(b, k);
            Expr::Binary(*op, Box::new(a), Box::new(b))
        }
        Expr::Call(name, args) => {
            let sig = signature(name).unwrap_or(&[]);
            let args = args
                .iter()
                .zip(sig.iter().chain(std::iter::repeat(&Arg::Value)))
                .map(|(a, s)| {
                    if *s == Arg::Value {
                        child(a, k)
                    } else {
                        a.clone()
                    }
                })
                .collect();
            Expr::Call(name.clone(), args)
        }
    }
}

/// A random node of `a` replaced by a random node of `b`.
pub fn crossover(a: &Expr, b: &Expr, rng: &mut Gen) -> Expr {
    let donor = node_at(b, rng.below(value_nodes(b)));
    let at = rng.below(value_nodes(a));
    let mut k = 0;
    rewrite(a, at, &mut k, &mut |_| donor.clone())
}

/// One of the tree's own subtrees in its place (shrinks bloated trees).
pub fn hoist(e: &Expr, rng: &mut Gen) -> Expr {
    node_at(e, rng.below(value_nodes(e)))
}

/// Arithmetic on constants done once: `2 * 3` is `6`, `-(-x)` is `x`.
pub fn fold(e: Expr) -> Expr {
    match e {
        Expr::Neg(x) => match fold(*x) {
            Expr::Num(v) => Expr::Num(-v),
            Expr::Neg(y) => *y,
            y => Expr::Neg(Box::new(y)),
        },
        Expr::Binary(op, a, b) => {
            let (a, b) = (fold(*a), fold(*b));
            match (&a, &b, op) {
                (Expr::Num(x), Expr::Num(y), BinOp::Add) => Expr::Num(x + y),
                (Expr::Num(x), Expr::Num(y), BinOp::Sub) => Expr::Num(x - y),
                (Expr::Num(x), Expr::Num(y), BinOp::Mul) => Expr::Num(x * y),
                (Expr::Num(x), Expr::Num(y), BinOp::Div) if *y != 0.0 => Expr::Num(x / y),
                _ => Expr::Binary(op, Box::new(a), Box::new(b)),
            }
        }
        Expr::Call(name, args) => Expr::Call(name, args.into_iter().map(fold).collect()),
        other => other,
    }
}

/// Nodes in the tree, literals included.
pub fn size(e: &Expr) -> usize {
    1 + match e {
        Expr::Num(_) | Expr::Field(_) => 0,
        Expr::Neg(x) | Expr::Not(x) => size(x),
        Expr::Binary(_, a, b) => size(a) + size(b),
        Expr::Call(_, args) => args.iter().map(size).sum(),
    }
}

pub fn depth(e: &Expr) -> usize {
    1 + children(e).into_iter().map(depth).max().unwrap_or(0)
}

/// The formula as text the parser reads back to the same tree.
pub fn render(e: &Expr) -> String {
    match e {
        Expr::Num(v) if *v < 0.0 => format!("(-{})", -v),
        Expr::Num(v) => format!("{v}"),
        Expr::Field(f) => f.clone(),
        Expr::Neg(x) => format!("-({})", render(x)),
        Expr::Not(x) => format!("not ({})", render(x)),
        Expr::Binary(op, a, b) => {
            let sym = match op {
                BinOp::Add => "+",
                BinOp::Sub => "-",
                BinOp::Mul => "*",
                BinOp::Div => "/",
                BinOp::Lt => "<",
                BinOp::Le => "<=",
                BinOp::Gt => ">",
                BinOp::Ge => ">=",
                BinOp::Eq => "==",
                BinOp::Ne => "!=",
                BinOp::And => "and",
                BinOp::Or => "or",
            };
            format!("({} {sym} {})", render(a), render(b))
        }
        Expr::Call(name, args) => format!(
            "{name}({})",
            args.iter().map(render).collect::<Vec<_>>().join(", ")
        ),
    }
}

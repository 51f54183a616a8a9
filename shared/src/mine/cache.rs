//! Sub-expressions shared by several candidates of a generation, found so each is evaluated
//! once: the caller evaluates them into columns and scores the candidates with those
//! sub-trees replaced by the columns' names.

use super::tree;
use crate::expr::Expr;
use std::collections::{BTreeMap, HashMap};

/// Column names the cached sub-expressions take (no expression can name them).
pub const PREFIX: &str = "#shared";

/// Sub-trees of at least three nodes that two or more `candidates` contain (counted once per
/// candidate), the most shared first, at most `max` of them. Larger sub-trees come before the
/// smaller ones inside them, so a candidate is rewritten at the outermost shared node.
pub fn shared_subtrees(candidates: &[Expr], max: usize) -> Vec<Expr> {
    let mut count: HashMap<String, (usize, Expr)> = HashMap::new();
    for c in candidates {
        let mut seen = std::collections::HashSet::new();
        let mut stack: Vec<&Expr> = tree::value_children(c);
        while let Some(e) = stack.pop() {
            if tree::size(e) >= 3 {
                let key = tree::render(e);
                if seen.insert(key.clone()) {
                    count.entry(key).or_insert((0, e.clone())).0 += 1;
                }
            }
            stack.extend(tree::value_children(e));
        }
    }
    let mut shared: Vec<(usize, usize, String, Expr)> = count
        .into_iter()
        .filter(|(_, (n, _))| *n >= 2)
        .map(|(k, (n, e))| (n, tree::size(&e), k, e))
        .collect();
    // Most shared, then largest, then by text: a fixed order whatever the map's.
    shared.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    shared.truncate(max);
    shared.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
    shared.into_iter().map(|(_, _, _, e)| e).collect()
}

/// `e` with every sub-tree in `names` (by its text) replaced by a field of that name.
pub fn substitute(e: &Expr, names: &BTreeMap<String, String>) -> Expr {
    if let Some(n) = names.get(&tree::render(e)) {
        return Expr::Field(n.clone());
    }
    match e {
        Expr::Num(_) | Expr::Field(_) => e.clone(),
        Expr::Neg(x) => Expr::Neg(Box::new(substitute(x, names))),
        Expr::Not(x) => Expr::Not(Box::new(substitute(x, names))),
        Expr::Binary(op, a, b) => Expr::Binary(
            *op,
            Box::new(substitute(a, names)),
            Box::new(substitute(b, names)),
        ),
        Expr::Call(name, args) => Expr::Call(
            name.clone(),
            args.iter().map(|a| substitute(a, names)).collect(),
        ),
    }
}

//! Tokens and the recursive-descent parser, with errors that name the 1-based column.

use super::ops::{Arg, signature};

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(f64),
    /// A panel column: `$close`, `pred.p_up`, a factor name.
    Field(String),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// An operator with its arguments; window lengths are already checked literals.
    Call(String, Vec<Expr>),
}

impl Expr {
    /// The panel columns the expression reads, so a caller computes only those.
    pub fn fields(&self) -> std::collections::BTreeSet<&str> {
        let mut out = std::collections::BTreeSet::new();
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            match e {
                Expr::Num(_) => {}
                Expr::Field(f) => {
                    out.insert(f.as_str());
                }
                Expr::Neg(x) | Expr::Not(x) => stack.push(x),
                Expr::Binary(_, a, b) => stack.extend([a.as_ref(), b.as_ref()]),
                Expr::Call(name, args) => {
                    if name == "industry_neutral" {
                        out.insert(super::SECTOR_FIELD);
                    }
                    stack.extend(args)
                }
            }
        }
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

/// What is wrong with an expression, and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("`{expr}`: {message} at column {column}")]
pub struct ExprError {
    pub expr: String,
    /// 1-based character position.
    pub column: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Name(String),
    Dollar(String),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
    End,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Num(n) => format!("the number {n}"),
        Tok::Name(n) => format!("`{n}`"),
        Tok::Dollar(n) => format!("`${n}`"),
        Tok::Op(o) => format!("`{o}`"),
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::Comma => "`,`".into(),
        Tok::End => "the end".into(),
    }
}

fn lex(src: &str) -> Result<Vec<(Tok, usize)>, (usize, String)> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let name_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || chars[i] == '.'
                    || chars[i] == 'e'
                    || ((chars[i] == '-' || chars[i] == '+') && i > start && chars[i - 1] == 'e'))
            {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let n = text
                .parse::<f64>()
                .map_err(|_| (col, format!("`{text}` is not a number")))?;
            out.push((Tok::Num(n), col));
            continue;
        }
        if c == '$' || c.is_ascii_alphabetic() || c == '_' {
            let start = if c == '$' { i + 1 } else { i };
            i = start;
            while i < chars.len() && name_char(chars[i]) {
                i += 1;
            }
            let name: String = chars[start..i].iter().collect();
            if name.is_empty() {
                return Err((col, "expected a field name after `$`".into()));
            }
            out.push((
                if c == '$' {
                    Tok::Dollar(name)
                } else {
                    Tok::Name(name)
                },
                col,
            ));
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let op = match two.as_str() {
            "<=" => Some("<="),
            ">=" => Some(">="),
            "==" => Some("=="),
            "!=" => Some("!="),
            _ => None,
        };
        if let Some(op) = op {
            out.push((Tok::Op(op), col));
            i += 2;
            continue;
        }
        let tok = match c {
            '+' => Tok::Op("+"),
            '-' => Tok::Op("-"),
            '*' => Tok::Op("*"),
            '/' => Tok::Op("/"),
            '<' => Tok::Op("<"),
            '>' => Tok::Op(">"),
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            ',' => Tok::Comma,
            other => return Err((col, format!("unexpected character `{other}`"))),
        };
        out.push((tok, col));
        i += 1;
    }
    out.push((Tok::End, chars.len() + 1));
    Ok(out)
}

struct Parser<'a> {
    toks: Vec<(Tok, usize)>,
    at: usize,
    fields: &'a [String],
}

type R<T> = Result<T, (usize, String)>;

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.toks[self.at].0
    }

    fn col(&self) -> usize {
        self.toks[self.at].1
    }

    fn next(&mut self) -> (Tok, usize) {
        let t = self.toks[self.at].clone();
        if self.at + 1 < self.toks.len() {
            self.at += 1;
        }
        t
    }

    fn keyword(&self, k: &str) -> bool {
        matches!(self.peek(), Tok::Name(n) if n == k)
    }

    fn or(&mut self) -> R<Expr> {
        let mut l = self.and()?;
        while self.keyword("or") {
            self.next();
            l = Expr::Binary(BinOp::Or, Box::new(l), Box::new(self.and()?));
        }
        Ok(l)
    }

    fn and(&mut self) -> R<Expr> {
        let mut l = self.not()?;
        while self.keyword("and") {
            self.next();
            l = Expr::Binary(BinOp::And, Box::new(l), Box::new(self.not()?));
        }
        Ok(l)
    }

    fn not(&mut self) -> R<Expr> {
        if self.keyword("not") {
            self.next();
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.compare()
    }

    fn compare(&mut self) -> R<Expr> {
        let l = self.sum()?;
        let op = match self.peek() {
            Tok::Op("<") => BinOp::Lt,
            Tok::Op("<=") => BinOp::Le,
            Tok::Op(">") => BinOp::Gt,
            Tok::Op(">=") => BinOp::Ge,
            Tok::Op("==") => BinOp::Eq,
            Tok::Op("!=") => BinOp::Ne,
            _ => return Ok(l),
        };
        self.next();
        Ok(Expr::Binary(op, Box::new(l), Box::new(self.sum()?)))
    }

    fn sum(&mut self) -> R<Expr> {
        let mut l = self.product()?;
        loop {
            let op = match self.peek() {
                Tok::Op("+") => BinOp::Add,
                Tok::Op("-") => BinOp::Sub,
                _ => return Ok(l),
            };
            self.next();
            l = Expr::Binary(op, Box::new(l), Box::new(self.product()?));
        }
    }

    fn product(&mut self) -> R<Expr> {
        let mut l = self.unary()?;
        loop {
            let op = match self.peek() {
                Tok::Op("*") => BinOp::Mul,
                Tok::Op("/") => BinOp::Div,
                _ => return Ok(l),
            };
            self.next();
            l = Expr::Binary(op, Box::new(l), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> R<Expr> {
        if matches!(self.peek(), Tok::Op("-")) {
            self.next();
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.atom()
    }

    fn field(&self, name: String, col: usize) -> R<Expr> {
        if self.fields.contains(&name) {
            return Ok(Expr::Field(name));
        }
        let mut near: Vec<(usize, &String)> = self
            .fields
            .iter()
            .map(|f| (distance(&name, f), f))
            .collect();
        near.sort();
        let list: Vec<&str> = near.iter().take(3).map(|(_, f)| f.as_str()).collect();
        Err((
            col,
            format!("unknown field `{name}` (nearest: {})", list.join(", ")),
        ))
    }

    fn atom(&mut self) -> R<Expr> {
        let (tok, col) = self.next();
        match tok {
            Tok::Num(n) => Ok(Expr::Num(n)),
            Tok::Dollar(n) => self.field(format!("${n}"), col),
            Tok::LParen => {
                let e = self.or()?;
                self.expect_close(col)?;
                Ok(e)
            }
            Tok::Name(name) if matches!(self.peek(), Tok::LParen) => {
                self.next();
                self.call(name, col)
            }
            Tok::Name(name) => self.field(name, col),
            other => Err((
                col,
                format!(
                    "expected a number, a field or an operator, found {}",
                    describe(&other)
                ),
            )),
        }
    }

    fn expect_close(&mut self, open: usize) -> R<()> {
        match self.next() {
            (Tok::RParen, _) => Ok(()),
            (t, c) => Err((
                c,
                format!(
                    "expected `)` to close the `(` at column {open}, found {}",
                    describe(&t)
                ),
            )),
        }
    }

    fn call(&mut self, name: String, col: usize) -> R<Expr> {
        let Some(sig) = signature(&name) else {
            let mut near: Vec<(usize, &str)> = super::ops::NAMES
                .iter()
                .map(|f| (distance(&name, f), *f))
                .collect();
            near.sort();
            let list: Vec<&str> = near.iter().take(3).map(|(_, f)| *f).collect();
            return Err((
                col,
                format!("unknown operator `{name}` (nearest: {})", list.join(", ")),
            ));
        };
        let mut args = Vec::new();
        for (k, want) in sig.iter().enumerate() {
            if k > 0 {
                match self.next() {
                    (Tok::Comma, _) => {}
                    (t, c) => {
                        return Err((
                            c,
                            format!(
                                "`{name}` takes {} arguments: expected `,`, found {}",
                                sig.len(),
                                describe(&t)
                            ),
                        ));
                    }
                }
            }
            let at = self.col();
            match want {
                Arg::Value => {
                    if matches!(self.peek(), Tok::End | Tok::RParen | Tok::Comma) {
                        return Err((at, format!("expected a value for `{name}`")));
                    }
                    args.push(self.or()?);
                }
                Arg::Window => match self.next() {
                    (Tok::Num(n), _) if n >= 1.0 && n.fract() == 0.0 && n <= 10_000.0 => {
                        args.push(Expr::Num(n))
                    }
                    (Tok::Num(n), c) => {
                        return Err((
                            c,
                            format!("a window length is a whole number from 1 to 10000, not {n}"),
                        ));
                    }
                    (_, c) => {
                        let after = if k > 0 { "after ','" } else { "in" };
                        return Err((c, format!("expected a window length {after}")));
                    }
                },
                Arg::Constant => match self.next() {
                    (Tok::Num(n), _) => args.push(Expr::Num(n)),
                    (Tok::Op("-"), _) => match self.next() {
                        (Tok::Num(n), _) => args.push(Expr::Num(-n)),
                        (_, c) => return Err((c, format!("`{name}` expects a number here"))),
                    },
                    (_, c) => return Err((c, format!("`{name}` expects a number here"))),
                },
            }
        }
        self.expect_close(col)?;
        Ok(Expr::Call(name, args))
    }
}

/// Edit distance with transpositions (optimal string alignment), for "nearest" suggestions:
/// `maen` is one step from `mean`.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// Parses `src` against the fields a panel has.
pub fn parse(src: &str, fields: &[String]) -> Result<Expr, ExprError> {
    let err = |(column, message): (usize, String)| ExprError {
        expr: src.to_string(),
        column,
        message,
    };
    let toks = lex(src).map_err(err)?;
    let mut p = Parser {
        toks,
        at: 0,
        fields,
    };
    let e = p.or().map_err(err)?;
    match p.next() {
        (Tok::End, _) => Ok(e),
        (t, c) => Err(err((
            c,
            format!("unexpected {} after a whole expression", describe(&t)),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> Vec<String> {
        ["$open", "$close", "$volume", "pred.p_up"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn errors_name_the_column_and_what_was_expected() {
        let e = parse("mean($close,", &fields()).unwrap_err();
        assert_eq!(e.column, 13);
        assert!(
            e.message.contains("expected a window length after ','"),
            "{e}"
        );
        let e = parse("mean($clsoe, 5)", &fields()).unwrap_err();
        assert_eq!(e.column, 6);
        assert!(e.message.contains("nearest: $close"), "{e}");
        let e = parse("maen($close, 5)", &fields()).unwrap_err();
        assert!(e.message.contains("nearest: mean"), "{e}");
        let e = parse("($close + 1", &fields()).unwrap_err();
        assert!(e.message.contains("column 1"), "{e}");
        let e = parse("mean($close, 2.5)", &fields()).unwrap_err();
        assert!(e.message.contains("whole number"), "{e}");
    }

    #[test]
    fn precedence_is_the_usual_one() {
        let e = parse("1 + 2 * $close > 3 and not pred.p_up < 0.5", &fields()).unwrap();
        let Expr::Binary(BinOp::And, l, r) = e else {
            panic!("{e:?}")
        };
        assert!(matches!(*l, Expr::Binary(BinOp::Gt, _, _)));
        assert!(matches!(*r, Expr::Not(_)));
    }
}

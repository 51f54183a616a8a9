//! One prediction per (symbol, as-of date), and the set's CSV. The columns are a contract
//! (strategies, notebooks and the server read them): Kronos rows are
//! `symbol,as_of,horizon,score,p_up,exp_return,q10,q50,q90,n_paths`, classifier rows
//! `symbol,as_of,horizon,score,p_up,p_down,p_flat`. Numbers print as Rust's shortest
//! round-trip form, so a row read back is the row written.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Which model made a set: it decides the columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowKind {
    Kronos,
    Classifier,
}

pub const KRONOS_COLUMNS: &str = "symbol,as_of,horizon,score,p_up,exp_return,q10,q50,q90,n_paths";
pub const CLASSIFIER_COLUMNS: &str = "symbol,as_of,horizon,score,p_up,p_down,p_flat";

impl RowKind {
    pub fn header(self) -> &'static str {
        match self {
            RowKind::Kronos => KRONOS_COLUMNS,
            RowKind::Classifier => CLASSIFIER_COLUMNS,
        }
    }
}

/// One model output. `score` is what a strategy ranks by unless told otherwise: Kronos's
/// mean path return, the classifier's P(up) − P(down).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionRow {
    pub symbol: String,
    pub as_of: NaiveDate,
    /// Bars between the as-of close and the close the prediction is about.
    pub horizon: u32,
    pub score: f64,
    pub p_up: f64,
    #[serde(flatten)]
    pub detail: Detail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Detail {
    Kronos {
        exp_return: f64,
        q10: f64,
        q50: f64,
        q90: f64,
        n_paths: u32,
        /// Each path's return at the horizon (kept in the store and the Parquet file, for
        /// the CRPS; not a CSV column).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        path_returns: Vec<f32>,
    },
    Classifier {
        p_down: f64,
        p_flat: f64,
    },
}

impl PredictionRow {
    pub fn kind(&self) -> RowKind {
        match self.detail {
            Detail::Kronos { .. } => RowKind::Kronos,
            Detail::Classifier { .. } => RowKind::Classifier,
        }
    }

    /// The row's CSV line, without the newline.
    pub fn to_csv(&self) -> String {
        let head = format!(
            "{},{},{},{},{}",
            self.symbol, self.as_of, self.horizon, self.score, self.p_up
        );
        match &self.detail {
            Detail::Kronos {
                exp_return,
                q10,
                q50,
                q90,
                n_paths,
                ..
            } => format!("{head},{exp_return},{q10},{q50},{q90},{n_paths}"),
            Detail::Classifier { p_down, p_flat } => format!("{head},{p_down},{p_flat}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RowsError {
    #[error(
        "line 1: the header is `{found}`; expected `{KRONOS_COLUMNS}` or `{CLASSIFIER_COLUMNS}`"
    )]
    Header { found: String },
    #[error("line {line}: {fields} fields where the header has {expected}")]
    Fields {
        line: usize,
        fields: usize,
        expected: usize,
    },
    #[error("line {line}, column {column}: `{value}` is not {what}")]
    Value {
        line: usize,
        column: &'static str,
        value: String,
        what: &'static str,
    },
    #[error("the file is empty (no header)")]
    Empty,
}

/// A set's rows from its CSV, with the kind its header names.
pub fn from_csv(text: &str) -> Result<(RowKind, Vec<PredictionRow>), RowsError> {
    let mut lines = text.lines();
    let header = lines.next().ok_or(RowsError::Empty)?.trim_end_matches('\r');
    let kind = match header {
        KRONOS_COLUMNS => RowKind::Kronos,
        CLASSIFIER_COLUMNS => RowKind::Classifier,
        other => {
            return Err(RowsError::Header {
                found: other.to_string(),
            });
        }
    };
    let names: Vec<&'static str> = kind.header().split(',').collect();
    let mut rows = Vec::new();
    for (i, line) in lines.enumerate() {
        let line_no = i + 2;
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != names.len() {
            return Err(RowsError::Fields {
                line: line_no,
                fields: f.len(),
                expected: names.len(),
            });
        }
        let num = |k: usize| -> Result<f64, RowsError> {
            f[k].parse::<f64>().map_err(|_| RowsError::Value {
                line: line_no,
                column: names[k],
                value: f[k].to_string(),
                what: "a number",
            })
        };
        let int = |k: usize| -> Result<u32, RowsError> {
            f[k].parse::<u32>().map_err(|_| RowsError::Value {
                line: line_no,
                column: names[k],
                value: f[k].to_string(),
                what: "a whole number",
            })
        };
        let as_of = f[1].parse::<NaiveDate>().map_err(|_| RowsError::Value {
            line: line_no,
            column: "as_of",
            value: f[1].to_string(),
            what: "a day like 2023-01-31",
        })?;
        let detail = match kind {
            RowKind::Kronos => Detail::Kronos {
                exp_return: num(5)?,
                q10: num(6)?,
                q50: num(7)?,
                q90: num(8)?,
                n_paths: int(9)?,
                path_returns: Vec::new(),
            },
            RowKind::Classifier => Detail::Classifier {
                p_down: num(5)?,
                p_flat: num(6)?,
            },
        };
        rows.push(PredictionRow {
            symbol: f[0].to_string(),
            as_of,
            horizon: int(2)?,
            score: num(3)?,
            p_up: num(4)?,
            detail,
        });
    }
    Ok((kind, rows))
}

/// Linear-interpolated quantile (numpy's default) of unsorted values; `NaN` when empty.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let pos = q * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// A Kronos row from the returns of its sample paths at the horizon.
pub fn kronos_row(symbol: &str, as_of: NaiveDate, horizon: u32, returns: &[f64]) -> PredictionRow {
    let n = returns.len();
    let exp_return = returns.iter().sum::<f64>() / n as f64;
    let p_up = returns.iter().filter(|r| **r > 0.0).count() as f64 / n as f64;
    PredictionRow {
        symbol: symbol.to_string(),
        as_of,
        horizon,
        score: exp_return,
        p_up,
        detail: Detail::Kronos {
            exp_return,
            q10: quantile(returns, 0.1),
            q50: quantile(returns, 0.5),
            q90: quantile(returns, 0.9),
            n_paths: n as u32,
            path_returns: returns.iter().map(|r| *r as f32).collect(),
        },
    }
}

/// A classifier row from its (up, down, flat) probabilities.
pub fn classifier_row(symbol: &str, as_of: NaiveDate, horizon: u32, p: [f64; 3]) -> PredictionRow {
    PredictionRow {
        symbol: symbol.to_string(),
        as_of,
        horizon,
        score: p[0] - p[1],
        p_up: p[0],
        detail: Detail::Classifier {
            p_down: p[1],
            p_flat: p[2],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_read_back_as_written() {
        let d: NaiveDate = "2023-01-31".parse().unwrap();
        let mut k = kronos_row("600000.SH", d, 5, &[0.01, -0.02, 0.03, 0.0]);
        let c = classifier_row("000001.SZ", d, 3, [0.2, 0.3, 0.5]);
        for (row, header) in [
            (&mut k, KRONOS_COLUMNS),
            (&mut c.clone(), CLASSIFIER_COLUMNS),
        ] {
            let text = format!("{header}\n{}\n", row.to_csv());
            let (_, back) = from_csv(&text).unwrap();
            if let Detail::Kronos { path_returns, .. } = &mut row.detail {
                path_returns.clear();
            }
            assert_eq!(back, vec![row.clone()]);
        }
        assert_eq!(k.p_up, 0.5);
        assert!((k.score - 0.005).abs() < 1e-12);
    }

    #[test]
    fn a_bad_value_names_its_line_and_column() {
        let text = format!("{KRONOS_COLUMNS}\n600000.SH,2023-01-31,5,x,0.5,0,0,0,0,8\n");
        let e = from_csv(&text).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("score"), "{e}");
        let e = from_csv("a,b\n").unwrap_err().to_string();
        assert!(e.contains("header"), "{e}");
    }
}

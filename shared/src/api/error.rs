use serde::{Deserialize, Serialize};
use std::fmt;

/// Where and what: one rejected or repaired row, or a problem with the whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// File name as the user gave it.
    pub file: String,
    /// 1-based row in the file as a spreadsheet shows it (the header is row 1), or the
    /// 1-based element index of a JSON `data` array.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<u64>,
    /// The column (header name as written in the file) or field to blame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(r) = self.row {
            write!(f, ", row {r}")?;
        }
        if let Some(c) = &self.column {
            write!(f, ", column `{c}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The JSON body of every error response: `{"error": "...", "message": "...", "problems": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable machine-readable code, e.g. `not_found`, `invalid_file`, `too_large`.
    pub error: String,
    /// A sentence for a person.
    pub message: String,
    /// Row-level detail where there is some (file imports).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        for p in self.problems.iter().take(5) {
            write!(f, "\n  {p}")?;
        }
        if self.problems.len() > 5 {
            write!(f, "\n  … and {} more", self.problems.len() - 5)?;
        }
        Ok(())
    }
}

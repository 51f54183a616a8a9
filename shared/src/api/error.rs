use crate::import::Problem;
use serde::{Deserialize, Serialize};
use std::fmt;

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

/// An import's error as the JSON body the API and `kxian import --json` report.
#[cfg(feature = "files")]
impl From<&crate::ingest::ImportError> for ApiError {
    fn from(e: &crate::ingest::ImportError) -> Self {
        ApiError {
            error: e.code().to_string(),
            message: e.to_string(),
            problems: e.problems(),
        }
    }
}

//! The ledger of an import's problems: rows rejected and repairs made, each naming the file,
//! row and column, capped so that a broken million-row file stays cheap to report.

use super::MAX_LISTED_PROBLEMS;
use crate::import::Problem;

/// Repetitive warnings are listed this many times per kind, then summarised.
const MAX_WARNINGS_PER_KIND: u64 = 100;

/// Rejections and warnings, with caps so a broken million-row file stays cheap.
#[derive(Debug)]
pub(crate) struct Problems {
    file: String,
    rejected: Vec<Problem>,
    rejected_total: u64,
    warnings: Vec<Problem>,
    /// (label, count) of each warning kind.
    warning_kinds: Vec<(&'static str, u64)>,
}

impl Problems {
    pub(crate) fn new(file: &str) -> Problems {
        Problems {
            file: file.to_string(),
            rejected: Vec::new(),
            rejected_total: 0,
            warnings: Vec::new(),
            warning_kinds: Vec::new(),
        }
    }

    fn problem(&self, row: Option<u64>, column: Option<&str>, message: String) -> Problem {
        Problem {
            file: self.file.clone(),
            row,
            column: column.filter(|c| !c.is_empty()).map(str::to_string),
            message,
        }
    }

    pub(crate) fn reject(
        &mut self,
        row: Option<u64>,
        column: Option<&str>,
        message: impl FnOnce() -> String,
    ) {
        self.rejected_total += 1;
        if self.rejected.len() < MAX_LISTED_PROBLEMS {
            let p = self.problem(row, column, message());
            self.rejected.push(p);
        }
    }

    /// `kind` is a plural label for the summary line, e.g. "rows with high and low swapped".
    pub(crate) fn warn(
        &mut self,
        kind: &'static str,
        row: Option<u64>,
        column: Option<&str>,
        message: impl FnOnce() -> String,
    ) {
        let n = match self.warning_kinds.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                self.warning_kinds.push((kind, 1));
                1
            }
        };
        if n <= MAX_WARNINGS_PER_KIND {
            let p = self.problem(row, column, message());
            self.warnings.push(p);
        }
    }

    pub(crate) fn rejected_total(&self) -> u64 {
        self.rejected_total
    }

    /// (rejected, warnings), each in row order, with summary entries for what was not listed.
    pub(crate) fn finish(mut self) -> (Vec<Problem>, Vec<Problem>) {
        self.rejected.sort_by_key(|p| p.row);
        self.warnings.sort_by_key(|p| p.row);
        let unlisted = self.rejected_total - self.rejected.len() as u64;
        if unlisted > 0 {
            let p = self.problem(
                None,
                None,
                format!("… and {unlisted} more rejected rows (not listed)"),
            );
            self.rejected.push(p);
        }
        for (kind, n) in std::mem::take(&mut self.warning_kinds) {
            if n > MAX_WARNINGS_PER_KIND {
                let more = n - MAX_WARNINGS_PER_KIND;
                let p = self.problem(None, None, format!("… and {more} more {kind}"));
                self.warnings.push(p);
            }
        }
        (self.rejected, self.warnings)
    }
}

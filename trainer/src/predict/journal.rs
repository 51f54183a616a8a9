//! The run's journal: JSON lines beside the output, the run's parameters first, then every
//! row as its date finishes (one write per date). A killed run leaves at most a torn last
//! line, which is cut off when the next run with the same parameters resumes.

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::NaiveDate;
use kxian_shared::predictions::rows::PredictionRow;
use serde::{Deserialize, Serialize};

use super::Params;
use crate::cli_error::BadInput;

#[derive(Serialize, Deserialize)]
struct Head {
    params: Params,
}

pub(super) struct Journal {
    path: PathBuf,
    file: std::fs::File,
    done: HashSet<(String, NaiveDate)>,
}

impl Journal {
    /// Opens the journal at `path`: resumes one written with `params`, refuses one written
    /// with others (unless `overwrite`), or starts a new one.
    pub(super) fn open(path: &Path, params: &Params, overwrite: bool) -> anyhow::Result<Journal> {
        let mut done = HashSet::new();
        if path.exists() && !overwrite {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the journal {}", path.display()))?;
            let mut keep = 0usize;
            let mut lines = text.split_inclusive('\n');
            let head = lines.next().unwrap_or_default();
            let same = head.ends_with('\n')
                && serde_json::from_str::<Head>(head).is_ok_and(|h| h.params == *params);
            if !same {
                crate::bail_input!(
                    "{} holds an unfinished run with other parameters (model, universe, schedule or forecast); delete it, or pass --overwrite to start afresh",
                    path.display()
                );
            }
            keep += head.len();
            for line in lines {
                // A torn last line (no newline, or not a whole row) is where the kill struck.
                let Some(body) = line.strip_suffix('\n') else {
                    break;
                };
                let Ok(row) = serde_json::from_str::<PredictionRow>(body) else {
                    break;
                };
                done.insert((row.symbol, row.as_of));
                keep += line.len();
            }
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .with_context(|| format!("opening the journal {}", path.display()))?;
            file.set_len(keep as u64)
                .with_context(|| format!("cutting the torn end of {}", path.display()))?;
            let file = std::fs::OpenOptions::new()
                .append(true)
                .open(path)
                .with_context(|| format!("opening the journal {}", path.display()))?;
            return Ok(Journal {
                path: path.to_path_buf(),
                file,
                done,
            });
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| BadInput(format!("{}: {e}", dir.display())))?;
        }
        let mut file = std::fs::File::create(path)
            .with_context(|| format!("creating the journal {}", path.display()))?;
        let head = serde_json::to_string(&Head {
            params: params.clone(),
        })?;
        writeln!(file, "{head}").with_context(|| format!("writing {}", path.display()))?;
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            done,
        })
    }

    /// Rows kept from an earlier run.
    pub(super) fn rows(&self) -> usize {
        self.done.len()
    }

    pub(super) fn has(&self, symbol: &str, date: NaiveDate) -> bool {
        self.done.contains(&(symbol.to_string(), date))
    }

    /// Appends one date's rows in one write.
    pub(super) fn append(&mut self, rows: &[PredictionRow]) -> anyhow::Result<()> {
        let mut buf = String::new();
        for r in rows {
            buf.push_str(&serde_json::to_string(r)?);
            buf.push('\n');
        }
        self.file
            .write_all(buf.as_bytes())
            .with_context(|| format!("writing the journal {}", self.path.display()))
    }

    pub(super) fn finish(self) -> anyhow::Result<PathBuf> {
        self.file
            .sync_all()
            .with_context(|| format!("writing the journal {}", self.path.display()))?;
        Ok(self.path)
    }
}

/// The journal's rows in order, read one at a time.
pub(crate) fn read_rows(
    path: &Path,
) -> anyhow::Result<impl Iterator<Item = anyhow::Result<PredictionRow>>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let shown = path.display().to_string();
    Ok(std::io::BufReader::new(file)
        .lines()
        .enumerate()
        .skip(1)
        .map(move |(i, line)| {
            let line = line.with_context(|| format!("reading {shown}"))?;
            serde_json::from_str(&line).with_context(|| format!("{shown}: line {}", i + 1))
        }))
}

//! The one progress sink every long command reports through: each [`JobEvent`] goes to the
//! run's `metrics.jsonl` (when it has one) and, with `--progress json`, to standard output as
//! one line for the server's job runner; a person at a terminal sees a progress bar instead.

use std::io::Write;
use std::path::Path;

use kxian_shared::jobs::JobEvent;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProgressMode {
    /// A progress bar on a terminal, nothing otherwise.
    Bar,
    /// One JSON event per line on standard output (for the server's job runner).
    Json,
}

pub struct Progress {
    metrics: Option<std::fs::File>,
    json: bool,
    bar: indicatif::ProgressBar,
}

impl Progress {
    /// A sink for `total` units of work (`unit`: "steps", "symbols"), appending to `metrics`
    /// when given.
    pub fn new(
        mode: ProgressMode,
        total: u64,
        unit: &str,
        metrics: Option<&Path>,
    ) -> std::io::Result<Progress> {
        let metrics = metrics
            .map(|p| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
            })
            .transpose()?;
        let bar =
            if mode == ProgressMode::Bar && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                indicatif::ProgressBar::new(total)
            } else {
                indicatif::ProgressBar::hidden()
            };
        bar.set_style(
            indicatif::ProgressStyle::with_template(&format!(
                "{{spinner}} {{msg}} [{{bar:30}}] {{pos}}/{{len}} {unit} {{elapsed}} (ETA {{eta}})"
            ))
            .expect("valid template")
            .progress_chars("=> "),
        );
        Ok(Progress {
            metrics,
            json: mode == ProgressMode::Json,
            bar,
        })
    }

    pub fn emit(&mut self, e: &JobEvent) {
        let line = e.to_line();
        if let Some(f) = &mut self.metrics {
            let _ = writeln!(f, "{line}");
        }
        if self.json {
            // A runner that went away is not this command's failure; it notices on its own.
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}").and_then(|()| out.flush());
        }
    }

    pub fn bar(&self) -> &indicatif::ProgressBar {
        &self.bar
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

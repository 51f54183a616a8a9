//! The model card's evaluation, written once from a run's events: the trainer writes it into
//! the run folder, the server into the model a finetune job becomes.

use super::event::{JobEvent, StageName, StageSummary};

#[derive(Debug, Default)]
struct StageRow {
    stage: Option<StageName>,
    before: Option<f32>,
    best: Option<f32>,
    epochs: Vec<(f32, f32)>,
    steps: usize,
}

/// `## Evaluation`: each training stage's validation loss before its first step and at its
/// best checkpoint, its epochs and steps, from the run's events (`metrics.jsonl`). Empty
/// when the events hold no training stage.
pub fn evaluation_table<'a>(events: impl IntoIterator<Item = &'a JobEvent>) -> String {
    let mut rows: Vec<StageRow> = Vec::new();
    let mut row = |stage: StageName| -> usize {
        match rows.iter().position(|r| r.stage == Some(stage)) {
            Some(i) => i,
            None => {
                rows.push(StageRow {
                    stage: Some(stage),
                    ..StageRow::default()
                });
                rows.len() - 1
            }
        }
    };
    let mut updates: Vec<(usize, &JobEvent)> = Vec::new();
    for e in events {
        let stage = match e {
            JobEvent::Baseline { stage, .. }
            | JobEvent::Step { stage, .. }
            | JobEvent::Epoch { stage, .. }
            | JobEvent::Done { stage, .. } => *stage,
            _ => continue,
        };
        updates.push((row(stage), e));
    }
    for (i, e) in updates {
        let r = &mut rows[i];
        match e {
            JobEvent::Baseline { val_loss, .. } => r.before = Some(*val_loss),
            JobEvent::Step { .. } => r.steps += 1,
            JobEvent::Epoch {
                train_loss,
                val_loss,
                ..
            } => r.epochs.push((*train_loss, *val_loss)),
            JobEvent::Done {
                summary: StageSummary::Trained { best_val_loss, .. },
                ..
            } => r.best = Some(*best_val_loss),
            _ => {}
        }
    }
    if rows.is_empty() {
        return String::new();
    }
    let num = |x: Option<f32>| x.map_or("-".to_string(), |x| format!("{x:.4}"));
    let mut t = String::from(
        "## Evaluation (held-out validation windows)\n\n| stage | validation loss before | best after | epochs (train / validation loss) | steps |\n| --- | ---: | ---: | --- | ---: |\n",
    );
    for r in rows {
        let epochs: Vec<String> = r
            .epochs
            .iter()
            .map(|(t, v)| format!("{t:.4} / {v:.4}"))
            .collect();
        t.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            r.stage.map_or("-", StageName::as_str),
            num(r.before),
            num(r.best),
            epochs.join(", "),
            r.steps
        ));
    }
    t
}

/// The events of a `metrics.jsonl`, skipping lines that are not events.
pub fn read_events(jsonl: &str) -> Vec<JobEvent> {
    jsonl
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

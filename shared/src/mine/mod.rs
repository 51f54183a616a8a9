//! Alpha mining: genetic programming over the expression language's trees, scored by rank IC
//! against the forward return, with the periods kept apart. The search sees only the training
//! period's IC; the validation period decides which formulas are accepted; the test period is
//! reported and never read before the search ends.
//!
//! Pure: the caller evaluates candidates (in parallel where it can) through an evaluator, so the
//! same search runs in the trainer and could run in the browser.

pub mod cache;
pub mod config;
pub mod score;
pub mod tree;

use crate::expr::{Expr, Panel};
pub use config::{MineConfig, MineSection, Period};
pub use score::{Scored, Scorer};
use serde::{Deserialize, Serialize};
use tree::{Gen, Primitives};

/// One mined formula, as the report and `--format json` give it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Formula {
    /// Parses back to the same tree; ready for `score = "…"`.
    pub formula: String,
    pub size: usize,
    #[serde(deserialize_with = "crate::json_nan::f64_or_nan")]
    pub train_ic: f64,
    #[serde(deserialize_with = "crate::json_nan::f64_or_nan")]
    pub validation_ic: f64,
    /// Mean over the standard error of the validation period's daily rank ICs.
    #[serde(deserialize_with = "crate::json_nan::f64_or_nan")]
    pub validation_t: f64,
    #[serde(deserialize_with = "crate::json_nan::f64_or_nan")]
    pub test_ic: f64,
    /// The test period's rank IC mean over its standard deviation.
    #[serde(deserialize_with = "crate::json_nan::f64_or_nan")]
    pub test_icir: f64,
    /// Share of the top fifth by score that changes from one day to the next (test period).
    #[serde(deserialize_with = "crate::json_nan::f64_or_nan")]
    pub turnover: f64,
    /// Test-period rank IC at the horizons in [`DECAY_HORIZONS`].
    #[serde(deserialize_with = "crate::json_nan::f64s_or_nan")]
    pub decay: Vec<f64>,
    /// The daily rank IC summed from the training period's start through the test period's
    /// end, for the chart: a steady climb through all three is a formula that held.
    #[serde(default)]
    pub cumulative_ic: Vec<(chrono::NaiveDate, f64)>,
}

/// Horizons (bars) the decay of a formula's IC is read at.
pub const DECAY_HORIZONS: [usize; 4] = [1, 5, 10, 20];

/// What a search did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MineReport {
    /// Distinct formulas evaluated.
    pub tried: usize,
    pub generations: usize,
    /// The generation a stopped search was carried on from (0: it ran from the start).
    #[serde(default)]
    pub resumed_at: usize,
    pub seconds: f64,
    /// Accepted, deduplicated, best validation IC first.
    pub formulas: Vec<Formula>,
    /// An equal-weight sum of the accepted formulas' ranks, when there are two or more.
    pub combined: Option<Formula>,
    /// The file's `baselines`, as written, on the same periods.
    pub baselines: Vec<Formula>,
    /// The period bounds as used.
    pub train: Period,
    pub validation: Period,
    pub test: Period,
    pub horizon: usize,
}

/// Progress for a bar: a generation finished.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub generation: usize,
    pub generations: usize,
    pub tried: usize,
    pub best_train_ic: f64,
    pub best_formula: String,
}

/// Candidates' training scores, computed by the caller (in parallel if it likes).
pub type Evaluate<'a> = dyn Fn(&[Expr]) -> Vec<Scored> + Sync + 'a;

/// Where a search stands after a generation: enough to carry on exactly as an unbroken search
/// would (the caller writes it down and hands it back to [`search`] after a stop).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MineState {
    /// What the search is of (the caller's fingerprint of its file); another file starts afresh.
    pub fingerprint: String,
    /// The round under way and how many of its generations are done.
    pub round: usize,
    pub done_in_round: usize,
    /// Generations done in all.
    pub generation: usize,
    pub rng: u64,
    /// The next generation, as formulas (empty between rounds).
    pub population: Vec<String>,
    pub tried: Vec<(String, Scored)>,
    pub accepted: Vec<(String, Scored)>,
}

/// How a search hears of and leaves its state.
pub struct Checkpoints<'a> {
    /// A state to carry on from.
    pub resume: Option<MineState>,
    pub fingerprint: String,
    /// Called after every generation and at the end of every round.
    pub save: &'a mut dyn FnMut(&MineState),
}

/// Runs the search: `rounds` searches one after the other, each penalising correlation with the
/// formulas the earlier rounds accepted, within `max_seconds` of `now` (a clock the caller
/// gives). Deterministic for a seed when the time limit is not reached.
pub fn search(
    panel: &Panel,
    config: &MineSection,
    scorer: &Scorer,
    evaluate: &Evaluate<'_>,
    now: &dyn Fn() -> f64,
    on_progress: &mut dyn FnMut(&Progress),
    checkpoints: Checkpoints<'_>,
) -> MineReport {
    let start = now();
    let fields = panel.fields();
    let prims = Primitives::new(&fields, config.factors);
    let read = |text: &str| crate::expr::parse(text, &fields).ok().map(tree::fold);
    let mut rng = Gen::new(config.seed);
    let mut tried = std::collections::HashMap::<String, Scored>::new();
    let mut accepted: Vec<(Expr, Scored)> = Vec::new();
    let per_round = config.generations.div_ceil(config.rounds.max(1));
    let mut generation = 0;
    let (mut first_round, mut first_generation, mut carried) = (0, 0, None);
    let resumed_at = checkpoints.resume.as_ref().map_or(0, |s| s.generation);
    if let Some(st) = checkpoints.resume {
        rng = Gen::resume(st.rng);
        tried = st.tried.into_iter().collect();
        accepted = st
            .accepted
            .into_iter()
            .filter_map(|(t, s)| Some((read(&t)?, s)))
            .collect();
        generation = st.generation;
        (first_round, first_generation) = (st.round, st.done_in_round);
        let population: Vec<Expr> = st.population.iter().filter_map(|t| read(t)).collect();
        carried = (!population.is_empty()).then_some(population);
    }
    let save = checkpoints.save;
    let fingerprint = checkpoints.fingerprint;
    let state = |round: usize,
                 done: usize,
                 generation: usize,
                 rng: &Gen,
                 population: &[Expr],
                 tried: &std::collections::HashMap<String, Scored>,
                 accepted: &[(Expr, Scored)]| {
        let mut t: Vec<(String, Scored)> =
            tried.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        t.sort_by(|a, b| a.0.cmp(&b.0));
        MineState {
            fingerprint: fingerprint.clone(),
            round,
            done_in_round: done,
            generation,
            rng: rng.state(),
            population: population.iter().map(tree::render).collect(),
            tried: t,
            accepted: accepted
                .iter()
                .map(|(e, s)| (tree::render(e), s.clone()))
                .collect(),
        }
    };
    'rounds: for round in first_round..config.rounds.max(1) {
        let mut population: Vec<Expr> = match carried.take() {
            Some(p) => p,
            None => (0..config.population)
                .map(|i| prims.random(&mut rng, 2 + i % 3, i % 2 == 0))
                .collect(),
        };
        let from = if round == first_round {
            first_generation
        } else {
            0
        };
        for done in from..per_round {
            if now() - start > config.max_seconds {
                break 'rounds;
            }
            generation += 1;
            // Each member's text once: the key it is scored and looked up by.
            let keys: Vec<String> = population.iter().map(tree::render).collect();
            // Score the ones not seen before, all at once.
            let (fresh_keys, fresh): (Vec<String>, Vec<Expr>) = {
                let mut seen = std::collections::HashSet::new();
                keys.iter()
                    .zip(&population)
                    .filter(|(k, _)| !tried.contains_key(*k) && seen.insert(k.as_str()))
                    .map(|(k, e)| (k.clone(), e.clone()))
                    .unzip()
            };
            for (k, s) in fresh_keys.into_iter().zip(evaluate(&fresh)) {
                tried.insert(k, s);
            }
            let fitness: Vec<f64> = keys
                .iter()
                .zip(&population)
                .map(|(k, e)| fitness(&tried[k], tree::size(e), config, &accepted))
                .collect();
            let best = (0..population.len())
                .max_by(|&a, &b| fitness[a].total_cmp(&fitness[b]))
                .unwrap_or(0);
            on_progress(&Progress {
                generation,
                generations: config.generations,
                tried: tried.len(),
                best_train_ic: tried[&keys[best]].train_ic,
                best_formula: keys[best].clone(),
            });
            // The next generation: the best kept, a tenth new random trees (the population
            // narrows fast without them), the rest bred from tournaments.
            let mut next = vec![population[best].clone()];
            for i in 0..population.len() / 10 {
                next.push(prims.random(&mut rng, 2 + i % 3, i % 2 == 0));
            }
            while next.len() < population.len() {
                let a = tournament(&fitness, config.tournament, &mut rng);
                let roll = rng.unit();
                let child = if roll < 0.6 {
                    let b = tournament(&fitness, config.tournament, &mut rng);
                    tree::crossover(&population[a], &population[b], &mut rng)
                } else if roll < 0.8 {
                    prims.point_mutation(&population[a], &mut rng)
                } else if roll < 0.9 {
                    tree::hoist(&population[a], &mut rng)
                } else {
                    prims.subtree_mutation(&population[a], &mut rng)
                };
                let child = tree::fold(child);
                if tree::depth(&child) <= config.max_depth && tree::size(&child) <= config.max_size
                {
                    next.push(child);
                } else {
                    next.push(population[a].clone());
                }
            }
            population = next;
            save(&state(
                round,
                done + 1,
                generation,
                &rng,
                &population,
                &tried,
                &accepted,
            ));
        }
        // Accept from this round: the best by training fitness that hold up on validation
        // and are not a copy of one accepted already.
        // Each formula's fitness once, not at every comparison of the sort.
        let mut ranked: Vec<(f64, &String, &Scored)> = tried
            .iter()
            .map(|(k, s)| (fitness(s, s.size, config, &accepted), k, s))
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        let mut picked = 0;
        for (_, text, s) in ranked.into_iter().take(config.checked_per_round) {
            if !passes(s, config) {
                continue;
            }
            let Some(e) = read(text) else {
                continue;
            };
            if accepted.iter().any(|(_, a)| {
                score::sample_correlation(&a.sample, &s.sample).abs() > config.max_correlation
            }) {
                continue;
            }
            accepted.push((e, s.clone()));
            picked += 1;
            if picked >= config.keep_per_round {
                break;
            }
        }
        save(&state(
            round + 1,
            0,
            generation,
            &rng,
            &[],
            &tried,
            &accepted,
        ));
    }
    let mut formulas: Vec<Formula> = accepted
        .iter()
        .map(|(e, s)| scorer.report(panel, e, s, true))
        .collect();
    formulas.sort_by(|a, b| {
        b.validation_ic
            .abs()
            .total_cmp(&a.validation_ic.abs())
            .then_with(|| a.formula.cmp(&b.formula))
    });
    let combined = (formulas.len() >= 2)
        .then(|| {
            let text = formulas
                .iter()
                .map(|f| format!("rank({})", f.formula))
                .collect::<Vec<_>>()
                .join(" + ");
            let e = crate::expr::parse(&text, &panel.fields()).ok()?;
            let s = scorer.score(panel, &e);
            Some(scorer.report(panel, &e, &s, false))
        })
        .flatten();
    let baselines = config
        .baselines
        .iter()
        .filter_map(|text| {
            let e = crate::expr::parse(text, &panel.fields()).ok()?;
            let s = scorer.score(panel, &e);
            Some(scorer.report(panel, &e, &s, false))
        })
        .collect();
    MineReport {
        tried: tried.len(),
        generations: generation,
        resumed_at,
        seconds: now() - start,
        formulas,
        combined,
        baselines,
        train: scorer.train,
        validation: scorer.validation,
        test: scorer.test,
        horizon: scorer.horizon,
    }
}

/// Training rank IC (either sign: a formula that ranks backwards is negated when reported)
/// less a price for size and for resembling what was accepted already.
fn fitness(s: &Scored, size: usize, c: &MineSection, accepted: &[(Expr, Scored)]) -> f64 {
    if !s.train_ic.is_finite() {
        return f64::NEG_INFINITY;
    }
    let like = accepted
        .iter()
        .map(|(_, a)| score::sample_correlation(&a.sample, &s.sample).abs())
        .fold(0.0, f64::max);
    s.train_ic.abs() - c.size_penalty * size as f64 - c.correlation_penalty * like
}

/// Holds up on validation: the same sign as in training, large enough, and significant.
fn passes(s: &Scored, c: &MineSection) -> bool {
    s.train_ic.is_finite()
        && s.validation_ic.is_finite()
        && s.train_ic.signum() == s.validation_ic.signum()
        && s.validation_ic.abs() >= c.min_validation_ic
        && s.validation_t.abs() >= c.min_validation_t
}

fn tournament(fitness: &[f64], k: usize, rng: &mut Gen) -> usize {
    (0..k.max(1))
        .map(|_| rng.below(fitness.len()))
        .max_by(|&a, &b| fitness[a].total_cmp(&fitness[b]).then(b.cmp(&a)))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;

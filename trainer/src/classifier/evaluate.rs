//! `kxian-trainer evaluate-classifier`: a trained classifier scored after its training
//! period — recall, misjudges, Brier, reliability — and its probabilities as signals.

use super::*;

pub fn load_model(dir: &Path, device: &Device) -> Result<Classifier, ModelDirError> {
    let read = |f: &str| {
        let path = dir.join(f);
        std::fs::read(&path).map_err(|source| ModelDirError::Read { path, source })
    };
    let (c, w) = (read("config.json")?, read("model.safetensors")?);
    checkpoint::load_classifier(&c, &w, device).map_err(|source| ModelDirError::Checkpoint {
        dir: dir.to_path_buf(),
        source,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub model: String,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub symbols: usize,
    pub cost: CostMatrix,
    pub min_confidence: f64,
    pub label: LabelRule,
    pub metrics: ClassifierMetrics,
    /// The same metrics per symbol.
    pub per_symbol: BTreeMap<String, ClassifierMetrics>,
}

pub fn evaluate(args: &EvaluateClassifierArgs) -> anyhow::Result<(Evaluation, Signals)> {
    let cost = CostMatrix::parse(&args.cost).map_err(|e| BadInput(format!("--cost: {e}")))?;
    crate::ensure_input!(
        (0.0..=1.0).contains(&args.min_confidence),
        "--min-confidence: a probability in [0, 1]"
    );
    crate::ensure_input!(
        args.lift.is_finite() && args.lift > 0.0,
        "--lift: a positive multiple of the base rate"
    );
    let decision = match args.rule {
        RuleChoice::Lift => Decision::Lift { lift: args.lift },
        RuleChoice::Cost => Decision::Cost,
    };
    let picked = pick(args.device)?;
    let model = load_model(&args.model, &picked.device)?;
    let c = model.config.clone();
    let mut series = load_series(&args.data)?;
    let market = market_of(&mut series, c.market.as_deref()).with_context(|| {
        format!(
            "the model was trained with the market {:?}; give its bars as an input",
            c.market
        )
    })?;
    let from = args
        .eval_from
        .or(c.trained_until.and_then(|d| d.succ_opt()));
    let in_range =
        |d: NaiveDate| from.is_none_or(|f| d >= f) && args.eval_to.is_none_or(|t| d <= t);
    let mut signals = Signals::default();
    let mut all = Vec::new();
    let mut per_symbol = BTreeMap::new();
    for (i, s) in series.iter().enumerate() {
        let eligible: Vec<Sample> = (c.context..s.bars.len())
            .filter(|&t| in_range(s.bars[t].ts.date()))
            .map(|t| (i, t))
            .collect();
        let p = predict(&model, &series, &eligible, market.as_ref(), &picked.device);
        for (&(_, t), p) in eligible.iter().zip(&p) {
            signals.insert(
                s.symbol.clone(),
                s.bars[t].ts.date(),
                Probs {
                    up: p[0],
                    down: p[1],
                    flat: p[2],
                },
            );
        }
        // Only days with a known outcome are scored; the newest days still get signals.
        let labelled: Vec<(Sample, [f64; 3])> = eligible
            .iter()
            .zip(&p)
            .filter(|(smp, _)| c.label.label(&s.bars, smp.1).is_some())
            .map(|(a, b)| (*a, *b))
            .collect();
        let (smp, pr): (Vec<Sample>, Vec<[f64; 3]>) = labelled.into_iter().unzip();
        let sc = scored(&series, &smp, &pr, &c.label);
        if !sc.is_empty() {
            per_symbol.insert(
                s.symbol.to_string(),
                classifier_metrics(
                    &sc,
                    &c.label,
                    c.class_freq,
                    &cost,
                    args.min_confidence,
                    decision,
                ),
            );
        }
        all.extend(sc);
    }
    crate::ensure_input!(
        !all.is_empty(),
        "no day with a known outcome from {from:?} to {:?} (the model needs {} bars of context and {} after)",
        args.eval_to,
        c.context,
        c.label.horizon
    );
    let metrics = classifier_metrics(
        &all,
        &c.label,
        c.class_freq,
        &cost,
        args.min_confidence,
        decision,
    );
    Ok((
        Evaluation {
            model: args.model.display().to_string(),
            from,
            to: args.eval_to,
            symbols: series.len(),
            cost,
            min_confidence: args.min_confidence,
            label: c.label,
            metrics,
            per_symbol,
        },
        signals,
    ))
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1} %", x * 100.0)
    } else {
        "-".into()
    }
}

/// The evaluation as a person reads it.
pub fn table(e: &Evaluation) -> String {
    let m = &e.metrics;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} samples over {} symbols from {}; up ≥ {:+.1} %, down ≤ {:+.1} % over {} days",
        m.samples,
        e.symbols,
        e.from.map_or("the start".into(), |d| d.to_string()),
        e.label.up * 100.0,
        e.label.down * 100.0,
        e.label.horizon
    );
    let _ = writeln!(
        s,
        "class shares       up {}, down {}, flat {}",
        pct(m.class_share[0]),
        pct(m.class_share[1]),
        pct(m.class_share[2])
    );
    let _ = writeln!(s, "accuracy           {}", pct(m.accuracy));
    let _ = writeln!(
        s,
        "calls by           {}",
        match m.decision {
            Decision::Lift { lift } =>
                format!("lift: P(up) or P(down) at least {lift}× its base rate"),
            Decision::Cost => "least expected cost".into(),
        }
    );
    let _ = writeln!(
        s,
        "up_recall          {} (rises called up / rises)",
        pct(m.up_recall)
    );
    let _ = writeln!(
        s,
        "down_misjudge      {} (falls called up / falls)",
        pct(m.down_misjudge)
    );
    let _ = writeln!(
        s,
        "extreme_up_capture {} (top 5 % of returns called up)",
        pct(m.extreme_up_capture)
    );
    let _ = writeln!(
        s,
        "up calls           {}: {} rose, {} fell; mean return {} against {} on every day",
        m.up_calls,
        m.up_calls_rose,
        pct(m.up_calls_fell),
        pct(m.up_calls_mean_return),
        pct(m.mean_return)
    );
    let _ = writeln!(
        s,
        "Brier              {:.4} (class-frequency baseline {:.4}, skill {:+.3})",
        m.brier, m.brier_baseline, m.brier_skill
    );
    let _ = writeln!(s, "log loss           {:.4}", m.log_loss);
    let _ = writeln!(
        s,
        "mean cost          {:.3} per call (always flat: {:.3})",
        m.mean_cost, m.mean_cost_always_flat
    );
    let _ = writeln!(s, "confusion (rows true, columns called: up down flat)");
    for (k, row) in m.confusion.iter().enumerate() {
        let _ = writeln!(
            s,
            "  {:<5}{:>8}{:>8}{:>8}",
            CLASSES[k], row[0], row[1], row[2]
        );
    }
    let _ = writeln!(
        s,
        "reliability of P(up): bin, samples, mean predicted, observed"
    );
    for b in m.reliability_up.iter().filter(|b| b.count > 0) {
        let _ = writeln!(
            s,
            "  {:.1}–{:.1}{:>8}{:>10}{:>10}",
            b.from,
            b.to,
            b.count,
            pct(b.mean_predicted),
            pct(b.observed)
        );
    }
    s
}

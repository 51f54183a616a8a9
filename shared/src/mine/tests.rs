use super::tree::{self, Gen, Primitives};
use super::*;

fn fields() -> Vec<String> {
    [
        "$open", "$high", "$low", "$close", "$volume", "$vwap", "mom_60",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Every tree the search makes is one the language accepts, and its text reads back to it.
#[test]
fn grown_bred_and_mutated_trees_parse_back_to_themselves() {
    let prims = Primitives::new(&fields(), true);
    let mut rng = Gen::new(7);
    let mut pool: Vec<Expr> = (0..200)
        .map(|i| prims.random(&mut rng, 1 + i % 4, i % 2 == 0))
        .collect();
    for i in 0..2000 {
        let a = &pool[rng.below(pool.len())];
        let b = &pool[rng.below(pool.len())];
        let child = match i % 4 {
            0 => tree::crossover(a, b, &mut rng),
            1 => prims.point_mutation(a, &mut rng),
            2 => tree::hoist(a, &mut rng),
            _ => prims.subtree_mutation(a, &mut rng),
        };
        pool.push(tree::fold(child));
    }
    for e in &pool {
        let text = tree::render(e);
        let back =
            crate::expr::parse(&text, &fields()).unwrap_or_else(|err| panic!("{text}: {err}"));
        assert_eq!(tree::render(&tree::fold(back)), text);
    }
}

#[test]
fn constants_fold_and_double_negation_goes() {
    let e = crate::expr::parse("(2 * 3) + $close - -(-($open))", &fields()).unwrap();
    assert_eq!(tree::render(&tree::fold(e)), "((6 + $close) - $open)");
    let same = crate::expr::parse("-(-($close))", &fields()).unwrap();
    assert_eq!(tree::render(&tree::fold(same)), "$close");
}

#[test]
fn the_generator_is_seeded() {
    let (mut a, mut b) = (Gen::new(3), Gen::new(3));
    let xs: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
    let ys: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
    assert_eq!(xs, ys);
    assert_ne!(
        xs,
        (0..5).map(|_| Gen::new(4).next_u64()).collect::<Vec<_>>()
    );
}

#[test]
fn periods_must_follow_one_another() {
    let text = |v: &str| {
        format!(
            "[universe]\nfiles = [\"a.csv\"]\n[mine]\ntrain = {{ from = 2015-01-01, to = 2019-12-31 }}\n\
             validation = {{ from = {v}, to = 2021-12-31 }}\ntest = {{ from = 2022-01-01, to = 2024-09-19 }}\n"
        )
    };
    config::parse(&text("2020-01-01")).unwrap();
    let e = config::parse(&text("2019-06-01")).unwrap_err();
    assert!(
        e.contains("mine.validation") && e.contains("must not overlap"),
        "{e}"
    );
    let e = config::parse(
        &text("2020-01-01")
            .replace("seed", "x")
            .replace("[mine]", "[mine]\nsed = 1"),
    )
    .unwrap_err();
    assert!(e.contains("sed"), "{e}");
}

/// A report with figures that could not be computed survives JSON (NaN is written as null).
#[test]
fn a_report_with_missing_figures_reads_back() {
    let f = Formula {
        formula: "rank($close)".into(),
        size: 2,
        train_ic: 0.1,
        validation_ic: f64::NAN,
        validation_t: f64::NAN,
        test_ic: 0.05,
        test_icir: f64::NAN,
        turnover: 0.3,
        decay: vec![0.1, f64::NAN],
        cumulative_ic: Vec::new(),
    };
    let text = serde_json::to_string(&f).unwrap();
    let back: Formula = serde_json::from_str(&text).unwrap();
    assert!(back.validation_ic.is_nan() && back.decay[1].is_nan());
    assert_eq!((back.train_ic, back.decay[0]), (0.1, 0.1));
}

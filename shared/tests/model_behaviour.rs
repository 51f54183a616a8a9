//! What the port adds to the reference and how it fails: the K/V cache against the full
//! recompute (sliding windows included), sample paths and their statistics, checkpoints of the
//! Kronos-small / Tokenizer-base shapes, and every checkpoint error a user can meet.
#![cfg(feature = "model")]

use burn::tensor::Device;
use kxian_shared::model::checkpoint::{CheckpointError, check_pair, parameter_count};
use kxian_shared::model::forecast::{
    BatchInput, CacheMode, ForecastConfig, ForecastError, ForecastInput, forecast,
};
use kxian_shared::model::safetensors::{self, Owned};
use kxian_shared::model::{
    KronosPredictor, KronosTokenizer, PredictorConfig, Sampling, TokenizerConfig, load_predictor,
    load_tokenizer, save_predictor, save_tokenizer,
};

fn device() -> Device {
    Device::flex()
}

/// A small architecture of the Kronos kind, quick enough for debug-build tests.
fn tiny() -> (TokenizerConfig, PredictorConfig) {
    let tok = TokenizerConfig {
        d_model: 32,
        n_heads: 2,
        ff_dim: 64,
        n_enc_layers: 2,
        n_dec_layers: 2,
        s1_bits: 4,
        s2_bits: 4,
        group_size: 4,
        ..TokenizerConfig::kronos_2k()
    };
    let pred = PredictorConfig {
        d_model: 32,
        n_heads: 2,
        ff_dim: 64,
        n_layers: 2,
        s1_bits: 4,
        s2_bits: 4,
        ..PredictorConfig::kronos_mini()
    };
    (tok, pred)
}

fn models(
    tc: &TokenizerConfig,
    pc: &PredictorConfig,
    seed: u64,
) -> (KronosTokenizer, KronosPredictor) {
    let d = device();
    d.seed(seed);
    (KronosTokenizer::new(tc, &d), KronosPredictor::new(pc, &d))
}

/// A synthetic 5-minute-like history: a random walk with volume.
fn history(n: usize) -> (Vec<[f32; 6]>, Vec<[u32; 5]>) {
    let mut price = 10.0f32;
    let mut rows = Vec::new();
    let mut stamps = Vec::new();
    for i in 0..n {
        let step = ((i * 7919 % 13) as f32 - 6.0) * 0.01;
        let open = price;
        price += step;
        let (hi, lo) = (open.max(price) + 0.02, open.min(price) - 0.02);
        let vol = 1000.0 + (i * 31 % 17) as f32 * 50.0;
        rows.push([open, hi, lo, price, vol, vol * price * 100.0]);
        let minute = (i % 12) * 5;
        stamps.push([
            minute as u32,
            10 + (i / 12 % 5) as u32,
            (i / 48 % 5) as u32,
            1 + (i / 48 % 28) as u32,
            6,
        ]);
    }
    (rows, stamps)
}

fn run(
    tok: &KronosTokenizer,
    pred: &KronosPredictor,
    t: usize,
    cfg: &ForecastConfig,
) -> kxian_shared::model::Forecast {
    let (rows, stamps) = history(t);
    let future: Vec<[u32; 5]> = (0..cfg.horizon)
        .map(|i| [(i % 12 * 5) as u32, 14, 4, 28, 6])
        .collect();
    forecast(
        tok,
        pred,
        &ForecastInput {
            rows: &rows,
            stamps: &stamps,
            future_stamps: &future,
            forced: None,
        },
        cfg,
        &device(),
        &mut |_| true,
    )
    .unwrap()
}

fn argmax_cfg(horizon: usize, max_context: usize, cache: CacheMode) -> ForecastConfig {
    ForecastConfig {
        horizon,
        sampling: Sampling::ARGMAX,
        samples: 1,
        seed: 0,
        max_context,
        cache,
        repair_ohlc: false,
    }
}

fn max_abs_diff(a: &[[f32; 6]], b: &[[f32; 6]]) -> f32 {
    a.iter()
        .flatten()
        .zip(b.iter().flatten())
        .map(|(x, y)| (x - y).abs() / y.abs().max(1.0))
        .fold(0.0, f32::max)
}

#[test]
fn cache_equals_the_full_recompute_before_and_after_the_window_slides() {
    let (tc, pc) = tiny();
    let (tok, pred) = models(&tc, &pc, 1);
    // 40 bars of history, 24 to forecast, a 48-token window: it slides at bar 9.
    for max_context in [128, 48] {
        let exact = run(
            &tok,
            &pred,
            40,
            &argmax_cfg(24, max_context, CacheMode::Exact),
        );
        let off = run(
            &tok,
            &pred,
            40,
            &argmax_cfg(24, max_context, CacheMode::Off),
        );
        assert_eq!(
            exact.tokens, off.tokens,
            "max_context {max_context}: cached tokens differ from the recompute"
        );
        for (a, b) in exact.trace.iter().zip(&off.trace) {
            assert!(
                (a.s1_margin - b.s1_margin).abs() < 1e-3
                    && (a.s2_margin - b.s2_margin).abs() < 1e-3
            );
        }
        assert!(max_abs_diff(&exact.mean, &off.mean) < 1e-4);
    }
    // Several paths share one prefill and one decode of the history: still the same numbers.
    let many = run(
        &tok,
        &pred,
        40,
        &ForecastConfig {
            samples: 6,
            ..argmax_cfg(24, 48, CacheMode::Exact)
        },
    );
    let off = run(&tok, &pred, 40, &argmax_cfg(24, 48, CacheMode::Off));
    for p in 0..6 {
        assert_eq!(many.tokens.row(p), off.tokens.row(0));
        assert!(max_abs_diff(&many.paths[p], &off.mean) < 1e-4);
    }
    // Absolute positions keep running after a slide: valid output, not the reference's.
    let slid = run(&tok, &pred, 40, &argmax_cfg(24, 48, CacheMode::Absolute));
    assert_eq!(slid.mean.len(), 24);
    assert!(slid.mean.iter().flatten().all(|v| v.is_finite()));
    // Absolute positions equal the exact mode until the window slides.
    let abs = run(&tok, &pred, 40, &argmax_cfg(24, 128, CacheMode::Absolute));
    let exact = run(&tok, &pred, 40, &argmax_cfg(24, 128, CacheMode::Exact));
    assert_eq!(abs.tokens, exact.tokens);
}

#[test]
fn sample_paths_are_seeded_independent_and_summarised() {
    let (tc, pc) = tiny();
    let (tok, pred) = models(&tc, &pc, 2);
    let cfg = ForecastConfig {
        horizon: 12,
        sampling: Sampling {
            temperature: 1.0,
            top_k: 0,
            top_p: 0.9,
        },
        samples: 8,
        seed: 7,
        max_context: 64,
        cache: CacheMode::Exact,
        repair_ohlc: false,
    };
    let a = run(&tok, &pred, 30, &cfg);
    let b = run(&tok, &pred, 30, &cfg);
    assert_eq!(a.tokens, b.tokens, "same seed, same paths");
    assert_eq!(a.paths.len(), 8);
    let distinct: std::collections::BTreeSet<Vec<u32>> =
        (0..8).map(|p| a.tokens.row(p).0.to_vec()).collect();
    assert!(
        distinct.len() > 1,
        "eight sampled paths should not all coincide"
    );

    let one = run(
        &tok,
        &pred,
        30,
        &ForecastConfig {
            samples: 1,
            ..cfg.clone()
        },
    );
    assert_eq!(
        one.tokens.row(0),
        a.tokens.row(0),
        "path 0 does not depend on how many paths run"
    );
    let other = run(
        &tok,
        &pred,
        30,
        &ForecastConfig {
            seed: 8,
            ..cfg.clone()
        },
    );
    assert_ne!(other.tokens, a.tokens);

    for i in 0..12 {
        for c in 0..6 {
            let (p10, p50, p90) = (
                a.quantiles.p10[i][c],
                a.quantiles.p50[i][c],
                a.quantiles.p90[i][c],
            );
            assert!(
                p10 <= p50 && p50 <= p90,
                "bar {i} column {c}: {p10} {p50} {p90}"
            );
            let lo = a
                .paths
                .iter()
                .map(|p| p[i][c])
                .fold(f32::INFINITY, f32::min);
            let hi = a
                .paths
                .iter()
                .map(|p| p[i][c])
                .fold(f32::NEG_INFINITY, f32::max);
            assert!(lo <= p10 && p90 <= hi);
        }
        let last_close = history(30).0[29][3];
        let share = a.paths.iter().filter(|p| p[i][3] > last_close).count() as f32 / 8.0;
        assert_eq!(a.p_up[i], share);
    }
    // The mean path is the average in normalised space, so it lies within the paths' range.
    for i in 0..12 {
        let closes: Vec<f32> = a.paths.iter().map(|p| p[i][3]).collect();
        let (lo, hi) = (
            closes.iter().cloned().fold(f32::INFINITY, f32::min),
            closes.iter().cloned().fold(f32::NEG_INFINITY, f32::max),
        );
        assert!(a.mean[i][3] >= lo - 1e-3 && a.mean[i][3] <= hi + 1e-3);
    }

    let repaired = run(
        &tok,
        &pred,
        30,
        &ForecastConfig {
            repair_ohlc: true,
            ..cfg
        },
    );
    for p in &repaired.paths {
        for r in p {
            assert!(
                r[1] >= r[0].max(r[3]) && r[2] <= r[0].min(r[3]) && r[4] >= 0.0 && r[5] >= 0.0,
                "{r:?}"
            );
        }
    }
}

#[test]
fn cancelling_stops_the_loop() {
    let (tc, pc) = tiny();
    let (tok, pred) = models(&tc, &pc, 3);
    let (rows, stamps) = history(20);
    let future = vec![[0, 10, 1, 2, 6]; 10];
    let err = forecast(
        &tok,
        &pred,
        &ForecastInput {
            rows: &rows,
            stamps: &stamps,
            future_stamps: &future,
            forced: None,
        },
        &argmax_cfg(10, 64, CacheMode::Exact),
        &device(),
        &mut |p| p.step < 3,
    )
    .unwrap_err();
    assert_eq!(err, ForecastError::Cancelled(3));
}

#[test]
fn bad_inputs_are_named() {
    let (tc, pc) = tiny();
    let (tok, pred) = models(&tc, &pc, 4);
    let (mut rows, stamps) = history(20);
    rows[7][3] = f32::NAN;
    let future = vec![[0, 10, 1, 2, 6]; 5];
    let go = |rows: &[[f32; 6]], stamps: &[[u32; 5]], future: &[[u32; 5]], cfg: ForecastConfig| {
        forecast(
            &tok,
            &pred,
            &ForecastInput {
                rows,
                stamps,
                future_stamps: future,
                forced: None,
            },
            &cfg,
            &device(),
            &mut |_| true,
        )
        .unwrap_err()
        .to_string()
    };
    let e = go(&rows, &stamps, &future, argmax_cfg(5, 64, CacheMode::Exact));
    assert!(e.contains("row 7") && e.contains("close"), "{e}");
    let (rows, _) = history(20);
    assert!(
        go(
            &rows,
            &stamps[..19],
            &future,
            argmax_cfg(5, 64, CacheMode::Exact)
        )
        .contains("20 rows but 19")
    );
    assert!(
        go(
            &rows,
            &stamps,
            &future[..4],
            argmax_cfg(5, 64, CacheMode::Exact)
        )
        .contains("4 future timestamps")
    );
    let cold = ForecastConfig {
        sampling: Sampling {
            temperature: 0.0,
            top_k: 0,
            top_p: 1.0,
        },
        ..argmax_cfg(5, 64, CacheMode::Exact)
    };
    assert!(go(&rows, &stamps, &future, cold).contains("temperature"));
    assert!(go(&[], &[], &future, argmax_cfg(5, 64, CacheMode::Exact)).contains("empty"));
}

#[test]
fn kronos_small_shapes_round_trip_through_the_reference_layout() {
    let (tc, pc) = (
        TokenizerConfig::kronos_base(),
        PredictorConfig::kronos_small(),
    );
    let (tok, pred) = models(&tc, &pc, 42);
    assert_eq!(parameter_count(&pred), 24_741_376);
    assert_eq!(parameter_count(&tok), 3_958_042);
    let st = save_tokenizer(&tok);
    let sp = save_predictor(&pred);
    // docs/kronos.md §2.2: 136 predictor and 96 tokenizer tensors, buffers included.
    assert_eq!(safetensors::parse(&sp.safetensors).unwrap().len(), 136);
    assert_eq!(safetensors::parse(&st.safetensors).unwrap().len(), 96);
    let tok2 = load_tokenizer(st.config_json.as_bytes(), &st.safetensors, &device()).unwrap();
    let pred2 = load_predictor(sp.config_json.as_bytes(), &sp.safetensors, &device()).unwrap();
    check_pair(&tok2.config, &pred2.config).unwrap();
    let a = run(&tok, &pred, 24, &argmax_cfg(4, 512, CacheMode::Exact));
    let b = run(&tok2, &pred2, 24, &argmax_cfg(4, 512, CacheMode::Exact));
    assert_eq!(a.tokens, b.tokens);
    assert_eq!(a.mean, b.mean, "loaded weights are bit-identical");
}

fn tiny_saved() -> (kxian_shared::model::Saved, kxian_shared::model::Saved) {
    let (tc, pc) = tiny();
    let (tok, pred) = models(&tc, &pc, 5);
    (save_tokenizer(&tok), save_predictor(&pred))
}

fn rewrite(
    bytes: &[u8],
    edit: impl FnOnce(&mut std::collections::BTreeMap<String, Owned>),
) -> Vec<u8> {
    let parsed = safetensors::parse(bytes).unwrap();
    let mut owned: std::collections::BTreeMap<String, Owned> = parsed
        .iter()
        .map(|(k, v)| {
            let t = match v.to_f32() {
                Some(f) => Owned::F32(v.shape.clone(), f),
                None => Owned::I64(v.shape.clone(), v.to_i64().unwrap()),
            };
            (k.clone(), t)
        })
        .collect();
    edit(&mut owned);
    safetensors::serialize(&owned)
}

#[test]
fn checkpoint_errors_name_what_is_wrong() {
    let (st, sp) = tiny_saved();
    let cfg = sp.config_json.as_bytes();
    let load = |bytes: &[u8]| load_predictor(cfg, bytes, &device()).unwrap_err();

    let missing = rewrite(&sp.safetensors, |m| {
        m.remove("transformer.1.ffn.w3.weight");
    });
    let e = load(&missing);
    assert!(
        matches!(&e, CheckpointError::Missing { key, .. } if key == "transformer.1.ffn.w3.weight"),
        "{e}"
    );
    assert!(e.to_string().contains("[64, 32]"), "{e}");

    let extra = rewrite(&sp.safetensors, |m| {
        m.insert(
            "transformer.9.norm1.weight".into(),
            Owned::F32(vec![32], vec![1.0; 32]),
        );
    });
    assert!(
        load(&extra)
            .to_string()
            .contains("`transformer.9.norm1.weight`")
    );

    let misshaped = rewrite(&sp.safetensors, |m| {
        m.insert(
            "head.proj_s1.bias".into(),
            Owned::F32(vec![15], vec![0.0; 15]),
        );
    });
    let e = load(&misshaped);
    assert!(
        matches!(&e, CheckpointError::Shape { key, found, .. } if key == "head.proj_s1.bias" && found == &vec![15]),
        "{e}"
    );

    let nan = rewrite(&sp.safetensors, |m| {
        m.insert(
            "norm.weight".into(),
            Owned::F32(vec![32], vec![f32::NAN; 32]),
        );
    });
    assert!(matches!(load(&nan), CheckpointError::NonFinite { .. }));

    let bad_buffer = rewrite(&sp.safetensors, |m| {
        m.insert(
            "transformer.0.self_attn.rotary.inv_freq".into(),
            Owned::F32(vec![8], vec![0.5; 8]),
        );
    });
    assert!(matches!(load(&bad_buffer), CheckpointError::Buffer { .. }));

    // Buffers are optional: a file without them loads.
    let no_buffers = rewrite(&sp.safetensors, |m| {
        m.retain(|k, _| !k.contains("inv_freq"))
    });
    load_predictor(cfg, &no_buffers, &device()).unwrap();

    let truncated = &sp.safetensors[..sp.safetensors.len() / 2];
    assert!(load(truncated).to_string().contains("truncated"));
    assert!(matches!(
        load(b"not a checkpoint"),
        CheckpointError::File(_)
    ));

    // The wrong kind of directory.
    let e = load_tokenizer(cfg, &sp.safetensors, &device()).unwrap_err();
    assert!(e.to_string().contains("predictor's config"), "{e}");
    let e = load_predictor(st.config_json.as_bytes(), &st.safetensors, &device()).unwrap_err();
    assert!(e.to_string().contains("tokenizer's config"), "{e}");
    let e = load_predictor(b"{\"d_model\": 256", &sp.safetensors, &device()).unwrap_err();
    assert!(e.to_string().starts_with("config.json"), "{e}");

    // Pairs.
    let mini = PredictorConfig::kronos_mini();
    let e = check_pair(&TokenizerConfig::kronos_base(), &mini).unwrap_err();
    assert!(e.to_string().contains("Kronos-Tokenizer-2k"), "{e}");
    check_pair(&TokenizerConfig::kronos_2k(), &mini).unwrap();
    let (tc, _) = tiny();
    assert!(
        check_pair(&tc, &mini)
            .unwrap_err()
            .to_string()
            .contains("4+4-bit")
    );
}

#[test]
fn dropout_acts_in_training_only() {
    use burn::module::Module;
    use kxian_shared::model::predictor::PredictorInput;
    let (_, pc) = tiny();
    let pc = PredictorConfig {
        ffn_dropout_p: 0.5,
        resid_dropout_p: 0.5,
        token_dropout_p: 0.5,
        ..pc
    };
    let train_device = device().autodiff();
    train_device.seed(9);
    let pred = KronosPredictor::new(&pc, &train_device);
    let run = |m: &KronosPredictor, d: &Device| -> Vec<f32> {
        let input =
            PredictorInput::from_slices(1, &[1, 2, 3, 4], &[4, 3, 2, 1], &[[0, 10, 1, 2, 6]; 4], d);
        m.s1_logits(m.hidden(&input, 0, None))
            .into_data()
            .try_to_vec()
            .unwrap()
    };
    assert_ne!(
        run(&pred, &train_device),
        run(&pred, &train_device),
        "dropout draws differ between training steps"
    );
    let eval = pred.valid();
    let plain = device();
    assert_eq!(
        run(&eval, &plain),
        run(&eval, &plain),
        "no dropout at inference"
    );
}

/// A history's raw rows and calendar rows.
type History = (Vec<[f32; 6]>, Vec<[u32; 5]>);

/// One batch input per history, the `k`-th drawing from `seed + k`.
fn batch_inputs<'a>(
    histories: &'a [History],
    future: &'a [[u32; 5]],
    seed: u64,
) -> Vec<BatchInput<'a>> {
    histories
        .iter()
        .enumerate()
        .map(|(k, (rows, stamps))| BatchInput {
            rows,
            stamps,
            future_stamps: future,
            seed: seed + k as u64,
        })
        .collect()
}

/// Histories forecast as one batch draw the paths each draws alone with its seed: the batch
/// shares nothing across histories but the matrix products.
#[test]
fn a_batch_of_histories_forecasts_each_as_it_would_alone() {
    use kxian_shared::model::forecast::forecast_batch;
    let (tc, pc) = tiny();
    let (tok, pred) = models(&tc, &pc, 3);
    let cfg = ForecastConfig {
        horizon: 6,
        samples: 4,
        max_context: 64,
        ..ForecastConfig::default()
    };
    let future: Vec<[u32; 5]> = (0..cfg.horizon)
        .map(|i| [(i % 12 * 5) as u32, 14, 4, 28, 6])
        .collect();
    // Three different 40-bar histories: later stretches of one walk, scaled apart.
    let histories: Vec<History> = (0..3)
        .map(|k| {
            let (rows, stamps) = history(40 + 7 * k);
            let scale = 1.0 + k as f32 * 0.5;
            let rows: Vec<[f32; 6]> = rows[7 * k..]
                .iter()
                .map(|r| {
                    [
                        r[0] * scale,
                        r[1] * scale,
                        r[2] * scale,
                        r[3] * scale,
                        r[4],
                        r[5],
                    ]
                })
                .collect();
            (rows, stamps[7 * k..].to_vec())
        })
        .collect();
    let inputs = batch_inputs(&histories, &future, 100);
    let batch = forecast_batch(&tok, &pred, &inputs, &cfg, &device()).unwrap();
    assert_eq!(batch.len(), 3);
    for (k, input) in inputs.iter().enumerate() {
        let alone = forecast(
            &tok,
            &pred,
            &ForecastInput {
                rows: input.rows,
                stamps: input.stamps,
                future_stamps: &future,
                forced: None,
            },
            &ForecastConfig {
                seed: input.seed,
                ..cfg.clone()
            },
            &device(),
            &mut |_| true,
        )
        .unwrap();
        assert_eq!(batch[k].paths.len(), cfg.samples);
        assert_eq!(batch[k].last_close, input.rows[39][3]);
        for (p, path) in alone.paths.iter().enumerate() {
            let d = max_abs_diff(&batch[k].paths[p], path);
            assert!(d < 1e-3, "history {k}, path {p}: {d}");
        }
    }
    // The paths differ between histories (each has its own z-score and stream).
    assert_ne!(batch[0].paths, batch[1].paths);
}

/// The largest difference between two tensors of one shape, relative to 1 or the value.
#[cfg(feature = "fused")]
fn tensor_diff<const D: usize>(a: burn::tensor::Tensor<D>, b: burn::tensor::Tensor<D>) -> f32 {
    assert_eq!(a.dims(), b.dims());
    let (a, b) = (
        a.into_data().try_to_vec::<f32>().unwrap(),
        b.into_data().try_to_vec::<f32>().unwrap(),
    );
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs() / y.abs().max(1.0))
        .fold(0.0, f32::max)
}

/// The history passes fused for the CPU give what the burn ops give: the same token ids, the
/// same caches and last hidden rows up to rounding, and so the same sample paths.
#[cfg(feature = "fused")]
#[test]
fn the_fused_history_passes_match_the_burn_ops() {
    use burn::tensor::{Tensor, TensorData};
    use kxian_shared::features::{CLIP, ZScore};
    use kxian_shared::model::forecast::{forecast_batch, forecast_batch_fused};
    use kxian_shared::model::fused::FusedKronos;
    use kxian_shared::model::layers::KvCache;
    use kxian_shared::model::predictor::{PredictorCache, PredictorInput};
    let (tc, pc) = tiny();
    let (tok, pred) = models(&tc, &pc, 4);
    let fused = FusedKronos::new(&tok, &pred);
    let d = device();
    // 150 bars: several blocks of query rows in the causal attention, the last one partial;
    // five histories: a full group of four in the matrix products and a partial one.
    let (c, t) = (5, 150);
    let histories: Vec<_> = (0..c)
        .map(|k| {
            let (rows, stamps) = history(t + 9 * k);
            (rows[9 * k..].to_vec(), stamps[9 * k..].to_vec())
        })
        .collect();
    let flat: Vec<f32> = histories
        .iter()
        .flat_map(|(rows, _)| ZScore::fit(rows).apply(rows))
        .flatten()
        .map(|v| v.clamp(-CLIP, CLIP))
        .collect();

    // The encoder: the same ids wherever a bit is not within rounding of flipping.
    let encoded = tok.encode(Tensor::<3>::from_data(
        TensorData::new(flat.clone(), [c, t, 6]),
        &d,
    ));
    let ids = fused.encode(&flat, c, t);
    for i in 0..c * t {
        if encoded.min_abs_unit[i] > 1e-4 {
            assert_eq!(
                (ids.s1[i], ids.s2[i]),
                (encoded.ids.s1[i], encoded.ids.s2[i]),
                "bar {i}"
            );
        }
    }

    let as_tensor = |v: &[f32], shape: [usize; 4]| {
        Tensor::<4>::from_data(TensorData::new(v.to_vec(), shape), &d)
    };
    // A block's keys and values from the fused pass against the burn cache's.
    let keys_match = |burn: &KvCache, (k, v): (&[f32], &[f32]), what: &str| {
        let (bk, bv) = burn.keys().own.unwrap();
        // The fused keys lie feature-major, `[c, H, h, t]`.
        let [c, heads, t, h] = bk.dims();
        assert!(
            tensor_diff(as_tensor(k, [c, heads, h, t]), bk.swap_dims(2, 3)) < 1e-4,
            "{what} keys"
        );
        assert!(
            tensor_diff(as_tensor(v, bv.dims()), bv) < 1e-4,
            "{what} values"
        );
    };

    // The decoder's keys over the history rows.
    let mut burn_dec = vec![KvCache::with_capacity(t); tok.decoder.len()];
    let _ = tok.decode_cached(&ids, 0, &mut burn_dec, &d);
    let decoding = fused.decode_prefix(&ids, 1, 1);
    for (l, b) in burn_dec.iter().enumerate() {
        keys_match(b, decoding.shared_keys(l), "decoder");
    }

    // The predictor's prefill: every block's keys and values and the last hidden rows.
    let stamps: Vec<Vec<[u32; 5]>> = histories.iter().map(|(_, s)| s.clone()).collect();
    let input = PredictorInput::from_slices(c, &ids.s1, &ids.s2, &stamps.concat(), &d);
    let mut burn_cache = PredictorCache::new(pred.transformer.len(), t);
    let h = pred.hidden(&input, 0, Some(&mut burn_cache));
    let [_, _, dm] = h.dims();
    let burn_last = h.slice([0..c, t - 1..t, 0..dm]);
    let generation = fused.prefill(&ids, &stamps, 1, 1);
    assert!(
        tensor_diff(
            as_tensor(generation.h_last(), [1, c, 1, dm]),
            burn_last.unsqueeze()
        ) < 1e-4,
        "last hidden rows"
    );
    for (l, b) in burn_cache.blocks.iter().enumerate() {
        keys_match(b, generation.shared_keys(l), "predictor");
    }

    // And whole forecasts: the same paths from the same seeds.
    let cfg = ForecastConfig {
        horizon: 4,
        samples: 3,
        max_context: 160,
        ..ForecastConfig::default()
    };
    let future: Vec<[u32; 5]> = (0..cfg.horizon)
        .map(|i| [(i % 12 * 5) as u32, 14, 4, 28, 6])
        .collect();
    let inputs = batch_inputs(&histories, &future, 7);
    let plain = forecast_batch(&tok, &pred, &inputs, &cfg, &d).unwrap();
    let quick = forecast_batch_fused(Some(&fused), &tok, &pred, &inputs, &cfg, &d).unwrap();
    for (a, b) in quick.iter().zip(&plain) {
        for (p, q) in a.paths.iter().zip(&b.paths) {
            assert!(max_abs_diff(p, q) < 1e-3, "paths");
        }
    }
}

//! `cargo bench -p kxian-shared --bench forecast`: the Kronos-mini shape (random weights, so no
//! download) on a 400-bar context, per stage and end to end, on the CPU backend. The
//! side-by-side comparison with the reference is `scripts/bench/forecast-vs-reference.sh`.

use burn::tensor::{Device, Tensor, TensorData};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kxian_shared::features::ZScore;
use kxian_shared::model::forecast::{CacheMode, ForecastConfig, ForecastInput, forecast};
use kxian_shared::model::{
    KronosPredictor, KronosTokenizer, PredictorConfig, Sampling, TokenizerConfig,
};
use std::time::Duration;

const CONTEXT: usize = 400;

fn history() -> (Vec<[f32; 6]>, Vec<[u32; 5]>) {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f32 / (1u64 << 53) as f32 - 0.5
    };
    let mut p = 10.0f32;
    let mut rows = Vec::new();
    let mut stamps = Vec::new();
    for i in 0..CONTEXT {
        let open = p;
        p *= 1.0 + 0.004 * rnd();
        let v = 1000.0 * (1.0 + rnd());
        rows.push([
            open,
            open.max(p) * 1.001,
            open.min(p) * 0.999,
            p,
            v,
            v * p * 100.0,
        ]);
        let m = (i % 48) * 5;
        stamps.push([
            (m % 60) as u32,
            9 + (m / 60) as u32,
            (i / 48 % 5) as u32,
            1 + (i / 240 % 28) as u32,
            6,
        ]);
    }
    (rows, stamps)
}

fn bench(c: &mut Criterion) {
    let device = Device::flex();
    device.seed(42);
    let tok = KronosTokenizer::new(&TokenizerConfig::kronos_2k(), &device);
    let pred = KronosPredictor::new(&PredictorConfig::kronos_mini(), &device);
    let (rows, stamps) = history();
    let x: Vec<f32> = ZScore::fit(&rows)
        .apply(&rows)
        .into_iter()
        .flatten()
        .collect();

    let mut g = c.benchmark_group("kronos_mini");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Elements(CONTEXT as u64));
    g.bench_function("tokenize_400_bars", |b| {
        b.iter(|| {
            tok.encode(Tensor::<3>::from_data(
                TensorData::new(x.clone(), [1, CONTEXT, 6]),
                &device,
            ))
            .ids
        })
    });
    for (horizon, samples) in [(30, 1), (30, 16), (120, 1)] {
        let future: Vec<[u32; 5]> = (0..horizon)
            .map(|i| [(i * 5 % 60) as u32, 14, 4, 28, 6])
            .collect();
        let cfg = ForecastConfig {
            horizon,
            sampling: Sampling::ARGMAX,
            samples,
            seed: 0,
            max_context: 2048,
            cache: CacheMode::Exact,
            repair_ohlc: false,
        };
        let input = ForecastInput {
            rows: &rows,
            stamps: &stamps,
            future_stamps: &future,
            forced: None,
        };
        g.throughput(Throughput::Elements((horizon * samples) as u64));
        g.bench_function(format!("forecast_h{horizon}_s{samples}"), |b| {
            b.iter(|| {
                forecast(&tok, &pred, &input, &cfg, &device, &mut |_| true)
                    .unwrap()
                    .mean
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

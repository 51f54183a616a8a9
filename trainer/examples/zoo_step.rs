//! Where a zoo training step's time goes: forward + backward + AdamW on random inputs of the
//! bench's shapes (batch 64, 60 bars, 9 features, d_model 64, 2 layers), per backbone, on the
//! CPU. `scripts/bench/zoo-vs-pytorch.sh` times the whole step against PyTorch; this one
//! leaves out building the batch from bars.
//!
//!     cargo run --release -p kxian-trainer --example zoo_step

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use kxian_shared::zoo::config::LossKind;
use kxian_shared::zoo::config::{BackboneKind, FeatureSet};
use kxian_shared::zoo::loss::{ClassLoss, class_loss};
use kxian_shared::zoo::net::{MODEL_TYPE, NetConfig, ZooNet};
use kxian_shared::zoo::target::{Component, Thresholds};

fn main() {
    let device = Device::flex().autodiff();
    let backbones = std::env::args().skip(1).collect::<Vec<_>>();
    for (name, kind) in [
        ("lstm", BackboneKind::Lstm),
        ("gru", BackboneKind::Gru),
        ("transformer", BackboneKind::Transformer),
        ("cnn_lstm", BackboneKind::CnnLstm),
        ("tsmixer", BackboneKind::Tsmixer),
    ] {
        if !backbones.is_empty() && !backbones.iter().any(|b| b == name) {
            continue;
        }
        let c = NetConfig {
            model_type: MODEL_TYPE.into(),
            backbone: kind,
            d_in: 9,
            d_model: 64,
            layers: 2,
            heads: 4,
            qk_norm: false,
            kernel: 3,
            dropout: 0.0,
            trees: None,
            features: vec![FeatureSet::Bars],
            conditions: Vec::new(),
            min_context: 60,
            max_context: 60,
            market: None,
            parts: vec![Component::Updown3],
            thresholds: Thresholds {
                horizon: 3,
                up: 0.03,
                down: -0.02,
                strong_down: -0.05,
                threshold: 0.0,
            },
            class_freq: vec![1.0 / 3.0; 3],
            part_norm: Vec::new(),
            factor_norm: Vec::new(),
            cost: kxian_shared::zoo::metrics::default_cost(3),
            decision: kxian_shared::features::classify::Decision::Cost,
            trained_until: None,
            val_from: None,
            test_from: None,
        };
        let mut net = ZooNet::new(&c, &device);
        let mut optim = AdamWConfig::new().init();
        let plan = ClassLoss {
            kind: LossKind::Ce,
            weights: vec![1.0; 3],
            gamma: 2.0,
            cost: Vec::new(),
            ce_mix: 0.0,
        };
        let x = Tensor::<3>::random([64, 60, 9], Distribution::Normal(0.0, 1.0), &device);
        let y = Tensor::<1, Int>::from_data(
            TensorData::new((0..64).map(|k| k % 3).collect::<Vec<i64>>(), [64]),
            &device,
        );
        let mut times = Vec::new();
        for _ in 0..23 {
            let t0 = Instant::now();
            let loss = class_loss(net.forward(x.clone(), None), y.clone(), &plan);
            let _ = loss.clone().into_scalar::<f32>();
            let t1 = Instant::now();
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            let t2 = Instant::now();
            net = optim.step(1e-3, net, grads);
            let t3 = Instant::now();
            times.push([t1 - t0, t2 - t1, t3 - t2]);
        }
        let med = |k: usize| {
            let mut v: Vec<f64> = times[3..]
                .iter()
                .map(|t| t[k].as_secs_f64() * 1e3)
                .collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let total = med(0) + med(1) + med(2);
        println!(
            "{name:<12} forward {:6.1} ms  backward {:6.1} ms  AdamW {:5.1} ms  ({:.0} samples/s)",
            med(0),
            med(1),
            med(2),
            64.0 / total * 1e3
        );
        let _ = net.valid();
    }
}

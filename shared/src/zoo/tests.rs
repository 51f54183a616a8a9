use burn::module::Param;
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};

use super::config::{BackboneKind, Condition, FeatureSet};
use super::io;
use super::net::{MODEL_TYPE, NetConfig, ZooNet, read_outputs};
use super::target::{Component, Thresholds};

/// A model whose head is random too (it starts at zero), so outputs differ by sample.
fn net(c: &NetConfig, device: &Device) -> ZooNet {
    let mut n = ZooNet::new(c, device);
    n.head.weight = Param::from_tensor(Tensor::random(
        [c.d_model, c.out_dim()],
        Distribution::Normal(0.0, 0.5),
        device,
    ));
    n
}

const ALL: [BackboneKind; 5] = [
    BackboneKind::Transformer,
    BackboneKind::Lstm,
    BackboneKind::Gru,
    BackboneKind::CnnLstm,
    BackboneKind::Tsmixer,
];

fn config(backbone: BackboneKind, parts: Vec<Component>) -> NetConfig {
    NetConfig {
        model_type: MODEL_TYPE.into(),
        backbone,
        d_in: 9,
        d_model: 16,
        layers: 2,
        heads: 2,
        qk_norm: true,
        kernel: 3,
        dropout: 0.0,
        trees: None,
        features: vec![FeatureSet::Bars],
        conditions: Vec::new(),
        min_context: 12,
        max_context: 12,
        market: None,
        part_norm: parts
            .iter()
            .filter(|p| p.classes().is_none())
            .map(|_| [0.01, 0.02])
            .collect(),
        parts,
        thresholds: Thresholds {
            horizon: 3,
            up: 0.03,
            down: -0.02,
            strong_down: -0.05,
            threshold: 0.0,
        },
        class_freq: vec![0.3, 0.3, 0.4],
        factor_norm: Vec::new(),
        cost: super::metrics::default_cost(3),
        decision: crate::features::classify::Decision::Cost,
        trained_until: None,
        val_from: None,
        test_from: None,
    }
}

#[test]
fn every_backbone_gives_one_row_of_outputs_per_sample() {
    let device = Device::flex();
    let parts = vec![Component::Updown4, Component::Return, Component::Drawdown];
    for b in ALL {
        let c = config(b, parts.clone());
        assert_eq!(c.out_dim(), 6);
        let net = net(&c, &device);
        let x = Tensor::<3>::random([5, 12, 9], Distribution::Normal(0.0, 1.0), &device);
        let out = net.forward(x, None);
        assert_eq!(out.dims(), [5, 6], "{b:?}");
        let rows = read_outputs(&c, out);
        assert_eq!(rows.len(), 5);
        for r in rows {
            assert_eq!(r.len(), 6);
            assert!(
                (r[..4].iter().sum::<f64>() - 1.0).abs() < 1e-5,
                "{b:?}: {r:?}"
            );
            assert!(r.iter().all(|v| v.is_finite()));
        }
        // An untrained model's head gives equal odds and the training mean.
        let fresh = ZooNet::new(&c, &device);
        let x = Tensor::<3>::random([1, 12, 9], Distribution::Normal(0.0, 1.0), &device);
        let r = &read_outputs(&c, fresh.forward(x, None))[0];
        assert!(r[..4].iter().all(|p| (p - 0.25).abs() < 1e-6), "{r:?}");
        assert!((r[4] - 0.01).abs() < 1e-9 && (r[5] - 0.01).abs() < 1e-9);
    }
}

#[test]
fn the_same_context_gives_the_same_outputs_and_shorter_contexts_work() {
    let device = Device::flex();
    for b in ALL {
        let mut c = config(b, vec![Component::Updown3]);
        if b != BackboneKind::Tsmixer {
            c.min_context = 8;
        }
        let net = net(&c, &device);
        let x = Tensor::<3>::random([2, 12, 9], Distribution::Normal(0.0, 1.0), &device);
        let a: Vec<f32> = net
            .forward(x.clone(), None)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        // A model reads only its context: the same context gives the same outputs.
        let again: Vec<f32> = net
            .forward(x, None)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert_eq!(a, again, "{b:?}");
        if b != BackboneKind::Tsmixer {
            let short = Tensor::<3>::random([2, 8, 9], Distribution::Normal(0.0, 1.0), &device);
            assert_eq!(net.forward(short, None).dims(), [2, 3]);
        }
    }
}

#[test]
fn saved_models_load_with_the_same_outputs_and_wrong_weights_are_named() {
    let device = Device::flex();
    for b in ALL {
        let c = config(b, vec![Component::Updown3, Component::Volatility]);
        let net = net(&c, &device);
        let saved = io::save(&net);
        let back = io::load(saved.config_json.as_bytes(), &saved.safetensors, &device).unwrap();
        let x = Tensor::<3>::random([3, 12, 9], Distribution::Normal(0.0, 1.0), &device);
        let a: Vec<f32> = net
            .forward(x.clone(), None)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let z: Vec<f32> = back
            .forward(x, None)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert_eq!(a, z, "{b:?}");
    }
    // Weights of an LSTM under a GRU's config: the first missing tensor is named.
    let lstm = io::save(&ZooNet::new(
        &config(BackboneKind::Lstm, vec![Component::Binary]),
        &device,
    ));
    let gru = config(BackboneKind::Gru, vec![Component::Binary]);
    let e = io::load(
        serde_json::to_string(&gru).unwrap().as_bytes(),
        &lstm.safetensors,
        &device,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("backbone.Gru.0"), "{e}");
}

#[test]
fn conditions_are_embedded_fused_and_saved() {
    let device = Device::flex();
    let mut c = config(BackboneKind::Gru, vec![Component::Updown3]);
    c.conditions = vec![Condition::Industry, Condition::Style, Condition::Regime];
    let net = net(&c, &device);
    assert_eq!(net.embeddings.len(), 3);
    let x = Tensor::<3>::random([2, 12, 9], Distribution::Normal(0.0, 1.0), &device);
    let ids = |v: Vec<i64>| Tensor::<2, Int>::from_data(TensorData::new(v, [2, 3]), &device);
    let a: Vec<f32> = net
        .forward(x.clone(), Some(ids(vec![1, 3, 2, 1, 3, 2])))
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    // The same bars in another industry give other outputs.
    let b: Vec<f32> = net
        .forward(x.clone(), Some(ids(vec![5, 3, 2, 1, 3, 2])))
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    assert_ne!(a[..3], b[..3]);
    assert_eq!(a[3..], b[3..]);
    let saved = io::save(&net);
    let back = io::load(saved.config_json.as_bytes(), &saved.safetensors, &device).unwrap();
    let z: Vec<f32> = back
        .forward(x, Some(ids(vec![1, 3, 2, 1, 3, 2])))
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    assert_eq!(a, z);
}

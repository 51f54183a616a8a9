//! The zoo's losses: cross-entropy, focal and the expected cost under a cost matrix for the
//! classification part; L1, Huber and MSE for the numeric parts (on standardised values);
//! and a multitask target's weighted sum.

use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Int, Tensor, TensorData};

use super::config::LossKind;

/// The classification part's loss settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassLoss {
    pub kind: LossKind,
    /// Per-class weights (1 each for none).
    pub weights: Vec<f32>,
    pub gamma: f64,
    /// `cost[true][called]`.
    pub cost: Vec<Vec<f32>>,
    /// Cross-entropy added to the cost loss with this weight.
    pub ce_mix: f64,
}

/// The mean loss of `logits: [B, n]` against `y: [B]`, weighted per class.
pub fn class_loss(logits: Tensor<2>, y: Tensor<1, Int>, l: &ClassLoss) -> Tensor<1> {
    let [b, n] = logits.dims();
    let device = logits.device();
    let idx = y.reshape([b, 1]);
    let w = Tensor::<1>::from_data(TensorData::new(l.weights.clone(), [n]), &device)
        .reshape([1, n])
        .repeat_dim(0, b)
        .gather(1, idx.clone())
        .reshape([b]);
    let logp = log_softmax(logits.clone(), 1);
    let logp_y = logp.gather(1, idx.clone()).reshape([b]);
    let ce = || logp_y.clone().neg();
    let per = match l.kind {
        LossKind::Focal => {
            let one_minus = logp_y.clone().exp().neg().add_scalar(1.0).clamp_min(0.0);
            one_minus.powf_scalar(l.gamma).mul(logp_y.clone()).neg()
        }
        LossKind::Cost => {
            let flat: Vec<f32> = l.cost.iter().flatten().copied().collect();
            let rows = Tensor::<2>::from_data(TensorData::new(flat, [n, n]), &device)
                .select(0, idx.reshape([b]));
            let expected = (softmax(logits, 1) * rows).sum_dim(1).reshape([b]);
            if l.ce_mix > 0.0 {
                expected + ce().mul_scalar(l.ce_mix)
            } else {
                expected
            }
        }
        _ => ce(),
    };
    (per * w.clone()).sum().div(w.sum())
}

/// The mean loss of `pred` against `y` (both `[B]`, standardised).
pub fn real_loss(pred: Tensor<1>, y: Tensor<1>, kind: LossKind, delta: f64) -> Tensor<1> {
    let d = pred - y;
    match kind {
        LossKind::Mse => d.powf_scalar(2.0).mean(),
        LossKind::Huber => {
            let a = d.abs();
            let q = a.clone().clamp_max(delta);
            (q.clone().powf_scalar(2.0).mul_scalar(0.5) + (a - q).mul_scalar(delta)).mean()
        }
        _ => d.abs().mean(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    fn plan(kind: LossKind) -> ClassLoss {
        ClassLoss {
            kind,
            weights: vec![1.0; 3],
            gamma: 2.0,
            cost: vec![
                vec![0.0, 2.0, 1.0],
                vec![4.0, 0.0, 1.0],
                vec![1.0, 1.0, 0.0],
            ],
            ce_mix: 0.0,
        }
    }

    #[test]
    fn cost_loss_is_the_expected_cost_and_its_gradient_is_finite() {
        let device = Device::flex().autodiff();
        // Sample 0: logits (ln 6, ln 3, ln 1) → p = (0.6, 0.3, 0.1), truly down:
        //   expected cost = 0.6·4 + 0.3·0 + 0.1·1 = 2.5.
        // Sample 1: logits (0, 0, 0) → p = ⅓ each, truly flat: (1 + 1 + 0)/3 = ⅔.
        let logits = Tensor::<2>::from_data(
            TensorData::new(vec![6f32.ln(), 3f32.ln(), 0.0, 0.0, 0.0, 0.0], [2, 3]),
            &device,
        )
        .require_grad();
        let y = Tensor::<1, Int>::from_data(TensorData::new(vec![1i64, 2], [2]), &device);
        let loss = class_loss(logits.clone(), y, &plan(LossKind::Cost));
        let v = loss.clone().into_scalar::<f32>();
        assert!((v - (2.5 + 2.0 / 3.0) / 2.0).abs() < 1e-5, "{v}");
        let grads = loss.backward();
        let g: Vec<f32> = logits
            .grad(&grads)
            .unwrap()
            .into_data()
            .try_to_vec()
            .unwrap();
        assert!(
            g.iter().all(|x| x.is_finite()) && g.iter().any(|x| *x != 0.0),
            "{g:?}"
        );
        // Raising P(up) for the true-down sample must raise the loss: its gradient is positive.
        assert!(g[0] > 0.0, "{g:?}");
    }

    #[test]
    fn focal_and_weights_match_cross_entropy_by_hand() {
        let device = Device::flex();
        let logits = Tensor::<2>::from_data(
            TensorData::new(vec![3.0f32, 0.0, 0.0, 0.0, 0.5, 0.0], [2, 3]),
            &device,
        );
        let y = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 1], [2]), &device);
        let a = ((3f32).exp() + 2.0).ln() - 3.0;
        let b = (2.0 + 0.5f32.exp()).ln() - 0.5;
        let ce = class_loss(logits.clone(), y.clone(), &plan(LossKind::Ce)).into_scalar::<f32>();
        assert!((ce - (a + b) / 2.0).abs() < 1e-5);
        let mut f = plan(LossKind::Focal);
        f.gamma = 0.0;
        let f0 = class_loss(logits.clone(), y.clone(), &f).into_scalar::<f32>();
        assert!((f0 - ce).abs() < 1e-6);
        let mut w = plan(LossKind::Ce);
        w.weights = vec![1.0, 3.0, 1.0];
        let wv = class_loss(logits, y, &w).into_scalar::<f32>();
        assert!((wv - (a + 3.0 * b) / 4.0).abs() < 1e-5);
    }

    #[test]
    fn numeric_losses_by_hand() {
        let device = Device::flex();
        let t = |v: Vec<f32>| Tensor::<1>::from_data(TensorData::new(v, [3]), &device);
        let (p, y) = (t(vec![0.0, 2.0, -0.5]), t(vec![0.5, 0.0, -0.5]));
        let l1 = real_loss(p.clone(), y.clone(), LossKind::L1, 1.0).into_scalar::<f32>();
        let mse = real_loss(p.clone(), y.clone(), LossKind::Mse, 1.0).into_scalar::<f32>();
        let hub = real_loss(p, y, LossKind::Huber, 1.0).into_scalar::<f32>();
        assert!((l1 - 2.5 / 3.0).abs() < 1e-6);
        assert!((mse - 4.25 / 3.0).abs() < 1e-6);
        // Huber δ = 1: 0.5·0.25 for the small miss, 1·(2 − 0.5) for the large one.
        assert!((hub - (0.125 + 1.5) / 3.0).abs() < 1e-6);
    }
}

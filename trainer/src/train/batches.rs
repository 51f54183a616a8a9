//! A run's windows, in batches, and the two stages' losses over them.

use super::*;

/// Training and validation windows of every input, loaded once per run.
pub fn load_windows(args: &TrainArgs) -> anyhow::Result<(Vec<Window>, Vec<Window>)> {
    let (mut train, mut val) = (Vec::new(), Vec::new());
    let mut all: Vec<Vec<kxian_shared::Bar>> = Vec::new();
    for path in &args.input {
        all.push(
            input::load(path, &import_options(args.skip_invalid), None)?
                .series
                .bars,
        );
    }
    if let Some(db) = &args.store.store {
        for (symbol, bars) in crate::store::load(&args.store, db)? {
            eprintln!("store: {symbol}, {} bars", bars.len());
            all.push(bars);
        }
    }
    for bars in &all {
        let w = |part| {
            split_windows(
                bars,
                part,
                args.val_fraction,
                args.test_fraction,
                args.lookback,
                args.horizon,
                args.stride,
            )
        };
        train.extend(w(Split::Train));
        val.extend(w(Split::Validation));
    }
    crate::ensure_input!(
        !train.is_empty() && !val.is_empty(),
        "the inputs give {} training and {} validation windows of {} bars; use longer series, a shorter --lookback/--horizon or a larger --val-fraction",
        train.len(),
        val.len(),
        args.lookback + args.horizon + 1
    );
    Ok((train, val))
}

pub(super) fn batch_x(ws: &[&Window], device: &Device) -> Tensor<3> {
    let len = ws[0].rows.len();
    let flat: Vec<f32> = ws
        .iter()
        .flat_map(|w| w.rows.iter().flatten().copied())
        .collect();
    Tensor::from_data(TensorData::new(flat, [ws.len(), len, 6]), device)
}

/// Training batches of an epoch: a seeded shuffle, so a resumed or repeated run sees the
/// same order, and no window twice in an epoch.
pub(super) fn epoch_order(n: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut rng = Rng::new(seed ^ (epoch as u64).wrapping_mul(0x9e37_79b9));
    let mut idx: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        idx.swap(i, j);
    }
    idx
}

/// The windows of a batch, borrowed: nothing is copied per step.
pub(super) fn batch_of<'a>(set: &'a [Window], idx: &[usize]) -> Vec<&'a Window> {
    idx.iter().map(|&i| &set[i]).collect()
}

pub(super) fn tokenizer_loss(
    model: &KronosTokenizer,
    ws: &[&Window],
    device: &Device,
) -> Tensor<1> {
    model.forward_train(batch_x(ws, device)).loss
}

pub(super) fn tokenizer_val(model: &KronosTokenizer, ws: &[&Window], device: &Device) -> Tensor<1> {
    model.forward_train(batch_x(ws, device)).recon_mse
}

/// Tokens of every window, from the frozen tokenizer.
pub(super) fn tokenize_all(
    tok: &KronosTokenizer,
    ws: &[Window],
    device: &Device,
    batch: usize,
) -> Vec<(Vec<u32>, Vec<u32>)> {
    let mut out = Vec::with_capacity(ws.len());
    for chunk in ws.chunks(batch) {
        let refs: Vec<&Window> = chunk.iter().collect();
        let ids = tok.encode(batch_x(&refs, device)).ids;
        for b in 0..ids.batch {
            let (s1, s2) = ids.row(b);
            out.push((s1.to_vec(), s2.to_vec()));
        }
    }
    out
}

pub(super) fn predictor_loss(
    model: &KronosPredictor,
    ws: &[&Window],
    tokens: &[&(Vec<u32>, Vec<u32>)],
    teacher_forcing: bool,
    device: &Device,
) -> Tensor<1> {
    let b = ws.len();
    let l = ws[0].rows.len() - 1;
    let mut s1 = Vec::with_capacity(b * l);
    let mut s2 = Vec::with_capacity(b * l);
    let mut st = Vec::with_capacity(b * l);
    let mut t1 = Vec::with_capacity(b * l);
    let mut t2 = Vec::with_capacity(b * l);
    for (w, (a, c)) in ws.iter().zip(tokens) {
        s1.extend_from_slice(&a[..l]);
        s2.extend_from_slice(&c[..l]);
        st.extend_from_slice(&w.stamps[..l]);
        t1.extend(a[1..].iter().map(|&x| i64::from(x)));
        t2.extend(c[1..].iter().map(|&x| i64::from(x)));
    }
    let input = PredictorInput::from_slices(b, &s1, &s2, &st, device);
    let target = |v: Vec<i64>| Tensor::<2, Int>::from_data(TensorData::new(v, [b, l]), device);
    let (t1, t2) = (target(t1), target(t2));
    let siblings = if teacher_forcing {
        t1.clone()
    } else {
        // Upstream conditions s2 on an s1 drawn from the model's own (detached) s1 logits.
        let h = model.hidden(&input, 0, None);
        let probs = burn::tensor::activation::softmax(model.s1_logits(h).detach(), 2);
        probs.categorical(1).reshape([b, l])
    };
    let (l1, l2) = model.forward_train(&input, siblings);
    (cross_entropy(l1, t1) + cross_entropy(l2, t2)).div_scalar(2.0)
}

pub(super) fn mean_loss(losses: &[f32]) -> f32 {
    losses.iter().sum::<f32>() / losses.len().max(1) as f32
}

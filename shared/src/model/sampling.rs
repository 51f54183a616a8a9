//! Sampling a token from a logits row with the reference's semantics (docs/kronos.md §7.4), and the
//! seeded generator behind it. The generator is our own (xoshiro256**) so that a seed gives
//! the same paths natively and in the browser.

use serde::{Deserialize, Serialize};

/// Temperature, top-k and top-p as the reference reads them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    /// Logits are divided by this; must be > 0.
    pub temperature: f32,
    /// Keep the k largest logits (ties at the k-th survive); 0 = off. When > 0, top-p is
    /// ignored, as in the reference. `top_k = 1` is the deterministic arg-max.
    pub top_k: usize,
    /// Keep the smallest set of tokens whose probability reaches `top_p`; 1 = off.
    pub top_p: f32,
}

impl Default for Sampling {
    /// The reference's `predict` defaults.
    fn default() -> Self {
        Self {
            temperature: 1.0,
            top_k: 0,
            top_p: 0.9,
        }
    }
}

impl Sampling {
    pub const ARGMAX: Sampling = Sampling {
        temperature: 1.0,
        top_k: 1,
        top_p: 1.0,
    };

    pub fn validate(&self) -> Result<(), String> {
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return Err(format!(
                "temperature must be > 0 (got {})",
                self.temperature
            ));
        }
        if !(self.top_p.is_finite() && self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(format!("top-p must be in (0, 1] (got {})", self.top_p));
        }
        Ok(())
    }

    /// Draws one token from `logits` (modified in place as scratch).
    pub fn sample(&self, logits: &mut [f32], rng: &mut Rng) -> usize {
        if self.top_k == 1 {
            // Arg-max; the first of equal maxima, as a draw from a one-hot would be for a
            // unique maximum. No random number is consumed.
            return argmax(logits);
        }
        let inv_t = 1.0 / self.temperature;
        logits.iter_mut().for_each(|l| *l *= inv_t);
        if self.top_k > 0 {
            if self.top_k < logits.len() {
                let mut sorted: Vec<f32> = logits.to_vec();
                sorted.sort_unstable_by(|a, b| b.total_cmp(a));
                let kth = sorted[self.top_k - 1];
                logits
                    .iter_mut()
                    .filter(|l| **l < kth)
                    .for_each(|l| *l = f32::NEG_INFINITY);
            }
        } else if self.top_p < 1.0 {
            let keys = largest_first(logits);
            // One exp per logit serves both softmaxes (over the sorted logits, then over the
            // kept ones), with every sum in the order it always had: the same probabilities
            // to the last bit as two separate softmaxes.
            let max = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let mut e: Vec<f32> = logits.iter().map(|&x| (x - max).exp()).collect();
            let total: f32 = keys.iter().map(|&k| e[key_index(k)]).sum();
            // Remove entries once the cumulative probability *before* them exceeds top_p:
            // the first one to cross the threshold is kept, and so is the top one.
            let mut cum = 0f32;
            for (rank, &k) in keys.iter().enumerate() {
                let i = key_index(k);
                let before = cum;
                cum += e[i] / total;
                if rank > 0 && before > self.top_p {
                    e[i] = 0.0;
                }
            }
            let sum: f32 = e.iter().sum();
            e.iter_mut().for_each(|x| *x /= sum);
            return rng.categorical(&e);
        }
        let probs = softmax(logits);
        rng.categorical(&probs)
    }
}

/// The logits' indices packed under their values, largest first, ties in index order (as a
/// stable sort of the indices by `total_cmp` gives them): sorted as plain integers, with no
/// indirect compares. [`key_index`] reads an index back.
fn largest_first(logits: &[f32]) -> Vec<u64> {
    let mut keys: Vec<u64> = logits
        .iter()
        .enumerate()
        .map(|(i, &l)| (u64::from(!total_order(l)) << 32) | i as u64)
        .collect();
    keys.sort_unstable();
    keys
}

fn key_index(key: u64) -> usize {
    (key & 0xffff_ffff) as usize
}

/// `x`'s bits as an unsigned key in `f32::total_cmp`'s order.
fn total_order(x: f32) -> u32 {
    let b = x.to_bits();
    if b >> 31 == 1 { !b } else { b | 0x8000_0000 }
}

pub fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// Difference between the largest and second-largest value (how near a tie the arg-max is).
pub fn top2_margin(v: &[f32]) -> f32 {
    let (mut a, mut b) = (f32::NEG_INFINITY, f32::NEG_INFINITY);
    for &x in v {
        if x > a {
            b = a;
            a = x;
        } else if x > b {
            b = x;
        }
    }
    a - b
}

fn softmax(v: &[f32]) -> Vec<f32> {
    let max = v.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = v.iter().map(|&x| (x - max).exp()).collect();
    let sum: f32 = e.iter().sum();
    e.into_iter().map(|x| x / sum).collect()
}

/// xoshiro256** seeded through splitmix64.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Self {
            s: [next(), next(), next(), next()],
        }
    }

    /// The generator of sample path `path` under `seed`: each path has its own stream, so a
    /// path does not change when more paths are asked for.
    pub fn for_path(seed: u64, path: usize) -> Self {
        Self::new(
            seed ^ (path as u64)
                .wrapping_mul(0xd1b5_4a32_d192_ed03)
                .rotate_left(17),
        )
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Index drawn with the given probabilities (which sum to about 1).
    pub fn categorical(&mut self, probs: &[f32]) -> usize {
        let total: f64 = probs.iter().map(|&p| f64::from(p)).sum();
        let mut u = self.next_f64() * total;
        let mut last = 0;
        for (i, &p) in probs.iter().enumerate() {
            if p > 0.0 {
                last = i;
                u -= f64::from(p);
                if u < 0.0 {
                    return i;
                }
            }
        }
        last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The packed keys order values as `total_cmp` does, largest first, ties by index.
    #[test]
    fn packed_keys_sort_like_a_stable_sort_by_total_cmp() {
        let v = [
            0.5f32,
            -0.0,
            0.0,
            f32::NEG_INFINITY,
            2.0,
            -3.5,
            0.5,
            f32::INFINITY,
            -0.0,
            1e-30,
            -1e-30,
            2.0,
        ];
        let mut stable: Vec<usize> = (0..v.len()).collect();
        stable.sort_by(|&a, &b| v[b].total_cmp(&v[a]));
        let packed: Vec<usize> = largest_first(&v).into_iter().map(key_index).collect();
        assert_eq!(packed, stable);
    }

    /// Top-p as two plain softmaxes (over the logits sorted by a stable sort, then over
    /// the kept ones), the way it is written in the reference implementation.
    fn top_p_probabilities(logits: &[f32], top_p: f32) -> Vec<f32> {
        let mut l = logits.to_vec();
        let mut order: Vec<usize> = (0..l.len()).collect();
        order.sort_by(|&a, &b| l[b].total_cmp(&l[a]));
        let probs = softmax(&order.iter().map(|&i| l[i]).collect::<Vec<_>>());
        let mut cum = 0f32;
        for (rank, &i) in order.iter().enumerate() {
            let before = cum;
            cum += probs[rank];
            if rank > 0 && before > top_p {
                l[i] = f32::NEG_INFINITY;
            }
        }
        softmax(&l)
    }

    #[test]
    fn top_p_draws_what_two_plain_softmaxes_give() {
        let mut draws = Rng::new(11);
        for case in 0..200 {
            // Flat and peaked rows, with ties.
            let spread = [0.1, 1.0, 8.0][case % 3];
            let logits: Vec<f32> = (0..1024)
                .map(|_| ((draws.next_f64() * 2.0 - 1.0) * spread * 16.0).round() as f32 / 16.0)
                .collect();
            let sampling = Sampling {
                top_p: 0.9,
                ..Sampling::default()
            };
            let expected = top_p_probabilities(&logits, 0.9);
            let (mut a, mut b) = (Rng::new(case as u64), Rng::new(case as u64));
            let drawn = sampling.sample(&mut logits.clone(), &mut a);
            assert_eq!(drawn, b.categorical(&expected), "case {case}");
        }
    }

    #[test]
    fn argmax_ignores_the_generator() {
        let mut rng = Rng::new(1);
        let mut l = vec![0.1, 2.0, -1.0, 1.99];
        assert_eq!(Sampling::ARGMAX.sample(&mut l, &mut rng), 1);
        assert!((top2_margin(&[0.1, 2.0, -1.0, 1.99]) - 0.01).abs() < 1e-6);
    }

    #[test]
    fn top_k_keeps_only_the_k_largest() {
        let s = Sampling {
            temperature: 1.0,
            top_k: 2,
            top_p: 0.5, // ignored when top_k > 0, as upstream
        };
        let mut rng = Rng::new(7);
        for _ in 0..200 {
            let mut l = vec![3.0, 2.9, 0.0, 2.8, -5.0];
            let t = s.sample(&mut l, &mut rng);
            assert!(t == 0 || t == 1, "{t}");
        }
    }

    #[test]
    fn top_p_keeps_the_token_that_crosses_the_threshold() {
        // probs ∝ e^2, e^1, e^0, e^-9: ≈ 0.665, 0.245, 0.090, 0.00008
        let s = Sampling {
            temperature: 1.0,
            top_k: 0,
            top_p: 0.7,
        };
        let mut rng = Rng::new(3);
        let mut seen = [0usize; 4];
        for _ in 0..2000 {
            let mut l = vec![2.0, 1.0, 0.0, -9.0];
            seen[s.sample(&mut l, &mut rng)] += 1;
        }
        // 0.665 < 0.7, so the second token (crossing the threshold) stays; the rest go.
        assert!(seen[0] > 0 && seen[1] > 0, "{seen:?}");
        assert_eq!(seen[2] + seen[3], 0, "{seen:?}");
        // Renormalised: 0.665 / 0.91 ≈ 0.73 for the first.
        let share = seen[0] as f64 / 2000.0;
        assert!((share - 0.731).abs() < 0.04, "{share}");
    }

    #[test]
    fn temperature_sharpens() {
        let cold = Sampling {
            temperature: 0.1,
            top_k: 0,
            top_p: 1.0,
        };
        let mut rng = Rng::new(11);
        let hits = (0..500)
            .filter(|_| cold.sample(&mut [1.0, 0.5, 0.0], &mut rng) == 0)
            .count();
        assert!(hits > 490, "{hits}");
    }

    #[test]
    fn generator_is_reproducible_and_paths_differ() {
        let a: Vec<u64> = (0..4).map(|_| Rng::new(42).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(
            Rng::for_path(42, 0).next_u64(),
            Rng::for_path(42, 1).next_u64()
        );
        let mut r = Rng::new(5);
        let mean = (0..10_000).map(|_| r.next_f64()).sum::<f64>() / 10_000.0;
        assert!((mean - 0.5).abs() < 0.02);
    }
}

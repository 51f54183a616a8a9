//! The operators: their arguments, and their arithmetic on one series or one date.
//!
//! | kind | operators |
//! | --- | --- |
//! | time series, per symbol over its own bars (`n` a whole number) | `ref(x, n)` `delta(x, n)` `mean` `std` `sum` `min` `max` `ema` `wma` `ts_rank` `slope` `rsquare` `resi` (all `(x, n)`), `corr(x, y, n)` `cov(x, y, n)` |
//! | calendar, per symbol | `ref_week(x)` `ref_month(x)`: x at the symbol's last bar of the previous week (ISO) or calendar month |
//! | cross-section, per date over the symbols with a value | `rank(x)` (percentile in (0, 1]) `zscore(x)` `demean(x)` `quantile(x, q)`, `industry_neutral(x)` (x less its sector's mean that day; needs reference data) |
//! | element-wise | `abs(x)` `sign(x)` `log(x)` `pow(x, y)` `clip(x, lo, hi)` `if(c, a, b)` |
//!
//! A window holds the last `n` bars up to and including the current one and needs all `n`
//! to have a value; before that the result is NaN (warm-up).

/// What an argument must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// Any expression.
    Value,
    /// A whole-number literal ≥ 1.
    Window,
    /// A number literal.
    Constant,
}

/// Every operator's name, for suggestions.
pub const NAMES: &[&str] = &[
    "ref",
    "delta",
    "mean",
    "std",
    "sum",
    "min",
    "max",
    "ema",
    "wma",
    "ts_rank",
    "slope",
    "rsquare",
    "resi",
    "corr",
    "cov",
    "rank",
    "zscore",
    "demean",
    "industry_neutral",
    "quantile",
    "abs",
    "sign",
    "log",
    "pow",
    "clip",
    "if",
    "ref_week",
    "ref_month",
];

/// The arguments `name` takes, or `None` for no such operator.
pub fn signature(name: &str) -> Option<&'static [Arg]> {
    use Arg::*;
    Some(match name {
        "ref" | "delta" | "mean" | "std" | "sum" | "min" | "max" | "ema" | "wma" | "ts_rank"
        | "slope" | "rsquare" | "resi" => &[Value, Window],
        "corr" | "cov" => &[Value, Value, Window],
        "rank" | "zscore" | "demean" | "industry_neutral" | "abs" | "sign" | "log" | "ref_week"
        | "ref_month" => &[Value],
        "quantile" => &[Value, Constant],
        "pow" => &[Value, Value],
        "clip" => &[Value, Constant, Constant],
        "if" => &[Value, Value, Value],
        _ => return None,
    })
}

/// Runs `f` compiled for the widest vector instructions this CPU has (AVX2 or AVX-512 on
/// x86-64, found at run time; the portable build assumes SSE2 only), so the loops inlined
/// into it use them. Mark the closure `#[inline(always)]`.
#[inline(always)]
pub(super) fn wide<R>(f: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(f)
}

/// A window operator over one symbol's series (its bars in order).
pub fn rolling(name: &str, s: &[f64], n: usize) -> Vec<f64> {
    wide(
        #[inline(always)]
        || rolling_on(name, s, n),
    )
}

#[inline(always)]
fn rolling_on(name: &str, s: &[f64], n: usize) -> Vec<f64> {
    let mut out = vec![f64::NAN; s.len()];
    match name {
        "ref" => {
            if n < s.len() {
                out[n..].copy_from_slice(&s[..s.len() - n]);
            }
            return out;
        }
        "delta" => {
            if n < s.len() {
                for ((o, x), y) in out[n..].iter_mut().zip(&s[n..]).zip(s) {
                    *o = x - y;
                }
            }
            return out;
        }
        "ema" => {
            let alpha = 2.0 / (n as f64 + 1.0);
            let mut state = f64::NAN;
            for (i, &x) in s.iter().enumerate() {
                if x.is_finite() {
                    state = if state.is_finite() {
                        alpha * x + (1.0 - alpha) * state
                    } else {
                        x
                    };
                    out[i] = state;
                }
            }
            return out;
        }
        "std" if n >= 2 => return rolling_std(s, n),
        _ => {}
    }
    let stat = window_fn(name);
    for i in (n - 1)..s.len() {
        let w = &s[i + 1 - n..=i];
        if w.iter().any(|x| !x.is_finite()) {
            continue;
        }
        out[i] = stat(w);
    }
    out
}

/// Whether [`rolling_at`] on `at` dates beats [`rolling`] over all `len`: a lag always does
/// (one read a date); a window statistic while the windows cover fewer cells than the series
/// (the sliding forms cost a few operations a cell); `ema` never (it folds every bar).
pub fn sparse_is_cheaper(name: &str, at: usize, n: usize, len: usize) -> bool {
    match name {
        "ref" | "delta" => true,
        "ema" => false,
        _ => at.saturating_mul(n) <= len,
    }
}

/// [`rolling`] on the dates `at` alone (ascending indices into `s`); missing elsewhere. The
/// same windows, so the same values, but for `std`, which [`rolling`] slides and this sums
/// directly: they agree to rounding.
pub fn rolling_at(name: &str, s: &[f64], n: usize, at: &[usize]) -> Vec<f64> {
    let mut out = vec![f64::NAN; s.len()];
    let lagged = at.iter().copied().filter(|&i| i >= n && i < s.len());
    match name {
        "ref" => lagged.for_each(|i| out[i] = s[i - n]),
        "delta" => lagged.for_each(|i| out[i] = s[i] - s[i - n]),
        _ => {
            let stat = window_fn(name);
            for i in at.iter().copied().filter(|&i| i + 1 >= n && i < s.len()) {
                let w = &s[i + 1 - n..=i];
                if w.iter().all(|x| x.is_finite()) {
                    out[i] = stat(w);
                }
            }
        }
    }
    out
}

/// The sample standard deviation over each window of `n`, in O(1) a step: sums of the values
/// less a shift (the series' first finite value, so prices far from zero keep their digits),
/// recomputed from the window every 256 steps so rounding cannot build up.
#[inline(always)]
fn rolling_std(s: &[f64], n: usize) -> Vec<f64> {
    let mut out = vec![f64::NAN; s.len()];
    let k = s.iter().copied().find(|x| x.is_finite()).unwrap_or(0.0);
    let nf = n as f64;
    let (inv_n, inv_n1) = (1.0 / nf, 1.0 / (nf - 1.0));
    if s.iter().fold(true, |all, x| all & x.is_finite()) {
        // No gaps: the sums slide without a check per bar. Each step adds one change to each
        // sum, worked out beside the chain (the new value less the old, and their squares'
        // difference as (a - b)(a + b)): one addition a bar waits on the last, not two.
        if n > s.len() {
            return out;
        }
        let window = |i: usize| {
            let w = &s[i + 1 - n..=i];
            let sum: f64 = w.iter().map(|x| x - k).sum();
            let sq: f64 = w.iter().map(|x| (x - k) * (x - k)).sum();
            (sum, sq)
        };
        let (mut sum, mut sq) = window(n - 1);
        out[n - 1] = ((sq - sum * sum * inv_n) * inv_n1).max(0.0);
        for i in n..s.len() {
            if i % 256 == 0 {
                (sum, sq) = window(i);
            } else {
                let (a, b) = (s[i] - k, s[i - n] - k);
                sum += a - b;
                sq += (a - b) * (a + b);
            }
            out[i] = ((sq - sum * sum * inv_n) * inv_n1).max(0.0);
        }
    } else {
        let (mut sum, mut sq, mut bad) = (0.0, 0.0, 0usize);
        let add = |x: f64, sign: f64, sum: &mut f64, sq: &mut f64, bad: &mut usize| {
            if x.is_finite() {
                let d = x - k;
                *sum += sign * d;
                *sq += sign * d * d;
            } else if sign > 0.0 {
                *bad += 1;
            } else {
                *bad -= 1;
            }
        };
        for i in 0..s.len() {
            add(s[i], 1.0, &mut sum, &mut sq, &mut bad);
            if i >= n {
                add(s[i - n], -1.0, &mut sum, &mut sq, &mut bad);
            }
            if i + 1 < n || bad > 0 {
                continue;
            }
            if i % 256 == 0 {
                let w = &s[i + 1 - n..=i];
                sum = w.iter().map(|x| x - k).sum();
                sq = w.iter().map(|x| (x - k) * (x - k)).sum();
            }
            out[i] = ((sq - sum * sum * inv_n) * inv_n1).max(0.0);
        }
    }
    // The roots in a pass of their own, which the compiler vectorises (NaN stays NaN).
    out.iter_mut().for_each(|v| *v = v.sqrt());
    out
}

fn fit(w: &[f64]) -> (f64, f64, f64) {
    // y = a + b t over t = 0..n-1: (a, b, r²)
    let n = w.len() as f64;
    let mt = (n - 1.0) / 2.0;
    let my = w.iter().sum::<f64>() / n;
    let (mut stt, mut sty, mut syy) = (0.0, 0.0, 0.0);
    for (t, y) in w.iter().enumerate() {
        let dt = t as f64 - mt;
        stt += dt * dt;
        sty += dt * (y - my);
        syy += (y - my) * (y - my);
    }
    let b = if stt > 0.0 { sty / stt } else { f64::NAN };
    let r2 = if stt > 0.0 && syy > 0.0 {
        sty * sty / (stt * syy)
    } else {
        f64::NAN
    };
    (my - b * mt, b, r2)
}

/// [`window_stat`] for `name`, chosen once: the match on the name stays out of the loop over
/// the windows, and each statistic is compiled on its own.
fn window_fn(name: &str) -> fn(&[f64]) -> f64 {
    match name {
        "mean" => |w| window_stat("mean", w),
        "sum" => |w| window_stat("sum", w),
        "std" => |w| window_stat("std", w),
        "min" => |w| window_stat("min", w),
        "max" => |w| window_stat("max", w),
        "wma" => |w| window_stat("wma", w),
        "ts_rank" => |w| window_stat("ts_rank", w),
        "slope" => |w| window_stat("slope", w),
        "rsquare" => |w| window_stat("rsquare", w),
        "resi" => |w| window_stat("resi", w),
        _ => unreachable!("not a window statistic: {name}"),
    }
}

#[inline(always)]
fn window_stat(name: &str, w: &[f64]) -> f64 {
    let n = w.len() as f64;
    let mean = w.iter().sum::<f64>() / n;
    match name {
        "mean" => mean,
        "sum" => w.iter().sum(),
        "std" if w.len() < 2 => f64::NAN,
        "std" => (w.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0)).sqrt(),
        "min" => w.iter().copied().fold(f64::INFINITY, f64::min),
        "max" => w.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        "wma" => {
            let total = n * (n + 1.0) / 2.0;
            w.iter()
                .enumerate()
                .map(|(k, x)| x * (k + 1) as f64)
                .sum::<f64>()
                / total
        }
        "ts_rank" => {
            let last = w[w.len() - 1];
            let less = w.iter().filter(|x| **x < last).count() as f64;
            let equal = w.iter().filter(|x| **x == last).count() as f64;
            (less + (equal + 1.0) / 2.0) / n
        }
        "slope" => fit(w).1,
        "rsquare" => fit(w).2,
        "resi" => {
            let (a, b, _) = fit(w);
            w[w.len() - 1] - (a + b * (n - 1.0))
        }
        _ => unreachable!("not a window statistic: {name}"),
    }
}

/// `corr` or `cov` of two series over windows of `n`.
pub fn rolling_pair(name: &str, x: &[f64], y: &[f64], n: usize) -> Vec<f64> {
    let mut out = vec![f64::NAN; x.len()];
    for i in (n - 1)..x.len() {
        let (a, b) = (&x[i + 1 - n..=i], &y[i + 1 - n..=i]);
        if a.iter().chain(b).any(|v| !v.is_finite()) || n < 2 {
            continue;
        }
        let m = n as f64;
        let (ma, mb) = (a.iter().sum::<f64>() / m, b.iter().sum::<f64>() / m);
        let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
        for (p, q) in a.iter().zip(b) {
            sab += (p - ma) * (q - mb);
            saa += (p - ma) * (p - ma);
            sbb += (q - mb) * (q - mb);
        }
        out[i] = if name == "cov" {
            sab / (m - 1.0)
        } else if saa > 0.0 && sbb > 0.0 {
            sab / (saa * sbb).sqrt()
        } else {
            f64::NAN
        };
    }
    out
}

/// A cross-sectional operator over one date's values (NaN where a symbol has none).
pub fn cross(name: &str, v: &[f64], q: f64) -> Vec<f64> {
    let mut out = v.to_vec();
    if name == "rank" {
        rank_into(v, &mut out, &mut RankScratch::default());
    } else {
        cross_in_place(name, &mut out, q, &mut RankScratch::default());
    }
    out
}

/// Buffers a rank sorts in, kept between dates.
#[derive(Debug, Default)]
pub struct RankScratch {
    /// A date's values as words: the top 40 bits of the value's [`order_key`] above the name's
    /// index, so a sort moves one word a name instead of a key and an index.
    keys: Vec<u64>,
    buf: Vec<u64>,
    /// The whole keys of a run of words that agree in their top bits.
    run: Vec<(u64, usize)>,
}

/// The index's bits in a [`RankScratch`] word: up to 16.7 million names a date.
const INDEX_BITS: u32 = 24;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;

/// [`cross`] over one date's values in place; `scratch` is kept between dates.
pub fn cross_in_place(name: &str, v: &mut [f64], q: f64, scratch: &mut RankScratch) {
    if name == "rank" {
        let values = v.to_vec();
        return rank_into(&values, v, scratch);
    }
    let (mut total, mut n) = (0.0, 0usize);
    for x in v.iter().filter(|x| x.is_finite()) {
        total += x;
        n += 1;
    }
    if n == 0 {
        v.fill(f64::NAN);
        return;
    }
    let nf = n as f64;
    let mean = total / nf;
    let finite = |x: f64| x.is_finite();
    match name {
        "demean" => v
            .iter_mut()
            .for_each(|x| *x = if finite(*x) { *x - mean } else { f64::NAN }),
        "zscore" => {
            let sd = (v
                .iter()
                .filter(|x| finite(**x))
                .map(|x| (x - mean) * (x - mean))
                .sum::<f64>()
                / nf)
                .sqrt();
            v.iter_mut().for_each(|x| {
                *x = if finite(*x) && sd > 0.0 {
                    (*x - mean) / sd
                } else {
                    f64::NAN
                }
            });
        }
        "quantile" => {
            let values: Vec<f64> = v.iter().copied().filter(|x| finite(*x)).collect();
            let value = crate::predictions::rows::quantile(&values, q.clamp(0.0, 1.0));
            v.iter_mut()
                .for_each(|x| *x = if finite(*x) { value } else { f64::NAN });
        }
        _ => unreachable!("not a cross-sectional operator: {name}"),
    }
}

/// Each value of `v`'s rank among the finite ones, into `out` (as long as `v`): (average
/// 0-based rank + 1) / n, so the top name is 1 and ties share their rank; missing where `v`
/// has no finite value.
fn rank_into(v: &[f64], out: &mut [f64], scratch: &mut RankScratch) {
    scratch.clear();
    for (i, (x, o)) in v.iter().zip(out.iter_mut()).enumerate() {
        if x.is_finite() {
            scratch.push(*x, i);
        } else {
            *o = f64::NAN;
        }
    }
    scratch.ranks(|i| v[i], |i, r| out[i] = r);
}

impl RankScratch {
    /// Empties the date's values.
    pub(super) fn clear(&mut self) {
        self.keys.clear();
    }

    /// Adds the finite value `x` of name `index` (below 2^24).
    #[inline(always)]
    pub(super) fn push(&mut self, x: f64, index: usize) {
        debug_assert!(index as u64 <= INDEX_MASK);
        self.keys
            .push(order_key(x) & !INDEX_MASK | index as u64 & INDEX_MASK);
    }

    /// Sorts the values pushed and hands each index its rank, as [`rank_into`] defines
    /// it; `value` gives an index's value back. Words in order are values in order but where
    /// values agree in their top 40 bits (within 2^-28 of each other, or equal): such a run is
    /// put in order by its whole keys, and equal ones share a rank.
    pub(super) fn ranks(&mut self, value: impl Fn(usize) -> f64, mut put: impl FnMut(usize, f64)) {
        let keys = &mut self.keys;
        sort_keys(keys, &mut self.buf);
        let index = |w: u64| (w & INDEX_MASK) as usize;
        let half_step = 0.5 / keys.len() as f64;
        let mut i = 0;
        while i < keys.len() {
            let top = keys[i] | INDEX_MASK;
            let mut j = i;
            while j + 1 < keys.len() && keys[j + 1] | INDEX_MASK == top {
                j += 1;
            }
            if i == j {
                put(index(keys[i]), (2 * i + 2) as f64 * half_step);
                i += 1;
                continue;
            }
            let run = &mut self.run;
            run.clear();
            run.extend(
                keys[i..=j]
                    .iter()
                    .map(|w| (order_key(value(index(*w))), index(*w))),
            );
            run.sort_unstable();
            let mut a = 0;
            while a < run.len() {
                let mut b = a;
                while b + 1 < run.len() && run[b + 1].0 == run[a].0 {
                    b += 1;
                }
                let r = (2 * i + a + b + 2) as f64 * half_step;
                for &(_, at) in &run[a..=b] {
                    put(at, r);
                }
                a = b + 1;
            }
            i = j + 1;
        }
    }
}

/// An integer in the floats' order (−0 read as 0, so equal values have equal keys): cheaper
/// to sort than floats.
pub(super) fn order_key(x: f64) -> u64 {
    let b = (x + 0.0).to_bits();
    if b >> 63 == 1 { !b } else { b | 1 << 63 }
}

/// The bits the radix passes of [`sort_keys`] look at: the top 24 (sign, exponent and 12 bits
/// of mantissa).
const RADIX_FROM: u32 = 40;
const RADIX_PASSES: usize = 3;

/// Sorts [`RankScratch`] words. A cross-section's keys seldom share their top 24 bits (two
/// values must lie within 1/4096 of each other), so three byte-wide radix passes over those
/// bits put them in order but for runs of near-equal values, which an insertion sort then
/// settles in one nearly linear pass: a fraction of a comparison sort's time at 500 names.
/// `buf` is scratch kept between calls.
fn sort_keys(pairs: &mut Vec<u64>, buf: &mut Vec<u64>) {
    if pairs.len() < 64 {
        pairs.sort_unstable();
        return;
    }
    let mut hist = [[0u32; 256]; RADIX_PASSES];
    for k in pairs.iter() {
        for (p, h) in hist.iter_mut().enumerate() {
            h[(k >> (RADIX_FROM + 8 * p as u32)) as usize & 0xff] += 1;
        }
    }
    let n = pairs.len() as u32;
    buf.clear();
    buf.resize(pairs.len(), 0);
    for (p, h) in hist.iter().enumerate() {
        // A byte every key shares orders nothing.
        if h.contains(&n) {
            continue;
        }
        let mut at = [0u32; 256];
        let mut sum = 0;
        for (a, c) in at.iter_mut().zip(h) {
            *a = sum;
            sum += c;
        }
        for &k in pairs.iter() {
            let b = (k >> (RADIX_FROM + 8 * p as u32)) as usize & 0xff;
            buf[at[b] as usize] = k;
            at[b] += 1;
        }
        std::mem::swap(pairs, buf);
    }
    // Values crowded within their top bits would make the insertion sort quadratic: past a
    // budget of moves, a comparison sort finishes the job.
    let mut budget = 8 * pairs.len();
    for i in 1..pairs.len() {
        let x = pairs[i];
        let mut j = i;
        while j > 0 && pairs[j - 1] > x {
            pairs[j] = pairs[j - 1];
            j -= 1;
        }
        pairs[j] = x;
        budget = budget.saturating_sub(i - j);
        if budget == 0 {
            pairs.sort_unstable();
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The radix sort on packed words, with its insertion and comparison-sort finishes and
    /// the runs of values agreeing in their top bits, ranks as counting does.
    #[test]
    fn ranks_of_packed_words_equal_ranks_by_counting() {
        let mut x = 7u64;
        let mut next = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            x
        };
        for (n, crowded) in [
            (10, false),
            (64, false),
            (500, false),
            (3000, false),
            (500, true),
        ] {
            // Returns near zero of both signs, with repeats, values an ulp apart (equal in
            // their top 40 bits), zeros of both signs.
            let v: Vec<f64> = (0..n)
                .map(|i| match i % 9 {
                    // Prices that share their top 32 bits: the insertion sort gives up.
                    _ if crowded => 10.0 + (next() >> 40) as f64 * 1e-12,
                    0 => 0.0125,
                    1 => 0.0125 + f64::EPSILON * 0.01 * (i % 5) as f64,
                    2 => -0.0,
                    3 => 0.0,
                    _ => ((next() >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 0.2,
                })
                .collect();
            let got = cross("rank", &v, 0.0);
            for (i, x) in v.iter().enumerate() {
                let less = v.iter().filter(|y| *y < x).count() as f64;
                let equal = v.iter().filter(|y| *y == x).count() as f64;
                let want = (less + (equal + 1.0) / 2.0) / n as f64;
                assert!(
                    (got[i] - want).abs() < 1e-12,
                    "n = {n}, {i}: {} vs {want}",
                    got[i]
                );
            }
        }
    }

    #[test]
    fn windows_need_their_whole_length() {
        let s = [1.0, 2.0, 3.0, 4.0, f64::NAN, 6.0];
        let m = rolling("mean", &s, 3);
        assert!(m[1].is_nan());
        assert_eq!(m[2], 2.0);
        assert_eq!(m[3], 3.0);
        assert!(m[4].is_nan() && m[5].is_nan());
        assert_eq!(rolling("ref", &s, 2)[3], 2.0);
        assert_eq!(rolling("slope", &[1.0, 3.0, 5.0], 3)[2], 2.0);
        assert!((rolling("rsquare", &[1.0, 3.0, 5.0], 3)[2] - 1.0).abs() < 1e-12);
        assert_eq!(rolling("ts_rank", &[3.0, 1.0, 2.0], 3)[2], 2.0 / 3.0);
        assert_eq!(rolling("wma", &[1.0, 2.0], 2)[1], 5.0 / 3.0);
        // The O(1) rolling std agrees with the window's own, across gaps and 1,000 steps of a
        // price far from zero.
        let mut p: Vec<f64> = (0..1000)
            .map(|i| 3000.0 + (i as f64 * 0.37).sin() * 5.0 + i as f64 * 0.01)
            .collect();
        p[500] = f64::NAN;
        let fast = rolling("std", &p, 20);
        for i in 19..p.len() {
            let w = &p[i - 19..=i];
            if w.iter().any(|x| x.is_nan()) {
                assert!(fast[i].is_nan(), "{i}");
                continue;
            }
            let direct = window_stat("std", w);
            assert!(
                (fast[i] - direct).abs() <= 1e-9 * direct.max(1.0),
                "{i}: {} vs {direct}",
                fast[i]
            );
        }
        assert!(
            (rolling_pair("corr", &[1.0, 2.0, 3.0], &[2.0, 4.0, 6.5], 3)[2] - 0.9986).abs() < 1e-3
        );
    }

    #[test]
    fn cross_sections_skip_missing_names() {
        let v = [3.0, f64::NAN, 1.0, 2.0];
        let r = cross("rank", &v, 0.0);
        assert_eq!((r[0], r[2], r[3]), (1.0, 1.0 / 3.0, 2.0 / 3.0));
        assert!(r[1].is_nan());
        assert_eq!(cross("demean", &v, 0.0)[2], -1.0);
        assert_eq!(cross("quantile", &v, 0.5)[0], 2.0);
    }
}

//! `kxian-trainer evaluate`: walk-forward evaluation on the held-out end of each series, with
//! no look-ahead (every forecast sees only bars before its origin), against two baselines:
//! the random walk (tomorrow = the last close) and geometric Brownian motion fitted on the
//! lookback. Metrics on the close: MAE, direction accuracy, CRPS of the sampled paths and the
//! coverage of the p10–p90 band, all relative to the last close so symbols compare.

use std::path::PathBuf;

use kxian_shared::calendar::TradingCalendar;
use kxian_shared::features::{self, windows::split_ranges};
use kxian_shared::model::forecast::{CacheMode, ForecastConfig, ForecastInput, forecast};
use kxian_shared::model::sampling::Rng;
use kxian_shared::model::{KronosPredictor, KronosTokenizer, Sampling};
use kxian_shared::predictions::evaluate::crps;
use kxian_shared::predictions::rows::quantile;
use serde::Serialize;

use crate::device::{DeviceChoice, pick};
use crate::input::{self, import_options};
use crate::models;

#[derive(Debug, Clone, clap::Args)]
pub struct EvaluateArgs {
    /// Tokenizer directory; without --tokenizer and --predictor, the built-in default model.
    #[arg(long, requires = "predictor")]
    pub tokenizer: Option<PathBuf>,
    #[arg(long, requires = "tokenizer")]
    pub predictor: Option<PathBuf>,
    /// Bar files, one series each.
    #[arg(long, required = true, num_args = 1..)]
    pub input: Vec<PathBuf>,
    /// Drop rows the importer rejects (reported on standard error) instead of failing.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Share of each series, at its end, that is held out and walked through.
    #[arg(long, default_value_t = 0.1)]
    pub test_fraction: f64,
    #[arg(long, default_value_t = 90)]
    pub lookback: usize,
    #[arg(long, default_value_t = 10)]
    pub horizon: usize,
    /// Bars between forecast origins (default: the horizon, so forecasts do not overlap).
    #[arg(long)]
    pub stride: Option<usize>,
    #[arg(long, default_value_t = 16)]
    pub samples: usize,
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f32,
    #[arg(long, default_value_t = 0.9)]
    pub top_p: f32,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, default_value_t = 512)]
    pub max_context: usize,
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    pub device: DeviceChoice,
    /// Write the results as JSON here (the table goes to standard error either way).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Accumulated errors of one forecaster.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Scores {
    pub forecasts: usize,
    /// Mean |forecast close − actual close| / last close, in %.
    pub mae_pct: f64,
    /// Share of bars whose forecast close is on the right side of the last close
    /// (`None` for a forecaster that never moves).
    pub direction_accuracy: Option<f64>,
    /// Sample CRPS of the close, relative to the last close, in %.
    pub crps_pct: f64,
    /// Share of actual closes inside the forecast's p10–p90 band (`None` for point forecasts).
    pub coverage_p10_p90: Option<f64>,
    #[serde(skip)]
    sums: [f64; 4],
    #[serde(skip)]
    counts: [usize; 4],
}

impl Scores {
    /// Adds one forecast: `paths` of closes per future bar, the actual closes, the last close.
    fn add(&mut self, paths: &[Vec<f64>], mean: &[f64], actual: &[f64], last: f64, point: bool) {
        self.forecasts += 1;
        for (t, &y) in actual.iter().enumerate() {
            self.sums[0] += (mean[t] - y).abs() / last * 100.0;
            self.counts[0] += 1;
            if !point && (y - last).abs() > f64::EPSILON && (mean[t] - last).abs() > f64::EPSILON {
                self.sums[1] +=
                    f64::from(u8::from((mean[t] - last).signum() == (y - last).signum()));
                self.counts[1] += 1;
            }
            let xs: Vec<f64> = paths.iter().map(|p| p[t]).collect();
            self.sums[2] += crps(&xs, y) / last * 100.0;
            self.counts[2] += 1;
            if !point {
                let (lo, hi) = (quantile(&xs, 0.1), quantile(&xs, 0.9));
                self.sums[3] += f64::from(u8::from(lo <= y && y <= hi));
                self.counts[3] += 1;
            }
        }
        let avg = |i: usize| self.sums[i] / self.counts[i].max(1) as f64;
        self.mae_pct = avg(0);
        self.direction_accuracy = (self.counts[1] > 0).then(|| avg(1));
        self.crps_pct = avg(2);
        self.coverage_p10_p90 = (self.counts[3] > 0).then(|| avg(3));
    }
}

/// GBM paths of closes fitted on the lookback's log returns.
fn gbm_paths(closes: &[f64], horizon: usize, samples: usize, rng: &mut Rng) -> Vec<Vec<f64>> {
    let rets: Vec<f64> = closes.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
    let n = rets.len().max(1) as f64;
    let mu = rets.iter().sum::<f64>() / n;
    let var = rets.iter().map(|r| (r - mu).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    let sigma = var.sqrt();
    let last = *closes.last().expect("a lookback");
    (0..samples)
        .map(|_| {
            let mut p = last;
            (0..horizon)
                .map(|_| {
                    // Box–Muller
                    let (u1, u2) = (rng.next_f64().max(1e-300), rng.next_f64());
                    let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                    p *= (mu - 0.5 * sigma * sigma + sigma * z).exp();
                    p
                })
                .collect()
        })
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub model: Scores,
    pub random_walk: Scores,
    pub gbm: Scores,
    pub series: Vec<String>,
    pub lookback: usize,
    pub horizon: usize,
    pub samples: usize,
}

pub fn run(args: &EvaluateArgs) -> anyhow::Result<Evaluation> {
    let picked = pick(args.device)?;
    let (tok, pred): (KronosTokenizer, KronosPredictor) = match (&args.tokenizer, &args.predictor) {
        (Some(t), Some(p)) => (
            models::load_tokenizer(t, &picked.device)?,
            models::load_predictor(p, &picked.device)?,
        ),
        _ => models::load_default(&picked.device)?,
    };
    kxian_shared::model::check_pair(&tok.config, &pred.config)?;
    let stride = args.stride.unwrap_or(args.horizon).max(1);
    let (mut model, mut rw, mut gbm) = (Scores::default(), Scores::default(), Scores::default());
    let mut names = Vec::new();
    let mut rng = Rng::new(args.seed ^ 0x0067_626d);
    for path in &args.input {
        let series = input::load(path, &import_options(args.skip_invalid), None)?.series;
        names.push(series.symbol.to_string());
        let bars = &series.bars;
        let [_, _, test] = split_ranges(bars.len(), 0.0, args.test_fraction);
        let first = test.start.max(args.lookback);
        let rows = features::kline_rows(bars);
        let stamps: Vec<[u32; 5]> = bars.iter().map(|b| features::stamp(b.ts)).collect();
        let mut origin = first;
        while origin + args.horizon <= bars.len() {
            let hist = origin - args.lookback..origin;
            let actual: Vec<f64> = bars[origin..origin + args.horizon]
                .iter()
                .map(|b| b.close)
                .collect();
            let last = bars[origin - 1].close;
            // The model sees the calendar's future bar times, as a live forecast would.
            let future: Vec<[u32; 5]> = TradingCalendar::embedded()
                .next_bars(bars[origin - 1].ts, series.frequency, args.horizon)
                .iter()
                .map(|b| features::stamp(b.ts))
                .collect();
            let cfg = ForecastConfig {
                horizon: args.horizon,
                sampling: Sampling {
                    temperature: args.temperature,
                    top_k: 0,
                    top_p: args.top_p,
                },
                samples: args.samples,
                seed: args.seed.wrapping_add(origin as u64),
                max_context: args.max_context,
                cache: CacheMode::Exact,
                repair_ohlc: false,
            };
            let out = forecast(
                &tok,
                &pred,
                &ForecastInput {
                    rows: &rows[hist.clone()],
                    stamps: &stamps[hist.clone()],
                    future_stamps: &future,
                    forced: None,
                },
                &cfg,
                &picked.device,
                &mut |_| true,
            )?;
            let paths: Vec<Vec<f64>> = out
                .paths
                .iter()
                .map(|p| p.iter().map(|r| f64::from(r[3])).collect())
                .collect();
            let mean: Vec<f64> = out.mean.iter().map(|r| f64::from(r[3])).collect();
            model.add(&paths, &mean, &actual, last, false);
            rw.add(
                &[vec![last; args.horizon]],
                &vec![last; args.horizon],
                &actual,
                last,
                true,
            );
            let closes: Vec<f64> = bars[hist].iter().map(|b| b.close).collect();
            let g = gbm_paths(&closes, args.horizon, args.samples.max(16), &mut rng);
            let g_mean: Vec<f64> = (0..args.horizon)
                .map(|t| g.iter().map(|p| p[t]).sum::<f64>() / g.len() as f64)
                .collect();
            gbm.add(&g, &g_mean, &actual, last, false);
            origin += stride;
        }
    }
    crate::ensure_input!(
        model.forecasts > 0,
        "no forecast origin: the held-out parts are shorter than the horizon, or the series shorter than the lookback"
    );
    Ok(Evaluation {
        model,
        random_walk: rw,
        gbm,
        series: names,
        lookback: args.lookback,
        horizon: args.horizon,
        samples: args.samples,
    })
}

/// The evaluation as a Markdown table.
pub fn table(e: &Evaluation) -> String {
    let opt = |v: Option<f64>| v.map_or("—".to_string(), |x| format!("{:.1} %", x * 100.0));
    let mut s = format!(
        "{} forecasts of {} bars from {} bars of history ({} paths), on the held-out end of {}\n\n",
        e.model.forecasts,
        e.horizon,
        e.lookback,
        e.samples,
        e.series.join(", ")
    );
    s.push_str("| forecaster | MAE of the close | direction accuracy | CRPS | p10–p90 coverage |\n| --- | ---: | ---: | ---: | ---: |\n");
    for (name, sc) in [
        ("this model", &e.model),
        ("random walk (last close)", &e.random_walk),
        ("GBM fitted on the lookback", &e.gbm),
    ] {
        s.push_str(&format!(
            "| {name} | {:.2} % | {} | {:.2} % | {} |\n",
            sc.mae_pct,
            opt(sc.direction_accuracy),
            sc.crps_pct,
            opt(sc.coverage_p10_p90)
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crps_of_a_point_is_its_absolute_error_and_spread_lowers_it() {
        assert!((crps(&[3.0], 1.0) - 2.0).abs() < 1e-12);
        // Two samples at ±1 around the truth: E|X-y| = 1, E|X-X'| = 1 → CRPS 0.5.
        assert!((crps(&[-1.0, 1.0], 0.0) - 0.5).abs() < 1e-12);
        let brute = |xs: &[f64], y: f64| {
            let n = xs.len() as f64;
            xs.iter().map(|x| (x - y).abs()).sum::<f64>() / n
                - 0.5
                    * xs.iter()
                        .flat_map(|a| xs.iter().map(move |b| (a - b).abs()))
                        .sum::<f64>()
                    / (n * n)
        };
        let xs = [0.3, -1.2, 2.5, 0.9, 0.0];
        assert!((crps(&xs, 0.7) - brute(&xs, 0.7)).abs() < 1e-12);
    }

    #[test]
    fn scores_average_over_bars() {
        let mut s = Scores::default();
        s.add(
            &[vec![11.0, 12.0], vec![9.0, 8.0]],
            &[10.0, 10.0],
            &[11.0, 9.0],
            10.0,
            false,
        );
        assert!((s.mae_pct - 10.0).abs() < 1e-9);
        assert_eq!(
            s.direction_accuracy, None,
            "a flat mean path calls no direction"
        );
        // Bar 0: 11 lies above the band [9.2, 10.8]; bar 1: 9 lies inside [8.4, 11.6].
        assert_eq!(s.coverage_p10_p90, Some(0.5));
    }
}

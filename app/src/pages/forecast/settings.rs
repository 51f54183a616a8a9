//! The forecast page's settings: what the URL says, with defaults, and what a run of them
//! would be given.

use crate::inference::device::BackendPref;
use kxian_shared::Bar;
use kxian_shared::Frequency;
use kxian_shared::model::Sampling;
use kxian_shared::model::forecast::{CacheMode, ForecastConfig};

/// The page's settings, parsed from the URL with defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub symbol: String,
    pub frequency: Frequency,
    pub lookback: usize,
    pub horizon: usize,
    pub temperature: f32,
    pub top_p: f32,
    pub top_k: usize,
    pub samples: usize,
    pub seed: u64,
    pub model: String,
    pub backend: BackendPref,
    /// Bars held back from the end of the series, to compare the forecast with them.
    pub holdout: usize,
    /// `run=1`: the page runs the forecast as soon as it can (a shared set-up link).
    pub autorun: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            symbol: "000300.SH".into(),
            frequency: Frequency::Daily,
            lookback: 400,
            horizon: 30,
            temperature: 1.0,
            top_p: 0.9,
            top_k: 0,
            samples: 16,
            seed: 42,
            model: String::new(),
            backend: BackendPref::Auto,
            holdout: 0,
            autorun: false,
        }
    }
}

impl Settings {
    pub fn from_query(get: impl Fn(&str) -> Option<String>) -> Settings {
        let d = Settings::default();
        fn num<T: std::str::FromStr>(v: Option<String>, d: T) -> T {
            v.and_then(|s| s.trim().parse().ok()).unwrap_or(d)
        }
        Settings {
            symbol: get("symbol").filter(|s| !s.is_empty()).unwrap_or(d.symbol),
            frequency: num(get("freq"), d.frequency),
            lookback: num(get("lookback"), d.lookback),
            horizon: num(get("horizon"), d.horizon),
            temperature: num(get("temperature"), d.temperature),
            top_p: num(get("top_p"), d.top_p),
            top_k: num(get("top_k"), d.top_k),
            samples: num(get("samples"), d.samples),
            seed: num(get("seed"), d.seed),
            model: get("model").unwrap_or_default(),
            backend: get("backend")
                .and_then(|b| BackendPref::parse(&b))
                .unwrap_or_default(),
            holdout: num(get("holdout"), d.holdout),
            autorun: get("run").is_some_and(|v| v == "1" || v == "true"),
        }
    }

    /// The query that gives these settings back (with `run=1`: a set-up link that runs
    /// itself). Defaults are left out, so links stay short.
    pub fn to_query(&self, run: bool) -> String {
        let d = Settings::default();
        let mut q = vec![
            ("symbol", self.symbol.clone()),
            ("freq", self.frequency.as_str().to_string()),
        ];
        let mut other = |k: &'static str, v: String, dv: String| {
            if v != dv {
                q.push((k, v));
            }
        };
        other(
            "lookback",
            self.lookback.to_string(),
            d.lookback.to_string(),
        );
        other("horizon", self.horizon.to_string(), d.horizon.to_string());
        other(
            "temperature",
            self.temperature.to_string(),
            d.temperature.to_string(),
        );
        other("top_p", self.top_p.to_string(), d.top_p.to_string());
        other("top_k", self.top_k.to_string(), d.top_k.to_string());
        other("samples", self.samples.to_string(), d.samples.to_string());
        other("seed", self.seed.to_string(), d.seed.to_string());
        other("model", self.model.clone(), d.model.clone());
        other(
            "backend",
            self.backend.as_str().to_string(),
            d.backend.as_str().to_string(),
        );
        other("holdout", self.holdout.to_string(), d.holdout.to_string());
        if run {
            q.push(("run", "1".into()));
        }
        q.iter()
            .map(|(k, v)| format!("{k}={}", query_escape(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The problems a run would hit, named by field.
    pub fn check(&self) -> Result<(), String> {
        if self.lookback < 2 {
            return Err("lookback: at least 2 bars".into());
        }
        if !(1..=512).contains(&self.horizon) {
            return Err("horizon: 1 to 512 bars".into());
        }
        if !(1..=256).contains(&self.samples) {
            return Err("samples: 1 to 256 paths".into());
        }
        self.sampling().validate()
    }

    pub fn sampling(&self) -> Sampling {
        Sampling {
            temperature: self.temperature,
            top_k: self.top_k,
            top_p: self.top_p,
        }
    }

    pub fn config(&self, max_context: usize) -> ForecastConfig {
        ForecastConfig {
            horizon: self.horizon,
            sampling: self.sampling(),
            samples: self.samples,
            seed: self.seed,
            max_context,
            cache: CacheMode::Exact,
            repair_ohlc: false,
        }
    }
}

/// Percent-encodes what a query value cannot hold as it is.
fn query_escape(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Splits a series into the history the model sees and the held-back bars after it.
pub fn split_history(bars: &[Bar], lookback: usize, holdout: usize) -> (Vec<Bar>, Vec<Bar>) {
    let cut = bars.len().saturating_sub(holdout);
    let start = cut.saturating_sub(lookback);
    (bars[start..cut].to_vec(), bars[cut..].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_from_the_url() {
        let s = Settings::from_query(|k| match k {
            "symbol" => Some("600000.SH".into()),
            "horizon" => Some("12".into()),
            "backend" => Some("cpu".into()),
            "top_p" => Some("x".into()),
            _ => None,
        });
        assert_eq!(s.symbol, "600000.SH");
        assert_eq!(s.horizon, 12);
        assert_eq!(s.backend, BackendPref::Cpu);
        assert_eq!(s.top_p, 0.9, "an unreadable value keeps the default");
        assert!(s.check().is_ok());
        let bad = Settings {
            samples: 0,
            ..Settings::default()
        };
        assert!(bad.check().unwrap_err().starts_with("samples"));
    }

    #[test]
    fn a_set_up_link_gives_the_same_settings_back() {
        let s = Settings {
            symbol: "600000.SH".into(),
            horizon: 12,
            top_p: 0.5,
            model: "my model".into(),
            backend: BackendPref::Cpu,
            holdout: 5,
            ..Settings::default()
        };
        let q = s.to_query(true);
        assert!(
            q.contains("model=my%20model") && q.ends_with("run=1"),
            "{q}"
        );
        assert!(!q.contains("lookback"), "defaults are left out: {q}");
        let pairs: Vec<(String, String)> = q
            .split('&')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (k.to_string(), v.replace("%20", " "))
            })
            .collect();
        let back =
            Settings::from_query(|k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()));
        assert_eq!(
            back,
            Settings {
                autorun: true,
                ..s.clone()
            }
        );
        assert!(!Settings::from_query(|_| None).autorun);
    }

    #[test]
    fn held_back_bars_follow_the_history() {
        let bars: Vec<Bar> = (0..10)
            .map(|i| Bar {
                ts: chrono::NaiveDate::from_ymd_opt(2024, 1, 1 + i)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap(),
                open: 1.0,
                high: 1.0,
                low: 1.0,
                close: i as f64,
                volume: 1.0,
                amount: None,
            })
            .collect();
        let (h, a) = split_history(&bars, 4, 3);
        assert_eq!(
            h.iter().map(|b| b.close).collect::<Vec<_>>(),
            [3.0, 4.0, 5.0, 6.0]
        );
        assert_eq!(
            a.iter().map(|b| b.close).collect::<Vec<_>>(),
            [7.0, 8.0, 9.0]
        );
        let (h, a) = split_history(&bars, 400, 0);
        assert_eq!((h.len(), a.len()), (10, 0));
    }
}

//! Reading a model's input series from a file the importers accept: one symbol, validated,
//! in canonical units, cut to its last `lookback` bars.

use kxian_shared::Bar;
use kxian_shared::api::ImportOptions;
use kxian_shared::ingest::{ImportError, ParsedSeries, parse_file};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error("{file} holds no bars")]
    Empty { file: String },
    #[error("{file} holds {count} symbols ({symbols}); pick one with --symbol")]
    SeveralSymbols {
        file: String,
        count: usize,
        symbols: String,
    },
    #[error("{file}: {symbol} is not in the file (it has {symbols})")]
    NoSuchSymbol {
        file: String,
        symbol: String,
        symbols: String,
    },
    #[error("{file} has {have} bars but the lookback needs {need}")]
    TooShort {
        file: String,
        have: usize,
        need: usize,
    },
}

/// A series ready to feed a model: the last `lookback` bars of one symbol.
#[derive(Debug, Clone)]
pub struct ModelInput {
    pub series: ParsedSeries,
    /// How many earlier bars the file had beyond the lookback.
    pub dropped: usize,
}

impl ModelInput {
    pub fn bars(&self) -> &[Bar] {
        &self.series.bars
    }
}

/// Loads `path` and returns the last `lookback` bars (all when `None`) of the one series it
/// holds, or of `opts.symbol` when it holds several.
pub fn load(
    path: &Path,
    opts: &ImportOptions,
    lookback: Option<usize>,
) -> Result<ModelInput, InputError> {
    let bytes = std::fs::read(path).map_err(|source| InputError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    from_bytes(&file, &bytes, opts, lookback)
}

/// [`load`] for bytes already in memory.
pub fn from_bytes(
    file: &str,
    bytes: &[u8],
    opts: &ImportOptions,
    lookback: Option<usize>,
) -> Result<ModelInput, InputError> {
    let mut all = parse_file(file, bytes, opts)?.series;
    let names = |all: &[ParsedSeries]| {
        all.iter()
            .map(|s| s.symbol.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    // Move the chosen series out: its bars may be large, so no copy.
    let chosen =
        match (all.len(), &opts.symbol) {
            (0, _) => return Err(InputError::Empty { file: file.into() }),
            (1, _) => 0,
            (_, Some(want)) => all.iter().position(|s| &s.symbol == want).ok_or_else(|| {
                InputError::NoSuchSymbol {
                    file: file.into(),
                    symbol: want.to_string(),
                    symbols: names(&all),
                }
            })?,
            (n, None) => {
                return Err(InputError::SeveralSymbols {
                    file: file.into(),
                    count: n,
                    symbols: names(&all),
                });
            }
        };
    let mut series = all.swap_remove(chosen);
    if series.bars.is_empty() {
        return Err(InputError::Empty { file: file.into() });
    }
    let have = series.bars.len();
    let need = lookback.unwrap_or(have);
    if have < need {
        return Err(InputError::TooShort {
            file: file.into(),
            have,
            need,
        });
    }
    let dropped = have - need;
    series.bars.drain(..dropped);
    Ok(ModelInput { series, dropped })
}

/// Import options for a command's `--skip-invalid`.
pub fn import_options(skip_invalid: bool) -> ImportOptions {
    ImportOptions {
        skip_invalid,
        ..ImportOptions::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kronos_csv(rows: usize) -> String {
        let mut s = String::from("timestamps,open,high,low,close,volume,amount\n");
        for i in 0..rows {
            let day = 2 + i as u32;
            s.push_str(&format!(
                "2024-09-{day:02} 09:35:00,10.0,10.5,9.5,10.2,100,102000\n"
            ));
        }
        s
    }

    #[test]
    fn keeps_the_last_lookback_bars() {
        let opts = ImportOptions {
            symbol: Some("600977.SH".parse().unwrap()),
            ..Default::default()
        };
        let input = from_bytes("x.csv", kronos_csv(5).as_bytes(), &opts, Some(3)).unwrap();
        assert_eq!(input.bars().len(), 3);
        assert_eq!(input.dropped, 2);
        assert_eq!(input.bars()[0].ts.to_string(), "2024-09-04 09:35:00");
        // Kronos files count volume in lots: 100 lots = 10,000 shares.
        assert_eq!(input.bars()[0].volume, 10_000.0);
    }

    #[test]
    fn too_few_rows_names_both_numbers() {
        let opts = ImportOptions {
            symbol: Some("600977.SH".parse().unwrap()),
            ..Default::default()
        };
        let e = from_bytes("short.csv", kronos_csv(4).as_bytes(), &opts, Some(400)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "short.csv has 4 bars but the lookback needs 400"
        );
    }

    #[test]
    fn several_symbols_need_a_choice() {
        let csv = "ts_code,trade_date,open,high,low,close,vol,amount\n\
                   600000.SH,20240903,8.0,8.2,7.9,8.1,1000,810\n\
                   000001.SZ,20240903,9.0,9.2,8.9,9.1,1000,910\n";
        let e = from_bytes("two.csv", csv.as_bytes(), &ImportOptions::default(), None).unwrap_err();
        assert!(e.to_string().contains("holds 2 symbols"), "{e}");
        let opts = ImportOptions {
            symbol: Some("000001.SZ".parse().unwrap()),
            ..Default::default()
        };
        let one = from_bytes("two.csv", csv.as_bytes(), &opts, None).unwrap();
        assert_eq!(one.series.symbol.to_string(), "000001.SZ");
        // Tushare: vol in lots, amount in thousand CNY.
        assert_eq!(one.bars()[0].volume, 100_000.0);
        assert_eq!(one.bars()[0].amount, Some(910_000.0));
    }

    #[test]
    fn missing_file_is_a_read_error() {
        let e = load(
            Path::new("/nonexistent/x.csv"),
            &ImportOptions::default(),
            None,
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("cannot read /nonexistent/x.csv"),
            "{e}"
        );
    }
}

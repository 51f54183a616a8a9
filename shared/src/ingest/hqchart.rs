//! HQChart test-data JSON: `{"symbol": "600000.sh", "name": …, "data": [[yyyymmdd, prev_close,
//! open, high, low, close, volume, amount(, hhmm)], …]}` (data/real/README.md). A bare `data`
//! array is accepted too.

use super::build::{Builder, DefaultSymbol};
use super::header::{ColumnMap, Flavor, HeaderCell, UnitSource};
use super::value::Field;
use super::{ImportError, Layout, ParsedImport, names};
use crate::domain::{InstrumentKind, Symbol};
use crate::import::{ImportOptions, VolumeUnit};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(untagged)]
enum HqDoc {
    Object {
        data: Vec<Vec<Value>>,
        #[serde(default)]
        symbol: Option<Value>,
        #[serde(default)]
        name: Option<Value>,
    },
    Rows(Vec<Vec<Value>>),
}

/// Column names used in problems, by index in a data row.
const COLUMNS: [&str; 9] = [
    "date",
    "prev_close",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "amount",
    "time",
];

fn field(v: Option<&Value>) -> Field<'_> {
    match v {
        None | Some(Value::Null) => Field::Empty,
        Some(Value::Number(n)) => n.as_f64().map_or(Field::Error, Field::Num),
        Some(Value::String(s)) => Field::Text(s.as_bytes()),
        Some(_) => Field::Error,
    }
}

fn as_text(v: Option<Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(crate) fn parse(
    file: &str,
    bytes: &[u8],
    opts: &ImportOptions,
) -> Result<ParsedImport, ImportError> {
    let bad = |row: Option<u64>, detail: String| ImportError::BadJson {
        file: file.to_string(),
        row,
        detail,
    };
    // Check the syntax first so the message can point at the line.
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| bad(None, format!("invalid JSON: {e}")))?;
    let doc: HqDoc = serde_json::from_value(value).map_err(|_| {
        bad(
            None,
            "expected HQChart kline JSON: an object with a `data` array of rows [yyyymmdd, prev_close, open, high, low, close, volume, amount(, hhmm)]".to_string(),
        )
    })?;
    let (data, symbol, name) = match doc {
        HqDoc::Object { data, symbol, name } => (data, as_text(symbol), as_text(name)),
        HqDoc::Rows(data) => (data, None, None),
    };
    if data.is_empty() {
        return Err(ImportError::NoDataRows {
            file: file.to_string(),
            header_row: None,
        });
    }
    let from_json = symbol.as_deref().and_then(|s| Symbol::parse(s).ok());
    let symbol_ok = from_json.is_some();
    let json_name = name.filter(|n| !symbol.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(n)));
    let default_symbol = from_json
        .or_else(|| opts.symbol.clone())
        .or_else(|| names::symbol_from_file_name(file))
        .map(|symbol| DefaultSymbol {
            symbol,
            name: json_name,
        });
    let unit = match &default_symbol {
        Some(d) if d.symbol.kind() == InstrumentKind::Index => VolumeUnit::Lots,
        _ => VolumeUnit::Shares,
    };
    let flavor = Flavor {
        layout: Layout::HqchartJson,
        volume: UnitSource::Known(unit),
        amount_scale: 1.0,
    };
    let map = ColumnMap::new(COLUMNS.iter().map(|c| HeaderCell::new(c)).collect())
        .map_err(|_| bad(None, "internal column map".to_string()))?;
    let mut b = Builder::new(file, opts, map, flavor, default_symbol, None)?;
    for (i, row) in data.iter().enumerate() {
        b.row(i as u64 + 1, row.len(), |k| field(row.get(k)));
    }
    let mut parsed = b.finish()?;
    if !symbol_ok && let Some(s) = symbol {
        parsed.warnings.insert(
            0,
            crate::import::Problem {
                file: file.to_string(),
                row: None,
                column: Some("symbol".to_string()),
                message: format!(
                    "`{s}` is not an A-share symbol; used the file name or options instead"
                ),
            },
        );
    }
    Ok(parsed)
}

//! From cells to validated series: the part every container (CSV, XLSX, JSON) shares.

use super::header::{ColumnMap, Flavor, UnitSource};
use super::problems::Problems;
use super::units::{Vote, infer_frequency, unit_name};
use super::value::{self, DateCache, Field, TimeValue, Val};
use super::{ImportError, ParsedImport, ParsedSeries};
use crate::domain::validate::{self, SeriesIssue};
use crate::domain::{Bar, InstrumentKind, OhlcField, Symbol};
use crate::import::{ImportOptions, VolumeUnit};
use chrono::NaiveTime;
use std::collections::{HashMap, HashSet};

/// Rows of one symbol, volume still in the file's unit.
#[derive(Debug)]
struct SeriesRows {
    symbol: Symbol,
    name: Option<String>,
    rows: Vec<(u64, Bar)>,
}

/// Where the symbol of rows without a code comes from.
#[derive(Debug, Clone)]
pub(crate) struct DefaultSymbol {
    pub symbol: Symbol,
    pub name: Option<String>,
}

impl DefaultSymbol {
    /// The user's `--symbol` first, then a TDX-style title line (which also names the
    /// security), then a code in the file name.
    pub(crate) fn resolve(
        opts: &ImportOptions,
        title: Option<&str>,
        file: &str,
    ) -> Option<DefaultSymbol> {
        opts.symbol
            .clone()
            .map(|symbol| DefaultSymbol { symbol, name: None })
            .or_else(|| {
                title
                    .and_then(super::names::symbol_from_title)
                    .map(|(symbol, name)| DefaultSymbol { symbol, name })
            })
            .or_else(|| {
                super::names::symbol_from_file_name(file)
                    .map(|symbol| DefaultSymbol { symbol, name: None })
            })
    }
}

/// The column indices the hot loop reads (a copy of [`ColumnMap`]'s).
#[derive(Debug, Clone, Copy)]
struct Idx {
    date: usize,
    time: Option<usize>,
    open: usize,
    high: usize,
    low: usize,
    close: usize,
    volume: usize,
    amount: Option<usize>,
    code: Option<usize>,
    name: Option<usize>,
}

/// Turns rows of cells into series. One per file.
pub(crate) struct Builder<'o> {
    file: String,
    opts: &'o ImportOptions,
    idx: Idx,
    map: ColumnMap,
    flavor: Flavor,
    /// `1.234,5` numbers (semicolon-separated files).
    decimal_comma: bool,
    default_symbol: Option<DefaultSymbol>,
    /// Series of [`Self::default_symbol`], once created.
    default_index: Option<usize>,
    series: Vec<SeriesRows>,
    by_symbol: HashMap<Symbol, usize>,
    by_code: HashMap<Vec<u8>, Result<usize, String>>,
    last_code: Vec<u8>,
    last_code_result: Option<Result<usize, String>>,
    dates: DateCache,
    header_row: Option<u64>,
    rows_read: u64,
    problems: Problems,
}

/// Why a cell could not be read, for the row's problem.
enum CellFault {
    Missing,
    Bad(String),
}

impl<'o> Builder<'o> {
    /// `header_row`: the header's spreadsheet row (for messages), `None` for JSON.
    pub(crate) fn new(
        file: &str,
        opts: &'o ImportOptions,
        map: ColumnMap,
        flavor: Flavor,
        default_symbol: Option<DefaultSymbol>,
        header_row: Option<u64>,
    ) -> Result<Builder<'o>, ImportError> {
        if map.code.is_none() && default_symbol.is_none() {
            return Err(ImportError::NoSymbol {
                file: file.to_string(),
            });
        }
        let idx = Idx {
            date: map.date,
            time: map.time,
            open: map.open,
            high: map.high,
            low: map.low,
            close: map.close,
            volume: map.volume,
            amount: map.amount,
            code: map.code,
            name: map.name,
        };
        Ok(Builder {
            file: file.to_string(),
            opts,
            idx,
            map,
            flavor,
            decimal_comma: false,
            default_symbol,
            default_index: None,
            series: Vec::new(),
            by_symbol: HashMap::new(),
            by_code: HashMap::new(),
            last_code: Vec::new(),
            last_code_result: None,
            dates: DateCache::default(),
            header_row,
            rows_read: 0,
            problems: Problems::new(file),
        })
    }

    pub(crate) fn set_decimal_comma(&mut self, on: bool) {
        self.decimal_comma = on;
    }

    /// Number of header cells (to tell truncated rows).
    pub(crate) fn header_len(&self) -> usize {
        self.map.headers.len()
    }

    /// Reads one data row. `row` is its 1-based spreadsheet row; `len` the number of cells it
    /// has; `get` returns cell `i` (or [`Field::Empty`] past the end).
    #[inline]
    pub(crate) fn row<'a>(&mut self, row: u64, len: usize, get: impl Fn(usize) -> Field<'a>) {
        let m = self.idx;
        let date_cell = get(m.date);
        if date_cell.is_blank() {
            // Blank lines (`,,,,`) are not rows.
            let idx = [m.open, m.high, m.low, m.close, m.volume];
            if idx.iter().all(|&i| get(i).is_blank()) {
                return;
            }
        } else if let Field::Text(t) = date_cell
            && value::trim(t).starts_with("数据来源".as_bytes())
        {
            // TDX footer `数据来源:通达信`.
            return;
        }
        self.rows_read += 1;

        let dc = self.decimal_comma;
        let mut faults: Vec<(usize, CellFault)> = Vec::new();
        let ts = match value::datetime(date_cell, &mut self.dates) {
            Val::Ok(ts) => Some(ts),
            Val::Missing => {
                faults.push((m.date, CellFault::Missing));
                None
            }
            Val::Bad => {
                faults.push((m.date, CellFault::Bad(bad_date(date_cell))));
                None
            }
        };
        let ts = match (ts, m.time) {
            (Some(ts), Some(t)) => match value::time_value(get(t), &mut self.dates) {
                Val::Ok(TimeValue::Full(full)) => Some(full),
                Val::Ok(TimeValue::OfDay(tod)) if ts.time() == NaiveTime::MIN => {
                    Some(ts.date().and_time(tod))
                }
                Val::Ok(TimeValue::OfDay(_)) | Val::Missing => Some(ts),
                Val::Bad => {
                    let cell = get(t);
                    faults.push((
                        t,
                        CellFault::Bad(format!("`{}` is not a time", cell.show())),
                    ));
                    None
                }
            },
            (ts, _) => ts,
        };
        let mut num = |i: usize| -> f64 {
            let cell = get(i);
            match value::number(cell, dc) {
                Val::Ok(v) => v,
                Val::Missing => {
                    faults.push((i, CellFault::Missing));
                    f64::NAN
                }
                Val::Bad => {
                    faults.push((i, CellFault::Bad(bad_number(cell))));
                    f64::NAN
                }
            }
        };
        let open = num(m.open);
        let high = num(m.high);
        let low = num(m.low);
        let close = num(m.close);
        let volume = num(m.volume);
        let amount = match m.amount {
            None => None,
            Some(i) => {
                let cell = get(i);
                match value::number(cell, dc) {
                    Val::Ok(v) => Some(v * self.flavor.amount_scale),
                    Val::Missing => None,
                    Val::Bad => {
                        faults.push((i, CellFault::Bad(bad_number(cell))));
                        None
                    }
                }
            }
        };
        let series = match m.code {
            Some(c) => self.series_for_code(get(c)),
            None => self.default_series(),
        };
        let series = match series {
            Ok(s) => Some(s),
            Err(msg) => {
                faults.push((m.code.unwrap_or(m.date), CellFault::Bad(msg)));
                None
            }
        };
        if !faults.is_empty() {
            self.reject_cells(row, len, faults);
            return;
        }
        let (Some(ts), Some(series)) = (ts, series) else {
            return;
        };
        let bar = Bar {
            ts,
            open,
            high,
            low,
            close,
            volume,
            amount,
        };
        if let Some(s) = self.series.get_mut(series) {
            if s.name.is_none()
                && let Some(i) = m.name
                && let Field::Text(t) = get(i)
                && !value::is_missing(value::trim(t))
            {
                s.name = Some(String::from_utf8_lossy(value::trim(t)).into_owned());
            }
            s.rows.push((row, bar));
        }
    }

    #[cold]
    fn reject_cells(&mut self, row: u64, len: usize, faults: Vec<(usize, CellFault)>) {
        let headers = self.header_len();
        let m = &self.map;
        let mut faults = faults;
        faults.sort_by_key(|(i, _)| *i);
        let describe = |f: &CellFault| match f {
            CellFault::Missing => "missing value".to_string(),
            CellFault::Bad(s) => s.clone(),
        };
        let Some((first_col, first)) = faults.first() else {
            return;
        };
        let column = m.written(*first_col).to_string();
        let mut msg = describe(first);
        if faults.len() > 1 {
            let rest: Vec<String> = faults[1..]
                .iter()
                .map(|(i, f)| format!("`{}`: {}", m.written(*i), describe(f)))
                .collect();
            msg.push_str(&format!(" (also {})", rest.join(", ")));
        }
        if faults.iter().any(|(i, _)| *i >= len) {
            msg.push_str(&format!(
                "; the row has {len} of {headers} columns (cut short?)"
            ));
        }
        self.problems.reject(Some(row), Some(&column), || msg);
    }

    fn default_series(&mut self) -> Result<usize, String> {
        if let Some(i) = self.default_index {
            return Ok(i);
        }
        let Some(d) = &self.default_symbol else {
            return Err("no code in this row, and no symbol was given for the file".into());
        };
        let (symbol, name) = (d.symbol.clone(), d.name.clone());
        let i = self.series_index(symbol, name);
        self.default_index = Some(i);
        Ok(i)
    }

    fn series_index(&mut self, symbol: Symbol, name: Option<String>) -> usize {
        if let Some(&i) = self.by_symbol.get(&symbol) {
            return i;
        }
        let i = self.series.len();
        self.by_symbol.insert(symbol.clone(), i);
        self.series.push(SeriesRows {
            symbol,
            name,
            rows: Vec::new(),
        });
        i
    }

    /// The series of a row with a code cell (cached: consecutive rows repeat the code).
    #[inline]
    fn series_for_code(&mut self, cell: Field<'_>) -> Result<usize, String> {
        let key: Vec<u8>;
        let key_bytes: &[u8] = match cell {
            Field::Text(t) => value::trim(t),
            Field::Num(v) if v.fract() == 0.0 && (0.0..1e6).contains(&v) => {
                key = format!("{:06}", v as u32).into_bytes();
                &key
            }
            Field::Empty => b"",
            other => {
                key = other.show().into_bytes();
                &key
            }
        };
        if let Some(r) = &self.last_code_result
            && key_bytes == self.last_code.as_slice()
        {
            return r.clone();
        }
        let result = match self.by_code.get(key_bytes) {
            Some(r) => r.clone(),
            None => {
                let r = self.resolve_code(key_bytes);
                self.by_code.insert(key_bytes.to_vec(), r.clone());
                r
            }
        };
        self.last_code.clear();
        self.last_code.extend_from_slice(key_bytes);
        self.last_code_result = Some(result.clone());
        result
    }

    #[cold]
    fn resolve_code(&mut self, key: &[u8]) -> Result<usize, String> {
        if value::is_missing(key) {
            return self.default_series();
        }
        let text = String::from_utf8_lossy(key);
        let mut code = text.trim().to_string();
        // `600000.0`: a code that went through a float column.
        if let Some(stripped) = code.strip_suffix(".0")
            && stripped.bytes().all(|b| b.is_ascii_digit())
        {
            code = stripped.to_string();
        }
        // Leading zeros lost in Excel: `1` is 000001.
        if !code.is_empty() && code.len() < 6 && code.bytes().all(|b| b.is_ascii_digit()) {
            code = format!("{code:0>6}");
        }
        let symbol = Symbol::parse(&code).map_err(|e| e.to_string())?;
        Ok(self.series_index(symbol, None))
    }

    /// Validates and assembles the series.
    pub(crate) fn finish(mut self) -> Result<ParsedImport, ImportError> {
        if self.rows_read == 0 {
            return Err(ImportError::NoDataRows {
                file: self.file,
                header_row: self.header_row,
            });
        }
        let all = std::mem::take(&mut self.series);
        let single = all.len() == 1;
        let mut out = Vec::with_capacity(all.len());
        for s in all {
            if let Some(series) = self.assemble(s, single) {
                out.push(series);
            }
        }
        let rejected_total = self.problems.rejected_total();
        let (rejected, warnings) = self.problems.finish();
        let bars: usize = out.iter().map(|s| s.bars.len()).sum();
        if rejected_total > 0 && (!self.opts.skip_invalid || bars == 0) {
            let first = rejected.first().map(|p| p.to_string()).unwrap_or_default();
            let first = first
                .strip_prefix(self.file.as_str())
                .map(|r| r.trim_start_matches([',', ':', ' ']))
                .unwrap_or(&first)
                .to_string();
            let summary = if bars == 0 {
                format!(
                    "all {rejected_total} data rows are invalid; nothing was imported (first: {first})"
                )
            } else {
                format!(
                    "{rejected_total} invalid row{}; nothing was imported (first: {first}). Fix the rows, or import with skip_invalid to keep the {bars} valid bar{}",
                    if rejected_total == 1 { "" } else { "s" },
                    if bars == 1 { "" } else { "s" }
                )
            };
            return Err(ImportError::InvalidRows {
                file: self.file,
                rejected: rejected_total,
                summary,
                problems: rejected,
            });
        }
        Ok(ParsedImport {
            file: self.file,
            layout: self.flavor.layout,
            rows_read: self.rows_read,
            series: out,
            rejected,
            warnings,
        })
    }

    fn column_of(&self, field: OhlcField) -> &str {
        let m = &self.map;
        let i = match field {
            OhlcField::Open => Some(m.open),
            OhlcField::High => Some(m.high),
            OhlcField::Low => Some(m.low),
            OhlcField::Close => Some(m.close),
            OhlcField::Volume => Some(m.volume),
            OhlcField::Amount => m.amount,
        };
        i.map_or(field.as_str(), |i| m.written(i))
    }

    fn assemble(&mut self, s: SeriesRows, single: bool) -> Option<ParsedSeries> {
        let SeriesRows {
            symbol,
            name,
            mut rows,
        } = s;
        let is_index = symbol.kind() == InstrumentKind::Index;
        let unit = self.volume_unit(&symbol, is_index, &mut rows);
        let per = unit.shares_per_unit();

        // Per-bar rules: repairs are warnings, issues rejections (in place: no second copy).
        let columns: [String; 6] = [
            OhlcField::Open,
            OhlcField::High,
            OhlcField::Low,
            OhlcField::Close,
            OhlcField::Volume,
            OhlcField::Amount,
        ]
        .map(|f| self.column_of(f).to_string());
        let column = |f: OhlcField| {
            let i = match f {
                OhlcField::Open => 0,
                OhlcField::High => 1,
                OhlcField::Low => 2,
                OhlcField::Close => 3,
                OhlcField::Volume => 4,
                OhlcField::Amount => 5,
            };
            columns[i].as_str()
        };
        let problems = &mut self.problems;
        rows.retain_mut(|(row, bar)| {
            bar.volume *= per;
            match validate::check_bar(bar) {
                Ok(None) => true,
                Ok(Some(repair)) => {
                    let kind = match repair {
                        validate::Repair::SwappedHighLow => {
                            "rows with high and low swapped (repaired)"
                        }
                        validate::Repair::ClampedRoundingNoise => {
                            "rows with high/low clamped for rounding noise"
                        }
                    };
                    problems.warn(kind, Some(*row), Some(column(OhlcField::High)), || {
                        repair.to_string()
                    });
                    true
                }
                Err(issue) => {
                    problems.reject(Some(*row), Some(column(issue.field())), || {
                        issue.to_string()
                    });
                    false
                }
            }
        });
        let kept = rows;

        let frequency = self
            .opts
            .frequency
            .unwrap_or_else(|| infer_frequency(&kept));
        let prepared = validate::prepare_series(kept, frequency);
        let date_col = self.map.written(self.map.date).to_string();
        let mut poisoned: HashSet<u64> = HashSet::new();
        for (row, issue) in &prepared.issues {
            match issue {
                SeriesIssue::RepeatedRow { .. } => {
                    self.problems.warn(
                        "repeated rows (dropped)",
                        Some(*row),
                        Some(&date_col),
                        || issue.to_string(),
                    );
                }
                SeriesIssue::ConflictingDuplicate { ts, first_row } => {
                    self.problems
                        .reject(Some(*row), Some(&date_col), || issue.to_string());
                    if poisoned.insert(*first_row) {
                        let (ts, row) = (*ts, *row);
                        self.problems.reject(Some(*first_row), Some(&date_col), || {
                            format!(
                                "timestamp {ts} appears again in row {row} with different values; both rows rejected"
                            )
                        });
                    }
                }
                SeriesIssue::OffGrid { .. } => {
                    self.problems
                        .reject(Some(*row), Some(&date_col), || issue.to_string());
                }
            }
        }
        if prepared.reordered {
            self.problems
                .warn("notes on row order", None, Some(&date_col), || {
                    format!("{symbol}: rows were not in time order; sorted by time")
                });
        }
        if prepared.bars.is_empty() {
            return None;
        }
        let name = match &self.opts.name {
            Some(n) if single || self.opts.symbol.as_ref() == Some(&symbol) => Some(n.clone()),
            _ => name,
        };
        Some(ParsedSeries {
            symbol,
            name,
            frequency,
            adjustment: self.opts.adjustment,
            volume_unit: unit,
            bars: prepared.bars,
        })
    }

    /// Picks the volume unit of a series (see [`UnitSource`]) and checks it against the
    /// amount: `amount / volume_shares` must lie within `[low, high]` (±1 %).
    fn volume_unit(
        &mut self,
        symbol: &Symbol,
        is_index: bool,
        rows: &mut [(u64, Bar)],
    ) -> VolumeUnit {
        let source = match self.opts.volume_unit {
            Some(u) => UnitSource::User(u),
            None => self.flavor.volume,
        };
        let vol_col = self.map.written(self.map.volume).to_string();
        if is_index {
            // An index's amount/volume is no price: nothing to check against.
            if let UnitSource::Guess(_) = source {
                self.problems.warn(
                    "notes on units",
                    None,
                    Some(&vol_col),
                    || format!("{symbol} is an index, whose volume unit cannot be checked; assumed lots (pass a volume unit to override)"),
                );
                return VolumeUnit::Lots;
            }
            return source.unit();
        }
        let vote = Vote::count(rows);
        let amount_is_turnover = self.map.amount.is_some_and(|i| {
            self.map
                .headers
                .get(i)
                .is_some_and(|h| h.norm == "turnover")
        });
        if amount_is_turnover && !vote.money_like() {
            let col = self.map.amount.map(|i| self.map.written(i).to_string());
            for (_, b) in rows.iter_mut() {
                b.amount = None;
            }
            self.problems
                .warn("notes on units", None, col.as_deref(), || {
                    "this column does not look like turnover in CNY (a turnover rate?); ignored"
                        .to_string()
                });
            return match source {
                UnitSource::Guess(u) => {
                    self.warn_unit_guess(symbol, u, &vol_col);
                    u
                }
                other => other.unit(),
            };
        }
        let decided = vote.decisive();
        match source {
            UnitSource::Guess(default) => match decided {
                Some(u) => u,
                None => {
                    self.warn_unit_guess(symbol, default, &vol_col);
                    default
                }
            },
            UnitSource::User(u) | UnitSource::Known(u) => {
                match decided {
                    Some(other) if other != u => {
                        let said = if matches!(source, UnitSource::User(_)) {
                            "the import options say"
                        } else {
                            "this layout's volume is in"
                        };
                        let (n, m) = (vote.count_for(other), vote.n);
                        self.problems.warn("notes on units", None, Some(&vol_col), || {
                            format!(
                                "{symbol}: {said} {}, but amount/volume matches {} on {n} of {m} rows; kept {} (pass the volume unit to override)",
                                unit_name(u),
                                unit_name(other),
                                unit_name(u)
                            )
                        });
                    }
                    None if vote.n >= 5 && !vote.money_like() => {
                        let amount_col = self.map.amount.map(|i| self.map.written(i).to_string());
                        let n = vote.n;
                        self.problems.warn("notes on units", None, amount_col.as_deref(), || {
                            format!(
                                "{symbol}: amount/volume is outside [low, high] on most of {n} rows; is the amount in CNY?"
                            )
                        });
                    }
                    _ => {}
                }
                u
            }
        }
    }

    fn warn_unit_guess(&mut self, symbol: &Symbol, unit: VolumeUnit, col: &str) {
        self.problems.warn("notes on units", None, Some(col), || {
            format!(
                "{symbol}: cannot tell the volume unit (no usable amount column to check it against); assumed {} (pass a volume unit to override)",
                unit_name(unit)
            )
        });
    }
}

#[cold]
fn bad_date(cell: Field<'_>) -> String {
    format!(
        "`{}` is not a date (expected e.g. 2024-09-02, 2024/9/2, 20240902 or 2024-09-02 09:35)",
        cell.show()
    )
}

#[cold]
fn bad_number(cell: Field<'_>) -> String {
    format!("`{}` is not a number", cell.show())
}

//! The bars a backtest runs over: daily bars per symbol.

use crate::domain::{Bar, Symbol};
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// Daily bars per symbol, each ascending by date.
#[derive(Debug, Clone, Default)]
pub struct Universe {
    pub(super) series: BTreeMap<Symbol, Vec<Bar>>,
    /// Position of each symbol in `series`' order: the engine keeps per-symbol state in
    /// vectors in that order instead of maps.
    pub(super) index: crate::domain::SymbolMap<usize>,
    /// Every date on which at least one symbol has a bar, ascending.
    pub(super) dates: Vec<NaiveDate>,
    /// An index the report compares with; never traded.
    pub(super) benchmark: Option<(Symbol, Vec<Bar>)>,
    /// Each date's last close of every symbol (on or before the date; 0 before its first
    /// bar), date by date: made once and read by every run over the universe, so marking to
    /// market walks one row instead of every symbol's own bars.
    pub(super) closes: std::sync::OnceLock<Vec<f64>>,
    /// Each date's count of every symbol's bars on or before the date, laid out as `closes`:
    /// a run reads a day's row instead of walking each symbol's bars.
    pub(super) seen: std::sync::OnceLock<Vec<u32>>,
    /// [`Universe::close_rows`]' panel, made once: each strategy run over the universe takes a
    /// copy instead of turning the date-by-date tables around again.
    pub(super) close_panel: std::sync::OnceLock<ClosePanel>,
    /// Point-in-time facts from reference data, when the universe has them.
    pub(super) dated: PointInTime,
}

/// Closes `[symbol][date]` (missing where the symbol has no bar) and whether it has one.
pub(crate) type ClosePanel = (Vec<Vec<f64>>, Vec<Vec<bool>>);

/// A name's PE and PB from a day on: `(day, pe, pb)`.
pub type Valuation = (NaiveDate, Option<f64>, Option<f64>);

/// A name's stays in an index: `(from, to)`, `to` open while it is still a member.
pub type Stays = Vec<(NaiveDate, Option<NaiveDate>)>;

impl PointInTime {
    /// The universe's point-in-time facts from stored reference data: sectors from industries,
    /// float shares, and status; `members` are the index stays that gate buying (none: every
    /// name always counts, as with `at`).
    pub fn from_reference(
        data: crate::reference::ReferenceData,
        members: Option<BTreeMap<String, Stays>>,
    ) -> PointInTime {
        let mut dated = PointInTime {
            members: members.map(|m| {
                m.into_iter()
                    .filter_map(|(s, stays)| Some((s.parse::<Symbol>().ok()?, stays)))
                    .collect()
            }),
            ..PointInTime::default()
        };
        for r in &data.industries {
            if let (Ok(sym), Some(sector)) = (
                r.symbol.parse::<Symbol>(),
                crate::reference::sectors::sector_of(&r.industry),
            ) {
                dated
                    .sectors
                    .entry(sym)
                    .or_default()
                    .push((r.from, r.to, sector));
            }
        }
        for r in &data.shares {
            if let Ok(sym) = r.symbol.parse::<Symbol>() {
                dated
                    .float_shares
                    .entry(sym.clone())
                    .or_default()
                    .push((r.date, r.float_shares));
                dated
                    .valuations
                    .entry(sym)
                    .or_default()
                    .push((r.date, r.pe, r.pb));
            }
        }
        for r in &data.northbound {
            if let (Ok(sym), Some(ratio)) = (r.symbol.parse::<Symbol>(), r.ratio) {
                dated
                    .northbound
                    .entry(sym)
                    .or_default()
                    .push((r.date, ratio));
            }
        }
        dated.status = data.status;
        dated
    }
}

/// What the store's reference data says of the universe's names on a day.
#[derive(Debug, Clone, Default)]
pub struct PointInTime {
    /// Each name's stays in the universe's index (`None`: no index, every name always counts).
    pub members: Option<BTreeMap<Symbol, Stays>>,
    /// Each name's float shares, `(day, shares)` ascending: the latest on or before a day holds.
    pub float_shares: BTreeMap<Symbol, Vec<(NaiveDate, f64)>>,
    /// Each name's sectors over time: `(from, to, sector)`.
    pub sectors: BTreeMap<Symbol, Vec<(NaiveDate, Option<NaiveDate>, crate::reference::Sector)>>,
    /// The names' listing, ST and suspension periods, for the engine's rules.
    pub status: Vec<crate::reference::StatusRecord>,
    /// Each name's PE and PB, `(day, pe, pb)` ascending: the latest on or before a day holds.
    pub valuations: BTreeMap<Symbol, Vec<Valuation>>,
    /// Each name's northbound holding in percent of its issued A shares, `(day, percent)`
    /// ascending: disclosed the next morning, so a day reads the latest from before it.
    pub northbound: BTreeMap<Symbol, Vec<(NaiveDate, f64)>>,
}

impl Universe {
    pub fn new() -> Universe {
        Universe::default()
    }

    /// Sets the index the report compares the strategy with (not part of the tradable set).
    pub fn set_benchmark(&mut self, symbol: Symbol, mut bars: Vec<Bar>) {
        bars.sort_by_key(|b| b.ts);
        self.benchmark = Some((symbol, bars));
    }

    pub fn benchmark(&self) -> Option<(&Symbol, &[Bar])> {
        self.benchmark.as_ref().map(|(s, b)| (s, b.as_slice()))
    }

    pub fn insert(&mut self, symbol: Symbol, mut bars: Vec<Bar>) {
        bars.sort_by_key(|b| b.ts);
        let mut dates: Vec<NaiveDate> = bars.iter().map(|b| b.ts.date()).collect();
        if self.series.insert(symbol, bars).is_some() {
            // The replaced series may take dates with it: count every series afresh.
            dates = self
                .series
                .values()
                .flat_map(|b| b.iter().map(|b| b.ts.date()))
                .collect();
        } else {
            dates.extend_from_slice(&self.dates);
        }
        dates.sort_unstable();
        dates.dedup();
        self.dates = dates;
        self.index = self
            .series
            .keys()
            .enumerate()
            .map(|(i, s)| (s.clone(), i))
            .collect();
        self.closes = std::sync::OnceLock::new();
        self.seen = std::sync::OnceLock::new();
        self.close_panel = std::sync::OnceLock::new();
    }

    /// [`Universe::closes`]'s rows: `[date][symbol]`, in `series`' order.
    pub(crate) fn closes(&self) -> &[f64] {
        self.closes.get_or_init(|| {
            // The last bar so far is the one before the count of bars so far.
            let series: Vec<&Vec<Bar>> = self.series.values().collect();
            let n = series.len().max(1);
            self.seen()
                .iter()
                .enumerate()
                .map(|(i, &c)| match c {
                    0 => 0.0,
                    c => series[i % n][c as usize - 1].close,
                })
                .collect()
        })
    }

    /// [`Universe::seen`]'s rows: `[date][symbol]`, in `series`' order.
    pub(crate) fn seen(&self) -> &[u32] {
        self.seen.get_or_init(|| {
            let n = self.series.len();
            let mut out = vec![0; n * self.dates.len()];
            for (k, bars) in self.series.values().enumerate() {
                let mut j = 0;
                for (d, day) in self.dates.iter().enumerate() {
                    while j < bars.len() && bars[j].ts.date() <= *day {
                        j += 1;
                    }
                    out[d * n + k] = j as u32;
                }
            }
            out
        })
    }

    pub fn symbols(&self) -> impl Iterator<Item = &Symbol> {
        self.series.keys()
    }

    /// Every symbol's bars.
    pub fn series(&self) -> &BTreeMap<Symbol, Vec<Bar>> {
        &self.series
    }

    /// Every date on which at least one symbol has a bar.
    pub fn dates(&self) -> Vec<NaiveDate> {
        self.dates.clone()
    }

    /// Every symbol's close on every date (missing where it has no bar) and whether it has a
    /// bar, `[symbol][date]`: a panel's `$close`, from the tables every run shares, so a
    /// strategy made per run does not read each bar again.
    pub(crate) fn close_rows(&self) -> ClosePanel {
        self.close_panel
            .get_or_init(|| self.make_close_panel())
            .clone()
    }

    fn make_close_panel(&self) -> ClosePanel {
        let (n, days) = (self.series.len(), self.dates.len());
        let (seen, closes) = (self.seen(), self.closes());
        let mut close = vec![vec![f64::NAN; days]; n];
        let mut present = vec![vec![false; days]; n];
        // A block of dates at a time: each symbol's rows take eight values per visit.
        for d0 in (0..days).step_by(8) {
            for d in d0..(d0 + 8).min(days) {
                let row = &seen[d * n..(d + 1) * n];
                let before = (d > 0).then(|| &seen[(d - 1) * n..d * n]);
                for s in 0..n {
                    if row[s] > before.map_or(0, |b| b[s]) {
                        present[s][d] = true;
                        close[s][d] = closes[d * n + s];
                    }
                }
            }
        }
        (close, present)
    }

    pub fn set_point_in_time(&mut self, mut dated: PointInTime) {
        for v in dated.float_shares.values_mut() {
            v.sort_by_key(|x| x.0);
        }
        for v in dated.valuations.values_mut() {
            v.sort_by_key(|x| x.0);
        }
        for v in dated.northbound.values_mut() {
            v.sort_by_key(|x| x.0);
        }
        self.dated = dated;
    }

    /// Whether `symbol` is in the universe's index on `day` (always, without an index).
    pub fn is_member(&self, symbol: &Symbol, day: NaiveDate) -> bool {
        self.dated.members.as_ref().is_none_or(|m| {
            m.get(symbol).is_some_and(|stays| {
                stays
                    .iter()
                    .any(|(f, t)| *f <= day && t.is_none_or(|t| day <= t))
            })
        })
    }

    /// `symbol`'s float shares on `day`: the latest figure on or before it.
    pub fn float_shares(&self, symbol: &Symbol, day: NaiveDate) -> Option<f64> {
        let v = self.dated.float_shares.get(symbol)?;
        let i = v.partition_point(|x| x.0 <= day);
        i.checked_sub(1).map(|i| v[i].1)
    }

    /// `symbol`'s PE and PB on `day`: the latest figures on or before it.
    pub fn valuation(&self, symbol: &Symbol, day: NaiveDate) -> (Option<f64>, Option<f64>) {
        let Some(v) = self.dated.valuations.get(symbol) else {
            return (None, None);
        };
        let i = v.partition_point(|x| x.0 <= day);
        i.checked_sub(1).map_or((None, None), |i| (v[i].1, v[i].2))
    }

    /// `symbol`'s northbound holding (percent of its issued A shares) as known on `day`: the
    /// latest figure from a day before it, since HKEX discloses a day's holdings the next morning.
    pub fn northbound(&self, symbol: &Symbol, day: NaiveDate) -> Option<f64> {
        let v = self.dated.northbound.get(symbol)?;
        let i = v.partition_point(|x| x.0 < day);
        i.checked_sub(1).map(|i| v[i].1)
    }

    /// Whether any name has northbound holdings.
    pub fn has_northbound(&self) -> bool {
        !self.dated.northbound.is_empty()
    }

    /// Whether any name has a PE or PB figure.
    pub fn has_valuations(&self) -> bool {
        self.dated
            .valuations
            .values()
            .flatten()
            .any(|(_, pe, pb)| pe.is_some() || pb.is_some())
    }

    /// `symbol`'s sector on `day`, from the industry in force.
    pub fn sector(&self, symbol: &Symbol, day: NaiveDate) -> Option<crate::reference::Sector> {
        self.dated
            .sectors
            .get(symbol)?
            .iter()
            .find_map(|(f, t, s)| (*f <= day && t.is_none_or(|t| day <= t)).then_some(*s))
    }

    /// Whether any name has a sector (`industry_neutral` needs them).
    pub fn has_sectors(&self) -> bool {
        !self.dated.sectors.is_empty()
    }

    /// The names' stored listing, ST and suspension periods.
    pub fn status(&self) -> &[crate::reference::StatusRecord] {
        &self.dated.status
    }

    /// Whether any name has float shares (float-cap weights need them).
    pub fn has_float_shares(&self) -> bool {
        !self.dated.float_shares.is_empty()
    }
}

//! Index membership from the dated constituent lists sources publish (Tushare's `index_weight`,
//! monthly): a stock is a member from the first list it is on until the day before the first
//! later list it is missing from. Between two lists the earlier one holds, which is what a
//! reader on that day could have known.

use super::MemberRecord;
use chrono::NaiveDate;
use std::collections::{BTreeMap, BTreeSet};

/// One dated list: the index's constituents on `date`, with their weights (percent) if known.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub date: NaiveDate,
    pub members: Vec<(String, Option<f64>)>,
}

/// Stays in `index` from its snapshots, in any order. A stock on the latest list stays open
/// (`to` is `None`).
pub fn stays(index: &str, snapshots: &[Snapshot]) -> Vec<MemberRecord> {
    let mut dated: BTreeMap<NaiveDate, BTreeMap<&str, Option<f64>>> = BTreeMap::new();
    for s in snapshots {
        let day = dated.entry(s.date).or_default();
        for (sym, w) in &s.members {
            day.insert(sym.as_str(), *w);
        }
    }
    let mut open: BTreeMap<&str, MemberRecord> = BTreeMap::new();
    let mut out = Vec::new();
    for (date, list) in &dated {
        let leaving: Vec<&str> = open
            .keys()
            .copied()
            .filter(|s| !list.contains_key(s))
            .collect();
        for sym in leaving {
            let mut stay = open.remove(sym).expect("open");
            stay.to = date.pred_opt();
            out.push(stay);
        }
        for (sym, w) in list {
            open.entry(sym).or_insert_with(|| MemberRecord {
                index: index.to_string(),
                symbol: sym.to_string(),
                from: *date,
                to: None,
                weight: *w,
            });
        }
    }
    out.extend(open.into_values());
    out.sort_by(|a, b| (&a.symbol, a.from).cmp(&(&b.symbol, b.from)));
    out
}

/// `stored`'s stays in one index carried forward by a later list of its members (`snapshot`,
/// a list such as CSIndex publishes each day): an open stay missing from the list ends the day
/// before it, a listed name without an open stay starts on it, everything else stays. A list
/// the stored history already passed (a stay that ends on or after its day) is refused, since
/// it cannot be placed without rewriting what was stored; the same list twice changes nothing.
pub fn carry_forward(
    index: &str,
    stored: &[MemberRecord],
    snapshot: &Snapshot,
) -> Result<Vec<MemberRecord>, String> {
    let day = snapshot.date;
    if let Some(later) = stored
        .iter()
        .filter(|m| m.index == index)
        .find(|m| m.to.is_some_and(|t| t >= day) || m.from > day)
    {
        return Err(format!(
            "the list of {index} dated {day} is older than the stored history ({} {}..{})",
            later.symbol,
            later.from,
            later.to.map_or(String::new(), |t| t.to_string())
        ));
    }
    let listed: BTreeMap<&str, Option<f64>> = snapshot
        .members
        .iter()
        .map(|(s, w)| (s.as_str(), *w))
        .collect();
    let mut out: Vec<MemberRecord> = Vec::new();
    let mut open: BTreeSet<&str> = BTreeSet::new();
    for m in stored.iter().filter(|m| m.index == index) {
        let mut m = m.clone();
        if m.to.is_none() {
            if listed.contains_key(m.symbol.as_str()) {
                open.insert(listed.get_key_value(m.symbol.as_str()).expect("listed").0);
            } else {
                m.to = day.pred_opt();
            }
        }
        out.push(m);
    }
    for (sym, w) in &listed {
        if !open.contains(sym) {
            out.push(MemberRecord {
                index: index.to_string(),
                symbol: sym.to_string(),
                from: day,
                to: None,
                weight: *w,
            });
        }
    }
    out.sort_by(|a, b| (&a.symbol, a.from).cmp(&(&b.symbol, b.from)));
    Ok(out)
}

/// The members of `index` on `day` among `records`.
pub fn members_on(records: &[MemberRecord], index: &str, day: NaiveDate) -> BTreeSet<String> {
    records
        .iter()
        .filter(|m| m.index == index && m.holds_on(day))
        .map(|m| m.symbol.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn snap(date: &str, syms: &[&str]) -> Snapshot {
        Snapshot {
            date: d(date),
            members: syms.iter().map(|s| (s.to_string(), Some(1.0))).collect(),
        }
    }

    #[test]
    fn a_later_list_carries_the_stored_stays_forward_and_an_older_one_is_refused() {
        let stored = stays(
            "000905.SH",
            &[
                snap("2023-11-30", &["A", "B", "C"]),
                snap("2023-12-29", &["A", "B"]),
            ],
        );
        let today = snap("2026-12-04", &["A", "D"]);
        let after = carry_forward("000905.SH", &stored, &today).unwrap();
        let of = |s: &str| {
            after
                .iter()
                .filter(|m| m.symbol == s)
                .map(|m| (m.from, m.to))
                .collect::<Vec<_>>()
        };
        assert_eq!(of("A"), [(d("2023-11-30"), None)]);
        assert_eq!(of("B"), [(d("2023-11-30"), Some(d("2026-12-03")))]);
        assert_eq!(of("C"), [(d("2023-11-30"), Some(d("2023-12-28")))]);
        assert_eq!(of("D"), [(d("2026-12-04"), None)]);
        // The same list again changes nothing; with nothing stored it is the whole history.
        assert_eq!(carry_forward("000905.SH", &after, &today).unwrap(), after);
        assert_eq!(
            carry_forward("000905.SH", &[], &today).unwrap(),
            stays("000905.SH", std::slice::from_ref(&today))
        );
        let e = carry_forward("000905.SH", &after, &snap("2026-12-01", &["A"])).unwrap_err();
        assert!(e.contains("older than the stored history"), "{e}");
    }

    #[test]
    fn a_stock_joins_on_its_first_list_and_leaves_the_day_before_the_list_without_it() {
        let snaps = [
            snap("2023-12-29", &["A", "B"]),
            snap("2023-11-30", &["A", "B", "C"]),
            snap("2024-01-31", &["A", "D"]),
            snap("2024-02-29", &["A", "D", "B"]),
        ];
        let stays = stays("000905.SH", &snaps);
        let of = |s: &str| {
            stays
                .iter()
                .filter(|m| m.symbol == s)
                .map(|m| (m.from, m.to))
                .collect::<Vec<_>>()
        };
        assert_eq!(of("A"), [(d("2023-11-30"), None)]);
        assert_eq!(
            of("B"),
            [
                (d("2023-11-30"), Some(d("2024-01-30"))),
                (d("2024-02-29"), None)
            ]
        );
        assert_eq!(of("C"), [(d("2023-11-30"), Some(d("2023-12-28")))]);
        assert_eq!(of("D"), [(d("2024-01-31"), None)]);
        let on = |day: &str| members_on(&stays, "000905.SH", d(day));
        assert_eq!(on("2023-12-15"), ["A", "B", "C"].map(String::from).into());
        assert_eq!(on("2024-01-15"), ["A", "B"].map(String::from).into());
        assert_eq!(on("2024-02-01"), ["A", "D"].map(String::from).into());
        assert!(on("2023-11-29").is_empty());
        // The records pass the checks (no overlap).
        let data = super::super::ReferenceData {
            members: stays,
            ..Default::default()
        };
        data.check().unwrap();
    }
}

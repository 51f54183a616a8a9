//! Seed 003's 11 sectors, and the table (`sectors.csv`, in the repository beside this file) that
//! maps a source's industry — a Tushare industry name or a Shenwan level-1 code or name — to one.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sector {
    Finance,
    Consumer,
    Technology,
    Healthcare,
    Industrial,
    Materials,
    Energy,
    Utilities,
    RealEstate,
    Telecom,
    Other,
}

impl Sector {
    pub const ALL: [Sector; 11] = [
        Sector::Finance,
        Sector::Consumer,
        Sector::Technology,
        Sector::Healthcare,
        Sector::Industrial,
        Sector::Materials,
        Sector::Energy,
        Sector::Utilities,
        Sector::RealEstate,
        Sector::Telecom,
        Sector::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Sector::Finance => "finance",
            Sector::Consumer => "consumer",
            Sector::Technology => "technology",
            Sector::Healthcare => "healthcare",
            Sector::Industrial => "industrial",
            Sector::Materials => "materials",
            Sector::Energy => "energy",
            Sector::Utilities => "utilities",
            Sector::RealEstate => "real_estate",
            Sector::Telecom => "telecom",
            Sector::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Sector> {
        Sector::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

const TABLE: &str = include_str!("sectors.csv");

fn table() -> &'static HashMap<&'static str, Sector> {
    static MAP: OnceLock<HashMap<&'static str, Sector>> = OnceLock::new();
    MAP.get_or_init(|| {
        TABLE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .skip(1)
            .filter_map(|l| {
                let (industry, sector) = l.split_once(',')?;
                Some((industry.trim(), Sector::parse(sector.trim())?))
            })
            .collect()
    })
}

/// The sector of a source's industry, or `None` when the table does not know it.
pub fn sector_of(industry: &str) -> Option<Sector> {
    table().get(industry.trim()).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_of_the_table_names_a_sector_and_no_industry_twice() {
        let mut seen = std::collections::HashSet::new();
        for (n, line) in TABLE.lines().enumerate() {
            if line.starts_with('#') || line == "industry,sector" || line.is_empty() {
                continue;
            }
            let (industry, sector) = line.split_once(',').expect("two columns");
            assert!(Sector::parse(sector).is_some(), "line {}: {line}", n + 1);
            assert!(seen.insert(industry), "line {}: {industry} twice", n + 1);
        }
        assert_eq!(table().len(), seen.len());
        // Every sector is reachable, and both vocabularies map.
        for s in Sector::ALL {
            assert!(table().values().any(|v| *v == s), "{s:?}");
        }
        assert_eq!(sector_of("银行"), Some(Sector::Finance));
        assert_eq!(sector_of("801780"), Some(Sector::Finance));
        assert_eq!(sector_of("半导体"), Some(Sector::Technology));
        assert_eq!(sector_of("火星采矿"), None);
    }
}

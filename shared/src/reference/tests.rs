use super::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn good() -> ReferenceData {
    ReferenceData {
        source: "tushare".into(),
        industries: vec![IndustryRecord {
            symbol: "600000.SH".into(),
            industry: "银行".into(),
            from: d("1999-11-10"),
            to: None,
        }],
        shares: vec![SharesRecord {
            symbol: "600000.SH".into(),
            date: d("2024-09-13"),
            total_shares: 2.935e10,
            float_shares: 2.935e10,
            pe: Some(5.1),
            pb: Some(0.4),
        }],
        members: vec![MemberRecord {
            index: "000300.SH".into(),
            symbol: "600000.SH".into(),
            from: d("2005-04-08"),
            to: None,
            weight: Some(0.3),
        }],
        status: vec![
            StatusRecord {
                symbol: "600000.SH".into(),
                kind: StatusKind::Listed,
                from: d("1999-11-10"),
                to: None,
                note: None,
            },
            StatusRecord {
                symbol: "600000.SH".into(),
                kind: StatusKind::Suspended,
                from: d("2018-01-02"),
                to: Some(d("2018-01-05")),
                note: None,
            },
        ],
        northbound: vec![NorthboundRecord {
            symbol: "600000.SH".into(),
            date: d("2024-09-13"),
            shares: 6.1e8,
            ratio: Some(2.08),
        }],
        member_lists: Vec::new(),
    }
}

fn refused(data: &ReferenceData) -> String {
    data.check().expect_err("refused").to_string()
}

#[test]
fn good_reference_data_passes() {
    good().check().unwrap();
}

#[test]
fn an_unknown_industry_is_refused_naming_the_record_and_the_code() {
    let mut data = good();
    data.industries[0].industry = "火星采矿".into();
    let e = refused(&data);
    assert!(
        e.starts_with("industries[0] 600000.SH 火星采矿 1999-11-10..:"),
        "{e}"
    );
    assert!(e.contains("unknown industry code `火星采矿`"), "{e}");
}

#[test]
fn overlapping_ranges_are_refused_naming_both_records() {
    let mut data = good();
    data.members.push(MemberRecord {
        from: d("2010-01-04"),
        to: Some(d("2012-01-04")),
        ..data.members[0].clone()
    });
    let e = refused(&data);
    assert!(
        e.starts_with("members[1] 000300.SH 600000.SH 2010-01-04..2012-01-04"),
        "{e}"
    );
    assert!(
        e.contains("overlaps members[0] 000300.SH 600000.SH 2005-04-08.."),
        "{e}"
    );

    // Touching is not overlapping; the same range in another index is not either.
    let mut data = good();
    data.members[0].to = Some(d("2010-01-03"));
    data.members.push(MemberRecord {
        from: d("2010-01-04"),
        to: None,
        ..data.members[0].clone()
    });
    data.members.push(MemberRecord {
        index: "000016.SH".into(),
        ..data.members[0].clone()
    });
    data.check().unwrap();

    let mut data = good();
    data.status.push(StatusRecord {
        from: d("2018-01-05"),
        to: Some(d("2018-01-09")),
        ..data.status[1].clone()
    });
    assert!(refused(&data).contains("overlaps status[1]"));
}

#[test]
fn negative_or_impossible_shares_are_refused() {
    let mut data = good();
    data.shares[0].float_shares = -1.0;
    let e = refused(&data);
    assert!(e.starts_with("shares[0] 600000.SH 2024-09-13:"), "{e}");
    assert!(e.contains("float_shares is -1"), "{e}");
    let mut data = good();
    data.shares[0].float_shares = 3e10;
    assert!(refused(&data).contains("exceed total_shares"));
}

#[test]
fn impossible_or_repeated_northbound_holdings_are_refused() {
    let mut data = good();
    data.northbound[0].shares = -1.0;
    assert!(refused(&data).starts_with("northbound[0] 600000.SH 2024-09-13: shares is -1"));
    let mut data = good();
    data.northbound[0].ratio = Some(130.0);
    assert!(refused(&data).contains("ratio is 130"));
    let mut data = good();
    data.northbound.push(data.northbound[0].clone());
    let e = refused(&data);
    assert!(
        e.starts_with("northbound[1] 600000.SH 2024-09-13: a second holding"),
        "{e}"
    );
}

#[test]
fn a_member_list_before_the_index_existed_is_refused() {
    let mut data = good();
    data.members[0].from = d("2001-06-01");
    let e = refused(&data);
    assert!(e.contains("000300.SH did not exist on 2001-06-01"), "{e}");
    assert!(e.contains("base day is 2004-12-31"), "{e}");
}

#[test]
fn a_range_that_ends_before_it_starts_is_refused() {
    let mut data = good();
    data.status[1].to = Some(d("2017-12-29"));
    assert!(refused(&data).contains("ends (2017-12-29) before it starts (2018-01-02)"));
}

#[test]
fn the_file_round_trips_and_refuses_unknown_keys() {
    let data = good();
    let text = serde_json::to_string(&data).unwrap();
    assert_eq!(serde_json::from_str::<ReferenceData>(&text).unwrap(), data);
    let e = serde_json::from_str::<ReferenceData>(r#"{"source":"x","sharez":[]}"#).unwrap_err();
    assert!(e.to_string().contains("sharez"), "{e}");
}

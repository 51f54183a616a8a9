use super::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// A public TDX server's 2017 reply to `000001` daily, count 10, as printed in a comment of
/// pytdx 1.72's `get_security_bars.py`: market data, not code. The expected rows are what
/// pytdx's decoder reads from the same bytes (docs/data-sources.md, "TDX").
const CAPTURE: &str = "b1cb74000c01086401002d05aa00aa000a006ec73301b28c011e3254a081ad4816d6984d6fc7330154ae0182024ab0a51d4978090c4e70c733015414285e8003bb488b59a64d71c73301140086015ec059274945cb154e74c73301006828724060f648ae0edc4d75c73301000a1e7c40f6da48a37dc24d76c7330100680ad0018052b748ad68a24d77c7330100680072a0f0a448f8b9914d78c733010054285ee0a48b48c294764d7bc733010aa401b8014a001def4874abd44d";

const DECODED: [(&str, f64, f64, f64, f64, f64, f64); 10] = [
    ("2017-06-06", 9.01, 9.06, 8.99, 9.04, 355341.0, 320520896.0),
    ("2017-06-07", 9.02, 9.15, 9.01, 9.13, 645723.0, 587357696.0),
    ("2017-06-08", 9.11, 9.15, 9.08, 9.13, 383004.0, 348860768.0),
    ("2017-06-09", 9.15, 9.22, 9.12, 9.15, 685468.0, 628281664.0),
    ("2017-06-12", 9.15, 9.19, 9.1, 9.11, 504578.0, 461493696.0),
    ("2017-06-13", 9.11, 9.14, 9.05, 9.12, 448434.0, 407876704.0),
    ("2017-06-14", 9.12, 9.13, 9.04, 9.08, 375444.0, 340596128.0),
    ("2017-06-15", 9.08, 9.08, 9.03, 9.04, 337797.0, 305610496.0),
    ("2017-06-16", 9.04, 9.08, 9.01, 9.02, 285991.0, 258559008.0),
    ("2017-06-19", 9.03, 9.15, 9.02, 9.13, 489704.0, 446000768.0),
];

fn decode_capture() -> Vec<WireBar> {
    let bytes = hex(CAPTURE);
    let h = header(bytes[..HEADER_LEN].try_into().unwrap()).unwrap();
    assert_eq!(
        h,
        Header {
            zipped: 170,
            raw: 170
        }
    );
    decode_bars(&body(h, &bytes[HEADER_LEN..]).unwrap(), 9, false).unwrap()
}

#[test]
fn the_2017_capture_decodes_to_what_pytdx_reads() {
    let bars = decode_capture();
    assert_eq!(bars.len(), 10);
    for (b, (day, o, h, l, c, v, a)) in bars.iter().zip(DECODED) {
        assert_eq!(b.ts.date().to_string(), day);
        assert_eq!((b.open, b.high, b.low, b.close), (o, h, l, c), "{day}");
        assert_eq!((b.volume, b.amount), (v, a), "{day}");
    }
    // Volume is in lots: amount / volume is about 100 × the price.
    let last = bars[9];
    assert!((last.amount / last.volume / 100.0 - last.close).abs() < 0.1);
}

#[test]
fn the_request_frames_match_the_documented_layout() {
    let req = |market, code: &str, category, count| BarsRequest {
        market,
        code: code.as_bytes().try_into().unwrap(),
        category,
        start: 0,
        count,
    };
    // docs/data-sources.md: 38 bytes, tag, length 28 twice, 0x052D, market, code, category, 1,
    // start, count, ten zero bytes.
    let daily = req(0, "000001", 9, 10).encode();
    assert_eq!(
        daily.to_vec(),
        hex("0c01086401011c001c002d0500003030303030310900010000000a0000000000000000000000")
    );
    let five = req(0, "000001", category(Frequency::M5), 48).encode();
    assert_eq!(
        five.to_vec(),
        hex("0c01086401011c001c002d050000303030303031000001000000300000000000000000000000")
    );
    let sh = req(1, "600519", 9, MAX_ROWS);
    assert_eq!(
        sh.encode().to_vec(),
        hex("0c01086401011c001c002d050100363030353139090001000000200300000000000000000000")
    );
    assert_eq!(BarsRequest::decode(&sh.encode()), Some(sh));
    assert_eq!(frame_len(sh.encode()[..10].try_into().unwrap()), 38);
    for setup in SETUP {
        assert_eq!(frame_len(setup[..10].try_into().unwrap()), setup.len());
    }
}

#[test]
fn bars_round_trip_through_the_encoder_compressed_or_not() {
    // Twenty copies of the capture's rows: long enough for zlib to shrink.
    let daily: Vec<WireBar> = (0..20).flat_map(|_| decode_capture()).collect();
    for compress in [false, true] {
        let frame = reply(BARS_COMMAND, &encode_bars(&daily, 9, false), compress);
        let h = header(frame[..HEADER_LEN].try_into().unwrap()).unwrap();
        assert_eq!(compress, h.zipped != h.raw);
        let back = decode_bars(&body(h, &frame[HEADER_LEN..]).unwrap(), 9, false).unwrap();
        assert_eq!(back, daily);
    }
    // Minute stamps, index rows, a large negative step and a price above 2^20 thousandths.
    let at = |d: &str, t: &str| {
        chrono::NaiveDateTime::parse_from_str(&format!("{d} {t}"), "%Y-%m-%d %H:%M").unwrap()
    };
    let minutes = vec![
        WireBar {
            ts: at("2024-09-13", "09:35"),
            open: 3150.125,
            high: 3160.5,
            low: 3149.0,
            close: 3155.0,
            volume: 1.5e6,
            amount: 2.0e9,
        },
        WireBar {
            ts: at("2024-09-13", "15:00"),
            open: 12.5,
            high: 12.75,
            low: 12.0,
            close: 12.25,
            volume: 100.0,
            amount: 1250.0,
        },
    ];
    let body_bytes = encode_bars(&minutes, 0, true);
    assert_eq!(decode_bars(&body_bytes, 0, true).unwrap(), minutes);
}

#[test]
fn a_cut_or_foreign_reply_is_an_error_not_a_panic() {
    let bytes = hex(CAPTURE);
    let mut wrong = bytes.clone();
    wrong[0] = 0;
    assert!(matches!(
        header(wrong[..HEADER_LEN].try_into().unwrap()),
        Err(WireError::Magic(_))
    ));
    let h = header(bytes[..HEADER_LEN].try_into().unwrap()).unwrap();
    assert!(matches!(
        body(h, &bytes[HEADER_LEN..100]),
        Err(WireError::Short { .. })
    ));
    let full = body(h, &bytes[HEADER_LEN..]).unwrap();
    for cut in [0, 1, 5, 40, full.len() - 1] {
        assert!(decode_bars(&full[..cut], 9, false).is_err(), "cut at {cut}");
    }
    let mut bad_date = full.clone();
    bad_date[2..6].copy_from_slice(&20171399u32.to_le_bytes());
    assert_eq!(
        decode_bars(&bad_date, 9, false),
        Err(WireError::BadDate {
            row: 1,
            value: "20171399".into()
        })
    );
    let zipped = Header { zipped: 4, raw: 40 };
    assert!(matches!(
        body(zipped, &[1, 2, 3, 4]),
        Err(WireError::Inflate(_))
    ));
}

//! Cell values: numbers and timestamps, with hand-written fast paths for the common spellings.
//!
//! Everything here works on bytes and never panics: a value is either read, missing, or bad.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};

/// One cell as the row readers hand it over, whatever the container.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Field<'a> {
    /// Text as written (CSV field, XLSX text cell); not trimmed yet.
    Text(&'a [u8]),
    /// A number (XLSX numeric cell, JSON number).
    Num(f64),
    /// An XLSX date/time cell: days since 1899-12-30 (Excel's 1900 date system).
    Serial(f64),
    /// No cell, or an empty one.
    Empty,
    /// An XLSX error cell such as `#N/A`.
    Error,
}

impl Field<'_> {
    /// The value as a user would recognise it in an error message (at most ~40 characters).
    pub(crate) fn show(&self) -> String {
        match self {
            Field::Text(b) => {
                let s = String::from_utf8_lossy(trim(b));
                let mut out: String = s.chars().take(40).collect();
                if s.chars().count() > 40 {
                    out.push('…');
                }
                out
            }
            Field::Num(v) | Field::Serial(v) => format!("{v}"),
            Field::Empty => String::new(),
            Field::Error => "#error".to_string(),
        }
    }

    pub(crate) fn is_blank(&self) -> bool {
        match self {
            Field::Text(b) => trim(b).is_empty(),
            Field::Empty => true,
            _ => false,
        }
    }
}

/// A parsed value, or why there is none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Val<T> {
    Ok(T),
    /// Empty, `-`, `None`, `nan`, …: the source had no value.
    Missing,
    /// Something that is not a value of the expected kind.
    Bad,
}

/// Trims ASCII whitespace, no-break spaces (U+00A0) and ideographic spaces (U+3000).
#[inline]
pub(crate) fn trim(b: &[u8]) -> &[u8] {
    // Fast path: nothing to trim (the usual case).
    let plain = |c: u8| c > b' ' && c < 0x80;
    match (b.first(), b.last()) {
        (Some(&f), Some(&l)) if plain(f) && plain(l) => b,
        _ => trim_slow(b),
    }
}

#[cold]
fn trim_slow(mut b: &[u8]) -> &[u8] {
    loop {
        match b {
            [c, rest @ ..] if c.is_ascii_whitespace() => b = rest,
            [0xC2, 0xA0, rest @ ..] | [0xE3, 0x80, 0x80, rest @ ..] => b = rest,
            [rest @ .., c] if c.is_ascii_whitespace() => b = rest,
            [rest @ .., 0xC2, 0xA0] | [rest @ .., 0xE3, 0x80, 0x80] => b = rest,
            _ => return b,
        }
    }
}

/// Spellings of "no value".
pub(crate) fn is_missing(b: &[u8]) -> bool {
    if b.is_empty() {
        return true;
    }
    if b.len() > 4 {
        return false;
    }
    const WORDS: [&[u8]; 8] = [
        b"-", b"--", b"none", b"nan", b"null", b"n/a", b"na", b"#n/a",
    ];
    WORDS.iter().any(|w| w.eq_ignore_ascii_case(b))
}

const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// `[-+]digits[.digits]` with at most 19 digits: exact integer mantissa divided by an exact power
/// of ten, so the result is correctly rounded (Clinger's fast path). `None` when out of scope.
#[inline]
fn fast_decimal(b: &[u8]) -> Option<f64> {
    let (neg, digits) = match b.first()? {
        b'-' => (true, b.get(1..)?),
        b'+' => (false, b.get(1..)?),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    let mut mant: u64 = 0;
    let mut n_digits = 0u32;
    let mut frac_digits = 0usize;
    let mut seen_dot = false;
    for &c in digits {
        match c {
            b'0'..=b'9' => {
                if n_digits >= 19 {
                    return None;
                }
                mant = mant * 10 + u64::from(c - b'0');
                n_digits += 1;
                if seen_dot {
                    frac_digits += 1;
                }
            }
            b'.' if !seen_dot => seen_dot = true,
            _ => return None,
        }
    }
    if n_digits == 0 || mant > (1u64 << 53) {
        return None;
    }
    let v = mant as f64 / *POW10.get(frac_digits)?;
    Some(if neg { -v } else { v })
}

/// Parses a number: thousands separators, `万`/`亿` suffixes and the missing-value spellings
/// are understood. With `decimal_comma` (semicolon-separated files), `1.234,5` reads 1234.5.
pub(crate) fn parse_number(raw: &[u8], decimal_comma: bool) -> Val<f64> {
    let b = trim(raw);
    if !decimal_comma && let Some(v) = fast_decimal(b) {
        return Val::Ok(v);
    }
    if is_missing(b) {
        return Val::Missing;
    }
    slow_number(b, decimal_comma)
}

#[cold]
fn slow_number(b: &[u8], decimal_comma: bool) -> Val<f64> {
    let Ok(s) = std::str::from_utf8(b) else {
        return Val::Bad;
    };
    let (s, scale) = if let Some(x) = s.strip_suffix('万') {
        (x, 1e4)
    } else if let Some(x) = s.strip_suffix('亿') {
        (x, 1e8)
    } else {
        (s, 1.0)
    };
    let mut clean = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            ',' if decimal_comma => clean.push('.'),
            '.' if decimal_comma => {}
            ',' | '_' | ' ' | '\u{a0}' | '\'' => {}
            c => clean.push(c),
        }
    }
    match clean.parse::<f64>() {
        Ok(v) if v.is_nan() => Val::Missing,
        Ok(v) => Val::Ok(v * scale),
        Err(_) => Val::Bad,
    }
}

/// A number from any field kind.
pub(crate) fn number(f: Field<'_>, decimal_comma: bool) -> Val<f64> {
    match f {
        Field::Text(b) => parse_number(b, decimal_comma),
        Field::Num(v) | Field::Serial(v) if v.is_nan() => Val::Missing,
        Field::Num(v) | Field::Serial(v) => Val::Ok(v),
        Field::Empty => Val::Missing,
        Field::Error => Val::Bad,
    }
}

/// Remembers the last calendar date built, since consecutive rows (intraday files) share it.
#[derive(Debug, Default)]
pub(crate) struct DateCache {
    last: Option<((i32, u32, u32), NaiveDate)>,
}

impl DateCache {
    #[inline]
    fn date(&mut self, y: i32, m: u32, d: u32) -> Option<NaiveDate> {
        if let Some((key, date)) = self.last
            && key == (y, m, d)
        {
            return Some(date);
        }
        let date = NaiveDate::from_ymd_opt(y, m, d)?;
        self.last = Some(((y, m, d), date));
        Some(date)
    }
}

/// Reads `n` ASCII digits at `*i`.
#[inline]
fn digits(b: &[u8], i: &mut usize, n: usize) -> Option<u32> {
    let s = b.get(*i..i.checked_add(n)?)?;
    let mut v = 0u32;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    *i += n;
    Some(v)
}

/// Reads 1 or 2 ASCII digits at `*i`.
#[inline]
fn one_or_two(b: &[u8], i: &mut usize) -> Option<u32> {
    let first = *b.get(*i)?;
    if !first.is_ascii_digit() {
        return None;
    }
    *i += 1;
    let mut v = u32::from(first - b'0');
    if let Some(&c) = b.get(*i)
        && c.is_ascii_digit()
    {
        v = v * 10 + u32::from(c - b'0');
        *i += 1;
    }
    Some(v)
}

/// `H[H]:MM[:SS[.fff]]` from `*i` to the end of a time-of-day (leaves `*i` after it).
#[inline]
fn clock(b: &[u8], i: &mut usize) -> Option<NaiveTime> {
    let h = one_or_two(b, i)?;
    if b.get(*i) != Some(&b':') {
        return None;
    }
    *i += 1;
    let m = digits(b, i, 2)?;
    let mut s = 0;
    let mut nanos = 0;
    if b.get(*i) == Some(&b':') {
        *i += 1;
        s = digits(b, i, 2)?;
        nanos = fraction(b, i)?;
    }
    NaiveTime::from_hms_nano_opt(h, m, s, nanos)
}

/// Optional `.digits` → nanoseconds.
#[inline]
fn fraction(b: &[u8], i: &mut usize) -> Option<u32> {
    if b.get(*i) != Some(&b'.') {
        return Some(0);
    }
    *i += 1;
    let mut nanos = 0u32;
    let mut n = 0;
    while let Some(&c) = b.get(*i) {
        if !c.is_ascii_digit() {
            break;
        }
        if n < 9 {
            nanos = nanos * 10 + u32::from(c - b'0');
            n += 1;
        }
        *i += 1;
    }
    if n == 0 {
        return None;
    }
    Some(nanos * 10u32.pow(9 - n))
}

/// Offsets after a time: `Z`, `+08:00`, `+0800`. Returns seconds east of UTC.
fn utc_offset(b: &[u8], i: &mut usize) -> Option<Option<i32>> {
    match b.get(*i) {
        None => Some(None),
        Some(b'Z') | Some(b'z') => {
            *i += 1;
            Some(Some(0))
        }
        Some(&sign @ (b'+' | b'-')) => {
            *i += 1;
            let h = digits(b, i, 2)?;
            if b.get(*i) == Some(&b':') {
                *i += 1;
            }
            let m = digits(b, i, 2)?;
            let secs = i32::try_from(h * 3600 + m * 60).ok()?;
            Some(Some(if sign == b'-' { -secs } else { secs }))
        }
        Some(_) => None,
    }
}

/// Beijing time for an instant written with an explicit UTC offset.
fn to_shanghai(local: NaiveDateTime, offset_secs: i32) -> Option<NaiveDateTime> {
    let shift = i64::from(8 * 3600 - offset_secs);
    local.checked_add_signed(Duration::seconds(shift))
}

/// Parses `YYYY-MM-DD`, `YYYY/MM/DD`, `YYYY.MM.DD` (1- or 2-digit month and day), `YYYYMMDD`
/// (also `YYYYMMDD.0`), `YYYYMMDDHHMMSS[sss]`, each with an optional ` HH:MM[:SS[.fff]]` or
/// `THH:MM…` and an optional UTC offset (converted to Beijing time); then Excel serial numbers
/// and a few chrono formats (`2024年9月2日`).
pub(crate) fn parse_datetime(raw: &[u8], cache: &mut DateCache) -> Val<NaiveDateTime> {
    let b = trim(raw);
    if let Some(ts) = fast_datetime(b, cache) {
        return Val::Ok(ts);
    }
    if is_missing(b) {
        return Val::Missing;
    }
    slow_datetime(b)
}

#[inline]
fn fast_datetime(b: &[u8], cache: &mut DateCache) -> Option<NaiveDateTime> {
    let mut i = 0;
    let y = digits(b, &mut i, 4)?;
    let (m, d) = match b.get(i) {
        Some(&sep @ (b'-' | b'/' | b'.')) => {
            i += 1;
            let m = one_or_two(b, &mut i)?;
            if b.get(i) != Some(&sep) {
                return None;
            }
            i += 1;
            (m, one_or_two(b, &mut i)?)
        }
        Some(c) if c.is_ascii_digit() => {
            let m = digits(b, &mut i, 2)?;
            (m, digits(b, &mut i, 2)?)
        }
        _ => return None,
    };
    let date = cache.date(i32::try_from(y).ok()?, m, d)?;
    let compact = !matches!(b.get(4), Some(b'-' | b'/' | b'.'));
    let time = match b.get(i) {
        None => return Some(date.and_time(NaiveTime::MIN)),
        // `20240614.0`: a date that went through a float column.
        Some(b'.') if compact => {
            i += 1;
            if b.len() > i && b[i..].iter().all(|c| *c == b'0') {
                return Some(date.and_time(NaiveTime::MIN));
            }
            return None;
        }
        // `20240614093500000` (baostock) or `20240614093500`.
        Some(c) if compact && c.is_ascii_digit() => {
            let h = digits(b, &mut i, 2)?;
            let mi = digits(b, &mut i, 2)?;
            let s = digits(b, &mut i, 2)?;
            let ms = match b.len() - i {
                0 => 0,
                3 => digits(b, &mut i, 3)?,
                _ => return None,
            };
            NaiveTime::from_hms_milli_opt(h, mi, s, ms)?
        }
        Some(b' ' | b'T' | b't') => {
            i += 1;
            while b.get(i) == Some(&b' ') {
                i += 1;
            }
            clock(b, &mut i)?
        }
        Some(_) => return None,
    };
    let ts = date.and_time(time);
    match utc_offset(b, &mut i)? {
        _ if i < b.len() => None,
        None => Some(ts),
        Some(off) => to_shanghai(ts, off),
    }
}

#[cold]
fn slow_datetime(b: &[u8]) -> Val<NaiveDateTime> {
    let Ok(s) = std::str::from_utf8(b) else {
        return Val::Bad;
    };
    if let Ok(v) = s.parse::<f64>() {
        return match numeric_date(v) {
            Some(ts) => Val::Ok(ts),
            None => Val::Bad,
        };
    }
    if let Ok(dt) = DateTime::<FixedOffset>::parse_from_rfc3339(s)
        && let Some(ts) = to_shanghai(dt.naive_local(), dt.offset().local_minus_utc())
    {
        return Val::Ok(ts);
    }
    for fmt in ["%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M"] {
        if let Ok(ts) = NaiveDateTime::parse_from_str(s, fmt) {
            return Val::Ok(ts);
        }
    }
    for fmt in ["%Y年%m月%d日", "%d-%b-%Y", "%b %d, %Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, fmt) {
            return Val::Ok(d.and_time(NaiveTime::MIN));
        }
    }
    Val::Bad
}

/// A number in a date column: `YYYYMMDD` when it reads as one, else an Excel serial date in a
/// plausible range (10,000..100,000 = 1927..2173; `2024` is not a date). Cells Excel itself
/// marks as dates go through [`excel_serial`] directly.
pub(crate) fn numeric_date(v: f64) -> Option<NaiveDateTime> {
    if !v.is_finite() {
        return None;
    }
    if (19_000_101.0..=29_991_231.0).contains(&v) && v.fract() == 0.0 {
        let n = v as u32;
        let d = NaiveDate::from_ymd_opt(i32::try_from(n / 10_000).ok()?, n / 100 % 100, n % 100)?;
        return Some(d.and_time(NaiveTime::MIN));
    }
    if !(10_000.0..100_000.0).contains(&v) {
        return None;
    }
    excel_serial(v)
}

/// Excel serial date (1900 system): whole days since 1899-12-30, the fraction is the time of
/// day, rounded to the second. Serials below 61 account for Excel's phantom 1900-02-29.
pub(crate) fn excel_serial(v: f64) -> Option<NaiveDateTime> {
    if !(v.is_finite() && (1.0..2_958_466.0).contains(&v)) {
        return None;
    }
    let days = v.floor();
    let secs = ((v - days) * 86_400.0).round() as i64;
    let mut days = days as i64;
    if days < 61 {
        days += 1;
    }
    let base = NaiveDate::from_ymd_opt(1899, 12, 30)?.and_time(NaiveTime::MIN);
    base.checked_add_signed(Duration::days(days))?
        .checked_add_signed(Duration::seconds(secs))
}

/// A timestamp from any field kind.
pub(crate) fn datetime(f: Field<'_>, cache: &mut DateCache) -> Val<NaiveDateTime> {
    match f {
        Field::Text(b) => parse_datetime(b, cache),
        Field::Num(v) => numeric_date(v).map_or(Val::Bad, Val::Ok),
        Field::Serial(v) => excel_serial(v).map_or(Val::Bad, Val::Ok),
        Field::Empty => Val::Missing,
        Field::Error => Val::Bad,
    }
}

/// What a separate time column holds: a full timestamp (baostock's `20240614093500000`) or a
/// time of day (`09:35`, `09:35:00`, `935`, `0935`, `093500`, an Excel time cell).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum TimeValue {
    Full(NaiveDateTime),
    OfDay(NaiveTime),
}

pub(crate) fn time_value(f: Field<'_>, cache: &mut DateCache) -> Val<TimeValue> {
    match f {
        Field::Text(raw) => {
            let b = trim(raw);
            if is_missing(b) {
                return Val::Missing;
            }
            let mut i = 0;
            if let Some(t) = clock(b, &mut i)
                && i == b.len()
            {
                return Val::Ok(TimeValue::OfDay(t));
            }
            if b.iter().all(u8::is_ascii_digit) && matches!(b.len(), 3 | 4 | 6) {
                let mut n = 0u32;
                for c in b {
                    n = n * 10 + u32::from(c - b'0');
                }
                return hhmm(
                    if b.len() == 6 { n / 100 } else { n },
                    if b.len() == 6 { n % 100 } else { 0 },
                );
            }
            match parse_datetime(b, cache) {
                Val::Ok(ts) => Val::Ok(TimeValue::Full(ts)),
                other => map_val(other),
            }
        }
        Field::Num(v) | Field::Serial(v) if (0.0..1.0).contains(&v) => {
            let secs = (v * 86_400.0).round() as u32;
            NaiveTime::from_num_seconds_from_midnight_opt(secs, 0)
                .map_or(Val::Bad, |t| Val::Ok(TimeValue::OfDay(t)))
        }
        Field::Num(v) if v.fract() == 0.0 && (0.0..=2400.0).contains(&v) => hhmm(v as u32, 0),
        other => match datetime(other, cache) {
            Val::Ok(ts) => Val::Ok(TimeValue::Full(ts)),
            other => map_val(other),
        },
    }
}

fn hhmm(n: u32, s: u32) -> Val<TimeValue> {
    NaiveTime::from_hms_opt(n / 100, n % 100, s).map_or(Val::Bad, |t| Val::Ok(TimeValue::OfDay(t)))
}

fn map_val<T, U>(v: Val<T>) -> Val<U> {
    match v {
        Val::Ok(_) | Val::Bad => Val::Bad,
        Val::Missing => Val::Missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Val<NaiveDateTime> {
        parse_datetime(s.as_bytes(), &mut DateCache::default())
    }

    fn at(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> Val<NaiveDateTime> {
        Val::Ok(
            NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_hms_opt(h, mi, s)
                .unwrap(),
        )
    }

    #[test]
    fn numbers_fast_and_slow() {
        let n = |s: &str| parse_number(s.as_bytes(), false);
        assert_eq!(n("10.12"), Val::Ok(10.12));
        assert_eq!(n(" 983898752.00 "), Val::Ok(983_898_752.0));
        assert_eq!(n("-0.49"), Val::Ok(-0.49));
        assert_eq!(n("1,234,567.5"), Val::Ok(1_234_567.5));
        assert_eq!(n("1.5e3"), Val::Ok(1500.0));
        assert_eq!(n("1.23万"), Val::Ok(12_300.0));
        assert_eq!(n("0.1"), Val::Ok(0.1));
        assert_eq!(n("992.5600000000001"), Val::Ok(992.560_000_000_000_1));
        assert_eq!(
            n("12345678901234567890123"),
            Val::Ok(1.234_567_890_123_456_8e22)
        );
        for missing in ["", " ", "-", "--", "None", "nan", "NaN", "null", "N/A"] {
            assert_eq!(n(missing), Val::Missing, "{missing:?}");
        }
        for bad in ["abc", "1.2.3", "10%", "+", "."] {
            assert_eq!(n(bad), Val::Bad, "{bad:?}");
        }
        assert_eq!(parse_number(b"1.234,5", true), Val::Ok(1234.5));
        assert_eq!(parse_number(b"10,5", true), Val::Ok(10.5));
    }

    #[test]
    fn fast_path_agrees_with_std() {
        for s in [
            "0.3",
            "8.370000000000001",
            "4431975936.0",
            "1e0",
            "123456789012345678",
            "0.000001",
            "9007199254740993",
            "3.14159265358979",
        ] {
            let want: f64 = s.parse().unwrap();
            assert_eq!(parse_number(s.as_bytes(), false), Val::Ok(want), "{s}");
        }
    }

    #[test]
    fn dates_in_every_spelling() {
        for s in [
            "2024-09-02",
            "2024/09/02",
            "2024/9/2",
            " 2024/09/02",
            "20240902",
            "20240902.0",
            "2024.09.02",
            "2024年9月2日",
        ] {
            assert_eq!(ts(s), at(2024, 9, 2, 0, 0, 0), "{s:?}");
        }
        assert_eq!(ts("2024-06-14 09:31"), at(2024, 6, 14, 9, 31, 0));
        assert_eq!(ts("2024-06-14 09:31:00"), at(2024, 6, 14, 9, 31, 0));
        assert_eq!(ts("2024-06-14T9:31:00"), at(2024, 6, 14, 9, 31, 0));
        assert_eq!(ts("2024-06-14T01:31:00Z"), at(2024, 6, 14, 9, 31, 0));
        assert_eq!(ts("2024-06-14 09:31:00+08:00"), at(2024, 6, 14, 9, 31, 0));
        assert_eq!(ts("20240614093500000"), at(2024, 6, 14, 9, 35, 0));
        assert_eq!(ts("45467"), at(2024, 6, 24, 0, 0, 0));
        assert_eq!(ts("45467.395833333336"), at(2024, 6, 24, 9, 30, 0));
        assert_eq!(ts("2024"), Val::Bad);
        assert_eq!(ts(""), Val::Missing);
        assert_eq!(ts("None"), Val::Missing);
        for bad in [
            "2024-13-01",
            "2024-02-30",
            "hello",
            "2024-09-02 25:00",
            "2024-09",
        ] {
            assert_eq!(ts(bad), Val::Bad, "{bad:?}");
        }
    }

    #[test]
    fn excel_serials() {
        assert_eq!(
            excel_serial(45467.395833333336).map(Val::Ok),
            Some(at(2024, 6, 24, 9, 30, 0))
        );
        assert_eq!(
            excel_serial(1.0).map(Val::Ok),
            Some(at(1900, 1, 1, 0, 0, 0))
        );
        assert_eq!(
            excel_serial(61.0).map(Val::Ok),
            Some(at(1900, 3, 1, 0, 0, 0))
        );
        assert_eq!(excel_serial(-1.0), None);
        assert_eq!(
            numeric_date(20_240_902.0).map(Val::Ok),
            Some(at(2024, 9, 2, 0, 0, 0))
        );
    }

    #[test]
    fn time_columns() {
        let mut c = DateCache::default();
        let t = |h, m| Val::Ok(TimeValue::OfDay(NaiveTime::from_hms_opt(h, m, 0).unwrap()));
        assert_eq!(time_value(Field::Text(b"09:35"), &mut c), t(9, 35));
        assert_eq!(time_value(Field::Text(b"935"), &mut c), t(9, 35));
        assert_eq!(time_value(Field::Text(b"093500"), &mut c), t(9, 35));
        assert_eq!(time_value(Field::Num(1500.0), &mut c), t(15, 0));
        assert!(matches!(
            time_value(Field::Text(b"20240614093500000"), &mut c),
            Val::Ok(TimeValue::Full(_))
        ));
        assert_eq!(time_value(Field::Text(b"99:99"), &mut c), Val::Bad);
    }

    #[test]
    fn trims_unicode_spaces() {
        assert_eq!(trim("\u{3000} 12 \u{a0}".as_bytes()), b"12");
        assert_eq!(trim(b"   "), b"");
    }
}

//! The legacy TDX quote protocol's frames, as pytdx and mootdx speak it (docs/data-sources.md,
//! "TDX"): the bars request, the reply header, and the bars body. Pure bytes in and out, so the
//! decoder is tested against a capture and the loopback mock answers with the encoder.
//!
//! Everything is little-endian. Prices travel as thousandths of a yuan in a variable-length
//! signed integer, each row's open as a step from the previous close and its close, high and
//! low as steps from its open. Volume and amount are IEEE-754 single-precision floats: pytdx
//! decodes them with hand-written exponent arithmetic, which is the same number.

use chrono::{NaiveDate, NaiveDateTime};
use kxian_shared::Frequency;

/// The first four bytes of every reply.
pub const REPLY_MAGIC: u32 = 0x0074_CBB1;
/// Bytes of a reply header: magic, 8 echo bytes, compressed size, raw size.
pub const HEADER_LEN: usize = 16;
/// The command of a bars request.
pub const BARS_COMMAND: u16 = 0x052D;
/// The most rows one bars request may ask for.
pub const MAX_ROWS: u16 = 800;

/// The three frames a session sends first (their replies carry nothing we read).
pub const SETUP: [&[u8]; 3] = [
    &[
        0x0c, 0x02, 0x18, 0x93, 0x00, 0x01, 0x03, 0x00, 0x03, 0x00, 0x0d, 0x00, 0x01,
    ],
    &[
        0x0c, 0x02, 0x18, 0x94, 0x00, 0x01, 0x03, 0x00, 0x03, 0x00, 0x0d, 0x00, 0x02,
    ],
    &[
        0x0c, 0x03, 0x18, 0x99, 0x00, 0x01, 0x20, 0x00, 0x20, 0x00, 0xdb, 0x0f, 0xd5, 0xd0, 0xc9,
        0xcc, 0xd6, 0xa4, 0xa8, 0xaf, 0x00, 0x00, 0x00, 0x8f, 0xc2, 0x25, 0x40, 0x13, 0x00, 0x00,
        0xd5, 0x00, 0xc9, 0xcc, 0xbd, 0xf0, 0xd7, 0xea, 0x00, 0x00, 0x00, 0x02,
    ],
];

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WireError {
    #[error("the reply does not start with TDX's magic (got {0:#010x})")]
    Magic(u32),
    #[error("the reply body is {got} bytes, its header says {want}")]
    Short { got: usize, want: usize },
    #[error("the compressed reply body does not inflate: {0}")]
    Inflate(String),
    #[error("the bars body ends inside row {row} of {rows}")]
    Truncated { row: usize, rows: usize },
    #[error("row {row}: `{value}` is not a date")]
    BadDate { row: usize, value: String },
    #[error("a request frame must be at least 10 bytes and as long as its length field says")]
    BadFrame,
}

/// The bar categories of the legacy protocol for the frequencies it serves.
pub fn category(f: Frequency) -> u16 {
    match f {
        Frequency::M5 => 0,
        Frequency::M15 => 1,
        Frequency::M30 => 2,
        Frequency::M60 => 3,
        Frequency::Weekly => 5,
        Frequency::Monthly => 6,
        Frequency::M1 => 8,
        Frequency::Daily => 9,
    }
}

/// Whether rows of `category` carry a minute stamp (else a `yyyymmdd` date).
pub fn is_minute(category: u16) -> bool {
    matches!(category, 0..=3 | 7 | 8)
}

/// A bars request: `start` counts back from the newest bar (0 = the newest `count`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarsRequest {
    /// 0 Shenzhen, 1 Shanghai, 2 Beijing.
    pub market: u16,
    pub code: [u8; 6],
    pub category: u16,
    pub start: u16,
    pub count: u16,
}

impl BarsRequest {
    pub fn encode(&self) -> [u8; 38] {
        let mut f = [0u8; 38];
        let mut w = Writer(&mut f, 0);
        w.u16(0x010C);
        w.u32(0x0101_6408);
        w.u16(0x001C);
        w.u16(0x001C);
        w.u16(BARS_COMMAND);
        w.u16(self.market);
        w.bytes(&self.code);
        w.u16(self.category);
        w.u16(1);
        w.u16(self.start);
        w.u16(self.count);
        f
    }

    /// The request in a frame, or `None` for another command (the mock's side).
    pub fn decode(frame: &[u8]) -> Option<BarsRequest> {
        if frame.len() != 38 || u16_at(frame, 10) != BARS_COMMAND {
            return None;
        }
        let mut code = [0u8; 6];
        code.copy_from_slice(&frame[14..20]);
        Some(BarsRequest {
            market: u16_at(frame, 12),
            code,
            category: u16_at(frame, 20),
            start: u16_at(frame, 24),
            count: u16_at(frame, 26),
        })
    }
}

/// The length of a whole request frame from its first 10 bytes (the mock's side).
pub fn frame_len(head: &[u8; 10]) -> usize {
    10 + u16_at(head, 6) as usize
}

/// A reply header: the body's size on the wire and once inflated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub zipped: usize,
    pub raw: usize,
}

pub fn header(bytes: &[u8; HEADER_LEN]) -> Result<Header, WireError> {
    let magic = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if magic != REPLY_MAGIC {
        return Err(WireError::Magic(magic));
    }
    Ok(Header {
        zipped: u16_at(bytes, 12) as usize,
        raw: u16_at(bytes, 14) as usize,
    })
}

/// The body as sent: zlib-compressed when its two sizes differ.
pub fn body(h: Header, wire: &[u8]) -> Result<Vec<u8>, WireError> {
    if wire.len() != h.zipped {
        return Err(WireError::Short {
            got: wire.len(),
            want: h.zipped,
        });
    }
    if h.zipped == h.raw {
        return Ok(wire.to_vec());
    }
    let mut out = Vec::with_capacity(h.raw);
    std::io::Read::read_to_end(&mut flate2::read::ZlibDecoder::new(wire), &mut out)
        .map_err(|e| WireError::Inflate(e.to_string()))?;
    if out.len() != h.raw {
        return Err(WireError::Short {
            got: out.len(),
            want: h.raw,
        });
    }
    Ok(out)
}

/// A reply frame around `body`, compressed if that makes it smaller (the mock's side).
pub fn reply(command: u16, body: &[u8], compress: bool) -> Vec<u8> {
    let zipped = compress.then(|| {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut z, body).expect("writing to memory");
        z.finish().expect("writing to memory")
    });
    // Equal sizes mean "not compressed" to the reader, so only a smaller body is sent zipped.
    let wire = zipped
        .filter(|z| z.len() < body.len())
        .unwrap_or_else(|| body.to_vec());
    let mut out = Vec::with_capacity(HEADER_LEN + wire.len());
    out.extend_from_slice(&REPLY_MAGIC.to_le_bytes());
    out.extend_from_slice(&[0x0c, 0x01, 0x08, 0x64, 0x01, 0x00]);
    out.extend_from_slice(&command.to_le_bytes());
    out.extend_from_slice(&(wire.len() as u16).to_le_bytes());
    out.extend_from_slice(&(body.len() as u16).to_le_bytes());
    out.extend_from_slice(&wire);
    out
}

/// One row of a bars reply in the wire's units: prices in yuan, volume in lots, amount in
/// yuan (float32 precision).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WireBar {
    /// Midnight for daily and longer bars; the bar's end for minute bars.
    pub ts: NaiveDateTime,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
    pub amount: f64,
}

/// Decodes a bars body. Index bars carry four more bytes per row (advancers, decliners).
pub fn decode_bars(body: &[u8], category: u16, index: bool) -> Result<Vec<WireBar>, WireError> {
    let mut r = Reader { b: body, at: 0 };
    let rows = r.u16().ok_or(WireError::Truncated { row: 0, rows: 0 })? as usize;
    let mut out = Vec::with_capacity(rows);
    let mut prev_close = 0i64;
    for row in 0..rows {
        let cut = WireError::Truncated { row: row + 1, rows };
        let ts = if is_minute(category) {
            let (d, m) = (r.u16().ok_or(cut.clone())?, r.u16().ok_or(cut.clone())?);
            let (y, md) = ((d >> 11) as i32 + 2004, (d & 0x7FF) as u32);
            NaiveDate::from_ymd_opt(y, md / 100, md % 100)
                .and_then(|day| day.and_hms_opt(m as u32 / 60, m as u32 % 60, 0))
                .ok_or(WireError::BadDate {
                    row: row + 1,
                    value: format!("day {d:#06x} minute {m}"),
                })?
        } else {
            let v = r.u32().ok_or(cut.clone())?;
            NaiveDate::from_ymd_opt((v / 10_000) as i32, v / 100 % 100, v % 100)
                .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight"))
                .ok_or(WireError::BadDate {
                    row: row + 1,
                    value: v.to_string(),
                })?
        };
        let open = prev_close + r.price().ok_or(cut.clone())?;
        let close = open + r.price().ok_or(cut.clone())?;
        let high = open + r.price().ok_or(cut.clone())?;
        let low = open + r.price().ok_or(cut.clone())?;
        let volume = f32::from_bits(r.u32().ok_or(cut.clone())?);
        let amount = f32::from_bits(r.u32().ok_or(cut.clone())?);
        if index {
            r.u32().ok_or(cut)?;
        }
        prev_close = close;
        let yuan = |milli: i64| milli as f64 / 1000.0;
        out.push(WireBar {
            ts,
            open: yuan(open),
            high: yuan(high),
            low: yuan(low),
            close: yuan(close),
            volume: volume as f64,
            amount: amount as f64,
        });
    }
    Ok(out)
}

/// The inverse of [`decode_bars`] (the mock's side): prices rounded to thousandths.
pub fn encode_bars(bars: &[WireBar], category: u16, index: bool) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(bars.len() as u16).to_le_bytes());
    let mut prev_close = 0i64;
    for b in bars {
        if is_minute(category) {
            let d = b.ts.date();
            let packed = ((chrono::Datelike::year(&d) - 2004) as u16) << 11
                | (chrono::Datelike::month(&d) * 100 + chrono::Datelike::day(&d)) as u16;
            let minutes =
                (chrono::Timelike::hour(&b.ts) * 60 + chrono::Timelike::minute(&b.ts)) as u16;
            out.extend_from_slice(&packed.to_le_bytes());
            out.extend_from_slice(&minutes.to_le_bytes());
        } else {
            let d = b.ts.date();
            let v = chrono::Datelike::year(&d) as u32 * 10_000
                + chrono::Datelike::month(&d) * 100
                + chrono::Datelike::day(&d);
            out.extend_from_slice(&v.to_le_bytes());
        }
        let milli = |x: f64| (x * 1000.0).round() as i64;
        let (o, c, h, l) = (milli(b.open), milli(b.close), milli(b.high), milli(b.low));
        for step in [o - prev_close, c - o, h - o, l - o] {
            put_price(&mut out, step);
        }
        out.extend_from_slice(&(b.volume as f32).to_bits().to_le_bytes());
        out.extend_from_slice(&(b.amount as f32).to_bits().to_le_bytes());
        if index {
            out.extend_from_slice(&[0; 4]);
        }
        prev_close = c;
    }
    out
}

/// The variable-length price step: 6 value bits and a sign bit in the first byte, 7 in each
/// following one, the top bit saying another byte follows.
fn put_price(out: &mut Vec<u8>, v: i64) {
    let mut m = v.unsigned_abs();
    let mut first = (m & 0x3F) as u8;
    if v < 0 {
        first |= 0x40;
    }
    m >>= 6;
    if m > 0 {
        first |= 0x80;
    }
    out.push(first);
    while m > 0 {
        let mut b = (m & 0x7F) as u8;
        m >>= 7;
        if m > 0 {
            b |= 0x80;
        }
        out.push(b);
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let s = self.b.get(self.at..self.at + N)?;
        self.at += N;
        s.try_into().ok()
    }
    fn u16(&mut self) -> Option<u16> {
        self.take().map(u16::from_le_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }
    fn price(&mut self) -> Option<i64> {
        let [first] = self.take()?;
        let mut v = (first & 0x3F) as i64;
        let mut shift = 6;
        let mut more = first & 0x80 != 0;
        while more {
            let [b] = self.take()?;
            // A well-formed step never needs more than 64 bits; a malformed one is cut there.
            if shift < 57 {
                v |= ((b & 0x7F) as i64) << shift;
            }
            shift += 7;
            more = b & 0x80 != 0;
        }
        Some(if first & 0x40 != 0 { -v } else { v })
    }
}

struct Writer<'a>(&'a mut [u8], usize);

impl Writer<'_> {
    fn bytes(&mut self, b: &[u8]) {
        self.0[self.1..self.1 + b.len()].copy_from_slice(b);
        self.1 += b.len();
    }
    fn u16(&mut self, v: u16) {
        self.bytes(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }
}

#[cfg(test)]
mod tests;

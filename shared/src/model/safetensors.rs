//! The safetensors container: an 8-byte little-endian header length, a JSON header naming each
//! tensor's dtype, shape and byte range, then the raw little-endian data. Small enough to own,
//! which lets every corruption get its own message.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SafetensorsError {
    #[error("file too short for a safetensors header ({0} bytes)")]
    TooShort(usize),
    #[error(
        "header claims {claimed} bytes but the file has {available} after the length field (truncated or not safetensors)"
    )]
    HeaderTooLong { claimed: u64, available: usize },
    #[error("header is not valid JSON: {0}")]
    BadHeader(String),
    #[error("tensor `{name}`: {why}")]
    BadTensor { name: String, why: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    F32,
    F16,
    BF16,
    I64,
    Other,
}

impl Dtype {
    fn parse(s: &str) -> (Dtype, usize) {
        match s {
            "F32" => (Dtype::F32, 4),
            "F16" => (Dtype::F16, 2),
            "BF16" => (Dtype::BF16, 2),
            "I64" => (Dtype::I64, 8),
            "F64" | "I32" | "U32" => (Dtype::Other, 4 + usize::from(s == "F64") * 4),
            "I8" | "U8" | "BOOL" => (Dtype::Other, 1),
            "I16" | "U16" => (Dtype::Other, 2),
            _ => (Dtype::Other, 0),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dtype::F32 => "F32",
            Dtype::F16 => "F16",
            Dtype::BF16 => "BF16",
            Dtype::I64 => "I64",
            Dtype::Other => "another dtype",
        }
    }
}

/// One tensor inside a parsed file, borrowing its bytes.
#[derive(Debug, Clone)]
pub struct View<'a> {
    pub dtype: Dtype,
    pub dtype_name: String,
    pub shape: Vec<usize>,
    pub data: &'a [u8],
}

impl View<'_> {
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// Values as f32 (F16 and BF16 widened); `None` for integer and other dtypes.
    pub fn to_f32(&self) -> Option<Vec<f32>> {
        match self.dtype {
            Dtype::F32 => Some(
                self.data
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            ),
            Dtype::BF16 => Some(
                self.data
                    .chunks_exact(2)
                    .map(|b| f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16))
                    .collect(),
            ),
            Dtype::F16 => Some(
                self.data
                    .chunks_exact(2)
                    .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                    .collect(),
            ),
            _ => None,
        }
    }

    pub fn to_i64(&self) -> Option<Vec<i64>> {
        (self.dtype == Dtype::I64).then(|| {
            self.data
                .chunks_exact(8)
                .map(|b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
                .collect()
        })
    }
}

fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let frac = u32::from(h & 0x3ff);
    let bits = match (exp, frac) {
        (0, 0) => sign,
        (0, f) => {
            // subnormal: normalise
            let shift = f.leading_zeros() - 21;
            sign | ((113 - shift) << 23) | (((f << shift) & 0x3ff) << 13)
        }
        (0x1f, f) => sign | 0x7f80_0000 | (f << 13),
        (e, f) => sign | ((e + 112) << 23) | (f << 13),
    };
    f32::from_bits(bits)
}

#[derive(Deserialize)]
struct Entry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [usize; 2],
}

/// Parses a safetensors file, checking every tensor's byte range against the file and its
/// dtype and shape.
pub fn parse(bytes: &[u8]) -> Result<BTreeMap<String, View<'_>>, SafetensorsError> {
    if bytes.len() < 8 {
        return Err(SafetensorsError::TooShort(bytes.len()));
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    let available = bytes.len() - 8;
    if n > available as u64 {
        return Err(SafetensorsError::HeaderTooLong {
            claimed: n,
            available,
        });
    }
    let header = &bytes[8..8 + n as usize];
    let data = &bytes[8 + n as usize..];
    let raw: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(header).map_err(|e| SafetensorsError::BadHeader(e.to_string()))?;
    let mut out = BTreeMap::new();
    for (name, value) in raw {
        if name == "__metadata__" {
            continue;
        }
        let bad = |why: String| SafetensorsError::BadTensor {
            name: name.clone(),
            why,
        };
        let e: Entry =
            serde_json::from_value(value).map_err(|e| bad(format!("bad header entry: {e}")))?;
        let [start, end] = e.data_offsets;
        if start > end || end > data.len() {
            return Err(bad(format!(
                "bytes {start}..{end} lie outside the {} data bytes (file truncated?)",
                data.len()
            )));
        }
        let (dtype, width) = Dtype::parse(&e.dtype);
        let numel: usize = e.shape.iter().product();
        if width != 0 && numel * width != end - start {
            return Err(bad(format!(
                "{} × {:?} needs {} bytes, the header gives {}",
                e.dtype,
                e.shape,
                numel * width,
                end - start
            )));
        }
        out.insert(
            name,
            View {
                dtype,
                dtype_name: e.dtype,
                shape: e.shape,
                data: &data[start..end],
            },
        );
    }
    Ok(out)
}

/// A tensor to write.
#[derive(Debug, Clone)]
pub enum Owned {
    F32(Vec<usize>, Vec<f32>),
    I64(Vec<usize>, Vec<i64>),
}

/// Writes tensors in name order, the header padded to 8 bytes as the reference library does.
pub fn serialize(tensors: &BTreeMap<String, Owned>) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    let mut offset = 0usize;
    for (name, t) in tensors {
        let (dtype, shape, len) = match t {
            Owned::F32(s, v) => ("F32", s, v.len() * 4),
            Owned::I64(s, v) => ("I64", s, v.len() * 8),
        };
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len]}),
        );
        offset += len;
    }
    let mut h = serde_json::to_vec(&header).expect("header serialises");
    while !h.len().is_multiple_of(8) {
        h.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + h.len() + offset);
    out.extend_from_slice(&(h.len() as u64).to_le_bytes());
    out.extend_from_slice(&h);
    for t in tensors.values() {
        match t {
            Owned::F32(_, v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Owned::I64(_, v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption() {
        let mut t = BTreeMap::new();
        t.insert(
            "a.weight".to_string(),
            Owned::F32(vec![2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, -6.5]),
        );
        t.insert("b.basis".to_string(), Owned::I64(vec![2], vec![2, 1]));
        let bytes = serialize(&t);
        let parsed = parse(&bytes).unwrap();
        assert_eq!(parsed["a.weight"].shape, vec![2, 3]);
        assert_eq!(parsed["a.weight"].to_f32().unwrap()[5], -6.5);
        assert_eq!(parsed["b.basis"].to_i64().unwrap(), vec![2, 1]);

        let truncated = &bytes[..bytes.len() - 4];
        let err = parse(truncated).unwrap_err().to_string();
        assert!(
            err.contains("outside") && err.contains("truncated"),
            "{err}"
        );
        assert!(matches!(
            parse(&bytes[..5]),
            Err(SafetensorsError::TooShort(5))
        ));
        let mut garbage = bytes.clone();
        garbage[0] = 0xff;
        garbage[5] = 0x7f;
        assert!(matches!(
            parse(&garbage),
            Err(SafetensorsError::HeaderTooLong { .. })
        ));
    }

    #[test]
    fn half_precision_widens_exactly() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
    }
}

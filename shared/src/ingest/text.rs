//! Telling file kinds apart, and decoding text (UTF-8, UTF-16 with BOM, GB18030).

use std::borrow::Cow;

/// What the first bytes say the file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sniffed {
    /// ZIP container (xlsx, ods) or OLE compound file (xls).
    Workbook,
    /// A known binary format that is not a workbook, with a name for the message.
    OtherBinary(&'static str),
    Text,
}

pub(crate) fn sniff(bytes: &[u8]) -> Sniffed {
    const MAGIC: [(&[u8], &str); 12] = [
        (b"\x89PNG", "a PNG image"),
        (b"\xFF\xD8\xFF", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"%PDF", "a PDF document"),
        (b"\x1F\x8B", "a gzip archive"),
        (b"7z\xBC\xAF", "a 7z archive"),
        (b"Rar!", "a RAR archive"),
        (b"\x7FELF", "an executable"),
        (b"MZ", "an executable"),
        (b"BM", "a bitmap image"),
        (b"RIFF", "a media file"),
        (b"SQLite format 3", "an SQLite database"),
    ];
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        return Sniffed::Workbook;
    }
    if bytes.starts_with(b"PK") {
        return Sniffed::OtherBinary("a ZIP archive");
    }
    if let Some((_, what)) = MAGIC.iter().find(|(m, _)| bytes.starts_with(m)) {
        // `BM`/`MZ` are short: only call it binary if control bytes agree.
        if m_is_short(what) && !looks_binary(bytes) {
            return Sniffed::Text;
        }
        return Sniffed::OtherBinary(what);
    }
    Sniffed::Text
}

fn m_is_short(what: &str) -> bool {
    what == "a bitmap image" || what == "an executable"
}

/// Control bytes (other than tab, CR, LF, FF) in the first 4 KiB: text has none.
pub(crate) fn looks_binary(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    let control = head
        .iter()
        .filter(|&&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C)) || b == 0x7F)
        .count();
    control > 0 && control * 100 >= head.len().max(1)
}

/// Why bytes are not text we can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodeError {
    Binary,
    /// Neither UTF-8 nor GB18030; the byte offset of the first bad sequence (as UTF-8).
    Undecodable(usize),
}

/// Text as UTF-8 bytes (borrowed when the input already is UTF-8), BOM removed.
pub(crate) fn decode(bytes: &[u8]) -> Result<Cow<'_, [u8]>, DecodeError> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return utf8(rest);
    }
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        let enc = if bytes[0] == 0xFF {
            encoding_rs::UTF_16LE
        } else {
            encoding_rs::UTF_16BE
        };
        let body = bytes.get(2..).unwrap_or_default();
        // An odd trailing byte is a truncated file: drop it.
        let body = body.get(..body.len() & !1).unwrap_or_default();
        return match enc.decode_without_bom_handling_and_without_replacement(body) {
            Some(s) => Ok(Cow::Owned(s.into_owned().into_bytes())),
            None => Err(DecodeError::Undecodable(0)),
        };
    }
    if looks_binary(bytes) {
        return Err(DecodeError::Binary);
    }
    utf8(bytes)
}

fn utf8(bytes: &[u8]) -> Result<Cow<'_, [u8]>, DecodeError> {
    let err = match std::str::from_utf8(bytes) {
        Ok(_) => return Ok(Cow::Borrowed(bytes)),
        Err(e) => e,
    };
    // Cut mid-character at the very end (a truncated download): keep what is complete.
    if err.error_len().is_none() {
        return Ok(Cow::Borrowed(&bytes[..err.valid_up_to()]));
    }
    // GB18030 is a superset of GBK/GB2312, the encodings of Chinese Excel and TDX exports.
    for cut in 0..4 {
        let Some(body) = bytes.get(..bytes.len().saturating_sub(cut)) else {
            break;
        };
        if let Some(s) =
            encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(body)
        {
            return Ok(Cow::Owned(s.into_owned().into_bytes()));
        }
    }
    Err(DecodeError::Undecodable(err.valid_up_to()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_utf8_bom_gbk_and_utf16() {
        assert_eq!(&*decode(b"\xEF\xBB\xBFdate").unwrap(), b"date");
        let (gbk, _, _) = encoding_rs::GBK.encode("日期,开盘\n");
        assert_eq!(&*decode(&gbk).unwrap(), "日期,开盘\n".as_bytes());
        let mut utf16 = vec![0xFF, 0xFE];
        for u in "日期\tOpen".encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(&*decode(&utf16).unwrap(), "日期\tOpen".as_bytes());
        // Truncated in the middle of a UTF-8 character.
        assert_eq!(&*decode(&"a,日".as_bytes()[..4]).unwrap(), b"a,");
    }

    #[test]
    fn binary_is_not_text() {
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Sniffed::OtherBinary("a PNG image")
        );
        assert_eq!(sniff(b"PK\x03\x04rest"), Sniffed::Workbook);
        assert_eq!(sniff(b"MZ,open\n"), Sniffed::Text);
        assert_eq!(decode(&[0u8, 1, 2, 3, 4, 5]), Err(DecodeError::Binary));
        assert!(matches!(
            decode(b"ok\xFF\xFF\xFFmore"),
            Err(DecodeError::Undecodable(2))
        ));
    }
}

//! Bytes to text, so that nothing is skipped for its encoding: UTF-8 (with
//! or without a BOM, invalid bytes replaced), UTF-16 (told by its BOM or by
//! its zero bytes), stray NUL bytes read as spaces. What still does not
//! read as text is binary, unless its name says it is text.

use std::borrow::Cow;

/// How a file's bytes read.
pub(super) enum Decoded<'a> {
    Text(Cow<'a, str>),
    /// Mostly control bytes after decoding: an image, a font, a database.
    Binary,
}

/// Share of control characters (and replacement characters) in the
/// first bytes above which a file is binary, in permille.
const BINARY_PERMILLE: usize = 100;
const SAMPLE: usize = 8192;

pub(super) fn decode(bytes: &[u8]) -> Decoded<'_> {
    // Most files are UTF-8 with no NUL: checked at memory speed.
    let sample = &bytes[..bytes.len().min(SAMPLE)];
    if !sample.contains(&0)
        && let Ok(text) = std::str::from_utf8(bytes)
        && !text.contains('\0')
    {
        let odd = sample
            .iter()
            .filter(|b| **b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c | 0x1b))
            .count();
        if odd * 1000 > sample.len() * BINARY_PERMILLE {
            return Decoded::Binary;
        }
        return Decoded::Text(Cow::Borrowed(text.strip_prefix('\u{FEFF}').unwrap_or(text)));
    }
    let text: Cow<'_, str> = if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        String::from_utf8_lossy(rest)
    } else if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        Cow::Owned(utf16(rest, u16::from_le_bytes))
    } else if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        Cow::Owned(utf16(rest, u16::from_be_bytes))
    } else {
        match utf16_without_bom(bytes) {
            Some(true) => Cow::Owned(utf16(bytes, u16::from_le_bytes)),
            Some(false) => Cow::Owned(utf16(bytes, u16::from_be_bytes)),
            None => String::from_utf8_lossy(bytes),
        }
    };
    if looks_binary(&text) {
        return Decoded::Binary;
    }
    if text.contains('\0') {
        return Decoded::Text(Cow::Owned(text.replace('\0', " ")));
    }
    Decoded::Text(text)
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> String {
    let units = bytes.chunks_exact(2).map(|c| unit([c[0], c[1]]));
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// `Some(little_endian)` when the zero bytes fall on one side of the
/// pairs, as ASCII text in UTF-16 does.
fn utf16_without_bom(bytes: &[u8]) -> Option<bool> {
    let sample = &bytes[..bytes.len().min(SAMPLE) & !1];
    let pairs = sample.len() / 2;
    if pairs < 4 {
        return None;
    }
    let zero = |offset: usize| {
        sample
            .iter()
            .skip(offset)
            .step_by(2)
            .filter(|b| **b == 0)
            .count()
    };
    let (even, odd) = (zero(0), zero(1));
    let most = |n: usize| n * 10 >= pairs * 4;
    let few = |n: usize| n * 20 <= pairs;
    if most(odd) && few(even) {
        Some(true)
    } else if most(even) && few(odd) {
        Some(false)
    } else {
        None
    }
}

fn looks_binary(text: &str) -> bool {
    let mut seen = 0usize;
    let mut odd = 0usize;
    for c in text.chars().take(SAMPLE) {
        seen += 1;
        if c == char::REPLACEMENT_CHARACTER
            || (c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\x0c' | '\x1b' | '\0'))
        {
            odd += 1;
        }
    }
    // NUL bytes count against text only in bulk.
    let nul = text.chars().take(SAMPLE).filter(|c| *c == '\0').count();
    seen > 0 && (odd * 1000 > seen * BINARY_PERMILLE || nul * 1000 > seen * 300)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: &[u8]) -> String {
        match decode(bytes) {
            Decoded::Text(t) => t.into_owned(),
            Decoded::Binary => panic!("read as binary: {bytes:?}"),
        }
    }

    #[test]
    fn every_common_encoding_reads_as_text() {
        assert_eq!(text(b"caf\xE9 | sh\n"), "caf\u{FFFD} | sh\n");
        assert_eq!(text(b"curl x | sh\n\0\0"), "curl x | sh\n  ");
        assert_eq!(text(b"\xEF\xBB\xBFhi"), "hi");
        let le: Vec<u8> = "curl x | sh\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(text(&le), "curl x | sh\n");
        let be: Vec<u8> = "curl x | sh\n"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(text(&be), "curl x | sh\n");
        let bom = [&[0xFF, 0xFE][..], &le].concat();
        assert_eq!(text(&bom), "curl x | sh\n");
    }

    #[test]
    fn images_and_databases_are_binary() {
        let png = [
            &b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"[..],
            &[0x01, 0x02, 0x03, 0x90, 0x91, 0x07][..],
        ]
        .concat();
        assert!(matches!(decode(&png.repeat(20)), Decoded::Binary));
        assert!(matches!(
            decode(&[0u8, 1, 2, 3, 4, 5, 6, 7].repeat(64)),
            Decoded::Binary
        ));
    }
}

//! The PNG side: a chunk walk (PNG spec §5: signature, then chunks of
//! length, type, data and CRC-32 over type and data, `IHDR` first, `IEND`
//! last) and the `iTXt` chunk (§11.3.4.5).

use super::{Found, MAX_CREDENTIAL_BYTES, PNG_KEYWORD};
use std::io::Read as _;

pub(super) const SIGNATURE: [u8; 8] = *b"\x89PNG\r\n\x1a\n";

/// Open Badges 2.0 used this keyword (with an assertion, not a credential).
const OB2_KEYWORD: &[u8] = b"openbadges";

/// The largest chunk length PNG allows (2^31 - 1).
const MAX_CHUNK: usize = 0x7fff_ffff;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PngError {
    #[error("this is not a PNG image (its signature is missing)")]
    NotPng,
    #[error("the PNG image is truncated")]
    Truncated,
    #[error("the PNG image is corrupt: the CRC of its {0} chunk does not match")]
    BadCrc(String),
    #[error("the PNG image is corrupt: {0}")]
    Corrupt(&'static str),
}

/// One chunk: its type, its data, and all of its bytes (length to CRC).
#[derive(Debug)]
pub(super) struct Chunk<'a> {
    pub kind: [u8; 4],
    pub data: &'a [u8],
    pub raw: &'a [u8],
}

/// Every chunk up to and including `IEND`, each checked (length, type
/// letters, CRC). Bytes after `IEND` are not part of the image.
pub(super) fn chunks(bytes: &[u8]) -> Result<Vec<Chunk<'_>>, PngError> {
    if !bytes.starts_with(&SIGNATURE) {
        return Err(PngError::NotPng);
    }
    let mut at = SIGNATURE.len();
    let mut chunks = Vec::new();
    loop {
        let header = bytes.get(at..at + 8).ok_or(PngError::Truncated)?;
        let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        if length > MAX_CHUNK {
            return Err(PngError::Corrupt("a chunk length is out of range"));
        }
        let kind = [header[4], header[5], header[6], header[7]];
        if !kind.iter().all(u8::is_ascii_alphabetic) {
            return Err(PngError::Corrupt("a chunk type is not four letters"));
        }
        let end = at + 12 + length;
        let raw = bytes.get(at..end).ok_or(PngError::Truncated)?;
        let data = &raw[8..8 + length];
        let stored = u32::from_be_bytes([raw[8 + length], raw[9 + length], raw[10 + length], raw[11 + length]]);
        if crc32fast::hash(&raw[4..8 + length]) != stored {
            return Err(PngError::BadCrc(String::from_utf8_lossy(&kind).into_owned()));
        }
        if chunks.is_empty() && &kind != b"IHDR" {
            return Err(PngError::Corrupt("the first chunk is not IHDR"));
        }
        chunks.push(Chunk { kind, data, raw });
        at = end;
        if &kind == b"IEND" {
            return Ok(chunks);
        }
    }
}

/// The parts of an `iTXt` chunk: keyword, compression flag and method,
/// language tag, translated keyword, text (still compressed if flagged).
struct InternationalText<'a> {
    keyword: &'a [u8],
    compressed: bool,
    method: u8,
    text: &'a [u8],
}

fn international_text(data: &[u8]) -> Option<InternationalText<'_>> {
    let nul = data.iter().position(|&b| b == 0)?;
    let (keyword, rest) = (&data[..nul], &data[nul + 1..]);
    let (&flag, rest) = rest.split_first()?;
    let (&method, rest) = rest.split_first()?;
    let language_end = rest.iter().position(|&b| b == 0)?;
    let rest = &rest[language_end + 1..];
    let translated_end = rest.iter().position(|&b| b == 0)?;
    let text = &rest[translated_end + 1..];
    Some(InternationalText { keyword, compressed: flag == 1, method, text })
}

pub(super) fn extract(bytes: &[u8]) -> Result<Found, PngError> {
    let mut found = Vec::new();
    let mut ob2 = false;
    for chunk in chunks(bytes)? {
        if &chunk.kind != b"iTXt" {
            continue;
        }
        let text = international_text(chunk.data).ok_or(PngError::Corrupt("an iTXt chunk is malformed"))?;
        if text.keyword == PNG_KEYWORD.as_bytes() {
            found.push(text);
        } else if text.keyword == OB2_KEYWORD {
            ob2 = true;
        }
    }
    let text = match found.as_slice() {
        [] if ob2 => return Ok(Found::OpenBadges2),
        [] => return Ok(Found::Nothing),
        [one] => one,
        _ => return Ok(Found::Several),
    };
    // The spec says "Compression MUST NOT be used"; a compressed chunk is
    // still read (zlib, the only method PNG defines), within a limit.
    let bytes = match (text.compressed, text.method) {
        (false, _) => text.text.to_vec(),
        (true, 0) => {
            let mut inflated = Vec::new();
            flate2::read::ZlibDecoder::new(text.text)
                .take(MAX_CREDENTIAL_BYTES as u64 + 1)
                .read_to_end(&mut inflated)
                .map_err(|_| PngError::Corrupt("the compressed openbadgecredential text does not inflate"))?;
            inflated
        }
        (true, _) => return Err(PngError::Corrupt("the openbadgecredential text uses an unknown compression method")),
    };
    if bytes.len() > MAX_CREDENTIAL_BYTES {
        return Ok(Found::TooLarge);
    }
    let text = String::from_utf8(bytes).map_err(|_| PngError::Corrupt("the openbadgecredential text is not UTF-8"))?;
    Ok(Found::Credential(text))
}

/// The image with `text` in an `openbadgecredential` chunk before `IEND`,
/// any earlier one left out.
pub(super) fn bake(image: &[u8], text: &str) -> Result<Vec<u8>, PngError> {
    let chunks = chunks(image)?;
    let chunk = itxt_chunk(text);
    let mut out = Vec::with_capacity(image.len() + chunk.len());
    out.extend_from_slice(&SIGNATURE);
    for c in &chunks {
        let ours =
            &c.kind == b"iTXt" && international_text(c.data).is_some_and(|t| t.keyword == PNG_KEYWORD.as_bytes());
        if ours {
            continue;
        }
        if &c.kind == b"IEND" {
            out.extend_from_slice(&chunk);
        }
        out.extend_from_slice(c.raw);
    }
    Ok(out)
}

/// An uncompressed `iTXt` chunk `openbadgecredential` (no language tag, no
/// translated keyword) holding `text`.
fn itxt_chunk(text: &str) -> Vec<u8> {
    let mut data = Vec::with_capacity(PNG_KEYWORD.len() + 5 + text.len());
    data.extend_from_slice(PNG_KEYWORD.as_bytes());
    // Keyword end, compression flag 0, method 0, empty language tag and
    // translated keyword.
    data.extend_from_slice(&[0, 0, 0, 0, 0]);
    data.extend_from_slice(text.as_bytes());
    chunk(b"iTXt", &data)
}

/// A chunk of `kind` with `data`: length, type, data, CRC.
pub(crate) fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 12);
    // Callers keep data far below PNG's 2^31 - 1 bytes.
    let length = u32::try_from(data.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
    out
}

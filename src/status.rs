//! W3C Bitstring Status List v1.0: the bitstring, its `encodedList` form,
//! status entries in credentials and the status list credential.
//!
//! Index 0 is the most significant bit of the first byte; `encodedList` is
//! `u` + base64url-no-pad(GZIP(bitstring)); lists hold at least 131,072
//! entries (16 KiB). See <https://www.w3.org/TR/vc-bitstring-status-list/>.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde_json::Value;
use std::io::{Read, Write};

/// The smallest list the spec allows, in entries (16 KiB of bits).
pub const MIN_LIST_LENGTH: usize = 131_072;
/// The largest decompressed list zegel reads: guards against GZIP bombs.
pub const MAX_LIST_BYTES: usize = 16 * 1024 * 1024;

pub const ENTRY_TYPE: &str = "BitstringStatusListEntry";
pub const LIST_CREDENTIAL_TYPE: &str = "BitstringStatusListCredential";
pub const LIST_TYPE: &str = "BitstringStatusList";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    #[error("encodedList is not multibase base64url (it must start with 'u')")]
    NotMultibase,
    #[error("encodedList is not valid base64url")]
    NotBase64,
    #[error("encodedList is not GZIP-compressed data: {0}")]
    NotGzip(String),
    #[error("the status list decompresses to more than {MAX_LIST_BYTES} bytes")]
    TooLarge,
    #[error("the status list has {0} entries; the spec requires at least {MIN_LIST_LENGTH}")]
    TooShort(usize),
    #[error("status index {index} is outside the list of {length} entries")]
    IndexOutOfRange { index: u64, length: usize },
    #[error("the status entry {0}")]
    InvalidEntry(String),
    #[error("the status list credential {0}")]
    InvalidListCredential(String),
    #[error("the status list's purpose is {list}, the entry's is {entry}")]
    PurposeMismatch { entry: String, list: String },
}

/// A list of status bits.
#[derive(Clone, PartialEq, Eq)]
pub struct Bitstring {
    bytes: Vec<u8>,
}

impl std::fmt::Debug for Bitstring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bitstring({} entries, {} set)", self.len(), self.count_set())
    }
}

impl Bitstring {
    /// An all-zero list of `entries` bits (rounded up to whole bytes, and to
    /// at least [`MIN_LIST_LENGTH`]).
    pub fn new(entries: usize) -> Self {
        Self { bytes: vec![0; entries.max(MIN_LIST_LENGTH).div_ceil(8)] }
    }

    pub fn len(&self) -> usize {
        self.bytes.len() * 8
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn get(&self, index: u64) -> Result<bool, StatusError> {
        let (byte, mask) = self.locate(index)?;
        Ok(self.bytes[byte] & mask != 0)
    }

    pub fn set(&mut self, index: u64, value: bool) -> Result<(), StatusError> {
        let (byte, mask) = self.locate(index)?;
        if value {
            self.bytes[byte] |= mask;
        } else {
            self.bytes[byte] &= !mask;
        }
        Ok(())
    }

    pub fn count_set(&self) -> usize {
        self.bytes.iter().map(|b| b.count_ones() as usize).sum()
    }

    fn locate(&self, index: u64) -> Result<(usize, u8), StatusError> {
        let out_of_range = || StatusError::IndexOutOfRange { index, length: self.len() };
        let index = usize::try_from(index).map_err(|_| out_of_range())?;
        if index >= self.len() {
            return Err(out_of_range());
        }
        // Index 0 is the left-most (most significant) bit.
        Ok((index / 8, 0x80 >> (index % 8)))
    }

    /// `encodedList`: `u` + base64url-no-pad(GZIP(bits)).
    pub fn encode(&self) -> String {
        let mut gzip = GzEncoder::new(Vec::with_capacity(self.bytes.len() / 64 + 64), Compression::best());
        // Writing to a Vec cannot fail.
        let _ = gzip.write_all(&self.bytes);
        let compressed = gzip.finish().unwrap_or_default();
        format!("u{}", URL_SAFE_NO_PAD.encode(compressed))
    }

    /// Reads `encodedList`. Lists shorter than the spec's minimum are refused.
    pub fn decode(encoded: &str) -> Result<Self, StatusError> {
        let base64 = encoded.strip_prefix('u').ok_or(StatusError::NotMultibase)?;
        let compressed = URL_SAFE_NO_PAD.decode(base64).map_err(|_| StatusError::NotBase64)?;
        let mut bytes = Vec::new();
        GzDecoder::new(compressed.as_slice())
            .take(MAX_LIST_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| StatusError::NotGzip(e.to_string()))?;
        if bytes.len() > MAX_LIST_BYTES {
            return Err(StatusError::TooLarge);
        }
        if bytes.len() * 8 < MIN_LIST_LENGTH {
            return Err(StatusError::TooShort(bytes.len() * 8));
        }
        Ok(Self { bytes })
    }
}

/// One `BitstringStatusListEntry` of a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEntry {
    pub id: Option<String>,
    pub purpose: String,
    pub index: u64,
    pub list_credential: String,
}

impl StatusEntry {
    /// Reads an entry. Liberal in what it accepts where that is harmless: the
    /// spec writes `statusListIndex` as a decimal string, 1EdTech's own test
    /// fixture uses a JSON integer.
    pub fn parse(entry: &Value) -> Result<Self, StatusError> {
        let invalid = |what: &str| StatusError::InvalidEntry(what.to_owned());
        let object = entry.as_object().ok_or_else(|| invalid("is not a JSON object"))?;
        if !has_type(object.get("type"), ENTRY_TYPE) {
            return Err(invalid("is not a BitstringStatusListEntry"));
        }
        let purpose =
            object.get("statusPurpose").and_then(Value::as_str).ok_or_else(|| invalid("has no statusPurpose"))?;
        let index = match object.get("statusListIndex") {
            Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                s.parse().map_err(|_| invalid("has a statusListIndex too large to use"))?
            }
            Some(Value::Number(n)) => {
                n.as_u64().ok_or_else(|| invalid("has a negative or fractional statusListIndex"))?
            }
            _ => return Err(invalid("has no statusListIndex as a non-negative decimal integer")),
        };
        if let Some(size) = object.get("statusSize")
            && size.as_u64() != Some(1)
        {
            return Err(invalid("uses a statusSize other than 1, which zegel does not support"));
        }
        let list_credential = object
            .get("statusListCredential")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("has no statusListCredential URL"))?;
        Ok(Self {
            id: object.get("id").and_then(Value::as_str).map(str::to_owned),
            purpose: purpose.to_owned(),
            index,
            list_credential: list_credential.to_owned(),
        })
    }

    /// The entry as zegel writes it into credentials (`statusListIndex` as a string).
    pub fn to_json(&self) -> Value {
        let mut entry = serde_json::Map::new();
        if let Some(id) = &self.id {
            entry.insert("id".into(), id.clone().into());
        }
        entry.insert("type".into(), ENTRY_TYPE.into());
        entry.insert("statusPurpose".into(), self.purpose.clone().into());
        entry.insert("statusListIndex".into(), self.index.to_string().into());
        entry.insert("statusListCredential".into(), self.list_credential.clone().into());
        Value::Object(entry)
    }
}

/// The `credentialStatus` entries of a credential (a single object or an array).
pub fn entries(credential_status: Option<&Value>) -> Vec<&Value> {
    match credential_status {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(single) => vec![single],
    }
}

/// The parts of a `BitstringStatusListCredential` a status check needs. The
/// credential's own proof and validity are checked by the verifier.
#[derive(Debug, Clone)]
pub struct StatusList {
    pub purpose: String,
    pub bits: Bitstring,
}

impl StatusList {
    pub fn from_credential(credential: &Value) -> Result<Self, StatusError> {
        let invalid = |what: &str| StatusError::InvalidListCredential(what.to_owned());
        if !has_type(credential.get("type"), LIST_CREDENTIAL_TYPE) {
            return Err(invalid("is not a BitstringStatusListCredential"));
        }
        let subject = credential.get("credentialSubject").ok_or_else(|| invalid("has no credentialSubject"))?;
        if !has_type(subject.get("type"), LIST_TYPE) {
            return Err(invalid("has a credentialSubject that is not a BitstringStatusList"));
        }
        let purpose = subject
            .get("statusPurpose")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("has no single statusPurpose"))?;
        let encoded =
            subject.get("encodedList").and_then(Value::as_str).ok_or_else(|| invalid("has no encodedList"))?;
        Ok(Self { purpose: purpose.to_owned(), bits: Bitstring::decode(encoded)? })
    }

    /// Whether the entry's bit is set (revoked, suspended, …).
    pub fn is_set(&self, entry: &StatusEntry) -> Result<bool, StatusError> {
        if entry.purpose != self.purpose {
            return Err(StatusError::PurposeMismatch { entry: entry.purpose.clone(), list: self.purpose.clone() });
        }
        self.bits.get(entry.index)
    }
}

/// An unsigned `BitstringStatusListCredential` (VC 2.0) publishing `bits`
/// for `purpose` at `list_url`.
pub fn list_credential(list_url: &str, issuer: &str, purpose: &str, bits: &Bitstring, valid_from: &str) -> Value {
    serde_json::json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": list_url,
        "type": ["VerifiableCredential", LIST_CREDENTIAL_TYPE],
        "issuer": issuer,
        "validFrom": valid_from,
        "credentialSubject": {
            "id": format!("{list_url}#list"),
            "type": LIST_TYPE,
            "statusPurpose": purpose,
            "encodedList": bits.encode(),
        },
    })
}

fn has_type(value: Option<&Value>, wanted: &str) -> bool {
    match value {
        Some(Value::String(t)) => t == wanted,
        Some(Value::Array(types)) => types.iter().any(|t| t.as_str() == Some(wanted)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_numbered_from_the_most_significant_bit() {
        let mut bits = Bitstring::new(0);
        assert_eq!(bits.len(), MIN_LIST_LENGTH);
        bits.set(0, true).unwrap();
        bits.set(9, true).unwrap();
        assert_eq!(bits.bytes[0], 0x80);
        assert_eq!(bits.bytes[1], 0x40);
        assert!(bits.get(9).unwrap());
        bits.set(9, false).unwrap();
        assert!(!bits.get(9).unwrap());
        assert_eq!(
            bits.get(MIN_LIST_LENGTH as u64),
            Err(StatusError::IndexOutOfRange { index: 131_072, length: 131_072 })
        );
    }

    #[test]
    fn encoding_round_trips() {
        let mut bits = Bitstring::new(MIN_LIST_LENGTH);
        for i in [0, 23, 4242, 131_071] {
            bits.set(i, true).unwrap();
        }
        let encoded = bits.encode();
        assert!(encoded.starts_with("uH4sI"), "{encoded}");
        assert_eq!(Bitstring::decode(&encoded).unwrap(), bits);
    }

    #[test]
    fn the_1edtech_test_list_has_only_bit_23_set() {
        let bits =
            Bitstring::decode("uH4sIAAAAAAAA_-3BMQEAAAzDoMy_6cnoA9QFAAAAAAAAAAAAAAAAAAAAbD3uPa2cAEAAAA").unwrap();
        assert_eq!(bits.len(), MIN_LIST_LENGTH);
        assert_eq!(bits.count_set(), 1);
        assert!(bits.get(23).unwrap());
    }

    #[test]
    fn malformed_lists_are_refused() {
        assert_eq!(Bitstring::decode("zabc"), Err(StatusError::NotMultibase));
        assert_eq!(Bitstring::decode("u!!"), Err(StatusError::NotBase64));
        assert!(matches!(Bitstring::decode("uAAAA"), Err(StatusError::NotGzip(_))));
        let mut gzip = GzEncoder::new(Vec::new(), Compression::default());
        gzip.write_all(&[0u8; 100]).unwrap();
        let short = format!("u{}", URL_SAFE_NO_PAD.encode(gzip.finish().unwrap()));
        assert_eq!(Bitstring::decode(&short), Err(StatusError::TooShort(800)));
    }

    #[test]
    fn a_gzip_bomb_is_refused_without_inflating_it() {
        let mut gzip = GzEncoder::new(Vec::new(), Compression::best());
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..20 {
            gzip.write_all(&zeros).unwrap();
        }
        let bomb = format!("u{}", URL_SAFE_NO_PAD.encode(gzip.finish().unwrap()));
        assert_eq!(Bitstring::decode(&bomb), Err(StatusError::TooLarge));
    }

    #[test]
    fn entries_accept_string_and_integer_indexes() {
        let entry = StatusEntry::parse(&serde_json::json!({
            "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
            "statusListIndex": "94567", "statusListCredential": "https://issuer.example/status/1"
        }))
        .unwrap();
        assert_eq!(entry.index, 94567);
        assert_eq!(entry.to_json()["statusListIndex"], "94567");
        let entry = StatusEntry::parse(&serde_json::json!({
            "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
            "statusListIndex": 23, "statusListCredential": "https://issuer.example/status/1"
        }))
        .unwrap();
        assert_eq!(entry.index, 23);
        for bad in [serde_json::json!("-1"), serde_json::json!(-1), serde_json::json!("1e3"), serde_json::json!(2.5)] {
            let parsed = StatusEntry::parse(&serde_json::json!({
                "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
                "statusListIndex": bad, "statusListCredential": "https://issuer.example/status/1"
            }));
            assert!(matches!(parsed, Err(StatusError::InvalidEntry(_))), "{parsed:?}");
        }
    }
}

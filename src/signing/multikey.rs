//! Ed25519 keys as W3C Multikey multibase strings.
//!
//! A Multikey value is `z` (multibase base58btc) followed by the base58btc
//! encoding of an unsigned-varint multicodec code and the raw key bytes:
//!
//! - public key: `0xed 0x01` (`ed25519-pub`, code 0xed) ‖ 32 bytes → `z6Mk…`
//! - secret key: `0x80 0x26` (`ed25519-priv`, code 0x1300) ‖ 32-byte seed → `z3u2…`
//!
//! See: <https://www.w3.org/TR/controller-document/#Multikey> and
//! <https://www.w3.org/TR/vc-di-eddsa/#multikey> ("raise errors if they
//! encounter a Multikey prefix value other than `0xed01`").
//!
//! Secret keys are also accepted in the 64-byte `seed ‖ public` form used by
//! the 1EdTech OB 3.0 implementation guide; the public half must then match.

use ed25519_dalek::{PUBLIC_KEY_LENGTH, SECRET_KEY_LENGTH, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

/// Multibase prefix for base58btc (Bitcoin alphabet).
const BASE58BTC: char = 'z';
/// Unsigned-varint encoding of multicodec `ed25519-pub` (0xed).
const ED25519_PUB: [u8; 2] = [0xed, 0x01];
/// Unsigned-varint encoding of multicodec `ed25519-priv` (0x1300).
const ED25519_PRIV: [u8; 2] = [0x80, 0x26];

/// Why a string is not a usable Ed25519 Multikey.
///
/// Messages never contain key material: at most a multicodec code or a length.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MultikeyError {
    /// The value does not start with the multibase base58btc prefix `z`.
    #[error("not a multibase base58btc value: it must start with 'z'")]
    NotBase58Btc,
    /// The characters after `z` are not valid base58btc.
    #[error("not a multibase base58btc value: {reason}")]
    InvalidBase58 {
        /// What the base58 decoder objected to (position only, never the text).
        reason: String,
    },
    /// The decoded bytes start with some other multicodec than the expected one.
    #[error("not an Ed25519 {expected} Multikey: multicodec prefix is {found}, expected {expected_codec}")]
    WrongCodec {
        /// `"public"` or `"secret"`.
        expected: &'static str,
        /// The expected multicodec, e.g. `0xed (ed25519-pub, bytes ed 01)`.
        expected_codec: &'static str,
        /// The multicodec that was found, named when it is a well-known key type.
        found: String,
    },
    /// The key bytes after the multicodec prefix have the wrong length.
    #[error(
        "wrong length for an Ed25519 {expected} key: expected {allowed} bytes after the multicodec prefix, found {found}"
    )]
    WrongLength {
        /// `"public"` or `"secret"`.
        expected: &'static str,
        /// The allowed lengths, e.g. `"32"` or `"32 or 64"`.
        allowed: &'static str,
        /// The number of key bytes found.
        found: usize,
    },
    /// The 32 public key bytes do not decode to a point on Curve25519.
    #[error("invalid Ed25519 public key: the 32 bytes are not a point on the curve")]
    InvalidPoint,
    /// The public key is a small-order ("weak") point; signatures made for it
    /// can verify for any message, so it is never a legitimate key.
    #[error("invalid Ed25519 public key: it is a small-order (weak) point")]
    WeakKey,
    /// The 64-byte `seed ‖ public` secret key carries a public half that is not
    /// the one derived from the seed.
    #[error("the public key half of the 64-byte secret key does not match the seed")]
    PublicKeyMismatch,
}

/// `z` + base58btc(`0xed 0x01` ‖ public key): the `z6Mk…` form used as
/// `publicKeyMultibase`, in `did:key` and as our Ed25519 key id.
pub fn encode_ed25519_public(key: &VerifyingKey) -> String {
    let mut bytes = [0u8; 2 + PUBLIC_KEY_LENGTH];
    bytes[..2].copy_from_slice(&ED25519_PUB);
    bytes[2..].copy_from_slice(key.as_bytes());
    multibase_base58btc(&bytes)
}

/// Parses a `z6Mk…` Multikey public key.
///
/// Rejects anything but multibase base58btc, any multicodec other than
/// `ed25519-pub` (0xed), a length other than 32 key bytes, bytes that are not
/// a curve point, and small-order points.
pub fn decode_ed25519_public(multibase: &str) -> Result<VerifyingKey, MultikeyError> {
    let bytes = decode_base58btc(multibase)?;
    let key_bytes = strip_codec(&bytes, ED25519_PUB, "public", "0xed (ed25519-pub, bytes ed 01)")?;
    let key_bytes: &[u8; PUBLIC_KEY_LENGTH] = key_bytes.try_into().map_err(|_| MultikeyError::WrongLength {
        expected: "public",
        allowed: "32",
        found: key_bytes.len(),
    })?;
    let key = VerifyingKey::from_bytes(key_bytes).map_err(|_| MultikeyError::InvalidPoint)?;
    if key.is_weak() {
        return Err(MultikeyError::WeakKey);
    }
    Ok(key)
}

/// `z` + base58btc(`0x80 0x26` ‖ 32-byte seed), the W3C `privateKeyMultibase`
/// / `secretKeyMultibase` form.
///
/// The result is the secret key: keep it in a [`Zeroizing`] (moving it in
/// costs no copy) and never log it. No intermediate copy is left behind.
pub fn encode_ed25519_secret(key: &SigningKey) -> String {
    let mut bytes = Zeroizing::new([0u8; 2 + SECRET_KEY_LENGTH]);
    bytes[..2].copy_from_slice(&ED25519_PRIV);
    bytes[2..].copy_from_slice(key.as_bytes());
    multibase_base58btc(bytes.as_slice())
}

/// Parses a secret Multikey: `0x80 0x26` followed by either the 32-byte seed
/// (W3C vectors) or the 64-byte `seed ‖ public` form (1EdTech implementation
/// guide), in which case the public half must be the one the seed derives.
pub fn decode_ed25519_secret(multibase: &str) -> Result<SigningKey, MultikeyError> {
    let bytes = decode_base58btc(multibase)?;
    let key_bytes = strip_codec(&bytes, ED25519_PRIV, "secret", "0x1300 (ed25519-priv, bytes 80 26)")?;
    let wrong_length =
        || MultikeyError::WrongLength { expected: "secret", allowed: "32 or 64", found: key_bytes.len() };
    match key_bytes.len() {
        SECRET_KEY_LENGTH => {
            let seed: &[u8; SECRET_KEY_LENGTH] = key_bytes.try_into().map_err(|_| wrong_length())?;
            Ok(SigningKey::from_bytes(seed))
        }
        64 => {
            let (seed, public) = key_bytes.split_at(SECRET_KEY_LENGTH);
            let seed: &[u8; SECRET_KEY_LENGTH] = seed.try_into().map_err(|_| wrong_length())?;
            let key = SigningKey::from_bytes(seed);
            if key.verifying_key().as_bytes().as_slice() != public {
                return Err(MultikeyError::PublicKeyMismatch);
            }
            Ok(key)
        }
        _ => Err(wrong_length()),
    }
}

fn multibase_base58btc(bytes: &[u8]) -> String {
    // Encoding straight into a buffer that is already large enough (base58
    // needs < 1.37 characters per byte) means no reallocation leaves a copy
    // of a secret key behind in freed memory.
    let mut out = String::with_capacity(2 + bytes.len() * 2);
    out.push(BASE58BTC);
    bs58::encode(bytes).onto(&mut out).expect("encoding into a growable String cannot run out of space");
    out
}

/// Decodes `z…` into bytes that are zeroized on drop (they may be a secret).
fn decode_base58btc(multibase: &str) -> Result<Zeroizing<Vec<u8>>, MultikeyError> {
    let encoded = multibase.strip_prefix(BASE58BTC).ok_or(MultikeyError::NotBase58Btc)?;
    let bytes = bs58::decode(encoded)
        .into_vec()
        .map_err(|error| MultikeyError::InvalidBase58 { reason: describe_base58_error(&error) })?;
    Ok(Zeroizing::new(bytes))
}

// bs58's own messages quote the offending character; ours give only its
// position, because the input may be a secret key.
fn describe_base58_error(error: &bs58::decode::Error) -> String {
    match error {
        bs58::decode::Error::InvalidCharacter { index, .. } => {
            format!("invalid base58btc character at position {}", index + 1)
        }
        bs58::decode::Error::NonAsciiCharacter { index } => {
            format!("non-ASCII character at position {}", index + 1)
        }
        _ => "malformed base58btc".to_owned(),
    }
}

/// Checks the two-byte multicodec prefix and returns the key bytes after it.
fn strip_codec<'a>(
    bytes: &'a [u8],
    codec: [u8; 2],
    expected: &'static str,
    expected_codec: &'static str,
) -> Result<&'a [u8], MultikeyError> {
    bytes.strip_prefix(codec.as_slice()).ok_or_else(|| MultikeyError::WrongCodec {
        expected,
        expected_codec,
        found: describe_codec(bytes),
    })
}

/// Names the multicodec at the start of `bytes`, e.g. `0x1200 (p256-pub)`.
fn describe_codec(bytes: &[u8]) -> String {
    let Some(code) = read_uvarint(bytes) else {
        return "missing (no complete multicodec varint)".to_owned();
    };
    // The key types one is likely to meet in DID documents and key files.
    let name = match code {
        0xe7 => Some("secp256k1-pub"),
        0xec => Some("x25519-pub"),
        0xed => Some("ed25519-pub"),
        0x1200 => Some("p256-pub"),
        0x1201 => Some("p384-pub"),
        0x1202 => Some("p521-pub"),
        0x1205 => Some("rsa-pub"),
        0x1300 => Some("ed25519-priv"),
        0x1301 => Some("secp256k1-priv"),
        0x1302 => Some("x25519-priv"),
        0x1306 => Some("p256-priv"),
        0x1307 => Some("p384-priv"),
        0x1305 => Some("rsa-priv"),
        _ => None,
    };
    match name {
        Some(name) => format!("{code:#x} ({name})"),
        None => format!("{code:#x} (unknown)"),
    }
}

/// Reads a multiformats unsigned varint (at most 9 bytes, 63 bits).
fn read_uvarint(bytes: &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for (i, byte) in bytes.iter().take(9).enumerate() {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_key_round_trips_and_starts_with_z6mk() {
        let key = SigningKey::from_bytes(&[7u8; 32]).verifying_key();
        let encoded = encode_ed25519_public(&key);
        assert!(encoded.starts_with("z6Mk"), "{encoded}");
        assert_eq!(decode_ed25519_public(&encoded), Ok(key));
    }

    #[test]
    fn a_secret_key_round_trips_and_starts_with_z3u2() {
        let key = SigningKey::from_bytes(&[9u8; 32]);
        let encoded = Zeroizing::new(encode_ed25519_secret(&key));
        assert!(encoded.starts_with("z3u2"), "{}", encoded.as_str());
        let decoded = decode_ed25519_secret(&encoded).expect("decodes");
        assert_eq!(decoded.to_bytes(), key.to_bytes());
    }

    #[test]
    fn the_varint_reader_names_two_byte_codes() {
        assert_eq!(read_uvarint(&[0xed, 0x01]), Some(0xed));
        assert_eq!(read_uvarint(&[0x80, 0x24]), Some(0x1200));
        assert_eq!(read_uvarint(&[0x80]), None);
        assert_eq!(describe_codec(&[0x80, 0x24, 1, 2]), "0x1200 (p256-pub)");
    }

    #[test]
    fn a_public_key_with_a_secret_prefix_is_a_wrong_codec() {
        let key = SigningKey::from_bytes(&[9u8; 32]);
        let secret = encode_ed25519_secret(&key);
        let error = decode_ed25519_public(&secret).expect_err("must fail");
        assert!(matches!(&error, MultikeyError::WrongCodec { found, .. } if found.contains("ed25519-priv")), "{error}");
    }

    #[test]
    fn base58_errors_give_the_position_but_not_the_character() {
        let error = decode_ed25519_secret("z3u2en7t5LR2WtIH5PfFqM").expect_err("I is not base58");
        let message = error.to_string();
        assert!(message.contains("position 14"), "{message}");
        assert!(!message.contains('I'), "{message}");
    }
}

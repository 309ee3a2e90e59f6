//! Hashed recipient identifiers (OB 3.0 `IdentityObject`).
//!
//! See: <https://www.imsglobal.org/spec/ob/v3p0/#identityobject> and
//! `IdentityHash`: an algorithm name, `$`, and the hex digest of the
//! identifier with the salt appended, both UTF-8.
//!
//! What is hashed is the identifier exactly as passed. zegel passes e-mail
//! addresses and eppns after trimming and lower-casing them (done when they
//! are parsed, see [`crate::domain::award::EmailAddress`]): Edubadges
//! lower-cases `recipient_email` and `eppn` too, so a learner's address has
//! one hashed form whichever way the SIS capitalised it.

use base64::Engine;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

/// The algorithm prefix zegel writes.
pub const SHA256_PREFIX: &str = "sha256$";

/// A fresh salt: 128 random bits from the operating system, as 22 characters
/// of unpadded URL-safe base64.
pub fn new_salt() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// `"sha256$" + lowercase hex(SHA-256(UTF-8(identity ‖ salt)))`.
///
/// `identity_hash("a@example.com", "Kosher")` is the spec's example,
/// `sha256$b5809d8a92f8858436d7e6b87c12ebc0ae1eac4baecc2c0b913aee2c922ef399`.
pub fn identity_hash(identity: &str, salt: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(identity.as_bytes());
    hasher.update(salt.as_bytes());
    let digest = hasher.finalize();
    let mut out = String::with_capacity(SHA256_PREFIX.len() + 64);
    out.push_str(SHA256_PREFIX);
    for byte in digest {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Whether `candidate` is the identifier behind `identity_hash` (with `salt`
/// appended, if any).
///
/// Only `sha256$` hashes are supported, with the hex digest in upper or lower
/// case. OB 3.0 also allows `md5$`; zegel never writes MD5 and answers
/// `false` for it (MD5 is broken, and no issuer zegel must interoperate with
/// uses it). The candidate is tried as given and then trimmed and
/// lower-cased, so `Sam@Example.edu` matches a hash of `sam@example.edu`
/// (zegel's own form) as well as issuers that hash the address as typed.
/// The comparison is not constant-time: the hash and salt are public data in
/// the credential.
pub fn identity_matches(identity_hash: &str, salt: Option<&str>, candidate: &str) -> bool {
    let Some(expected) = identity_hash.strip_prefix(SHA256_PREFIX) else {
        return false;
    };
    if expected.len() != 64 || !expected.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    let salt = salt.unwrap_or("");
    let matches = |c: &str| self::identity_hash(c, salt)[SHA256_PREFIX.len()..].eq_ignore_ascii_case(expected);
    if matches(candidate) {
        return true;
    }
    let normalised = candidate.trim().to_lowercase();
    normalised != candidate && matches(&normalised)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salts_are_22_url_safe_characters_and_differ() {
        let (a, b) = (new_salt(), new_salt());
        assert_eq!(a.len(), 22);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_ne!(a, b);
    }

    #[test]
    fn malformed_hashes_never_match() {
        let h = identity_hash("a@example.com", "Kosher");
        assert!(!identity_matches(&h[..h.len() - 1], Some("Kosher"), "a@example.com"));
        assert!(!identity_matches(&h.replace("sha256$", "sha512$"), Some("Kosher"), "a@example.com"));
        assert!(!identity_matches(&format!("{}g", &h[..h.len() - 1]), Some("Kosher"), "a@example.com"));
    }
}

//! Issuer identifiers and the documents that publish issuer keys:
//! `did:key` (Ed25519), `did:web`, DID documents and JWKS.
//!
//! - did:key: <https://w3c-ccg.github.io/did-key-spec/> — `did:key:z6Mk…`,
//!   verification method `did:key:z6Mk…#z6Mk…`.
//! - did:web: <https://w3c-ccg.github.io/did-method-web/> — the host (with a
//!   percent-encoded port) and path segments joined by `:`; the document lives
//!   at `https://host/.well-known/did.json` or `https://host/path/did.json`.
//! - Verification methods are W3C Multikey (Ed25519) and JsonWebKey (RSA)
//!   (<https://www.w3.org/TR/controller-document/>), listed under
//!   `assertionMethod`, which OB proofs with `proofPurpose: assertionMethod`
//!   require (ob3-spec.md §2.3).
//!
//! Key rotation: documents list every key given, so a retired key stays
//! published (and old credentials stay verifiable) for as long as it is passed
//! in. Retired keys whose private half is gone can be passed as public keys to
//! [`did_document_from_public_keys`] and [`jwks_from_public_keys`].

use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::{Value, json};

use super::jwt::PublicKey;
use super::keys::SigningKey;
use super::multikey;

/// The `@context` of the DID documents we publish.
pub const DID_DOCUMENT_CONTEXT: [&str; 3] =
    ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1", "https://w3id.org/security/jwk/v1"];

/// Why a URL cannot be a did:web, or a DID cannot be resolved as one.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DidError {
    /// Not `https://…` (or `http://` on a loopback host).
    #[error(
        "{url:?} is not an https URL (did:web documents are served over https; http is allowed only for localhost, 127.0.0.1 and [::1] during development)"
    )]
    NotHttps {
        /// The URL given.
        url: String,
    },
    /// Query or fragment in the base URL.
    #[error("{url:?} has a query or fragment; a did:web base URL may only have a host, port and path")]
    QueryOrFragment {
        /// The URL given.
        url: String,
    },
    /// `user:password@` in the base URL.
    #[error("{url:?} contains user information (\"…@\"); a did:web base URL may not")]
    UserInfo {
        /// The URL given.
        url: String,
    },
    /// A host that is not a DNS name (or an allowed loopback address).
    #[error("invalid host {host:?}: {reason}")]
    InvalidHost {
        /// The host.
        host: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A port that is not 1–65535.
    #[error("invalid port {port:?}: expected a number from 1 to 65535")]
    InvalidPort {
        /// The port text.
        port: String,
    },
    /// An empty, `.` or `..` path segment, or other unusable path.
    #[error("invalid path in {input:?}: {reason}")]
    InvalidPath {
        /// The URL or DID given.
        input: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// Not `did:web:…`.
    #[error("{did:?} is not a did:web DID (expected \"did:web:<host>[:<path>…]\")")]
    NotDidWeb {
        /// The DID given.
        did: String,
    },
    /// A DID URL (with `#`, `?` or `/`) where a bare DID was expected.
    #[error("{did:?} is a DID URL; pass the DID without \"#fragment\", \"?query\" or \"/path\"")]
    DidUrl {
        /// The DID URL given.
        did: String,
    },
    /// A malformed percent-encoding in a DID.
    #[error("{did:?} contains an invalid percent-encoding")]
    InvalidPercentEncoding {
        /// The DID given.
        did: String,
    },
}

/// `did:key:z6Mk…` for an Ed25519 public key.
pub fn did_key(key: &ed25519_dalek::VerifyingKey) -> String {
    format!("did:key:{}", multikey::encode_ed25519_public(key))
}

/// The did:key verification method `did:key:z6Mk…#z6Mk…`.
pub fn did_key_verification_method(key: &ed25519_dalek::VerifyingKey) -> String {
    let multibase = multikey::encode_ed25519_public(key);
    format!("did:key:{multibase}#{multibase}")
}

/// The verification method id `<issuer>#<key id>` for a key of the issuer
/// `did_or_issuer` (a DID or an https issuer URL).
pub fn verification_method_id(did_or_issuer: &str, key: &SigningKey) -> String {
    format!("{did_or_issuer}#{}", key.id())
}

/// The did:web DID for the service's public base URL.
///
/// `https://example.edu` → `did:web:example.edu`; `https://example.edu:8443`
/// → `did:web:example.edu%3A8443`; `https://example.edu/issuers/x` →
/// `did:web:example.edu:issuers:x`. A trailing slash is ignored; the host is
/// lowercased; a default port (443, or 80 for http) is dropped. Refused: a
/// query or fragment, user information, IP addresses (the did:web method
/// forbids them) and `http://` — except on loopback hosts (`localhost`,
/// `127.0.0.0/8`, `[::1]`), which are allowed for development.
pub fn did_web_from_url(public_base_url: &str) -> Result<String, DidError> {
    let url = public_base_url;
    let (scheme, rest) = url.split_once("://").ok_or_else(|| DidError::NotHttps { url: url.to_owned() })?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err(DidError::NotHttps { url: url.to_owned() });
    }
    if rest.contains(['?', '#']) {
        return Err(DidError::QueryOrFragment { url: url.to_owned() });
    }
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if authority.contains('@') {
        return Err(DidError::UserInfo { url: url.to_owned() });
    }
    let (host, port) = parse_authority(authority)?;
    let loopback = host.is_loopback();
    if scheme == "http" && !loopback {
        return Err(DidError::NotHttps { url: url.to_owned() });
    }
    let default_port = if scheme == "https" { 443 } else { 80 };

    let mut did = String::from("did:web:");
    did.push_str(&percent_encode_host(&host.text));
    if let Some(port) = port.filter(|port| *port != default_port) {
        did.push_str(&format!("%3A{port}"));
    }
    for segment in path_segments(path, url)? {
        did.push(':');
        did.push_str(&percent_encode_segment(segment));
    }
    Ok(did)
}

/// Where the DID document of a did:web DID is fetched from (did:web §"Read
/// (Resolve)"): `did:web:example.edu` → `https://example.edu/.well-known/did.json`,
/// `did:web:example.edu:issuers:x` → `https://example.edu/issuers/x/did.json`,
/// `did:web:example.edu%3A8443` → `https://example.edu:8443/.well-known/did.json`.
///
/// The inverse of [`did_web_from_url`], except that loopback hosts always
/// resolve to `http://` (the development setting).
pub fn did_web_document_url(did: &str) -> Result<String, DidError> {
    let id = did
        .strip_prefix("did:web:")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| DidError::NotDidWeb { did: did.to_owned() })?;
    if id.contains(['#', '?', '/']) {
        return Err(DidError::DidUrl { did: did.to_owned() });
    }
    let mut parts = id.split(':');
    let authority = parts.next().unwrap_or_default();
    let authority =
        percent_decode(authority).ok_or_else(|| DidError::InvalidPercentEncoding { did: did.to_owned() })?;
    let (host, port) = parse_authority(&authority)?;
    let scheme = if host.is_loopback() { "http" } else { "https" };

    let mut url = format!("{scheme}://{}", host.text);
    if let Some(port) = port {
        url.push_str(&format!(":{port}"));
    }
    let segments: Vec<&str> = parts.collect();
    for segment in &segments {
        check_did_segment(segment, did)?;
        url.push('/');
        url.push_str(segment);
    }
    url.push_str(if segments.is_empty() { "/.well-known/did.json" } else { "/did.json" });
    Ok(url)
}

/// A validated host: a lowercase DNS name, or a loopback IP address.
struct Host {
    /// As it appears in a URL (`[::1]` with brackets).
    text: String,
    kind: HostKind,
}

#[derive(PartialEq, Eq)]
enum HostKind {
    Name,
    Localhost,
    LoopbackIp,
}

impl Host {
    fn is_loopback(&self) -> bool {
        self.kind != HostKind::Name
    }
}

fn parse_authority(authority: &str) -> Result<(Host, Option<u16>), DidError> {
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (address, after) = bracketed
            .split_once(']')
            .ok_or(DidError::InvalidHost { host: authority.to_owned(), reason: "unclosed IPv6 literal" })?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or(DidError::InvalidHost {
                host: authority.to_owned(),
                reason: "unexpected text after IPv6 literal",
            })?),
        };
        (parse_ipv6_host(address)?, port)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        (parse_host(host)?, port)
    };
    let port = port.map(parse_port).transpose()?;
    Ok((host, port))
}

fn parse_port(port: &str) -> Result<u16, DidError> {
    let invalid = || DidError::InvalidPort { port: port.to_owned() };
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    match port.parse::<u16>() {
        Ok(0) | Err(_) => Err(invalid()),
        Ok(number) => Ok(number),
    }
}

fn parse_ipv6_host(address: &str) -> Result<Host, DidError> {
    let ip: Ipv6Addr = address
        .parse()
        .map_err(|_| DidError::InvalidHost { host: format!("[{address}]"), reason: "not an IPv6 address" })?;
    if !ip.is_loopback() {
        return Err(DidError::InvalidHost {
            host: format!("[{address}]"),
            reason: "did:web does not allow IP addresses (only [::1] for development)",
        });
    }
    Ok(Host { text: "[::1]".to_owned(), kind: HostKind::LoopbackIp })
}

fn parse_host(host: &str) -> Result<Host, DidError> {
    let invalid = |reason| DidError::InvalidHost { host: host.to_owned(), reason };
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        if ip.is_loopback() {
            return Ok(Host { text: ip.to_string(), kind: HostKind::LoopbackIp });
        }
        return Err(invalid("did:web does not allow IP addresses (only 127.0.0.1 for development)"));
    }
    if host.is_empty() {
        return Err(invalid("empty host"));
    }
    if !host.is_ascii() {
        return Err(invalid("internationalised domain names must be given in their ASCII (xn--) form"));
    }
    if host.len() > 253 {
        return Err(invalid("longer than 253 characters"));
    }
    let host = host.to_ascii_lowercase();
    for label in host.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(invalid("every dot-separated label must have 1 to 63 characters"));
        }
        if !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            || label.starts_with('-')
            || label.ends_with('-')
        {
            return Err(invalid("labels may only contain letters, digits and inner hyphens"));
        }
    }
    let kind = if host == "localhost" { HostKind::Localhost } else { HostKind::Name };
    Ok(Host { text: host, kind })
}

/// The URL path's segments, ignoring one trailing slash.
fn path_segments<'a>(path: &'a str, url: &str) -> Result<Vec<&'a str>, DidError> {
    let path = path.strip_prefix('/').unwrap_or(path);
    let path = path.strip_suffix('/').unwrap_or(path);
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let segments: Vec<&str> = path.split('/').collect();
    for segment in &segments {
        check_segment(segment, url)?;
    }
    if segments.first() == Some(&".well-known") {
        // did:web:host:.well-known would resolve to the root DID's document.
        return Err(DidError::InvalidPath {
            input: url.to_owned(),
            reason: "a path starting with /.well-known collides with the host's own DID document",
        });
    }
    Ok(segments)
}

fn check_segment(segment: &str, input: &str) -> Result<(), DidError> {
    let invalid = |reason| DidError::InvalidPath { input: input.to_owned(), reason };
    match segment {
        "" => Err(invalid("empty path segment")),
        "." | ".." => Err(invalid("\".\" and \"..\" path segments are not allowed")),
        _ if !segment.bytes().all(is_url_path_byte) => {
            Err(invalid("characters outside the URL path character set (percent-encode them)"))
        }
        _ if percent_decode(segment).is_none() => Err(invalid("invalid percent-encoding")),
        _ => Ok(()),
    }
}

/// A DID path segment must be did-core `idchar`s; percent-encodings stay as
/// they are in the URL path.
fn check_did_segment(segment: &str, did: &str) -> Result<(), DidError> {
    let invalid = |reason| DidError::InvalidPath { input: did.to_owned(), reason };
    match segment {
        "" => Err(invalid("empty path segment (\"::\" or a trailing \":\")")),
        "." | ".." => Err(invalid("\".\" and \"..\" path segments are not allowed")),
        _ if !segment.bytes().all(is_idchar_byte) => {
            Err(invalid("characters outside the DID syntax (letters, digits, \".\", \"-\", \"_\", %XX)"))
        }
        _ if percent_decode(segment).is_none() => Err(invalid("invalid percent-encoding")),
        _ => Ok(()),
    }
}

fn is_idchar_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"._-%".contains(&byte)
}

/// RFC 3986 `pchar` (unreserved, sub-delims, `:`, `@`) plus `%` of pct-encoded.
fn is_url_path_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@%".contains(&byte)
}

/// did-core `idchar` is `ALPHA / DIGIT / "." / "-" / "_" / pct-encoded`:
/// everything else in a path segment is percent-encoded (existing `%XX` kept).
fn percent_encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if is_idchar_byte(byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Hosts are DNS names (already idchar-safe) or `[::1]`, whose brackets and
/// colons need percent-encoding in a DID.
fn percent_encode_host(host: &str) -> String {
    percent_encode_segment(host)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            // from_str_radix alone would also take a sign ("%+1").
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The DID document for `did` listing `keys` (see [`did_document_from_public_keys`]).
pub fn did_document(did: &str, keys: &[&SigningKey]) -> Value {
    let public: Vec<PublicKey> = keys.iter().map(|key| key.public_key()).collect();
    did_document_from_public_keys(did, &public)
}

/// The DID document for `did` listing `keys`, in order: Ed25519 keys as
/// `Multikey` (`publicKeyMultibase`), RSA keys as `JsonWebKey`
/// (`publicKeyJwk`, public members only), each with id `<did>#<key id>` and
/// referenced from `assertionMethod` (issuing credentials) and
/// `authentication`.
pub fn did_document_from_public_keys(did: &str, keys: &[PublicKey]) -> Value {
    let methods: Vec<Value> = keys.iter().map(|key| verification_method(did, key)).collect();
    let ids: Vec<Value> = methods.iter().filter_map(|method| method.get("id").cloned()).collect();
    json!({
        "@context": DID_DOCUMENT_CONTEXT,
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": ids,
        "authentication": ids,
    })
}

fn verification_method(did: &str, key: &PublicKey) -> Value {
    let id = format!("{did}#{}", key.kid());
    match key {
        PublicKey::Ed25519(public) => json!({
            "id": id,
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": multikey::encode_ed25519_public(public),
        }),
        PublicKey::Rsa(_) => json!({
            "id": id,
            "type": "JsonWebKey",
            "controller": did,
            "publicKeyJwk": key.to_jwk(),
        }),
    }
}

/// A JWK Set (RFC 7517 §5) of the keys' public JWKs: `{"keys": [...]}`, as
/// served at `/.well-known/jwks.json`.
pub fn jwks(keys: &[&SigningKey]) -> Value {
    json!({ "keys": keys.iter().map(|key| key.public_jwk()).collect::<Vec<_>>() })
}

/// [`jwks`] for public keys (e.g. retired keys whose private half is gone).
pub fn jwks_from_public_keys(keys: &[PublicKey]) -> Value {
    json!({ "keys": keys.iter().map(PublicKey::to_jwk).collect::<Vec<_>>() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uppercase_hosts_and_default_ports_are_normalised() {
        assert_eq!(did_web_from_url("https://Example.EDU:443/").as_deref(), Ok("did:web:example.edu"));
    }

    #[test]
    fn path_characters_outside_idchar_are_percent_encoded_and_resolve_back() {
        let did = did_web_from_url("https://example.edu/~issuer/a%20b").expect("valid");
        assert_eq!(did, "did:web:example.edu:%7Eissuer:a%20b");
        assert_eq!(did_web_document_url(&did).as_deref(), Ok("https://example.edu/%7Eissuer/a%20b/did.json"));
    }

    #[test]
    fn ipv6_loopback_round_trips_through_percent_encoding() {
        let did = did_web_from_url("http://[::1]:8080").expect("loopback");
        assert_eq!(did, "did:web:%5B%3A%3A1%5D%3A8080");
        assert_eq!(did_web_document_url(&did).as_deref(), Ok("http://[::1]:8080/.well-known/did.json"));
    }

    #[test]
    fn percent_decoding_rejects_truncated_escapes() {
        assert_eq!(percent_decode("a%3"), None);
        assert_eq!(percent_decode("a%zz"), None);
        assert_eq!(percent_decode("a%3Ab").as_deref(), Some("a:b"));
    }
}

//! VC-JWT: the OB 3.0 "JSON Web Token Proof Format" (OB 3.0 §8.2, RFC 7515 /
//! RFC 7519).
//!
//! Signing: the JOSE header is exactly `{"alg", "kid", "typ": "JWT"}` ("Additional
//! JOSE Headers are NOT allowed"); the payload is the credential object itself,
//! every member in its order, followed by the claims `iss` (issuer id), `jti`
//! (credential `id`), `sub` (`credentialSubject.id`, when there is one), `nbf`
//! (`validFrom`) and `exp` (`validUntil`, when present).
//!
//! Verification checks the signature with a key the caller resolved (from
//! `kid` or `jwk`, read with [`decode_unverified`]), then that those claims
//! agree with the credential. It does *not* judge time validity (not yet
//! valid / expired): the verifier reports that separately.
//!
//! See: <https://www.imsglobal.org/spec/ob/v3p0/#jwt-proof>

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::DateTime;
use jsonwebtoken::{Algorithm, DecodingKey, Header};
use rsa::RsaPublicKey;
use rsa::traits::PublicKeyParts;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use super::keys::{self, Ed25519Key, KeyKind, RSA_MIN_BITS, SigningKey};
use super::multikey;

/// The JWT registered claims (RFC 7519 §4.1) that VC-JWT adds around the
/// credential; they are removed again when the credential is read back.
const REGISTERED_CLAIMS: [&str; 7] = ["iss", "sub", "jti", "nbf", "exp", "iat", "aud"];

/// JWK members that only a private (or symmetric) key has (RFC 7518 §6.2.2,
/// §6.3.2, §6.4; RFC 8037 §2).
const PRIVATE_JWK_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Which part of a compact JWS an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    /// The JOSE header (first segment).
    Header,
    /// The claims (second segment).
    Payload,
    /// The signature (third segment).
    Signature,
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Segment::Header => "header",
            Segment::Payload => "payload",
            Segment::Signature => "signature",
        })
    }
}

/// Why a VC-JWT could not be made, read or verified.
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    // Signing: what the credential lacks.
    /// No `issuer` string or `issuer.id`.
    #[error(
        "the credential has no issuer id (\"issuer\" as a string, or an object with a string \"id\"); VC-JWT needs it for \"iss\""
    )]
    MissingIssuer,
    /// No `id`.
    #[error("the credential has no string \"id\"; VC-JWT needs it for \"jti\"")]
    MissingId,
    /// No `validFrom`.
    #[error("the credential has no string \"validFrom\"; VC-JWT needs it for \"nbf\"")]
    MissingValidFrom,
    /// `validFrom` / `validUntil` that is not a date-time with time zone.
    #[error(
        "the credential's \"{member}\" {value:?} is not a date-time with time zone (RFC 3339, e.g. 2025-01-01T00:00:00Z): {reason}"
    )]
    InvalidDate {
        /// `validFrom` or `validUntil`.
        member: &'static str,
        /// The value found.
        value: String,
        /// The parser's complaint.
        reason: String,
    },
    /// The credential already has a member named like a JWT claim.
    #[error("the credential has a top-level \"{name}\" member, which would collide with the JWT claim of that name")]
    ReservedClaimInCredential {
        /// The member.
        name: String,
    },
    /// jsonwebtoken failed to sign.
    #[error("signing the VC-JWT failed: {0}")]
    Sign(#[source] jsonwebtoken::errors::Error),
    /// The header or payload could not be serialised.
    #[error("serialising the VC-JWT failed: {0}")]
    Serialize(#[source] serde_json::Error),

    // Reading: malformed tokens.
    /// Not three dot-separated segments.
    #[error("not a compact JWS: expected 3 dot-separated segments, found {found}")]
    WrongSegmentCount {
        /// How many segments there were.
        found: usize,
    },
    /// A segment is empty (only the signature may be, for unsecured JWTs).
    #[error("the JWT {segment} segment is empty")]
    EmptySegment {
        /// Which one.
        segment: Segment,
    },
    /// A segment is not unpadded base64url.
    #[error("the JWT {segment} is not base64url without padding (RFC 7515 §2)")]
    InvalidBase64 {
        /// Which one.
        segment: Segment,
    },
    /// The header or payload is not JSON (or not UTF-8).
    #[error("the JWT {segment} is not UTF-8 JSON: {reason}")]
    NotJson {
        /// Which one.
        segment: Segment,
        /// The JSON parser's complaint.
        reason: String,
    },
    /// The header or payload is JSON, but not an object.
    #[error("the JWT {segment} is JSON but not an object")]
    NotAnObject {
        /// Which one.
        segment: Segment,
    },

    // Verifying: header and signature.
    /// The header has no string `alg`.
    #[error("the JWT header has no string \"alg\"")]
    MissingAlgorithm,
    /// `alg: none`.
    #[error("the JWT is unsecured (\"alg\": \"none\"); it proves nothing and is refused")]
    UnsecuredJwt,
    /// An `alg` zegel does not verify.
    #[error("JWT algorithm {alg:?} is not supported; expected \"EdDSA\" or \"RS256\"")]
    UnsupportedAlgorithm {
        /// The `alg` found.
        alg: String,
    },
    /// The `alg` does not fit the key's type.
    #[error(
        "JWT algorithm {alg:?} does not match the {key} verification key (Ed25519 keys verify \"EdDSA\", RSA keys \"RS256\")"
    )]
    AlgorithmKeyMismatch {
        /// The `alg` found.
        alg: String,
        /// The key's type.
        key: KeyKind,
    },
    /// The header has `crit` (RFC 7515 §4.1.11): extensions we must understand but do not.
    #[error("the JWT header lists critical extensions (\"crit\") that are not supported")]
    CriticalHeader,
    /// The signature does not verify.
    #[error("the JWT signature does not verify with the given key")]
    InvalidSignature,
    /// The crypto backend refused the key or signature encoding.
    #[error("the JWT signature could not be checked: {0}")]
    Verify(#[source] jsonwebtoken::errors::Error),

    // Verifying: claims against the credential (OB 3.0 §8.2, verifying a VC-JWT).
    /// A `vc` claim that is not an object.
    #[error("the JWT \"vc\" claim is not a JSON object")]
    VcClaimNotObject,
    /// A required claim is absent.
    #[error("the JWT has no \"{claim}\" claim")]
    MissingClaim {
        /// The claim.
        claim: &'static str,
    },
    /// A claim of the wrong JSON type.
    #[error("the JWT \"{claim}\" claim is not {expected}")]
    InvalidClaim {
        /// The claim.
        claim: &'static str,
        /// What it should be.
        expected: &'static str,
    },
    /// `iss` ≠ issuer id.
    #[error("the JWT \"iss\" {iss:?} does not match the credential issuer id {issuer:?}")]
    IssuerMismatch {
        /// The claim.
        iss: String,
        /// The credential's issuer id.
        issuer: String,
    },
    /// `jti` ≠ credential `id`.
    #[error("the JWT \"jti\" {jti:?} does not match the credential id {id:?}")]
    IdMismatch {
        /// The claim.
        jti: String,
        /// The credential's id.
        id: String,
    },
    /// `sub` ≠ `credentialSubject.id`.
    #[error(
        "the JWT \"sub\" {sub:?} does not match the credentialSubject id ({})",
        subject.as_deref().map_or_else(|| "the subject has none".to_owned(), |s| format!("{s:?}"))
    )]
    SubjectMismatch {
        /// The claim.
        sub: String,
        /// The credential's subject id, if any.
        subject: Option<String>,
    },
    /// `nbf` ≠ `validFrom`.
    #[error("the JWT \"nbf\" {nbf} does not match the credential validFrom {valid_from:?} ({valid_from_seconds})")]
    NotBeforeMismatch {
        /// The claim, in seconds.
        nbf: i64,
        /// The credential's `validFrom`.
        valid_from: String,
        /// The same, in seconds since the epoch.
        valid_from_seconds: i64,
    },
    /// `exp` ≠ `validUntil`.
    #[error("the JWT \"exp\" {exp} does not match the credential validUntil {valid_until:?} ({valid_until_seconds})")]
    ExpiryMismatch {
        /// The claim, in seconds.
        exp: i64,
        /// The credential's `validUntil`.
        valid_until: String,
        /// The same, in seconds since the epoch.
        valid_until_seconds: i64,
    },

    // Keys.
    /// A JWK with private members where a public key is expected.
    #[error("the JWK contains private key material (\"{member}\"); a public key is expected")]
    PrivateKeyInJwk {
        /// The private member found.
        member: &'static str,
    },
    /// A JWK of a key type zegel does not verify with.
    #[error("unsupported JWK (kty {kty:?}, crv {crv:?}); expected OKP/Ed25519 or RSA")]
    UnsupportedJwk {
        /// The `kty`.
        kty: String,
        /// The `crv`, if any.
        crv: Option<String>,
    },
    /// A malformed JWK.
    #[error("invalid JWK: {reason}")]
    InvalidJwk {
        /// What is wrong.
        reason: String,
    },
}

/// A public key to verify VC-JWTs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// Verifies `EdDSA`.
    Ed25519(ed25519_dalek::VerifyingKey),
    /// Verifies `RS256`.
    Rsa(RsaPublicKey),
}

impl PublicKey {
    /// Reads a public JWK: OKP with `crv: "Ed25519"` and `x` (RFC 8037), or RSA
    /// with `n` and `e` (RFC 7518 §6.3.1, at least 2048 bits).
    ///
    /// Refuses JWKs with private members (`d`, …), `use` other than `sig`, and
    /// an `alg` other than the one the key type verifies.
    pub fn from_jwk(jwk: &Value) -> Result<PublicKey, JwtError> {
        let jwk = jwk.as_object().ok_or_else(|| JwtError::InvalidJwk { reason: "not a JSON object".to_owned() })?;
        if let Some(member) = PRIVATE_JWK_MEMBERS.into_iter().find(|member| jwk.contains_key(*member)) {
            return Err(JwtError::PrivateKeyInJwk { member });
        }
        if let Some(usage) = jwk.get("use")
            && usage.as_str() != Some("sig")
        {
            return Err(JwtError::InvalidJwk { reason: format!("\"use\" is {usage}, not \"sig\"") });
        }
        let kty = jwk_string(jwk, "kty")?;
        let crv = jwk.get("crv").and_then(Value::as_str);
        let key = match (kty, crv) {
            ("OKP", Some("Ed25519")) => PublicKey::Ed25519(ed25519_from_jwk(jwk)?),
            ("RSA", _) => PublicKey::Rsa(rsa_from_jwk(jwk)?),
            _ => {
                return Err(JwtError::UnsupportedJwk { kty: kty.to_owned(), crv: crv.map(str::to_owned) });
            }
        };
        if let Some(alg) = jwk.get("alg")
            && alg.as_str() != Some(key.algorithm_name())
        {
            return Err(JwtError::InvalidJwk {
                reason: format!("\"alg\" is {alg}, but this key verifies \"{}\"", key.algorithm_name()),
            });
        }
        Ok(key)
    }

    /// The public JWK with `kid`, `alg` and `use`, as published in JWKS and DID documents.
    pub fn to_jwk(&self) -> Value {
        match self {
            PublicKey::Ed25519(key) => keys::ed25519_public_jwk(key, &self.kid()),
            PublicKey::Rsa(key) => keys::rsa_public_jwk(key, &self.kid()),
        }
    }

    /// The key id zegel uses: Ed25519 `z6Mk…` Multikey, RSA RFC 7638 thumbprint.
    pub fn kid(&self) -> String {
        match self {
            PublicKey::Ed25519(key) => multikey::encode_ed25519_public(key),
            PublicKey::Rsa(key) => keys::rsa_jwk_thumbprint(key),
        }
    }

    /// The key's algorithm family.
    pub fn kind(&self) -> KeyKind {
        match self {
            PublicKey::Ed25519(_) => KeyKind::Ed25519,
            PublicKey::Rsa(_) => KeyKind::Rsa,
        }
    }

    /// The one JWS `alg` this key verifies.
    fn algorithm(&self) -> Algorithm {
        match self {
            PublicKey::Ed25519(_) => Algorithm::EdDSA,
            PublicKey::Rsa(_) => Algorithm::RS256,
        }
    }

    fn algorithm_name(&self) -> &'static str {
        match self {
            PublicKey::Ed25519(_) => "EdDSA",
            PublicKey::Rsa(_) => "RS256",
        }
    }

    fn decoding_key(&self) -> DecodingKey {
        match self {
            // jsonwebtoken wants the raw 32-byte key here, despite the name.
            PublicKey::Ed25519(key) => DecodingKey::from_ed_der(key.as_bytes()),
            PublicKey::Rsa(key) => DecodingKey::from_rsa_raw_components(&key.n().to_bytes_be(), &key.e().to_bytes_be()),
        }
    }
}

fn jwk_string<'a>(jwk: &'a Map<String, Value>, member: &str) -> Result<&'a str, JwtError> {
    jwk.get(member)
        .and_then(Value::as_str)
        .ok_or_else(|| JwtError::InvalidJwk { reason: format!("no string \"{member}\"") })
}

fn jwk_bytes(jwk: &Map<String, Value>, member: &str) -> Result<Vec<u8>, JwtError> {
    URL_SAFE_NO_PAD
        .decode(jwk_string(jwk, member)?)
        .map_err(|_| JwtError::InvalidJwk { reason: format!("\"{member}\" is not base64url without padding") })
}

fn ed25519_from_jwk(jwk: &Map<String, Value>) -> Result<ed25519_dalek::VerifyingKey, JwtError> {
    let x = jwk_bytes(jwk, "x")?;
    let x: &[u8; 32] = x
        .as_slice()
        .try_into()
        .map_err(|_| JwtError::InvalidJwk { reason: format!("Ed25519 \"x\" must be 32 bytes, found {}", x.len()) })?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(x)
        .map_err(|_| JwtError::InvalidJwk { reason: "Ed25519 \"x\" is not a point on the curve".to_owned() })?;
    if key.is_weak() {
        return Err(JwtError::InvalidJwk { reason: "Ed25519 \"x\" is a small-order (weak) point".to_owned() });
    }
    Ok(key)
}

fn rsa_from_jwk(jwk: &Map<String, Value>) -> Result<RsaPublicKey, JwtError> {
    let n = rsa::BigUint::from_bytes_be(&jwk_bytes(jwk, "n")?);
    let e = rsa::BigUint::from_bytes_be(&jwk_bytes(jwk, "e")?);
    let bits = n.bits();
    if bits < RSA_MIN_BITS {
        return Err(JwtError::InvalidJwk { reason: format!("RSA key shorter than {RSA_MIN_BITS} bits ({bits} bits)") });
    }
    RsaPublicKey::new(n, e).map_err(|error| JwtError::InvalidJwk { reason: format!("invalid RSA public key: {error}") })
}

/// Signs `credential` as a VC-JWT with `key`; `kid` is the header's key id,
/// normally the verification method `<issuer>#<key id>`.
///
/// `sub` is set only when `credentialSubject.id` exists: OB credentials often
/// identify the learner only through `credentialSubject.identifier` (hashed
/// e-mail), and inventing a `sub` would assert an identifier the credential
/// does not contain. The credential must not itself have members named like
/// the claims (`iss`, `sub`, `jti`, `nbf`, `exp`, `iat`, `aud`) or `vc`.
///
/// RS256 goes through `jsonwebtoken::encode` with the key's cached
/// `EncodingKey`. EdDSA is signed with the cached ed25519-dalek key, producing
/// the same bytes as `jsonwebtoken::encode` about a third faster: roughly
/// 22,000 tokens/s per core for a 3.4 KB credential (release build), almost
/// all of it the Ed25519 signature itself.
///
/// See: OB 3.0 §8.2, <https://www.imsglobal.org/spec/ob/v3p0/#jwt-proof>
pub fn sign_vc_jwt(credential: &Map<String, Value>, key: &SigningKey, kid: &str) -> Result<String, JwtError> {
    if let Some(name) =
        credential.keys().find(|name| REGISTERED_CLAIMS.contains(&name.as_str()) || name.as_str() == "vc")
    {
        return Err(JwtError::ReservedClaimInCredential { name: name.clone() });
    }
    let claims = VcJwtClaims::for_credential(credential)?;
    // Serialising the borrowed credential and claims together avoids copying the document.
    let payload = VcJwtPayload { credential, claims };
    match key {
        SigningKey::Ed25519(key) => sign_eddsa(&jose_header(Algorithm::EdDSA, kid), &payload, key),
        SigningKey::Rsa(key) => {
            jsonwebtoken::encode(&jose_header(Algorithm::RS256, kid), &payload, key.jwt_encoding_key())
                .map_err(JwtError::Sign)
        }
    }
}

/// `{"typ":"JWT","alg":…,"kid":…}` and nothing else (OB 3.0 §8.2: "Additional
/// JOSE Headers are NOT allowed").
fn jose_header(alg: Algorithm, kid: &str) -> Header {
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    header
}

/// RFC 7515 compact serialisation signed with the cached ed25519-dalek key.
///
/// This is what `jsonwebtoken::encode` does for EdDSA, byte for byte (Ed25519
/// is deterministic; a test pins the equality), minus its per-call PKCS#8
/// parse and public-key derivation, which cost ~20 µs of ~65 µs per token,
/// and minus two intermediate string copies.
fn sign_eddsa(header: &Header, payload: &VcJwtPayload<'_>, key: &Ed25519Key) -> Result<String, JwtError> {
    let header = serde_json::to_vec(header).map_err(JwtError::Serialize)?;
    let payload = serde_json::to_vec(payload).map_err(JwtError::Serialize)?;
    let mut token = String::with_capacity(4 * (header.len() + payload.len() + 64) / 3 + 8);
    URL_SAFE_NO_PAD.encode_string(&header, &mut token);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
    let signature = key.sign(token.as_bytes());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    Ok(token)
}

/// The claims a credential implies (OB 3.0 §8.2, JWT payload).
struct VcJwtClaims<'a> {
    iss: &'a str,
    jti: &'a str,
    sub: Option<&'a str>,
    nbf: i64,
    exp: Option<i64>,
}

impl<'a> VcJwtClaims<'a> {
    fn for_credential(credential: &'a Map<String, Value>) -> Result<Self, JwtError> {
        let iss = issuer_id(credential).ok_or(JwtError::MissingIssuer)?;
        let jti = credential.get("id").and_then(Value::as_str).ok_or(JwtError::MissingId)?;
        let nbf = date_seconds(credential, "validFrom")?.ok_or(JwtError::MissingValidFrom)?;
        let exp = date_seconds(credential, "validUntil")?;
        Ok(VcJwtClaims { iss, jti, sub: subject_id(credential), nbf, exp })
    }
}

/// The credential's members in order, then the claims: one JSON object.
struct VcJwtPayload<'a> {
    credential: &'a Map<String, Value>,
    claims: VcJwtClaims<'a>,
}

impl Serialize for VcJwtPayload<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let claims = &self.claims;
        let extra = 3 + usize::from(claims.sub.is_some()) + usize::from(claims.exp.is_some());
        let mut map = serializer.serialize_map(Some(self.credential.len() + extra))?;
        for (name, value) in self.credential {
            map.serialize_entry(name, value)?;
        }
        map.serialize_entry("iss", claims.iss)?;
        map.serialize_entry("jti", claims.jti)?;
        if let Some(sub) = claims.sub {
            map.serialize_entry("sub", sub)?;
        }
        map.serialize_entry("nbf", &claims.nbf)?;
        if let Some(exp) = claims.exp {
            map.serialize_entry("exp", &exp)?;
        }
        map.end()
    }
}

/// `issuer` when it is a string, else `issuer.id`.
fn issuer_id(credential: &Map<String, Value>) -> Option<&str> {
    match credential.get("issuer")? {
        Value::String(id) => Some(id),
        Value::Object(profile) => profile.get("id")?.as_str(),
        _ => None,
    }
}

/// `credentialSubject.id` of a single (object) subject. With several subjects
/// there is no one `sub` (VCDM 2.0 §7.1), so none is used.
fn subject_id(credential: &Map<String, Value>) -> Option<&str> {
    credential.get("credentialSubject")?.get("id")?.as_str()
}

/// A date member as NumericDate seconds (fractions truncated toward the past).
fn date_seconds(credential: &Map<String, Value>, member: &'static str) -> Result<Option<i64>, JwtError> {
    let Some(value) = credential.get(member) else {
        return Ok(None);
    };
    let text = value.as_str().ok_or_else(|| JwtError::InvalidDate {
        member,
        value: value.to_string(),
        reason: "not a string".to_owned(),
    })?;
    let date = DateTime::parse_from_rfc3339(text).map_err(|error| JwtError::InvalidDate {
        member,
        value: text.to_owned(),
        reason: error.to_string(),
    })?;
    Ok(Some(date.timestamp()))
}

/// A parsed but **unverified** JWT.
///
/// Dangerous by design, like `jsonwebtoken::dangerous::insecure_decode`: its
/// only legitimate use is reading `alg`, `kid` or `jwk` to find the key that
/// [`verify_vc_jwt`] then checks the token with. Nothing in it is trustworthy
/// before that.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedJwt {
    /// The JOSE header.
    pub header: Map<String, Value>,
    /// The claims, unverified.
    pub payload: Map<String, Value>,
    /// The signature bytes (empty for an unsecured JWT).
    pub signature: Vec<u8>,
}

impl DecodedJwt {
    /// The header's `alg`, if it is a string.
    pub fn alg(&self) -> Option<&str> {
        self.header.get("alg")?.as_str()
    }

    /// The header's `kid`, if it is a string.
    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid")?.as_str()
    }

    /// The header's embedded public key `jwk`, if any (read it with [`PublicKey::from_jwk`]).
    pub fn jwk(&self) -> Option<&Value> {
        self.header.get("jwk")
    }
}

/// Splits and decodes a compact JWS **without verifying anything** (see [`DecodedJwt`]).
///
/// Each way a token can be malformed has its own error; no input panics.
pub fn decode_unverified(token: &str) -> Result<DecodedJwt, JwtError> {
    let mut segments = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (segments.next(), segments.next(), segments.next(), segments.next())
    else {
        return Err(JwtError::WrongSegmentCount { found: token.split('.').count() });
    };
    Ok(DecodedJwt {
        header: decode_json_segment(header, Segment::Header)?,
        payload: decode_json_segment(payload, Segment::Payload)?,
        signature: decode_segment(signature, Segment::Signature)?,
    })
}

fn decode_segment(encoded: &str, segment: Segment) -> Result<Vec<u8>, JwtError> {
    URL_SAFE_NO_PAD.decode(encoded).map_err(|_| JwtError::InvalidBase64 { segment })
}

fn decode_json_segment(encoded: &str, segment: Segment) -> Result<Map<String, Value>, JwtError> {
    if encoded.is_empty() {
        return Err(JwtError::EmptySegment { segment });
    }
    let bytes = decode_segment(encoded, segment)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(JwtError::NotAnObject { segment }),
        Err(error) => Err(JwtError::NotJson { segment, reason: error.to_string() }),
    }
}

/// Verifies a VC-JWT with `key` and returns the credential it carries.
///
/// 1. The header `alg` must be the one `key` verifies (`EdDSA` for Ed25519,
///    `RS256` for RSA): `none` and every other algorithm are refused, and so
///    is a `crit` header.
/// 2. The signature is checked (jsonwebtoken's crypto).
/// 3. The credential is the `vc` claim (VC 1.1-era tokens; its missing
///    `issuer`, `id` and `credentialSubject.id` are restored from `iss`, `jti`
///    and `sub` as VCDM 1.1 §6.3.1 prescribes), else the payload minus the JWT
///    registered claims.
/// 4. OB 3.0 §8.2 (verification): `iss` must equal the issuer id; `jti` the credential
///    `id` and `nbf` its `validFrom` (in seconds) when both are present; `sub`,
///    when present, `credentialSubject.id`; `exp`, when both present, `validUntil`.
///
/// Time validity (not yet valid, expired) is deliberately not judged here;
/// `aud` and `iat` are ignored, and so is `typ` (OB says `JWT`, VC-JOSE-COSE
/// says `vc+jwt`; neither changes what is verified).
pub fn verify_vc_jwt(token: &str, key: &PublicKey) -> Result<Map<String, Value>, JwtError> {
    let decoded = decode_unverified(token)?;
    check_header(&decoded.header, key)?;
    check_signature(token, key)?;
    let claims = TokenClaims::read(&decoded.payload)?;
    let credential = credential_from_payload(decoded.payload, &claims)?;
    check_claims(&claims, &credential)?;
    Ok(credential)
}

fn check_header(header: &Map<String, Value>, key: &PublicKey) -> Result<(), JwtError> {
    let alg = header.get("alg").and_then(Value::as_str).ok_or(JwtError::MissingAlgorithm)?;
    if alg.eq_ignore_ascii_case("none") {
        return Err(JwtError::UnsecuredJwt);
    }
    if alg != "EdDSA" && alg != "RS256" {
        return Err(JwtError::UnsupportedAlgorithm { alg: alg.to_owned() });
    }
    if alg != key.algorithm_name() {
        return Err(JwtError::AlgorithmKeyMismatch { alg: alg.to_owned(), key: key.kind() });
    }
    if header.contains_key("crit") {
        return Err(JwtError::CriticalHeader);
    }
    Ok(())
}

fn check_signature(token: &str, key: &PublicKey) -> Result<(), JwtError> {
    // decode_unverified has established there are exactly two dots.
    let (signing_input, signature) = token.rsplit_once('.').ok_or(JwtError::WrongSegmentCount { found: 1 })?;
    // The algorithm comes from the key, never from the token: no alg confusion.
    let valid = jsonwebtoken::crypto::verify(signature, signing_input.as_bytes(), &key.decoding_key(), key.algorithm())
        .map_err(JwtError::Verify)?;
    if valid { Ok(()) } else { Err(JwtError::InvalidSignature) }
}

/// The registered claims of a verified payload, type-checked.
struct TokenClaims {
    iss: Option<String>,
    jti: Option<String>,
    sub: Option<String>,
    nbf: Option<i64>,
    exp: Option<i64>,
}

impl TokenClaims {
    fn read(payload: &Map<String, Value>) -> Result<Self, JwtError> {
        Ok(TokenClaims {
            iss: string_claim(payload, "iss")?,
            jti: string_claim(payload, "jti")?,
            sub: string_claim(payload, "sub")?,
            nbf: numeric_date_claim(payload, "nbf")?,
            exp: numeric_date_claim(payload, "exp")?,
        })
    }
}

fn string_claim(payload: &Map<String, Value>, claim: &'static str) -> Result<Option<String>, JwtError> {
    match payload.get(claim) {
        None => Ok(None),
        Some(Value::String(value)) => Ok(Some(value.clone())),
        Some(_) => Err(JwtError::InvalidClaim { claim, expected: "a string" }),
    }
}

/// RFC 7519 §2 NumericDate: seconds, possibly fractional (truncated toward the past).
fn numeric_date_claim(payload: &Map<String, Value>, claim: &'static str) -> Result<Option<i64>, JwtError> {
    let Some(value) = payload.get(claim) else {
        return Ok(None);
    };
    let invalid = JwtError::InvalidClaim { claim, expected: "a NumericDate (seconds since 1970 as a JSON number)" };
    if let Some(seconds) = value.as_i64() {
        return Ok(Some(seconds));
    }
    match value.as_f64() {
        // ±2^53 keeps the float exactly representable and far beyond any real date.
        // Bounded by ±2^53, so the floor is exact and fits in an i64.
        Some(seconds) if seconds.is_finite() && seconds.abs() < 9_007_199_254_740_992.0 => {
            Ok(Some(seconds.floor() as i64))
        }
        _ => Err(invalid),
    }
}

fn credential_from_payload(
    mut payload: Map<String, Value>,
    claims: &TokenClaims,
) -> Result<Map<String, Value>, JwtError> {
    match payload.remove("vc") {
        Some(Value::Object(credential)) => Ok(restore_vc_1_1_members(credential, claims)),
        Some(_) => Err(JwtError::VcClaimNotObject),
        None => Ok(payload.into_iter().filter(|(name, _)| !REGISTERED_CLAIMS.contains(&name.as_str())).collect()),
    }
}

/// VCDM 1.1 §6.3.1 (JWT decoding): `iss`, `jti` and `sub` stand in for the
/// credential's `issuer`, `id` and `credentialSubject.id` when it omits them.
fn restore_vc_1_1_members(mut credential: Map<String, Value>, claims: &TokenClaims) -> Map<String, Value> {
    if let Some(iss) = &claims.iss
        && !credential.contains_key("issuer")
    {
        credential.insert("issuer".to_owned(), Value::String(iss.clone()));
    }
    if let Some(jti) = &claims.jti
        && !credential.contains_key("id")
    {
        credential.insert("id".to_owned(), Value::String(jti.clone()));
    }
    if let Some(sub) = &claims.sub
        && let Some(Value::Object(subject)) = credential.get_mut("credentialSubject")
        && !subject.contains_key("id")
    {
        subject.insert("id".to_owned(), Value::String(sub.clone()));
    }
    credential
}

fn check_claims(claims: &TokenClaims, credential: &Map<String, Value>) -> Result<(), JwtError> {
    let iss = claims.iss.as_deref().ok_or(JwtError::MissingClaim { claim: "iss" })?;
    let issuer = issuer_id(credential).ok_or(JwtError::MissingIssuer)?;
    if iss != issuer {
        return Err(JwtError::IssuerMismatch { iss: iss.to_owned(), issuer: issuer.to_owned() });
    }
    if let (Some(jti), Some(id)) = (&claims.jti, credential.get("id").and_then(Value::as_str))
        && jti != id
    {
        return Err(JwtError::IdMismatch { jti: jti.clone(), id: id.to_owned() });
    }
    if let Some(sub) = &claims.sub {
        let subject = subject_id(credential);
        if subject != Some(sub.as_str()) {
            return Err(JwtError::SubjectMismatch { sub: sub.clone(), subject: subject.map(str::to_owned) });
        }
    }
    if let (Some(nbf), Some(valid_from)) = (claims.nbf, date_seconds(credential, "validFrom")?)
        && nbf != valid_from
    {
        return Err(JwtError::NotBeforeMismatch {
            nbf,
            valid_from: date_text(credential, "validFrom"),
            valid_from_seconds: valid_from,
        });
    }
    if let (Some(exp), Some(valid_until)) = (claims.exp, date_seconds(credential, "validUntil")?)
        && exp != valid_until
    {
        return Err(JwtError::ExpiryMismatch {
            exp,
            valid_until: date_text(credential, "validUntil"),
            valid_until_seconds: valid_until,
        });
    }
    Ok(())
}

fn date_text(credential: &Map<String, Value>, member: &str) -> String {
    credential.get(member).and_then(Value::as_str).unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::keys::Ed25519Key;
    use serde_json::json;

    fn ed25519_key() -> SigningKey {
        SigningKey::Ed25519(Ed25519Key::new(ed25519_dalek::SigningKey::from_bytes(&[11u8; 32])))
    }

    fn credential() -> Map<String, Value> {
        let Value::Object(credential) = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": "urn:uuid:1",
            "type": ["VerifiableCredential"],
            "issuer": {"id": "did:example:issuer", "type": ["Profile"]},
            "validFrom": "2025-01-01T00:00:00.9Z",
            "credentialSubject": {"type": ["AchievementSubject"]},
        }) else {
            unreachable!("a json! object literal is an object")
        };
        credential
    }

    #[test]
    fn the_payload_is_the_credential_in_order_followed_by_the_claims() {
        let token = sign_vc_jwt(&credential(), &ed25519_key(), "did:example:issuer#k").expect("signs");
        let decoded = decode_unverified(&token).expect("decodes");
        let names: Vec<&str> = decoded.payload.keys().map(String::as_str).collect();
        assert_eq!(names, ["@context", "id", "type", "issuer", "validFrom", "credentialSubject", "iss", "jti", "nbf"]);
        // Fractional seconds are truncated, not rounded.
        assert_eq!(decoded.payload["nbf"], json!(1_735_689_600));
    }

    #[test]
    fn fractional_numeric_dates_are_floored() {
        let payload = json!({"nbf": 1.9, "exp": -0.5});
        let payload = payload.as_object().expect("object");
        assert_eq!(numeric_date_claim(payload, "nbf").ok(), Some(Some(1)));
        assert_eq!(numeric_date_claim(payload, "exp").ok(), Some(Some(-1)));
    }

    #[test]
    fn a_credential_with_a_member_named_like_a_claim_is_refused() {
        let mut credential = credential();
        credential.insert("aud".to_owned(), json!("someone"));
        assert!(matches!(
            sign_vc_jwt(&credential, &ed25519_key(), "k"),
            Err(JwtError::ReservedClaimInCredential { name }) if name == "aud"
        ));
    }

    #[test]
    fn a_vc_claim_token_gets_issuer_and_id_back_from_iss_and_jti() {
        let claims = TokenClaims {
            iss: Some("did:example:i".to_owned()),
            jti: Some("urn:uuid:2".to_owned()),
            sub: Some("did:example:s".to_owned()),
            nbf: None,
            exp: None,
        };
        let Value::Object(payload) = json!({"iss": "did:example:i", "vc": {"credentialSubject": {}}}) else {
            unreachable!("object literal")
        };
        let credential = credential_from_payload(payload, &claims).expect("vc is an object");
        assert_eq!(credential["issuer"], json!("did:example:i"));
        assert_eq!(credential["id"], json!("urn:uuid:2"));
        assert_eq!(credential["credentialSubject"]["id"], json!("did:example:s"));
        assert!(check_claims(&claims, &credential).is_ok());
    }
}

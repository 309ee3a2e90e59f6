//! The `eddsa-rdfc-2022` Data Integrity cryptosuite (W3C VC-DI-EdDSA v1.1,
//! §3.2), as the spec's named steps so each can be checked against the
//! published test vectors:
//!
//! 1. proof configuration = proof options + the document's `@context`
//!    ([`proof_configuration`]);
//! 2. transformation: RDFC-1.0 canonical N-Quads of the document and of the
//!    proof configuration ([`Canonicalizer`]);
//! 3. hashing: SHA-256(proof configuration) ‖ SHA-256(document) ([`hash_data`]);
//! 4. proof serialisation: Ed25519 over those 64 bytes, `z` + base58btc
//!    ([`proof_value`]).
//!
//! See <https://www.w3.org/TR/vc-di-eddsa/#eddsa-rdfc-2022>.

use crate::json::RawObject;
use crate::jsonld::{Canonicalizer, JsonLdError};
use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub const PROOF_TYPE: &str = "DataIntegrityProof";
pub const CRYPTOSUITE: &str = "eddsa-rdfc-2022";
pub const ASSERTION_METHOD: &str = "assertionMethod";
pub const AUTHENTICATION: &str = "authentication";

/// Everything the proof says besides its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofOptions {
    /// The key's URL: `did:key:z6Mk…#z6Mk…`, `did:web:…#…`, or an https URL.
    pub verification_method: String,
    /// `created`, an XML Schema dateTimeStamp (seconds precision, UTC).
    pub created: Option<DateTime<Utc>>,
    /// `assertionMethod` for credentials.
    pub proof_purpose: String,
}

impl ProofOptions {
    pub fn assertion(verification_method: impl Into<String>, created: DateTime<Utc>) -> Self {
        Self {
            verification_method: verification_method.into(),
            created: Some(created),
            proof_purpose: ASSERTION_METHOD.to_owned(),
        }
    }
}

/// Where a new proof goes in the secured document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofPlacement {
    /// `"proof": [ … ]`, which the strict Open Badges 3.0 JSON schema requires.
    Array,
    /// `"proof": { … }`, the common form for other credentials.
    Object,
}

/// Why a proof could not be created or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataIntegrityError {
    #[error("the document is not a JSON object: {0}")]
    NotAnObject(String),
    #[error("the document has no @context")]
    NoContext,
    // No #[source]: the message already carries the cause, once.
    #[error("canonicalisation failed: {0}")]
    Canonicalization(JsonLdError),
    #[error("the proof is not a JSON object")]
    ProofNotAnObject,
    #[error("the proof's type is {0}, not DataIntegrityProof")]
    NotDataIntegrityProof(String),
    #[error("the proof's cryptosuite is {0}, not eddsa-rdfc-2022")]
    UnsupportedCryptosuite(String),
    #[error("the proof has no {0}")]
    MissingMember(&'static str),
    #[error("the proof's {member} must be a string")]
    NotAString { member: &'static str },
    #[error("the proof's created value {0:?} is not an XML Schema dateTime with a time zone")]
    InvalidCreated(String),
    #[error("the proofValue is not multibase base58btc (it must start with 'z')")]
    ProofValueNotMultibase,
    #[error("the proofValue decodes to {0} bytes; an Ed25519 signature has 64")]
    ProofValueLength(usize),
    #[error("the proof's @context differs from the document's @context")]
    ContextMismatch,
    #[error("the signature does not match the document: it was altered after signing, or signed with another key")]
    SignatureMismatch,
}

impl From<JsonLdError> for DataIntegrityError {
    fn from(error: JsonLdError) -> Self {
        Self::Canonicalization(error)
    }
}

/// Step 1: the proof configuration (proof options plus the document's
/// `@context`), as JSON text in a fixed member order.
pub fn proof_configuration(options: &ProofOptions, document_context: &Value) -> Map<String, Value> {
    let mut config = Map::new();
    config.insert("type".into(), PROOF_TYPE.into());
    config.insert("cryptosuite".into(), CRYPTOSUITE.into());
    if let Some(created) = options.created {
        config.insert("created".into(), format_datetime(created).into());
    }
    config.insert("verificationMethod".into(), options.verification_method.clone().into());
    config.insert("proofPurpose".into(), options.proof_purpose.clone().into());
    config.insert("@context".into(), document_context.clone());
    config
}

/// Step 3: SHA-256 of the canonical proof configuration, then of the
/// canonical document (proof first, as the spec orders them).
pub fn hash_data(canonical_proof_configuration: &str, canonical_document: &str) -> [u8; 64] {
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&Sha256::digest(canonical_proof_configuration.as_bytes()));
    out[32..].copy_from_slice(&Sha256::digest(canonical_document.as_bytes()));
    out
}

/// Step 4: the `proofValue` for an Ed25519 signature over `hash_data`.
pub fn proof_value(signature: &[u8; 64]) -> String {
    let mut value = String::with_capacity(90);
    value.push('z');
    value.push_str(&bs58::encode(signature).into_string());
    value
}

/// Decodes a `proofValue` into the 64 signature bytes.
pub fn decode_proof_value(value: &str) -> Result<[u8; 64], DataIntegrityError> {
    let encoded = value.strip_prefix('z').ok_or(DataIntegrityError::ProofValueNotMultibase)?;
    let bytes = bs58::decode(encoded).into_vec().map_err(|_| DataIntegrityError::ProofValueNotMultibase)?;
    <[u8; 64]>::try_from(bytes.as_slice()).map_err(|_| DataIntegrityError::ProofValueLength(bytes.len()))
}

/// XML Schema dateTimeStamp in UTC with seconds precision, as the W3C vectors write it.
pub fn format_datetime(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A new proof over `document` (a JSON object without a proof, or whose
/// existing proofs are set aside): the proof object, `proofValue` included.
pub fn create_proof(
    canonicalizer: &Canonicalizer,
    document: &[u8],
    document_context: &Value,
    options: &ProofOptions,
    key: &SigningKey,
) -> Result<Map<String, Value>, DataIntegrityError> {
    let canonical_document = canonicalizer.canonicalize_unsecured(document)?;
    let mut config = proof_configuration(options, document_context);
    let canonical_config = canonical_configuration(canonicalizer, &config)?;
    let signature = key.sign(&hash_data(&canonical_config, &canonical_document));
    config.remove("@context");
    config.insert("proofValue".into(), proof_value(&signature.to_bytes()).into());
    Ok(config)
}

/// Signs `document` and returns the secured document: the input's members
/// verbatim, followed by `proof`. Existing proofs are kept and the new one is
/// added to the proof set (each proof covers the document without any proof).
pub fn add_proof(
    canonicalizer: &Canonicalizer,
    document: &[u8],
    options: &ProofOptions,
    key: &SigningKey,
    placement: ProofPlacement,
) -> Result<Vec<u8>, DataIntegrityError> {
    let mut object = RawObject::parse(document).map_err(|e| DataIntegrityError::NotAnObject(e.to_string()))?;
    let context = object.value("@context").ok_or(DataIntegrityError::NoContext)?;
    let proof = Value::Object(create_proof(canonicalizer, document, &context, options, key)?);
    let proofs = match object.remove("proof").map(|raw| serde_json::from_str::<Value>(raw.get())) {
        None => match placement {
            ProofPlacement::Array => Value::Array(vec![proof]),
            ProofPlacement::Object => proof,
        },
        Some(Ok(Value::Array(mut existing))) => {
            existing.push(proof);
            Value::Array(existing)
        }
        Some(Ok(existing)) => Value::Array(vec![existing, proof]),
        Some(Err(e)) => return Err(DataIntegrityError::NotAnObject(e.to_string())),
    };
    let raw = RawValue::from_string(proofs.to_string()).map_err(|e| DataIntegrityError::NotAnObject(e.to_string()))?;
    object.set("proof", raw);
    Ok(object.to_vec())
}

/// Verifies one `eddsa-rdfc-2022` proof of `secured_document` with `key`.
///
/// The caller chooses the key (from the proof's `verificationMethod`) and
/// checks the proof purpose; this checks the proof's form and signature.
pub fn verify_proof(
    canonicalizer: &Canonicalizer,
    secured_document: &[u8],
    document_context: &Value,
    proof: &Value,
    key: &VerifyingKey,
) -> Result<(), DataIntegrityError> {
    check_proof(proof)?;
    let canonical_document = canonicalizer.canonicalize_unsecured(secured_document)?;
    verify_proof_of(canonicalizer, &canonical_document, document_context, proof, key)
}

/// Checks the form of a proof (type, cryptosuite, members) without verifying it.
pub fn check_proof(proof: &Value) -> Result<(), DataIntegrityError> {
    proof_parts(proof).map(|_| ())
}

/// [`verify_proof`] for a document already canonicalised without its proofs
/// (one canonicalisation serves every proof of a proof set).
pub fn verify_proof_of(
    canonicalizer: &Canonicalizer,
    canonical_document: &str,
    document_context: &Value,
    proof: &Value,
    key: &VerifyingKey,
) -> Result<(), DataIntegrityError> {
    let (proof, signature) = proof_parts(proof)?;
    // The proof configuration is the proof minus its value, with the
    // document's @context (a proof carrying another @context is refused).
    let mut config = proof.clone();
    config.remove("proofValue");
    match config.get("@context") {
        Some(context) if context != document_context => return Err(DataIntegrityError::ContextMismatch),
        _ => {
            config.insert("@context".into(), document_context.clone());
        }
    }
    let canonical_config = canonical_configuration(canonicalizer, &config)?;
    key.verify_strict(&hash_data(&canonical_config, canonical_document), &Signature::from_bytes(&signature))
        .map_err(|_| DataIntegrityError::SignatureMismatch)
}

fn proof_parts(proof: &Value) -> Result<(&Map<String, Value>, [u8; 64]), DataIntegrityError> {
    let proof = proof.as_object().ok_or(DataIntegrityError::ProofNotAnObject)?;
    let text = |member: &'static str| -> Result<&str, DataIntegrityError> {
        proof
            .get(member)
            .ok_or(DataIntegrityError::MissingMember(member))?
            .as_str()
            .ok_or(DataIntegrityError::NotAString { member })
    };
    let proof_type = text("type")?;
    if proof_type != PROOF_TYPE {
        return Err(DataIntegrityError::NotDataIntegrityProof(proof_type.to_owned()));
    }
    let suite = text("cryptosuite")?;
    if suite != CRYPTOSUITE {
        return Err(DataIntegrityError::UnsupportedCryptosuite(suite.to_owned()));
    }
    text("verificationMethod")?;
    text("proofPurpose")?;
    if let Some(created) = proof.get("created") {
        let created = created.as_str().ok_or(DataIntegrityError::NotAString { member: "created" })?;
        if DateTime::parse_from_rfc3339(created).is_err() {
            return Err(DataIntegrityError::InvalidCreated(created.to_owned()));
        }
    }
    let signature = decode_proof_value(text("proofValue")?)?;
    Ok((proof, signature))
}

/// Step 2 for the proof configuration.
pub fn canonical_configuration(
    canonicalizer: &Canonicalizer,
    config: &Map<String, Value>,
) -> Result<String, DataIntegrityError> {
    let bytes = serde_json::to_vec(config).map_err(|e| DataIntegrityError::NotAnObject(e.to_string()))?;
    Ok(canonicalizer.canonicalize(&bytes)?)
}

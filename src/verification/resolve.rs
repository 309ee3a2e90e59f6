//! Finding the public key behind a verification method, the way the official
//! 1EdTech validator does (ob3-spec.md §2.3), without touching the network:
//!
//! * `did:key:z6Mk…` (with or without the `#z6Mk…` fragment): the key is the
//!   identifier itself.
//! * `<issuer id>#z6Mk…`: a fragment that is a Multikey, under the issuer's
//!   own id, is taken as the issuer's key without fetching anything. This is
//!   a convention, not a confirmation, and reports say so.
//! * anything else (did:web, https key documents): only through an explicit
//!   [`KeyResolver`] the caller supplies.

use crate::signing::jwt::PublicKey;
use crate::signing::multikey;
use std::collections::HashMap;

/// How a key is tied to the identifier that controls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// A did:key: the identifier is the key.
    DidKey,
    /// `<issuer id>#<Multikey>`: the issuer's by convention, not confirmed.
    IssuerFragment,
    /// Read from the controller's DID or controller document.
    ControllerDocument,
    /// Given to the verifier by whoever runs it (for example `--jwks`).
    Supplied,
}

/// A public key and who controls it.
#[derive(Debug, Clone)]
pub struct ResolvedKey {
    pub verification_method: String,
    pub controller: String,
    pub key: PublicKey,
    pub binding: Binding,
    /// Whether the controller lists the key under `assertionMethod`
    /// (always true for did:key and the issuer-fragment convention).
    pub assertion_method: bool,
    /// Whether the controller lists the key under `authentication` (signing
    /// presentations; always true for did:key, never for the
    /// issuer-fragment convention).
    pub authentication: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The verification method itself is wrong: the credential is invalid.
    #[error("{0}")]
    Invalid(String),
    /// The key could not be had: the credential cannot be checked.
    #[error("{0}")]
    Unavailable(String),
}

/// Resolves verification methods beyond what zegel can do offline.
pub trait KeyResolver: Send + Sync {
    fn resolve(&self, verification_method: &str) -> Result<ResolvedKey, ResolveError>;
}

/// A fixed table of keys: zegel's own keys, or keys a test supplies.
#[derive(Debug, Clone, Default)]
pub struct StaticResolver {
    keys: HashMap<String, ResolvedKey>,
}

impl StaticResolver {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_key(mut self, key: ResolvedKey) -> Self {
        self.keys.insert(key.verification_method.clone(), key);
        self
    }

    /// Keys from a JWK Set (`{"keys": [...]}`) or a single JWK, each under its
    /// `kid`; the controller is the part of the `kid` before `#`.
    pub fn from_jwks(jwks: &serde_json::Value) -> Result<Self, String> {
        let keys: Vec<&serde_json::Value> = match jwks.get("keys") {
            Some(serde_json::Value::Array(keys)) => keys.iter().collect(),
            Some(_) => return Err("\"keys\" must be an array of JWKs".into()),
            None => vec![jwks],
        };
        let mut resolver = Self::new();
        for (i, jwk) in keys.into_iter().enumerate() {
            let kid = jwk
                .get("kid")
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| format!("key {i} has no \"kid\" (the verification method it stands for)"))?;
            let key = PublicKey::from_jwk(jwk).map_err(|e| format!("key {kid}: {e}"))?;
            let controller = kid.split_once('#').map_or(kid, |(controller, _)| controller);
            resolver = resolver.with_key(ResolvedKey {
                verification_method: kid.to_owned(),
                controller: controller.to_owned(),
                key,
                binding: Binding::Supplied,
                assertion_method: true,
                authentication: true,
            });
        }
        Ok(resolver)
    }
}

impl KeyResolver for StaticResolver {
    fn resolve(&self, verification_method: &str) -> Result<ResolvedKey, ResolveError> {
        self.keys
            .get(verification_method)
            .cloned()
            .ok_or_else(|| ResolveError::Unavailable(format!("the key {verification_method} is not known here")))
    }
}

/// Resolves `verification_method` offline when the method allows it;
/// `None` when it needs a [`KeyResolver`].
pub fn resolve_offline(
    verification_method: &str,
    issuer_id: Option<&str>,
) -> Option<Result<ResolvedKey, ResolveError>> {
    let (base, fragment) = match verification_method.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (verification_method, None),
    };
    if let Some(multibase) = base.strip_prefix("did:key:") {
        return Some(did_key(verification_method, base, multibase, fragment));
    }
    let fragment = fragment?;
    if Some(base) == issuer_id && fragment.starts_with('z') {
        return Some(
            multikey::decode_ed25519_public(fragment)
                .map(|key| ResolvedKey {
                    verification_method: verification_method.to_owned(),
                    controller: base.to_owned(),
                    key: PublicKey::Ed25519(key),
                    binding: Binding::IssuerFragment,
                    assertion_method: true,
                    authentication: false,
                })
                .map_err(|e| {
                    ResolveError::Invalid(format!(
                        "the verification method {verification_method} does not end in a valid Ed25519 Multikey: {e}"
                    ))
                }),
        );
    }
    None
}

fn did_key(
    verification_method: &str,
    did: &str,
    multibase: &str,
    fragment: Option<&str>,
) -> Result<ResolvedKey, ResolveError> {
    if let Some(fragment) = fragment
        && fragment != multibase
    {
        return Err(ResolveError::Invalid(format!(
            "the verification method {verification_method} names a key other than its did:key"
        )));
    }
    let key = multikey::decode_ed25519_public(multibase)
        .map_err(|e| ResolveError::Invalid(format!("{did} is not an Ed25519 did:key zegel can use: {e}")))?;
    Ok(ResolvedKey {
        verification_method: verification_method.to_owned(),
        controller: did.to_owned(),
        key: PublicKey::Ed25519(key),
        binding: Binding::DidKey,
        assertion_method: true,
        authentication: true,
    })
}

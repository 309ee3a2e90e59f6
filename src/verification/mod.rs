//! Verifying any Open Badges 3.0 credential, embedded proof or VC-JWT, with
//! a verdict a non-expert can act on: valid, invalid (and why), or could not
//! check (and why). Follows OB 3.0 "Verification" and the checks of the
//! official 1EdTech validator (ob3-spec.md §2.4).
//!
//! Nothing here touches the network: keys beyond did:key and the
//! issuer-fragment convention come from a [`KeyResolver`], status lists from
//! a [`StatusListSource`], both supplied by the caller.

mod report;
mod resolve;

pub use report::{Check, CheckKind, Format, InvalidCode, Outcome, Report, Summary, Verdict};
pub use resolve::{Binding, KeyResolver, ResolveError, ResolvedKey, StaticResolver, resolve_offline};

use crate::credential::contexts;
use crate::credential::schema::{SchemaId, Schemas};
use crate::json::RawObject;
use crate::jsonld::{Canonicalizer, JsonLdError};
use crate::signing::data_integrity::{self, DataIntegrityError};
use crate::signing::jwt::{self, PublicKey};
use crate::status::{self, StatusEntry, StatusList};
use chrono::{DateTime, FixedOffset, Utc};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

const OB_TYPES: &[&str] = &["OpenBadgeCredential", "AchievementCredential", "EndorsementCredential"];
/// Members a JSON-LD compacted OB document may hold as a single value where
/// the plain-JSON schema wants an array (OB 3.0 serialization.md).
const COMPACTABLE: &[&str] = &["type", "proof", "credentialSchema", "termsOfUse"];

/// Supplies status list credentials (their JSON bytes) by URL.
pub trait StatusListSource: Send + Sync {
    fn status_list(&self, url: &str) -> Result<Vec<u8>, String>;

    /// A list the source vouches for: verified by it already (zegel's own
    /// lists, as it publishes them) and unchanged since. `None`: the
    /// verifier verifies what [`Self::status_list`] gives.
    fn verified_list(&self, _url: &str) -> Option<VerifiedStatusList> {
        None
    }
}

/// A status list credential that has been verified: its bits and its issuer.
#[derive(Debug, Clone)]
pub struct VerifiedStatusList {
    pub list: Arc<StatusList>,
    pub issuer: String,
}

impl VerifiedStatusList {
    /// Verifies a status list credential (proof, dates, terms) with
    /// `verifier` and reads it; why not, otherwise.
    pub fn verify(verifier: &Verifier, bytes: &[u8], options: &VerifyOptions) -> Result<Self, String> {
        let list_options = VerifyOptions { require_open_badge: false, require_status: false, ..options.clone() };
        let report = verifier.verify_json(bytes.trim_ascii(), &list_options, false);
        if report.verdict != Verdict::Valid {
            return Err(format!("does not verify ({})", report.verdict));
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let issuer = issuer_id(&value).ok_or("names no issuer")?;
        let list = StatusList::from_credential(&value).map_err(|e| e.to_string())?;
        Ok(Self { list: Arc::new(list), issuer })
    }
}

/// Status lists given up front (files on the command line, tests).
#[derive(Debug, Clone, Default)]
pub struct StaticStatusLists {
    lists: HashMap<String, Vec<u8>>,
}

impl StaticStatusLists {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn with_list(mut self, url: impl Into<String>, credential: Vec<u8>) -> Self {
        self.lists.insert(url.into(), credential);
        self
    }
}

impl StatusListSource for StaticStatusLists {
    fn status_list(&self, url: &str) -> Result<Vec<u8>, String> {
        self.lists.get(url).cloned().ok_or_else(|| format!("no status list for {url} was supplied"))
    }
}

#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The time against which validity dates are checked.
    pub now: DateTime<Utc>,
    /// An unchecked status makes the verdict "could not check" (otherwise a warning).
    pub require_status: bool,
    /// Only Open Badges 3.0 credentials are valid (the default). Otherwise
    /// any W3C verifiable credential is, VC 1.1 included, and `validFrom`
    /// is optional (as VC 2.0 has it) unless the credential is an Open Badge.
    pub require_open_badge: bool,
    /// Every proof of a proof set must verify (Data Integrity's rule, and the
    /// VC-API's); otherwise one verified proof suffices (Open Badges 3.0).
    pub all_proofs: bool,
    /// Check the credential's status (revocation, suspension). Off, the
    /// status check is reported as skipped.
    pub check_status: bool,
}

impl VerifyOptions {
    pub fn at(now: DateTime<Utc>) -> Self {
        Self { now, require_status: false, require_open_badge: true, all_proofs: false, check_status: true }
    }

    /// Any W3C verifiable credential (VC 2.0 or 1.1) as the VC-API verifies
    /// it: every proof of a proof set must verify.
    pub fn any_credential(now: DateTime<Utc>) -> Self {
        Self { require_open_badge: false, all_proofs: true, ..Self::at(now) }
    }
}

/// What the proofs of a document must have been made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofPurpose<'a> {
    /// Issuing a credential (`assertionMethod`).
    Assertion,
    /// Presenting (`authentication`), with the challenge and domain the
    /// verifier expects (each checked when given).
    Authentication { challenge: Option<&'a str>, domain: Option<&'a str> },
}

impl ProofPurpose<'_> {
    fn name(&self) -> &'static str {
        match self {
            Self::Assertion => data_integrity::ASSERTION_METHOD,
            Self::Authentication { .. } => data_integrity::AUTHENTICATION,
        }
    }
}

/// Verifies credentials. Build one per process and share it.
#[derive(Clone)]
pub struct Verifier {
    canonicalizer: Arc<Canonicalizer>,
    schemas: Arc<Schemas>,
    resolver: Option<Arc<dyn KeyResolver>>,
    status_lists: Option<Arc<dyn StatusListSource>>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("resolver", &self.resolver.is_some())
            .field("status_lists", &self.status_lists.is_some())
            .finish()
    }
}

/// What the proof check established, for the issuer check.
struct Signer {
    key: ResolvedKey,
    description: String,
}

/// What the proofs of a document are checked for.
#[derive(Debug, Clone, Copy)]
struct ProofCheck<'a> {
    purpose: ProofPurpose<'a>,
    /// Every proof must verify.
    all: bool,
}

/// Why a chained proof's document could not be made.
enum ChainError {
    /// The chain itself is wrong: the proof fails.
    Invalid(String),
    /// The document does not process (the terms check says why).
    Unprocessable,
}

/// A presentation's report and those of the credentials it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentationReport {
    pub presentation: Report,
    pub credentials: Vec<Report>,
}

impl PresentationReport {
    /// Valid only when the presentation and every credential are.
    pub fn is_valid(&self) -> bool {
        self.presentation.verdict == Verdict::Valid && self.credentials.iter().all(|r| r.verdict == Verdict::Valid)
    }
}

/// Why a proof's `challenge` or `domain` is not the one expected, if it is not.
fn binding_problem(proof: &Value, member: &str, expected: Option<&str>) -> Option<String> {
    let expected = expected?;
    let found = match proof.get(member) {
        None => return Some(format!("the proof has no {member}; {expected:?} was expected")),
        Some(Value::String(found)) => vec![found.as_str()],
        // A domain may be a list of domains.
        Some(Value::Array(items)) if member == "domain" => items.iter().filter_map(Value::as_str).collect(),
        Some(other) => return Some(format!("the proof's {member} must be a string, not {other}")),
    };
    if found.contains(&expected) {
        None
    } else {
        Some(format!("the proof's {member} is {found:?}, not the expected {expected:?}"))
    }
}

impl Verifier {
    pub fn new(canonicalizer: Arc<Canonicalizer>, schemas: Arc<Schemas>) -> Self {
        Self { canonicalizer, schemas, resolver: None, status_lists: None }
    }

    /// A verifier with zegel's bundled contexts and schemas.
    pub fn offline() -> Self {
        Self::new(Arc::new(contexts::canonicalizer()), Arc::new(Schemas::new()))
    }

    pub fn with_resolver(mut self, resolver: Arc<dyn KeyResolver>) -> Self {
        self.resolver = Some(resolver);
        self
    }

    pub fn with_status_lists(mut self, source: Arc<dyn StatusListSource>) -> Self {
        self.status_lists = Some(source);
        self
    }

    pub fn canonicalizer(&self) -> &Arc<Canonicalizer> {
        &self.canonicalizer
    }

    /// Verifies a JSON credential or a compact VC-JWT.
    pub fn verify(&self, input: &[u8], options: &VerifyOptions) -> Report {
        let limit = self.canonicalizer.limits().max_bytes;
        if input.len() > limit {
            return malformed(format!("the input is {} bytes, more than the limit of {limit}", input.len()));
        }
        let trimmed = input.trim_ascii();
        if trimmed.first() == Some(&b'{') {
            return self.verify_json(trimmed, options, true);
        }
        match std::str::from_utf8(trimmed) {
            Ok(text) if looks_like_compact_jws(text) => self.verify_jwt(text, options),
            _ => malformed("the input is neither a JSON credential nor a compact JWT (VC-JWT)".into()),
        }
    }

    fn verify_json(&self, bytes: &[u8], options: &VerifyOptions, top_level: bool) -> Report {
        let value: Value = match serde_json::from_slice(bytes) {
            Ok(value) => value,
            Err(e) => return malformed(format!("the credential is not valid JSON: {e}")),
        };
        if !value.is_object() {
            return malformed("the credential is not a JSON object".into());
        }
        let mut checks = vec![Check::passed(CheckKind::Format, "a JSON credential with embedded proof")];
        let mut warnings = Vec::new();
        self.shape_checks(&value, options, &mut checks, &mut warnings);
        let canonical = self.terms_check(bytes, &mut checks);
        let proofs = ProofCheck { purpose: ProofPurpose::Assertion, all: options.all_proofs };
        let signer = self.embedded_proofs(&value, bytes, canonical.as_deref(), proofs, &mut checks, &mut warnings);
        issuer_check(&value, signer.as_ref(), &mut checks);
        self.date_checks(&value, options, &mut checks);
        if top_level {
            self.status_check(&value, options, &mut checks, &mut warnings);
            self.endorsement_check(&value, options, &mut checks);
        }
        Report::conclude(Some(Format::JsonLd), Some(summarize(&value)), checks, warnings)
    }

    /// Verifies a verifiable presentation (JSON with embedded proofs, or
    /// none): its own shape, terms and proofs (made for `authentication`,
    /// with the expected challenge and domain), then each credential it
    /// carries as [`Self::verify`] would.
    pub fn verify_presentation(
        &self,
        input: &[u8],
        options: &VerifyOptions,
        challenge: Option<&str>,
        domain: Option<&str>,
    ) -> PresentationReport {
        let limit = self.canonicalizer.limits().max_bytes;
        let refuse = |reason: String| PresentationReport { presentation: malformed(reason), credentials: Vec::new() };
        if input.len() > limit {
            return refuse(format!("the input is {} bytes, more than the limit of {limit}", input.len()));
        }
        let bytes = input.trim_ascii();
        let value: Value = match serde_json::from_slice(bytes) {
            Ok(value @ Value::Object(_)) => value,
            Ok(_) => return refuse("the presentation is not a JSON object".into()),
            Err(e) => return refuse(format!("the presentation is not valid JSON: {e}")),
        };
        let mut checks = vec![Check::passed(CheckKind::Format, "a JSON presentation")];
        let mut warnings = Vec::new();
        checks.push(presentation_context_check(&value));
        let types = strings(value.get("type"));
        checks.push(if types.contains(&"VerifiablePresentation") {
            Check::passed(CheckKind::Type, format!("type {types:?}"))
        } else {
            Check::failed(
                CheckKind::Type,
                InvalidCode::Type,
                format!("type {types:?} does not include VerifiablePresentation"),
            )
        });
        let holder = match value.get("holder") {
            None => None,
            Some(Value::String(id)) => Some(id.clone()),
            Some(Value::Object(h)) => match h.get("id").and_then(Value::as_str) {
                Some(id) => Some(id.to_owned()),
                None => {
                    checks.push(Check::failed(CheckKind::Holder, InvalidCode::Malformed, "holder has no id"));
                    None
                }
            },
            Some(other) => {
                checks.push(Check::failed(
                    CheckKind::Holder,
                    InvalidCode::Malformed,
                    format!("holder must be a URL or an object with an id, not {other}"),
                ));
                None
            }
        };
        let credentials: Vec<&Value> = array_or_single(value.get("verifiableCredential"));
        let not_objects = credentials.iter().filter(|c| !c.is_object()).count();
        if not_objects > 0 {
            checks.push(Check::failed(
                CheckKind::Format,
                InvalidCode::Malformed,
                format!("{not_objects} of verifiableCredential's values are not credential objects"),
            ));
        }
        let canonical = self.terms_check(bytes, &mut checks);
        if value.get("proof").is_some_and(|p| !p.is_null()) {
            let purpose = ProofPurpose::Authentication { challenge, domain };
            let proofs = ProofCheck { purpose, all: true };
            let signer = self.embedded_proofs(&value, bytes, canonical.as_deref(), proofs, &mut checks, &mut warnings);
            match (&signer, &holder) {
                (Some(signer), Some(holder)) if &signer.key.controller != holder => checks.push(Check::failed(
                    CheckKind::Holder,
                    InvalidCode::Issuer,
                    format!("the presentation is signed by {}, not by its holder {holder}", signer.key.controller),
                )),
                (Some(_), Some(holder)) => {
                    checks.push(Check::passed(CheckKind::Holder, format!("signed by its holder {holder}")))
                }
                _ => {}
            }
        } else {
            checks.push(Check::skipped(CheckKind::Proof, "the presentation is not signed"));
            if challenge.is_some() || domain.is_some() {
                warnings.push("a challenge or domain was given, but the presentation has no proof to bind them".into());
            }
        }
        let reports: Vec<Report> = credentials
            .iter()
            .filter(|c| c.is_object())
            .map(|credential| {
                let bytes = serde_json::to_vec(credential).unwrap_or_default();
                self.verify_json(&bytes, options, true)
            })
            .collect();
        let invalid = reports.iter().filter(|r| matches!(r.verdict, Verdict::Invalid { .. })).count();
        let unchecked = reports.iter().filter(|r| matches!(r.verdict, Verdict::Indeterminate { .. })).count();
        checks.push(if reports.is_empty() {
            Check::skipped(CheckKind::Credentials, "the presentation carries no credential")
        } else if invalid > 0 {
            Check::failed(
                CheckKind::Credentials,
                InvalidCode::Credential,
                format!("{invalid} of the {} credentials did not verify", reports.len()),
            )
        } else if unchecked > 0 {
            Check::indeterminate(
                CheckKind::Credentials,
                format!("{unchecked} of the {} credentials could not be checked", reports.len()),
            )
        } else {
            Check::passed(CheckKind::Credentials, format!("{} credential(s) verified", reports.len()))
        });
        PresentationReport {
            presentation: Report::conclude(Some(Format::JsonLd), None, checks, warnings),
            credentials: reports,
        }
    }

    fn verify_jwt(&self, token: &str, options: &VerifyOptions) -> Report {
        let decoded = match jwt::decode_unverified(token) {
            Ok(decoded) => decoded,
            Err(e) => return malformed(format!("the VC-JWT cannot be read: {e}")),
        };
        let credential = Value::Object(credential_from_payload(&decoded.payload));
        let mut checks = vec![Check::passed(CheckKind::Format, "a VC-JWT (compact JWS)")];
        let mut warnings = Vec::new();
        self.shape_checks(&credential, options, &mut checks, &mut warnings);
        let credential_bytes = serde_json::to_vec(&credential).unwrap_or_default();
        self.terms_check(&credential_bytes, &mut checks);

        let issuer = issuer_id(&credential);
        let key = match (decoded.header.get("kid").and_then(Value::as_str), decoded.header.get("jwk")) {
            (Some(kid), _) => self.resolve(kid, issuer.as_deref()),
            (None, Some(jwk)) => PublicKey::from_jwk(jwk)
                .map(|key| ResolvedKey {
                    verification_method: "the token's jwk header".into(),
                    controller: String::new(),
                    key,
                    binding: Binding::ControllerDocument,
                    assertion_method: true,
                    authentication: false,
                })
                .map_err(|e| ResolveError::Invalid(format!("the token's jwk header is not a usable public key: {e}"))),
            (None, None) => Err(ResolveError::Invalid("the token names no key (neither kid nor jwk)".into())),
        };
        let signer = match key {
            Ok(key) => match jwt::verify_vc_jwt(token, &key.key) {
                Ok(_) => {
                    let alg = decoded.header.get("alg").and_then(Value::as_str).unwrap_or("?");
                    checks.push(Check::passed(CheckKind::Proof, format!("VC-JWT signature ({alg}) verified")));
                    Some(Signer { description: key.verification_method.clone(), key })
                }
                Err(e) => {
                    checks.push(Check::failed(
                        CheckKind::Proof,
                        InvalidCode::Proof,
                        format!("the VC-JWT does not verify: {e}"),
                    ));
                    None
                }
            },
            Err(ResolveError::Invalid(m)) => {
                checks.push(Check::failed(CheckKind::Proof, InvalidCode::Proof, m));
                None
            }
            Err(ResolveError::Unavailable(m)) => {
                checks.push(Check::indeterminate(CheckKind::Proof, m));
                None
            }
        };
        match &signer {
            // A key carried in the token proves only that someone held it.
            Some(s) if s.key.controller.is_empty() => {
                let bound = issuer.as_deref().and_then(|i| resolve_offline(i, None)).and_then(Result::ok);
                if bound.is_some_and(|b| b.key == s.key.key) {
                    checks.push(Check::passed(CheckKind::Issuer, "the token's key is the issuer's did:key"));
                } else {
                    checks.push(Check::warning(
                        CheckKind::Issuer,
                        "the signing key is carried in the token itself; nothing ties it to the issuer, so the issuer's identity is not confirmed",
                    ));
                }
            }
            _ => issuer_check(&credential, signer.as_ref(), &mut checks),
        }
        self.date_checks(&credential, options, &mut checks);
        self.status_check(&credential, options, &mut checks, &mut warnings);
        self.endorsement_check(&credential, options, &mut checks);
        Report::conclude(Some(Format::VcJwt), Some(summarize(&credential)), checks, warnings)
    }

    /// Context, type and schema: what the document says it is.
    fn shape_checks(
        &self,
        value: &Value,
        options: &VerifyOptions,
        checks: &mut Vec<Check>,
        warnings: &mut Vec<String>,
    ) {
        let types = strings(value.get("type"));
        let is_badge = types.iter().any(|t| OB_TYPES.contains(t));
        checks.push(context_check(value, is_badge || options.require_open_badge, !options.require_open_badge));
        checks.push(if !types.contains(&"VerifiableCredential") {
            Check::failed(CheckKind::Type, InvalidCode::Type, format!("type {types:?} does not include VerifiableCredential"))
        } else if !is_badge && options.require_open_badge {
            Check::failed(
                CheckKind::Type,
                InvalidCode::Type,
                format!("type {types:?} is not an Open Badges 3.0 credential (OpenBadgeCredential, AchievementCredential or EndorsementCredential)"),
            )
        } else {
            Check::passed(CheckKind::Type, format!("type {types:?}"))
        });
        if is_badge {
            checks.push(self.schema_check(value, &types, warnings));
        } else {
            checks.push(Check::skipped(CheckKind::Schema, "not an Open Badges credential: no 1EdTech schema applies"));
        }
    }

    fn schema_check(&self, value: &Value, types: &[&str], warnings: &mut Vec<String>) -> Check {
        let primary = if types.contains(&"EndorsementCredential") {
            SchemaId::EndorsementCredential
        } else {
            SchemaId::AchievementCredential
        };
        let mut schemas = vec![primary];
        for entry in array_or_single(value.get("credentialSchema")) {
            let id = entry.get("id").and_then(Value::as_str).unwrap_or_default();
            match SchemaId::from_url(id) {
                Some(schema) if !schemas.contains(&schema) => schemas.push(schema),
                Some(_) => {}
                None => warnings.push(format!("credentialSchema {id} is not bundled with zegel and was not checked")),
            }
        }
        let mut compacted: Vec<String> = Vec::new();
        let mut problems: Vec<String> = Vec::new();
        for schema in schemas {
            let Err(violations) = self.schemas.validate_credential(schema, value) else { continue };
            // Tolerate the JSON-LD compacted form (single values where the
            // plain-JSON binding wants arrays), as the 1EdTech validator does
            // with its json-ld schema variant, but say so.
            let mut normalized = value.clone();
            let mut wrapped = false;
            for violation in &violations {
                let path = violation.instance_path.as_str();
                let last = path.rsplit('/').next().unwrap_or_default();
                if COMPACTABLE.contains(&last)
                    && let Some(target) = normalized.pointer_mut(path)
                    && !target.is_array()
                {
                    *target = Value::Array(vec![target.take()]);
                    compacted.push(path.to_owned());
                    wrapped = true;
                }
            }
            let remaining = if wrapped {
                self.schemas.validate_credential(schema, &normalized).err().unwrap_or_default()
            } else {
                violations
            };
            problems.extend(remaining.iter().map(|v| v.to_string()));
        }
        compacted.sort();
        compacted.dedup();
        if !problems.is_empty() {
            problems.dedup();
            Check::failed(
                CheckKind::Schema,
                InvalidCode::Schema,
                format!("the 1EdTech JSON schema is not met: {}", problems.join("; ")),
            )
        } else if !compacted.is_empty() {
            Check::warning(
                CheckKind::Schema,
                format!(
                    "meets the 1EdTech JSON schema in JSON-LD compacted form only: {} should be an array in plain JSON",
                    compacted.join(", ")
                ),
            )
        } else {
            Check::passed(CheckKind::Schema, "meets the 1EdTech Open Badges 3.0 JSON schema")
        }
    }

    /// JSON-LD safe mode; returns the canonical document when it processes.
    fn terms_check(&self, bytes: &[u8], checks: &mut Vec<Check>) -> Option<String> {
        match self.canonicalizer.canonicalize_unsecured(bytes) {
            Ok(canonical) => {
                checks.push(Check::passed(
                    CheckKind::Terms,
                    "every term is defined by the credential's JSON-LD contexts",
                ));
                Some(canonical)
            }
            Err(e) => {
                checks.push(match &e {
                    JsonLdError::UnknownContext(_)
                    | JsonLdError::TooManyBlankNodes { .. }
                    | JsonLdError::IndistinguishableBlankNodes { .. }
                    | JsonLdError::TooComplex(_) => Check::indeterminate(CheckKind::Terms, e.to_string()),
                    JsonLdError::Json(_)
                    | JsonLdError::NotAnObject
                    | JsonLdError::TooLarge { .. }
                    | JsonLdError::TooDeep(_)
                    | JsonLdError::DuplicateKey(_) => {
                        Check::failed(CheckKind::Terms, InvalidCode::Malformed, e.to_string())
                    }
                    // The signer's processor may have written these the same way it
                    // signed them: zegel cannot tell, so it does not judge.
                    JsonLdError::DataLoss(issues) if issues.iter().all(|i| i.is_portability()) => {
                        Check::indeterminate(CheckKind::Terms, e.to_string())
                    }
                    JsonLdError::DataLoss(_) | JsonLdError::Processing(_) => {
                        Check::failed(CheckKind::Terms, InvalidCode::Context, e.to_string())
                    }
                });
                None
            }
        }
    }

    /// Verifies the proof set. One verified proof suffices (OB 3.0
    /// §"Proofs"), or, with `expect.all`, every proof must verify (Data
    /// Integrity). A proof naming `previousProof` (a proof chain) is checked
    /// against the document secured by the proofs it names.
    fn embedded_proofs(
        &self,
        value: &Value,
        bytes: &[u8],
        canonical: Option<&str>,
        expect: ProofCheck<'_>,
        checks: &mut Vec<Check>,
        warnings: &mut Vec<String>,
    ) -> Option<Signer> {
        let proofs = array_or_single(value.get("proof"));
        if proofs.is_empty() {
            checks.push(Check::failed(CheckKind::Proof, InvalidCode::Proof, "the document has no proof"));
            return None;
        }
        let issuer = issuer_id(value);
        let context = value.get("@context").cloned().unwrap_or(Value::Null);
        let (mut failed, mut unavailable, mut unsupported) = (Vec::new(), Vec::new(), Vec::new());
        let mut verified: Option<Signer> = None;
        let mut verified_count = 0;
        for proof in &proofs {
            if !proof.is_object() {
                failed.push(format!("a proof must be a JSON object, not {proof}"));
                continue;
            }
            let Some(kind) = proof.get("type").and_then(Value::as_str) else {
                failed.push("a proof has no type".to_owned());
                continue;
            };
            let suite = proof.get("cryptosuite").and_then(Value::as_str);
            if kind != data_integrity::PROOF_TYPE || suite != Some(data_integrity::CRYPTOSUITE) {
                unsupported.push(match suite {
                    Some(suite) => format!("{kind} with cryptosuite {suite}"),
                    None => kind.to_owned(),
                });
                continue;
            }
            if let Err(e) = data_integrity::check_proof(proof) {
                failed.push(e.to_string());
                continue;
            }
            let purpose = proof.get("proofPurpose").and_then(Value::as_str).unwrap_or_default();
            if purpose != expect.purpose.name() {
                failed.push(format!("the proof's purpose is {purpose}, this needs {}", expect.purpose.name()));
                continue;
            }
            if let ProofPurpose::Authentication { challenge, domain } = expect.purpose
                && let Some(problem) =
                    binding_problem(proof, "challenge", challenge).or_else(|| binding_problem(proof, "domain", domain))
            {
                failed.push(problem);
                continue;
            }
            let method = proof.get("verificationMethod").and_then(Value::as_str).unwrap_or_default();
            let key = match self.resolve(method, issuer.as_deref()) {
                Ok(key) => key,
                Err(ResolveError::Invalid(m)) => {
                    failed.push(m);
                    continue;
                }
                Err(ResolveError::Unavailable(m)) => {
                    unavailable.push(m);
                    continue;
                }
            };
            let PublicKey::Ed25519(public) = &key.key else {
                failed.push(format!("{method} is not an Ed25519 key, which eddsa-rdfc-2022 needs"));
                continue;
            };
            let authorised = match expect.purpose {
                ProofPurpose::Assertion => key.assertion_method,
                ProofPurpose::Authentication { .. } => key.authentication,
            };
            if !authorised {
                failed.push(format!(
                    "{method} is not authorised by its controller for {} ({})",
                    match expect.purpose {
                        ProofPurpose::Assertion => "signing credentials",
                        ProofPurpose::Authentication { .. } => "authentication",
                    },
                    expect.purpose.name()
                ));
                continue;
            }
            let chained;
            let canonical = match proof.get("previousProof") {
                None => canonical,
                Some(previous) => match self.chained_document(bytes, &proofs, previous) {
                    Ok(document) => {
                        chained = document;
                        Some(chained.as_str())
                    }
                    Err(ChainError::Invalid(m)) => {
                        failed.push(m);
                        continue;
                    }
                    Err(ChainError::Unprocessable) => None,
                },
            };
            let Some(canonical) = canonical else {
                unavailable.push("the proof cannot be checked because the document does not process as JSON-LD".into());
                continue;
            };
            match data_integrity::verify_proof_of(&self.canonicalizer, canonical, &context, proof, public) {
                Ok(()) => {
                    verified_count += 1;
                    if verified.is_none() {
                        verified = Some(Signer {
                            description: format!("Data Integrity proof (eddsa-rdfc-2022) by {method}"),
                            key,
                        });
                    }
                }
                Err(DataIntegrityError::SignatureMismatch) => failed.push(format!(
                    "the signature by {method} does not match: the document was changed after signing, or signed with another key"
                )),
                Err(e) => failed.push(e.to_string()),
            }
        }
        if expect.all {
            let total = proofs.len();
            if !failed.is_empty() {
                checks.push(Check::failed(CheckKind::Proof, InvalidCode::Proof, failed.join("; ")));
                return None;
            }
            let mut open = unavailable;
            open.extend(unsupported.iter().map(|u| format!("zegel cannot check a proof of type {u}")));
            if !open.is_empty() {
                checks.push(Check::indeterminate(CheckKind::Proof, open.join("; ")));
                return None;
            }
            let signer = verified?;
            let message = if total == 1 {
                format!("{} verified", signer.description)
            } else {
                format!("all {total} proofs verified ({verified_count} Data Integrity eddsa-rdfc-2022)")
            };
            checks.push(Check::passed(CheckKind::Proof, message));
            return Some(signer);
        }
        if let Some(signer) = &verified {
            checks.push(Check::passed(CheckKind::Proof, format!("{} verified", signer.description)));
            warnings.extend(failed.iter().map(|f| format!("another proof of the proof set did not verify: {f}")));
            warnings.extend(unsupported.iter().map(|u| format!("a proof of unsupported type ({u}) was ignored")));
        } else if !failed.is_empty() {
            checks.push(Check::failed(CheckKind::Proof, InvalidCode::Proof, failed.join("; ")));
        } else if !unavailable.is_empty() {
            checks.push(Check::indeterminate(CheckKind::Proof, unavailable.join("; ")));
        } else {
            checks.push(Check::indeterminate(
                CheckKind::Proof,
                format!(
                    "no proof zegel can check (eddsa-rdfc-2022 Data Integrity or VC-JWT); found {}",
                    unsupported.join(", ")
                ),
            ));
        }
        verified
    }

    /// The canonical form of the document a chained proof covers: the
    /// document with, as its `proof`, the proofs `previous` names (by id).
    fn chained_document(&self, bytes: &[u8], proofs: &[&Value], previous: &Value) -> Result<String, ChainError> {
        let ids: Vec<&str> = match previous {
            Value::String(id) => vec![id.as_str()],
            Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_string) => {
                items.iter().filter_map(Value::as_str).collect()
            }
            other => {
                return Err(ChainError::Invalid(format!(
                    "previousProof must be a proof id or a list of proof ids, not {other}"
                )));
            }
        };
        let mut matching = Vec::with_capacity(ids.len());
        for id in ids {
            match proofs.iter().find(|p| p.get("id").and_then(Value::as_str) == Some(id)) {
                Some(found) => matching.push((*found).clone()),
                None => {
                    return Err(ChainError::Invalid(format!(
                        "the previous proof {id} a proof names is not in the proof set"
                    )));
                }
            }
        }
        let mut object = RawObject::parse(bytes).map_err(|_| ChainError::Unprocessable)?;
        let secured = if matching.len() == 1 { matching.remove(0) } else { Value::Array(matching) };
        let raw = RawValue::from_string(secured.to_string()).map_err(|_| ChainError::Unprocessable)?;
        object.set("proof", raw);
        self.canonicalizer.canonicalize(&object.to_vec()).map_err(|_| ChainError::Unprocessable)
    }

    fn resolve(&self, method: &str, issuer: Option<&str>) -> Result<ResolvedKey, ResolveError> {
        let offline = resolve_offline(method, issuer);
        // A did:key is its own key; for anything else the controller's
        // document, when the resolver has it, confirms what the issuer-fragment
        // convention only assumes (or refutes it).
        if method.starts_with("did:key:")
            && let Some(result) = offline
        {
            return result;
        }
        if let Some(resolver) = &self.resolver {
            match resolver.resolve(method) {
                Err(ResolveError::Unavailable(_)) if offline.is_some() => {}
                answer => return answer,
            }
        }
        offline.unwrap_or_else(|| {
            Err(ResolveError::Unavailable(format!(
                "the key {method} can only be fetched online, and no key resolver is configured"
            )))
        })
    }

    fn date_checks(&self, value: &Value, options: &VerifyOptions, checks: &mut Vec<Check>) {
        // VC 1.1 names the validity period issuanceDate (required) and
        // expirationDate; VC 2.0 validFrom and validUntil (both optional,
        // but Open Badges 3.0 requires validFrom).
        let v1 = array_or_single(value.get("@context")).first().and_then(|c| c.as_str()) == Some(contexts::VC_V1);
        let (from_name, until_name) = if v1 { ("issuanceDate", "expirationDate") } else { ("validFrom", "validUntil") };
        let is_badge = strings(value.get("type")).iter().any(|t| OB_TYPES.contains(t));
        let from_required = v1 || is_badge || options.require_open_badge;
        let valid_from = match value.get(from_name) {
            None if from_required => {
                checks.push(Check::failed(
                    CheckKind::ValidFrom,
                    InvalidCode::Malformed,
                    format!("the credential has no {from_name}"),
                ));
                None
            }
            None => {
                checks.push(Check::skipped(CheckKind::ValidFrom, "the credential has no validFrom"));
                None
            }
            Some(raw) => match raw.as_str().and_then(parse_datetime) {
                None => {
                    checks.push(Check::failed(
                        CheckKind::ValidFrom,
                        InvalidCode::Malformed,
                        format!("{from_name} {raw} is not a date-time with a time zone"),
                    ));
                    None
                }
                Some(from) if from > options.now => {
                    checks.push(Check::failed(
                        CheckKind::ValidFrom,
                        InvalidCode::NotYetValid,
                        format!("not valid before {from}"),
                    ));
                    Some(from)
                }
                Some(from) => {
                    checks.push(Check::passed(CheckKind::ValidFrom, format!("valid from {from}")));
                    Some(from)
                }
            },
        };
        checks.push(match value.get(until_name) {
            None => Check::skipped(CheckKind::ValidUntil, "the credential does not expire"),
            Some(raw) => match raw.as_str().and_then(parse_datetime) {
                None => Check::failed(
                    CheckKind::ValidUntil,
                    InvalidCode::Malformed,
                    format!("{until_name} {raw} is not a date-time with a time zone"),
                ),
                Some(until) if valid_from.is_some_and(|from| until < from) => Check::failed(
                    CheckKind::ValidUntil,
                    InvalidCode::Malformed,
                    format!("{until_name} {until} is before {from_name}"),
                ),
                Some(until) if until < options.now => {
                    Check::failed(CheckKind::ValidUntil, InvalidCode::Expired, format!("expired on {until}"))
                }
                Some(until) => Check::passed(CheckKind::ValidUntil, format!("valid until {until}")),
            },
        });
    }

    fn status_check(
        &self,
        value: &Value,
        options: &VerifyOptions,
        checks: &mut Vec<Check>,
        warnings: &mut Vec<String>,
    ) {
        let entries = status::entries(value.get("credentialStatus"));
        if entries.is_empty() {
            checks.push(Check::skipped(CheckKind::Status, "the credential has no status to check"));
            return;
        }
        if !options.check_status {
            checks.push(Check::skipped(CheckKind::Status, "the status was not asked to be checked"));
            return;
        }
        let not_checked = |message: String| {
            if options.require_status {
                Check::indeterminate(CheckKind::Status, message)
            } else {
                Check::warning(CheckKind::Status, format!("{message}; the status was not checked"))
            }
        };
        let mut results: Vec<Check> = Vec::new();
        for raw in entries {
            let kind = raw.get("type").and_then(Value::as_str).unwrap_or("(no type)");
            if kind == "1EdTechRevocationList" {
                results.push(self.revocation_list_status(value, raw, options, &not_checked));
                continue;
            }
            if kind != status::ENTRY_TYPE {
                results.push(not_checked(format!("status type {kind} is not supported")));
                continue;
            }
            let entry = match StatusEntry::parse(raw) {
                Ok(entry) => entry,
                Err(e) => {
                    results.push(Check::failed(CheckKind::Status, InvalidCode::Malformed, e.to_string()));
                    continue;
                }
            };
            let list = match self.fetch_list(&entry.list_credential, value, options) {
                Ok(list) => list,
                Err(message) => {
                    results.push(not_checked(message));
                    continue;
                }
            };
            results.push(match list.is_set(&entry) {
                Ok(true) if entry.purpose == "revocation" => Check::failed(
                    CheckKind::Status,
                    InvalidCode::Revoked,
                    format!("revoked (status list {}, entry {})", entry.list_credential, entry.index),
                ),
                Ok(true) if entry.purpose == "suspension" => Check::failed(
                    CheckKind::Status,
                    InvalidCode::Suspended,
                    format!("suspended (status list {}, entry {})", entry.list_credential, entry.index),
                ),
                Ok(true) => {
                    warnings.push(format!("status {} is set for this credential", entry.purpose));
                    Check::passed(CheckKind::Status, format!("{} status read", entry.purpose))
                }
                Ok(false) => Check::passed(CheckKind::Status, format!("not {}", past_participle(&entry.purpose))),
                Err(e) => not_checked(e.to_string()),
            });
        }
        // One status check in the report: the most severe result.
        let rank = |c: &Check| match c.outcome {
            Outcome::Failed => 0,
            Outcome::Indeterminate => 1,
            Outcome::Warning => 2,
            Outcome::Passed => 3,
            Outcome::Skipped => 4,
        };
        results.sort_by_key(rank);
        let worst = rank(&results[0]);
        let message =
            results.iter().filter(|c| rank(c) == worst).map(|c| c.message.as_str()).collect::<Vec<_>>().join("; ");
        let mut check = results.swap_remove(0);
        check.message = message;
        checks.push(check);
    }

    /// A status list credential, verified like any credential (or by its
    /// source already), issued by the credential's issuer.
    fn fetch_list(&self, url: &str, credential: &Value, options: &VerifyOptions) -> Result<Arc<StatusList>, String> {
        let source =
            self.status_lists.as_ref().ok_or_else(|| format!("the status list {url} can only be fetched online"))?;
        let verified = match source.verified_list(url) {
            Some(verified) => verified,
            None => {
                let bytes = source.status_list(url)?;
                VerifiedStatusList::verify(self, &bytes, options)
                    .map_err(|why| format!("the status list {url} {why}"))?
            }
        };
        if Some(&verified.issuer) != issuer_id(credential).as_ref() {
            return Err(format!("the status list {url} was issued by someone other than the credential's issuer"));
        }
        Ok(verified.list)
    }

    /// 1EdTech Revocation List: `{"revokedCredential": [{"id", "revoked"?, "revocationReason"?}]}`.
    fn revocation_list_status(
        &self,
        credential: &Value,
        entry: &Value,
        _options: &VerifyOptions,
        not_checked: &dyn Fn(String) -> Check,
    ) -> Check {
        let url = entry.get("id").and_then(Value::as_str).unwrap_or_default();
        let Some(source) = &self.status_lists else {
            return not_checked(format!("the 1EdTech revocation list {url} can only be fetched online"));
        };
        let list: Value =
            match source.status_list(url).and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string())) {
                Ok(list) => list,
                Err(e) => return not_checked(e),
            };
        let id = credential.get("id").and_then(Value::as_str);
        let revoked = array_or_single(list.get("revokedCredential")).into_iter().find(|r| {
            r.get("id").and_then(Value::as_str) == id && r.get("revoked").and_then(Value::as_bool) != Some(false)
        });
        match revoked {
            Some(r) => {
                let reason =
                    r.get("revocationReason").and_then(Value::as_str).map(|r| format!(": {r}")).unwrap_or_default();
                Check::failed(
                    CheckKind::Status,
                    InvalidCode::Revoked,
                    format!("revoked (1EdTech revocation list {url}){reason}"),
                )
            }
            None => Check::passed(CheckKind::Status, "not revoked"),
        }
    }

    /// Embedded endorsements are separate credentials by third parties: their
    /// result is reported, but does not change this credential's verdict.
    fn endorsement_check(&self, value: &Value, options: &VerifyOptions, checks: &mut Vec<Check>) {
        let mut endorsements: Vec<&Value> = array_or_single(value.get("endorsement"));
        for holder in [value.get("issuer"), value.get("credentialSubject").and_then(|s| s.get("achievement"))] {
            endorsements.extend(array_or_single(holder.and_then(|h| h.get("endorsement"))));
        }
        if endorsements.is_empty() {
            checks.push(Check::skipped(CheckKind::Endorsements, "no endorsements"));
            return;
        }
        let options = VerifyOptions { require_status: false, ..options.clone() };
        let mut problems = Vec::new();
        for endorsement in &endorsements {
            let bytes = serde_json::to_vec(endorsement).unwrap_or_default();
            let report = self.verify_json(&bytes, &options, false);
            if report.verdict != Verdict::Valid {
                let by = issuer_id(endorsement).unwrap_or_else(|| "an unnamed endorser".into());
                problems.push(format!("endorsement by {by}: {}", report.verdict));
            }
        }
        checks.push(if problems.is_empty() {
            Check::passed(CheckKind::Endorsements, format!("{} endorsement(s) verified", endorsements.len()))
        } else {
            Check::warning(CheckKind::Endorsements, problems.join("; "))
        });
    }
}

/// `@context` of a credential: VC 2.0 first (VC 1.1 too when `vc_v1`),
/// and the Open Badges context for badges.
fn context_check(value: &Value, badge: bool, vc_v1: bool) -> Check {
    let contexts = array_or_single(value.get("@context"));
    let urls: Vec<&str> = contexts.iter().filter_map(|c| c.as_str()).collect();
    let first = contexts.first().and_then(|c| c.as_str());
    match first {
        Some(contexts::VC_V2) => {}
        Some(contexts::VC_V1) if vc_v1 && !badge => {
            return Check::passed(CheckKind::Context, "VC 1.1 context");
        }
        Some(contexts::VC_V1) => {
            return Check::failed(
                CheckKind::Context,
                InvalidCode::Context,
                "this is a VC 1.1 credential; Open Badges 3.0 credentials start their @context with https://www.w3.org/ns/credentials/v2",
            );
        }
        _ => {
            return Check::failed(
                CheckKind::Context,
                InvalidCode::Context,
                "the @context does not start with https://www.w3.org/ns/credentials/v2",
            );
        }
    }
    if badge {
        let ob = urls.iter().find(|u| is_ob_context(u));
        match ob {
            Some(url) => Check::passed(CheckKind::Context, format!("VC 2.0 and Open Badges 3.0 contexts ({url})")),
            None => Check::failed(
                CheckKind::Context,
                InvalidCode::Context,
                "the Open Badges 3.0 context is missing from @context",
            ),
        }
    } else {
        Check::passed(CheckKind::Context, "VC 2.0 context")
    }
}

/// `@context` of a presentation: VC 2.0 (or VC 1.1) first.
fn presentation_context_check(value: &Value) -> Check {
    match value.get("@context") {
        None => Check::failed(CheckKind::Context, InvalidCode::Context, "the presentation has no @context"),
        Some(context) => match array_or_single(Some(context)).first().and_then(|c| c.as_str()) {
            Some(contexts::VC_V2) => Check::passed(CheckKind::Context, "VC 2.0 context"),
            Some(contexts::VC_V1) => Check::passed(CheckKind::Context, "VC 1.1 context"),
            _ => Check::failed(
                CheckKind::Context,
                InvalidCode::Context,
                "the presentation's @context does not start with https://www.w3.org/ns/credentials/v2",
            ),
        },
    }
}

/// `^https://purl.imsglobal.org/spec/ob/v3p0/context(-3\.\d\.\d)*\.json$`
fn is_ob_context(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("https://purl.imsglobal.org/spec/ob/v3p0/context") else { return false };
    let Some(mut rest) = rest.strip_suffix(".json") else { return false };
    while !rest.is_empty() {
        let b = rest.as_bytes();
        if b.len() < 6 || &b[..3] != b"-3." || !b[3].is_ascii_digit() || b[4] != b'.' || !b[5].is_ascii_digit() {
            return false;
        }
        rest = &rest[6..];
    }
    true
}

fn issuer_check(value: &Value, signer: Option<&Signer>, checks: &mut Vec<Check>) {
    let Some(issuer) = issuer_id(value) else {
        checks.push(Check::failed(CheckKind::Issuer, InvalidCode::Issuer, "the credential names no issuer"));
        return;
    };
    let Some(signer) = signer else {
        checks.push(Check::skipped(CheckKind::Issuer, "no verified signature to tie to the issuer"));
        return;
    };
    let key = &signer.key;
    checks.push(match (key.controller == issuer, key.binding) {
        (true, Binding::DidKey) => Check::passed(CheckKind::Issuer, format!("the issuer {issuer} is the did:key that signed")),
        (true, Binding::ControllerDocument) => {
            Check::passed(CheckKind::Issuer, format!("the issuer {issuer} lists the signing key for credentials"))
        }
        (true, Binding::Supplied) => {
            Check::passed(CheckKind::Issuer, format!("signed with a key supplied to the verifier as {issuer}'s"))
        }
        (false, Binding::Supplied) => Check::warning(
            CheckKind::Issuer,
            format!("signed with the supplied key {}, which is not named as the issuer {issuer}'s", key.verification_method),
        ),
        (true, Binding::IssuerFragment) => Check::warning(
            CheckKind::Issuer,
            format!(
                "signed with a key that the verification method places under the issuer's id {issuer}; the issuer's control of this key was not confirmed online"
            ),
        ),
        (false, Binding::DidKey) => Check::warning(
            CheckKind::Issuer,
            format!(
                "signed with {}, which is not the issuer {issuer}: nothing ties this credential to its issuer",
                key.controller
            ),
        ),
        (false, _) => Check::failed(
            CheckKind::Issuer,
            InvalidCode::Issuer,
            format!("the signing key belongs to {}, not to the issuer {issuer}", key.controller),
        ),
    });
}

fn malformed(reason: String) -> Report {
    Report::conclude(None, None, vec![Check::failed(CheckKind::Format, InvalidCode::Malformed, reason)], Vec::new())
}

/// Three base64url segments separated by dots.
fn looks_like_compact_jws(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    parts.len() == 3
        && parts[..2].iter().all(|p| !p.is_empty())
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

/// The credential in a VC-JWT payload: its `vc` claim (VC 1.1 style), or the
/// payload without the JWT registered claims (OB 3.0 / VC 2.0 style).
fn credential_from_payload(payload: &Map<String, Value>) -> Map<String, Value> {
    if let Some(Value::Object(vc)) = payload.get("vc") {
        return vc.clone();
    }
    payload
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "iss" | "sub" | "jti" | "nbf" | "exp" | "iat" | "aud"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn issuer_id(value: &Value) -> Option<String> {
    match value.get("issuer")? {
        Value::String(id) => Some(id.clone()),
        Value::Object(profile) => profile.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

fn array_or_single(value: Option<&Value>) -> Vec<&Value> {
    match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(single) => vec![single],
    }
}

fn strings(value: Option<&Value>) -> Vec<&str> {
    array_or_single(value).into_iter().filter_map(Value::as_str).collect()
}

/// XML Schema dateTime with a time zone (RFC 3339 covers the forms in use).
fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    DateTime::<FixedOffset>::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

fn past_participle(purpose: &str) -> &str {
    match purpose {
        "revocation" => "revoked",
        "suspension" => "suspended",
        other => other,
    }
}

fn summarize(value: &Value) -> Summary {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let issuer = value.get("issuer");
    Summary {
        id: text(value.get("id")),
        types: strings(value.get("type")).into_iter().map(str::to_owned).collect(),
        name: text(value.get("name")),
        issuer_id: issuer_id(value),
        issuer_name: text(issuer.and_then(|i| i.get("name"))),
        achievement_name: text(
            value.get("credentialSubject").and_then(|s| s.get("achievement")).and_then(|a| a.get("name")),
        ),
        valid_from: text(value.get("validFrom")),
        valid_until: text(value.get("validUntil")),
        awarded_date: text(value.get("awardedDate")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ob_context_urls_follow_the_schema_pattern() {
        for ok in [
            "https://purl.imsglobal.org/spec/ob/v3p0/context.json",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json",
        ] {
            assert!(is_ob_context(ok), "{ok}");
        }
        for bad in [
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.json",
            "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
            "http://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ] {
            assert!(!is_ob_context(bad), "{bad}");
        }
    }

    #[test]
    fn only_three_base64url_segments_look_like_a_jwt() {
        assert!(looks_like_compact_jws("eyJh.eyJi.c2ln"));
        assert!(looks_like_compact_jws("eyJh.eyJi."));
        assert!(!looks_like_compact_jws("eyJh.eyJi"));
        assert!(!looks_like_compact_jws("eyJh..c2ln"));
        assert!(!looks_like_compact_jws("ey Jh.eyJi.c2ln"));
    }
}

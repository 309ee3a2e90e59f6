//! `POST /credentials/issue`, the pure part: reading the request, checking
//! the submitted credential against the VC Data Model (2.0, or 1.1) and
//! preparing what is signed. Every problem is named at once; JSON-LD safe
//! mode runs when the prepared document is signed.
//!
//! What is signed is the submitted credential as it is (its members' text
//! untouched, `@context` in its order, the subject as sent), plus a status
//! entry from zegel's own status lists and, for VC 1.1, the data-integrity
//! context its proof needs.

use crate::credential::contexts;
use crate::credential::model::StatusPurpose;
use crate::domain::microcredential::ValidationErrors;
use crate::json::RawObject;
use crate::signing::data_integrity;
use base64::Engine as _;
use chrono::{DateTime, FixedOffset};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// Types that only `POST /api/v1/awards` issues: an Open Badge from zegel
/// must meet the quality framework, which a generic issuer cannot check.
pub const REFUSED_TYPES: &[&str] = &["OpenBadgeCredential", "AchievementCredential"];

/// Members whose values are typed objects: each must name its `type`.
const TYPED_MEMBERS: &[&str] = &["credentialStatus", "termsOfUse", "evidence", "refreshService", "credentialSchema"];

/// The VC Data Model version of a credential, by its first `@context`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VcVersion {
    /// `https://www.w3.org/ns/credentials/v2`
    V2,
    /// `https://www.w3.org/2018/credentials/v1`
    V1,
}

/// What the issue request asks for besides the credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueOptions {
    /// How `POST /credentials/status` will name the credential
    /// (`options.credentialId`, else the credential's `id`).
    pub credential_id: Option<String>,
    /// The status entries to add, one per purpose (default: revocation).
    pub status_purposes: Vec<StatusPurpose>,
}

/// A request that passed every check: the credential's members as sent, ready
/// for its status entries and proof.
#[derive(Debug)]
pub struct IssueRequest {
    pub credential: RawObject,
    pub version: VcVersion,
    pub types: Vec<String>,
    pub options: IssueOptions,
}

/// Reads and checks an issue request (`{"credential": {…}, "options": {…}}`)
/// for the issuer `issuer_id`. `Err(None)`: the body is not a JSON object.
pub fn parse_request(body: &[u8], issuer_id: &str) -> Result<IssueRequest, Option<ValidationErrors>> {
    let mut envelope = RawObject::parse(body).map_err(|_| None)?;
    let mut problems = ValidationErrors::new();
    let options = match envelope.value("options") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(options)) => options,
        Some(other) => {
            problems.push("options", format!("must be an object, not {}", kind(&other)));
            Map::new()
        }
    };
    let Some(raw) = envelope.remove("credential") else {
        problems.push("credential", "is required: the credential to issue");
        return Err(Some(problems));
    };
    let credential = match RawObject::parse(raw.get().as_bytes()) {
        Ok(object) => object,
        Err(e) => {
            let what = serde_json::from_str::<Value>(raw.get()).map(|v| kind(&v)).unwrap_or("unreadable");
            problems.push("credential", format!("must be a JSON object (a credential without proof), not {what}: {e}"));
            return Err(Some(problems));
        }
    };
    let value: Map<String, Value> = serde_json::from_str(raw.get()).map_err(|_| None)?;
    let version = check_credential(&value, issuer_id, &mut problems);
    let options = check_options(&options, &value, &mut problems);
    match (version, problems.is_empty()) {
        (Some(version), true) => Ok(IssueRequest { credential, version, types: strings(value.get("type")), options }),
        _ => Err(Some(problems)),
    }
}

/// The options zegel reads; others are ignored, as the VC-API asks.
fn check_options(
    options: &Map<String, Value>,
    credential: &Map<String, Value>,
    problems: &mut ValidationErrors,
) -> IssueOptions {
    let credential_id = match options.get("credentialId") {
        None | Some(Value::Null) => credential.get("id").and_then(Value::as_str).map(str::to_owned),
        Some(Value::String(id)) if !id.trim().is_empty() && id.len() <= 2048 => Some(id.clone()),
        Some(_) => {
            problems.push("options.credentialId", "must be a non-empty string of at most 2048 characters");
            None
        }
    };
    match options.get("type") {
        None | Some(Value::Null) => {}
        Some(Value::String(t)) if t == data_integrity::PROOF_TYPE => {}
        Some(other) => problems
            .push("options.type", format!("zegel signs with DataIntegrityProof (eddsa-rdfc-2022) only, not {other}")),
    }
    match options.get("cryptosuite") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s == data_integrity::CRYPTOSUITE => {}
        Some(other) => {
            problems.push("options.cryptosuite", format!("zegel signs with eddsa-rdfc-2022 only, not {other}"))
        }
    }
    let status_purposes = match options.get("statusPurpose") {
        None | Some(Value::Null) => vec![StatusPurpose::Revocation],
        Some(value) => {
            let items: Vec<&Value> = match value {
                Value::Array(items) => items.iter().collect(),
                single => vec![single],
            };
            let mut purposes = Vec::new();
            for item in items {
                match item.as_str() {
                    Some("revocation") => purposes.push(StatusPurpose::Revocation),
                    Some("suspension") => purposes.push(StatusPurpose::Suspension),
                    _ => problems.push(
                        "options.statusPurpose",
                        format!("must be \"revocation\", \"suspension\" or a list of them, not {item}"),
                    ),
                }
            }
            purposes.dedup();
            purposes
        }
    };
    IssueOptions { credential_id, status_purposes }
}

/// Checks a credential against the VC Data Model as far as it can be
/// checked without JSON-LD processing; returns its version when its
/// `@context` says which.
pub fn check_credential(
    credential: &Map<String, Value>,
    issuer_id: &str,
    problems: &mut ValidationErrors,
) -> Option<VcVersion> {
    let version = check_context(credential.get("@context"), problems);
    // type
    match credential.get("type") {
        None => problems.push("credential.type", "is required and must include VerifiableCredential"),
        Some(value) => {
            let items = one_or_many(value);
            if items.iter().any(|t| !t.is_string()) || items.is_empty() {
                problems.push("credential.type", "must be a string or a list of strings");
            }
            let types = strings(Some(value));
            if !types.iter().any(|t| t == "VerifiableCredential") {
                problems.push("credential.type", "must include VerifiableCredential");
            }
            if let Some(refused) = types.iter().find(|t| REFUSED_TYPES.contains(&t.as_str())) {
                problems.push(
                    "credential.type",
                    format!(
                        "{refused}: zegel issues Open Badges only through POST /api/v1/awards, where the microcredential's quality framework is checked; this endpoint issues other verifiable credentials"
                    ),
                );
            }
        }
    }
    if let Some(id) = credential.get("id") {
        check_url("credential.id", id, problems);
    }
    // issuer
    match credential.get("issuer") {
        None | Some(Value::Null) => problems.push("credential.issuer", format!("is required: {issuer_id}")),
        Some(value) => {
            let id = match value {
                Value::String(_) => Some(value),
                Value::Object(profile) => match profile.get("id") {
                    Some(id) => Some(id),
                    None => {
                        problems.push("credential.issuer.id", "is required");
                        None
                    }
                },
                other => {
                    problems.push(
                        "credential.issuer",
                        format!("must be a URL or an object with an id, not {}", kind(other)),
                    );
                    None
                }
            };
            let field = if value.is_object() { "credential.issuer.id" } else { "credential.issuer" };
            if let Some(id) = id
                && check_url(field, id, problems)
                && id.as_str() != Some(issuer_id)
            {
                problems.push(field, format!("must be this service's issuer {issuer_id}, not {id}"));
            }
        }
    }
    // credentialSubject
    match credential.get("credentialSubject") {
        None | Some(Value::Null) => problems.push("credential.credentialSubject", "is required"),
        Some(Value::Array(subjects)) if subjects.is_empty() => {
            problems.push("credential.credentialSubject", "must hold at least one subject")
        }
        Some(value) => {
            let many = value.is_array();
            for (i, subject) in one_or_many(value).into_iter().enumerate() {
                let field = if many {
                    format!("credential.credentialSubject[{i}]")
                } else {
                    "credential.credentialSubject".to_owned()
                };
                match subject {
                    Value::Object(claims) if claims.is_empty() => {
                        problems.push(field, "must make at least one claim (an empty subject says nothing)")
                    }
                    Value::Object(claims) => {
                        if let Some(id) = claims.get("id") {
                            check_url(&format!("{field}.id"), id, problems);
                        }
                    }
                    other => problems.push(field, format!("must be an object, not {}", kind(other))),
                }
            }
        }
    }
    // validity period
    let (from, until) = match version {
        Some(VcVersion::V1) => ("issuanceDate", "expirationDate"),
        _ => ("validFrom", "validUntil"),
    };
    for name in ["validFrom", "validUntil", "issuanceDate", "expirationDate"] {
        if let Some(value) = credential.get(name)
            && date_time(value).is_none()
        {
            problems.push(
                format!("credential.{name}"),
                format!("must be a date-time with a time zone (XML Schema dateTimeStamp), such as 2026-01-01T00:00:00Z, not {value}"),
            );
        }
    }
    if let (Some(start), Some(end)) =
        (credential.get(from).and_then(date_time), credential.get(until).and_then(date_time))
        && end < start
    {
        problems.push(format!("credential.{until}"), format!("must not be before {from}"));
    }
    // typed objects
    for member in TYPED_MEMBERS.iter().chain(&["proof"]) {
        let Some(value) = credential.get(*member) else { continue };
        let many = value.is_array();
        for (i, item) in one_or_many(value).into_iter().enumerate() {
            let field = if many { format!("credential.{member}[{i}]") } else { format!("credential.{member}") };
            let Value::Object(object) = item else {
                problems.push(field, format!("must be an object, not {}", kind(item)));
                continue;
            };
            match object.get("type") {
                None => problems.push(format!("{field}.type"), "is required"),
                Some(t) if strings(Some(t)).is_empty() || one_or_many(t).iter().any(|t| !t.is_string()) => {
                    problems.push(format!("{field}.type"), "must be a string or a list of strings")
                }
                Some(_) => {}
            }
            match object.get("id") {
                Some(id) => {
                    check_url(&format!("{field}.id"), id, problems);
                }
                None if *member == "credentialSchema" => {
                    problems.push(format!("{field}.id"), "is required: the schema's URL")
                }
                None => {}
            }
        }
    }
    check_related_resources(credential.get("relatedResource"), problems);
    version
}

/// `@context`: present, starting with the VC 2.0 (or 1.1) context, every
/// entry a URL or an object.
fn check_context(context: Option<&Value>, problems: &mut ValidationErrors) -> Option<VcVersion> {
    let Some(context) = context else {
        problems.push("credential.@context", format!("is required and must start with {}", contexts::VC_V2));
        return None;
    };
    let entries = one_or_many(context);
    for (i, entry) in entries.iter().enumerate() {
        match entry {
            Value::String(url) if is_url(url) => {}
            Value::Object(_) => {}
            other => {
                problems.push(format!("credential.@context[{i}]"), format!("must be a URL or an object, not {other}"))
            }
        }
    }
    let version = match entries.first().and_then(|c| c.as_str()) {
        Some(contexts::VC_V2) => Some(VcVersion::V2),
        Some(contexts::VC_V1) => Some(VcVersion::V1),
        _ => {
            problems.push(
                "credential.@context",
                format!("must start with {} (or, for VC 1.1, {})", contexts::VC_V2, contexts::VC_V1),
            );
            None
        }
    };
    let urls: Vec<&str> = entries.iter().filter_map(|c| c.as_str()).collect();
    if urls.contains(&contexts::VC_V2) && urls.contains(&contexts::VC_V1) {
        problems.push("credential.@context", "must not hold both the VC 2.0 and the VC 1.1 context");
    }
    version
}

/// `relatedResource`: objects, each with a URL `id` (unique among them) and a
/// well-formed `digestSRI` or `digestMultibase`. zegel does not fetch the
/// resources at issue time, so it checks the digests' form, not their value.
fn check_related_resources(value: Option<&Value>, problems: &mut ValidationErrors) {
    let Some(value) = value else { return };
    let many = value.is_array();
    let mut seen: Vec<&str> = Vec::new();
    for (i, item) in one_or_many(value).into_iter().enumerate() {
        let field =
            if many { format!("credential.relatedResource[{i}]") } else { "credential.relatedResource".to_owned() };
        let Value::Object(resource) = item else {
            problems.push(field, format!("must be an object with an id and a digest, not {}", kind(item)));
            continue;
        };
        match resource.get("id") {
            None => problems.push(format!("{field}.id"), "is required: the resource's URL"),
            Some(id) => {
                if check_url(&format!("{field}.id"), id, problems)
                    && let Some(id) = id.as_str()
                {
                    if seen.contains(&id) {
                        problems
                            .push(format!("{field}.id"), format!("{id} is listed twice; each related resource once"));
                    }
                    seen.push(id);
                }
            }
        }
        let sri = resource.get("digestSRI");
        let multibase = resource.get("digestMultibase");
        if sri.is_none() && multibase.is_none() {
            problems.push(field.clone(), "must have a digestSRI or a digestMultibase");
        }
        if let Some(sri) = sri
            && let Err(why) = check_sri(sri)
        {
            problems.push(format!("{field}.digestSRI"), why);
        }
        if let Some(multibase) = multibase
            && let Err(why) = check_digest_multibase(multibase)
        {
            problems.push(format!("{field}.digestMultibase"), why);
        }
    }
}

/// Subresource Integrity: `sha256-`, `sha384-` or `sha512-` and the digest
/// in base64 (several, separated by spaces, are allowed).
fn check_sri(value: &Value) -> Result<(), String> {
    let text = value.as_str().ok_or_else(|| format!("must be a string, not {}", kind(value)))?;
    for expression in text.split_ascii_whitespace() {
        let (algorithm, digest) =
            expression.split_once('-').ok_or_else(|| format!("{expression} is not <algorithm>-<base64 digest>"))?;
        let length = match algorithm {
            "sha256" => 32,
            "sha384" => 48,
            "sha512" => 64,
            other => return Err(format!("{other} is not an SRI hash algorithm (sha256, sha384, sha512)")),
        };
        let digest = digest.split('?').next().unwrap_or_default();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(digest)
            .map_err(|_| format!("the {algorithm} digest {digest} is not base64"))?;
        if bytes.len() != length {
            return Err(format!("the {algorithm} digest is {} bytes, not {length}", bytes.len()));
        }
    }
    if text.trim().is_empty() {
        return Err("must not be empty".into());
    }
    Ok(())
}

/// A multibase digest: base64url (`u`) or base58btc (`z`) of a SHA-2 digest
/// (32, 48 or 64 bytes) or of a multihash of one.
fn check_digest_multibase(value: &Value) -> Result<(), String> {
    let text = value.as_str().ok_or_else(|| format!("must be a string, not {}", kind(value)))?;
    let bytes = if let Some(rest) = text.strip_prefix('u') {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(rest)
            .map_err(|_| "is not multibase base64url".to_owned())?
    } else if let Some(rest) = text.strip_prefix('z') {
        bs58::decode(rest).into_vec().map_err(|_| "is not multibase base58btc".to_owned())?
    } else {
        return Err("must be multibase: u (base64url) or z (base58btc)".into());
    };
    let plain = matches!(bytes.len(), 32 | 48 | 64);
    // Multihash: sha2-256 0x12, sha2-384 0x20, sha2-512 0x13, then the length.
    let multihash = matches!(bytes.as_slice(), [0x12, 32, rest @ ..] if rest.len() == 32)
        || matches!(bytes.as_slice(), [0x20, 48, rest @ ..] if rest.len() == 48)
        || matches!(bytes.as_slice(), [0x13, 64, rest @ ..] if rest.len() == 64);
    if plain || multihash { Ok(()) } else { Err(format!("decodes to {} bytes, which is no SHA-2 digest", bytes.len())) }
}

/// Records a problem unless `value` is a single string that is an absolute
/// URL (IRI); returns whether it is.
fn check_url(field: &str, value: &Value, problems: &mut ValidationErrors) -> bool {
    match value {
        Value::String(url) if is_url(url) => true,
        Value::String(url) => {
            problems
                .push(field, format!("must be a URL (an absolute IRI such as https://…, did:…, urn:…), not {url:?}"));
            false
        }
        other => {
            problems.push(field, format!("must be a single URL, not {}", kind(other)));
            false
        }
    }
}

/// An absolute IRI (RFC 3987) with a scheme.
pub fn is_url(text: &str) -> bool {
    oxiri::Iri::parse(text).is_ok()
}

/// An XML Schema dateTimeStamp (a date-time with a time zone).
fn date_time(value: &Value) -> Option<DateTime<FixedOffset>> {
    let text = value.as_str()?;
    // RFC 3339 also allows a space or a lower-case t/z; XML Schema does not.
    if text.contains(' ') || text.contains('t') || text.ends_with('z') {
        return None;
    }
    DateTime::parse_from_rfc3339(text).ok()
}

fn one_or_many(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value.map(one_or_many).unwrap_or_default().into_iter().filter_map(Value::as_str).map(str::to_owned).collect()
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "true or false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The document to sign: the credential with `entries` added to its
/// `credentialStatus` (kept as submitted, made a list when there are
/// several) and, for VC 1.1, the data-integrity context appended to
/// `@context` (unless it is there already) and `issuanceDate` (which VC 1.1
/// requires) set to `issued_at` when it has none.
pub fn unsigned_document(
    request: &IssueRequest,
    entries: &[Value],
    issued_at: &str,
) -> Result<Vec<u8>, serde_json::Error> {
    let mut credential = RawObject::parse(&request.credential.to_vec())?;
    if request.version == VcVersion::V1 && credential.get("issuanceDate").is_none() {
        credential.set("issuanceDate", RawValue::from_string(Value::String(issued_at.to_owned()).to_string())?);
    }
    if request.version == VcVersion::V1 {
        let mut context = match credential.value("@context") {
            Some(Value::Array(items)) => items,
            Some(single) => vec![single],
            None => Vec::new(),
        };
        if !context.iter().any(|c| c.as_str() == Some(contexts::DATA_INTEGRITY_V2)) {
            context.push(Value::String(contexts::DATA_INTEGRITY_V2.to_owned()));
            credential.set("@context", RawValue::from_string(Value::Array(context).to_string())?);
        }
    }
    if !entries.is_empty() {
        let status = match credential.value("credentialStatus") {
            None | Some(Value::Null) if entries.len() == 1 => entries[0].clone(),
            None | Some(Value::Null) => Value::Array(entries.to_vec()),
            Some(Value::Array(mut existing)) => {
                existing.extend(entries.iter().cloned());
                Value::Array(existing)
            }
            Some(existing) => {
                let mut all = vec![existing];
                all.extend(entries.iter().cloned());
                Value::Array(all)
            }
        };
        credential.set("credentialStatus", RawValue::from_string(status.to_string())?);
    }
    Ok(credential.to_vec())
}

/// Whether a credential of this version can carry a `BitstringStatusListEntry`:
/// VC 2.0 defines the terms; a VC 1.1 credential needs the status context
/// `https://www.w3.org/ns/credentials/status/v1` in its own `@context`
/// (zegel adds only the data-integrity context to VC 1.1 credentials).
pub fn takes_status_entries(request: &IssueRequest) -> bool {
    match request.version {
        VcVersion::V2 => true,
        VcVersion::V1 => one_or_many(&request.credential.value("@context").unwrap_or(Value::Null))
            .iter()
            .any(|c| c.as_str() == Some(STATUS_V1)),
    }
}

/// The context that defines the Bitstring Status List terms for VC 1.1.
pub const STATUS_V1: &str = "https://www.w3.org/ns/credentials/status/v1";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ISSUER: &str = "did:key:z6Mkr5UhuaVny5R6s3S1KKtPDoJ8HsPqCRxBfVtq1NoiaFHL";

    fn fields(credential: Value) -> Vec<String> {
        let body = json!({"credential": credential}).to_string();
        match parse_request(body.as_bytes(), ISSUER) {
            Ok(_) => Vec::new(),
            Err(Some(problems)) => problems.iter().map(|p| p.field.clone()).collect(),
            Err(None) => vec!["<not an object>".into()],
        }
    }

    fn valid() -> Value {
        json!({
            "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
            "type": ["VerifiableCredential"],
            "issuer": ISSUER,
            "credentialSubject": {"id": "did:example:alice", "name": "Alice"}
        })
    }

    fn with(changes: &[(&str, Value)]) -> Value {
        let mut credential = valid();
        for (name, value) in changes {
            if value.is_null() {
                credential.as_object_mut().unwrap().remove(*name);
            } else {
                credential[*name] = value.clone();
            }
        }
        credential
    }

    #[test]
    fn a_valid_credential_passes_and_keeps_its_members_as_sent() {
        assert!(fields(valid()).is_empty());
        let body = br#"{"options": {"unknown": 1}, "credential": {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": "VerifiableCredential", "issuer": {"id": "did:key:z6Mkr5UhuaVny5R6s3S1KKtPDoJ8HsPqCRxBfVtq1NoiaFHL", "name": "X"}, "credentialSubject": {"n": 5.0}}}"#;
        let request = parse_request(body, ISSUER).unwrap();
        assert_eq!(request.version, VcVersion::V2);
        assert_eq!(request.options.status_purposes, [StatusPurpose::Revocation]);
        let entry = json!({"type": "BitstringStatusListEntry"});
        let document =
            String::from_utf8(unsigned_document(&request, &[entry], "2026-01-01T00:00:00Z").unwrap()).unwrap();
        assert!(document.contains(r#""credentialSubject":{"n": 5.0}"#), "{document}");
        assert!(document.ends_with(r#""credentialStatus":{"type":"BitstringStatusListEntry"}}"#), "{document}");
    }

    #[test]
    fn every_structural_problem_is_named() {
        let cases: Vec<(Value, &str)> = vec![
            (with(&[("@context", Value::Null)]), "credential.@context"),
            (with(&[("@context", json!(["https://example.org/context"]))]), "credential.@context"),
            (with(&[("@context", json!(["https://www.w3.org/ns/credentials/v2", 5]))]), "credential.@context[1]"),
            (with(&[("type", Value::Null)]), "credential.type"),
            (with(&[("type", json!(["Other"]))]), "credential.type"),
            (with(&[("type", json!(["VerifiableCredential", "OpenBadgeCredential"]))]), "credential.type"),
            (with(&[("issuer", Value::Null)]), "credential.issuer"),
            (with(&[("issuer", json!("did:key:z6MkOther"))]), "credential.issuer"),
            (with(&[("issuer", json!("fake-issuer"))]), "credential.issuer"),
            (with(&[("issuer", json!({"name": "x"}))]), "credential.issuer.id"),
            (with(&[("credentialSubject", Value::Null)]), "credential.credentialSubject"),
            (with(&[("credentialSubject", json!({}))]), "credential.credentialSubject"),
            (with(&[("credentialSubject", json!([{"id": "did:example:a"}, {}]))]), "credential.credentialSubject[1]"),
            (with(&[("credentialSubject", json!({"id": ["did:a:1", "did:a:2"]}))]), "credential.credentialSubject.id"),
            (
                json!({"id": null, "@context": valid()["@context"], "type": "VerifiableCredential", "issuer": ISSUER, "credentialSubject": {"id": "did:example:a"}}),
                "credential.id",
            ),
            (with(&[("id", json!("not a url"))]), "credential.id"),
            (with(&[("validFrom", json!("2026-01-01"))]), "credential.validFrom"),
            (
                with(&[("validFrom", json!("2026-01-02T00:00:00Z")), ("validUntil", json!("2026-01-01T00:00:00Z"))]),
                "credential.validUntil",
            ),
            (with(&[("credentialStatus", json!({"id": "https://example.org/s"}))]), "credential.credentialStatus.type"),
            (
                with(&[("termsOfUse", json!([{"type": "Policy"}, {"id": "https://x.example"}]))]),
                "credential.termsOfUse[1].type",
            ),
            (with(&[("evidence", json!({"type": 2}))]), "credential.evidence.type"),
            (with(&[("refreshService", json!("https://x.example"))]), "credential.refreshService"),
            (with(&[("credentialSchema", json!({"type": "JsonSchema"}))]), "credential.credentialSchema.id"),
            (
                with(&[("credentialSchema", json!({"type": "JsonSchema", "id": "schema"}))]),
                "credential.credentialSchema.id",
            ),
            (with(&[("relatedResource", json!(["https://x.example"]))]), "credential.relatedResource[0]"),
            (
                with(&[(
                    "relatedResource",
                    json!([{"digestMultibase": "uWZVc7WaX1h4D8rJVb-vlMIqxaEKEb1tYbX8fet7JJzQ"}]),
                )]),
                "credential.relatedResource[0].id",
            ),
            (with(&[("relatedResource", json!([{"id": "https://x.example"}]))]), "credential.relatedResource[0]"),
            (
                with(&[(
                    "relatedResource",
                    json!([{"id": "https://x.example", "digestMultibase": "uM4RgWQc3RUDtjJCSgTJt"}]),
                )]),
                "credential.relatedResource[0].digestMultibase",
            ),
            (
                with(&[(
                    "relatedResource",
                    json!([{"id": "https://x.example", "digestMultibase": "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"}]),
                )]),
                "credential.relatedResource[0].digestMultibase",
            ),
            (
                with(&[(
                    "relatedResource",
                    json!([{"id": "https://x.example", "digestSRI": "sha384-_rCVIV7fSXXTNIvpiq26jRDyj8JG8TDjij-tD0ewLk4JpnXEz6a5AeeY_1qQ0d0P"}]),
                )]),
                "credential.relatedResource[0].digestSRI",
            ),
            (with(&[("proof", json!({"proofValue": "z"}))]), "credential.proof.type"),
        ];
        for (credential, field) in cases {
            let found = fields(credential.clone());
            assert!(found.iter().any(|f| f == field), "{field} not named for {credential}: {found:?}");
        }
        let twice = json!([
            {"id": "https://x.example", "digestSRI": "sha384-NSOcNpmdIVUxIJGvGUoe22FjTWrXiaXlsZ8q6912LdnR3KraQO2n75Ica4wK4Qeg"},
            {"id": "https://x.example", "digestMultibase": "uJKGMkOmFbVJhEfKTduMC2XCyvRAYLjOVmZWwIH1wQ7k"}
        ]);
        assert_eq!(fields(with(&[("relatedResource", twice.clone())])), ["credential.relatedResource[1].id"]);
        let good = json!([twice[0].clone(), {"id": "https://y.example", "mediaType": "text/html", "digestMultibase": "uJKGMkOmFbVJhEfKTduMC2XCyvRAYLjOVmZWwIH1wQ7k"}]);
        assert!(fields(with(&[("relatedResource", good)])).is_empty());
    }

    #[test]
    fn vc_1_1_gets_the_data_integrity_context_and_an_issuance_date() {
        let v1 = json!({
            "@context": ["https://www.w3.org/2018/credentials/v1"],
            "type": ["VerifiableCredential"],
            "issuer": ISSUER,
            "credentialSubject": {"id": "did:example:alice"}
        });
        assert!(fields(v1.clone()).is_empty());
        let body = json!({"credential": v1}).to_string();
        let request = parse_request(body.as_bytes(), ISSUER).unwrap();
        assert_eq!(request.version, VcVersion::V1);
        assert!(!takes_status_entries(&request));
        let unsigned = unsigned_document(&request, &[], "2026-01-01T00:00:00Z").unwrap();
        let document: Value = serde_json::from_slice(&unsigned).unwrap();
        assert_eq!(
            document["@context"],
            json!(["https://www.w3.org/2018/credentials/v1", "https://w3id.org/security/data-integrity/v2"])
        );
        assert_eq!(document["issuanceDate"], "2026-01-01T00:00:00Z");
        assert!(document.get("credentialStatus").is_none());
        let mut dated = json!({"credential": document});
        dated["credential"]["issuanceDate"] = json!("2025-06-01T00:00:00Z");
        dated["credential"]["expirationDate"] = json!("2025-01-01T00:00:00Z");
        let problems = parse_request(dated.to_string().as_bytes(), ISSUER).unwrap_err().unwrap();
        assert_eq!(problems.errors()[0].field, "credential.expirationDate");
    }

    #[test]
    fn options_are_read_and_unknown_ones_ignored() {
        let parse = |options: Value| {
            let body = json!({"credential": valid(), "options": options}).to_string();
            parse_request(body.as_bytes(), ISSUER)
        };
        let request = parse(json!({"credentialId": "urn:uuid:1", "statusPurpose": ["revocation", "suspension"], "type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022", "mandatoryPointers": ["/issuer"]})).unwrap();
        assert_eq!(request.options.credential_id.as_deref(), Some("urn:uuid:1"));
        assert_eq!(request.options.status_purposes, [StatusPurpose::Revocation, StatusPurpose::Suspension]);
        assert!(parse(json!({"statusPurpose": []})).unwrap().options.status_purposes.is_empty());
        let problems = parse(json!({"cryptosuite": "ecdsa-rdfc-2019", "statusPurpose": "refresh", "credentialId": 5}))
            .unwrap_err()
            .unwrap();
        let named: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(named, ["options.credentialId", "options.cryptosuite", "options.statusPurpose"]);
        assert!(parse_request(b"[1]", ISSUER).unwrap_err().is_none());
    }
}

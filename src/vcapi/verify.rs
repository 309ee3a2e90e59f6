//! `POST /credentials/verify` and `POST /presentations/verify`, the pure
//! part: reading the requests and turning zegel's verification reports into
//! the VC-API's answer (`{verified, checks, warnings, errors}`), with the
//! HTTP status the interoperability suites look at: 200 only when verified,
//! 400 when the request or the document's structure is wrong, 422 when it
//! is well formed but does not verify (or cannot be checked).

use crate::json::RawObject;
use crate::verification::{CheckKind, InvalidCode, Outcome, PresentationReport, Report, Verdict};
use base64::Engine as _;
use serde::Serialize;
use serde_json::{Map, Value};

/// What a verify request asks for besides the document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyRequestOptions {
    /// Check the status (`options.checks` absent, or naming
    /// `credentialStatus` or `status`).
    pub check_status: bool,
    /// The challenge and domain a presentation's proof must carry.
    pub challenge: Option<String>,
    pub domain: Option<String>,
}

/// The document to verify, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    /// A credential or presentation with embedded proofs: its JSON text.
    Json(Vec<u8>),
    /// A VC-JWT from an `EnvelopedVerifiableCredential` (`data:application/vc+jwt,…`).
    Jwt(String),
}

impl Document {
    pub fn bytes(&self) -> &[u8] {
        match self {
            Self::Json(bytes) => bytes,
            Self::Jwt(token) => token.as_bytes(),
        }
    }
}

/// A verify request that could not be read: why (answered 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestError(pub String);

/// Reads `{"<member>": {…}, "options": {…}}`. `also` is another member name
/// that may carry the document (`presentation`, for proofless presentations).
pub fn parse_request(
    body: &[u8],
    member: &str,
    also: Option<&str>,
) -> Result<(Document, VerifyRequestOptions), RequestError> {
    let mut envelope =
        RawObject::parse(body).map_err(|e| RequestError(format!("the body must be a JSON object: {e}")))?;
    let options = match envelope.value("options") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(options)) => options,
        Some(_) => return Err(RequestError("options must be an object".into())),
    };
    let raw = envelope
        .remove(member)
        .or_else(|| also.and_then(|name| envelope.remove(name)))
        .ok_or_else(|| RequestError(format!("the body has no {member}")))?;
    let text = raw.get().trim();
    let document = if text.starts_with('{') {
        match enveloped_jwt(text) {
            Some(token) => Document::Jwt(token),
            None => Document::Json(text.as_bytes().to_vec()),
        }
    } else {
        let what = match serde_json::from_str::<Value>(text) {
            Ok(Value::String(_)) => "a string",
            Ok(Value::Array(_)) => "a list",
            _ => "not an object",
        };
        return Err(RequestError(format!("{member} must be a JSON object, not {what}")));
    };
    let checks: Option<Vec<&str>> = match options.get("checks") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(items.iter().filter_map(Value::as_str).collect()),
        Some(Value::String(one)) => Some(vec![one.as_str()]),
        Some(_) => return Err(RequestError("options.checks must be a list of check names".into())),
    };
    let text_option = |name: &str| -> Result<Option<String>, RequestError> {
        match options.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(RequestError(format!("options.{name} must be a string"))),
        }
    };
    Ok((
        document,
        VerifyRequestOptions {
            check_status: checks.is_none_or(|c| c.iter().any(|c| matches!(*c, "credentialStatus" | "status"))),
            challenge: text_option("challenge")?,
            domain: text_option("domain")?,
        },
    ))
}

/// The VC-JWT an `EnvelopedVerifiableCredential` carries in its `data:` id.
fn enveloped_jwt(text: &str) -> Option<String> {
    let value: Value = serde_json::from_str(text).ok()?;
    let types: Vec<&str> = match value.get("type")? {
        Value::String(t) => vec![t.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    if !types.contains(&"EnvelopedVerifiableCredential") {
        return None;
    }
    let id = value.get("id")?.as_str()?;
    let (media_type, data) = id.strip_prefix("data:")?.split_once(',')?;
    let media_type = media_type.split(';').next().unwrap_or_default();
    if !matches!(media_type, "application/vc+jwt" | "application/jwt" | "application/vc+sd-jwt") {
        return None;
    }
    if id.contains(";base64,") {
        let bytes = base64::engine::general_purpose::STANDARD.decode(data).ok()?;
        return String::from_utf8(bytes).ok();
    }
    Some(data.to_owned())
}

/// The VC-API's verification result, with zegel's error envelope
/// (`error`, `message`) when it is not verified.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationResult {
    pub verified: bool,
    /// The checks that were carried out and passed (VC-API names).
    pub checks: Vec<&'static str>,
    pub warnings: Vec<String>,
    /// Empty when verified; otherwise every failed check and everything
    /// that could not be checked.
    pub errors: Vec<String>,
    /// Presentations: the result for each credential they carry, in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_results: Option<Vec<VerificationResult>>,
    /// zegel's own report: the verdict and every check with its message.
    pub report: Report,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The VC-API name of a check.
fn check_name(kind: CheckKind) -> &'static str {
    match kind {
        CheckKind::Format => "format",
        CheckKind::Context => "@context",
        CheckKind::Type => "type",
        CheckKind::Terms => "jsonLdSafeMode",
        CheckKind::Schema => "credentialSchema",
        CheckKind::Issuer => "issuer",
        CheckKind::Proof => "proof",
        CheckKind::ValidFrom => "validFrom",
        CheckKind::ValidUntil => "validUntil",
        CheckKind::Status => "credentialStatus",
        CheckKind::Endorsements => "endorsement",
        CheckKind::Holder => "holder",
        CheckKind::Credentials => "verifiableCredential",
    }
}

/// The structural checks: their failure means the document is not what
/// the request says it is (400), not that it fails verification (422).
const STRUCTURAL: &[CheckKind] = &[CheckKind::Format, CheckKind::Context, CheckKind::Type];

impl VerificationResult {
    /// The result of a credential's (or a presentation's own) report.
    pub fn from_report(report: Report) -> Self {
        let verified = report.verdict == Verdict::Valid;
        let checks = report
            .checks
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Passed | Outcome::Warning))
            .map(|c| check_name(c.check))
            .collect();
        let mut warnings: Vec<String> = report
            .checks
            .iter()
            .filter(|c| c.outcome == Outcome::Warning)
            .map(|c| format!("{}: {}", check_name(c.check), c.message))
            .collect();
        warnings.extend(report.warnings.iter().cloned());
        let errors: Vec<String> = report
            .checks
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Failed | Outcome::Indeterminate))
            .map(|c| {
                let prefix = if c.outcome == Outcome::Indeterminate { "could not check " } else { "" };
                format!("{prefix}{}: {}", check_name(c.check), c.message)
            })
            .collect();
        let (error, message) = match &report.verdict {
            Verdict::Valid => (None, None),
            Verdict::Invalid { reason, .. } => (Some("not_verified"), Some(format!("not verified: {reason}"))),
            Verdict::Indeterminate { reason } => {
                (Some("not_verified"), Some(format!("could not be verified: {reason}")))
            }
        };
        Self { verified, checks, warnings, errors, credential_results: None, report, error, message }
    }

    /// The result of a presentation: its own, with one per credential.
    pub fn from_presentation(report: PresentationReport) -> Self {
        let verified = report.is_valid();
        let mut result = Self::from_report(report.presentation);
        let credentials: Vec<Self> = report.credentials.into_iter().map(Self::from_report).collect();
        for (i, credential) in credentials.iter().enumerate() {
            result.errors.extend(credential.errors.iter().map(|e| format!("verifiableCredential[{i}]: {e}")));
        }
        result.verified = verified;
        result.credential_results = Some(credentials);
        result
    }

    /// A request that could not be read at all.
    pub fn unreadable(reason: &str) -> Self {
        let report = Report::malformed(reason);
        let mut result = Self::from_report(report);
        result.error = Some("malformed_request");
        result.message = Some(reason.to_owned());
        result
    }

    /// The HTTP status: 200 verified; 400 for a malformed request or a
    /// document that is structurally not what it should be; 422 otherwise.
    pub fn status(&self) -> u16 {
        if self.verified {
            return 200;
        }
        let structural = self.report.checks.iter().any(|c| {
            c.outcome == Outcome::Failed
                && (STRUCTURAL.contains(&c.check)
                    || (c.check == CheckKind::Holder && c.code == Some(InvalidCode::Malformed)))
        });
        if structural { 400 } else { 422 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_read_with_their_options() {
        let (document, options) = parse_request(
            br#"{"verifiableCredential": {"a": 5.0}, "options": {"checks": ["proof"], "x": 1}}"#,
            "verifiableCredential",
            None,
        )
        .unwrap();
        assert_eq!(document, Document::Json(br#"{"a": 5.0}"#.to_vec()));
        assert!(!options.check_status);
        let (_, options) = parse_request(br#"{"verifiableCredential": {}}"#, "verifiableCredential", None).unwrap();
        assert!(options.check_status);
        let (_, options) = parse_request(
            br#"{"presentation": {}, "options": {"challenge": "c", "domain": "d", "checks": ["proof", "credentialStatus"]}}"#,
            "verifiablePresentation",
            Some("presentation"),
        )
        .unwrap();
        assert_eq!(
            (options.challenge.as_deref(), options.domain.as_deref(), options.check_status),
            (Some("c"), Some("d"), true)
        );
        for bad in [
            &br#"{"verifiableCredential": "eyJ.eyJ.sig"}"#[..],
            b"{}",
            b"[]",
            br#"{"verifiableCredential": {}, "options": 1}"#,
        ] {
            assert!(parse_request(bad, "verifiableCredential", None).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let enveloped = br#"{"verifiableCredential": {"@context": "https://www.w3.org/ns/credentials/v2", "type": "EnvelopedVerifiableCredential", "id": "data:application/vc+jwt,eyJh.eyJi.c2ln"}}"#;
        let (document, _) = parse_request(enveloped, "verifiableCredential", None).unwrap();
        assert_eq!(document, Document::Jwt("eyJh.eyJi.c2ln".into()));
    }

    #[test]
    fn only_a_verified_result_is_200_and_structure_is_400() {
        let unreadable = VerificationResult::unreadable("no");
        assert_eq!((unreadable.verified, unreadable.status()), (false, 400));
        assert_eq!(unreadable.errors, ["format: no"]);
    }
}

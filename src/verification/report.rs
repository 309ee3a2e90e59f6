//! The verification report: a verdict anyone can act on, and the individual
//! checks behind it.

use serde::Serialize;
use std::fmt;

/// The answer to "can I trust this credential?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Every check that applies passed.
    Valid,
    /// A check failed: the credential must not be trusted.
    Invalid { code: InvalidCode, reason: String },
    /// Something needed for the answer was not available (an unknown key, an
    /// unreachable status list, an unsupported proof type).
    #[serde(rename = "could_not_check")]
    Indeterminate { reason: String },
}

impl Verdict {
    /// Process exit code for the CLI: 0 valid, 1 invalid, 2 could not check.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Valid => 0,
            Self::Invalid { .. } => 1,
            Self::Indeterminate { .. } => 2,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Valid => f.write_str("valid"),
            Self::Invalid { reason, .. } => write!(f, "invalid: {reason}"),
            Self::Indeterminate { reason } => write!(f, "could not check: {reason}"),
        }
    }
}

/// Why a credential is invalid, for programs (the `reason` is for people).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InvalidCode {
    Malformed,
    Context,
    Type,
    Schema,
    Issuer,
    Proof,
    NotYetValid,
    Expired,
    Revoked,
    Suspended,
    /// A credential a presentation carries is invalid.
    Credential,
}

/// What was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// The input is a JSON credential or a compact JWT.
    Format,
    /// `@context` starts with VC 2.0 (and the OB 3.0 context for badges).
    Context,
    /// `type` names a verifiable credential (an Open Badge when required).
    Type,
    /// JSON-LD safe mode: every term is defined, nothing would be dropped.
    Terms,
    /// The 1EdTech JSON schema.
    Schema,
    /// The signing key belongs to the issuer.
    Issuer,
    /// The signature (Data Integrity proof or VC-JWT).
    Proof,
    /// `validFrom` has passed.
    ValidFrom,
    /// `validUntil` has not passed.
    ValidUntil,
    /// Revocation and suspension status.
    Status,
    /// Endorsements embedded in the credential.
    Endorsements,
    /// A presentation's holder signed it.
    Holder,
    /// The credentials a presentation carries.
    Credentials,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    Failed,
    /// The check could not be carried out.
    #[serde(rename = "could_not_check")]
    Indeterminate,
    /// Passed, with a caveat the reader should know (see the message).
    Warning,
    /// Does not apply to this credential.
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub check: CheckKind,
    pub outcome: Outcome,
    pub message: String,
    /// For failures: the verdict code this failure implies.
    #[serde(skip)]
    pub code: Option<InvalidCode>,
}

/// The credential's main facts, as claimed (read them together with the verdict).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub achievement_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub awarded_date: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// A JSON(-LD) credential with embedded proofs.
    JsonLd,
    /// A compact JWS (VC-JWT).
    VcJwt,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub verdict: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<Summary>,
    pub checks: Vec<Check>,
    pub warnings: Vec<String>,
}

impl Report {
    /// The verdict follows from the checks: any failure makes the credential
    /// invalid; otherwise anything unchecked makes the answer indeterminate.
    pub(crate) fn conclude(
        format: Option<Format>,
        credential: Option<Summary>,
        checks: Vec<Check>,
        warnings: Vec<String>,
    ) -> Self {
        let failed: Vec<&Check> = checks.iter().filter(|c| c.outcome == Outcome::Failed).collect();
        let verdict = if let Some(first) = failed.first() {
            Verdict::Invalid {
                code: first.code.unwrap_or(InvalidCode::Malformed),
                reason: failed.iter().map(|c| c.message.as_str()).collect::<Vec<_>>().join("; "),
            }
        } else {
            let open: Vec<&str> =
                checks.iter().filter(|c| c.outcome == Outcome::Indeterminate).map(|c| c.message.as_str()).collect();
            if open.is_empty() { Verdict::Valid } else { Verdict::Indeterminate { reason: open.join("; ") } }
        };
        Self { verdict, format, credential, checks, warnings }
    }

    /// The report for input that is no credential at all.
    pub fn malformed(reason: impl Into<String>) -> Self {
        Self::conclude(None, None, vec![Check::failed(CheckKind::Format, InvalidCode::Malformed, reason)], Vec::new())
    }

    /// The report on input that never reached the verifier (an image that
    /// carries no credential, a form without one): malformed, saying why.
    pub fn unreadable(reason: &str) -> Self {
        Self::malformed(reason)
    }

    pub fn check(&self, kind: CheckKind) -> Option<&Check> {
        self.checks.iter().find(|c| c.check == kind)
    }

    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

impl Check {
    pub(crate) fn passed(check: CheckKind, message: impl Into<String>) -> Self {
        Self { check, outcome: Outcome::Passed, message: message.into(), code: None }
    }
    pub(crate) fn failed(check: CheckKind, code: InvalidCode, message: impl Into<String>) -> Self {
        Self { check, outcome: Outcome::Failed, message: message.into(), code: Some(code) }
    }
    pub(crate) fn indeterminate(check: CheckKind, message: impl Into<String>) -> Self {
        Self { check, outcome: Outcome::Indeterminate, message: message.into(), code: None }
    }
    pub(crate) fn warning(check: CheckKind, message: impl Into<String>) -> Self {
        Self { check, outcome: Outcome::Warning, message: message.into(), code: None }
    }
    pub(crate) fn skipped(check: CheckKind, message: impl Into<String>) -> Self {
        Self { check, outcome: Outcome::Skipped, message: message.into(), code: None }
    }
}

//! Validation against the bundled 1EdTech Open Badges 3.0 JSON schemas
//! (plain-JSON binding, JSON Schema draft 2019-09).
//!
//! See: <https://www.imsglobal.org/spec/ob/v3p0/#json-schema> and
//! `schemas/PROVENANCE.md`. The files are 1EdTech's own build; their `$id` is
//! a build-time name, so each is registered under the purl URL credentials
//! name in `credentialSchema[].id`. All `$ref`s are internal and the
//! validator is built offline: nothing is ever fetched.
//!
//! `format` is asserted (draft 2019-09 leaves it to the implementation):
//! `validFrom: "yesterday"` or a date-time without a time zone is a
//! violation, as OB's `DateTimeZ` means.
//!
//! Compile once with [`Schemas::new`] and share it (it is `Send + Sync`;
//! wrap it in an `Arc`).

use jsonschema::error::ValidationErrorKind;
use jsonschema::{Draft, ValidationError, Validator};
use serde_json::Value;
use std::fmt;

/// The schemas zegel bundles and can validate against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaId {
    AchievementCredential,
    EndorsementCredential,
    Profile,
}

impl SchemaId {
    pub const ALL: [SchemaId; 3] =
        [SchemaId::AchievementCredential, SchemaId::EndorsementCredential, SchemaId::Profile];

    /// The official URL, as a credential's `credentialSchema[].id` carries it.
    pub fn url(self) -> &'static str {
        match self {
            SchemaId::AchievementCredential => {
                "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
            }
            SchemaId::EndorsementCredential => {
                "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_endorsementcredential_schema.json"
            }
            SchemaId::Profile => "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_profile_schema.json",
        }
    }

    /// The schema a `credentialSchema[].id` names, if zegel bundles it.
    /// The JSON-LD-compaction variants (`…/schema/json-ld/…`) are not
    /// bundled and give `None`.
    pub fn from_url(url: &str) -> Option<SchemaId> {
        Self::ALL.into_iter().find(|id| id.url() == url)
    }

    fn source(self) -> &'static str {
        match self {
            SchemaId::AchievementCredential => {
                include_str!("schemas/ob_v3p0_achievementcredential_schema.json")
            }
            SchemaId::EndorsementCredential => {
                include_str!("schemas/ob_v3p0_endorsementcredential_schema.json")
            }
            SchemaId::Profile => include_str!("schemas/ob_v3p0_profile_schema.json"),
        }
    }
}

impl fmt::Display for SchemaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SchemaId::AchievementCredential => "AchievementCredential",
            SchemaId::EndorsementCredential => "EndorsementCredential",
            SchemaId::Profile => "Profile",
        })
    }
}

/// One way a document breaks a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaViolation {
    /// JSON Pointer to the offending value (`/credentialSubject/identifier/0/type`);
    /// empty for the document itself.
    pub instance_path: String,
    pub message: String,
}

impl fmt::Display for SchemaViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.instance_path.is_empty() {
            write!(f, "the document: {}", self.message)
        } else {
            write!(f, "{}: {}", self.instance_path, self.message)
        }
    }
}

/// The bundled schemas, compiled.
pub struct Schemas {
    achievement_credential: Validator,
    endorsement_credential: Validator,
    profile: Validator,
}

impl fmt::Debug for Schemas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schemas").finish_non_exhaustive()
    }
}

impl Default for Schemas {
    fn default() -> Self {
        Self::new()
    }
}

impl Schemas {
    /// Compiles every bundled schema. Costs a few milliseconds: do it once.
    pub fn new() -> Self {
        Self {
            achievement_credential: compile(SchemaId::AchievementCredential),
            endorsement_credential: compile(SchemaId::EndorsementCredential),
            profile: compile(SchemaId::Profile),
        }
    }

    /// Checks `doc` against the schema `which`, returning every violation.
    pub fn validate(&self, which: SchemaId, doc: &Value) -> Result<(), Vec<SchemaViolation>> {
        let validator = self.validator(which);
        // The fast path allocates nothing; errors are only collected for
        // documents that fail.
        if validator.is_valid(doc) {
            return Ok(());
        }
        let violations: Vec<SchemaViolation> = validator.iter_errors(doc).map(|e| violation(&e)).collect();
        if violations.is_empty() { Ok(()) } else { Err(violations) }
    }

    /// Like [`Self::validate`], but a `credentialStatus` array (VC 2.0 allows
    /// several entries; zegel writes a revocation and a suspension entry) is
    /// checked one entry at a time in the place of the single object the
    /// OB 3.0 schema describes (`credentialStatus` 0..1, which 1EdTech issue
    /// #623 proposes to lift in OB 3.1). Everything else is checked as is.
    pub fn validate_credential(&self, which: SchemaId, doc: &Value) -> Result<(), Vec<SchemaViolation>> {
        let entries = match doc.get("credentialStatus") {
            Some(Value::Array(entries)) if !entries.is_empty() => entries,
            _ => return self.validate(which, doc),
        };
        let mut one = doc.clone();
        let mut violations = Vec::new();
        for entry in entries {
            one["credentialStatus"] = entry.clone();
            if let Err(found) = self.validate(which, &one) {
                violations.extend(found);
            }
        }
        violations.dedup();
        if violations.is_empty() { Ok(()) } else { Err(violations) }
    }

    fn validator(&self, which: SchemaId) -> &Validator {
        match which {
            SchemaId::AchievementCredential => &self.achievement_credential,
            SchemaId::EndorsementCredential => &self.endorsement_credential,
            SchemaId::Profile => &self.profile,
        }
    }
}

fn compile(which: SchemaId) -> Validator {
    // The bundled files are fixed at build time and a unit test compiles
    // each one, so failure here is a packaging bug, not a runtime condition.
    let mut schema: Value = serde_json::from_str(which.source()).expect("bundled schema is valid JSON");
    if let Some(object) = schema.as_object_mut() {
        object.insert("$id".to_owned(), Value::String(which.url().to_owned()));
    }
    jsonschema::options()
        .with_draft(Draft::Draft201909)
        .should_validate_formats(true)
        .offline()
        .build(&schema)
        .unwrap_or_else(|e| panic!("bundled {which} schema does not compile: {e}"))
}

fn violation(error: &ValidationError<'_>) -> SchemaViolation {
    SchemaViolation { instance_path: error.instance_path().as_str().to_owned(), message: describe(error) }
}

/// A message that names what is wrong without dumping large values (which
/// may hold a learner's data) into logs and error bodies.
fn describe(error: &ValidationError<'_>) -> String {
    match error.kind() {
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            let path = error.instance_path().as_str();
            let forms: Vec<String> = context
                .iter()
                .enumerate()
                .map(|(i, branch)| {
                    let reasons: Vec<String> = branch
                        .iter()
                        .map(|e| {
                            let at = e.instance_path().as_str();
                            let reason = describe(e);
                            match at.strip_prefix(path) {
                                Some("") | None => reason,
                                Some(rest) => format!("{rest}: {reason}"),
                            }
                        })
                        .collect();
                    format!("({}) {}", i + 1, reasons.join("; "))
                })
                .collect();
            format!("{} matches none of the allowed forms: {}", short(error.instance()), forms.join(" "))
        }
        _ => error.masked_with(short(error.instance())).to_string(),
    }
}

/// The value itself when short, else what kind of value it is.
fn short(value: &Value) -> String {
    match value {
        Value::Object(o) => format!("an object with {} member{}", o.len(), if o.len() == 1 { "" } else { "s" }),
        Value::Array(a) => format!("an array of {} item{}", a.len(), if a.len() == 1 { "" } else { "s" }),
        other => {
            let text = other.to_string();
            if text.chars().count() <= 80 {
                text
            } else {
                let cut: String = text.chars().take(60).collect();
                format!("{cut}…\"")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_bundled_schema_compiles_and_accepts_what_it_should() {
        let schemas = Schemas::new();
        let profile = json!({"id": "did:key:z6Mk", "type": ["Profile"], "name": "X"});
        assert_eq!(schemas.validate(SchemaId::Profile, &profile), Ok(()));
        let bad_profile = json!({"id": "did:key:z6Mk", "type": "Profile"});
        let violations = schemas.validate(SchemaId::Profile, &bad_profile).err().unwrap_or_default();
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].instance_path, "/type");
        assert!(schemas.validate(SchemaId::EndorsementCredential, &json!({})).is_err());
    }

    #[test]
    fn compiled_schemas_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Schemas>();
    }

    #[test]
    fn schema_ids_round_trip_through_their_urls() {
        for id in SchemaId::ALL {
            assert_eq!(SchemaId::from_url(id.url()), Some(id));
        }
        assert_eq!(
            SchemaId::from_url(
                "https://purl.imsglobal.org/spec/ob/v3p0/schema/json-ld/ob_v3p0_achievementcredential_schema.json"
            ),
            None
        );
    }

    #[test]
    fn long_values_are_shortened_in_messages() {
        let long = Value::String("x".repeat(200));
        assert!(short(&long).chars().count() < 70);
        assert_eq!(short(&json!({"a": 1})), "an object with 1 member");
        assert_eq!(short(&json!([1, 2])), "an array of 2 items");
    }
}

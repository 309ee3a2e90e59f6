//! The Open Badges 3.0 data model as Rust types, in the "plain JSON" shape the
//! strict 1EdTech JSON schema accepts.
//!
//! See: <https://www.imsglobal.org/spec/ob/v3p0/#data-model> and
//! <https://www.imsglobal.org/spec/ob/v3p0/#serialization>:
//! - every multi-valued property is a JSON array;
//! - `type` is an array, except on `IdentityObject`, `Image`,
//!   `IdentifierEntry`, `CredentialSchema` and `CredentialStatus`, where the
//!   schema wants a string;
//! - `issuer` is an embedded `Profile` object;
//! - images are `{"id", "type": "Image"[, "caption"]}` objects;
//! - absent values and empty arrays are omitted.
//!
//! Fields serialise in declaration order, which is chosen to read well
//! (`@context`, `id`, `type`, `name`, …); with `serde_json`'s
//! `preserve_order` that order survives a round trip through `Value`.
//! `type` values are marker types, so a document built from these types
//! always carries the right ones.

use chrono::{DateTime, Utc};
use serde::de::{self, Deserializer};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Declares a marker type for a fixed `type` value. `array` markers
/// serialise as a JSON array of their values and accept, when read, a string
/// or an array that contains every value; `string` markers serialise as the
/// single string.
macro_rules! type_marker {
    ($(#[$m:meta])* $name:ident, array [$($v:literal),+]) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
        pub struct $name;

        impl $name {
            pub const VALUES: &'static [&'static str] = &[$($v),+];
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                Self::VALUES.serialize(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                let values: Vec<String> = OneOrMany::deserialize(d)?.0;
                match Self::VALUES.iter().find(|v| !values.iter().any(|x| x == *v)) {
                    None => Ok($name),
                    Some(missing) => Err(de::Error::custom(format!("type must include \"{missing}\""))),
                }
            }
        }
    };
    ($(#[$m:meta])* $name:ident, string $v:literal) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
        pub struct $name;

        impl $name {
            pub const VALUE: &'static str = $v;
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(Self::VALUE)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                if s == Self::VALUE {
                    Ok($name)
                } else {
                    Err(de::Error::custom(format!("type must be \"{}\", not \"{s}\"", Self::VALUE)))
                }
            }
        }
    };
}

type_marker!(
    /// `["VerifiableCredential", "OpenBadgeCredential"]`.
    CredentialType, array ["VerifiableCredential", "OpenBadgeCredential"]
);
type_marker!(
    /// `["Profile"]`.
    ProfileType, array ["Profile"]
);
type_marker!(
    /// `["AchievementSubject"]`.
    AchievementSubjectType, array ["AchievementSubject"]
);
type_marker!(
    /// `["Achievement"]`.
    AchievementType, array ["Achievement"]
);
type_marker!(
    /// `["Alignment"]`.
    AlignmentType, array ["Alignment"]
);
type_marker!(
    /// `["ResultDescription"]`.
    ResultDescriptionType, array ["ResultDescription"]
);
type_marker!(
    /// `["Result"]`.
    ResultType, array ["Result"]
);
type_marker!(
    /// `["Evidence"]`.
    EvidenceType, array ["Evidence"]
);
type_marker!(
    /// `"IdentityObject"` (a string, as the schema requires).
    IdentityObjectType, string "IdentityObject"
);
type_marker!(
    /// `"IdentifierEntry"` (a string, as the schema requires).
    IdentifierEntryType, string "IdentifierEntry"
);
type_marker!(
    /// `"Image"` (a string, as the schema requires).
    ImageType, string "Image"
);
type_marker!(
    /// `"BitstringStatusListEntry"`.
    BitstringStatusListEntryType, string "BitstringStatusListEntry"
);

/// A string or an array of strings, read as an array.
struct OneOrMany(Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Many(Vec<String>),
        }
        Ok(OneOrMany(match Raw::deserialize(d)? {
            Raw::One(s) => vec![s],
            Raw::Many(v) => v,
        }))
    }
}

/// RFC 3339 in UTC with whole seconds and `Z` (`2026-07-01T09:30:00Z`), the
/// form the OB context types as `xsd:dateTime`. Reading accepts any offset.
pub mod date_time {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn format(t: &DateTime<Utc>) -> String {
        t.to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| serde::de::Error::custom(format!("not an RFC 3339 date-time: {e}")))
    }

    /// The same, for an optional value.
    pub mod option {
        use chrono::{DateTime, Utc};
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
            #[derive(Deserialize)]
            struct Wrap(#[serde(with = "super")] DateTime<Utc>);
            Ok(Option::<Wrap>::deserialize(d)?.map(|Wrap(t)| t))
        }
    }
}

/// An OB 3.0 `AchievementCredential` (written with its alias
/// `OpenBadgeCredential`), without proof.
///
/// See: <https://www.imsglobal.org/spec/ob/v3p0/#achievementcredential>
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AchievementCredential {
    #[serde(rename = "@context")]
    pub context: Vec<String>,
    pub id: String,
    #[serde(rename = "type")]
    pub type_: CredentialType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    pub issuer: Profile,
    #[serde(with = "date_time")]
    pub valid_from: DateTime<Utc>,
    #[serde(default, with = "date_time::option", skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<DateTime<Utc>>,
    #[serde(default, with = "date_time::option", skip_serializing_if = "Option::is_none")]
    pub awarded_date: Option<DateTime<Utc>>,
    pub credential_subject: AchievementSubject,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credential_schema: Vec<CredentialSchema>,
    /// Written as one object when there is one entry (the only form the
    /// strict OB 3.0 schema accepts, and OB 3.0's cardinality 0..1), and as
    /// an array when there are several (VC Data Model 2.0 allows that, but
    /// the strict schema then fails); read from either form.
    #[serde(default, with = "one_or_many_status", skip_serializing_if = "Vec::is_empty")]
    pub credential_status: Vec<CredentialStatus>,
}

/// A `Profile`: here the issuer.
///
/// See: <https://www.imsglobal.org/spec/ob/v3p0/#profile>
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: ProfileType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_identifier: Vec<IdentifierEntry>,
}

/// The recipient and what they achieved.
///
/// See: <https://www.imsglobal.org/spec/ob/v3p0/#achievementsubject>
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AchievementSubject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub type_: AchievementSubjectType,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<IdentityObject>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits_earned: Option<serde_json::Number>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub result: Vec<Result>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narrative: Option<String>,
    pub achievement: Achievement,
}

/// What was achieved, with zegel's quality-framework extension terms
/// (defined by zegel's JSON-LD context, `contexts/zegel-v1.jsonld`).
///
/// See: <https://www.imsglobal.org/spec/ob/v3p0/#achievement>
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Achievement {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: AchievementType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub achievement_type: Option<String>,
    pub name: String,
    pub description: String,
    pub criteria: Criteria,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits_available: Option<serde_json::Number>,
    /// Study load in EC (zegel context, `xsd:double`).
    #[serde(rename = "ECTS", default, skip_serializing_if = "Option::is_none")]
    pub ects: Option<serde_json::Number>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub learning_outcome: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assessment_type: Vec<String>,
    /// One value as a string (as SURF's examples have it), several as an array.
    #[serde(default, with = "one_or_many_strings", skip_serializing_if = "Vec::is_empty")]
    pub participation_type: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_checked: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervision_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub education_program_identifier: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tag: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub result_description: Vec<ResultDescription>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alignment: Vec<Alignment>,
}

/// See: <https://www.imsglobal.org/spec/ob/v3p0/#criteria>
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criteria {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narrative: Option<String>,
}

/// See: <https://www.imsglobal.org/spec/ob/v3p0/#alignment>
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alignment {
    #[serde(rename = "type")]
    pub type_: AlignmentType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_type: Option<String>,
    pub target_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_framework: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_description: Option<String>,
    pub target_url: String,
}

/// How results of an achievement are expressed.
///
/// See: <https://www.imsglobal.org/spec/ob/v3p0/#resultdescription>
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultDescription {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: ResultDescriptionType,
    pub name: String,
    pub result_type: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_value: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_min: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_max: Option<String>,
}

/// A result the recipient obtained, described by a [`ResultDescription`].
///
/// See: <https://www.imsglobal.org/spec/ob/v3p0/#result>
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Result {
    #[serde(rename = "type")]
    pub type_: ResultType,
    /// The `id` of a `ResultDescription` of the achievement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// See: <https://www.imsglobal.org/spec/ob/v3p0/#evidence>
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub type_: EvidenceType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narrative: Option<String>,
}

/// One identifier of the recipient, hashed or plain.
///
/// See: <https://www.imsglobal.org/spec/ob/v3p0/#identityobject>
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityObject {
    #[serde(rename = "type")]
    pub type_: IdentityObjectType,
    pub hashed: bool,
    /// `sha256$…` when hashed, the plain identifier otherwise.
    pub identity_hash: String,
    /// An `IdentifierTypeEnum` value or `ext:…`.
    pub identity_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
}

/// See: <https://www.imsglobal.org/spec/ob/v3p0/#identifierentry>
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentifierEntry {
    #[serde(rename = "type")]
    pub type_: IdentifierEntryType,
    pub identifier: String,
    pub identifier_type: String,
}

/// See: <https://www.imsglobal.org/spec/ob/v3p0/#image>
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: ImageType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
}

/// What a status entry is for (W3C Bitstring Status List `statusPurpose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusPurpose {
    /// Not reversible.
    Revocation,
    /// Reversible.
    Suspension,
}

impl StatusPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusPurpose::Revocation => "revocation",
            StatusPurpose::Suspension => "suspension",
        }
    }
}

impl fmt::Display for StatusPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `BitstringStatusListEntry`.
///
/// See: <https://www.w3.org/TR/vc-bitstring-status-list/#bitstringstatuslistentry>
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialStatus {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: BitstringStatusListEntryType,
    pub status_purpose: StatusPurpose,
    /// Written as a base-10 string, as the W3C spec requires; read from a
    /// string or a number (the 1EdTech validator's own fixture uses one).
    #[serde(with = "index_as_string")]
    pub status_list_index: u64,
    pub status_list_credential: String,
}

impl CredentialStatus {
    /// The entry for bit `index` of the list credential at
    /// `status_list_credential`, with id `<list>#<index>` (the spec forbids
    /// an id equal to the list's URL).
    pub fn bitstring(status_list_credential: &str, purpose: StatusPurpose, index: u64) -> Self {
        Self {
            id: format!("{status_list_credential}#{index}"),
            type_: BitstringStatusListEntryType,
            status_purpose: purpose,
            status_list_index: index,
            status_list_credential: status_list_credential.to_owned(),
        }
    }
}

mod index_as_string {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(index: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&index.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(u64),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) => Ok(n),
            Raw::Text(t) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => {
                t.parse().map_err(serde::de::Error::custom)
            }
            Raw::Text(t) => Err(serde::de::Error::custom(format!("statusListIndex \"{t}\" is not a base-10 integer"))),
        }
    }
}

/// A list of strings written as a single string when it has one item.
mod one_or_many_strings {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(values: &[String], s: S) -> Result<S::Ok, S::Error> {
        match values {
            [one] => one.serialize(s),
            many => many.serialize(s),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        Ok(super::OneOrMany::deserialize(d)?.0)
    }
}

mod one_or_many_status {
    use super::CredentialStatus;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(entries: &[CredentialStatus], s: S) -> Result<S::Ok, S::Error> {
        match entries {
            [one] => one.serialize(s),
            many => many.serialize(s),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<CredentialStatus>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(CredentialStatus),
            Many(Vec<CredentialStatus>),
        }
        Ok(match Raw::deserialize(d)? {
            Raw::One(one) => vec![one],
            Raw::Many(many) => many,
        })
    }
}

/// The JSON schema a verifier should check the credential against.
///
/// See: <https://www.imsglobal.org/spec/ob/v3p0/#credentialschema>
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialSchema {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: String,
}

impl CredentialSchema {
    /// The 1EdTech schema URL of `AchievementCredential`.
    pub const ACHIEVEMENT_CREDENTIAL_URL: &'static str =
        "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json";
    /// The validator type OB 3.0 names for its JSON schemas.
    pub const VALIDATOR_2019: &'static str = "1EdTechJsonSchemaValidator2019";

    /// `{"id": <AchievementCredential schema>, "type": "1EdTechJsonSchemaValidator2019"}`.
    pub fn achievement_credential() -> Self {
        Self { id: Self::ACHIEVEMENT_CREDENTIAL_URL.to_owned(), type_: Self::VALIDATOR_2019.to_owned() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_status_entry_is_an_object_and_two_are_an_array() {
        let revocation = CredentialStatus::bitstring("https://x.example/status/1", StatusPurpose::Revocation, 7);
        let suspension = CredentialStatus::bitstring("https://x.example/status/2", StatusPurpose::Suspension, 7);
        #[derive(Serialize, Deserialize)]
        struct Holder {
            #[serde(with = "one_or_many_status")]
            s: Vec<CredentialStatus>,
        }
        let one = serde_json::to_value(Holder { s: vec![revocation.clone()] }).ok();
        assert_eq!(
            one,
            Some(json!({"s": {"id": "https://x.example/status/1#7", "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation", "statusListIndex": "7",
                "statusListCredential": "https://x.example/status/1"}}))
        );
        let two = serde_json::to_value(Holder { s: vec![revocation, suspension] }).ok();
        assert_eq!(two.as_ref().and_then(|v| v["s"].as_array()).map(Vec::len), Some(2));
        let back: Option<Holder> = two.and_then(|v| serde_json::from_value(v).ok());
        assert_eq!(back.map(|h| h.s.len()), Some(2));
    }

    #[test]
    fn status_list_index_is_read_from_a_number_or_a_string() {
        let entry = |index: serde_json::Value| {
            serde_json::from_value::<CredentialStatus>(
                json!({"id": "https://x/1#23", "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation", "statusListIndex": index, "statusListCredential": "https://x/1"}),
            )
            .map(|e| e.status_list_index)
            .ok()
        };
        assert_eq!(entry(json!(23)), Some(23));
        assert_eq!(entry(json!("23")), Some(23));
        assert_eq!(entry(json!("-1")), None);
        assert_eq!(entry(json!("")), None);
    }

    #[test]
    fn type_markers_refuse_wrong_types_when_read() {
        assert!(serde_json::from_value::<CredentialType>(json!(["VerifiableCredential"])).is_err());
        assert!(
            serde_json::from_value::<CredentialType>(json!(["OpenBadgeCredential", "VerifiableCredential"])).is_ok()
        );
        assert!(serde_json::from_value::<ImageType>(json!("Image")).is_ok());
        assert!(serde_json::from_value::<ImageType>(json!(["Image"])).is_err());
        assert!(serde_json::from_value::<ProfileType>(json!("Profile")).is_ok());
    }
}

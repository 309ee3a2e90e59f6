//! Building the OB 3.0 credential for one award.
//!
//! [`build_credential`] is pure: no clock, no randomness, no I/O. Ids, the
//! recipient salt and every time come in through [`CredentialInput`], so the
//! same input always gives the same bytes ([`to_json_bytes`]), which are what
//! gets canonicalised and signed.
//!
//! Every term written is defined by the W3C VC v2 context, the OB 3.0.3
//! context, the OB extensions context or zegel's own context
//! (`contexts/zegel-v1.jsonld`), so JSON-LD safe mode accepts the document,
//! and its shape passes the strict 1EdTech `AchievementCredential` schema.

use super::contexts::{OB_EXTENSIONS, OB_V3P0, VC_V2, zegel_context_url};
use super::model::{
    Achievement, AchievementCredential, AchievementSubject, Alignment, CredentialSchema, CredentialStatus, Criteria,
    Evidence, IdentifierEntry, IdentityObject, Image, Profile, Result, ResultDescription,
};
use super::recipient::identity_hash;
use crate::domain::award::{AwardRecord, EmailAddress};
use crate::domain::microcredential::{AchievementKind, Brin, HttpsUrl, MicrocredentialDefinition, Name};
use chrono::{DateTime, Utc};

/// `identityType` of the hashed eduPersonPrincipalName (an `ext:` value, as
/// the IdentifierTypeEnum has no eppn).
pub const IDENTITY_TYPE_EPPN: &str = "ext:eduPersonPrincipalName";
/// `identifierType` of the issuer's BRIN code.
pub const IDENTIFIER_TYPE_BRIN: &str = "ext:BRIN";
/// `targetType` of the EQF alignment (as in SURF's OB 3.0 examples).
pub const TARGET_TYPE_EQF: &str = "ext:EQF";
/// `targetType` of the NLQF alignment.
pub const TARGET_TYPE_NLQF: &str = "ext:NLQF";
/// `targetType` of the quality-assurance alignment (as in SURF's examples).
pub const TARGET_TYPE_QUALITY_ASSURANCE: &str = "ext:QualityAssurance";
/// The European Commission's description of the eight EQF levels.
pub const EQF_URL: &str = "https://europass.europa.eu/en/description-eight-eqf-levels";
/// NLQF's description of its levels.
pub const NLQF_URL: &str = "https://www.nlqf.nl/nlqf-niveaus";
/// `resultType` of the grade's `ResultDescription`.
///
/// A grade arrives as free text (`8.5`, `voldoende`, `pass`), so it is
/// neither a `LetterGrade` nor a `RawScore` nor any other specific entry of
/// OB's ResultType enumeration; `Result` is the enumeration's generic entry
/// ("a generic result") and needs no `ext:` value only zegel understands.
pub const GRADE_RESULT_TYPE: &str = "Result";
/// Fragment of the grade's `ResultDescription` id within the achievement.
pub const GRADE_FRAGMENT: &str = "grade";

/// The issuer as it appears in every credential it signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerProfile {
    /// The issuer's DID (`did:key:z6Mk…` or `did:web:…`), which is also the
    /// controller of the signing key.
    pub id: String,
    pub name: Name,
    pub url: HttpsUrl,
    pub email: Option<EmailAddress>,
    /// The institution's BRIN code, written as an `otherIdentifier`.
    pub brin: Option<Brin>,
    pub image: Option<HttpsUrl>,
}

/// Everything one credential is made from.
#[derive(Debug, Clone)]
pub struct CredentialInput<'a> {
    /// The credential's own URL, e.g. `https://badges.example.edu/credentials/<uuid>`.
    pub credential_id: &'a HttpsUrl,
    pub issuer: &'a IssuerProfile,
    pub achievement: &'a MicrocredentialDefinition,
    /// The public URL of this version of the achievement, e.g.
    /// `https://badges.example.edu/achievements/<id>/v/<n>`.
    pub achievement_id: &'a HttpsUrl,
    /// The award, with its learner.
    pub award: &'a AwardRecord,
    /// The salt of the hashed identifiers (see [`super::recipient::new_salt`]).
    pub recipient_salt: &'a str,
    /// When this credential becomes valid: its issuance time.
    pub valid_from: DateTime<Utc>,
    /// When the achievement was originally awarded: `valid_from` on first
    /// issue, earlier on a reissue.
    pub awarded_date: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    /// The credential's status entries: its revocation entry and, when
    /// suspension is on, its suspension entry (then `credentialStatus` is an
    /// array: VC 2.0 allows several entries, while the OB 3.0 JSON schema's
    /// `credentialStatus` is a single object; see `ZEGEL_STATUS_SUSPENSION`).
    pub status: &'a [CredentialStatus],
    /// zegel's public base URL, where it serves its JSON-LD context.
    pub public_base_url: &'a HttpsUrl,
}

/// Builds the unsigned credential. Pure and deterministic.
///
/// See: <https://www.imsglobal.org/spec/ob/v3p0/#achievementcredential>
pub fn build_credential(input: &CredentialInput<'_>) -> AchievementCredential {
    let definition = input.achievement;
    AchievementCredential {
        context: vec![
            VC_V2.to_owned(),
            OB_V3P0.to_owned(),
            OB_EXTENSIONS.to_owned(),
            zegel_context_url(input.public_base_url.as_str()),
        ],
        id: input.credential_id.to_string(),
        type_: Default::default(),
        name: Some(definition.name().to_string()),
        description: Some(definition.description().to_string()),
        image: None,
        issuer: issuer_profile(input.issuer, definition),
        valid_from: input.valid_from,
        valid_until: input.valid_until,
        awarded_date: Some(input.awarded_date),
        credential_subject: subject(input),
        evidence: evidence(input),
        credential_schema: vec![CredentialSchema::achievement_credential()],
        credential_status: input.status.to_vec(),
    }
}

/// The compact JSON of `credential`: the bytes that are canonicalised,
/// signed, stored and served.
pub fn to_json_bytes(credential: &AchievementCredential) -> Vec<u8> {
    // These types hold only strings, booleans, finite numbers, and structs
    // with string keys, for which serde_json's serialisation cannot fail.
    serde_json::to_vec(credential).expect("an AchievementCredential always serialises to JSON")
}

fn issuer_profile(issuer: &IssuerProfile, definition: &MicrocredentialDefinition) -> Profile {
    // The issuer's own BRIN wins; the definition's institution is the
    // awarding institution, which in the pilot is the issuer itself.
    profile(issuer, issuer.brin.as_ref().or(definition.institution().map(|i| &i.brin)))
}

/// The issuer's Profile as JSON (what its `/issuer` URL serves, without `@context`).
pub fn issuer_document(issuer: &IssuerProfile) -> serde_json::Value {
    serde_json::to_value(profile(issuer, issuer.brin.as_ref())).unwrap_or(serde_json::Value::Null)
}

fn profile(issuer: &IssuerProfile, brin: Option<&Brin>) -> Profile {
    Profile {
        id: issuer.id.clone(),
        type_: Default::default(),
        name: Some(issuer.name.to_string()),
        url: Some(issuer.url.to_string()),
        email: issuer.email.as_ref().map(ToString::to_string),
        image: issuer.image.as_ref().map(|url| image(url, None)),
        other_identifier: brin
            .map(|brin| IdentifierEntry {
                type_: Default::default(),
                identifier: brin.to_string(),
                identifier_type: IDENTIFIER_TYPE_BRIN.to_owned(),
            })
            .into_iter()
            .collect(),
    }
}

fn subject(input: &CredentialInput<'_>) -> AchievementSubject {
    let learner = input.award.learner();
    let salt = input.recipient_salt;
    let hashed = |identity: &str, identity_type: &str| IdentityObject {
        type_: Default::default(),
        hashed: true,
        identity_hash: identity_hash(identity, salt),
        identity_type: identity_type.to_owned(),
        salt: Some(salt.to_owned()),
    };
    let mut identifier: Vec<IdentityObject> = Vec::with_capacity(3);
    if let Some(email) = &learner.email {
        identifier.push(hashed(email.as_str(), "emailAddress"));
    }
    if let Some(eppn) = &learner.eppn {
        identifier.push(hashed(eppn.as_str(), IDENTITY_TYPE_EPPN));
    }
    // OB 3.0 carries a plain identifier as an unhashed IdentityObject whose
    // identityHash is the value itself: the name as issued. The student
    // number is deliberately left out.
    identifier.push(IdentityObject {
        type_: Default::default(),
        hashed: false,
        identity_hash: learner.display_name(),
        identity_type: "name".to_owned(),
        salt: None,
    });
    let result = input
        .award
        .grade()
        .map(|grade| Result {
            type_: Default::default(),
            result_description: Some(grade_description_id(input.achievement_id)),
            value: Some(grade.to_string()),
        })
        .into_iter()
        .collect();
    // activityEndDate (the completion date) is left out on purpose: the
    // strict schema wants a date-time there, while the OB context types the
    // term xsd:date, so a schema-valid value would be signed as an ill-typed
    // xsd:date literal (and a plain date fails the schema).
    AchievementSubject {
        id: None,
        type_: Default::default(),
        identifier,
        credits_earned: input.achievement.study_load().map(|ec| ec.to_json_number()),
        result,
        narrative: input.award.narrative().map(ToString::to_string),
        achievement: achievement(input),
    }
}

fn achievement(input: &CredentialInput<'_>) -> Achievement {
    build_achievement(input.achievement, input.achievement_id, input.award.grade().is_some())
}

/// The OB 3.0 Achievement of a definition, as credentials embed it and as
/// zegel publishes it at `achievement_id`. With `graded`, it describes the
/// grade the credential's result refers to.
pub fn build_achievement(d: &MicrocredentialDefinition, achievement_id: &HttpsUrl, graded: bool) -> Achievement {
    let dutch = d.language().language() == "nl";
    let result_description = graded
        .then(|| ResultDescription {
            id: grade_description_id(achievement_id),
            type_: Default::default(),
            name: if dutch { "Cijfer" } else { "Grade" }.to_owned(),
            result_type: GRADE_RESULT_TYPE.to_owned(),
            allowed_value: Vec::new(),
            value_min: None,
            value_max: None,
        })
        .into_iter()
        .collect();
    Achievement {
        id: achievement_id.to_string(),
        type_: Default::default(),
        achievement_type: Some(achievement_type(d.kind()).to_owned()),
        name: d.name().to_string(),
        description: d.description().to_string(),
        criteria: Criteria { id: None, narrative: Some(d.criteria().to_string()) },
        image: d.image().map(|url| image(url, Some(d.name().to_string()))),
        in_language: Some(d.language().to_string()),
        credits_available: d.study_load().map(|ec| ec.to_json_number()),
        ects: d.study_load().map(|ec| ec.to_json_number()),
        learning_outcome: d.learning_outcomes().iter().map(ToString::to_string).collect(),
        assessment_type: d.assessment_types().iter().map(|t| t.as_str().to_owned()).collect(),
        participation_type: d.participation().iter().map(|p| p.as_str().to_owned()).collect(),
        identity_checked: d.identity_checked(),
        // The detail when the definition gives it, else what the yes/no says.
        supervision_type: d
            .supervision()
            .map(|s| s.as_str().to_owned())
            .or_else(|| d.assessment_supervised().map(|s| if s { "supervised" } else { "unsupervised" }.to_owned())),
        education_program_identifier: d.education_program_identifiers().iter().map(ToString::to_string).collect(),
        tag: d.tags().iter().map(ToString::to_string).collect(),
        result_description,
        alignment: alignments(d),
    }
}

/// An achievement as a standalone JSON-LD document (what its URL serves).
pub fn achievement_document(
    d: &MicrocredentialDefinition,
    achievement_id: &HttpsUrl,
    public_base_url: &HttpsUrl,
) -> serde_json::Value {
    let mut document = serde_json::Map::new();
    document.insert("@context".into(), serde_json::json!([OB_V3P0, zegel_context_url(public_base_url.as_str())]));
    if let Ok(serde_json::Value::Object(achievement)) =
        serde_json::to_value(build_achievement(d, achievement_id, false))
    {
        document.extend(achievement);
    }
    serde_json::Value::Object(document)
}

/// OB's `achievementType` for each kind. `MicroCredential` is a value of OB's
/// own AchievementType enumeration, so no `ext:` value is needed.
pub fn achievement_type(kind: AchievementKind) -> &'static str {
    match kind {
        AchievementKind::MicroCredential => "MicroCredential",
        AchievementKind::Regular => "Course",
        AchievementKind::ExtraCurricular => "CoCurricular",
    }
}

fn alignments(d: &MicrocredentialDefinition) -> Vec<Alignment> {
    let mut out = Vec::with_capacity(3 + d.alignments().len());
    if let Some(eqf) = d.eqf_level() {
        out.push(Alignment {
            type_: Default::default(),
            target_type: Some(TARGET_TYPE_EQF.to_owned()),
            target_name: format!("EQF level {eqf}"),
            target_code: Some(eqf.to_string()),
            target_framework: Some("European Qualifications Framework".to_owned()),
            target_description: None,
            target_url: EQF_URL.to_owned(),
        });
    }
    if let Some(nlqf) = d.nlqf_level() {
        out.push(Alignment {
            type_: Default::default(),
            target_type: Some(TARGET_TYPE_NLQF.to_owned()),
            target_name: nlqf.label_en(),
            target_code: Some(nlqf.code()),
            target_framework: Some("Dutch Qualifications Framework (NLQF)".to_owned()),
            target_description: None,
            target_url: NLQF_URL.to_owned(),
        });
    }
    if let Some(qa) = d.quality_assurance() {
        out.push(Alignment {
            type_: Default::default(),
            target_type: Some(TARGET_TYPE_QUALITY_ASSURANCE.to_owned()),
            target_name: qa.name.to_string(),
            target_code: None,
            target_framework: None,
            target_description: Some(qa.description.to_string()),
            target_url: qa.url.to_string(),
        });
    }
    out.extend(d.alignments().iter().map(|a| Alignment {
        type_: Default::default(),
        target_type: None,
        target_name: a.target_name.to_string(),
        target_code: a.target_code.as_ref().map(ToString::to_string),
        target_framework: a.target_framework.as_ref().map(ToString::to_string),
        target_description: a.target_description.as_ref().map(ToString::to_string),
        target_url: a.target_url.to_string(),
    }));
    out
}

fn evidence(input: &CredentialInput<'_>) -> Vec<Evidence> {
    let dutch = input.achievement.language().language() == "nl";
    input
        .award
        .evidence_url()
        .map(|url| Evidence {
            id: Some(url.to_string()),
            type_: Default::default(),
            name: Some(if dutch { "Bewijsstuk" } else { "Evidence" }.to_owned()),
            description: None,
            narrative: None,
        })
        .into_iter()
        .collect()
}

fn image(url: &HttpsUrl, caption: Option<String>) -> Image {
    Image { id: url.to_string(), type_: Default::default(), caption }
}

/// `<achievement id>#grade`.
fn grade_description_id(achievement_id: &HttpsUrl) -> String {
    // An achievement URL has no fragment of its own (it is a page).
    let base = achievement_id.as_str().split('#').next().unwrap_or_default();
    format!("{base}#{GRADE_FRAGMENT}")
}

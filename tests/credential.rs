//! The microcredential domain rules, the OB 3.0 credential zegel builds from
//! them, the bundled 1EdTech schemas and recipient hashing.
//!
//! The golden file `tests/fixtures/microcredential-unsigned.json` is written
//! by the builder; after a deliberate change, regenerate it with
//! `ZEGEL_UPDATE_FIXTURES=1 cargo test --test credential` and review the diff.

#![allow(clippy::unwrap_used, reason = "a test or benchmark that cannot set up should fail loudly")]

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::OnceLock;
use zegel::credential::build::{CredentialInput, IssuerProfile, build_credential, to_json_bytes};
use zegel::credential::contexts;
use zegel::credential::model::{AchievementCredential, CredentialStatus, StatusPurpose};
use zegel::credential::recipient::{identity_hash, identity_matches, new_salt};
use zegel::credential::schema::{SchemaId, SchemaViolation, Schemas};
use zegel::domain::award::{AwardRecord, AwardRecordInput, EmailAddress, Eppn};
use zegel::domain::microcredential::{
    AchievementKind, AssessmentType, Brin, EqfLevel, HttpsUrl, LanguageTag, MicrocredentialDefinition,
    MicrocredentialDefinitionInput, NlqfLevel, ParticipationType, StudyLoad, SupervisionType, ValidationErrors,
};
use zegel::jsonld::{Canonicalizer, DataLossIssue, JsonLdError};

// ---------------------------------------------------------------------------
// Shared fixtures
// ---------------------------------------------------------------------------

fn schemas() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(Schemas::new)
}

fn canonicalizer() -> &'static Canonicalizer {
    static CANON: OnceLock<Canonicalizer> = OnceLock::new();
    CANON.get_or_init(contexts::canonicalizer)
}

fn shared(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared").join(path)
}

fn read_json(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 7, 1).expect("date")
}

fn url(s: &str) -> HttpsUrl {
    HttpsUrl::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// A complete microcredential definition as the admin API would receive it.
fn micro_definition_json() -> Value {
    json!({
        "type": "micro_credential",
        "name": "Datagedreven beleid",
        "description": "Beleidsmakers leren data verzamelen, analyseren en gebruiken om beleidskeuzes te onderbouwen.",
        "criteria": "Het eindproject (een beleidsadvies op basis van een eigen data-analyse) is met een voldoende beoordeeld.",
        "learning_outcomes": [
            "De deelnemer formuleert een beleidsvraag als een vraag die met data te beantwoorden is.",
            "De deelnemer analyseert een openbare dataset en rapporteert de beperkingen ervan."
        ],
        "ects": 7.5,
        "eqf_level": 6,
        "nlqf_level": "6",
        "assessment_type": ["written_exam", "professional_product"],
        "participation_type": ["blended"],
        "identity_checked": true,
        "assessment_supervised": true,
        "supervision_type": "supervised_onsite",
        "quality_assurance": {
            "name": "NVAO-accreditatie",
            "url": "https://www.nvao.net/nl/toetsingskaders",
            "description": "Aangeboden binnen een door de NVAO geaccrediteerde opleiding."
        },
        "language": "nl_NL",
        "institution": {"name": "Universiteit van Voorbeeldstad", "brin": "99vb"},
        "image": "https://badges.example.edu/images/datagedreven-beleid.png",
        "education_program_identifiers": ["34479"],
        "tags": ["data", "beleid"],
        "alignments": [{
            "target_name": "Data analysis",
            "target_url": "https://esco.ec.europa.eu/en/classification/skill?uri=http://data.europa.eu/esco/skill/S2.7",
            "target_code": "S2.7",
            "target_framework": "ESCO"
        }]
    })
}

fn definition_from(value: Value) -> Result<MicrocredentialDefinition, ValidationErrors> {
    let input: MicrocredentialDefinitionInput = serde_json::from_value(value).expect("input deserialises");
    MicrocredentialDefinition::parse(input)
}

fn micro_definition() -> MicrocredentialDefinition {
    definition_from(micro_definition_json()).unwrap_or_else(|e| panic!("{e}"))
}

fn award_json() -> Value {
    json!({
        "record_id": "OSIRIS-2026-000123",
        "learner": {
            "eppn": "s1234567@example.edu",
            "email": "Sam.deVries@student.example.edu",
            "given_name": "Sam",
            "surname_prefix": "de",
            "surname": "Vries",
            "student_number": "1234567"
        },
        "grade": "8.5",
        "completed_on": "2026-06-30",
        "evidence_url": "https://portfolio.example.edu/s1234567/datagedreven-beleid",
        "narrative": "Eindproject: een beleidsadvies over fietsparkeren op basis van gemeentelijke open data."
    })
}

fn award_from(value: Value) -> Result<AwardRecord, ValidationErrors> {
    let input: AwardRecordInput = serde_json::from_value(value).expect("input deserialises");
    AwardRecord::parse(input, today())
}

fn award() -> AwardRecord {
    award_from(award_json()).unwrap_or_else(|e| panic!("{e}"))
}

fn issuer() -> IssuerProfile {
    IssuerProfile {
        id: "did:key:z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi".to_owned(),
        name: "Universiteit van Voorbeeldstad".parse().expect("name"),
        url: url("https://www.example.edu"),
        email: Some(EmailAddress::parse("badges@example.edu").expect("email")),
        brin: Some(Brin::parse("99VB").expect("brin")),
        image: Some(url("https://badges.example.edu/images/issuer.png")),
    }
}

fn issued_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 7, 1, 9, 30, 0).single().expect("time")
}

const SALT: &str = "6nBqPZ0JmW1hxQm2JtGk9A";
const BASE: &str = "https://badges.example.edu";

struct Parts {
    credential_id: HttpsUrl,
    issuer: IssuerProfile,
    definition: MicrocredentialDefinition,
    achievement_id: HttpsUrl,
    award: AwardRecord,
    status: Vec<CredentialStatus>,
    base: HttpsUrl,
    valid_until: Option<DateTime<Utc>>,
}

impl Parts {
    fn new(definition: MicrocredentialDefinition, award: AwardRecord) -> Self {
        Self {
            credential_id: url(&format!("{BASE}/credentials/5f0c6f5e-8a1b-4c2d-9e3f-1a2b3c4d5e6f")),
            issuer: issuer(),
            definition,
            achievement_id: url(&format!("{BASE}/achievements/datagedreven-beleid/v/1")),
            award,
            status: vec![CredentialStatus::bitstring(&format!("{BASE}/status/1"), StatusPurpose::Revocation, 48_213)],
            base: url(BASE),
            valid_until: None,
        }
    }

    fn input(&self) -> CredentialInput<'_> {
        CredentialInput {
            credential_id: &self.credential_id,
            issuer: &self.issuer,
            achievement: &self.definition,
            achievement_id: &self.achievement_id,
            award: &self.award,
            recipient_salt: SALT,
            valid_from: issued_at(),
            awarded_date: issued_at(),
            valid_until: self.valid_until,
            status: &self.status,
            public_base_url: &self.base,
        }
    }

    fn build(&self) -> AchievementCredential {
        build_credential(&self.input())
    }
}

/// Schema-valid and canonicalisable in JSON-LD safe mode, or a message why not.
fn check_issuable(credential: &AchievementCredential) -> Result<String, String> {
    let bytes = to_json_bytes(credential);
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    schemas()
        .validate(SchemaId::AchievementCredential, &value)
        .map_err(|v| format!("schema: {}", v.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")))?;
    canonicalizer().canonicalize(&bytes).map_err(|e| format!("canonicalisation: {e}"))
}

fn fields(errors: &ValidationErrors) -> Vec<&str> {
    errors.iter().map(|e| e.field.as_str()).collect()
}

// ---------------------------------------------------------------------------
// Domain: microcredential definitions
// ---------------------------------------------------------------------------

fn with(field: &str, value: Value) -> Result<MicrocredentialDefinition, ValidationErrors> {
    let mut input = micro_definition_json();
    input[field] = value;
    definition_from(input)
}

fn message_for(result: Result<MicrocredentialDefinition, ValidationErrors>, field: &str) -> String {
    match result {
        Ok(_) => panic!("{field}: expected a problem"),
        Err(e) => e.message_for(field).unwrap_or_else(|| panic!("no problem for {field}: {e}")).to_owned(),
    }
}

#[test]
fn a_complete_microcredential_definition_is_accepted_and_normalised() {
    let d = micro_definition();
    assert_eq!(d.kind(), AchievementKind::MicroCredential);
    assert_eq!(d.study_load().map(|s| s.to_string()).as_deref(), Some("7.5"));
    assert_eq!(d.language().as_str(), "nl-NL");
    assert_eq!(d.institution().map(|i| i.brin.as_str()), Some("99VB"));
    assert_eq!(d.assessment_types(), &[AssessmentType::WrittenExam, AssessmentType::ProfessionalProduct]);
    assert_eq!(d.participation(), &[ParticipationType::Blended]);
    assert_eq!(d.supervision(), Some(SupervisionType::SupervisedOnsite));
}

#[test]
fn study_load_must_be_between_1_and_30_ec() {
    for ok in [json!(1), json!(30), json!(1.0), json!("30"), json!("2,5"), json!(2.5)] {
        assert!(with("ects", ok.clone()).is_ok(), "{ok}");
    }
    for out_of_range in [json!(0.9), json!(30.1), json!(0), json!(-1), json!(31), json!("1000")] {
        assert_eq!(
            message_for(with("ects", out_of_range.clone()), "ects"),
            "must be between 1 and 30 EC",
            "{out_of_range}"
        );
    }
}

#[test]
fn study_load_with_two_decimals_is_refused_rather_than_rounded() {
    assert_eq!(message_for(with("ects", json!(2.55)), "ects"), "must have at most one decimal, like 2.5");
    assert_eq!(message_for(with("ects", json!("2.55")), "ects"), "must have at most one decimal, like 2.5");
    assert_eq!(StudyLoad::parse("2.50").map(StudyLoad::tenths), Ok(25));
}

#[test]
fn eqf_level_must_be_1_to_8() {
    assert!(with("eqf_level", json!(1)).is_ok());
    assert!(with("eqf_level", json!(8)).is_ok());
    assert!(with("eqf_level", json!("8")).is_ok());
    for bad in [json!(0), json!(9), json!(4.5), json!("4+"), json!("six")] {
        assert_eq!(
            message_for(with("eqf_level", bad.clone()), "eqf_level"),
            "must be an EQF level from 1 to 8",
            "{bad}"
        );
    }
    assert_eq!(EqfLevel::new(8).map(EqfLevel::get), Ok(8));
}

#[test]
fn nlqf_level_accepts_4_plus_and_the_entry_level() {
    assert_eq!(NlqfLevel::parse("4+").map(|l| l.code()), Ok("4+".to_owned()));
    assert_eq!(NlqfLevel::parse(" Entry ").map(|l| l.code()), Ok("entry".to_owned()));
    assert!(with("nlqf_level", json!("4+")).is_ok());
    assert!(with("nlqf_level", json!(4)).is_ok());
    for bad in [json!(0), json!(9), json!("5+"), json!("4++")] {
        assert!(message_for(with("nlqf_level", bad.clone()), "nlqf_level").contains("NLQF level"), "{bad}");
    }
}

#[test]
fn unknown_assessment_and_participation_values_are_each_listed_with_their_position() {
    let mut input = micro_definition_json();
    input["assessment_type"] = json!(["written_exam", "oral_exam", "essay", "oram_exam", "vibes"]);
    input["participation_type"] = json!(["hybrid"]);
    input["supervision_type"] = json!("proctored");
    let errors = definition_from(input).expect_err("refused");
    assert_eq!(
        fields(&errors),
        ["assessment_type[2]", "assessment_type[3]", "assessment_type[4]", "participation_type[0]", "supervision_type"]
    );
    let essay = errors.message_for("assessment_type[2]").unwrap_or_default();
    assert!(essay.starts_with("unknown assessment type \"essay\"; allowed: written_exam, "), "{essay}");
    // oram_exam is Edubadges' spelling of oral_exam: a duplicate here.
    assert_eq!(errors.message_for("assessment_type[3]"), Some("is listed twice"));
    assert!(
        errors
            .message_for("participation_type[0]")
            .unwrap_or_default()
            .contains("online, onsite, blended, work_experience")
    );
}

#[test]
fn every_missing_quality_framework_field_of_a_microcredential_is_listed_at_once() {
    let errors = definition_from(json!({"type": "micro_credential"})).expect_err("refused");
    assert_eq!(
        fields(&errors),
        [
            "name",
            "description",
            "criteria",
            "learning_outcomes",
            "ects",
            "eqf_level",
            "assessment_type",
            "participation_type",
            "identity_checked",
            "assessment_supervised",
            "quality_assurance",
            "language",
            "institution",
        ]
    );
    assert!(errors.iter().all(|e| e.message.starts_with("is required")), "{errors}");
}

#[test]
fn an_empty_input_reports_the_missing_kind_and_the_fields_every_kind_needs() {
    let errors = definition_from(json!({})).expect_err("refused");
    assert_eq!(fields(&errors), ["type", "name", "description", "criteria", "language"]);
    assert_eq!(errors.message_for("type"), Some("is required (micro_credential, regular or extra_curricular)"));
}

#[test]
fn regular_and_extra_curricular_definitions_need_no_quality_framework_fields() {
    for kind in ["regular", "extra_curricular"] {
        let d = definition_from(json!({
            "type": kind, "name": "N", "description": "D", "criteria": "C", "language": "en"
        }))
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(d.study_load(), None);
        assert!(d.learning_outcomes().is_empty());
    }
}

#[test]
fn quality_framework_fields_given_for_a_regular_definition_must_still_be_valid() {
    let errors = definition_from(json!({
        "type": "regular", "name": "N", "description": "D", "criteria": "C", "language": "en",
        "ects": 45, "quality_assurance": {"name": "QA", "url": "http://qa.example.edu/"}
    }))
    .expect_err("refused");
    assert_eq!(fields(&errors), ["ects", "quality_assurance.url", "quality_assurance.description"]);
    assert_eq!(
        errors.message_for("quality_assurance.url"),
        Some("must use https (plain http is only allowed for localhost)")
    );
}

#[test]
fn empty_lists_are_refused_for_a_microcredential() {
    let mut input = micro_definition_json();
    input["learning_outcomes"] = json!([]);
    input["assessment_type"] = json!([]);
    let errors = definition_from(input).expect_err("refused");
    assert_eq!(fields(&errors), ["learning_outcomes", "assessment_type"]);
}

#[test]
fn text_fields_are_bounded_and_free_of_control_characters() {
    assert!(with("name", json!("x".repeat(255))).is_ok());
    assert_eq!(
        message_for(with("name", json!("x".repeat(256))), "name"),
        "must be at most 255 characters (it has 256)"
    );
    assert_eq!(message_for(with("name", json!("   ")), "name"), "must not be empty");
    assert_eq!(
        message_for(with("name", json!("Bel\u{7}")), "name"),
        "must not contain control characters (found U+0007)"
    );
    assert!(with("description", json!("Regel 1\nRegel 2\ttab")).is_ok());
    assert!(with("description", json!("é".repeat(16384))).is_ok());
    assert!(with("description", json!("é".repeat(16385))).is_err());
}

#[test]
fn at_most_seven_extra_alignments_are_allowed_like_edubadges() {
    let one = json!({"target_name": "X", "target_url": "https://x.example/"});
    assert!(with("alignments", json!(vec![one.clone(); 7])).is_ok());
    assert_eq!(
        message_for(with("alignments", json!(vec![one; 8])), "alignments"),
        "must have at most 7 entries (it has 8)"
    );
    let errors = with("alignments", json!([{"target_url": "nope"}])).expect_err("refused");
    assert_eq!(fields(&errors), ["alignments[0].target_name", "alignments[0].target_url"]);
}

#[test]
fn education_program_identifiers_are_digits_given_as_text_or_numbers() {
    assert!(with("education_program_identifiers", json!([34479, "25000"])).is_ok());
    let errors = with("education_program_identifiers", json!(["CROHO-1", 12.5, "34479", 34479])).expect_err("refused");
    assert_eq!(
        fields(&errors),
        ["education_program_identifiers[0]", "education_program_identifiers[1]", "education_program_identifiers[3]"]
    );
}

#[test]
fn validity_days_give_the_expiry_counted_from_the_original_award() {
    let d = with("validity_days", json!(365)).expect("accepted");
    assert_eq!(d.valid_until(issued_at()), Some(issued_at() + chrono::Duration::days(365)));
    assert!(micro_definition().valid_until(issued_at()).is_none());
    assert!(with("validity_days", json!(0)).is_err());
    assert!(with("validity_days", json!(-3)).is_err());
}

#[test]
fn brin_codes_are_two_digits_and_two_letters_and_lowercase_is_normalised() {
    assert_eq!(Brin::parse("21pb").map(|b| b.to_string()), Ok("21PB".to_owned()));
    assert_eq!(Brin::parse(" 00AA ").map(|b| b.to_string()), Ok("00AA".to_owned()));
    for bad in ["", "21P", "21PBX", "2PB1", "AB12", "21P1", "21ÄB"] {
        assert!(Brin::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(
        message_for(with("institution", json!({"name": "U", "brin": "XX21"})), "institution.brin"),
        "must be a BRIN code: 2 digits and 2 letters, like 21PB"
    );
}

#[test]
fn language_tags_must_have_the_shape_ob_allows() {
    assert_eq!(LanguageTag::parse("EN").map(|t| t.to_string()), Ok("en".to_owned()));
    assert_eq!(
        message_for(with("language", json!("Nederlands")), "language"),
        "must be a language tag like nl, en or nl-NL"
    );
}

#[test]
fn definitions_round_trip_through_json_and_are_validated_again_when_read() {
    let definition = micro_definition();
    let value = serde_json::to_value(&definition).expect("serialises");
    assert_eq!(value["ects"], json!(7.5));
    assert_eq!(value["assessment_type"], json!(["written_exam", "professional_product"]));
    assert_eq!(value["nlqf_level"], json!("6"));
    let back: MicrocredentialDefinition = serde_json::from_value(value.clone()).expect("reads back");
    assert_eq!(back, definition);
    let mut tampered = value;
    tampered["ects"] = json!(45);
    tampered["eqf_level"] = json!(9);
    let err = serde_json::from_value::<MicrocredentialDefinition>(tampered).expect_err("refused");
    assert_eq!(
        err.to_string(),
        "2 problems: ects: must be between 1 and 30 EC; eqf_level: must be an EQF level from 1 to 8"
    );
}

#[test]
fn validation_errors_serialise_as_a_json_body() {
    let errors = with("ects", json!(31)).expect_err("refused");
    assert_eq!(
        serde_json::to_value(&errors).ok(),
        Some(json!({"errors": [{"field": "ects", "message": "must be between 1 and 30 EC"}]}))
    );
    assert_eq!(errors.to_string(), "1 problem: ects: must be between 1 and 30 EC");
}

// ---------------------------------------------------------------------------
// Domain: award records and learners
// ---------------------------------------------------------------------------

fn award_with(path: &[&str], value: Value) -> Result<AwardRecord, ValidationErrors> {
    let mut input = award_json();
    let mut target = &mut input;
    for p in &path[..path.len() - 1] {
        target = &mut target[*p];
    }
    target[path[path.len() - 1]] = value;
    award_from(input)
}

#[test]
fn a_complete_award_record_is_accepted_and_normalised() {
    let a = award();
    assert_eq!(a.record_id().as_str(), "OSIRIS-2026-000123");
    assert_eq!(a.learner().email.as_ref().map(|e| e.as_str()), Some("sam.devries@student.example.edu"));
    assert_eq!(a.learner().display_name(), "Sam de Vries");
    assert_eq!(a.grade().map(|g| g.as_str()), Some("8.5"));
    assert_eq!(a.completed_on(), NaiveDate::from_ymd_opt(2026, 6, 30).expect("date"));
}

#[test]
fn every_missing_award_field_is_listed_at_once_with_learner_paths() {
    let errors = award_from(json!({"learner": {"surname_prefix": "van der"}})).expect_err("refused");
    assert_eq!(fields(&errors), ["record_id", "learner.eppn", "learner.given_name", "learner.surname", "completed_on"]);
    let errors = award_from(json!({})).expect_err("refused");
    assert_eq!(fields(&errors), ["record_id", "learner", "completed_on"]);
}

#[test]
fn a_learner_needs_an_eppn_or_an_email_address_but_not_both() {
    let mut only_email = award_json();
    only_email["learner"].as_object_mut().unwrap().remove("eppn");
    let record = award_from(only_email).expect("email alone is enough");
    assert!(record.learner().eppn.is_none());
    let mut only_eppn = award_json();
    only_eppn["learner"].as_object_mut().unwrap().remove("email");
    assert!(award_from(only_eppn).expect("eppn alone is enough").learner().email.is_none());
    let mut neither = award_json();
    neither["learner"].as_object_mut().unwrap().remove("email");
    neither["learner"].as_object_mut().unwrap().remove("eppn");
    let errors = award_from(neither).expect_err("one is needed");
    assert_eq!(fields(&errors), ["learner.eppn"]);
}

#[test]
fn completion_dates_in_the_future_are_refused_relative_to_today() {
    assert!(award_with(&["completed_on"], json!("2026-07-01")).is_ok(), "today is fine");
    let errors = award_with(&["completed_on"], json!("2026-07-02")).expect_err("tomorrow");
    assert_eq!(errors.message_for("completed_on"), Some("must not be in the future (today is 2026-07-01)"));
    let errors = award_with(&["completed_on"], json!("30-06-2026")).expect_err("format");
    assert_eq!(errors.message_for("completed_on"), Some("must be a date written YYYY-MM-DD, like 2026-06-30"));
}

#[test]
fn record_ids_are_printable_and_at_most_128_characters() {
    assert!(award_with(&["record_id"], json!("x".repeat(128))).is_ok());
    assert!(award_with(&["record_id"], json!("x".repeat(129))).is_err());
    assert!(award_with(&["record_id"], json!("tab\there")).is_err());
    assert!(award_with(&["record_id"], json!("é")).is_err());
    assert!(award_with(&["record_id"], json!("")).is_err());
}

#[test]
fn grades_are_free_text_of_at_most_254_characters() {
    assert!(award_with(&["grade"], json!("voldoende")).is_ok());
    assert!(award_with(&["grade"], json!("9".repeat(254))).is_ok());
    assert!(award_with(&["grade"], json!("9".repeat(255))).is_err());
    assert_eq!(award_with(&["grade"], json!("")).map(|a| a.grade().cloned()).ok(), Some(None), "blank is no grade");
}

#[test]
fn evidence_urls_must_be_https() {
    let errors = award_with(&["evidence_url"], json!("http://portfolio.example.edu/x")).expect_err("http");
    assert_eq!(fields(&errors), ["evidence_url"]);
    assert!(award_with(&["evidence_url"], json!("javascript:alert(1)")).is_err());
}

#[test]
fn email_addresses_are_checked_and_lower_cased() {
    assert_eq!(EmailAddress::parse(" Sam@Example.EDU ").map(|e| e.to_string()), Ok("sam@example.edu".to_owned()));
    for ok in ["a.b+c@x.example.nl", "o'brien@example.ie", "x@sub.domain.example"] {
        assert!(EmailAddress::parse(ok).is_ok(), "{ok}");
    }
    for bad in [
        "",
        "sam",
        "sam@",
        "@example.edu",
        "sam@example",
        "sam@@example.edu",
        "s am@example.edu",
        "a..b@example.edu",
        ".a@example.edu",
        "sam@-x.edu",
        "sam@example.123",
    ] {
        assert!(EmailAddress::parse(bad).is_err(), "{bad}");
    }
    let errors = award_with(&["learner", "email"], json!("not-an-email")).expect_err("refused");
    assert_eq!(errors.message_for("learner.email"), Some("must be an e-mail address, like student@example.edu"));
}

#[test]
fn eppns_are_user_at_scope_and_lower_cased() {
    assert_eq!(Eppn::parse("S1234567@Example.EDU").map(|e| e.to_string()), Ok("s1234567@example.edu".to_owned()));
    for bad in ["", "s1234567", "@example.edu", "s1@example", "s 1@example.edu", "a@b@example.edu"] {
        assert!(Eppn::parse(bad).is_err(), "{bad}");
    }
}

// ---------------------------------------------------------------------------
// Recipient hashing
// ---------------------------------------------------------------------------

#[test]
fn identity_hashes_reproduce_the_spec_and_conformance_vectors() {
    assert_eq!(
        identity_hash("a@example.com", "Kosher"),
        "sha256$b5809d8a92f8858436d7e6b87c12ebc0ae1eac4baecc2c0b913aee2c922ef399"
    );
    assert_eq!(
        identity_hash("conformance@imsglobal.org", "FleurDeSel"),
        "sha256$04e1211d8c612498f220a9d1cd95a857b67de47be1a02586f43f085bce6178ce"
    );
}

#[test]
fn identity_matching_accepts_either_hex_case_and_normalises_the_candidate() {
    let hash = "sha256$b5809d8a92f8858436d7e6b87c12ebc0ae1eac4baecc2c0b913aee2c922ef399";
    assert!(identity_matches(hash, Some("Kosher"), "a@example.com"));
    assert!(identity_matches(&hash.to_uppercase().replace("SHA256$", "sha256$"), Some("Kosher"), "a@example.com"));
    assert!(identity_matches(hash, Some("Kosher"), " A@Example.com "));
    assert!(!identity_matches(hash, Some("kosher"), "a@example.com"));
    assert!(!identity_matches(hash, None, "a@example.com"));
    assert!(!identity_matches(hash, Some("Kosher"), "b@example.com"));
    assert!(identity_matches(&identity_hash("x", ""), None, "x"));
}

#[test]
fn md5_identity_hashes_are_not_supported() {
    // md5("a@example.comKosher")
    assert!(!identity_matches("md5$ddd142639a792e74751ee7e129237efa", Some("Kosher"), "a@example.com"));
}

#[test]
fn new_salts_carry_at_least_128_bits() {
    let salt = new_salt();
    assert!(salt.len() * 6 >= 128, "{salt}");
}

// ---------------------------------------------------------------------------
// The built credential
// ---------------------------------------------------------------------------

const GOLDEN: &str = "tests/fixtures/microcredential-unsigned.json";

#[test]
fn the_reference_microcredential_matches_the_golden_file() {
    let credential = Parts::new(micro_definition(), award()).build();
    let pretty = serde_json::to_string_pretty(&credential).expect("serialises") + "\n";
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
    if std::env::var_os("ZEGEL_UPDATE_FIXTURES").is_some() {
        std::fs::write(&path, &pretty).expect("write golden file");
    }
    let golden = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{GOLDEN}: {e}"));
    assert_eq!(pretty, golden, "the built credential changed; if that is deliberate, regenerate {GOLDEN}");
    let back: AchievementCredential = serde_json::from_str(&golden).expect("golden file reads back");
    assert_eq!(back, credential);
}

#[test]
fn the_reference_microcredential_passes_the_strict_schema_and_safe_mode_canonicalisation() {
    let credential = Parts::new(micro_definition(), award()).build();
    let canonical = check_issuable(&credential).unwrap_or_else(|e| panic!("{e}"));
    // zegel's extension terms are kept, with their datatypes.
    for quad in [
        "<https://w3id.org/zegel#ECTS> \"7.5E0\"^^<http://www.w3.org/2001/XMLSchema#double>",
        "<https://w3id.org/zegel#identityChecked> \"true\"^^<http://www.w3.org/2001/XMLSchema#boolean>",
        "<https://w3id.org/zegel#assessmentType> \"professional_product\"",
        "<https://w3id.org/zegel#participationType> \"blended\"",
        "<https://w3id.org/zegel#supervisionType> \"supervised_onsite\"",
        "<https://w3id.org/zegel#educationProgramIdentifier> \"34479\"",
        "<https://purl.imsglobal.org/spec/vc/ob/vocab.html#identifierType> \"ext:BRIN\"",
    ] {
        assert!(canonical.contains(quad), "missing {quad} in\n{canonical}");
    }
    // And the golden file, read as bytes, canonicalises the same way.
    let golden = std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(GOLDEN)).expect(GOLDEN);
    assert_eq!(canonicalizer().canonicalize(&golden).as_deref(), Ok(canonical.as_str()));
}

#[test]
fn the_reference_microcredential_is_three_to_four_kilobytes_compact() {
    let bytes = to_json_bytes(&Parts::new(micro_definition(), award()).build());
    assert!((3000..=4600).contains(&bytes.len()), "{} bytes", bytes.len());
    println!("compact size: {} bytes", bytes.len());
}

#[test]
fn the_credential_has_the_shape_ob_and_the_pilot_ask_for() {
    let value = serde_json::to_value(Parts::new(micro_definition(), award()).build()).expect("json");
    let keys: Vec<&str> = value.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "@context",
            "id",
            "type",
            "name",
            "description",
            "issuer",
            "validFrom",
            "awardedDate",
            "credentialSubject",
            "evidence",
            "credentialSchema",
            "credentialStatus"
        ]
    );
    assert_eq!(
        value["@context"],
        json!([
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
            "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
            "https://badges.example.edu/contexts/zegel/v1.jsonld"
        ])
    );
    assert_eq!(value["validFrom"], json!("2026-07-01T09:30:00Z"));
    assert_eq!(
        value["issuer"]["otherIdentifier"],
        json!([{"type": "IdentifierEntry", "identifier": "99VB", "identifierType": "ext:BRIN"}])
    );
    let subject = &value["credentialSubject"];
    assert_eq!(subject["creditsEarned"], json!(7.5));
    assert_eq!(
        subject["result"],
        json!([{"type": ["Result"], "resultDescription": "https://badges.example.edu/achievements/datagedreven-beleid/v/1#grade", "value": "8.5"}])
    );
    let identifiers = subject["identifier"].as_array().expect("identifiers");
    let types: Vec<&str> = identifiers.iter().filter_map(|i| i["identityType"].as_str()).collect();
    assert_eq!(types, ["emailAddress", "ext:eduPersonPrincipalName", "name"]);
    assert_eq!(
        identifiers[2],
        json!({"type": "IdentityObject", "hashed": false, "identityHash": "Sam de Vries", "identityType": "name"})
    );
    let email_hash = identifiers[0]["identityHash"].as_str().expect("hash");
    assert!(identity_matches(email_hash, Some(SALT), "Sam.deVries@student.example.edu"));
    assert!(identity_matches(
        identifiers[1]["identityHash"].as_str().expect("hash"),
        Some(SALT),
        "s1234567@example.edu"
    ));
    let achievement = &subject["achievement"];
    assert_eq!(achievement["achievementType"], json!("MicroCredential"));
    assert_eq!(achievement["ECTS"], json!(7.5));
    assert_eq!(achievement["inLanguage"], json!("nl-NL"));
    let alignment_types: Vec<&str> = achievement["alignment"]
        .as_array()
        .expect("alignments")
        .iter()
        .filter_map(|a| a["targetType"].as_str())
        .collect();
    assert_eq!(alignment_types, ["ext:EQF", "ext:NLQF", "ext:QualityAssurance"]);
    assert_eq!(achievement["alignment"][0]["targetName"], json!("EQF level 6"));
    assert_eq!(achievement["alignment"].as_array().map(Vec::len), Some(4));
    assert_eq!(value["credentialStatus"]["statusListIndex"], json!("48213"));
}

#[test]
fn the_student_number_never_reaches_the_credential() {
    let bytes = to_json_bytes(&Parts::new(micro_definition(), award()).build());
    let text = String::from_utf8(bytes).expect("utf-8");
    assert!(!text.contains("1234567\""), "the student number leaked");
    assert!(!text.contains("student.example.edu"), "the e-mail address must only appear hashed");
}

#[test]
fn building_is_deterministic() {
    let parts = Parts::new(micro_definition(), award());
    assert_eq!(to_json_bytes(&parts.build()), to_json_bytes(&parts.build()));
}

#[test]
fn regular_and_extra_curricular_credentials_pass_schema_and_canonicalisation() {
    for (kind, achievement_type) in [("regular", "Course"), ("extra_curricular", "CoCurricular")] {
        let definition = definition_from(json!({
            "type": kind, "name": "Studentassistent", "description": "Assisteren bij werkcolleges.",
            "criteria": "Een semester lang werkcolleges begeleid.", "language": "nl", "validity_days": 1826
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let mut parts = Parts::new(definition, award());
        parts.valid_until = parts.definition.valid_until(issued_at());
        let credential = parts.build();
        check_issuable(&credential).unwrap_or_else(|e| panic!("{kind}: {e}"));
        let value = serde_json::to_value(&credential).expect("json");
        assert_eq!(value["credentialSubject"]["achievement"]["achievementType"], json!(achievement_type));
        assert_eq!(value["validUntil"], json!("2031-07-01T09:30:00Z"));
        assert!(value["credentialSubject"].get("creditsEarned").is_none());
        assert!(value["credentialSubject"]["achievement"].get("alignment").is_none());
    }
}

#[test]
fn a_microcredential_without_grade_evidence_narrative_or_status_passes_and_omits_them() {
    let mut record = award_json();
    for field in ["grade", "evidence_url", "narrative"] {
        record.as_object_mut().expect("object").remove(field);
    }
    let mut parts = Parts::new(micro_definition(), award_from(record).unwrap_or_else(|e| panic!("{e}")));
    parts.status = Vec::new();
    let credential = parts.build();
    check_issuable(&credential).unwrap_or_else(|e| panic!("{e}"));
    let value = serde_json::to_value(&credential).expect("json");
    for absent in ["evidence", "credentialStatus"] {
        assert!(value.get(absent).is_none(), "{absent}");
    }
    assert!(value["credentialSubject"].get("result").is_none());
    assert!(value["credentialSubject"].get("narrative").is_none());
    assert!(value["credentialSubject"]["achievement"].get("resultDescription").is_none());
}

#[test]
fn a_second_status_entry_would_break_the_strict_schema() {
    // Why CredentialInput takes one status entry: the array form VC 2.0
    // allows is rejected by OB 3.0's strict schema (credentialStatus 0..1).
    let mut credential = Parts::new(micro_definition(), award()).build();
    credential.credential_status.push(CredentialStatus::bitstring(
        &format!("{BASE}/status/2"),
        StatusPurpose::Suspension,
        48_213,
    ));
    let value = serde_json::to_value(&credential).expect("json");
    assert_eq!(value["credentialStatus"].as_array().map(Vec::len), Some(2));
    let violations = schemas().validate(SchemaId::AchievementCredential, &value).expect_err("refused");
    assert!(violations.iter().any(|v| v.instance_path == "/credentialStatus"), "{violations:?}");
    assert!(canonicalizer().canonicalize(&to_json_bytes(&credential)).is_ok(), "JSON-LD itself has no objection");
}

#[test]
fn a_term_no_context_defines_is_refused_by_canonicalisation() {
    // The safety net the builder relies on can fail: an extension term that
    // zegel's context does not define.
    let mut value = serde_json::to_value(Parts::new(micro_definition(), award()).build()).expect("json");
    value["credentialSubject"]["achievement"]["stackable"] = json!(true);
    let bytes = serde_json::to_vec(&value).expect("bytes");
    match canonicalizer().canonicalize(&bytes) {
        Err(JsonLdError::DataLoss(issues)) => {
            assert_eq!(issues, [DataLossIssue::UndefinedProperty("stackable".to_owned())]);
        }
        other => panic!("expected a data-loss error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Schemas
// ---------------------------------------------------------------------------

fn violations_of(path: &str) -> Vec<SchemaViolation> {
    let doc = read_json(shared(path));
    schemas().validate(SchemaId::AchievementCredential, &doc).err().unwrap_or_default()
}

#[test]
fn the_generated_reference_vectors_pass_the_achievement_credential_schema() {
    for path in [
        "testvectors/ob3-examples/generated/unsigned.json",
        "testvectors/ob3-examples/generated/signed.json",
        "testvectors/ob3-examples/1edtech-validator/valid/simple.json",
        "testvectors/ob3-examples/1edtech-validator/valid/complete.json",
    ] {
        assert_eq!(violations_of(path), [], "{path}");
    }
}

#[test]
fn a_credential_whose_first_context_is_not_vc_v2_fails_at_the_context() {
    let violations = violations_of("testvectors/ob3-examples/1edtech-validator/invalid/simple-err-context.json");
    assert!(violations.iter().any(|v| v.instance_path.starts_with("/@context")), "{violations:?}");
}

#[test]
fn a_credential_without_issuer_fails_naming_the_issuer() {
    let violations = violations_of("testvectors/ob3-examples/1edtech-validator/invalid/simple-err-issuer.json");
    assert!(violations.iter().any(|v| v.message.contains("\"issuer\"")), "{violations:?}");
}

#[test]
fn an_invalid_identity_object_type_fails_at_its_path() {
    let violations = violations_of(
        "testvectors/ob3-examples/1edtech-validator/invalid/simple-err-credential-subject-identifier-type.json",
    );
    assert!(
        violations.iter().any(|v| v.instance_path.starts_with("/credentialSubject/identifier/0")),
        "{violations:?}"
    );
}

#[test]
fn a_proof_given_as_an_object_fails_the_strict_schema() {
    let violations = violations_of("testvectors/ob3-examples/1edtech-impl-guide/signed.json");
    let proof: Vec<&SchemaViolation> = violations.iter().filter(|v| v.instance_path == "/proof").collect();
    assert_eq!(proof.len(), 1, "{violations:?}");
    assert_eq!(proof[0].to_string(), "/proof: an object with 6 members is not of type \"array\"");
}

#[test]
fn an_issuer_profile_with_a_string_type_gets_a_message_naming_each_allowed_form() {
    let mut value = serde_json::to_value(Parts::new(micro_definition(), award()).build()).expect("json");
    value["issuer"]["type"] = json!("Profile");
    let violations = schemas().validate(SchemaId::AchievementCredential, &value).expect_err("refused");
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].instance_path, "/issuer");
    assert_eq!(
        violations[0].message,
        "an object with 7 members matches none of the allowed forms: \
         (1) an object with 7 members is not of type \"string\" \
         (2) /type: \"Profile\" is not of type \"array\""
    );
}

#[test]
fn date_times_without_a_time_zone_fail_the_schema() {
    let mut value = read_json(shared("testvectors/ob3-examples/generated/unsigned.json"));
    value["validFrom"] = json!("2025-01-01T00:00:00");
    let violations = schemas().validate(SchemaId::AchievementCredential, &value).expect_err("refused");
    assert_eq!(violations.iter().map(|v| v.instance_path.as_str()).collect::<Vec<_>>(), ["/validFrom"]);
}

#[test]
fn credential_schema_urls_map_to_the_bundled_schemas() {
    assert_eq!(
        SchemaId::from_url(
            "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
        ),
        Some(SchemaId::AchievementCredential)
    );
    assert_eq!(SchemaId::from_url("https://example.com/schema.json"), None);
}

/// Run with `cargo test --release --test credential -- --ignored --nocapture`.
#[test]
#[ignore = "timing; run in release mode"]
fn schema_validation_speed_of_the_reference_credential() {
    let value = serde_json::to_value(Parts::new(micro_definition(), award()).build()).expect("json");
    let schemas = Schemas::new();
    let started = std::time::Instant::now();
    let compiled = Schemas::new();
    let compile_time = started.elapsed();
    drop(compiled);
    let rounds = 20_000u32;
    for _ in 0..1_000 {
        assert!(schemas.validate(SchemaId::AchievementCredential, &value).is_ok());
    }
    let started = std::time::Instant::now();
    for _ in 0..rounds {
        assert!(schemas.validate(SchemaId::AchievementCredential, std::hint::black_box(&value)).is_ok());
    }
    let per = started.elapsed() / rounds;
    let parse_started = std::time::Instant::now();
    let bytes = to_json_bytes(&Parts::new(micro_definition(), award()).build());
    for _ in 0..rounds {
        let v: Value = serde_json::from_slice(std::hint::black_box(&bytes)).expect("json");
        std::hint::black_box(v);
    }
    let parse_per = parse_started.elapsed() / rounds;
    println!(
        "compile all schemas: {compile_time:?}; validate one {}-byte credential: {per:?} \
         ({:.0}/s); parse it from bytes: {parse_per:?}",
        bytes.len(),
        1.0 / per.as_secs_f64()
    );
}

// ---------------------------------------------------------------------------
// Property: arbitrary text still yields an issuable credential
// ---------------------------------------------------------------------------

fn nasty_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC{1,40}",
        Just("</script><script>alert(\"x\")</script>".to_owned()),
        Just("\"quoted\" \\ back\\slash \u{0} nul \u{7f} del \u{2028} sep".to_owned()),
        Just("@context".to_owned()),
        Just("_:b0 <http://x> \"y\" .".to_owned()),
        Just("😀 ü ß 中文 \u{200b}".to_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_either_is_refused_by_field_or_yields_an_issuable_credential(
        name in nasty_text(),
        description in nasty_text(),
        grade in nasty_text(),
        narrative in nasty_text(),
        given_name in nasty_text(),
    ) {
        let mut definition = micro_definition_json();
        definition["name"] = json!(name);
        definition["description"] = json!(description);
        let mut record = award_json();
        record["grade"] = json!(grade);
        record["narrative"] = json!(narrative);
        record["learner"]["given_name"] = json!(given_name);
        match (definition_from(definition), award_from(record)) {
            (Ok(definition), Ok(award)) => {
                let credential = Parts::new(definition, award).build();
                prop_assert!(check_issuable(&credential).is_ok(), "{:?}", check_issuable(&credential));
            }
            (d, a) => {
                // Refusals name only fields that were changed.
                let changed = ["name", "description", "grade", "narrative", "learner.given_name"];
                for errors in [d.err(), a.err()].into_iter().flatten() {
                    prop_assert!(errors.iter().all(|e| changed.contains(&e.field.as_str())), "{errors}");
                }
            }
        }
    }

    #[test]
    fn arbitrary_text_placed_straight_into_the_model_still_passes(
        name in nasty_text(),
        value in nasty_text(),
        learning_outcome in nasty_text(),
        learner_name in nasty_text(),
    ) {
        // Bypasses domain validation (control characters included) to show
        // that serialisation, the schema and canonicalisation cope with any
        // string the model can hold.
        let mut credential = Parts::new(micro_definition(), award()).build();
        credential.name = Some(name.clone());
        credential.credential_subject.achievement.name = name;
        credential.credential_subject.achievement.learning_outcome.push(learning_outcome);
        credential.credential_subject.result[0].value = Some(value);
        credential.credential_subject.identifier[2].identity_hash = learner_name;
        prop_assert!(check_issuable(&credential).is_ok(), "{:?}", check_issuable(&credential));
    }
}

#[test]
fn a_published_achievement_is_the_embedded_one_with_contexts_and_canonicalises_in_safe_mode() {
    let definition = micro_definition();
    let id = url(&format!("{BASE}/achievements/datagedreven-beleid/v/1"));
    let document = zegel::credential::build::achievement_document(&definition, &id, &url(BASE));
    assert_eq!(
        document["@context"],
        json!([
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
            format!("{BASE}/contexts/zegel/v1.jsonld")
        ])
    );
    let embedded = serde_json::to_value(Parts::new(definition, award()).build()).unwrap();
    let mut published = document.clone();
    published.as_object_mut().unwrap().remove("@context");
    let mut expected = embedded["credentialSubject"]["achievement"].clone();
    // The embedded one describes the grade of its own result.
    expected.as_object_mut().unwrap().remove("resultDescription");
    assert_eq!(published, expected);
    zegel::credential::contexts::canonicalizer()
        .canonicalize(&serde_json::to_vec(&document).unwrap())
        .unwrap_or_else(|e| panic!("{e}"));
}

//! Reading OOAPI v5 course results (the Dutch Open Education API) into
//! award requests. Pure. Accepts an expanded `courseOfferingAssociation`
//! (person and offering embedded), or a paginated collection of them
//! (`{"pageSize", "pageNumber", …, "items": [...]}`). Only results that are
//! `completed` and `passed` become awards; every other association is
//! reported as skipped with the reason. A document of another shape is
//! refused whole.
//!
//! OOAPI has no eppn field: where it comes from is configured
//! ([`EppnRule`]), e.g. an `otherCodes` entry with `codeType` `x-eppn`.

use crate::domain::award::{AwardRecordInput, LearnerInput};
use crate::domain::microcredential::ValidationErrors;
use crate::issuance::{AchievementRef, AwardRequest};
use serde_json::Value;

/// Where a person's eppn is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EppnRule {
    /// The `code` of the person's `primaryCode` or `otherCodes` entry with
    /// this `codeType` (e.g. `x-eppn`, `userName`).
    CodeType(String),
    /// The student number (`primaryCode` or `otherCodes` of `codeType`
    /// `studentNumber`) at this scope: `<studentNumber>@<scope>`.
    StudentNumberAt(String),
}

impl EppnRule {
    /// `code:<codeType>` or `studentnumber@<scope>` (ZEGEL_OOAPI_EPPN).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Some(code_type) = text.strip_prefix("code:").filter(|c| !c.trim().is_empty()) {
            return Ok(Self::CodeType(code_type.trim().to_owned()));
        }
        if let Some(scope) = text.strip_prefix("studentnumber@").filter(|s| s.contains('.')) {
            return Ok(Self::StudentNumberAt(scope.to_owned()));
        }
        Err(format!("{text:?} is not an eppn rule: give code:<codeType> (e.g. code:x-eppn) or studentnumber@<scope>"))
    }
}

impl Default for EppnRule {
    fn default() -> Self {
        Self::CodeType("x-eppn".to_owned())
    }
}

/// One association of the document and what becomes of it.
#[derive(Debug, Clone)]
pub struct OoapiItem {
    /// Its position in the document (from 0).
    pub index: usize,
    /// Its `associationId`: the award's SIS record id.
    pub association_id: String,
    pub outcome: ItemOutcome,
}

#[derive(Debug, Clone)]
pub enum ItemOutcome {
    /// A completed, passed course result: an award to make.
    Award(Box<AwardRequest>),
    /// Not an award, and not a mistake: why.
    Skipped(String),
    /// Meant as an award but unusable: every problem.
    Refused(ValidationErrors),
}

/// Reads an OOAPI document; `Err` names what makes its shape wrong.
pub fn read(bytes: &[u8], rule: &EppnRule) -> Result<Vec<OoapiItem>, Vec<(String, String)>> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| vec![("document".to_owned(), format!("is not JSON: {e}"))])?;
    let items: Vec<&Value> = match &value {
        Value::Object(object) if object.contains_key("items") => match object.get("items") {
            Some(Value::Array(items)) => items.iter().collect(),
            _ => return Err(vec![("items".into(), "must be an array of associations (OOAPI Pagination)".into())]),
        },
        Value::Object(object) if object.contains_key("associationType") => vec![&value],
        _ => {
            return Err(vec![(
                "document".into(),
                "is neither an OOAPI association (with associationType) nor a page of them (with items)".into(),
            )]);
        }
    };
    let mut problems = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if !item.is_object() {
            problems.push((format!("items[{i}]"), "must be an association object".into()));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(items.into_iter().enumerate().map(|(index, item)| read_item(index, item, rule)).collect())
}

fn text<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

fn read_item(index: usize, item: &Value, rule: &EppnRule) -> OoapiItem {
    let association_id = text(item, "/associationId").unwrap_or_default().to_owned();
    let skipped =
        |why: String| OoapiItem { index, association_id: association_id.clone(), outcome: ItemOutcome::Skipped(why) };
    match text(item, "/associationType") {
        Some("courseOfferingAssociation") => {}
        other => return skipped(format!("a {} is not a course result", other.unwrap_or("association without type"))),
    }
    if let Some(role) = text(item, "/role").filter(|r| *r != "student") {
        return skipped(format!("the role is {role}, not student"));
    }
    match (text(item, "/result/state"), text(item, "/result/pass")) {
        (None, _) => return skipped("there is no result yet".into()),
        (Some("completed"), Some("passed")) => {}
        (Some("completed"), pass) => {
            return skipped(format!("completed but not passed ({})", pass.unwrap_or("no pass")));
        }
        (Some(state), _) => return skipped(format!("the result is {state}, not completed")),
    }

    let mut problems = ValidationErrors::new();
    if association_id.is_empty() {
        problems.push("associationId", "is required: it is the award's record id");
    }
    let person = item.get("person");
    if !person.is_some_and(|p| p.get("givenName").is_some() || p.get("surname").is_some()) {
        problems.push("person", "must be expanded (the Person object, not only its personId)");
    }
    let course_code = text(item, "/offering/primaryCode/code");
    if course_code.is_none() {
        problems.push("offering.primaryCode.code", "is required (expanded offering): it maps to a microcredential");
    }
    let person = person.cloned().unwrap_or(Value::Null);
    let codes = || {
        std::iter::once(person.get("primaryCode"))
            .flatten()
            .chain(person.get("otherCodes").and_then(Value::as_array).into_iter().flatten())
    };
    let code_of = |code_type: &str| {
        codes()
            .find(|c| c.get("codeType").and_then(Value::as_str) == Some(code_type))
            .and_then(|c| c.get("code").and_then(Value::as_str))
            .map(str::to_owned)
    };
    let student_number = code_of("studentNumber");
    let eppn = match rule {
        EppnRule::CodeType(code_type) => code_of(code_type),
        EppnRule::StudentNumberAt(scope) => student_number.as_ref().map(|n| format!("{n}@{scope}")),
    };
    if !problems.is_empty() {
        return OoapiItem { index, association_id, outcome: ItemOutcome::Refused(problems) };
    }
    let request = AwardRequest {
        achievement: course_code.map(|code| AchievementRef::CourseCode(code.to_owned())),
        record: AwardRecordInput {
            record_id: Some(association_id.clone()),
            learner: Some(LearnerInput {
                eppn,
                email: text(&person, "/mail").map(str::to_owned),
                given_name: text(&person, "/givenName").map(str::to_owned),
                surname_prefix: text(&person, "/surnamePrefix").map(str::to_owned),
                surname: text(&person, "/surname").map(str::to_owned),
                student_number,
            }),
            grade: text(item, "/result/score").map(str::to_owned),
            completed_on: text(item, "/result/resultDate").map(str::to_owned),
            evidence_url: None,
            narrative: None,
        },
        shape_problems: ValidationErrors::new(),
    };
    OoapiItem { index, association_id, outcome: ItemOutcome::Award(Box::new(request)) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn association(state: &str, pass: &str) -> Value {
        json!({"associationId": "123e4567-e89b-12d3-a456-426614174000", "associationType": "courseOfferingAssociation",
          "role": "student", "state": "associated",
          "result": {"state": state, "pass": pass, "score": "8", "resultDate": "2026-06-30",
                     "studyLoad": {"studyLoadUnit": "ects", "value": 5}},
          "person": {"personId": "p1", "primaryCode": {"codeType": "studentNumber", "code": "1234567"},
                     "givenName": "Sam", "surnamePrefix": "de", "surname": "Vries", "displayName": "Sam de Vries",
                     "affiliations": ["student"], "mail": "sam@student.uni.nl", "activeEnrollment": true,
                     "otherCodes": [{"codeType": "x-eppn", "code": "1234567@uni.nl"}]},
          "offering": {"offeringId": "o1", "offeringType": "course",
                       "primaryCode": {"codeType": "offeringCode", "code": "MC-DATA-26"}}})
    }

    fn award(item: &OoapiItem) -> &AwardRequest {
        match &item.outcome {
            ItemOutcome::Award(request) => request,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_contract_example_becomes_an_award() {
        let items = read(association("completed", "passed").to_string().as_bytes(), &EppnRule::default()).unwrap();
        let request = award(&items[0]);
        assert_eq!(request.achievement, Some(AchievementRef::CourseCode("MC-DATA-26".into())));
        assert_eq!(request.record.record_id.as_deref(), Some("123e4567-e89b-12d3-a456-426614174000"));
        let learner = request.record.learner.as_ref().unwrap();
        assert_eq!(learner.eppn.as_deref(), Some("1234567@uni.nl"));
        assert_eq!(learner.student_number.as_deref(), Some("1234567"));
        assert_eq!(request.record.grade.as_deref(), Some("8"));
        assert_eq!(request.record.completed_on.as_deref(), Some("2026-06-30"));
        let rule = EppnRule::parse("studentnumber@uni.example.nl").unwrap();
        let items = read(association("completed", "passed").to_string().as_bytes(), &rule).unwrap();
        assert_eq!(award(&items[0]).record.learner.as_ref().unwrap().eppn.as_deref(), Some("1234567@uni.example.nl"));
    }

    #[test]
    fn a_page_skips_what_is_not_a_passed_course_with_the_reason() {
        let mut lecturer = association("completed", "passed");
        lecturer["role"] = json!("lecturer");
        let mut program = association("completed", "passed");
        program["associationType"] = json!("programOfferingAssociation");
        let mut unexpanded = association("completed", "passed");
        unexpanded["person"] = json!({"personId": "p1"});
        let page = json!({"pageSize": 10, "pageNumber": 1, "hasPreviousPage": false, "hasNextPage": false,
            "totalPages": 1, "items": [association("completed", "passed"), association("completed", "failed"),
            association("in progress", "unknown"), lecturer, program, unexpanded]});
        let items = read(page.to_string().as_bytes(), &EppnRule::default()).unwrap();
        award(&items[0]);
        let reasons: Vec<String> = items[1..5]
            .iter()
            .map(|i| match &i.outcome {
                ItemOutcome::Skipped(why) => why.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            reasons,
            [
                "completed but not passed (failed)",
                "the result is in progress, not completed",
                "the role is lecturer, not student",
                "a programOfferingAssociation is not a course result",
            ]
        );
        assert!(matches!(&items[5].outcome, ItemOutcome::Refused(p) if p.iter().any(|p| p.field == "person")));
    }

    #[test]
    fn a_document_of_another_shape_is_refused_whole() {
        for bad in [&b"not json"[..], b"[]", b"{\"items\": 3}", b"{\"name\": \"x\"}", b"{\"items\": [1]}"] {
            assert!(read(bad, &EppnRule::default()).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        assert!(EppnRule::parse("code:").is_err() && EppnRule::parse("whatever").is_err());
    }
}

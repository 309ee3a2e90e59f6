//! A completed microcredential record from a student-information system, and
//! the learner it is about.
//!
//! [`AwardRecord::parse`] takes the raw [`AwardRecordInput`] and the current
//! date (time is a parameter here, never read from the clock) and reports
//! every problem at once.

use super::microcredential::{
    HttpsUrl, LongText, Name, NonEmptyText, ValidationErrors, ValueError, given, text_newtype,
};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// An e-mail address, trimmed and lower-cased.
///
/// Lower-casing is deliberate: Edubadges stores `recipient_email` and `eppn`
/// in lower case, and zegel hashes the address into the credential
/// (`IdentityObject`), so one spelling per address keeps a learner's
/// credentials matchable however the SIS capitalised the address. (The local
/// part is case-sensitive in theory; no Dutch institution relies on that.)
///
/// The shape checked is the practical one: one `@`, a local part of at most
/// 64 characters from the RFC 5322 "atext" set with single dots, and a domain
/// name with at least two labels; at most 254 characters in all.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let invalid = || ValueError::new("must be an e-mail address, like student@example.edu");
        let s = s.trim().to_lowercase();
        if s.len() > 254 {
            return Err(ValueError::new("must be at most 254 characters long"));
        }
        let (local, domain) = s.split_once('@').ok_or_else(invalid)?;
        let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && local.split('.').all(|part| !part.is_empty() && part.chars().all(atext));
        if !local_ok || !is_domain_name(domain) {
            return Err(invalid());
        }
        Ok(Self(s))
    }
}
text_newtype!(EmailAddress);

/// An eduPersonPrincipalName: `user@scope`, where the scope is the
/// institution's domain (e.g. `s1234567@example.edu`). Trimmed and
/// lower-cased, as Edubadges stores it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Eppn(String);

impl Eppn {
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let invalid = || ValueError::new("must be an eduPersonPrincipalName: user@scope, like s1234567@example.edu");
        let s = s.trim().to_lowercase();
        if s.len() > 255 {
            return Err(ValueError::new("must be at most 255 characters long"));
        }
        let (user, scope) = s.split_once('@').ok_or_else(invalid)?;
        let user_ok = !user.is_empty() && user.chars().all(|c| c.is_ascii_graphic() && c != '@');
        if !user_ok || !is_domain_name(scope) {
            return Err(invalid());
        }
        Ok(Self(s))
    }

    /// The part after `@`: the institution's domain.
    pub fn scope(&self) -> &str {
        self.0.split_once('@').map_or("", |(_, scope)| scope)
    }
}
text_newtype!(Eppn);

/// A DNS name with at least two labels of letters, digits and inner hyphens.
fn is_domain_name(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    s.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
        && labels.last().is_some_and(|tld| tld.bytes().any(|b| b.is_ascii_alphabetic()))
}

/// A student number as the SIS knows it: 1 to 64 visible ASCII characters.
/// Never put in a credential.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StudentNumber(String);

impl StudentNumber {
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        if !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ValueError::new("must be 1 to 64 letters, digits or punctuation, without spaces"))
        }
    }
}
text_newtype!(StudentNumber);

/// The SIS's own id of a record: 1 to 128 printable ASCII characters, no
/// leading or trailing space. zegel is idempotent on it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(String);

impl RecordId {
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ValueError::new("must not be empty"));
        }
        if s.len() > 128 {
            return Err(ValueError::new(format!("must be at most 128 characters (it has {})", s.len())));
        }
        if !s.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
            return Err(ValueError::new("must contain only printable ASCII characters"));
        }
        Ok(Self(s.to_owned()))
    }
}
text_newtype!(RecordId);

/// A grade as free text (`8.5`, `voldoende`, `pass`), at most 254 characters
/// like Edubadges' `grade_achieved`.
pub type Grade = NonEmptyText<254>;

/// The learner an award is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Learner {
    /// At least one of `eppn` and `email` is present.
    pub eppn: Option<Eppn>,
    pub email: Option<EmailAddress>,
    pub given_name: Name,
    /// The Dutch "tussenvoegsel" (`de`, `van der`), kept apart from the
    /// surname as the SIS and OOAPI (`surnamePrefix`) keep it.
    pub surname_prefix: Option<Name>,
    pub surname: Name,
    pub student_number: Option<StudentNumber>,
}

impl Learner {
    /// Given name, prefix and surname: "Sam de Vries".
    pub fn display_name(&self) -> String {
        let mut name = self.given_name.as_str().to_owned();
        for part in self.surname_prefix.iter().chain(std::iter::once(&self.surname)) {
            name.push(' ');
            name.push_str(part.as_str());
        }
        name
    }

    /// Prefix and surname, as Edubadges' `surname`: "de Vries".
    pub fn full_surname(&self) -> String {
        match &self.surname_prefix {
            Some(prefix) => format!("{prefix} {}", self.surname),
            None => self.surname.to_string(),
        }
    }

    /// Validates `input`, listing every problem with paths relative to the
    /// learner (`email`, `surname`).
    pub fn parse(input: &LearnerInput) -> Result<Self, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let eppn = optional(&mut e, "eppn", &input.eppn, Eppn::parse);
        let email = optional(&mut e, "email", &input.email, EmailAddress::parse);
        if given(&input.eppn).is_none() && given(&input.email).is_none() {
            e.push("eppn", "is required when there is no email address (give eppn, email or both)");
        }
        let given_name = required(&mut e, "given_name", &input.given_name, Name::parse);
        let surname_prefix = optional(&mut e, "surname_prefix", &input.surname_prefix, Name::parse);
        let surname = required(&mut e, "surname", &input.surname, Name::parse);
        let student_number = optional(&mut e, "student_number", &input.student_number, StudentNumber::parse);
        match (given_name, surname) {
            (Some(given_name), Some(surname)) if e.is_empty() => {
                Ok(Self { eppn, email, given_name, surname_prefix, surname, student_number })
            }
            _ => Err(e),
        }
    }
}

/// A completed record, validated.
///
/// Deserialising (to load a stored record) validates every field again, but
/// not the completion date against the current date: that was checked when
/// the record was received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwardRecord {
    record_id: RecordId,
    learner: Learner,
    grade: Option<Grade>,
    completed_on: NaiveDate,
    evidence_url: Option<HttpsUrl>,
    narrative: Option<LongText>,
}

/// The learner as received.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LearnerInput {
    pub eppn: Option<String>,
    pub email: Option<String>,
    pub given_name: Option<String>,
    pub surname_prefix: Option<String>,
    pub surname: Option<String>,
    pub student_number: Option<String>,
}

/// A record as received from the SIS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AwardRecordInput {
    pub record_id: Option<String>,
    pub learner: Option<LearnerInput>,
    pub grade: Option<String>,
    /// `YYYY-MM-DD`.
    pub completed_on: Option<String>,
    pub evidence_url: Option<String>,
    pub narrative: Option<String>,
}

impl AwardRecord {
    /// Validates `input`, listing every problem. `today` is the current date
    /// in the institution's time zone: a record cannot be completed after it.
    pub fn parse(input: AwardRecordInput, today: NaiveDate) -> Result<Self, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let record_id = match &input.record_id {
            Some(id) => e.check("record_id", RecordId::parse(id)),
            None => e.required("record_id", None),
        };
        let learner = match &input.learner {
            Some(l) => match Learner::parse(l) {
                Ok(learner) => Some(learner),
                Err(problems) => {
                    e.extend_nested("learner", problems);
                    None
                }
            },
            None => {
                e.push("learner", "is required (eppn and/or email, given_name, surname)");
                None
            }
        };
        let grade = optional(&mut e, "grade", &input.grade, Grade::parse);
        let completed_on = required(&mut e, "completed_on", &input.completed_on, |s| {
            let date = NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| ValueError::new("must be a date written YYYY-MM-DD, like 2026-06-30"))?;
            if date > today {
                return Err(ValueError::new(format!("must not be in the future (today is {today})")));
            }
            Ok(date)
        });
        let evidence_url = optional(&mut e, "evidence_url", &input.evidence_url, HttpsUrl::parse);
        let narrative = optional(&mut e, "narrative", &input.narrative, LongText::parse);
        match (record_id, learner, completed_on) {
            (Some(record_id), Some(learner), Some(completed_on)) if e.is_empty() => {
                Ok(Self { record_id, learner, grade, completed_on, evidence_url, narrative })
            }
            _ => Err(e),
        }
    }

    pub fn record_id(&self) -> &RecordId {
        &self.record_id
    }

    pub fn learner(&self) -> &Learner {
        &self.learner
    }

    pub fn grade(&self) -> Option<&Grade> {
        self.grade.as_ref()
    }

    pub fn completed_on(&self) -> NaiveDate {
        self.completed_on
    }

    pub fn evidence_url(&self) -> Option<&HttpsUrl> {
        self.evidence_url.as_ref()
    }

    pub fn narrative(&self) -> Option<&LongText> {
        self.narrative.as_ref()
    }
}

fn required<T>(
    e: &mut ValidationErrors,
    field: &str,
    value: &Option<String>,
    parse: impl Fn(&str) -> Result<T, ValueError>,
) -> Option<T> {
    match value {
        Some(s) => e.check(field, parse(s)),
        None => e.required(field, None),
    }
}

/// Blank counts as not given.
fn optional<T>(
    e: &mut ValidationErrors,
    field: &str,
    value: &Option<String>,
    parse: impl Fn(&str) -> Result<T, ValueError>,
) -> Option<T> {
    given(value).and_then(|s| e.check(field, parse(s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_name_puts_the_prefix_between_given_name_and_surname() {
        let learner = Learner::parse(&LearnerInput {
            eppn: Some("s1@example.edu".into()),
            email: Some("sam@example.edu".into()),
            given_name: Some("Sam".into()),
            surname_prefix: Some("de".into()),
            surname: Some("Vries".into()),
            student_number: None,
        });
        assert_eq!(learner.as_ref().map(Learner::display_name).ok(), Some("Sam de Vries".to_owned()));
        assert_eq!(learner.as_ref().map(Learner::full_surname).ok(), Some("de Vries".to_owned()));
    }

    #[test]
    fn eppn_scope_is_the_part_after_the_at_sign() {
        assert_eq!(Eppn::parse("S1234567@Example.EDU").map(|e| e.scope().to_owned()), Ok("example.edu".to_owned()));
    }
}

//! What to send: an award record as an Edubadges direct award, and due
//! awards grouped into bundles. Pure: no I/O.

use super::edubadges::DirectAward;
use crate::config::IdentifierType;
use crate::domain::award::AwardRecord;

/// The direct award for `record`, and the lower-case eppn or e-mail address
/// Edubadges will key it on; or why it cannot be sent.
pub fn direct_award(
    record: &AwardRecord,
    credential_url: String,
    identifier: IdentifierType,
) -> Result<(DirectAward, String), String> {
    let learner = record.learner();
    // Edubadges needs an address even when it matches on eppn (contract 0.4).
    let Some(email) = learner.email.as_ref().map(|e| e.as_str().to_lowercase()) else {
        return Err("Edubadges needs the learner's e-mail address (learner.email), and the record has none".into());
    };
    let eppn = learner.eppn.as_ref().map(|e| e.as_str().to_lowercase());
    let recipient = match identifier {
        IdentifierType::Email => email.clone(),
        IdentifierType::Eppn => match &eppn {
            Some(eppn) => eppn.clone(),
            None => {
                return Err(
                    "Edubadges matches direct awards on the eppn here (ZEGEL_EDUBADGES_IDENTIFIER_TYPE=eppn), and the record has none"
                        .into(),
                );
            }
        },
    };
    let surname = match &learner.surname_prefix {
        Some(prefix) => format!("{} {}", prefix.as_str(), learner.surname.as_str()),
        None => learner.surname.as_str().to_owned(),
    };
    let award = DirectAward {
        eppn,
        recipient_email: email,
        first_name: Some(learner.given_name.as_str().to_owned()),
        surname: Some(surname),
        grade_achieved: record.grade().map(|g| g.as_str().to_owned()),
        // The credential is the evidence: anyone can verify it there.
        evidence_url: Some(credential_url),
        narrative: record.narrative().map(|n| n.as_str().to_owned()),
    };
    Ok((award, recipient))
}

/// Splits `items` (badge class, recipient, payload) into bundles of at most
/// `size` for one badge class each, in order of first appearance. A
/// recipient appears at most once per bundle: Edubadges would reject the
/// second as a duplicate of the first, and the answer could not tell them apart.
pub fn bundles<T>(items: Vec<(String, String, T)>, size: usize) -> Vec<(String, Vec<(String, T)>)> {
    let size = size.max(1);
    let mut out: Vec<(String, Vec<(String, T)>)> = Vec::new();
    for (badgeclass, recipient, item) in items {
        let open = out.iter_mut().find(|(class, members)| {
            *class == badgeclass && members.len() < size && !members.iter().any(|(r, _)| *r == recipient)
        });
        match open {
            Some((_, members)) => members.push((recipient, item)),
            None => out.push((badgeclass, vec![(recipient, item)])),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use crate::domain::award::{AwardRecordInput, LearnerInput};

    fn record(eppn: Option<&str>, email: Option<&str>) -> AwardRecord {
        let input = AwardRecordInput {
            record_id: Some("r1".into()),
            learner: Some(LearnerInput {
                eppn: eppn.map(Into::into),
                email: email.map(Into::into),
                given_name: Some("Sam".into()),
                surname_prefix: Some("de".into()),
                surname: Some("Vries".into()),
                student_number: None,
            }),
            grade: Some("8.5".into()),
            completed_on: Some("2026-06-30".into()),
            evidence_url: None,
            narrative: None,
        };
        AwardRecord::parse(input, chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()).unwrap()
    }

    #[test]
    fn a_record_becomes_the_direct_award_of_the_contract() {
        let (award, recipient) = direct_award(
            &record(Some("1234567@Uni.example.nl"), Some("Sam@student.example.nl")),
            "https://badges.example.edu/credentials/x".into(),
            IdentifierType::Eppn,
        )
        .unwrap();
        assert_eq!(recipient, "1234567@uni.example.nl");
        assert_eq!(
            serde_json::to_value(&award).unwrap(),
            serde_json::json!({"eppn": "1234567@uni.example.nl", "recipient_email": "sam@student.example.nl",
                "first_name": "Sam", "surname": "de Vries", "grade_achieved": "8.5",
                "evidence_url": "https://badges.example.edu/credentials/x", "narrative": null})
        );
    }

    #[test]
    fn what_edubadges_cannot_take_is_said_plainly() {
        let url = || "https://x/credentials/y".to_owned();
        assert!(
            direct_award(&record(Some("s@x.nl"), None), url(), IdentifierType::Eppn).unwrap_err().contains("e-mail")
        );
        assert!(direct_award(&record(None, Some("s@x.nl")), url(), IdentifierType::Eppn).unwrap_err().contains("eppn"));
        let (award, recipient) = direct_award(&record(None, Some("S@x.nl")), url(), IdentifierType::Email).unwrap();
        assert_eq!((award.eppn, recipient.as_str()), (None, "s@x.nl"));
    }

    #[test]
    fn bundles_hold_one_badge_class_at_most_size_and_each_recipient_once() {
        let items = vec![
            ("A".to_owned(), "r1".to_owned(), 1),
            ("B".to_owned(), "r1".to_owned(), 2),
            ("A".to_owned(), "r2".to_owned(), 3),
            ("A".to_owned(), "r1".to_owned(), 4),
            ("A".to_owned(), "r3".to_owned(), 5),
        ];
        let got: Vec<(String, Vec<i32>)> =
            bundles(items, 2).into_iter().map(|(c, m)| (c, m.into_iter().map(|(_, i)| i).collect())).collect();
        assert_eq!(got, vec![("A".into(), vec![1, 3]), ("B".into(), vec![2]), ("A".into(), vec![4, 5])]);
    }
}

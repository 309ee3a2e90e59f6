//! What the double remembers: direct awards, bundles, assertions (claimed
//! badges), issued tokens and traffic counts, and the snapshot tests judge.

use super::faults::FaultKind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The endpoints the double counts requests for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `POST /oidc/token` (SURFconext).
    Token,
    /// E1 `POST /directaward/create`.
    CreateDirectAwards,
    /// E2 `GET /directaward/bundle/{id}`.
    Bundle,
    /// E3 `PUT /directaward/delete-direct-awards`.
    DeleteDirectAwards,
    /// E4 `POST /issuer/revoke-assertions`.
    RevokeAssertions,
    /// E5 `GET /queries/badge-classes`.
    BadgeClasses,
    /// E6 `GET /queries/direct-awards`.
    DirectAwards,
    /// E7 `GET /public/badges/{id}`.
    PublicBadge,
    /// E8 `GET /health`.
    Health,
    /// Any other path (404, or 301 for a trailing slash).
    Other,
}

impl Endpoint {
    /// Edubadges API endpoints: where untargeted faults strike.
    pub fn is_api(self) -> bool {
        !matches!(self, Endpoint::Token | Endpoint::Health | Endpoint::Other)
    }

    /// Whether Edubadges checks a bearer token (through SURFconext) here.
    pub fn requires_token(self) -> bool {
        self.is_api() && self != Endpoint::PublicBadge
    }
}

/// The status of a direct award. A claimed one no longer exists: Edubadges
/// deletes it and creates an [`Assertion`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DirectAwardStatus {
    Unaccepted,
    Scheduled,
    /// The student declined it.
    Rejected,
    /// Removed by the institution (`delete-direct-awards`).
    Deleted,
}

impl DirectAwardStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DirectAwardStatus::Unaccepted => "Unaccepted",
            DirectAwardStatus::Scheduled => "Scheduled",
            DirectAwardStatus::Rejected => "Rejected",
            DirectAwardStatus::Deleted => "Deleted",
        }
    }
}

/// A direct award as Edubadges stores it (eppn and email in lower case).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DirectAward {
    pub entity_id: String,
    /// The bundle's entity id.
    pub bundle: String,
    /// The badge class's entity id.
    pub badgeclass: String,
    /// The bundle's `identifier_type`: `eppn`, `email` or whatever was sent.
    pub identifier_type: String,
    /// `None` unless the identifier type is `eppn`.
    pub eppn: Option<String>,
    pub recipient_email: String,
    pub status: DirectAwardStatus,
    pub created_at: DateTime<Utc>,
    pub expiration_date: DateTime<Utc>,
    pub delete_at: Option<DateTime<Utc>>,
    pub revocation_reason: Option<String>,
    pub recipient_first_name: Option<String>,
    pub recipient_surname: Option<String>,
    pub grade_achieved: Option<String>,
    pub evidence_url: Option<String>,
    pub narrative: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
}

/// A direct award bundle: one `POST /directaward/create`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bundle {
    pub entity_id: String,
    pub badgeclass: String,
    /// The number of awards in the request, accepted or not.
    pub initial_total: usize,
    /// `Active`, or `Scheduled` when `scheduled_at` was given.
    pub status: String,
    pub identifier_type: String,
    pub notify_recipients: bool,
    pub batch_mode: bool,
    pub sis_user_id: Option<String>,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A claimed badge (an OB2 BadgeInstance).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assertion {
    pub entity_id: String,
    pub badgeclass: String,
    pub bundle: String,
    /// The direct award it was claimed from (which no longer exists).
    /// Edubadges does not keep this link; the double does, for tests.
    pub direct_award: String,
    pub identifier_type: String,
    /// The claimant's eppn; `None` when the award went by email (the bundle
    /// then shows `"eppn": []`).
    pub eppn: Option<String>,
    pub recipient_email: String,
    pub full_name: String,
    /// The direct award's creation time, not the claim time (contract fact 11).
    pub issued_on: DateTime<Utc>,
    pub grade_achieved: Option<String>,
    pub revoked: bool,
    pub revocation_reason: Option<String>,
}

/// A token the token endpoint issued (never its value).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssuedToken {
    pub client_id: String,
    /// The `scope` parameter as sent; `None` when absent.
    pub scope: Option<String>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Invalidated by `expire_tokens` or an `ExpiredToken` fault.
    pub revoked: bool,
}

/// Requests to one endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RequestCounts {
    pub total: u64,
    /// Per answered status.
    pub by_status: BTreeMap<u16, u64>,
    /// Connections closed without an answer (`DropAfterCommit`).
    pub dropped: u64,
}

/// Who holds an award: the badge class and the lower-cased eppn (eppn mode)
/// or email (other modes).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct AwardKey {
    pub badgeclass: String,
    pub recipient: String,
}

impl AwardKey {
    pub fn new(badgeclass: &str, recipient: &str) -> Self {
        AwardKey { badgeclass: badgeclass.to_owned(), recipient: recipient.to_lowercase() }
    }
}

/// A copy of everything the double holds, for tests to judge.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MockState {
    /// Every direct award in every status, oldest first (claimed ones are gone).
    pub direct_awards: Vec<DirectAward>,
    pub bundles: Vec<Bundle>,
    pub assertions: Vec<Assertion>,
    pub tokens: Vec<IssuedToken>,
    /// Requests per endpoint (the test hooks are not counted).
    pub requests: BTreeMap<Endpoint, RequestCounts>,
    /// Faults injected per kind.
    pub faults_injected: BTreeMap<FaultKind, u64>,
    /// The most Edubadges API requests (token endpoint and hooks aside)
    /// that were being answered at one time, latency included.
    pub max_in_flight: usize,
}

impl MockState {
    /// Live awards per holder: direct awards still `Unaccepted` or
    /// `Scheduled` plus unrevoked assertions. Exactly-once delivery means
    /// every value is 1.
    pub fn live_awards(&self) -> BTreeMap<AwardKey, usize> {
        let mut live = BTreeMap::new();
        for da in &self.direct_awards {
            if matches!(da.status, DirectAwardStatus::Unaccepted | DirectAwardStatus::Scheduled) {
                let recipient = recipient_key(&da.identifier_type, da.eppn.as_deref(), &da.recipient_email);
                *live.entry(AwardKey::new(&da.badgeclass, recipient)).or_insert(0) += 1;
            }
        }
        for assertion in self.assertions.iter().filter(|a| !a.revoked) {
            let recipient =
                recipient_key(&assertion.identifier_type, assertion.eppn.as_deref(), &assertion.recipient_email);
            *live.entry(AwardKey::new(&assertion.badgeclass, recipient)).or_insert(0) += 1;
        }
        live
    }

    /// Live awards of one badge class for one eppn or email (any case).
    pub fn live_count(&self, badgeclass: &str, recipient: &str) -> usize {
        self.live_awards().get(&AwardKey::new(badgeclass, recipient)).copied().unwrap_or(0)
    }

    /// Holders with more than one live award: empty when nothing was
    /// delivered twice.
    pub fn over_awarded(&self) -> Vec<(AwardKey, usize)> {
        self.live_awards().into_iter().filter(|(_, n)| *n > 1).collect()
    }

    /// Requests to an endpoint, answered or not.
    pub fn requests_to(&self, endpoint: Endpoint) -> u64 {
        self.requests.get(&endpoint).map_or(0, |c| c.total)
    }

    /// Requests to an endpoint answered with this status.
    pub fn answered(&self, endpoint: Endpoint, status: u16) -> u64 {
        self.requests.get(&endpoint).and_then(|c| c.by_status.get(&status)).copied().unwrap_or(0)
    }

    /// Faults of this kind injected so far.
    pub fn faults(&self, kind: FaultKind) -> u64 {
        self.faults_injected.get(&kind).copied().unwrap_or(0)
    }

    pub fn direct_award(&self, entity_id: &str) -> Option<&DirectAward> {
        self.direct_awards.iter().find(|da| da.entity_id == entity_id)
    }

    pub fn bundle(&self, entity_id: &str) -> Option<&Bundle> {
        self.bundles.iter().find(|b| b.entity_id == entity_id)
    }

    pub fn assertion(&self, entity_id: &str) -> Option<&Assertion> {
        self.assertions.iter().find(|a| a.entity_id == entity_id)
    }

    /// The snapshot as `GET /_mock/state` serves it: this value plus
    /// `live_awards` as a list.
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        let live: Vec<serde_json::Value> = self
            .live_awards()
            .into_iter()
            .map(|(key, count)| serde_json::json!({"badgeclass": key.badgeclass, "recipient": key.recipient, "count": count}))
            .collect();
        if let Some(object) = value.as_object_mut() {
            object.insert("live_awards".into(), live.into());
        }
        value
    }
}

fn recipient_key<'a>(identifier_type: &str, eppn: Option<&'a str>, email: &'a str) -> &'a str {
    match (identifier_type, eppn) {
        ("eppn", Some(eppn)) => eppn,
        _ => email,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn da(id: &str, eppn: &str, status: DirectAwardStatus) -> DirectAward {
        let now = Utc::now();
        DirectAward {
            entity_id: id.into(),
            bundle: "b".into(),
            badgeclass: "bc".into(),
            identifier_type: "eppn".into(),
            eppn: Some(eppn.into()),
            recipient_email: format!("{eppn}.mail"),
            status,
            created_at: now,
            expiration_date: now,
            delete_at: None,
            revocation_reason: None,
            recipient_first_name: None,
            recipient_surname: None,
            grade_achieved: None,
            evidence_url: None,
            narrative: None,
            name: None,
            description: None,
        }
    }

    #[test]
    fn live_awards_count_open_direct_awards_and_unrevoked_assertions() {
        let mut state = MockState::default();
        state.direct_awards.push(da("1", "s1@uni.nl", DirectAwardStatus::Unaccepted));
        state.direct_awards.push(da("2", "s2@uni.nl", DirectAwardStatus::Deleted));
        state.direct_awards.push(da("3", "s2@uni.nl", DirectAwardStatus::Rejected));
        state.direct_awards.push(da("4", "s3@uni.nl", DirectAwardStatus::Scheduled));
        state.assertions.push(Assertion {
            entity_id: "a".into(),
            badgeclass: "bc".into(),
            bundle: "b".into(),
            direct_award: "0".into(),
            identifier_type: "eppn".into(),
            eppn: Some("s1@uni.nl".into()),
            recipient_email: "x@y.nl".into(),
            full_name: "S One".into(),
            issued_on: Utc::now(),
            grade_achieved: None,
            revoked: false,
            revocation_reason: None,
        });
        assert_eq!(state.live_count("bc", "S1@UNI.NL"), 2);
        assert_eq!(state.live_count("bc", "s2@uni.nl"), 0);
        assert_eq!(state.live_count("bc", "s3@uni.nl"), 1);
        assert_eq!(state.over_awarded(), vec![(AwardKey::new("bc", "s1@uni.nl"), 2)]);
        state.assertions[0].revoked = true;
        assert!(state.over_awarded().is_empty());
    }
}

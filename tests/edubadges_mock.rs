//! The Edubadges test double (`zegel::dev::edubadges_mock`), driven from
//! outside with reqwest, as zegel's push client will drive it: the token
//! endpoint, the SIS endpoints E1–E8 with their exact bodies, the test hooks
//! and every fault.

#![allow(clippy::unwrap_used, reason = "a test that cannot set up should fail loudly")]

use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use zegel::dev::edubadges_mock::{
    self, DEFAULT_BADGE_CLASS, DirectAwardStatus, Endpoint, FaultKind, Faults, MockBadgeClass, MockConfig, MockServer,
};

const BC: &str = DEFAULT_BADGE_CLASS;
const FORBIDDEN: &str = r#"{"detail":"Authentication credentials were not provided."}"#;

/// A response, read completely.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{} is not JSON ({e}): {}", self.status, self.text()))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status and returns the body as JSON.
    #[track_caller]
    fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "body: {}", self.text());
        self.json()
    }

    /// Asserts the status and the exact body bytes.
    #[track_caller]
    fn expect_exactly(&self, status: u16, body: &str) {
        assert_eq!((self.status, self.text().as_str()), (status, body));
    }
}

/// The double and a client holding a valid token.
struct Peer {
    mock: MockServer,
    http: reqwest::Client,
    token: String,
}

async fn spawn_with(config: MockConfig) -> Peer {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mock = edubadges_mock::start(listener, config).await.unwrap();
    let http = client_builder().timeout(Duration::from_secs(5)).build().unwrap();
    let mut peer = Peer { mock, http, token: String::new() };
    peer.token = peer.fetch_token().await;
    peer
}

async fn spawn() -> Peer {
    spawn_with(MockConfig::default()).await
}

async fn read(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.unwrap().to_vec();
    Reply { status, headers, body }
}

impl Peer {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.mock.base_url())
    }

    async fn token_request(&self, form: &str, basic: Option<(&str, &str)>) -> Reply {
        let mut request = self
            .http
            .post(self.mock.token_url())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form.to_owned());
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        read(request.send().await.unwrap()).await
    }

    async fn fetch_token(&self) -> String {
        let config = self.mock.config();
        let reply = self
            .token_request(
                "grant_type=client_credentials&scope=edubadges.nl%2Fsis",
                Some((&config.client_id, &config.client_secret)),
            )
            .await;
        reply.expect(200)["access_token"].as_str().unwrap().to_owned()
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>, token: Option<&str>) -> Reply {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        read(request.send().await.unwrap()).await
    }

    async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(reqwest::Method::POST, path, Some(body), Some(&self.token)).await
    }

    async fn put(&self, path: &str, body: &Value) -> Reply {
        self.send(reqwest::Method::PUT, path, Some(body), Some(&self.token)).await
    }

    async fn get(&self, path: &str) -> Reply {
        self.send(reqwest::Method::GET, path, None, Some(&self.token)).await
    }

    /// `POST /directaward/create` for the default badge class.
    async fn create(&self, awards: Value) -> Reply {
        self.post("/directaward/create", &json!({"badgeclass": BC, "notify_recipients": true, "direct_awards": awards}))
            .await
    }

    /// Creates awards and returns the bundle id and the new direct award ids.
    async fn award(&self, awards: Value) -> (String, Vec<String>) {
        let bundle = self.create(awards).await.expect(201)["entity_id"].as_str().unwrap().to_owned();
        let ids = self.get(&format!("/directaward/bundle/{bundle}")).await.expect(200)["direct_awards"]
            .as_array()
            .unwrap()
            .iter()
            .map(|da| da["entity_id"].as_str().unwrap().to_owned())
            .collect();
        (bundle, ids)
    }
}

fn student(n: u32) -> Value {
    json!({"eppn": format!("s{n}@university-example.org"), "recipient_email": format!("s{n}@example.org")})
}

fn validation(fields: Value) -> String {
    json!({"detail": "validation_error", "fields": {"error_message": fields, "error_code": "999"}}).to_string()
}

// ---------------------------------------------------------------------------
// SURFconext token endpoint
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_token_endpoint_takes_basic_or_form_client_authentication_and_records_the_scope() {
    let peer = spawn().await;
    let basic =
        peer.token_request("grant_type=client_credentials", Some(("zegel-mock-client", "zegel-mock-secret"))).await;
    let body = basic.expect(200);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(basic.header("cache-control"), Some("no-store"));
    let form = peer
        .token_request(
            "grant_type=client_credentials&client_id=zegel-mock-client&client_secret=zegel-mock-secret&scope=edubadges.nl%2Fsis",
            None,
        )
        .await;
    let token = form.expect(200)["access_token"].as_str().unwrap().to_owned();
    peer.send(reqwest::Method::GET, "/queries/badge-classes", None, Some(&token)).await.expect(200);

    let tokens = peer.mock.snapshot().tokens;
    let scopes: Vec<Option<&str>> = tokens.iter().map(|t| t.scope.as_deref()).collect();
    assert_eq!(scopes, [Some("edubadges.nl/sis"), None, Some("edubadges.nl/sis")]);
    assert!(tokens.iter().all(|t| t.client_id == "zegel-mock-client" && !t.revoked));
}

#[tokio::test]
async fn the_token_endpoint_refuses_bad_clients_and_grants_like_oidc_ng() {
    let peer = spawn().await;
    let unknown = peer.token_request("grant_type=client_credentials", Some(("someone", "zegel-mock-secret"))).await;
    let body = unknown.expect(401);
    assert_eq!(body["error"], "unauthorized");
    assert_eq!(body["error_description"], "ClientID someone or secret is not correct");
    assert_eq!(body["status"], 401);
    assert_eq!(body["path"], "/oidc/token");
    let wrong = peer.token_request("grant_type=client_credentials", Some(("zegel-mock-client", "guess"))).await;
    assert_eq!(wrong.expect(401)["error"], "access_denied");
    let none = peer.token_request("grant_type=client_credentials&client_id=zegel-mock-client", None).await;
    assert_eq!(none.expect(401)["error_description"], "Non-public client requires authentication");
    let grant = peer.token_request("grant_type=password", Some(("zegel-mock-client", "zegel-mock-secret"))).await;
    assert_eq!(grant.expect(401)["error"], "unauthorized_client");
    let missing =
        peer.token_request("scope=edubadges.nl%2Fsis", Some(("zegel-mock-client", "zegel-mock-secret"))).await;
    assert_eq!(missing.expect(400)["error"], "invalid_request");
    let json_body = read(peer.http.post(peer.mock.token_url()).json(&json!({})).send().await.unwrap()).await;
    assert_eq!(json_body.status, 415);
    assert_eq!(peer.mock.snapshot().tokens.len(), 1, "only the set-up token was issued");
}

#[tokio::test]
async fn expired_tokens_get_403_without_www_authenticate_and_a_new_token_works() {
    let peer = spawn().await;
    peer.get("/queries/badge-classes").await.expect(200);
    peer.mock.expire_tokens();
    let refused = peer.get("/queries/badge-classes").await;
    refused.expect_exactly(403, FORBIDDEN);
    assert!(refused.header("www-authenticate").is_none());
    let fresh = peer.fetch_token().await;
    peer.send(reqwest::Method::GET, "/queries/badge-classes", None, Some(&fresh)).await.expect(200);

    // Tokens also run out on their own.
    let short = spawn_with(MockConfig::default().with_token_ttl(Duration::from_millis(200))).await;
    short.get("/queries/badge-classes").await.expect(200);
    tokio::time::sleep(Duration::from_millis(250)).await;
    short.get("/queries/badge-classes").await.expect_exactly(403, FORBIDDEN);
}

#[tokio::test]
async fn requests_without_a_valid_bearer_token_get_403() {
    let peer = spawn().await;
    let body = json!({"badgeclass": BC, "notify_recipients": true, "direct_awards": [student(1)]});
    for token in [None, Some("not-a-token")] {
        let reply = peer.send(reqwest::Method::POST, "/directaward/create", Some(&body), token).await;
        reply.expect_exactly(403, FORBIDDEN);
    }
    // Authentication comes before the method check, as in DRF.
    peer.send(reqwest::Method::GET, "/directaward/create", None, None).await.expect_exactly(403, FORBIDDEN);
    // Edubadges skips OIDC for requests marked as coming from its own UI.
    let marked = peer
        .http
        .post(peer.url("/directaward/create"))
        .bearer_auth(&peer.token)
        .header("X-Requested-With", "client")
        .json(&body)
        .send()
        .await
        .unwrap();
    read(marked).await.expect_exactly(403, FORBIDDEN);
    assert!(peer.mock.snapshot().direct_awards.is_empty());
}

// ---------------------------------------------------------------------------
// E1 create
// ---------------------------------------------------------------------------

#[tokio::test]
async fn create_answers_201_with_the_bundle_and_stores_lower_cased_direct_awards() {
    let peer = spawn().await;
    let reply = peer
        .create(json!([
            {"eppn": "S1@University-Example.ORG", "recipient_email": "S1@Example.org", "first_name": "Sam",
             "surname": "de Vries", "grade_achieved": "8.5", "evidence_url": null, "narrative": null},
            student(2),
        ]))
        .await;
    let body = reply.expect(201);
    assert_eq!(reply.header("content-type"), Some("application/ld+json"), "DRF's first renderer is JSON-LD");
    let bundle = body["entity_id"].as_str().unwrap();
    assert_eq!(body, json!({"badgeclass": BC, "entity_id": bundle}), "no direct award ids in the answer");
    assert_eq!(bundle.len(), 22);

    let state = peer.mock.snapshot();
    assert_eq!(state.direct_awards.len(), 2);
    let first = &state.direct_awards[0];
    assert_eq!(first.eppn.as_deref(), Some("s1@university-example.org"));
    assert_eq!(first.recipient_email, "s1@example.org");
    assert_eq!(first.status, DirectAwardStatus::Unaccepted);
    assert_eq!(first.grade_achieved.as_deref(), Some("8.5"));
    assert_eq!(first.bundle, bundle);
    assert_eq!(state.bundles[0].initial_total, 2);
    assert_eq!(state.live_count(BC, "S1@university-example.org"), 1);

    // Asking for JSON gives JSON.
    let json_reply = read(
        peer.http
            .get(peer.url(&format!("/directaward/bundle/{bundle}")))
            .bearer_auth(&peer.token)
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(json_reply.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn a_partly_duplicate_create_is_201_with_un_successful_direct_award() {
    let peer = spawn().await;
    peer.create(json!([student(1)])).await.expect(201);
    let body = peer.create(json!([student(1), student(2)])).await.expect(201);
    assert_eq!(
        body["un_successful_direct_award"],
        json!([{
            "error": "DirectAward with eppn: s1@university-example.org / email: s1@example.org and status Unaccepted already exists for badgeclass Data Literacy for Professionals (1).",
            "eppn": "s1@university-example.org",
            "email": "s1@example.org",
        }])
    );
    assert_eq!(peer.mock.snapshot().direct_awards.len(), 2);
}

#[tokio::test]
async fn an_all_duplicate_create_is_400_with_a_python_repr_and_stores_nothing() {
    let peer = spawn().await;
    peer.create(json!([student(1)])).await.expect(201);
    let reply =
        peer.create(json!([{"eppn": "S1@university-example.org", "recipient_email": "other@example.org"}])).await;
    reply.expect_exactly(
        400,
        r#"{"error": "No valid DirectAwards are created. All of them were rejected: [{'error': 'DirectAward with eppn: s1@university-example.org / email: other@example.org and status Unaccepted already exists for badgeclass Data Literacy for Professionals (1).', 'eppn': 's1@university-example.org', 'email': 'other@example.org'}]"}"#,
    );
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let state = peer.mock.snapshot();
    assert_eq!((state.bundles.len(), state.direct_awards.len()), (1, 1));
}

#[tokio::test]
async fn email_mode_awards_are_duplicates_by_email_and_keep_no_eppn() {
    let peer = spawn().await;
    let body = |email: &str| {
        json!({"badgeclass": BC, "notify_recipients": false, "identifier_type": "email",
               "direct_awards": [{"eppn": "ignored@uni.nl", "recipient_email": email}]})
    };
    peer.post("/directaward/create", &body("A@example.org")).await.expect(201);
    let again = peer.post("/directaward/create", &body("a@EXAMPLE.org")).await;
    assert!(again.expect(400)["error"].as_str().unwrap().contains("'eppn': None, 'email': 'a@example.org'"));
    let state = peer.mock.snapshot();
    assert_eq!(state.direct_awards[0].eppn, None);
    assert_eq!(state.live_count(BC, "a@example.org"), 1);
}

#[tokio::test]
async fn create_refuses_unknown_disabled_and_unpublished_badge_classes() {
    let config = MockConfig::default()
        .with_badge_class(MockBadgeClass::new("disabledBadgeClass0001", "Closed Course").awarding_disabled())
        .with_badge_class(MockBadgeClass::new("privateBadgeClass00001", "Draft Course").private());
    let peer = spawn_with(config).await;
    let body = |bc: &str| json!({"badgeclass": bc, "notify_recipients": true, "direct_awards": [student(1)]});
    peer.post("/directaward/create", &body("nope")).await.expect_exactly(
        400,
        &validation(json!({"badgeclass": [{"error_code": "999", "error_message": "Object with entity_id=nope does not exist."}]})),
    );
    peer.post("/directaward/create", &body("disabledBadgeClass0001"))
        .await
        .expect_exactly(400, r#"{"error": "Direct awarding disabled for Closed Course"}"#);
    peer.post("/directaward/create", &body("privateBadgeClass00001"))
        .await
        .expect_exactly(400, r#"{"error": " Badgeclass Draft Course is not published. Direct awarding not allowed"}"#);
    let missing = json!({"notify_recipients": true, "direct_awards": [student(1)]});
    peer.post("/directaward/create", &missing).await.expect_exactly(400, r#"{"error": "'badgeclass'"}"#);
    assert!(peer.mock.snapshot().bundles.is_empty());
}

#[tokio::test]
async fn create_reports_missing_and_invalid_fields_in_edubadges_validation_shape() {
    let peer = spawn_with(MockConfig::default().with_eppn_regex(r"[a-z0-9.]+@university-example\.org")).await;
    peer.post("/directaward/create", &json!({"badgeclass": BC})).await.expect_exactly(
        400,
        &validation(json!({
            "direct_awards": [{"error_code": "904", "error_message": "This field is required."}],
            "notify_recipients": [{"error_code": "904", "error_message": "This field is required."}],
        })),
    );
    // A bad email and a bad eppn: nested under their list item, {} for the good one.
    let reply = peer
        .create(json!([
            student(1),
            {"eppn": "s2@university-example.org", "recipient_email": "not-an-email"},
            {"eppn": "s3@elsewhere.org", "recipient_email": "s3@example.org"},
        ]))
        .await;
    reply.expect_exactly(
        400,
        &validation(json!({"direct_awards": [
            {},
            {"recipient_email": [{"error_code": "902", "error_message": "Enter a valid email address."}]},
            {"eppn": [{"error_code": "999", "error_message": "Incorrect eppn format"}]},
        ]})),
    );
    peer.create(json!([{"eppn": "s1@university-example.org"}]))
        .await
        .expect_exactly(400, r#"{"error": "'recipient_email'"}"#);
    peer.create(json!([{"recipient_email": "s1@example.org"}])).await.expect_exactly(400, r#"{"error": "'eppn'"}"#);
    let wrong_type = json!({"badgeclass": BC, "notify_recipients": "perhaps", "direct_awards": [student(1)]});
    assert_eq!(
        peer.post("/directaward/create", &wrong_type).await.expect(400)["fields"]["error_message"]["notify_recipients"]
            [0]["error_code"],
        "902"
    );
    assert!(peer.mock.snapshot().direct_awards.is_empty(), "nothing of a refused request is stored");
}

#[tokio::test]
async fn scheduled_awards_are_scheduled_and_not_duplicates() {
    let peer = spawn().await;
    let body = json!({"badgeclass": BC, "notify_recipients": true, "scheduled_at": "2030-09-01T09:00:00+02:00",
                      "direct_awards": [student(1)]});
    let bundle = peer.post("/directaward/create", &body).await.expect(201)["entity_id"].as_str().unwrap().to_owned();
    let status = peer.get(&format!("/directaward/bundle/{bundle}")).await.expect(200);
    assert_eq!(status["status"], "Scheduled");
    assert_eq!(status["direct_award_scheduled_count"], 1);
    assert_eq!(status["direct_award_count"], 0);
    // Only Unaccepted awards count as duplicates.
    peer.post("/directaward/create", &body).await.expect(201);
    assert_eq!(peer.mock.snapshot().over_awarded().len(), 1, "the judge sees two live awards for s1");
}

// ---------------------------------------------------------------------------
// E2 bundle, claims, E6 listings
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_bundle_shows_counts_awards_and_assertions_and_unknown_bundles_are_empty_404s() {
    let peer = spawn().await;
    let (bundle, das) = peer.award(json!([student(1), student(2), {"recipient_email": "s3@example.org", "eppn": "s3@uni.nl", "first_name": "Sam", "surname": "Drie"}])).await;
    let assertion = peer.mock.claim(&das[2]).unwrap();
    assert!(peer.mock.reject(&das[1]));
    let body = peer.get(&format!("/directaward/bundle/{bundle}")).await.expect(200);
    assert_eq!(body["badgeclass"], "Data Literacy for Professionals", "the NAME, not the id");
    assert_eq!(body["initial_total"], 3);
    assert_eq!(body["status"], "Active");
    assert_eq!(
        (&body["assertion_count"], &body["direct_award_count"], &body["direct_award_rejected_count"]),
        (&json!(1), &json!(1), &json!(1))
    );
    assert_eq!(body["direct_awards"].as_array().unwrap().len(), 2, "the claimed award is gone");
    assert_eq!(
        body["badge_assertions"],
        json!([{"full_name": "Sam Drie", "email": "s3@example.org", "public": true, "revoked": false,
                "entity_id": assertion, "eppn": "s3@uni.nl"}])
    );

    let missing = peer.get("/directaward/bundle/AAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!((missing.status, missing.body.len()), (404, 0));
    assert!(missing.header("content-type").is_none());
}

#[tokio::test]
async fn a_claim_turns_the_award_into_an_assertion_and_the_same_award_can_be_created_again() {
    let peer = spawn().await;
    let (bundle, das) = peer.award(json!([student(1)])).await;
    let created_at = peer.mock.snapshot().direct_awards[0].created_at;

    // The claim, through the HTTP hook.
    let claimed = read(peer.http.post(peer.url(&format!("/_mock/claim/{}", das[0]))).send().await.unwrap()).await;
    let assertion_id = claimed.expect(201)["entity_id"].as_str().unwrap().to_owned();
    let state = peer.mock.snapshot();
    assert!(state.direct_award(&das[0]).is_none(), "Edubadges deletes a claimed direct award");
    let assertion = state.assertion(&assertion_id).unwrap();
    assert_eq!(assertion.issued_on, created_at, "issued on the award's creation, not the claim");
    assert_eq!((assertion.bundle.as_str(), assertion.direct_award.as_str()), (bundle.as_str(), das[0].as_str()));
    assert!(peer.mock.claim(&das[0]).is_none(), "a claim happens once");

    // The trap: nothing stops a second award for the same student.
    peer.create(json!([student(1)])).await.expect(201);
    let state = peer.mock.snapshot();
    assert_eq!(state.live_count(BC, "s1@university-example.org"), 2);
    assert_eq!(state.over_awarded().len(), 1);
}

#[tokio::test]
async fn the_direct_awards_query_lists_unclaimed_or_deleted_awards_for_reconciliation() {
    let peer = spawn().await;
    let (_, das) = peer.award(json!([student(1), student(2), student(3), student(4)])).await;
    peer.mock.claim(&das[0]).unwrap();
    peer.mock.reject(&das[1]);
    peer.put("/directaward/delete-direct-awards", &json!({"direct_awards": [{"entity_id": das[2]}]})).await.expect(200);

    let unclaimed = peer.get("/queries/direct-awards?status=unclaimed").await.expect(200);
    let unclaimed = unclaimed.as_array().unwrap();
    assert_eq!(unclaimed.len(), 1);
    let row = &unclaimed[0];
    assert_eq!(row["entityId"], das[3]);
    assert_eq!(row["eppn"], "s4@university-example.org");
    assert_eq!(row["recipientEmail"], "s4@example.org");
    assert_eq!(row["bc_entity_id"], BC);
    assert_eq!(row["name"], "Data Literacy for Professionals");
    assert!(row["created_at"].as_str().unwrap().starts_with("20"), "{row}");
    assert_eq!(
        peer.get("/queries/direct-awards").await.expect(200).as_array().unwrap().len(),
        1,
        "unclaimed is the default"
    );

    let deleted = peer.get("/queries/direct-awards?status=deleted").await.expect(200);
    assert_eq!(deleted.as_array().unwrap().iter().map(|r| r["entityId"].clone()).collect::<Vec<_>>(), [json!(das[2])]);
    assert!(deleted[0]["delete_at"].is_string());

    let classes = peer.get("/queries/badge-classes").await.expect(200);
    assert_eq!(classes[0]["entityId"], BC);
    assert_eq!(classes[0]["isPrivate"], 0);
    assert_eq!(classes[0]["directAwardedAssertionsCount"], 1);
}

// ---------------------------------------------------------------------------
// E3 delete, E4 revoke
// ---------------------------------------------------------------------------

#[tokio::test]
async fn deleting_direct_awards_reports_each_failure_and_all_failed_is_400() {
    let peer = spawn().await;
    let (_, das) = peer.award(json!([student(1), student(2)])).await;
    let body = peer
        .put("/directaward/delete-direct-awards", &json!({"revocation_reason": "wrong course", "direct_awards": [{"entity_id": das[0]}, {"entity_id": "unknownunknownunknown0"}]}))
        .await
        .expect(200);
    assert_eq!(
        body,
        json!({"result": "ok", "un_successful_direct_awards": [
            {"error": "DirectAward matching query does not exist.", "eppn": null, "email": null}]})
    );
    let state = peer.mock.snapshot();
    let deleted = state.direct_award(&das[0]).unwrap();
    assert_eq!(deleted.status, DirectAwardStatus::Deleted);
    assert_eq!(deleted.revocation_reason.as_deref(), Some("wrong course"));
    assert_eq!(state.live_count(BC, "s1@university-example.org"), 0);

    // Deleting it again fails, and when everything fails the answer is 400.
    peer.put("/directaward/delete-direct-awards", &json!({"direct_awards": [{"entity_id": das[0]}]})).await.expect_exactly(
        400,
        r#"{"error": "No valid DirectAwards are deleted. All of them were rejected: [{'error': 'DirectAward has already been deleted', 'eppn': 's1@university-example.org', 'email': 's1@example.org'}]"}"#,
    );
    peer.put("/directaward/delete-direct-awards", &json!({"revocation_reason": "x"})).await.expect_exactly(
        400,
        &validation(json!({"direct_awards": [{"error_message": "This field is required", "error_code": "999"}]})),
    );
}

#[tokio::test]
async fn revoking_assertions_stops_at_the_first_failure_keeping_earlier_revocations() {
    let peer = spawn().await;
    let (_, das) = peer.award(json!([student(1), student(2)])).await;
    let a1 = peer.mock.claim(&das[0]).unwrap();
    let a2 = peer.mock.claim(&das[1]).unwrap();

    let body = |ids: &[&str]| json!({"revocation_reason": "fraud", "assertions": ids.iter().map(|id| json!({"entity_id": id})).collect::<Vec<_>>()});
    peer.post("/issuer/revoke-assertions", &body(&[&a1, "unknownunknownunknown0", &a2]))
        .await
        .expect_exactly(400, r#"{"error": "BadgeInstance matching query does not exist."}"#);
    let state = peer.mock.snapshot();
    assert!(state.assertion(&a1).unwrap().revoked, "the first one was revoked before the failure");
    assert!(!state.assertion(&a2).unwrap().revoked, "the one after it was not reached");

    peer.post("/issuer/revoke-assertions", &body(&[&a1]))
        .await
        .expect_exactly(400, r#"{"error": "['Assertion is already revoked']"}"#);
    peer.post("/issuer/revoke-assertions", &body(&[&a2])).await.expect_exactly(200, r#"{"result":"ok"}"#);
    peer.post("/issuer/revoke-assertions", &json!({"assertions": [{"entity_id": a2}]})).await.expect_exactly(
        400,
        &validation(json!({"revocation_reason": [{"error_message": "This field is required", "error_code": "999"}]})),
    );
    let state = peer.mock.snapshot();
    assert!(state.live_awards().is_empty());
    assert_eq!(state.assertion(&a2).unwrap().revocation_reason.as_deref(), Some("fraud"));
}

// ---------------------------------------------------------------------------
// Protocol edges
// ---------------------------------------------------------------------------

#[tokio::test]
async fn wrong_methods_malformed_json_and_trailing_slashes_answer_like_edubadges() {
    let peer = spawn().await;
    let reply = peer.get("/directaward/create").await;
    reply.expect_exactly(405, r#"{"detail":"Method \"GET\" not allowed."}"#);
    assert_eq!(reply.header("allow"), Some("POST"));
    peer.send(reqwest::Method::DELETE, "/directaward/bundle/x", None, Some(&peer.token))
        .await
        .expect_exactly(405, r#"{"detail":"Method \"DELETE\" not allowed."}"#);

    let malformed = read(
        peer.http
            .post(peer.url("/directaward/create"))
            .bearer_auth(&peer.token)
            .header("Content-Type", "application/json")
            .body("{\"badgeclass\": ")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(malformed.status, 400);
    assert!(malformed.json()["detail"].as_str().unwrap().starts_with("JSON parse error - "), "{}", malformed.text());

    let slash = read(
        client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(peer.url("/directaward/create/"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((slash.status, slash.header("location")), (301, Some("/directaward/create")));
    assert_eq!(peer.get("/nowhere").await.status, 404);

    let health = peer.send(reqwest::Method::GET, "/health", None, None).await;
    health.expect_exactly(200, r#"{"overall_status": "OK", "detailed_status": {"database_status": "OK"}}"#);
    let badge =
        peer.send(reqwest::Method::GET, &format!("/public/badges/{BC}?expand=micro"), None, None).await.expect(200);
    assert_eq!((&badge["type"], &badge["typeBadgeClass"]), (&json!("BadgeClass"), &json!("micro_credential")));
    assert_eq!(peer.send(reqwest::Method::GET, "/public/badges/nope", None, None).await.status, 404);
}

// ---------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------

#[tokio::test]
async fn proxy_faults_answer_without_processing() {
    let peer = spawn().await;
    peer.mock.set_faults(Faults { retry_after_secs: 7, ..Faults::none() });
    peer.mock.push_fault(FaultKind::TooManyRequests);
    peer.mock.push_fault(FaultKind::ServerErrorHtml);
    peer.mock.push_fault(FaultKind::BadGateway);
    peer.mock.push_fault(FaultKind::ServiceUnavailable);
    peer.mock.push_fault(FaultKind::GatewayTimeout);

    let throttled = peer.create(json!([student(1)])).await;
    assert_eq!((throttled.status, throttled.header("retry-after")), (429, Some("7")));
    let html = peer.create(json!([student(1)])).await;
    assert_eq!(html.status, 500);
    assert!(
        html.header("content-type").unwrap().starts_with("text/html") && html.text().contains("Server Error (500)")
    );
    let bad_gateway = peer.create(json!([student(1)])).await;
    assert_eq!((bad_gateway.status, bad_gateway.body.len()), (502, 0));
    let unavailable = peer.create(json!([student(1)])).await;
    assert_eq!(unavailable.status, 503);
    assert!(unavailable.text().contains("<html>"));
    let timeout = peer.create(json!([student(1)])).await;
    assert_eq!((timeout.status, timeout.body.len()), (504, 0));

    let state = peer.mock.snapshot();
    assert!(state.direct_awards.is_empty(), "none of them was processed");
    for (kind, status) in
        [(FaultKind::TooManyRequests, 429), (FaultKind::ServerErrorHtml, 500), (FaultKind::GatewayTimeout, 504)]
    {
        assert_eq!(state.faults(kind), 1);
        assert_eq!(state.answered(Endpoint::CreateDirectAwards, status), 1);
    }
    peer.create(json!([student(1)])).await.expect(201);
    assert_eq!(peer.mock.snapshot().requests_to(Endpoint::CreateDirectAwards), 6);
}

#[tokio::test]
async fn an_introspection_outage_is_a_400_naming_introspect() {
    let peer = spawn().await;
    peer.mock.push_fault(FaultKind::IntrospectOutage);
    let reply = peer.create(json!([student(1)])).await;
    let error = reply.expect(400)["error"].as_str().unwrap().to_owned();
    assert!(error.starts_with("HTTPConnectionPool(host='connect.surfconext.nl', port=443): Max retries exceeded with url: /oidc/introspect ("), "{error}");
    // Without a JSON content type Django answers its 500 page instead.
    peer.mock.push_fault(FaultKind::IntrospectOutage);
    assert_eq!(peer.get("/queries/direct-awards").await.status, 500);
    assert!(peer.mock.snapshot().direct_awards.is_empty());
}

#[tokio::test]
async fn an_expired_token_fault_is_403_and_that_token_stays_dead() {
    let peer = spawn().await;
    peer.mock.push_fault(FaultKind::ExpiredToken);
    peer.create(json!([student(1)])).await.expect_exactly(403, FORBIDDEN);
    peer.create(json!([student(1)])).await.expect_exactly(403, FORBIDDEN);
    assert!(peer.mock.snapshot().direct_awards.is_empty());
    let fresh = peer.fetch_token().await;
    let body = json!({"badgeclass": BC, "notify_recipients": true, "direct_awards": [student(1)]});
    peer.send(reqwest::Method::POST, "/directaward/create", Some(&body), Some(&fresh)).await.expect(201);
}

#[tokio::test]
async fn a_slow_answer_comes_after_the_award_was_stored() {
    let peer = spawn().await;
    peer.mock.set_faults(Faults { slow: Duration::from_millis(300), ..Faults::none() });
    peer.mock.push_fault(FaultKind::Slow);
    let impatient = client_builder().timeout(Duration::from_millis(100)).build().unwrap();
    let body = json!({"badgeclass": BC, "notify_recipients": true, "direct_awards": [student(1)]});
    let error =
        impatient.post(peer.url("/directaward/create")).bearer_auth(&peer.token).json(&body).send().await.unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    assert_eq!(
        peer.mock.snapshot().live_count(BC, "s1@university-example.org"),
        1,
        "processed although the client gave up"
    );

    // A patient client gets the answer, late.
    peer.mock.push_fault(FaultKind::Slow);
    let started = Instant::now();
    peer.create(json!([student(2)])).await.expect(201);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn a_dropped_connection_after_commit_is_a_transport_error_but_the_award_exists() {
    let peer = spawn().await;
    peer.mock.push_fault(FaultKind::DropAfterCommit);
    let body = json!({"badgeclass": BC, "notify_recipients": true, "direct_awards": [student(1)]});
    let error =
        peer.http.post(peer.url("/directaward/create")).bearer_auth(&peer.token).json(&body).send().await.unwrap_err();
    assert!(error.status().is_none() && !error.is_timeout(), "a transport error, not an answer: {error:?}");
    let state = peer.mock.snapshot();
    assert_eq!(state.live_count(BC, "s1@university-example.org"), 1);
    assert_eq!(state.requests[&Endpoint::CreateDirectAwards].dropped, 1);
    assert_eq!(state.faults(FaultKind::DropAfterCommit), 1);

    // Reconciliation finds it; a blind re-POST would be refused as a duplicate.
    let unclaimed = peer.get("/queries/direct-awards?status=unclaimed").await.expect(200);
    assert_eq!(unclaimed[0]["eppn"], "s1@university-example.org");
    assert!(peer.create(json!([student(1)])).await.expect(400)["error"].as_str().unwrap().contains("already exists"));
    assert!(peer.mock.snapshot().over_awarded().is_empty());
}

/// Twelve statuses of requests under seeded random faults.
async fn statuses_under_seeded_faults(peer: &Peer) -> Vec<u16> {
    let faults = Faults { seed: 42, ..Faults::random(0.5, &[FaultKind::BadGateway, FaultKind::TooManyRequests]) };
    peer.mock.set_faults(faults);
    let mut seen = Vec::new();
    for _ in 0..12 {
        seen.push(peer.get("/queries/badge-classes").await.status);
    }
    seen
}

#[tokio::test]
async fn faults_can_target_the_token_endpoint_and_random_faults_follow_the_seed() {
    let peer = spawn().await;
    peer.mock.push_fault_on(Endpoint::Token, FaultKind::ServiceUnavailable);
    let refused =
        peer.token_request("grant_type=client_credentials", Some(("zegel-mock-client", "zegel-mock-secret"))).await;
    assert_eq!(refused.status, 503);
    peer.fetch_token().await;

    let first = statuses_under_seeded_faults(&peer).await;
    let second = statuses_under_seeded_faults(&peer).await;
    assert_eq!(first, second, "the same seed gives the same faults");
    assert!(first.contains(&200) && first.iter().any(|s| *s != 200), "{first:?}");
    assert!(first.iter().all(|s| [200, 429, 502].contains(s)), "{first:?}");
}

#[tokio::test]
async fn the_control_endpoints_set_faults_show_state_expire_tokens_and_reset() {
    let peer = spawn().await;
    let hook = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut request = peer.http.request(method, peer.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move { read(request.send().await.unwrap()).await }
    };
    let set = hook(
        reqwest::Method::POST,
        "/_mock/faults",
        Some(json!({"one_shot": ["502", {"kind": "drop", "endpoint": "bundle"}]})),
    )
    .await;
    assert_eq!(set.expect(200)["one_shot"].as_array().unwrap().len(), 2);
    assert_eq!(peer.create(json!([student(1)])).await.status, 502);
    let bundle = peer.create(json!([student(2)])).await.expect(201)["entity_id"].as_str().unwrap().to_owned();
    let dropped =
        peer.http.get(peer.url(&format!("/directaward/bundle/{bundle}"))).bearer_auth(&peer.token).send().await;
    assert!(dropped.is_err(), "the bundle lookup was dropped");
    let random = hook(
        reqwest::Method::POST,
        "/_mock/faults",
        Some(json!({"rate": 1.0, "kinds": ["too_many_requests"], "retry_after_secs": 3})),
    )
    .await;
    assert_eq!(random.expect(200)["random"]["rate"], 1.0);
    assert_eq!(peer.get("/queries/badge-classes").await.header("retry-after"), Some("3"));
    assert_eq!(hook(reqwest::Method::POST, "/_mock/faults", Some(json!({"rate": 2}))).await.status, 400);

    let state = hook(reqwest::Method::GET, "/_mock/state", None).await.expect(200);
    assert_eq!(state["live_awards"], json!([{"badgeclass": BC, "recipient": "s2@university-example.org", "count": 1}]));
    assert_eq!(state["faults_injected"]["drop_after_commit"], 1);
    assert_eq!(state["requests"]["create_direct_awards"]["by_status"]["502"], 1);

    assert_eq!(hook(reqwest::Method::POST, "/_mock/expire-tokens", None).await.expect(200)["expired"], 1);
    hook(reqwest::Method::POST, "/_mock/reset", None).await.expect(200);
    let after = peer.mock.snapshot();
    assert!(after.direct_awards.is_empty() && after.tokens.is_empty() && after.requests.is_empty());
    assert_eq!(peer.mock.faults().rate, 0.0);
    assert_eq!(hook(reqwest::Method::GET, "/_mock/claim/x", None).await.status, 405);
    assert_eq!(hook(reqwest::Method::POST, "/_mock/claim/x", None).await.status, 404);
}

#[tokio::test]
async fn latency_delays_answers_without_serialising_them() {
    let peer = spawn_with(MockConfig::default().with_latency(Duration::from_millis(150))).await;
    let started = Instant::now();
    let (a, b, c) = tokio::join!(
        peer.get("/queries/badge-classes"),
        peer.get("/queries/badge-classes"),
        peer.get("/queries/direct-awards")
    );
    let elapsed = started.elapsed();
    assert!([a.status, b.status, c.status].iter().all(|s| *s == 200));
    assert!(elapsed >= Duration::from_millis(150), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(400), "three answers in parallel, not one after another: {elapsed:?}");
    peer.mock.stop().await;
}

#[tokio::test]
async fn the_server_takes_chunked_bodies_pipelined_requests_and_head() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let peer = spawn().await;
    let mut stream = tokio::net::TcpStream::connect(peer.mock.local_addr()).await.unwrap();
    let (part1, part2) =
        ("grant_type=client_credentials&client_id=zegel-mock-client", "&client_secret=zegel-mock-secret");
    let requests = format!(
        "POST /oidc/token HTTP/1.1\r\nHost: mock\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{part1}\r\n{:x}\r\n{part2}\r\n0\r\n\r\n\
         HEAD /health HTTP/1.1\r\nHost: mock\r\nConnection: close\r\n\r\n",
        part1.len(),
        part2.len()
    );
    stream.write_all(requests.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert_eq!(answer.matches("HTTP/1.1 200 OK\r\n").count(), 2, "{answer}");
    assert!(answer.contains("\"token_type\":\"Bearer\""), "{answer}");
    assert!(answer.ends_with("Connection: close\r\n\r\n"), "no body after HEAD: {answer}");
    assert_eq!(peer.mock.snapshot().tokens.len(), 2);
}

#[tokio::test]
async fn the_exactly_once_judge_counts_live_awards_per_student() {
    let peer = spawn().await;
    let (_, das) = peer.award(json!([student(1), student(2), student(3)])).await;
    peer.mock.claim(&das[0]).unwrap();
    peer.put("/directaward/delete-direct-awards", &json!({"direct_awards": [{"entity_id": das[1]}]})).await.expect(200);
    let state = peer.mock.snapshot();
    assert_eq!(state.live_count(BC, "s1@university-example.org"), 1, "a claimed badge is live");
    assert_eq!(state.live_count(BC, "s2@university-example.org"), 0, "a deleted award is not");
    assert_eq!(state.live_count(BC, "S3@UNIVERSITY-EXAMPLE.ORG"), 1);
    assert!(state.over_awarded().is_empty());

    peer.create(json!([student(1)])).await.expect(201);
    let over = peer.mock.snapshot().over_awarded();
    assert_eq!(over.len(), 1);
    assert_eq!((over[0].0.recipient.as_str(), over[0].1), ("s1@university-example.org", 2));
}

// ---------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------

/// Kills the child process when the test ends, passed or not.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_command_line_serves_the_double_and_prints_how_to_point_zegel_at_it() {
    use std::io::{BufRead as _, Read as _, Write as _};
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_zegel"))
        .args(["dev", "edubadges-mock", "--port", "0", "--badge-class", "abcdefghijklmnopqrstuv=Course A"])
        .args(["--faults", "429,500,502,503,504,slow,drop,expired-token,introspect", "--fault-rate", "0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let stdout = std::io::BufReader::new(running.0.stdout.take().unwrap());
    let mut banner = String::new();
    for line in stdout.lines() {
        let line = line.unwrap();
        banner.push_str(&line);
        banner.push('\n');
        if line.starts_with("Serving until") {
            break;
        }
    }
    assert!(banner.contains("badge class:        abcdefghijklmnopqrstuv  Course A"), "{banner}");
    assert!(banner.contains("export ZEGEL_EDUBADGES_CLIENT_SECRET=zegel-mock-secret"), "{banner}");
    let base = banner.lines().find_map(|l| l.trim().strip_prefix("export ZEGEL_EDUBADGES_URL=")).unwrap();
    assert!(banner.contains(&format!("export ZEGEL_EDUBADGES_TOKEN_URL={base}/oidc/token")), "{banner}");

    // A plain HTTP/1.1 client, not reqwest.
    let mut stream = std::net::TcpStream::connect(base.strip_prefix("http://").unwrap()).unwrap();
    stream.write_all(b"GET /health HTTP/1.1\r\nHost: mock\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with(r#"{"overall_status": "OK", "detailed_status": {"database_status": "OK"}}"#), "{answer}");

    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_zegel"))
        .args(["dev", "edubadges-mock", "--port", "0", "--faults", "418"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("unknown fault"));
}

/// reqwest is built without a default TLS provider: install zegel's first.
fn client_builder() -> reqwest::ClientBuilder {
    zegel::push::edubadges::install_tls_provider();
    reqwest::Client::builder()
}

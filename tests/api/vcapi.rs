//! Issue point 4, the W3C VC-API (`../shared/reference/vc-api-interop.md`):
//! `POST /credentials/issue` (a generic VC 2.0 / 1.1 issuer, scope
//! `credentials:issue`), `POST /credentials/verify` and
//! `POST /presentations/verify` (public: 200 only when verified, 400/422
//! with `verified: false` otherwise) and `POST /credentials/status` (scope
//! `credentials:status`; `admin` for zegel's own Open Badges).
#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use crate::common::Backend;
use crate::helpers::{Reply, TEST_KEY_DID, TestApp, problem_fields, spawn_app, spawn_app_with};
use chrono::Utc;
use reqwest::Method;
use serde_json::{Map, Value, json};
use std::path::PathBuf;
use zegel::signing::data_integrity::{self, ProofOptions, ProofPlacement};
use zegel::signing::keys::{self, KeyKind, SigningKey};

/// Enough verifications for the tests that send many.
const GENEROUS: (&str, &str) = ("ZEGEL_VERIFY_RATE_PER_MIN", "1000");

const ISSUE: &str = "/credentials/issue";
const STATUS: &str = "/credentials/status";
const VERIFY: &str = "/credentials/verify";
const VERIFY_VP: &str = "/presentations/verify";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A token holding only `scopes`.
async fn token(app: &TestApp, scopes: &[&str]) -> String {
    let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
    zegel::issuance::create_client(&app.db.store, "vc-api client", &scopes, "test").await.unwrap().token
}

/// A VC 2.0 credential of the test apps' issuer, as a VC-API client sends it.
fn credential(id: &str) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
        "id": id,
        "type": ["VerifiableCredential", "ExampleAlumniCredential"],
        "issuer": TEST_KEY_DID,
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:alice", "alumniOf": "The School of Examples"}
    })
}

fn new_id() -> String {
    format!("urn:uuid:{}", uuid::Uuid::new_v4())
}

async fn post_json(app: &TestApp, path: &str, token: Option<&str>, body: &Value) -> Reply {
    app.send(app.request(Method::POST, path, token).json(body)).await
}

/// Issues `credential` with `options`; the signed credential.
async fn issue(app: &TestApp, token: &str, credential: &Value, options: Value) -> Value {
    let reply = post_json(app, ISSUE, Some(token), &json!({"credential": credential, "options": options})).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(reply.media_type(), "application/json");
    let body = reply.json();
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    body["verifiableCredential"].clone()
}

/// `POST /credentials/verify` of `credential` (with `options`): (status, result).
async fn verify(app: &TestApp, credential: &Value, options: Value) -> (u16, Value) {
    let reply = post_json(app, VERIFY, None, &json!({"verifiableCredential": credential, "options": options})).await;
    assert_eq!(reply.media_type(), "application/json", "{}", reply.text());
    (reply.status, reply.json())
}

#[track_caller]
fn assert_verified(status: u16, result: &Value) {
    assert_eq!((status, &result["verified"]), (200, &json!(true)), "{result:#}");
    assert_eq!(result["errors"], json!([]), "{result:#}");
}

/// Not verified: 400 or 422 as `expected`, `verified: false`, and an error
/// containing `needle`.
#[track_caller]
fn assert_refused(status: u16, result: &Value, expected: u16, needle: &str) {
    assert_eq!((status, &result["verified"]), (expected, &json!(false)), "{result:#}");
    let errors = result["errors"].as_array().unwrap();
    assert!(errors.iter().any(|e| e.as_str().unwrap().contains(needle)), "{needle:?} not in {result:#}");
    assert!(result["error"].as_str().is_some(), "{result:#}");
}

/// The committed test key (the test apps' issuer) and a fresh one.
fn test_key() -> SigningKey {
    keys::read_key_file(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("keys/test-ed25519.pem")).unwrap()
}

fn did_key_method(key: &SigningKey) -> (String, String) {
    let public = key.as_ed25519().unwrap().verifying_key();
    let did = zegel::signing::did::did_key(&public);
    let method = zegel::signing::did::did_key_verification_method(&public);
    (did, method)
}

/// A Data Integrity proof over `document` by `key`, with `extra` members in
/// its configuration (`id`, `previousProof`, `challenge`, `domain`, …) and
/// `purpose`; `secured` is what the proof covers (the document without its
/// proofs, or with the previous proofs of a chain).
fn proof(document: &Value, secured: &Value, key: &SigningKey, purpose: &str, extra: &[(&str, Value)]) -> Value {
    let canonicalizer = zegel::credential::contexts::canonicalizer();
    let (_, method) = did_key_method(key);
    let mut options = ProofOptions::assertion(method, Utc::now());
    options.proof_purpose = purpose.to_owned();
    let mut config = data_integrity::proof_configuration(&options, &document["@context"]);
    for (name, value) in extra {
        config.insert((*name).to_owned(), value.clone());
    }
    let canonical_config = data_integrity::canonical_configuration(&canonicalizer, &config).unwrap();
    let canonical_document = canonicalizer.canonicalize(&serde_json::to_vec(secured).unwrap()).unwrap();
    let hash = data_integrity::hash_data(&canonical_config, &canonical_document);
    let signature = key.as_ed25519().unwrap().sign(&hash);
    config.remove("@context");
    config.insert("proofValue".into(), data_integrity::proof_value(&signature).into());
    Value::Object(config)
}

/// `document` signed (a proof object) by `key` for `assertionMethod`.
fn signed_by(document: &Value, key: &SigningKey) -> Value {
    let canonicalizer = zegel::credential::contexts::canonicalizer();
    let (_, method) = did_key_method(key);
    let bytes = data_integrity::add_proof(
        &canonicalizer,
        &serde_json::to_vec(document).unwrap(),
        &ProofOptions::assertion(method, Utc::now()),
        key.as_ed25519().unwrap().signing_key(),
        ProofPlacement::Object,
    )
    .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn shared(path: &str) -> Value {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/testvectors").join(path);
    serde_json::from_slice(&std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))).unwrap()
}

fn edit(value: &Value, change: impl FnOnce(&mut Map<String, Value>)) -> Value {
    let mut value = value.clone();
    change(value.as_object_mut().unwrap());
    value
}

// ---------------------------------------------------------------------------
// POST /credentials/issue
// ---------------------------------------------------------------------------

async fn a_credential_is_issued_as_submitted_with_a_status_entry_and_a_proof(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &[GENEROUS]).await else { return };
    let issuer = token(&app, &["credentials:issue"]).await;
    // Sent as JSON-LD, with a number written as 5.0 and unknown options.
    let id = new_id();
    let body = format!(
        r#"{{"credential": {{"@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"], "id": "{id}", "type": ["VerifiableCredential", "ExampleScoreCredential"], "issuer": {{"id": "{TEST_KEY_DID}", "name": "Hogeschool Zegel"}}, "validFrom": "2026-01-01T00:00:00Z", "credentialSubject": {{"id": "did:example:alice", "score": 5.0}}}}, "options": {{"anything": true, "mandatoryPointers": ["/issuer"]}}}}"#
    );
    let request = app.request(Method::POST, ISSUE, Some(&issuer)).header("content-type", "application/ld+json");
    let reply = app.send(request.body(body)).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(reply.media_type(), "application/json");
    // Authenticated: no CORS header.
    assert_eq!(reply.header("access-control-allow-origin"), None);
    let text = reply.text();
    assert!(text.contains(r#""credentialSubject":{"id": "did:example:alice", "score": 5.0}"#), "{text}");
    let vc = reply.json()["verifiableCredential"].clone();
    assert_eq!(vc["@context"], credential(&id)["@context"]);
    assert_eq!(vc["issuer"], json!({"id": TEST_KEY_DID, "name": "Hogeschool Zegel"}));
    let status = &vc["credentialStatus"];
    assert_eq!(status["type"], "BitstringStatusListEntry", "{vc:#}");
    assert_eq!(status["statusPurpose"], "revocation");
    let list = status["statusListCredential"].as_str().unwrap();
    assert!(list.starts_with(&app.url("/status/")), "{list}");
    let index = status["statusListIndex"].as_str().unwrap();
    assert!(index.parse::<u64>().is_ok(), "{index}");
    assert_eq!(status["id"], format!("{list}#{index}"));
    let proof = &vc["proof"];
    assert_eq!(proof["type"], "DataIntegrityProof");
    assert_eq!(proof["cryptosuite"], "eddsa-rdfc-2022");
    assert_eq!(proof["proofPurpose"], "assertionMethod");
    let key = TEST_KEY_DID.strip_prefix("did:key:").unwrap();
    assert_eq!(proof["verificationMethod"], format!("{TEST_KEY_DID}#{key}"));
    assert!(proof["proofValue"].as_str().unwrap().starts_with('z'));
    assert!(chrono::DateTime::parse_from_rfc3339(proof["created"].as_str().unwrap()).is_ok());

    // It verifies, with zegel's own status list checked.
    let (status, result) = verify(&app, &vc, json!({})).await;
    assert_verified(status, &result);
    for check in ["proof", "credentialStatus", "issuer", "jsonLdSafeMode"] {
        assert!(result["checks"].as_array().unwrap().contains(&json!(check)), "{check}: {result:#}");
    }
    // Its list is published like any other, and says it is not revoked.
    let published = app.fetch(list, None).await;
    assert_eq!(published.status, 200, "{}", published.text());

    // Stored, with its audit entry.
    let stored = app.db.store.vc_credentials(&id).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(serde_json::from_str::<Value>(&stored[0].document).unwrap(), vc);
    let audit = app
        .send(app.request(Method::GET, "/api/v1/audit?action=vc_credential_issued", Some(&app.admin_token)))
        .await
        .expect(200);
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{audit:#}");
    assert_eq!(entries[0]["credential_id"], id.as_str());
}

async fn vc_1_1_credentials_get_the_data_integrity_context_and_verify(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &[GENEROUS]).await else { return };
    let v1 = json!({
        "@context": ["https://www.w3.org/2018/credentials/v1", "https://www.w3.org/ns/credentials/examples/v2"],
        "id": new_id(),
        "type": ["VerifiableCredential"],
        "issuer": TEST_KEY_DID,
        "issuanceDate": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:alice", "name": "Alice"}
    });
    let vc = issue(&app, &app.admin_token, &v1, json!({})).await;
    assert_eq!(
        vc["@context"],
        json!([
            "https://www.w3.org/2018/credentials/v1",
            "https://www.w3.org/ns/credentials/examples/v2",
            "https://w3id.org/security/data-integrity/v2"
        ])
    );
    assert_eq!(vc["issuanceDate"], "2026-01-01T00:00:00Z");
    // VC 1.1 defines no BitstringStatusListEntry: none without the status context.
    assert!(vc.get("credentialStatus").is_none(), "{vc:#}");
    let (status, result) = verify(&app, &vc, json!({})).await;
    assert_verified(status, &result);

    // With the status context, it gets an entry; without an issuanceDate, it gets one.
    let mut with_status = v1.clone();
    with_status["@context"] = json!([
        "https://www.w3.org/2018/credentials/v1",
        "https://www.w3.org/ns/credentials/status/v1",
        "https://www.w3.org/ns/credentials/examples/v2"
    ]);
    with_status.as_object_mut().unwrap().remove("issuanceDate");
    let vc = issue(&app, &app.admin_token, &with_status, json!({})).await;
    assert_eq!(vc["credentialStatus"]["type"], "BitstringStatusListEntry", "{vc:#}");
    assert!(vc["issuanceDate"].as_str().is_some(), "{vc:#}");
    let (status, result) = verify(&app, &vc, json!({})).await;
    assert_verified(status, &result);
}

async fn status_purposes_and_the_credential_id_come_from_the_options(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &[GENEROUS]).await else { return };
    let both = json!({"statusPurpose": ["revocation", "suspension"], "credentialId": "urn:example:both"});
    let vc = issue(&app, &app.admin_token, &credential(&new_id()), both).await;
    let entries = vc["credentialStatus"].as_array().unwrap();
    let purposes: Vec<&str> = entries.iter().map(|e| e["statusPurpose"].as_str().unwrap()).collect();
    assert_eq!(purposes, ["revocation", "suspension"]);
    assert_eq!(app.db.store.vc_credentials("urn:example:both").await.unwrap().len(), 1);
    let none = issue(&app, &app.admin_token, &credential(&new_id()), json!({"statusPurpose": []})).await;
    assert!(none.get("credentialStatus").is_none(), "{none:#}");
    // A status the client put there is kept, and zegel's is added.
    let mut own = credential(&new_id());
    own["@context"][1] = json!({"ExampleStatus": "https://example.org/#ExampleStatus"});
    own["credentialSubject"] = json!({"id": "did:example:alice"});
    own["credentialStatus"] = json!({"id": "https://example.org/status/1", "type": "ExampleStatus"});
    own["type"] = json!(["VerifiableCredential"]);
    let vc = issue(&app, &app.admin_token, &own, json!({})).await;
    let entries = vc["credentialStatus"].as_array().unwrap();
    assert_eq!(entries[0], own["credentialStatus"]);
    assert_eq!(entries[1]["type"], "BitstringStatusListEntry");
    // The same credential may be issued again: the id then names both.
    let id = new_id();
    issue(&app, &app.admin_token, &credential(&id), json!({})).await;
    issue(&app, &app.admin_token, &credential(&id), json!({})).await;
    assert_eq!(app.db.store.vc_credentials(&id).await.unwrap().len(), 2);
    app.assert_consistent().await;
}

async fn invalid_credentials_are_refused_naming_every_problem(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let refused = |body: Value| {
        let app = &app;
        async move {
            let reply = post_json(app, ISSUE, Some(&app.admin_token), &body).await;
            let error = reply.expect_error(422, "validation_failed");
            (problem_fields(&error), error["message"].as_str().unwrap().to_owned())
        }
    };
    // Everything at once.
    let (fields, _) = refused(json!({"credential": {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "not a url",
        "type": ["ExampleCredential"],
        "issuer": "did:key:z6MkhWqdDBPojHA7cprTGTt5yHv5yUi1B8cnXn8ReLumkw6E",
        "validFrom": "2026-02-01T00:00:00Z",
        "validUntil": "2026-01-01",
        "credentialSubject": {},
        "credentialSchema": {"type": "JsonSchema"},
        "termsOfUse": {"id": "https://example.org/terms"},
        "relatedResource": [{"id": "https://example.org/r"}]
    }, "options": {"cryptosuite": "ecdsa-rdfc-2019"}}))
    .await;
    for field in [
        "credential.type",
        "credential.id",
        "credential.issuer",
        "credential.credentialSubject",
        "credential.validUntil",
        "credential.credentialSchema.id",
        "credential.termsOfUse.type",
        "credential.relatedResource[0]",
        "options.cryptosuite",
    ] {
        assert!(fields.iter().any(|f| f == field), "{field} not in {fields:?}");
    }
    for (credential, field) in [
        (edit(&credential(&new_id()), |c| drop(c.remove("@context"))), "credential.@context"),
        (edit(&credential(&new_id()), |c| drop(c.remove("issuer"))), "credential.issuer"),
        (edit(&credential(&new_id()), |c| drop(c.remove("credentialSubject"))), "credential.credentialSubject"),
        (
            edit(&credential(&new_id()), |c| drop(c.insert("validUntil".into(), json!("2025-01-01T00:00:00Z")))),
            "credential.validUntil",
        ),
        (
            edit(&credential(&new_id()), |c| drop(c.insert("evidence".into(), json!([{"id": "https://x.example"}])))),
            "credential.evidence[0].type",
        ),
    ] {
        let (fields, _) = refused(json!({"credential": credential})).await;
        assert!(fields.iter().any(|f| f == field), "{field} not in {fields:?}");
    }
    assert_eq!(refused(json!({"options": {}})).await.0, ["credential"]);
    assert_eq!(refused(json!({"credential": "eyJ.eyJ.sig"})).await.0, ["credential"]);

    // JSON-LD safe mode: undefined terms and types, protected terms.
    let plain = json!(["https://www.w3.org/ns/credentials/v2"]);
    let (_, message) = refused(json!({"credential": edit(&credential(&new_id()), |c| {
        c.insert("@context".into(), plain.clone());
        c.insert("credentialSubject".into(), json!({"id": "did:example:a", "undefinedTerm": "x"}));
        c.insert("type".into(), json!(["VerifiableCredential", "UndefinedType"]));
    })}))
    .await;
    assert!(message.contains("undefinedTerm") && message.contains("UndefinedType"), "{message}");
    let (_, message) = refused(json!({"credential": edit(&credential(&new_id()), |c| {
        c.insert("@context".into(), json!(["https://www.w3.org/ns/credentials/v2", {"@protected": true, "ExampleCredential": "https://example.org/#A"}, {"ExampleCredential": "https://example.org/#B"}]));
        c.insert("type".into(), json!(["VerifiableCredential", "ExampleCredential"]));
    })}))
    .await;
    assert!(message.contains("redefin") || message.contains("protected"), "{message}");
    let (fields, message) = refused(json!({"credential": edit(&credential(&new_id()), |c| {
        c.insert("@context".into(), json!(["https://www.w3.org/ns/credentials/v2", "https://example.org/unknown-context"]));
    })}))
    .await;
    assert!(fields.contains(&"credential.@context".to_owned()) && message.contains("unknown-context"), "{message}");
    // Relative IRIs (a base-URL trick) are not absolute ids.
    let (_, message) = refused(json!({"credential": edit(&credential(&new_id()), |c| {
        c.insert("credentialSubject".into(), json!({"id": "did:example:a", "alumniOf": {"id": "../school"}}));
    })}))
    .await;
    assert!(message.contains("relative") || message.contains("URL"), "{message}");

    // Open Badges come through POST /api/v1/awards, where the quality framework is checked.
    let (fields, message) = refused(json!({"credential": edit(&credential(&new_id()), |c| {
        c.insert("type".into(), json!(["VerifiableCredential", "OpenBadgeCredential"]));
    })}))
    .await;
    assert_eq!(fields, ["credential.type"]);
    assert!(message.contains("/api/v1/awards"), "{message}");

    // Not JSON, not JSON at all, not a JSON type.
    let raw = |content_type: &str, body: &str| {
        app.request(Method::POST, ISSUE, Some(&app.admin_token))
            .header("content-type", content_type)
            .body(body.to_owned())
    };
    app.send(raw("application/json", "{\"credential\": ")).await.expect_error(400, "malformed_json");
    app.send(raw("text/plain", "{}")).await.expect_error(415, "unsupported_media_type");
    app.assert_no_awards().await;
    assert!(app.db.store.vc_credentials("not a url").await.unwrap().is_empty());
    // Refused before any status list position was taken.
    assert_eq!(app.db.store.status_slots_in_use(1).await.unwrap(), 0);
}

async fn issuing_and_updating_status_need_their_scopes(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let body = json!({"credential": credential(&new_id())});
    post_json(&app, ISSUE, None, &body).await.expect_error(401, "unauthorized");
    let status = token(&app, &["credentials:status"]).await;
    let issuer = token(&app, &["credentials:issue"]).await;
    post_json(&app, ISSUE, Some(&status), &body).await.expect_error(403, "forbidden");
    post_json(&app, ISSUE, Some(&app.reader_token), &body).await.expect_error(403, "forbidden");
    let update = json!({"credentialId": "x", "credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": "revocation"}});
    post_json(&app, STATUS, Some(&issuer), &update).await.expect_error(403, "forbidden");
    post_json(&app, STATUS, None, &update).await.expect_error(401, "unauthorized");
    post_json(&app, STATUS, Some(&status), &update).await.expect_error(404, "not_found");
    issue(&app, &issuer, &credential(&new_id()), json!({})).await;
}

// ---------------------------------------------------------------------------
// POST /credentials/status
// ---------------------------------------------------------------------------

fn update(id: &str, purpose: &str, status: Option<bool>) -> Value {
    let mut body =
        json!({"credentialId": id, "credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": purpose}});
    if let Some(status) = status {
        body["status"] = json!(status);
    }
    body
}

async fn revocation_is_final_and_suspension_reversible(backend: Backend) {
    // Instances behind one public URL, as in a deployment.
    let shared = [GENEROUS, ("ZEGEL_PUBLIC_URL", "https://badges.zegel.test"), ("ZEGEL_ISSUER", "did:key")];
    let Some(app) = spawn_app_with(backend, &shared).await else { return };
    let changer = token(&app, &["credentials:status"]).await;
    let id = new_id();
    let vc =
        issue(&app, &app.admin_token, &credential(&id), json!({"statusPurpose": ["revocation", "suspension"]})).await;
    let change = |body: Value| {
        let app = &app;
        let changer = changer.clone();
        async move { post_json(app, STATUS, Some(&changer), &body).await }
    };

    // Suspend, verify, unsuspend, verify.
    let reply = change(update(&id, "suspension", Some(true))).await.expect(200);
    assert_eq!(
        reply,
        json!({"credentialId": id, "statusPurpose": "suspension", "status": true, "changed": true, "message": "suspended", "credentials": 1})
    );
    let (status, result) = verify(&app, &vc, json!({})).await;
    assert_refused(status, &result, 422, "suspended");
    assert_eq!(change(update(&id, "suspension", Some(true))).await.expect(200)["message"], "already suspended");
    let reply = change(json!({"credentialId": id, "credentialStatus": [{"type": "BitstringStatusListEntry", "status": "unsuspended"}]})).await;
    assert_eq!(reply.expect(200)["changed"], true);
    let (status, result) = verify(&app, &vc, json!({})).await;
    assert_verified(status, &result);

    // Revoke (the VC-API's status defaults to true), with a reason for the audit trail.
    let mut revoke = update(&id, "revocation", None);
    revoke["reason"] = json!("Issued to the wrong person");
    assert_eq!(change(revoke.clone()).await.expect(200)["changed"], true);
    assert_eq!(change(revoke).await.expect(200)["message"], "already revoked");
    let (status, result) = verify(&app, &vc, json!({})).await;
    assert_refused(status, &result, 422, "revoked");
    assert_eq!(result["report"]["code"], "revoked");
    // Asked to check the proof only, the status is not checked.
    let (status, result) = verify(&app, &vc, json!({"checks": ["proof"]})).await;
    assert_verified(status, &result);
    // Another instance on the same database publishes the change too.
    let second = app.second_instance().await;
    let (status, result) = verify(&second, &vc, json!({})).await;
    assert_refused(status, &result, 422, "revoked");

    // Final: neither cleared nor suspended.
    let body = change(update(&id, "revocation", Some(false))).await.expect_error(409, "conflict");
    assert_eq!(problem_fields(&body), ["status"]);
    change(update(&id, "suspension", Some(true))).await.expect_error(409, "conflict");
    // A purpose the credential has no entry for.
    let plain = new_id();
    issue(&app, &app.admin_token, &credential(&plain), json!({})).await;
    let body = change(update(&plain, "suspension", None)).await.expect_error(409, "conflict");
    assert!(body["message"].as_str().unwrap().contains("without a suspension status entry"), "{body}");

    // The trail: one entry per change.
    for action in ["vc_credential_suspended", "vc_credential_unsuspended", "vc_credential_revoked"] {
        let trail = app
            .send(app.request(Method::GET, &format!("/api/v1/audit?action={action}"), Some(&app.admin_token)))
            .await
            .expect(200);
        assert_eq!(trail["entries"].as_array().unwrap().len(), 1, "{action}: {trail:#}");
    }
    let trail = app
        .send(app.request(Method::GET, "/api/v1/audit?action=vc_credential_revoked", Some(&app.admin_token)))
        .await
        .expect(200);
    assert_eq!(trail["entries"][0]["details"]["reason"], "Issued to the wrong person", "{trail:#}");

    // Shapes: every problem named.
    let body = change(json!({"credentialStatus": {"type": "StatusList2021Entry"}, "status": "yes"})).await;
    let body = body.expect_error(422, "validation_failed");
    assert_eq!(
        problem_fields(&body),
        ["credentialId", "status", "credentialStatus.type", "credentialStatus.statusPurpose"]
    );
    change(update("urn:uuid:unknown", "revocation", None)).await.expect_error(404, "not_found");
}

async fn zegels_own_open_badges_change_status_for_admin_clients_only(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &[GENEROUS]).await else { return };
    app.define_microcredential().await;
    let award = app.issue("vc-api-status-1").await;
    let credential_id = award["credential_id"].as_str().unwrap().to_owned();
    let url = award["credential_url"].as_str().unwrap().to_owned();
    let status_only = token(&app, &["credentials:status"]).await;
    post_json(&app, STATUS, Some(&status_only), &update(&url, "revocation", None)).await.expect_error(403, "forbidden");
    let reply = post_json(&app, STATUS, Some(&app.admin_token), &update(&url, "suspension", None)).await.expect(200);
    assert_eq!(reply["message"], "suspended");
    let view = app
        .send(app.request(Method::GET, &format!("/api/v1/credentials/{credential_id}"), Some(&app.reader_token)))
        .await
        .expect(200);
    assert_eq!(view["status"], "suspended");
    // By its UUID too; revocation through the administrators' lifecycle.
    post_json(&app, STATUS, Some(&app.admin_token), &update(&credential_id, "revocation", None)).await.expect(200);
    let document = app.fetch(&url, Some("application/ld+json")).await.json();
    let (status, result) = verify(&app, &document, json!({})).await;
    assert_refused(status, &result, 422, "revoked");
    assert!(result["report"]["reason"].as_str().unwrap().contains("VC-API"), "{result:#}");
}

// ---------------------------------------------------------------------------
// POST /credentials/verify
// ---------------------------------------------------------------------------

async fn credentials_of_zegel_and_of_other_issuers_verify(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &[GENEROUS]).await else { return };
    // zegel's Open Badge, with its status lists.
    app.define_microcredential().await;
    let award = app.issue("vc-api-verify-1").await;
    let document = app.fetch(award["credential_url"].as_str().unwrap(), Some("application/ld+json")).await.json();
    let (status, result) = verify(&app, &document, json!({})).await;
    assert_verified(status, &result);
    assert!(result["checks"].as_array().unwrap().contains(&json!("credentialStatus")), "{result:#}");
    assert_eq!(result["report"]["verdict"], "valid");

    // The W3C eddsa-rdfc-2022 vector: another issuer, a did:key, offline.
    let vector = shared("eddsa-rdfc-2022/signedDataInt.json");
    let (status, result) = verify(&app, &vector, json!({"checks": ["proof"]})).await;
    assert_verified(status, &result);
    // Its issuer is not the did:key that signed: verified, with a warning.
    assert!(!result["warnings"].as_array().unwrap().is_empty(), "{result:#}");
    // A 1EdTech validator fixture (an Open Badge of another issuer, did:key).
    let badge = shared("ob3-examples/1edtech-validator/valid/simple-did-key-method.json");
    let (status, result) = verify(&app, &badge, json!({})).await;
    assert_verified(status, &result);

    // JSON-LD too, and the CORS header: the endpoint is public.
    let request = app.request(Method::POST, VERIFY, None).header("content-type", "application/ld+json");
    let reply = app.send(request.body(json!({"verifiableCredential": vector}).to_string())).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    let preflight =
        app.send(app.request(Method::OPTIONS, VERIFY, None).header("origin", "https://wallet.example")).await;
    assert_eq!(preflight.status, 204);
    assert_eq!(preflight.header("access-control-allow-methods"), Some("POST"));
}

async fn what_does_not_verify_is_refused_with_the_reason(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &[GENEROUS]).await else { return };
    let vector = shared("eddsa-rdfc-2022/signedDataInt.json");
    let with_proof = |change: &dyn Fn(&mut Map<String, Value>)| {
        let mut vc = vector.clone();
        change(vc["proof"].as_object_mut().unwrap());
        vc
    };
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        ("no proof", edit(&vector, |c| drop(c.remove("proof"))), 422, "no proof"),
        ("proof a string", edit(&vector, |c| drop(c.insert("proof".into(), json!("z123")))), 422, "JSON object"),
        ("no proof type", with_proof(&|p| drop(p.remove("type"))), 422, "no type"),
        ("no verificationMethod", with_proof(&|p| drop(p.remove("verificationMethod"))), 422, "verificationMethod"),
        ("no proofPurpose", with_proof(&|p| drop(p.remove("proofPurpose"))), 422, "proofPurpose"),
        (
            "purpose authentication",
            with_proof(&|p| drop(p.insert("proofPurpose".into(), json!("authentication")))),
            422,
            "assertionMethod",
        ),
        (
            "unknown cryptosuite",
            with_proof(&|p| drop(p.insert("cryptosuite".into(), json!("eddsa-2099")))),
            422,
            "eddsa-2099",
        ),
        (
            "unknown proof type",
            with_proof(&|p| drop(p.insert("type".into(), json!("Ed25519Signature2018")))),
            422,
            "Ed25519Signature2018",
        ),
        ("no proofValue", with_proof(&|p| drop(p.remove("proofValue"))), 422, "proofValue"),
        ("null proofValue", with_proof(&|p| drop(p.insert("proofValue".into(), Value::Null))), 422, "proofValue"),
        ("not multibase", with_proof(&|p| drop(p.insert("proofValue".into(), json!("abc")))), 422, "multibase"),
        (
            "tampered",
            edit(&vector, |c| drop(c.insert("name".into(), json!("Alumni Credential!")))),
            422,
            "does not match",
        ),
        (
            "undefined term",
            edit(&vector, |c| {
                c.insert("@context".into(), json!(["https://www.w3.org/ns/credentials/v2"]));
            }),
            422,
            "undefined term",
        ),
        (
            "relative IRI",
            edit(&vector, |c| drop(c.insert("id".into(), json!("../credentials/1")))),
            422,
            "relative IRI",
        ),
        ("no @context", edit(&vector, |c| drop(c.remove("@context"))), 400, "@context"),
        (
            "no VerifiableCredential type",
            edit(&vector, |c| drop(c.insert("type".into(), json!(["AlumniCredential"])))),
            400,
            "VerifiableCredential",
        ),
    ];
    for (what, credential, expected, needle) in cases {
        let (status, result) = verify(&app, &credential, json!({"checks": ["proof"]})).await;
        assert_eq!(status, expected, "{what}: {result:#}");
        assert_refused(status, &result, expected, needle);
    }
    // Not a credential at all.
    for body in
        [json!({"verifiableCredential": "eyJhbGciOiJFZERTQSJ9.e30.c2ln"}), json!({}), json!({"credential": vector})]
    {
        let reply = post_json(&app, VERIFY, None, &body).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.text());
        assert_eq!(reply.json()["verified"], false);
        assert_eq!(reply.json()["error"], "malformed_request");
    }
    let reply =
        app.send(app.request(Method::POST, VERIFY, None).header("content-type", "application/json").body("{")).await;
    assert_eq!((reply.status, reply.json()["verified"].clone()), (400, json!(false)), "{}", reply.text());
}

async fn proof_sets_and_chains_verify_when_every_proof_does(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &[GENEROUS]).await else { return };
    let first = test_key();
    let second = keys::generate(KeyKind::Ed25519).unwrap();
    let unsigned = credential(&new_id());
    // A proof set: two independent proofs.
    let one = signed_by(&unsigned, &first);
    let mut set = signed_by(&unsigned, &second);
    set["proof"] = json!([one["proof"].clone(), set["proof"].clone()]);
    let (status, result) = verify(&app, &set, json!({})).await;
    assert_verified(status, &result);
    assert!(result["report"]["checks"].to_string().contains("all 2 proofs verified"), "{result:#}");
    let mut broken = set.clone();
    broken["proof"][1]["proofValue"] = one["proof"]["proofValue"].clone();
    let (status, result) = verify(&app, &broken, json!({})).await;
    assert_refused(status, &result, 422, "does not match");

    // A chain: the second proof covers the document with the first.
    let first_id = "urn:uuid:26329423-bec9-4b2e-88cb-a7c7d9dc4544";
    let p1 = proof(&unsigned, &unsigned, &first, "assertionMethod", &[("id", json!(first_id))]);
    let with_first = edit(&unsigned, |c| drop(c.insert("proof".into(), p1.clone())));
    for previous in [json!(first_id), json!([first_id])] {
        let p2 = proof(&unsigned, &with_first, &second, "assertionMethod", &[("previousProof", previous)]);
        let chain = edit(&unsigned, |c| drop(c.insert("proof".into(), json!([p1, p2]))));
        let (status, result) = verify(&app, &chain, json!({})).await;
        assert_verified(status, &result);
    }
    // A chain naming a proof that is not there, or not by id.
    for (previous, needle) in [(json!("urn:uuid:missing"), "not in the proof set"), (json!(456), "previousProof")] {
        let p2 = proof(&unsigned, &with_first, &second, "assertionMethod", &[("previousProof", previous)]);
        let chain = edit(&unsigned, |c| drop(c.insert("proof".into(), json!([p1, p2]))));
        let (status, result) = verify(&app, &chain, json!({})).await;
        assert_refused(status, &result, 422, needle);
    }
    // Signed as a chain, presented without the first proof.
    let p2 = proof(&unsigned, &with_first, &second, "assertionMethod", &[("previousProof", json!(first_id))]);
    let cut = edit(&unsigned, |c| drop(c.insert("proof".into(), p2.clone())));
    let (status, result) = verify(&app, &cut, json!({})).await;
    assert_refused(status, &result, 422, "not in the proof set");
}

async fn other_issuers_status_lists_are_fetched_as_the_settings_allow(backend: Backend) {
    // Another zegel (another host, as far as the first can tell) issues.
    let Some(other) = spawn_app_with(backend, &[GENEROUS]).await else { return };
    let id = new_id();
    let vc = issue(&other, &other.admin_token, &credential(&id), json!({})).await;
    let allowed = [GENEROUS, ("ZEGEL_VERIFY_FETCH_HOSTS", "127.0.0.1"), ("ZEGEL_VERIFY_ALLOW_LOCAL", "true")];
    let Some(app) = spawn_app_with(backend, &allowed).await else { return };
    let (status, result) = verify(&app, &vc, json!({})).await;
    assert_verified(status, &result);
    post_json(&other, STATUS, Some(&other.admin_token), &update(&id, "revocation", None)).await.expect(200);
    let (status, result) = verify(&app, &vc, json!({})).await;
    assert_refused(status, &result, 422, "revoked");
    // Without permission to fetch it, the status could not be checked.
    let Some(strict) = spawn_app_with(backend, &[GENEROUS]).await else { return };
    let (status, result) = verify(&strict, &vc, json!({})).await;
    assert_eq!(status, 200, "an unchecked status is a warning: {result:#}");
    assert!(result["warnings"].to_string().contains("not fetched"), "{result:#}");
}

// ---------------------------------------------------------------------------
// POST /presentations/verify
// ---------------------------------------------------------------------------

fn presentation(credentials: Vec<Value>) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": credentials
    })
}

async fn verify_vp(app: &TestApp, body: &Value) -> (u16, Value) {
    let reply = post_json(app, VERIFY_VP, None, body).await;
    assert_eq!(reply.media_type(), "application/json", "{}", reply.text());
    (reply.status, reply.json())
}

async fn presentations_verify_with_their_credentials_proofs_and_challenge(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &[GENEROUS]).await else { return };
    let id = new_id();
    let vc = issue(&app, &app.admin_token, &credential(&id), json!({})).await;
    let vector = shared("eddsa-rdfc-2022/signedDataInt.json");

    // Unsigned: verified when its credentials are.
    let unsigned = presentation(vec![vc.clone(), vector.clone()]);
    let (status, result) = verify_vp(&app, &json!({"verifiablePresentation": unsigned})).await;
    assert_verified(status, &result);
    assert_eq!(result["credentialResults"].as_array().unwrap().len(), 2, "{result:#}");
    let (status, result) = verify_vp(&app, &json!({"presentation": presentation(vec![])})).await;
    assert_verified(status, &result);

    // Signed by the holder for authentication, with the challenge and domain.
    let holder = keys::generate(KeyKind::Ed25519).unwrap();
    let (holder_did, _) = did_key_method(&holder);
    let mut vp = presentation(vec![vc.clone()]);
    vp["holder"] = json!(holder_did);
    let binding = [("challenge", json!("c-123")), ("domain", json!("verifier.example"))];
    let signed = edit(&vp, |p| drop(p.insert("proof".into(), proof(&vp, &vp, &holder, "authentication", &binding))));
    let options = json!({"challenge": "c-123", "domain": "verifier.example"});
    let (status, result) = verify_vp(&app, &json!({"verifiablePresentation": signed, "options": options})).await;
    assert_verified(status, &result);
    assert!(result["checks"].as_array().unwrap().contains(&json!("holder")), "{result:#}");
    for (options, needle) in [
        (json!({"challenge": "other", "domain": "verifier.example"}), "challenge"),
        (json!({"challenge": "c-123", "domain": "other.example"}), "domain"),
    ] {
        let (status, result) = verify_vp(&app, &json!({"verifiablePresentation": signed, "options": options})).await;
        assert_refused(status, &result, 422, needle);
    }
    // Made for assertionMethod, or by someone other than the holder.
    let asserted = edit(&vp, |p| drop(p.insert("proof".into(), proof(&vp, &vp, &holder, "assertionMethod", &binding))));
    let (status, result) = verify_vp(&app, &json!({"verifiablePresentation": asserted, "options": options})).await;
    assert_refused(status, &result, 422, "authentication");
    let stranger = keys::generate(KeyKind::Ed25519).unwrap();
    let foreign = edit(&vp, |p| drop(p.insert("proof".into(), proof(&vp, &vp, &stranger, "authentication", &binding))));
    let (status, result) = verify_vp(&app, &json!({"verifiablePresentation": foreign, "options": options})).await;
    assert_refused(status, &result, 422, "not by its holder");

    // A revoked credential makes the presentation fail.
    post_json(&app, STATUS, Some(&app.admin_token), &update(&id, "revocation", None)).await.expect(200);
    let (status, result) = verify_vp(&app, &json!({"verifiablePresentation": signed, "options": options})).await;
    assert_refused(status, &result, 422, "verifiableCredential[0]: credentialStatus: revoked");
    assert_eq!(result["credentialResults"][0]["verified"], false);

    // Structure: 400.
    let cases = [
        ("no @context", edit(&unsigned, |p| drop(p.remove("@context")))),
        (
            "wrong first context",
            edit(&unsigned, |p| {
                drop(p.insert(
                    "@context".into(),
                    json!(["https://www.w3.org/ns/credentials/examples/v2", "https://www.w3.org/ns/credentials/v2"]),
                ))
            }),
        ),
        ("no VerifiablePresentation type", edit(&unsigned, |p| drop(p.insert("type".into(), json!(["Presentation"]))))),
        (
            "a credential as a string",
            edit(&unsigned, |p| drop(p.insert("verifiableCredential".into(), json!(["eyJ.eyJ.sig"])))),
        ),
    ];
    for (what, vp) in cases {
        let (status, result) = verify_vp(&app, &json!({"verifiablePresentation": vp})).await;
        assert_eq!((status, &result["verified"]), (400, &json!(false)), "{what}: {result:#}");
    }
    let (status, _) = verify_vp(&app, &json!({"verifiableCredential": vc})).await;
    assert_eq!(status, 400);
}

crate::backend_tests!(
    a_credential_is_issued_as_submitted_with_a_status_entry_and_a_proof,
    vc_1_1_credentials_get_the_data_integrity_context_and_verify,
    status_purposes_and_the_credential_id_come_from_the_options,
    invalid_credentials_are_refused_naming_every_problem,
    issuing_and_updating_status_need_their_scopes,
    revocation_is_final_and_suspension_reversible,
    zegels_own_open_badges_change_status_for_admin_clients_only,
    credentials_of_zegel_and_of_other_issuers_verify,
    what_does_not_verify_is_refused_with_the_reason,
    proof_sets_and_chains_verify_when_every_proof_does,
    other_issuers_status_lists_are_fetched_as_the_settings_allow,
    presentations_verify_with_their_credentials_proofs_and_challenge,
);

//! Issue 5, key rotation: `zegel keys rotate | list | remove` change the
//! keyring in the key directory; an instance started afterwards signs with
//! the current key and publishes every key of the keyring, so credentials
//! signed before keep verifying, by the published DID document and JWKS as
//! well as offline. Each change is in the audit trail.
#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use crate::common::Backend;
use crate::helpers::{TEST_KEY_DID, TEST_KEY_ID, TestApp, spawn_app, spawn_app_with};
use reqwest::Method;
use serde_json::Value;
use std::process::{Command, Output};
use std::sync::Arc;
use zegel::signing::{data_integrity, jwt, multikey};
use zegel::verification::{CheckKind, Outcome, Report, StaticStatusLists, Verdict, Verifier, VerifyOptions};

/// A fixed public URL, so that every instance of a test has the same
/// did:web (each listens on a port of its own).
const PUBLIC_URL: &str = "http://localhost:8999";
const DID_WEB: &str = "did:web:localhost%3A8999";

/// Settings for a did:web issuer.
const DID_WEB_ISSUER: [(&str, &str); 2] = [("ZEGEL_ISSUER", "did:web"), ("ZEGEL_PUBLIC_URL", PUBLIC_URL)];

/// `zegel keys <args>` on the app's key directory and database, configured
/// like the app (`settings`: extra variables).
fn zegel_keys(app: &TestApp, settings: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_zegel"));
    command
        .arg("keys")
        .args(args)
        .env_clear()
        .env("DATABASE_URL", &app.db.url)
        .env("ZEGEL_KEYS_DIR", app.keys_dir())
        .env("ZEGEL_ALLOW_TEST_KEYS", "true")
        .env("ZEGEL_PUBLIC_URL", &app.address);
    for (name, value) in settings {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    for stream in [&output.stdout, &output.stderr] {
        let text = String::from_utf8_lossy(stream);
        assert!(!text.contains("PRIVATE KEY") && !text.contains("privateKey"), "key material printed: {text}");
    }
    output
}

#[track_caller]
fn succeeded(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
}

/// The path of an absolute URL (any host: instances differ in port).
fn path_of(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    &after_scheme[after_scheme.find('/').unwrap_or(after_scheme.len())..]
}

/// Issues an award through `app` and returns (credential document as
/// served, its bytes, its VC-JWT).
async fn issue(app: &TestApp, record_id: &str) -> (Value, Vec<u8>, String) {
    let issued = app.issue(record_id).await;
    fetch_credential(app, issued["credential_id"].as_str().unwrap()).await
}

async fn fetch_credential(app: &TestApp, credential_id: &str) -> (Value, Vec<u8>, String) {
    let json = app.get(&format!("/credentials/{credential_id}.json")).await;
    let document = json.expect(200);
    let jwt = app.get(&format!("/credentials/{credential_id}.jwt")).await;
    assert_eq!(jwt.status, 200, "{}", jwt.text());
    (document, json.body, jwt.text().trim().to_owned())
}

/// zegel's verifier, offline, with the credential's status lists as `app`
/// serves them now.
async fn verify_offline(app: &TestApp, document: &Value, bytes: &[u8]) -> Report {
    let entries = match &document["credentialStatus"] {
        Value::Array(entries) => entries.clone(),
        entry => vec![entry.clone()],
    };
    let mut lists = StaticStatusLists::new();
    for entry in entries {
        let url = entry["statusListCredential"].as_str().unwrap();
        let list = app.get(path_of(url)).await;
        assert_eq!(list.status, 200, "{url}: {}", list.text());
        lists = lists.with_list(url, list.body);
    }
    let options = VerifyOptions { require_status: true, ..VerifyOptions::at(chrono::Utc::now()) };
    Verifier::offline().with_status_lists(Arc::new(lists)).verify(bytes, &options)
}

/// The proof's key, found by its verification method in the DID document
/// `app` publishes, verifies the proof.
async fn verify_by_did_document(app: &TestApp, document: &Value, bytes: &[u8]) -> Result<(), String> {
    let did = app.did_document().await.expect(200);
    let proof = document["proof"].as_array().map_or(&document["proof"], |proofs| &proofs[0]);
    let method = proof["verificationMethod"].as_str().unwrap();
    if !did["assertionMethod"].as_array().unwrap().iter().any(|m| m == method) {
        return Err(format!("{method} is not an assertion method of {did}"));
    }
    let listed = did["verificationMethod"].as_array().unwrap().iter().find(|m| m["id"] == method);
    let listed = listed.ok_or_else(|| format!("{method} is not in {did}"))?;
    let key = multikey::decode_ed25519_public(listed["publicKeyMultibase"].as_str().unwrap()).unwrap();
    let canonicalizer = zegel::credential::contexts::canonicalizer();
    data_integrity::verify_proof(&canonicalizer, bytes, &document["@context"], proof, &key).map_err(|e| e.to_string())
}

/// The VC-JWT's key, found by its `kid` in the JWKS `app` publishes,
/// verifies the token.
async fn verify_by_jwks(app: &TestApp, token: &str) -> Result<(), String> {
    let jwks = app.jwks().await.expect(200);
    let kid = jwt::decode_unverified(token).unwrap().kid().unwrap().to_owned();
    let jwk = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid.as_str());
    let jwk = jwk.ok_or_else(|| format!("no key {kid} in {jwks}"))?;
    let key = jwt::PublicKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    jwt::verify_vc_jwt(token, &key).map(|_| ()).map_err(|e| e.to_string())
}

fn proof_method(document: &Value) -> &str {
    document["proof"][0]["verificationMethod"].as_str().unwrap()
}

fn check(report: &Report, kind: CheckKind) -> Outcome {
    report.checks.iter().find(|c| c.check == kind).map(|c| c.outcome).unwrap_or_else(|| panic!("no {kind:?} check"))
}

/// The key ids a DID document and a JWKS publish (the part after `#`).
async fn published(app: &TestApp) -> (Vec<String>, Vec<String>) {
    let fragment = |id: &Value| id.as_str().unwrap().rsplit('#').next().unwrap().to_owned();
    let did = app.did_document().await.expect(200);
    let jwks = app.jwks().await.expect(200);
    let methods = did["assertionMethod"].as_array().unwrap().iter().map(fragment).collect();
    let kids = jwks["keys"].as_array().unwrap().iter().map(|k| fragment(&k["kid"])).collect();
    (methods, kids)
}

async fn key_entries(app: &TestApp) -> Vec<Value> {
    let reply = app.send(app.request(Method::GET, "/api/v1/audit?action=", Some(&app.admin_token))).await;
    let entries = reply.expect(200)["entries"].as_array().unwrap().clone();
    entries.into_iter().filter(|e| e["action"].as_str().unwrap().starts_with("key_")).collect()
}

async fn after_a_rotation_old_credentials_keep_verifying_and_new_ones_use_the_new_key(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &DID_WEB_ISSUER).await else { return };
    app.define_microcredential().await;
    let (old, old_bytes, old_jwt) = issue(&app, "keys-old").await;
    assert_eq!(proof_method(&old), format!("{DID_WEB}#{TEST_KEY_ID}"));

    // Act: rotate, then start an instance on the same keys and database.
    let rotated = succeeded(&zegel_keys(&app, &DID_WEB_ISSUER, &["rotate", "--json"]));
    let new_key = rotated["key_id"].as_str().unwrap().to_owned();
    assert_ne!(new_key, TEST_KEY_ID);
    assert_eq!(rotated["previous_key_id"], TEST_KEY_ID);
    assert_eq!(rotated["issuer"], DID_WEB);
    let restarted = app.second_instance().await;

    // New credentials are signed with the new key, under the same issuer.
    let (new, new_bytes, new_jwt) = issue(&restarted, "keys-new").await;
    assert_eq!(new["issuer"]["id"], DID_WEB);
    assert_eq!(proof_method(&new), format!("{DID_WEB}#{new_key}"));
    assert_eq!(jwt::decode_unverified(&new_jwt).unwrap().kid(), Some(format!("{DID_WEB}#{new_key}").as_str()));

    // Both keys are published, in the DID document and in the JWKS.
    let (methods, kids) = published(&restarted).await;
    assert_eq!(methods, [TEST_KEY_ID, new_key.as_str()]);
    assert_eq!(kids, [TEST_KEY_ID, new_key.as_str()]);

    // Both credentials verify: offline (status lists now signed with the
    // new key), and by the keys their proofs and tokens name.
    for (document, bytes, token) in [(&old, &old_bytes, &old_jwt), (&new, &new_bytes, &new_jwt)] {
        let report = verify_offline(&restarted, document, bytes).await;
        assert_eq!(report.verdict, Verdict::Valid, "{}", report.to_json_pretty());
        verify_by_did_document(&restarted, document, bytes).await.unwrap();
        verify_by_jwks(&restarted, token).await.unwrap();
    }

    // The rotation is in the audit trail.
    let entries = key_entries(&restarted).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    assert_eq!(entry["action"], "key_rotated");
    assert_eq!(entry["actor"], "cli");
    assert_eq!(entry["details"]["key_id"], new_key.as_str());
    assert_eq!(entry["details"]["previous_key_id"], TEST_KEY_ID);
}

async fn a_prepared_key_is_published_before_it_signs(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &DID_WEB_ISSUER).await else { return };
    app.define_microcredential().await;

    // Step 1: every instance publishes the new key, and still signs with the old one.
    let prepared = succeeded(&zegel_keys(&app, &DID_WEB_ISSUER, &["rotate", "--prepare", "--json"]));
    let next = prepared["key_id"].as_str().unwrap().to_owned();
    assert_eq!(prepared["current_key_id"], TEST_KEY_ID);
    let first = app.second_instance().await;
    let (methods, kids) = published(&first).await;
    assert_eq!(methods, [TEST_KEY_ID, next.as_str()]);
    assert_eq!(kids, [TEST_KEY_ID, next.as_str()]);
    let (document, ..) = issue(&first, "keys-prepared-1").await;
    assert_eq!(proof_method(&document), format!("{DID_WEB}#{TEST_KEY_ID}"));
    // A second prepared key is refused.
    let again = zegel_keys(&app, &DID_WEB_ISSUER, &["rotate", "--prepare"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains(&next));

    // Step 2: the prepared key becomes current; the published set is the same.
    let rotated = succeeded(&zegel_keys(&app, &DID_WEB_ISSUER, &["rotate", "--json"]));
    assert_eq!(rotated["key_id"], next.as_str());
    assert!(rotated.get("file").is_none(), "no new key was made: {rotated}");
    let second = app.second_instance().await;
    assert_eq!(published(&second).await, (methods, kids));
    let (document, bytes, _) = issue(&second, "keys-prepared-2").await;
    assert_eq!(proof_method(&document), format!("{DID_WEB}#{next}"));
    assert_eq!(verify_offline(&second, &document, &bytes).await.verdict, Verdict::Valid);

    let actions: Vec<Value> = key_entries(&second).await.iter().map(|e| e["action"].clone()).collect();
    assert_eq!(actions, ["key_added", "key_rotated"]);
}

async fn a_retired_key_can_be_removed_and_the_current_key_cannot(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &DID_WEB_ISSUER).await else { return };
    app.define_microcredential().await;
    let (old, old_bytes, old_jwt) = issue(&app, "keys-removed").await;
    let new_key =
        succeeded(&zegel_keys(&app, &DID_WEB_ISSUER, &["rotate", "--json"]))["key_id"].as_str().unwrap().to_owned();

    // The current key is refused, an unknown one too; nothing changes.
    for key in [new_key.as_str(), "z6MkUnknownUnknownUnknown"] {
        let refused = zegel_keys(&app, &DID_WEB_ISSUER, &["remove", key]);
        assert_eq!(refused.status.code(), Some(1), "{key}");
        assert!(refused.stdout.is_empty());
    }
    let stderr = String::from_utf8_lossy(&zegel_keys(&app, &DID_WEB_ISSUER, &["remove", &new_key]).stderr).into_owned();
    assert!(stderr.contains("current"), "{stderr}");

    // The retired key is removed: published no more.
    let removed = succeeded(&zegel_keys(&app, &DID_WEB_ISSUER, &["remove", TEST_KEY_ID, "--json"]));
    assert_eq!(removed["key_id"], TEST_KEY_ID);
    let moved = removed["moved_to"].as_str().unwrap();
    assert!(moved.starts_with(&app.keys_dir().join("removed").display().to_string()), "{moved}");
    let listed = succeeded(&zegel_keys(&app, &DID_WEB_ISSUER, &["list", "--json"]));
    let states: Vec<(&str, &str)> =
        listed.as_array().unwrap().iter().map(|k| (k["id"].as_str().unwrap(), k["state"].as_str().unwrap())).collect();
    assert_eq!(states, [(new_key.as_str(), "current"), (TEST_KEY_ID, "removed")]);

    let restarted = app.second_instance().await;
    assert_eq!(published(&restarted).await, (vec![new_key.clone()], vec![new_key.clone()]));
    // What the removed key signed no longer verifies by the published keys.
    assert!(verify_by_did_document(&restarted, &old, &old_bytes).await.is_err());
    assert!(verify_by_jwks(&restarted, &old_jwt).await.is_err());

    let actions: Vec<Value> = key_entries(&restarted).await.iter().map(|e| e["action"].clone()).collect();
    assert_eq!(actions, ["key_rotated", "key_removed"]);
    let entries = key_entries(&restarted).await;
    assert_eq!(entries[1]["details"]["key_id"], TEST_KEY_ID);
    assert_eq!(entries[1]["actor"], "cli");
}

async fn keys_list_shows_ids_and_states_and_no_secrets(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    // The single-key layout: the test key signs.
    let listed = succeeded(&zegel_keys(&app, &[], &["list", "--json"]));
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["id"], TEST_KEY_ID);
    assert_eq!(listed[0]["state"], "current");
    let table = zegel_keys(&app, &[], &["list"]);
    assert!(table.status.success());
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains(TEST_KEY_ID) && text.contains("current") && text.contains("keyring.json"), "{text}");

    succeeded(&zegel_keys(&app, &[], &["rotate", "--json"]));
    let listed = succeeded(&zegel_keys(&app, &[], &["list", "--json"]));
    let states: Vec<&str> = listed.as_array().unwrap().iter().map(|k| k["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["retired", "current"]);
    assert!(listed[0]["retired"].is_string() && listed[1]["retired"].is_null(), "{listed}");
    let manifest = std::fs::read_to_string(app.keys_dir().join("keyring.json")).unwrap();
    assert!(!manifest.contains("PRIVATE"), "{manifest}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for entry in std::fs::read_dir(app.keys_dir()).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() && path.file_name().unwrap() != "test-ed25519.pem" {
                let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{}", path.display());
            }
        }
    }
}

async fn with_a_did_key_issuer_a_rotation_warns_that_the_issuer_changes(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let (old, old_bytes, old_jwt) = issue(&app, "keys-did-key").await;
    assert_eq!(old["issuer"]["id"], TEST_KEY_DID);

    let output = zegel_keys(&app, &[], &["rotate", "--json"]);
    let rotated = succeeded(&output);
    let new_key = rotated["key_id"].as_str().unwrap().to_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("warning") && stderr.contains("did:web") && stderr.contains(TEST_KEY_DID), "{stderr}");
    assert_eq!(rotated["issuer"], format!("did:key:{new_key}"));

    let restarted = app.second_instance().await;
    let (new, ..) = issue(&restarted, "keys-did-key-2").await;
    assert_eq!(new["issuer"]["id"], format!("did:key:{new_key}"));
    // The old credential's signature still verifies (a did:key is its own
    // key) and its key stays in the JWKS under the kid it was signed with…
    verify_by_jwks(&restarted, &old_jwt).await.unwrap();
    let report = verify_offline(&restarted, &old, &old_bytes).await;
    assert_eq!(check(&report, CheckKind::Proof), Outcome::Passed, "{}", report.to_json_pretty());
    // …but its status lists are now signed by another issuer: why did:web
    // is the identifier to rotate keys under.
    assert_ne!(check(&report, CheckKind::Status), Outcome::Passed, "{}", report.to_json_pretty());

    let entries = key_entries(&restarted).await;
    assert_eq!(entries[0]["details"]["previous_issuer"], TEST_KEY_DID);
}

crate::backend_tests!(
    after_a_rotation_old_credentials_keep_verifying_and_new_ones_use_the_new_key,
    a_prepared_key_is_published_before_it_signs,
    a_retired_key_can_be_removed_and_the_current_key_cannot,
    keys_list_shows_ids_and_states_and_no_secrets,
    with_a_did_key_issuer_a_rotation_warns_that_the_issuer_changes,
);

//! Issue point 6, "verify anything": `POST /verify` checks any Open Badges
//! 3.0 credential sent as JSON, a VC-JWT, a baked PNG or SVG badge or a form, answers JSON or a page,
//! refuses what is no credential (422) and floods (429); other issuers'
//! keys are fetched only from hosts the settings allow.
#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use crate::common::Backend;
use crate::helpers::{Reply, TestApp, spawn_app, spawn_app_with};
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use std::path::PathBuf;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Enough requests for the tests that send many.
const GENEROUS: (&str, &str) = ("ZEGEL_VERIFY_RATE_PER_MIN", "1000");

async fn post(app: &TestApp, content_type: &str, accept: &str, body: impl Into<reqwest::Body>) -> Reply {
    let request = app
        .request(Method::POST, "/verify", None)
        .header("content-type", content_type)
        .header("accept", accept)
        .body(body);
    app.send(request).await
}

/// The report for `body`, asked for as JSON.
async fn verify_json(app: &TestApp, content_type: &str, body: impl Into<reqwest::Body>) -> Value {
    let reply = post(app, content_type, "application/json", body).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.media_type(), "application/json");
    reply.json()
}

async fn any_credential_is_verified_as_json_or_jwt_and_garbage_is_refused(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &[GENEROUS]).await else { return };
    app.define_microcredential().await;
    let award = app.issue("verify-1").await;
    let id = award["credential_id"].as_str().unwrap();
    let document = app.get(&format!("/credentials/{id}.json")).await.text();
    let jwt = app.get(&format!("/credentials/{id}.jwt")).await.text();

    for (content_type, body) in [
        ("application/json", document.clone()),
        ("application/vc+ld+json", document.clone()),
        ("application/vc+jwt", jwt.clone()),
        ("text/plain", format!("\n{jwt}\n")),
    ] {
        let report = verify_json(&app, content_type, body).await;
        assert_eq!(report["verdict"], "valid", "{content_type}: {report:#}");
        // zegel's own status lists, from its database: checked, not a warning.
        let status = report["checks"].as_array().unwrap().iter().find(|c| c["check"] == "status").unwrap();
        assert_eq!(status["outcome"], "passed", "{content_type}: {report:#}");
    }

    let tampered = document.replace("Sam de Vries", "Sam de Vriez");
    let report = verify_json(&app, "application/json", tampered).await;
    assert_eq!((&report["verdict"], &report["code"]), (&json!("invalid"), &json!("proof")), "{report:#}");

    // A revocation shows with the reason the issuer recorded.
    let path = format!("/api/v1/credentials/{id}/revoke");
    app.send_json(Method::POST, &path, &app.admin_token, &json!({"reason": "Diploma fraud"})).await.expect(200);
    let revoked = verify_json(&app, "application/json", document).await;
    assert_eq!(revoked["code"], "revoked", "{revoked:#}");
    assert!(revoked["reason"].as_str().unwrap().contains("Diploma fraud"), "{revoked:#}");

    for garbage in ["hello", "", "{not json", "eyJ.eyJ"] {
        let reply = post(&app, "text/plain", "application/json", garbage).await;
        reply.expect_error(422, "validation_failed");
    }
    // A page on another origin may post JSON: the preflight allows it.
    let preflight = app
        .send(
            app.request(Method::OPTIONS, "/verify", None)
                .header("origin", "https://wallet.example")
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "content-type"),
        )
        .await;
    assert_eq!(preflight.status, 204);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
    assert!(preflight.header("access-control-allow-methods").unwrap().contains("POST"));
    assert!(preflight.header("access-control-allow-headers").unwrap().to_ascii_lowercase().contains("content-type"));
    let reply = post(&app, "application/xml", "application/json", "<x/>").await;
    reply.expect_error(415, "unsupported_media_type");
    // Baked images give the credential in them, whatever type they are sent as.
    for (image, content_type) in [("simple-json.png", "application/octet-stream"), ("simple-json.svg", "text/plain")] {
        let report = verify_json(&app, content_type, fixture(&format!("valid/{image}"))).await;
        assert_eq!(report["verdict"], "valid", "{image}: {report:#}");
    }
    let reply = post(&app, "application/json", "application/json", vec![b' '; 2 * 1024 * 1024 + 1]).await;
    reply.expect_error(413, "payload_too_large");
}

const BOUNDARY: &str = "----zegel-test-boundary";

/// A multipart/form-data body (RFC 7578) of (name, file name, content).
fn multipart(fields: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file, content) in fields {
        body.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"").as_bytes());
        if let Some(file) = file {
            body.extend_from_slice(
                format!("; filename=\"{file}\"\r\nContent-Type: application/octet-stream").as_bytes(),
            );
        }
        body.extend_from_slice(b"\r\n\r\n");
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn browsers_get_a_form_and_a_report_page(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &[GENEROUS]).await else { return };
    app.define_microcredential().await;
    let award = app.issue("verify-html").await;
    let document = app.get(&format!("/credentials/{}.json", award["credential_id"].as_str().unwrap())).await.text();
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

    let reply = app.send(app.request(Method::GET, "/verify", None).header("accept-language", "nl")).await;
    assert_eq!((reply.status, reply.media_type().as_str()), (200, "text/html"));
    let html = reply.text();
    assert!(html.contains(r#"<html lang="nl">"#) && html.contains(r#"enctype="multipart/form-data""#), "{html}");
    assert!(
        html.contains(r#"<textarea id="credential" name="credential""#) && html.contains(r#"name="file" type="file""#)
    );
    assert!(reply.header("content-security-policy").unwrap().contains("form-action 'self'"));

    // A pasted credential, as a browser posts the form without a file.
    let reply = app
        .send(
            app.request(Method::POST, "/verify?lang=en", None)
                .header("accept", browser)
                .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
                .body(multipart(&[("credential", None, document.as_bytes()), ("file", Some(""), b"")])),
        )
        .await;
    assert_eq!((reply.status, reply.media_type().as_str()), (200, "text/html"), "{}", reply.text());
    assert!(reply.text().contains("card verdict valid"), "{}", reply.text());
    // An uploaded file wins over the text box.
    let tampered = document.replace("Sam", "Pam");
    let reply = app
        .send(
            app.request(Method::POST, "/verify", None)
                .header("accept", browser)
                .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
                .body(multipart(&[("credential", None, b"ignored"), ("file", Some("c.json"), tampered.as_bytes())])),
        )
        .await;
    assert!(reply.text().contains("card verdict invalid") && reply.text().contains("Not valid"), "{}", reply.text());
    // A url-encoded form: a page, in the language asked for.
    let reply = app
        .send(
            app.request(Method::POST, "/verify", None)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("accept", "text/html")
                .header("accept-language", "nl")
                .body(format!("credential={}", crate::helpers::percent_encode(&document))),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.text().contains("Geldig"), "{}", reply.text());
    // curl's `*/*` gets JSON, even for its default form type.
    let reply = post(&app, "application/x-www-form-urlencoded", "*/*", document.clone()).await;
    assert_eq!(reply.expect(200)["verdict"], "valid");
    // Garbage in a form: the page says what is wrong, with 422.
    let reply = post(&app, "application/x-www-form-urlencoded", browser, "credential=hello").await;
    assert_eq!(reply.status, 422);
    assert!(reply.text().contains("neither a JSON credential nor a compact JWT"), "{}", reply.text());
}

async fn a_client_that_sends_too_much_gets_429_with_retry_after(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &[("ZEGEL_VERIFY_RATE_PER_MIN", "2")]).await else { return };
    for _ in 0..2 {
        assert_eq!(post(&app, "text/plain", "application/json", "hello").await.status, 422);
    }
    let reply = post(&app, "text/plain", "application/json", "hello").await;
    reply.expect_error(429, "rate_limited");
    let wait: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=30).contains(&wait), "{wait}");
    // The form itself is not limited.
    assert_eq!(app.get("/verify").await.status, 200);
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/testvectors/ob3-examples/1edtech-validator")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).unwrap()
}

/// The official validator's examples get its verdicts (as of now: a valid
/// example whose validUntil has passed is expired).
async fn the_1edtech_validator_examples_get_their_verdicts(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &[GENEROUS]).await else { return };
    let mut seen = 0;
    for kind in ["valid", "invalid"] {
        let mut names: Vec<String> = std::fs::read_dir(fixtures().join(kind))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| [".json", ".jwt", ".png", ".svg"].iter().any(|e| n.ends_with(e)))
            .collect();
        names.sort();
        for name in names {
            let bytes = fixture(&format!("{kind}/{name}"));
            let report = verify_json(&app, "application/octet-stream", bytes.clone()).await;
            let verdict = report["verdict"].as_str().unwrap();
            // A baked badge: its dates are the credential's in it.
            let credential = match zegel::baking::ImageKind::sniff(&bytes) {
                Some(_) => zegel::baking::extract(&bytes).unwrap().credential.into_bytes(),
                None => bytes,
            };
            let until = serde_json::from_slice::<Value>(&credential)
                .ok()
                .and_then(|v| v["validUntil"].as_str().and_then(|u| u.parse::<DateTime<Utc>>().ok()));
            match (kind, name.as_str()) {
                // A status list credential, not a badge.
                ("valid", "bitstring-testlist.json") => assert_eq!(verdict, "invalid", "{name}: {report:#}"),
                ("valid", _) if until.is_some_and(|u| u < Utc::now()) => {
                    assert_eq!(report["code"], "expired", "{name}: {report:#}")
                }
                ("valid", _) => assert_eq!(verdict, "valid", "{name}: {report:#}"),
                _ => {
                    assert_eq!(verdict, "invalid", "{name}: {report:#}");
                    // The check that fails first, as the 1EdTech validator names it.
                    let expected = match name.as_str() {
                        "simple-err-context.json" => "context",
                        "simple-err-expired.json" => "expired",
                        "simple-err-proof-method.json" | "simple-err-proof-value.json" => "proof",
                        "simple-err-type.json" => "type",
                        // Also a schema violation, which is checked before dates and issuer.
                        _ => "schema",
                    };
                    assert_eq!(report["code"], expected, "{name}: {report:#}");
                }
            }
            seen += 1;
        }
    }
    assert!(seen >= 22, "{seen}");
}

/// Another issuer, did:web on a local port: its credential verifies when
/// that host is allowed (and local addresses are), and cannot be checked
/// otherwise: nothing is fetched by default.
async fn another_did_web_issuers_keys_are_fetched_only_when_allowed(backend: Backend) {
    use zegel::signing::data_integrity::{self, ProofOptions, ProofPlacement};
    use zegel::signing::keys::{self, KeyKind};
    let key = keys::generate(KeyKind::Ed25519).unwrap();
    let key = key.as_ed25519().unwrap();
    let multibase = zegel::signing::multikey::encode_ed25519_public(&key.verifying_key());
    // Listening where zegel will look "localhost" up first; the document
    // names the port.
    let address = tokio::net::lookup_host(("localhost", 0)).await.unwrap().next().unwrap();
    let listener = tokio::net::TcpListener::bind(address).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let did = format!("did:web:localhost%3A{port}");
    let method = format!("{did}#key-1");
    let document = json!({
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [{"id": method, "type": "Multikey", "controller": did, "publicKeyMultibase": multibase}],
        "assertionMethod": [method],
    });
    serve_did_document(listener, document.to_string());

    let mut credential: Value = serde_json::from_slice(&fixture("valid/simple.json")).unwrap();
    let object = credential.as_object_mut().unwrap();
    object.remove("proof");
    object.remove("credentialStatus");
    object.remove("validUntil");
    credential["issuer"]["id"] = did.clone().into();
    let canonicalizer = zegel::credential::contexts::canonicalizer();
    let signed = data_integrity::add_proof(
        &canonicalizer,
        &serde_json::to_vec(&credential).unwrap(),
        &ProofOptions::assertion(method.clone(), Utc::now()),
        key.signing_key(),
        ProofPlacement::Array,
    )
    .unwrap();

    let allowed = [GENEROUS, ("ZEGEL_VERIFY_FETCH_HOSTS", "localhost"), ("ZEGEL_VERIFY_ALLOW_LOCAL", "true")];
    let Some(app) = spawn_app_with(backend, &allowed).await else { return };
    let report = verify_json(&app, "application/json", signed.clone()).await;
    assert_eq!(report["verdict"], "valid", "{report:#}");
    let issuer = report["checks"].as_array().unwrap().iter().find(|c| c["check"] == "issuer").unwrap();
    assert_eq!(issuer["outcome"], "passed", "{report:#}");
    assert!(issuer["message"].as_str().unwrap().contains("lists the signing key"), "{report:#}");

    // Allowed host, but local addresses not allowed: refused, not fetched.
    let no_local = [GENEROUS, ("ZEGEL_VERIFY_FETCH_HOSTS", "*")];
    let Some(app) = spawn_app_with(backend, &no_local).await else { return };
    let report = verify_json(&app, "application/json", signed.clone()).await;
    assert_eq!(report["verdict"], "could_not_check", "{report:#}");
    assert!(report["reason"].as_str().unwrap().contains("was not fetched: http is not https"), "{report:#}");
    // The default: nothing fetched.
    let Some(app) = spawn_app(backend).await else { return };
    let report = verify_json(&app, "application/json", signed).await;
    assert_eq!(report["verdict"], "could_not_check", "{report:#}");
    assert!(report["reason"].as_str().unwrap().contains("not an allowed host"), "{report:#}");
}

/// Serves `body` as the DID document at `/.well-known/did.json`, 404 elsewhere.
fn serve_did_document(listener: tokio::net::TcpListener, body: String) {
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut request = vec![0u8; 4096];
                let _ = socket.read(&mut request).await;
                let ok = String::from_utf8_lossy(&request).starts_with("GET /.well-known/did.json ");
                let (status, body) = if ok { ("200 OK", body.as_str()) } else { ("404 Not Found", "") };
                let response = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/did+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
}

crate::backend_tests!(
    any_credential_is_verified_as_json_or_jwt_and_garbage_is_refused,
    browsers_get_a_form_and_a_report_page,
    a_client_that_sends_too_much_gets_429_with_retry_after,
    the_1edtech_validator_examples_get_their_verdicts,
    another_did_web_issuers_keys_are_fetched_only_when_allowed,
);

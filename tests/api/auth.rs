//! Issue point 3: API clients and bearer tokens. Every /api/v1 route wants
//! a token (401 without, with `WWW-Authenticate: Bearer`) holding the right
//! scope (403); tokens are created, listed and revoked with the CLI, and only
//! their hash is stored.
#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use crate::common::Backend;
use crate::helpers::{TestApp, award, microcredential, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};
use std::process::{Command, Output};

/// Every /api/v1 route, with a body where it takes one.
fn api_routes(achievement_id: &str, award_id: &str) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::GET, "/api/v1/achievements".into(), None),
        (Method::POST, "/api/v1/achievements".into(), Some(microcredential())),
        (Method::GET, format!("/api/v1/achievements/{achievement_id}"), None),
        (Method::PUT, format!("/api/v1/achievements/{achievement_id}"), Some(microcredential())),
        (Method::POST, "/api/v1/awards".into(), Some(award("auth-probe-1"))),
        (Method::GET, "/api/v1/awards?source_record_id=auth-0".into(), None),
        (Method::GET, format!("/api/v1/awards/{award_id}"), None),
    ]
}

/// Sends every /api/v1 request with `authorization` (a raw header value, or
/// none) and asserts each gets a 401 in zegel's envelope.
async fn assert_every_route_refuses(app: &TestApp, authorization: Option<&str>) {
    let achievement = app.define_microcredential().await;
    let issued = app.issue("auth-0").await;
    for (method, path, body) in api_routes(achievement["id"].as_str().unwrap(), issued["id"].as_str().unwrap()) {
        let mut request = app.request(method.clone(), &path, None);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        if let Some(body) = &body {
            request = request.json(body);
        }
        let reply = app.send(request).await;
        assert_eq!(reply.status, 401, "{method} {path} with {authorization:?}: {}", reply.text());
        reply.expect_error(401, "unauthorized");
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"), "{method} {path}");
    }
    // Nothing the refused requests carried was written.
    assert_eq!(app.assert_consistent().await, (1, 1));
    let list = app.list_achievements().await.expect(200);
    assert_eq!(list["achievements"].as_array().unwrap().len(), 1);
}

async fn every_api_route_refuses_a_request_without_a_token(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    assert_every_route_refuses(&app, None).await;
}

async fn every_api_route_refuses_an_unknown_or_malformed_token(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    // A well-formed token nobody was given.
    assert_every_route_refuses(&app, Some("Bearer zgl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")).await;
    for header in [
        "Bearer",
        "Bearer ",
        "Bearer not-a-zegel-token",
        // The right token in the wrong scheme, or mangled.
        &format!("Basic {}", app.admin_token),
        &format!("Token {}", app.admin_token),
        &format!("Bearer {}x", app.admin_token),
        &format!("Bearer {}", &app.admin_token[..app.admin_token.len() - 1]),
        &app.admin_token,
    ] {
        let reply =
            app.send(app.request(Method::GET, "/api/v1/achievements", None).header("authorization", header)).await;
        reply.expect_error(401, "unauthorized");
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"), "{header}");
    }
}

async fn a_client_without_the_scope_a_route_needs_gets_403(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let achievement = app.define_microcredential().await;
    let id = achievement["id"].as_str().unwrap();
    // awards:read cannot issue or define.
    let reply = app.send_json(Method::POST, "/api/v1/awards", &app.reader_token, &award("scope-1")).await;
    let body = reply.expect_error(403, "forbidden");
    assert!(body["message"].as_str().unwrap().contains("awards:write"), "{body}");
    app.send_json(Method::POST, "/api/v1/achievements", &app.reader_token, &microcredential())
        .await
        .expect_error(403, "forbidden");
    // awards:write + awards:read (an SIS) cannot change definitions.
    let mut changed = microcredential();
    changed["name"] = json!("Renamed by the SIS");
    app.send_json(Method::PUT, &format!("/api/v1/achievements/{id}"), &app.writer_token, &changed)
        .await
        .expect_error(403, "forbidden");
    app.send_json(Method::POST, "/api/v1/achievements", &app.writer_token, &microcredential())
        .await
        .expect_error(403, "forbidden");
    // The scope is checked before the body is read: an invalid body still gets 403.
    app.send_raw(Method::POST, "/api/v1/awards", &app.reader_token, "application/json", b"{not json".to_vec())
        .await
        .expect_error(403, "forbidden");
    // Nothing changed.
    app.assert_no_awards().await;
    assert_eq!(app.get_achievement(id).await.expect(200)["name"], "Data Literacy for Professionals");
    let list = app.list_achievements().await.expect(200);
    assert_eq!(list["achievements"].as_array().unwrap().len(), 1);
}

async fn each_scope_opens_exactly_its_routes_and_admin_opens_all(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let achievement = app.define_microcredential().await;
    let id = achievement["id"].as_str().unwrap();
    // awards:read reads.
    app.send(app.request(Method::GET, "/api/v1/achievements", Some(&app.reader_token))).await.expect(200);
    app.send(app.request(Method::GET, &format!("/api/v1/achievements/{id}"), Some(&app.reader_token)))
        .await
        .expect(200);
    // awards:write issues, and (with awards:read) reads back.
    let issued = app.send_json(Method::POST, "/api/v1/awards", &app.writer_token, &award("scope-2")).await.expect(201);
    let path = format!("/api/v1/awards/{}", issued["id"].as_str().unwrap());
    app.send(app.request(Method::GET, &path, Some(&app.writer_token))).await.expect(200);
    app.send(app.request(Method::GET, &path, Some(&app.reader_token))).await.expect(200);
    // admin holds every scope.
    app.send(app.request(Method::GET, &path, Some(&app.admin_token))).await.expect(200);
    app.send_json(Method::POST, "/api/v1/awards", &app.admin_token, &award("scope-3")).await.expect(201);
    // The scheme in any case, and surrounding spaces, are accepted too.
    for scheme in ["bearer ", "BEARER", "BeArEr"] {
        let header = format!("{scheme} {} ", app.reader_token);
        app.send(app.request(Method::GET, &path, None).header("authorization", header)).await.expect(200);
    }
}

async fn public_resources_need_no_token(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let issued = app.issue("public-1").await;
    app.fetch(issued["credential_url"].as_str().unwrap(), None).await.expect(200);
    for path in ["/.well-known/did.json", "/.well-known/jwks.json", "/issuer", "/health", "/ready"] {
        assert_eq!(app.get(path).await.status, 200, "{path}");
    }
}

// ---------------------------------------------------------------------------
// The CLI: create, list, revoke
// ---------------------------------------------------------------------------

fn zegel_clients(app: &TestApp, args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_zegel"))
        .arg("clients")
        .args(args)
        .env("DATABASE_URL", &app.db.url)
        .env("ZEGEL_KEYS_DIR", app.keys_dir())
        .env_remove("ZEGEL_PUBLIC_URL")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "zegel clients {args:?}: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
}

/// The token occurs nowhere in the database: not in any column of any
/// client or audit row (SQLite: not in the database or WAL file at all).
async fn assert_token_not_stored(app: &TestApp, token: &str) {
    match app.db.backend {
        Backend::Sqlite => {
            let path = app.db.sqlite_path().unwrap();
            for file in [path.clone(), path.with_extension("db-wal")] {
                if let Ok(bytes) = std::fs::read(&file) {
                    assert!(
                        !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
                        "the token is stored in {}",
                        file.display()
                    );
                }
            }
        }
        Backend::Postgres => {
            for table in ["api_client", "audit_entry"] {
                let sql = format!("select count(*) from {table} t where t::text like '%{token}%'");
                assert_eq!(app.db.raw_count(&sql).await, 0, "the token is stored in {table}");
            }
        }
    }
    let hash = zegel::issuance::token_hash(token);
    let sql = format!("select count(*) from api_client where token_hash = '{hash}'");
    assert_eq!(app.db.raw_count(&sql).await, 1, "the token's hash is stored");
}

async fn a_token_created_with_the_cli_works_is_listed_without_its_secret_and_stops_working_when_revoked(
    backend: Backend,
) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;

    // Arrange: a client made the way an operator makes one.
    let created =
        zegel_clients(&app, &["create", "--name", "Osiris test", "--scopes", "awards:write,awards:read", "--json"]);
    let created = stdout_json(&created);
    let token = created["token"].as_str().unwrap().to_owned();
    let client_id = created["client_id"].as_str().unwrap().to_owned();
    assert_eq!(created["scopes"], json!(["awards:write", "awards:read"]));
    assert!(token.starts_with("zgl_"), "{token}");

    // Act + Assert: the token issues awards.
    let reply = app.send_json(Method::POST, "/api/v1/awards", &token, &award("cli-1")).await;
    reply.expect(201);
    assert_token_not_stored(&app, &token).await;

    // Listed by id, name and hint, never by the token itself.
    let list = zegel_clients(&app, &["list", "--json"]);
    let text = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(!text.contains(&token), "the list shows the token: {text}");
    let list: Value = serde_json::from_str(&text).unwrap();
    let entry = list.as_array().unwrap().iter().find(|c| c["client_id"] == client_id.as_str()).unwrap().clone();
    assert_eq!(entry["name"], "Osiris test");
    assert!(entry["revoked_at"].is_null(), "{entry}");
    assert!(token.starts_with(entry["token_hint"].as_str().unwrap()), "{entry}");
    let plain = zegel_clients(&app, &["list"]);
    assert!(!String::from_utf8_lossy(&plain.stdout).contains(&token));

    // Revoked: refused from the next request on.
    let revoked = zegel_clients(&app, &["revoke", &client_id]);
    assert!(String::from_utf8_lossy(&revoked.stdout).contains("revoked"));
    for (method, path, body) in [
        (Method::POST, "/api/v1/awards", Some(award("cli-2"))),
        (Method::GET, "/api/v1/awards?source_record_id=cli-1", None),
    ] {
        let mut request = app.request(method, path, Some(&token));
        if let Some(body) = &body {
            request = request.json(body);
        }
        let reply = app.send(request).await;
        reply.expect_error(401, "unauthorized");
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
    }
    let list = stdout_json(&zegel_clients(&app, &["list", "--json"]));
    let entry = list.as_array().unwrap().iter().find(|c| c["client_id"] == client_id.as_str()).unwrap().clone();
    assert!(entry["revoked_at"].is_string(), "{entry}");
    // Only cli-1 was issued; other clients still work.
    assert_eq!(app.assert_consistent().await, (1, 1));
    app.find_award("cli-1").await.expect(200);
}

crate::backend_tests!(
    every_api_route_refuses_a_request_without_a_token,
    every_api_route_refuses_an_unknown_or_malformed_token,
    a_client_without_the_scope_a_route_needs_gets_403,
    each_scope_opens_exactly_its_routes_and_admin_opens_all,
    public_resources_need_no_token,
    a_token_created_with_the_cli_works_is_listed_without_its_secret_and_stops_working_when_revoked,
);

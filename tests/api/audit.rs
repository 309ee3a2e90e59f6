//! Issue 5, the audit trail: `GET /api/v1/audit` (scope `admin`) lists what
//! happened, filtered and paged; `zegel audit` prints the same; the trail
//! cannot be changed or deleted.
#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use crate::common::Backend;
use crate::helpers::{TestApp, assert_problems, spawn_app};
use reqwest::Method;
use serde_json::Value;
use std::process::{Command, Output};

impl TestApp {
    /// `GET /api/v1/audit?<query>` with the admin token.
    async fn audit(&self, query: &str) -> crate::helpers::Reply {
        self.send(self.request(Method::GET, &format!("/api/v1/audit?{query}"), Some(&self.admin_token))).await
    }

    /// The entries of `GET /api/v1/audit?<query>` (the test fails on anything but 200).
    async fn audit_entries(&self, query: &str) -> Vec<Value> {
        self.audit(query).await.expect(200)["entries"].as_array().unwrap().clone()
    }
}

fn actions(entries: &[Value]) -> Vec<&str> {
    entries.iter().map(|e| e["action"].as_str().unwrap()).collect()
}

fn zegel_audit(app: &TestApp, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zegel"))
        .arg("audit")
        .args(args)
        .env("DATABASE_URL", &app.db.url)
        .env("ZEGEL_KEYS_DIR", app.keys_dir())
        .env_remove("ZEGEL_PUBLIC_URL")
        .output()
        .unwrap()
}

async fn issuing_an_award_writes_a_credential_issued_entry(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let achievement = app.define_microcredential().await;
    let issued = app.issue("audit-1").await;
    let (award_id, credential_id) = (issued["id"].as_str().unwrap(), issued["credential_id"].as_str().unwrap());

    let reply = app.audit(&format!("award={award_id}")).await;
    let page = reply.expect(200);
    assert!(page["next"].is_null(), "{page}");
    let entries = page["entries"].as_array().unwrap();
    assert_eq!(actions(entries), ["credential_issued"], "{page}");
    let entry = &entries[0];
    assert_eq!(entry["award_id"], award_id);
    assert_eq!(entry["credential_id"], credential_id);
    assert_eq!(entry["achievement_id"], achievement["id"]);
    assert_eq!(entry["client_id"], app.writer_client_id.as_str());
    assert_eq!(entry["actor"], format!("client:{}", app.writer_client_id));
    assert!(entry["reason"].is_null(), "{entry}");
    assert!(entry["id"].as_i64().unwrap() > 0);
    let at: chrono::DateTime<chrono::Utc> = entry["at"].as_str().unwrap().parse().unwrap();
    assert!((chrono::Utc::now() - at).num_minutes() < 5, "{at}");
    // No learner data in the trail.
    assert!(!reply.text().contains("Vries") && !reply.text().contains("1234567@"), "{}", reply.text());
}

async fn the_filters_select_entries(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let achievement = app.define_microcredential().await;
    let achievement_id = achievement["id"].as_str().unwrap();
    let first = app.issue("audit-f1").await;
    // Credentials (and their audit entries) are timed to the second: wait
    // for the next one, so that `since` tells the two awards apart.
    let before_second = chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 0) + chrono::Duration::seconds(1);
    tokio::time::sleep((before_second - chrono::Utc::now()).to_std().unwrap_or_default()).await;
    let second = app.issue("audit-f2").await;

    let about_achievement = app.audit_entries(&format!("achievement={achievement_id}")).await;
    assert_eq!(actions(&about_achievement), ["achievement_created", "credential_issued", "credential_issued"]);
    let ids: Vec<i64> = about_achievement.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first: {ids:?}");

    let by_credential = app.audit_entries(&format!("credential={}", second["credential_id"].as_str().unwrap())).await;
    assert_eq!(by_credential.len(), 1);
    assert_eq!(by_credential[0]["award_id"], second["id"]);

    let issued = app.audit_entries("action=credential_issued").await;
    assert_eq!(issued.len(), 2);
    let by_client = app.audit_entries(&format!("client={}&action=credential_issued", app.writer_client_id)).await;
    assert_eq!(by_client, issued);
    assert!(app.audit_entries("action=credential_revoked").await.is_empty());
    // Filters combine: every one must match.
    let both =
        format!("award={}&credential={}", first["id"].as_str().unwrap(), second["credential_id"].as_str().unwrap());
    assert!(app.audit_entries(&both).await.is_empty());

    let since = before_second.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let recent = app.audit_entries(&format!("since={since}&action=credential_issued")).await;
    assert_eq!(recent.len(), 1, "{recent:?}");
    assert_eq!(recent[0]["award_id"], second["id"]);
    assert!(app.audit_entries("since=2999-01-01T00:00:00Z").await.is_empty());
    // An offset, its `+` percent-encoded as it should be.
    let all = app.audit_entries("").await;
    assert_eq!(app.audit_entries("since=2000-01-01T01:00:00%2B01:00").await, all);
}

async fn pages_follow_the_cursor_to_the_end(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    for i in 0..5 {
        app.issue(&format!("audit-p{i}")).await;
    }
    let everything = app.audit_entries("action=credential_issued").await;
    assert_eq!(everything.len(), 5);

    let mut seen = Vec::new();
    let mut after = String::new();
    let mut pages = 0;
    loop {
        let page = app.audit(&format!("action=credential_issued&limit=2&after={after}")).await.expect(200);
        seen.extend(page["entries"].as_array().unwrap().iter().cloned());
        pages += 1;
        match page["next"].as_str() {
            Some(next) => after = next.to_owned(),
            None => break,
        }
        assert!(pages < 10, "the cursor does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, everything);
    // A full last page says so: the next one is empty, with no cursor.
    let four = app.audit("action=credential_issued&limit=4").await.expect(200);
    let next = four["next"].as_str().unwrap();
    let rest = app.audit(&format!("action=credential_issued&limit=4&after={next}")).await.expect(200);
    assert_eq!(rest["entries"].as_array().unwrap().len(), 1);
    assert!(rest["next"].is_null());
    let five = app.audit("action=credential_issued&limit=5").await.expect(200);
    assert!(five["next"].is_null(), "{five}");
}

async fn bad_parameters_are_refused_with_every_problem_listed(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let reply = app.audit("since=yesterday&limit=5000&after=page-2&action=Credential%20Issued").await;
    let body = reply.expect_error(422, "validation_failed");
    assert_problems(&body, &["since", "limit", "after", "action"]);
    for query in ["limit=0", "limit=-1", "limit=ten", "since=2026-13-01T00:00:00Z", "after=-5"] {
        app.audit(query).await.expect_error(422, "validation_failed");
    }
    // A parameter the endpoint does not know.
    app.audit("state=failed").await.expect_error(422, "validation_failed");
    app.audit("limit=1000").await.expect(200);
}

async fn the_trail_is_for_administrators_only(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let reply = app.send(app.request(Method::GET, "/api/v1/audit", None)).await;
    reply.expect_error(401, "unauthorized");
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
    for token in [&app.reader_token, &app.writer_token] {
        let reply = app.send(app.request(Method::GET, "/api/v1/audit", Some(token))).await;
        let body = reply.expect_error(403, "forbidden");
        assert!(body["message"].as_str().unwrap().contains("admin"), "{body}");
    }
    app.send(app.request(Method::GET, "/api/v1/audit", Some(&app.admin_token))).await.expect(200);
}

async fn the_database_refuses_to_change_or_delete_entries(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    app.issue("audit-immutable").await;
    let before = app.audit_entries("").await;
    assert!(!before.is_empty());
    for sql in [
        "update audit_entry set actor = 'someone else'",
        "update audit_entry set details = null where action = 'credential_issued'",
        "delete from audit_entry",
        "delete from audit_entry where action = 'credential_issued'",
    ] {
        let refused = app.db.raw_execute(sql).await;
        let error = refused.expect_err(sql).to_string();
        assert!(error.contains("append-only"), "{sql}: {error}");
    }
    assert_eq!(app.audit_entries("").await, before);
}

async fn the_cli_prints_the_trail_as_a_table_or_as_json_lines(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let issued = app.issue("audit-cli").await;
    let award_id = issued["id"].as_str().unwrap();

    let output = zegel_audit(&app, &["--award", award_id, "--json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<Value> =
        String::from_utf8(output.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines, app.audit_entries(&format!("award={award_id}")).await);

    let output = zegel_audit(&app, &["--action", "credential_issued"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let table = String::from_utf8(output.stdout).unwrap();
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows.len(), 2, "a header and one entry: {table}");
    assert!(rows[0].contains("action") && rows[1].contains("credential_issued"), "{table}");
    assert!(rows[1].contains(issued["credential_id"].as_str().unwrap()), "{table}");

    // Paging: the cursor is printed on stderr.
    let output = zegel_audit(&app, &["--limit", "1"]);
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--after"), "{stderr}");

    // Bad flags: every problem, exit code 2, nothing on stdout.
    let output = zegel_audit(&app, &["--since", "yesterday", "--limit", "0"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--since") && stderr.contains("--limit"), "{stderr}");
    assert!(output.stdout.is_empty());
}

crate::backend_tests!(
    issuing_an_award_writes_a_credential_issued_entry,
    the_filters_select_entries,
    pages_follow_the_cursor_to_the_end,
    bad_parameters_are_refused_with_every_problem_listed,
    the_trail_is_for_administrators_only,
    the_database_refuses_to_change_or_delete_entries,
    the_cli_prints_the_trail_as_a_table_or_as_json_lines,
);

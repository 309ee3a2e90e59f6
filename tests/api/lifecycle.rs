//! Credential lifecycle (issue "Credential lifecycle"): revoke, suspend,
//! unsuspend and reissue, one credential or a whole achievement version,
//! as an administrator does it over the API and the CLI, and as a verifier
//! then sees it through the published status lists.

use crate::common::Backend;
use crate::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use zegel::storage::AuditFilter;
use zegel::verification::{InvalidCode, StaticStatusLists, Verdict, Verifier, VerifyOptions};

async fn post(app: &TestApp, path: &str, body: &Value) -> Reply {
    app.send_json(Method::POST, path, &app.admin_token, body).await
}

async fn change(app: &TestApp, credential_id: &str, action: &str, reason: &str) -> Reply {
    post(app, &format!("/api/v1/credentials/{credential_id}/{action}"), &json!({ "reason": reason })).await
}

async fn credential_view(app: &TestApp, credential_id: &str) -> Value {
    let path = format!("/api/v1/credentials/{credential_id}");
    app.send(app.request(Method::GET, &path, Some(&app.reader_token))).await.expect(200)
}

fn invalid_code(verdict: &Verdict) -> Option<InvalidCode> {
    match verdict {
        Verdict::Invalid { code, .. } => Some(*code),
        _ => None,
    }
}

async fn actions(app: &TestApp, credential_id: &str) -> Vec<String> {
    let filter = AuditFilter { credential_id: Some(credential_id.into()), ..AuditFilter::default() };
    app.db.audit_entries(filter).await.unwrap().into_iter().map(|e| e.action).collect()
}

async fn a_revocation_reaches_verifiers_and_repeating_it_changes_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let award = app.issue("life-revoke").await;
    let (id, url) = (award["credential_id"].as_str().unwrap(), award["credential_url"].as_str().unwrap());
    assert_eq!(app.verify(url, false).await.verdict, Verdict::Valid);

    let done = change(&app, id, "revoke", "Examination board decision 2026-117").await.expect(200);
    assert_eq!((&done["changed"], &done["message"]), (&json!(true), &json!("revoked")));
    assert_eq!(done["credential"]["status"], "revoked");
    assert_eq!(done["credential"]["revocation_reason"], "Examination board decision 2026-117");
    // Published at once on this instance: both forms are revoked now.
    for jwt in [false, true] {
        let report = app.verify(url, jwt).await;
        assert_eq!(invalid_code(&report.verdict), Some(InvalidCode::Revoked), "{}", report.to_json_pretty());
    }

    let again = change(&app, id, "revoke", "once more").await.expect(200);
    assert_eq!((&again["changed"], &again["message"]), (&json!(false), &json!("already revoked")));
    // The first reason stands, and the trail has one revocation.
    assert_eq!(again["credential"]["revocation_reason"], "Examination board decision 2026-117");
    assert_eq!(actions(&app, id).await, ["credential_issued", "credential_revoked"]);
    let view = credential_view(&app, id).await;
    assert_eq!((&view["status"], &view["superseded_by"]), (&json!("revoked"), &Value::Null));
    // Revocation is final.
    for action in ["suspend", "unsuspend"] {
        let refused = change(&app, id, action, "try").await.expect_error(409, "conflict");
        assert!(refused["message"].as_str().unwrap().contains("revoked"), "{refused}");
    }
}

async fn a_suspension_is_lifted_again(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let award = app.issue("life-suspend").await;
    let (id, url) = (award["credential_id"].as_str().unwrap(), award["credential_url"].as_str().unwrap());

    let done = change(&app, id, "suspend", "Under investigation (case 12)").await.expect(200);
    assert_eq!((&done["changed"], &done["credential"]["status"]), (&json!(true), &json!("suspended")));
    let report = app.verify(url, false).await;
    assert_eq!(invalid_code(&report.verdict), Some(InvalidCode::Suspended), "{}", report.to_json_pretty());
    let again = change(&app, id, "suspend", "again").await.expect(200);
    assert_eq!((&again["changed"], &again["message"]), (&json!(false), &json!("already suspended")));

    let lifted = change(&app, id, "unsuspend", "Investigation closed").await.expect(200);
    assert_eq!((&lifted["changed"], &lifted["credential"]["status"]), (&json!(true), &json!("active")));
    assert_eq!(app.verify(url, false).await.verdict, Verdict::Valid);
    let again = change(&app, id, "unsuspend", "again").await.expect(200);
    assert_eq!(again["changed"], false);
    assert_eq!(actions(&app, id).await, ["credential_issued", "credential_suspended", "credential_unsuspended"]);
}

async fn bad_requests_name_every_problem_and_change_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let id = app.issue("life-bad").await["credential_id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/credentials/{id}/revoke");
    let missing = post(&app, &path, &json!({})).await.expect_error(422, "validation_failed");
    assert_problems(&missing, &["reason"]);
    let both = post(&app, &path, &json!({"reason": 7, "why": "x"})).await.expect_error(422, "validation_failed");
    assert_problems(&both, &["reason", "why"]);
    let blank = post(&app, &path, &json!({"reason": "  "})).await.expect_error(422, "validation_failed");
    assert_problems(&blank, &["reason"]);
    let long = post(&app, &path, &json!({"reason": "x".repeat(1001)})).await.expect_error(422, "validation_failed");
    assert_problems(&long, &["reason"]);
    let unknown = "00000000-0000-4000-8000-000000000000";
    change(&app, unknown, "revoke", "x").await.expect_error(404, "not_found");
    // Only administrators.
    let writer = app.send_json(Method::POST, &path, &app.writer_token, &json!({"reason": "x"})).await;
    writer.expect_error(403, "forbidden");
    let reissue = format!("/api/v1/credentials/{id}/reissue");
    let refused = post(&app, &reissue, &json!({"reason": "fix", "record": {"learner": {"email": "nope"}, "result": {"completed_on": "2999-01-01"}, "source_record_id": "x"}}))
        .await
        .expect_error(422, "validation_failed");
    assert_problems(&refused, &["record.learner.email", "record.result.completed_on", "record.source_record_id"]);
    assert_eq!(credential_view(&app, &id).await["status"], "active");
    assert_eq!(actions(&app, &id).await, ["credential_issued"]);
}

async fn a_reissue_supersedes_the_old_credential_and_keeps_the_award_date(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let award = app.issue("life-reissue").await;
    let old = award["credential_id"].as_str().unwrap().to_owned();
    let body = json!({
        "reason": "Surname misspelled in the SIS",
        "record": {"learner": {"surname": "Visser", "surname_prefix": null}, "result": {"grade": 9}},
    });
    let path = format!("/api/v1/credentials/{old}/reissue");
    let reply = post(&app, &path, &body).await;
    let new_award = reply.expect(201);
    assert_eq!(reply.header("location"), Some(format!("/api/v1/awards/{}", award["id"].as_str().unwrap()).as_str()));
    let new = new_award["credential_id"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!((&new_award["superseded"], &new_award["changed"]), (&json!(old), &json!(true)));
    assert_eq!(new_award["id"], award["id"]);
    assert_eq!(app.get_award(award["id"].as_str().unwrap()).await.expect(200)["credential_id"], new.as_str());

    // Linked both ways; the old one revoked with the reason that says why.
    let (old_view, new_view) = (credential_view(&app, &old).await, credential_view(&app, &new).await);
    assert_eq!((&old_view["status"], &old_view["superseded_by"]), (&json!("revoked"), &json!(new)));
    assert_eq!(old_view["revocation_reason"], format!("superseded by {new}"));
    assert_eq!((&new_view["status"], &new_view["supersedes"]), (&json!("active"), &json!(old)));

    // The new credential says what was corrected, and keeps the award date.
    let old_doc = app.fetch(award["credential_url"].as_str().unwrap(), None).await.json();
    let new_doc = app.fetch(new_award["credential_url"].as_str().unwrap(), None).await.json();
    assert_eq!(new_doc["awardedDate"], old_doc["awardedDate"]);
    assert!(new_doc.to_string().contains("Sam Visser"), "{new_doc}");
    assert_eq!(new_doc["credentialSubject"]["result"][0]["value"], "9");
    assert_ne!(new_doc["credentialStatus"], old_doc["credentialStatus"]);
    assert_eq!(app.verify(new_award["credential_url"].as_str().unwrap(), false).await.verdict, Verdict::Valid);
    let old_report = app.verify(award["credential_url"].as_str().unwrap(), false).await;
    assert_eq!(invalid_code(&old_report.verdict), Some(InvalidCode::Revoked));

    // Repeating it changes nothing and answers with the replacement.
    let again = post(&app, &path, &body).await.expect(200);
    assert_eq!((&again["credential_id"], &again["changed"]), (&json!(new), &json!(false)));
    assert_eq!(actions(&app, &old).await, ["credential_issued", "credential_revoked"]);
    assert_eq!(actions(&app, &new).await, ["credential_reissued"]);
    app.assert_consistent().await;
}

async fn a_reissue_can_take_the_newest_version(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let achievement = app.define_microcredential().await;
    let award = app.issue("life-version").await;
    let mut changed = microcredential();
    changed["ects"] = json!(6);
    let path = format!("/api/v1/achievements/{}", achievement["id"].as_str().unwrap());
    let updated = app.send_json(Method::PUT, &path, &app.admin_token, &changed).await.expect(200);
    assert_eq!(updated["version"], 2, "{updated}");

    let old = award["credential_id"].as_str().unwrap();
    let same = post(&app, &format!("/api/v1/credentials/{old}/reissue"), &json!({"reason": "as it was"})).await;
    let same = same.expect(201);
    assert_eq!(same["achievement_version"], 1);
    let current = same["credential_id"].as_str().unwrap();
    let newest = post(
        &app,
        &format!("/api/v1/credentials/{current}/reissue"),
        &json!({"reason": "module revised", "newest_version": true}),
    )
    .await
    .expect(201);
    assert_eq!(newest["achievement_version"], 2);
    let doc = app.fetch(newest["credential_url"].as_str().unwrap(), None).await.json();
    assert_eq!(doc["credentialSubject"]["achievement"]["ECTS"], 6);
    assert!(doc["credentialSubject"]["achievement"]["id"].as_str().unwrap().ends_with("/versions/2"));
}

/// Revokes and reissues racing on the same credentials leave each award
/// with exactly one current (not superseded) credential.
async fn concurrent_revoke_and_reissue_leave_one_current_credential(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let mut ids = Vec::new();
    for n in 0..6 {
        ids.push(app.issue(&format!("life-race-{n}")).await["credential_id"].as_str().unwrap().to_owned());
    }
    let app_ref = &app;
    let requests = ids.iter().flat_map(|id| {
        let reissue = format!("/api/v1/credentials/{id}/reissue");
        [
            (reissue.clone(), json!({"reason": "race a"})),
            (format!("/api/v1/credentials/{id}/revoke"), json!({"reason": "race"})),
            (reissue, json!({"reason": "race b"})),
        ]
    });
    let replies =
        futures_util::future::join_all(requests.map(|(path, body)| async move { post(app_ref, &path, &body).await }))
            .await;
    for reply in &replies {
        assert!([200, 201].contains(&reply.status), "{}", reply.text());
    }
    // Per credential: one reissue made the new credential, the other answered with it.
    for (n, chunk) in replies.chunks(3).enumerate() {
        let made: Vec<&Reply> = [&chunk[0], &chunk[2]].into_iter().filter(|r| r.status == 201).collect();
        assert_eq!(made.len(), 1, "credential {n}");
        assert_eq!(chunk[0].json()["credential_id"], chunk[2].json()["credential_id"]);
        let new = chunk[0].json()["credential_id"].as_str().unwrap().to_owned();
        let award = app.get_award(chunk[0].json()["id"].as_str().unwrap()).await.expect(200);
        assert_eq!(award["credential_id"], new.as_str());
        assert_eq!(credential_view(&app, &new).await["superseded_by"], Value::Null);
        assert_eq!(credential_view(&app, &ids[n]).await["superseded_by"], new.as_str());
    }
    app.assert_consistent().await;
}

async fn a_whole_achievement_version_changes_in_one_request(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let achievement = app.define_microcredential().await;
    let mut ids = Vec::new();
    for n in 0..12 {
        ids.push(app.issue(&format!("life-bulk-{n}")).await["credential_id"].as_str().unwrap().to_owned());
    }
    change(&app, &ids[0], "revoke", "single").await.expect(200);
    change(&app, &ids[1], "suspend", "single").await.expect(200);
    let base = format!("/api/v1/achievements/{}/versions/1", achievement["id"].as_str().unwrap());
    let reason = json!({"reason": "Module withdrawn by the examination board"});

    let suspended = post(&app, &format!("{base}/suspend"), &reason).await.expect(200);
    assert_eq!(
        (&suspended["matched"], &suspended["changed"], &suspended["unchanged"], &suspended["refused_count"]),
        (&json!(12), &json!(10), &json!(1), &json!(1))
    );
    assert_eq!(suspended["refused"][0]["credential_id"], ids[0].as_str());
    let revoked = post(&app, &format!("{base}/revoke"), &reason).await.expect(200);
    assert_eq!((&revoked["changed"], &revoked["unchanged"]), (&json!(11), &json!(1)));
    let again = post(&app, &format!("{base}/revoke"), &reason).await.expect(200);
    assert_eq!((&again["changed"], &again["unchanged"]), (&json!(0), &json!(12)));
    for id in &ids {
        assert_eq!(credential_view(&app, id).await["status"], "revoked");
    }
    let report = app.verify(&app.url(&format!("/credentials/{}", ids[5])), false).await;
    assert_eq!(invalid_code(&report.verdict), Some(InvalidCode::Revoked));
    post(&app, &format!("/api/v1/achievements/{}/versions/9/revoke", achievement["id"].as_str().unwrap()), &reason)
        .await
        .expect_error(404, "not_found");
}

/// A list cached by another instance shows the change within the publish
/// delay, and says so in its caching headers.
async fn status_lists_say_how_long_they_are_fresh(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &[("ZEGEL_STATUS_PUBLISH_DELAY_SECS", "1")]).await else { return };
    app.define_microcredential().await;
    let award = app.issue("life-cache").await;
    let url = award["credential_url"].as_str().unwrap();
    let other = app.second_instance().await;
    let credential = app.fetch(url, None).await;
    let entry = &credential.json()["credentialStatus"][0];
    let list_url = entry["statusListCredential"].as_str().unwrap().to_owned();
    // The same list as another instance serves it (its own public URL differs).
    let list_path = list_url.strip_prefix(&app.address).unwrap().to_owned();
    let first = other.get(&list_path).await;
    assert_eq!(first.status, 200);
    let cache = first.header("cache-control").unwrap().to_owned();
    let max_age: u64 = cache.strip_prefix("public, max-age=").unwrap().parse().unwrap();
    assert!(max_age <= 1, "{cache}");
    let etag = first.header("etag").unwrap().to_owned();
    let conditional = other.send(other.request(Method::GET, &list_path, None).header("if-none-match", &etag));
    assert_eq!(conditional.await.status, 304);
    // A never-changed list's date is exact to the second: that works too.
    let modified = first.header("last-modified").unwrap().to_owned();
    let conditional = other.send(other.request(Method::GET, &list_path, None).header("if-modified-since", &modified));
    assert_eq!(conditional.await.status, 304);

    change(&app, award["credential_id"].as_str().unwrap(), "revoke", "cache test").await.expect(200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let after = other.get(&list_path).await;
    assert_ne!(after.header("etag"), Some(etag.as_str()));
    // Changed, perhaps within the same second: never "not modified".
    for (name, value) in [("if-none-match", &etag), ("if-modified-since", &modified)] {
        let conditional = other.send(other.request(Method::GET, &list_path, None).header(name, value));
        assert_eq!(conditional.await.status, 200, "{name}");
    }
    // The other instance's list (signed by the same issuer) has the bit set.
    let lists = app.status_lists(&credential.json()).await.into_iter().skip(1);
    let lists = lists.fold(StaticStatusLists::new().with_list(list_url, after.body), |l, (u, b)| l.with_list(u, b));
    let verifier = Verifier::offline().with_status_lists(std::sync::Arc::new(lists));
    let options = VerifyOptions { require_status: true, ..VerifyOptions::at(chrono::Utc::now()) };
    let report = verifier.verify(&credential.body, &options);
    assert_eq!(invalid_code(&report.verdict), Some(InvalidCode::Revoked), "{}", report.to_json_pretty());
}

/// `zegel credentials …` does what the API does, as actor `cli`.
async fn the_cli_revokes_suspends_and_reissues(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let achievement_id =
        app.list_achievements().await.expect(200)["achievements"][0]["id"].as_str().unwrap().to_owned();
    let first = app.issue("life-cli-1").await["credential_id"].as_str().unwrap().to_owned();
    let second = app.issue("life-cli-2").await["credential_id"].as_str().unwrap().to_owned();
    let zegel = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_zegel"))
            .args(args)
            .env_clear()
            .envs(base_env(&app.keys_dir()))
            .env("DATABASE_URL", &app.db.url)
            .env("ZEGEL_PUBLIC_URL", &app.address)
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        (output.status.code(), text)
    };
    let (code, text) = zegel(&["credentials", "suspend", &first, "--reason", "cli test"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("suspended"), "{text}");
    assert_eq!(credential_view(&app, &first).await["status"], "suspended");

    let (code, text) =
        zegel(&["credentials", "reissue", &second, "--reason", "typo", "--set", "learner.surname=Visser", "--json"]);
    assert_eq!(code, Some(0), "{text}");
    let reissued: Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(reissued["superseded"], second.as_str());

    let (code, text) = zegel(&[
        "credentials",
        "revoke",
        "--achievement",
        &achievement_id,
        "--version",
        "1",
        "--reason",
        "module withdrawn",
    ]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("changed:   2"), "{text}");

    let (code, text) = zegel(&["credentials", "revoke", &first]);
    assert_ne!(code, Some(0));
    assert!(text.contains("--reason"), "{text}");
    let (code, text) = zegel(&["credentials", "suspend", &first, "--reason", "again"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("revoked"), "{text}");
    let entries =
        app.db.audit_entries(AuditFilter { credential_id: Some(first.clone()), ..Default::default() }).await.unwrap();
    assert!(entries.iter().any(|e| e.action == "credential_revoked" && e.actor == "cli"), "{entries:?}");
}

/// The credential's page states what happened to it, with the reason,
/// escaped; a replaced credential links to its successor.
async fn the_credential_page_says_revoked_suspended_or_replaced(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let first = app.issue("life-page-1").await["credential_id"].as_str().unwrap().to_owned();
    let app_ref = &app;
    let page = |id: String| async move { app_ref.get_credential(&id, Some("text/html")).await.text() };
    assert!(page(first.clone()).await.contains("card verdict valid"));
    change(&app, &first, "suspend", "Checking <b>fraud</b> report").await.expect(200);
    let suspended = page(first.clone()).await;
    assert!(suspended.contains("Suspended ("), "{suspended}");
    assert!(suspended.contains("Reason: Checking &lt;b&gt;fraud&lt;/b&gt; report"), "{suspended}");
    change(&app, &first, "revoke", "Fraud established").await.expect(200);
    assert!(page(first.clone()).await.contains("Revoked ("));

    let second = app.issue("life-page-2").await["credential_id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/credentials/{second}/reissue");
    let new = post(&app, &path, &json!({"reason": "typo"})).await.expect(201);
    let replaced = page(second).await;
    let link = format!(r#"<a href="{}">the newer credential</a>"#, new["credential_url"].as_str().unwrap());
    assert!(replaced.contains(&link), "{replaced}");
}

/// `zegel verify --local` reads zegel's own lists from its database and
/// names the recorded reason; `--status-host` fetches lists over HTTP from
/// the hosts allowed, and only from those.
async fn verify_reads_status_from_the_database_or_allowed_hosts(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let award = app.issue("life-verify").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credential.json");
    std::fs::write(&file, app.fetch(award["credential_url"].as_str().unwrap(), None).await.body).unwrap();
    change(&app, award["credential_id"].as_str().unwrap(), "revoke", "Exam fraud (case 7)").await.expect(200);
    let zegel = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_zegel"))
            .arg("verify")
            .arg(&file)
            .args(args)
            .env_clear()
            .envs(base_env(&app.keys_dir()))
            .env("DATABASE_URL", &app.db.url)
            .env("ZEGEL_PUBLIC_URL", &app.address)
            .output()
            .unwrap();
        let report: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&output.stderr)));
        (output.status.code(), report)
    };
    let (code, report) = zegel(&["--local", "--require-status"]);
    assert_eq!((code, &report["code"]), (Some(1), &json!("revoked")), "{report:#}");
    assert!(
        report["reason"].as_str().unwrap().contains("reason recorded by the issuer: Exam fraud (case 7)"),
        "{report:#}"
    );

    let (code, report) = zegel(&["--status-host", "127.0.0.1", "--allow-local-addresses", "--require-status"]);
    assert_eq!((code, &report["code"]), (Some(1), &json!("revoked")), "{report:#}");
    // Not allowed: not asked.
    let (code, report) = zegel(&["--status-host", "lists.example", "--require-status"]);
    assert_eq!(code, Some(2), "{report:#}");
    assert!(report["reason"].as_str().unwrap().contains("not an allowed host"), "{report:#}");
    // Allowed but local, without --allow-local-addresses: refused.
    let (code, report) = zegel(&["--status-host", "127.0.0.1", "--require-status"]);
    assert_eq!(code, Some(2), "{report:#}");
    assert!(report["reason"].as_str().unwrap().contains("not https"), "{report:#}");
}

crate::backend_tests!(
    a_revocation_reaches_verifiers_and_repeating_it_changes_nothing,
    a_suspension_is_lifted_again,
    bad_requests_name_every_problem_and_change_nothing,
    a_reissue_supersedes_the_old_credential_and_keeps_the_award_date,
    a_reissue_can_take_the_newest_version,
    concurrent_revoke_and_reissue_leave_one_current_credential,
    a_whole_achievement_version_changes_in_one_request,
    status_lists_say_how_long_they_are_fresh,
    the_cli_revokes_suspends_and_reissues,
    the_credential_page_says_revoked_suspended_or_replaced,
    verify_reads_status_from_the_database_or_allowed_hosts,
);

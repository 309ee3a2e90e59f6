//! `POST /api/v1/awards/batch` (issue "Bulk intake", item 1): many records
//! answered one by one; refused records change nothing, accepted ones are
//! committed; idempotent per record id like the single endpoint.

use crate::common::Backend;
use crate::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};
use zegel::verification::Verdict;

/// A record for learner `n` (its own ids), by the example course code.
fn record(n: usize) -> Value {
    let mut body = award(&format!("batch-{n}"));
    body["learner"]["eppn"] = json!(format!("s{n}@uni.example.nl"));
    body["learner"]["email"] = json!(format!("s{n}@student.uni.example.nl"));
    body
}

async fn post_batch(app: &TestApp, token: &str, awards: &[Value]) -> Reply {
    app.send_json(Method::POST, "/api/v1/awards/batch", token, &json!({ "awards": awards })).await
}

fn results(body: &Value) -> Vec<(String, Value)> {
    body["results"].as_array().unwrap().iter().map(|r| (r["result"].as_str().unwrap().to_owned(), r.clone())).collect()
}

async fn each_record_is_answered_and_refused_ones_change_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let mut awards: Vec<Value> = (0..5).map(record).collect();
    let mut bad_email = record(5);
    bad_email["learner"]["email"] = json!("not-an-address");
    let mut unknown_course = record(6);
    unknown_course["course_code"] = json!("NO-SUCH-CODE");
    let repeated = record(2);
    awards.extend([bad_email, unknown_course, repeated]);

    let body = post_batch(&app, &app.writer_token, &awards).await.expect(200);
    assert_eq!(body["counts"], json!({"created": 5, "existing": 0, "refused": 3}), "{body:#}");
    let results = results(&body);
    for (i, (result, item)) in results.iter().enumerate() {
        assert_eq!(item["index"], i);
        assert_eq!(item["source_record_id"], awards[i]["source_record_id"]);
        let want = if i < 5 { "created" } else { "refused" };
        assert_eq!(result, want, "{item:#}");
    }
    assert_eq!(results[5].1["problems"][0]["field"], "learner.email", "{:#}", results[5].1);
    assert_eq!(results[6].1["problems"][0]["field"], "course_code");
    let repeat = results[7].1["problems"][0]["message"].as_str().unwrap();
    assert!(repeat.contains("more than once in this batch (first at index 2)"), "{repeat}");

    // Accepted ones are awards like any other: stored, verifiable, pushed.
    let created = &results[0].1["award"];
    let stored = app.get_award(created["id"].as_str().unwrap()).await.expect(200);
    assert_eq!(stored["credential_id"], created["credential_id"]);
    assert_eq!(app.verify(created["credential_url"].as_str().unwrap(), false).await.verdict, Verdict::Valid);
    // Refused ones left nothing behind.
    for n in [5, 6] {
        app.find_award(&format!("batch-{n}")).await.expect_error(404, "not_found");
    }
    let (awards_stored, _) = app.assert_consistent().await;
    assert_eq!(awards_stored, 5);
}

async fn posting_a_batch_again_creates_nothing_new(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    // One record was posted on its own before.
    let single = app.post_award(&record(1)).await.expect(201);
    let awards: Vec<Value> = (0..4).map(record).collect();
    let first = post_batch(&app, &app.writer_token, &awards).await.expect(200);
    assert_eq!(first["counts"], json!({"created": 3, "existing": 1, "refused": 0}));
    assert_eq!(results(&first)[1].1["award"]["id"], single["id"]);

    let again = post_batch(&app, &app.writer_token, &awards).await.expect(200);
    assert_eq!(again["counts"], json!({"created": 0, "existing": 4, "refused": 0}));
    for ((_, a), (_, b)) in results(&first).iter().zip(results(&again).iter()) {
        assert_eq!(a["award"]["id"], b["award"]["id"]);
    }
    // The same record id with other content is refused, as a single post would be.
    let mut changed = awards.clone();
    changed[0]["result"]["grade"] = json!("4");
    let reply = post_batch(&app, &app.writer_token, &changed).await.expect(200);
    assert_eq!(reply["counts"], json!({"created": 0, "existing": 3, "refused": 1}));
    let message = results(&reply)[0].1["problems"][0]["message"].as_str().unwrap().to_owned();
    assert!(message.contains("already used for a different record"), "{message}");
    let (awards_stored, _) = app.assert_consistent().await;
    assert_eq!(awards_stored, 4);
}

/// Two copies of one batch at once: every record is made exactly once.
async fn concurrent_copies_of_a_batch_make_each_award_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let awards: Vec<Value> = (0..40).map(record).collect();
    let (a, b) =
        tokio::join!(post_batch(&app, &app.writer_token, &awards), post_batch(&app, &app.writer_token, &awards));
    let (a, b) = (a.expect(200), b.expect(200));
    let created = a["counts"]["created"].as_u64().unwrap() + b["counts"]["created"].as_u64().unwrap();
    let existing = a["counts"]["existing"].as_u64().unwrap() + b["counts"]["existing"].as_u64().unwrap();
    assert_eq!((created, existing), (40, 40), "{a:#} {b:#}");
    for ((_, x), (_, y)) in results(&a).iter().zip(results(&b).iter()) {
        assert_eq!(x["award"]["id"], y["award"]["id"]);
    }
    let (awards_stored, _) = app.assert_consistent().await;
    assert_eq!(awards_stored, 40);
}

async fn a_malformed_batch_is_refused_whole(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let app_ref = &app;
    let send = |body: Value| async move {
        app_ref
            .send_json(Method::POST, "/api/v1/awards/batch", &app_ref.writer_token, &body)
            .await
            .expect_error(422, "validation_failed")
    };
    assert_problems(&send(json!({})).await, &["awards"]);
    assert_problems(&send(json!({"awards": []})).await, &["awards"]);
    assert_problems(&send(json!({"awards": {"a": 1}})).await, &["awards"]);
    assert_problems(&send(json!({"awards": [record(1), 7], "extra": true})).await, &["extra", "awards[1]"]);
    let too_many: Vec<Value> = (0..1001).map(|n| json!({"source_record_id": format!("r{n}")})).collect();
    let body = send(json!({ "awards": too_many })).await;
    assert!(body["problems"][0]["message"].as_str().unwrap().contains("at most 1000"), "{body}");
    app.assert_no_awards().await;
    // Scopes as for single awards.
    post_batch(&app, &app.reader_token, &[record(1)]).await.expect_error(403, "forbidden");
    let anonymous = app.request(Method::POST, "/api/v1/awards/batch", None).json(&json!({"awards": [record(1)]}));
    app.send(anonymous).await.expect_error(401, "unauthorized");
}

/// `zegel import FILE.csv`: Excel's habits read, a dry run writes nothing,
/// refused rows are named, a second run creates nothing new, and the results
/// file never carries a live formula.
async fn the_cli_imports_a_csv_file(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("cohort.csv");
    std::fs::write(
        &csv,
        "\u{feff}record_id;eppn;email;given_name;surname_prefix;surname;course_code;grade;completed_on\r\n\
         csv-1;s1@uni.example.nl;s1@student.uni.example.nl;Zoë;de;Vries;MC-DATA-26;7,5;30-06-2026\r\n\
         csv-2;s2@uni.example.nl;;Kim;;Jansen;MC-DATA-26;8;2026-06-30\r\n\
         csv-3;s3@uni.example.nl;not-an-address;Sam;;Smit;MC-DATA-26;6;30-06-2026\r\n\
         csv-4;s4@uni.example.nl;;=cmd|' /C calc'!A0;;Bakker;MC-DATA-26;9;30-06-2026\r\n",
    )
    .unwrap();
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
    let file = csv.to_str().unwrap();
    let (code, text) = zegel(&["import", file, "--dry-run"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("dry run: nothing was issued") && text.contains("line 4 (csv-3): learner.email"), "{text}");
    app.assert_no_awards().await;

    let results = dir.path().join("results.csv");
    let (code, text) = zegel(&["import", file, "--results", results.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("created") && text.contains("line 5 (csv-4): given_name"), "{text}");
    let first = app.find_award("csv-1").await.expect(200);
    let document = app.fetch(first["credential_url"].as_str().unwrap(), None).await.json();
    assert_eq!(document["credentialSubject"]["result"][0]["value"], "7.5");
    app.find_award("csv-3").await.expect_error(404, "not_found");
    let written = std::fs::read_to_string(&results).unwrap();
    assert!(written.contains("'=cmd|"), "{written}");
    assert!(!written.lines().any(|line| line.split(';').any(|cell| cell.starts_with('='))), "{written}");
    assert!(written.lines().nth(1).unwrap().ends_with(";created;"), "{written}");

    let (_, text) = zegel(&["import", file, "--json"]);
    let lines: Vec<serde_json::Value> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let results: Vec<&str> = lines.iter().map(|l| l["result"].as_str().unwrap()).collect();
    assert_eq!(results, ["existing", "existing", "refused", "refused"], "{text}");

    // A file with an unknown column is refused whole.
    std::fs::write(
        &csv,
        "record_id,email,given_name,surname,course_code,completed_on,colour\nx,a@b.nl,A,B,MC-DATA-26,2026-06-30,red\n",
    )
    .unwrap();
    let (code, text) = zegel(&["import", file]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("nothing was issued") && text.contains("colour"), "{text}");
    app.find_award("x").await.expect_error(404, "not_found");
}

/// `zegel import page.json`: an OOAPI v5 page of course results; only
/// completed and passed results are awarded, the rest skipped with the reason.
async fn the_cli_imports_an_ooapi_page(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let association = |id: &str, state: &str, pass: &str, n: u32| {
        json!({"associationId": id, "associationType": "courseOfferingAssociation", "role": "student",
          "state": "associated",
          "result": {"state": state, "pass": pass, "score": "7", "resultDate": "2026-06-30",
                     "studyLoad": {"studyLoadUnit": "ects", "value": 5}},
          "person": {"personId": format!("p{n}"), "primaryCode": {"codeType": "studentNumber", "code": format!("{n}")},
                     "givenName": "Sam", "surname": "Vries", "displayName": "Sam Vries", "affiliations": ["student"],
                     "mail": format!("s{n}@student.uni.example.nl"), "activeEnrollment": true},
          "offering": {"offeringId": "o1", "offeringType": "course",
                       "primaryCode": {"codeType": "offeringCode", "code": "MC-DATA-26"}}})
    };
    let page = json!({"pageSize": 10, "pageNumber": 1, "hasPreviousPage": false, "hasNextPage": false, "totalPages": 1,
        "items": [association("a-1", "completed", "passed", 1), association("a-2", "completed", "failed", 2),
                  association("a-3", "completed", "passed", 3), association("a-4", "in progress", "unknown", 4)]});
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("page.json");
    std::fs::write(&file, page.to_string()).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_zegel"))
        .args(["import", file.to_str().unwrap(), "--eppn-rule", "studentnumber@uni.example.nl"])
        .env_clear()
        .envs(base_env(&app.keys_dir()))
        .env("DATABASE_URL", &app.db.url)
        .env("ZEGEL_PUBLIC_URL", &app.address)
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("created                           2"), "{text}");
    assert!(text.contains("skipped (not an award)            2"), "{text}");
    let award = app.find_award("a-3").await.expect(200);
    assert_eq!(award["achievement_version"], 1);
    app.find_award("a-2").await.expect_error(404, "not_found");
    let (awards_stored, _) = app.assert_consistent().await;
    assert_eq!(awards_stored, 2);
}

crate::backend_tests!(
    each_record_is_answered_and_refused_ones_change_nothing,
    posting_a_batch_again_creates_nothing_new,
    concurrent_copies_of_a_batch_make_each_award_once,
    a_malformed_batch_is_refused_whole,
    the_cli_imports_a_csv_file,
    the_cli_imports_an_ooapi_page,
);

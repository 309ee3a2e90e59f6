//! `POST /api/v1/imports` (issue "Bulk intake", item 4): a file imported as
//! a job in the background, its progress, counts and row results; bad files
//! refused whole, nothing made; a job left by a stopped instance resumed
//! without issuing any row twice.

use crate::common::Backend;
use crate::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

const HEADER: &str =
    "record_id;eppn;email;given_name;surname_prefix;surname;student_number;course_code;grade;completed_on";

/// A CSV row (Excel's Dutch habits: `;`, a decimal comma, a Dutch date).
fn row(n: usize) -> String {
    format!("imp-{n};s{n}@uni.example.nl;s{n}@student.uni.example.nl;Sam;de;Vries;{n};{COURSE_CODE};7,5;30-06-2026")
}

fn file(rows: impl IntoIterator<Item = String>) -> Vec<u8> {
    let mut text = format!("\u{feff}{HEADER}\r\n");
    for row in rows {
        text.push_str(&row);
        text.push_str("\r\n");
    }
    text.into_bytes()
}

async fn upload(app: &TestApp, query: &str, body: Vec<u8>) -> Reply {
    app.send_raw(Method::POST, &format!("/api/v1/imports{query}"), &app.writer_token, "text/csv", body).await
}

/// Polls the job until it is done or failed (the worker runs it at once).
async fn finished(app: &TestApp, id: &str) -> Value {
    for _ in 0..600 {
        let job = app.send(app.request(Method::GET, &format!("/api/v1/imports/{id}"), Some(&app.reader_token))).await;
        let job = job.expect(200);
        if job["state"] == "done" || job["state"] == "failed" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("import {id} did not finish in 60 s");
}

async fn rows_with(app: &TestApp, id: &str, query: &str) -> Vec<Value> {
    let path = format!("/api/v1/imports/{id}{query}");
    let job = app.send(app.request(Method::GET, &path, Some(&app.reader_token))).await.expect(200);
    job["results"]["rows"].as_array().unwrap().clone()
}

async fn a_csv_file_is_imported_as_a_job_with_row_results(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let mut rows: Vec<String> = (0..25).map(row).collect();
    rows[3] = row(3).replace("s3@student.uni.example.nl", "not-an-address");
    rows[7] = row(7).replace(COURSE_CODE, "NO-SUCH-CODE");
    rows[9] = row(9).replace("Sam", "=cmd|' /C calc'!A0");
    let accepted = upload(&app, "?filename=cohort.csv", file(rows.clone())).await;
    let job = accepted.expect(202);
    assert_eq!(accepted.header("location"), Some(format!("/api/v1/imports/{}", job["id"].as_str().unwrap()).as_str()));
    assert_eq!(job["rows"], 25);
    assert_eq!(job["filename"], "cohort.csv");
    let id = job["id"].as_str().unwrap().to_owned();

    let job = finished(&app, &id).await;
    assert_eq!(job["state"], "done", "{job:#}");
    assert_eq!(job["counts"], json!({"created": 22, "existing": 0, "refused": 3, "skipped": 0}), "{job:#}");
    assert_eq!(job["rows_done"], 25);
    assert!(job["finished_at"].is_string());

    // The rows that need fixing, each with its line and every problem.
    let refused = rows_with(&app, &id, "?result=refused").await;
    let places: Vec<&str> = refused.iter().map(|r| r["place"].as_str().unwrap()).collect();
    assert_eq!(places, ["line 5", "line 9", "line 11"], "{refused:#?}");
    assert_eq!(refused[0]["problems"][0]["field"], "learner.email", "{refused:#?}");
    assert!(refused[1]["problems"][0]["message"].as_str().unwrap().contains("NO-SUCH-CODE"), "{refused:#?}");
    // Every row is answered in file order, created ones with their award.
    let all = rows_with(&app, &id, "").await;
    assert_eq!(all.len(), 25);
    let award_id = all[0]["award_id"].as_str().unwrap();
    assert_eq!(app.get_award(award_id).await.expect(200)["source_record_id"], "imp-0");
    let page = rows_with(&app, &id, "?after=20&limit=2").await;
    assert_eq!(page.iter().map(|r| r["index"].as_i64().unwrap()).collect::<Vec<_>>(), [21, 22]);

    // The results file: the file's columns (same separator), result and
    // problems; the formula cell is neutralised, never echoed as is.
    let csv = app.send(app.request(Method::GET, &format!("/api/v1/imports/{id}/results.csv"), Some(&app.reader_token)));
    let csv = csv.await;
    assert_eq!(csv.status, 200);
    assert_eq!(csv.media_type(), "text/csv");
    let text = csv.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], format!("{HEADER};result;problems"));
    assert!(lines[1].ends_with(";created;"), "{}", lines[1]);
    assert!(lines[4].contains(";refused;learner.email: "), "{}", lines[4]);
    assert!(lines[10].contains("'=cmd"), "{}", lines[10]);
    assert!(!text.contains(";=cmd"), "{text}");

    // Fixed and imported again: only what is new is created.
    rows[3] = row(3);
    let again = upload(&app, "", file(rows)).await.expect(202);
    let again = finished(&app, again["id"].as_str().unwrap()).await;
    assert_eq!(again["counts"], json!({"created": 1, "existing": 22, "refused": 2, "skipped": 0}), "{again:#}");
    let (awards, _) = app.assert_consistent().await;
    assert_eq!(awards, 23);

    // The list, newest first.
    let list = app.send(app.request(Method::GET, "/api/v1/imports?limit=1", Some(&app.reader_token))).await;
    let list = list.expect(200);
    assert_eq!(list["imports"][0]["id"], again["id"]);
    let next = list["next_before"].as_str().unwrap();
    let older = app.send(app.request(Method::GET, &format!("/api/v1/imports?before={next}"), Some(&app.reader_token)));
    assert_eq!(older.await.expect(200)["imports"][0]["id"], json!(id));
}

async fn a_dry_run_issues_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    app.issue("imp-1").await;
    let mut rows: Vec<String> = (0..4).map(row).collect();
    rows[2] = row(2).replace("30-06-2026", "31-02-2026");
    let job = upload(&app, "?dry_run=true", file(rows)).await.expect(202);
    let job = finished(&app, job["id"].as_str().unwrap()).await;
    assert_eq!(job["dry_run"], true);
    assert_eq!(
        job["counts"],
        json!({"created": 0, "existing": 0, "refused": 2, "skipped": 0, "would_create": 2}),
        "{job:#}"
    );
    // imp-1 was issued before with other data (a conflict); 31-02 is no date.
    let refused = rows_with(&app, job["id"].as_str().unwrap(), "?result=refused").await;
    let places: Vec<&str> = refused.iter().map(|r| r["place"].as_str().unwrap()).collect();
    assert_eq!(places, ["line 3", "line 4"], "{refused:#?}");
    let (awards, _) = app.assert_consistent().await;
    assert_eq!(awards, 1, "a dry run issues nothing");
}

async fn a_file_that_cannot_be_imported_is_refused_whole(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let latin1 = {
        let mut bytes = file([row(1)]);
        bytes.extend(b"imp-2;s2@uni.example.nl;s2@x.nl;Ren\xe9;;Vries;2;MC-DATA-26;7;30-06-2026\r\n");
        bytes
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not UTF-8", latin1, "UTF-8"),
        ("a missing column", b"record_id,given_name,surname\r\nr-1,Sam,Vries\r\n".to_vec(), "completed_on"),
        ("an unknown column", format!("{HEADER};colour\r\n{};blue\r\n", row(1)).into_bytes(), "colour"),
        ("a record id twice", file([row(1), row(1)]), "imp-1"),
        ("a row with an extra cell", file([row(1), format!("{};extra", row(2))]), "line 3"),
        ("no rows", file([]), ""),
    ];
    for (what, body, named) in cases {
        let reply = upload(&app, "", body).await;
        let body = reply.expect_error(422, "validation_failed");
        assert!(body.to_string().contains(named), "{what}: {body:#}");
    }
    let ooapi = json!({"items": "not a list"});
    let reply = app
        .send_raw(Method::POST, "/api/v1/imports", &app.writer_token, "application/json", ooapi.to_string().into())
        .await;
    reply.expect_error(422, "validation_failed");
    let reply = app.send_raw(Method::POST, "/api/v1/imports", &app.writer_token, "image/png", file([row(1)])).await;
    assert_eq!(reply.status, 415, "{}", reply.text());

    // 2 GB announced: refused before a byte of it is read.
    let started = std::time::Instant::now();
    let request = format!(
        "POST /api/v1/imports HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\
         Content-Type: text/csv\r\nContent-Length: 2147483648\r\n\r\n{HEADER}\r\n",
        app.writer_token
    );
    let (status, text) = raw_http(app.port, request.into_bytes()).await;
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("larger than the limit"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(20));
    // Sent without a length: refused once it passes the limit.
    let mut request = format!(
        "POST /api/v1/imports HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\
         Content-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n",
        app.writer_token
    )
    .into_bytes();
    let chunk = vec![b'a'; MAX_IMPORT_BYTES + 1];
    request.extend(format!("{:x}\r\n", chunk.len()).as_bytes());
    request.extend(chunk);
    request.extend(b"\r\n0\r\n\r\n");
    let (status, text) = raw_http(app.port, request).await;
    assert_eq!(status, 413, "{text}");

    let list = app.send(app.request(Method::GET, "/api/v1/imports", Some(&app.reader_token))).await.expect(200);
    assert_eq!(list["imports"], json!([]), "no job was made");
    app.assert_no_awards().await;
}

/// A job whose instance stopped midway (its lease ran out) is resumed by a
/// running instance's worker at the first row without a result; the rows
/// the stopped instance had issued but not yet recorded are not issued
/// again, and still count as created by the job.
async fn a_job_left_by_a_stopped_instance_is_resumed_without_issuing_twice(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let rows: Vec<String> = (0..2500).map(row).collect();
    let store = &app.db.store;
    let clients = store.list_clients().await.unwrap();
    let client = clients.iter().find(|c| c.client_id == app.writer_client_id).unwrap();
    let now = chrono::Utc::now();
    let lease = now + chrono::Duration::hours(1);
    // The "stopped instance": it made the job, leased to itself, …
    let job = zegel::storage::NewImport {
        import_id: uuid::Uuid::new_v4().to_string(),
        client_id: client.client_id.clone(),
        format: "csv".into(),
        filename: Some("cohort.csv".into()),
        achievement_id: None,
        eppn_rule: None,
        dry_run: false,
        total_rows: 2500,
        source: file(rows.clone()),
        created_at: now - chrono::Duration::seconds(5),
        actor: "test".into(),
        lease_until: Some(lease),
    };
    store.create_import(&job).await.unwrap();
    // … issued rows 0..1500 (as a chunk and a half of batches) …
    let records: Vec<Value> = rows
        .iter()
        .take(1500)
        .enumerate()
        .map(|(n, _)| {
            let mut body = award(&format!("imp-{n}"));
            body["learner"]["eppn"] = json!(format!("s{n}@uni.example.nl"));
            body["learner"]["email"] = json!(format!("s{n}@student.uni.example.nl"));
            body["learner"]["given_name"] = json!("Sam");
            body["learner"]["student_number"] = json!(n.to_string());
            body["result"] = json!({"grade": "7.5", "completed_on": "2026-06-30"});
            body
        })
        .collect();
    let mut first_chunk = Vec::new();
    // (In batches the test app's body limit takes.)
    for part in records.chunks(250) {
        let batch = json!({ "awards": part });
        let answer = app.send_json(Method::POST, "/api/v1/awards/batch", &app.writer_token, &batch).await.expect(200);
        assert_eq!(answer["counts"]["created"], part.len(), "{answer:#}");
        first_chunk.extend(answer["results"].as_array().unwrap().iter().cloned());
    }
    // … and recorded only the first chunk's results before it stopped.
    let recorded: Vec<zegel::storage::ImportRowRecord> = first_chunk
        .iter()
        .take(1000)
        .enumerate()
        .map(|(i, item)| zegel::storage::ImportRowRecord {
            row_index: i as i64,
            place: format!("line {}", i + 2),
            record_id: format!("imp-{i}"),
            result: "created".into(),
            award_id: item["award"]["id"].as_str().map(str::to_owned),
            problems: "[]".into(),
        })
        .collect();
    // (Its lease then ran out: it is renewed here to a moment past.)
    let expired = chrono::Utc::now() - chrono::Duration::seconds(1);
    assert!(store.record_import_rows(&job.import_id, lease, expired, &recorded).await.unwrap());

    // This instance's worker takes it over once the lease has run out.
    let done = finished(&app, &job.import_id).await;
    assert_eq!(done["state"], "done", "{done:#}");
    assert_eq!(done["counts"], json!({"created": 2500, "existing": 0, "refused": 0, "skipped": 0}), "{done:#}");
    assert_eq!(done["rows_done"], 2500);
    let (awards, credentials) = app.assert_consistent().await;
    assert_eq!((awards, credentials), (2500, 2500), "no row was issued twice");
    let all = rows_with(&app, &job.import_id, "?limit=10000").await;
    let mut award_ids: Vec<&str> = all.iter().map(|r| r["award_id"].as_str().unwrap()).collect();
    award_ids.sort_unstable();
    award_ids.dedup();
    assert_eq!(award_ids.len(), 2500);
}

/// `zegel import` runs its file as a job, visible through the API.
async fn the_cli_import_is_a_job_the_api_shows(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cohort.csv");
    std::fs::write(&path, file((0..30).map(row))).unwrap();
    let output = app.cli(&["import", path.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stderr.contains("imported 30/30 rows"), "{stderr}");
    assert!(stderr.contains("rows/s"), "{stderr}");
    assert!(stdout.contains("created                          30"), "{stdout}");
    let list = app.send(app.request(Method::GET, "/api/v1/imports", Some(&app.reader_token))).await.expect(200);
    let job = &list["imports"][0];
    assert_eq!(job["state"], "done", "{list:#}");
    assert_eq!(job["filename"], "cohort.csv");
    assert_eq!(job["counts"]["created"], 30);
}

crate::backend_tests!(
    a_csv_file_is_imported_as_a_job_with_row_results,
    a_dry_run_issues_nothing,
    a_file_that_cannot_be_imported_is_refused_whole,
    a_job_left_by_a_stopped_instance_is_resumed_without_issuing_twice,
    the_cli_import_is_a_job_the_api_shows,
);

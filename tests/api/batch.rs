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

crate::backend_tests!(
    each_record_is_answered_and_refused_ones_change_nothing,
    posting_a_batch_again_creates_nothing_new,
    concurrent_copies_of_a_batch_make_each_award_once,
    a_malformed_batch_is_refused_whole,
);

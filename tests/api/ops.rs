//! Issue point 7: operations. /health and /ready, Prometheus metrics after
//! some traffic, request ids on every response and log line, and logs that
//! hold ids but never tokens or student data.
#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use crate::common::Backend;
use crate::helpers::{TEST_KEY_DID, award, captured_logs, spawn_app, spawn_postgres_app_behind_a_proxy};
use reqwest::Method;
use serde_json::{Value, json};

async fn health_says_ok(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let reply = app.health().await;
    assert_eq!(reply.expect(200), json!({"status": "ok"}));
}

async fn ready_reports_the_database_and_the_keys(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let body = app.ready().await.expect(200);
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"], "ok");
    let expected = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(body["backend"], expected);
    assert_eq!(body["keys"], 1);
    assert_eq!(body["issuer"], TEST_KEY_DID);
}

/// One metric line's value, e.g. `value_of(text, "zegel_awards_issued_total")`.
fn value_of(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

async fn metrics_count_requests_awards_and_signing_in_prometheus_format(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let before = app.metrics().await;
    assert_eq!(before.status, 200);
    assert_eq!(value_of(&before.text(), "zegel_awards_issued_total"), Some(0.0), "{}", before.text());

    // Some traffic: three awards, a repeat, a conflict, a refusal, a 404.
    app.define_microcredential().await;
    let first = app.issue("metrics-1").await;
    app.issue("metrics-2").await;
    app.issue("metrics-3").await;
    app.post_award(&award("metrics-1")).await.expect(200);
    let mut conflicting = award("metrics-1");
    conflicting["result"]["grade"] = json!("4");
    app.post_award(&conflicting).await.expect_error(409, "conflict");
    app.send(app.request(Method::POST, "/api/v1/awards", None).json(&award("metrics-4")))
        .await
        .expect_error(401, "unauthorized");
    app.fetch(first["credential_url"].as_str().unwrap(), None).await.expect(200);
    app.get_credential("6a1f4c9e-1d2b-4c3a-9e8f-0123456789ab", None).await.expect_error(404, "not_found");

    let reply = app.metrics().await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8"));
    let text = reply.text();
    for (series, value) in [
        ("zegel_awards_issued_total", 3.0),
        ("zegel_awards_repeated_total", 1.0),
        ("zegel_awards_conflicting_total", 1.0),
        ("zegel_signing_duration_seconds_count", 3.0),
        ("zegel_storage_duration_seconds_count", 3.0),
        (r#"zegel_http_requests_total{method="POST",route="/api/v1/awards",status="201"}"#, 3.0),
        (r#"zegel_http_requests_total{method="POST",route="/api/v1/awards",status="200"}"#, 1.0),
        (r#"zegel_http_requests_total{method="POST",route="/api/v1/awards",status="409"}"#, 1.0),
        (r#"zegel_http_requests_total{method="POST",route="/api/v1/awards",status="401"}"#, 1.0),
        (r#"zegel_http_requests_total{method="POST",route="/api/v1/achievements",status="201"}"#, 1.0),
        (r#"zegel_http_requests_total{method="GET",route="/credentials/{id}",status="200"}"#, 1.0),
        (r#"zegel_http_requests_total{method="GET",route="/credentials/{id}",status="404"}"#, 1.0),
        (r#"zegel_http_requests_total{method="GET",route="/metrics",status="200"}"#, 1.0),
    ] {
        assert_eq!(value_of(&text, series), Some(value), "{series} in\n{text}");
    }
    // Every series is declared, and histograms are complete.
    for name in [
        "zegel_http_requests_total",
        "zegel_http_request_duration_seconds",
        "zegel_awards_issued_total",
        "zegel_signing_duration_seconds",
        "zegel_storage_duration_seconds",
    ] {
        assert!(text.contains(&format!("# TYPE {name} ")), "{name} has no TYPE line");
        assert!(text.contains(&format!("# HELP {name} ")), "{name} has no HELP line");
    }
    assert_eq!(value_of(&text, r#"zegel_signing_duration_seconds_bucket{le="+Inf"}"#), Some(3.0));
    // Every sample line is `name{labels} number`.
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let (_, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample: {line}"));
        assert!(value.parse::<f64>().is_ok(), "not a number: {line}");
        assert!(line.starts_with("zegel_"), "{line}");
    }
}

async fn every_response_carries_a_request_id_and_a_sane_one_from_the_caller_is_kept(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let generated = app.health().await;
    let id = generated.header("x-request-id").unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    let other = app.health().await;
    assert_ne!(other.header("x-request-id"), Some(id));

    let kept = app.send(app.request(Method::GET, "/health", None).header("x-request-id", "sis-batch-42-item-7")).await;
    assert_eq!(kept.header("x-request-id"), Some("sis-batch-42-item-7"));
    // Errors carry one too.
    let error = app.send(app.request(Method::GET, "/api/v1/achievements", None).header("x-request-id", "err-1")).await;
    assert_eq!(error.status, 401);
    assert_eq!(error.header("x-request-id"), Some("err-1"));
    // Ids that could forge log lines or are absurdly long are replaced.
    for hostile in ["a b", "x\"}{\"level\":\"ERROR", &"a".repeat(65), "id;drop"] {
        let reply = app.send(app.request(Method::GET, "/health", None).header("x-request-id", hostile)).await;
        let id = reply.header("x-request-id").unwrap();
        assert_ne!(id, hostile);
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    }
}

/// The log lines (JSON) whose request id is `request_id`.
fn lines_of(logs: &str, request_id: &str) -> Vec<Value> {
    logs.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["span"]["request_id"] == request_id)
        .collect()
}

async fn logs_hold_request_and_award_ids_but_no_token_and_no_student_data(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    // Values no other test uses, so that finding one in the shared log
    // buffer means this test's requests leaked it.
    let marker = uuid::Uuid::new_v4().simple().to_string();
    // Ids may be logged; this one names the requests and the record.
    let ids = uuid::Uuid::new_v4().simple().to_string();
    let given = format!("Givenname{marker}");
    let surname = format!("Surname{marker}");
    let email = format!("mail{marker}@student.uni.example.nl");
    let eppn = format!("eppn{marker}@uni.example.nl");
    let student_number = format!("SN{}", &marker[..12]);
    let learner = json!({
        "eppn": eppn, "email": email, "given_name": given, "surname": surname, "student_number": student_number
    });
    let with_learner = |record: &str| {
        let mut body = award(record);
        body["learner"] = learner.clone();
        body
    };
    let request_id = format!("log-{ids}");
    let send = |body: Value, token: String| {
        let request = app
            .request(Method::POST, "/api/v1/awards", Some(&token))
            .header("x-request-id", request_id.clone())
            .json(&body);
        app.send(request)
    };

    app.define_microcredential().await;
    let record = format!("log-{ids}");
    let issued = send(with_learner(&record), app.writer_token.clone()).await.expect(201);
    send(with_learner(&record), app.writer_token.clone()).await.expect(200);
    let mut conflict = with_learner(&record);
    conflict["learner"]["surname"] = json!(format!("Other{marker}"));
    send(conflict, app.writer_token.clone()).await.expect_error(409, "conflict");
    let mut invalid = with_learner(&format!("log-invalid-{ids}"));
    invalid["learner"]["email"] = json!(format!("broken{marker}@@example"));
    send(invalid, app.writer_token.clone()).await.expect_error(422, "validation_failed");
    let bogus_token = format!("zgl_{marker}");
    send(with_learner(&record), bogus_token.clone()).await.expect_error(401, "unauthorized");
    send(with_learner(&record), app.reader_token.clone()).await.expect_error(403, "forbidden");

    let logs = captured_logs();
    // Ids are there: each request's line, and the award's.
    let lines = lines_of(&logs, &request_id);
    let statuses: Vec<i64> = lines.iter().filter_map(|l| l["http.status"].as_i64()).collect();
    assert_eq!(statuses, vec![201, 200, 409, 422, 401, 403], "one line per request: {lines:#?}");
    let award_id = issued["id"].as_str().unwrap();
    assert!(lines.iter().any(|l| l["award.id"] == award_id), "the award id is logged: {lines:#?}");

    // Secrets and student data are not, anywhere.
    for secret in [
        app.writer_token.as_str(),
        app.reader_token.as_str(),
        app.admin_token.as_str(),
        bogus_token.as_str(),
        &marker,
        &given,
        &surname,
        &email,
        &eppn,
        &student_number,
    ] {
        assert!(!logs.contains(secret), "the logs contain {secret:?}");
    }
    // Not even as a prefix long enough to be useful.
    for token in [&app.writer_token, &app.reader_token, &app.admin_token] {
        assert!(!logs.contains(&token[..16]), "the logs contain the start of a token");
    }
}

/// Label values must come from a bounded set, or anyone can make the
/// metrics (and zegel's memory) grow without end. Fails today: `observe` in
/// `http/mod.rs` records `req.method()` verbatim, and HTTP lets a client
/// invent methods, so each made-up method becomes a new
/// `zegel_http_requests_total` series, kept forever.
async fn metrics_do_not_grow_with_methods_a_client_makes_up(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    for i in 0..20 {
        let method = Method::from_bytes(format!("ZEGEL{i}").as_bytes()).unwrap();
        let reply = app.send(app.request(method, &format!("/made-up/{i}"), None)).await;
        assert_eq!(reply.status, 404);
    }
    let text = app.metrics().await.text();
    let series: Vec<&str> = text.lines().filter(|l| l.starts_with("zegel_http_requests_total{")).collect();
    assert!(
        !series.iter().any(|line| line.contains("method=\"ZEGEL")),
        "client-chosen methods became label values:\n{}",
        series.join("\n")
    );
}

crate::backend_tests!(
    metrics_do_not_grow_with_methods_a_client_makes_up,
    health_says_ok,
    ready_reports_the_database_and_the_keys,
    metrics_count_requests_awards_and_signing_in_prometheus_format,
    every_response_carries_a_request_id_and_a_sane_one_from_the_caller_is_kept,
    logs_hold_request_and_award_ids_but_no_token_and_no_student_data,
);

/// /ready follows the database: not ready (503) while PostgreSQL cannot be
/// reached, ready again when it can. Meanwhile /health stays up, and API
/// and public requests that need the database get a JSON 503, never a 500.
/// (PostgreSQL only: an SQLite file cannot become unreachable this way.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_ready_follows_the_database_and_requests_get_503_while_it_is_unreachable() {
    let Some((app, proxy)) = spawn_postgres_app_behind_a_proxy().await else { return };
    app.define_microcredential().await;
    let issued = app.issue("unreachable-1").await;
    app.ready().await.expect(200);

    proxy.cut();
    let ready = app.ready().await;
    let body = ready.expect(503);
    assert_eq!(
        (body["status"].as_str(), body["database"].as_str()),
        (Some("not_ready"), Some("unavailable")),
        "{body}"
    );
    app.health().await.expect(200);
    app.post_award(&award("unreachable-2")).await.expect_error(503, "unavailable");
    app.find_award("unreachable-1").await.expect_error(503, "unavailable");
    app.fetch(issued["credential_url"].as_str().unwrap(), None).await.expect_error(503, "unavailable");

    proxy.restore();
    app.ready().await.expect(200);
    app.issue("unreachable-2").await;
    assert_eq!(app.assert_consistent().await, (2, 2));
}

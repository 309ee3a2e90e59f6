//! The Edubadges push (issue "Push to Edubadges"), against the Edubadges
//! test double of `zegel::dev::edubadges_mock`: delivery and claim, faults
//! of every kind at 30 %, permanent refusals, retries. The double's state is
//! the judge of "exactly once".

use crate::common::Backend;
use crate::helpers::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use zegel::dev::edubadges_mock::{self, FaultKind, Faults, MockConfig, MockServer};

/// The double, and zegel pointed at it with short timings (`extra` added).
async fn spawn_with_edubadges(
    backend: Backend,
    config: MockConfig,
    extra: &[(&str, &str)],
) -> Option<(TestApp, MockServer)> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mock = edubadges_mock::start(listener, config.clone()).await.unwrap();
    let (url, token_url) = (mock.base_url(), mock.token_url());
    let mut settings: Vec<(&str, &str)> = vec![
        ("ZEGEL_EDUBADGES_URL", &url),
        ("ZEGEL_EDUBADGES_TOKEN_URL", &token_url),
        ("ZEGEL_EDUBADGES_CLIENT_ID", &config.client_id),
        ("ZEGEL_EDUBADGES_CLIENT_SECRET", &config.client_secret),
        ("ZEGEL_EDUBADGES_TIMEOUT_SECS", "2"),
        ("ZEGEL_PUSH_LEASE_SECS", "4"),
        ("ZEGEL_PUSH_POLL_MS", "50"),
        ("ZEGEL_PUSH_RETRY_BASE_MS", "50"),
        ("ZEGEL_PUSH_RETRY_MAX_SECS", "1"),
        ("ZEGEL_PUSH_CLAIM_CHECK_SECS", "1"),
    ];
    settings.extend_from_slice(extra);
    let app = spawn_app_with(backend, &settings).await?;
    Some((app, mock))
}

/// A record for learner number `n` (its own eppn and e-mail address).
fn award_for(n: usize) -> Value {
    let mut body = award(&format!("osiris-push-{n}"));
    body["learner"]["eppn"] = json!(format!("s{n}@uni.example.nl"));
    body["learner"]["email"] = json!(format!("s{n}@student.uni.example.nl"));
    body
}

/// Polls the award until its push state is `state` (or fails after `within`).
async fn wait_for_state(app: &TestApp, award_id: &str, state: &str, within: Duration) -> Value {
    let started = Instant::now();
    loop {
        let view = app.get_award(award_id).await.expect(200);
        if view["push"]["state"] == state {
            return view;
        }
        assert!(started.elapsed() < within, "award {award_id} is not {state} after {within:?}: {view}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn counts(app: &TestApp) -> Vec<(String, i64)> {
    app.db.store.push_counts().await.unwrap()
}

async fn an_award_is_delivered_once_and_its_claim_is_seen(backend: Backend) {
    let Some((app, mock)) = spawn_with_edubadges(backend, MockConfig::default(), &[]).await else { return };
    app.define_microcredential().await;
    let created = app.post_award(&award_for(1)).await.expect(201);
    assert_eq!((&created["push"]["state"], &created["push"]["attempts"]), (&json!("pending"), &json!(0)));
    let id = created["id"].as_str().unwrap();
    let sent = wait_for_state(&app, id, "sent", Duration::from_secs(20)).await;
    let edubadges = &sent["push"]["detail"]["edubadges"];
    assert_eq!(edubadges["badgeclass"], edubadges_mock::DEFAULT_BADGE_CLASS);
    assert!(edubadges["bundle_id"].is_string(), "{sent}");
    assert_eq!(sent["push"]["attempts"], 1);

    let state = mock.snapshot();
    assert_eq!(state.live_count(edubadges_mock::DEFAULT_BADGE_CLASS, "s1@uni.example.nl"), 1);
    let direct_award = state.direct_awards[0].clone();
    // What Edubadges got: the credential's URL as evidence, names, grade.
    assert_eq!(direct_award.evidence_url.as_deref(), created["credential_url"].as_str());
    assert_eq!(direct_award.grade_achieved.as_deref(), Some("8.5"));
    assert_eq!(direct_award.recipient_surname.as_deref(), Some("de Vries"));

    let assertion = mock.claim(&direct_award.entity_id).unwrap();
    let claimed = wait_for_state(&app, id, "claimed", Duration::from_secs(20)).await;
    assert_eq!(claimed["push"]["detail"]["edubadges"]["assertion_id"], assertion.as_str());
    assert!(mock.snapshot().over_awarded().is_empty());

    // The trail names what happened, without learner data.
    let trail = app
        .db
        .store
        .audit_entries(zegel::storage::AuditFilter { award_id: Some(id.into()), ..Default::default() })
        .await
        .unwrap();
    let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["credential_issued", "pushed", "claimed"]);
    assert!(trail.iter().all(|e| !e.details.clone().unwrap_or_default().contains("uni.example.nl")));
}

/// The promise: with 30 % of requests failing in every way the
/// double knows (429, 5xx, introspection outage, expired token, slow beyond
/// the timeout, dropped after commit), every award is delivered exactly once.
async fn every_award_is_delivered_exactly_once_through_faults(backend: Backend) {
    let config = MockConfig::default();
    // Small bundles: many requests, so every kind of fault happens.
    let extra = [("ZEGEL_PUSH_BUNDLE_SIZE", "5"), ("ZEGEL_PUSH_CLAIM_CHECK_SECS", "3600")];
    let Some((app, mock)) = spawn_with_edubadges(backend, config, &extra).await else { return };
    mock.set_faults(Faults {
        rate: 0.3,
        kinds: FaultKind::ALL.to_vec(),
        retry_after_secs: 1,
        slow: Duration::from_millis(2500),
        seed: 7,
        include_token_endpoint: true,
    });
    app.define_microcredential().await;
    let total = if std::env::var_os("CI").is_some() || cfg!(not(debug_assertions)) { 1000 } else { 300 };
    // Eight at a time: the point is the push, not the intake.

    let app_ref = &app;
    for chunk in (0..total).collect::<Vec<_>>().chunks(8) {
        futures_util::future::join_all(
            chunk.iter().map(|&n| async move { app_ref.post_award(&award_for(n)).await.expect(201) }),
        )
        .await;
    }
    let started = Instant::now();
    loop {
        let counts = counts(&app).await;
        let sent = counts.iter().find(|(s, _)| s == "sent").map_or(0, |(_, n)| *n);
        if sent == total as i64 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(240), "not all delivered: {counts:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let state = mock.snapshot();
    assert!(state.over_awarded().is_empty(), "delivered twice: {:?}", state.over_awarded());
    for n in 0..total {
        assert_eq!(
            state.live_count(edubadges_mock::DEFAULT_BADGE_CLASS, &format!("s{n}@uni.example.nl")),
            1,
            "learner {n}"
        );
    }
    // One worker at the default concurrency never had more than 4 requests open.
    assert!(state.max_in_flight <= 4, "{} requests in flight", state.max_in_flight);
    // The faults did happen, and the lost answers were looked up.
    assert!(state.faults(FaultKind::DropAfterCommit) > 0 && state.faults(FaultKind::Slow) > 0);
    let metrics = app.get("/metrics").await.text();
    assert!(metrics.contains("zegel_push_awards{state=\"sent\"}"), "{metrics}");
}

async fn a_refused_push_is_visible_and_can_be_retried_after_the_fix(backend: Backend) {
    let Some((app, mock)) = spawn_with_edubadges(backend, MockConfig::default(), &[]).await else { return };
    let mut definition = microcredential();
    definition["edubadges_badgeclass"] = json!("unknownBadgeClass00000");
    let achievement = app.post_achievement(&definition).await.expect(201);
    let id = app.post_award(&award_for(5)).await.expect(201)["id"].as_str().unwrap().to_owned();
    let failed = wait_for_state(&app, &id, "failed", Duration::from_secs(20)).await;
    let error = failed["push"]["detail"]["last_error"].as_str().unwrap();
    assert!(error.contains("badgeclass"), "{error}");
    let listed = app
        .send(app.request(reqwest::Method::GET, "/api/v1/push?state=failed", Some(&app.reader_token)))
        .await
        .expect(200);
    assert_eq!(listed["awards"][0]["id"], id.as_str());

    // Mapped to the right badge class, then retried by an administrator.
    definition["edubadges_badgeclass"] = json!(edubadges_mock::DEFAULT_BADGE_CLASS);
    let path = format!("/api/v1/achievements/{}", achievement["id"].as_str().unwrap());
    app.send_json(reqwest::Method::PUT, &path, &app.admin_token, &definition).await.expect(200);
    let retry = format!("/api/v1/awards/{id}/push");
    let queued = app.send(app.request(reqwest::Method::POST, &retry, Some(&app.admin_token))).await.expect(202);
    assert_eq!(queued["result"], "queued");
    wait_for_state(&app, &id, "sent", Duration::from_secs(20)).await;
    let again = app.send(app.request(reqwest::Method::POST, &retry, Some(&app.admin_token))).await.expect(200);
    assert_eq!(again["result"], "delivered");
    assert_eq!(mock.snapshot().live_count(edubadges_mock::DEFAULT_BADGE_CLASS, "s5@uni.example.nl"), 1);
}

async fn a_duplicate_in_edubadges_counts_as_delivered(backend: Backend) {
    let Some((app, mock)) = spawn_with_edubadges(backend, MockConfig::default(), &[]).await else { return };
    app.define_microcredential().await;
    let first = app.post_award(&award_for(9)).await.expect(201)["id"].as_str().unwrap().to_owned();
    wait_for_state(&app, &first, "sent", Duration::from_secs(20)).await;
    // Another record for the same student and badge class while the first is unclaimed.
    let mut second = award_for(9);
    second["source_record_id"] = json!("osiris-push-9-resit");
    let second = app.post_award(&second).await.expect(201)["id"].as_str().unwrap().to_owned();
    let sent = wait_for_state(&app, &second, "sent", Duration::from_secs(20)).await;
    assert!(sent["push"]["detail"]["edubadges"]["bundle_id"].is_null(), "{sent}");
    assert_eq!(mock.snapshot().live_count(edubadges_mock::DEFAULT_BADGE_CLASS, "s9@uni.example.nl"), 1);
}

async fn without_edubadges_awards_wait_as_pending(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let id = app.post_award(&award_for(3)).await.expect(201)["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let view = app.get_award(&id).await.expect(200);
    assert_eq!(view["push"]["state"], "pending");
    assert_eq!(view["push"]["attempts"], 0);
    let ready = app.get("/ready").await.json();
    assert!(ready["edubadges"].as_str().unwrap().contains("not configured"), "{ready}");
}

/// The value of an unlabelled-or-labelled sample in a Prometheus text page.
fn sample(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |value| value.trim().parse().unwrap())
}

/// Point 6: two instances on one database (each with its own worker, pool
/// and token cache) never send one job twice. One award per request, so
/// the two workers contend for every job.
async fn two_instances_never_send_one_job_twice(backend: Backend) {
    let config = MockConfig::default().with_latency(Duration::from_millis(20));
    let extra =
        [("ZEGEL_PUSH_BUNDLE_SIZE", "1"), ("ZEGEL_PUSH_CONCURRENCY", "4"), ("ZEGEL_PUSH_CLAIM_CHECK_SECS", "3600")];
    let Some((first, mock)) = spawn_with_edubadges(backend, config, &extra).await else { return };
    let second = first.second_instance().await;
    first.define_microcredential().await;
    let total = 400;
    let (first_ref, second_ref) = (&first, &second);
    for chunk in (0..total).collect::<Vec<_>>().chunks(8) {
        futures_util::future::join_all(chunk.iter().map(|&n| async move {
            let instance = if n % 2 == 0 { first_ref } else { second_ref };
            instance.post_award(&award_for(n)).await.expect(201)
        }))
        .await;
    }
    let started = Instant::now();
    loop {
        let counts = counts(&first).await;
        if counts.iter().any(|(state, n)| state == "sent" && *n == total as i64) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "not all delivered: {counts:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let state = mock.snapshot();
    assert!(state.over_awarded().is_empty(), "delivered twice: {:?}", state.over_awarded());
    // Each recipient was posted once (a second send would be a refused
    // duplicate counted in its bundle), by one request each.
    let posted: usize = state.bundles.iter().map(|b| b.initial_total).sum();
    assert_eq!((posted, state.direct_awards.len()), (total, total));
    assert_eq!(state.requests_to(edubadges_mock::Endpoint::CreateDirectAwards), total as u64);
    assert!(state.max_in_flight <= 8, "{} requests in flight", state.max_in_flight);
    // Both workers took part.
    let sent_by = |metrics: String| sample(&metrics, "zegel_push_jobs_total{outcome=\"sent\"}");
    let (by_first, by_second) =
        (sent_by(first.get("/metrics").await.text()), sent_by(second.get("/metrics").await.text()));
    assert!(by_first > 0.0 && by_second > 0.0, "sent by the first {by_first}, by the second {by_second}");
    assert_eq!(by_first + by_second, total as f64);
}

async fn revoke(app: &TestApp, credential_id: &str) -> Value {
    let path = format!("/api/v1/credentials/{credential_id}/revoke");
    app.send_json(reqwest::Method::POST, &path, &app.admin_token, &json!({"reason": "exam fraud"})).await.expect(200)
}

/// Revoked before the student claimed it: the direct award is deleted.
async fn a_revoked_unclaimed_award_is_deleted_in_edubadges(backend: Backend) {
    let Some((app, mock)) = spawn_with_edubadges(backend, MockConfig::default(), &[]).await else { return };
    app.define_microcredential().await;
    let created = app.post_award(&award_for(21)).await.expect(201);
    let id = created["id"].as_str().unwrap();
    wait_for_state(&app, id, "sent", Duration::from_secs(20)).await;
    let revoked = revoke(&app, created["credential_id"].as_str().unwrap()).await;
    assert_eq!(revoked["edubadges_withdrawal"], true);
    wait_for_state(&app, id, "withdrawn", Duration::from_secs(20)).await;
    let state = mock.snapshot();
    assert_eq!(state.direct_awards[0].status, edubadges_mock::DirectAwardStatus::Deleted);
    assert_eq!(state.direct_awards[0].revocation_reason.as_deref(), Some("credential revoked: exam fraud"));
    assert_eq!(state.live_count(edubadges_mock::DEFAULT_BADGE_CLASS, "s21@uni.example.nl"), 0);
}

/// Claimed in Edubadges (before zegel even noticed): the badge is revoked.
async fn a_revoked_claimed_award_has_its_badge_revoked_in_edubadges(backend: Backend) {
    let extra = [("ZEGEL_PUSH_CLAIM_CHECK_SECS", "3600")];
    let Some((app, mock)) = spawn_with_edubadges(backend, MockConfig::default(), &extra).await else { return };
    app.define_microcredential().await;
    let created = app.post_award(&award_for(22)).await.expect(201);
    let id = created["id"].as_str().unwrap();
    wait_for_state(&app, id, "sent", Duration::from_secs(20)).await;
    let assertion = mock.claim(&mock.snapshot().direct_awards[0].entity_id).unwrap();
    revoke(&app, created["credential_id"].as_str().unwrap()).await;
    wait_for_state(&app, id, "withdrawn", Duration::from_secs(20)).await;
    let state = mock.snapshot();
    let badge = state.assertions.iter().find(|a| a.entity_id == assertion).unwrap();
    assert!(badge.revoked, "{badge:?}");
    assert_eq!(state.live_count(edubadges_mock::DEFAULT_BADGE_CLASS, "s22@uni.example.nl"), 0);
}

/// A reissue takes the old award out and sends the new credential.
async fn a_reissue_replaces_the_award_in_edubadges(backend: Backend) {
    let Some((app, mock)) = spawn_with_edubadges(backend, MockConfig::default(), &[]).await else { return };
    app.define_microcredential().await;
    let created = app.post_award(&award_for(23)).await.expect(201);
    let id = created["id"].as_str().unwrap();
    wait_for_state(&app, id, "sent", Duration::from_secs(20)).await;
    let path = format!("/api/v1/credentials/{}/reissue", created["credential_id"].as_str().unwrap());
    let body = json!({"reason": "grade corrected", "record": {"result": {"grade": "9.0"}}});
    let reissued = app.send_json(reqwest::Method::POST, &path, &app.admin_token, &body).await.expect(201);
    assert_eq!(reissued["push"]["state"], "withdrawing");
    let started = Instant::now();
    loop {
        let state = mock.snapshot();
        let live: Vec<_> =
            state.direct_awards.iter().filter(|d| d.status == edubadges_mock::DirectAwardStatus::Unaccepted).collect();
        if state.direct_awards.len() == 2 && live.len() == 1 {
            assert_eq!(live[0].evidence_url.as_deref(), reissued["credential_url"].as_str());
            assert_eq!(live[0].grade_achieved.as_deref(), Some("9.0"));
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{:?}", state.direct_awards);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_for_state(&app, id, "sent", Duration::from_secs(20)).await;
    assert_eq!(mock.snapshot().live_count(edubadges_mock::DEFAULT_BADGE_CLASS, "s23@uni.example.nl"), 1);
    assert!(mock.snapshot().over_awarded().is_empty());
}

/// Revoked before it was ever sent: nothing goes to Edubadges.
async fn a_revoked_award_that_was_never_sent_is_not_sent(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let created = app.post_award(&award_for(24)).await.expect(201);
    let revoked = revoke(&app, created["credential_id"].as_str().unwrap()).await;
    assert_eq!(revoked["edubadges_withdrawal"], false);
    let view = app.get_award(created["id"].as_str().unwrap()).await.expect(200);
    assert_eq!(view["push"]["state"], "withdrawn", "{view}");
    let jobs = app.db.store.outbox_jobs_for_award(created["id"].as_str().unwrap()).await.unwrap();
    assert!(jobs.iter().all(|j| j.state != "pending"), "{jobs:?}");
}

crate::backend_tests!(
    two_instances_never_send_one_job_twice,
    an_award_is_delivered_once_and_its_claim_is_seen,
    every_award_is_delivered_exactly_once_through_faults,
    a_refused_push_is_visible_and_can_be_retried_after_the_fix,
    a_duplicate_in_edubadges_counts_as_delivered,
    without_edubadges_awards_wait_as_pending,
    a_revoked_unclaimed_award_is_deleted_in_edubadges,
    a_revoked_claimed_award_has_its_badge_revoked_in_edubadges,
    a_reissue_replaces_the_award_in_edubadges,
    a_revoked_award_that_was_never_sent_is_not_sent,
);

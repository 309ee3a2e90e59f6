//! Issue points 5 and 9: requests that race. The same record posted many
//! times at once is one award and one credential; the same record id with
//! different content at once is one award and refusals; distinct awards at
//! once never share a status slot; definitions racing for a course code or
//! against their first awards stay consistent.
#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use crate::common::Backend;
use crate::helpers::{Reply, TestApp, award, microcredential, spawn_app};
use futures_util::future::join_all;
use serde_json::{Value, json};
use std::collections::HashSet;

/// Posts every body at once (each on its own connection) and returns the replies in order.
async fn post_all(app: &TestApp, bodies: &[Value]) -> Vec<Reply> {
    join_all(bodies.iter().map(|body| app.post_award(body))).await
}

async fn many_identical_posts_at_once_make_exactly_one_award_and_one_credential(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let bodies = vec![award("race-same"); 24];
    let replies = post_all(&app, &bodies).await;

    let created: Vec<&Reply> = replies.iter().filter(|r| r.status == 201).collect();
    assert_eq!(created.len(), 1, "statuses: {:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    let winner = created[0].json();
    for reply in &replies {
        assert!(reply.status == 201 || reply.status == 200, "{} {}", reply.status, reply.text());
        assert_eq!(reply.json(), winner, "every answer is the same award");
    }
    // Exactly one award and credential in the store, and it is the winner's.
    assert_eq!(app.assert_consistent().await, (1, 1));
    let stored = app.db.award_by_source_record_id("race-same").await.unwrap().unwrap();
    assert_eq!(stored.award_id, winner["id"].as_str().unwrap());
    assert_eq!(stored.credential_id, winner["credential_id"].as_str().unwrap());
    let metrics = app.metrics().await.text();
    assert!(metrics.contains("zegel_awards_issued_total 1\n"), "{metrics}");
    assert!(metrics.contains("zegel_awards_repeated_total 23\n"), "{metrics}");
}

async fn conflicting_posts_at_once_make_one_award_and_refuse_the_others(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let grades = ["6", "7", "8", "9"];
    let bodies: Vec<Value> = (0..20)
        .map(|i| {
            let mut body = award("race-conflict");
            body["result"]["grade"] = json!(grades[i % grades.len()]);
            body
        })
        .collect();
    let replies = post_all(&app, &bodies).await;

    let winners: Vec<usize> = (0..replies.len()).filter(|&i| replies[i].status == 201).collect();
    assert_eq!(winners.len(), 1, "statuses: {:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    let winner_grade = &bodies[winners[0]]["result"]["grade"];
    let winner = replies[winners[0]].json();
    for (body, reply) in bodies.iter().zip(&replies) {
        if reply.status == 201 {
            continue;
        }
        // The same content as the winner is a repeat; any other is a conflict.
        if &body["result"]["grade"] == winner_grade {
            assert_eq!(reply.expect(200), winner);
        } else {
            reply.expect_error(409, "conflict");
        }
    }
    assert_eq!(app.assert_consistent().await, (1, 1));
    let document: Value =
        serde_json::from_str(&app.stored_credential(winner["credential_id"].as_str().unwrap()).await.document).unwrap();
    assert_eq!(&document["credentialSubject"]["result"][0]["value"], winner_grade);
}

async fn distinct_awards_at_once_each_get_their_own_credential_and_status_slot(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let bodies: Vec<Value> = (0..30).map(|i| award(&format!("race-distinct-{i}"))).collect();
    let replies = post_all(&app, &bodies).await;
    let mut credentials = HashSet::new();
    let mut slots = HashSet::new();
    for reply in &replies {
        let body = reply.expect(201);
        let credential_id = body["credential_id"].as_str().unwrap().to_owned();
        let stored = app.stored_credential(&credential_id).await;
        assert!(slots.insert(stored.status), "status slot {:?} used twice", stored.status);
        assert!(credentials.insert(credential_id));
    }
    assert_eq!(app.assert_consistent().await, (30, 30));
}

async fn definitions_racing_for_one_course_code_leave_exactly_one_owner(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let bodies: Vec<Value> = (0..10)
        .map(|i| {
            let mut body = microcredential();
            body["name"] = json!(format!("Contender {i}"));
            body
        })
        .collect();
    let replies = join_all(bodies.iter().map(|body| app.post_achievement(body))).await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|&&s| s == 201).count(), 1, "{statuses:?}");
    for reply in replies.iter().filter(|r| r.status != 201) {
        reply.expect_error(409, "conflict");
    }
    let list = app.list_achievements().await.expect(200);
    let list = list["achievements"].as_array().unwrap();
    assert_eq!(list.len(), 1, "only the winner is stored: {list:?}");
    let winner = replies.iter().find(|r| r.status == 201).unwrap().json();
    assert_eq!(app.issue("race-code").await["achievement_id"], winner["id"]);
}

/// A definition edited while its first awards are being issued: every
/// credential must embed exactly what its version publishes, whichever
/// commits first (the edit in place, or an award that turns the edit into a
/// new version).
///
/// Fails today. `issuance::issue_award` reads the definition and signs the
/// credential before its write transaction; `Store::record_issued_award`
/// locks the version row but does not check that the version is still the
/// one that was read. When an in-place update (`UpdateOutcome::Updated`, no
/// awards yet) commits in between, the award is stored against version N
/// whose definition has changed: the credential embeds the old definition
/// while `/achievements/{id}/versions/N` serves the new one.
async fn a_definition_edited_while_its_first_awards_are_issued_never_changes_under_a_credential(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let mut mismatches = Vec::new();
    for round in 0..12 {
        let code = format!("RACE-EDIT-{round}");
        let mut definition = microcredential();
        definition["course_codes"] = json!([code]);
        let id = app.post_achievement(&definition).await.expect(201)["id"].as_str().unwrap().to_owned();
        let mut edited = definition.clone();
        edited["name"] = json!(format!("Edited while issuing ({round})"));
        let bodies: Vec<Value> = (0..4)
            .map(|i| {
                let mut body = award(&format!("race-edit-{round}-{i}"));
                body["course_code"] = json!(code);
                body
            })
            .collect();
        let (replies, edit) = tokio::join!(post_all(&app, &bodies), app.put_achievement(&id, &edited));
        edit.expect(200);
        for reply in replies {
            let issued = reply.expect(201);
            let version = issued["achievement_version"].as_i64().unwrap();
            let document = app.fetch(issued["credential_url"].as_str().unwrap(), None).await.expect(200);
            let published = app.public_achievement_version(&id, version).await.expect(200);
            let embedded = &document["credentialSubject"]["achievement"];
            assert_eq!(embedded["id"], published["id"]);
            if embedded["name"] != published["name"] {
                mismatches.push(format!(
                    "round {round}: credential of version {version} embeds {} but the version publishes {}",
                    embedded["name"], published["name"]
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} credentials differ from their version:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    app.assert_consistent().await;
}

async fn two_instances_on_one_database_make_one_award_per_record_and_never_share_a_status_slot(backend: Backend) {
    let Some(first) = spawn_app(backend).await else { return };
    let second = first.second_instance().await;
    first.define_microcredential().await;

    // The same record at both instances at once.
    let same = award("two-instances-same");
    let bodies = vec![same; 10];
    let (a, b) = tokio::join!(post_all(&first, &bodies), post_all(&second, &bodies));
    let replies: Vec<&Reply> = a.iter().chain(&b).collect();
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|&&s| s == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|&s| s == 201 || s == 200), "{statuses:?}");
    let ids: HashSet<String> = replies.iter().map(|r| r.json()["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 1, "{ids:?}");

    // Distinct records at both at once: each instance reserves status slots
    // of its own from the shared lists.
    let mine: Vec<Value> = (0..20).map(|i| award(&format!("two-instances-a-{i}"))).collect();
    let theirs: Vec<Value> = (0..20).map(|i| award(&format!("two-instances-b-{i}"))).collect();
    let (a, b) = tokio::join!(post_all(&first, &mine), post_all(&second, &theirs));
    let mut slots = HashSet::new();
    for reply in a.iter().chain(&b) {
        let body = reply.expect(201);
        let stored = first.stored_credential(body["credential_id"].as_str().unwrap()).await;
        assert!(slots.insert(stored.status), "status slot {:?} used twice", stored.status);
    }
    assert_eq!(first.assert_consistent().await, (41, 41));
    // Each serves what the other issued.
    let from_second = b[0].json();
    first
        .fetch(&from_second["credential_url"].as_str().unwrap().replace(&second.address, &first.address), None)
        .await
        .expect(200);
}

crate::backend_tests!(
    many_identical_posts_at_once_make_exactly_one_award_and_one_credential,
    conflicting_posts_at_once_make_one_award_and_refuse_the_others,
    distinct_awards_at_once_each_get_their_own_credential_and_status_slot,
    definitions_racing_for_one_course_code_leave_exactly_one_owner,
    a_definition_edited_while_its_first_awards_are_issued_never_changes_under_a_credential,
    two_instances_on_one_database_make_one_award_per_record_and_never_share_a_status_slot,
);

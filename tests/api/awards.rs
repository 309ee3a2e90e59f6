//! Issue points 5 and 8: award intake. A valid record becomes a signed,
//! stored credential (201); the same record again is the same award (200);
//! the same record id with other content is a 409 that changes nothing; bad
//! input of every kind gets a JSON body listing every problem, never a 500,
//! and nothing is written.
#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use crate::common::Backend;
use crate::helpers::{MAX_BODY_BYTES, award, microcredential, problem_fields, raw_http, spawn_app};
use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};
use zegel::storage::AuditFilter;

/// The credential's unhashed `name` identifier: the learner's name as issued.
fn issued_name(credential: &Value) -> String {
    credential["credentialSubject"]["identifier"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["identityType"] == "name" && i["hashed"] == false)
        .and_then(|i| i["identityHash"].as_str())
        .unwrap_or_else(|| panic!("no name identifier in {credential}"))
        .to_owned()
}

/// What HTML escaping makes of `text` (as element content).
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// The payload of a compact JWS.
fn jwt_payload(jwt: &str) -> Value {
    let payload = jwt.trim().split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn a_new_award_is_201_with_its_ids_public_urls_and_a_pending_push(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let achievement = app.define_microcredential().await;
    let reply = app.post_award(&award("osiris-2026-000123")).await;
    let body = reply.expect(201);
    let id = body["id"].as_str().unwrap();
    let credential_id = body["credential_id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok() && uuid::Uuid::parse_str(credential_id).is_ok(), "{body}");
    assert_eq!(reply.header("location"), Some(format!("/api/v1/awards/{id}").as_str()));
    assert_eq!(body["source_record_id"], "osiris-2026-000123");
    assert_eq!(body["achievement_id"], achievement["id"]);
    assert_eq!(body["achievement_version"], 1);
    assert_eq!(body["credential_url"], app.url(&format!("/credentials/{credential_id}")));
    assert_eq!(body["credential_jwt_url"], app.url(&format!("/credentials/{credential_id}.jwt")));
    assert_eq!((&body["push"]["state"], &body["push"]["attempts"]), (&json!("pending"), &json!(0)));
    assert!(body["created_at"].is_string(), "{body}");
    // API responses are not for browsers on other sites.
    assert_eq!(reply.header("access-control-allow-origin"), None);

    // Stored with its credential, audit entry and outbox job, all in one piece.
    assert_eq!(app.assert_consistent().await, (1, 1));
    let stored = app.stored_credential(credential_id).await;
    assert_eq!(stored.award_id, id);
    let audit =
        app.db.audit_entries(AuditFilter { award_id: Some(id.into()), ..AuditFilter::default() }).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "credential_issued"), "{audit:?}");
    let jobs = app.db.outbox_jobs_for_award(id).await.unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!((jobs[0].kind.as_str(), jobs[0].state.as_str()), ("edubadges_award", "pending"));

    // The credential is what was asked for.
    let document: Value = serde_json::from_str(&stored.document).unwrap();
    assert_eq!(document["id"], body["credential_url"]);
    assert_eq!(issued_name(&document), "Sam de Vries");
    assert_eq!(document["credentialSubject"]["result"][0]["value"], "8.5");
    assert_eq!(document["credentialSubject"]["achievement"]["name"], "Data Literacy for Professionals");
    assert_eq!(document["proof"][0]["cryptosuite"], "eddsa-rdfc-2022");
    // One revocation and one suspension entry, each at its reserved slot.
    let entries = document["credentialStatus"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(entries[0]["statusPurpose"], "revocation");
    assert_eq!(entries[0]["statusListIndex"], stored.status.index.to_string());
    let suspension = stored.suspension.expect("a suspension slot");
    assert_eq!(entries[1]["statusPurpose"], "suspension");
    assert_eq!(entries[1]["statusListIndex"], suspension.index.to_string());
    // Student data other than the name is not in the credential.
    for secret in ["1234567", "sam@student", "uni.example.nl"] {
        assert!(!stored.document.contains(secret), "{secret} is in the credential");
    }
    assert_eq!(jwt_payload(&stored.jwt)["jti"], body["credential_url"]);
}

async fn the_same_record_posted_again_is_200_with_the_same_award(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let first = app.issue("repeat-1").await;
    let stored = app.stored_credential(first["credential_id"].as_str().unwrap()).await;

    // Equivalent spellings of the same record: exact repeat, e-mail and eppn
    // in other letter case, surrounding spaces, a number instead of a string,
    // absent instead of null, members in another order.
    let mut variants = vec![award("repeat-1")];
    let mut cased = award("repeat-1");
    cased["learner"]["email"] = json!("Sam@Student.UNI.example.NL");
    cased["learner"]["eppn"] = json!("1234567@UNI.Example.nl");
    variants.push(cased);
    let mut spaced = award(" repeat-1 ");
    spaced["learner"]["given_name"] = json!("  Sam ");
    variants.push(spaced);
    let mut numbers = award("repeat-1");
    numbers["result"]["grade"] = json!(8.5);
    numbers["learner"]["student_number"] = json!(1234567);
    variants.push(numbers);
    let mut absent = award("repeat-1");
    absent.as_object_mut().unwrap().remove("evidence_url");
    variants.push(absent);
    let reordered: Value = serde_json::from_str(
        r#"{"result": {"completed_on": "2026-06-30", "grade": "8.5"}, "learner": {"student_number": "1234567",
        "surname": "Vries", "surname_prefix": "de", "given_name": "Sam", "email": "sam@student.uni.example.nl",
        "eppn": "1234567@uni.example.nl"}, "course_code": "MC-DATA-26", "source_record_id": "repeat-1"}"#,
    )
    .unwrap();
    variants.push(reordered);
    // The achievement by id instead of by course code.
    let mut by_id = award("repeat-1");
    by_id.as_object_mut().unwrap().remove("course_code");
    by_id["achievement_id"] = first["achievement_id"].clone();
    variants.push(by_id);

    for variant in &variants {
        let reply = app.post_award(variant).await;
        let body = reply.expect(200);
        assert_eq!(body, first, "a repeat returns the award as it is: {variant}");
        assert_eq!(
            reply.header("location"),
            Some(format!("/api/v1/awards/{}", first["id"].as_str().unwrap()).as_str())
        );
    }
    // One award, its credential unchanged.
    assert_eq!(app.assert_consistent().await, (1, 1));
    assert_eq!(app.stored_credential(first["credential_id"].as_str().unwrap()).await, stored);
}

async fn a_reused_record_id_with_other_content_is_409_and_nothing_changes(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let mut other = microcredential();
    other["name"] = json!("Statistics");
    other["course_codes"] = json!(["MC-STAT-26"]);
    app.post_achievement(&other).await.expect(201);
    let first = app.issue("conflict-1").await;
    let award_id = first["id"].as_str().unwrap();
    let credential_id = first["credential_id"].as_str().unwrap();
    let before = app.stored_credential(credential_id).await;
    let public_before = app.fetch(first["credential_url"].as_str().unwrap(), None).await;
    let audit_before = app.db.audit_entries(AuditFilter::default()).await.unwrap();

    let changes: Vec<(&str, Value)> = vec![
        ("grade", json!({"grade": "9", "completed_on": "2026-06-30"})),
        ("completion date", json!({"grade": "8.5", "completed_on": "2026-06-29"})),
        ("no grade", json!({"completed_on": "2026-06-30"})),
    ];
    let mut requests: Vec<(String, Value)> = changes
        .into_iter()
        .map(|(what, result)| {
            let mut body = award("conflict-1");
            body["result"] = result;
            (what.to_owned(), body)
        })
        .collect();
    let mut renamed = award("conflict-1");
    renamed["learner"]["surname"] = json!("Visser");
    requests.push(("surname".into(), renamed));
    let mut other_learner = award("conflict-1");
    other_learner["learner"]["email"] = json!("kim@student.uni.example.nl");
    requests.push(("email".into(), other_learner));
    let mut other_course = award("conflict-1");
    other_course["course_code"] = json!("MC-STAT-26");
    requests.push(("achievement".into(), other_course));
    let mut evidence = award("conflict-1");
    evidence["evidence_url"] = json!("https://portfolio.example.nl/sam");
    requests.push(("evidence".into(), evidence));

    for (what, body) in &requests {
        let reply = app.post_award(body).await;
        let error = reply.expect_error(409, "conflict");
        assert_eq!(problem_fields(&error), vec!["source_record_id"], "{what}: {error}");
        assert!(error["problems"][0]["message"].as_str().unwrap().contains(award_id), "{what}: {error}");
    }

    // Nothing changed: the award, the stored bytes, what the public URL
    // serves, the audit trail.
    assert_eq!(app.assert_consistent().await, (1, 1));
    assert_eq!(app.get_award(award_id).await.expect(200), first);
    let after = app.stored_credential(credential_id).await;
    assert_eq!(after.document, before.document, "the stored credential changed");
    assert_eq!(after.jwt, before.jwt);
    assert_eq!(app.fetch(first["credential_url"].as_str().unwrap(), None).await.body, public_before.body);
    assert_eq!(app.db.audit_entries(AuditFilter::default()).await.unwrap(), audit_before);
    // And the original still repeats.
    assert_eq!(app.post_award(&award("conflict-1")).await.expect(200), first);
}

async fn an_award_for_an_unknown_course_code_or_achievement_is_422(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let achievement = app.define_microcredential().await;
    let id = achievement["id"].as_str().unwrap();

    let mut unknown_code = award("unknown-1");
    unknown_code["course_code"] = json!("NO-SUCH-COURSE");
    let body = app.post_award(&unknown_code).await.expect_error(422, "validation_failed");
    assert_eq!(problem_fields(&body), vec!["course_code"]);

    let mut unknown_id = award("unknown-2");
    unknown_id.as_object_mut().unwrap().remove("course_code");
    unknown_id["achievement_id"] = json!("6a1f4c9e-1d2b-4c3a-9e8f-0123456789ab");
    let body = app.post_award(&unknown_id).await.expect_error(422, "validation_failed");
    assert_eq!(problem_fields(&body), vec!["achievement_id"]);

    let mut both = award("unknown-3");
    both["achievement_id"] = json!(id);
    let body = app.post_award(&both).await.expect_error(422, "validation_failed");
    assert!(!problem_fields(&body).is_empty());
    assert!(body["message"].as_str().unwrap().contains("not both"), "{body}");

    let mut neither = award("unknown-4");
    neither.as_object_mut().unwrap().remove("course_code");
    let body = app.post_award(&neither).await.expect_error(422, "validation_failed");
    assert_eq!(problem_fields(&body), vec!["achievement_id"]);

    app.assert_no_awards().await;

    // By achievement id alone it works.
    let mut by_id = award("by-id-1");
    by_id.as_object_mut().unwrap().remove("course_code");
    by_id["achievement_id"] = json!(id);
    assert_eq!(app.post_award(&by_id).await.expect(201)["achievement_id"], achievement["id"]);
}

async fn every_problem_with_the_learner_and_the_result_is_listed_at_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let future = (chrono::Utc::now() + chrono::Duration::days(30)).format("%Y-%m-%d").to_string();
    let body = json!({
        "source_record_id": "problems-1",
        "course_code": "MC-DATA-26",
        "learner": {
            "eppn": "no scope here",
            "email": "sam@@example",
            "surname_prefix": "de",
            "student_number": "12 34"
        },
        "result": {"grade": "8.5", "completed_on": future},
        "evidence_url": "http://evidence.example.nl/sam"
    });
    let error = app.post_award(&body).await.expect_error(422, "validation_failed");
    let fields = problem_fields(&error);
    for field in [
        "learner.eppn",
        "learner.email",
        "learner.given_name",
        "learner.surname",
        "learner.student_number",
        "result.completed_on",
        "evidence_url",
    ] {
        assert!(fields.iter().any(|f| f == field), "{field} is not listed: {fields:?}");
    }
    // Each once: a member of the wrong type is not also reported missing.
    let mut unique = fields.clone();
    unique.dedup();
    assert_eq!(unique, fields, "a field is named twice");
    app.assert_no_awards().await;
}

async fn an_award_without_learner_result_or_record_id_lists_each(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let error = app.post_award(&json!({"course_code": "MC-DATA-26"})).await.expect_error(422, "validation_failed");
    let fields = problem_fields(&error);
    for field in ["source_record_id", "learner", "result"] {
        assert!(fields.iter().any(|f| f.starts_with(field)), "{field}: {fields:?}");
    }
    // A learner needs an eppn or an e-mail address.
    let mut anonymous = award("anonymous-1");
    anonymous["learner"] = json!({"given_name": "Sam", "surname": "Vries"});
    let error = app.post_award(&anonymous).await.expect_error(422, "validation_failed");
    assert_eq!(problem_fields(&error), vec!["learner.eppn"]);
    // Either one is enough.
    for (record, learner) in [
        ("eppn-only", json!({"eppn": "s1@uni.example.nl", "given_name": "Sam", "surname": "Vries"})),
        ("email-only", json!({"email": "s1@uni.example.nl", "given_name": "Sam", "surname": "Vries"})),
    ] {
        let mut body = award(record);
        body["learner"] = learner;
        app.post_award(&body).await.expect(201);
    }
    assert_eq!(app.assert_consistent().await, (2, 2));
}

async fn members_of_the_wrong_json_type_and_unknown_members_are_listed(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let body = json!({
        "source_record_id": {"id": 1},
        "course_code": ["MC-DATA-26"],
        "learner": "Sam de Vries",
        "result": {"grade": true, "completed_on": 20260630, "score": 8},
        "evidence_url": 3,
        "sent_by": "osiris"
    });
    let error = app.post_award(&body).await.expect_error(422, "validation_failed");
    let fields = problem_fields(&error);
    for field in [
        "source_record_id",
        "course_code",
        "learner",
        "result.grade",
        "result.completed_on",
        "result.score",
        "evidence_url",
        "sent_by",
    ] {
        assert!(fields.iter().any(|f| f == field), "{field} is not listed: {fields:?}");
    }
    app.assert_no_awards().await;
}

async fn invalid_dates_are_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let tomorrow_and_more = (chrono::Utc::now() + chrono::Duration::days(2)).format("%Y-%m-%d").to_string();
    for (i, date) in ["30-06-2026", "2026-02-30", "2026-06-30T10:00:00Z", "", "yesterday", tomorrow_and_more.as_str()]
        .into_iter()
        .enumerate()
    {
        let mut body = award(&format!("date-{i}"));
        body["result"]["completed_on"] = json!(date);
        let error = app.post_award(&body).await.expect_error(422, "validation_failed");
        assert_eq!(problem_fields(&error), vec!["result.completed_on"], "{date:?}: {error}");
    }
    app.assert_no_awards().await;
    // Today is fine.
    let mut today = award("date-today");
    today["result"]["completed_on"] = json!(chrono::Utc::now().format("%Y-%m-%d").to_string());
    app.post_award(&today).await.expect(201);
}

/// Names from many scripts, as SIS exports send them.
fn unicode_learners() -> Vec<(&'static str, Value, &'static str)> {
    vec![
        (
            "emoji with joiners and modifiers",
            json!({"given_name": "Zoë 👩🏽‍🎓", "surname": "Öztürk 🇳🇱"}),
            "Zoë 👩🏽‍🎓 Öztürk 🇳🇱",
        ),
        (
            "combining characters (not normalised)",
            json!({"given_name": "Zoe\u{0308}", "surname_prefix": "van\u{0301}", "surname": "A\u{030A}ngstro\u{0308}m"}),
            "Zoe\u{0308} van\u{0301} A\u{030A}ngstro\u{0308}m",
        ),
        ("right-to-left", json!({"given_name": "محمد", "surname": "العلي"}), "محمد العلي"),
        (
            "bidirectional marks and zero-width characters",
            json!({"given_name": "Ja\u{200B}n\u{200D}", "surname": "\u{200F}De\u{2060}Vries\u{200E}"}),
            "Ja\u{200B}n\u{200D} \u{200F}De\u{2060}Vries\u{200E}",
        ),
        ("CJK and astral plane", json!({"given_name": "太郎", "surname": "𠮷野"}), "太郎 𠮷野"),
        (
            "apostrophes and hyphens",
            json!({"given_name": "Anne-Marie", "surname_prefix": "d'", "surname": "Ancona"}),
            "Anne-Marie d' Ancona",
        ),
    ]
}

async fn unicode_names_round_trip_exactly_into_the_credential(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    for (i, (what, names, expected)) in unicode_learners().into_iter().enumerate() {
        let mut body = award(&format!("unicode-{i}"));
        let learner = body["learner"].as_object_mut().unwrap();
        learner.remove("surname_prefix");
        for (key, value) in names.as_object().unwrap() {
            learner.insert(key.clone(), value.clone());
        }
        let issued = app.post_award(&body).await.expect(201);
        // The JSON-LD at the public URL, the VC-JWT and the page all carry
        // the name exactly as sent.
        let url = issued["credential_url"].as_str().unwrap();
        let document = app.fetch(url, Some("application/ld+json")).await.expect(200);
        assert_eq!(issued_name(&document), expected, "{what}");
        let jwt = app.fetch(&format!("{url}.jwt"), None).await.text();
        assert_eq!(issued_name(&jwt_payload(&jwt)), expected, "{what} (VC-JWT)");
        let page = app.fetch(url, Some("text/html")).await;
        assert_eq!(page.status, 200);
        assert!(page.text().contains(&escape(expected)), "{what}: the page does not show {expected:?}");
        // And the same record again is recognised as the same.
        assert_eq!(app.post_award(&body).await.expect(200)["id"], issued["id"], "{what}");
    }
}

async fn control_characters_and_broken_unicode_are_refused_without_a_500(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    for (i, name) in ["Sam\u{0000}", "Sa\u{0007}m", "\u{001B}[31mSam", "Sam\u{007F}"].into_iter().enumerate() {
        let mut body = award(&format!("control-{i}"));
        body["learner"]["given_name"] = json!(name);
        let error = app.post_award(&body).await.expect_error(422, "validation_failed");
        assert_eq!(problem_fields(&error), vec!["learner.given_name"], "{name:?}");
    }
    // Only whitespace is no name at all.
    let mut blank = award("blank-1");
    blank["learner"]["surname"] = json!(" \t\u{3000} ");
    let error = app.post_award(&blank).await.expect_error(422, "validation_failed");
    assert_eq!(problem_fields(&error), vec!["learner.surname"]);
    // Over 255 characters (counted as characters, not bytes).
    let mut long = award("long-1");
    long["learner"]["surname"] = json!("é".repeat(256));
    let error = app.post_award(&long).await.expect_error(422, "validation_failed");
    assert_eq!(problem_fields(&error), vec!["learner.surname"]);
    let mut longest = award("long-2");
    longest["learner"]["surname"] = json!("é".repeat(255));
    app.post_award(&longest).await.expect(201);
    // A lone surrogate escape and invalid UTF-8 are not JSON text.
    let template = serde_json::to_string(&award("surrogate-1")).unwrap();
    for bytes in [
        template.replace("\"Sam\"", "\"S\\ud800am\"").into_bytes(),
        // A raw control character inside a JSON string.
        template.replace("\"Sam\"", "\"S\u{0}am\"").into_bytes(),
        b"{\"source_record_id\": \"x\xff\xfe\"}".to_vec(),
    ] {
        let reply = app.send_raw(Method::POST, "/api/v1/awards", &app.writer_token, "application/json", bytes).await;
        reply.expect_error(400, "malformed_json");
    }
    assert_eq!(app.assert_consistent().await, (1, 1));
}

async fn html_in_names_is_stored_as_text_and_escaped_on_the_page(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let mut definition = microcredential();
    definition["name"] = json!("Data <img src=x onerror=alert(1)> & \"Quotes\"");
    definition["description"] = json!("<b>bold</b> & <a href=\"javascript:alert(1)\">link</a>");
    app.post_achievement(&definition).await.expect(201);
    let given = "<script>alert('zegel')</script>";
    let surname = "O'Brien & <b>Sons</b>";
    let mut body = award("html-1");
    body["learner"]["given_name"] = json!(given);
    body["learner"]["surname"] = json!(surname);
    body["learner"].as_object_mut().unwrap().remove("surname_prefix");
    let issued = app.post_award(&body).await.expect(201);

    // Stored and served as text: the JSON holds the characters themselves.
    let url = issued["credential_url"].as_str().unwrap();
    let document = app.fetch(url, None).await.expect(200);
    assert_eq!(issued_name(&document), format!("{given} {surname}"));
    assert_eq!(document["credentialSubject"]["achievement"]["name"], definition["name"]);

    // Escaped on the page.
    let page = app.fetch(url, Some("text/html")).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.media_type(), "text/html");
    let html = page.text();
    for raw in ["<script>alert", "<img src=x", "<b>Sons", "<b>bold", "<a href=\"javascript", "O'Brien"] {
        assert!(!html.contains(raw), "{raw} is on the page unescaped:\n{html}");
    }
    for escaped in [
        "&lt;script&gt;alert(&#39;zegel&#39;)&lt;/script&gt;",
        "O&#39;Brien &amp; &lt;b&gt;Sons&lt;/b&gt;",
        "Data &lt;img src=x onerror=alert(1)&gt; &amp; &quot;Quotes&quot;",
        "&lt;b&gt;bold&lt;/b&gt;",
    ] {
        assert!(html.contains(escaped), "{escaped} is not on the page:\n{html}");
    }
    // The one script is the page's own ("copy link"), allowed by hash.
    assert_eq!(html.matches("<script").count(), 1, "{html}");
}

async fn malformed_json_is_400_and_writes_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let full = serde_json::to_string(&award("malformed-1")).unwrap();
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"{".to_vec(),
        b"{\"source_record_id\": \"x\",}".to_vec(),
        full.as_bytes()[..full.len() - 1].to_vec(),
        format!("{full}{full}").into_bytes(),
        format!("{full} trailing").into_bytes(),
        b"[]".to_vec(),
        format!("[{full}]").into_bytes(),
        b"\"a string\"".to_vec(),
        b"null".to_vec(),
        b"42".to_vec(),
        b"{'single': 'quotes'}".to_vec(),
    ];
    for body in bodies {
        let text = String::from_utf8_lossy(&body).into_owned();
        let reply = app.send_raw(Method::POST, "/api/v1/awards", &app.writer_token, "application/json", body).await;
        assert_eq!(reply.status, 400, "{text:?}: {}", reply.text());
        reply.expect_error(400, "malformed_json");
    }
    let reply =
        app.send_raw(Method::POST, "/api/v1/achievements", &app.admin_token, "application/json", b"{".to_vec()).await;
    reply.expect_error(400, "malformed_json");
    app.assert_no_awards().await;
    assert_eq!(app.list_achievements().await.expect(200)["achievements"].as_array().unwrap().len(), 1);
}

async fn a_body_that_is_not_declared_json_is_415(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let body = serde_json::to_vec(&award("type-1")).unwrap();
    for content_type in
        ["text/plain", "application/x-www-form-urlencoded", "application/xml", "text/json", "multipart/form-data"]
    {
        let reply = app.send_raw(Method::POST, "/api/v1/awards", &app.writer_token, content_type, body.clone()).await;
        assert_eq!(reply.status, 415, "{content_type}: {}", reply.text());
        reply.expect_error(415, "unsupported_media_type");
    }
    // No content type at all.
    let request = app.request(Method::POST, "/api/v1/awards", Some(&app.writer_token)).body(body.clone());
    app.send(request).await.expect_error(415, "unsupported_media_type");
    let request = app.request(Method::POST, "/api/v1/achievements", Some(&app.admin_token)).body("{}");
    app.send(request).await.expect_error(415, "unsupported_media_type");
    app.assert_no_awards().await;
    // Parameters and case do not matter.
    let reply =
        app.send_raw(Method::POST, "/api/v1/awards", &app.writer_token, "Application/JSON; charset=utf-8", body).await;
    reply.expect(201);
}

async fn a_body_over_the_configured_limit_is_413_however_it_is_sent(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    // Padded with spaces: valid JSON of the exact size wanted.
    let padded = |record: &str, size: usize| {
        let mut body = serde_json::to_vec(&award(record)).unwrap();
        assert!(body.len() < size);
        body.splice(1..1, std::iter::repeat_n(b' ', size - body.len()));
        body
    };
    // Declared with Content-Length.
    let reply = app
        .send_raw(
            Method::POST,
            "/api/v1/awards",
            &app.writer_token,
            "application/json",
            padded("big-1", MAX_BODY_BYTES + 1),
        )
        .await;
    let error = reply.expect_error(413, "payload_too_large");
    assert!(error["message"].as_str().unwrap().contains(&MAX_BODY_BYTES.to_string()), "{error}");
    let definition = serde_json::to_vec(&microcredential()).unwrap();
    let mut big_definition = definition.clone();
    big_definition.splice(1..1, std::iter::repeat_n(b' ', MAX_BODY_BYTES));
    app.send_raw(Method::POST, "/api/v1/achievements", &app.admin_token, "application/json", big_definition)
        .await
        .expect_error(413, "payload_too_large");

    // Streamed in chunks, no length declared.
    let body = padded("big-2", MAX_BODY_BYTES * 4);
    let mut request = format!(
        "POST /api/v1/awards HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        app.writer_token
    )
    .into_bytes();
    for chunk in body.chunks(1000) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let (status, response) = raw_http(app.port, request).await;
    assert_eq!(status, 413, "{response}");
    assert!(response.contains("\"error\":\"payload_too_large\""), "{response}");
    app.assert_no_awards().await;

    // Exactly at the limit is accepted.
    let reply = app
        .send_raw(
            Method::POST,
            "/api/v1/awards",
            &app.writer_token,
            "application/json",
            padded("big-3", MAX_BODY_BYTES),
        )
        .await;
    reply.expect(201);
    assert_eq!(app.assert_consistent().await, (1, 1));
}

async fn an_award_is_found_by_id_and_by_source_record_id(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let issued = app.issue("osiris/2026 #7?&=x").await;
    let id = issued["id"].as_str().unwrap();
    assert_eq!(app.get_award(id).await.expect(200), issued);
    assert_eq!(app.find_award("osiris/2026 #7?&=x").await.expect(200), issued);

    app.get_award("6a1f4c9e-1d2b-4c3a-9e8f-0123456789ab").await.expect_error(404, "not_found");
    app.get_award("not-an-id").await.expect_error(404, "not_found");
    app.find_award("osiris/2026 #8").await.expect_error(404, "not_found");
    for path in ["/api/v1/awards", "/api/v1/awards?source_record_id=", "/api/v1/awards?record=1"] {
        let reply = app.send(app.request(Method::GET, path, Some(&app.reader_token))).await;
        let error = reply.expect_error(422, "validation_failed");
        assert_eq!(problem_fields(&error), vec!["source_record_id"], "{path}");
    }
}

async fn unknown_routes_get_a_json_404_and_wrong_methods_a_405_with_allow(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    for path in ["/api/v2/awards", "/nothing/here", "/api/v1/awards/a/b"] {
        let reply = app.send(app.request(Method::GET, path, Some(&app.admin_token))).await;
        reply.expect_error(404, "not_found");
    }
    for (method, path, allow) in [
        (Method::DELETE, "/api/v1/awards", "POST, GET, HEAD"),
        (Method::PATCH, "/api/v1/achievements/x", "GET, HEAD, PUT"),
        (Method::POST, "/credentials/x", "GET, HEAD"),
    ] {
        let reply = app.send(app.request(method.clone(), path, Some(&app.admin_token))).await;
        reply.expect_error(405, "method_not_allowed");
        assert_eq!(reply.header("allow"), Some(allow), "{method} {path}");
    }
    // HEAD is GET without the body.
    let reply = app.send(app.request(Method::HEAD, "/health", None)).await;
    assert_eq!(reply.status, 200);
    assert!(reply.text().is_empty());
}

/// Several kinds of bad input at once, against a fresh app: none is a 500,
/// every answer is a JSON error, nothing is written.
async fn bad_input_never_gets_a_500(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let huge_number = "1".repeat(400);
    let deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("huge number", format!("{{\"source_record_id\": {huge_number}}}").into_bytes()),
        ("deep nesting", deep.into_bytes()),
        ("float record id", b"{\"source_record_id\": 1e400}".to_vec()),
        ("record id too long", serde_json::to_vec(&award(&"x".repeat(129))).unwrap()),
        ("record id not ascii", serde_json::to_vec(&award("osiris-ü")).unwrap()),
        ("nulls", b"{\"source_record_id\": null, \"learner\": null, \"result\": null}".to_vec()),
        ("empty object", b"{}".to_vec()),
        (
            "long email",
            serde_json::to_vec(&{
                let mut a = award("email-long");
                a["learner"]["email"] = json!(format!("{}@example.nl", "a".repeat(300)));
                a
            })
            .unwrap(),
        ),
    ];
    for (what, body) in bodies {
        let reply = app.send_raw(Method::POST, "/api/v1/awards", &app.writer_token, "application/json", body).await;
        assert!([400, 413, 422].contains(&reply.status), "{what}: status {} {}", reply.status, reply.text());
        assert!(reply.json()["error"].is_string(), "{what}");
    }
    app.assert_no_awards().await;
}

/// Definitions of each kind, and one with every optional field, each issue
/// a credential that zegel's verifier accepts (status checked).
async fn every_kind_of_definition_issues_a_credential_that_verifies(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let minimal = |kind: &str, code: &str| {
        json!({"type": kind, "name": format!("A {kind}"), "description": "What it is.", "criteria": "Done.",
               "language": "en", "course_codes": [code]})
    };
    let mut full = microcredential();
    let optional = json!({
        "language": "en-GB",
        "supervision_type": "supervised_online",
        "institution": {"name": "Universiteit van Voorbeeld", "brin": "00ab"},
        "image": "https://badges.uni.example.nl/images/data-literacy.png",
        "education_program_identifiers": [12345, "67890"],
        "tags": ["data", "literacy", "ééé"],
        "validity_days": 365,
        "alignments": [{"target_name": "ESCO: data analysis", "target_url": "https://esco.example.eu/skill/1",
                        "target_code": "S1.2", "target_framework": "ESCO", "target_description": "Analyse data."}],
        "participation_type": ["online", "onsite", "work_experience"],
        "assessment_type": ["written_exam", "oral_exam", "portfolio_assessment"],
        "learning_outcomes": ["One.", "Two.", "Three."],
        "ects": "2.5",
        "eqf_level": "5",
        "nlqf_level": "5",
        "course_codes": ["FULL-1"]
    });
    for (key, value) in optional.as_object().unwrap() {
        full[key] = value.clone();
    }
    let definitions = [minimal("regular", "REG-1"), minimal("extra_curricular", "EXTRA-1"), microcredential(), full];
    for (i, definition) in definitions.iter().enumerate() {
        let created = app.post_achievement(definition).await.expect(201);
        let code = definition["course_codes"][0].as_str().unwrap();
        let mut body = award(&format!("kind-{i}"));
        body["course_code"] = json!(code);
        body["narrative"] = json!("Built a dashboard for the municipality & presented it.");
        body["evidence_url"] = json!("https://portfolio.uni.example.nl/sam/dashboard");
        if i == 0 {
            // A record without a grade.
            body["result"] = json!({"completed_on": "2026-01-31"});
        }
        let issued = app.post_award(&body).await.expect(201);
        assert_eq!(issued["achievement_id"], created["id"]);
        let url = issued["credential_url"].as_str().unwrap();
        for jwt in [false, true] {
            let report = app.verify(url, jwt).await;
            assert_eq!(
                report.verdict,
                zegel::verification::Verdict::Valid,
                "{code} (jwt {jwt}): {}",
                report.to_json_pretty()
            );
        }
        let document = app.fetch(url, None).await.expect(200);
        if definition.get("validity_days").is_some() {
            assert!(document["validUntil"].is_string(), "{code}: validity_days gives validUntil: {document}");
        } else {
            assert!(document.get("validUntil").is_none(), "{code}");
        }
    }
    assert_eq!(app.assert_consistent().await, (4, 4));
}

crate::backend_tests!(
    every_kind_of_definition_issues_a_credential_that_verifies,
    a_new_award_is_201_with_its_ids_public_urls_and_a_pending_push,
    the_same_record_posted_again_is_200_with_the_same_award,
    a_reused_record_id_with_other_content_is_409_and_nothing_changes,
    an_award_for_an_unknown_course_code_or_achievement_is_422,
    every_problem_with_the_learner_and_the_result_is_listed_at_once,
    an_award_without_learner_result_or_record_id_lists_each,
    members_of_the_wrong_json_type_and_unknown_members_are_listed,
    invalid_dates_are_refused,
    unicode_names_round_trip_exactly_into_the_credential,
    control_characters_and_broken_unicode_are_refused_without_a_500,
    html_in_names_is_stored_as_text_and_escaped_on_the_page,
    malformed_json_is_400_and_writes_nothing,
    a_body_that_is_not_declared_json_is_415,
    a_body_over_the_configured_limit_is_413_however_it_is_sent,
    an_award_is_found_by_id_and_by_source_record_id,
    unknown_routes_get_a_json_404_and_wrong_methods_a_405_with_allow,
    bad_input_never_gets_a_500,
);

//! Issue point 6, the credential page: what a browser gets at a credential's
//! URL states a verdict zegel computed by verifying the stored credential
//! (valid, revoked, suspended, replaced) with the reason recorded, in
//! English or Dutch, with the achievement's quality-framework fields, and
//! under a Content-Security-Policy.
#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use crate::common::Backend;
use crate::helpers::{BRIN, Reply, TestApp, award, microcredential, spawn_app, spawn_app_with};
use reqwest::Method;
use serde_json::{Value, json};

const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// The page of `credential_id`, with an `Accept-Language` and a query.
async fn page(app: &TestApp, credential_id: &str, accept_language: Option<&str>, query: &str) -> Reply {
    let mut request =
        app.request(Method::GET, &format!("/credentials/{credential_id}{query}"), None).header("accept", BROWSER);
    if let Some(language) = accept_language {
        request = request.header("accept-language", language);
    }
    let reply = app.send(request).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.media_type(), "text/html");
    reply
}

/// The verdict box's class and headline.
fn verdict(html: &str) -> (String, String) {
    let start = html.find("card verdict ").unwrap_or_else(|| panic!("no verdict: {html}"));
    let class = html[start + 13..].split('"').next().unwrap().to_owned();
    let headline = html[start..].split("</span>").nth(1).unwrap().split("</h2>").next().unwrap().to_owned();
    (class, headline)
}

async fn change(app: &TestApp, credential_id: &str, action: &str, body: &Value) -> Value {
    let path = format!("/api/v1/credentials/{credential_id}/{action}");
    let reply = app.send_json(Method::POST, &path, &app.admin_token, body).await;
    assert!(reply.status == 200 || reply.status == 201, "{action}: {}", reply.text());
    reply.json()
}

async fn a_valid_credential_says_valid_in_english_and_dutch(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let award = app.issue("page-valid").await;
    let id = award["credential_id"].as_str().unwrap();
    let url = award["credential_url"].as_str().unwrap();

    let reply = page(&app, id, None, "").await;
    let html = reply.text();
    assert_eq!(verdict(&html), ("valid".to_owned(), "Valid".to_owned()), "{html}");
    assert!(html.contains(r#"<html lang="en">"#));
    // Every check the verifier made passed or did not apply: none failed or was left open.
    for check in
        ["Signature", "Issuer's key", "Schema (1EdTech Open Badges 3.0)", "Revocation and suspension", "Valid from"]
    {
        let row = html
            .split(&format!(r#"<th scope="row">{check}</th>"#))
            .nth(1)
            .unwrap_or_else(|| panic!("no {check}: {html}"));
        assert!(row.starts_with(r#"<td class="outcome-passed">"#), "{check}: {row}");
    }
    for fact in [
        "Sam de Vries",
        "Data Literacy for Professionals",
        "5 EC",
        "EQF level 6",
        "NLQF level 6",
        "Written exam",
        "Blended",
        "NVAO accreditation",
        "Analyses a data set and reports the findings to a non-expert audience.",
        "Dutch",
        &format!("<code>{BRIN}</code>"),
        "30 June 2026",
    ] {
        assert!(html.contains(fact), "missing {fact}: {html}");
    }
    for (attribute, value) in [
        ("og:url", url.to_owned()),
        ("og:image", format!("{url}.png")),
        ("og:title", "Data Literacy for Professionals".to_owned()),
    ] {
        assert!(html.contains(&format!(r#"<meta property="{attribute}" content="{value}">"#)), "{attribute}: {html}");
    }
    for suffix in ["json", "jwt", "png", "svg"] {
        assert!(html.contains(&format!(r#"href="{url}.{suffix}" download"#)), "{suffix}: {html}");
    }
    let policy = reply.header("content-security-policy").unwrap();
    assert!(policy.starts_with("default-src 'none'"), "{policy}");
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(reply.header("cache-control"), Some("no-cache"));

    // Dutch from Accept-Language (quality values honoured); ?lang wins.
    let html = page(&app, id, Some("en;q=0.4, nl-NL;q=0.9"), "").await.text();
    assert_eq!(verdict(&html), ("valid".to_owned(), "Geldig".to_owned()), "{html}");
    assert!(
        html.contains(r#"<html lang="nl">"#) && html.contains("30 juni 2026") && html.contains("Schriftelijk tentamen")
    );
    let html = page(&app, id, Some("nl"), "?lang=en").await.text();
    assert_eq!(verdict(&html).1, "Valid");
    let html = page(&app, id, None, "?lang=nl").await.text();
    assert_eq!(verdict(&html).1, "Geldig");
    // The switch links to both.
    assert!(html.contains(&format!(r#"href="{url}?lang=en""#)), "{html}");
}

async fn revoked_suspended_and_replaced_credentials_say_so_with_the_reason(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    let ids: Vec<String> = {
        let mut ids = Vec::new();
        for record in ["page-revoked", "page-suspended", "page-replaced"] {
            ids.push(app.issue(record).await["credential_id"].as_str().unwrap().to_owned());
        }
        ids
    };

    change(&app, &ids[0], "revoke", &json!({"reason": "Examination board decision 2026-117"})).await;
    let html = page(&app, &ids[0], None, "").await.text();
    let (class, headline) = verdict(&html);
    assert_eq!(class, "invalid");
    assert!(headline.starts_with("Revoked ("), "{headline}");
    assert!(html.contains("Reason: Examination board decision 2026-117"), "{html}");
    // The status check itself saw the revocation in the published list.
    let row = html.split(r#"<th scope="row">Revocation and suspension</th>"#).nth(1).unwrap();
    assert!(row.starts_with(r#"<td class="outcome-failed">"#), "{row}");
    let html = page(&app, &ids[0], Some("nl"), "").await.text();
    assert!(verdict(&html).1.starts_with("Ingetrokken ("), "{html}");
    assert!(html.contains("Reden: Examination board decision 2026-117"));

    change(&app, &ids[1], "suspend", &json!({"reason": "Under investigation (case 12)"})).await;
    let html = page(&app, &ids[1], None, "").await.text();
    assert!(verdict(&html).1.starts_with("Suspended ("), "{html}");
    assert!(html.contains("Reason: Under investigation (case 12)"), "{html}");
    // Lifted: valid again.
    change(&app, &ids[1], "unsuspend", &json!({"reason": "closed"})).await;
    assert_eq!(verdict(&page(&app, &ids[1], None, "").await.text()).0, "valid");

    let body =
        json!({"reason": "Surname misspelled", "record": {"learner": {"surname": "Visser", "surname_prefix": null}}});
    let new = change(&app, &ids[2], "reissue", &body).await["credential_id"].as_str().unwrap().to_owned();
    let html = page(&app, &ids[2], None, "").await.text();
    let (class, headline) = verdict(&html);
    assert_eq!(class, "invalid");
    assert!(headline.starts_with("Replaced by a newer credential"), "{headline}");
    let new_url = app.url(&format!("/credentials/{new}"));
    assert!(html.contains(&format!(r#"<a href="{new_url}">the newer credential</a>"#)), "{html}");
    let html = page(&app, &new, None, "").await.text();
    assert_eq!(verdict(&html).0, "valid", "{html}");
    assert!(html.contains("Sam Visser"), "{html}");
}

/// A did:web issuer's keys are not in the credential: the page resolves
/// them from zegel's own DID document, without the network.
async fn a_did_web_issuers_credential_verifies_with_its_own_did_document(backend: Backend) {
    let settings = [("ZEGEL_ISSUER", "did:web"), ("ZEGEL_PUBLIC_URL", "http://localhost:8999")];
    let Some(app) = spawn_app_with(backend, &settings).await else { return };
    app.define_microcredential().await;
    let award = app.issue("page-did-web").await;
    let html = page(&app, award["credential_id"].as_str().unwrap(), None, "").await.text();
    assert_eq!(verdict(&html), ("valid".to_owned(), "Valid".to_owned()), "{html}");
    assert!(html.contains("did:web:localhost%3A8999 lists the signing key"), "{html}");
    // POST /verify knows its own keys as well.
    let document = app.get(&format!("/credentials/{}.json", award["credential_id"].as_str().unwrap())).await.body;
    let reply = app
        .send(
            app.request(Method::POST, "/verify", None)
                .header("content-type", "application/json")
                .header("accept", "application/json")
                .body(document),
        )
        .await;
    let report = reply.expect(200);
    assert_eq!(report["verdict"], "valid", "{report:#}");
    let issuer = report["checks"].as_array().unwrap().iter().find(|c| c["check"] == "issuer").unwrap();
    assert_eq!(issuer["outcome"], "passed", "{report:#}");
}

/// Markup in what an SIS or administrator sent ends up in the credential,
/// signed; the page shows it as text, and the credential is still valid.
async fn markup_in_a_credential_is_shown_as_text(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let mut definition = microcredential();
    definition["name"] = json!("</title><script>alert(1)</script>");
    definition["description"] = json!("\"><img src=x onerror=alert(2)>");
    definition["learning_outcomes"] = json!(["<svg onload=alert(3)>"]);
    definition["quality_assurance"]["name"] = json!("<a href=javascript:alert(4)>QA</a>");
    app.post_achievement(&definition).await.expect(201);
    let mut record = award("page-hostile");
    record["learner"]["given_name"] = json!("<script>alert(5)</script>");
    let issued = app.post_award(&record).await.expect(201);
    let html = page(&app, issued["credential_id"].as_str().unwrap(), None, "").await.text();
    assert_eq!(verdict(&html).0, "valid", "{html}");
    assert_eq!(html.matches("<script").count(), 1, "only the page's own script: {html}");
    for injected in ["<img src=x", "<svg", "<a href=javascript", "onerror=alert(2)>"] {
        assert!(!html.contains(injected), "{injected}: {html}");
    }
    assert!(html.contains("&lt;script&gt;alert(5)&lt;/script&gt;"), "{html}");
    assert!(html.contains("&lt;/title&gt;&lt;script&gt;alert(1)"), "{html}");
}

crate::backend_tests!(
    markup_in_a_credential_is_shown_as_text,
    a_valid_credential_says_valid_in_english_and_dutch,
    revoked_suspended_and_replaced_credentials_say_so_with_the_reason,
    a_did_web_issuers_credential_verifies_with_its_own_did_document,
);

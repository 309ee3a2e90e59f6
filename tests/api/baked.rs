//! Issue 6, baked badges: `/credentials/{id}.png` and `.svg` are the badge
//! image with the credential baked in (the JSON-LD credential, exactly as
//! stored; the VC-JWT with `?format=jwt`), a picture zegel draws when the
//! achievement has none it can use, served for revoked credentials too,
//! and `POST /verify` reads them back.
#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use crate::common::Backend;
use crate::helpers::{Reply, TestApp, award, microcredential, spawn_app, spawn_app_with};
use reqwest::Method;
use serde_json::{Value, json};
use zegel::baking::{self, ImageKind};

/// The badge of `id` as `extension`, with a query; asserts 200 and the
/// headers every badge has.
async fn badge(app: &TestApp, id: &str, extension: &str, query: &str) -> Reply {
    let reply = app.get(&format!("/credentials/{id}.{extension}{query}")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let kind = if extension == "png" { ImageKind::Png } else { ImageKind::Svg };
    assert_eq!(reply.media_type(), kind.media_type());
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    assert_eq!(reply.header("cache-control"), Some("public, max-age=3600"));
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    let disposition = reply.header("content-disposition").unwrap();
    assert!(
        disposition.starts_with("inline; filename=\"") && disposition.ends_with(&format!(".{extension}\"")),
        "{disposition}"
    );
    if kind == ImageKind::Svg {
        assert_eq!(
            reply.header("content-security-policy"),
            Some("default-src 'none'; img-src data:; style-src 'unsafe-inline'")
        );
    }
    reply
}

/// The SVG without its credential element: what zegel drew around it.
fn drawn(svg: &str) -> String {
    let start = svg.find("<openbadges:credential>").unwrap();
    let end = svg.find("</openbadges:credential>").unwrap() + "</openbadges:credential>".len();
    format!("{}{}", &svg[..start], &svg[end..])
}

/// The report of `POST /verify` for `body` sent as `content_type`, as JSON.
async fn verify(app: &TestApp, content_type: &str, body: Vec<u8>) -> Value {
    let request = app
        .request(Method::POST, "/verify", None)
        .header("content-type", content_type)
        .header("accept", "application/json")
        .body(body);
    app.send(request).await.expect(200)
}

async fn an_issued_credential_comes_baked_into_png_and_svg_and_verifies(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &[("ZEGEL_VERIFY_RATE_PER_MIN", "1000")]).await else { return };
    app.define_microcredential().await;
    let issued = app.issue("baked-1").await;
    let id = issued["credential_id"].as_str().unwrap();
    let stored = app.stored_credential(id).await;
    let prefix = &id[..8];

    for extension in ["png", "svg"] {
        // JSON-LD by default: the stored bytes, exactly as signed.
        let reply = badge(&app, id, extension, "").await;
        assert_eq!(
            reply.header("content-disposition").unwrap(),
            format!("inline; filename=\"data-literacy-for-professionals-{prefix}.{extension}\"")
        );
        let extracted = baking::extract(&reply.body).unwrap();
        assert_eq!(extracted.credential, stored.document, "{extension}");
        let content_type = if extension == "png" { "image/png" } else { "image/svg+xml" };
        let report = verify(&app, content_type, reply.body.clone()).await;
        assert_eq!((&report["verdict"], &report["format"]), (&json!("valid"), &json!("json-ld")), "{report:#}");
        assert_eq!(report["credential"]["id"], issued["credential_url"], "{report:#}");

        // The VC-JWT when asked for.
        let reply = badge(&app, id, extension, "?format=jwt").await;
        let extracted = baking::extract(&reply.body).unwrap();
        assert_eq!(extracted.credential, stored.jwt, "{extension}");
        let report = verify(&app, "application/octet-stream", reply.body).await;
        assert_eq!((&report["verdict"], &report["format"]), (&json!("valid"), &json!("vc-jwt")), "{report:#}");

        let reply = app.get(&format!("/credentials/{id}.{extension}?format=xml")).await;
        let body = reply.expect_error(422, "validation_failed");
        assert_eq!(crate::helpers::problem_fields(&body), ["format"]);
        // HEAD answers with the headers alone.
        let head = app.send(app.request(Method::HEAD, &format!("/credentials/{id}.{extension}"), None)).await;
        assert_eq!((head.status, head.body.len()), (200, 0));
    }
    // The page offers both and shows the SVG.
    let page = app.get_accept(&format!("/credentials/{id}"), "text/html").await.text();
    let url = issued["credential_url"].as_str().unwrap();
    for link in [format!(r#"href="{url}.png" download"#), format!(r#"href="{url}.svg" download"#)] {
        assert!(page.contains(&link), "{link}: {page}");
    }
    assert!(page.contains(&format!(r#"<img src="{url}.svg""#)), "{page}");
}

async fn an_achievement_without_a_usable_image_gets_a_drawn_badge(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    app.define_microcredential().await;
    // An image zegel would have to fetch is never fetched (this host does not exist).
    let mut linked = microcredential();
    linked["name"] = json!("Statistics with R");
    linked["course_codes"] = json!(["MC-STATS-26"]);
    linked["ects"] = json!(2.5);
    linked["eqf_level"] = json!(7);
    linked["image"] = json!("https://badges.invalid/statistics.png");
    app.post_achievement(&linked).await.expect(201);
    let plain = app.issue("baked-drawn").await["credential_id"].as_str().unwrap().to_owned();
    let mut record = award("baked-linked");
    record["course_code"] = json!("MC-STATS-26");
    let with_link = app.post_award(&record).await.expect(201)["credential_id"].as_str().unwrap().to_owned();

    for (id, name, details) in [
        (&plain, "Data Literacy for Professionals", "5 EC · EQF 6"),
        (&with_link, "Statistics with R", "2.5 EC · EQF 7"),
    ] {
        let svg = drawn(&badge(&app, id, "svg", "").await.text());
        assert!(svg.contains(&format!("<title>{name}</title>")), "{svg}");
        assert!(svg.contains(&format!(">{details}</text>")), "{svg}");
        assert!(!svg.contains("badges.invalid"), "{svg}");
        let png = badge(&app, id, "png", "").await.body;
        // zegel's seal: 256 × 256 RGBA.
        assert_eq!(&png[12..29], b"IHDR\0\0\x01\0\0\0\x01\0\x08\x06\0\0\0");
        assert_eq!(baking::extract(&png).unwrap().credential, app.stored_credential(id).await.document);
    }
}

async fn a_hostile_achievement_name_cannot_inject_into_the_svg(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let mut definition = microcredential();
    let hostile = r#"</title><script>alert(1)</script><foreignObject onload="alert(2)">]]>&amp;"#;
    definition["name"] = json!(hostile);
    app.post_achievement(&definition).await.expect(201);
    let id = app.issue("baked-hostile").await["credential_id"].as_str().unwrap().to_owned();
    let svg = badge(&app, &id, "svg", "").await.text();
    // The credential's JSON is character data in its CDATA section (the
    // `]]>` in it split); everything else is markup zegel wrote.
    for injected in ["<script", "<foreignObject", "onload=\"", "</title><"] {
        assert!(!drawn(&svg).contains(injected), "{injected}: {svg}");
    }
    // One section, split where the name (twice in the credential) has `]]>`.
    assert_eq!(svg.matches("<![CDATA[").count(), 3, "{svg}");
    assert!(svg.contains("<title>&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;"), "{svg}");
    // Still well-formed: the credential reads back, with the name as signed.
    let extracted = baking::extract(svg.as_bytes()).unwrap();
    let credential: Value = serde_json::from_str(&extracted.credential).unwrap();
    assert_eq!(credential["credentialSubject"]["achievement"]["name"], hostile);
    // The file name is plain ASCII whatever the name.
    let reply = badge(&app, &id, "png", "").await;
    assert_eq!(
        reply.header("content-disposition").unwrap(),
        format!("inline; filename=\"title-script-alert-1-script-foreignobject-onload-{}.png\"", &id[..8])
    );
}

async fn unknown_and_malformed_ids_get_404(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    for path in [
        "/credentials/00000000-0000-4000-8000-000000000000.png",
        "/credentials/00000000-0000-4000-8000-000000000000.svg",
        "/credentials/not-a-uuid.svg",
        "/credentials/.png",
    ] {
        let reply = app.get(path).await;
        let body = reply.expect_error(404, "not_found");
        assert_eq!(body["message"], "credential not found", "{path}");
    }
}

async fn a_revoked_credentials_badge_is_served_and_verifies_as_revoked(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &[("ZEGEL_VERIFY_RATE_PER_MIN", "1000")]).await else { return };
    app.define_microcredential().await;
    let id = app.issue("baked-revoked").await["credential_id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/credentials/{id}/revoke");
    app.send_json(Method::POST, &path, &app.admin_token, &json!({"reason": "Fraud at the exam"})).await.expect(200);

    let png = badge(&app, &id, "png", "").await.body;
    let report = verify(&app, "image/png", png).await;
    assert_eq!((&report["verdict"], &report["code"]), (&json!("invalid"), &json!("revoked")), "{report:#}");
    assert!(report["reason"].as_str().unwrap().contains("Fraud at the exam"), "{report:#}");
    // Uploaded as a browser does: a page that says so.
    let svg = badge(&app, &id, "svg", "?format=jwt").await.body;
    let boundary = "zegel-baked";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"badge.svg\"\r\nContent-Type: image/svg+xml\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&svg);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let reply = app
        .send(
            app.request(Method::POST, "/verify?lang=en", None)
                .header("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
                .header("content-type", format!("multipart/form-data; boundary={boundary}"))
                .body(body),
        )
        .await;
    assert_eq!((reply.status, reply.media_type().as_str()), (200, "text/html"), "{}", reply.text());
    let html = reply.text();
    assert!(html.contains("card verdict invalid") && html.contains("Fraud at the exam"), "{html}");
}

async fn an_image_without_a_credential_is_refused_with_the_reason(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("image/png", zegel::badge_image::default_png().to_vec(), "no iTXt chunk \"openbadgecredential\""),
        (
            "image/svg+xml",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>".to_vec(),
            "no <openbadges:credential> element",
        ),
        ("image/png", zegel::badge_image::default_png()[..100].to_vec(), "truncated"),
        ("text/plain", b"<html><body>hi</body></html>".to_vec(), "not an SVG image"),
    ];
    for (content_type, body, reason) in cases {
        let request = app
            .request(Method::POST, "/verify", None)
            .header("content-type", content_type)
            .header("accept", "application/json")
            .body(body);
        let body = app.send(request).await.expect_error(422, "validation_failed");
        assert!(body["message"].as_str().unwrap().contains(reason), "{reason}: {body}");
        assert_eq!(crate::helpers::problem_fields(&body), ["credential"]);
    }
}

crate::backend_tests!(
    an_issued_credential_comes_baked_into_png_and_svg_and_verifies,
    an_achievement_without_a_usable_image_gets_a_drawn_badge,
    a_hostile_achievement_name_cannot_inject_into_the_svg,
    unknown_and_malformed_ids_get_404,
    a_revoked_credentials_badge_is_served_and_verifies_as_revoked,
    an_image_without_a_credential_is_refused_with_the_reason,
);

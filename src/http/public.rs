//! Public, unauthenticated resources: credentials by URL (JSON-LD, VC-JWT or
//! a page), the issuer's DID document, JWKS and profile, achievements,
//! zegel's JSON-LD context and the status lists. Anyone may fetch them from
//! anywhere (CORS `*`).

use super::Endpoint;
use super::error::ApiError;
use crate::app::App;
use crate::badge_image;
use crate::baking::{Embedded, ImageKind};
use crate::credential::contexts;
use crate::issuance;
use crate::storage::StorageError;
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

const LD_JSON: &str = "application/ld+json";
const VC_LD_JSON: &str = "application/vc+ld+json";
const VC_JWT: &str = "application/vc+jwt";

pub(super) fn endpoints() -> Vec<Endpoint> {
    vec![
        (Method::GET, "/credentials/{id}", web::to(credential)),
        (Method::GET, "/.well-known/did.json", web::to(did_document)),
        (Method::GET, "/.well-known/jwks.json", web::to(jwks)),
        (Method::GET, "/issuer", web::to(issuer_profile)),
        (Method::GET, "/achievements/{id}", web::to(achievement)),
        (Method::GET, "/achievements/{id}/versions/{version}", web::to(achievement_version)),
        (Method::GET, contexts::ZEGEL_CONTEXT_PATH, web::to(zegel_context)),
        (Method::GET, "/status/{list}", web::to(status_list)),
    ]
}

/// What a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Representation {
    Json(&'static str),
    Jwt,
    Html,
}

/// What zegel can send, in its own order of preference (used for ties).
const OFFERS: [(&str, Representation); 7] = [
    (VC_LD_JSON, Representation::Json(VC_LD_JSON)),
    (LD_JSON, Representation::Json(LD_JSON)),
    ("application/json", Representation::Json("application/json")),
    (VC_JWT, Representation::Jwt),
    ("application/jwt", Representation::Jwt),
    ("text/html", Representation::Html),
    ("application/xhtml+xml", Representation::Html),
];

/// Picks a representation from a `.json`/`.jwt` suffix, else by proactive
/// negotiation on `Accept` (RFC 9110 §12.5.1): each offer takes the quality of
/// the most specific range that matches it, `q=0` rules it out, the highest
/// quality wins, and ties go to the range named first, then to zegel's order.
/// No header, or nothing acceptable, means JSON-LD: a verifier that asks for
/// something else still gets the credential rather than an error.
fn representation(suffix: Option<&str>, accept: Option<&str>) -> Representation {
    match suffix {
        Some("json") => return Representation::Json(VC_LD_JSON),
        Some("jwt") => return Representation::Jwt,
        _ => {}
    }
    let ranges: Vec<(String, f32)> = accept.unwrap_or_default().split(',').filter_map(media_range).collect();
    let mut best: Option<(f32, usize, Representation)> = None;
    for (offer, representation) in OFFERS {
        let (main, _) = offer.split_once('/').unwrap_or((offer, ""));
        // (specificity, position, quality) of the most specific matching range.
        let matched = ranges
            .iter()
            .enumerate()
            .filter_map(|(position, (range, q))| {
                let specificity = if range == offer {
                    2
                } else if range.strip_suffix("/*") == Some(main) {
                    1
                } else if range == "*/*" {
                    0
                } else {
                    return None;
                };
                Some((specificity, position, *q))
            })
            .max_by_key(|(specificity, position, _)| (*specificity, std::cmp::Reverse(*position)));
        if let Some((_, position, q)) = matched
            && q > 0.0
            && best.is_none_or(|(best_q, best_position, _)| q > best_q || (q == best_q && position < best_position))
        {
            best = Some((q, position, representation));
        }
    }
    best.map_or(Representation::Json(VC_LD_JSON), |(_, _, representation)| representation)
}

/// One `Accept` element as (lower-case media range, quality); `None` for an
/// element that is not a media range or has an invalid quality.
fn media_range(item: &str) -> Option<(String, f32)> {
    let mut parts = item.split(';');
    let range = parts.next()?.trim().to_ascii_lowercase();
    if !range.contains('/') {
        return None;
    }
    let mut q = 1.0;
    for parameter in parts {
        if let Some((name, value)) = parameter.split_once('=')
            && name.trim().eq_ignore_ascii_case("q")
        {
            q = value.trim().parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q))?;
        }
    }
    Some((range, q))
}

async fn credential(app: web::Data<App>, req: HttpRequest, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (id, suffix) = match id.rsplit_once('.') {
        Some((id, suffix @ ("json" | "jwt" | "png" | "svg"))) => (id.to_owned(), Some(suffix)),
        _ => (id.into_inner(), None),
    };
    // Unknown and malformed ids get the same answer.
    if uuid::Uuid::parse_str(&id).is_err() {
        return Err(ApiError::NotFound("credential"));
    }
    match suffix {
        Some("png") => return baked_badge(&app, &req, &id, ImageKind::Png).await,
        Some("svg") => return baked_badge(&app, &req, &id, ImageKind::Svg).await,
        _ => {}
    }
    let stored = app.store.credential(&id).await?.ok_or(ApiError::NotFound("credential"))?;
    let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let mut response = HttpResponse::Ok();
    response
        .insert_header((header::VARY, HeaderValue::from_static("Accept")))
        // The signed bytes never change; revocation is published in the status list.
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")));
    Ok(match representation(suffix, accept) {
        Representation::Json(mime) => response.content_type(mime).body(stored.document),
        Representation::Jwt => response.content_type(VC_JWT).body(stored.jwt),
        Representation::Html => {
            let document: Value = serde_json::from_str(&stored.document).map_err(|e| ApiError::Internal(e.into()))?;
            let url = issuance::credential_url(&app, &id);
            // What happened since issuance, from the database: the page is
            // never more than a request behind a revocation.
            let state = app.store.credential_state(&id).await?.unwrap_or_default();
            let date = |at: chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%d").to_string();
            let status = super::page::PageStatus {
                revoked: state.revoked_at.map(|at| (date(at), state.revocation_reason.clone())),
                suspended: state.suspended_at.map(|at| (date(at), state.suspension_reason.clone())),
                superseded_by: state.superseded_by.as_deref().map(|next| issuance::credential_url(&app, next)),
            };
            let report = app.own_report(&id, stored.document.as_bytes()).await;
            let lang = super::page::Lang::negotiate(
                super::page::lang_query(req.query_string()),
                req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()),
            );
            // The verdict changes with the status: revalidate each time.
            response
                .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
                .insert_header((header::VARY, HeaderValue::from_static("Accept, Accept-Language")))
                .insert_header((header::CONTENT_SECURITY_POLICY, super::page::content_security_policy()));
            response
                .content_type("text/html; charset=utf-8")
                .body(super::page::credential_page(&document, &report, &status, lang, &url))
        }
    })
}

/// What an SVG may do when opened on its own: show itself (inline styles,
/// embedded `data:` images), never run script or load anything.
const IMAGE_POLICY: &str = "default-src 'none'; img-src data:; style-src 'unsafe-inline'";

/// The credential baked into its badge image (`/credentials/{id}.png`,
/// `.svg`): JSON-LD, or with `?format=jwt` the VC-JWT. Served whatever the
/// credential's status (a verifier reads that from the status list), and
/// cached like the credential itself: the signed bytes never change.
async fn baked_badge(app: &App, req: &HttpRequest, id: &str, kind: ImageKind) -> Result<HttpResponse, ApiError> {
    let jwt = match web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
        .ok()
        .and_then(|query| query.get("format").cloned())
        .as_deref()
    {
        None | Some("json") => false,
        Some("jwt") => true,
        Some(_) => {
            let mut problems = crate::domain::microcredential::ValidationErrors::new();
            problems.push("format", "must be json (the JSON-LD credential, the default) or jwt (the VC-JWT)");
            return Err(ApiError::Invalid(problems));
        }
    };
    let stored = app.store.credential(id).await?.ok_or(ApiError::NotFound("credential"))?;
    let document: Value = serde_json::from_str(&stored.document).map_err(|e| ApiError::Internal(e.into()))?;
    let embedded = if jwt { Embedded::Jwt(&stored.jwt) } else { Embedded::Json(&stored.document) };
    let image = badge_image::baked(kind, &document, embedded).map_err(|e| ApiError::Internal(e.into()))?;
    let file_name = badge_image::file_name(&document, id, kind);
    let mut response = HttpResponse::Ok();
    response
        .content_type(kind.media_type())
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")))
        .insert_header((header::CONTENT_DISPOSITION, format!("inline; filename=\"{file_name}\"")));
    if kind == ImageKind::Svg {
        response.insert_header((header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(IMAGE_POLICY)));
    }
    Ok(response.body(image))
}

async fn did_document(app: web::Data<App>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/did+ld+json")
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300")))
        .json(app.issuer.did_document())
}

async fn jwks(app: web::Data<App>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/jwk-set+json")
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300")))
        .json(app.issuer.jwks())
}

/// The issuer's OB 3.0 Profile, as credentials embed it.
async fn issuer_profile(app: web::Data<App>) -> Result<HttpResponse, ApiError> {
    let profile = app.issuer.profile();
    let mut document = serde_json::Map::new();
    document.insert("@context".into(), serde_json::json!([contexts::VC_V2, contexts::OB_V3P0]));
    let embedded = crate::credential::build::issuer_document(profile);
    if let Value::Object(members) = embedded {
        document.extend(members);
    }
    Ok(HttpResponse::Ok()
        .content_type(LD_JSON)
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300")))
        .json(Value::Object(document)))
}

async fn achievement(app: web::Data<App>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    if uuid::Uuid::parse_str(&id).is_err() {
        return Err(ApiError::NotFound("achievement"));
    }
    let document = issuance::published_achievement(&app, &id, None).await?;
    // The newest version: an edit shows within a minute.
    Ok(HttpResponse::Ok()
        .content_type(LD_JSON)
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60")))
        .json(document))
}

async fn achievement_version(app: web::Data<App>, path: web::Path<(String, String)>) -> Result<HttpResponse, ApiError> {
    let (id, version) = path.into_inner();
    let version: i64 = version.parse().map_err(|_| ApiError::NotFound("achievement version"))?;
    if uuid::Uuid::parse_str(&id).is_err() {
        return Err(ApiError::NotFound("achievement"));
    }
    let document = issuance::published_achievement(&app, &id, Some(version)).await?;
    // A version never changes once awards point at it.
    Ok(HttpResponse::Ok()
        .content_type(LD_JSON)
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300")))
        .json(document))
}

async fn zegel_context() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(LD_JSON)
        // Released contexts never change (a new version gets a new path).
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400, immutable")))
        .body(contexts::ZEGEL_CONTEXT)
}

async fn status_list(req: HttpRequest, app: web::Data<App>, list: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let list_id: i64 = list.parse().map_err(|_| ApiError::NotFound("status list"))?;
    let published = app
        .status_list_credential(list_id)
        .await
        // A storage error keeps its meaning (an unreachable database is 503).
        .map_err(|e| e.downcast::<StorageError>().map_or_else(ApiError::Internal, ApiError::from))?
        .ok_or(ApiError::NotFound("status list"))?;
    // Caches may keep the list exactly as long as this instance would serve
    // the same copy, so a change is visible everywhere within the delay.
    let cache_control = format!("public, max-age={}", published.fresh_for.as_secs());
    let changed = std::time::SystemTime::from(published.last_modified);
    // The header has whole seconds (rounded down); "not modified" only when
    // the date asked about is not before the precise change, so a second
    // change within the same second is never hidden. The ETag is exact.
    let last_modified = header::HttpDate::from(changed);
    let etag = format!("\"{}\"", published.last_modified.timestamp_micros());
    let headers = req.headers();
    let unchanged = match headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        Some(tags) => tags.split(',').any(|tag| tag.trim().trim_start_matches("W/") == etag || tag.trim() == "*"),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<header::HttpDate>().ok())
            .is_some_and(|since| std::time::SystemTime::from(since) >= changed),
    };
    let mut response = if unchanged { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    response
        .insert_header((header::CACHE_CONTROL, cache_control))
        .insert_header((header::LAST_MODIFIED, last_modified.to_string()))
        .insert_header((header::ETAG, etag));
    if unchanged {
        return Ok(response.finish());
    }
    Ok(response.content_type(VC_LD_JSON).body(published.document.as_str().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_representation_follows_the_suffix_then_the_accept_header() {
        assert_eq!(representation(Some("jwt"), Some("text/html")), Representation::Jwt);
        assert_eq!(representation(Some("json"), None), Representation::Json(VC_LD_JSON));
        assert_eq!(representation(None, None), Representation::Json(VC_LD_JSON));
        assert_eq!(representation(None, Some("*/*")), Representation::Json(VC_LD_JSON));
        assert_eq!(representation(None, Some("application/ld+json")), Representation::Json(LD_JSON));
        assert_eq!(representation(None, Some("application/vc+jwt")), Representation::Jwt);
        assert_eq!(
            representation(None, Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")),
            Representation::Html
        );
        assert_eq!(representation(None, Some("image/png, application/json")), Representation::Json("application/json"));
        assert_eq!(representation(None, Some("image/png")), Representation::Json(VC_LD_JSON));
    }

    #[test]
    fn quality_values_decide_and_zero_rules_out() {
        let pick = |accept| representation(None, Some(accept));
        assert_eq!(pick("text/html;q=0.1, application/ld+json"), Representation::Json(LD_JSON));
        assert_eq!(pick("application/vc+jwt;q=0, */*"), Representation::Json(VC_LD_JSON));
        assert_eq!(pick("application/vc+ld+json;q=0, application/*"), Representation::Json(LD_JSON));
        assert_eq!(pick("application/ld+json;q=0.5, application/vc+jwt;q=0.9"), Representation::Jwt);
        assert_eq!(pick("*/*;q=0.8, text/html"), Representation::Html);
        assert_eq!(pick("text/*"), Representation::Html);
        // Equal quality: the range named first wins.
        assert_eq!(pick("application/vc+jwt, application/ld+json"), Representation::Jwt);
        assert_eq!(pick("application/ld+json, application/vc+jwt"), Representation::Json(LD_JSON));
        // Malformed qualities drop their element; parameters other than q are ignored.
        assert_eq!(pick("text/html;q=2, application/vc+jwt;charset=utf-8"), Representation::Jwt);
        assert_eq!(pick("text/html;q=0"), Representation::Json(VC_LD_JSON));
    }
}

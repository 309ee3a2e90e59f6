//! Public, unauthenticated resources: credentials by URL (JSON-LD, VC-JWT or
//! a page), the issuer's DID document, JWKS and profile, achievements,
//! zegel's JSON-LD context and the status lists. Anyone may fetch them from
//! anywhere (CORS `*`).

use super::error::ApiError;
use crate::app::App;
use crate::credential::contexts;
use crate::issuance;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

const LD_JSON: &str = "application/ld+json";
const VC_LD_JSON: &str = "application/vc+ld+json";
const VC_JWT: &str = "application/vc+jwt";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/credentials/{id}", web::get().to(credential))
        .route("/.well-known/did.json", web::get().to(did_document))
        .route("/.well-known/jwks.json", web::get().to(jwks))
        .route("/issuer", web::get().to(issuer_profile))
        .route("/achievements/{id}", web::get().to(achievement))
        .route("/achievements/{id}/versions/{version}", web::get().to(achievement_version))
        .route(contexts::ZEGEL_CONTEXT_PATH, web::get().to(zegel_context))
        .route("/status/{list}", web::get().to(status_list));
}

/// What a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Representation {
    Json(&'static str),
    Jwt,
    Html,
}

/// Picks a representation from a `.json`/`.jwt` suffix, else from `Accept`
/// (the first acceptable type in order; `*/*` and no header mean JSON-LD).
fn representation(suffix: Option<&str>, accept: Option<&str>) -> Representation {
    match suffix {
        Some("json") => return Representation::Json(VC_LD_JSON),
        Some("jwt") => return Representation::Jwt,
        _ => {}
    }
    for item in accept.unwrap_or_default().split(',') {
        let mime = item.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        match mime.as_str() {
            VC_LD_JSON => return Representation::Json(VC_LD_JSON),
            LD_JSON => return Representation::Json(LD_JSON),
            "application/json" => return Representation::Json("application/json"),
            VC_JWT | "application/jwt" => return Representation::Jwt,
            "text/html" | "application/xhtml+xml" => return Representation::Html,
            _ => {}
        }
    }
    Representation::Json(VC_LD_JSON)
}

async fn credential(app: web::Data<App>, req: HttpRequest, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (id, suffix) = match id.rsplit_once('.') {
        Some((id, suffix @ ("json" | "jwt"))) => (id.to_owned(), Some(suffix)),
        _ => (id.into_inner(), None),
    };
    // Unknown and malformed ids get the same answer.
    if uuid::Uuid::parse_str(&id).is_err() {
        return Err(ApiError::NotFound("credential"));
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
            response.content_type("text/html; charset=utf-8").body(super::page::credential_page(&document, &url))
        }
    })
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
    Ok(HttpResponse::Ok().content_type(LD_JSON).json(Value::Object(document)))
}

async fn achievement(app: web::Data<App>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    if uuid::Uuid::parse_str(&id).is_err() {
        return Err(ApiError::NotFound("achievement"));
    }
    let document = issuance::published_achievement(&app, &id, None).await?;
    Ok(HttpResponse::Ok().content_type(LD_JSON).json(document))
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

async fn status_list(app: web::Data<App>, list: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let list_id: i64 = list.parse().map_err(|_| ApiError::NotFound("status list"))?;
    let document = app
        .status_list_credential(list_id)
        .await
        .map_err(ApiError::Internal)?
        .ok_or(ApiError::NotFound("status list"))?;
    Ok(HttpResponse::Ok()
        .content_type(VC_LD_JSON)
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60")))
        .body(document.as_str().to_owned()))
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
    }
}

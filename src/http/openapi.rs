//! `GET /openapi.json`: the OpenAPI 3.1 document of the HTTP interface.
//! `openapi.json` beside this file is the source. Its `servers` names the
//! default public URL; the served document names the service's own, which
//! only the running service knows.

use super::Endpoint;
use super::error::ApiError;
use crate::app::App;
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};
use serde_json::{Map, Value, json};
use std::sync::LazyLock;

/// The media type registered for OpenAPI documents in JSON (it ends in
/// `+json`, so generic JSON tools take it as JSON).
const MEDIA_TYPE: &str = "application/vnd.oai.openapi+json;version=3.1";

/// The embedded document, parsed once. A unit test parses it too, so an
/// error here means a broken build, which is answered as a 500, not a panic.
static DOCUMENT: LazyLock<Result<Map<String, Value>, String>> =
    LazyLock::new(|| match serde_json::from_str(include_str!("openapi.json")) {
        Ok(Value::Object(document)) => Ok(document),
        Ok(_) => Err("openapi.json is not a JSON object".to_owned()),
        Err(e) => Err(format!("openapi.json is not valid JSON: {e}")),
    });

pub(super) fn endpoints() -> Vec<Endpoint> {
    vec![(Method::GET, "/openapi.json", web::to(openapi))]
}

async fn openapi(app: web::Data<App>) -> Result<HttpResponse, ApiError> {
    let document = DOCUMENT.as_ref().map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?;
    Ok(HttpResponse::Ok()
        .content_type(MEDIA_TYPE)
        // It changes only with a new release.
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300")))
        .json(with_server(document, &app.settings.public_url)))
}

/// `document` with `servers` naming `public_url` only. (Built per request:
/// one process may serve several public URLs, as the tests do.)
fn with_server(document: &Map<String, Value>, public_url: &str) -> Map<String, Value> {
    let mut served = document.clone();
    // An existing member keeps its place.
    served.insert("servers".to_owned(), json!([{ "url": public_url }]));
    served
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_document_is_openapi_3_1_of_this_version() {
        let document = DOCUMENT.as_ref().unwrap();
        assert!(document["openapi"].as_str().unwrap().starts_with("3.1."));
        assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"), "update info.version in openapi.json");
    }

    #[test]
    fn the_public_url_becomes_the_only_server_in_its_place() {
        let document = DOCUMENT.as_ref().unwrap();
        let served = with_server(document, "https://badges.example.edu");
        assert_eq!(served["servers"], json!([{"url": "https://badges.example.edu"}]));
        let names: Vec<&str> = served.keys().map(String::as_str).take(3).collect();
        assert_eq!(names, ["openapi", "info", "servers"]);
        assert_eq!(served.len(), document.len());
    }
}

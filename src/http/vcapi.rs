//! The W3C VC-API: `POST /credentials/issue` and `POST /credentials/status`
//! for API clients (scopes `credentials:issue`, `credentials:status`),
//! `POST /credentials/verify` and `POST /presentations/verify` for anyone
//! (rate-limited with `POST /verify`'s limiter, per client address). Thin:
//! the use cases are in `vcapi`.
//!
//! Requests are JSON (`application/json`, `application/ld+json`, any
//! `application/…+json`); answers are `application/json`.

use super::Endpoint;
use super::auth::Client;
use super::error::ApiError;
use super::input;
use super::verify::RateLimiter;
use crate::app::App;
use crate::issuance::{SCOPE_CREDENTIALS_ISSUE, SCOPE_CREDENTIALS_STATUS};
use crate::vcapi::{self, status::UpdateError, verify::VerificationResult};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, web};
use std::net::IpAddr;
use std::time::Instant;

pub(super) fn endpoints() -> Vec<Endpoint> {
    vec![
        (Method::POST, "/credentials/issue", web::to(issue)),
        (Method::POST, "/credentials/status", web::to(update_status)),
        (Method::POST, "/credentials/verify", web::to(verify_credential)),
        (Method::OPTIONS, "/credentials/verify", web::to(preflight)),
        (Method::POST, "/presentations/verify", web::to(verify_presentation)),
        (Method::OPTIONS, "/presentations/verify", web::to(preflight)),
    ]
}

/// The VC-API paths that need a token (no CORS headers: browsers on other
/// origins have no business there).
pub(super) fn is_authenticated_path(path: &str) -> bool {
    matches!(path, "/credentials/issue" | "/credentials/status")
}

/// `{"verifiableCredential": <the signed credential as stored>}`, 201.
async fn issue(
    app: web::Data<App>,
    client: Client,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    client.require(SCOPE_CREDENTIALS_ISSUE)?;
    let body = input::json_body(&req, body, app.settings.max_body_bytes).await?;
    serde_json::from_slice::<serde::de::IgnoredAny>(&body).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    let document = vcapi::issue_credential(&app, &client.0, &body).await?;
    Ok(HttpResponse::Created()
        .content_type("application/json")
        .body(format!("{{\"verifiableCredential\":{document}}}")))
}

async fn update_status(
    app: web::Data<App>,
    client: Client,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    client.require(SCOPE_CREDENTIALS_STATUS)?;
    let object = input::json_object(&req, body, app.settings.max_body_bytes).await?;
    let update = vcapi::status::parse(&object).map_err(|e| match e {
        UpdateError::Invalid(problems) => ApiError::Invalid(problems),
        UpdateError::Unrevoke => {
            let mut problems = crate::domain::microcredential::ValidationErrors::new();
            problems.push("status", "a revocation cannot be undone (suspend a credential to withhold it for a time)");
            ApiError::Conflict { message: "revocation is final".into(), problems }
        }
    })?;
    Ok(HttpResponse::Ok().json(vcapi::update_status(&app, &client.0, update).await?))
}

async fn verify_credential(
    app: web::Data<App>,
    limiter: web::Data<RateLimiter>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = verify_body(&app, &limiter, &req, body).await?;
    Ok(answer(vcapi::verify_credential(&app, &body).await))
}

async fn verify_presentation(
    app: web::Data<App>,
    limiter: web::Data<RateLimiter>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = verify_body(&app, &limiter, &req, body).await?;
    Ok(answer(vcapi::verify_presentation(&app, &body).await))
}

/// The body of a verify request, once the client's rate allows it.
async fn verify_body(
    app: &App,
    limiter: &RateLimiter,
    req: &HttpRequest,
    body: web::Payload,
) -> Result<Vec<u8>, ApiError> {
    // Without a peer address (not over TCP) every such client shares one bucket.
    let client = req.peer_addr().map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
    limiter.take(client, Instant::now()).map_err(ApiError::TooManyRequests)?;
    input::json_body(req, body, app.settings.verify.max_bytes).await
}

/// 200 only when verified (the suites read the status, not `verified`).
fn answer(result: VerificationResult) -> HttpResponse {
    let status = StatusCode::from_u16(result.status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .json(result)
}

/// The CORS preflight: a web page on any origin may post JSON (the
/// answer's `Access-Control-Allow-Origin: *` is added for public paths).
async fn preflight() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST")))
        .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("Content-Type, Accept")))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400")))
        .finish()
}

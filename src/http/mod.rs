//! The HTTP service (actix-web): routes, and what every request goes
//! through (request id, log line, metrics, CORS for public resources, JSON
//! errors). Handlers are thin: they translate to and from the use cases in
//! `issuance`.

mod api;
mod audit;
mod auth;
mod credentials;
mod error;
mod imports;
mod input;
mod openapi;
mod ops;
pub mod page;
mod public;
mod vcapi;
mod verify;

pub use error::ApiError;

use crate::app::App;
use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::middleware::from_fn;
use actix_web::{App as ActixApp, HttpServer, Route, guard, web};
use std::net::TcpListener;
use std::time::Instant;
use tracing::Instrument;

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A route: its method, its path pattern (as the router matches it, and as
/// the OpenAPI document names it) and its handler.
type Endpoint = (Method, &'static str, Route);

/// Every route of the service. The router is built from this list alone, so
/// [`routes`] is the router's own table and a route cannot be added without
/// the tests comparing it with the OpenAPI document.
fn endpoints() -> Vec<Endpoint> {
    [
        api::endpoints(),
        credentials::endpoints(),
        audit::endpoints(),
        imports::endpoints(),
        // Before `/credentials/{id}`: the router takes the first pattern that matches.
        vcapi::endpoints(),
        public::endpoints(),
        verify::endpoints(),
        ops::endpoints(),
        openapi::endpoints(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Every route the service answers, as (method, path pattern).
pub fn routes() -> Vec<(Method, &'static str)> {
    endpoints().into_iter().map(|(method, path, _)| (method, path)).collect()
}

/// One resource per path, in the order the table first names it, with every
/// method it answers: GET also answers HEAD, and any other method gets 405
/// with an `Allow` header rather than a misleading 404.
fn register(cfg: &mut web::ServiceConfig) {
    let mut resources: Vec<(&'static str, Vec<(Method, Route)>)> = Vec::new();
    for (method, path, route) in endpoints() {
        match resources.iter_mut().find(|(p, _)| *p == path) {
            Some((_, routes)) => routes.push((method, route)),
            None => resources.push((path, vec![(method, route)])),
        }
    }
    for (path, routes) in resources {
        let mut allowed: Vec<String> = Vec::new();
        let mut resource = web::resource(path);
        for (method, route) in routes {
            resource = if method == Method::GET {
                allowed.extend(["GET".to_owned(), "HEAD".to_owned()]);
                resource.route(route.guard(guard::Any(guard::Get()).or(guard::Head())))
            } else {
                allowed.push(method.as_str().to_owned());
                resource.route(route.method(method))
            };
        }
        let allow = allowed.join(", ");
        cfg.service(resource.default_service(web::to(move || {
            let allow = allow.clone();
            async move { Err::<actix_web::HttpResponse, _>(ApiError::MethodNotAllowed(allow)) }
        })));
    }
}

/// Starts serving `app` on `listener` (already bound, so tests can use port 0).
pub fn serve(app: web::Data<App>, listener: TcpListener) -> std::io::Result<Server> {
    let workers = app.settings.workers;
    // One limiter for all workers of this server.
    let limiter = web::Data::new(verify::RateLimiter::new(app.settings.verify.rate_per_min));
    let server = HttpServer::new(move || {
        ActixApp::new()
            .app_data(app.clone())
            .app_data(limiter.clone())
            .app_data(web::QueryConfig::default().error_handler(|e, _| {
                let mut problems = crate::domain::microcredential::ValidationErrors::new();
                problems.push("query", e.to_string());
                ApiError::Invalid(problems).into()
            }))
            .app_data(web::PathConfig::default().error_handler(|_, _| ApiError::NotFound("resource").into()))
            .configure(register)
            .default_service(web::to(|| async { Err::<actix_web::HttpResponse, _>(ApiError::NotFound("resource")) }))
            .wrap(from_fn(observe))
    })
    .workers(workers)
    .listen(listener)?
    .run();
    Ok(server)
}

/// Request id (the caller's `X-Request-Id` if it is sane, else a new one),
/// a span around the request so every log line carries the id, one log line
/// per request, metrics, and CORS headers on everything outside `/api` (and
/// the VC-API's authenticated endpoints).
async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let request_id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    // A metric label: methods a client makes up are counted together, so
    // they cannot add series without end.
    let method = match req.method().as_str() {
        known @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => known,
        _ => "OTHER",
    }
    .to_owned();
    let public = !req.path().starts_with("/api/") && !vcapi::is_authenticated_path(req.path());
    let app = req.app_data::<web::Data<App>>().cloned();
    let span = tracing::info_span!("request", request_id = %request_id);
    let mut response = next.call(req).instrument(span.clone()).await?;
    let status = response.status().as_u16();
    let route = response.request().match_pattern().unwrap_or_else(|| "(unmatched)".to_owned());
    let elapsed = started.elapsed();
    span.in_scope(|| {
        tracing::info!(
            http.method = %method,
            http.route = %route,
            http.status = status,
            elapsed_ms = elapsed.as_secs_f64() * 1000.0,
            "request"
        )
    });
    if let Some(app) = app {
        app.metrics.record_request(&method, &route, status, elapsed);
    }
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert(REQUEST_ID.clone(), value);
    }
    if public {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(response)
}

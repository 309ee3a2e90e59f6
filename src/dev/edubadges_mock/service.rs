//! One request through the double: routing, faults, Edubadges' request
//! pipeline (trailing-slash redirect, authentication before the method
//! check, body parsing, content negotiation), counting, and the test hooks.

use super::MockConfig;
use super::edubadges::{self, Catalog, Out, World};
use super::faults::{FaultKind, FaultState, Faults, OneShotFault};
use super::http::{Answer, Handler, Reply, Request, Response};
use super::python;
use super::state::{Endpoint, MockState, RequestCounts};
use super::token::{self, Tokens};
use chrono::{SubsecRound, Utc};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

const FORBIDDEN: &str = "Authentication credentials were not provided.";

/// Django's 404 page (DEBUG off).
const NOT_FOUND_HTML: &str = "<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Not Found</title>\n</head>\n<body>\n  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>\n</body>\n</html>\n";
/// Django's 500 page (DEBUG off).
const SERVER_ERROR_HTML: &str = "<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Server Error (500)</title>\n</head>\n<body>\n  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n";
/// A reverse proxy's pages.
const TOO_MANY_HTML: &str = "<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n<center><h1>429 Too Many Requests</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
const UNAVAILABLE_HTML: &str = "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
/// `str()` of the `requests` exception when SURFconext cannot be reached.
const INTROSPECT_ERROR: &str = "HTTPConnectionPool(host='connect.surfconext.nl', port=443): Max retries exceeded with url: /oidc/introspect (Caused by NewConnectionError('<urllib3.connection.HTTPConnection object at 0x7f3c5a2e1d90>: Failed to establish a new connection: [Errno 111] Connection refused'))";

/// The Edubadges views behind a bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Api {
    Create,
    Bundle(String),
    Delete,
    Revoke,
    BadgeClasses,
    DirectAwards,
}

impl Api {
    fn endpoint(&self) -> Endpoint {
        match self {
            Api::Create => Endpoint::CreateDirectAwards,
            Api::Bundle(_) => Endpoint::Bundle,
            Api::Delete => Endpoint::DeleteDirectAwards,
            Api::Revoke => Endpoint::RevokeAssertions,
            Api::BadgeClasses => Endpoint::BadgeClasses,
            Api::DirectAwards => Endpoint::DirectAwards,
        }
    }

    /// The view's `Allow` header (DRF sends it on every answer).
    fn allow(&self) -> &'static str {
        match self {
            Api::Create | Api::Revoke => "POST",
            Api::Delete => "PUT",
            Api::Bundle(_) | Api::BadgeClasses | Api::DirectAwards => "GET, HEAD, OPTIONS",
        }
    }

    fn allows(&self, method: &str) -> bool {
        match self {
            Api::Create | Api::Revoke => method == "POST",
            Api::Delete => method == "PUT",
            _ => method == "GET" || method == "HEAD",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Hook {
    Claim(String),
    Reject(String),
    State,
    Faults,
    ExpireTokens,
    Reset,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Token,
    Health,
    PublicBadge(String),
    Api(Api),
    Hook(Hook),
    /// Edubadges' TrailingSlashMiddleware: 301 to the path without it.
    TrailingSlash(String),
    NotFound,
}

impl Route {
    fn of(path: &str) -> Route {
        if path.len() > 1 && path.ends_with('/') {
            return Route::TrailingSlash(path[..path.len() - 1].to_owned());
        }
        if let Some(hook) = path.strip_prefix("/_mock/") {
            return Route::Hook(match hook.split_once('/') {
                Some(("claim", id)) if !id.is_empty() => Hook::Claim(id.to_owned()),
                Some(("reject", id)) if !id.is_empty() => Hook::Reject(id.to_owned()),
                None if hook == "state" => Hook::State,
                None if hook == "faults" => Hook::Faults,
                None if hook == "expire-tokens" => Hook::ExpireTokens,
                None if hook == "reset" => Hook::Reset,
                _ => Hook::Unknown,
            });
        }
        let single = |prefix: &str| path.strip_prefix(prefix).filter(|id| !id.is_empty() && !id.contains('/'));
        match path {
            "/oidc/token" => Route::Token,
            "/health" => Route::Health,
            "/directaward/create" => Route::Api(Api::Create),
            "/directaward/delete-direct-awards" => Route::Api(Api::Delete),
            "/issuer/revoke-assertions" => Route::Api(Api::Revoke),
            // re_path(r'^badge-classes') and r'^direct-awards': prefixes.
            p if p.starts_with("/queries/badge-classes") => Route::Api(Api::BadgeClasses),
            p if p.starts_with("/queries/direct-awards") => Route::Api(Api::DirectAwards),
            _ => {
                if let Some(id) = single("/directaward/bundle/") {
                    Route::Api(Api::Bundle(id.to_owned()))
                } else if let Some(id) = single("/public/badges/") {
                    Route::PublicBadge(id.to_owned())
                } else {
                    Route::NotFound
                }
            }
        }
    }

    fn endpoint(&self) -> Endpoint {
        match self {
            Route::Token => Endpoint::Token,
            Route::Health => Endpoint::Health,
            Route::PublicBadge(_) => Endpoint::PublicBadge,
            Route::Api(api) => api.endpoint(),
            Route::Hook(_) | Route::TrailingSlash(_) | Route::NotFound => Endpoint::Other,
        }
    }
}

/// The double's mutable state.
#[derive(Debug)]
pub(super) struct Inner {
    pub world: World,
    pub tokens: Tokens,
    pub faults: FaultState,
    pub requests: BTreeMap<Endpoint, RequestCounts>,
    pub faults_injected: BTreeMap<FaultKind, u64>,
}

impl Inner {
    fn new() -> Self {
        Inner {
            world: World::default(),
            tokens: Tokens::default(),
            faults: FaultState::new(Faults::none()),
            requests: BTreeMap::new(),
            faults_injected: BTreeMap::new(),
        }
    }

    pub fn snapshot(&self) -> MockState {
        MockState {
            direct_awards: self.world.direct_awards.clone(),
            bundles: self.world.bundles.clone(),
            assertions: self.world.assertions.clone(),
            tokens: self.tokens.list(),
            requests: self.requests.clone(),
            faults_injected: self.faults_injected.clone(),
            max_in_flight: 0,
        }
    }
}

/// The double: configuration and state behind one lock.
#[derive(Debug)]
pub(super) struct Service {
    pub config: MockConfig,
    pub catalog: Catalog,
    inner: Mutex<Inner>,
    in_flight: Arc<InFlight>,
}

/// Edubadges API requests being answered right now, and the most at once:
/// how a test sees that a client bounds its concurrency.
#[derive(Debug, Default)]
pub(super) struct InFlight {
    now: AtomicUsize,
    peak: AtomicUsize,
}

/// One request counted in [`InFlight`] until its answer is written (or dropped).
#[derive(Debug)]
pub(super) struct InFlightGuard(Arc<InFlight>);

impl InFlight {
    fn enter(self: &Arc<Self>) -> InFlightGuard {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        InFlightGuard(Arc::clone(self))
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Service {
    pub fn new(config: MockConfig, catalog: Catalog) -> Self {
        Service { config, catalog, inner: Mutex::new(Inner::new()), in_flight: Arc::default() }
    }

    /// The state; a panic elsewhere while holding the lock leaves it usable.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn reset(&self) {
        *self.lock() = Inner::new();
        self.in_flight.peak.store(0, Ordering::SeqCst);
    }

    /// A copy of the state, with the peak of concurrent API requests.
    pub fn snapshot(&self) -> MockState {
        let mut state = self.lock().snapshot();
        state.max_in_flight = self.in_flight.peak.load(Ordering::SeqCst);
        state
    }

    fn process(&self, inner: &mut Inner, route: &Route, request: &Request) -> Response {
        match route {
            Route::Token => token::token_endpoint(request, &self.config, &mut inner.tokens),
            Route::Health => {
                let body = json!({"overall_status": "OK", "detailed_status": {"database_status": "OK"}});
                Response::new(200, Some("application/json"), python::json_dumps(&body))
            }
            Route::TrailingSlash(location) => Response::new(301, Some("text/html; charset=utf-8"), Vec::new())
                .with_header("Location", location.clone()),
            Route::NotFound | Route::Hook(_) => Response::new(404, Some("text/html; charset=utf-8"), NOT_FOUND_HTML),
            Route::PublicBadge(id) => {
                if request.method != "GET" && request.method != "HEAD" {
                    return method_not_allowed(request, "GET, HEAD, OPTIONS");
                }
                let expand: Vec<String> =
                    request.query_pairs().into_iter().filter(|(k, _)| k == "expand").map(|(_, v)| v).collect();
                render(request, edubadges::public_badge(&self.catalog, id, &expand), "GET, HEAD, OPTIONS")
            }
            Route::Api(api) => self.api(inner, api, request),
        }
    }

    /// A DRF view: authentication, then the method, then the body.
    fn api(&self, inner: &mut Inner, api: &Api, request: &Request) -> Response {
        let allow = api.allow();
        if !authenticated(request, &inner.tokens) {
            return render(request, Out::Drf(403, Some(json!({"detail": FORBIDDEN}))), allow);
        }
        if !api.allows(&request.method) {
            return method_not_allowed(request, allow);
        }
        // Edubadges (MySQL) keeps microseconds.
        let now = Utc::now().trunc_subsecs(6);
        let out = match api {
            Api::Bundle(id) => edubadges::bundle(&self.catalog, &inner.world, id),
            Api::BadgeClasses => edubadges::badge_classes(&self.catalog, &inner.world),
            Api::DirectAwards => {
                let status = request.query_pairs().into_iter().rev().find(|(k, _)| k == "status").map(|(_, v)| v);
                edubadges::direct_awards(&self.catalog, &inner.world, status.as_deref())
            }
            Api::Create | Api::Delete | Api::Revoke => {
                let data = match parse_body(request) {
                    Ok(data) => data,
                    Err(out) => return render(request, out, allow),
                };
                match api {
                    Api::Create => edubadges::create(&self.catalog, &mut inner.world, &data, now),
                    Api::Delete => edubadges::delete_direct_awards(&mut inner.world, &data, now),
                    _ => edubadges::revoke_assertions(&mut inner.world, &data),
                }
            }
        };
        render(request, out, allow)
    }

    /// The test hooks: no faults, no latency, not counted.
    fn hook(&self, hook: &Hook, request: &Request) -> Response {
        let json_reply = |status: u16, body: Value| Response::new(status, Some("application/json"), body.to_string());
        let wanted = match hook {
            Hook::State => ["GET"].as_slice(),
            Hook::Faults => ["GET", "POST"].as_slice(),
            Hook::Unknown => return json_reply(404, json!({"error": "no such test hook"})),
            _ => ["POST"].as_slice(),
        };
        if !wanted.contains(&request.method.as_str()) {
            return json_reply(405, json!({"error": format!("use {}", wanted.join(" or "))}));
        }
        let mut inner = self.lock();
        match hook {
            Hook::Claim(id) => match edubadges::claim(&mut inner.world, id) {
                Some(assertion) => json_reply(201, json!({"entity_id": assertion})),
                None => json_reply(404, json!({"error": format!("no Unaccepted direct award {id}")})),
            },
            Hook::Reject(id) => {
                if edubadges::reject(&mut inner.world, id) {
                    json_reply(200, json!({"rejected": true}))
                } else {
                    json_reply(404, json!({"error": format!("no Unaccepted direct award {id}")}))
                }
            }
            Hook::State => {
                let mut state = inner.snapshot();
                state.max_in_flight = self.in_flight.peak.load(Ordering::SeqCst);
                json_reply(200, state.to_json())
            }
            Hook::Faults if request.method == "GET" => json_reply(200, faults_json(&inner.faults)),
            Hook::Faults => match set_faults_from_json(&mut inner.faults, &request.body) {
                Ok(()) => json_reply(200, faults_json(&inner.faults)),
                Err(message) => json_reply(400, json!({"error": message})),
            },
            Hook::ExpireTokens => json_reply(200, json!({"expired": inner.tokens.revoke_all()})),
            Hook::Reset => {
                *inner = Inner::new();
                self.in_flight.peak.store(0, Ordering::SeqCst);
                json_reply(200, json!({"reset": true}))
            }
            Hook::Unknown => json_reply(404, json!({"error": "no such test hook"})),
        }
    }
}

impl Handler for Service {
    fn handle(&self, request: Request) -> Answer {
        let route = Route::of(&request.path);
        if let Route::Hook(hook) = &route {
            return Answer { reply: Reply::Send(self.hook(hook, &request)), delay: Duration::ZERO, guard: None };
        }
        let endpoint = route.endpoint();
        let guard = endpoint.is_api().then(|| self.in_flight.enter());
        let mut inner = self.lock();
        let fault = inner.faults.pick(endpoint);
        let retry_after = inner.faults.faults.retry_after_secs;
        let mut delay = self.config.latency;
        let reply = match fault {
            None => Reply::Send(self.process(&mut inner, &route, &request)),
            Some(FaultKind::TooManyRequests) => Reply::Send(
                Response::new(429, Some("text/html"), TOO_MANY_HTML)
                    .with_header("Retry-After", retry_after.to_string()),
            ),
            Some(FaultKind::ServerErrorHtml) => {
                Reply::Send(Response::new(500, Some("text/html; charset=utf-8"), SERVER_ERROR_HTML))
            }
            Some(FaultKind::BadGateway) => Reply::Send(Response::new(502, None, Vec::new())),
            Some(FaultKind::ServiceUnavailable) => Reply::Send(Response::new(503, Some("text/html"), UNAVAILABLE_HTML)),
            Some(FaultKind::GatewayTimeout) => Reply::Send(Response::new(504, None, Vec::new())),
            Some(FaultKind::IntrospectOutage) => Reply::Send(if request.media_type().contains("json") {
                py_error(INTROSPECT_ERROR)
            } else {
                Response::new(500, Some("text/html; charset=utf-8"), SERVER_ERROR_HTML)
            }),
            Some(FaultKind::ExpiredToken) => {
                if let Some(token) = bearer_token(&request) {
                    inner.tokens.revoke(token);
                }
                let allow = match &route {
                    Route::Api(api) => api.allow(),
                    _ => "GET, HEAD, OPTIONS",
                };
                Reply::Send(render(&request, Out::Drf(403, Some(json!({"detail": FORBIDDEN}))), allow))
            }
            Some(FaultKind::Slow) => {
                delay += inner.faults.faults.slow;
                Reply::Send(self.process(&mut inner, &route, &request))
            }
            Some(FaultKind::DropAfterCommit) => {
                let _committed = self.process(&mut inner, &route, &request);
                Reply::Drop
            }
        };
        let counts = inner.requests.entry(endpoint).or_default();
        counts.total += 1;
        match reply.status() {
            Some(status) => *counts.by_status.entry(status).or_insert(0) += 1,
            None => counts.dropped += 1,
        }
        if let Some(kind) = fault {
            *inner.faults_injected.entry(kind).or_insert(0) += 1;
        }
        Answer { reply, delay, guard }
    }
}

/// The token as Edubadges' OIDCAuthentication takes it: whatever follows
/// the first seven characters (`Bearer `) of the Authorization header.
fn bearer_token(request: &Request) -> Option<&str> {
    request.header("authorization").and_then(|h| h.get(7..)).filter(|t| !t.is_empty())
}

/// Whether the OIDC authentication accepts the request. It skips requests
/// marked `X-Requested-With: client` or `mobile`.
fn authenticated(request: &Request, tokens: &Tokens) -> bool {
    let skipped = request
        .header("x-requested-with")
        .is_some_and(|v| v.eq_ignore_ascii_case("client") || v.eq_ignore_ascii_case("mobile"));
    !skipped && bearer_token(request).is_some_and(|t| tokens.is_active(t))
}

/// DRF's request parsing: an empty body is `{}`; JSON is parsed; other
/// media types are refused (Edubadges' SIS endpoints take JSON).
fn parse_body(request: &Request) -> Result<Value, Out> {
    if request.body.is_empty() {
        return Ok(Value::Object(serde_json::Map::new()));
    }
    let media_type = request.media_type();
    if !(media_type == "application/json" || media_type.ends_with("+json")) {
        let shown = request.header("content-type").unwrap_or_default();
        return Err(Out::Drf(415, Some(json!({"detail": format!("Unsupported media type \"{shown}\" in request.")}))));
    }
    serde_json::from_slice(&request.body)
        .map_err(|e| Out::Drf(400, Some(json!({"detail": format!("JSON parse error - {e}")}))))
}

fn method_not_allowed(request: &Request, allow: &str) -> Response {
    let body = json!({"detail": format!("Method \"{}\" not allowed.", request.method)});
    render(request, Out::Drf(405, Some(body)), allow)
}

/// Edubadges' middleware answer to an uncaught exception in a JSON request.
fn py_error(message: &str) -> Response {
    Response::new(400, Some("application/json"), python::json_dumps(&json!({"error": message})))
}

/// DRF's renderers in Edubadges' order: JSON-LD first, so a client that
/// does not ask for `application/json` gets `application/ld+json`.
fn drf_media_type(request: &Request) -> &'static str {
    let accept = request.header("accept").unwrap_or_default();
    let wants =
        |wanted: &str| accept.split(',').any(|part| part.split(';').next().unwrap_or_default().trim() == wanted);
    if !wants("application/ld+json") && wants("application/json") { "application/json" } else { "application/ld+json" }
}

fn render(request: &Request, out: Out, allow: &str) -> Response {
    match out {
        Out::PyError(message) => py_error(&message),
        Out::Drf(status, body) => {
            let response = match body {
                // DRF drops the Content-Type of an empty body.
                None => Response::new(status, None, Vec::new()),
                Some(body) => Response::new(status, Some(drf_media_type(request)), body.to_string()),
            };
            response.with_header("Vary", "Accept").with_header("Allow", allow)
        }
    }
}

fn faults_json(state: &FaultState) -> Value {
    json!({"random": state.faults, "one_shot": state.queue})
}

/// `POST /_mock/faults`: `{"rate": …, "kinds": […], …, "one_shot": [kind | {"kind", "endpoint"}]}`.
/// Any random-fault member replaces the random faults (missing members take
/// their defaults); `one_shot` entries are queued.
fn set_faults_from_json(state: &mut FaultState, body: &[u8]) -> Result<(), String> {
    let mut value: Value = serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let object = value.as_object_mut().ok_or("the body must be a JSON object")?;
    let one_shot = object.remove("one_shot");
    let mut queued = Vec::new();
    for entry in one_shot.as_ref().and_then(Value::as_array).into_iter().flatten() {
        let fault = match entry {
            Value::String(name) => OneShotFault { kind: name.parse().map_err(|e| format!("{e}"))?, endpoint: None },
            other => serde_json::from_value(other.clone()).map_err(|e| format!("one_shot: {e}"))?,
        };
        queued.push(fault);
    }
    if one_shot.as_ref().is_some_and(|v| !v.is_array()) {
        return Err("one_shot must be a list".into());
    }
    if !object.is_empty() {
        let faults: Faults = serde_json::from_value(value).map_err(|e| format!("invalid faults: {e}"))?;
        if !(0.0..=1.0).contains(&faults.rate) {
            return Err("rate must be between 0 and 1".into());
        }
        state.set(faults);
    }
    state.queue.extend(queued);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_follow_edubadges_urls() {
        assert_eq!(Route::of("/directaward/bundle/abc"), Route::Api(Api::Bundle("abc".into())));
        assert_eq!(Route::of("/directaward/bundle/"), Route::TrailingSlash("/directaward/bundle".into()));
        assert_eq!(Route::of("/directaward/bundle"), Route::NotFound);
        assert_eq!(Route::of("/directaward/create/"), Route::TrailingSlash("/directaward/create".into()));
        assert_eq!(Route::of("/queries/direct-awards"), Route::Api(Api::DirectAwards));
        assert_eq!(Route::of("/public/badges/x/image"), Route::NotFound);
        assert_eq!(Route::of("/_mock/claim/x"), Route::Hook(Hook::Claim("x".into())));
        assert_eq!(Route::of("/_mock/claim/"), Route::TrailingSlash("/_mock/claim".into()));
        assert_eq!(Route::of("/_mock/nope"), Route::Hook(Hook::Unknown));
    }
}

//! The OpenAPI document (`GET /openapi.json`, kept as `src/http/openapi.json`)
//! against the service itself, so that it cannot drift from what is served:
//!
//! - it is served, with the app's public URL as its server;
//! - its operations are the router's routes, and the other way round;
//! - every documented operation that names an `x-required-scope` (all of
//!   /api/v1, and the VC-API's issue and status update) is routed (401
//!   without a token) and wants that scope; every other one is public;
//! - every documented public resource answers, in each documented media type;
//! - every answer seen here has a documented status, media type, required
//!   headers and a body that matches the documented schema;
//! - the request examples are accepted, and the request schemas predict
//!   which variations of them the API accepts and which field it names when
//!   it refuses one;
//! - (PostgreSQL) the documented 503s are what the service answers while its
//!   database is unreachable.
#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use crate::common::Backend;
use crate::helpers::{Reply, TestApp, problem_fields, spawn_app, spawn_postgres_app_behind_a_proxy};
use jsonschema::{Draft, Validator};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

/// The document as the repository has it (what the service embeds).
const SOURCE: &str = include_str!("../../src/http/openapi.json");

// ---------------------------------------------------------------------------
// The document
// ---------------------------------------------------------------------------

/// An OpenAPI document, with the schema validators made from it so far.
struct Spec {
    doc: Value,
    validators: Mutex<HashMap<String, Arc<Validator>>>,
}

/// A JSON pointer token (RFC 6901).
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The media type without parameters, in lower case.
fn base_media_type(media_type: &str) -> String {
    media_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

impl Spec {
    fn new(doc: Value) -> Self {
        Self { doc, validators: Mutex::default() }
    }

    fn from_source() -> Self {
        Self::new(serde_json::from_str(SOURCE).unwrap())
    }

    /// The document the app serves.
    async fn served_by(app: &TestApp) -> Self {
        let reply = app.get("/openapi.json").await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        Self::new(reply.json())
    }

    /// Every operation, as (upper-case method, path), in document order.
    fn operations(&self) -> Vec<(String, String)> {
        let mut operations = Vec::new();
        for (path, item) in self.doc["paths"].as_object().unwrap() {
            for method in ["get", "put", "post", "delete", "options", "head", "patch", "trace"] {
                if item.get(method).is_some() {
                    operations.push((method.to_uppercase(), path.clone()));
                }
            }
        }
        operations
    }

    /// The JSON pointer of an operation.
    fn operation_pointer(method: &str, path: &str) -> String {
        format!("/paths/{}/{}", escape(path), method.to_lowercase())
    }

    #[track_caller]
    fn operation(&self, method: &str, path: &str) -> &Value {
        self.doc
            .pointer(&Self::operation_pointer(method, path))
            .unwrap_or_else(|| panic!("{method} {path} is not documented"))
    }

    /// `pointer`, or where the `$ref` there points.
    #[track_caller]
    fn follow(&self, pointer: String) -> String {
        let value = self.doc.pointer(&pointer).unwrap_or_else(|| panic!("nothing at {pointer}"));
        match value.get("$ref").and_then(Value::as_str) {
            Some(target) => self.follow(target.strip_prefix('#').unwrap().to_owned()),
            None => pointer,
        }
    }

    /// The value at `pointer`, references followed.
    #[track_caller]
    fn at(&self, pointer: &str) -> &Value {
        self.doc.pointer(&self.follow(pointer.to_owned())).unwrap()
    }

    /// A validator for the schema at `pointer`: the whole document is its
    /// root, so the document's `#/components/...` references resolve.
    fn validator(&self, pointer: &str) -> Arc<Validator> {
        let mut validators = self.validators.lock().unwrap();
        validators
            .entry(pointer.to_owned())
            .or_insert_with(|| {
                let mut root = self.doc.clone();
                // A URI fragment: path templates' braces are escaped.
                root["$ref"] = json!(format!("#{}", pointer.replace('{', "%7B").replace('}', "%7D")));
                let validator = jsonschema::options()
                    .with_draft(Draft::Draft202012)
                    .should_validate_formats(true)
                    .build(&root)
                    .unwrap_or_else(|e| panic!("the schema at {pointer} does not compile: {e}"));
                Arc::new(validator)
            })
            .clone()
    }

    /// Why `instance` does not match the schema at `pointer` (empty: it does).
    fn violations(&self, pointer: &str, instance: &Value) -> Vec<String> {
        self.validator(pointer).iter_errors(instance).map(|e| format!("{}: {e}", e.instance_path().as_str())).collect()
    }

    /// The JSON pointer of the request body schema of an operation
    /// (references followed).
    fn request_schema(&self, method: &str, path: &str) -> String {
        let body = self.follow(format!("{}/requestBody", Self::operation_pointer(method, path)));
        self.follow(format!("{body}/content/application~1json/schema"))
    }

    /// The request examples of an operation, by name.
    fn request_examples(&self, method: &str, path: &str) -> Vec<(String, Value)> {
        let body = self.follow(format!("{}/requestBody", Self::operation_pointer(method, path)));
        let examples = self.doc.pointer(&format!("{body}/content/application~1json/examples")).unwrap();
        examples
            .as_object()
            .unwrap()
            .keys()
            .map(|name| {
                let example = self.at(&format!("{body}/content/application~1json/examples/{}", escape(name)));
                (name.clone(), example["value"].clone())
            })
            .collect()
    }

    /// The documented statuses of an operation.
    fn statuses(&self, method: &str, path: &str) -> BTreeSet<u16> {
        let responses = self.operation(method, path)["responses"].as_object().unwrap();
        responses.keys().map(|status| status.parse().unwrap()).collect()
    }

    /// Asserts that `reply` is a documented answer of `method path`: its
    /// status is listed, its media type is one listed for that status, the
    /// headers marked required are there and match their schema, and the
    /// body matches the schema of its media type.
    #[track_caller]
    fn check(&self, method: &str, path: &str, reply: &Reply) {
        let what = format!("{method} {path} answered {}", reply.status);
        let status = reply.status.to_string();
        let responses = format!("{}/responses", Self::operation_pointer(method, path));
        assert!(
            self.doc.pointer(&format!("{responses}/{status}")).is_some(),
            "{what}, which is not documented: {}",
            reply.text()
        );
        let response = self.follow(format!("{responses}/{status}"));
        for (name, _) in
            self.doc.pointer(&format!("{response}/headers")).and_then(Value::as_object).into_iter().flatten()
        {
            let header = self.follow(format!("{response}/headers/{}", escape(name)));
            if self.doc.pointer(&header).unwrap()["required"] != true {
                continue;
            }
            let value = reply.header(name).unwrap_or_else(|| panic!("{what} without the header {name}"));
            let problems = self.violations(&format!("{header}/schema"), &json!(value));
            assert!(problems.is_empty(), "{what} with {name}: {value}: {problems:?}");
        }
        // A response documented without content has no body (204).
        let Some(content) = self.doc.pointer(&format!("{response}/content")).and_then(Value::as_object) else {
            assert!(reply.body.is_empty(), "{what} with a body, documented without: {}", reply.text());
            return;
        };
        let media_type = reply.media_type();
        let key = content
            .keys()
            .find(|key| base_media_type(key) == media_type)
            .unwrap_or_else(|| panic!("{what} as {media_type}, which is not documented: {:?}", content.keys()));
        let json_like = media_type == "application/json" || media_type.ends_with("+json");
        let body = if json_like { reply.json() } else { Value::String(reply.text()) };
        let problems = self.violations(&format!("{response}/content/{}/schema", escape(key)), &body);
        assert!(problems.is_empty(), "{what} with a body that does not match its schema: {problems:?}\n{body}");
    }
}

/// An answer of the router itself to a path or method it does not have
/// (the default service), as opposed to a handler's 404 for an unknown id.
fn unmatched(reply: &Reply) -> bool {
    reply.status == 404 && reply.json()["message"] == "resource not found"
}

/// `path` with each `{name}` replaced by its value in `values`.
#[track_caller]
fn fill(path: &str, values: &[(&str, &str)]) -> String {
    let mut filled = path.to_owned();
    for (name, value) in values {
        filled = filled.replace(&format!("{{{name}}}"), value);
    }
    assert!(!filled.contains('{'), "no value for a parameter of {path}");
    filled
}

/// The required query parameters of an operation, with their examples.
fn query_string(spec: &Spec, method: &str, path: &str) -> String {
    let parameters = spec.operation(method, path)["parameters"].as_array().cloned().unwrap_or_default();
    let pairs: Vec<String> = parameters
        .iter()
        .filter(|p| p["in"] == "query" && p["required"] == true)
        .map(|p| format!("{}={}", p["name"].as_str().unwrap(), p["example"].as_str().unwrap()))
        .collect();
    if pairs.is_empty() { String::new() } else { format!("?{}", pairs.join("&")) }
}

/// Whether an operation needs a bearer token (every `/api/v1` operation and
/// the VC-API's issue and status update): it names the scope it wants.
fn authenticated(spec: &Spec, method: &str, path: &str) -> bool {
    spec.operation(method, path).get("x-required-scope").is_some()
}

/// The public operations that verify what is sent (rate-limited, changing nothing).
fn verifies(method: &str, path: &str) -> bool {
    method == "POST" && matches!(path, "/verify" | "/credentials/verify" | "/presentations/verify")
}

/// `body` (a `POST /credentials/issue` request) for the test apps' issuer
/// (the test key's did:key): the documented examples name an example
/// issuer, which no test app is.
fn for_issuer(_app: &TestApp, mut body: Value) -> Value {
    body["credential"]["issuer"] = json!(crate::helpers::TEST_KEY_DID);
    body
}

fn method(name: &str) -> Method {
    Method::from_bytes(name.as_bytes()).unwrap()
}

/// A unique suffix, for course codes and record ids that must not repeat.
fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// What the tests issue through the documented examples: ids to fill in
/// path parameters with.
struct Issued {
    achievement_id: String,
    award_id: String,
    credential_id: String,
    status_list: String,
    import_id: String,
}

impl Issued {
    /// Defines the first achievement example and issues the first award
    /// example (its course code is the achievement's).
    async fn make(app: &TestApp, spec: &Spec) -> Self {
        let (_, definition) = spec.request_examples("POST", "/api/v1/achievements").remove(0);
        let achievement = app.post_achievement(&definition).await.expect(201);
        let (_, record) = spec.request_examples("POST", "/api/v1/awards").remove(0);
        let award = app.post_award(&record).await.expect(201);
        let credential = app.fetch(award["credential_url"].as_str().unwrap(), None).await.expect(200);
        let list = credential["credentialStatus"][0]["statusListCredential"].as_str().unwrap();
        let (_, association) = spec.request_examples("POST", "/api/v1/imports").remove(0);
        let import = app.send_json(Method::POST, "/api/v1/imports", &app.admin_token, &association).await.expect(202);
        Self {
            import_id: import["id"].as_str().unwrap().to_owned(),
            achievement_id: achievement["id"].as_str().unwrap().to_owned(),
            award_id: award["id"].as_str().unwrap().to_owned(),
            credential_id: award["credential_id"].as_str().unwrap().to_owned(),
            status_list: list.rsplit('/').next().unwrap().to_owned(),
        }
    }

    /// `path` with these ids in its parameters.
    fn path(&self, path: &str) -> String {
        let id = if path.starts_with("/credentials/") || path.starts_with("/api/v1/credentials/") {
            &self.credential_id
        } else if path.starts_with("/api/v1/awards/") {
            &self.award_id
        } else if path.starts_with("/api/v1/imports/") {
            &self.import_id
        } else {
            &self.achievement_id
        };
        fill(path, &[("id", id), ("version", "1"), ("list", &self.status_list)])
    }
}

// ---------------------------------------------------------------------------
// The document itself
// ---------------------------------------------------------------------------

/// Every `$ref` resolves, every path parameter is declared, and operation
/// ids are unique: what generators and validators rely on.
#[test]
fn the_document_is_well_formed() {
    let spec = Spec::from_source();
    fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(members) => {
                if let Some(Value::String(target)) = members.get("$ref") {
                    out.push(target);
                }
                members.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut targets = Vec::new();
    refs(&spec.doc, &mut targets);
    for target in targets {
        let pointer = target.strip_prefix('#').unwrap_or_else(|| panic!("{target} is not in the document"));
        assert!(spec.doc.pointer(pointer).is_some(), "{target} does not resolve");
    }
    let mut ids = BTreeSet::new();
    for (method, path) in spec.operations() {
        let operation = spec.operation(&method, &path);
        let id = operation["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");
        assert!(operation["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path}");
        // Path-item parameters and the operation's own.
        let pointer = Spec::operation_pointer(&method, &path);
        let mut declared = BTreeSet::new();
        for list in [format!("/paths/{}/parameters", escape(&path)), format!("{pointer}/parameters")] {
            let count = spec.doc.pointer(&list).and_then(Value::as_array).map_or(0, Vec::len);
            for i in 0..count {
                let parameter = spec.at(&format!("{list}/{i}"));
                if parameter["in"] == "path" {
                    assert_eq!(parameter["required"], true, "{method} {path}: path parameters are required");
                    declared.insert(parameter["name"].as_str().unwrap().to_owned());
                }
            }
        }
        let templated: BTreeSet<String> =
            path.split('{').skip(1).map(|rest| rest.split('}').next().unwrap().to_owned()).collect();
        assert_eq!(templated, declared, "{method} {path}: path parameters");
    }
}

/// The router's routes (`zegel::http::routes()`, the table it is built
/// from) against the documented operations: each route is documented under
/// its own pattern, and each documented operation is served by a route (the
/// `.json`/`.jwt`/`.png`/`.svg` forms of `/credentials/{id}` by that route).
#[test]
fn the_documented_operations_are_the_routers_routes() {
    let spec = Spec::from_source();
    let documented: BTreeSet<(String, String)> = spec.operations().into_iter().collect();
    let routes: BTreeSet<(String, String)> =
        zegel::http::routes().into_iter().map(|(method, path)| (method.as_str().to_owned(), path.to_owned())).collect();
    let undocumented: Vec<_> = routes.difference(&documented).collect();
    assert!(undocumented.is_empty(), "routes missing from src/http/openapi.json: {undocumented:?}");

    // A route pattern serves a documented path when each of its segments is
    // a parameter or the same text.
    let serves = |pattern: &str, path: &str| {
        let (pattern, path): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
        pattern.len() == path.len()
            && pattern.iter().zip(&path).all(|(p, d)| p == d || (p.starts_with('{') && p.ends_with('}')))
    };
    for (method, path) in &documented {
        assert!(
            routes.iter().any(|(m, pattern)| m == method && serves(pattern, path)),
            "{method} {path} is documented but no route serves it"
        );
    }
}

// ---------------------------------------------------------------------------
// Against the service
// ---------------------------------------------------------------------------

async fn the_document_is_served_with_the_apps_url_as_its_server(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let reply = app.get("/openapi.json").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("application/vnd.oai.openapi+json;version=3.1"));
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    let served = reply.json();
    assert!(served["openapi"].as_str().unwrap().starts_with("3.1"), "{}", served["openapi"]);
    assert_eq!(served["servers"], json!([{"url": app.address}]));
    // Otherwise it is the repository's file.
    let mut source: Value = serde_json::from_str(SOURCE).unwrap();
    source["servers"] = served["servers"].clone();
    assert_eq!(served, source);
    Spec::new(served).check("GET", "/openapi.json", &reply);
}

/// Each documented /api/v1 operation exists (401 without a token, where a
/// missing route would be 404), says it needs a bearer token and a scope,
/// and that scope is the one it wants: a token with only another scope gets
/// 403 (`admin` holds every scope).
async fn every_documented_api_operation_wants_a_token_with_its_scope(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let spec = Spec::served_by(&app).await;
    let mut tokens = Vec::new();
    for scope in zegel::issuance::SCOPES {
        let client =
            zegel::issuance::create_client(&app.db.store, &format!("only {scope}"), &[(*scope).to_owned()], "test")
                .await
                .unwrap();
        tokens.push((*scope, client.token));
    }
    let unknown = format!("zgl_{}", "A".repeat(43));
    let api: Vec<_> = spec.operations().into_iter().filter(|(m, path)| authenticated(&spec, m, path)).collect();
    assert!(api.len() >= 7, "{api:?}");
    assert!(api.iter().all(|(_, path)| path.starts_with("/api/") || path.starts_with("/credentials/")), "{api:?}");
    for (name, path) in api {
        let operation = spec.operation(&name, &path);
        assert_eq!(operation["security"], json!([{"bearerAuth": []}]), "{name} {path}");
        let scope = operation["x-required-scope"].as_str().unwrap_or_else(|| panic!("{name} {path}: no scope"));
        assert!(zegel::issuance::SCOPES.contains(&scope), "{name} {path}: {scope}");
        assert!(operation["description"].as_str().unwrap().contains(&format!("`{scope}`")), "{name} {path}");
        let target = format!(
            "{}{}",
            fill(&path, &[("id", &uuid::Uuid::new_v4().to_string()), ("version", "1")]),
            query_string(&spec, &name, &path)
        );
        let body = operation.get("requestBody").map(|_| spec.request_examples(&name, &path).remove(0).1);
        let send = |token: Option<&str>| {
            let mut request = app.request(method(&name), &target, token);
            if let Some(body) = &body {
                request = request.json(body);
            }
            app.send(request)
        };

        for token in [None, Some(unknown.as_str())] {
            let reply = send(token).await;
            assert_eq!(reply.status, 401, "{name} {target} with {token:?}: {}", reply.text());
            spec.check(&name, &path, &reply);
        }
        for (held, token) in &tokens {
            let reply = send(Some(token)).await;
            let allowed = *held == scope || *held == "admin";
            if allowed {
                assert!(![401, 403].contains(&reply.status), "{name} {target} with {held}: {}", reply.text());
            } else {
                assert_eq!(reply.status, 403, "{name} {target} with {held}: {}", reply.text());
            }
            spec.check(&name, &path, &reply);
        }
    }
}

/// Each documented public resource is routed and answers 200 for real ids,
/// in every media type documented for it when that type is asked for, and
/// (where it documents one) a handler's 404, not the router's, for ids that
/// do not exist.
async fn every_documented_public_resource_answers_as_documented(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let spec = Spec::served_by(&app).await;
    // How the router answers what it does not have: the check below tells
    // documented paths apart from that.
    for reply in [app.get("/no/such/resource").await, app.get("/credentials").await] {
        assert!(unmatched(&reply), "{} {}", reply.status, reply.text());
    }
    for reply in [
        app.send(app.request(Method::DELETE, "/health", None)).await,
        app.send(app.request(Method::POST, "/issuer", None)).await,
    ] {
        reply.expect_error(405, "method_not_allowed");
        assert_eq!(reply.header("allow"), Some("GET, HEAD"));
    }
    let issued = Issued::make(&app, &spec).await;
    let public: Vec<_> = spec.operations().into_iter().filter(|(m, path)| !authenticated(&spec, m, path)).collect();
    assert!(public.len() >= 14, "{public:?}");
    for (name, path) in public {
        assert!(!path.starts_with("/api/"), "{name} {path} names no scope");
        assert_eq!(spec.operation(&name, &path)["security"], json!([]), "{path} needs no token");
        // Public resources are read-only, but for verifying what is sent
        // (which changes nothing; its statuses are provoked below) and the
        // CORS preflights of those.
        if verifies(&name, &path) || name == "OPTIONS" {
            continue;
        }
        assert_eq!(name, "GET", "{path}: public resources are read-only");
        let target = issued.path(&path);
        let reply = app.get(&target).await;
        assert_eq!(reply.status, 200, "GET {target}: {}", reply.text());
        spec.check(&name, &path, &reply);

        let ok = spec.follow(format!("{}/responses/200", Spec::operation_pointer(&name, &path)));
        let media_types: Vec<String> =
            spec.doc.pointer(&format!("{ok}/content")).unwrap().as_object().unwrap().keys().cloned().collect();
        for media_type in media_types {
            let reply = app.get_accept(&target, &media_type).await;
            assert_eq!(reply.status, 200, "GET {target} for {media_type}: {}", reply.text());
            assert_eq!(reply.media_type(), base_media_type(&media_type), "GET {target} for {media_type}");
            spec.check(&name, &path, &reply);
        }

        if spec.statuses(&name, &path).contains(&404) {
            let unknown =
                fill(&path, &[("id", "00000000-0000-4000-8000-000000000000"), ("version", "9"), ("list", "999999")]);
            let reply = app.get(&unknown).await;
            assert_eq!(reply.status, 404, "GET {unknown}: {}", reply.text());
            assert!(!unmatched(&reply), "GET {unknown} is not routed");
            spec.check(&name, &path, &reply);
        }
    }
}

/// The documented request examples match their schema and are accepted.
async fn the_request_examples_are_valid_and_accepted(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let spec = Spec::served_by(&app).await;
    let mut achievement_id = None;
    let mut credential_id = None;
    let mut tried = 0;
    // Document order: definitions are created before they are changed or
    // awarded.
    for (name, path) in spec.operations() {
        if spec.operation(&name, &path).get("requestBody").is_none() {
            continue;
        }
        let schema = spec.request_schema(&name, &path);
        for (example, body) in spec.request_examples(&name, &path) {
            let problems = spec.violations(&schema, &body);
            assert!(problems.is_empty(), "{name} {path} example {example}: {problems:?}");
            let id = if path.starts_with("/api/v1/credentials/") { &credential_id } else { &achievement_id };
            let target = fill(&path, &[("id", id.as_deref().unwrap_or("none yet")), ("version", "1")]);
            let body = if path == "/credentials/issue" { for_issuer(&app, body) } else { body };
            let reply = app.send_json(method(&name), &target, &app.admin_token, &body).await;
            // What the operation documents for success: 201 when it creates.
            let statuses = spec.statuses(&name, &path);
            let expected = [201, 202].into_iter().find(|s| statuses.contains(s)).unwrap_or(200);
            assert_eq!(reply.status, expected, "{name} {target} example {example}: {}", reply.text());
            spec.check(&name, &path, &reply);
            if path == "/api/v1/achievements" && achievement_id.is_none() {
                achievement_id = reply.json()["id"].as_str().map(str::to_owned);
            }
            // Reissues make a new current credential: the next example takes that.
            if path == "/api/v1/awards" && credential_id.is_none() || path.ends_with("/reissue") {
                credential_id = reply.json()["credential_id"].as_str().map(str::to_owned);
            }
            tried += 1;
        }
    }
    assert!(tried >= 5, "{tried} examples");
}

/// Every status each operation documents (but 500, a bug, and 503, see
/// the PostgreSQL test) is provoked, and answered as documented: the
/// status lists hold what the service really answers, and no more.
async fn every_documented_status_is_answered_as_documented(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let spec = Spec::served_by(&app).await;
    let issued = Issued::make(&app, &spec).await;
    let achievements = spec.request_examples("POST", "/api/v1/achievements");
    let awards = spec.request_examples("POST", "/api/v1/awards");
    let (definition, record) = (&achievements[0].1, &awards[0].1);
    // A second definition, whose course codes a change of the first may not take.
    let other = app.post_achievement(&achievements[1].1).await.expect(201);
    let write_only = zegel::issuance::create_client(&app.db.store, "write only", &["awards:write".into()], "test")
        .await
        .unwrap()
        .token;
    let unknown = "00000000-0000-4000-8000-000000000000";
    let too_large = vec![b' '; crate::helpers::MAX_BODY_BYTES + 1];
    // Credentials of their own for the operations that change one (so that
    // each starts from an active credential), and a revoked one.
    let mut spare = Vec::new();
    for _ in 0..5 {
        let mut fresh = record.clone();
        fresh["source_record_id"] = json!(format!("r-{}", unique()));
        spare.push(app.post_award(&fresh).await.expect(201)["credential_id"].as_str().unwrap().to_owned());
    }
    let reason = json!({"reason": "a test"});
    let revoked = spare.pop().unwrap();
    app.send_json(Method::POST, &format!("/api/v1/credentials/{revoked}/revoke"), &app.admin_token, &reason)
        .await
        .expect(200);

    let mut rate_limited = Vec::new();
    for (name, path) in spec.operations() {
        let target = issued.path(&path);
        let request = |token: Option<&str>| app.request(method(&name), &target, token);
        let with = |body: &Value| request(Some(&app.admin_token)).json(body);
        let raw = |content_type: &str, body: Vec<u8>| {
            request(Some(&app.admin_token)).header("content-type", content_type).body(body)
        };
        let fresh_definition = || {
            let mut body = definition.clone();
            body["course_codes"] = json!([format!("C-{}", unique())]);
            body
        };
        let mut probes: Vec<(u16, reqwest::RequestBuilder)> = match (name.as_str(), path.as_str()) {
            ("GET", "/api/v1/achievements") => vec![(200, request(Some(&app.reader_token)))],
            ("POST", "/api/v1/achievements") => {
                vec![(201, with(&fresh_definition())), (409, with(definition)), (422, with(&json!({})))]
            }
            ("GET", "/api/v1/achievements/{id}") => vec![
                (200, request(Some(&app.reader_token))),
                (404, app.request(Method::GET, &fill(&path, &[("id", unknown)]), Some(&app.reader_token))),
            ],
            ("PUT", "/api/v1/achievements/{id}") => {
                let mut taken = definition.clone();
                taken["course_codes"] = other["course_codes"].clone();
                vec![
                    (200, with(&spec.request_examples(&name, &path)[0].1)),
                    (
                        404,
                        app.request(Method::PUT, &fill(&path, &[("id", unknown)]), Some(&app.admin_token))
                            .json(definition),
                    ),
                    (409, with(&taken)),
                    (422, with(&json!({"type": "micro_credential"}))),
                ]
            }
            ("POST", "/api/v1/awards") => {
                let mut fresh = record.clone();
                fresh["source_record_id"] = json!(format!("r-{}", unique()));
                let mut changed = record.clone();
                changed["result"]["grade"] = json!("4");
                vec![(201, with(&fresh)), (200, with(record)), (409, with(&changed)), (422, with(&json!({})))]
            }
            ("POST", "/api/v1/awards/batch") => {
                let mut fresh = record.clone();
                fresh["source_record_id"] = json!(format!("r-{}", unique()));
                vec![(200, with(&json!({"awards": [fresh, record]}))), (422, with(&json!({"awards": []})))]
            }
            ("GET", "/api/v1/awards") => {
                let query = query_string(&spec, &name, &path);
                vec![
                    (200, app.request(Method::GET, &format!("{path}{query}"), Some(&app.reader_token))),
                    (
                        404,
                        app.request(Method::GET, &format!("{path}?source_record_id=unknown"), Some(&app.reader_token)),
                    ),
                    (422, request(Some(&app.reader_token))),
                ]
            }
            ("GET", "/api/v1/awards/{id}") => vec![
                (200, request(Some(&app.reader_token))),
                (404, app.request(Method::GET, &fill(&path, &[("id", unknown)]), Some(&app.reader_token))),
            ],
            ("POST", "/api/v1/awards/{id}/push") => {
                // The issued award's push is taken by a worker (running: 200,
                // nothing changes); a newer award's waits (202, due now).
                let now = chrono::Utc::now();
                app.db.store.claim_jobs(now, now + chrono::Duration::hours(1), 10_000).await.unwrap();
                let mut fresh = record.clone();
                fresh["source_record_id"] = json!(format!("r-{}", unique()));
                let waiting = app.post_award(&fresh).await.expect(201)["id"].as_str().unwrap().to_owned();
                vec![
                    (200, request(Some(&app.admin_token))),
                    (202, app.request(Method::POST, &fill(&path, &[("id", &waiting)]), Some(&app.admin_token))),
                    (404, app.request(Method::POST, &fill(&path, &[("id", unknown)]), Some(&app.admin_token))),
                ]
            }
            ("GET", "/api/v1/push") => vec![
                (200, app.request(Method::GET, &format!("{path}?state=pending&limit=2"), Some(&app.reader_token))),
                (422, app.request(Method::GET, &format!("{path}?state=lost"), Some(&app.reader_token))),
            ],
            ("GET", "/api/v1/credentials/{id}") => vec![
                (200, request(Some(&app.reader_token))),
                (404, app.request(Method::GET, &fill(&path, &[("id", unknown)]), Some(&app.reader_token))),
            ],
            ("POST", "/api/v1/credentials/{id}/revoke" | "/api/v1/credentials/{id}/reissue")
            | ("POST", "/api/v1/credentials/{id}/suspend" | "/api/v1/credentials/{id}/unsuspend") => {
                let own = fill(&path, &[("id", &spare.pop().unwrap())]);
                let post =
                    |target: &str, body: &Value| app.request(Method::POST, target, Some(&app.admin_token)).json(body);
                let mut probes = match path.rsplit('/').next().unwrap() {
                    // Done, then repeated: nothing changes.
                    "reissue" => vec![(201, post(&own, &reason)), (200, post(&own, &reason))],
                    // Not suspended: nothing to lift.
                    _ => vec![(200, post(&own, &reason)), (200, post(&own, &reason))],
                };
                if path.ends_with("/suspend") || path.ends_with("/unsuspend") {
                    // Revocation is final.
                    probes.push((409, post(&fill(&path, &[("id", &revoked)]), &reason)));
                }
                probes.push((404, post(&fill(&path, &[("id", unknown)]), &reason)));
                probes.push((422, post(&own, &json!({"reason": " "}))));
                probes
            }
            ("POST", p) if p.starts_with("/api/v1/achievements/{id}/versions/{version}/") => vec![
                (200, with(&reason)),
                (
                    404,
                    app.request(
                        Method::POST,
                        &fill(&path, &[("id", unknown), ("version", "1")]),
                        Some(&app.admin_token),
                    )
                    .json(&reason),
                ),
                (422, with(&json!({}))),
            ],
            ("POST", "/api/v1/imports") => {
                let csv = "record_id,given_name,surname,email,course_code,completed_on\nr-1,Sam,Vries,s@example.nl,MC-DATA-26,30-06-2026\n";
                vec![
                    (202, raw("text/csv", csv.as_bytes().to_vec())),
                    (202, with(&spec.request_examples(&name, &path)[0].1)),
                    (413, raw("text/csv", vec![b'a'; crate::helpers::MAX_IMPORT_BYTES + 1])),
                    (422, raw("text/csv", b"record_id,colour\nr-1,blue\n".to_vec())),
                    (422, raw("application/json", b"{\"name\": ".to_vec())),
                ]
            }
            ("GET", "/api/v1/imports") => vec![
                (200, request(Some(&app.reader_token))),
                (422, app.request(Method::GET, &format!("{path}?limit=0"), Some(&app.reader_token))),
            ],
            ("GET", "/api/v1/imports/{id}") => vec![
                (200, request(Some(&app.reader_token))),
                (404, app.request(Method::GET, &fill(&path, &[("id", unknown)]), Some(&app.reader_token))),
                (422, app.request(Method::GET, &format!("{target}?result=lost"), Some(&app.reader_token))),
            ],
            ("GET", "/api/v1/imports/{id}/results.csv") => vec![
                (200, request(Some(&app.reader_token))),
                (404, app.request(Method::GET, &fill(&path, &[("id", unknown)]), Some(&app.reader_token))),
            ],
            ("GET", "/api/v1/audit") => vec![
                (
                    200,
                    app.request(
                        Method::GET,
                        &format!("{path}?action=credential_issued&limit=2"),
                        Some(&app.admin_token),
                    ),
                ),
                (422, app.request(Method::GET, &format!("{path}?since=yesterday&limit=0"), Some(&app.admin_token))),
            ],
            ("POST", "/verify") => {
                let verify = |content_type: &str, body: Vec<u8>| {
                    app.request(Method::POST, &path, None).header("content-type", content_type).body(body)
                };
                let example = serde_json::to_vec(&spec.request_examples(&name, &path)[0].1).unwrap();
                vec![
                    (200, verify("application/json", example)),
                    (413, verify("application/json", vec![b' '; 2 * 1024 * 1024 + 1])),
                    (415, verify("application/xml", b"<credential/>".to_vec())),
                    (422, verify("text/plain", b"not a credential".to_vec())),
                ]
            }
            ("GET", "/credentials/{id}.png" | "/credentials/{id}.svg") => vec![
                (200, request(None)),
                (200, app.request(Method::GET, &format!("{target}?format=jwt"), None)),
                (404, app.request(Method::GET, &fill(&path, &[("id", unknown)]), None)),
                (422, app.request(Method::GET, &format!("{target}?format=xml"), None)),
            ],
            ("OPTIONS", "/verify" | "/credentials/verify" | "/presentations/verify") => vec![(204, request(None))],
            ("POST", "/credentials/issue") => {
                let example = for_issuer(&app, spec.request_examples(&name, &path)[0].1.clone());
                vec![(201, with(&example)), (422, with(&json!({"credential": {"type": "VerifiableCredential"}})))]
            }
            ("POST", "/credentials/status") => {
                let issue = for_issuer(&app, spec.request_examples(&name, "/credentials/issue")[0].1.clone());
                let mut own = issue.clone();
                own["options"]["credentialId"] = json!(format!("urn:uuid:{}", uuid::Uuid::new_v4()));
                app.send_json(Method::POST, "/credentials/issue", &app.admin_token, &own).await.expect(201);
                let entry = json!({"type": "BitstringStatusListEntry", "statusPurpose": "revocation"});
                let id = own["options"]["credentialId"].clone();
                vec![
                    (200, with(&json!({"credentialId": id, "credentialStatus": entry}))),
                    (404, with(&json!({"credentialId": "urn:uuid:unknown", "credentialStatus": entry}))),
                    (409, with(&json!({"credentialId": id, "credentialStatus": entry, "status": false}))),
                    (422, with(&json!({"credentialStatus": entry}))),
                ]
            }
            ("POST", "/credentials/verify" | "/presentations/verify") => {
                let post = |content_type: &str, body: Vec<u8>| {
                    app.request(Method::POST, &path, None).header("content-type", content_type).body(body)
                };
                let example = spec.request_examples(&name, &path)[0].1.clone();
                let tampered = serde_json::to_string(&example).unwrap().replace("Examples", "Exampels").into_bytes();
                vec![
                    (200, post("application/json", serde_json::to_vec(&example).unwrap())),
                    (400, post("application/ld+json", b"{}".to_vec())),
                    (413, post("application/json", vec![b' '; 2 * 1024 * 1024 + 1])),
                    (415, post("application/xml", b"<credential/>".to_vec())),
                    (422, post("application/json", tampered)),
                ]
            }
            (_, path) if authenticated(&spec, &name, path) => {
                panic!("{name} {path}: say here how to provoke its statuses")
            }
            // Public resources: what exists, and what does not.
            _ => {
                let mut probes = vec![(200, request(None))];
                if spec.statuses(&name, &path).contains(&404) {
                    let missing = fill(&path, &[("id", unknown), ("version", "9"), ("list", "999999")]);
                    probes.push((404, app.request(Method::GET, &missing, None)));
                }
                probes
            }
        };
        if authenticated(&spec, &name, &path) {
            // What every API operation refuses alike.
            let scope = spec.operation(&name, &path)["x-required-scope"].as_str().unwrap();
            let lacking = if scope == "awards:read" { write_only.as_str() } else { app.reader_token.as_str() };
            probes.push((401, request(None)));
            probes.push((403, request(Some(lacking))));
            if name == "POST" && path == "/api/v1/imports" {
                // A file of any kind: no JSON syntax to get wrong.
                probes.push((415, raw("application/xml", b"<file/>".to_vec())));
            } else if spec.operation(&name, &path).get("requestBody").is_some() {
                probes.push((400, raw("application/json", b"{\"name\": ".to_vec())));
                let too_large = match path.as_str() {
                    "/api/v1/awards/batch" => vec![b' '; crate::helpers::MAX_BATCH_BYTES + 1],
                    _ => too_large.clone(),
                };
                probes.push((413, raw("application/json", too_large)));
                probes.push((415, raw("text/plain", serde_json::to_vec(definition).unwrap())));
            }
        }
        let mut provoked: BTreeSet<u16> = probes.iter().map(|(status, _)| *status).collect();
        // The rate limit, last: once hit, it answers every request alike.
        let limited = verifies(&name, &path);
        if limited {
            provoked.insert(429);
            rate_limited.push(path.clone());
        }
        let documented: BTreeSet<u16> =
            spec.statuses(&name, &path).into_iter().filter(|status| ![500, 503].contains(status)).collect();
        assert_eq!(provoked, documented, "{name} {path}: the statuses provoked here and the documented ones");
        for (status, probe) in probes {
            let reply = app.send(probe).await;
            assert_eq!(reply.status, status, "{name} {path}: {}", reply.text());
            spec.check(&name, &path, &reply);
        }
    }
    // The verifying operations share one rate limit per client address:
    // the default allows 60 a minute, so the 61st request at the latest is
    // refused, and then every one of them refuses.
    for path in rate_limited {
        let mut reply = None;
        for _ in 0..61 {
            let request = app.request(Method::POST, &path, None).header("content-type", "application/json");
            let answer = app.send(request.body("{}")).await;
            if answer.status == 429 {
                reply = Some(answer);
                break;
            }
        }
        let reply = reply.expect("no 429 after 61 requests");
        spec.check("POST", &path, &reply);
    }
}

/// A variation of a request example.
struct Variation {
    what: String,
    body: Value,
    /// When refused, the API names one of these fields.
    fields: Vec<String>,
}

/// The object schema (one with `properties`) that `schema` is, or leads to
/// through `$ref`, `oneOf`, `anyOf` or `allOf`.
fn object_schema<'a>(spec: &'a Spec, schema: &'a Value) -> Option<&'a Value> {
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(target) => spec.at(target.strip_prefix('#').unwrap()),
        None => schema,
    };
    if schema.get("properties").is_some() {
        return Some(schema);
    }
    ["oneOf", "anyOf", "allOf"]
        .iter()
        .filter_map(|k| schema.get(*k).and_then(Value::as_array))
        .flatten()
        .find_map(|alternative| object_schema(spec, alternative))
}

/// Groups of members of which at least (or exactly) one must be given:
/// `oneOf`/`anyOf` of single `required` members, also inside `then`.
fn alternatives(schema: &Value) -> Vec<Vec<String>> {
    let mut groups = Vec::new();
    for holder in [schema, &schema["then"]] {
        for keyword in ["oneOf", "anyOf"] {
            let Some(options) = holder.get(keyword).and_then(Value::as_array) else { continue };
            let names: Vec<String> =
                options.iter().filter_map(|o| o["required"][0].as_str()).map(str::to_owned).collect();
            if names.len() == options.len() {
                groups.push(names);
            }
        }
    }
    groups
}

/// Variations of the object at `location` (a JSON pointer into `root`)
/// whose schema is `schema`, with problem fields prefixed by `prefix`: each
/// member removed, set to null, set to a value of the wrong kind and
/// converted to another kind that means the same (`5` and `"5"`, `"x"` and
/// `["x"]`); an unknown member added; each group of alternatives removed.
/// Members that are objects (or lists of objects) are varied in turn.
fn variations(spec: &Spec, schema: &Value, root: &Value, location: &str, prefix: &str, out: &mut Vec<Variation>) {
    let object = root.pointer(location).unwrap().as_object().unwrap();
    let groups = alternatives(schema);
    let field = |name: &str| format!("{prefix}{name}");
    let vary = |out: &mut Vec<Variation>,
                what: String,
                fields: Vec<String>,
                change: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut body = root.clone();
        change(body.pointer_mut(location).unwrap().as_object_mut().unwrap());
        out.push(Variation { what, body, fields });
    };
    for (name, value) in object {
        // Refusing one of a group of alternatives may name another.
        let mut named = vec![field(name)];
        groups.iter().filter(|g| g.contains(name)).flatten().for_each(|n| named.push(field(n)));
        vary(out, format!("without {}", field(name)), named.clone(), &|o| {
            o.remove(name);
        });
        vary(out, format!("{} null", field(name)), named, &|o| {
            o.insert(name.clone(), Value::Null);
        });
        let wrong = if value.is_boolean() { json!("yes") } else { json!(true) };
        vary(out, format!("{} {wrong}", field(name)), vec![field(name)], &|o| {
            o.insert(name.clone(), wrong.clone());
        });
        let converted = match value {
            Value::Number(n) => Some(json!(n.to_string())),
            Value::String(s) => {
                match s.parse::<i64>().ok().map(Value::from).or_else(|| s.parse::<f64>().ok().map(Value::from)) {
                    Some(number) => Some(number),
                    None => Some(json!([s])),
                }
            }
            Value::Array(items) if items.len() == 1 && items[0].is_string() => Some(items[0].clone()),
            _ => None,
        };
        if let Some(converted) = converted {
            vary(out, format!("{} {converted}", field(name)), vec![field(name)], &|o| {
                o.insert(name.clone(), converted.clone());
            });
        }
        let member_schema = &schema["properties"][name];
        let item_schema = object_schema(spec, member_schema).map(|_| member_schema).or_else(|| {
            // A list of objects: its items' schema.
            let list = match member_schema.get("$ref") {
                Some(_) => spec.at(member_schema["$ref"].as_str().unwrap().strip_prefix('#').unwrap()),
                None => member_schema,
            };
            list.get("items")
        });
        match (value, item_schema.and_then(|s| object_schema(spec, s))) {
            (Value::Object(_), Some(nested)) => variations(
                spec,
                nested,
                root,
                &format!("{location}/{}", escape(name)),
                &format!("{}.", field(name)),
                out,
            ),
            (Value::Array(items), Some(nested)) if items.first().is_some_and(Value::is_object) => variations(
                spec,
                nested,
                root,
                &format!("{location}/{}/0", escape(name)),
                &format!("{}[0].", field(name)),
                out,
            ),
            _ => {}
        }
    }
    vary(out, format!("{} added", field("x_unknown")), vec![field("x_unknown")], &|o| {
        o.insert("x_unknown".into(), json!(1));
    });
    for group in groups {
        let present: Vec<&String> = group.iter().filter(|n| object.contains_key(*n)).collect();
        if !present.is_empty() {
            let fields = group.iter().map(|n| field(n)).collect();
            vary(out, format!("without {present:?} at {prefix:?}"), fields, &|o| {
                present.iter().for_each(|n| {
                    o.remove(*n);
                });
            });
        }
    }
}

/// Makes the members that must be unique per request unique, where they
/// still hold text or numbers: course codes of a definition and the SIS
/// record id of an award.
fn freshen(body: &mut Value) {
    let Some(object) = body.as_object_mut() else { return };
    match object.get_mut("course_codes") {
        Some(Value::String(code)) => *code = format!("C-{}", unique()),
        Some(Value::Array(codes)) => {
            codes.iter_mut().filter(|c| c.is_string()).for_each(|c| *c = json!(format!("C-{}", unique())))
        }
        _ => {}
    }
    match object.get_mut("source_record_id") {
        Some(id @ Value::String(_)) => *id = json!(format!("r-{}", unique())),
        Some(id @ Value::Number(_)) => *id = json!(u64::from_str_radix(&unique()[..10], 16).unwrap()),
        _ => {}
    }
}

/// The request schemas tell which bodies the API accepts: for variations of
/// every example (members removed, null, of the wrong kind, of another kind
/// with the same meaning, unknown members), the schema accepts exactly what
/// the API accepts, and when the API refuses, it names the varied field.
async fn the_request_schemas_predict_what_the_api_accepts(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let spec = Spec::served_by(&app).await;
    // The award examples refer to the first definition's course code.
    Issued::make(&app, &spec).await;
    // A change takes the same body as a creation, so varying creations covers it.
    assert_eq!(
        spec.request_schema("PUT", "/api/v1/achievements/{id}"),
        spec.request_schema("POST", "/api/v1/achievements")
    );
    let (mut accepted, mut refused) = (0, 0);
    for path in ["/api/v1/achievements", "/api/v1/awards"] {
        let pointer = spec.request_schema("POST", path);
        let schema = object_schema(&spec, spec.doc.pointer(&pointer).unwrap()).unwrap();
        for (example, body) in spec.request_examples("POST", path) {
            let mut found = Vec::new();
            variations(&spec, schema, &body, "", "", &mut found);
            for Variation { what, mut body, fields } in found {
                freshen(&mut body);
                let valid = spec.violations(&pointer, &body).is_empty();
                let reply = app.send_json(Method::POST, path, &app.admin_token, &body).await;
                let context =
                    format!("POST {path}, example {example} {what}: schema says {valid}, API {}", reply.status);
                if valid {
                    assert_eq!(reply.status, 201, "{context}: {}", reply.text());
                    accepted += 1;
                } else {
                    assert_eq!(reply.status, 422, "{context}: {}", reply.text());
                    let named = problem_fields(&reply.json());
                    assert!(named.iter().any(|f| fields.contains(f)), "{context}: names {named:?}, not {fields:?}");
                    refused += 1;
                }
                spec.check("POST", path, &reply);
            }
        }
    }
    // Both answers were put to the test, many times.
    assert!(accepted > 40 && refused > 100, "{accepted} accepted, {refused} refused");
}

/// While PostgreSQL is unreachable, every operation that documents a 503
/// answers 503 (for ids that exist, with a token that may), and whatever
/// the others answer is documented.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_documented_503s_are_what_an_unreachable_database_gives() {
    let Some((app, proxy)) = spawn_postgres_app_behind_a_proxy().await else { return };
    let spec = Spec::served_by(&app).await;
    let issued = Issued::make(&app, &spec).await;
    proxy.cut();
    for (name, path) in spec.operations() {
        let target = format!("{}{}", issued.path(&path), query_string(&spec, &name, &path));
        let mut request = app.request(method(&name), &target, Some(&app.admin_token));
        if spec.operation(&name, &path).get("requestBody").is_some() {
            request = request.json(&spec.request_examples(&name, &path).remove(0).1);
        }
        let reply = app.send(request).await;
        if spec.statuses(&name, &path).contains(&503) {
            assert_eq!(reply.status, 503, "{name} {target}: {}", reply.text());
        }
        spec.check(&name, &path, &reply);
    }
    proxy.restore();
    app.ready().await.expect(200);
}

crate::backend_tests!(
    the_document_is_served_with_the_apps_url_as_its_server,
    every_documented_api_operation_wants_a_token_with_its_scope,
    every_documented_public_resource_answers_as_documented,
    every_documented_status_is_answered_as_documented,
    the_request_examples_are_valid_and_accepted,
    the_request_schemas_predict_what_the_api_accepts,
);

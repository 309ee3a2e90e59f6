//! The service under test: [`spawn_app`] starts zegel's HTTP service on a
//! random loopback port with a fresh database (SQLite file or PostgreSQL
//! schema, from `tests/common`), the public test key and three API clients,
//! and [`TestApp`] has one method per endpoint.
//!
//! Logs of every app in this test binary go to one in-memory buffer
//! ([`captured_logs`]), and to stderr as well when `TEST_LOG` is set.
#![allow(clippy::unwrap_used, dead_code, reason = "test helpers: a set-up failure should fail the test loudly")]

use crate::common::{Backend, TestStore, fresh_store};
use actix_web::dev::ServerHandle;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;
use zegel::app::App;
use zegel::config::{LogFormat, Settings};
use zegel::storage::CredentialRecord;
use zegel::verification::{Report, StaticStatusLists, Verifier, VerifyOptions};
use zegel::{http, issuance, telemetry};

/// The request body limit the test apps run with (`ZEGEL_MAX_BODY_BYTES`):
/// small, so that 413 is cheap to provoke, and large enough for every valid
/// request the tests send.
pub const MAX_BODY_BYTES: usize = 8192;

/// The batch body limit the test apps run with (`ZEGEL_MAX_BATCH_BYTES`).
pub const MAX_BATCH_BYTES: usize = 256 * 1024;

/// The import file limit the test apps run with (`ZEGEL_MAX_IMPORT_BYTES`).
pub const MAX_IMPORT_BYTES: usize = 256 * 1024;
/// The institution the test issuer is configured with.
pub const BRIN: &str = "21PB";
pub const ISSUER_NAME: &str = "Hogeschool Zegel (test)";
/// The did:key of `keys/test-ed25519.pem` (see `keys/README.md`).
pub const TEST_KEY_DID: &str = "did:key:z6Mkr5UhuaVny5R6s3S1KKtPDoJ8HsPqCRxBfVtq1NoiaFHL";
pub const TEST_KEY_ID: &str = "z6Mkr5UhuaVny5R6s3S1KKtPDoJ8HsPqCRxBfVtq1NoiaFHL";

// ---------------------------------------------------------------------------
// Logs
// ---------------------------------------------------------------------------

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static LOGGING: Once = Once::new();

/// Appends to [`LOGS`] (and to stderr with `TEST_LOG`).
struct LogSink;

impl std::io::Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut logs) = LOGS.lock() {
            logs.extend_from_slice(buf);
        }
        if std::env::var_os("TEST_LOG").is_some() {
            std::io::stderr().write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the global log subscriber once: JSON lines, zegel at debug.
fn init_logging() {
    LOGGING.call_once(|| telemetry::init("info,zegel=debug", LogFormat::Json, || LogSink));
}

/// Everything every app in this test binary has logged so far.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().map(|logs| logs.clone()).unwrap_or_default()).into_owned()
}

// ---------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------

/// A response, read completely.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (the test fails when it is not JSON).
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("status {}: the body is not JSON ({e}): {}", self.status, self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The media type, without parameters, lower case.
    pub fn media_type(&self) -> String {
        self.header("content-type").unwrap_or_default().split(';').next().unwrap_or_default().trim().to_lowercase()
    }

    /// Asserts the status and returns the JSON body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text());
        self.json()
    }

    /// Asserts an error response in zegel's envelope (`{"error", "message",
    /// "problems"?}`, JSON content type) and returns the body.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text());
        assert_eq!(self.media_type(), "application/json", "error bodies are JSON: {:?}", self.headers);
        let body = self.json();
        assert_eq!(body["error"], code, "{body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "an error has a message: {body}");
        body
    }
}

/// The `field` of every problem in an error body, in order.
#[track_caller]
pub fn problem_fields(body: &Value) -> Vec<String> {
    body["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("no problems listed: {body}"))
        .iter()
        .map(|p| {
            assert!(p["message"].as_str().is_some_and(|m| !m.is_empty()), "a problem has a message: {p}");
            p["field"].as_str().unwrap_or_else(|| panic!("a problem names its field: {p}")).to_owned()
        })
        .collect()
}

/// Asserts that every field in `expected` is among the problems of `body`.
#[track_caller]
pub fn assert_problems(body: &Value, expected: &[&str]) {
    let fields = problem_fields(body);
    let missing: Vec<&&str> = expected.iter().filter(|f| !fields.iter().any(|got| got == *f)).collect();
    assert!(missing.is_empty(), "problems {missing:?} are not listed; got {fields:?} in {body}");
}

// ---------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------

pub const COURSE_CODE: &str = "MC-DATA-26";

/// The issue's example microcredential definition.
pub fn microcredential() -> Value {
    json!({
        "type": "micro_credential",
        "name": "Data Literacy for Professionals",
        "description": "Working with data in a professional context: collecting, cleaning, analysing and presenting.",
        "criteria": "Passed the written exam and the final assignment.",
        "learning_outcomes": ["Analyses a data set and reports the findings to a non-expert audience."],
        "ects": 5,
        "eqf_level": 6,
        "nlqf_level": "6",
        "assessment_type": ["written_exam"],
        "participation_type": ["blended"],
        "identity_checked": true,
        "assessment_supervised": true,
        "quality_assurance": {
            "name": "NVAO accreditation",
            "url": "https://example.org/qa",
            "description": "The programme is accredited by the NVAO."
        },
        "language": "nl",
        "course_codes": [COURSE_CODE],
        "edubadges_badgeclass": "vqjqdus9RwGVlcvJ7KtDcQ"
    })
}

/// The issue's example award, with `record_id` as its source record id.
pub fn award(record_id: &str) -> Value {
    json!({
        "source_record_id": record_id,
        "course_code": COURSE_CODE,
        "learner": {
            "eppn": "1234567@uni.example.nl",
            "email": "sam@student.uni.example.nl",
            "given_name": "Sam",
            "surname_prefix": "de",
            "surname": "Vries",
            "student_number": "1234567"
        },
        "result": {"grade": "8.5", "completed_on": "2026-06-30"},
        "evidence_url": null
    })
}

// ---------------------------------------------------------------------------
// The app
// ---------------------------------------------------------------------------

/// A running zegel service on its own database. Stops its server when dropped.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`: also the configured public URL.
    pub address: String,
    pub port: u16,
    /// The app's database (a second store on it: the app has its own pool).
    /// Shared with [`TestApp::second_instance`]s.
    pub db: Arc<TestStore>,
    pub http: reqwest::Client,
    /// Scope `admin`.
    pub admin_token: String,
    /// Scopes `awards:write`, `awards:read` (what an SIS gets).
    pub writer_token: String,
    pub writer_client_id: String,
    /// Scope `awards:read` only.
    pub reader_token: String,
    handle: ServerHandle,
    keys: Arc<tempfile::TempDir>,
    overrides: Vec<(String, String)>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Sends the stop command now; the server task finishes it (or is
        // dropped with the runtime, which stops the workers as well).
        drop(self.handle.stop(false));
    }
}

/// The environment a test app is configured with (without the database, the
/// port and the public URL, which `start_server` adds).
pub fn base_env(keys_dir: &Path) -> HashMap<String, String> {
    [
        ("ZEGEL_KEYS_DIR", keys_dir.display().to_string()),
        ("ZEGEL_GENERATE_KEYS", "false".into()),
        // The issuer is the committed test key's did:key (TEST_DID).
        ("ZEGEL_ALLOW_TEST_KEYS", "true".into()),
        ("ZEGEL_INSTITUTION_BRIN", BRIN.into()),
        ("ZEGEL_ISSUER_NAME", ISSUER_NAME.into()),
        ("ZEGEL_MAX_BODY_BYTES", MAX_BODY_BYTES.to_string()),
        ("ZEGEL_MAX_BATCH_BYTES", MAX_BATCH_BYTES.to_string()),
        ("ZEGEL_MAX_IMPORT_BYTES", MAX_IMPORT_BYTES.to_string()),
        ("ZEGEL_WORKERS", "2".into()),
        ("ZEGEL_DB_MAX_CONNECTIONS", "4".into()),
        ("ZEGEL_LOG", "info".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// A temporary key directory holding a copy of `keys/test-ed25519.pem`, so
/// the issuer is the test key's did:key.
pub fn test_key_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("keys/test-ed25519.pem");
    std::fs::copy(&source, dir.path().join("test-ed25519.pem")).unwrap();
    dir
}

/// A zegel service on a fresh database of `backend`, or `None` when that
/// backend is not available (PostgreSQL without `ZEGEL_TEST_POSTGRES_URL`,
/// outside CI; see `tests/common`).
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, &[]).await
}

/// [`spawn_app`] with some settings overridden (`("ZEGEL_…", "value")`).
pub async fn spawn_app_with(backend: Backend, overrides: &[(&str, &str)]) -> Option<TestApp> {
    let overrides: Vec<(String, String)> = overrides.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    Some(spawn(fresh_store(backend).await?, overrides).await)
}

/// A PostgreSQL app that reaches its database through a [`TcpProxy`] the
/// test can cut (`None` without a test database, as [`spawn_app`]).
pub async fn spawn_postgres_app_behind_a_proxy() -> Option<(TestApp, TcpProxy)> {
    let db = fresh_store(Backend::Postgres).await?;
    let (target, rewrite) = split_authority(&db.url);
    let proxy = TcpProxy::start(target);
    let url = rewrite(proxy.port);
    let app = spawn(db, vec![("DATABASE_URL".into(), url)]).await;
    Some((app, proxy))
}

/// A service on `db` with the test key and three clients.
async fn spawn(db: TestStore, overrides: Vec<(String, String)>) -> TestApp {
    init_logging();
    let db = Arc::new(db);
    let keys = Arc::new(test_key_dir());
    let (address, port, handle) = start_server(&db, keys.path(), &overrides).await;

    let token = |scopes: &[&str]| {
        let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
        let name = format!("test client {}", scopes.join("+"));
        let store = db.store.clone();
        async move { issuance::create_client(&store, &name, &scopes, "test").await.unwrap() }
    };
    let admin_token = token(&["admin"]).await.token;
    let writer = token(&["awards:write", "awards:read"]).await;
    let reader_token = token(&["awards:read"]).await.token;
    TestApp {
        address,
        port,
        db,
        http: http_client(),
        admin_token,
        writer_token: writer.token,
        writer_client_id: writer.client.client_id,
        reader_token,
        handle,
        keys,
        overrides,
    }
}

/// Starts the HTTP service on `db` on a random port; returns its address, port and handle.
async fn start_server(db: &TestStore, keys: &Path, overrides: &[(String, String)]) -> (String, u16, ServerHandle) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let address = format!("http://127.0.0.1:{port}");
    let mut env = base_env(keys);
    env.insert("ZEGEL_LISTEN".into(), format!("127.0.0.1:{port}"));
    env.insert("ZEGEL_PUBLIC_URL".into(), address.clone());
    env.insert("DATABASE_URL".into(), db.url.clone());
    for (name, value) in overrides {
        env.insert(name.clone(), value.clone());
    }
    let settings = Settings::from_lookup(|name| env.get(name).cloned()).unwrap();
    let (app, _keys) = App::build(settings).await.unwrap();
    let app = actix_web::web::Data::new(app);
    // As `zegel serve` does: the push worker runs beside the service when
    // Edubadges is configured.
    if let Some(worker) = zegel::push::Worker::new(app.clone().into_inner()).unwrap()
        && app.settings.push.worker
    {
        tokio::spawn(worker.run(std::future::pending()));
    }
    // And the import worker.
    tokio::spawn(zegel::intake::jobs::worker(app.clone().into_inner()));
    let server = http::serve(app, listener).unwrap();
    let handle = server.handle();
    tokio::spawn(server);
    (address, port, handle)
}

/// An HTTP client for loopback servers (never through a proxy).
pub fn http_client() -> reqwest::Client {
    zegel::push::edubadges::install_tls_provider();
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(60)).build().unwrap()
}

/// Reads a whole response.
pub async fn read(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.unwrap().to_vec();
    Reply { status, headers, body }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn keys_dir(&self) -> PathBuf {
        self.keys.path().to_owned()
    }

    /// Another zegel instance on the same database and key (its own port,
    /// pools and in-memory state; the same clients), as in a deployment
    /// with several instances behind a load balancer.
    pub async fn second_instance(&self) -> TestApp {
        let (address, port, handle) = start_server(&self.db, self.keys.path(), &self.overrides).await;
        TestApp {
            address,
            port,
            db: self.db.clone(),
            http: http_client(),
            admin_token: self.admin_token.clone(),
            writer_token: self.writer_token.clone(),
            writer_client_id: self.writer_client_id.clone(),
            reader_token: self.reader_token.clone(),
            handle,
            keys: self.keys.clone(),
            overrides: self.overrides.clone(),
        }
    }

    /// Fetches the credential at `credential_url` (JSON-LD, or the VC-JWT
    /// with `jwt`) and its status list from this server, and verifies it
    /// with zegel's verifier, status required.
    pub async fn verify(&self, credential_url: &str, jwt: bool) -> Report {
        let json = self.fetch(credential_url, Some("application/ld+json")).await;
        assert_eq!(json.status, 200, "{credential_url}: {}", json.text());
        let mut lists = StaticStatusLists::new();
        for (list_url, body) in self.status_lists(&json.json()).await {
            lists = lists.with_list(list_url, body);
        }
        let verifier = Verifier::offline().with_status_lists(Arc::new(lists));
        let options = VerifyOptions { require_status: true, ..VerifyOptions::at(chrono::Utc::now()) };
        let input = if jwt { self.fetch(&format!("{credential_url}.jwt"), None).await.body } else { json.body };
        verifier.verify(&input, &options)
    }

    /// Every status list `credential` names, fetched from this server:
    /// (URL, body).
    pub async fn status_lists(&self, credential: &Value) -> Vec<(String, Vec<u8>)> {
        let mut lists = Vec::new();
        for entry in status_entries(credential) {
            let list_url = entry["statusListCredential"].as_str().unwrap().to_owned();
            let list = self.fetch(&list_url, None).await;
            assert_eq!(list.status, 200, "{list_url}: {}", list.text());
            lists.push((list_url, list.body));
        }
        lists
    }

    /// A request to `path` with an optional bearer token.
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let builder = self.http.request(method, self.url(path));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        read(request.send().await.unwrap()).await
    }

    /// GET without a token.
    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.request(Method::GET, path, None)).await
    }

    /// GET without a token, with an `Accept` header.
    pub async fn get_accept(&self, path: &str, accept: &str) -> Reply {
        self.send(self.request(Method::GET, path, None).header("accept", accept)).await
    }

    /// A JSON body sent with `token`.
    pub async fn send_json(&self, method: Method, path: &str, token: &str, body: &Value) -> Reply {
        self.send(self.request(method, path, Some(token)).json(body)).await
    }

    /// Raw bytes with a content type, sent with `token`.
    pub async fn send_raw(&self, method: Method, path: &str, token: &str, content_type: &str, body: Vec<u8>) -> Reply {
        self.send(self.request(method, path, Some(token)).header("content-type", content_type).body(body)).await
    }

    // --- /api/v1/achievements -------------------------------------------------

    pub async fn post_achievement(&self, body: &Value) -> Reply {
        self.send_json(Method::POST, "/api/v1/achievements", &self.admin_token, body).await
    }

    pub async fn put_achievement(&self, id: &str, body: &Value) -> Reply {
        self.send_json(Method::PUT, &format!("/api/v1/achievements/{id}"), &self.admin_token, body).await
    }

    pub async fn get_achievement(&self, id: &str) -> Reply {
        self.send(self.request(Method::GET, &format!("/api/v1/achievements/{id}"), Some(&self.reader_token))).await
    }

    pub async fn list_achievements(&self) -> Reply {
        self.send(self.request(Method::GET, "/api/v1/achievements", Some(&self.reader_token))).await
    }

    /// Defines the example microcredential; returns the 201 body.
    /// Runs the `zegel` binary on this app's database, keys and URL.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_zegel"))
            .args(args)
            .env_clear()
            .envs(base_env(&self.keys_dir()))
            .env("DATABASE_URL", &self.db.url)
            .env("ZEGEL_PUBLIC_URL", &self.address)
            .output()
            .unwrap()
    }

    pub async fn define_microcredential(&self) -> Value {
        self.post_achievement(&microcredential()).await.expect(201)
    }

    // --- /api/v1/awards ------------------------------------------------------

    pub async fn post_award(&self, body: &Value) -> Reply {
        self.send_json(Method::POST, "/api/v1/awards", &self.writer_token, body).await
    }

    pub async fn get_award(&self, id: &str) -> Reply {
        self.send(self.request(Method::GET, &format!("/api/v1/awards/{id}"), Some(&self.reader_token))).await
    }

    pub async fn find_award(&self, source_record_id: &str) -> Reply {
        let path = format!("/api/v1/awards?source_record_id={}", percent_encode(source_record_id));
        self.send(self.request(Method::GET, &path, Some(&self.reader_token))).await
    }

    /// Issues the example award under `record_id`; returns the 201 body.
    pub async fn issue(&self, record_id: &str) -> Value {
        self.post_award(&award(record_id)).await.expect(201)
    }

    // --- public resources ----------------------------------------------------

    /// The credential at its public URL, with an optional `Accept` header.
    pub async fn get_credential(&self, credential_id: &str, accept: Option<&str>) -> Reply {
        let request = self.request(Method::GET, &format!("/credentials/{credential_id}"), None);
        self.send(match accept {
            Some(accept) => request.header("accept", accept),
            None => request,
        })
        .await
    }

    /// An absolute URL this app published (e.g. `credential_url`), fetched.
    pub async fn fetch(&self, url: &str, accept: Option<&str>) -> Reply {
        assert!(url.starts_with(&self.address), "{url} is not on this app ({})", self.address);
        let request = self.http.get(url);
        self.send(match accept {
            Some(accept) => request.header("accept", accept),
            None => request,
        })
        .await
    }

    pub async fn did_document(&self) -> Reply {
        self.get("/.well-known/did.json").await
    }

    pub async fn jwks(&self) -> Reply {
        self.get("/.well-known/jwks.json").await
    }

    pub async fn issuer_profile(&self) -> Reply {
        self.get("/issuer").await
    }

    pub async fn public_achievement(&self, id: &str) -> Reply {
        self.get(&format!("/achievements/{id}")).await
    }

    pub async fn public_achievement_version(&self, id: &str, version: i64) -> Reply {
        self.get(&format!("/achievements/{id}/versions/{version}")).await
    }

    pub async fn zegel_context(&self) -> Reply {
        self.get("/contexts/zegel/v1.jsonld").await
    }

    pub async fn status_list(&self, list: &str) -> Reply {
        self.get(&format!("/status/{list}")).await
    }

    // --- ops -----------------------------------------------------------------

    pub async fn health(&self) -> Reply {
        self.get("/health").await
    }

    pub async fn ready(&self) -> Reply {
        self.get("/ready").await
    }

    pub async fn metrics(&self) -> Reply {
        self.get("/metrics").await
    }

    // --- the database, read directly -------------------------------------------

    /// The stored credential (the test fails when there is none).
    pub async fn stored_credential(&self, credential_id: &str) -> CredentialRecord {
        self.db.credential(credential_id).await.unwrap().unwrap_or_else(|| panic!("no credential {credential_id}"))
    }

    /// How many awards and credentials are stored, after checking that
    /// nothing is half-written.
    pub async fn assert_consistent(&self) -> (i64, i64) {
        let report = self.db.integrity_report().await.unwrap();
        assert!(report.is_consistent(), "the database is inconsistent: {report:?}");
        (report.awards, report.credentials)
    }

    /// Asserts that no award (hence no credential) is stored.
    pub async fn assert_no_awards(&self) {
        assert_eq!(self.assert_consistent().await, (0, 0), "nothing may be written");
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Sends raw HTTP/1.1 bytes to `port` and returns the status code and the
/// response text (for requests reqwest cannot make, e.g. a chunked body).
pub async fn raw_http(port: u16, request: Vec<u8>) -> (u16, String) {
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        // The server may answer (and close) before the whole body is sent.
        let _ = stream.write_all(&request);
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        let text = String::from_utf8_lossy(&response).into_owned();
        let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        (status, text)
    })
    .await
    .unwrap()
}

/// The `host:port` of a database URL, and a function giving the same URL
/// with `127.0.0.1:<port>` there instead.
fn split_authority(url: &str) -> (std::net::SocketAddr, impl Fn(u16) -> String + use<>) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (user, host_port) = match authority.rsplit_once('@') {
        Some((user, host_port)) => (format!("{user}@"), host_port.to_owned()),
        None => (String::new(), authority.to_owned()),
    };
    let host_port = if host_port.contains(':') { host_port } else { format!("{host_port}:5432") };
    let target = std::net::ToSocketAddrs::to_socket_addrs(&host_port).unwrap().next().unwrap();
    let (scheme, tail) = (scheme.to_owned(), tail.to_owned());
    (target, move |port| format!("{scheme}://{user}127.0.0.1:{port}{tail}"))
}

/// A TCP proxy on loopback to `target`, which the test can cut: while cut,
/// open connections are closed and new ones are closed as soon as they are
/// accepted, as when the network to the database fails.
pub struct TcpProxy {
    pub port: u16,
    state: Arc<ProxyState>,
}

#[derive(Default)]
struct ProxyState {
    cut: std::sync::atomic::AtomicBool,
    stopped: std::sync::atomic::AtomicBool,
    open: Mutex<Vec<std::net::TcpStream>>,
}

impl TcpProxy {
    pub fn start(target: std::net::SocketAddr) -> Self {
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(ProxyState::default());
        let shared = state.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if shared.stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                if shared.cut.load(Ordering::SeqCst) {
                    let _ = client.shutdown(std::net::Shutdown::Both);
                    continue;
                }
                let Ok(server) = std::net::TcpStream::connect(target) else {
                    let _ = client.shutdown(std::net::Shutdown::Both);
                    continue;
                };
                if let Ok(mut open) = shared.open.lock() {
                    open.extend([client.try_clone().unwrap(), server.try_clone().unwrap()]);
                }
                for (mut from, mut to) in [(client.try_clone().unwrap(), server.try_clone().unwrap()), (server, client)]
                {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                        let _ = from.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Self { port, state }
    }

    /// Closes every open connection and refuses (closes) new ones.
    pub fn cut(&self) {
        self.state.cut.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Ok(mut open) = self.state.open.lock() {
            for stream in open.drain(..) {
                let _ = stream.shutdown(std::net::Shutdown::Both);
            }
        }
    }

    /// Passes connections through again.
    pub fn restore(&self) {
        self.state.cut.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
        self.state.stopped.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wakes the accept loop so that it sees `stopped`.
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// The credential's status entries, whether `credentialStatus` is one object
/// or an array of them.
pub fn status_entries(credential: &Value) -> Vec<Value> {
    match &credential["credentialStatus"] {
        Value::Array(entries) => entries.clone(),
        Value::Null => Vec::new(),
        entry => vec![entry.clone()],
    }
}

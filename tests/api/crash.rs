//! Issue point 9: crash safety. The real `zegel serve` process is killed
//! with SIGKILL while a stream of awards is being issued; afterwards the
//! database holds no half-written award (award ⇔ credential ⇔ outbox job ⇔
//! audit entry, no status slot bound twice), every award that was
//! acknowledged with 201 is there with its credential, and the restarted
//! server serves them and goes on issuing.
#![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use crate::common::{Backend, TestStore, fresh_store};
use crate::helpers::{award, base_env, http_client, microcredential, test_key_dir};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Concurrent clients posting awards.
const CLIENTS: usize = 12;
/// Acknowledged awards before the kill, per round.
const ACKNOWLEDGED_BEFORE_KILL: usize = 40;
/// Kill-and-check rounds before the final restart.
const ROUNDS: usize = 2;
/// How long a server may take to become ready (a safety net, not a measurement).
const READY_DEADLINE: Duration = Duration::from_secs(60);

/// A `zegel serve` process, killed (SIGKILL) when dropped.
struct Server {
    child: Child,
    /// `http://127.0.0.1:<port>` it listens on.
    address: String,
    log: PathBuf,
}

impl Server {
    /// SIGKILL: no graceful shutdown, no flushing, no rollback by zegel.
    fn kill(&mut self) {
        // `Child::kill` sends SIGKILL on Unix.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A loopback port that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The environment `zegel serve` and `zegel clients` get.
fn env(
    database_url: &str,
    keys: &Path,
    port: u16,
    public_url: &str,
    extra: &[(String, String)],
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = base_env(keys).into_iter().collect();
    env.extend_from_slice(extra);
    env.push(("DATABASE_URL".into(), database_url.into()));
    env.push(("ZEGEL_LISTEN".into(), format!("127.0.0.1:{port}")));
    env.push(("ZEGEL_PUBLIC_URL".into(), public_url.into()));
    env
}

/// Starts `zegel serve` and waits until `/ready` answers 200, trying another
/// port when the one picked was taken in the meantime. `port` is tried first.
async fn start_server(database_url: &str, keys: &Path, logs: &Path, port: u16, public_url: Option<&str>) -> Server {
    start_server_with(database_url, keys, logs, port, public_url, &[]).await
}

/// [`start_server`] with more settings (`extra`).
async fn start_server_with(
    database_url: &str,
    keys: &Path,
    logs: &Path,
    port: u16,
    public_url: Option<&str>,
    extra: &[(String, String)],
) -> Server {
    let http = http_client();
    let mut port = port;
    for attempt in 0..5 {
        let address = format!("http://127.0.0.1:{port}");
        let log = logs.join(format!("serve-{port}-{attempt}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_zegel"))
            .arg("serve")
            .envs(env(database_url, keys, port, public_url.unwrap_or(&address), extra))
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        let mut server = Server { child, address, log };
        let started = Instant::now();
        loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                let text = server.log_text();
                assert!(text.contains("cannot listen"), "zegel serve exited with {status}:\n{text}");
                break; // the port was taken: try another
            }
            let ready = http.get(format!("{}/ready", server.address)).timeout(Duration::from_secs(2)).send().await;
            if ready.is_ok_and(|r| r.status() == 200) {
                return server;
            }
            assert!(started.elapsed() < READY_DEADLINE, "zegel serve never became ready:\n{}", server.log_text());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        port = free_port();
    }
    panic!("no free port for zegel serve");
}

/// `zegel clients create … --json` on the database; returns the token.
fn create_client(database_url: &str, keys: &Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_zegel"))
        .args(["clients", "create", "--name", "crash test", "--scopes", "admin", "--json"])
        .envs(env(database_url, keys, 0, "http://127.0.0.1:1", &[]))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let created: Value = serde_json::from_slice(&output.stdout).unwrap();
    created["token"].as_str().unwrap().to_owned()
}

/// A password no log may show. PostgreSQL's trust authentication (the test
/// server's) ignores it.
const DB_PASSWORD: &str = "zegel-crash-test-db-password";

/// `url` with [`DB_PASSWORD`] in it (PostgreSQL URLs with a user and no password).
fn with_password(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) if scheme.starts_with("postgres") => match rest.split_once('@') {
            Some((user, host)) if !user.contains(':') => format!("{scheme}://{user}:{DB_PASSWORD}@{host}"),
            _ => url.to_owned(),
        },
        _ => url.to_owned(),
    }
}

/// A student number no log may show.
const STUDENT_NUMBER: &str = "S-CRASH-4711";

/// The example award with [`STUDENT_NUMBER`].
fn crash_award(record_id: &str) -> Value {
    let mut body = award(record_id);
    body["learner"]["student_number"] = STUDENT_NUMBER.into();
    body
}

/// Every `zegel serve` log written into `logs`.
fn server_logs(logs: &Path) -> String {
    let mut all = String::new();
    for entry in std::fs::read_dir(logs).unwrap() {
        all.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default());
    }
    all
}

/// An acknowledged award: what the 201 said.
#[derive(Debug, Clone)]
struct Acknowledged {
    record_id: String,
    award_id: String,
    credential_id: String,
}

/// Posts distinct awards from [`CLIENTS`] tasks until the server goes away;
/// kills it (SIGKILL) as soon as [`ACKNOWLEDGED_BEFORE_KILL`] have been
/// acknowledged. Returns the acknowledged awards.
async fn issue_until_killed(server: &mut Server, token: &str, round: usize) -> Vec<Acknowledged> {
    let http = http_client();
    let next = Arc::new(AtomicUsize::new(0));
    let (acked_tx, mut acked_rx) = tokio::sync::mpsc::unbounded_channel::<Acknowledged>();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (http, next, acked_tx) = (http.clone(), next.clone(), acked_tx.clone());
        let (url, token) = (format!("{}/api/v1/awards", server.address), token.to_owned());
        tasks.push(tokio::spawn(async move {
            loop {
                let record_id = format!("crash-{round}-{}", next.fetch_add(1, Ordering::Relaxed));
                let Ok(response) = http.post(&url).bearer_auth(&token).json(&crash_award(&record_id)).send().await
                else {
                    return; // the server is gone
                };
                let status = response.status().as_u16();
                let Ok(body) = response.bytes().await else { return };
                // Anything but a 201 before the kill is a failure of its own.
                assert_eq!(status, 201, "{record_id}: {}", String::from_utf8_lossy(&body));
                let body: Value = serde_json::from_slice(&body).unwrap();
                let acked = Acknowledged {
                    record_id,
                    award_id: body["id"].as_str().unwrap().to_owned(),
                    credential_id: body["credential_id"].as_str().unwrap().to_owned(),
                };
                if acked_tx.send(acked).is_err() {
                    return;
                }
            }
        }));
    }
    drop(acked_tx);
    let mut acknowledged = Vec::new();
    while acknowledged.len() < ACKNOWLEDGED_BEFORE_KILL {
        let acked = acked_rx.recv().await.expect("every client stopped before the kill");
        acknowledged.push(acked);
    }
    // Mid-stream: the other clients' requests are in flight.
    server.kill();
    for task in tasks {
        task.await.unwrap();
    }
    // Responses that arrived between the last count and the kill.
    while let Ok(acked) = acked_rx.try_recv() {
        acknowledged.push(acked);
    }
    acknowledged
}

/// Nothing half-written, and every acknowledged award complete.
async fn assert_survived(db: &TestStore, acknowledged: &[Acknowledged]) {
    // A new connection, as a restarted zegel would open.
    let store = db.second_store().await;
    let report = store.integrity_report().await.unwrap();
    assert!(report.is_consistent(), "half-written data after SIGKILL: {report:?}");
    assert!(report.awards >= acknowledged.len() as i64, "{report:?} < {} acknowledged", acknowledged.len());
    for acked in acknowledged {
        let award = store.award(&acked.award_id).await.unwrap().unwrap_or_else(|| panic!("{acked:?} was lost"));
        assert_eq!(
            (award.source_record_id.as_str(), award.credential_id.as_str()),
            (acked.record_id.as_str(), acked.credential_id.as_str())
        );
        let credential = store.credential(&acked.credential_id).await.unwrap().unwrap();
        assert_eq!(credential.award_id, acked.award_id);
        assert!(!credential.document.is_empty() && !credential.jwt.is_empty());
        assert_eq!(store.outbox_jobs_for_award(&acked.award_id).await.unwrap().len(), 1);
    }
    store.close().await;
}

async fn a_server_killed_mid_stream_leaves_no_half_written_award_and_restarts_cleanly(backend: Backend) {
    let Some(db) = fresh_store(backend).await else { return };
    let database_url = with_password(&db.url);
    let keys = test_key_dir();
    let logs = tempfile::tempdir().unwrap();
    let token = create_client(&database_url, keys.path());
    let mut server = start_server(&database_url, keys.path(), logs.path(), free_port(), None).await;
    let public_url = server.address.clone();
    let port = public_url.rsplit(':').next().unwrap().parse().unwrap();
    let http = http_client();
    let defined = http
        .post(format!("{}/api/v1/achievements", server.address))
        .bearer_auth(&token)
        .json(&microcredential())
        .send()
        .await
        .unwrap();
    assert_eq!(defined.status(), 201);

    let mut acknowledged = Vec::new();
    for round in 0..ROUNDS {
        if round > 0 {
            server = start_server(&database_url, keys.path(), logs.path(), port, Some(&public_url)).await;
        }
        acknowledged.extend(issue_until_killed(&mut server, &token, round).await);
        assert_survived(&db, &acknowledged).await;
    }

    // Restarted on the same database, with the same public URL.
    let mut server = start_server(&database_url, keys.path(), logs.path(), port, Some(&public_url)).await;
    for acked in [acknowledged.first().unwrap(), acknowledged.last().unwrap()] {
        let reply = http.get(format!("{}/credentials/{}", server.address, acked.credential_id)).send().await.unwrap();
        assert_eq!(reply.status(), 200);
        let stored = db.credential(&acked.credential_id).await.unwrap().unwrap();
        assert_eq!(reply.bytes().await.unwrap(), stored.document.as_bytes());
        // Repeating an acknowledged record after the crash is still the same award.
        let again = http
            .post(format!("{}/api/v1/awards", server.address))
            .bearer_auth(&token)
            .json(&crash_award(&acked.record_id))
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 200);
        assert_eq!(again.json::<Value>().await.unwrap()["id"], acked.award_id.as_str());
    }
    let fresh = http
        .post(format!("{}/api/v1/awards", server.address))
        .bearer_auth(&token)
        .json(&crash_award("after-the-crash"))
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), 201);
    let fresh: Value = fresh.json().await.unwrap();
    assert!(fresh["credential_url"].as_str().unwrap().starts_with(&public_url));
    let report = db.integrity_report().await.unwrap();
    assert!(report.is_consistent(), "{report:?}");

    // The real binary's logs (text format, as in production): they name the
    // requests, but hold no token, no database password and no student data.
    server.kill();
    let logs = server_logs(logs.path());
    assert!(logs.contains("zegel is serving") && logs.contains("/api/v1/awards"), "{logs}");
    for secret in [token.as_str(), &token[..16], DB_PASSWORD, "uni.example.nl", "Vries", STUDENT_NUMBER] {
        assert!(!logs.contains(secret), "the server log contains {secret:?}");
    }
}

/// Awards pushed while the server is killed again and again.
const PUSHED_AWARDS: usize = 240;
/// Kills during the push run.
const PUSH_KILLS: usize = 4;

/// A record for learner `n` (its own eppn and e-mail address).
fn push_award(n: usize) -> Value {
    let mut body = award(&format!("crash-push-{n}"));
    body["learner"]["eppn"] = format!("p{n}@uni.example.nl").into();
    body["learner"]["email"] = format!("p{n}@student.uni.example.nl").into();
    body
}

/// A random delay in `[from, from + spread)`.
fn random_delay(from: Duration, spread: Duration) -> Duration {
    use rand_core::RngCore;
    let spread_ms = u64::try_from(spread.as_millis()).unwrap().max(1);
    from + Duration::from_millis(rand_core::OsRng.next_u64() % spread_ms)
}

/// Issue "Push to Edubadges", point 6: `kill -9` of the service at random
/// moments during a push run, then a restart, still ends with every award
/// delivered exactly once. The double answers slowly, so that most kills
/// find creates it has stored but not yet answered: the case where a blind
/// re-send would award twice.
async fn a_server_killed_during_a_push_run_still_delivers_every_award_exactly_once(backend: Backend) {
    use zegel::dev::edubadges_mock::{self, MockConfig};
    let Some(db) = fresh_store(backend).await else { return };
    let keys = test_key_dir();
    let logs = tempfile::tempdir().unwrap();
    let config = MockConfig::default().with_latency(Duration::from_millis(200));
    let mock =
        edubadges_mock::start(std::net::TcpListener::bind("127.0.0.1:0").unwrap(), config.clone()).await.unwrap();
    let push: Vec<(String, String)> = [
        ("ZEGEL_EDUBADGES_URL", mock.base_url()),
        ("ZEGEL_EDUBADGES_TOKEN_URL", mock.token_url()),
        ("ZEGEL_EDUBADGES_CLIENT_ID", config.client_id.clone()),
        ("ZEGEL_EDUBADGES_CLIENT_SECRET", config.client_secret.clone()),
        ("ZEGEL_EDUBADGES_TIMEOUT_SECS", "2".into()),
        ("ZEGEL_PUSH_LEASE_SECS", "3".into()),
        ("ZEGEL_PUSH_POLL_MS", "50".into()),
        ("ZEGEL_PUSH_RETRY_BASE_MS", "50".into()),
        ("ZEGEL_PUSH_RETRY_MAX_SECS", "1".into()),
        ("ZEGEL_PUSH_BUNDLE_SIZE", "2".into()),
        ("ZEGEL_PUSH_CONCURRENCY", "4".into()),
        ("ZEGEL_PUSH_CLAIM_CHECK_SECS", "3600".into()),
    ]
    .map(|(k, v)| (k.to_owned(), v))
    .into();
    let token = create_client(&db.url, keys.path());
    let mut server = start_server_with(&db.url, keys.path(), logs.path(), free_port(), None, &push).await;
    let public_url = server.address.clone();
    let port = public_url.rsplit(':').next().unwrap().parse().unwrap();
    let http = http_client();
    let defined = http
        .post(format!("{}/api/v1/achievements", server.address))
        .bearer_auth(&token)
        .json(&microcredential())
        .send()
        .await
        .unwrap();
    assert_eq!(defined.status(), 201);
    // The worker starts pushing while the awards come in.
    let url = format!("{}/api/v1/awards", server.address);
    for chunk in (0..PUSHED_AWARDS).collect::<Vec<_>>().chunks(8) {
        let posts = chunk.iter().map(|&n| http.post(&url).bearer_auth(&token).json(&push_award(n)).send());
        for response in futures_util::future::join_all(posts).await {
            assert_eq!(response.unwrap().status(), 201);
        }
    }

    for kill in 0..PUSH_KILLS {
        let uptime = random_delay(Duration::from_millis(300), Duration::from_millis(900));
        tokio::time::sleep(uptime).await;
        server.kill();
        let counts = db.push_counts().await.unwrap();
        eprintln!("kill {kill} after {uptime:?} up: {counts:?}");
        server = start_server_with(&db.url, keys.path(), logs.path(), port, Some(&public_url), &push).await;
    }

    // The last instance finishes the run.
    let started = Instant::now();
    loop {
        let counts = db.push_counts().await.unwrap();
        if counts.iter().any(|(state, n)| state == "sent" && *n == PUSHED_AWARDS as i64) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "not all delivered: {counts:?}\n{}", server.log_text());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.kill();

    let state = mock.snapshot();
    assert!(state.over_awarded().is_empty(), "delivered twice: {:?}", state.over_awarded());
    for n in 0..PUSHED_AWARDS {
        let eppn = format!("p{n}@uni.example.nl");
        assert_eq!(state.live_count(edubadges_mock::DEFAULT_BADGE_CLASS, &eppn), 1, "{eppn}");
    }
    // Every recipient was posted to Edubadges once: nothing re-sent blindly
    // (a re-sent award would show up as a refused duplicate in its bundle).
    let posted: usize = state.bundles.iter().map(|b| b.initial_total).sum();
    assert_eq!(posted, PUSHED_AWARDS, "recipients posted to Edubadges");
    // And the kills did hit answers in flight, which were found in Edubadges.
    let all = zegel::storage::AuditFilter { limit: i64::MAX, ..Default::default() };
    let trail = db.audit_entries(all).await.unwrap();
    let reconciled = trail
        .iter()
        .filter(|e| e.action == "pushed" && e.details.as_deref().is_some_and(|d| d.contains("answer was lost")));
    assert!(reconciled.count() > 0, "no kill hit a request in flight; the test proved nothing");
    let report = db.integrity_report().await.unwrap();
    assert!(report.is_consistent(), "{report:?}");
}

crate::backend_tests!(
    a_server_killed_mid_stream_leaves_no_half_written_award_and_restarts_cleanly,
    a_server_killed_during_a_push_run_still_delivers_every_award_exactly_once,
);

//! A test double of Edubadges' SIS API and SURFconext's token endpoint, with
//! fault injection: the peer of zegel's Edubadges push in tests, and
//! `zegel dev edubadges-mock` for operators.
//!
//! It mirrors `../shared/reference/edubadges-contract.md` section 6, and
//! edubadges-server's code where the contract leaves details open: the same
//! paths, checks in the same order, byte-for-byte error bodies (DRF's
//! compact JSON, Django's `{"error": …}` with Python spacing, Python reprs),
//! 403 without `WWW-Authenticate` for a missing or dead token, the
//! duplicate rule (an `Unaccepted` award with the same key), and what a
//! claim does (the direct award disappears, an assertion issued on its
//! creation time appears, and the same award can then be created again: a
//! second badge). See `docs/edubadges-mock.md`.
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! use zegel::dev::edubadges_mock::{self, FaultKind, MockConfig};
//! let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
//! let mock = edubadges_mock::start(listener, MockConfig::default()).await?;
//! mock.push_fault(FaultKind::DropAfterCommit); // the next API call is processed, then cut off
//! // … point the client at mock.base_url() and mock.token_url() …
//! assert!(mock.snapshot().over_awarded().is_empty()); // nothing delivered twice
//! mock.stop().await;
//! # Ok(()) }
//! ```

mod edubadges;
mod faults;
mod fields;
mod http;
mod python;
mod service;
mod state;
mod token;

pub use faults::{FaultKind, Faults, OneShotFault, UnknownFault};
pub use state::{
    Assertion, AwardKey, Bundle, DirectAward, DirectAwardStatus, Endpoint, IssuedToken, MockState, RequestCounts,
};

use service::Service;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The badge class every default configuration has.
pub const DEFAULT_BADGE_CLASS: &str = "vqjqdus9RwGVlcvJ7KtDcQ";
pub const DEFAULT_BADGE_CLASS_NAME: &str = "Data Literacy for Professionals";
/// The scope SIS clients ask SURFconext for.
pub const SIS_SCOPE: &str = "edubadges.nl/sis";

/// A badge class of the institution the double plays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockBadgeClass {
    /// The 22-character entity id SIS requests name.
    pub entity_id: String,
    pub name: String,
    /// Direct awards are refused: "Direct awarding disabled for <name>".
    pub direct_awarding_disabled: bool,
    /// Not published: direct awards are refused and the public page is 404.
    pub is_private: bool,
}

impl MockBadgeClass {
    /// A published badge class that takes direct awards.
    pub fn new(entity_id: impl Into<String>, name: impl Into<String>) -> Self {
        MockBadgeClass {
            entity_id: entity_id.into(),
            name: name.into(),
            direct_awarding_disabled: false,
            is_private: false,
        }
    }

    /// With direct awarding disabled.
    pub fn awarding_disabled(mut self) -> Self {
        self.direct_awarding_disabled = true;
        self
    }

    /// Unpublished (a draft).
    pub fn private(mut self) -> Self {
        self.is_private = true;
        self
    }
}

/// What the double is set up with.
#[derive(Debug, Clone, PartialEq)]
pub struct MockConfig {
    /// The SURFconext client the SIS authenticates as.
    pub client_id: String,
    pub client_secret: String,
    pub badge_classes: Vec<MockBadgeClass>,
    /// The institution's `eppn_reg_exp_format` (Python syntax, matched at
    /// the start, case-insensitively); `None`: any eppn.
    pub eppn_regex: Option<String>,
    /// Added to every Edubadges and token answer (not to the test hooks),
    /// without blocking other requests.
    pub latency: Duration,
    /// Lifetime of issued tokens (`expires_in`, in whole seconds).
    pub token_ttl: Duration,
}

impl Default for MockConfig {
    /// Test credentials and one published badge class.
    fn default() -> Self {
        MockConfig {
            client_id: "zegel-mock-client".to_owned(),
            client_secret: "zegel-mock-secret".to_owned(),
            badge_classes: vec![MockBadgeClass::new(DEFAULT_BADGE_CLASS, DEFAULT_BADGE_CLASS_NAME)],
            eppn_regex: None,
            latency: Duration::ZERO,
            token_ttl: Duration::from_secs(3600),
        }
    }
}

impl MockConfig {
    /// Adds a badge class.
    pub fn with_badge_class(mut self, badge_class: MockBadgeClass) -> Self {
        self.badge_classes.push(badge_class);
        self
    }

    pub fn with_eppn_regex(mut self, pattern: impl Into<String>) -> Self {
        self.eppn_regex = Some(pattern.into());
        self
    }

    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    pub fn with_token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }
}

/// Serves the double on an already bound listener (bind port 0 in tests)
/// until [`MockServer::stop`] or drop. Must be called inside a tokio runtime.
///
/// Fails when the listener is unusable, the eppn pattern does not compile,
/// or two badge classes share an entity id.
pub async fn start(listener: std::net::TcpListener, config: MockConfig) -> std::io::Result<MockServer> {
    let invalid = |message: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, message);
    let eppn_regex = match &config.eppn_regex {
        Some(pattern) => Some(
            edubadges::compile_eppn_regex(pattern)
                .map_err(|e| invalid(format!("the eppn pattern {pattern:?}: {e}")))?,
        ),
        None => None,
    };
    for (i, bc) in config.badge_classes.iter().enumerate() {
        if config.badge_classes[..i].iter().any(|other| other.entity_id == bc.entity_id) {
            return Err(invalid(format!("badge class {} is configured twice", bc.entity_id)));
        }
    }
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let mut addr = listener.local_addr()?;
    if addr.ip().is_unspecified() {
        addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port());
    }
    let catalog = edubadges::Catalog {
        badge_classes: config.badge_classes.clone(),
        eppn_regex,
        base_url: format!("http://{addr}"),
        created_at: chrono::Utc::now(),
    };
    let service = Arc::new(Service::new(config, catalog));
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(http::serve(listener, Arc::clone(&service), stopped));
    Ok(MockServer { addr, service, stop: Some(stop), task: Some(task) })
}

/// A running double. Dropping it stops it (connections are cut).
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    service: Arc<Service>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl MockServer {
    /// The Edubadges base URL, e.g. `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SURFconext's token endpoint, e.g. `http://127.0.0.1:PORT/oidc/token`.
    pub fn token_url(&self) -> String {
        format!("http://{}/oidc/token", self.addr)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn config(&self) -> &MockConfig {
        &self.service.config
    }

    /// Replaces the random faults (and restarts their generator from the seed).
    pub fn set_faults(&self, faults: Faults) {
        self.service.lock().faults.set(faults);
    }

    /// The random faults in force.
    pub fn faults(&self) -> Faults {
        self.service.lock().faults.faults.clone()
    }

    /// Queues a fault for the next Edubadges API request it applies to
    /// (not the token endpoint, `/health` or the hooks). Queued faults are
    /// used in order, before random ones.
    pub fn push_fault(&self, kind: FaultKind) {
        self.service.lock().faults.queue.push_back(OneShotFault { kind, endpoint: None });
    }

    /// Queues a fault for the next request to one endpoint (the token
    /// endpoint and `/health` included).
    pub fn push_fault_on(&self, endpoint: Endpoint, kind: FaultKind) {
        self.service.lock().faults.queue.push_back(OneShotFault { kind, endpoint: Some(endpoint) });
    }

    /// The student claims the direct award: it is deleted and an assertion
    /// (issued on its creation time) takes its place. `None` unless the
    /// award exists and is `Unaccepted`.
    pub fn claim(&self, direct_award_id: &str) -> Option<String> {
        edubadges::claim(&mut self.service.lock().world, direct_award_id)
    }

    /// The student declines the direct award: `Rejected`. `false` unless it
    /// exists and is `Unaccepted`.
    pub fn reject(&self, direct_award_id: &str) -> bool {
        edubadges::reject(&mut self.service.lock().world, direct_award_id)
    }

    /// Invalidates every token issued so far (new ones can be fetched).
    pub fn expire_tokens(&self) {
        self.service.lock().tokens.revoke_all();
    }

    /// Forgets every award, bundle, assertion, token, count and fault.
    pub fn reset(&self) {
        self.service.reset();
    }

    /// A copy of the state.
    pub fn snapshot(&self) -> MockState {
        self.service.snapshot()
    }

    /// How many direct awards were created, in any status (cheaper than a
    /// snapshot when polled).
    pub fn direct_award_count(&self) -> usize {
        self.service.lock().world.direct_awards.len()
    }

    /// Stops accepting, ends open connections and waits for that.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

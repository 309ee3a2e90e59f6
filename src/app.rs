//! The application: everything the use cases and the HTTP layer share,
//! built once at start-up from the settings.

use crate::config::Settings;
use crate::credential::model::StatusPurpose;
use crate::credential::{contexts, schema::Schemas};
use crate::domain::microcredential::HttpsUrl;
use crate::jsonld::Canonicalizer;
use crate::metrics::Metrics;
use crate::signing::data_integrity::{self, ProofOptions, ProofPlacement};
use crate::signing::issuer::{Issuer, KeySetup};
use crate::status::MIN_LIST_LENGTH;
use crate::status_publisher::{PublishedList, StatusPublisher};
use crate::storage::{SlotBuffer, StatusSlot, StorageError, Store, StoreOptions};
use anyhow::Context;
use std::sync::Arc;

/// Status list positions reserved at a time. A crash loses at most this
/// many (they stay unused), and it saves a write transaction per award.
const STATUS_BATCH: usize = 64;

/// Shared application state.
pub struct App {
    pub settings: Settings,
    pub store: Store,
    pub issuer: Issuer,
    pub canonicalizer: Arc<Canonicalizer>,
    pub schemas: Arc<Schemas>,
    pub metrics: Arc<Metrics>,
    /// `settings.public_url`, validated.
    pub public_url: HttpsUrl,
    status: SlotBuffer,
    /// This instance's published status lists.
    status_lists: StatusPublisher,
    /// Verification reports of zegel's own credentials, for their pages.
    own_reports: OwnReports,
    /// This instance's published status lists, verified (`verifying`).
    pub(crate) own_lists: crate::verifying::OwnLists,
    /// Wakes this instance's import worker when a job is made here.
    imports: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("public_url", &self.settings.public_url).field("issuer", &self.issuer).finish()
    }
}

impl App {
    /// Opens the database (running migrations), loads or generates the keys
    /// and sets up the issuer.
    pub async fn build(settings: Settings) -> anyhow::Result<(Self, KeySetup)> {
        let public_url = HttpsUrl::parse(&settings.public_url)
            .map_err(|e| anyhow::anyhow!("ZEGEL_PUBLIC_URL={}: {e}", settings.public_url))?;
        let (issuer, keys) = Issuer::load(&settings).context("cannot set up the signing keys")?;
        let options = StoreOptions { max_connections: settings.db_max_connections, ..StoreOptions::default() };
        let store = Store::connect(&settings.database_url, &options).await.context("cannot open the database")?;
        let list_size = i64::try_from(MIN_LIST_LENGTH).context("status list length")?;
        let app = Self {
            status: SlotBuffer::new(store.clone(), STATUS_BATCH, list_size),
            settings,
            store,
            issuer,
            canonicalizer: Arc::new(contexts::canonicalizer()),
            schemas: Arc::new(Schemas::new()),
            metrics: Arc::new(Metrics::new()),
            public_url,
            status_lists: StatusPublisher::default(),
            own_reports: OwnReports::default(),
            own_lists: crate::verifying::OwnLists::default(),
            imports: Arc::default(),
        };
        Ok((app, keys))
    }

    /// A free status position of `purpose` for a new credential.
    pub async fn status_slot(&self, purpose: StatusPurpose) -> Result<StatusSlot, StorageError> {
        self.status.take(purpose.as_str()).await
    }

    /// `count` free positions in `purpose`'s status lists, for a batch.
    pub async fn status_slots(&self, purpose: StatusPurpose, count: usize) -> Result<Vec<StatusSlot>, StorageError> {
        self.status.take_many(purpose.as_str(), count).await
    }

    /// The signed status list credential of `list_id`, `None` for a list
    /// that does not exist (or that no credential uses). Rendered from the
    /// database and kept for at most the publish delay (`status_publisher`).
    pub async fn status_list_credential(&self, list_id: i64) -> Result<Option<PublishedList>, anyhow::Error> {
        let url = crate::issuance::status_list_url(self, list_id);
        let sign = |unsigned: &[u8], now| -> anyhow::Result<Vec<u8>> {
            let options = ProofOptions::assertion(self.issuer.verification_method().to_owned(), now);
            let key = self.issuer.signing_key().signing_key();
            Ok(data_integrity::add_proof(&self.canonicalizer, unsigned, &options, key, ProofPlacement::Object)?)
        };
        let delay = self.settings.status.publish_delay;
        self.status_lists.get(&self.store, list_id, delay, &url, self.issuer.id(), &sign).await
    }

    /// Makes this instance publish its status lists anew at the next
    /// request, after a change made here (other instances follow within the
    /// publish delay). All of them: there are few, and re-signing one is cheap.
    pub fn status_lists_changed(&self) {
        self.status_lists.invalidate_all();
        self.own_reports.clear();
    }

    /// The verification report of one of zegel's own stored credentials
    /// (see `verifying::verify_own_credential`), kept for a few seconds: the
    /// signed bytes never change, and a status change made here clears it,
    /// so a page view costs a verification at most every few seconds per
    /// credential instead of one per view. Never older than the publish delay.
    pub async fn own_report(&self, credential_id: &str, document: &[u8]) -> crate::verification::Report {
        let keep = self.settings.status.publish_delay.min(OWN_REPORT_TTL);
        if let Some(report) = self.own_reports.get(credential_id, keep) {
            return report;
        }
        let report = crate::verifying::verify_own_credential(self, document).await;
        self.own_reports.put(credential_id, report.clone());
        report
    }

    /// An import job was made here: its worker starts at once.
    pub fn imports_queued(&self) {
        self.imports.notify_one();
    }

    /// Waits until an import job is made here, or `at_most`.
    pub async fn wait_for_imports(&self, at_most: std::time::Duration) {
        let _ = tokio::time::timeout(at_most, self.imports.notified()).await;
    }

    /// `<public URL><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.settings.public_url)
    }
}

/// How long a page may show a verification report before verifying again.
const OWN_REPORT_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// The most reports kept (a crawler walking every credential must not
/// grow memory without bound: beyond this the cache starts afresh).
const OWN_REPORTS_MAX: usize = 10_000;

#[derive(Debug, Default)]
struct OwnReports {
    reports: std::sync::Mutex<std::collections::HashMap<String, (crate::verification::Report, std::time::Instant)>>,
}

impl OwnReports {
    fn get(&self, id: &str, keep: std::time::Duration) -> Option<crate::verification::Report> {
        let reports = self.reports.lock().ok()?;
        reports.get(id).filter(|(_, at)| at.elapsed() < keep).map(|(report, _)| report.clone())
    }

    fn put(&self, id: &str, report: crate::verification::Report) {
        if let Ok(mut reports) = self.reports.lock() {
            if reports.len() >= OWN_REPORTS_MAX {
                reports.clear();
            }
            reports.insert(id.to_owned(), (report, std::time::Instant::now()));
        }
    }

    fn clear(&self) {
        if let Ok(mut reports) = self.reports.lock() {
            reports.clear();
        }
    }
}

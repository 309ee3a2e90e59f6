//! The application: everything the use cases and the HTTP layer share,
//! built once at start-up from the settings.

use crate::config::Settings;
use crate::credential::{contexts, schema::Schemas};
use crate::domain::microcredential::HttpsUrl;
use crate::jsonld::Canonicalizer;
use crate::metrics::Metrics;
use crate::signing::data_integrity::{self, ProofOptions, ProofPlacement, format_datetime};
use crate::signing::issuer::{Issuer, KeySetup};
use crate::status::{self, Bitstring, MIN_LIST_LENGTH};
use crate::storage::{SlotBuffer, StatusSlot, StorageError, Store, StoreOptions};
use anyhow::Context;
use chrono::{SubsecRound, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

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
    /// Signed status list credentials by list id.
    status_lists: Mutex<HashMap<i64, Arc<String>>>,
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
            status_lists: Mutex::default(),
        };
        Ok((app, keys))
    }

    /// A free revocation status position for a new credential.
    pub async fn status_slot(&self) -> Result<StatusSlot, StorageError> {
        self.status.take("revocation").await
    }

    /// The signed status list credential of `list_id`, `None` for a list
    /// that does not exist. Signed once and kept: entries only change when
    /// credentials are revoked or suspended.
    pub async fn status_list_credential(&self, list_id: i64) -> Result<Option<Arc<String>>, anyhow::Error> {
        if let Some(signed) = self.status_lists.lock().ok().and_then(|lists| lists.get(&list_id).cloned()) {
            return Ok(Some(signed));
        }
        if self.store.status_slots_in_use(list_id).await? == 0 {
            return Ok(None);
        }
        let now = Utc::now().trunc_subsecs(0);
        let url = self.url(&format!("/status/{list_id}"));
        let bits = Bitstring::new(MIN_LIST_LENGTH);
        let unsigned = status::list_credential(&url, self.issuer.id(), "revocation", &bits, &format_datetime(now));
        let unsigned = serde_json::to_vec(&unsigned)?;
        let options = ProofOptions::assertion(self.issuer.verification_method().to_owned(), now);
        let key = self.issuer.signing_key().signing_key();
        let signed = data_integrity::add_proof(&self.canonicalizer, &unsigned, &options, key, ProofPlacement::Object)?;
        let signed = Arc::new(String::from_utf8(signed)?);
        if let Ok(mut lists) = self.status_lists.lock() {
            lists.insert(list_id, signed.clone());
        }
        Ok(Some(signed))
    }

    /// `<public URL><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.settings.public_url)
    }
}

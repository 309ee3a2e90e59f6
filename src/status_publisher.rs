//! Publishing status lists: each list credential is rendered from the
//! database, signed, and kept in memory for at most the publish delay
//! (`ZEGEL_STATUS_PUBLISH_DELAY_SECS`). After that the list's `changed_at`
//! is read (one indexed row); an unchanged list is served on, a changed one
//! is rendered and signed anew. So a revocation shows on every instance
//! within the delay, and a busy list costs one small query per delay.

use crate::status::{self, Bitstring};
use crate::storage::{StatusListBits, Store};
use chrono::{DateTime, SubsecRound, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A signed status list credential as served.
#[derive(Debug, Clone)]
pub struct PublishedList {
    /// The signed `BitstringStatusListCredential` (JSON).
    pub document: Arc<String>,
    /// When its bits last changed (or it was first published), precise:
    /// HTTP dates have whole seconds, and a change within the second of the
    /// previous one must not be answered "not modified".
    pub last_modified: DateTime<Utc>,
    /// How much longer this copy may be served (the HTTP `max-age`).
    pub fresh_for: Duration,
}

#[derive(Debug)]
struct Cached {
    document: Arc<String>,
    changed_at: Option<DateTime<Utc>>,
    last_modified: DateTime<Utc>,
    checked: Instant,
}

/// Signs a rendered list: (unsigned JSON bytes, time) → signed JSON bytes.
pub type Signer<'a> = dyn Fn(&[u8], DateTime<Utc>) -> anyhow::Result<Vec<u8>> + 'a;

/// The in-memory copies of this instance's published lists.
#[derive(Debug, Default)]
pub struct StatusPublisher {
    lists: Mutex<HashMap<i64, Cached>>,
}

impl StatusPublisher {
    /// The list credential of `list_id`, `None` for a list that does not
    /// exist or that no credential uses.
    pub async fn get(
        &self,
        store: &Store,
        list_id: i64,
        delay: Duration,
        list_url: &str,
        issuer: &str,
        sign: &Signer<'_>,
    ) -> anyhow::Result<Option<PublishedList>> {
        let cached = self.lists.lock().ok().and_then(|lists| {
            lists.get(&list_id).map(|c| (c.document.clone(), c.changed_at, c.last_modified, c.checked.elapsed()))
        });
        if let Some((document, changed_at, last_modified, age)) = cached {
            if age < delay {
                return Ok(Some(PublishedList { document, last_modified, fresh_for: delay - age }));
            }
            // Stale: unchanged lists are served on without signing again.
            if let Some(now_changed) = store.status_list_changed_at(list_id).await?
                && now_changed == changed_at
            {
                if let Ok(mut lists) = self.lists.lock()
                    && let Some(entry) = lists.get_mut(&list_id)
                {
                    entry.checked = Instant::now();
                }
                return Ok(Some(PublishedList { document, last_modified, fresh_for: delay }));
            }
        }
        let checked = Instant::now();
        let Some(bits) = store.status_list_bits(list_id).await? else { return Ok(None) };
        let now = Utc::now().trunc_subsecs(0);
        let document = Arc::new(String::from_utf8(sign(&render(&bits, list_url, issuer, delay, now)?, now)?)?);
        let last_modified = bits.changed_at.unwrap_or(now);
        if let Ok(mut lists) = self.lists.lock() {
            lists.insert(
                list_id,
                Cached { document: document.clone(), changed_at: bits.changed_at, last_modified, checked },
            );
        }
        Ok(Some(PublishedList { document, last_modified, fresh_for: delay.saturating_sub(checked.elapsed()) }))
    }

    /// Forgets this instance's copies, so the next request renders each
    /// list at once (after a change made here).
    pub fn invalidate_all(&self) {
        if let Ok(mut lists) = self.lists.lock() {
            lists.clear();
        }
    }
}

/// The unsigned list credential of `bits` (JSON bytes).
fn render(
    bits: &StatusListBits,
    list_url: &str,
    issuer: &str,
    delay: Duration,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<u8>> {
    let size = usize::try_from(bits.list_size)?;
    let mut bitstring = Bitstring::new(size);
    for index in &bits.set {
        bitstring.set(u64::try_from(*index)?, true)?;
    }
    let mut credential = status::list_credential(
        list_url,
        issuer,
        &bits.purpose,
        &bitstring,
        &crate::signing::data_integrity::format_datetime(now),
    );
    // How often a verifier should fetch the list again, in milliseconds.
    credential["credentialSubject"]["ttl"] = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX).into();
    Ok(serde_json::to_vec(&credential)?)
}

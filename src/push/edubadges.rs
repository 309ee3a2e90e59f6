//! The Edubadges SIS API client (contract sections 1 and 2): an OAuth2
//! client-credentials token from SURFconext, cached and refreshed before it
//! expires (and once more when Edubadges answers 403, its "not
//! authenticated"), and one method per endpoint zegel uses. Every failure
//! comes back as an [`answer::Failure`] that says whether the request may
//! have been carried out. Never logs the token or the client secret.

use super::answer::{self, Created, Effect, Failure, Rejection};
use crate::config::EdubadgesSettings;
use crate::metrics::Metrics;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A bundle of direct awards for one badge class (`POST /directaward/create`).
#[derive(Debug, Clone, Serialize)]
pub struct CreateBundle {
    pub badgeclass: String,
    pub notify_recipients: bool,
    pub batch_mode: bool,
    pub identifier_type: &'static str,
    /// Free text Edubadges keeps on the bundle: zegel names itself and the batch.
    pub sis_user_id: String,
    pub direct_awards: Vec<DirectAward>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectAward {
    pub eppn: Option<String>,
    pub recipient_email: String,
    pub first_name: Option<String>,
    pub surname: Option<String>,
    pub grade_achieved: Option<String>,
    pub evidence_url: Option<String>,
    pub narrative: Option<String>,
}

/// `GET /directaward/bundle/{id}` (contract 1.2), the parts zegel reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Bundle {
    #[serde(default)]
    pub direct_awards: Vec<BundleDirectAward>,
    #[serde(default)]
    pub badge_assertions: Vec<BundleAssertion>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BundleDirectAward {
    #[serde(default)]
    pub recipient_email: Option<String>,
    #[serde(default)]
    pub eppn: Option<String>,
    /// `Unaccepted`, `Scheduled`, `Rejected`, `Deleted`, `Revoked`.
    pub status: String,
    pub entity_id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BundleAssertion {
    #[serde(default)]
    pub email: Option<String>,
    /// The user's first eppn, or `[]` when they have none (a quirk).
    #[serde(default)]
    pub eppn: serde_json::Value,
    #[serde(default)]
    pub revoked: bool,
    pub entity_id: String,
}

impl BundleAssertion {
    pub fn eppn(&self) -> Option<&str> {
        self.eppn.as_str()
    }
}

/// A row of `GET /queries/direct-awards` (contract 1.6).
#[derive(Debug, Clone, Deserialize)]
pub struct ListedDirectAward {
    #[serde(rename = "entityId")]
    pub entity_id: String,
    #[serde(default)]
    pub eppn: Option<String>,
    #[serde(rename = "recipientEmail", default)]
    pub recipient_email: Option<String>,
    pub bc_entity_id: String,
}

struct Token {
    value: String,
    /// Fetched afresh from this moment on.
    refresh_at: Instant,
}

/// The client. Cheap to share (`Arc`); requests run concurrently.
pub struct EdubadgesClient {
    http: reqwest::Client,
    settings: EdubadgesSettings,
    token: tokio::sync::Mutex<Option<Token>>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for EdubadgesClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdubadgesClient").field("url", &self.settings.url).finish_non_exhaustive()
    }
}

/// What a request got back: status, body and a `Retry-After`.
struct Answer {
    status: u16,
    body: Vec<u8>,
    retry_after: Option<Duration>,
}

/// Largest answer read (the unclaimed listing of a large institution is
/// the biggest: a few hundred bytes per direct award).
const MAX_ANSWER: usize = 64 * 1024 * 1024;

impl EdubadgesClient {
    pub fn new(settings: EdubadgesSettings, metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        install_tls_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .user_agent(concat!("zegel/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { http, settings, token: tokio::sync::Mutex::new(None), metrics })
    }

    pub fn settings(&self) -> &EdubadgesSettings {
        &self.settings
    }

    /// `POST /directaward/create`.
    pub async fn create(&self, bundle: &CreateBundle) -> Result<Created, Failure> {
        let url = format!("{}/directaward/create", self.settings.url);
        let answer =
            self.send("create", Effect::Creates, |http, token| http.post(&url).bearer_auth(token).json(bundle)).await?;
        answer::create_answer(answer.status, &answer.body, answer.retry_after)
    }

    /// `GET /directaward/bundle/{id}`; `None` when Edubadges does not know it.
    pub async fn bundle(&self, bundle_id: &str) -> Result<Option<Bundle>, Failure> {
        let url = format!("{}/directaward/bundle/{}", self.settings.url, path_segment(bundle_id));
        let answer = self.send("bundle", Effect::Repeatable, |http, token| http.get(&url).bearer_auth(token)).await?;
        match answer.status {
            200 => json(&answer.body).map(Some),
            404 => Ok(None),
            status => Err(answer::failure(status, &answer.body, answer.retry_after, Effect::Repeatable)),
        }
    }

    /// `GET /queries/direct-awards?status=unclaimed|deleted`: the
    /// institution's direct awards in that state (reconciliation).
    pub async fn direct_awards(&self, status: &'static str) -> Result<Vec<ListedDirectAward>, Failure> {
        let url = format!("{}/queries/direct-awards?status={status}", self.settings.url);
        let answer =
            self.send("direct_awards", Effect::Repeatable, |http, token| http.get(&url).bearer_auth(token)).await?;
        match answer.status {
            200 => json(&answer.body),
            status => Err(answer::failure(status, &answer.body, answer.retry_after, Effect::Repeatable)),
        }
    }

    /// `PUT /directaward/delete-direct-awards`: the ones Edubadges could not
    /// delete (already deleted counts as such).
    pub async fn delete_direct_awards(&self, reason: &str, ids: &[String]) -> Result<Vec<Rejection>, Failure> {
        #[derive(Deserialize)]
        struct Deleted {
            #[serde(default)]
            un_successful_direct_awards: Vec<Rejection>,
        }
        let url = format!("{}/directaward/delete-direct-awards", self.settings.url);
        let body = serde_json::json!({
            "revocation_reason": reason,
            "direct_awards": ids.iter().map(|id| serde_json::json!({"entity_id": id})).collect::<Vec<_>>(),
        });
        let answer = self
            .send("delete_direct_awards", Effect::Repeatable, |http, token| {
                http.put(&url).bearer_auth(token).json(&body)
            })
            .await?;
        match answer.status {
            200 => json::<Deleted>(&answer.body).map(|d| d.un_successful_direct_awards),
            status => Err(answer::failure(status, &answer.body, answer.retry_after, Effect::Repeatable)),
        }
    }

    /// `POST /issuer/revoke-assertions`.
    pub async fn revoke_assertions(&self, reason: &str, ids: &[String]) -> Result<(), Failure> {
        let url = format!("{}/issuer/revoke-assertions", self.settings.url);
        let body = serde_json::json!({
            "revocation_reason": reason,
            "assertions": ids.iter().map(|id| serde_json::json!({"entity_id": id})).collect::<Vec<_>>(),
        });
        let answer = self
            .send("revoke_assertions", Effect::Repeatable, |http, token| http.post(&url).bearer_auth(token).json(&body))
            .await?;
        match answer.status {
            200 => Ok(()),
            status => Err(answer::failure(status, &answer.body, answer.retry_after, Effect::Repeatable)),
        }
    }

    /// Sends a request with the current token; on 403 fetches a new token
    /// and sends it once more (a 403 means nothing was done).
    async fn send<F>(&self, endpoint: &'static str, effect: Effect, build: F) -> Result<Answer, Failure>
    where
        F: Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    {
        let token = self.token(false).await?;
        let answer = self.exchange(endpoint, effect, build(&self.http, &token)).await?;
        if answer.status != 403 {
            return Ok(answer);
        }
        self.forget_token(&token).await;
        let token = self.token(true).await?;
        self.exchange(endpoint, effect, build(&self.http, &token)).await
    }

    /// One request and its whole answer, timed and counted.
    async fn exchange(
        &self,
        endpoint: &'static str,
        effect: Effect,
        request: reqwest::RequestBuilder,
    ) -> Result<Answer, Failure> {
        let started = Instant::now();
        let result = read(request).await;
        let outcome = match &result {
            Ok(answer) => answer.status.to_string(),
            Err(error) if error.is_timeout() => "timeout".to_owned(),
            Err(error) if error.is_connect() => "connect_error".to_owned(),
            Err(_) => "transport_error".to_owned(),
        };
        self.metrics.record_edubadges(endpoint, outcome, started.elapsed());
        result.map_err(|error| transport_failure(&error, effect))
    }

    async fn forget_token(&self, used: &str) {
        let mut cached = self.token.lock().await;
        if cached.as_ref().is_some_and(|t| t.value == used) {
            *cached = None;
        }
    }

    /// The cached token, or a new one (always a new one with `fresh`).
    async fn token(&self, fresh: bool) -> Result<String, Failure> {
        // Held while fetching: concurrent requests wait for one new token
        // instead of each fetching their own.
        let mut cached = self.token.lock().await;
        if !fresh
            && let Some(token) = cached.as_ref()
            && Instant::now() < token.refresh_at
        {
            return Ok(token.value.clone());
        }
        let token = self.fetch_token().await?;
        let value = token.value.clone();
        *cached = Some(token);
        Ok(value)
    }

    async fn fetch_token(&self) -> Result<Token, Failure> {
        #[derive(Deserialize)]
        struct Granted {
            access_token: String,
            #[serde(default)]
            expires_in: Option<u64>,
        }
        let mut form = vec![("grant_type", "client_credentials")];
        if !self.settings.scope.is_empty() {
            form.push(("scope", self.settings.scope.as_str()));
        }
        let request = self
            .http
            .post(&self.settings.token_url)
            .basic_auth(&self.settings.client_id, Some(self.settings.client_secret.expose()))
            .form(&form);
        let answer = self.exchange("token", Effect::Repeatable, request).await?;
        if answer.status != 200 {
            // Fetching a token changes nothing: always worth trying again,
            // but an operator must fix wrong credentials, so say which.
            let reason = format!(
                "the token endpoint answered {}: {}",
                answer.status,
                token_error(&answer.body).unwrap_or_else(|| "(no OAuth2 error)".to_owned())
            );
            return Err(Failure::Retry { reason, retry_after: answer.retry_after });
        }
        let granted: Granted = json(&answer.body).map_err(|_| Failure::Retry {
            reason: "the token endpoint's answer has no access_token".into(),
            retry_after: None,
        })?;
        // Refresh a minute early (or at 90 % of a short lifetime), so a token
        // never expires between being read here and arriving at Edubadges.
        let lifetime = Duration::from_secs(granted.expires_in.unwrap_or(300));
        let margin = Duration::from_secs(60).min(lifetime / 10);
        Ok(Token { value: granted.access_token, refresh_at: Instant::now() + lifetime - margin })
    }
}

/// reqwest is built without a default TLS provider (see Cargo.toml): every
/// program that makes an HTTP client calls this first. Repeating it is harmless.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The OAuth2 `error` (never the description, which may echo input).
fn token_error(body: &[u8]) -> Option<String> {
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    json.get("error").and_then(|e| e.as_str()).map(str::to_owned)
}

async fn read(request: reqwest::RequestBuilder) -> Result<Answer, reqwest::Error> {
    let mut response = request.send().await?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| answer::retry_after(v, chrono::Utc::now()));
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        // A runaway answer is cut off; what we read is enough to report it.
        if body.len() + chunk.len() > MAX_ANSWER {
            break;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer { status, body, retry_after })
}

/// A request that got no answer: never connected means never sent.
fn transport_failure(error: &reqwest::Error, effect: Effect) -> Failure {
    let what = if error.is_timeout() {
        "no answer in time"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "the connection failed"
    };
    // The error's text names the URL (no secrets in it) and the cause.
    let reason = format!("{what}: {}", error_chain(error));
    if error.is_connect() {
        return Failure::Retry { reason, retry_after: None };
    }
    match effect {
        Effect::Creates => Failure::Unknown { reason },
        Effect::Repeatable => Failure::Retry { reason, retry_after: None },
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Failure> {
    serde_json::from_slice(body)
        .map_err(|e| Failure::Retry { reason: format!("Edubadges' answer could not be read: {e}"), retry_after: None })
}

/// An id as one path segment (Edubadges ids are url-safe; this keeps a
/// stray `/` or `?` from changing the request).
fn path_segment(id: &str) -> String {
    id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

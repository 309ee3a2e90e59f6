//! Verification with status: the (pure, synchronous) verifier is given the
//! status lists a credential names, gathered first: zegel's own from its
//! database (so a revocation shows at once, whatever the network), other
//! issuers' over HTTP from allow-listed hosts only. For zegel's own
//! credentials the verdict then carries the reason zegel recorded.

use crate::app::App;
use crate::status;
use crate::verification::{
    Binding, InvalidCode, KeyResolver, PresentationReport, Report, ResolveError, ResolvedKey, StatusListSource,
    Verdict, VerifiedStatusList, Verifier, VerifyOptions,
};
use base64::Engine as _;
use serde_json::Value;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The status list URLs a credential (JSON, or a compact VC-JWT) names,
/// read without checking anything (the verifier does that).
pub fn status_list_urls(input: &[u8]) -> Vec<String> {
    let trimmed = input.trim_ascii();
    let credential: Option<Value> = if trimmed.first() == Some(&b'{') {
        serde_json::from_slice(trimmed).ok()
    } else {
        // The payload of a compact JWS: the credential itself (VC-JWT 2.0),
        // or under `vc` (1.1).
        std::str::from_utf8(trimmed)
            .ok()
            .and_then(|text| text.split('.').nth(1))
            .and_then(|payload| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok())
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .map(|payload| if payload.get("vc").is_some() { payload["vc"].clone() } else { payload })
    };
    let Some(credential) = credential else { return Vec::new() };
    let mut urls: Vec<String> = status::entries(credential.get("credentialStatus"))
        .into_iter()
        .filter_map(|entry| entry.get("statusListCredential").and_then(Value::as_str).map(str::to_owned))
        .collect();
    urls.dedup();
    urls
}

/// Status lists gathered ahead of a verification: what was got, and why
/// the others were not.
#[derive(Debug, Clone, Default)]
pub struct GatheredStatusLists {
    lists: HashMap<String, Result<Vec<u8>, String>>,
    /// zegel's own lists, verified once per published copy (see [`OwnLists`]).
    verified: HashMap<String, VerifiedStatusList>,
}

impl GatheredStatusLists {
    pub fn insert(&mut self, url: &str, list: Result<Vec<u8>, String>) {
        self.lists.insert(url.to_owned(), list);
    }

    /// A list vouched for as verified (zegel's own).
    pub fn insert_verified(&mut self, url: &str, list: VerifiedStatusList) {
        self.verified.insert(url.to_owned(), list);
    }

    pub fn contains(&self, url: &str) -> bool {
        self.lists.contains_key(url) || self.verified.contains_key(url)
    }
}

impl StatusListSource for GatheredStatusLists {
    fn status_list(&self, url: &str) -> Result<Vec<u8>, String> {
        match self.lists.get(url) {
            Some(found) => found.clone(),
            None => Err(format!("the status list {url} was not fetched (its host is not allow-listed)")),
        }
    }

    fn verified_list(&self, url: &str) -> Option<VerifiedStatusList> {
        self.verified.get(url).cloned()
    }
}

/// zegel's own status lists as verified: each published copy (the very
/// `Arc` the publisher serves, re-made whenever the list changes or is
/// signed anew) is verified once, as any verifier would verify it, and its
/// bits are then read from here instead of being verified and inflated
/// again for every credential that names the list.
#[derive(Debug, Default)]
pub struct OwnLists {
    lists: Mutex<HashMap<i64, (Arc<String>, VerifiedStatusList)>>,
}

impl OwnLists {
    /// The verified form of `document`, the published list `list_id`;
    /// `None` when it does not verify (the verifier then says why).
    fn get(&self, app: &App, list_id: i64, document: &Arc<String>) -> Option<VerifiedStatusList> {
        if let Ok(lists) = self.lists.lock()
            && let Some((copy, verified)) = lists.get(&list_id)
            && Arc::ptr_eq(copy, document)
        {
            return Some(verified.clone());
        }
        let verifier =
            Verifier::new(app.canonicalizer.clone(), app.schemas.clone()).with_resolver(Arc::new(own_keys(app)));
        let verified =
            VerifiedStatusList::verify(&verifier, document.as_bytes(), &VerifyOptions::at(chrono::Utc::now())).ok()?;
        if let Ok(mut lists) = self.lists.lock() {
            lists.insert(list_id, (document.clone(), verified.clone()));
        }
        Some(verified)
    }
}

/// Whom zegel may ask for another issuer's status list or keys.
#[derive(Debug, Clone)]
pub struct FetchPolicy {
    /// Host names (exact, lower case) that may be asked; none: nobody;
    /// `*`: any host not denied (still public addresses only).
    pub allowed_hosts: Vec<String>,
    /// Host names (exact, lower case) never asked, whatever is allowed.
    pub denied_hosts: Vec<String>,
    /// Also plain `http` and loopback, private and link-local addresses
    /// (tests, intranets). Off, only `https` to public addresses.
    pub allow_local: bool,
    pub timeout: Duration,
    /// Largest list accepted (a 131,072-entry list is a few KB compressed).
    pub max_bytes: usize,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            allowed_hosts: Vec::new(),
            denied_hosts: Vec::new(),
            allow_local: false,
            timeout: Duration::from_secs(5),
            max_bytes: 2 << 20,
        }
    }
}

impl FetchPolicy {
    /// Whether `host` (lower case) may be asked at all.
    pub fn allows_host(&self, host: &str) -> bool {
        !self.denied_hosts.iter().any(|h| h == host) && self.allowed_hosts.iter().any(|h| h == host || h == "*")
    }
}

/// Fetches the lists at `urls` that `policy` allows; each refusal or
/// failure is recorded with its reason (the verifier reports it).
pub async fn fetch_status_lists(urls: &[String], policy: &FetchPolicy, into: &mut GatheredStatusLists) {
    for url in urls {
        if into.contains(url) {
            continue;
        }
        let result = fetch_one(url, policy).await;
        into.insert(url, result);
    }
}

async fn fetch_one(url: &str, policy: &FetchPolicy) -> Result<Vec<u8>, String> {
    fetch_limited(url, policy, "the status list", "application/vc+ld+json, application/ld+json, application/json").await
}

/// GETs `url` as `policy` allows (allowed host, https to public addresses
/// unless local ones are allowed, pinned address, no redirects, time and
/// size limits); `what` names the resource in every refusal.
async fn fetch_limited(url: &str, policy: &FetchPolicy, what: &str, accept: &str) -> Result<Vec<u8>, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("the URL of {what} {url} is not a URL: {e}"))?;
    let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
    if !policy.allows_host(&host) {
        return Err(format!("{what} {url} was not fetched: {host} is not an allowed host"));
    }
    match parsed.scheme() {
        "https" => {}
        "http" if policy.allow_local => {}
        other => return Err(format!("{what} {url} was not fetched: {other} is not https")),
    }
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addresses: Vec<std::net::SocketAddr> =
        tokio::time::timeout(policy.timeout, tokio::net::lookup_host((host.as_str(), port)))
            .await
            .map_err(|_| format!("looking up {host} timed out"))?
            .map_err(|e| format!("cannot look up {host}: {e}"))?
            .collect();
    let Some(address) = addresses.first().copied() else { return Err(format!("{host} has no address")) };
    if !policy.allow_local && addresses.iter().any(|a| !is_public(a.ip())) {
        return Err(format!("{what} {url} was not fetched: {host} has a private or local address"));
    }
    crate::push::edubadges::install_tls_provider();
    // Pinned to the address just checked, so a second lookup cannot lead
    // elsewhere (DNS rebinding); no redirects.
    let client = reqwest::Client::builder()
        .timeout(policy.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .resolve(&host, address)
        .user_agent(concat!("zegel/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
    let mut response = client
        .get(parsed)
        .header("accept", accept)
        .send()
        .await
        .map_err(|e| format!("fetching {what} {url} failed: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("{what} {url} answered HTTP {}", response.status().as_u16()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| format!("reading {what} {url}: {e}"))? {
        if body.len() + chunk.len() > policy.max_bytes {
            return Err(format!("{what} {url} is larger than {} bytes", policy.max_bytes));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Whether an address is on the public internet (not loopback, private,
/// link-local, unique-local, shared, documentation or unspecified).
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            !(v6.is_loopback() || v6.is_unspecified() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// zegel's own lists among `urls`, read from its database (as published).
pub async fn own_status_lists(app: &App, urls: &[String], into: &mut GatheredStatusLists) {
    let prefix = app.url("/status/");
    for url in urls {
        let Some(id) = url.strip_prefix(&prefix).and_then(|n| n.parse::<i64>().ok()) else { continue };
        let list = match app.status_list_credential(id).await {
            Ok(Some(list)) => {
                if let Some(verified) = app.own_lists.get(app, id, &list.document) {
                    into.insert_verified(url, verified);
                    continue;
                }
                Ok(list.document.as_bytes().to_vec())
            }
            Ok(None) => Err(format!("zegel has no status list {url}")),
            Err(e) => Err(format!("reading zegel's status list {url} failed: {e:#}")),
        };
        into.insert(url, list);
    }
}

/// Verifies `input` with the status lists it names: zegel's own (when `app`
/// is given) from the database, others' as `policy` allows. For zegel's own
/// credentials a revoked or suspended verdict carries the recorded reason.
/// `options` are made once the lists are gathered (see [`verify_gathered`]).
pub async fn verify_with_status(
    app: Option<&App>,
    verifier: Verifier,
    input: &[u8],
    options: impl FnOnce() -> VerifyOptions,
    policy: &FetchPolicy,
) -> Report {
    let urls = status_list_urls(input);
    let mut lists = GatheredStatusLists::default();
    if let Some(app) = app {
        own_status_lists(app, &urls, &mut lists).await;
    }
    fetch_status_lists(&urls, policy, &mut lists).await;
    let options = options();
    let mut report = verifier.with_status_lists(Arc::new(lists)).verify(input, &options);
    if let Some(app) = app {
        add_recorded_reason(app, &mut report).await;
    }
    report
}

/// "revoked (…); recorded reason: …; superseded by <url>" for zegel's own.
async fn add_recorded_reason(app: &App, report: &mut Report) {
    let Verdict::Invalid { code: code @ (InvalidCode::Revoked | InvalidCode::Suspended), reason } = &report.verdict
    else {
        return;
    };
    let own = app.url("/credentials/");
    let Some(id) = report.credential.as_ref().and_then(|c| c.id.as_deref()).and_then(|id| id.strip_prefix(&own)) else {
        return;
    };
    let Ok(Some(state)) = app.store.credential_state(id).await else { return };
    let recorded = match code {
        InvalidCode::Revoked => state.revocation_reason.clone(),
        _ => state.suspension_reason.clone(),
    };
    let mut reason = reason.clone();
    if let Some(recorded) = recorded {
        reason.push_str(&format!("; reason recorded by the issuer: {recorded}"));
    }
    if let Some(next) = &state.superseded_by {
        reason.push_str(&format!("; superseded by {}", crate::issuance::credential_url(app, next)));
    }
    report.verdict = Verdict::Invalid { code: *code, reason };
}

/// Where the keys of a verification method are published: the DID or
/// controller document (its id, without the fragment) and the URL to fetch
/// it from; `Ok(None)` for methods resolved offline (did:key).
pub fn key_document_location(verification_method: &str) -> Result<Option<(String, String)>, String> {
    let base = verification_method.split_once('#').map_or(verification_method, |(base, _)| base);
    if base.starts_with("did:key:") {
        return Ok(None);
    }
    if base.starts_with("did:web:") {
        let url = crate::signing::did::did_web_document_url(base).map_err(|e| e.to_string())?;
        return Ok(Some((base.to_owned(), url)));
    }
    if base.starts_with("https://") || base.starts_with("http://") {
        return Ok(Some((base.to_owned(), base.to_owned())));
    }
    match base.strip_prefix("did:").and_then(|rest| rest.split(':').next()) {
        Some(method) => Err(format!("the DID method did:{method} of {verification_method} is not supported")),
        None => Err(format!("the verification method {verification_method} is neither a DID nor an https URL")),
    }
}

/// The verification methods a credential (JSON with embedded proofs, or a
/// compact VC-JWT's `kid`) names, read without checking anything.
pub fn verification_methods(input: &[u8]) -> Vec<String> {
    let trimmed = input.trim_ascii();
    let mut methods: Vec<String> = Vec::new();
    if trimmed.first() == Some(&b'{') {
        let Ok(credential) = serde_json::from_slice::<Value>(trimmed) else { return methods };
        let proofs = match credential.get("proof") {
            Some(Value::Array(proofs)) => proofs.iter().collect(),
            Some(proof) => vec![proof],
            None => Vec::new(),
        };
        methods.extend(
            proofs.into_iter().filter_map(|p| p.get("verificationMethod").and_then(Value::as_str)).map(str::to_owned),
        );
    } else if let Some(kid) = std::str::from_utf8(trimmed)
        .ok()
        .and_then(|text| text.split('.').next())
        .and_then(|header| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).ok())
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .and_then(|header| header.get("kid").and_then(Value::as_str).map(str::to_owned))
    {
        methods.push(kid);
    }
    methods.dedup();
    methods
}

/// The most status lists, and key documents, fetched for one verification.
pub const MAX_FETCHES: usize = 8;

/// DID and controller documents gathered ahead of a verification, by
/// document id: what was got, and why the others were not. The verifier
/// resolves keys from them without touching the network.
#[derive(Debug, Clone, Default)]
pub struct GatheredKeys {
    documents: HashMap<String, Result<Value, String>>,
}

impl GatheredKeys {
    pub fn insert(&mut self, document_id: &str, document: Result<Value, String>) {
        self.documents.insert(document_id.to_owned(), document);
    }

    pub fn contains(&self, document_id: &str) -> bool {
        self.documents.contains_key(document_id)
    }
}

impl KeyResolver for GatheredKeys {
    fn resolve(&self, verification_method: &str) -> Result<ResolvedKey, ResolveError> {
        let base = verification_method.split_once('#').map_or(verification_method, |(base, _)| base);
        match self.documents.get(base) {
            None => Err(ResolveError::Unavailable(format!(
                "the key {verification_method} was not fetched (its host is not allow-listed)"
            ))),
            Some(Err(why)) => Err(ResolveError::Unavailable(why.clone())),
            Some(Ok(document)) => key_from_document(document, base, verification_method),
        }
    }
}

/// The key `verification_method` from the DID or controller document
/// `document` of `controller`, and whether the controller lets it sign
/// credentials (`assertionMethod`).
pub fn key_from_document(
    document: &Value,
    controller: &str,
    verification_method: &str,
) -> Result<ResolvedKey, ResolveError> {
    if document.get("id").and_then(Value::as_str) != Some(controller) {
        return Err(ResolveError::Invalid(format!(
            "the document fetched for {controller} is not {controller}'s (its id is {})",
            document.get("id").map_or_else(|| "missing".to_owned(), Value::to_string)
        )));
    }
    // Ids may be relative to the document (`#key-1`).
    let absolute = |id: &str| if id.starts_with('#') { format!("{controller}{id}") } else { id.to_owned() };
    let listed = |member: &str| -> Vec<&Value> {
        document.get(member).and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default()
    };
    let method = listed("verificationMethod")
        .into_iter()
        .chain(listed("assertionMethod").into_iter().filter(|m| m.is_object()))
        .chain(listed("authentication").into_iter().filter(|m| m.is_object()))
        .find(|m| m.get("id").and_then(Value::as_str).map(absolute).as_deref() == Some(verification_method))
        .ok_or_else(|| {
            ResolveError::Invalid(format!("{controller} does not list the key {verification_method} (any more)"))
        })?;
    let key = if let Some(multibase) = method.get("publicKeyMultibase").and_then(Value::as_str) {
        crate::signing::multikey::decode_ed25519_public(multibase)
            .map(crate::signing::jwt::PublicKey::Ed25519)
            .map_err(|e| e.to_string())
    } else if let Some(jwk) = method.get("publicKeyJwk") {
        crate::signing::jwt::PublicKey::from_jwk(jwk).map_err(|e| e.to_string())
    } else {
        Err("it has neither publicKeyMultibase nor publicKeyJwk".to_owned())
    }
    .map_err(|e| ResolveError::Invalid(format!("the key {verification_method} cannot be used: {e}")))?;
    let assertion_method = listed("assertionMethod").into_iter().any(|m| {
        let id = m.as_str().or_else(|| m.get("id").and_then(Value::as_str));
        id.map(absolute).as_deref() == Some(verification_method)
    });
    let authentication = listed("authentication").into_iter().any(|m| {
        let id = m.as_str().or_else(|| m.get("id").and_then(Value::as_str));
        id.map(absolute).as_deref() == Some(verification_method)
    });
    Ok(ResolvedKey {
        verification_method: verification_method.to_owned(),
        controller: controller.to_owned(),
        key,
        binding: Binding::ControllerDocument,
        assertion_method,
        authentication,
    })
}

/// zegel's own keys: its DID document, as `/.well-known/did.json` serves it
/// (retired keys too, so what they signed keeps verifying).
pub fn own_keys(app: &App) -> GatheredKeys {
    let mut keys = GatheredKeys::default();
    keys.insert(app.issuer.did_web(), Ok(app.issuer.did_document()));
    keys
}

/// Fetches the documents behind `methods` that `policy` allows; each
/// refusal or failure is recorded with its reason (the verifier reports it).
pub async fn fetch_key_documents(methods: &[String], policy: &FetchPolicy, into: &mut GatheredKeys) {
    let mut fetched = 0;
    for method in methods {
        match key_document_location(method) {
            Ok(None) => {}
            Ok(Some((id, _))) if into.contains(&id) => {}
            // A credential naming ever more hosts must not make zegel wait on all of them.
            Ok(Some((id, _))) if fetched == MAX_FETCHES => {
                into.insert(
                    &id,
                    Err(format!("{id} was not fetched: a credential may name at most {MAX_FETCHES} key documents")),
                );
            }
            Ok(Some((id, url))) => {
                fetched += 1;
                let accept = "application/did+ld+json, application/did+json, application/ld+json, application/json";
                let document = fetch_limited(&url, policy, "the key document", accept).await.and_then(|bytes| {
                    serde_json::from_slice::<Value>(&bytes)
                        .map_err(|e| format!("the key document {url} is not JSON: {e}"))
                });
                into.insert(&id, document);
            }
            Err(why) => {
                let base = method.split_once('#').map_or(method.as_str(), |(base, _)| base);
                into.insert(base, Err(why));
            }
        }
    }
}

/// Verifies `input` with everything it needs from outside gathered first:
/// status lists as [`verify_with_status`] gathers them, and the keys of the
/// credential and of its status lists from zegel's own DID document (when
/// `app` is given) or fetched as `policy` allows. The verifier's key
/// resolver is replaced by the gathered keys. `options` are made once all is
/// gathered: a "now" taken before could precede a status list zegel signed
/// while gathering, which would then not be valid yet.
pub async fn verify_gathered(
    app: Option<&App>,
    verifier: Verifier,
    input: &[u8],
    options: impl FnOnce() -> VerifyOptions,
    policy: &FetchPolicy,
) -> Report {
    let (keys, lists) = gather(app, &[input], policy).await;
    let options = options();
    let mut report = verifier.with_resolver(Arc::new(keys)).with_status_lists(Arc::new(lists)).verify(input, &options);
    if let Some(app) = app {
        add_recorded_reason(app, &mut report).await;
    }
    report
}

/// Verifies a presentation (JSON) and the credentials it carries, with
/// the keys of every proof and the status lists of every credential
/// gathered first, as [`verify_gathered`] does for one credential.
pub async fn verify_presentation_gathered(
    app: &App,
    verifier: Verifier,
    input: &[u8],
    options: impl FnOnce() -> VerifyOptions,
    challenge: Option<&str>,
    domain: Option<&str>,
    policy: &FetchPolicy,
) -> PresentationReport {
    let credentials: Vec<Vec<u8>> = serde_json::from_slice::<Value>(input)
        .ok()
        .and_then(|presentation| match presentation.get("verifiableCredential") {
            Some(Value::Array(items)) => {
                Some(items.iter().filter(|c| c.is_object()).map(|c| c.to_string().into_bytes()).collect())
            }
            Some(single @ Value::Object(_)) => Some(vec![single.to_string().into_bytes()]),
            _ => None,
        })
        .unwrap_or_default();
    let mut documents: Vec<&[u8]> = vec![input];
    documents.extend(credentials.iter().map(Vec::as_slice));
    let (keys, lists) = gather(Some(app), &documents, policy).await;
    let options = options();
    let mut report = verifier
        .with_resolver(Arc::new(keys))
        .with_status_lists(Arc::new(lists))
        .verify_presentation(input, &options, challenge, domain);
    for credential in &mut report.credentials {
        add_recorded_reason(app, credential).await;
    }
    report
}

/// The keys and status lists `documents` (credentials, presentations) name:
/// zegel's own from itself (when `app` is given), others' fetched as
/// `policy` allows, at most [`MAX_FETCHES`] of each kind.
async fn gather(app: Option<&App>, documents: &[&[u8]], policy: &FetchPolicy) -> (GatheredKeys, GatheredStatusLists) {
    let mut urls: Vec<String> = Vec::new();
    for document in documents {
        for url in status_list_urls(document) {
            if !urls.contains(&url) {
                urls.push(url);
            }
        }
    }
    let mut lists = GatheredStatusLists::default();
    if let Some(app) = app {
        own_status_lists(app, &urls, &mut lists).await;
    }
    // As for keys: at most so many lists are fetched.
    let elsewhere: Vec<&String> = urls.iter().filter(|url| !lists.contains(url)).collect();
    for url in elsewhere.iter().skip(MAX_FETCHES) {
        lists.insert(
            url,
            Err(format!("the status list {url} was not fetched: a credential may name at most {MAX_FETCHES}")),
        );
    }
    fetch_status_lists(&urls, policy, &mut lists).await;
    let mut methods: Vec<String> = documents.iter().flat_map(|document| verification_methods(document)).collect();
    for url in &urls {
        if let Some(Ok(list)) = lists.lists.get(url) {
            methods.extend(verification_methods(list));
        }
    }
    let mut keys = app.map(own_keys).unwrap_or_default();
    fetch_key_documents(&methods, policy, &mut keys).await;
    (keys, lists)
}

/// Verifies one of zegel's own stored credentials as any verifier would,
/// with nothing from the network: zegel's keys from its DID document, its
/// status lists from the database (an unchecked status is "could not check").
pub async fn verify_own_credential(app: &App, document: &[u8]) -> Report {
    let verifier = Verifier::new(app.canonicalizer.clone(), app.schemas.clone());
    let options = || VerifyOptions { require_status: true, ..VerifyOptions::at(chrono::Utc::now()) };
    verify_gathered(Some(app), verifier, document, options, &FetchPolicy::default()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::keys::SigningKey;

    #[test]
    fn status_list_urls_come_from_json_and_jwt_alike() {
        let credential = serde_json::json!({"credentialStatus": [
            {"statusListCredential": "https://a.example/status/1"},
            {"statusListCredential": "https://a.example/status/2"},
        ]});
        let json = serde_json::to_vec(&credential).unwrap();
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&json);
        let jwt = format!("eyJhbGciOiJFZERTQSJ9.{payload}.c2ln");
        let want = ["https://a.example/status/1", "https://a.example/status/2"];
        assert_eq!(status_list_urls(&json), want);
        assert_eq!(status_list_urls(jwt.as_bytes()), want);
        assert!(status_list_urls(b"not a credential").is_empty());
    }

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.1.1",
            "172.16.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["145.100.190.1", "8.8.8.8", "2001:610:1:40::1"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn hosts_not_allowed_and_plain_http_are_not_fetched() {
        let mut lists = GatheredStatusLists::default();
        let policy = FetchPolicy { allowed_hosts: vec!["lists.example".into()], ..FetchPolicy::default() };
        let urls = ["https://other.example/status/1".to_owned(), "http://lists.example/status/1".to_owned()];
        fetch_status_lists(&urls, &policy, &mut lists).await;
        let first = lists.status_list(&urls[0]).unwrap_err();
        assert!(first.contains("not an allowed host"), "{first}");
        let second = lists.status_list(&urls[1]).unwrap_err();
        assert!(second.contains("not https"), "{second}");
    }

    #[test]
    fn keys_come_from_the_controller_document_with_their_assertion_method() {
        let key = crate::signing::keys::generate(crate::signing::keys::KeyKind::Ed25519).unwrap();
        let SigningKey::Ed25519(ed) = &key else { panic!("not Ed25519") };
        let multibase = crate::signing::multikey::encode_ed25519_public(&ed.verifying_key());
        let did = "did:web:badges.example.edu";
        let document = serde_json::json!({
            "id": did,
            "verificationMethod": [
                {"id": "#k1", "type": "Multikey", "controller": did, "publicKeyMultibase": multibase},
                {"id": format!("{did}#k2"), "type": "Multikey", "controller": did, "publicKeyMultibase": multibase},
            ],
            "assertionMethod": ["#k1"],
        });
        let mut keys = GatheredKeys::default();
        keys.insert(did, Ok(document));
        let k1 = keys.resolve(&format!("{did}#k1")).unwrap();
        assert!(k1.assertion_method && k1.binding == Binding::ControllerDocument && k1.controller == did);
        let k2 = keys.resolve(&format!("{did}#k2")).unwrap();
        assert!(!k2.assertion_method, "k2 is not listed under assertionMethod");
        assert!(matches!(keys.resolve(&format!("{did}#k3")), Err(ResolveError::Invalid(_))));
        assert!(matches!(keys.resolve("did:web:other.example#k1"), Err(ResolveError::Unavailable(_))));
        // A document that is someone else's is not believed.
        let mut wrong = GatheredKeys::default();
        wrong.insert("did:web:other.example", Ok(serde_json::json!({"id": did})));
        assert!(matches!(wrong.resolve("did:web:other.example#k1"), Err(ResolveError::Invalid(_))));
    }

    #[test]
    fn key_documents_are_located_by_did_method() {
        assert_eq!(key_document_location("did:key:z6Mkabc#z6Mkabc"), Ok(None));
        assert_eq!(
            key_document_location("did:web:badges.example.edu:issuers:x#k1"),
            Ok(Some((
                "did:web:badges.example.edu:issuers:x".to_owned(),
                "https://badges.example.edu/issuers/x/did.json".to_owned()
            )))
        );
        assert_eq!(
            key_document_location("https://issuer.example/keys#1"),
            Ok(Some(("https://issuer.example/keys".to_owned(), "https://issuer.example/keys".to_owned())))
        );
        assert!(key_document_location("did:ion:abc#1").unwrap_err().contains("did:ion"));
    }

    #[tokio::test]
    async fn key_documents_follow_the_fetch_policy() {
        let methods = [
            "did:web:denied.example#k".to_owned(),
            "did:web:other.example#k".to_owned(),
            "did:example:123#k".to_owned(),
        ];
        let policy = FetchPolicy {
            allowed_hosts: vec!["*".into()],
            denied_hosts: vec!["denied.example".into()],
            ..FetchPolicy::default()
        };
        let mut keys = GatheredKeys::default();
        // The allow-all policy still refuses a denied host, and the others
        // are named (other.example does not resolve: the lookup fails).
        fetch_key_documents(&methods[..1], &policy, &mut keys).await;
        fetch_key_documents(&methods[2..], &policy, &mut keys).await;
        let denied = keys.resolve(&methods[0]).unwrap_err().to_string();
        assert!(denied.contains("not an allowed host"), "{denied}");
        let unsupported = keys.resolve(&methods[2]).unwrap_err().to_string();
        assert!(unsupported.contains("did:example"), "{unsupported}");
        assert!(policy.allows_host("other.example") && !policy.allows_host("denied.example"));
        // Beyond the limit nothing more is asked.
        let many: Vec<String> = (0..=MAX_FETCHES).map(|i| format!("did:web:h{i}.invalid#k")).collect();
        let mut keys = GatheredKeys::default();
        fetch_key_documents(&many, &FetchPolicy::default(), &mut keys).await;
        let last = keys.resolve(&many[MAX_FETCHES]).unwrap_err().to_string();
        assert!(last.contains("at most 8 key documents"), "{last}");
        let first = keys.resolve(&many[0]).unwrap_err().to_string();
        assert!(first.contains("not an allowed host"), "{first}");
        assert!(!FetchPolicy::default().allows_host("other.example"));
    }

    #[test]
    fn verification_methods_come_from_proofs_and_the_jwt_header() {
        let json = br#"{"proof": [{"verificationMethod": "did:web:a.example#1"}, {"verificationMethod": "did:web:b.example#2"}]}"#;
        assert_eq!(verification_methods(json), ["did:web:a.example#1", "did:web:b.example#2"]);
        let header =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"EdDSA","kid":"did:web:c.example#3"}"#);
        assert_eq!(verification_methods(format!("{header}.e30.c2ln").as_bytes()), ["did:web:c.example#3"]);
        assert!(verification_methods(b"garbage").is_empty());
    }
}

//! Verification with status: the (pure, synchronous) verifier is given the
//! status lists a credential names, gathered first: zegel's own from its
//! database (so a revocation shows at once, whatever the network), other
//! issuers' over HTTP from allow-listed hosts only. For zegel's own
//! credentials the verdict then carries the reason zegel recorded.

use crate::app::App;
use crate::status;
use crate::verification::{InvalidCode, Report, StatusListSource, Verdict, Verifier, VerifyOptions};
use base64::Engine as _;
use serde_json::Value;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
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
}

impl GatheredStatusLists {
    pub fn insert(&mut self, url: &str, list: Result<Vec<u8>, String>) {
        self.lists.insert(url.to_owned(), list);
    }

    pub fn contains(&self, url: &str) -> bool {
        self.lists.contains_key(url)
    }
}

impl StatusListSource for GatheredStatusLists {
    fn status_list(&self, url: &str) -> Result<Vec<u8>, String> {
        match self.lists.get(url) {
            Some(found) => found.clone(),
            None => Err(format!("the status list {url} was not fetched (its host is not allow-listed)")),
        }
    }
}

/// Whom zegel may ask for another issuer's status list.
#[derive(Debug, Clone)]
pub struct FetchPolicy {
    /// Host names (exact, lower case) that may be asked; none: nobody.
    pub allowed_hosts: Vec<String>,
    /// Also plain `http` and loopback, private and link-local addresses
    /// (tests, intranets). Off, only `https` to public addresses.
    pub allow_local: bool,
    pub timeout: Duration,
    /// Largest list accepted (a 131,072-entry list is a few KB compressed).
    pub max_bytes: usize,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self { allowed_hosts: Vec::new(), allow_local: false, timeout: Duration::from_secs(5), max_bytes: 2 << 20 }
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
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("the status list URL {url} is not a URL: {e}"))?;
    let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
    if !policy.allowed_hosts.contains(&host) {
        return Err(format!("the status list {url} was not fetched: {host} is not an allowed host"));
    }
    match parsed.scheme() {
        "https" => {}
        "http" if policy.allow_local => {}
        other => return Err(format!("the status list {url} was not fetched: {other} is not https")),
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
        return Err(format!("the status list {url} was not fetched: {host} has a private or local address"));
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
        .header("accept", "application/vc+ld+json, application/ld+json, application/json")
        .send()
        .await
        .map_err(|e| format!("fetching the status list {url} failed: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("the status list {url} answered HTTP {}", response.status().as_u16()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| format!("reading the status list {url}: {e}"))? {
        if body.len() + chunk.len() > policy.max_bytes {
            return Err(format!("the status list {url} is larger than {} bytes", policy.max_bytes));
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
            Ok(Some(list)) => Ok(list.document.as_bytes().to_vec()),
            Ok(None) => Err(format!("zegel has no status list {url}")),
            Err(e) => Err(format!("reading zegel's status list {url} failed: {e:#}")),
        };
        into.insert(url, list);
    }
}

/// Verifies `input` with the status lists it names: zegel's own (when `app`
/// is given) from the database, others' as `policy` allows. For zegel's own
/// credentials a revoked or suspended verdict carries the recorded reason.
pub async fn verify_with_status(
    app: Option<&App>,
    verifier: Verifier,
    input: &[u8],
    options: &VerifyOptions,
    policy: &FetchPolicy,
) -> Report {
    let urls = status_list_urls(input);
    let mut lists = GatheredStatusLists::default();
    if let Some(app) = app {
        own_status_lists(app, &urls, &mut lists).await;
    }
    fetch_status_lists(&urls, policy, &mut lists).await;
    let mut report = verifier.with_status_lists(Arc::new(lists)).verify(input, options);
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

#[cfg(test)]
mod tests {
    use super::*;

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
}

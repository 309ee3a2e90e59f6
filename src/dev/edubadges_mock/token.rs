//! SURFconext's token endpoint (OpenConext-OIDC-NG `POST /oidc/token`) for
//! the `client_credentials` grant, and the tokens it issued: what
//! Edubadges' introspection call would find.
//!
//! Errors follow OIDC-NG: Spring's error map
//! (`{"timestamp","status","error","path","error_description","message"}`)
//! with OIDC-NG's codes: an unknown client is 401 `unauthorized`, a wrong
//! secret or no client authentication 401 `access_denied`, a grant the
//! client may not use 401 `unauthorized_client`, a request without
//! `grant_type` 400 `invalid_request`.

use super::MockConfig;
use super::http::{Request, Response, form_decode};
use super::state::IssuedToken;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The tokens issued so far.
#[derive(Debug, Default)]
pub(super) struct Tokens {
    issued: Vec<IssuedToken>,
    /// Token value → (index in `issued`, expiry).
    index: HashMap<String, (usize, Instant)>,
}

impl Tokens {
    /// Issues a new opaque token.
    pub fn issue(&mut self, client_id: &str, scope: Option<String>, ttl: Duration, now: DateTime<Utc>) -> String {
        let mut bytes = [0u8; 32];
        bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        let value = format!("mock-at.{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
        let expires_at = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
        self.index.insert(value.clone(), (self.issued.len(), Instant::now() + ttl));
        self.issued.push(IssuedToken {
            client_id: client_id.to_owned(),
            scope,
            issued_at: now,
            expires_at,
            revoked: false,
        });
        value
    }

    /// Whether introspection would say `active: true`.
    pub fn is_active(&self, value: &str) -> bool {
        self.index
            .get(value)
            .is_some_and(|(i, expiry)| Instant::now() < *expiry && self.issued.get(*i).is_some_and(|t| !t.revoked))
    }

    /// Invalidates one token; unknown values are ignored.
    pub fn revoke(&mut self, value: &str) {
        if let Some(token) = self.index.get(value).and_then(|(i, _)| self.issued.get_mut(*i)) {
            token.revoked = true;
        }
    }

    /// Invalidates every token issued so far; returns how many were active.
    pub fn revoke_all(&mut self) -> usize {
        let active = self.index.keys().filter(|v| self.is_active(v)).count();
        for token in &mut self.issued {
            token.revoked = true;
        }
        active
    }

    pub fn list(&self) -> Vec<IssuedToken> {
        self.issued.clone()
    }
}

/// Spring Boot's error map, as OIDC-NG's `CustomErrorController` fills it.
fn spring_error(status: u16, error: &str, description: &str) -> Response {
    let body = json!({
        "timestamp": Utc::now().format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string(),
        "status": status,
        "error": error,
        "path": "/oidc/token",
        "error_description": description,
        "message": description,
    });
    json_response(status, &body)
}

fn json_response(status: u16, body: &Value) -> Response {
    Response::new(status, Some("application/json"), body.to_string())
}

/// `POST /oidc/token`.
pub(super) fn token_endpoint(request: &Request, config: &MockConfig, tokens: &mut Tokens) -> Response {
    if request.method != "POST" {
        let message = format!("Request method '{}' is not supported", request.method);
        return spring_error(405, &message, &message).with_header("Allow", "POST");
    }
    let media_type = request.media_type();
    if media_type != "application/x-www-form-urlencoded" {
        let shown = request.header("content-type").unwrap_or_default();
        let message = format!("Content-Type '{shown}' is not supported");
        return spring_error(415, &message, &message);
    }
    let params = form_decode(&String::from_utf8_lossy(&request.body));
    let param = |name: &str| params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    let Some(grant_type) = param("grant_type").filter(|g| !g.is_empty()) else {
        return spring_error(400, "invalid_request", "Missing grant_type parameter");
    };

    // Client authentication: client_secret_basic or client_secret_post.
    let basic = request.header("authorization").and_then(|h| {
        let (scheme, rest) = h.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("basic").then(|| rest.trim().to_owned())
    });
    let posted =
        param("client_secret").map(|secret| (param("client_id").unwrap_or_default().to_owned(), secret.to_owned()));
    let credentials = match (basic, posted) {
        (Some(_), Some(_)) => {
            return spring_error(
                400,
                "invalid_request",
                "Multiple conflicting client authentication methods found: Basic and POST",
            );
        }
        (Some(encoded), None) => match decode_basic(&encoded) {
            Some(pair) => Some(pair),
            None => {
                return spring_error(400, "invalid_request", "Malformed client secret basic authentication");
            }
        },
        (None, posted) => posted,
    };
    let client_id = match &credentials {
        Some((id, _)) => id.clone(),
        None => param("client_id").unwrap_or_default().to_owned(),
    };
    if client_id != config.client_id {
        return spring_error(401, "unauthorized", &format!("ClientID {client_id} or secret is not correct"));
    }
    match &credentials {
        None => return spring_error(401, "access_denied", "Non-public client requires authentication"),
        Some((_, secret)) if *secret != config.client_secret => {
            return spring_error(401, "access_denied", "Invalid user / secret");
        }
        Some(_) => {}
    }
    if grant_type != "client_credentials" {
        return spring_error(401, "unauthorized_client", &format!("Invalid grant {grant_type} for client {client_id}"));
    }

    let scope = param("scope").map(str::to_owned);
    let access_token = tokens.issue(&client_id, scope, config.token_ttl, Utc::now());
    let body = json!({"access_token": access_token, "token_type": "Bearer", "expires_in": config.token_ttl.as_secs()});
    json_response(200, &body).with_header("Cache-Control", "no-store").with_header("Pragma", "no-cache")
}

/// `base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 section 2.3.1).
fn decode_basic(encoded: &str) -> Option<(String, String)> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| form_decode(&format!("x={s}")).pop().map(|(_, v)| v).unwrap_or_default();
    Some((decode(id), decode(secret)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_expire_and_can_be_revoked() {
        let mut tokens = Tokens::default();
        let a = tokens.issue("c", None, Duration::from_secs(60), Utc::now());
        let b = tokens.issue("c", Some("edubadges.nl/sis".into()), Duration::ZERO, Utc::now());
        assert!(tokens.is_active(&a));
        assert!(!tokens.is_active(&b), "a zero lifetime is expired at once");
        assert!(!tokens.is_active("unknown"));
        tokens.revoke(&a);
        assert!(!tokens.is_active(&a));
        let c = tokens.issue("c", None, Duration::from_secs(60), Utc::now());
        assert_eq!(tokens.revoke_all(), 1);
        assert!(!tokens.is_active(&c));
        assert_eq!(tokens.list().len(), 3);
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let encoded = base64::engine::general_purpose::STANDARD.encode("my%20client:s%3Acret");
        assert_eq!(decode_basic(&encoded), Some(("my client".into(), "s:cret".into())));
        assert_eq!(decode_basic("!!"), None);
    }
}

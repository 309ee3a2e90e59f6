//! Settings for `zegel serve` and the commands that use the database, read
//! from environment variables (documented in `docs/configuration.md`). Every
//! invalid variable is reported at once.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

/// How the issuer is identified in credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuerMethod {
    /// `did:web:<public host>`: the DID document is served at
    /// `/.well-known/did.json`; survives key rotation. Needs https to be
    /// resolvable by others.
    Web,
    /// `did:key:<current key>`: verifiable offline everywhere, but the
    /// issuer id changes when the key does. The default for plain-http
    /// development setups, where did:web cannot be resolved.
    Key,
}

/// The VC-JWT signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtAlgorithm {
    /// Ed25519 with the Data Integrity key: fast (about 50 µs).
    EdDSA,
    /// RSA (RS256), the algorithm OB 3.0 requires every verifier to accept
    /// and the only one 1EdTech's validator takes besides ES256; about 6 ms
    /// per token with a 3072-bit key.
    Rs256,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct IssuerSettings {
    pub method: IssuerMethod,
    pub name: String,
    /// The institution's website.
    pub url: Option<String>,
    pub email: Option<String>,
    /// The institution's BRIN code: the default `institution` of definitions.
    pub brin: Option<String>,
    pub image: Option<String>,
}

/// Which learner identifier Edubadges matches a direct award on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentifierType {
    Eppn,
    Email,
}

impl IdentifierType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eppn => "eppn",
            Self::Email => "email",
        }
    }
}

/// A secret from the environment: never printed, not even by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where and how to push awards to Edubadges (all of `ZEGEL_EDUBADGES_*`).
#[derive(Debug, Clone)]
pub struct EdubadgesSettings {
    /// The Edubadges API base, e.g. `https://api.edubadges.nl` (no trailing slash).
    pub url: String,
    /// The OAuth2 token endpoint (SURFconext), e.g. `https://connect.surfconext.nl/oidc/token`.
    pub token_url: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// The scope asked for (`edubadges.nl/sis`); empty asks for none.
    pub scope: String,
    /// Edubadges e-mails each student about a new direct award.
    pub notify_recipients: bool,
    pub identifier_type: IdentifierType,
    pub connect_timeout: std::time::Duration,
    /// The whole request, including a slow Edubadges reply.
    pub timeout: std::time::Duration,
}

/// How the outbox worker runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSettings {
    /// Run the outbox worker inside `zegel serve` (else only `zegel push run` pushes).
    pub worker: bool,
    /// Requests to Edubadges in flight at once, at most.
    pub concurrency: usize,
    /// Direct awards per bundle (`POST /directaward/create`), at most.
    pub bundle_size: usize,
    /// How often an idle worker looks for due jobs.
    pub poll_interval: std::time::Duration,
    /// The first retry delay; each further attempt doubles it, up to `retry_max`.
    pub retry_base: std::time::Duration,
    pub retry_max: std::time::Duration,
    /// How long a claimed job is reserved for its worker; a job whose worker
    /// died is taken up again after this. Longer than the request timeout.
    pub lease: std::time::Duration,
    /// How often Edubadges is asked whether a sent award was claimed.
    pub claim_check: std::time::Duration,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    /// The base URL the world sees (no trailing slash).
    pub public_url: String,
    pub database_url: String,
    pub keys_dir: PathBuf,
    /// Generate a development key when the key directory has none.
    pub generate_keys: bool,
    /// Sign with the committed public test keys when they are in the key
    /// directory (tests only; they are skipped otherwise).
    pub allow_test_keys: bool,
    /// The key id of the Ed25519 key to sign with, when there are several.
    pub signing_key: Option<String>,
    pub jwt_algorithm: JwtAlgorithm,
    pub issuer: IssuerSettings,
    pub max_body_bytes: usize,
    /// Largest `POST /api/v1/awards/batch` body (up to 1,000 records).
    pub max_batch_bytes: usize,
    /// Largest file `POST /api/v1/imports` takes.
    pub max_import_bytes: usize,
    /// OOAPI imports: where a person's eppn is (`ZEGEL_OOAPI_EPPN`; `None`:
    /// the default rule).
    pub ooapi_eppn_rule: Option<String>,
    pub workers: usize,
    pub db_max_connections: u32,
    pub log_filter: String,
    pub log_format: LogFormat,
    /// `None`: awards are issued and wait, pending, until Edubadges is configured.
    pub edubadges: Option<EdubadgesSettings>,
    pub push: PushSettings,
    pub status: StatusSettings,
    pub verify: VerifySettings,
}

/// The public `POST /verify`: how often a client may call it, how much it
/// may send, and whom zegel may ask for other issuers' keys and status lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifySettings {
    /// Requests per minute per client address (a token bucket of that size).
    pub rate_per_min: u32,
    /// Largest request body accepted.
    pub max_bytes: usize,
    /// Hosts (lower case) whose DID documents, keys and status lists may be
    /// fetched; `*`: any public host. Empty: nothing is fetched.
    pub fetch_hosts: Vec<String>,
    /// Hosts never fetched from.
    pub deny_hosts: Vec<String>,
    /// Also plain http and private, loopback and link-local addresses.
    pub allow_local: bool,
    pub fetch_timeout: std::time::Duration,
}

/// How credentials carry their status and how status lists are published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSettings {
    /// Give new credentials a suspension entry beside the revocation entry
    /// (`credentialStatus` becomes an array, which VC 2.0 allows and the
    /// OB 3.0 JSON schema does not: its `credentialStatus` is 0..1).
    pub suspension: bool,
    /// At most this long between a status change and every instance
    /// publishing it; also the lists' HTTP `max-age`.
    pub publish_delay: std::time::Duration,
}

/// Every problem with the environment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {}", .0.join("; "))]
pub struct ConfigError(pub Vec<String>);

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `var` (tests pass a map).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let get = |name: &str| var(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let or = |name: &str, default: &str| get(name).unwrap_or_else(|| default.to_owned());

        let listen_text = or("ZEGEL_LISTEN", "127.0.0.1:8080");
        let listen = SocketAddr::from_str(&listen_text).unwrap_or_else(|_| {
            problems.push(format!("ZEGEL_LISTEN={listen_text:?} is not an address like 127.0.0.1:8080"));
            SocketAddr::from(([127, 0, 0, 1], 8080))
        });
        let public_url = match get("ZEGEL_PUBLIC_URL") {
            Some(url) => {
                let url = url.trim_end_matches('/').to_owned();
                match oxiri::Iri::parse(url.as_str()) {
                    Ok(iri) if matches!(iri.scheme(), "http" | "https") && iri.query().is_none() && iri.fragment().is_none() => {}
                    _ => problems.push(format!(
                        "ZEGEL_PUBLIC_URL={url:?} must be an http(s) URL without query or fragment, like https://badges.example.edu"
                    )),
                }
                url
            }
            None => default_public_url(listen),
        };
        let database_url = or("DATABASE_URL", "sqlite:zegel.db");
        let keys_dir = PathBuf::from(or("ZEGEL_KEYS_DIR", "keys"));
        let generate_keys = boolean(&get, "ZEGEL_GENERATE_KEYS", true, &mut problems);
        let allow_test_keys = boolean(&get, "ZEGEL_ALLOW_TEST_KEYS", false, &mut problems);
        let signing_key = get("ZEGEL_SIGNING_KEY");
        let jwt_algorithm = match get("ZEGEL_JWT_ALG").as_deref() {
            None | Some("EdDSA") | Some("eddsa") => JwtAlgorithm::EdDSA,
            Some("RS256") | Some("rs256") => JwtAlgorithm::Rs256,
            Some(other) => {
                problems.push(format!("ZEGEL_JWT_ALG={other:?} must be EdDSA or RS256"));
                JwtAlgorithm::EdDSA
            }
        };
        let https = public_url.starts_with("https://");
        let method = match get("ZEGEL_ISSUER").as_deref() {
            None => {
                if https {
                    IssuerMethod::Web
                } else {
                    IssuerMethod::Key
                }
            }
            Some("did:web") => IssuerMethod::Web,
            Some("did:key") => IssuerMethod::Key,
            Some(other) => {
                problems.push(format!("ZEGEL_ISSUER={other:?} must be did:web or did:key"));
                IssuerMethod::Key
            }
        };
        let issuer = IssuerSettings {
            method,
            name: get("ZEGEL_ISSUER_NAME").unwrap_or_else(|| "zegel development issuer".to_owned()),
            url: get("ZEGEL_ISSUER_URL"),
            email: get("ZEGEL_ISSUER_EMAIL"),
            brin: get("ZEGEL_INSTITUTION_BRIN"),
            image: get("ZEGEL_ISSUER_IMAGE"),
        };
        let max_body_bytes = number(&get, "ZEGEL_MAX_BODY_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024, &mut problems);
        let max_batch_bytes =
            number(&get, "ZEGEL_MAX_BATCH_BYTES", 16 * 1024 * 1024, 1024, 256 * 1024 * 1024, &mut problems);
        let max_import_bytes =
            number(&get, "ZEGEL_MAX_IMPORT_BYTES", 64 * 1024 * 1024, 1024, 1024 * 1024 * 1024, &mut problems);
        let ooapi_eppn_rule = get("ZEGEL_OOAPI_EPPN");
        if let Some(rule) = &ooapi_eppn_rule
            && let Err(e) = crate::intake::ooapi::EppnRule::parse(rule)
        {
            problems.push(format!("ZEGEL_OOAPI_EPPN: {e}"));
        }
        let cpus = std::thread::available_parallelism().map_or(2, usize::from);
        let workers = number(&get, "ZEGEL_WORKERS", cpus, 1, 256, &mut problems);
        let db_max_connections =
            u32::try_from(number(&get, "ZEGEL_DB_MAX_CONNECTIONS", 8, 1, 1000, &mut problems)).unwrap_or(8);
        let log_filter = get("ZEGEL_LOG").or_else(|| get("RUST_LOG")).unwrap_or_else(|| "info".to_owned());
        let log_format = match get("ZEGEL_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                problems.push(format!("ZEGEL_LOG_FORMAT={other:?} must be text or json"));
                LogFormat::Text
            }
        };
        let edubadges = edubadges_settings(&get, &mut problems);
        let seconds = |name: &str, default: usize, min: usize, max: usize, problems: &mut Vec<String>| {
            std::time::Duration::from_secs(number(&get, name, default, min, max, problems) as u64)
        };
        let push = PushSettings {
            worker: boolean(&get, "ZEGEL_PUSH_WORKER", true, &mut problems),
            concurrency: number(&get, "ZEGEL_PUSH_CONCURRENCY", 4, 1, 64, &mut problems),
            bundle_size: number(&get, "ZEGEL_PUSH_BUNDLE_SIZE", 100, 1, 100, &mut problems),
            poll_interval: std::time::Duration::from_millis(number(
                &get,
                "ZEGEL_PUSH_POLL_MS",
                1000,
                10,
                600_000,
                &mut problems,
            ) as u64),
            retry_base: std::time::Duration::from_millis(number(
                &get,
                "ZEGEL_PUSH_RETRY_BASE_MS",
                2000,
                1,
                3_600_000,
                &mut problems,
            ) as u64),
            retry_max: seconds("ZEGEL_PUSH_RETRY_MAX_SECS", 3600, 1, 86_400, &mut problems),
            lease: seconds("ZEGEL_PUSH_LEASE_SECS", 300, 1, 86_400, &mut problems),
            claim_check: seconds("ZEGEL_PUSH_CLAIM_CHECK_SECS", 3600, 1, 7 * 86_400, &mut problems),
        };
        let status = StatusSettings {
            suspension: boolean(&get, "ZEGEL_STATUS_SUSPENSION", true, &mut problems),
            publish_delay: seconds("ZEGEL_STATUS_PUBLISH_DELAY_SECS", 30, 1, 3600, &mut problems),
        };
        let hosts = |name: &str| -> Vec<String> {
            get(name)
                .map(|list| list.split(',').map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty()).collect())
                .unwrap_or_default()
        };
        let verify = VerifySettings {
            rate_per_min: u32::try_from(number(&get, "ZEGEL_VERIFY_RATE_PER_MIN", 60, 1, 1_000_000, &mut problems))
                .unwrap_or(60),
            max_bytes: number(&get, "ZEGEL_VERIFY_MAX_BYTES", 2 * 1024 * 1024, 1024, 64 * 1024 * 1024, &mut problems),
            fetch_hosts: hosts("ZEGEL_VERIFY_FETCH_HOSTS"),
            deny_hosts: hosts("ZEGEL_VERIFY_DENY_HOSTS"),
            allow_local: boolean(&get, "ZEGEL_VERIFY_ALLOW_LOCAL", false, &mut problems),
            fetch_timeout: seconds("ZEGEL_VERIFY_FETCH_TIMEOUT_SECS", 5, 1, 60, &mut problems),
        };
        if let Some(edubadges) = &edubadges
            && push.lease <= edubadges.timeout
        {
            problems.push(format!(
                "ZEGEL_PUSH_LEASE_SECS ({}) must be longer than ZEGEL_EDUBADGES_TIMEOUT_SECS ({}): a job must not be taken up again while its request may still be running",
                push.lease.as_secs(),
                edubadges.timeout.as_secs()
            ));
        }
        if problems.is_empty() {
            Ok(Self {
                listen,
                public_url,
                database_url,
                keys_dir,
                generate_keys,
                allow_test_keys,
                signing_key,
                jwt_algorithm,
                issuer,
                max_body_bytes,
                max_batch_bytes,
                max_import_bytes,
                ooapi_eppn_rule,
                workers,
                db_max_connections,
                log_filter,
                log_format,
                edubadges,
                push,
                status,
                verify,
            })
        } else {
            Err(ConfigError(problems))
        }
    }
}

/// Edubadges is configured when its URL is; then the token URL and client
/// credentials are required too.
fn edubadges_settings(get: &impl Fn(&str) -> Option<String>, problems: &mut Vec<String>) -> Option<EdubadgesSettings> {
    let url = get("ZEGEL_EDUBADGES_URL")?;
    let mut http_url = |name: &str, value: Option<String>| -> String {
        let Some(value) = value else {
            problems.push(format!("{name} is required when ZEGEL_EDUBADGES_URL is set"));
            return String::new();
        };
        let value = value.trim_end_matches('/').to_owned();
        match oxiri::Iri::parse(value.as_str()) {
            Ok(iri) if matches!(iri.scheme(), "http" | "https") => {}
            _ => problems.push(format!("{name}={value:?} must be an http(s) URL")),
        }
        value
    };
    let url = http_url("ZEGEL_EDUBADGES_URL", Some(url));
    let token_url = http_url("ZEGEL_EDUBADGES_TOKEN_URL", get("ZEGEL_EDUBADGES_TOKEN_URL"));
    let mut required = |name: &str| {
        get(name).unwrap_or_else(|| {
            problems.push(format!("{name} is required when ZEGEL_EDUBADGES_URL is set"));
            String::new()
        })
    };
    let client_id = required("ZEGEL_EDUBADGES_CLIENT_ID");
    let client_secret = Secret::new(required("ZEGEL_EDUBADGES_CLIENT_SECRET"));
    let identifier_type = match get("ZEGEL_EDUBADGES_IDENTIFIER_TYPE").as_deref() {
        None | Some("eppn") => IdentifierType::Eppn,
        Some("email") => IdentifierType::Email,
        Some(other) => {
            problems.push(format!("ZEGEL_EDUBADGES_IDENTIFIER_TYPE={other:?} must be eppn or email"));
            IdentifierType::Eppn
        }
    };
    Some(EdubadgesSettings {
        url,
        token_url,
        client_id,
        client_secret,
        // An explicitly empty value is kept: it asks for no scope.
        scope: get("ZEGEL_EDUBADGES_SCOPE").unwrap_or_else(|| "edubadges.nl/sis".to_owned()),
        notify_recipients: boolean(get, "ZEGEL_EDUBADGES_NOTIFY", true, problems),
        identifier_type,
        connect_timeout: std::time::Duration::from_secs(number(
            get,
            "ZEGEL_EDUBADGES_CONNECT_TIMEOUT_SECS",
            10,
            1,
            600,
            problems,
        ) as u64),
        timeout: std::time::Duration::from_secs(
            number(get, "ZEGEL_EDUBADGES_TIMEOUT_SECS", 120, 1, 3600, problems) as u64
        ),
    })
}

/// `http://<listen address>`, with a wildcard address replaced by loopback.
fn default_public_url(listen: SocketAddr) -> String {
    let host = match listen.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_owned(),
        ip if ip.is_unspecified() => "[::1]".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    format!("http://{host}:{}", listen.port())
}

fn boolean(get: &impl Fn(&str) -> Option<String>, name: &str, default: bool, problems: &mut Vec<String>) -> bool {
    match get(name).as_deref() {
        None => default,
        Some("1" | "true" | "yes" | "on") => true,
        Some("0" | "false" | "no" | "off") => false,
        Some(other) => {
            problems.push(format!("{name}={other:?} must be true or false"));
            default
        }
    }
}

fn number(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: usize,
    min: usize,
    max: usize,
    problems: &mut Vec<String>,
) -> usize {
    match get(name) {
        None => default,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (min..=max).contains(&n) => n,
            _ => {
                problems.push(format!("{name}={text:?} must be a whole number from {min} to {max}"));
                default
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn a_fresh_machine_gets_sqlite_dev_keys_and_a_loopback_did_key_issuer() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.public_url, "http://127.0.0.1:8080");
        assert_eq!(s.database_url, "sqlite:zegel.db");
        assert!(s.generate_keys);
        assert_eq!(s.issuer.method, IssuerMethod::Key);
        assert_eq!(s.jwt_algorithm, JwtAlgorithm::EdDSA);
    }

    #[test]
    fn an_https_public_url_makes_the_issuer_a_did_web() {
        let s =
            settings(&[("ZEGEL_PUBLIC_URL", "https://badges.example.edu/"), ("ZEGEL_LISTEN", "0.0.0.0:9000")]).unwrap();
        assert_eq!(s.public_url, "https://badges.example.edu");
        assert_eq!(s.issuer.method, IssuerMethod::Web);
        assert_eq!(default_public_url(s.listen), "http://127.0.0.1:9000");
    }

    #[test]
    fn edubadges_is_optional_but_complete_when_configured() {
        let s = settings(&[]).unwrap();
        assert!(s.edubadges.is_none());
        assert!(s.push.worker);
        let err = settings(&[("ZEGEL_EDUBADGES_URL", "https://api.edubadges.nl")]).unwrap_err();
        assert_eq!(err.0.len(), 3, "{err}");
        let s = settings(&[
            ("ZEGEL_EDUBADGES_URL", "https://api.edubadges.nl/"),
            ("ZEGEL_EDUBADGES_TOKEN_URL", "https://connect.surfconext.nl/oidc/token"),
            ("ZEGEL_EDUBADGES_CLIENT_ID", "zegel"),
            ("ZEGEL_EDUBADGES_CLIENT_SECRET", "s3cret"),
        ])
        .unwrap();
        let e = s.edubadges.unwrap();
        assert_eq!(e.url, "https://api.edubadges.nl");
        assert_eq!(e.scope, "edubadges.nl/sis");
        assert_eq!(e.identifier_type, IdentifierType::Eppn);
        assert!(!format!("{e:?}").contains("s3cret"), "the secret never shows");
        let err = settings(&[
            ("ZEGEL_EDUBADGES_URL", "https://api.edubadges.nl/"),
            ("ZEGEL_EDUBADGES_TOKEN_URL", "https://connect.surfconext.nl/oidc/token"),
            ("ZEGEL_EDUBADGES_CLIENT_ID", "zegel"),
            ("ZEGEL_EDUBADGES_CLIENT_SECRET", "s3cret"),
            ("ZEGEL_EDUBADGES_TIMEOUT_SECS", "600"),
        ])
        .unwrap_err();
        assert!(err.0[0].contains("ZEGEL_PUSH_LEASE_SECS"), "{err}");
    }

    #[test]
    fn every_bad_variable_is_reported_at_once() {
        let err = settings(&[
            ("ZEGEL_LISTEN", "nowhere"),
            ("ZEGEL_PUBLIC_URL", "ftp://x"),
            ("ZEGEL_JWT_ALG", "HS256"),
            ("ZEGEL_MAX_BODY_BYTES", "12"),
            ("ZEGEL_GENERATE_KEYS", "maybe"),
        ])
        .unwrap_err();
        assert_eq!(err.0.len(), 5, "{err}");
    }
}

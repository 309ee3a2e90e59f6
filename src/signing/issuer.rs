//! The issuer as the running service sees it: its identity (did:web or
//! did:key), its keys, the documents that publish them, and signing a
//! credential in both forms (Data Integrity proof and VC-JWT).

use super::data_integrity::{self, ProofOptions, ProofPlacement};
use super::did;
use super::jwt;
use super::keyring::{self, KeyChoice, Keyring};
use super::keys::{self, Ed25519Key, KeyKind, SigningKey};
use crate::config::{IssuerMethod, JwtAlgorithm, Settings};
use crate::credential::build::IssuerProfile;
use crate::domain::award::EmailAddress;
use crate::domain::microcredential::{Brin, HttpsUrl, Name};
use crate::jsonld::Canonicalizer;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// Why the issuer could not be set up or could not sign.
#[derive(Debug, thiserror::Error)]
pub enum IssuerError {
    #[error(transparent)]
    Keys(#[from] keys::KeyError),
    #[error(
        "the key directory {0} has no Ed25519 key; create one with `zegel keys generate` (or allow ZEGEL_GENERATE_KEYS)"
    )]
    NoEd25519Key(String),
    #[error("the key directory has several Ed25519 keys ({0}); choose one with ZEGEL_SIGNING_KEY")]
    AmbiguousKey(String),
    #[error("ZEGEL_SIGNING_KEY={0} is not an Ed25519 key in the key directory")]
    UnknownSigningKey(String),
    #[error(
        "ZEGEL_JWT_ALG=RS256 needs an RSA key in the key directory; create one with `zegel keys generate --kind rsa`"
    )]
    NoRsaKey,
    #[error("the issuer profile is invalid: {0}")]
    Profile(String),
    #[error(transparent)]
    Did(#[from] did::DidError),
    #[error("signing failed: {0}")]
    DataIntegrity(#[from] data_integrity::DataIntegrityError),
    #[error("signing the VC-JWT failed: {0}")]
    Jwt(#[from] jwt::JwtError),
    #[error("the credential is not a JSON object")]
    NotAnObject,
    #[error(transparent)]
    Keyring(#[from] keyring::KeyringError),
}

/// A credential signed both ways.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCredential {
    /// The credential with its `eddsa-rdfc-2022` proof: the bytes to store and serve.
    pub document: String,
    pub jwt: String,
}

/// The issuer: identity, keys and signing. Built once at start-up.
pub struct Issuer {
    profile: IssuerProfile,
    keys: Vec<SigningKey>,
    signing: Ed25519Key,
    jwt_key: SigningKey,
    verification_method: String,
    jwt_kid: String,
    did_web: String,
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer")
            .field("id", &self.profile.id)
            .field("verification_method", &self.verification_method)
            .field("keys", &self.keys.len())
            .finish()
    }
}

/// What `Issuer::load` did with the key directory, for the start-up log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySetup {
    Loaded {
        count: usize,
        /// Public test keys found in the directory and left unused.
        ignored_test_keys: Vec<String>,
    },
    /// No usable key was there; a development key was generated into this file.
    Generated { file: String, key_id: String, ignored_test_keys: Vec<String> },
    /// The keyring (`keyring.json`) said which keys to publish and which signs.
    Keyring {
        /// The key that signs.
        current: String,
        /// Published keys (the keyring's, and RSA keys).
        published: usize,
        /// Ed25519 key files the keyring does not list (neither used nor published).
        unlisted: Vec<String>,
        ignored_test_keys: Vec<String>,
    },
}

impl Issuer {
    /// Loads the keys from `settings.keys_dir` (generating a development
    /// key there when it has none and that is allowed) and sets up the
    /// issuer identity.
    pub fn load(settings: &Settings) -> Result<(Self, KeySetup), IssuerError> {
        let dir = &settings.keys_dir;
        let mut loaded = if dir.exists() { keys::load_key_dir(dir)? } else { Vec::new() };
        // A fresh checkout's keys/ holds the committed test keys: anyone can
        // sign with those, so a service only uses them when told to.
        let mut ignored_test_keys = Vec::new();
        if !settings.allow_test_keys {
            loaded.retain(|k| {
                let public = keys::is_public_test_key(k);
                if public {
                    ignored_test_keys.push(k.id().to_owned());
                }
                !public
            });
        }
        // ZEGEL_SIGNING_KEY first, then the keyring, then the single-key layout.
        if let Some(keyring) = Keyring::read(dir)? {
            let choice =
                KeyChoice { signing_key: settings.signing_key.as_deref(), allow_test_keys: settings.allow_test_keys };
            let selection = keyring.select(dir, loaded, &ignored_test_keys, choice)?;
            let setup = KeySetup::Keyring {
                current: selection.signing.clone(),
                published: selection.keys.len(),
                unlisted: selection.unlisted,
                ignored_test_keys,
            };
            return Self::build(settings, selection.keys, Some(&selection.signing)).map(|issuer| (issuer, setup));
        }
        let mut setup = KeySetup::Loaded { count: loaded.len(), ignored_test_keys: ignored_test_keys.clone() };
        if !loaded.iter().any(|k| k.kind() == KeyKind::Ed25519) {
            if !settings.generate_keys {
                return Err(IssuerError::NoEd25519Key(dir.display().to_string()));
            }
            let key = keys::generate(KeyKind::Ed25519)?;
            let file = keys::write_new_key_file(dir, &key)?;
            setup = KeySetup::Generated {
                file: file.display().to_string(),
                key_id: key.id().to_owned(),
                ignored_test_keys,
            };
            loaded.push(key);
        }
        Self::new(settings, loaded).map(|issuer| (issuer, setup))
    }

    /// Sets up the issuer with the given keys, every one published; the
    /// Ed25519 key `ZEGEL_SIGNING_KEY` names signs, or the only one.
    pub fn new(settings: &Settings, keys: Vec<SigningKey>) -> Result<Self, IssuerError> {
        Self::build(settings, keys, settings.signing_key.as_deref())
    }

    /// [`Self::new`] with the signing key named by `signing` (a key id).
    fn build(settings: &Settings, keys: Vec<SigningKey>, signing: Option<&str>) -> Result<Self, IssuerError> {
        let ed25519: Vec<&Ed25519Key> = keys.iter().filter_map(SigningKey::as_ed25519).collect();
        let signing = match (signing, ed25519.as_slice()) {
            (Some(id), _) => ed25519
                .iter()
                .find(|k| k.id() == id)
                .copied()
                .ok_or_else(|| IssuerError::UnknownSigningKey(id.to_owned()))?,
            (None, [one]) => *one,
            (None, []) => return Err(IssuerError::NoEd25519Key(settings.keys_dir.display().to_string())),
            (None, many) => {
                return Err(IssuerError::AmbiguousKey(many.iter().map(|k| k.id()).collect::<Vec<_>>().join(", ")));
            }
        }
        .clone();
        let did_web = did::did_web_from_url(&settings.public_url)?;
        let id = match settings.issuer.method {
            IssuerMethod::Web => did_web.clone(),
            IssuerMethod::Key => did::did_key(&signing.verifying_key()),
        };
        let verification_method = format!("{id}#{}", signing.id());
        let (jwt_key, jwt_kid) = match settings.jwt_algorithm {
            JwtAlgorithm::EdDSA => (SigningKey::Ed25519(signing.clone()), verification_method.clone()),
            JwtAlgorithm::Rs256 => {
                let rsa = keys.iter().find(|k| k.kind() == KeyKind::Rsa).ok_or(IssuerError::NoRsaKey)?;
                (rsa.clone(), format!("{did_web}#{}", rsa.id()))
            }
        };
        let profile = profile(settings, &id)?;
        Ok(Self { profile, keys, signing, jwt_key, verification_method, jwt_kid, did_web })
    }

    /// The issuer id written into credentials.
    pub fn id(&self) -> &str {
        &self.profile.id
    }

    pub fn profile(&self) -> &IssuerProfile {
        &self.profile
    }

    /// The Data Integrity proofs' `verificationMethod`.
    pub fn verification_method(&self) -> &str {
        &self.verification_method
    }

    pub fn signing_key(&self) -> &Ed25519Key {
        &self.signing
    }

    pub fn keys(&self) -> &[SigningKey] {
        &self.keys
    }

    /// The did:web of the service's host (the issuer id when it is a did:web).
    pub fn did_web(&self) -> &str {
        &self.did_web
    }

    /// The DID document served at `/.well-known/did.json`: every key, each
    /// under the did:web (Multikey for Ed25519, JsonWebKey for RSA), and for
    /// the assertion method.
    pub fn did_document(&self) -> Value {
        let keys: Vec<&SigningKey> = self.keys.iter().collect();
        did::did_document(&self.did_web, &keys)
    }

    /// The JWK Set served at `/.well-known/jwks.json`. Each `kid` is the
    /// verification method it stands for, so a VC-JWT's `kid` finds its key:
    /// with a did:key issuer an Ed25519 key signs (signed, or will sign) as
    /// its own did:key, retired and prepared keys too.
    pub fn jwks(&self) -> Value {
        let did_key_issuer = self.profile.id.starts_with("did:key:");
        let keys: Vec<Value> = self
            .keys
            .iter()
            .map(|key| {
                let mut jwk = key.public_jwk();
                jwk["kid"] = match key {
                    SigningKey::Ed25519(k) if did_key_issuer => did::did_key_verification_method(&k.verifying_key()),
                    other => format!("{}#{}", self.did_web, other.id()),
                }
                .into();
                jwk
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// Signs an unsigned credential: the Data Integrity proof (created at
    /// `now`) and the VC-JWT of the same credential.
    pub fn sign(
        &self,
        canonicalizer: &Canonicalizer,
        unsigned: &[u8],
        now: DateTime<Utc>,
    ) -> Result<SignedCredential, IssuerError> {
        let options = ProofOptions::assertion(self.verification_method.clone(), now);
        let document = data_integrity::add_proof(
            canonicalizer,
            unsigned,
            &options,
            self.signing.signing_key(),
            ProofPlacement::Array,
        )?;
        let credential: Map<String, Value> = serde_json::from_slice(unsigned).map_err(|_| IssuerError::NotAnObject)?;
        let jwt = jwt::sign_vc_jwt(&credential, &self.jwt_key, &self.jwt_kid)?;
        // add_proof writes UTF-8 JSON: the input was UTF-8 JSON.
        let document = String::from_utf8(document).map_err(|_| IssuerError::NotAnObject)?;
        Ok(SignedCredential { document, jwt })
    }
}

fn profile(settings: &Settings, id: &str) -> Result<IssuerProfile, IssuerError> {
    let invalid = |what: &str, e: &dyn std::fmt::Display| IssuerError::Profile(format!("{what}: {e}"));
    let name = Name::parse(&settings.issuer.name).map_err(|e| invalid("ZEGEL_ISSUER_NAME", &e))?;
    let url = settings.issuer.url.as_deref().unwrap_or(&settings.public_url);
    let url = HttpsUrl::parse(url).map_err(|e| invalid("ZEGEL_ISSUER_URL", &e))?;
    let email = match &settings.issuer.email {
        Some(email) => Some(EmailAddress::parse(email).map_err(|e| invalid("ZEGEL_ISSUER_EMAIL", &e))?),
        None => None,
    };
    let brin = match &settings.issuer.brin {
        Some(brin) => Some(Brin::parse(brin).map_err(|e| invalid("ZEGEL_INSTITUTION_BRIN", &e))?),
        None => None,
    };
    let image = match &settings.issuer.image {
        Some(image) => Some(HttpsUrl::parse(image).map_err(|e| invalid("ZEGEL_ISSUER_IMAGE", &e))?),
        None => None,
    };
    Ok(IssuerProfile { id: id.to_owned(), name, url, email, brin, image })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn settings(dir: &Path, vars: &[(&str, &str)]) -> Settings {
        let dir = dir.display().to_string();
        Settings::from_lookup(|name| {
            if name == "ZEGEL_KEYS_DIR" {
                return Some(dir.clone());
            }
            vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
        })
        .unwrap()
    }

    fn dir_with_test_key() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("keys/test-ed25519.pem");
        std::fs::copy(source, dir.path().join("test-ed25519.pem")).unwrap();
        dir
    }

    #[test]
    fn the_public_test_key_is_not_used_unless_allowed() {
        let dir = dir_with_test_key();
        let refused = Issuer::load(&settings(dir.path(), &[("ZEGEL_GENERATE_KEYS", "false")]));
        assert!(matches!(refused, Err(IssuerError::NoEd25519Key(_))), "{refused:?}");

        let (issuer, setup) = Issuer::load(&settings(dir.path(), &[])).unwrap();
        let KeySetup::Generated { key_id, ignored_test_keys, .. } = setup else { panic!("{setup:?}") };
        assert_eq!(ignored_test_keys, [keys::PUBLIC_TEST_KEY_IDS[0]]);
        assert_eq!(issuer.id(), format!("did:key:{key_id}"));
        assert!(!issuer.keys().iter().any(keys::is_public_test_key));
    }

    #[test]
    fn tests_may_sign_with_the_public_test_key() {
        let dir = dir_with_test_key();
        let allowed = settings(dir.path(), &[("ZEGEL_GENERATE_KEYS", "false"), ("ZEGEL_ALLOW_TEST_KEYS", "true")]);
        let (issuer, setup) = Issuer::load(&allowed).unwrap();
        assert_eq!(setup, KeySetup::Loaded { count: 1, ignored_test_keys: vec![] });
        assert_eq!(issuer.id(), format!("did:key:{}", keys::PUBLIC_TEST_KEY_IDS[0]));
    }

    #[test]
    fn the_keyring_names_the_signing_key_and_every_key_it_lists_is_published() {
        let dir = dir_with_test_key();
        let old = keys::PUBLIC_TEST_KEY_IDS[0];
        let choice = KeyChoice { signing_key: None, allow_test_keys: true };
        let rotation = keyring::rotate(dir.path(), choice, Utc::now()).unwrap();
        let web = [("ZEGEL_ALLOW_TEST_KEYS", "true"), ("ZEGEL_PUBLIC_URL", "https://badges.example.edu")];

        let (issuer, setup) = Issuer::load(&settings(dir.path(), &web)).unwrap();
        let KeySetup::Keyring { current, published, unlisted, .. } = setup else { panic!("{setup:?}") };
        assert_eq!((current.as_str(), published, unlisted.len()), (rotation.key_id.as_str(), 2, 0));
        assert_eq!(issuer.signing_key().id(), rotation.key_id);
        assert_eq!(issuer.verification_method(), format!("did:web:badges.example.edu#{}", rotation.key_id));
        let methods = issuer.did_document()["assertionMethod"].clone();
        assert_eq!(
            methods,
            serde_json::json!([
                format!("did:web:badges.example.edu#{old}"),
                format!("did:web:badges.example.edu#{}", rotation.key_id)
            ])
        );
        assert_eq!(issuer.jwks()["keys"].as_array().unwrap().len(), 2);

        // ZEGEL_SIGNING_KEY wins over the keyring.
        let pinned = [web[0], web[1], ("ZEGEL_SIGNING_KEY", old)];
        let (issuer, _) = Issuer::load(&settings(dir.path(), &pinned)).unwrap();
        assert_eq!(issuer.signing_key().id(), old);
        assert_eq!(issuer.keys().len(), 2);

        // A keyring key that is a public test key is not used unless allowed.
        let refused = Issuer::load(&settings(dir.path(), &[("ZEGEL_PUBLIC_URL", "https://badges.example.edu")]));
        assert!(matches!(refused, Err(IssuerError::Keyring(keyring::KeyringError::TestKey(_)))), "{refused:?}");
    }

    #[test]
    fn a_did_key_issuer_publishes_each_key_under_its_own_did_key() {
        let dir = dir_with_test_key();
        let choice = KeyChoice { signing_key: None, allow_test_keys: true };
        let rotation = keyring::rotate(dir.path(), choice, Utc::now()).unwrap();
        let (issuer, _) = Issuer::load(&settings(dir.path(), &[("ZEGEL_ALLOW_TEST_KEYS", "true")])).unwrap();
        assert_eq!(issuer.id(), format!("did:key:{}", rotation.key_id));
        let kids: Vec<String> =
            issuer.jwks()["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect();
        let did_key = |id: &str| format!("did:key:{id}#{id}");
        assert_eq!(kids, [did_key(&rotation.previous_key_id), did_key(&rotation.key_id)]);
    }
}

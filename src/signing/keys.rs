//! Issuer signing keys: Ed25519 (Data Integrity `eddsa-rdfc-2022` and VC-JWT
//! `EdDSA`) and RSA (VC-JWT `RS256`, the OB 3.0 minimum algorithm).
//!
//! Key files are PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, RFC 5208/5958,
//! RFC 8410 for Ed25519). For reproducing the W3C vectors, a JSON Multikey
//! key pair (`privateKeyMultibase`/`secretKeyMultibase`, optional
//! `publicKeyMultibase`) is read as well.
//!
//! Key ids:
//! - Ed25519: the Multikey public key `z6Mk…`, so a verification method is
//!   `<issuer DID>#z6Mk…` (VC-DI-EdDSA §2.1.1; the 1EdTech validator accepts a
//!   fragment that *is* the Multikey without fetching anything).
//! - RSA: the RFC 7638 JWK thumbprint (base64url SHA-256 of
//!   `{"e":…,"kty":"RSA","n":…}`).
//!
//! Secrets never appear in `Debug` output or error messages, and are zeroized
//! on drop (ed25519-dalek, rsa and jsonwebtoken all zeroize their key types).

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::Signer;
use ed25519_dalek::pkcs8::KeypairBytes;
use rand_core::OsRng;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::der::pem::LineEnding;
use rsa::pkcs8::{ObjectIdentifier, PrivateKeyInfo, SecretDocument};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use super::jwt::PublicKey;
use super::multikey::{self, MultikeyError};

/// Size of newly generated RSA keys (NIST SP 800-57: 128-bit security).
pub const RSA_GENERATED_BITS: usize = 3072;
/// Smallest RSA modulus accepted for signing or verifying (RFC 7518 §3.3).
pub const RSA_MIN_BITS: usize = 2048;
/// Key files larger than this are not key files (a 4096-bit RSA PEM is ~3.3 KB).
const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;

const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// The two key algorithms zegel signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// Ed25519 (RFC 8032): Data Integrity proofs and VC-JWT `EdDSA`.
    Ed25519,
    /// RSA with PKCS#1 v1.5 SHA-256: VC-JWT `RS256`.
    Rsa,
}

impl KeyKind {
    /// The lowercase name used in file names and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Ed25519 => "ed25519",
            KeyKind::Rsa => "rsa",
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyKind {
    type Err = KeyError;

    /// Accepts `ed25519` and `rsa`, in any letter case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("ed25519") {
            Ok(KeyKind::Ed25519)
        } else if s.eq_ignore_ascii_case("rsa") {
            Ok(KeyKind::Rsa)
        } else {
            Err(KeyError::UnknownKind { given: s.to_owned() })
        }
    }
}

/// An Ed25519 signing key with its key id (the `z6Mk…` Multikey public key).
///
/// VC-JWTs are signed with the ed25519-dalek key directly rather than through
/// a jsonwebtoken `EncodingKey`: jsonwebtoken re-parses the PKCS#8 document and
/// re-derives the public key on every signature, which costs about a third of
/// the signing time (see `jwt::sign_vc_jwt`).
#[derive(Clone)]
pub struct Ed25519Key {
    id: String,
    key: ed25519_dalek::SigningKey,
}

impl Ed25519Key {
    /// Wraps an ed25519-dalek key (e.g. decoded from a W3C test vector).
    pub fn new(key: ed25519_dalek::SigningKey) -> Self {
        let id = multikey::encode_ed25519_public(&key.verifying_key());
        Ed25519Key { id, key }
    }

    /// The key id: the Multikey public key `z6Mk…`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Always [`KeyKind::Ed25519`].
    pub fn kind(&self) -> KeyKind {
        KeyKind::Ed25519
    }

    /// Pure Ed25519 signature (RFC 8032 §5.1.6) over `msg`.
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.key.sign(msg).to_bytes()
    }

    /// The public key.
    pub fn verifying_key(&self) -> ed25519_dalek::VerifyingKey {
        self.key.verifying_key()
    }

    /// The underlying ed25519-dalek key.
    pub fn signing_key(&self) -> &ed25519_dalek::SigningKey {
        &self.key
    }

    /// The public key as a Multikey `publicKeyMultibase` (`z6Mk…`); equal to [`Self::id`].
    pub fn public_multibase(&self) -> String {
        self.id.clone()
    }

    /// The public JWK (RFC 8037): `{"kty":"OKP","crv":"Ed25519","x",…,"kid","alg":"EdDSA","use":"sig"}`.
    pub fn public_jwk(&self) -> Value {
        ed25519_public_jwk(&self.key.verifying_key(), &self.id)
    }

    /// PKCS#8 v1 PEM (`BEGIN PRIVATE KEY`, RFC 8410), the form OpenSSL writes.
    pub fn to_pkcs8_pem(&self) -> Zeroizing<String> {
        pkcs8_v1_der(&self.key)
            .to_pem("PRIVATE KEY", LineEnding::LF)
            .expect("PEM-encoding a 48-byte DER document cannot fail")
    }
}

/// The DER of an Ed25519 PKCS#8 v1 key up to the seed (RFC 8410 §7):
/// SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } }.
const ED25519_PKCS8_V1_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

/// PKCS#8 v1 (no embedded public key), the form OpenSSL writes.
///
/// Built by hand because ed25519-dalek writes v2 and its `KeypairBytes`
/// helper is not zeroized on drop with our feature set; every buffer here is.
fn pkcs8_v1_der(key: &ed25519_dalek::SigningKey) -> SecretDocument {
    let mut der = Zeroizing::new([0u8; 48]);
    der[..16].copy_from_slice(&ED25519_PKCS8_V1_PREFIX);
    der[16..].copy_from_slice(key.as_bytes());
    SecretDocument::try_from(der.as_slice()).expect("a fixed-layout Ed25519 PrivateKeyInfo is well-formed DER")
}

impl fmt::Debug for Ed25519Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ed25519Key").field("id", &self.id).finish()
    }
}

/// An RSA signing key (at least [`RSA_MIN_BITS`]) with its RFC 7638 thumbprint as key id.
///
/// Also holds the PKCS#1 DER `EncodingKey` jsonwebtoken signs RS256 with,
/// built once per key rather than per token.
#[derive(Clone)]
pub struct RsaKey {
    id: String,
    key: RsaPrivateKey,
    jwt_key: jsonwebtoken::EncodingKey,
}

impl RsaKey {
    /// Wraps an RSA private key, refusing moduli shorter than [`RSA_MIN_BITS`].
    pub fn new(key: RsaPrivateKey) -> Result<Self, KeyFormatError> {
        let bits = key.n().bits();
        if bits < RSA_MIN_BITS {
            return Err(KeyFormatError::RsaTooShort { bits });
        }
        key.validate().map_err(|error| KeyFormatError::InvalidRsa(error.to_string()))?;
        let der = key.to_pkcs1_der().map_err(|error| KeyFormatError::InvalidRsa(error.to_string()))?;
        let jwt_key = jsonwebtoken::EncodingKey::from_rsa_der(der.as_bytes());
        let id = rsa_jwk_thumbprint(key.as_ref());
        Ok(RsaKey { id, key, jwt_key })
    }

    /// The key id: the RFC 7638 JWK SHA-256 thumbprint, base64url without padding.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Always [`KeyKind::Rsa`].
    pub fn kind(&self) -> KeyKind {
        KeyKind::Rsa
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        self.key.n().bits()
    }

    /// The public key.
    pub fn public_key(&self) -> RsaPublicKey {
        self.key.to_public_key()
    }

    /// The public JWK (RFC 7518 §6.3): `{"kty":"RSA","n","e","kid","alg":"RS256","use":"sig"}`.
    pub fn public_jwk(&self) -> Value {
        rsa_public_jwk(self.key.as_ref(), &self.id)
    }

    /// PKCS#8 PEM (`BEGIN PRIVATE KEY`).
    pub fn to_pkcs8_pem(&self) -> Zeroizing<String> {
        use rsa::pkcs8::EncodePrivateKey as _;
        self.key.to_pkcs8_pem(LineEnding::LF).expect("a validated two-prime RSA key always encodes as PKCS#8")
    }

    pub(crate) fn jwt_encoding_key(&self) -> &jsonwebtoken::EncodingKey {
        &self.jwt_key
    }
}

impl fmt::Debug for RsaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaKey").field("id", &self.id).field("bits", &self.bits()).finish()
    }
}

/// A signing key of either kind. `Debug` shows only the kind and key id.
#[derive(Clone)]
pub enum SigningKey {
    /// An Ed25519 key.
    Ed25519(Ed25519Key),
    /// An RSA key.
    Rsa(RsaKey),
}

impl SigningKey {
    /// The key id (Ed25519: `z6Mk…`; RSA: JWK thumbprint). A verification
    /// method id is `<issuer>#<id>`.
    pub fn id(&self) -> &str {
        match self {
            SigningKey::Ed25519(key) => key.id(),
            SigningKey::Rsa(key) => key.id(),
        }
    }

    /// Which algorithm the key is for.
    pub fn kind(&self) -> KeyKind {
        match self {
            SigningKey::Ed25519(_) => KeyKind::Ed25519,
            SigningKey::Rsa(_) => KeyKind::Rsa,
        }
    }

    /// The public JWK, with `kid`, `alg` and `use`; never any private member.
    pub fn public_jwk(&self) -> Value {
        match self {
            SigningKey::Ed25519(key) => key.public_jwk(),
            SigningKey::Rsa(key) => key.public_jwk(),
        }
    }

    /// The public half, for DID documents, JWKS and verification.
    pub fn public_key(&self) -> PublicKey {
        match self {
            SigningKey::Ed25519(key) => PublicKey::Ed25519(key.verifying_key()),
            SigningKey::Rsa(key) => PublicKey::Rsa(key.public_key()),
        }
    }

    /// PKCS#8 PEM (`BEGIN PRIVATE KEY`), the key file format.
    pub fn to_pkcs8_pem(&self) -> Zeroizing<String> {
        match self {
            SigningKey::Ed25519(key) => key.to_pkcs8_pem(),
            SigningKey::Rsa(key) => key.to_pkcs8_pem(),
        }
    }

    /// The Ed25519 key, if this is one (Data Integrity proofs need Ed25519).
    pub fn as_ed25519(&self) -> Option<&Ed25519Key> {
        match self {
            SigningKey::Ed25519(key) => Some(key),
            SigningKey::Rsa(_) => None,
        }
    }
}

impl From<Ed25519Key> for SigningKey {
    fn from(key: Ed25519Key) -> Self {
        SigningKey::Ed25519(key)
    }
}

impl From<RsaKey> for SigningKey {
    fn from(key: RsaKey) -> Self {
        SigningKey::Rsa(key)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SigningKey::Ed25519(key) => f.debug_tuple("Ed25519").field(key).finish(),
            SigningKey::Rsa(key) => f.debug_tuple("Rsa").field(key).finish(),
        }
    }
}

/// Something wrong with a key file, or with key generation.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key kind given (CLI, config) is neither `ed25519` nor `rsa`.
    #[error("unknown key kind {given:?}: expected \"ed25519\" or \"rsa\"")]
    UnknownKind {
        /// What was given.
        given: String,
    },
    /// RSA key generation failed (the operating system RNG or the prime search).
    #[error("could not generate a {bits}-bit RSA key: {source}")]
    RsaGeneration {
        /// The requested size.
        bits: usize,
        /// The rsa crate's error.
        #[source]
        source: rsa::Error,
    },
    /// A freshly generated key was unusable (never expected; reported, not panicked on).
    #[error("the generated key is unusable: {source}")]
    Generated {
        /// What was wrong with it.
        #[source]
        source: KeyFormatError,
    },
    /// The key directory could not be created.
    #[error("cannot create key directory {}: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A key file with this name exists already; keys are never overwritten.
    #[error(
        "key file {} already exists; refusing to overwrite a key (load it, or move it away first)",
        path.display()
    )]
    AlreadyExists {
        /// The existing file.
        path: PathBuf,
    },
    /// Writing a new key file failed (the partial file is removed).
    #[error("cannot write key file {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// Reading a key file failed.
    #[error("cannot read key file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// Listing the key directory failed.
    #[error("cannot list key directory {}: {source}", path.display())]
    ReadDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The file was read but does not hold a usable private key.
    #[error("key file {}: {source}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with its contents.
        #[source]
        source: KeyFormatError,
    },
    /// Two files in the key directory hold the same key.
    #[error(
        "key files {} and {} hold the same key {id}; remove one of them",
        first.display(),
        second.display()
    )]
    DuplicateKey {
        /// The file read first.
        first: PathBuf,
        /// The file read second.
        second: PathBuf,
        /// The key id both hold.
        id: String,
    },
}

/// What is wrong with the contents of a key file. Never contains key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyFormatError {
    /// Neither PEM nor a JSON object.
    #[error(
        "not PEM or Multikey JSON: expected PKCS#8 PEM (\"-----BEGIN PRIVATE KEY-----\") or a JSON \
         key pair with \"privateKeyMultibase\" or \"secretKeyMultibase\""
    )]
    UnrecognisedFormat,
    /// The file is larger than any key file.
    #[error("{bytes} bytes is too large for a key file")]
    TooLarge {
        /// The file size.
        bytes: u64,
    },
    /// PEM armour or base64 inside it is broken.
    #[error("malformed PEM: {reason}")]
    MalformedPem {
        /// The PEM decoder's complaint.
        reason: String,
    },
    /// PEM of an encrypted PKCS#8 key.
    #[error(
        "the private key is encrypted; zegel takes no key passwords, so store it decrypted with \
         restrictive file permissions (openssl pkcs8 -in KEY -out KEY.pem)"
    )]
    EncryptedKey,
    /// PEM that holds something other than a private key.
    #[error("PEM block \"{label}\" is not a private key; expected \"PRIVATE KEY\" (PKCS#8)")]
    UnexpectedPemLabel {
        /// The PEM label found.
        label: String,
    },
    /// A PKCS#8 key of an algorithm zegel does not sign with.
    #[error("PKCS#8 key of an unsupported algorithm ({algorithm}, OID {oid}); expected Ed25519 or RSA")]
    UnsupportedAlgorithm {
        /// The algorithm OID.
        oid: String,
        /// Its common name, when known.
        algorithm: &'static str,
    },
    /// Structurally broken PKCS#8 / PKCS#1.
    #[error("malformed {format} key: {reason}")]
    MalformedKey {
        /// `"PKCS#8"`, `"PKCS#8 Ed25519"`, `"PKCS#8 RSA"` or `"PKCS#1 RSA"`.
        format: &'static str,
        /// The DER decoder's complaint (structure only).
        reason: String,
    },
    /// The public key stored next to the private key is not its public key.
    #[error("public key does not match the private key")]
    PublicKeyMismatch,
    /// An RSA modulus below [`RSA_MIN_BITS`].
    #[error("RSA key shorter than 2048 bits ({bits} bits); use a 3072-bit key")]
    RsaTooShort {
        /// The modulus size.
        bits: usize,
    },
    /// An RSA key that fails the rsa crate's consistency checks.
    #[error("invalid RSA key: {0}")]
    InvalidRsa(String),
    /// JSON that is not a key pair object.
    #[error("invalid Multikey JSON key pair at line {line}, column {column}: {problem}")]
    InvalidJson {
        /// Where.
        line: usize,
        /// Where.
        column: usize,
        /// What kind of problem (syntax, wrong type, …), without the offending value.
        problem: &'static str,
    },
    /// A JSON key pair without a private key.
    #[error("Multikey JSON key pair has no \"privateKeyMultibase\" or \"secretKeyMultibase\"")]
    MissingSecret,
    /// A JSON key pair with two different private keys.
    #[error("Multikey JSON key pair has different \"privateKeyMultibase\" and \"secretKeyMultibase\"")]
    ConflictingSecrets,
    /// A Multikey member that does not decode.
    #[error("\"{member}\": {source}")]
    Multikey {
        /// The JSON member.
        member: &'static str,
        /// Why it does not decode.
        #[source]
        source: MultikeyError,
    },
}

/// Generates a new key with the operating system's RNG (Ed25519, or
/// [`RSA_GENERATED_BITS`]-bit RSA).
pub fn generate(kind: KeyKind) -> Result<SigningKey, KeyError> {
    match kind {
        KeyKind::Ed25519 => Ok(SigningKey::Ed25519(Ed25519Key::new(ed25519_dalek::SigningKey::generate(&mut OsRng)))),
        KeyKind::Rsa => {
            let key = RsaPrivateKey::new(&mut OsRng, RSA_GENERATED_BITS)
                .map_err(|source| KeyError::RsaGeneration { bits: RSA_GENERATED_BITS, source })?;
            let key = RsaKey::new(key).map_err(|source| KeyError::Generated { source })?;
            Ok(SigningKey::Rsa(key))
        }
    }
}

/// Writes `key` as PKCS#8 PEM to `<dir>/<kind>-<id>.pem` and returns the path.
///
/// Creates `dir` if missing (mode 0700 on Unix). The key appears all at once
/// (see [`write_private_file`]): a crash never leaves a half-written key
/// file behind, and an existing file is [`KeyError::AlreadyExists`], never
/// replaced.
pub fn write_new_key_file(dir: &Path, key: &SigningKey) -> Result<PathBuf, KeyError> {
    create_private_dir(dir).map_err(|source| KeyError::CreateDir { path: dir.to_owned(), source })?;
    let name = format!("{}-{}.pem", key.kind(), key.id());
    let pem = key.to_pkcs8_pem();
    write_private_file(dir, &name, pem.as_bytes(), false).map_err(|source| {
        let path = dir.join(&name);
        if source.kind() == io::ErrorKind::AlreadyExists {
            KeyError::AlreadyExists { path }
        } else {
            KeyError::Write { path, source }
        }
    })
}

/// Writes `bytes` to `<dir>/<name>` atomically: into a temporary file in
/// `dir` (mode 0600 from the moment it exists, on Unix), synced, then moved
/// into place and the directory synced. Readers see the old file or the
/// whole new one, never a part. With `replace` false an existing file is
/// left alone (`AlreadyExists`). The temporary file is gone either way.
pub(crate) fn write_private_file(dir: &Path, name: &str, bytes: &[u8], replace: bool) -> io::Result<PathBuf> {
    use rand_core::RngCore as _;
    let path = dir.join(name);
    let temporary = dir.join(format!(".{name}.{}-{:016x}.tmp", std::process::id(), OsRng.next_u64()));
    let mut file = open_new_private_file(&temporary)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    drop(file);
    let placed = written.and_then(|()| {
        if replace {
            fs::rename(&temporary, &path)
        } else {
            // A hard link fails when the name is taken: no check-then-act race.
            match fs::hard_link(&temporary, &path) {
                Err(error) if error.kind() != io::ErrorKind::AlreadyExists => {
                    // A file system without hard links.
                    if path.exists() {
                        Err(io::Error::from(io::ErrorKind::AlreadyExists))
                    } else {
                        fs::rename(&temporary, &path)
                    }
                }
                linked => linked,
            }
        }
    });
    // Gone already after a rename; the link's other name otherwise.
    let _ = fs::remove_file(&temporary);
    placed?;
    sync_dir(dir);
    Ok(path)
}

/// Makes a rename in `dir` durable (best effort: not every platform can).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(handle) = fs::File::open(dir) {
        let _ = handle.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(unix)]
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn open_new_private_file(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    // The mode is applied by open(2) itself, so the file is never readable by
    // others, not even between creation and a later chmod.
    fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}

#[cfg(not(unix))]
fn open_new_private_file(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new().write(true).create_new(true).open(path)
}

/// Reads one private key file: PKCS#8 PEM (Ed25519 or RSA; PKCS#1
/// `BEGIN RSA PRIVATE KEY` too), or a JSON Multikey key pair such as the W3C
/// `keyPair.json`. Errors name the file and never show key material.
pub fn read_key_file(path: &Path) -> Result<SigningKey, KeyError> {
    let text = read_small_file(path)?;
    let text = std::str::from_utf8(&text)
        .map_err(|_| KeyError::Format { path: path.to_owned(), source: KeyFormatError::UnrecognisedFormat })?;
    parse_private_key(text).map_err(|source| KeyError::Format { path: path.to_owned(), source })
}

fn read_small_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let read_error = |source| KeyError::Read { path: path.to_owned(), source };
    let file = fs::File::open(path).map_err(read_error)?;
    let size = file.metadata().map_err(read_error)?.len();
    if size > MAX_KEY_FILE_BYTES {
        return Err(KeyError::Format { path: path.to_owned(), source: KeyFormatError::TooLarge { bytes: size } });
    }
    // Sized up front so reading never reallocates and leaves a stray copy.
    let capacity = usize::try_from(size).unwrap_or(0) + 1;
    let mut bytes = Zeroizing::new(Vec::with_capacity(capacity));
    file.take(MAX_KEY_FILE_BYTES).read_to_end(&mut bytes).map_err(read_error)?;
    Ok(bytes)
}

/// Parses the contents of a key file (see [`read_key_file`]).
pub fn parse_private_key(text: &str) -> Result<SigningKey, KeyFormatError> {
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.starts_with("-----BEGIN ") {
        parse_pem(text)
    } else if text.starts_with('{') {
        parse_multikey_json(text)
    } else {
        Err(KeyFormatError::UnrecognisedFormat)
    }
}

fn parse_pem(text: &str) -> Result<SigningKey, KeyFormatError> {
    let (label, der) =
        SecretDocument::from_pem(text).map_err(|error| KeyFormatError::MalformedPem { reason: error.to_string() })?;
    match label {
        "PRIVATE KEY" => parse_pkcs8_der(der.as_bytes()),
        "RSA PRIVATE KEY" => {
            let key = RsaPrivateKey::from_pkcs1_der(der.as_bytes())
                .map_err(|error| KeyFormatError::MalformedKey { format: "PKCS#1 RSA", reason: error.to_string() })?;
            Ok(SigningKey::Rsa(RsaKey::new(key)?))
        }
        "ENCRYPTED PRIVATE KEY" => Err(KeyFormatError::EncryptedKey),
        other => Err(KeyFormatError::UnexpectedPemLabel { label: other.to_owned() }),
    }
}

fn parse_pkcs8_der(der: &[u8]) -> Result<SigningKey, KeyFormatError> {
    let malformed = |format: &'static str| {
        move |error: rsa::pkcs8::Error| KeyFormatError::MalformedKey { format, reason: error.to_string() }
    };
    let info = PrivateKeyInfo::try_from(der).map_err(malformed("PKCS#8"))?;
    let oid = info.algorithm.oid;
    if oid == OID_ED25519 {
        let mut pair = KeypairBytes::try_from(info).map_err(malformed("PKCS#8 Ed25519"))?;
        let key = ed25519_dalek::SigningKey::from_bytes(&pair.secret_key);
        // KeypairBytes does not wipe itself with our feature set.
        pair.secret_key.zeroize();
        // PKCS#8 v2 (RFC 5958) may carry the public key; it must be this key's.
        if let Some(public) = &pair.public_key
            && public.0 != key.verifying_key().to_bytes()
        {
            return Err(KeyFormatError::PublicKeyMismatch);
        }
        Ok(SigningKey::Ed25519(Ed25519Key::new(key)))
    } else if oid == OID_RSA_ENCRYPTION {
        let key = RsaPrivateKey::try_from(info).map_err(malformed("PKCS#8 RSA"))?;
        Ok(SigningKey::Rsa(RsaKey::new(key)?))
    } else {
        Err(KeyFormatError::UnsupportedAlgorithm { oid: oid.to_string(), algorithm: algorithm_name(&oid.to_string()) })
    }
}

fn algorithm_name(oid: &str) -> &'static str {
    match oid {
        "1.2.840.10045.2.1" => "EC (ECDSA)",
        "1.2.840.113549.1.1.10" => "RSASSA-PSS",
        "1.2.840.10040.4.1" => "DSA",
        "1.3.101.110" => "X25519",
        "1.3.101.111" => "X448",
        "1.3.101.113" => "Ed448",
        _ => "unknown algorithm",
    }
}

/// The W3C / 1EdTech JSON key pair shape (other members, e.g. `id`,
/// `controller`, `type`, are ignored). Borrowed strings: no stray copies of
/// the secret.
#[derive(serde::Deserialize)]
struct MultikeyPairJson<'a> {
    #[serde(rename = "privateKeyMultibase", borrow, default)]
    private_key: Option<&'a str>,
    #[serde(rename = "secretKeyMultibase", borrow, default)]
    secret_key: Option<&'a str>,
    #[serde(rename = "publicKeyMultibase", borrow, default)]
    public_key: Option<&'a str>,
}

fn parse_multikey_json(text: &str) -> Result<SigningKey, KeyFormatError> {
    let pair: MultikeyPairJson<'_> = serde_json::from_str(text).map_err(|error| KeyFormatError::InvalidJson {
        line: error.line(),
        column: error.column(),
        // serde_json's messages can quote values; only say what kind of problem it is.
        problem: match error.classify() {
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Eof => "unexpected end of file",
            serde_json::error::Category::Data => {
                "a key member is not a plain string (or the top level is not an object)"
            }
            serde_json::error::Category::Io => "read error",
        },
    })?;
    let (member, secret) = match (pair.private_key, pair.secret_key) {
        (Some(private), Some(secret)) if private != secret => {
            return Err(KeyFormatError::ConflictingSecrets);
        }
        (Some(private), _) => ("privateKeyMultibase", private),
        (None, Some(secret)) => ("secretKeyMultibase", secret),
        (None, None) => return Err(KeyFormatError::MissingSecret),
    };
    let key = multikey::decode_ed25519_secret(secret).map_err(|source| KeyFormatError::Multikey { member, source })?;
    if let Some(public) = pair.public_key {
        let public = multikey::decode_ed25519_public(public)
            .map_err(|source| KeyFormatError::Multikey { member: "publicKeyMultibase", source })?;
        if public != key.verifying_key() {
            return Err(KeyFormatError::PublicKeyMismatch);
        }
    }
    Ok(SigningKey::Ed25519(Ed25519Key::new(key)))
}

/// Loads every `*.pem` file in `dir`, in file-name order. A file that does not
/// hold a usable key is an error naming it, as is the same key in two files.
/// Key ids of the two keys committed in `keys/` (`keys/README.md`). Their
/// private halves are public, so the service refuses to sign with them
/// unless told it is a test (`ZEGEL_ALLOW_TEST_KEYS`).
pub const PUBLIC_TEST_KEY_IDS: [&str; 2] =
    ["z6Mkr5UhuaVny5R6s3S1KKtPDoJ8HsPqCRxBfVtq1NoiaFHL", "WND7RF6nBG1tHwUjDx8ztmXChNdyqjHrgQgMnLgyEeg"];

/// Whether `key` is one of the committed public test keys.
pub fn is_public_test_key(key: &SigningKey) -> bool {
    PUBLIC_TEST_KEY_IDS.contains(&key.id())
}

pub fn load_key_dir(dir: &Path) -> Result<Vec<SigningKey>, KeyError> {
    Ok(load_key_files(dir)?.into_iter().map(|(_, key)| key).collect())
}

/// [`load_key_dir`], with the file each key was read from.
pub fn load_key_files(dir: &Path) -> Result<Vec<(PathBuf, SigningKey)>, KeyError> {
    let read_dir_error = |source| KeyError::ReadDir { path: dir.to_owned(), source };
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir).map_err(read_dir_error)? {
        let path = entry.map_err(read_dir_error)?.path();
        if path.extension().is_some_and(|ext| ext == "pem") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort_by(|a, b| a.file_name().cmp(&b.file_name()));

    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    let mut keys = Vec::with_capacity(paths.len());
    for path in paths {
        let key = read_key_file(&path)?;
        if let Some(first) = seen.get(key.id()) {
            return Err(KeyError::DuplicateKey { first: first.clone(), second: path, id: key.id().to_owned() });
        }
        seen.insert(key.id().to_owned(), path.clone());
        keys.push((path, key));
    }
    Ok(keys)
}

/// RFC 8037 public JWK for an Ed25519 key.
pub(crate) fn ed25519_public_jwk(key: &ed25519_dalek::VerifyingKey, kid: &str) -> Value {
    json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "x": URL_SAFE_NO_PAD.encode(key.as_bytes()),
        "kid": kid,
        "alg": "EdDSA",
        "use": "sig",
    })
}

/// RFC 7518 §6.3.1 public JWK for an RSA key (`n`, `e` big-endian without leading zeros).
pub(crate) fn rsa_public_jwk(key: &RsaPublicKey, kid: &str) -> Value {
    let (n, e) = rsa_jwk_components(key);
    json!({
        "kty": "RSA",
        "n": n,
        "e": e,
        "kid": kid,
        "alg": "RS256",
        "use": "sig",
    })
}

fn rsa_jwk_components(key: &RsaPublicKey) -> (String, String) {
    (URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()), URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()))
}

/// RFC 7638 JWK thumbprint of an RSA public key: base64url(SHA-256(
/// `{"e":"…","kty":"RSA","n":"…"}`)), members in lexicographic order, no
/// whitespace. Base64url needs no JSON escaping, so plain formatting is exact.
pub(crate) fn rsa_jwk_thumbprint(key: &RsaPublicKey) -> String {
    let (n, e) = rsa_jwk_components(key);
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::pkcs8::EncodePrivateKey;

    const W3C_SECRET: &str = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq";
    const W3C_PUBLIC: &str = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2";

    #[test]
    fn key_kinds_parse_in_any_case_and_display_lowercase() {
        assert_eq!("Ed25519".parse::<KeyKind>().ok(), Some(KeyKind::Ed25519));
        assert_eq!("RSA".parse::<KeyKind>().ok(), Some(KeyKind::Rsa));
        assert_eq!(KeyKind::Ed25519.to_string(), "ed25519");
        assert!(matches!("p256".parse::<KeyKind>(), Err(KeyError::UnknownKind { .. })));
    }

    #[test]
    fn debug_output_shows_the_key_id_and_nothing_secret() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[42u8; 32]);
        let wrapped = SigningKey::from(Ed25519Key::new(key.clone()));
        let debug = format!("{wrapped:?}");
        assert!(debug.starts_with("Ed25519(Ed25519Key { id: \"z6Mk"), "{debug}");
        let secret = multikey::encode_ed25519_secret(&key);
        assert!(!debug.contains(&secret));
        assert!(!debug.contains("42, 42"), "{debug}");
    }

    #[test]
    fn an_ed25519_pem_round_trips_to_the_same_key() {
        let key = Ed25519Key::new(ed25519_dalek::SigningKey::from_bytes(&[1u8; 32]));
        let pem = key.to_pkcs8_pem();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let parsed = parse_private_key(&pem).expect("parses");
        assert_eq!(parsed.id(), key.id());
    }

    #[test]
    fn the_hand_built_pkcs8_v1_der_equals_the_pkcs8_crates_encoding() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[12u8; 32]);
        let reference = KeypairBytes { secret_key: key.to_bytes(), public_key: None }.to_pkcs8_der().expect("encodes");
        assert_eq!(pkcs8_v1_der(&key).as_bytes(), reference.as_bytes());
    }

    #[test]
    fn the_w3c_json_key_pair_parses_to_its_published_public_key() {
        let json = format!(r#"{{"publicKeyMultibase":"{W3C_PUBLIC}","privateKeyMultibase":"{W3C_SECRET}"}}"#);
        let key = parse_private_key(&json).expect("parses");
        assert_eq!(key.id(), W3C_PUBLIC);
    }

    #[test]
    fn a_json_key_pair_whose_public_key_differs_is_refused() {
        let other = multikey::encode_ed25519_public(&ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]).verifying_key());
        let json = format!(r#"{{"publicKeyMultibase":"{other}","privateKeyMultibase":"{W3C_SECRET}"}}"#);
        assert!(matches!(parse_private_key(&json), Err(KeyFormatError::PublicKeyMismatch)));
    }

    #[test]
    fn json_errors_do_not_echo_the_values() {
        let json = format!(r#"{{"privateKeyMultibase":["{W3C_SECRET}"]}}"#);
        let message = parse_private_key(&json).expect_err("array").to_string();
        assert!(!message.contains(W3C_SECRET), "{message}");
    }

    #[test]
    fn a_pkcs8_v2_ed25519_key_with_a_foreign_public_key_is_refused() {
        let der = KeypairBytes {
            secret_key: [5u8; 32],
            public_key: Some(ed25519_dalek::pkcs8::PublicKeyBytes(
                ed25519_dalek::SigningKey::from_bytes(&[6u8; 32]).verifying_key().to_bytes(),
            )),
        }
        .to_pkcs8_der()
        .expect("encodes");
        assert!(matches!(parse_pkcs8_der(der.as_bytes()), Err(KeyFormatError::PublicKeyMismatch)));
    }

    #[test]
    fn the_rsa_thumbprint_matches_the_rfc_7638_example() {
        // RFC 7638 §3.1: the example key and its thumbprint.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let n = rsa::BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(n).expect("b64"));
        let key = RsaPublicKey::new(n, rsa::BigUint::from(65537u32)).expect("valid");
        assert_eq!(rsa_jwk_thumbprint(&key), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }
}

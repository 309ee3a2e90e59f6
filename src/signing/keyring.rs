//! The keyring: which Ed25519 key of the key directory signs, and which are
//! published only so that what they signed keeps verifying.
//!
//! `keyring.json` in the key directory (no secrets in it; the keys stay in
//! their PEM files, found by key id whatever the files are called):
//!
//! ```json
//! {"format": 1, "current": "z6MkNEW…",
//!  "keys": [{"id": "z6MkOLD…", "created": "…", "retired": "…"},
//!           {"id": "z6MkNEW…", "created": "…"}],
//!  "removed": [{"id": "z6MkGONE…", "created": "…", "retired": "…", "removed": "…"}]}
//! ```
//!
//! A key is *current* (it signs), *prepared* (published, not signing yet: the
//! first step of a rotation across several instances) or *retired* (signed
//! once, published still). Every key in `keys` is in the DID document and the
//! JWKS. `removed` is history: those keys are published no more, and their
//! files were moved to `removed/`.
//!
//! Without `keyring.json` the directory is the single-key layout: every key
//! file is published and the one Ed25519 key (or `ZEGEL_SIGNING_KEY`) signs.
//! The first rotation writes the manifest from that layout.
//!
//! Files are written atomically (a temporary file, then a rename) with mode
//! 0600; nothing here logs or prints key material.

use super::keys::{self, KeyError, KeyKind, SigningKey};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

/// The manifest's file name in the key directory.
pub const MANIFEST: &str = "keyring.json";
/// Where removed keys' files go, under the key directory.
pub const REMOVED_DIR: &str = "removed";
/// The manifest format this version writes and reads.
const FORMAT: u32 = 1;
/// A manifest larger than this is not one (a thousand keys is ~150 KB).
const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;

/// What is wrong with the keyring, or what a keyring change refused.
/// Never contains key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is not a keyring manifest: {reason}", path.display())]
    Malformed { path: PathBuf, reason: String },
    #[error(
        "{} lists key {id}, but no key file in {} holds it; restore the file, or remove the key from the keyring",
        manifest.display(),
        dir.display()
    )]
    MissingKey { manifest: PathBuf, dir: PathBuf, id: String },
    #[error(
        "the keyring's key {0} is a public test key (keys/README.md); it is used only with ZEGEL_ALLOW_TEST_KEYS=true"
    )]
    TestKey(String),
    #[error(
        "the key directory {0} has no Ed25519 key to rotate from; start `zegel serve` once or run `zegel keys generate`"
    )]
    NoKey(String),
    #[error("the key directory has several Ed25519 keys ({0}); name the one that signs now with ZEGEL_SIGNING_KEY")]
    AmbiguousKey(String),
    #[error("ZEGEL_SIGNING_KEY={0} is not an Ed25519 key in the key directory")]
    UnknownSigningKey(String),
    #[error("the keyring has no key {0} (see `zegel keys list`)")]
    UnknownKey(String),
    #[error("{0} is the current signing key and cannot be removed; rotate first (`zegel keys rotate`)")]
    RemoveCurrent(String),
    #[error("key {0} is prepared already; make it current with `zegel keys rotate`, or remove it first")]
    AlreadyPrepared(String),
}

/// `keyring.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keyring {
    /// Always 1.
    pub format: u32,
    /// The key id of the key that signs.
    pub current: String,
    /// Every published key, oldest first.
    pub keys: Vec<KeyringEntry>,
    /// Keys taken out of the documents, in the order they were removed.
    #[serde(default)]
    pub removed: Vec<RemovedKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyringEntry {
    /// The Multikey public key `z6Mk…`.
    pub id: String,
    pub created: DateTime<Utc>,
    /// When it stopped signing; absent while current or prepared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemovedKey {
    pub id: String,
    pub created: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired: Option<DateTime<Utc>>,
    pub removed: DateTime<Utc>,
}

/// Where a key stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// It signs.
    Current,
    /// Published, to sign after the next rotation.
    Prepared,
    /// Signed once; published so that what it signed keeps verifying.
    Retired,
    /// Published no more (history only).
    Removed,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Prepared => "prepared",
            Self::Retired => "retired",
            Self::Removed => "removed",
        }
    }
}

/// How the service picks its signing key where the keyring does not say:
/// the settings `ZEGEL_SIGNING_KEY` and `ZEGEL_ALLOW_TEST_KEYS`.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeyChoice<'a> {
    pub signing_key: Option<&'a str>,
    pub allow_test_keys: bool,
}

impl Keyring {
    /// The manifest in `dir`; `None` when there is none (the single-key layout).
    pub fn read(dir: &Path) -> Result<Option<Self>, KeyringError> {
        use std::io::Read as _;
        let path = dir.join(MANIFEST);
        let file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(KeyringError::Read { path, source }),
        };
        let mut text = String::new();
        file.take(MAX_MANIFEST_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|source| KeyringError::Read { path: path.clone(), source })?;
        if text.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(KeyringError::Malformed { path, reason: "larger than 1 MiB".into() });
        }
        let keyring: Keyring = serde_json::from_str(&text)
            .map_err(|e| KeyringError::Malformed { path: path.clone(), reason: e.to_string() })?;
        keyring.check().map_err(|reason| KeyringError::Malformed { path, reason })?;
        Ok(Some(keyring))
    }

    /// What must hold for the keyring to make sense.
    fn check(&self) -> Result<(), String> {
        if self.format != FORMAT {
            return Err(format!("format {} is not known here (expected {FORMAT})", self.format));
        }
        let mut ids = HashSet::new();
        for entry in &self.keys {
            if !ids.insert(entry.id.as_str()) {
                return Err(format!("key {} is listed twice", entry.id));
            }
        }
        let current =
            self.entry(&self.current).ok_or_else(|| format!("the current key {} is not listed", self.current))?;
        if current.retired.is_some() {
            return Err(format!("the current key {} is marked retired", self.current));
        }
        if self.removed.iter().any(|r| ids.contains(r.id.as_str())) {
            return Err("a removed key is listed as published".into());
        }
        Ok(())
    }

    /// Writes the manifest into `dir`, replacing the old one at once.
    pub fn write(&self, dir: &Path) -> Result<(), KeyringError> {
        let path = dir.join(MANIFEST);
        let mut text = serde_json::to_string_pretty(self)
            .map_err(|e| KeyringError::Malformed { path: path.clone(), reason: e.to_string() })?;
        text.push('\n');
        keys::write_private_file(dir, MANIFEST, text.as_bytes(), true)
            .map_err(|source| KeyringError::Write { path, source })?;
        Ok(())
    }

    fn entry(&self, id: &str) -> Option<&KeyringEntry> {
        self.keys.iter().find(|k| k.id == id)
    }

    /// Where a listed (or removed) key stands.
    pub fn state(&self, id: &str) -> Option<KeyState> {
        if id == self.current {
            return Some(KeyState::Current);
        }
        match self.entry(id) {
            Some(entry) if entry.retired.is_some() => Some(KeyState::Retired),
            Some(_) => Some(KeyState::Prepared),
            None => self.removed.iter().any(|r| r.id == id).then_some(KeyState::Removed),
        }
    }

    /// The prepared key, if there is one.
    pub fn prepared(&self) -> Option<&KeyringEntry> {
        self.keys.iter().find(|k| k.id != self.current && k.retired.is_none())
    }
}

/// The service's keys as the keyring (or the single-key layout) has them.
#[derive(Debug)]
pub struct Selection {
    /// Every key to publish: the keyring's (current, prepared, retired, in
    /// the keyring's order), then the directory's keys of other kinds (RSA,
    /// for RS256 VC-JWTs).
    pub keys: Vec<SigningKey>,
    /// The key id that signs (Ed25519).
    pub signing: String,
    /// Ed25519 key files in the directory that the keyring does not list:
    /// neither used nor published.
    pub unlisted: Vec<String>,
}

impl Keyring {
    /// Picks the keyring's keys out of what the directory holds (`loaded`,
    /// with the public test keys already taken out when not allowed: their
    /// ids are in `test_keys`). `choice.signing_key` overrides the current
    /// key (and is published even when unlisted).
    pub fn select(
        &self,
        dir: &Path,
        loaded: Vec<SigningKey>,
        test_keys: &[String],
        choice: KeyChoice<'_>,
    ) -> Result<Selection, KeyringError> {
        let signing = choice.signing_key.unwrap_or(&self.current).to_owned();
        let mut listed: Vec<Option<SigningKey>> = vec![None; self.keys.len()];
        let mut others = Vec::new();
        let mut unlisted = Vec::new();
        let mut signing_found = false;
        for key in loaded {
            if key.kind() != KeyKind::Ed25519 {
                others.push(key);
                continue;
            }
            if let Some(i) = self.keys.iter().position(|k| k.id == key.id()) {
                signing_found |= key.id() == signing;
                listed[i] = Some(key);
            } else if key.id() == signing {
                signing_found = true;
                others.insert(0, key);
            } else {
                unlisted.push(key.id().to_owned());
            }
        }
        let mut keys = Vec::with_capacity(listed.len() + others.len());
        for (entry, key) in self.keys.iter().zip(listed) {
            match key {
                Some(key) => keys.push(key),
                None if test_keys.contains(&entry.id) => return Err(KeyringError::TestKey(entry.id.clone())),
                None => {
                    return Err(KeyringError::MissingKey {
                        manifest: dir.join(MANIFEST),
                        dir: dir.to_owned(),
                        id: entry.id.clone(),
                    });
                }
            }
        }
        if !signing_found {
            return Err(KeyringError::UnknownSigningKey(signing));
        }
        keys.extend(others);
        Ok(Selection { keys, signing, unlisted })
    }
}

/// A key as `zegel keys list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedKey {
    pub id: String,
    pub kind: &'static str,
    pub state: &'static str,
    /// `None` in the single-key layout when the file's time is unknown.
    pub created: Option<DateTime<Utc>>,
    pub retired: Option<DateTime<Utc>>,
    pub removed: Option<DateTime<Utc>>,
}

/// The keys of `dir` and where each stands: the keyring's, removed ones
/// included; without a keyring, the directory's Ed25519 keys (the one that
/// signs is `current`, the others `retired`: published, not signing).
/// Returns whether there is a keyring too.
pub fn list(dir: &Path, choice: KeyChoice<'_>) -> Result<(Vec<ListedKey>, bool), KeyringError> {
    if let Some(keyring) = Keyring::read(dir)? {
        let mut listed: Vec<ListedKey> = keyring
            .keys
            .iter()
            .map(|entry| ListedKey {
                id: entry.id.clone(),
                kind: KeyKind::Ed25519.as_str(),
                state: keyring.state(&entry.id).unwrap_or(KeyState::Retired).as_str(),
                created: Some(entry.created),
                retired: entry.retired,
                removed: None,
            })
            .collect();
        listed.extend(keyring.removed.iter().map(|r| ListedKey {
            id: r.id.clone(),
            kind: KeyKind::Ed25519.as_str(),
            state: KeyState::Removed.as_str(),
            created: Some(r.created),
            retired: r.retired,
            removed: Some(r.removed),
        }));
        return Ok((listed, true));
    }
    let start = match from_single_key_layout(dir, choice, None) {
        Ok((start, _)) => start,
        Err(KeyringError::NoKey(_)) => return Ok((Vec::new(), false)),
        Err(other) => return Err(other),
    };
    let listed = start
        .keys
        .iter()
        .map(|entry| ListedKey {
            id: entry.id.clone(),
            kind: KeyKind::Ed25519.as_str(),
            state: start.state(&entry.id).unwrap_or(KeyState::Retired).as_str(),
            created: Some(entry.created),
            retired: None,
            removed: None,
        })
        .collect();
    Ok((listed, false))
}

/// The keyring the single-key layout amounts to: its Ed25519 keys (minus
/// public test keys unless allowed), the signing one current, the others
/// retired at `now` (published already, never signing). Created: each
/// file's modification time. Also the key ids and their files.
fn from_single_key_layout(
    dir: &Path,
    choice: KeyChoice<'_>,
    now: Option<DateTime<Utc>>,
) -> Result<(Keyring, Vec<(PathBuf, String)>), KeyringError> {
    let files = if dir.exists() { keys::load_key_files(dir)? } else { Vec::new() };
    let ed25519: Vec<(PathBuf, String)> = files
        .into_iter()
        .filter(|(_, key)| key.kind() == KeyKind::Ed25519)
        .filter(|(_, key)| choice.allow_test_keys || !keys::is_public_test_key(key))
        .map(|(path, key)| (path, key.id().to_owned()))
        .collect();
    let current = match (choice.signing_key, ed25519.as_slice()) {
        (Some(id), _) => ed25519
            .iter()
            .find(|(_, k)| k == id)
            .ok_or_else(|| KeyringError::UnknownSigningKey(id.to_owned()))?
            .1
            .clone(),
        (None, [(_, one)]) => one.clone(),
        (None, []) => return Err(KeyringError::NoKey(dir.display().to_string())),
        (None, many) => {
            return Err(KeyringError::AmbiguousKey(
                many.iter().map(|(_, k)| k.as_str()).collect::<Vec<_>>().join(", "),
            ));
        }
    };
    let modified = |path: &Path| -> DateTime<Utc> {
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .map(DateTime::<Utc>::from)
            .unwrap_or_else(|_| now.unwrap_or_default())
    };
    let keys = ed25519
        .iter()
        .map(|(path, id)| KeyringEntry {
            id: id.clone(),
            created: modified(path),
            retired: if *id == current { None } else { Some(now.unwrap_or_else(|| modified(path))) },
        })
        .collect();
    Ok((Keyring { format: FORMAT, current, keys, removed: Vec::new() }, ed25519))
}

/// The keyring of `dir`, or the one its single-key layout amounts to.
fn keyring_or_start(dir: &Path, choice: KeyChoice<'_>, now: DateTime<Utc>) -> Result<Keyring, KeyringError> {
    match Keyring::read(dir)? {
        Some(keyring) => Ok(keyring),
        None => Ok(from_single_key_layout(dir, choice, Some(now))?.0),
    }
}

/// A new Ed25519 key in its own file (not yet listed anywhere).
fn new_key(dir: &Path) -> Result<(String, PathBuf), KeyringError> {
    let key = keys::generate(KeyKind::Ed25519)?;
    let file = keys::write_new_key_file(dir, &key)?;
    Ok((key.id().to_owned(), file))
}

/// What [`prepare`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    pub key_id: String,
    pub file: PathBuf,
    /// The key that still signs.
    pub current: String,
}

/// Generates a new Ed25519 key and publishes it without signing with it yet
/// (the first step of a rotation across several instances).
pub fn prepare(dir: &Path, choice: KeyChoice<'_>, now: DateTime<Utc>) -> Result<Prepared, KeyringError> {
    let mut keyring = keyring_or_start(dir, choice, now)?;
    if let Some(prepared) = keyring.prepared() {
        return Err(KeyringError::AlreadyPrepared(prepared.id.clone()));
    }
    // The key file first: until the manifest lists it, it is ignored.
    let (key_id, file) = new_key(dir)?;
    keyring.keys.push(KeyringEntry { id: key_id.clone(), created: now, retired: None });
    keyring.write(dir)?;
    Ok(Prepared { key_id, file, current: keyring.current })
}

/// What [`rotate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The key that signs now.
    pub key_id: String,
    /// The key that signed before (retired now, still published).
    pub previous_key_id: String,
    /// The new key's file, when it was generated now (not prepared before).
    pub generated: Option<PathBuf>,
}

/// Makes a new key current and retires the current one (it stays
/// published): the prepared key if there is one, else a new Ed25519 key.
pub fn rotate(dir: &Path, choice: KeyChoice<'_>, now: DateTime<Utc>) -> Result<Rotation, KeyringError> {
    let mut keyring = keyring_or_start(dir, choice, now)?;
    let (key_id, generated) = match keyring.prepared() {
        Some(prepared) => {
            // Its file must be there: the service would not start otherwise.
            let present = keys::load_key_dir(dir)?.iter().any(|k| k.id() == prepared.id);
            if !present {
                return Err(KeyringError::MissingKey {
                    manifest: dir.join(MANIFEST),
                    dir: dir.to_owned(),
                    id: prepared.id.clone(),
                });
            }
            (prepared.id.clone(), None)
        }
        None => {
            let (key_id, file) = new_key(dir)?;
            keyring.keys.push(KeyringEntry { id: key_id.clone(), created: now, retired: None });
            (key_id, Some(file))
        }
    };
    let previous_key_id = std::mem::replace(&mut keyring.current, key_id.clone());
    if let Some(previous) = keyring.keys.iter_mut().find(|k| k.id == previous_key_id) {
        previous.retired = Some(now);
    }
    keyring.write(dir)?;
    Ok(Rotation { key_id, previous_key_id, generated })
}

/// What [`remove`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    pub key_id: String,
    /// Where its file went (`None`: there was no file to move).
    pub moved_to: Option<PathBuf>,
    /// It was prepared, never current: nothing it signed stops verifying.
    pub was_prepared: bool,
}

/// Takes a retired (or prepared) key out of the keyring, so it is published
/// no more, and moves its file to `removed/`. The current key is refused.
pub fn remove(dir: &Path, key_id: &str, choice: KeyChoice<'_>, now: DateTime<Utc>) -> Result<Removal, KeyringError> {
    let mut keyring = keyring_or_start(dir, choice, now)?;
    if keyring.current == key_id {
        return Err(KeyringError::RemoveCurrent(key_id.to_owned()));
    }
    let index =
        keyring.keys.iter().position(|k| k.id == key_id).ok_or_else(|| KeyringError::UnknownKey(key_id.to_owned()))?;
    let entry = keyring.keys.remove(index);
    let was_prepared = entry.retired.is_none();
    keyring.removed.push(RemovedKey { id: entry.id, created: entry.created, retired: entry.retired, removed: now });
    // The manifest first: a key file it does not list is ignored, so a
    // failure to move the file afterwards leaves nothing published.
    keyring.write(dir)?;
    let file = keys::load_key_files(dir)?.into_iter().find(|(_, k)| k.id() == key_id).map(|(path, _)| path);
    let moved_to = match file {
        None => None,
        Some(path) => Some(move_to_removed(dir, &path)?),
    };
    Ok(Removal { key_id: key_id.to_owned(), moved_to, was_prepared })
}

/// Moves a key file into `<dir>/removed/` (mode 0700), never over another file.
fn move_to_removed(dir: &Path, file: &Path) -> Result<PathBuf, KeyringError> {
    let removed = dir.join(REMOVED_DIR);
    keys::create_private_dir(&removed).map_err(|source| KeyringError::Write { path: removed.clone(), source })?;
    let name = file.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    let target = removed.join(name);
    if target.exists() {
        return Err(KeyringError::Write { path: target, source: io::Error::from(io::ErrorKind::AlreadyExists) });
    }
    std::fs::rename(file, &target).map_err(|source| KeyringError::Write { path: target.clone(), source })?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-03-01T12:00:00Z".parse().unwrap()
    }

    fn dir_with_one_key() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let key = keys::generate(KeyKind::Ed25519).unwrap();
        keys::write_new_key_file(dir.path(), &key).unwrap();
        (dir, key.id().to_owned())
    }

    #[test]
    fn rotating_the_single_key_layout_writes_a_keyring_that_keeps_the_old_key() {
        let (dir, old) = dir_with_one_key();
        let rotation = rotate(dir.path(), KeyChoice::default(), now()).unwrap();
        assert_eq!(rotation.previous_key_id, old);
        assert!(rotation.generated.is_some());
        let keyring = Keyring::read(dir.path()).unwrap().unwrap();
        assert_eq!(keyring.current, rotation.key_id);
        assert_eq!(keyring.state(&old), Some(KeyState::Retired));
        assert_eq!(keyring.keys.len(), 2);

        let loaded = keys::load_key_dir(dir.path()).unwrap();
        let selection = keyring.select(dir.path(), loaded, &[], KeyChoice::default()).unwrap();
        assert_eq!(selection.signing, rotation.key_id);
        let ids: Vec<&str> = selection.keys.iter().map(SigningKey::id).collect();
        assert_eq!(ids, [old.as_str(), rotation.key_id.as_str()]);
    }

    #[test]
    fn a_prepared_key_is_published_and_the_next_rotation_makes_it_current() {
        let (dir, old) = dir_with_one_key();
        let prepared = prepare(dir.path(), KeyChoice::default(), now()).unwrap();
        assert_eq!(prepared.current, old);
        let keyring = Keyring::read(dir.path()).unwrap().unwrap();
        assert_eq!(keyring.current, old);
        assert_eq!(keyring.state(&prepared.key_id), Some(KeyState::Prepared));
        assert!(matches!(prepare(dir.path(), KeyChoice::default(), now()), Err(KeyringError::AlreadyPrepared(_))));

        let rotation = rotate(dir.path(), KeyChoice::default(), now()).unwrap();
        assert_eq!(rotation.key_id, prepared.key_id);
        assert_eq!(rotation.generated, None);
        let keyring = Keyring::read(dir.path()).unwrap().unwrap();
        assert_eq!(keyring.state(&old), Some(KeyState::Retired));
        assert_eq!(keyring.state(&prepared.key_id), Some(KeyState::Current));
    }

    #[test]
    fn removing_takes_a_retired_key_out_and_refuses_the_current_one() {
        let (dir, old) = dir_with_one_key();
        let rotation = rotate(dir.path(), KeyChoice::default(), now()).unwrap();
        let refused = remove(dir.path(), &rotation.key_id, KeyChoice::default(), now());
        assert!(matches!(refused, Err(KeyringError::RemoveCurrent(_))), "{refused:?}");
        assert!(matches!(
            remove(dir.path(), "z6MkNone", KeyChoice::default(), now()),
            Err(KeyringError::UnknownKey(_))
        ));

        let removal = remove(dir.path(), &old, KeyChoice::default(), now()).unwrap();
        let moved = removal.moved_to.unwrap();
        assert!(moved.starts_with(dir.path().join(REMOVED_DIR)), "{}", moved.display());
        assert!(!removal.was_prepared);
        let keyring = Keyring::read(dir.path()).unwrap().unwrap();
        assert_eq!(keyring.state(&old), Some(KeyState::Removed));
        let loaded = keys::load_key_dir(dir.path()).unwrap();
        assert_eq!(loaded.len(), 1, "the removed key's file is out of the directory");
        let selection = keyring.select(dir.path(), loaded, &[], KeyChoice::default()).unwrap();
        assert_eq!(selection.keys.len(), 1);
    }

    #[test]
    fn a_listed_key_without_its_file_is_an_error_and_unlisted_keys_are_ignored() {
        let (dir, _) = dir_with_one_key();
        rotate(dir.path(), KeyChoice::default(), now()).unwrap();
        let stray = keys::generate(KeyKind::Ed25519).unwrap();
        keys::write_new_key_file(dir.path(), &stray).unwrap();
        let keyring = Keyring::read(dir.path()).unwrap().unwrap();
        let selection =
            keyring.select(dir.path(), keys::load_key_dir(dir.path()).unwrap(), &[], KeyChoice::default()).unwrap();
        assert_eq!(selection.unlisted, [stray.id().to_owned()]);
        assert_eq!(selection.keys.len(), 2);

        let missing = keyring.select(dir.path(), Vec::new(), &[], KeyChoice::default());
        assert!(matches!(missing, Err(KeyringError::MissingKey { .. })), "{missing:?}");
    }

    #[test]
    fn the_manifest_and_key_files_are_private_and_hold_no_secret() {
        let (dir, _) = dir_with_one_key();
        let rotation = rotate(dir.path(), KeyChoice::default(), now()).unwrap();
        let manifest = std::fs::read_to_string(dir.path().join(MANIFEST)).unwrap();
        assert!(!manifest.contains("PRIVATE"), "{manifest}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            for path in [dir.path().join(MANIFEST), rotation.generated.unwrap()] {
                let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{}", path.display());
            }
        }
        // No temporary files are left behind.
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    }

    #[test]
    fn a_broken_manifest_is_reported_not_ignored() {
        let (dir, _) = dir_with_one_key();
        std::fs::write(dir.path().join(MANIFEST), r#"{"format": 1, "current": "z6MkX", "keys": []}"#).unwrap();
        assert!(matches!(Keyring::read(dir.path()), Err(KeyringError::Malformed { .. })));
    }
}

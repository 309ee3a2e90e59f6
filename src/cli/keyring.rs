//! `zegel keys rotate | list | remove`: the keyring (`keyring.json` in the
//! key directory, see `signing::keyring`). Each change is written to the
//! audit trail (actor `cli`). Nothing here prints key material.

use crate::config::{IssuerMethod, Settings};
use crate::signing::did;
use crate::signing::keyring::{self, KeyChoice, ListedKey};
use crate::storage::{KeyAction, KeyChange, Store, StoreOptions};
use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Args;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub(super) struct RotateArgs {
    /// Key directory.
    #[arg(long, env = "ZEGEL_KEYS_DIR", default_value = "keys")]
    dir: PathBuf,
    /// Only publish a new key, without signing with it: the first step of a
    /// rotation across several instances (docs/operations.md). The next
    /// `zegel keys rotate` makes it current.
    #[arg(long)]
    prepare: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(super) struct ListArgs {
    /// Key directory.
    #[arg(long, env = "ZEGEL_KEYS_DIR", default_value = "keys")]
    dir: PathBuf,
    /// Print the keys as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(super) struct RemoveArgs {
    /// Key directory.
    #[arg(long, env = "ZEGEL_KEYS_DIR", default_value = "keys")]
    dir: PathBuf,
    /// The key id (from `zegel keys list`).
    key_id: String,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Who the audit trail names for key changes made here.
const ACTOR: &str = "cli";

fn choice(settings: &Settings) -> KeyChoice<'_> {
    KeyChoice { signing_key: settings.signing_key.as_deref(), allow_test_keys: settings.allow_test_keys }
}

/// The issuer id credentials carry when `key_id` signs.
fn issuer_id(settings: &Settings, key_id: &str) -> anyhow::Result<String> {
    Ok(match settings.issuer.method {
        IssuerMethod::Web => did::did_web_from_url(&settings.public_url)?,
        // An Ed25519 key id is its Multikey: the did:key is built from it.
        IssuerMethod::Key => format!("did:key:{key_id}"),
    })
}

/// Runs `change` on the key directory after opening the database (so that
/// an unreachable database stops the command before anything changes),
/// then writes the audit entry it returns.
fn with_audit<T>(
    settings: &Settings,
    change: impl FnOnce(DateTime<Utc>) -> anyhow::Result<(T, KeyAction, serde_json::Value)>,
) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let options = StoreOptions { max_connections: 2, ..StoreOptions::default() };
        let store = Store::connect(&settings.database_url, &options).await.context("cannot open the database")?;
        let at = Utc::now();
        let result = change(at);
        let recorded = match &result {
            Ok((_, action, details)) => {
                let entry = KeyChange { action: *action, actor: ACTOR.to_owned(), at, details: details.clone() };
                Some(store.record_key_change(&entry).await.with_context(|| {
                    format!(
                        "the key directory was changed ({}), but its audit entry could not be written",
                        action.as_str()
                    )
                }))
            }
            Err(_) => None,
        };
        store.close().await;
        let (value, _, _) = result?;
        if let Some(recorded) = recorded {
            recorded?;
        }
        Ok(value)
    })
}

pub(super) fn rotate(args: RotateArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::from_env()?;
    let dir = args.dir.clone();
    let mut out = std::io::stdout().lock();
    if args.prepare {
        let prepared = with_audit(&settings, |at| {
            let prepared = keyring::prepare(&dir, choice(&settings), at)?;
            let details = json!({"key_id": prepared.key_id, "current_key_id": prepared.current});
            Ok((prepared, KeyAction::Added, details))
        })?;
        if args.json {
            let report = json!({
                "key_id": prepared.key_id, "state": "prepared", "current_key_id": prepared.current,
                "file": prepared.file.display().to_string(),
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
        } else {
            writeln!(out, "prepared key:  {} (published, not signing yet)", prepared.key_id)?;
            writeln!(out, "current key:   {} (still signs)", prepared.current)?;
            writeln!(out, "file:          {} (private; keep it secret)", prepared.file.display())?;
            writeln!(
                out,
                "\nCopy the key directory to every instance and restart them all; then run `zegel keys rotate`."
            )?;
        }
        return Ok(ExitCode::SUCCESS);
    }

    let (rotation, issuer, previous_issuer) = with_audit(&settings, |at| {
        let rotation = keyring::rotate(&dir, choice(&settings), at)?;
        let issuer = issuer_id(&settings, &rotation.key_id)?;
        let previous_issuer = issuer_id(&settings, &rotation.previous_key_id)?;
        let mut details =
            json!({"key_id": rotation.key_id, "previous_key_id": rotation.previous_key_id, "issuer": issuer});
        if issuer != previous_issuer {
            details["previous_issuer"] = previous_issuer.clone().into();
        }
        Ok(((rotation, issuer, previous_issuer), KeyAction::Rotated, details))
    })?;
    if issuer != previous_issuer {
        eprintln!(
            "warning: the issuer is a did:key, so rotating changed the issuer identifier from {previous_issuer} to \
             {issuer}. Credentials issued before keep their signatures, but they name the old issuer, and their \
             status can no longer be checked: the status lists are signed by the new issuer from now on. Use a \
             did:web issuer (ZEGEL_ISSUER=did:web with an https ZEGEL_PUBLIC_URL) to rotate keys under one \
             identifier."
        );
    }
    if let Some(pinned) = settings.signing_key.as_deref().filter(|id| *id != rotation.key_id) {
        eprintln!(
            "warning: ZEGEL_SIGNING_KEY={pinned} is set, and it wins over the keyring: the service keeps signing with \
             that key until you unset it (or set it to {}).",
            rotation.key_id
        );
    }
    if args.json {
        let mut report = json!({
            "key_id": rotation.key_id, "previous_key_id": rotation.previous_key_id, "issuer": issuer,
        });
        if let Some(file) = &rotation.generated {
            report["file"] = file.display().to_string().into();
        }
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        writeln!(out, "current key:   {} (signs from the next start)", rotation.key_id)?;
        writeln!(out, "retired key:   {} (still published; what it signed keeps verifying)", rotation.previous_key_id)?;
        writeln!(out, "issuer:        {issuer}")?;
        if let Some(file) = &rotation.generated {
            writeln!(out, "file:          {} (private; keep it secret)", file.display())?;
        }
        writeln!(out, "\nRestart zegel (every instance, with this key directory) to sign with the new key.")?;
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::from_env()?;
    let (keys, has_keyring) = keyring::list(&args.dir, choice(&settings))?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&keys)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let time =
        |at: Option<DateTime<Utc>>| at.map_or_else(|| "-".to_owned(), |at| at.format("%Y-%m-%d %H:%M").to_string());
    writeln!(out, "{:<48}  {:<8}  {:<8}  {:<16}  {:<16}  removed", "key id", "kind", "state", "created", "retired")?;
    for ListedKey { id, kind, state, created, retired, removed } in &keys {
        writeln!(
            out,
            "{id:<48}  {kind:<8}  {state:<8}  {:<16}  {:<16}  {}",
            time(*created),
            time(*retired),
            time(*removed)
        )?;
    }
    if !has_keyring {
        writeln!(
            out,
            "\n(no {} in {}: every key file is published; the first `zegel keys rotate` writes the keyring)",
            keyring::MANIFEST,
            args.dir.display()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn remove(args: RemoveArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::from_env()?;
    let removal = with_audit(&settings, |at| {
        let removal = keyring::remove(&args.dir, &args.key_id, choice(&settings), at)?;
        let state = if removal.was_prepared { "prepared" } else { "retired" };
        let details = json!({"key_id": removal.key_id, "state": state});
        Ok((removal, KeyAction::Removed, details))
    })?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let report = json!({
            "key_id": removal.key_id,
            "moved_to": removal.moved_to.as_ref().map(|p| p.display().to_string()),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        writeln!(out, "removed key:   {} (no longer published after the next start)", removal.key_id)?;
        match &removal.moved_to {
            Some(path) => writeln!(out, "file moved to: {} (destroy it once you are sure)", path.display())?,
            None => writeln!(out, "file:          none found in {}", args.dir.display())?,
        }
        if !removal.was_prepared {
            writeln!(out, "\nCredentials signed with this key no longer verify against the DID document or the JWKS.")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

//! `zegel audit`: the audit trail, read straight from the database.

use crate::audit::{self, AuditEntryView, AuditQuery};
use crate::config::Settings;
use crate::storage::{Store, StoreOptions};
use anyhow::Context;
use clap::Args;
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub(super) struct AuditArgs {
    /// Only entries about this credential id.
    #[arg(long)]
    credential: Option<String>,
    /// Only entries about this award id.
    #[arg(long)]
    award: Option<String>,
    /// Only entries about this achievement id.
    #[arg(long)]
    achievement: Option<String>,
    /// Only entries about this API client id.
    #[arg(long)]
    client: Option<String>,
    /// Only entries of this action, e.g. credential_issued, credential_revoked, key_rotated.
    #[arg(long)]
    action: Option<String>,
    /// Only entries written at or after this time (RFC 3339, e.g. 2026-06-30T00:00:00Z).
    #[arg(long)]
    since: Option<String>,
    /// Continue after this entry id (the cursor the previous page printed).
    #[arg(long)]
    after: Option<String>,
    /// At most this many entries (1 to 1000; default 100).
    #[arg(long)]
    limit: Option<String>,
    /// Print one JSON object per line (as `GET /api/v1/audit` has them).
    #[arg(long)]
    json: bool,
}

pub(super) fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let query = AuditQuery {
        credential: args.credential,
        award: args.award,
        achievement: args.achievement,
        client: args.client,
        action: args.action,
        since: args.since,
        after: args.after,
        limit: args.limit,
    };
    let filter = match query.parse() {
        Ok(filter) => filter,
        Err(problems) => {
            for problem in problems.errors() {
                eprintln!("error: --{}: {}", problem.field, problem.message);
            }
            return Ok(ExitCode::from(2));
        }
    };
    let settings = Settings::from_env()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let page = runtime.block_on(async {
        let options = StoreOptions { max_connections: 2, ..StoreOptions::default() };
        let store = Store::connect(&settings.database_url, &options).await.context("cannot open the database")?;
        let page = audit::page(&store, filter).await;
        store.close().await;
        anyhow::Ok(page?)
    })?;
    let mut out = std::io::stdout().lock();
    if args.json {
        for entry in &page.entries {
            writeln!(out, "{}", serde_json::to_string(entry)?)?;
        }
    } else {
        write_table(&mut out, &page.entries)?;
    }
    out.flush()?;
    if let Some(next) = &page.next {
        eprintln!("more entries: run again with --after {next}");
    }
    Ok(ExitCode::SUCCESS)
}

fn write_table(out: &mut impl Write, entries: &[AuditEntryView]) -> std::io::Result<()> {
    if entries.is_empty() {
        return writeln!(out, "(no audit entries)");
    }
    let actor_width = entries.iter().map(|e| e.actor.chars().count()).max().unwrap_or(0).clamp(5, 44);
    let action_width = entries.iter().map(|e| e.action.len()).max().unwrap_or(0).max(6);
    writeln!(out, "{:>8}  {:<20}  {:<actor_width$}  {:<action_width$}  about", "id", "at (UTC)", "actor", "action")?;
    for entry in entries {
        let mut about = subject(entry);
        if let Some(reason) = &entry.reason {
            about.push_str(&format!("  reason: {reason}"));
        }
        writeln!(
            out,
            "{:>8}  {:<20}  {:<actor_width$}  {:<action_width$}  {about}",
            entry.id,
            entry.at.format("%Y-%m-%d %H:%M:%S"),
            entry.actor,
            entry.action,
        )?;
    }
    Ok(())
}

/// What an entry is about, most specific first.
fn subject(entry: &AuditEntryView) -> String {
    let key = entry.details.as_ref().and_then(|d| d.get("key_id")).and_then(|k| k.as_str());
    let named = [
        ("credential", entry.credential_id.as_deref()),
        ("award", entry.award_id.as_deref()),
        ("achievement", entry.achievement_id.as_deref()),
        ("client", entry.client_id.as_deref()),
        ("key", key),
    ];
    named.iter().find_map(|(what, id)| id.map(|id| format!("{what} {id}"))).unwrap_or_default()
}

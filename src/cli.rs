//! The `zegel` command line: how operators and scripts use the core.
//!
//! Exit codes: 0 success (for `verify`: valid), 1 failure (for `verify`:
//! invalid), 2 for `verify` when the credential could not be checked.

use crate::app::App;
use crate::config::Settings;
use crate::credential::contexts;
use crate::dev::edubadges_mock::{self, FaultKind, Faults, MockBadgeClass, MockConfig};
use crate::signing::data_integrity::{self, ProofOptions, ProofPlacement};
use crate::signing::issuer::KeySetup;
use crate::signing::{did, jwt, keys};
use crate::storage::{StorageError, Store, StoreOptions};
use crate::verification::{StaticResolver, StaticStatusLists, Verifier, VerifyOptions};
use crate::{http, issuance, telemetry};
use anyhow::{Context, bail};
use chrono::{DateTime, SubsecRound, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

mod audit;
mod keyring;

/// Largest credential or key input read (1 MiB, the canonicaliser's limit).
const MAX_INPUT: u64 = 1024 * 1024;

#[derive(Debug, Parser)]
#[command(
    name = "zegel",
    version,
    about = "Open Badges 3.0 issuing service: sign, verify and publish microcredentials"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Work with credentials: sign one, or revoke, suspend, unsuspend and
    /// reissue issued ones (singly or for a whole achievement version).
    #[command(subcommand, alias = "credential")]
    Credentials(CredentialCommand),
    /// Verify a credential (JSON with an embedded proof, a compact VC-JWT, or
    /// a baked PNG or SVG badge) and print a JSON verdict. Exit code 0 = valid, 1 = invalid, 2 = could not check.
    Verify(VerifyArgs),
    /// Run the service (configured by environment variables; see docs/configuration.md).
    Serve,
    /// Manage API clients (bearer tokens for the SIS and administrators).
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Award every row of a CSV export (docs/imports.md): validates the whole
    /// file first, then issues in batches, with progress and a summary.
    Import(ImportArgs),
    /// The Edubadges push: run the worker alone, or see where awards stand.
    #[command(subcommand)]
    Push(PushCommand),
    /// Read the audit trail (oldest first), straight from the database.
    Audit(audit::AuditArgs),
    /// Development tools: stand-ins for the systems zegel talks to.
    #[command(subcommand)]
    Dev(DevCommand),
}

#[derive(Debug, Subcommand)]
enum PushCommand {
    /// Run the outbox worker only (no HTTP service), until Ctrl-C; for
    /// operators who run `zegel serve` with ZEGEL_PUSH_WORKER=false.
    Run,
    /// Print how many awards are in each push state.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Make a failed (or waiting) award's push due now.
    Retry {
        /// The award id.
        award_id: String,
    },
}

#[derive(Debug, Subcommand)]
enum DevCommand {
    /// Serve a test double of Edubadges and SURFconext's token endpoint on
    /// 127.0.0.1, with fault injection, until Ctrl-C. Test credentials only.
    EdubadgesMock(EdubadgesMockArgs),
}

#[derive(Debug, Args)]
struct EdubadgesMockArgs {
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8090)]
    port: u16,
    /// The SURFconext client id the double accepts.
    #[arg(long, default_value = "zegel-mock-client")]
    client_id: String,
    /// The client secret the double accepts.
    #[arg(long, default_value = "zegel-mock-secret")]
    client_secret: String,
    /// A published badge class that takes direct awards (repeatable).
    /// Default: vqjqdus9RwGVlcvJ7KtDcQ=Data Literacy for Professionals.
    #[arg(long = "badge-class", value_name = "ENTITY_ID=NAME")]
    badge_classes: Vec<String>,
    /// An unpublished badge class: direct awards are refused (repeatable).
    #[arg(long = "private-badge-class", value_name = "ENTITY_ID=NAME")]
    private_badge_classes: Vec<String>,
    /// A badge class with direct awarding disabled (repeatable).
    #[arg(long = "disabled-badge-class", value_name = "ENTITY_ID=NAME")]
    disabled_badge_classes: Vec<String>,
    /// The institution's eppn pattern (Python syntax, matched at the start,
    /// ignoring case); eppns that do not match are refused.
    #[arg(long)]
    eppn_regex: Option<String>,
    /// Delay every answer by this many milliseconds (without blocking others).
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Lifetime of issued tokens, in seconds.
    #[arg(long, default_value_t = 3600)]
    token_ttl_secs: u64,
    /// Fail this share of Edubadges API requests at random (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    /// The faults to draw from, comma-separated: 429, 500, 502, 503, 504,
    /// slow, drop, expired-token, introspect. Default: all.
    #[arg(long, value_delimiter = ',', value_name = "KINDS")]
    faults: Vec<FaultKind>,
    /// `Retry-After` of 429 answers, in seconds.
    #[arg(long, default_value_t = 1)]
    retry_after: u64,
    /// How late a `slow` answer comes, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    slow_ms: u64,
    /// Seed of the fault generator (same seed and request order, same faults).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Let random faults hit the token endpoint too.
    #[arg(long)]
    faults_on_token: bool,
}

#[derive(Debug, Subcommand)]
enum ClientsCommand {
    /// Create a client and print its bearer token (shown once; only a hash is stored).
    Create {
        /// A name to recognise the client by, e.g. "Osiris production".
        #[arg(long)]
        name: String,
        /// Comma-separated: awards:write, awards:read, credentials:issue (VC-API issuing),
        /// credentials:status (VC-API status updates), admin (admin holds every scope).
        #[arg(long)]
        scopes: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List clients (never their tokens).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a client's token; requests with it are refused from then on.
    Revoke {
        /// The client id (from `zegel clients list`).
        client_id: String,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Generate a new signing key into the key directory; prints its key id
    /// and public key. Never overwrites an existing file.
    Generate {
        /// Key directory.
        #[arg(long, env = "ZEGEL_KEYS_DIR", default_value = "keys")]
        dir: PathBuf,
        /// Key type: Ed25519 (Data Integrity and VC-JWT EdDSA) or RSA (VC-JWT RS256).
        #[arg(long, value_enum, default_value_t = KeyKindArg::Ed25519)]
        kind: KeyKindArg,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make a new Ed25519 key the signing key (the prepared one, or a new
    /// one); the old key stays in the DID document and the JWKS. With a
    /// did:key issuer this changes the issuer id: rotate under did:web.
    Rotate(keyring::RotateArgs),
    /// List the keyring's keys: id, created, current / prepared / retired /
    /// removed. Never prints secret material.
    List(keyring::ListArgs),
    /// Take a retired (or prepared) key out of the DID document and the
    /// JWKS, and move its file to removed/. Refuses the current key.
    Remove(keyring::RemoveArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KeyKindArg {
    Ed25519,
    Rsa,
}

#[derive(Debug, Subcommand)]
enum CredentialCommand {
    /// Sign an unsigned credential read from a file or stdin and print it.
    Sign(SignArgs),
    /// Show an issued credential's status (active, suspended, revoked) and reissues.
    Show {
        /// The credential id.
        credential_id: String,
    },
    /// Revoke for good: verifiers see the revocation bit, and the award is
    /// withdrawn from Edubadges.
    Revoke(StatusChangeArgs),
    /// Suspend: verifiers see the suspension bit until it is lifted.
    Suspend(StatusChangeArgs),
    /// Lift a suspension.
    Unsuspend(StatusChangeArgs),
    /// Make a new credential from the award (with corrections), superseding this one.
    Reissue(ReissueArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["credential_id", "achievement"])))]
struct StatusChangeArgs {
    /// The credential id.
    credential_id: Option<String>,
    /// Instead of one credential: the current credential of every award of
    /// this achievement (with --version).
    #[arg(long, requires = "version")]
    achievement: Option<String>,
    /// The achievement version (with --achievement).
    #[arg(long, requires = "achievement")]
    version: Option<i64>,
    /// Why (required): kept in the audit trail and shown to verifiers.
    #[arg(long)]
    reason: String,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// The CSV file (UTF-8; `,` or `;` separated; the columns of
    /// docs/imports.md) or OOAPI v5 JSON document.
    #[arg(required_unless_present = "resume")]
    file: Option<PathBuf>,
    /// Resume an import job left by a stopped `zegel import` (its id),
    /// instead of importing a file.
    #[arg(long, value_name = "IMPORT_ID", conflicts_with_all = ["file", "dry_run", "achievement", "eppn_rule", "client"])]
    resume: Option<String>,
    /// The achievement id for rows without a course_code or achievement_id.
    #[arg(long)]
    achievement: Option<String>,
    /// Check every row (and whether it was imported before) without issuing anything.
    #[arg(long)]
    dry_run: bool,
    /// The API client the awards are recorded under (default: a client named
    /// "zegel import", made on first use; its token is never shown).
    #[arg(long)]
    client: Option<String>,
    /// Also write the rows with an added `result` column to this CSV file.
    #[arg(long, value_name = "FILE")]
    results: Option<PathBuf>,
    /// Print one JSON object per row instead of the summary table.
    #[arg(long)]
    json: bool,
    /// OOAPI documents: where a person's eppn is (also ZEGEL_OOAPI_EPPN):
    /// code:<codeType> (default code:x-eppn) or studentnumber@<scope>.
    #[arg(long, value_name = "RULE")]
    eppn_rule: Option<String>,
}

#[derive(Debug, Args)]
struct ReissueArgs {
    /// The credential id (the award's current credential).
    credential_id: String,
    /// Why (required): kept in the audit trail.
    #[arg(long)]
    reason: String,
    /// A corrected record field, FIELD=VALUE (repeatable; an empty VALUE
    /// clears an optional field): learner.eppn, learner.email,
    /// learner.given_name, learner.surname_prefix, learner.surname,
    /// learner.student_number, result.grade, result.completed_on,
    /// evidence_url, narrative.
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    corrections: Vec<String>,
    /// Build from the achievement's newest version (default: the award's).
    #[arg(long)]
    newest_version: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SignFormat {
    /// Embedded Data Integrity proof (eddsa-rdfc-2022).
    Di,
    /// VC-JWT (compact JWS; EdDSA with an Ed25519 key, RS256 with an RSA key).
    Jwt,
}

#[derive(Debug, Args)]
struct SignArgs {
    /// Private key: a PKCS#8 PEM file, or a Multikey key pair JSON file
    /// (the W3C test vectors' keyPair.json).
    #[arg(long)]
    key: PathBuf,
    /// The proof's verificationMethod (Data Integrity) or the JWT `kid`,
    /// e.g. did:key:z6Mk…#z6Mk… or did:web:example.edu#z6Mk….
    #[arg(long)]
    verification_method: String,
    /// The proof's `created` time (RFC 3339); default: now, to the second.
    #[arg(long)]
    created: Option<DateTime<Utc>>,
    #[arg(long, value_enum, default_value_t = SignFormat::Di)]
    format: SignFormat,
    /// Indent the signed JSON (strings and numbers are kept exactly).
    #[arg(long)]
    pretty: bool,
    /// The unsigned credential: a file, or - for stdin.
    input: String,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// The credential (or a badge image it is baked into): a file, or - for stdin.
    input: String,
    /// Use a local copy of a status list credential: URL=FILE (repeatable).
    #[arg(long = "status-list", value_name = "URL=FILE")]
    status_lists: Vec<String>,
    /// Treat a status that cannot be checked as "could not check" (exit 2)
    /// instead of a warning.
    #[arg(long)]
    require_status: bool,
    /// Accept any VC 2.0 credential, not only Open Badges 3.0.
    #[arg(long)]
    any_credential: bool,
    /// Check validity dates at this time instead of now (RFC 3339).
    #[arg(long)]
    at: Option<DateTime<Utc>>,
    /// Trust these public keys: a JWK Set (or one JWK) whose `kid`s are the
    /// verification methods they stand for (e.g. `did:web:example.edu#key-1`).
    #[arg(long, value_name = "FILE")]
    jwks: Option<PathBuf>,
    /// This zegel's own credentials: read their status lists from its
    /// database (DATABASE_URL, ZEGEL_PUBLIC_URL and the rest of the
    /// service's environment) and report the reason it recorded for a
    /// revocation or suspension.
    #[arg(long)]
    local: bool,
    /// Fetch status lists over HTTPS from this host (repeatable; also
    /// ZEGEL_STATUS_FETCH_HOSTS, comma-separated). Other hosts are never asked.
    #[arg(long = "status-host", value_name = "HOST")]
    status_hosts: Vec<String>,
    /// With --status-host: also plain http and loopback or private addresses
    /// (tests, intranets).
    #[arg(long)]
    allow_local_addresses: bool,
}

/// Runs the command line; the process exits with the returned code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Keys(KeysCommand::Generate { dir, kind, json }) => generate_key(&dir, kind, json),
        Command::Keys(KeysCommand::Rotate(args)) => keyring::rotate(args),
        Command::Keys(KeysCommand::List(args)) => keyring::list(args),
        Command::Keys(KeysCommand::Remove(args)) => keyring::remove(args),
        Command::Audit(args) => audit::run(args),
        Command::Credentials(CredentialCommand::Sign(args)) => sign(args),
        Command::Credentials(command) => credentials(command),
        Command::Verify(args) => verify(args),
        Command::Serve => serve(),
        Command::Clients(command) => clients(command),
        Command::Push(command) => push(command),
        Command::Import(args) => import(args),
        Command::Dev(DevCommand::EdubadgesMock(args)) => edubadges_mock(args),
    }
}

/// `ENTITY_ID=NAME`.
fn badge_class_arg(pair: &str) -> anyhow::Result<MockBadgeClass> {
    match pair.split_once('=') {
        Some((id, name)) if !id.trim().is_empty() && !name.trim().is_empty() => {
            Ok(MockBadgeClass::new(id.trim(), name.trim()))
        }
        _ => bail!("a badge class is ENTITY_ID=NAME, not {pair:?}"),
    }
}

fn edubadges_mock(args: EdubadgesMockArgs) -> anyhow::Result<ExitCode> {
    if !(0.0..=1.0).contains(&args.fault_rate) {
        bail!("--fault-rate must be between 0 and 1");
    }
    let mut badge_classes = Vec::new();
    for pair in &args.badge_classes {
        badge_classes.push(badge_class_arg(pair)?);
    }
    for pair in &args.private_badge_classes {
        badge_classes.push(badge_class_arg(pair)?.private());
    }
    for pair in &args.disabled_badge_classes {
        badge_classes.push(badge_class_arg(pair)?.awarding_disabled());
    }
    let mut config = MockConfig {
        client_id: args.client_id,
        client_secret: args.client_secret,
        eppn_regex: args.eppn_regex,
        latency: std::time::Duration::from_millis(args.latency_ms),
        token_ttl: std::time::Duration::from_secs(args.token_ttl_secs),
        ..MockConfig::default()
    };
    if !badge_classes.is_empty() {
        config.badge_classes = badge_classes;
    }
    let faults = Faults {
        rate: args.fault_rate,
        kinds: if args.faults.is_empty() { FaultKind::ALL.to_vec() } else { args.faults },
        retry_after_secs: args.retry_after,
        slow: std::time::Duration::from_millis(args.slow_ms),
        seed: args.seed,
        include_token_endpoint: args.faults_on_token,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listen = std::net::SocketAddr::from(([127, 0, 0, 1], args.port));
        let listener = std::net::TcpListener::bind(listen).with_context(|| format!("cannot listen on {listen}"))?;
        let mock = edubadges_mock::start(listener, config).await?;
        mock.set_faults(faults.clone());
        print_mock_banner(&mock, &faults)?;
        wait_for_shutdown().await?;
        mock.stop().await;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn print_mock_banner(mock: &edubadges_mock::MockServer, faults: &Faults) -> anyhow::Result<()> {
    let config = mock.config();
    let base = mock.base_url();
    let mut out = std::io::stdout().lock();
    writeln!(out, "Edubadges test double (NOT Edubadges; test credentials only)")?;
    writeln!(out, "  Edubadges base URL: {base}")?;
    writeln!(out, "  token URL:          {}", mock.token_url())?;
    writeln!(out, "  client id:          {}", config.client_id)?;
    writeln!(out, "  client secret:      {}", config.client_secret)?;
    writeln!(out, "  scope:              {}", edubadges_mock::SIS_SCOPE)?;
    for bc in &config.badge_classes {
        let note = match (bc.is_private, bc.direct_awarding_disabled) {
            (true, _) => " (unpublished)",
            (false, true) => " (direct awarding disabled)",
            (false, false) => "",
        };
        writeln!(out, "  badge class:        {}  {}{note}", bc.entity_id, bc.name)?;
    }
    if let Some(pattern) = &config.eppn_regex {
        writeln!(out, "  eppn pattern:       {pattern}")?;
    }
    if !config.latency.is_zero() {
        writeln!(out, "  latency:            {} ms", config.latency.as_millis())?;
    }
    if faults.rate > 0.0 {
        let kinds: Vec<String> = faults.kinds.iter().map(ToString::to_string).collect();
        writeln!(out, "  faults:             {} of requests: {} (seed {})", faults.rate, kinds.join(","), faults.seed)?;
    } else {
        writeln!(out, "  faults:             none (POST {base}/_mock/faults to add some)")?;
    }
    writeln!(out, "  state:              GET {base}/_mock/state")?;
    writeln!(out, "\nPoint zegel at it:")?;
    writeln!(out, "  export ZEGEL_EDUBADGES_URL={base}")?;
    writeln!(out, "  export ZEGEL_EDUBADGES_TOKEN_URL={}", mock.token_url())?;
    writeln!(out, "  export ZEGEL_EDUBADGES_CLIENT_ID={}", config.client_id)?;
    writeln!(out, "  export ZEGEL_EDUBADGES_CLIENT_SECRET={}", config.client_secret)?;
    writeln!(out, "\nServing until Ctrl-C.")?;
    out.flush()?;
    Ok(())
}

/// Ctrl-C, or SIGTERM where there is one.
async fn wait_for_shutdown() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    Ok(())
}

fn serve() -> anyhow::Result<ExitCode> {
    let settings = Settings::from_env()?;
    telemetry::init(&settings.log_filter, settings.log_format, std::io::stdout);
    actix_web::rt::System::new().block_on(async move {
        let listen = settings.listen;
        let (app, keys) = App::build(settings).await?;
        let ignored = match keys {
            KeySetup::Generated { file, key_id, ignored_test_keys } => {
                tracing::warn!(
                    key.id = %key_id,
                    key.file = %file,
                    "no signing key was found, so a DEVELOPMENT key was generated; never use it for real credentials (see keys/README.md)"
                );
                ignored_test_keys
            }
            KeySetup::Loaded { count, ignored_test_keys } => {
                tracing::info!(keys = count, "signing keys loaded");
                ignored_test_keys
            }
            KeySetup::Keyring { current, published, unlisted, ignored_test_keys } => {
                tracing::info!(key.id = %current, keys = published, "signing keys loaded from the keyring");
                for key_id in unlisted {
                    tracing::warn!(key.id = %key_id, "a key file the keyring does not list is neither used nor published (see `zegel keys list`)");
                }
                ignored_test_keys
            }
        };
        for key_id in ignored {
            tracing::info!(key.id = %key_id, "not using the public test key in the key directory (set ZEGEL_ALLOW_TEST_KEYS=true in tests)");
        }
        let listener = std::net::TcpListener::bind(listen).with_context(|| format!("cannot listen on {listen}"))?;
        tracing::info!(
            listen = %listen,
            public_url = %app.settings.public_url,
            issuer = %app.issuer.id(),
            database = ?app.store.backend(),
            "zegel is serving"
        );
        let app = actix_web::web::Data::new(app);
        match crate::push::Worker::new(app.clone().into_inner())? {
            Some(worker) if app.settings.push.worker => {
                actix_web::rt::spawn(worker.run(std::future::pending()));
            }
            Some(_) => tracing::info!("the push worker is off here (ZEGEL_PUSH_WORKER=false); run `zegel push run` elsewhere"),
            None => tracing::warn!(
                "Edubadges is not configured (ZEGEL_EDUBADGES_URL): awards are issued and wait with push state pending"
            ),
        }
        // Import jobs made here, by other instances, or left by stopped ones.
        actix_web::rt::spawn(crate::intake::jobs::worker(app.clone().into_inner()));
        http::serve(app, listener)?.await?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn push(command: PushCommand) -> anyhow::Result<ExitCode> {
    let settings = Settings::from_env()?;
    if let PushCommand::Run = command {
        telemetry::init(&settings.log_filter, settings.log_format, std::io::stdout);
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        return runtime.block_on(async move {
            let (app, _keys) = App::build(settings).await?;
            let Some(worker) = crate::push::Worker::new(Arc::new(app))? else {
                anyhow::bail!(
                    "Edubadges is not configured: set ZEGEL_EDUBADGES_URL and the rest (docs/configuration.md)"
                );
            };
            worker
                .run(async {
                    let _ = wait_for_shutdown().await;
                    tracing::info!("stopping: awards being sent are checked again by the next worker");
                })
                .await;
            Ok(ExitCode::SUCCESS)
        });
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let options = StoreOptions { max_connections: 2, ..StoreOptions::default() };
        let store = Store::connect(&settings.database_url, &options).await?;
        match command {
            PushCommand::Run => unreachable!("handled above"),
            PushCommand::Status { json } => {
                let counts = store.push_counts().await?;
                if json {
                    let map: serde_json::Map<String, serde_json::Value> =
                        counts.iter().map(|(state, n)| (state.clone(), (*n).into())).collect();
                    println!("{}", serde_json::Value::Object(map));
                } else {
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "{:<10} {:>10}", "state", "awards")?;
                    for (state, n) in &counts {
                        writeln!(out, "{state:<10} {n:>10}")?;
                    }
                    if counts.is_empty() {
                        writeln!(out, "(no awards yet)")?;
                    }
                }
            }
            PushCommand::Retry { award_id } => {
                let outcome = store.retry_push(&award_id, chrono::Utc::now(), "cli").await?;
                println!(
                    "{}",
                    match outcome {
                        crate::storage::RetryOutcome::Queued => "queued: the push is due now",
                        crate::storage::RetryOutcome::Running => "being sent right now; nothing changed",
                        crate::storage::RetryOutcome::Delivered => "delivered already; nothing changed",
                    }
                );
            }
        }
        store.close().await;
        Ok(ExitCode::SUCCESS)
    })
}

fn clients(command: ClientsCommand) -> anyhow::Result<ExitCode> {
    let settings = Settings::from_env()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let options = StoreOptions { max_connections: 2, ..StoreOptions::default() };
        let store = Store::connect(&settings.database_url, &options).await.context("cannot open the database")?;
        let mut out = std::io::stdout().lock();
        match command {
            ClientsCommand::Create { name, scopes, json } => {
                let scopes = issuance::parse_scopes(&scopes).map_err(anyhow::Error::msg)?;
                let created = issuance::create_client(&store, &name, &scopes, "cli").await?;
                if json {
                    let report = serde_json::json!({
                        "client_id": created.client.client_id, "name": created.client.name,
                        "scopes": created.client.scopes, "token": created.token,
                    });
                    writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
                } else {
                    writeln!(out, "client id:  {}", created.client.client_id)?;
                    writeln!(out, "name:       {}", created.client.name)?;
                    writeln!(out, "scopes:     {}", created.client.scopes.join(", "))?;
                    writeln!(out, "token:      {}", created.token)?;
                    writeln!(out, "\nStore the token now: zegel keeps only its hash and cannot show it again.")?;
                }
            }
            ClientsCommand::List { json } => {
                let clients = store.list_clients().await?;
                if json {
                    let list: Vec<serde_json::Value> = clients
                        .iter()
                        .map(|c| {
                            serde_json::json!({
                                "client_id": c.client_id, "name": c.name, "scopes": c.scopes,
                                "token_hint": c.token_hint, "created_at": c.created_at, "revoked_at": c.revoked_at,
                            })
                        })
                        .collect();
                    writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
                } else {
                    writeln!(out, "{:<36}  {:<24}  {:<32}  {:<12}  status", "client id", "name", "scopes", "token")?;
                    for c in clients {
                        let status = match c.revoked_at {
                            Some(at) => format!("revoked {}", at.format("%Y-%m-%d %H:%M")),
                            None => "active".to_owned(),
                        };
                        writeln!(
                            out,
                            "{:<36}  {:<24}  {:<32}  {:<12}  {status}",
                            c.client_id,
                            c.name,
                            c.scopes.join(","),
                            format!("{}…", c.token_hint)
                        )?;
                    }
                }
            }
            ClientsCommand::Revoke { client_id } => {
                let changed = store.revoke_client(&client_id, Utc::now(), "cli").await.map_err(|e| match e {
                    StorageError::NotFound(_) => anyhow::anyhow!("no client has id {client_id}"),
                    other => other.into(),
                })?;
                if changed {
                    writeln!(out, "revoked client {client_id}")?;
                } else {
                    writeln!(out, "client {client_id} was already revoked; nothing changed")?;
                }
            }
        }
        store.close().await;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn generate_key(dir: &Path, kind: KeyKindArg, json: bool) -> anyhow::Result<ExitCode> {
    let kind = match kind {
        KeyKindArg::Ed25519 => keys::KeyKind::Ed25519,
        KeyKindArg::Rsa => keys::KeyKind::Rsa,
    };
    let key = keys::generate(kind)?;
    let path = keys::write_new_key_file(dir, &key)?;
    let public_jwk = key.public_jwk();
    let (public_key, did_key) = match &key {
        keys::SigningKey::Ed25519(k) => {
            (serde_json::Value::from(k.public_multibase()), Some(did::did_key(&k.verifying_key())))
        }
        keys::SigningKey::Rsa(_) => (public_jwk.clone(), None),
    };
    let mut out = std::io::stdout().lock();
    if json {
        let mut report = serde_json::json!({
            "kind": kind.to_string(), "key_id": key.id(), "public_key": public_key,
            "public_jwk": public_jwk, "file": path.display().to_string(),
        });
        if let Some(did_key) = did_key {
            report["did_key"] = did_key.into();
        }
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        writeln!(out, "kind:        {kind}")?;
        writeln!(out, "key id:      {}", key.id())?;
        match public_key {
            serde_json::Value::String(multibase) => writeln!(out, "public key:  {multibase} (Multikey)")?,
            jwk => writeln!(out, "public key:  {jwk} (JWK)")?,
        }
        if let Some(did_key) = did_key {
            writeln!(out, "did:key:     {did_key}")?;
        }
        writeln!(out, "file:        {} (private; keep it secret)", path.display())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn sign(args: SignArgs) -> anyhow::Result<ExitCode> {
    let key = keys::read_key_file(&args.key)?;
    let input = read_input(&args.input)?;
    let created = args.created.unwrap_or_else(|| Utc::now().trunc_subsecs(0));
    let output = match args.format {
        SignFormat::Di => {
            let keys::SigningKey::Ed25519(ed25519) = &key else {
                bail!("eddsa-rdfc-2022 needs an Ed25519 key; {} is an RSA key (use --format jwt)", args.key.display());
            };
            let placement = if is_open_badge(&input) { ProofPlacement::Array } else { ProofPlacement::Object };
            let options = ProofOptions::assertion(args.verification_method, created);
            let canonicalizer = contexts::canonicalizer();
            let signed = data_integrity::add_proof(&canonicalizer, &input, &options, ed25519.signing_key(), placement)
                .context("cannot sign the credential")?;
            if args.pretty {
                crate::json::pretty(&signed).map_err(anyhow::Error::msg)?
            } else {
                format!("{}\n", String::from_utf8_lossy(&signed))
            }
        }
        SignFormat::Jwt => {
            let credential: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(&input).context("the credential is not a JSON object")?;
            format!("{}\n", jwt::sign_vc_jwt(&credential, &key, &args.verification_method)?)
        }
    };
    std::io::stdout().lock().write_all(output.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let input = match read_input(&args.input) {
        Ok(input) => input,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(2));
        }
    };
    // A baked badge (PNG or SVG): the credential in it. An image without
    // one is malformed input, reported as such.
    let input = match crate::baking::ImageKind::sniff(&input).map(|_| crate::baking::extract(&input)) {
        None => input,
        Some(Ok(extracted)) => extracted.credential.into_bytes(),
        Some(Err(e)) => {
            let report = crate::verification::Report::unreadable(&e.to_string());
            writeln!(std::io::stdout().lock(), "{}", report.to_json_pretty())?;
            return Ok(ExitCode::from(u8::try_from(report.verdict.exit_code()).unwrap_or(2)));
        }
    };
    let mut lists = StaticStatusLists::new();
    for pair in &args.status_lists {
        let (url, file) = pair.split_once('=').context("--status-list takes URL=FILE")?;
        let bytes = read_input(file).with_context(|| format!("cannot read the status list for {url}"))?;
        lists = lists.with_list(url, bytes);
    }
    let mut verifier = Verifier::offline().with_status_lists(Arc::new(lists));
    if let Some(path) = &args.jwks {
        let text = read_input(&path.to_string_lossy())?;
        let jwks: serde_json::Value =
            serde_json::from_slice(&text).with_context(|| format!("{} is not JSON", path.display()))?;
        let resolver = StaticResolver::from_jwks(&jwks).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        verifier = verifier.with_resolver(Arc::new(resolver));
    }
    let options = VerifyOptions {
        require_status: args.require_status,
        require_open_badge: !args.any_credential,
        ..VerifyOptions::at(args.at.unwrap_or_else(Utc::now))
    };
    let mut hosts: Vec<String> = args.status_hosts.iter().map(|h| h.trim().to_ascii_lowercase()).collect();
    if let Ok(listed) = std::env::var("ZEGEL_STATUS_FETCH_HOSTS") {
        hosts.extend(listed.split(',').map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty()));
    }
    let report = if args.local || !hosts.is_empty() {
        let policy = crate::verifying::FetchPolicy {
            allowed_hosts: hosts,
            allow_local: args.allow_local_addresses,
            ..Default::default()
        };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async {
            let app = match args.local {
                true => Some(App::build(Settings::from_env()?).await.context("--local: cannot open zegel")?.0),
                false => None,
            };
            // Given lists (--status-list) stand; the rest are gathered.
            let report = if args.status_lists.is_empty() {
                // "Now" after gathering: a list zegel signs while gathering must not be "not valid yet".
                let at = args.at;
                let options = move || VerifyOptions { now: at.unwrap_or_else(Utc::now), ..options };
                crate::verifying::verify_with_status(app.as_ref(), verifier, &input, options, &policy).await
            } else {
                verifier.verify(&input, &options)
            };
            anyhow::Ok(report)
        })?
    } else {
        verifier.verify(&input, &options)
    };
    writeln!(std::io::stdout().lock(), "{}", report.to_json_pretty())?;
    Ok(ExitCode::from(u8::try_from(report.verdict.exit_code()).unwrap_or(2)))
}

/// Reads a file or stdin (`-`), refusing inputs over [`MAX_INPUT`].
fn read_input(source: &str) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let read = if source == "-" {
        std::io::stdin().lock().take(MAX_INPUT + 1).read_to_end(&mut bytes).context("cannot read stdin")?
    } else {
        std::fs::File::open(source)
            .with_context(|| format!("cannot open {source}"))?
            .take(MAX_INPUT + 1)
            .read_to_end(&mut bytes)
            .with_context(|| format!("cannot read {source}"))?
    };
    if read as u64 > MAX_INPUT {
        bail!("{source} is larger than {MAX_INPUT} bytes, the most zegel reads");
    }
    Ok(bytes)
}

/// Open Badges want `"proof": [ … ]`; other credentials get the usual object.
fn is_open_badge(document: &[u8]) -> bool {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(document) else { return false };
    let types: Vec<&str> = match value.get("type") {
        Some(serde_json::Value::String(t)) => vec![t.as_str()],
        Some(serde_json::Value::Array(items)) => items.iter().filter_map(|t| t.as_str()).collect(),
        _ => Vec::new(),
    };
    types.iter().any(|t| matches!(*t, "OpenBadgeCredential" | "AchievementCredential" | "EndorsementCredential"))
}

/// `zegel credentials show|revoke|suspend|unsuspend|reissue`: the
/// lifecycle use cases, as the API runs them, with actor `cli`.
fn credentials(command: CredentialCommand) -> anyhow::Result<ExitCode> {
    use crate::lifecycle;
    use crate::storage::StatusChange;
    let settings = Settings::from_env()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let (app, _keys) = App::build(settings).await.context("cannot open zegel (database, signing keys)")?;
        let mut out = std::io::stdout().lock();
        let (change, args) = match command {
            CredentialCommand::Sign(_) => unreachable!("handled in run"),
            CredentialCommand::Show { credential_id } => {
                let view = lifecycle::credential(&app, &credential_id).await.map_err(service_error)?;
                writeln!(out, "{}", serde_json::to_string_pretty(&view)?)?;
                return Ok(ExitCode::SUCCESS);
            }
            CredentialCommand::Reissue(args) => {
                let request = lifecycle::ReissueRequest {
                    reason: Some(args.reason),
                    corrections: corrections(&args.corrections)?,
                    newest_version: args.newest_version,
                    ..Default::default()
                };
                let view =
                    lifecycle::reissue(&app, &args.credential_id, request, "cli").await.map_err(service_error)?;
                if args.json {
                    writeln!(out, "{}", serde_json::to_string(&view)?)?;
                } else if view.changed {
                    writeln!(out, "reissued: {} supersedes {}", view.award.credential_id, view.superseded)?;
                    writeln!(out, "  {}", view.award.credential_url)?;
                } else {
                    writeln!(
                        out,
                        "already reissued: {} was replaced by {}",
                        view.superseded, view.award.credential_id
                    )?;
                }
                return Ok(ExitCode::SUCCESS);
            }
            CredentialCommand::Revoke(args) => (StatusChange::Revoke, args),
            CredentialCommand::Suspend(args) => (StatusChange::Suspend, args),
            CredentialCommand::Unsuspend(args) => (StatusChange::Unsuspend, args),
        };
        let reason = Some(args.reason.as_str());
        match (args.credential_id, args.achievement, args.version) {
            (Some(id), None, None) => {
                let view = lifecycle::change_one(&app, &id, change, reason, "cli").await.map_err(service_error)?;
                if args.json {
                    writeln!(out, "{}", serde_json::to_string(&view)?)?;
                } else {
                    let withdrawal = if view.edubadges_withdrawal { " (being withdrawn from Edubadges)" } else { "" };
                    writeln!(out, "{id}: {}{withdrawal}", view.message)?;
                }
            }
            (None, Some(achievement), Some(version)) => {
                let view = lifecycle::change_version(&app, &achievement, version, change, reason, "cli")
                    .await
                    .map_err(service_error)?;
                if args.json {
                    writeln!(out, "{}", serde_json::to_string(&view)?)?;
                } else {
                    writeln!(out, "achievement {achievement} version {version}: {} credentials", view.matched)?;
                    writeln!(out, "  changed:   {}", view.changed)?;
                    writeln!(out, "  unchanged: {} (so already)", view.unchanged)?;
                    writeln!(out, "  refused:   {}", view.refused_count)?;
                    for refusal in &view.refused {
                        writeln!(out, "    {}: {}", refusal.credential_id, refusal.reason)?;
                    }
                    writeln!(out, "  withdrawals from Edubadges: {}", view.edubadges_withdrawals)?;
                }
            }
            _ => bail!("give a credential id, or --achievement and --version"),
        }
        app.store.close().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// `--set FIELD=VALUE` pairs as the API's correction object.
fn corrections(pairs: &[String]) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
    const FIELDS: &[&str] = &[
        "learner.eppn",
        "learner.email",
        "learner.given_name",
        "learner.surname_prefix",
        "learner.surname",
        "learner.student_number",
        "result.grade",
        "result.completed_on",
        "evidence_url",
        "narrative",
    ];
    let mut out = serde_json::Map::new();
    for pair in pairs {
        let (field, value) = pair.split_once('=').with_context(|| format!("--set takes FIELD=VALUE, not {pair}"))?;
        if !FIELDS.contains(&field) {
            bail!("--set {field}: not a correctable field (one of {})", FIELDS.join(", "));
        }
        let value = if value.is_empty() { serde_json::Value::Null } else { value.into() };
        match field.split_once('.') {
            Some((group, member)) => {
                let entry = out.entry(group).or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
                if let serde_json::Value::Object(members) = entry {
                    members.insert(member.to_owned(), value);
                }
            }
            None => {
                out.insert(field.to_owned(), value);
            }
        }
    }
    Ok(out)
}

/// A use case's refusal as a command-line error: every problem on its own line.
fn service_error(error: issuance::ServiceError) -> anyhow::Error {
    match error {
        issuance::ServiceError::Invalid(problems) | issuance::ServiceError::Conflict { problems, .. }
            if !problems.is_empty() =>
        {
            let lines: Vec<String> = problems.iter().map(|p| format!("  {}: {}", p.field, p.message)).collect();
            anyhow::anyhow!("refused:\n{}", lines.join("\n"))
        }
        other => other.into(),
    }
}

/// `zegel import FILE`: reads and checks the whole file (CSV, or an OOAPI v5
/// JSON document), makes an import job of it (visible in
/// `GET /api/v1/imports`) and runs it here, in chunks of 1,000 rows (as
/// `POST /api/v1/awards/batch`), showing progress. Stopped midway, the job
/// is resumed by `zegel serve` (or a next `zegel import --resume ID`).
fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    use crate::intake::jobs::{self, ImportOptions, RunEnd, SubmitError};
    let settings = Settings::from_env()?;
    let bytes = match &args.resume {
        Some(_) => Vec::new(),
        None => {
            let Some(file) = &args.file else { bail!("name the FILE to import (or --resume ID)") };
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?
        }
    };
    let eppn_rule = args.eppn_rule.clone().or_else(|| settings.ooapi_eppn_rule.clone());
    if let Some(rule) = &eppn_rule {
        crate::intake::ooapi::EppnRule::parse(rule).map_err(anyhow::Error::msg)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let (app, _keys) = App::build(settings).await.context("cannot open zegel (database, signing keys)")?;
        let app = Arc::new(app);
        let started = std::time::Instant::now();
        let quiet = args.json;
        let verb = if args.dry_run { "checked" } else { "imported" };
        let progress = move |done: i64, total: i64| {
            if quiet || total == 0 {
                return;
            }
            let elapsed = started.elapsed().as_secs_f64().max(0.001);
            let rate = done as f64 / elapsed;
            let left = (total - done) as f64 / rate.max(0.001);
            let width = 30;
            let filled = usize::try_from(done * width / total.max(1)).unwrap_or(0);
            let bar = format!("{}{}", "#".repeat(filled), "-".repeat(width as usize - filled.min(width as usize)));
            eprint!("\r[{bar}] {verb} {done}/{total} rows ({rate:.0} rows/s, {left:.0} s left)   ");
        };
        let record = match &args.resume {
            Some(id) => {
                let ended =
                    jobs::run_next(app.clone(), Some(id), &progress).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                if ended.is_none() {
                    let job = app.store.import(id).await?.with_context(|| format!("no import has id {id}"))?;
                    bail!("import {id} is {} (only a job left by a stopped process can be resumed)", job.state);
                }
                app.store.import(id).await?.with_context(|| format!("no import has id {id}"))?
            }
            None => {
                let client = import_client(&app, args.client.as_deref()).await?;
                let options = ImportOptions {
                    filename: args.file.as_ref().and_then(|f| f.file_name()).map(|n| n.to_string_lossy().into_owned()),
                    achievement: args.achievement.clone(),
                    eppn_rule,
                    dry_run: args.dry_run,
                };
                match jobs::submit_and_run(app.clone(), &client, bytes, options, "cli", &progress).await {
                    Ok((record, RunEnd::Finished)) => record,
                    Ok((record, RunEnd::LostLease)) => {
                        bail!(
                            "import {} was taken over by another process; see GET /api/v1/imports/{0}",
                            record.import_id
                        )
                    }
                    Err(SubmitError::File(problems)) => {
                        let name = args.file.as_deref().unwrap_or(Path::new("the file"));
                        return refuse_file(name, problems);
                    }
                    Err(SubmitError::Service(e)) => return Err(anyhow::anyhow!("{e}")),
                }
            }
        };
        if !args.json {
            eprintln!();
        }
        if let Some(path) = &args.results {
            let csv = jobs::results_csv(&app, &record).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            std::fs::write(path, csv).with_context(|| format!("cannot write {}", path.display()))?;
        }
        print_import_summary(&app, &args, &record, started.elapsed()).await?;
        app.store.close().await;
        let refused = record.counts.refused > 0 || record.state == "failed";
        Ok(if refused { ExitCode::FAILURE } else { ExitCode::SUCCESS })
    })
}

/// A file that cannot be imported: every reason, nothing issued.
fn refuse_file(file: &Path, problems: Vec<(String, String)>) -> anyhow::Result<ExitCode> {
    eprintln!("{} cannot be imported; nothing was issued:", file.display());
    for (place, problem) in problems {
        eprintln!("  {place}: {problem}");
    }
    Ok(ExitCode::FAILURE)
}

/// The summary table (and the refused rows), or with `--json` one object per row.
async fn print_import_summary(
    app: &App,
    args: &ImportArgs,
    record: &crate::storage::ImportRecord,
    took: std::time::Duration,
) -> anyhow::Result<()> {
    use crate::intake::jobs::RowView;
    let rows = |result: Option<&'static str>| async move {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page = app.store.import_rows(&record.import_id, result, after, 10_000).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.row_index);
            for row in page {
                all.push(RowView::new(row)?);
            }
        }
        Ok::<_, anyhow::Error>(all)
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        for row in rows(None).await? {
            writeln!(out, "{}", serde_json::to_string(&row)?)?;
        }
        return Ok(());
    }
    let counts = &record.counts;
    writeln!(
        out,
        "{} (import {})",
        if record.dry_run { "dry run: nothing was issued" } else { "import done" },
        record.import_id
    )?;
    if record.dry_run {
        writeln!(out, "  {:<26} {:>8}", "would be created", counts.would_create)?;
    } else {
        writeln!(out, "  {:<26} {:>8}", "created", counts.created)?;
    }
    writeln!(out, "  {:<26} {:>8}", "existing (imported before)", counts.existing)?;
    if counts.skipped > 0 {
        writeln!(out, "  {:<26} {:>8}", "skipped (not an award)", counts.skipped)?;
    }
    writeln!(out, "  {:<26} {:>8}", "refused", counts.refused)?;
    writeln!(out, "  {:<26} {:>8}   in {:.1} s", "rows", record.total_rows, took.as_secs_f64())?;
    if let Some(error) = &record.error {
        writeln!(out, "  failed: {error}")?;
    }
    for row in rows(Some("refused")).await? {
        writeln!(out, "  {} ({}): {}", row.place, row.record_id, row.problem_text())?;
    }
    Ok(())
}

/// The client CLI imports are recorded under.
async fn import_client(app: &App, id: Option<&str>) -> anyhow::Result<crate::storage::ClientRecord> {
    let clients = app.store.list_clients().await?;
    if let Some(id) = id {
        return clients
            .into_iter()
            .find(|c| c.client_id == id && c.revoked_at.is_none())
            .with_context(|| format!("no active API client has id {id} (see zegel clients list)"));
    }
    const NAME: &str = "zegel import";
    if let Some(client) = clients.into_iter().find(|c| c.name == NAME && c.revoked_at.is_none()) {
        return Ok(client);
    }
    // Its token is dropped here, never shown: nobody can sign in with it.
    let made = issuance::create_client(&app.store, NAME, &[issuance::SCOPE_AWARDS_WRITE.to_owned()], "cli")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(made.client)
}

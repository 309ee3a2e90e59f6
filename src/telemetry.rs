//! Structured logs with `tracing`. Rules (see `docs/operations.md`): log ids,
//! never secrets (tokens, keys) and never learners' personal data (names,
//! e-mail addresses, eppns, student numbers).

use crate::config::LogFormat;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Installs the global subscriber writing to `sink` (stdout in the service,
/// a sink in tests). Safe to call more than once: later calls do nothing.
pub fn init<W>(filter: &str, format: LogFormat, sink: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(sink).with_target(false);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

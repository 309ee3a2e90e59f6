//! Push benchmark (run by `scripts/pushtest.sh`): the Edubadges test double
//! in this process, `zegel push run` as a child process working through a
//! database that already holds `--awards` pending awards.
//!
//! ```text
//! cargo run --release --example pushtest -- --zegel target/release/zegel --awards 10000 \
//!     [--latency-ms 20] [--outage-secs 0]
//! ```
//!
//! The child gets this process's environment (`DATABASE_URL`, keys, any
//! `ZEGEL_PUSH_*`) plus the double's URLs and credentials.
//! 1. With `--outage-secs S`, the double first answers 503 to everything,
//!    its token endpoint included, for S seconds, while the worker's
//!    resident memory is sampled: an outage must cost no memory.
//! 2. Then it answers normally (after `--latency-ms`), and the run ends
//!    when it holds every award: the delivery rate, the most requests in
//!    flight at once, and whether anything was delivered twice.
//!
//! Prints one JSON line.

#![allow(clippy::unwrap_used, reason = "a benchmark that cannot set up should fail loudly")]

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zegel::dev::edubadges_mock::{self, FaultKind, Faults, MockConfig};

struct Args {
    zegel: String,
    awards: usize,
    latency_ms: u64,
    outage_secs: u64,
}

fn args() -> Args {
    let mut args = Args { zegel: "target/release/zegel".into(), awards: 0, latency_ms: 20, outage_secs: 0 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--zegel" => args.zegel = value,
            "--awards" => args.awards = value.parse().unwrap(),
            "--latency-ms" => args.latency_ms = value.parse().unwrap(),
            "--outage-secs" => args.outage_secs = value.parse().unwrap(),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(args.awards > 0, "--awards is required");
    args
}

/// Resident memory of a process in KiB (Linux).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Samples the child's memory every 250 ms: (seconds since start, KiB).
fn sample_memory(pid: u32, started: Instant) -> Arc<Mutex<Vec<(f64, u64)>>> {
    let samples = Arc::new(Mutex::new(Vec::new()));
    let into = samples.clone();
    tokio::spawn(async move {
        while let Some(kib) = rss_kib(pid) {
            into.lock().unwrap().push((started.elapsed().as_secs_f64(), kib));
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    });
    samples
}

fn stop(mut child: Child) {
    // SIGTERM: the worker's own shutdown path.
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    if child.wait().is_err() {
        let _ = child.kill();
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[tokio::main]
async fn main() {
    let args = args();
    let config = MockConfig::default().with_latency(Duration::from_millis(args.latency_ms));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mock = edubadges_mock::start(listener, config.clone()).await.unwrap();
    if args.outage_secs > 0 {
        mock.set_faults(Faults {
            rate: 1.0,
            kinds: vec![FaultKind::ServiceUnavailable],
            include_token_endpoint: true,
            ..Faults::none()
        });
    }
    let child = Command::new(&args.zegel)
        .args(["push", "run"])
        .env("ZEGEL_EDUBADGES_URL", mock.base_url())
        .env("ZEGEL_EDUBADGES_TOKEN_URL", mock.token_url())
        .env("ZEGEL_EDUBADGES_CLIENT_ID", &config.client_id)
        .env("ZEGEL_EDUBADGES_CLIENT_SECRET", &config.client_secret)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let memory = sample_memory(child.id(), started);

    let mut outage = serde_json::Value::Null;
    if args.outage_secs > 0 {
        tokio::time::sleep(Duration::from_secs(args.outage_secs)).await;
        let during = mock.snapshot();
        let samples = memory.lock().unwrap().clone();
        let after_warmup: Vec<u64> = samples.iter().filter(|(t, _)| *t >= 5.0).map(|(_, kib)| *kib).collect();
        outage = serde_json::json!({
            "seconds": args.outage_secs,
            "requests_refused": during.requests.values().map(|c| c.total).sum::<u64>(),
            "rss_kib_at_5s": after_warmup.first(),
            "rss_kib_max": after_warmup.iter().max(),
            "rss_kib_last": after_warmup.last(),
        });
        mock.set_faults(Faults::none());
    }

    let recovered = Instant::now();
    let before = mock.snapshot().requests.values().map(|c| c.total).sum::<u64>();
    while mock.direct_award_count() < args.awards {
        assert!(recovered.elapsed() < Duration::from_secs(1800), "not delivered in 30 minutes");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seconds = recovered.elapsed().as_secs_f64();
    let state = mock.snapshot();
    let peak = memory.lock().unwrap().iter().map(|(_, kib)| *kib).max();
    stop(child);
    let concurrency: usize = std::env::var("ZEGEL_PUSH_CONCURRENCY").ok().and_then(|v| v.parse().ok()).unwrap_or(4);
    let summary = serde_json::json!({
        "awards": args.awards,
        "latency_ms": args.latency_ms,
        "concurrency": concurrency,
        "bundle_size": std::env::var("ZEGEL_PUSH_BUNDLE_SIZE").unwrap_or_else(|_| "100".into()),
        "outage": outage,
        "delivery": {
            "seconds": round1(seconds),
            "awards_per_second": (args.awards as f64 / seconds).round(),
            "requests": state.requests.values().map(|c| c.total).sum::<u64>() - before,
            "max_in_flight": state.max_in_flight,
        },
        "rss_kib_peak": peak,
        "delivered_twice": state.over_awarded().len(),
    });
    println!("{summary}");
    assert!(state.max_in_flight <= concurrency, "more requests in flight than configured");
    assert!(state.over_awarded().is_empty(), "delivered twice");
}

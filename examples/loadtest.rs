//! Load generator for `POST /api/v1/awards` (run by `scripts/loadtest.sh`).
//!
//! ```text
//! cargo run --release --example loadtest -- --url http://127.0.0.1:8080 --token zgl_… \
//!     --course-code MC-DATA-26 --mode new|repeat|rate [--seconds 20] [--concurrency 32] [--rate 500] [--prefix run1] \
//!     [--count N]
//! ```
//!
//! * `new`: as many new awards as `--concurrency` connections can push (closed loop),
//!   `--count` of them at most.
//! * `rate`: new awards at a fixed `--rate` per second (open loop); latency is
//!   measured from when each request was due, so a slow server cannot hide
//!   its queueing ("coordinated omission").
//! * `repeat`: re-posts awards made earlier with the same `--prefix` (answered 200).
//! * `batch`: new awards in batches of `--batch-size` (`POST /api/v1/awards/batch`),
//!   `--concurrency` batches at a time; throughput counts awards, latency is per batch.
//!
//! Prints one JSON line with throughput and latency percentiles.

#![allow(clippy::unwrap_used, reason = "a load generator that cannot set up should fail loudly")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

struct Args {
    url: String,
    token: String,
    course_code: String,
    mode: String,
    seconds: u64,
    concurrency: usize,
    rate: u64,
    prefix: String,
    /// `new`: stop after this many awards (0: when the time is up).
    count: usize,
    /// `batch`: awards per request.
    batch_size: usize,
}

fn args() -> Args {
    let mut args = Args {
        url: "http://127.0.0.1:8080".into(),
        token: String::new(),
        course_code: String::new(),
        mode: "new".into(),
        seconds: 20,
        concurrency: 32,
        rate: 500,
        prefix: format!("load-{}", std::process::id()),
        count: 0,
        batch_size: 1000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--url" => args.url = value,
            "--token" => args.token = value,
            "--course-code" => args.course_code = value,
            "--mode" => args.mode = value,
            "--seconds" => args.seconds = value.parse().unwrap(),
            "--concurrency" => args.concurrency = value.parse().unwrap(),
            "--rate" => args.rate = value.parse().unwrap(),
            "--prefix" => args.prefix = value,
            "--count" => args.count = value.parse().unwrap(),
            "--batch-size" => args.batch_size = value.parse().unwrap(),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(!args.token.is_empty() && !args.course_code.is_empty(), "--token and --course-code are required");
    args
}

fn body(course_code: &str, record_id: &str, n: usize) -> String {
    serde_json::json!({
        "source_record_id": record_id,
        "course_code": course_code,
        "learner": {
            "eppn": format!("s{n:07}@uni.example.nl"),
            "email": format!("student{n}@student.uni.example.nl"),
            "given_name": "Sam",
            "surname_prefix": "de",
            "surname": format!("Vries-{n}"),
            "student_number": format!("{n:07}")
        },
        "result": {"grade": "8.5", "completed_on": "2026-06-30"}
    })
    .to_string()
}

#[derive(Default)]
struct Tally {
    latencies: Mutex<Vec<u32>>,
    by_status: [AtomicU64; 6],
    failures: AtomicU64,
}

impl Tally {
    async fn record(&self, status: Option<u16>, latency: Duration) {
        match status {
            Some(s) => {
                self.by_status[usize::from(s / 100).min(5)].fetch_add(1, Ordering::Relaxed);
            }
            None => {
                self.failures.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latencies.lock().await.push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
    }
}

async fn post(client: &reqwest::Client, args: &Args, body: String) -> Option<u16> {
    let response = client
        .post(format!("{}/api/v1/awards", args.url))
        .bearer_auth(&args.token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    let _ = response.bytes().await;
    Some(status)
}

#[tokio::main]
async fn main() {
    let args = Arc::new(args());
    zegel::push::edubadges::install_tls_provider();
    let client = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency.max(64)).build().unwrap();
    let tally = Arc::new(Tally::default());
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    match args.mode.as_str() {
        "new" | "repeat" => {
            let mut workers = Vec::new();
            for _ in 0..args.concurrency {
                let (client, args, tally, next) = (client.clone(), args.clone(), tally.clone(), next.clone());
                workers.push(tokio::spawn(async move {
                    while Instant::now() < deadline {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        if args.count > 0 && n >= args.count {
                            break;
                        }
                        // Repeats cycle over the first 1,000 records of the run.
                        let n = if args.mode == "repeat" { n % 1000 } else { n };
                        let record = format!("{}-{n}", args.prefix);
                        let t = Instant::now();
                        let status = post(&client, &args, body(&args.course_code, &record, n)).await;
                        tally.record(status, t.elapsed()).await;
                    }
                }));
            }
            for w in workers {
                w.await.unwrap();
            }
        }
        "rate" => {
            let interval = Duration::from_secs_f64(1.0 / args.rate as f64);
            let mut tasks = Vec::new();
            let mut due = started;
            let mut n = 0usize;
            while due < deadline {
                tokio::time::sleep_until(due.into()).await;
                let (client, args, tally) = (client.clone(), args.clone(), tally.clone());
                let scheduled = due;
                let record = format!("{}-rate-{n}", args.prefix);
                tasks.push(tokio::spawn(async move {
                    let status = post(&client, &args, body(&args.course_code, &record, n)).await;
                    tally.record(status, scheduled.elapsed()).await;
                }));
                n += 1;
                due += interval;
            }
            for t in tasks {
                t.await.unwrap();
            }
        }
        "batch" => {
            let awards = Arc::new(AtomicU64::new(0));
            let mut workers = Vec::new();
            for _ in 0..args.concurrency {
                let (client, args, tally, next, awards) =
                    (client.clone(), args.clone(), tally.clone(), next.clone(), awards.clone());
                workers.push(tokio::spawn(async move {
                    while Instant::now() < deadline {
                        let first = next.fetch_add(args.batch_size, Ordering::Relaxed);
                        let records: Vec<String> = (first..first + args.batch_size)
                            .map(|n| body(&args.course_code, &format!("{}-{n}", args.prefix), n))
                            .collect();
                        let batch = format!("{{\"awards\": [{}]}}", records.join(","));
                        let t = Instant::now();
                        let response = client
                            .post(format!("{}/api/v1/awards/batch", args.url))
                            .bearer_auth(&args.token)
                            .header("content-type", "application/json")
                            .body(batch)
                            .send()
                            .await;
                        let status = match response {
                            Ok(response) => {
                                let status = response.status().as_u16();
                                let body: serde_json::Value = response.json().await.unwrap_or_default();
                                awards.fetch_add(body["counts"]["created"].as_u64().unwrap_or(0), Ordering::Relaxed);
                                Some(status)
                            }
                            Err(_) => None,
                        };
                        tally.record(status, t.elapsed()).await;
                    }
                }));
            }
            for w in workers {
                w.await.unwrap();
            }
            let elapsed = started.elapsed().as_secs_f64();
            let created = awards.load(Ordering::Relaxed);
            eprintln!("batch: {created} awards created in {elapsed:.1} s: {:.0} awards/s", created as f64 / elapsed);
        }
        other => panic!("unknown mode {other}"),
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut latencies = tally.latencies.lock().await.clone();
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        f64::from(latencies[i]) / 1000.0
    };
    let counts: Vec<u64> = tally.by_status.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    let ok = counts[2];
    let summary = serde_json::json!({
        "mode": args.mode,
        "seconds": (elapsed * 10.0).round() / 10.0,
        "requests": latencies.len(),
        "status_2xx": counts[2], "status_4xx": counts[4], "status_5xx": counts[5],
        "transport_errors": tally.failures.load(Ordering::Relaxed),
        "ok_per_second": (ok as f64 / elapsed).round(),
        "latency_ms": {"p50": pct(0.50), "p90": pct(0.90), "p99": pct(0.99), "max": pct(1.0)},
    });
    println!("{summary}");
}

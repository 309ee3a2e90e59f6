//! Prometheus metrics, kept in atomics and written in the text exposition
//! format (<https://prometheus.io/docs/instrumenting/exposition_formats/>).
//! A handful of counters and histograms do not need a metrics framework.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// A latency histogram with fixed buckets.
#[derive(Default)]
pub struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if let Some(bucket) = BUCKETS.iter().position(|&bound| seconds <= bound) {
            self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, count) in BUCKETS.iter().zip(&self.counts) {
            cumulative += count.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {sum}");
        let _ = writeln!(out, "{name}_count{braces} {count}");
    }
}

/// Everything zegel counts.
#[derive(Default)]
pub struct Metrics {
    /// (method, route pattern, status) → count.
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    request_duration: Histogram,
    pub awards_issued: AtomicU64,
    pub awards_repeated: AtomicU64,
    pub awards_conflicting: AtomicU64,
    /// Credentials issued through the VC-API (`POST /credentials/issue`).
    pub vc_credentials_issued: AtomicU64,
    pub signing_duration: Histogram,
    pub storage_duration: Histogram,
    /// (endpoint, status code or transport failure) → count.
    edubadges_responses: Mutex<BTreeMap<(&'static str, String), u64>>,
    /// Time of each request to Edubadges or its token endpoint.
    pub edubadges_duration: Histogram,
    /// Push job outcomes (sent, duplicate, retry, in_doubt, failed, claimed, …) → count.
    push_outcomes: Mutex<BTreeMap<&'static str, u64>>,
    /// From an award's creation to Edubadges holding its direct award.
    pub push_delivery_duration: Histogram,
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn record_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.request_duration.observe(elapsed);
        if let Ok(mut requests) = self.requests.lock() {
            *requests.entry((method.to_owned(), route.to_owned(), status)).or_insert(0) += 1;
        }
    }

    /// One answer (or transport failure, e.g. `timeout`) from Edubadges.
    pub fn record_edubadges(&self, endpoint: &'static str, outcome: String, elapsed: Duration) {
        self.edubadges_duration.observe(elapsed);
        if let Ok(mut responses) = self.edubadges_responses.lock() {
            *responses.entry((endpoint, outcome)).or_insert(0) += 1;
        }
    }

    pub fn record_push(&self, outcome: &'static str, count: u64) {
        if let Ok(mut outcomes) = self.push_outcomes.lock() {
            *outcomes.entry(outcome).or_insert(0) += count;
        }
    }

    /// The metrics in Prometheus text format, with the number of awards in
    /// each push state (read from the database by the caller).
    pub fn render_with(&self, push_states: &[(String, i64)]) -> String {
        let mut out = self.render();
        out.push_str("# HELP zegel_push_awards Awards by Edubadges push state.\n# TYPE zegel_push_awards gauge\n");
        for (state, count) in push_states {
            let _ = writeln!(out, "zegel_push_awards{{state=\"{}\"}} {count}", label(state));
        }
        out
    }

    /// The metrics in Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        out.push_str("# HELP zegel_http_requests_total HTTP requests by method, route and status.\n");
        out.push_str("# TYPE zegel_http_requests_total counter\n");
        if let Ok(requests) = self.requests.lock() {
            for ((method, route, status), count) in requests.iter() {
                let _ = writeln!(
                    out,
                    "zegel_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {count}",
                    label(method),
                    label(route)
                );
            }
        }
        out.push_str("# HELP zegel_http_request_duration_seconds Time to answer an HTTP request.\n");
        out.push_str("# TYPE zegel_http_request_duration_seconds histogram\n");
        self.request_duration.write(&mut out, "zegel_http_request_duration_seconds", "");
        for (name, help, value) in [
            ("zegel_awards_issued_total", "Awards issued (new credentials).", &self.awards_issued),
            ("zegel_awards_repeated_total", "Award requests answered with an existing award.", &self.awards_repeated),
            (
                "zegel_awards_conflicting_total",
                "Award requests refused: record id already used for other content.",
                &self.awards_conflicting,
            ),
            (
                "zegel_vc_credentials_issued_total",
                "Credentials issued through the VC-API (POST /credentials/issue).",
                &self.vc_credentials_issued,
            ),
        ] {
            let _ =
                writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", value.load(Ordering::Relaxed));
        }
        out.push_str("# HELP zegel_signing_duration_seconds Time to sign one credential (proof and VC-JWT).\n");
        out.push_str("# TYPE zegel_signing_duration_seconds histogram\n");
        self.signing_duration.write(&mut out, "zegel_signing_duration_seconds", "");
        out.push_str("# HELP zegel_storage_duration_seconds Time to store one issued award (one transaction).\n");
        out.push_str("# TYPE zegel_storage_duration_seconds histogram\n");
        self.storage_duration.write(&mut out, "zegel_storage_duration_seconds", "");
        out.push_str("# HELP zegel_edubadges_responses_total Answers from Edubadges and its token endpoint, by endpoint and status (or transport failure).\n");
        out.push_str("# TYPE zegel_edubadges_responses_total counter\n");
        if let Ok(responses) = self.edubadges_responses.lock() {
            for ((endpoint, status), count) in responses.iter() {
                let _ = writeln!(
                    out,
                    "zegel_edubadges_responses_total{{endpoint=\"{}\",status=\"{}\"}} {count}",
                    label(endpoint),
                    label(status)
                );
            }
        }
        out.push_str("# HELP zegel_edubadges_request_duration_seconds Time of each request to Edubadges.\n");
        out.push_str("# TYPE zegel_edubadges_request_duration_seconds histogram\n");
        self.edubadges_duration.write(&mut out, "zegel_edubadges_request_duration_seconds", "");
        out.push_str(
            "# HELP zegel_push_jobs_total Push job attempts by outcome.\n# TYPE zegel_push_jobs_total counter\n",
        );
        if let Ok(outcomes) = self.push_outcomes.lock() {
            for (outcome, count) in outcomes.iter() {
                let _ = writeln!(out, "zegel_push_jobs_total{{outcome=\"{}\"}} {count}", label(outcome));
            }
        }
        out.push_str("# HELP zegel_push_delivery_seconds From an award's creation until Edubadges holds it.\n");
        out.push_str("# TYPE zegel_push_delivery_seconds histogram\n");
        self.push_delivery_duration.write(&mut out, "zegel_push_delivery_seconds", "");
        out
    }
}

/// Escapes a label value (backslash, quote, newline).
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_counters_are_labelled() {
        let metrics = Metrics::new();
        metrics.record_request("POST", "/api/v1/awards", 201, Duration::from_micros(800));
        metrics.record_request("POST", "/api/v1/awards", 201, Duration::from_millis(30));
        metrics.record_request("GET", "/credentials/{id}", 404, Duration::from_millis(2));
        metrics.awards_issued.fetch_add(2, Ordering::Relaxed);
        let text = metrics.render();
        assert!(text.contains("zegel_http_requests_total{method=\"POST\",route=\"/api/v1/awards\",status=\"201\"} 2"));
        assert!(
            text.contains("zegel_http_requests_total{method=\"GET\",route=\"/credentials/{id}\",status=\"404\"} 1")
        );
        assert!(text.contains("zegel_http_request_duration_seconds_bucket{le=\"0.001\"} 1"));
        assert!(text.contains("zegel_http_request_duration_seconds_bucket{le=\"0.05\"} 3"));
        assert!(text.contains("zegel_http_request_duration_seconds_bucket{le=\"+Inf\"} 3"));
        assert!(text.contains("zegel_http_request_duration_seconds_count 3"));
        assert!(text.contains("zegel_awards_issued_total 2"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}

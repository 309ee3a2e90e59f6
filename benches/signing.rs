//! Signing and verification throughput on one core (criterion).
//! Numbers and the machine they were measured on: docs/performance.md.

#![allow(clippy::unwrap_used, reason = "a test or benchmark that cannot set up should fail loudly")]

use chrono::{TimeZone, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;
use std::hint::black_box;
use zegel::credential::contexts;
use zegel::signing::data_integrity::{self, ProofOptions, ProofPlacement};

fn fixture() -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/testvectors/ob3-examples/generated/unsigned.json");
    std::fs::read(path).expect("fixture")
}

/// The fixture with a fresh credential id and status index, as each issued
/// credential has.
fn variant(template: &str, i: usize) -> Vec<u8> {
    template
        .replace("urn:uuid:0b7c2f1e-4a52-4c59-9d0e-5a3c9a1d2e01", &format!("urn:uuid:0b7c2f1e-4a52-4c59-9d0e-{i:012}"))
        .replace("94567", &format!("{}", 1000 + i % 100_000))
        .into_bytes()
}

fn bench(c: &mut Criterion) {
    let canon = contexts::canonicalizer();
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let vm = zegel_vm(&key);
    let options = ProofOptions::assertion(vm, Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap());
    let template = String::from_utf8(fixture()).unwrap();
    let docs: Vec<Vec<u8>> = (0..1000).map(|i| variant(&template, i)).collect();

    let mut group = c.benchmark_group("data_integrity");
    group.throughput(Throughput::Elements(1));
    let mut i = 0;
    group.bench_function("sign", |b| {
        b.iter(|| {
            i = (i + 1) % docs.len();
            black_box(data_integrity::add_proof(&canon, &docs[i], &options, &key, ProofPlacement::Array).unwrap())
        })
    });
    let signed: Vec<(Vec<u8>, serde_json::Value)> = docs
        .iter()
        .map(|d| {
            let s = data_integrity::add_proof(&canon, d, &options, &key, ProofPlacement::Array).unwrap();
            let v = serde_json::from_slice(&s).unwrap();
            (s, v)
        })
        .collect();
    let public = key.verifying_key();
    group.bench_function("verify_proof", |b| {
        b.iter(|| {
            i = (i + 1) % signed.len();
            let (bytes, value) = &signed[i];
            data_integrity::verify_proof(&canon, bytes, &value["@context"], &value["proof"][0], &public).unwrap()
        })
    });
    group.bench_function("canonicalize_document", |b| {
        b.iter(|| {
            i = (i + 1) % docs.len();
            black_box(canon.canonicalize(&docs[i]).unwrap())
        })
    });
    group.sample_size(10);
    group.bench_function("canonicalize_document_uncached", |b| {
        b.iter(|| black_box(canon.canonicalize_direct(&docs[0], false).unwrap()))
    });
    group.finish();
}

fn zegel_vm(key: &SigningKey) -> String {
    let mut bytes = vec![0xed, 0x01];
    bytes.extend_from_slice(key.verifying_key().as_bytes());
    let mk = format!("z{}", bs58::encode(bytes).into_string());
    format!("did:key:{mk}#{mk}")
}

criterion_group!(benches, bench);
criterion_main!(benches);

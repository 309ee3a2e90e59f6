//! Signing, verification and baking throughput on one core (criterion), on a
//! realistic 4.3 KB micro-credential (`tests/fixtures/microcredential-unsigned.json`).
//! Numbers and the machine they were measured on: docs/performance.md.
//!
//! Every iteration uses a credential with its own id, recipient hashes, salt
//! and status index, as issued credentials have: only the shape repeats.

#![allow(clippy::unwrap_used, reason = "a benchmark that cannot set up should fail loudly")]

use chrono::{TimeZone, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::Value;
use std::hint::black_box;
use std::sync::Arc;
use zegel::badge_image;
use zegel::baking::{self, Embedded, ImageKind};
use zegel::credential::contexts;
use zegel::credential::schema::Schemas;
use zegel::signing::data_integrity::{self, ProofOptions, ProofPlacement};
use zegel::signing::{did, jwt, keys};
use zegel::verification::{Verdict, Verifier, VerifyOptions};

const VARIANTS: usize = 1000;

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/microcredential-unsigned.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The fixture as credential number `i`, with `issuer` as its issuer.
fn variant(template: &Value, i: usize, issuer: &str) -> Value {
    let mut doc = template.clone();
    doc["id"] = format!("https://badges.example.edu/credentials/5f0c6f5e-8a1b-4c2d-9e3f-{i:012}").into();
    doc["issuer"]["id"] = issuer.into();
    for (n, identifier) in doc["credentialSubject"]["identifier"].as_array_mut().unwrap().iter_mut().enumerate() {
        if identifier["hashed"] == true {
            identifier["salt"] = format!("salt{i:018}").into();
            identifier["identityHash"] = format!("sha256${:064x}", i * 7 + n).into();
        }
    }
    let index = (i * 7919) % 131_072;
    doc["credentialStatus"]["statusListIndex"] = index.to_string().into();
    doc["credentialStatus"]["id"] = format!("https://badges.example.edu/status/1#{index}").into();
    doc
}

fn bench(c: &mut Criterion) {
    let canon = Arc::new(contexts::canonicalizer());
    let key = keys::read_key_file(concat!(env!("CARGO_MANIFEST_DIR"), "/keys/test-ed25519.pem").as_ref()).unwrap();
    let ed25519 = key.as_ed25519().unwrap().clone();
    let issuer = did::did_key(&ed25519.verifying_key());
    let vm = did::did_key_verification_method(&ed25519.verifying_key());
    let options = ProofOptions::assertion(vm.clone(), Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap());
    let template = fixture();
    let docs: Vec<Value> = (0..VARIANTS).map(|i| variant(&template, i, &issuer)).collect();
    let bytes: Vec<Vec<u8>> = docs.iter().map(|d| serde_json::to_vec(d).unwrap()).collect();
    println!("credential size: {} bytes", bytes[0].len());
    let mut i = 0;
    let mut next = || {
        i = (i + 1) % VARIANTS;
        i
    };

    let mut group = c.benchmark_group("data_integrity");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sign", |b| {
        b.iter(|| {
            let doc = &bytes[next()];
            black_box(
                data_integrity::add_proof(&canon, doc, &options, ed25519.signing_key(), ProofPlacement::Array).unwrap(),
            )
        })
    });
    let signed: Vec<Vec<u8>> = bytes
        .iter()
        .map(|d| data_integrity::add_proof(&canon, d, &options, ed25519.signing_key(), ProofPlacement::Array).unwrap())
        .collect();
    let parsed: Vec<Value> = signed.iter().map(|s| serde_json::from_slice(s).unwrap()).collect();
    let public = ed25519.verifying_key();
    group.bench_function("verify_proof", |b| {
        b.iter(|| {
            let n = next();
            let value = &parsed[n];
            data_integrity::verify_proof(&canon, &signed[n], &value["@context"], &value["proof"][0], &public).unwrap()
        })
    });
    group.finish();

    let verifier = Verifier::new(canon.clone(), Arc::new(Schemas::new()));
    let at = VerifyOptions::at(Utc.with_ymd_and_hms(2026, 11, 24, 0, 0, 0).unwrap());
    let mut group = c.benchmark_group("verifier");
    group.throughput(Throughput::Elements(1));
    group.bench_function("verify_credential", |b| {
        b.iter(|| {
            let report = verifier.verify(&signed[next()], &at);
            assert_eq!(report.verdict, Verdict::Valid, "{}", report.to_json_pretty());
            black_box(report)
        })
    });
    group.finish();

    let objects: Vec<serde_json::Map<String, Value>> = docs.iter().map(|d| d.as_object().unwrap().clone()).collect();
    let mut group = c.benchmark_group("vc_jwt");
    group.throughput(Throughput::Elements(1));
    group
        .bench_function("sign_eddsa", |b| b.iter(|| black_box(jwt::sign_vc_jwt(&objects[next()], &key, &vm).unwrap())));
    let tokens: Vec<String> = objects.iter().map(|o| jwt::sign_vc_jwt(o, &key, &vm).unwrap()).collect();
    let public_key = key.public_key();
    group.bench_function("verify_eddsa", |b| {
        b.iter(|| black_box(jwt::verify_vc_jwt(&tokens[next()], &public_key).unwrap()))
    });
    group.finish();

    // The same credential without its tags and its non-framework (ESCO)
    // alignment: the "generated vector plus quality-framework fields" size.
    let lean: Vec<serde_json::Map<String, Value>> = objects
        .iter()
        .map(|o| {
            let mut o = o.clone();
            let achievement = o["credentialSubject"]["achievement"].as_object_mut().unwrap();
            achievement.remove("tag");
            achievement["alignment"].as_array_mut().unwrap().retain(|a| a.get("targetType").is_some());
            o
        })
        .collect();
    println!("lean credential size: {} bytes", serde_json::to_vec(&lean[0]).unwrap().len());
    let mut group = c.benchmark_group("vc_jwt_lean");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sign_eddsa", |b| b.iter(|| black_box(jwt::sign_vc_jwt(&lean[next()], &key, &vm).unwrap())));
    group.finish();

    let mut group = c.benchmark_group("jsonld");
    group.throughput(Throughput::Elements(1));
    group
        .bench_function("canonicalize_memoised", |b| b.iter(|| black_box(canon.canonicalize(&bytes[next()]).unwrap())));
    group.sample_size(10);
    group.bench_function("canonicalize_uncached", |b| {
        b.iter(|| black_box(canon.canonicalize_direct(&bytes[next()], false).unwrap()))
    });
    group.finish();

    // Baked badges (`/credentials/{id}.png`, `.svg`): the drawn picture with
    // the signed credential baked in, and reading it back out.
    let texts: Vec<String> = signed.iter().map(|s| String::from_utf8(s.clone()).unwrap()).collect();
    let mut group = c.benchmark_group("baking");
    group.throughput(Throughput::Elements(1));
    for kind in [ImageKind::Png, ImageKind::Svg] {
        let name = kind.extension();
        group.bench_function(format!("bake_{name}"), |b| {
            b.iter(|| {
                let n = next();
                black_box(badge_image::baked(kind, &parsed[n], Embedded::Json(&texts[n])).unwrap())
            })
        });
        let baked: Vec<Vec<u8>> =
            (0..VARIANTS).map(|n| badge_image::baked(kind, &parsed[n], Embedded::Json(&texts[n])).unwrap()).collect();
        println!("baked {name} size: {} bytes", baked[0].len());
        group.bench_function(format!("extract_{name}"), |b| {
            b.iter(|| black_box(baking::extract(&baked[next()]).unwrap()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

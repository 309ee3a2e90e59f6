//! The verifier against the official 1EdTech validator fixtures, and the
//! failure modes a verifier must name.

#![allow(clippy::unwrap_used, reason = "a test or benchmark that cannot set up should fail loudly")]

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use zegel::verification::{
    CheckKind, InvalidCode, Outcome, Report, StaticStatusLists, Verdict, Verifier, VerifyOptions,
};

fn fixture(path: &str) -> Vec<u8> {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/testvectors/ob3-examples/1edtech-validator")
        .join(path);
    std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(Verifier::offline)
}

/// A fixed "now" inside every fixture's validity window.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
}

fn verify(path: &str) -> Report {
    verifier().verify(&fixture(path), &VerifyOptions::at(now()))
}

fn outcome(report: &Report, kind: CheckKind) -> Outcome {
    report.check(kind).unwrap_or_else(|| panic!("no {kind:?} check in {report:#?}")).outcome
}

#[test]
fn every_json_credential_in_valid_is_accepted_offline() {
    for name in [
        "simple.json",
        "simple-did-key-method.json",
        "simple-did-web-method.json",
        "simple-context-version.json",
        "simple-multiple-proofs.json",
        "complete.json",
        "endorsement-valid.json",
        "bitstring-credential-status-revoked.json",
        "bitstring-testlist.json",
    ] {
        let options =
            VerifyOptions { require_open_badge: name != "bitstring-testlist.json", ..VerifyOptions::at(now()) };
        let report = verifier().verify(&fixture(&format!("valid/{name}")), &options);
        assert_eq!(report.verdict, Verdict::Valid, "{name}: {}", report.to_json_pretty());
        assert_eq!(outcome(&report, CheckKind::Proof), Outcome::Passed, "{name}");
    }
}

/// The baked examples (issue 6): the credential comes out of each image as
/// the validator reads it, verifies, and baking it in again gives the same
/// bytes (the chunk is laid out as the spec says).
#[test]
fn the_baked_examples_carry_credentials_that_verify() {
    use zegel::baking::{self, ImageKind};
    let mut jsons = Vec::new();
    for (name, kind, jwt) in [
        ("simple-json.png", ImageKind::Png, false),
        ("simple-json.svg", ImageKind::Svg, false),
        ("simple-jwt.png", ImageKind::Png, true),
        ("simple-jwt.svg", ImageKind::Svg, true),
    ] {
        let image = fixture(&format!("valid/{name}"));
        let extracted = baking::extract(&image).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((extracted.image, extracted.is_jwt()), (kind, jwt), "{name}");
        let report = verifier().verify(extracted.credential.as_bytes(), &VerifyOptions::at(now()));
        assert_eq!(report.verdict, Verdict::Valid, "{name}: {}", report.to_json_pretty());
        assert_eq!(outcome(&report, CheckKind::Proof), Outcome::Passed, "{name}");
        if !jwt {
            jsons.push(serde_json::from_str::<Value>(&extracted.credential).unwrap());
        }
        if kind == ImageKind::Png {
            assert_eq!(baking::bake_png(&image, extracted.embedded()).unwrap(), image, "{name} baked again");
        } else {
            let again = baking::bake_svg(std::str::from_utf8(&image).unwrap(), extracted.embedded()).unwrap();
            assert_eq!(baking::extract(again.as_bytes()).unwrap(), extracted, "{name} baked again");
        }
    }
    // The JSON in the PNG and in the SVG is the same credential.
    assert_eq!(jsons[0], jsons[1]);
    let jwt = baking::extract(&fixture("valid/simple-jwt.png")).unwrap().credential;
    assert_eq!(jwt, String::from_utf8(fixture("valid/simple-jwt.extracted-from-png.jwt")).unwrap().trim());
    // Tampering with the credential in the SVG (no checksum there) breaks the proof.
    let svg = String::from_utf8(fixture("valid/simple-json.svg")).unwrap().replace("Teamwork", "Tearnwork");
    let tampered = baking::extract(svg.as_bytes()).unwrap();
    let report = verifier().verify(tampered.credential.as_bytes(), &VerifyOptions::at(now()));
    assert!(matches!(report.verdict, Verdict::Invalid { code: InvalidCode::Proof, .. }), "{}", report.to_json_pretty());
}

#[test]
fn an_unreachable_status_list_is_a_warning_unless_status_is_required() {
    let report = verify("valid/complete.json");
    assert_eq!(report.verdict, Verdict::Valid);
    assert_eq!(outcome(&report, CheckKind::Status), Outcome::Warning);
    let required = VerifyOptions { require_status: true, ..VerifyOptions::at(now()) };
    let report = verifier().verify(&fixture("valid/complete.json"), &required);
    assert!(matches!(report.verdict, Verdict::Indeterminate { .. }), "{report:#?}");
    assert_eq!(report.verdict.exit_code(), 2);
}

#[test]
fn the_bitstring_fixture_is_revoked_when_given_its_list() {
    let credential = fixture("valid/bitstring-credential-status-revoked.json");
    let entry: Value = serde_json::from_slice(&credential).unwrap();
    let url = entry["credentialStatus"]["statusListCredential"].as_str().unwrap().to_owned();
    let lists = StaticStatusLists::new().with_list(url, fixture("valid/bitstring-testlist.json"));
    let verifier = Verifier::offline().with_status_lists(Arc::new(lists));
    let report = verifier.verify(&credential, &VerifyOptions::at(now()));
    let Verdict::Invalid { code, reason } = &report.verdict else { panic!("{}", report.to_json_pretty()) };
    assert_eq!(*code, InvalidCode::Revoked);
    assert!(reason.contains("revoked"), "{reason}");
    assert_eq!(report.verdict.exit_code(), 1);
}

#[test]
fn a_tampered_status_list_is_not_believed() {
    let credential = fixture("valid/bitstring-credential-status-revoked.json");
    let entry: Value = serde_json::from_slice(&credential).unwrap();
    let url = entry["credentialStatus"]["statusListCredential"].as_str().unwrap().to_owned();
    let mut list: Value = serde_json::from_slice(&fixture("valid/bitstring-testlist.json")).unwrap();
    // An all-zero list: would say "not revoked" if its signature were ignored.
    list["credentialSubject"]["encodedList"] = zegel::status::Bitstring::new(0).encode().into();
    let lists = StaticStatusLists::new().with_list(url, serde_json::to_vec(&list).unwrap());
    let verifier = Verifier::offline().with_status_lists(Arc::new(lists));
    let required = VerifyOptions { require_status: true, ..VerifyOptions::at(now()) };
    let report = verifier.verify(&credential, &required);
    assert!(matches!(report.verdict, Verdict::Indeterminate { .. }), "{}", report.to_json_pretty());
    assert!(report.check(CheckKind::Status).unwrap().message.contains("does not verify"));
}

fn assert_invalid(name: &str, expected: InvalidCode, failing: CheckKind) {
    let report = verify(&format!("invalid/{name}"));
    let Verdict::Invalid { code, .. } = &report.verdict else { panic!("{name}: {}", report.to_json_pretty()) };
    let failed: Vec<CheckKind> =
        report.checks.iter().filter(|c| c.outcome == Outcome::Failed).map(|c| c.check).collect();
    assert!(failed.contains(&failing), "{name}: {failing:?} not among failed {failed:?}: {}", report.to_json_pretty());
    assert!(
        report.checks.iter().any(|c| c.outcome == Outcome::Failed && c.code == Some(expected)),
        "{name}: {expected:?} (first: {code:?}): {}",
        report.to_json_pretty()
    );
    assert_eq!(report.verdict.exit_code(), 1);
}

#[test]
fn a_tampered_proof_value_is_rejected() {
    assert_invalid("simple-err-proof-value.json", InvalidCode::Proof, CheckKind::Proof);
}

#[test]
fn an_expired_credential_is_rejected() {
    assert_invalid("simple-err-expired.json", InvalidCode::Expired, CheckKind::ValidUntil);
}

#[test]
fn a_credential_from_the_future_is_rejected() {
    assert_invalid("simple-err-issued.json", InvalidCode::NotYetValid, CheckKind::ValidFrom);
}

#[test]
fn a_credential_of_another_type_is_rejected() {
    assert_invalid("simple-err-type.json", InvalidCode::Type, CheckKind::Type);
}

#[test]
fn a_credential_without_the_vc_context_is_rejected() {
    assert_invalid("simple-err-context.json", InvalidCode::Context, CheckKind::Context);
}

#[test]
fn a_verification_method_that_is_no_multikey_is_rejected() {
    assert_invalid("simple-err-proof-method.json", InvalidCode::Proof, CheckKind::Proof);
}

#[test]
fn a_wrong_identifier_type_is_rejected() {
    assert_invalid("simple-err-credential-subject-identifier-type.json", InvalidCode::Schema, CheckKind::Schema);
}

#[test]
fn a_credential_without_issuer_is_rejected() {
    assert_invalid("simple-err-issuer.json", InvalidCode::Issuer, CheckKind::Issuer);
}

#[test]
fn unbound_keys_and_compacted_forms_are_accepted_with_a_warning() {
    let report = verify("valid/simple-did-key-method.json");
    assert_eq!(outcome(&report, CheckKind::Issuer), Outcome::Warning, "{}", report.to_json_pretty());
    let report = verify("valid/simple.json");
    assert_eq!(outcome(&report, CheckKind::Issuer), Outcome::Warning, "{}", report.to_json_pretty());
    let report = verify("valid/simple-did-web-method.json");
    assert_eq!(outcome(&report, CheckKind::Schema), Outcome::Warning, "{}", report.to_json_pretty());
    let report = verify("valid/simple-multiple-proofs.json");
    assert!(report.warnings.iter().any(|w| w.contains("SomeProofType")), "{:?}", report.warnings);
}

#[test]
fn a_credential_whose_key_needs_fetching_cannot_be_checked_offline() {
    let mut doc: Value = serde_json::from_slice(&fixture("valid/simple.json")).unwrap();
    doc["proof"][0]["verificationMethod"] = "did:web:example.com#key-1".into();
    let report = verifier().verify(&serde_json::to_vec(&doc).unwrap(), &VerifyOptions::at(now()));
    assert!(matches!(report.verdict, Verdict::Indeterminate { .. }), "{}", report.to_json_pretty());
    assert_eq!(report.verdict.exit_code(), 2);
}

#[test]
fn undefined_terms_are_reported_by_name() {
    let mut doc: Value = serde_json::from_slice(&fixture("valid/simple.json")).unwrap();
    doc["credentialSubject"]["favouriteColour"] = "blue".into();
    let report = verifier().verify(&serde_json::to_vec(&doc).unwrap(), &VerifyOptions::at(now()));
    let Verdict::Invalid { reason, .. } = &report.verdict else { panic!("{}", report.to_json_pretty()) };
    assert!(reason.contains("\"favouriteColour\""), "{reason}");
    assert_eq!(outcome(&report, CheckKind::Terms), Outcome::Failed);
}

#[test]
fn garbage_is_malformed_never_a_panic() {
    for input in [
        &b""[..],
        b"   ",
        b"{",
        b"[1,2,3]",
        b"null",
        b"{\"@context\": 5}",
        b"{\"proof\": \"x\"}",
        b"eyJhbGciOiJFZERTQSJ9.eyJ9.c2ln",
        b"not.a.jwt!",
        &[0xff, 0xfe, 0x00],
    ] {
        let report = verifier().verify(input, &VerifyOptions::at(now()));
        assert!(
            matches!(report.verdict, Verdict::Invalid { .. }),
            "{:?}: {}",
            String::from_utf8_lossy(input),
            report.to_json_pretty()
        );
    }
    let huge = vec![b' '; 2 * 1024 * 1024];
    let report = verifier().verify(&huge, &VerifyOptions::at(now()));
    assert!(matches!(report.verdict, Verdict::Invalid { code: InvalidCode::Malformed, .. }));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8)]) -> Vec<u8> {
        for (at, byte) in edits {
            if !bytes.is_empty() {
                let at = at % bytes.len();
                bytes[at] = *byte;
            }
        }
        bytes
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic_the_verifier(input in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = verifier().verify(&input, &VerifyOptions::at(now()));
        }

        #[test]
        fn a_mutated_valid_credential_is_never_valid_with_a_different_meaning(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4)) {
            let original = fixture("valid/simple.json");
            let mutated = mutate(original.clone(), &edits);
            let report = verifier().verify(&mutated, &VerifyOptions::at(now()));
            if report.verdict == Verdict::Valid {
                // Only changes that keep the signed data (whitespace, …) may stay valid.
                let a: Value = serde_json::from_slice(&original).unwrap();
                let b: Value = serde_json::from_slice(&mutated).unwrap();
                prop_assert_eq!(a, b);
            }
        }
    }
}

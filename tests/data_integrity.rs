//! eddsa-rdfc-2022 reproduces every intermediate of the published vectors.

#![allow(clippy::unwrap_used, reason = "a test or benchmark that cannot set up should fail loudly")]

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use serde_json::Value;
use std::path::PathBuf;
use zegel::credential::contexts;
use zegel::signing::data_integrity::{self, DataIntegrityError, ProofOptions, ProofPlacement};

fn read(path: &str) -> Vec<u8> {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/testvectors").join(path);
    std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}
fn text(path: &str) -> String {
    String::from_utf8(read(path)).unwrap().trim_end_matches('\n').to_owned()
}
fn json(path: &str) -> Value {
    serde_json::from_slice(&read(path)).unwrap()
}
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
fn seed_key(hex_seed: &str) -> SigningKey {
    let bytes: Vec<u8> = (0..32).map(|i| u8::from_str_radix(&hex_seed[2 * i..2 * i + 2], 16).unwrap()).collect();
    SigningKey::from_bytes(&bytes.try_into().unwrap())
}
/// `z` + base58btc(0x80 0x26 ‖ seed[‖ pub]) → key.
fn multikey_secret(multibase: &str) -> SigningKey {
    let bytes = bs58::decode(&multibase[1..]).into_vec().unwrap();
    assert_eq!(&bytes[..2], &[0x80, 0x26]);
    SigningKey::from_bytes(&bytes[2..34].try_into().unwrap())
}
fn options(proof_options: &Value) -> ProofOptions {
    ProofOptions {
        verification_method: proof_options["verificationMethod"].as_str().unwrap().into(),
        created: Some(proof_options["created"].as_str().unwrap().parse::<DateTime<Utc>>().unwrap()),
        proof_purpose: proof_options["proofPurpose"].as_str().unwrap().into(),
    }
}

struct Vector {
    unsigned: &'static str,
    proof_options: &'static str,
    canonical_document: &'static str,
    canonical_proof: &'static str,
    proof_value: String,
    key: SigningKey,
    signed: &'static str,
}

fn w3c() -> Vector {
    let pair = json("eddsa-rdfc-2022/keyPair.json");
    Vector {
        unsigned: "eddsa-rdfc-2022/unsigned.json",
        proof_options: "eddsa-rdfc-2022/proofConfigDataInt.json",
        canonical_document: "eddsa-rdfc-2022/canonDocDataInt.txt",
        canonical_proof: "eddsa-rdfc-2022/proofCanonDataInt.txt",
        proof_value: text("eddsa-rdfc-2022/sigBTC58DataInt.txt"),
        key: multikey_secret(pair["privateKeyMultibase"].as_str().unwrap()),
        signed: "eddsa-rdfc-2022/signedDataInt.json",
    }
}

fn impl_guide() -> Vector {
    Vector {
        unsigned: "ob3-examples/1edtech-impl-guide/unsigned.json",
        proof_options: "ob3-examples/1edtech-impl-guide/proof-options.json",
        canonical_document: "ob3-examples/1edtech-impl-guide/document-canon.txt",
        canonical_proof: "ob3-examples/1edtech-impl-guide/proof-canon.txt",
        proof_value: "z5x9aCBYovW3CQCbKdNyhEm7ffYSw1YpEdPywQJoNbzDD2gkzQDKJ1sYKJaWvqZtkMtSbz35HcbgXVEDYHxCzgkCr".into(),
        key: seed_key("6241a409e6707bb640a0140a8a32bc3d193c33a661747284d6adfa4ed4180be4"),
        signed: "ob3-examples/1edtech-impl-guide/signed.json",
    }
}

fn generated() -> Vector {
    Vector {
        unsigned: "ob3-examples/generated/unsigned.json",
        proof_options: "ob3-examples/generated/proof-options.json",
        canonical_document: "ob3-examples/generated/document-canon.nq",
        canonical_proof: "ob3-examples/generated/proof-canon.nq",
        proof_value: "zCj2kHewPeCxGhi7Ac2mcAYd6MqRkfNNWiMUpBMnYmH7UBbAMaBT6i6w7nU9RXksoco4ZLDt177jceoqe4V5GgPr".into(),
        key: seed_key("6241a409e6707bb640a0140a8a32bc3d193c33a661747284d6adfa4ed4180be4"),
        signed: "ob3-examples/generated/signed.json",
    }
}

fn reproduces_every_intermediate(v: Vector) {
    let canon = contexts::canonicalizer();
    let unsigned = read(v.unsigned);
    let document: Value = serde_json::from_slice(&unsigned).unwrap();
    let options = options(&json(v.proof_options));

    let canonical_document = canon.canonicalize(&unsigned).unwrap();
    assert_eq!(canonical_document, String::from_utf8(read(v.canonical_document)).unwrap());
    let config = data_integrity::proof_configuration(&options, &document["@context"]);
    let canonical_proof = data_integrity::canonical_configuration(&canon, &config).unwrap();
    assert_eq!(canonical_proof, String::from_utf8(read(v.canonical_proof)).unwrap());

    let hash = data_integrity::hash_data(&canonical_proof, &canonical_document);
    if v.unsigned.starts_with("eddsa") {
        assert_eq!(hex(&hash[..32]), text("eddsa-rdfc-2022/proofHashDataInt.txt"));
        assert_eq!(hex(&hash[32..]), text("eddsa-rdfc-2022/docHashDataInt.txt"));
        assert_eq!(hex(&hash), text("eddsa-rdfc-2022/combinedHashDataInt.txt"));
        let signature = ed25519_dalek::Signer::sign(&v.key, &hash).to_bytes();
        assert_eq!(hex(&signature), text("eddsa-rdfc-2022/sigHexDataInt.txt"));
    }

    // End to end: the whole proof, and the vector's own proof verifies.
    let proof = data_integrity::create_proof(&canon, &unsigned, &document["@context"], &options, &v.key).unwrap();
    assert_eq!(proof["proofValue"], v.proof_value.as_str());
    let signed = read(v.signed);
    let signed_value: Value = serde_json::from_slice(&signed).unwrap();
    let vector_proof = match &signed_value["proof"] {
        Value::Array(proofs) => proofs[0].clone(),
        single => single.clone(),
    };
    assert_eq!(Value::Object(proof), vector_proof);
    data_integrity::verify_proof(&canon, &signed, &signed_value["@context"], &vector_proof, &v.key.verifying_key())
        .unwrap();
}

#[test]
fn w3c_vector_is_reproduced_byte_for_byte() {
    reproduces_every_intermediate(w3c());
}

#[test]
fn onedtech_implementation_guide_vector_is_reproduced_byte_for_byte() {
    reproduces_every_intermediate(impl_guide());
}

#[test]
fn generated_ob3_vector_is_reproduced_byte_for_byte() {
    reproduces_every_intermediate(generated());
}

#[test]
fn a_signed_document_keeps_its_members_verbatim_and_verifies() {
    let canon = contexts::canonicalizer();
    let v = w3c();
    let unsigned = read(v.unsigned);
    let options = options(&json(v.proof_options));
    let signed = data_integrity::add_proof(&canon, &unsigned, &options, &v.key, ProofPlacement::Object).unwrap();
    let value: Value = serde_json::from_slice(&signed).unwrap();
    let mut expected = json(v.signed);
    assert_eq!(value, expected);
    data_integrity::verify_proof(&canon, &signed, &value["@context"], &value["proof"], &v.key.verifying_key()).unwrap();

    // As an Open Badge: the proof goes into an array.
    let signed = data_integrity::add_proof(&canon, &unsigned, &options, &v.key, ProofPlacement::Array).unwrap();
    let value: Value = serde_json::from_slice(&signed).unwrap();
    expected["proof"] = Value::Array(vec![expected["proof"].clone()]);
    assert_eq!(value, expected);
}

#[test]
fn a_second_proof_joins_the_proof_set_and_both_verify() {
    let canon = contexts::canonicalizer();
    let v = w3c();
    let options = options(&json(v.proof_options));
    let once = data_integrity::add_proof(&canon, &read(v.unsigned), &options, &v.key, ProofPlacement::Object).unwrap();
    let other = seed_key("6241a409e6707bb640a0140a8a32bc3d193c33a661747284d6adfa4ed4180be4");
    let twice = data_integrity::add_proof(&canon, &once, &options, &other, ProofPlacement::Object).unwrap();
    let value: Value = serde_json::from_slice(&twice).unwrap();
    let proofs = value["proof"].as_array().unwrap();
    assert_eq!(proofs.len(), 2);
    for (proof, key) in proofs.iter().zip([&v.key, &other]) {
        data_integrity::verify_proof(&canon, &twice, &value["@context"], proof, &key.verifying_key()).unwrap();
    }
}

#[test]
fn any_change_to_the_signed_data_breaks_the_signature() {
    let canon = contexts::canonicalizer();
    let v = w3c();
    let mut signed = json(v.signed);
    let key = v.key.verifying_key();
    let verify = |doc: &Value| {
        let bytes = serde_json::to_vec(doc).unwrap();
        data_integrity::verify_proof(&canon, &bytes, &doc["@context"], &doc["proof"], &key)
    };
    assert_eq!(verify(&signed), Ok(()));
    signed["credentialSubject"]["alumniOf"] = "Another University".into();
    assert_eq!(verify(&signed), Err(DataIntegrityError::SignatureMismatch));
    let mut signed = json(v.signed);
    signed["proof"]["created"] = "2023-02-24T23:36:39Z".into();
    assert_eq!(verify(&signed), Err(DataIntegrityError::SignatureMismatch));
    let mut signed = json(v.signed);
    signed["proof"]["proofValue"] =
        "z2YwC8z3ap7yx1nZYCg4L3j3ApHsF8kgPdSb5xoS1VR7vPG3F561B52hYnQF9iseabecm3ijx4K1FBTQsCZahKZmf".into();
    assert_eq!(verify(&signed), Err(DataIntegrityError::SignatureMismatch));
    let other = seed_key("6241a409e6707bb640a0140a8a32bc3d193c33a661747284d6adfa4ed4180be4").verifying_key();
    let signed = json(v.signed);
    let bytes = serde_json::to_vec(&signed).unwrap();
    assert_eq!(
        data_integrity::verify_proof(&canon, &bytes, &signed["@context"], &signed["proof"], &other),
        Err(DataIntegrityError::SignatureMismatch)
    );
}

#[test]
fn malformed_proofs_are_named() {
    let canon = contexts::canonicalizer();
    let v = w3c();
    let key = v.key.verifying_key();
    type Change = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(Change, DataIntegrityError)> = vec![
        (
            Box::new(|p| p["type"] = "Ed25519Signature2020".into()),
            DataIntegrityError::NotDataIntegrityProof("Ed25519Signature2020".into()),
        ),
        (
            Box::new(|p| p["cryptosuite"] = "eddsa-jcs-2022".into()),
            DataIntegrityError::UnsupportedCryptosuite("eddsa-jcs-2022".into()),
        ),
        (
            Box::new(|p| {
                p.as_object_mut().unwrap().remove("proofValue");
            }),
            DataIntegrityError::MissingMember("proofValue"),
        ),
        (Box::new(|p| p["proofValue"] = "u2YwC8z3".into()), DataIntegrityError::ProofValueNotMultibase),
        (Box::new(|p| p["proofValue"] = "z0OIl".into()), DataIntegrityError::ProofValueNotMultibase),
        (Box::new(|p| p["proofValue"] = "z2YwC8z3ap7yx1nZYCg4L3j3".into()), DataIntegrityError::ProofValueLength(17)),
        (Box::new(|p| p["created"] = "yesterday".into()), DataIntegrityError::InvalidCreated("yesterday".into())),
        (
            Box::new(|p| p["verificationMethod"] = 7.into()),
            DataIntegrityError::NotAString { member: "verificationMethod" },
        ),
        (
            Box::new(|p| p["@context"] = "https://www.w3.org/ns/credentials/v2".into()),
            DataIntegrityError::ContextMismatch,
        ),
    ];
    for (change, expected) in cases {
        let mut signed = json(v.signed);
        change(&mut signed["proof"]);
        let bytes = serde_json::to_vec(&signed).unwrap();
        assert_eq!(
            data_integrity::verify_proof(&canon, &bytes, &signed["@context"], &signed["proof"], &key),
            Err(expected)
        );
    }
}

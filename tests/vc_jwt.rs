//! VC-JWT (OB 3.0 §8.2): signing, verification, claim checks, the 1EdTech
//! RS256 fixture, and robustness against malformed tokens.

#![allow(clippy::unwrap_used, reason = "a test or benchmark that cannot set up should fail loudly")]

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use zegel::signing::did::verification_method_id;
use zegel::signing::jwt::{JwtError, PublicKey, Segment, decode_unverified, sign_vc_jwt, verify_vc_jwt};
use zegel::signing::keys::{KeyKind, SigningKey, read_key_file};

fn manifest_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn test_ed25519() -> SigningKey {
    read_key_file(&manifest_path("keys/test-ed25519.pem")).expect("committed Ed25519 test key")
}

fn test_rsa() -> SigningKey {
    read_key_file(&manifest_path("keys/test-rsa.pem")).expect("committed RSA test key")
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("expected a JSON object, got {other}"),
    }
}

/// The generated OB 3.0 credential from the shared vectors (issuer object,
/// subject identified only by a hashed e-mail, validUntil present).
fn credential() -> Map<String, Value> {
    let path = manifest_path("../shared/testvectors/ob3-examples/generated/unsigned.json");
    let text = std::fs::read_to_string(path).expect("vector is readable");
    object(serde_json::from_str(&text).expect("vector is JSON"))
}

fn kid(key: &SigningKey) -> String {
    verification_method_id("did:web:example.edu", key)
}

/// Signs an arbitrary header and payload with the Ed25519 test key, bypassing
/// `sign_vc_jwt`, to build tokens whose claims disagree with the credential.
fn sign_raw(header: &Value, payload: &Value) -> String {
    let signing_input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(payload.to_string()));
    let SigningKey::Ed25519(key) = test_ed25519() else { panic!("Ed25519 test key") };
    let signature = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn eddsa_header() -> Value {
    json!({"alg": "EdDSA", "typ": "JWT"})
}

/// The payload `sign_vc_jwt` would make for `credential()`, for tampering.
fn valid_payload() -> Map<String, Value> {
    let token = sign_vc_jwt(&credential(), &test_ed25519(), "k").expect("signs");
    decode_unverified(&token).expect("decodes").payload
}

fn verify_ed25519(token: &str) -> Result<Map<String, Value>, JwtError> {
    verify_vc_jwt(token, &test_ed25519().public_key())
}

// ---------------------------------------------------------------- round trips

#[test]
fn an_eddsa_vc_jwt_verifies_and_returns_the_credential_unchanged() {
    let key = test_ed25519();
    let credential = credential();
    let token = sign_vc_jwt(&credential, &key, &kid(&key)).expect("signs");
    let verified = verify_vc_jwt(&token, &key.public_key()).expect("verifies");
    // Compare serialisations: member order must survive too.
    assert_eq!(
        serde_json::to_string(&verified).expect("serialises"),
        serde_json::to_string(&credential).expect("serialises")
    );
}

#[test]
fn an_rs256_vc_jwt_verifies_and_returns_the_credential_unchanged() {
    let key = test_rsa();
    let credential = credential();
    let token = sign_vc_jwt(&credential, &key, &kid(&key)).expect("signs");
    let decoded = decode_unverified(&token).expect("decodes");
    assert_eq!(decoded.alg(), Some("RS256"));
    assert_eq!(decoded.signature.len(), 384, "a 3072-bit RSA signature");
    let verified = verify_vc_jwt(&token, &key.public_key()).expect("verifies");
    assert_eq!(
        serde_json::to_string(&verified).expect("serialises"),
        serde_json::to_string(&credential).expect("serialises")
    );
}

#[test]
fn the_eddsa_signature_verifies_with_plain_ed25519_over_the_signing_input() {
    let key = test_ed25519();
    let token = sign_vc_jwt(&credential(), &key, &kid(&key)).expect("signs");
    let (signing_input, signature) = token.rsplit_once('.').expect("three segments");
    let signature = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
    let signature = ed25519_dalek::Signature::from_slice(&signature).expect("64 bytes");
    let SigningKey::Ed25519(key) = key else { panic!("Ed25519") };
    key.verifying_key()
        .verify_strict(signing_input.as_bytes(), &signature)
        .expect("RFC 7515 signing input is what was signed");
}

#[test]
fn the_rs256_signature_verifies_with_plain_rsa_pkcs1v15_sha256() {
    use rsa::signature::Verifier;
    let key = test_rsa();
    let token = sign_vc_jwt(&credential(), &key, &kid(&key)).expect("signs");
    let (signing_input, signature) = token.rsplit_once('.').expect("three segments");
    let signature = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
    let SigningKey::Rsa(key) = key else { panic!("RSA") };
    let verifier = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key.public_key());
    let signature = rsa::pkcs1v15::Signature::try_from(signature.as_slice()).expect("signature bytes");
    verifier.verify(signing_input.as_bytes(), &signature).expect("RS256 = RSASSA-PKCS1-v1_5 with SHA-256");
}

#[test]
fn eddsa_tokens_are_byte_identical_to_jsonwebtoken_encode() {
    // sign_vc_jwt signs EdDSA with the cached key instead of through
    // jsonwebtoken (speed); the result must be exactly what jsonwebtoken makes.
    use jsonwebtoken::{EncodingKey, Header, encode};
    let key = test_ed25519();
    let kid = kid(&key);
    let token = sign_vc_jwt(&credential(), &key, &kid).expect("signs");
    let mut header = Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.kid = Some(kid);
    let pem = std::fs::read(manifest_path("keys/test-ed25519.pem")).expect("readable");
    let payload = Value::Object(decode_unverified(&token).expect("decodes").payload);
    let reference =
        encode(&header, &payload, &EncodingKey::from_ed_pem(&pem).expect("PKCS#8 PEM")).expect("jsonwebtoken signs");
    assert_eq!(token, reference);
}

#[test]
fn eddsa_signing_is_deterministic() {
    let key = test_ed25519();
    let first = sign_vc_jwt(&credential(), &key, "k").expect("signs");
    let second = sign_vc_jwt(&credential(), &key, "k").expect("signs");
    assert_eq!(first, second);
}

// ---------------------------------------------------------------- header and claims

#[test]
fn the_header_is_exactly_alg_kid_and_typ() {
    for (key, alg) in [(test_ed25519(), "EdDSA"), (test_rsa(), "RS256")] {
        let kid = kid(&key);
        let token = sign_vc_jwt(&credential(), &key, &kid).expect("signs");
        let header = decode_unverified(&token).expect("decodes").header;
        assert_eq!(Value::Object(header), json!({"alg": alg, "kid": kid, "typ": "JWT"}));
    }
}

#[test]
fn the_claims_are_derived_from_the_credential() {
    let payload = valid_payload();
    assert_eq!(payload["iss"], "did:key:z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi");
    assert_eq!(payload["jti"], "urn:uuid:0b7c2f1e-4a52-4c59-9d0e-5a3c9a1d2e01");
    assert_eq!(payload["nbf"], 1_735_689_600, "2025-01-01T00:00:00Z");
    assert_eq!(payload["exp"], 2_051_222_400, "2035-01-01T00:00:00Z");
    // The subject is identified only by a hashed e-mail: no sub.
    assert!(!payload.contains_key("sub"));
    assert!(!payload.contains_key("vc"));
    assert!(!payload.contains_key("iat"));
    // The credential's own members are all there, first and in order.
    let names: Vec<&String> = payload.keys().take(credential().len()).collect();
    let expected: Vec<String> = credential().keys().cloned().collect();
    assert_eq!(names, expected.iter().collect::<Vec<_>>());
}

#[test]
fn sub_is_the_subject_id_when_there_is_one() {
    let mut credential = credential();
    credential["credentialSubject"]["id"] = json!("did:example:learner");
    credential.remove("validUntil");
    credential["issuer"] = json!("https://example.edu/issuer");
    let key = test_ed25519();
    let token = sign_vc_jwt(&credential, &key, "k").expect("signs");
    let payload = decode_unverified(&token).expect("decodes").payload;
    assert_eq!(payload["sub"], "did:example:learner");
    assert_eq!(payload["iss"], "https://example.edu/issuer", "string issuer");
    assert!(!payload.contains_key("exp"), "no validUntil, no exp");
    verify_vc_jwt(&token, &key.public_key()).expect("verifies");
}

#[test]
fn a_credential_without_issuer_id_or_valid_from_cannot_be_signed() {
    let key = test_ed25519();
    let mut no_issuer = credential();
    no_issuer["issuer"] = json!({"type": ["Profile"]});
    assert!(matches!(sign_vc_jwt(&no_issuer, &key, "k"), Err(JwtError::MissingIssuer)));
    let mut no_id = credential();
    no_id.remove("id");
    assert!(matches!(sign_vc_jwt(&no_id, &key, "k"), Err(JwtError::MissingId)));
    let mut no_valid_from = credential();
    no_valid_from.remove("validFrom");
    assert!(matches!(sign_vc_jwt(&no_valid_from, &key, "k"), Err(JwtError::MissingValidFrom)));
}

#[test]
fn unparsable_dates_are_refused_with_the_member_named() {
    let key = test_ed25519();
    for (member, value) in [
        ("validFrom", json!("2025-01-01")),
        ("validFrom", json!("2025-01-01T00:00:00")),
        ("validUntil", json!("next year")),
        ("validUntil", json!(2_051_222_400)),
    ] {
        let mut credential = credential();
        credential[member] = value.clone();
        let error = sign_vc_jwt(&credential, &key, "k").expect_err("bad date");
        assert!(matches!(&error, JwtError::InvalidDate { member: m, .. } if *m == member), "{member} {value}: {error}");
        assert!(error.to_string().contains(member), "{error}");
    }
}

#[test]
fn dates_with_offsets_become_utc_seconds() {
    let mut credential = credential();
    credential["validFrom"] = json!("2025-01-01T01:00:00+01:00");
    let token = sign_vc_jwt(&credential, &test_ed25519(), "k").expect("signs");
    assert_eq!(decode_unverified(&token).expect("decodes").payload["nbf"], 1_735_689_600);
}

// ---------------------------------------------------------------- tampering and algorithms

#[test]
fn a_tampered_payload_fails_verification() {
    let key = test_ed25519();
    let token = sign_vc_jwt(&credential(), &key, &kid(&key)).expect("signs");
    let mut segments: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut payload = valid_payload();
    payload["name"] = json!("Teamwork Badge (forged)");
    segments[1] = URL_SAFE_NO_PAD.encode(Value::Object(payload).to_string());
    assert!(matches!(verify_vc_jwt(&segments.join("."), &key.public_key()), Err(JwtError::InvalidSignature)));
}

#[test]
fn a_tampered_signature_fails_verification() {
    for key in [test_ed25519(), test_rsa()] {
        let token = sign_vc_jwt(&credential(), &key, &kid(&key)).expect("signs");
        let (signing_input, signature) = token.rsplit_once('.').expect("three segments");
        let mut signature = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
        signature[10] ^= 0x01;
        let tampered = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature));
        assert!(
            matches!(verify_vc_jwt(&tampered, &key.public_key()), Err(JwtError::InvalidSignature)),
            "{:?}",
            key.kind()
        );
    }
}

#[test]
fn a_token_verified_with_another_key_of_the_same_type_fails() {
    let token = sign_vc_jwt(&credential(), &test_ed25519(), "k").expect("signs");
    let other = PublicKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[1u8; 32]).verifying_key());
    assert!(matches!(verify_vc_jwt(&token, &other), Err(JwtError::InvalidSignature)));
}

#[test]
fn an_algorithm_that_does_not_match_the_key_type_fails() {
    let eddsa = sign_vc_jwt(&credential(), &test_ed25519(), "k").expect("signs");
    let error = verify_vc_jwt(&eddsa, &test_rsa().public_key()).expect_err("mismatch");
    assert!(matches!(&error, JwtError::AlgorithmKeyMismatch { alg, key: KeyKind::Rsa } if alg == "EdDSA"), "{error}");
    let rs256 = sign_vc_jwt(&credential(), &test_rsa(), "k").expect("signs");
    assert!(matches!(
        verify_vc_jwt(&rs256, &test_ed25519().public_key()),
        Err(JwtError::AlgorithmKeyMismatch { key: KeyKind::Ed25519, .. })
    ));
}

#[test]
fn an_unsecured_alg_none_token_is_refused() {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(Value::Object(valid_payload()).to_string());
    for token in [format!("{header}.{payload}."), format!("{header}.{payload}.AAAA")] {
        assert!(matches!(verify_ed25519(&token), Err(JwtError::UnsecuredJwt)));
    }
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"None"}"#);
    assert!(matches!(verify_ed25519(&format!("{header}.{payload}.")), Err(JwtError::UnsecuredJwt)));
}

#[test]
fn an_hmac_token_keyed_with_the_public_key_is_refused() {
    // The classic algorithm-confusion attack: HS256 with the public key as secret.
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
    let SigningKey::Ed25519(key) = test_ed25519() else { panic!("Ed25519") };
    let token = encode(
        &Header::new(Algorithm::HS256),
        &Value::Object(valid_payload()),
        &EncodingKey::from_secret(key.verifying_key().as_bytes()),
    )
    .expect("encodes");
    let error = verify_ed25519(&token).expect_err("HS256");
    assert!(matches!(&error, JwtError::UnsupportedAlgorithm { alg } if alg == "HS256"), "{error}");
}

#[test]
fn a_header_without_alg_or_with_crit_is_refused() {
    let payload = Value::Object(valid_payload());
    assert!(matches!(verify_ed25519(&sign_raw(&json!({"typ": "JWT"}), &payload)), Err(JwtError::MissingAlgorithm)));
    assert!(matches!(
        verify_ed25519(&sign_raw(&json!({"alg": "EdDSA", "crit": ["b64"], "b64": false}), &payload)),
        Err(JwtError::CriticalHeader)
    ));
}

// ---------------------------------------------------------------- claim checks

fn with_claim(name: &str, value: Value) -> Value {
    let mut payload = valid_payload();
    payload.insert(name.to_owned(), value);
    Value::Object(payload)
}

#[test]
fn a_raw_signed_copy_of_a_valid_payload_verifies() {
    // Guards the claim tests below: their tokens fail only for the claim changed.
    verify_ed25519(&sign_raw(&eddsa_header(), &Value::Object(valid_payload()))).expect("verifies");
}

#[test]
fn an_iss_that_is_not_the_issuer_id_is_an_issuer_mismatch() {
    let token = sign_raw(&eddsa_header(), &with_claim("iss", json!("did:example:other")));
    let error = verify_ed25519(&token).expect_err("mismatch");
    assert!(matches!(error, JwtError::IssuerMismatch { .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("did:example:other"), "{message}");
    assert!(message.contains("did:key:z6MkjZRZv3"), "{message}");
}

#[test]
fn a_missing_iss_is_refused() {
    let mut payload = valid_payload();
    payload.remove("iss");
    let token = sign_raw(&eddsa_header(), &Value::Object(payload));
    assert!(matches!(verify_ed25519(&token), Err(JwtError::MissingClaim { claim: "iss" })));
}

#[test]
fn a_jti_that_is_not_the_credential_id_is_an_id_mismatch() {
    let token = sign_raw(&eddsa_header(), &with_claim("jti", json!("urn:uuid:other")));
    let error = verify_ed25519(&token).expect_err("mismatch");
    assert!(matches!(error, JwtError::IdMismatch { .. }), "{error}");
    assert!(error.to_string().contains("urn:uuid:other"));
    assert!(error.to_string().contains("urn:uuid:0b7c2f1e-4a52-4c59-9d0e-5a3c9a1d2e01"));
}

#[test]
fn a_sub_without_a_subject_id_is_a_subject_mismatch() {
    let token = sign_raw(&eddsa_header(), &with_claim("sub", json!("did:example:someone")));
    let error = verify_ed25519(&token).expect_err("mismatch");
    assert!(matches!(&error, JwtError::SubjectMismatch { subject: None, .. }), "{error}");
    assert!(error.to_string().contains("did:example:someone"));
}

#[test]
fn a_sub_that_differs_from_the_subject_id_is_a_subject_mismatch() {
    let mut payload = valid_payload();
    payload["credentialSubject"]["id"] = json!("did:example:learner");
    payload.insert("sub".to_owned(), json!("did:example:impostor"));
    let error = verify_ed25519(&sign_raw(&eddsa_header(), &Value::Object(payload))).expect_err("mismatch");
    assert!(
        matches!(&error, JwtError::SubjectMismatch { subject: Some(s), .. } if s == "did:example:learner"),
        "{error}"
    );
}

#[test]
fn an_nbf_that_is_not_valid_from_is_a_not_before_mismatch() {
    let token = sign_raw(&eddsa_header(), &with_claim("nbf", json!(1_735_689_601)));
    let error = verify_ed25519(&token).expect_err("mismatch");
    assert!(
        matches!(error, JwtError::NotBeforeMismatch { nbf: 1_735_689_601, valid_from_seconds: 1_735_689_600, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("2025-01-01T00:00:00Z"));
}

#[test]
fn an_exp_that_is_not_valid_until_is_an_expiry_mismatch() {
    let token = sign_raw(&eddsa_header(), &with_claim("exp", json!(1)));
    let error = verify_ed25519(&token).expect_err("mismatch");
    assert!(matches!(error, JwtError::ExpiryMismatch { exp: 1, .. }), "{error}");
    assert!(error.to_string().contains("2035-01-01T00:00:00Z"));
}

#[test]
fn a_claim_of_the_wrong_type_is_refused() {
    let token = sign_raw(&eddsa_header(), &with_claim("nbf", json!("2025-01-01")));
    assert!(matches!(verify_ed25519(&token), Err(JwtError::InvalidClaim { claim: "nbf", .. })));
    let token = sign_raw(&eddsa_header(), &with_claim("iss", json!(["a"])));
    assert!(matches!(verify_ed25519(&token), Err(JwtError::InvalidClaim { claim: "iss", .. })));
}

#[test]
fn time_validity_is_not_judged_here() {
    let mut credential = credential();
    credential["validFrom"] = json!("2999-01-01T00:00:00Z");
    credential["validUntil"] = json!("2001-01-01T00:00:00Z");
    let key = test_ed25519();
    let token = sign_vc_jwt(&credential, &key, "k").expect("signs");
    verify_vc_jwt(&token, &key.public_key()).expect("not yet valid and expired, but authentic");
}

#[test]
fn registered_claims_are_removed_from_the_returned_credential() {
    let payload = with_claim("iat", json!(1_700_000_000));
    let payload = {
        let mut payload = object(payload);
        payload.insert("aud".to_owned(), json!("did:example:verifier"));
        Value::Object(payload)
    };
    let credential = verify_ed25519(&sign_raw(&eddsa_header(), &payload)).expect("verifies");
    for claim in ["iss", "sub", "jti", "nbf", "exp", "iat", "aud"] {
        assert!(!credential.contains_key(claim), "{claim}");
    }
}

#[test]
fn a_vc_claim_token_yields_the_vc_object_with_issuer_and_id_restored() {
    let mut inner = credential();
    inner.remove("id");
    inner.remove("issuer");
    let payload = json!({
        "iss": "https://example.edu/issuer",
        "jti": "urn:uuid:legacy",
        "nbf": 1_735_689_600,
        "vc": inner,
    });
    let credential = verify_ed25519(&sign_raw(&eddsa_header(), &payload)).expect("verifies");
    assert_eq!(credential["issuer"], "https://example.edu/issuer");
    assert_eq!(credential["id"], "urn:uuid:legacy");
    assert_eq!(credential["name"], "Teamwork Badge");
    assert!(!credential.contains_key("vc"));
}

#[test]
fn a_vc_claim_that_is_not_an_object_is_refused() {
    let payload = json!({"iss": "x", "vc": "credential"});
    assert!(matches!(verify_ed25519(&sign_raw(&eddsa_header(), &payload)), Err(JwtError::VcClaimNotObject)));
}

// ---------------------------------------------------------------- the 1EdTech fixture

fn one_edtech_token() -> String {
    let path =
        manifest_path("../shared/testvectors/ob3-examples/1edtech-validator/valid/simple-jwt.extracted-from-png.jwt");
    std::fs::read_to_string(path).expect("fixture is readable").trim().to_owned()
}

#[test]
fn the_1edtech_rs256_token_verifies_with_the_key_in_its_jwk_header() {
    let token = one_edtech_token();
    let decoded = decode_unverified(&token).expect("decodes");
    assert_eq!(decoded.alg(), Some("RS256"));
    assert_eq!(decoded.kid(), None);
    let key = PublicKey::from_jwk(decoded.jwk().expect("jwk header")).expect("RSA JWK");
    assert_eq!(key.kind(), KeyKind::Rsa);
    let credential = verify_vc_jwt(&token, &key).expect("verifies");
    assert_eq!(credential["id"], "http://example.com/credentials/3527");
    assert_eq!(credential["name"], "Teamwork Badge");
    assert!(!credential.contains_key("aud") && !credential.contains_key("iat"));
}

#[test]
fn the_1edtech_token_does_not_verify_with_our_rsa_key() {
    assert!(matches!(verify_vc_jwt(&one_edtech_token(), &test_rsa().public_key()), Err(JwtError::InvalidSignature)));
}

// ---------------------------------------------------------------- JWKs

#[test]
fn public_keys_round_trip_through_jwk() {
    for key in [test_ed25519(), test_rsa()] {
        let public = key.public_key();
        let jwk = public.to_jwk();
        assert_eq!(jwk, key.public_jwk());
        assert_eq!(PublicKey::from_jwk(&jwk).expect("parses"), public);
        assert_eq!(public.kid(), key.id());
    }
}

#[test]
fn a_jwk_with_private_material_is_refused() {
    let mut jwk = test_ed25519().public_jwk();
    jwk["d"] = json!("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A");
    let error = PublicKey::from_jwk(&jwk).expect_err("private");
    assert!(matches!(error, JwtError::PrivateKeyInJwk { member: "d" }), "{error}");
    let mut jwk = test_rsa().public_jwk();
    jwk["p"] = json!("AQAB");
    assert!(matches!(PublicKey::from_jwk(&jwk), Err(JwtError::PrivateKeyInJwk { member: "p" })));
}

#[test]
fn unsupported_and_malformed_jwks_are_refused() {
    let ec = json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"});
    assert!(matches!(PublicKey::from_jwk(&ec), Err(JwtError::UnsupportedJwk { .. })));
    let x448 = json!({"kty": "OKP", "crv": "Ed448", "x": "AA"});
    assert!(matches!(PublicKey::from_jwk(&x448), Err(JwtError::UnsupportedJwk { .. })));
    let short_x = json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"});
    assert!(matches!(PublicKey::from_jwk(&short_x), Err(JwtError::InvalidJwk { .. })));
    let small_rsa = json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode([0xffu8; 128]), "e": "AQAB"});
    let error = PublicKey::from_jwk(&small_rsa).expect_err("1024 bits");
    assert!(error.to_string().contains("2048"), "{error}");
    let mut wrong_alg = test_rsa().public_jwk();
    wrong_alg["alg"] = json!("PS256");
    assert!(matches!(PublicKey::from_jwk(&wrong_alg), Err(JwtError::InvalidJwk { .. })));
    let mut for_encryption = test_ed25519().public_jwk();
    for_encryption["use"] = json!("enc");
    assert!(matches!(PublicKey::from_jwk(&for_encryption), Err(JwtError::InvalidJwk { .. })));
    assert!(matches!(PublicKey::from_jwk(&json!("not an object")), Err(JwtError::InvalidJwk { .. })));
}

// ---------------------------------------------------------------- malformed tokens

#[test]
fn tokens_with_the_wrong_number_of_segments_are_refused() {
    for (token, found) in [("", 1), ("abc", 1), ("a.b", 2), ("a.b.c.d", 4), ("a.b.c.d.e", 5)] {
        assert!(
            matches!(decode_unverified(token), Err(JwtError::WrongSegmentCount { found: f }) if f == found),
            "{token:?}"
        );
    }
}

#[test]
fn each_kind_of_malformed_segment_has_its_own_error() {
    let object = URL_SAFE_NO_PAD.encode("{}");
    let cases = [
        (format!(".{object}."), "empty header"),
        (format!("{object}.."), "empty payload"),
        (format!("{object}=.{object}."), "padded header"),
        (format!("{object}.{object}.a+b/"), "base64 (not url) signature"),
        (format!("{}.{object}.", URL_SAFE_NO_PAD.encode("{not json")), "non-JSON header"),
        (format!("{object}.{}.", URL_SAFE_NO_PAD.encode("[1,2]")), "array payload"),
        (format!("{object}.{}.", URL_SAFE_NO_PAD.encode([0xffu8, 0xfe])), "non-UTF-8 payload"),
    ];
    let errors: Vec<String> = cases
        .iter()
        .map(|(token, case)| match decode_unverified(token) {
            Err(error) => format!("{error:?}"),
            Ok(decoded) => panic!("{case}: decoded {decoded:?}"),
        })
        .collect();
    assert!(errors[0].contains("EmptySegment { segment: Header }"), "{}", errors[0]);
    assert!(errors[1].contains("EmptySegment { segment: Payload }"), "{}", errors[1]);
    assert!(errors[2].contains("InvalidBase64 { segment: Header }"), "{}", errors[2]);
    assert!(errors[3].contains("InvalidBase64 { segment: Signature }"), "{}", errors[3]);
    assert!(errors[4].contains("NotJson { segment: Header"), "{}", errors[4]);
    assert!(errors[5].contains("NotAnObject { segment: Payload }"), "{}", errors[5]);
    assert!(errors[6].contains("NotJson { segment: Payload"), "{}", errors[6]);
}

#[test]
fn decoding_errors_name_the_segment_in_their_message() {
    let object = URL_SAFE_NO_PAD.encode("{}");
    let error = decode_unverified(&format!("{object}.%%%.")).expect_err("bad base64");
    assert!(matches!(error, JwtError::InvalidBase64 { segment: Segment::Payload }));
    assert_eq!(error.to_string(), "the JWT payload is not base64url without padding (RFC 7515 §2)");
}

#[test]
fn a_truncated_token_is_refused() {
    let token = sign_vc_jwt(&credential(), &test_ed25519(), "k").expect("signs");
    for cut in [10, token.len() / 2, token.len() - 5] {
        assert!(verify_ed25519(&token[..cut]).is_err(), "cut at {cut}");
    }
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        // Arbitrary bytes, properly encoded: exercises the JSON layer.
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(|b| URL_SAFE_NO_PAD.encode(b)),
        // Arbitrary JSON-ish text, properly encoded.
        "[{}\\[\\]\":,a-z0-9 ]{0,40}".prop_map(|s| URL_SAFE_NO_PAD.encode(s)),
        // Raw text from the base64url alphabet and a few strays.
        "[A-Za-z0-9_\\-=+/.]{0,40}",
    ]
}

proptest! {
    #[test]
    fn decoding_arbitrary_strings_never_panics(token in any::<String>()) {
        let _ = decode_unverified(&token);
        let _ = verify_vc_jwt(&token, &test_ed25519().public_key());
    }

    #[test]
    fn decoding_arbitrary_three_segment_tokens_never_panics(
        header in segment(),
        payload in segment(),
        signature in segment(),
    ) {
        let token = format!("{header}.{payload}.{signature}");
        let _ = decode_unverified(&token);
        let _ = verify_vc_jwt(&token, &test_ed25519().public_key());
        let _ = verify_vc_jwt(&token, &test_rsa().public_key());
    }

    #[test]
    fn tokens_with_valid_json_but_arbitrary_signatures_never_verify(
        signature in proptest::collection::vec(any::<u8>(), 0..80),
    ) {
        let header = URL_SAFE_NO_PAD.encode(eddsa_header().to_string());
        let payload = URL_SAFE_NO_PAD.encode(r#"{"iss":"x"}"#);
        let token = format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode(signature));
        prop_assert!(matches!(verify_ed25519(&token), Err(JwtError::InvalidSignature)));
    }

    #[test]
    fn any_string_values_round_trip_through_sign_and_verify(
        name in any::<String>(),
        issuer in "[a-z]{1,10}:[ -~]{0,30}",
        id in any::<String>(),
    ) {
        let mut credential = credential();
        credential["name"] = json!(name);
        credential["issuer"]["id"] = json!(issuer);
        credential["id"] = json!(id);
        let key = test_ed25519();
        let token = sign_vc_jwt(&credential, &key, "k").expect("signs");
        let verified = verify_vc_jwt(&token, &key.public_key()).expect("verifies");
        prop_assert_eq!(Value::Object(verified), Value::Object(credential));
    }
}

//! Canonical N-Quads must match the reference JavaScript stack byte for byte
//! (jsonld.js + rdf-canonize, as captured in ../shared/testvectors).

#![allow(clippy::unwrap_used, reason = "a test or benchmark that cannot set up should fail loudly")]

use std::path::PathBuf;
use zegel::credential::contexts;
use zegel::jsonld::{DataLossIssue, JsonLdError};

fn vector(path: &str) -> Vec<u8> {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/testvectors").join(path);
    std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

fn text(path: &str) -> String {
    String::from_utf8(vector(path)).expect("utf-8")
}

/// Every path: first (learning), second (memoised) and the direct reference.
fn assert_canonical(input: &str, expected: &str, without_proof: bool) {
    let canon = contexts::canonicalizer();
    let json = vector(input);
    let expected = text(expected);
    let run = |c: &zegel::jsonld::Canonicalizer| {
        if without_proof { c.canonicalize_unsecured(&json) } else { c.canonicalize(&json) }.expect(input)
    };
    assert_eq!(run(&canon), expected, "{input}: learning path");
    assert_eq!(run(&canon), expected, "{input}: memoised path");
    assert_eq!(canon.stats().hits, 1, "{input}: second run must hit the cache");
    assert_eq!(canon.canonicalize_direct(&json, without_proof).expect(input), expected, "{input}: direct path");
}

#[test]
fn w3c_eddsa_rdfc_2022_document_is_canonicalised_byte_for_byte() {
    assert_canonical("eddsa-rdfc-2022/unsigned.json", "eddsa-rdfc-2022/canonDocDataInt.txt", false);
}

#[test]
fn w3c_eddsa_rdfc_2022_signed_document_without_its_proof_is_the_same() {
    assert_canonical("eddsa-rdfc-2022/signedDataInt.json", "eddsa-rdfc-2022/canonDocDataInt.txt", true);
}

#[test]
fn w3c_eddsa_rdfc_2022_proof_configuration_is_canonicalised_byte_for_byte() {
    assert_canonical("eddsa-rdfc-2022/proofConfigDataInt.json", "eddsa-rdfc-2022/proofCanonDataInt.txt", false);
}

#[test]
fn onedtech_implementation_guide_document_is_canonicalised_byte_for_byte() {
    assert_canonical(
        "ob3-examples/1edtech-impl-guide/unsigned.json",
        "ob3-examples/1edtech-impl-guide/document-canon.txt",
        false,
    );
    assert_canonical(
        "ob3-examples/1edtech-impl-guide/signed.json",
        "ob3-examples/1edtech-impl-guide/document-canon.txt",
        true,
    );
}

#[test]
fn generated_ob3_vector_keeps_the_ob_context_quirks() {
    // xsd:dateTime relative datatype, https xsd datatypes, 2.5E0 floats.
    assert_canonical("ob3-examples/generated/unsigned.json", "ob3-examples/generated/document-canon.nq", false);
    assert_canonical("ob3-examples/generated/signed.json", "ob3-examples/generated/document-canon.nq", true);
}

#[test]
fn jsonld_canon_reference_outputs_are_reproduced() {
    assert_canonical("jsonld-canon/ob3.json", "jsonld-canon/ob3.canon.nq", false);
    assert_canonical("jsonld-canon/edge.json", "jsonld-canon/edge.canon.nq", false);
}

#[test]
fn a_credential_of_a_known_shape_with_new_values_is_canonicalised_like_the_reference_path() {
    let canon = contexts::canonicalizer();
    let original = text("ob3-examples/generated/unsigned.json");
    canon.canonicalize(original.as_bytes()).expect("learn");
    let changed = original
        .replace("urn:uuid:0b7c2f1e-4a52-4c59-9d0e-5a3c9a1d2e01", "urn:uuid:11111111-2222-4333-8444-555555555555")
        .replace("Teamwork Badge", r#"Samenwerken \"quoted\" \\ tab\t nieuwe\nregel \u0007 ü 😀"#)
        .replace("https://issuer.example/evidence/1", "https://other.example/evidence/%20x?y=1#frag")
        .replace("94567", "7");
    assert_ne!(changed, original);
    let memoised = canon.canonicalize(changed.as_bytes()).expect("memoised");
    assert_eq!(canon.stats().hits, 1);
    assert_eq!(memoised, canon.canonicalize_direct(changed.as_bytes(), false).expect("direct"));
}

#[test]
fn undefined_terms_are_refused_and_named() {
    let canon = contexts::canonicalizer();
    let mut doc: serde_json::Value = serde_json::from_slice(&vector("ob3-examples/generated/unsigned.json")).unwrap();
    doc["favouriteColour"] = "blue".into();
    doc["credentialSubject"]["achievement"]["type"] = serde_json::json!(["Achievement", "MadeUpType"]);
    let bytes = serde_json::to_vec(&doc).unwrap();
    let Err(JsonLdError::DataLoss(issues)) = canon.canonicalize(&bytes) else { panic!("must refuse") };
    assert!(issues.contains(&DataLossIssue::UndefinedProperty("favouriteColour".into())), "{issues:?}");
    assert!(issues.contains(&DataLossIssue::UndefinedType("MadeUpType".into())), "{issues:?}");
    let Err(JsonLdError::DataLoss(direct)) = canon.canonicalize_direct(&bytes, false) else { panic!("must refuse") };
    assert_eq!(issues, direct);
}

#[test]
fn the_ob_extensions_context_is_needed_for_the_1edtech_schema_type() {
    let canon = contexts::canonicalizer();
    let mut doc: serde_json::Value = serde_json::from_slice(&vector("ob3-examples/generated/unsigned.json")).unwrap();
    doc["@context"].as_array_mut().unwrap().pop();
    let err = canon.canonicalize(&serde_json::to_vec(&doc).unwrap()).unwrap_err();
    assert_eq!(err, JsonLdError::DataLoss(vec![DataLossIssue::UndefinedType("1EdTechJsonSchemaValidator2019".into())]));
    assert!(err.to_string().contains("\"1EdTechJsonSchemaValidator2019\""), "{err}");
}

#[test]
fn relative_identifiers_are_refused() {
    let canon = contexts::canonicalizer();
    let mut doc: serde_json::Value = serde_json::from_slice(&vector("ob3-examples/generated/unsigned.json")).unwrap();
    doc["id"] = "credentials/42".into();
    let err = canon.canonicalize(&serde_json::to_vec(&doc).unwrap()).unwrap_err();
    assert_eq!(err, JsonLdError::DataLoss(vec![DataLossIssue::RelativeIri("credentials/42".into())]));
}

#[test]
fn unknown_contexts_are_never_fetched() {
    let canon = contexts::canonicalizer();
    let err = canon
        .canonicalize(br#"{"@context":["https://www.w3.org/ns/credentials/v2","https://evil.example/ctx"],"type":["VerifiableCredential"]}"#)
        .unwrap_err();
    assert_eq!(err, JsonLdError::UnknownContext("https://evil.example/ctx".into()));
}

#[test]
fn malformed_input_gets_a_clear_error() {
    let canon = contexts::canonicalizer();
    assert!(matches!(canon.canonicalize(b"{\"a\": "), Err(JsonLdError::Json(_))));
    assert_eq!(canon.canonicalize(b"[1,2]"), Err(JsonLdError::NotAnObject));
    assert_eq!(
        canon.canonicalize(br#"{"@context":"https://www.w3.org/ns/credentials/v2","id":"urn:x:1","id":"urn:x:2"}"#),
        Err(JsonLdError::DuplicateKey("id".into()))
    );
    let deep = format!("{}{}", "{\"a\":".repeat(100), "}".repeat(100));
    assert!(matches!(canon.canonicalize(deep.as_bytes()), Err(JsonLdError::TooDeep(_))));
    assert_eq!(
        canon.canonicalize(br#"{"@context":"https://www.w3.org/ns/credentials/v2","@foo":"x"}"#),
        Err(JsonLdError::DataLoss(vec![DataLossIssue::InvalidKeyword("@foo".into())]))
    );
}

mod memoisation_is_exact {
    //! Whatever values a document of a known shape carries, the memoised path
    //! must give what oxjsonld gives on the document itself.
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;
    use zegel::jsonld::Canonicalizer;

    fn shared() -> &'static Canonicalizer {
        static CANON: OnceLock<Canonicalizer> = OnceLock::new();
        CANON.get_or_init(contexts::canonicalizer)
    }

    /// JSON pointers of every string outside `@context`.
    fn string_paths(value: &serde_json::Value, path: String, out: &mut Vec<String>) {
        match value {
            serde_json::Value::String(_) => out.push(path),
            serde_json::Value::Array(items) => {
                items.iter().enumerate().for_each(|(i, v)| string_paths(v, format!("{path}/{i}"), out))
            }
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    if k != "@context" {
                        string_paths(v, format!("{path}/{}", k.replace('~', "~0").replace('/', "~1")), out);
                    }
                }
            }
            _ => {}
        }
    }

    fn hostile_string() -> impl Strategy<Value = String> {
        prop_oneof![
            // Terms, keywords, compact IRIs and near-misses.
            Just("Achievement".to_owned()),
            Just("OpenBadgeCredential".to_owned()),
            Just("Profile".to_owned()),
            Just("id".to_owned()),
            Just("type".to_owned()),
            Just("@id".to_owned()),
            Just("@type".to_owned()),
            Just("xsd:string".to_owned()),
            Just("ext:Thing".to_owned()),
            Just("sec:proof".to_owned()),
            Just("_:b0".to_owned()),
            Just("".to_owned()),
            Just("assertionMethod".to_owned()),
            Just("urn:x-zegel-slot:00:1".to_owned()),
            Just("zegel slot 00 1".to_owned()),
            // Absolute IRIs, odd ones included.
            Just("https://example.edu/a/../b/./c?d=1#e".to_owned()),
            Just("HTTPS://EXAMPLE.EDU/x".to_owned()),
            Just("did:key:z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi".to_owned()),
            Just("urn:uuid:0b7c2f1e-4a52-4c59-9d0e-5a3c9a1d2e01".to_owned()),
            Just("mailto:someone@example.edu".to_owned()),
            Just("https://example.edu/with space".to_owned()),
            Just("relative/path".to_owned()),
            "[a-z]{1,8}:[a-zA-Z0-9/._~%-]{0,20}",
            // Literals with escapes, controls and non-ASCII.
            "[\\PC\t\n\r\"\\\\]{0,24}",
            "\\PC{0,12}",
        ]
    }

    fn mutated(fixture: &str) -> impl Strategy<Value = Vec<u8>> {
        let document: serde_json::Value = serde_json::from_slice(&vector(fixture)).unwrap();
        let mut paths = Vec::new();
        string_paths(&document, String::new(), &mut paths);
        let count = paths.len();
        proptest::collection::vec((0..count, hostile_string()), 1..6).prop_map(move |edits| {
            let mut doc = document.clone();
            for (at, value) in edits {
                *doc.pointer_mut(&paths[at]).unwrap() = value.into();
            }
            serde_json::to_vec(&doc).unwrap()
        })
    }

    fn same_as_direct(bytes: &[u8]) -> Result<(), TestCaseError> {
        let memoised = shared().canonicalize(bytes);
        let direct = shared().canonicalize_direct(bytes, false);
        match (&memoised, &direct) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
            (Err(a), Err(b)) => prop_assert_eq!(std::mem::discriminant(a), std::mem::discriminant(b), "{} / {}", a, b),
            _ => prop_assert!(
                false,
                "memoised {memoised:?} but direct {direct:?} for {}",
                String::from_utf8_lossy(bytes)
            ),
        }
        Ok(())
    }

    /// 40 cases a fixture by default (each runs oxjsonld directly, milliseconds
    /// apiece); `PROPTEST_CASES=2000 cargo test --release` for a deep run.
    fn config() -> ProptestConfig {
        let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(40);
        ProptestConfig { cases, ..ProptestConfig::default() }
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn on_the_generated_ob3_credential(bytes in mutated("ob3-examples/generated/unsigned.json")) {
            same_as_direct(&bytes)?;
        }

        #[test]
        fn on_the_1edtech_complete_credential(bytes in mutated("ob3-examples/1edtech-validator/valid/complete.json")) {
            same_as_direct(&bytes)?;
        }

        #[test]
        fn on_the_w3c_vector(bytes in mutated("eddsa-rdfc-2022/signedDataInt.json")) {
            same_as_direct(&bytes)?;
        }
    }
}

/// Found by the interop harness (tests/interop/edge.sh): each of these made
/// zegel sign less than the document says, or differently from jsonld.js.
mod what_processors_disagree_on_is_refused {
    use super::*;

    fn microcredential() -> serde_json::Value {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/microcredential-unsigned.json");
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    fn issues(doc: &serde_json::Value) -> Vec<DataLossIssue> {
        let bytes = serde_json::to_vec(doc).unwrap();
        let canon = contexts::canonicalizer();
        // Refused on both paths: learning a new shape and the reference path.
        let direct = canon.canonicalize_direct(&bytes, false);
        match canon.canonicalize(&bytes) {
            Err(JsonLdError::DataLoss(issues)) => {
                assert_eq!(direct, Err(JsonLdError::DataLoss(issues.clone())));
                issues
            }
            other => panic!("must be refused, got {other:?}"),
        }
    }

    #[test]
    fn ill_formed_iris_are_named_instead_of_silently_dropped() {
        for (pointer, iri) in [
            ("/evidence/0/id", "https://portfolio.example.edu/report?fmt=pdf|html"),
            ("/credentialSubject/achievement/id", "https://badges.example.edu/achievements/{slug}"),
            ("/id", "https://badges.example.edu/credentials/5f0c6f5e|1"),
            ("/evidence/0/id", "https://portfolio.example.edu/my report"),
        ] {
            let mut doc = microcredential();
            *doc.pointer_mut(pointer).unwrap() = iri.into();
            assert_eq!(issues(&doc), vec![DataLossIssue::InvalidIri(iri.into())], "{pointer}");
        }
    }

    #[test]
    fn numbers_written_differently_by_jsonld_js_are_refused() {
        for number in ["0.30000000000000004", "9007199254740993", "100000000000000000000", "1e-7"] {
            let mut doc = microcredential();
            doc["credentialSubject"]["creditsEarned"] = serde_json::from_str(number).unwrap();
            let text = serde_json::to_string(&doc["credentialSubject"]["creditsEarned"]).unwrap();
            assert_eq!(issues(&doc), vec![DataLossIssue::UnportableNumber(text)], "{number}");
        }
    }

    #[test]
    fn base_direction_is_refused() {
        let mut doc = microcredential();
        doc["credentialSubject"]["achievement"]["name"] =
            serde_json::json!({"@value": "شهادة", "@language": "ar", "@direction": "rtl"});
        assert_eq!(issues(&doc), vec![DataLossIssue::BaseDirection]);
    }

    #[test]
    fn an_ill_formed_language_tag_is_refused() {
        let mut doc = microcredential();
        doc["credentialSubject"]["achievement"]["name"] = serde_json::json!({"@value": "naam", "@language": "nl NL"});
        assert_eq!(issues(&doc), vec![DataLossIssue::InvalidLanguageTag("nl NL".into())]);
    }

    #[test]
    fn a_lone_surrogate_is_invalid_json_with_a_useful_message() {
        let canon = contexts::canonicalizer();
        let Err(JsonLdError::Json(message)) =
            canon.canonicalize(br#"{"@context":"https://www.w3.org/ns/credentials/v2","name":"\ud800"}"#)
        else {
            panic!("must be refused")
        };
        assert!(message.contains("escape"), "{message}");
    }
}

/// An entry of `@context` that is itself a context document
/// (`{"@context": {…}}`) is read as the context it holds, as jsonld.js
/// reads it (the W3C Data Integrity suite signs proof chains that way);
/// anything else about the document stays as it was.
#[test]
fn a_context_document_inside_context_is_read_as_its_context() {
    let canon = contexts::canonicalizer();
    let inline = br#"{"@context": ["https://www.w3.org/ns/credentials/v2", {"AlumniCredential": "https://www.example.org/AlumniCredential", "alumniOf": "https://www.example.org/alumniOf"}], "type": ["VerifiableCredential", "AlumniCredential"], "issuer": "did:example:issuer", "credentialSubject": {"id": "did:example:a", "alumniOf": "The School of Examples"}}"#;
    let wrapped = br#"{"@context": ["https://www.w3.org/ns/credentials/v2", {"@context": {"AlumniCredential": "https://www.example.org/AlumniCredential", "alumniOf": "https://www.example.org/alumniOf"}}], "type": ["VerifiableCredential", "AlumniCredential"], "issuer": "did:example:issuer", "credentialSubject": {"id": "did:example:a", "alumniOf": "The School of Examples"}}"#;
    let expected = canon.canonicalize(inline).unwrap();
    assert_eq!(canon.canonicalize(wrapped).unwrap(), expected);
    assert_eq!(canon.canonicalize(wrapped).unwrap(), expected, "memoised");
    assert_eq!(canon.canonicalize_direct(wrapped, false).unwrap(), expected);
    // A wrapper with more than @context is still refused, as before.
    let odd = br#"{"@context": ["https://www.w3.org/ns/credentials/v2", {"@context": {"A": "https://a.example/A"}, "B": "https://a.example/B"}], "type": "VerifiableCredential", "issuer": "did:example:i", "credentialSubject": {"id": "did:example:a"}}"#;
    assert!(canon.canonicalize(odd).is_err());
}

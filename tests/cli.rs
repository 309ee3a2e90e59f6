//! The `zegel` binary, driven as operators and scripts drive it.

#![allow(clippy::unwrap_used, reason = "a test that cannot set up should fail loudly")]

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn zegel(args: &[&str]) -> Output {
    zegel_with_stdin(args, None)
}

fn zegel_with_stdin(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zegel"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("ZEGEL_KEYS_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(input) = stdin {
        // A refused input may close stdin early; that is the point of some tests.
        let _ = pipe.write_all(input);
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn vectors(path: &str) -> String {
    format!("../shared/testvectors/{path}")
}

fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
    })
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const W3C_VM: &str =
    "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2";

#[test]
fn signing_the_w3c_vector_from_the_command_line_reproduces_it() {
    let output = zegel(&[
        "credential",
        "sign",
        "--key",
        &vectors("eddsa-rdfc-2022/keyPair.json"),
        "--verification-method",
        W3C_VM,
        "--created",
        "2023-02-24T23:36:38Z",
        "--pretty",
        &vectors("eddsa-rdfc-2022/unsigned.json"),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let signed = stdout_json(&output);
    let expected: Value =
        serde_json::from_slice(&std::fs::read(vectors("eddsa-rdfc-2022/signedDataInt.json")).unwrap()).unwrap();
    assert_eq!(signed, expected);
    let proof_value = std::fs::read_to_string(vectors("eddsa-rdfc-2022/sigBTC58DataInt.txt")).unwrap();
    assert_eq!(signed["proof"]["proofValue"], proof_value.trim());
}

#[test]
fn an_open_badge_read_from_stdin_gets_a_proof_array_and_verifies() {
    let unsigned = std::fs::read(vectors("ob3-examples/generated/unsigned.json")).unwrap();
    let vm =
        "did:key:z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi#z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi";
    let output = zegel_with_stdin(
        &[
            "credential",
            "sign",
            "--key",
            &vectors("ob3-examples/1edtech-impl-guide/key.json"),
            "--verification-method",
            vm,
            "--created",
            "2025-01-01T00:00:00Z",
            "-",
        ],
        Some(&unsigned),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let signed = stdout_json(&output);
    let expected: Value =
        serde_json::from_slice(&std::fs::read(vectors("ob3-examples/generated/signed.json")).unwrap()).unwrap();
    assert_eq!(signed["proof"], expected["proof"], "the generated vector's proof, in an array");

    let verified = zegel_with_stdin(&["verify", "-", "--at", "2026-11-23T12:00:00Z"], Some(&output.stdout));
    assert_eq!(verified.status.code(), Some(0), "{}", String::from_utf8_lossy(&verified.stdout));
    assert_eq!(stdout_json(&verified)["verdict"], "valid");
}

#[test]
fn a_generated_key_is_private_listed_and_usable() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let output = zegel(&["keys", "generate", "--dir", keys.to_str().unwrap(), "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report = stdout_json(&output);
    let key_id = report["key_id"].as_str().unwrap().to_owned();
    assert!(key_id.starts_with("z6Mk"), "{report}");
    assert_eq!(report["did_key"], format!("did:key:{key_id}"));
    assert_eq!(report["public_key"], key_id);
    assert!(report["public_jwk"].get("d").is_none(), "no private part in {report}");
    let file = PathBuf::from(report["file"].as_str().unwrap());
    assert!(file.starts_with(&keys));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert!(!String::from_utf8_lossy(&output.stdout).contains("PRIVATE KEY"));

    // The key signs a credential whose issuer is its did:key; both formats verify.
    let mut credential: Value =
        serde_json::from_slice(&std::fs::read(vectors("ob3-examples/generated/unsigned.json")).unwrap()).unwrap();
    let did = format!("did:key:{key_id}");
    credential["issuer"]["id"] = did.clone().into();
    let unsigned = serde_json::to_vec(&credential).unwrap();
    let vm = format!("{did}#{key_id}");
    for format in ["di", "jwt"] {
        let signed = zegel_with_stdin(
            &[
                "credential",
                "sign",
                "--key",
                file.to_str().unwrap(),
                "--verification-method",
                &vm,
                "--format",
                format,
                "-",
            ],
            Some(&unsigned),
        );
        assert!(signed.status.success(), "{format}: {}", stderr(&signed));
        let verified = zegel_with_stdin(&["verify", "-"], Some(&signed.stdout));
        let report = stdout_json(&verified);
        assert_eq!(verified.status.code(), Some(0), "{format}: {report:#}");
        assert_eq!(
            report["checks"].as_array().unwrap().iter().find(|c| c["check"] == "issuer").unwrap()["outcome"],
            "passed"
        );
    }

    // Human-readable output names the key and the file.
    let text = zegel(&["keys", "generate", "--dir", keys.to_str().unwrap(), "--kind", "rsa"]);
    assert!(text.status.success(), "{}", stderr(&text));
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("kind:        rsa") && text.contains("file:"), "{text}");
    assert_eq!(std::fs::read_dir(&keys).unwrap().count(), 2);
}

#[test]
fn rsa_keys_make_rs256_vc_jwts_but_no_data_integrity_proofs() {
    let unsigned = vectors("ob3-examples/generated/unsigned.json");
    let output = zegel(&["credential", "sign", "--key", "keys/test-rsa.pem", "--verification-method", "x", &unsigned]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("needs an Ed25519 key"), "{}", stderr(&output));

    let output = zegel(&[
        "credential",
        "sign",
        "--key",
        "keys/test-rsa.pem",
        "--verification-method",
        "https://issuer.example/keys/1",
        "--format",
        "jwt",
        &unsigned,
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let token = String::from_utf8(output.stdout).unwrap();
    assert_eq!(token.trim().split('.').count(), 3);
    // The key lives at an https URL: verification needs a resolver, so offline it cannot be checked.
    let verified = zegel_with_stdin(&["verify", "-"], Some(token.as_bytes()));
    assert_eq!(verified.status.code(), Some(2), "{}", String::from_utf8_lossy(&verified.stdout));

    // Given the public key, it verifies.
    let dir = tempfile::tempdir().unwrap();
    let key =
        zegel::signing::keys::read_key_file(Path::new(env!("CARGO_MANIFEST_DIR")).join("keys/test-rsa.pem").as_path())
            .unwrap();
    let mut jwk = key.public_jwk();
    jwk["kid"] = "https://issuer.example/keys/1".into();
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, serde_json::json!({ "keys": [jwk] }).to_string()).unwrap();
    let verified = zegel_with_stdin(&["verify", "-", "--jwks", jwks.to_str().unwrap()], Some(token.as_bytes()));
    assert_eq!(verified.status.code(), Some(0), "{}", String::from_utf8_lossy(&verified.stdout));
    let report = stdout_json(&verified);
    let proof = report["checks"].as_array().unwrap().iter().find(|c| c["check"] == "proof").unwrap();
    assert!(proof["message"].as_str().unwrap().contains("RS256"), "{proof}");
}

fn fixture(name: &str) -> String {
    vectors(&format!("ob3-examples/1edtech-validator/{name}"))
}

#[test]
fn verify_exits_0_when_valid_1_when_invalid_and_2_when_it_cannot_check() {
    let at = ["--at", "2026-11-23T12:00:00Z"];
    let valid = zegel(&[&["verify", &fixture("valid/simple.json")][..], &at].concat());
    assert_eq!(valid.status.code(), Some(0), "{}", String::from_utf8_lossy(&valid.stdout));
    let report = stdout_json(&valid);
    assert_eq!(report["verdict"], "valid");
    assert_eq!(report["format"], "json-ld");
    assert_eq!(report["credential"]["issuer_id"], "https://example.com/issuers/876543");

    let invalid = zegel(&[&["verify", &fixture("invalid/simple-err-expired.json")][..], &at].concat());
    assert_eq!(invalid.status.code(), Some(1));
    let report = stdout_json(&invalid);
    assert_eq!(report["verdict"], "invalid");
    assert_eq!(report["code"], "expired");

    let required = zegel(&[&["verify", &fixture("valid/complete.json"), "--require-status"][..], &at].concat());
    assert_eq!(required.status.code(), Some(2));
    assert_eq!(stdout_json(&required)["verdict"], "could_not_check");

    let missing = zegel(&["verify", "no/such/file.json"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("cannot open no/such/file.json"), "{}", stderr(&missing));
}

#[test]
fn verify_reads_the_credential_baked_into_a_png_or_svg_badge() {
    let at = ["--at", "2026-11-23T12:00:00Z"];
    for (image, format) in [
        ("simple-json.png", "json-ld"),
        ("simple-json.svg", "json-ld"),
        ("simple-jwt.png", "vc-jwt"),
        ("simple-jwt.svg", "vc-jwt"),
    ] {
        let output = zegel(&[&["verify", &fixture(&format!("valid/{image}"))][..], &at].concat());
        let report = stdout_json(&output);
        assert_eq!(output.status.code(), Some(0), "{image}: {report:#}");
        assert_eq!((&report["verdict"], &report["format"]), (&"valid".into(), &format.into()), "{image}");
    }
    // From stdin too; an image that carries no credential is malformed input.
    let svg = std::fs::read(fixture("valid/simple-json.svg")).unwrap();
    let output = zegel_with_stdin(&[&["verify", "-"][..], &at].concat(), Some(&svg));
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stdout));
    let output = zegel_with_stdin(&["verify", "-"], Some(b"<svg xmlns='http://www.w3.org/2000/svg'/>"));
    assert_eq!(output.status.code(), Some(1));
    let report = stdout_json(&output);
    assert_eq!(report["code"], "malformed");
    assert!(report["reason"].as_str().unwrap().contains("carries no Open Badges 3.0 credential"), "{report:#}");
}

#[test]
fn verify_reads_status_lists_given_on_the_command_line() {
    let credential = fixture("valid/bitstring-credential-status-revoked.json");
    let value: Value = serde_json::from_slice(&std::fs::read(&credential).unwrap()).unwrap();
    let url = value["credentialStatus"]["statusListCredential"].as_str().unwrap();
    let list = format!("{url}={}", fixture("valid/bitstring-testlist.json"));
    let output = zegel(&["verify", &credential, "--status-list", &list, "--at", "2026-11-23T12:00:00Z"]);
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stdout));
    let report = stdout_json(&output);
    assert_eq!(report["code"], "revoked");

    let bad = zegel(&["verify", &credential, "--status-list", "no-equals-sign"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("URL=FILE"), "{}", stderr(&bad));
}

#[test]
fn bad_input_to_sign_is_refused_with_a_clear_error() {
    let key = vectors("eddsa-rdfc-2022/keyPair.json");
    let sign = |input: &[u8]| {
        zegel_with_stdin(&["credential", "sign", "--key", &key, "--verification-method", W3C_VM, "-"], Some(input))
    };
    let cases: [(&[u8], &str); 5] = [
        (b"{\"@context\": ", "not a JSON object"),
        (b"[1, 2]", "not a JSON object"),
        (br#"{"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"], "favouriteColour": "blue"}"#, "\"favouriteColour\""),
        (br#"{"@context": ["https://www.w3.org/ns/credentials/v2", "https://evil.example/context"], "type": ["VerifiableCredential"]}"#, "unknown JSON-LD context <https://evil.example/context>"),
        (br#"{"type": ["VerifiableCredential"]}"#, "no @context"),
    ];
    for (input, message) in cases {
        let output = sign(input);
        assert!(!output.status.success(), "{}", String::from_utf8_lossy(input));
        assert!(output.stdout.is_empty());
        assert!(stderr(&output).contains(message), "{}: {}", String::from_utf8_lossy(input), stderr(&output));
    }
    let huge = vec![b' '; 1024 * 1024 + 10];
    let output = sign(&huge);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("larger than"), "{}", stderr(&output));

    let output = zegel(&["credential", "sign", "--key", "Cargo.toml", "--verification-method", W3C_VM, &key]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("Cargo.toml"), "{}", stderr(&output));
    assert!(!Path::new(&key).is_dir());
}

#[test]
fn clients_may_hold_the_vc_api_scopes() {
    let dir = tempfile::tempdir().unwrap();
    let run = |scopes: &str| {
        Command::new(env!("CARGO_BIN_EXE_zegel"))
            .args(["clients", "create", "--name", "wallet issuer", "--scopes", scopes, "--json"])
            .env("DATABASE_URL", format!("sqlite:{}", dir.path().join("zegel.db").display()))
            .env("ZEGEL_KEYS_DIR", dir.path().join("keys"))
            .output()
            .unwrap()
    };
    let output = run("credentials:issue,credentials:status");
    assert!(output.status.success(), "{}", stderr(&output));
    let created = stdout_json(&output);
    assert_eq!(created["scopes"], serde_json::json!(["credentials:issue", "credentials:status"]));
    assert!(created["token"].as_str().unwrap().starts_with("zgl_"));
    let refused = run("credentials:write");
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("credentials:issue"), "{}", stderr(&refused));
}

//! Multikey encoding, key files, did:key / did:web and the documents that
//! publish issuer keys, checked against the W3C and 1EdTech vectors in
//! `../shared/testvectors/`.

#![allow(clippy::unwrap_used, reason = "a test or benchmark that cannot set up should fail loudly")]

use std::path::{Path, PathBuf};

use serde_json::Value;
use zegel::signing::did::{
    self, DidError, did_document, did_document_from_public_keys, did_key, did_key_verification_method,
    did_web_document_url, did_web_from_url, jwks, verification_method_id,
};
use zegel::signing::keys::{
    self, Ed25519Key, KeyError, KeyFormatError, KeyKind, SigningKey, load_key_dir, read_key_file, write_new_key_file,
};
use zegel::signing::multikey::{
    MultikeyError, decode_ed25519_public, decode_ed25519_secret, encode_ed25519_public, encode_ed25519_secret,
};

const W3C_PUBLIC: &str = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2";
const W3C_SECRET: &str = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq";
const TEST_ED25519_ID: &str = "z6Mkr5UhuaVny5R6s3S1KKtPDoJ8HsPqCRxBfVtq1NoiaFHL";
const TEST_RSA_ID: &str = "WND7RF6nBG1tHwUjDx8ztmXChNdyqjHrgQgMnLgyEeg";

fn manifest_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn vector_path(relative: &str) -> PathBuf {
    manifest_path("../shared/testvectors").join(relative)
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("test vector is readable");
    serde_json::from_str(&text).expect("test vector is JSON")
}

fn hex(text: &str) -> Vec<u8> {
    let text = text.trim();
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digits")).collect()
}

fn test_ed25519() -> SigningKey {
    read_key_file(&manifest_path("keys/test-ed25519.pem")).expect("committed Ed25519 test key")
}

fn test_rsa() -> SigningKey {
    read_key_file(&manifest_path("keys/test-rsa.pem")).expect("committed RSA test key")
}

fn ed25519_from_seed(seed: u8) -> SigningKey {
    SigningKey::Ed25519(Ed25519Key::new(ed25519_dalek::SigningKey::from_bytes(&[seed; 32])))
}

// ---------------------------------------------------------------- Multikey

#[test]
fn the_w3c_public_multikey_decodes_and_reencodes_identically() {
    let key = decode_ed25519_public(W3C_PUBLIC).expect("W3C public key decodes");
    assert_eq!(encode_ed25519_public(&key), W3C_PUBLIC);
}

#[test]
fn the_w3c_secret_multikey_derives_the_published_public_key_and_reencodes() {
    let vector = read_json(&vector_path("eddsa-rdfc-2022/keyPair.json"));
    let secret = vector["privateKeyMultibase"].as_str().expect("string");
    let public = vector["publicKeyMultibase"].as_str().expect("string");
    let key = decode_ed25519_secret(secret).expect("W3C secret key decodes");
    assert_eq!(encode_ed25519_public(&key.verifying_key()), public);
    assert_eq!(encode_ed25519_secret(&key), secret);
}

#[test]
fn the_decoded_w3c_key_reproduces_the_w3c_signature() {
    let key = Ed25519Key::new(decode_ed25519_secret(W3C_SECRET).expect("decodes"));
    let hash_data =
        hex(&std::fs::read_to_string(vector_path("eddsa-rdfc-2022/combinedHashDataInt.txt")).expect("vector"));
    let expected = std::fs::read_to_string(vector_path("eddsa-rdfc-2022/sigHexDataInt.txt")).expect("vector");
    assert_eq!(key.sign(&hash_data).to_vec(), hex(&expected));
}

#[test]
fn the_impl_guide_64_byte_secret_key_decodes_to_its_seed_and_public_key() {
    let vector = read_json(&vector_path("ob3-examples/1edtech-impl-guide/key.json"));
    let key = decode_ed25519_secret(vector["secretKeyMultibase"].as_str().expect("string"))
        .expect("64-byte seed‖public form decodes");
    let seed_then_public = hex(vector["privateKeyHex_seed_then_public"].as_str().expect("string"));
    assert_eq!(key.to_bytes().as_slice(), &seed_then_public[..32]);
    assert_eq!(encode_ed25519_public(&key.verifying_key()), vector["publicKeyMultibase"].as_str().expect("string"));
}

#[test]
fn a_64_byte_secret_key_whose_public_half_is_not_the_seeds_is_refused() {
    let mut bytes = vec![0x80, 0x26];
    bytes.extend_from_slice(&[1u8; 32]);
    bytes.extend_from_slice(ed25519_dalek::SigningKey::from_bytes(&[2u8; 32]).verifying_key().as_bytes());
    let multibase = format!("z{}", bs58::encode(bytes).into_string());
    assert_eq!(decode_ed25519_secret(&multibase).err(), Some(MultikeyError::PublicKeyMismatch));
}

#[test]
fn a_p256_multikey_is_not_an_ed25519_key() {
    // did:key P-256 example from the did:key spec (multicodec 0x1200).
    let error =
        decode_ed25519_public("zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169").expect_err("P-256 is not Ed25519");
    assert!(matches!(&error, MultikeyError::WrongCodec { found, .. } if found.contains("p256-pub")), "{error}");
    assert!(error.to_string().contains("0x1200"), "{error}");
}

#[test]
fn an_ed25519_key_with_a_wrong_prefix_byte_is_refused() {
    let mut bytes = vec![0xed, 0x02];
    bytes.extend_from_slice(&[9u8; 32]);
    let multibase = format!("z{}", bs58::encode(bytes).into_string());
    assert!(matches!(decode_ed25519_public(&multibase), Err(MultikeyError::WrongCodec { .. })));
}

#[test]
fn a_truncated_public_multikey_is_the_wrong_length() {
    let key = decode_ed25519_public(W3C_PUBLIC).expect("decodes");
    let mut bytes = vec![0xed, 0x01];
    bytes.extend_from_slice(&key.as_bytes()[..31]);
    let multibase = format!("z{}", bs58::encode(bytes).into_string());
    assert_eq!(
        decode_ed25519_public(&multibase).err(),
        Some(MultikeyError::WrongLength { expected: "public", allowed: "32", found: 31 })
    );
}

#[test]
fn a_truncated_secret_multikey_is_the_wrong_length() {
    // Truncating the base58 text would change every byte; truncate the bytes.
    let mut bytes = bs58::decode(&W3C_SECRET[1..]).into_vec().expect("base58");
    bytes.truncate(2 + 20);
    let multibase = format!("z{}", bs58::encode(bytes).into_string());
    assert_eq!(
        decode_ed25519_secret(&multibase).err(),
        Some(MultikeyError::WrongLength { expected: "secret", allowed: "32 or 64", found: 20 })
    );
}

#[test]
fn non_base58_characters_are_refused() {
    // '0', 'O', 'I' and 'l' are not in the Bitcoin alphabet.
    let tampered = W3C_PUBLIC.replacen('M', "0", 1);
    assert!(matches!(decode_ed25519_public(&tampered), Err(MultikeyError::InvalidBase58 { .. })));
}

#[test]
fn a_multikey_without_the_z_prefix_is_not_base58btc() {
    assert_eq!(decode_ed25519_public(&W3C_PUBLIC[1..]).err(), Some(MultikeyError::NotBase58Btc));
    assert_eq!(decode_ed25519_public("").err(), Some(MultikeyError::NotBase58Btc));
}

#[test]
fn thirty_two_bytes_that_are_not_a_curve_point_are_refused() {
    // y = 2 has no x on edwards25519 (x² = (y²−1)/(dy²+1) is a non-square).
    let mut point = [0u8; 32];
    point[0] = 2;
    let mut bytes = vec![0xed, 0x01];
    bytes.extend_from_slice(&point);
    let multibase = format!("z{}", bs58::encode(bytes).into_string());
    assert_eq!(decode_ed25519_public(&multibase).err(), Some(MultikeyError::InvalidPoint));
}

#[test]
fn a_small_order_public_key_is_refused() {
    // The identity point (y = 1) has order 1.
    let mut point = [0u8; 32];
    point[0] = 1;
    let mut bytes = vec![0xed, 0x01];
    bytes.extend_from_slice(&point);
    let multibase = format!("z{}", bs58::encode(bytes).into_string());
    assert_eq!(decode_ed25519_public(&multibase).err(), Some(MultikeyError::WeakKey));
}

// ---------------------------------------------------------------- key files

#[test]
fn the_committed_test_keys_load_with_their_documented_ids() {
    let ed25519 = test_ed25519();
    assert_eq!(ed25519.kind(), KeyKind::Ed25519);
    assert_eq!(ed25519.id(), TEST_ED25519_ID);
    let rsa = test_rsa();
    assert_eq!(rsa.kind(), KeyKind::Rsa);
    assert_eq!(rsa.id(), TEST_RSA_ID);
    let SigningKey::Rsa(rsa) = rsa else { panic!("test-rsa.pem is an RSA key") };
    assert_eq!(rsa.bits(), 3072);
}

#[test]
fn the_w3c_key_pair_json_file_loads_as_the_w3c_key() {
    let key = read_key_file(&vector_path("eddsa-rdfc-2022/keyPair.json")).expect("loads");
    assert_eq!(key.id(), W3C_PUBLIC);
}

#[test]
fn the_impl_guide_key_json_file_loads_through_secret_key_multibase() {
    let key = read_key_file(&vector_path("ob3-examples/1edtech-impl-guide/key.json")).expect("loads");
    assert_eq!(key.id(), "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi");
}

#[test]
fn a_written_ed25519_key_reads_back_as_the_same_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = keys::generate(KeyKind::Ed25519).expect("generates");
    let path = write_new_key_file(dir.path(), &key).expect("writes");
    assert_eq!(path.file_name().and_then(|name| name.to_str()), Some(format!("ed25519-{}.pem", key.id()).as_str()));
    let text = std::fs::read_to_string(&path).expect("readable");
    assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{text}");
    let read = read_key_file(&path).expect("reads back");
    assert_eq!(read.id(), key.id());
    let (SigningKey::Ed25519(read), SigningKey::Ed25519(key)) = (&read, &key) else { panic!("both are Ed25519") };
    assert_eq!(read.signing_key().to_bytes(), key.signing_key().to_bytes());
}

#[test]
fn a_generated_rsa_key_is_3072_bits_and_reads_back_from_its_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = keys::generate(KeyKind::Rsa).expect("generates");
    let SigningKey::Rsa(rsa) = &key else { panic!("generate(Rsa) gives an RSA key") };
    assert_eq!(rsa.bits(), 3072);
    let path = write_new_key_file(dir.path(), &key).expect("writes");
    assert!(path.ends_with(format!("rsa-{}.pem", key.id())));
    assert_eq!(read_key_file(&path).expect("reads back").id(), key.id());
}

#[test]
fn writing_a_key_file_that_exists_is_refused_and_leaves_it_untouched() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = ed25519_from_seed(4);
    let path = write_new_key_file(dir.path(), &key).expect("first write");
    std::fs::write(&path, "sentinel").expect("overwrite for the test");
    let error = write_new_key_file(dir.path(), &key).expect_err("second write");
    assert!(matches!(&error, KeyError::AlreadyExists { path: p } if *p == path), "{error}");
    assert!(error.to_string().contains("refusing to overwrite"), "{error}");
    assert_eq!(std::fs::read_to_string(&path).expect("readable"), "sentinel");
}

#[test]
fn write_new_key_file_creates_missing_directories() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nested = dir.path().join("a").join("keys");
    let path = write_new_key_file(&nested, &ed25519_from_seed(5)).expect("writes");
    assert!(path.starts_with(&nested));
}

#[cfg(unix)]
#[test]
fn key_files_are_mode_0600_and_new_key_directories_0700() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let key_dir = dir.path().join("keys");
    let path = write_new_key_file(&key_dir, &ed25519_from_seed(6)).expect("writes");
    let mode = |path: &Path| std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&key_dir), 0o700);
}

fn write_temp(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write fixture");
    path
}

fn format_error(path: &Path) -> KeyFormatError {
    match read_key_file(path) {
        Err(KeyError::Format { path: named, source }) => {
            assert_eq!(named, path, "the error names the file");
            source
        }
        other => panic!("expected a format error, got {other:?}"),
    }
}

#[test]
fn a_file_that_is_neither_pem_nor_json_is_named_in_the_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_temp(dir.path(), "notes.pem", "hello");
    let error = read_key_file(&path).expect_err("not a key");
    let message = error.to_string();
    assert!(message.contains("notes.pem"), "{message}");
    assert!(message.contains("not PEM or Multikey JSON"), "{message}");
}

#[test]
fn a_missing_key_file_is_a_read_error_naming_it() {
    let error = read_key_file(Path::new("/nonexistent/zegel/key.pem")).expect_err("missing");
    assert!(matches!(error, KeyError::Read { .. }), "{error}");
    assert!(error.to_string().contains("/nonexistent/zegel/key.pem"));
}

// Generated with `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`; throwaway.
const P256_PKCS8: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgJ8+uPvKsSl7qqtEZ
uNOhcDMno1YCE1P3kvqsFMLpX4ahRANCAAT/sc6ijRtovcb5e967qFCStiv7/0bA
LnxfgbVphDLGj0d3t3OKBx8ScDzUMue3/GsFW4knPYiexQcY47g2SiFr
-----END PRIVATE KEY-----
";

// Generated with `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024`; throwaway.
const RSA_1024_PKCS8: &str = "-----BEGIN PRIVATE KEY-----
MIICdwIBADANBgkqhkiG9w0BAQEFAASCAmEwggJdAgEAAoGBALVJy3EAhkAY0mIV
wa8Qc4T2YdtYHdRFlyPToHAFoWnfOyWqCO8F1KKrHqLVqe0IOzsJ1VUsFH05UsEE
5vr/Z3p+WXFeHw8wjOJCHYLSoT34UT614YeY79fupLU3R0MWFCYOeTG6JWSJe5iu
ZyymsNcjkERsJDeEqu36ohSrLe+TAgMBAAECgYEApzJ/IiJErvr1labRMf9vO1Ls
35p+MFdaVJ2Km6Zlvzo117/ha2kqOjiuEaoThVwRHJsuGNaFsxRaQVCfIyDJMn3P
z953K/mWrav+ZM3n4+fblYakYR+23/xQx/UlFYs7x06CNL6xgOxY0daza6UYw7K4
GjY/zLP8G58dXmS/yXkCQQDuO9M3M6SaoGvkV/WkgVc9eXbA9nJkujs53DH0oRtv
/tIfqMr1VHvuBKVhasoX4DUOeKR1OgRRTeFhZbUx1sJNAkEAws7PpmEg+s7bGRyF
nmS+hA5U0zNhy+Ms+K6OnIyjT/9eiX4mJC7y3+A3U9MvkwCGC9fQj1i/jdhTiDN8
JJOpXwJAPnvYcSENajTrN2/OkMAPxqLl/8RjyoGB6TIUtCnRTXWTXRRjbycifhIf
4kYlDVAT+mCwGcMGwOBhXa9Ub+b4/QJARNPzE9LPZy38xUOJhiwMD/ZMTA6kZ/gM
5JQv+OnLrbEJQsTaTwBzeVvr0GcWMPcHZVnL60ms7D3ZTY77NqUhOwJBAKHyhqI7
jYd8XGQXXDt9dpylfEQ3pnHvA8NsiKNN4YFBGJras8dtDDZn53wY2j7GDTXBjsKJ
SBxABTqt2MTGzcI=
-----END PRIVATE KEY-----
";

// `openssl genpkey -algorithm ed25519 -aes-128-cbc -pass pass:x`; throwaway.
const ENCRYPTED_PKCS8: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----
MIGbMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAiJVL0aLdetQQICCAAw
DAYIKoZIhvcNAgkFADAdBglghkgBZQMEAQIEENZ9VQC1VvtSbk51gmIfBQ8EQFNU
+46m+OhQXYYy0hPrKZeReOX9ikiLTvYZhpPPrcGb2jxxcch1K2pHnL5Qc7wep73y
T0B00KHhsHth52MSZ7Y=
-----END ENCRYPTED PRIVATE KEY-----
";

#[test]
fn a_pkcs8_key_of_another_algorithm_is_unsupported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_temp(dir.path(), "p256.pem", P256_PKCS8);
    let error = format_error(&path);
    assert!(
        matches!(&error, KeyFormatError::UnsupportedAlgorithm { oid, .. } if oid == "1.2.840.10045.2.1"),
        "{error}"
    );
    assert!(error.to_string().contains("PKCS#8 key of an unsupported algorithm"), "{error}");
}

#[test]
fn an_rsa_key_shorter_than_2048_bits_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_temp(dir.path(), "rsa1024.pem", RSA_1024_PKCS8);
    let error = format_error(&path);
    assert!(matches!(error, KeyFormatError::RsaTooShort { bits: 1024 }), "{error}");
    assert!(error.to_string().contains("RSA key shorter than 2048 bits"));
}

#[test]
fn an_encrypted_key_is_refused_with_advice() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_temp(dir.path(), "enc.pem", ENCRYPTED_PKCS8);
    assert!(matches!(format_error(&path), KeyFormatError::EncryptedKey));
}

#[test]
fn a_public_key_pem_is_not_a_private_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_temp(
        dir.path(),
        "pub.pem",
        "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n",
    );
    assert!(matches!(
        format_error(&path),
        KeyFormatError::UnexpectedPemLabel { label } if label == "PUBLIC KEY"
    ));
}

#[test]
fn a_pkcs1_rsa_key_reads_as_the_same_key_as_its_pkcs8_form() {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    let pem = std::fs::read_to_string(manifest_path("keys/test-rsa.pem")).expect("readable");
    let pkcs1 = rsa::RsaPrivateKey::from_pkcs8_pem(&pem)
        .expect("parses")
        .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
        .expect("encodes");
    assert!(pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    let key = keys::parse_private_key(&pkcs1).expect("PKCS#1 is accepted");
    assert_eq!(key.id(), TEST_RSA_ID);
}

#[test]
fn a_json_key_pair_with_a_mismatched_public_key_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let other = encode_ed25519_public(&ed25519_dalek::SigningKey::from_bytes(&[8u8; 32]).verifying_key());
    let path = write_temp(
        dir.path(),
        "pair.json",
        &format!(r#"{{"publicKeyMultibase":"{other}","privateKeyMultibase":"{W3C_SECRET}"}}"#),
    );
    let error = read_key_file(&path).expect_err("mismatch");
    let message = error.to_string();
    assert!(message.contains("public key does not match the private key"), "{message}");
    assert!(!message.contains(W3C_SECRET), "{message}");
}

#[test]
fn a_json_file_without_a_private_key_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_temp(dir.path(), "public-only.json", &format!(r#"{{"publicKeyMultibase":"{W3C_PUBLIC}"}}"#));
    assert!(matches!(format_error(&path), KeyFormatError::MissingSecret));
}

#[test]
fn error_messages_never_contain_key_material() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pem = ed25519_from_seed(10).to_pkcs8_pem();
    let body: String = pem.lines().nth(1).expect("base64 line").to_owned();
    // Break the PEM so that it fails to parse, keeping the secret inside.
    let broken = pem.replace("-----END PRIVATE KEY-----", "-----END PRIVATE KEX-----");
    let path = write_temp(dir.path(), "broken.pem", &broken);
    let message = read_key_file(&path).expect_err("broken").to_string();
    assert!(!message.contains(&body), "{message}");
    assert!(message.contains("broken.pem"), "{message}");
}

#[test]
fn a_key_directory_loads_every_pem_in_file_name_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = ed25519_from_seed(20);
    let second = ed25519_from_seed(21);
    std::fs::write(dir.path().join("b.pem"), first.to_pkcs8_pem().as_bytes()).expect("write");
    std::fs::write(dir.path().join("a.pem"), second.to_pkcs8_pem().as_bytes()).expect("write");
    std::fs::write(dir.path().join("README.md"), "not a key").expect("write");
    std::fs::copy(manifest_path("keys/test-rsa.pem"), dir.path().join("c.pem")).expect("copy");
    let ids: Vec<String> = load_key_dir(dir.path()).expect("loads").iter().map(|key| key.id().to_owned()).collect();
    assert_eq!(ids, [second.id(), first.id(), TEST_RSA_ID]);
}

#[test]
fn a_broken_file_in_the_key_directory_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("good.pem"), ed25519_from_seed(22).to_pkcs8_pem().as_bytes()).expect("write");
    std::fs::write(dir.path().join("bad.pem"), "garbage").expect("write");
    let error = load_key_dir(dir.path()).expect_err("bad.pem");
    assert!(error.to_string().contains("bad.pem"), "{error}");
}

#[test]
fn the_same_key_in_two_files_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pem = ed25519_from_seed(23).to_pkcs8_pem();
    std::fs::write(dir.path().join("one.pem"), pem.as_bytes()).expect("write");
    std::fs::write(dir.path().join("two.pem"), pem.as_bytes()).expect("write");
    assert!(matches!(load_key_dir(dir.path()), Err(KeyError::DuplicateKey { .. })));
}

#[test]
fn debug_output_of_keys_shows_ids_only() {
    let ed25519 = test_ed25519();
    let rsa = test_rsa();
    assert_eq!(format!("{ed25519:?}"), format!("Ed25519(Ed25519Key {{ id: \"{TEST_ED25519_ID}\" }})"));
    assert_eq!(format!("{rsa:?}"), format!("Rsa(RsaKey {{ id: \"{TEST_RSA_ID}\", bits: 3072 }})"));
}

#[test]
fn public_jwks_have_the_documented_members_and_no_private_ones() {
    let ed25519 = test_ed25519().public_jwk();
    let names: Vec<&str> = ed25519.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(names, ["kty", "crv", "x", "kid", "alg", "use"]);
    assert_eq!(ed25519["kid"], TEST_ED25519_ID);
    let rsa = test_rsa().public_jwk();
    let names: Vec<&str> = rsa.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(names, ["kty", "n", "e", "kid", "alg", "use"]);
    assert_eq!(rsa["e"], "AQAB");
    assert_eq!(rsa["alg"], "RS256");
}

// ---------------------------------------------------------------- DIDs

#[test]
fn did_key_and_its_verification_method_use_the_multikey() {
    let key = decode_ed25519_public(W3C_PUBLIC).expect("decodes");
    assert_eq!(did_key(&key), format!("did:key:{W3C_PUBLIC}"));
    assert_eq!(did_key_verification_method(&key), format!("did:key:{W3C_PUBLIC}#{W3C_PUBLIC}"));
}

#[test]
fn a_verification_method_id_is_the_issuer_hash_key_id() {
    assert_eq!(
        verification_method_id("did:web:example.edu", &test_ed25519()),
        format!("did:web:example.edu#{TEST_ED25519_ID}")
    );
    assert_eq!(
        verification_method_id("https://example.edu/issuer", &test_rsa()),
        format!("https://example.edu/issuer#{TEST_RSA_ID}")
    );
}

#[test]
fn did_web_maps_host_port_and_path_both_ways() {
    let cases = [
        ("https://example.edu", "did:web:example.edu", "https://example.edu/.well-known/did.json"),
        ("https://example.edu:8443", "did:web:example.edu%3A8443", "https://example.edu:8443/.well-known/did.json"),
        ("https://example.edu/issuers/x", "did:web:example.edu:issuers:x", "https://example.edu/issuers/x/did.json"),
        (
            "https://example.edu:8443/issuers/x/",
            "did:web:example.edu%3A8443:issuers:x",
            "https://example.edu:8443/issuers/x/did.json",
        ),
        ("http://localhost:8080", "did:web:localhost%3A8080", "http://localhost:8080/.well-known/did.json"),
        ("http://127.0.0.1:3000/dev", "did:web:127.0.0.1%3A3000:dev", "http://127.0.0.1:3000/dev/did.json"),
    ];
    for (url, did, document) in cases {
        assert_eq!(did_web_from_url(url).as_deref(), Ok(did), "{url}");
        assert_eq!(did_web_document_url(did).as_deref(), Ok(document), "{did}");
    }
}

#[test]
fn a_trailing_slash_is_ignored() {
    assert_eq!(did_web_from_url("https://example.edu/").as_deref(), Ok("did:web:example.edu"));
}

#[test]
fn http_is_refused_except_on_loopback_hosts() {
    assert!(matches!(did_web_from_url("http://example.edu"), Err(DidError::NotHttps { .. })));
    assert!(did_web_from_url("http://[::1]").is_ok());
    assert!(matches!(did_web_from_url("ftp://example.edu"), Err(DidError::NotHttps { .. })));
    assert!(matches!(did_web_from_url("example.edu"), Err(DidError::NotHttps { .. })));
}

#[test]
fn query_fragment_and_userinfo_are_refused() {
    assert!(matches!(did_web_from_url("https://example.edu/?a=b"), Err(DidError::QueryOrFragment { .. })));
    assert!(matches!(did_web_from_url("https://example.edu/#key"), Err(DidError::QueryOrFragment { .. })));
    assert!(matches!(did_web_from_url("https://user:pw@example.edu"), Err(DidError::UserInfo { .. })));
}

#[test]
fn public_ip_addresses_bad_ports_and_bad_paths_are_refused() {
    assert!(matches!(did_web_from_url("https://192.0.2.1"), Err(DidError::InvalidHost { .. })));
    assert!(matches!(did_web_from_url("https://example.edu:0"), Err(DidError::InvalidPort { .. })));
    assert!(matches!(did_web_from_url("https://example.edu:99999"), Err(DidError::InvalidPort { .. })));
    assert!(matches!(did_web_from_url("https://example.edu//x"), Err(DidError::InvalidPath { .. })));
    assert!(matches!(did_web_from_url("https://example.edu/a/../b"), Err(DidError::InvalidPath { .. })));
    assert!(matches!(did_web_from_url("https://exa_mple.edu"), Err(DidError::InvalidHost { .. })));
}

#[test]
fn resolving_rejects_other_methods_and_did_urls() {
    assert!(matches!(did_web_document_url(&format!("did:key:{W3C_PUBLIC}")), Err(DidError::NotDidWeb { .. })));
    assert!(matches!(did_web_document_url("did:web:"), Err(DidError::NotDidWeb { .. })));
    assert!(matches!(did_web_document_url("did:web:example.edu#key-1"), Err(DidError::DidUrl { .. })));
    assert!(matches!(did_web_document_url("did:web:example.edu::x"), Err(DidError::InvalidPath { .. })));
    assert!(matches!(did_web_document_url("did:web:example.edu%3Ahttp"), Err(DidError::InvalidPort { .. })));
}

/// Every string anywhere in a JSON value, and every object member name.
fn all_names_and_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(text) => out.push(text.clone()),
        Value::Array(items) => items.iter().for_each(|item| all_names_and_strings(item, out)),
        Value::Object(members) => {
            for (name, member) in members {
                out.push(name.clone());
                all_names_and_strings(member, out);
            }
        }
        _ => {}
    }
}

fn assert_no_private_material(document: &Value, keys: &[&SigningKey]) {
    let mut texts = Vec::new();
    all_names_and_strings(document, &mut texts);
    for private_member in ["d", "p", "q", "dp", "dq", "qi"] {
        assert!(!texts.iter().any(|text| text == private_member), "member {private_member:?} in {document}");
    }
    let serialized = document.to_string();
    assert!(!serialized.contains("PRIVATE KEY"), "{serialized}");
    for key in keys {
        let pem = key.to_pkcs8_pem();
        let body: String = pem.lines().filter(|line| !line.starts_with("-----")).collect();
        assert!(!serialized.contains(&body[..40]), "PEM body leaked");
        if let SigningKey::Ed25519(key) = key {
            let secret = encode_ed25519_secret(key.signing_key());
            assert!(!serialized.contains(&secret), "secret Multikey leaked");
        }
    }
}

#[test]
fn a_did_document_lists_several_keys_under_assertion_method_without_private_material() {
    let did = "did:web:example.edu";
    let old = test_ed25519();
    let new = ed25519_from_seed(30);
    let rsa = test_rsa();
    let document = did_document(did, &[&old, &new, &rsa]);

    assert_eq!(document["@context"], serde_json::json!(did::DID_DOCUMENT_CONTEXT));
    assert_eq!(document["id"], did);
    let ids = [format!("{did}#{TEST_ED25519_ID}"), format!("{did}#{}", new.id()), format!("{did}#{TEST_RSA_ID}")];
    assert_eq!(document["assertionMethod"], serde_json::json!(ids));
    assert_eq!(document["authentication"], serde_json::json!(ids));

    let methods = document["verificationMethod"].as_array().expect("array");
    assert_eq!(methods.len(), 3);
    assert_eq!(
        methods[0],
        serde_json::json!({
            "id": ids[0],
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": TEST_ED25519_ID,
        })
    );
    assert_eq!(methods[2]["type"], "JsonWebKey");
    assert_eq!(methods[2]["controller"], did);
    assert_eq!(methods[2]["publicKeyJwk"]["kty"], "RSA");
    assert_eq!(methods[2]["publicKeyJwk"]["kid"], TEST_RSA_ID);

    assert_no_private_material(&document, &[&old, &new, &rsa]);
}

#[test]
fn a_did_document_from_public_keys_equals_the_one_from_signing_keys() {
    let ed25519 = test_ed25519();
    let rsa = test_rsa();
    assert_eq!(
        did_document_from_public_keys("did:web:example.edu", &[ed25519.public_key(), rsa.public_key()]),
        did_document("did:web:example.edu", &[&ed25519, &rsa])
    );
}

#[test]
fn the_jwks_lists_every_key_without_private_material() {
    let ed25519 = test_ed25519();
    let rsa = test_rsa();
    let set = jwks(&[&ed25519, &rsa]);
    let listed = set["keys"].as_array().expect("array");
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["kid"], TEST_ED25519_ID);
    assert_eq!(listed[0]["crv"], "Ed25519");
    assert_eq!(listed[1]["kid"], TEST_RSA_ID);
    assert_eq!(did::jwks_from_public_keys(&[ed25519.public_key(), rsa.public_key()]), set);
    assert_no_private_material(&set, &[&ed25519, &rsa]);
}

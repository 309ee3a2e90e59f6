//! The JSON-LD contexts zegel bundles, and the offline loader built from them.
//!
//! Provenance and checksums of the third-party files: `contexts/PROVENANCE.md`.
//! zegel's own context (`contexts/zegel-v1.jsonld`) defines the
//! microcredential quality-framework terms; every zegel instance serves it at
//! [`ZEGEL_CONTEXT_PATH`] on its public URL, and it never changes once
//! released (a new version gets a new path).

use crate::jsonld::{Canonicalizer, DocumentLoader};

pub const VC_V2: &str = "https://www.w3.org/ns/credentials/v2";
pub const VC_V1: &str = "https://www.w3.org/2018/credentials/v1";
pub const OB_V3P0: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json";
pub const OB_EXTENSIONS: &str = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json";
pub const DATA_INTEGRITY_V2: &str = "https://w3id.org/security/data-integrity/v2";
pub const MULTIKEY_V1: &str = "https://w3id.org/security/multikey/v1";
pub const JWK_V1: &str = "https://w3id.org/security/jwk/v1";
pub const DID_V1: &str = "https://www.w3.org/ns/did/v1";

/// Path of zegel's extension context on every zegel instance.
pub const ZEGEL_CONTEXT_PATH: &str = "/contexts/zegel/v1.jsonld";
/// zegel's extension context, as served.
pub const ZEGEL_CONTEXT: &[u8] = include_bytes!("contexts/zegel-v1.jsonld");
/// IRI namespace of the terms zegel's context defines.
pub const ZEGEL_VOCAB: &str = "https://w3id.org/zegel#";

/// Every bundled third-party context, by the URL documents refer to it with.
pub const BUNDLED: &[(&str, &[u8])] = &[
    (VC_V2, include_bytes!("contexts/credentials-v2.jsonld")),
    (VC_V1, include_bytes!("contexts/credentials-v1.jsonld")),
    ("https://www.w3.org/ns/credentials/examples/v2", include_bytes!("contexts/credentials-examples-v2.jsonld")),
    (
        "https://www.w3.org/ns/credentials/undefined-terms/v2",
        include_bytes!("contexts/credentials-undefined-terms-v2.jsonld"),
    ),
    (OB_V3P0, include_bytes!("contexts/ob-v3p0-context-3.0.3.json")),
    (
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json",
        include_bytes!("contexts/ob-v3p0-context-3.0.2.json"),
    ),
    (
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json",
        include_bytes!("contexts/ob-v3p0-context-3.0.1.json"),
    ),
    ("https://purl.imsglobal.org/spec/ob/v3p0/context.json", include_bytes!("contexts/ob-v3p0-context-3.0.0.json")),
    (OB_EXTENSIONS, include_bytes!("contexts/ob-v3p0-extensions.json")),
    (DATA_INTEGRITY_V2, include_bytes!("contexts/data-integrity-v2.jsonld")),
    ("https://w3id.org/security/data-integrity/v1", include_bytes!("contexts/data-integrity-v1.jsonld")),
    (MULTIKEY_V1, include_bytes!("contexts/multikey-v1.jsonld")),
    (JWK_V1, include_bytes!("contexts/jwk-v1.jsonld")),
    ("https://www.w3.org/ns/credentials/status/v1", include_bytes!("contexts/bitstring-status-list-v1.jsonld")),
    ("https://w3id.org/vc/status-list/2021/v1", include_bytes!("contexts/status-list-2021-v1.jsonld")),
    ("https://w3id.org/security/suites/ed25519-2020/v1", include_bytes!("contexts/ed25519-signature-2020-v1.jsonld")),
    (DID_V1, include_bytes!("contexts/did-v1.jsonld")),
];

/// The URL of zegel's context on the instance at `public_base_url`.
pub fn zegel_context_url(public_base_url: &str) -> String {
    format!("{}{ZEGEL_CONTEXT_PATH}", public_base_url.trim_end_matches('/'))
}

/// A loader with every bundled context, and zegel's own context on any host.
pub fn loader() -> DocumentLoader {
    BUNDLED
        .iter()
        .fold(DocumentLoader::new(), |loader, (url, bytes)| loader.with_document(*url, bytes.to_vec()))
        .with_path_document(ZEGEL_CONTEXT_PATH, ZEGEL_CONTEXT.to_vec())
}

/// A canonicaliser over [`loader`]. Create one per process and share it.
pub fn canonicalizer() -> Canonicalizer {
    Canonicalizer::new(loader())
}

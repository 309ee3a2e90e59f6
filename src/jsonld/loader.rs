//! Offline document loader: every JSON-LD context zegel can process is bundled.
//!
//! Nothing is ever fetched while signing or verifying. A context URL that is
//! not in the table is an error ([`super::JsonLdError::UnknownContext`]).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Maps context URLs to their bundled bytes.
#[derive(Clone, Default)]
pub struct DocumentLoader {
    exact: HashMap<String, Arc<[u8]>>,
    /// `(path, bytes)`: any `https://` URL with exactly this path resolves to
    /// the bundled bytes. Used for zegel's own versioned, immutable context,
    /// which every zegel instance serves under the same path on its own host.
    by_path: Vec<(String, Arc<[u8]>)>,
    /// Every term defined anywhere in a bundled context (scoped contexts too).
    terms: Arc<HashSet<String>>,
}

impl DocumentLoader {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `bytes` under the exact `url`.
    ///
    /// # Panics
    /// If `bytes` is not JSON; bundled contexts are compile-time constants.
    pub fn with_document(mut self, url: impl Into<String>, bytes: impl Into<Arc<[u8]>>) -> Self {
        let bytes = bytes.into();
        self.collect_terms(&bytes);
        self.exact.insert(url.into(), bytes);
        self
    }

    /// Registers `bytes` for every `https://` (or loopback `http://`) URL whose
    /// path is `path`.
    pub fn with_path_document(mut self, path: impl Into<String>, bytes: impl Into<Arc<[u8]>>) -> Self {
        let bytes = bytes.into();
        self.collect_terms(&bytes);
        self.by_path.push((path.into(), bytes));
        self
    }

    pub fn load(&self, url: &str) -> Option<Arc<[u8]>> {
        if let Some(bytes) = self.exact.get(url) {
            return Some(bytes.clone());
        }
        let iri = oxiri::Iri::parse(url).ok()?;
        let secure = iri.scheme() == "https"
            || (iri.scheme() == "http"
                && iri.authority().is_some_and(|a| {
                    a.starts_with("127.0.0.1") || a.starts_with("localhost") || a.starts_with("[::1]")
                }));
        if !secure || iri.query().is_some() || iri.fragment().is_some() {
            return None;
        }
        self.by_path.iter().find(|(path, _)| iri.path() == path).map(|(_, bytes)| bytes.clone())
    }

    pub fn urls(&self) -> impl Iterator<Item = &str> {
        self.exact.keys().map(String::as_str)
    }

    /// True when `term` is defined by some bundled context. Used to decide
    /// whether a string can only ever expand to itself (see `scan`).
    pub(crate) fn defines_term(&self, term: &str) -> bool {
        self.terms.contains(term)
    }

    fn collect_terms(&mut self, bytes: &[u8]) {
        let value: serde_json::Value = serde_json::from_slice(bytes).expect("bundled JSON-LD contexts are valid JSON");
        let terms = Arc::make_mut(&mut self.terms);
        collect_context_keys(&value, terms);
    }
}

/// Adds every object key that is not a keyword, at any depth.
pub(crate) fn collect_context_keys(value: &serde_json::Value, into: &mut HashSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                if !key.starts_with('@') {
                    into.insert(key.clone());
                }
                collect_context_keys(value, into);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_context_keys(v, into)),
        _ => {}
    }
}

impl std::fmt::Debug for DocumentLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut urls: Vec<_> = self.exact.keys().collect();
        urls.sort();
        f.debug_struct("DocumentLoader")
            .field("urls", &urls)
            .field("paths", &self.by_path.iter().map(|(p, _)| p).collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_documents_resolve_on_any_secure_host_only() {
        let loader = DocumentLoader::new().with_path_document("/contexts/x/v1.jsonld", b"{\"@context\":{}}".to_vec());
        assert!(loader.load("https://a.example/contexts/x/v1.jsonld").is_some());
        assert!(loader.load("https://b.example:8443/contexts/x/v1.jsonld").is_some());
        assert!(loader.load("http://127.0.0.1:8080/contexts/x/v1.jsonld").is_some());
        assert!(loader.load("http://a.example/contexts/x/v1.jsonld").is_none());
        assert!(loader.load("https://a.example/contexts/x/v1.jsonld?x=1").is_none());
        assert!(loader.load("https://a.example/other/contexts/x/v1.jsonld").is_none());
    }

    #[test]
    fn terms_of_scoped_contexts_are_collected() {
        let loader = DocumentLoader::new().with_document(
            "https://e.example/c",
            br#"{"@context":{"A":{"@id":"https://e.example/A","@context":{"b":"https://e.example/b"}}}}"#.to_vec(),
        );
        assert!(loader.defines_term("A"));
        assert!(loader.defines_term("b"));
        assert!(!loader.defines_term("@context"));
    }
}

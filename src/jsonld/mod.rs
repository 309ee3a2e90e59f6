//! JSON-LD 1.1 → RDF (oxjsonld) → RDFC-1.0 (oxrdf) → canonical N-Quads,
//! offline and in "safe mode".
//!
//! * Offline: contexts come from a [`DocumentLoader`] of bundled documents.
//! * Safe mode, as jsonld.js `safe: true` and the Data Integrity spec ask: a
//!   document in which a term is undefined (and would silently be dropped from
//!   the signed data), a type or reference is relative, or a key merely looks
//!   like a keyword is refused, naming every such term.
//! * Fast: results are memoised per document shape (see `template`), so the
//!   costly context processing runs once per kind of credential, not once per
//!   credential. [`Canonicalizer::canonicalize_direct`] is the unmemoised
//!   reference path; tests compare the two.

mod fast;
mod loader;
mod nquads;
mod rdfc;
mod scan;
mod template;

pub use loader::DocumentLoader;

use oxrdf::{Dataset, Quad, Term};
use scan::{Scan, WalkOptions};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use template::{Analysis, Placeholders, Template};

/// RDFC-1.0 canonical N-Quads of an RDF dataset.
pub fn canonicalize_dataset(dataset: &Dataset, limits: &Limits) -> Result<String, JsonLdError> {
    nquads::canonical_nquads(dataset, limits)
}

/// [`canonicalize_dataset`] that always labels blank nodes with zegel's own
/// RDFC-1.0 implementation, for comparing it with oxrdf in tests.
#[doc(hidden)]
pub fn canonicalize_dataset_by_spec(dataset: &Dataset, limits: &Limits) -> Result<String, JsonLdError> {
    nquads::canonical_nquads_with(dataset, limits, true)
}

/// `@vocab` of the safe-mode probe: an undefined term `t` expands to `PROBE_VOCAB + t`.
const PROBE_VOCAB: &str = "urn:x-zegel-undefined-term:";
/// Base IRI of the safe-mode probe: a relative reference `r` resolves under it.
const PROBE_BASE: &str = "https://relative-reference.zegel.invalid/";

/// Limits that keep hostile input from exhausting the machine.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_depth: usize,
    pub max_blank_nodes: usize,
    /// Largest group of blank nodes RDFC-1.0 would have to tell apart by
    /// trying permutations (see `nquads::guard_against_poisoning`).
    pub max_indistinguishable_blank_nodes: usize,
    /// Memoised shapes kept before the cache is emptied.
    pub max_cached_shapes: usize,
    /// Hash N-Degree Quads invocations allowed for one document, at most.
    pub max_canonicalization_steps: usize,
    /// Within that, `n^factor` invocations for `n` blank nodes without a
    /// unique first-degree hash: rdf-canonize's `maxWorkFactor`, whose default
    /// (1) jsonld.js verifiers use. Keeping it means zegel never signs what
    /// those verifiers would refuse to canonicalise.
    pub canonicalization_work_factor: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 1024 * 1024,
            max_depth: 64,
            max_blank_nodes: 1024,
            max_indistinguishable_blank_nodes: 6,
            max_cached_shapes: 4096,
            max_canonicalization_steps: 10_000,
            canonicalization_work_factor: 1,
        }
    }
}

/// Why a document could not be canonicalised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonLdError {
    #[error("not valid JSON: {0}")]
    Json(String),
    #[error("the document must be a JSON object")]
    NotAnObject,
    #[error("the document is {size} bytes, more than the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("the document nests deeper than {0} levels")]
    TooDeep(usize),
    #[error("the member \"{0}\" appears twice in one JSON object")]
    DuplicateKey(String),
    #[error("unknown JSON-LD context <{0}>: zegel works offline and only processes the contexts it bundles")]
    UnknownContext(String),
    #[error("{}", DataLossList(.0))]
    DataLoss(Vec<DataLossIssue>),
    #[error("JSON-LD processing failed: {0}")]
    Processing(String),
    #[error("the document has {count} blank nodes, more than the limit of {limit}")]
    TooManyBlankNodes { count: usize, limit: usize },
    #[error(
        "the document has {count} blank nodes that cannot be told apart (limit {limit}); canonicalising it could take exponential time"
    )]
    IndistinguishableBlankNodes { count: usize, limit: usize },
    #[error(
        "canonicalising the document's blank nodes needs more than {0} n-degree hashing steps, the limit jsonld.js verifiers apply; refused (possible dataset poisoning)"
    )]
    TooComplex(usize),
}

/// The document with each entry of its top-level `@context` that is itself
/// a context document (`{"@context": {…}}`) replaced by the context it
/// holds, as jsonld.js reads such an entry (and so signs and verifies it);
/// oxjsonld refuses it as a redefinition of `@context`. `None` when there
/// is nothing to unwrap (the document is then processed as it is); the other
/// members keep their text.
fn unwrap_embedded_contexts(json: &[u8]) -> Option<Vec<u8>> {
    const KEY: &[u8] = b"\"@context\"";
    // Cheap: such a document names @context at least twice.
    if json.windows(KEY.len()).filter(|w| *w == KEY).take(2).count() < 2 {
        return None;
    }
    let mut document = crate::json::RawObject::parse(json).ok()?;
    let serde_json::Value::Array(entries) = document.value("@context")? else { return None };
    let mut changed = false;
    let entries: Vec<serde_json::Value> = entries
        .into_iter()
        .map(|entry| match entry {
            serde_json::Value::Object(mut wrapper)
                if wrapper.len() == 1 && wrapper.get("@context").is_some_and(|c| c.is_object()) =>
            {
                changed = true;
                wrapper.remove("@context").unwrap_or_default()
            }
            other => other,
        })
        .collect();
    if !changed {
        return None;
    }
    let raw = serde_json::value::RawValue::from_string(serde_json::Value::Array(entries).to_string()).ok()?;
    document.set("@context", raw);
    Some(document.to_vec())
}

/// Something JSON-LD processing would silently lose or misread.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DataLossIssue {
    /// A property with no definition in the document's contexts.
    UndefinedProperty(String),
    /// A `type` value with no definition in the document's contexts.
    UndefinedType(String),
    /// A value of a `@vocab`-typed property that is not a defined term.
    UndefinedValue { property: String, value: String },
    /// An `id` or other IRI value that is a relative reference.
    RelativeIri(String),
    /// A key of the form `@letters` that is not a JSON-LD keyword.
    InvalidKeyword(String),
    /// An identifier that is not a well-formed IRI (JSON-LD processors drop
    /// or keep such nodes differently).
    InvalidIri(String),
    /// A language tag that is not well-formed (BCP 47).
    InvalidLanguageTag(String),
    /// A number JSON-LD processors write differently in RDF.
    UnportableNumber(String),
    /// `@direction`, which JSON-LD processors turn into RDF in different ways.
    BaseDirection,
}

impl DataLossIssue {
    /// True for issues that make a document's canonical form differ between
    /// JSON-LD processors, rather than lose its meaning.
    pub fn is_portability(&self) -> bool {
        matches!(self, Self::UnportableNumber(_) | Self::BaseDirection)
    }
}

impl fmt::Display for DataLossIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UndefinedProperty(t) => write!(f, "undefined term \"{t}\" (a property no @context defines)"),
            Self::UndefinedType(t) => write!(f, "undefined term \"{t}\" (a type no @context defines)"),
            Self::UndefinedValue { property, value } => {
                write!(f, "undefined term \"{value}\" (a value of <{property}> no @context defines)")
            }
            Self::RelativeIri(r) => write!(f, "relative IRI reference \"{r}\" (identifiers must be absolute)"),
            Self::InvalidKeyword(k) => write!(f, "\"{k}\" looks like a JSON-LD keyword but is not one"),
            Self::InvalidIri(i) => write!(f, "\"{i}\" is not a well-formed IRI (RFC 3987)"),
            Self::InvalidLanguageTag(t) => write!(f, "\"{t}\" is not a well-formed language tag (BCP 47)"),
            Self::UnportableNumber(n) => write!(
                f,
                "the number {n} is written differently by different JSON-LD processors (use integers up to 2^53, or at most 15 significant digits and magnitudes from 0.000001; or a string)"
            ),
            Self::BaseDirection => f.write_str(
                "@direction (base direction) is turned into RDF differently by different JSON-LD processors",
            ),
        }
    }
}

struct DataLossList<'a>(&'a [DataLossIssue]);

impl fmt::Display for DataLossList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON-LD safe mode: ")?;
        for (i, issue) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{issue}")?;
        }
        Ok(())
    }
}

#[derive(Default)]
struct Cache {
    /// Shape → slots whose values must be part of the key.
    kept: HashMap<Box<[u8]>, Arc<[usize]>>,
    templates: HashMap<Box<[u8]>, Arc<Template>>,
}

/// Counters of the shape cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub shapes: usize,
}

/// Turns JSON-LD documents into canonical N-Quads. Share one per process:
/// it is `Sync` and its cache is what makes it fast.
pub struct Canonicalizer {
    loader: Arc<DocumentLoader>,
    placeholders: Placeholders,
    limits: Limits,
    cache: RwLock<Cache>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl fmt::Debug for Canonicalizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Canonicalizer").field("loader", &self.loader).field("stats", &self.stats()).finish()
    }
}

impl Canonicalizer {
    pub fn new(loader: DocumentLoader) -> Self {
        Self::with_limits(loader, Limits::default())
    }

    pub fn with_limits(loader: DocumentLoader, limits: Limits) -> Self {
        let mut nonce = [0u8; 8];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
        let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
        Self {
            loader: Arc::new(loader),
            placeholders: Placeholders::new(nonce),
            limits,
            cache: RwLock::new(Cache::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    pub fn loader(&self) -> &DocumentLoader {
        &self.loader
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Canonical N-Quads of the whole document.
    pub fn canonicalize(&self, json: &[u8]) -> Result<String, JsonLdError> {
        self.run(json, false)
    }

    /// Canonical N-Quads of the document without its top-level `proof`
    /// member: the "unsecured document" of Data Integrity.
    pub fn canonicalize_unsecured(&self, json: &[u8]) -> Result<String, JsonLdError> {
        self.run(json, true)
    }

    /// The reference path: oxjsonld on the document itself, no memoisation.
    pub fn canonicalize_direct(&self, json: &[u8], without_proof: bool) -> Result<String, JsonLdError> {
        let unwrapped = unwrap_embedded_contexts(json);
        let json = unwrapped.as_deref().unwrap_or(json);
        let options = self.walk_options(json, without_proof)?;
        let scan = scan::scan(json, options, |t| self.loader.defines_term(t))?;
        if !scan.issues.is_empty() {
            return Err(JsonLdError::DataLoss(scan.issues));
        }
        let dataset = self.direct_dataset(json, options, &scan)?;
        nquads::canonical_nquads(&dataset, &self.limits)
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            shapes: self.cache.read().map(|c| c.templates.len()).unwrap_or(0),
        }
    }

    fn walk_options(&self, json: &[u8], without_proof: bool) -> Result<WalkOptions, JsonLdError> {
        if json.len() > self.limits.max_bytes {
            return Err(JsonLdError::TooLarge { size: json.len(), limit: self.limits.max_bytes });
        }
        Ok(WalkOptions { skip_top_level_proof: without_proof, max_depth: self.limits.max_depth })
    }

    fn run(&self, json: &[u8], without_proof: bool) -> Result<String, JsonLdError> {
        let unwrapped = unwrap_embedded_contexts(json);
        let json = unwrapped.as_deref().unwrap_or(json);
        let options = self.walk_options(json, without_proof)?;
        let scan = scan::scan(json, options, |t| self.loader.defines_term(t))?;
        if !scan.issues.is_empty() {
            return Err(JsonLdError::DataLoss(scan.issues));
        }
        let (kept, template) = {
            let cache = self.cache.read().unwrap_or_else(|p| p.into_inner());
            let kept = cache.kept.get(scan.shape.as_slice()).cloned();
            let template = kept.as_ref().and_then(|kept| {
                let key = template::template_key(&scan.shape, &scan.slots, kept);
                cache.templates.get(key.as_slice()).cloned()
            });
            (kept, template)
        };
        match template {
            Some(template) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                if let Some(canonical) = template.fast().and_then(|fast| fast.canonical_nquads(&scan.slots)) {
                    return Ok(canonical);
                }
                nquads::canonical_nquads(&template.instantiate(&scan.slots), &self.limits)
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                self.learn(json, options, &scan, kept.as_deref())
            }
        }
    }

    /// Learns the template of this document's shape and returns the
    /// document's canonical N-Quads. Falls back to processing the document
    /// directly when the skeleton cannot be processed.
    fn learn(
        &self,
        json: &[u8],
        options: WalkOptions,
        scan: &Scan<'_>,
        previously_kept: Option<&[usize]>,
    ) -> Result<String, JsonLdError> {
        let mut kept: Vec<bool> = scan.slots.iter().map(|s| s.steering).collect();
        for &i in previously_kept.unwrap_or_default() {
            if let Some(k) = kept.get_mut(i) {
                *k = true;
            }
        }
        // Each round keeps at least one more slot, so this terminates.
        let template = loop {
            let skeleton = scan::write_skeleton(json, options, scan.has_top_level_context, None, |i, value| {
                if kept[i] { value.clone() } else { self.placeholders.render(i, scan.slots[i].iri_like).into() }
            })?;
            let Ok(quads) = self.parse(&skeleton, None, false) else {
                return nquads::canonical_nquads(&self.direct_dataset(json, options, scan)?, &self.limits);
            };
            match template::analyse(&quads, &scan.slots, &kept, &self.placeholders) {
                Analysis::Verified(template) => break template,
                Analysis::Keep(more) => more.into_iter().for_each(|i| kept[i] = true),
                Analysis::Unusable => {
                    return nquads::canonical_nquads(&self.direct_dataset(json, options, scan)?, &self.limits);
                }
            }
        };
        // Safe mode, on the verified skeleton: undefinedness depends only on
        // the shape and the kept values, never on a placeholder's text.
        let skeleton =
            scan::write_skeleton(json, options, scan.has_top_level_context, Some(PROBE_VOCAB), |i, value| {
                if kept[i] { value.clone() } else { self.placeholders.render(i, scan.slots[i].iri_like).into() }
            })?;
        self.safe_mode(&skeleton)?;

        let kept: Arc<[usize]> = (0..kept.len()).filter(|&i| kept[i]).collect();
        let key = template::template_key(&scan.shape, &scan.slots, &kept);
        let mut template = template;
        let canonical = nquads::canonical_nquads(&template.instantiate(&scan.slots), &self.limits)?;
        // The fast path serves this shape only once it agrees with the general path.
        let fast = fast::Rendered::new(&template);
        match fast.canonical_nquads(&scan.slots) {
            Some(quick) if quick == canonical => template.set_fast(fast),
            Some(quick) => debug_assert_eq!(quick, canonical, "fast canonicalisation disagrees"),
            None => {}
        }
        let template = Arc::new(template);
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        if cache.templates.len() >= self.limits.max_cached_shapes {
            *cache = Cache::default();
        }
        cache.kept.insert(scan.shape.as_slice().into(), kept);
        cache.templates.insert(key.into_boxed_slice(), template);
        Ok(canonical)
    }

    /// Processes the document itself (no placeholders) and checks safe mode.
    fn direct_dataset(&self, json: &[u8], options: WalkOptions, scan: &Scan<'_>) -> Result<Dataset, JsonLdError> {
        let document = scan::write_skeleton(json, options, scan.has_top_level_context, None, |_, v| v.clone())?;
        let quads = self.parse(&document, None, false)?;
        let probe =
            scan::write_skeleton(json, options, scan.has_top_level_context, Some(PROBE_VOCAB), |_, v| v.clone())?;
        self.safe_mode(&probe)?;
        let mut dataset = Dataset::new();
        for quad in &quads {
            dataset.insert(quad);
        }
        Ok(dataset)
    }

    /// Runs the probe document (see `write_skeleton`) and reports every term
    /// that expanded through the probe vocabulary or base IRI, and every
    /// ill-formed IRI, language tag or blank node identifier. The probe runs
    /// in oxjsonld's lenient mode, which keeps such values where the normal
    /// mode silently drops the statements that contain them.
    fn safe_mode(&self, probe_document: &[u8]) -> Result<(), JsonLdError> {
        let quads = self.parse(probe_document, Some(PROBE_BASE), true)?;
        let mut issues: Vec<DataLossIssue> = Vec::new();
        let mut push = |issue: DataLossIssue| {
            if !issues.contains(&issue) {
                issues.push(issue);
            }
        };
        let check_iri = |iri: &str, push: &mut dyn FnMut(DataLossIssue)| {
            if let Some(relative) = iri.strip_prefix(PROBE_BASE) {
                push(DataLossIssue::RelativeIri(relative.to_owned()));
            } else if oxiri::Iri::parse(iri).is_err() {
                push(DataLossIssue::InvalidIri(iri.to_owned()));
            }
        };
        let check_blank = |id: &str, push: &mut dyn FnMut(DataLossIssue)| {
            if oxrdf::BlankNode::new(id).is_err() {
                push(DataLossIssue::InvalidIri(format!("_:{id}")));
            }
        };
        for quad in &quads {
            let predicate = quad.predicate.as_str();
            match &quad.subject {
                oxrdf::NamedOrBlankNode::NamedNode(n) => check_iri(n.as_str(), &mut push),
                oxrdf::NamedOrBlankNode::BlankNode(b) => check_blank(b.as_str(), &mut push),
            }
            match predicate.strip_prefix(PROBE_VOCAB) {
                Some(term) => push(DataLossIssue::UndefinedProperty(term.to_owned())),
                None => check_iri(predicate, &mut push),
            }
            match &quad.object {
                Term::NamedNode(n) => match n.as_str().strip_prefix(PROBE_VOCAB) {
                    Some(term) if predicate == oxrdf::vocab::rdf::TYPE.as_str() => {
                        push(DataLossIssue::UndefinedType(term.to_owned()));
                    }
                    Some(term) => {
                        let property = predicate.strip_prefix(PROBE_VOCAB).unwrap_or(predicate);
                        push(DataLossIssue::UndefinedValue { property: property.to_owned(), value: term.to_owned() });
                    }
                    None => check_iri(n.as_str(), &mut push),
                },
                Term::Literal(l) => {
                    match l.datatype().as_str().strip_prefix(PROBE_VOCAB) {
                        Some(term) => push(DataLossIssue::UndefinedType(term.to_owned())),
                        None => check_iri(l.datatype().as_str(), &mut push),
                    }
                    if let Some(language) = l.language()
                        && oxrdf::Literal::new_language_tagged_literal("", language).is_err()
                    {
                        push(DataLossIssue::InvalidLanguageTag(language.to_owned()));
                    }
                }
                Term::BlankNode(b) => check_blank(b.as_str(), &mut push),
            }
            match &quad.graph_name {
                oxrdf::GraphName::NamedNode(n) => check_iri(n.as_str(), &mut push),
                oxrdf::GraphName::BlankNode(b) => check_blank(b.as_str(), &mut push),
                oxrdf::GraphName::DefaultGraph => {}
            }
        }
        if issues.is_empty() { Ok(()) } else { Err(JsonLdError::DataLoss(issues)) }
    }

    /// oxjsonld with the offline loader.
    fn parse(&self, document: &[u8], base: Option<&str>, lenient: bool) -> Result<Vec<Quad>, JsonLdError> {
        let unknown: Arc<Mutex<Option<String>>> = Arc::default();
        let loader = self.loader.clone();
        let record = unknown.clone();
        let mut parser = oxjsonld::JsonLdParser::new();
        if lenient {
            parser = parser.lenient();
        }
        if let Some(base) = base {
            parser = parser.with_base_iri(base).map_err(|e| JsonLdError::Processing(e.to_string()))?;
        }
        let mut quads = Vec::new();
        for quad in parser.for_slice(document).with_load_document_callback(move |url, _| match loader.load(url) {
            Some(bytes) => Ok(oxjsonld::JsonLdRemoteDocument { document: bytes.to_vec(), document_url: url.into() }),
            None => {
                if let Ok(mut slot) = record.lock() {
                    slot.get_or_insert_with(|| url.to_owned());
                }
                Err(format!("unknown context <{url}>").into())
            }
        }) {
            match quad {
                Ok(quad) => quads.push(quad),
                Err(e) => {
                    if let Some(url) = unknown.lock().ok().and_then(|mut u| u.take()) {
                        return Err(JsonLdError::UnknownContext(url));
                    }
                    return Err(JsonLdError::Processing(e.to_string()));
                }
            }
        }
        Ok(quads)
    }
}

//! Memoised JSON-LD → RDF per document shape.
//!
//! Processing the OB 3.0 and VC 2.0 contexts costs milliseconds per document
//! in oxjsonld (it re-processes contexts, including every type-scoped context,
//! for each document). Credentials of one kind share their structure, so
//! zegel runs oxjsonld once per *shape* on a skeleton in which string values
//! are replaced by unique placeholders, learns where each placeholder lands in
//! the RDF output, and afterwards only substitutes values.
//!
//! Why this is exact: JSON-LD decides what to do with a string value from the
//! active context, the key holding it and (for keywords, `@type`, `@id` and
//! `@vocab`-coerced values) the string itself. A placeholder that reappears
//! verbatim as a literal's lexical form sits where every string becomes that
//! literal unchanged. A placeholder that reappears verbatim as an IRI sits in
//! an IRI position, where an absolute IRI that is neither a term nor a compact
//! IRI (`Slot::iri_like`) also stays unchanged. Every other placeholder
//! (types, language tags, `@json`, relative references, dropped values) is
//! "kept": its real value becomes part of the shape, and learning repeats
//! until all remaining placeholders are verified. Numbers, booleans, keys and
//! `@context` values always belong to the shape. A template is only ever used
//! for the exact shape and kept values it was verified with.

use super::scan::Slot;
use oxrdf::{
    BlankNode, Dataset, GraphNameRef, Literal, LiteralRef, NamedNode, NamedNodeRef, NamedOrBlankNodeRef, Quad, QuadRef,
    Term, TermRef,
};
use std::borrow::Cow;

pub(crate) struct Placeholders {
    nonce: String,
}

impl Placeholders {
    pub fn new(nonce: String) -> Self {
        Self { nonce }
    }

    pub fn render(&self, index: usize, iri_like: bool) -> String {
        if iri_like {
            format!("urn:x-zegel-slot:{}:{index}", self.nonce)
        } else {
            // Spaces: never an IRI, a keyword, a term or a language tag.
            format!("zegel slot {} {index}", self.nonce)
        }
    }

    /// `Some(index)` when `text` is exactly a rendered placeholder.
    fn exact(&self, text: &str) -> Option<(usize, bool)> {
        let (iri_like, rest) = if let Some(rest) = text.strip_prefix("urn:x-zegel-slot:") {
            (true, rest.strip_prefix(self.nonce.as_str())?.strip_prefix(':')?)
        } else {
            let rest = text.strip_prefix("zegel slot ")?;
            (false, rest.strip_prefix(self.nonce.as_str())?.strip_prefix(' ')?)
        };
        if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some((rest.parse().ok()?, iri_like))
    }

    /// Which slot a text mentions, if it contains a placeholder at all.
    /// `Err(())` when it mentions one that cannot be attributed.
    fn mentioned(&self, text: &str) -> Result<Option<usize>, ()> {
        let Some(at) = text.find(self.nonce.as_str()) else {
            return Ok(None);
        };
        let digits: String = text[at + self.nonce.len()..].chars().skip(1).take_while(char::is_ascii_digit).collect();
        digits.parse().map(Some).map_err(|_| ())
    }
}

#[derive(Debug)]
pub(crate) enum Node {
    Named(NamedNode),
    Blank(BlankNode),
    Slot(usize),
}

#[derive(Debug)]
pub(crate) enum Object {
    Node(Node),
    Literal(Literal),
    /// A literal whose lexical form is the slot's value.
    SlotLiteral {
        slot: usize,
        datatype: NamedNode,
        language: Option<String>,
    },
}

#[derive(Debug)]
pub(crate) enum Graph {
    Default,
    Node(Node),
}

#[derive(Debug)]
pub(crate) struct TemplateQuad {
    pub subject: Node,
    pub predicate: NamedNode,
    pub object: Object,
    pub graph: Graph,
}

/// The verified RDF output of one shape.
pub(crate) struct Template {
    quads: Vec<TemplateQuad>,
    /// Set once the fast canonicalisation of this shape has been checked.
    fast: Option<super::fast::Rendered>,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Template").field("quads", &self.quads.len()).field("fast", &self.fast.is_some()).finish()
    }
}

/// The outcome of one learning round.
pub(crate) enum Analysis {
    Verified(Template),
    /// These slots did not land verbatim; keep their values and learn again.
    Keep(Vec<usize>),
    /// A placeholder turned up in a way that cannot be attributed to a slot.
    Unusable,
}

pub(crate) fn analyse(quads: &[Quad], slots: &[Slot<'_>], kept: &[bool], placeholders: &Placeholders) -> Analysis {
    // Per slot: seen verbatim, seen altered.
    let mut good = vec![false; slots.len()];
    let mut bad = vec![false; slots.len()];
    let mut unusable = false;
    let mut mark = |text: &str, ok_as: Option<bool>, good: &mut [bool], bad: &mut [bool]| -> Option<usize> {
        // ok_as: Some(true) = an IRI-like slot may land here verbatim,
        // Some(false) = any slot may land here verbatim (literal),
        // None = no placeholder may land here.
        if let (Some(iri_position), Some((index, iri_like))) = (ok_as, placeholders.exact(text))
            && index < slots.len()
            && iri_like == slots[index].iri_like
            && (!iri_position || iri_like)
        {
            good[index] = true;
            return Some(index);
        }
        match placeholders.mentioned(text) {
            Ok(None) => {}
            Ok(Some(index)) if index < slots.len() => bad[index] = true,
            _ => unusable = true,
        }
        None
    };
    let mut template = Vec::with_capacity(quads.len());
    for quad in quads {
        let subject = match &quad.subject {
            oxrdf::NamedOrBlankNode::NamedNode(n) => match mark(n.as_str(), Some(true), &mut good, &mut bad) {
                Some(slot) => Node::Slot(slot),
                None => Node::Named(n.clone()),
            },
            oxrdf::NamedOrBlankNode::BlankNode(b) => Node::Blank(b.clone()),
        };
        mark(quad.predicate.as_str(), None, &mut good, &mut bad);
        let object = match &quad.object {
            Term::NamedNode(n) => match mark(n.as_str(), Some(true), &mut good, &mut bad) {
                Some(slot) => Object::Node(Node::Slot(slot)),
                None => Object::Node(Node::Named(n.clone())),
            },
            Term::BlankNode(b) => Object::Node(Node::Blank(b.clone())),
            Term::Literal(l) => {
                mark(l.datatype().as_str(), None, &mut good, &mut bad);
                if let Some(language) = l.language() {
                    mark(language, None, &mut good, &mut bad);
                }
                match mark(l.value(), Some(false), &mut good, &mut bad) {
                    Some(slot) => Object::SlotLiteral {
                        slot,
                        datatype: l.datatype().into_owned(),
                        language: l.language().map(str::to_owned),
                    },
                    None => Object::Literal(l.clone()),
                }
            }
        };
        let graph = match &quad.graph_name {
            oxrdf::GraphName::DefaultGraph => Graph::Default,
            oxrdf::GraphName::NamedNode(n) => match mark(n.as_str(), Some(true), &mut good, &mut bad) {
                Some(slot) => Graph::Node(Node::Slot(slot)),
                None => Graph::Node(Node::Named(n.clone())),
            },
            oxrdf::GraphName::BlankNode(b) => Graph::Node(Node::Blank(b.clone())),
        };
        template.push(TemplateQuad { subject, predicate: quad.predicate.clone(), object, graph });
    }
    if unusable {
        return Analysis::Unusable;
    }
    let keep: Vec<usize> = (0..slots.len()).filter(|&i| !kept[i] && (bad[i] || !good[i])).collect();
    if keep.is_empty() { Analysis::Verified(Template { quads: template, fast: None }) } else { Analysis::Keep(keep) }
}

impl Template {
    pub fn quads(&self) -> &[TemplateQuad] {
        &self.quads
    }

    pub fn fast(&self) -> Option<&super::fast::Rendered> {
        self.fast.as_ref()
    }

    pub fn set_fast(&mut self, rendered: super::fast::Rendered) {
        self.fast = Some(rendered);
    }

    /// Builds the dataset for a document of this shape.
    pub fn instantiate(&self, slots: &[Slot<'_>]) -> Dataset {
        fn node<'t>(node: &'t Node, slots: &'t [Slot<'_>]) -> NamedOrBlankNodeRef<'t> {
            match node {
                Node::Named(n) => n.as_ref().into(),
                Node::Blank(b) => b.as_ref().into(),
                // Checked with oxiri at scan time (`iri_like`), as NamedNode::new would.
                Node::Slot(slot) => NamedNodeRef::new_unchecked(&slots[*slot].value).into(),
            }
        }
        let value = |slot: usize| -> &str { &slots[slot].value };
        let mut dataset = Dataset::new();
        for quad in &self.quads {
            let object: TermRef<'_> = match &quad.object {
                Object::Node(n) => node(n, slots).into(),
                Object::Literal(l) => l.as_ref().into(),
                Object::SlotLiteral { slot, datatype, language: Some(language) } => {
                    let _ = datatype; // rdf:langString
                    LiteralRef::new_language_tagged_literal_unchecked(value(*slot), language).into()
                }
                Object::SlotLiteral { slot, datatype, language: None } => {
                    LiteralRef::new_typed_literal(value(*slot), datatype.as_ref()).into()
                }
            };
            let graph_name = match &quad.graph {
                Graph::Default => GraphNameRef::DefaultGraph,
                Graph::Node(n) => match node(n, slots) {
                    NamedOrBlankNodeRef::NamedNode(n) => n.into(),
                    NamedOrBlankNodeRef::BlankNode(b) => b.into(),
                },
            };
            dataset.insert(QuadRef::new(node(&quad.subject, slots), quad.predicate.as_ref(), object, graph_name));
        }
        dataset
    }
}

/// The key of a template: the shape plus the values it keeps.
pub(crate) fn template_key(shape: &[u8], slots: &[Slot<'_>], kept: &[usize]) -> Vec<u8> {
    let extra: usize = kept.iter().map(|&i| slots[i].value.len() + 8).sum();
    let mut key = Vec::with_capacity(shape.len() + extra + 1);
    key.extend_from_slice(shape);
    key.push(0);
    for &i in kept {
        let value: &Cow<'_, str> = &slots[i].value;
        key.extend_from_slice(&u32::try_from(i).unwrap_or(u32::MAX).to_le_bytes());
        key.extend_from_slice(&u32::try_from(value.len()).unwrap_or(u32::MAX).to_le_bytes());
        key.extend_from_slice(value.as_bytes());
    }
    key
}

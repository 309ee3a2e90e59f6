//! RDFC-1.0 and the canonical N-Quads serialisation of its result.
//!
//! Blank nodes are labelled by oxrdf when every first-degree hash is unique,
//! and by `rdfc` otherwise (see there why).

use super::{JsonLdError, Limits};
use oxrdf::dataset::{CanonicalizationAlgorithm, CanonicalizationHashAlgorithm};
use oxrdf::{BlankNodeRef, Dataset, GraphNameRef, NamedOrBlankNodeRef, TermRef};
use std::collections::HashMap;
use std::fmt::Write;
use std::hash::{DefaultHasher, Hash, Hasher};

/// Canonical N-Quads: one line per quad, each ending in `" .\n"`, sorted by
/// code point, duplicates removed.
pub(crate) fn canonical_nquads(dataset: &Dataset, limits: &Limits) -> Result<String, JsonLdError> {
    canonical_nquads_with(dataset, limits, false)
}

/// `always_spec_path`: label with `rdfc` even where oxrdf would be exact (tests).
pub(crate) fn canonical_nquads_with(
    dataset: &Dataset,
    limits: &Limits,
    always_spec_path: bool,
) -> Result<String, JsonLdError> {
    let unique = guard_against_poisoning(dataset, limits)?;
    let labels: HashMap<BlankNodeRef<'_>, String> = if unique && !always_spec_path {
        dataset
            .canonicalize_blank_nodes(CanonicalizationAlgorithm::Rdfc10 {
                hash_algorithm: CanonicalizationHashAlgorithm::Sha256,
            })
            .into_iter()
            .map(|(node, label)| (node, label.into_string()))
            .collect()
    } else {
        super::rdfc::canonical_labels(dataset, limits)?
    };
    let mut lines: Vec<String> = Vec::with_capacity(dataset.len());
    for quad in dataset.iter() {
        let mut line = String::with_capacity(128);
        write_node(&mut line, quad.subject, &labels);
        let _ = write!(line, " {} ", quad.predicate);
        match quad.object {
            TermRef::NamedNode(n) => {
                let _ = write!(line, "{n}");
            }
            TermRef::BlankNode(b) => write_blank(&mut line, b, &labels),
            TermRef::Literal(l) => {
                let _ = write!(line, "{l}");
            }
        }
        match quad.graph_name {
            GraphNameRef::DefaultGraph => {}
            GraphNameRef::NamedNode(n) => {
                let _ = write!(line, " {n}");
            }
            GraphNameRef::BlankNode(b) => {
                line.push(' ');
                write_blank(&mut line, b, &labels);
            }
        }
        line.push_str(" .\n");
        lines.push(line);
    }
    // Code point order of the lines equals the byte order of their UTF-8.
    lines.sort_unstable();
    lines.dedup();
    Ok(lines.concat())
}

fn write_node(out: &mut String, node: NamedOrBlankNodeRef<'_>, labels: &HashMap<BlankNodeRef<'_>, String>) {
    match node {
        NamedOrBlankNodeRef::NamedNode(n) => {
            let _ = write!(out, "{n}");
        }
        NamedOrBlankNodeRef::BlankNode(b) => write_blank(out, b, labels),
    }
}

fn write_blank(out: &mut String, node: BlankNodeRef<'_>, labels: &HashMap<BlankNodeRef<'_>, String>) {
    match labels.get(&node) {
        Some(label) => {
            out.push_str("_:");
            out.push_str(label);
        }
        None => {
            let _ = write!(out, "{node}");
        }
    }
}

/// RDFC-1.0 is exponential in the number of blank nodes it cannot tell apart
/// ("dataset poisoning", RDFC-1.0 §4.8). Refuse such inputs before running it:
/// bound the number of blank nodes and the size of every group of blank nodes
/// whose own quads look alike (an over-approximation of equal first-degree
/// hashes, so the check never lets a poisoned group through).
///
/// Returns whether every blank node's first-degree hash is unique, in which
/// case RDFC-1.0 never runs its n-degree step.
fn guard_against_poisoning(dataset: &Dataset, limits: &Limits) -> Result<bool, JsonLdError> {
    let mut signatures: HashMap<BlankNodeRef<'_>, u64> = HashMap::new();
    for quad in dataset.iter() {
        let blank_subject = match quad.subject {
            NamedOrBlankNodeRef::BlankNode(b) => Some(b),
            NamedOrBlankNodeRef::NamedNode(_) => None,
        };
        let blank_object = match quad.object {
            TermRef::BlankNode(b) => Some(b),
            _ => None,
        };
        let blank_graph = match quad.graph_name {
            GraphNameRef::BlankNode(b) => Some(b),
            _ => None,
        };
        if blank_subject.is_none() && blank_object.is_none() && blank_graph.is_none() {
            continue;
        }
        // Hash the quad with every blank node replaced by its role, as the
        // first-degree hash does ("_:a" for the node itself, "_:z" otherwise).
        for (own, role) in [(blank_subject, 0u8), (blank_object, 1), (blank_graph, 2)] {
            let Some(own) = own else { continue };
            let mut hasher = DefaultHasher::new();
            role.hash(&mut hasher);
            match quad.subject {
                NamedOrBlankNodeRef::NamedNode(n) => n.as_str().hash(&mut hasher),
                NamedOrBlankNodeRef::BlankNode(b) => (b == own).hash(&mut hasher),
            }
            quad.predicate.as_str().hash(&mut hasher);
            match quad.object {
                TermRef::NamedNode(n) => n.as_str().hash(&mut hasher),
                TermRef::BlankNode(b) => (b == own).hash(&mut hasher),
                TermRef::Literal(l) => {
                    l.value().hash(&mut hasher);
                    l.datatype().as_str().hash(&mut hasher);
                    l.language().hash(&mut hasher);
                }
            }
            match quad.graph_name {
                GraphNameRef::DefaultGraph => 0u8.hash(&mut hasher),
                GraphNameRef::NamedNode(n) => n.as_str().hash(&mut hasher),
                GraphNameRef::BlankNode(b) => (b == own).hash(&mut hasher),
            }
            let signature = signatures.entry(own).or_insert(0);
            *signature = signature.wrapping_add(hasher.finish()); // order-independent
        }
    }
    if signatures.len() > limits.max_blank_nodes {
        return Err(JsonLdError::TooManyBlankNodes { count: signatures.len(), limit: limits.max_blank_nodes });
    }
    let mut groups: HashMap<u64, usize> = HashMap::new();
    let mut all_unique = true;
    for signature in signatures.values() {
        let size = groups.entry(*signature).or_insert(0);
        *size += 1;
        all_unique &= *size == 1;
        if *size > limits.max_indistinguishable_blank_nodes {
            return Err(JsonLdError::IndistinguishableBlankNodes {
                count: *size,
                limit: limits.max_indistinguishable_blank_nodes,
            });
        }
    }
    Ok(all_unique)
}

//! RDFC-1.0 blank node labelling for datasets whose blank nodes do not all
//! have distinct first-degree hashes, i.e. where the "Hash N-Degree Quads"
//! step runs (<https://www.w3.org/TR/rdf-canon/#hash-nd-quads>).
//!
//! Why zegel has this at all: in step 3.1.2 the spec adds the related blank
//! node to the hash's *list* once per quad that relates it. jsonld.js
//! (rdf-canonize, which the verifiers most wallets use run) and PyLD keep those
//! duplicates; oxrdf 0.3.5 collects them in a set. Where a blank node is
//! related through several quads (for example the blank graph name of an
//! embedded proof) and n-degree hashing is needed, the two disagree and
//! signatures made by one do not verify in the other; 1EdTech's own
//! `complete.json` fixture is such a case. The W3C test suite does not cover
//! it, and oxrdf passes the suite. zegel therefore uses oxrdf whenever every
//! first-degree hash is unique (the n-degree step never runs, so the results
//! are identical), and this implementation of the spec, with list semantics,
//! otherwise. Tests compare it with oxrdf on the unique case and with
//! jsonld.js output on the other.

use super::{JsonLdError, Limits};
use oxrdf::{BlankNodeRef, Dataset, GraphNameRef, NamedOrBlankNodeRef, QuadRef, TermRef};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

/// Canonical labels (`c14n0`, `c14n1`, …) for every blank node of `dataset`.
pub(crate) fn canonical_labels<'a>(
    dataset: &'a Dataset,
    limits: &Limits,
) -> Result<HashMap<BlankNodeRef<'a>, String>, JsonLdError> {
    let state = State::new(dataset);
    let mut canonical = Issuer::new("c14n");

    // Steps 2-4: first-degree hashes; unique ones are labelled in hash order.
    let mut by_hash: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (node, hash) in state.first_degree.iter().enumerate() {
        by_hash.entry(hash.as_str()).or_default().push(node);
    }
    for nodes in by_hash.values() {
        if let [node] = nodes.as_slice() {
            canonical.issue(*node);
        }
    }
    // jsonld.js (rdf-canonize) allows as many n-degree hashings as there are
    // blank nodes without a unique hash, and refuses documents that need
    // more; zegel does the same, so it never signs what verifiers refuse.
    let non_unique = by_hash.values().filter(|nodes| nodes.len() > 1).map(Vec::len).sum::<usize>();
    let budget = non_unique.saturating_pow(limits.canonicalization_work_factor).min(limits.max_canonicalization_steps);
    let too_complex = |_| JsonLdError::TooComplex(budget);
    let mut work = budget;
    // Step 5: the rest, group by group in hash order.
    for nodes in by_hash.values().filter(|nodes| nodes.len() > 1) {
        let mut results: Vec<(String, Issuer)> = Vec::new();
        for &node in nodes {
            if canonical.get(node).is_some() {
                continue;
            }
            let mut temporary = Issuer::new("b");
            temporary.issue(node);
            results.push(state.hash_n_degree(node, &temporary, &canonical, &mut work).map_err(too_complex)?);
        }
        results.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, issuer) in results {
            for node in issuer.order {
                canonical.issue(node);
            }
        }
    }
    Ok(state
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| (*node, canonical.get(i).unwrap_or_default().to_owned()))
        .collect())
}

/// Issues identifiers with a prefix, remembering the order of issue.
#[derive(Clone)]
struct Issuer {
    prefix: &'static str,
    ids: HashMap<usize, String>,
    order: Vec<usize>,
}

impl Issuer {
    fn new(prefix: &'static str) -> Self {
        Self { prefix, ids: HashMap::new(), order: Vec::new() }
    }

    fn get(&self, node: usize) -> Option<&str> {
        self.ids.get(&node).map(String::as_str)
    }

    /// Returns the identifier, and whether it was new.
    fn issue(&mut self, node: usize) -> (String, bool) {
        if let Some(id) = self.ids.get(&node) {
            return (id.clone(), false);
        }
        let id = format!("{}{}", self.prefix, self.order.len());
        self.ids.insert(node, id.clone());
        self.order.push(node);
        (id, true)
    }
}

struct State<'a> {
    quads: Vec<QuadRef<'a>>,
    nodes: Vec<BlankNodeRef<'a>>,
    index: HashMap<BlankNodeRef<'a>, usize>,
    /// For each blank node, the quads that mention it (each quad once).
    quads_of: Vec<Vec<usize>>,
    first_degree: Vec<String>,
}

impl<'a> State<'a> {
    fn new(dataset: &'a Dataset) -> Self {
        let quads: Vec<QuadRef<'a>> = dataset.iter().collect();
        let mut nodes = Vec::new();
        let mut index: HashMap<BlankNodeRef<'a>, usize> = HashMap::new();
        let mut quads_of: Vec<Vec<usize>> = Vec::new();
        for (q, quad) in quads.iter().enumerate() {
            for node in blank_nodes(quad).into_iter().flatten() {
                let i = *index.entry(node).or_insert_with(|| {
                    nodes.push(node);
                    quads_of.push(Vec::new());
                    nodes.len() - 1
                });
                if quads_of[i].last() != Some(&q) {
                    quads_of[i].push(q);
                }
            }
        }
        let mut state = Self { quads, nodes, index, quads_of, first_degree: Vec::new() };
        state.first_degree = (0..state.nodes.len()).map(|n| state.hash_first_degree(n)).collect();
        state
    }

    /// Hash First Degree Quads (§4.6.3): the node's quads with itself as
    /// `_:a` and every other blank node as `_:z`, sorted, hashed.
    fn hash_first_degree(&self, node: usize) -> String {
        let me = self.nodes[node];
        let mut lines: Vec<String> = self.quads_of[node]
            .iter()
            .map(|&q| {
                let quad = &self.quads[q];
                let mut line = String::with_capacity(96);
                let blank = |b: BlankNodeRef<'_>| if b == me { "_:a" } else { "_:z" };
                match quad.subject {
                    NamedOrBlankNodeRef::NamedNode(n) => write!(line, "{n}").unwrap_or_default(),
                    NamedOrBlankNodeRef::BlankNode(b) => line.push_str(blank(b)),
                }
                write!(line, " {} ", quad.predicate).unwrap_or_default();
                match quad.object {
                    TermRef::BlankNode(b) => line.push_str(blank(b)),
                    TermRef::NamedNode(n) => write!(line, "{n}").unwrap_or_default(),
                    TermRef::Literal(l) => write!(line, "{l}").unwrap_or_default(),
                }
                match quad.graph_name {
                    GraphNameRef::DefaultGraph => {}
                    GraphNameRef::NamedNode(n) => write!(line, " {n}").unwrap_or_default(),
                    GraphNameRef::BlankNode(b) => {
                        line.push(' ');
                        line.push_str(blank(b));
                    }
                }
                line.push_str(" .\n");
                line
            })
            .collect();
        lines.sort_unstable();
        sha256_hex(lines.concat().as_bytes())
    }

    /// Hash Related Blank Node (§4.7.3).
    fn hash_related(&self, related: usize, quad: usize, position: char, issuer: &Issuer, canonical: &Issuer) -> String {
        let mut input = String::with_capacity(128);
        input.push(position);
        if position != 'g' {
            write!(input, "{}", self.quads[quad].predicate).unwrap_or_default();
        }
        match canonical.get(related).or_else(|| issuer.get(related)) {
            Some(id) => {
                input.push_str("_:");
                input.push_str(id);
            }
            None => input.push_str(&self.first_degree[related]),
        }
        sha256_hex(input.as_bytes())
    }

    /// Hash N-Degree Quads (§4.8.3), with the related nodes of each hash kept
    /// as a list (one entry per relating quad).
    fn hash_n_degree(
        &self,
        node: usize,
        issuer: &Issuer,
        canonical: &Issuer,
        work: &mut usize,
    ) -> Result<(String, Issuer), JsonLdError> {
        *work = work.checked_sub(1).ok_or(JsonLdError::TooComplex(0))?;
        let mut issuer = issuer.clone();
        // Steps 1-3.
        let mut related_by_hash: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for &q in &self.quads_of[node] {
            let quad = &self.quads[q];
            for (component, position) in blank_nodes(quad).into_iter().zip(['s', 'o', 'g']) {
                let Some(component) = component else { continue };
                let related = self.index[&component];
                if related == node {
                    continue;
                }
                let hash = self.hash_related(related, q, position, &issuer, canonical);
                related_by_hash.entry(hash).or_default().push(related);
            }
        }
        // Steps 4-5.
        let mut data = String::new();
        for (related_hash, mut list) in related_by_hash {
            data.push_str(&related_hash);
            let mut chosen_path = String::new();
            let mut chosen_issuer: Option<Issuer> = None;
            list.sort_unstable();
            loop {
                if let Some((path, candidate)) = self.try_permutation(&list, &issuer, canonical, &chosen_path, work)?
                    && (chosen_path.is_empty() || path < chosen_path)
                {
                    chosen_path = path;
                    chosen_issuer = Some(candidate);
                }
                // Distinct permutations only: repeating a duplicate cannot
                // produce a path that was not already tried.
                if !next_permutation(&mut list) {
                    break;
                }
            }
            data.push_str(&chosen_path);
            if let Some(chosen) = chosen_issuer {
                issuer = chosen;
            }
        }
        Ok((sha256_hex(data.as_bytes()), issuer))
    }

    /// Steps 5.4.1-5.4.5 for one permutation; `None` when it cannot beat `chosen`.
    fn try_permutation(
        &self,
        permutation: &[usize],
        issuer: &Issuer,
        canonical: &Issuer,
        chosen: &str,
        work: &mut usize,
    ) -> Result<Option<(String, Issuer)>, JsonLdError> {
        let worse = |path: &str| !chosen.is_empty() && path.len() >= chosen.len() && path > chosen;
        let mut issuer_copy = issuer.clone();
        let mut path = String::new();
        let mut recursion = Vec::new();
        for &related in permutation {
            if let Some(id) = canonical.get(related) {
                path.push_str("_:");
                path.push_str(id);
            } else {
                let (id, new) = issuer_copy.issue(related);
                if new {
                    recursion.push(related);
                }
                path.push_str("_:");
                path.push_str(&id);
            }
            if worse(&path) {
                return Ok(None);
            }
        }
        for related in recursion {
            let (hash, result_issuer) = self.hash_n_degree(related, &issuer_copy, canonical, work)?;
            let (id, _) = issuer_copy.issue(related);
            path.push_str("_:");
            path.push_str(&id);
            path.push('<');
            path.push_str(&hash);
            path.push('>');
            issuer_copy = result_issuer;
            if worse(&path) {
                return Ok(None);
            }
        }
        Ok(Some((path, issuer_copy)))
    }
}

/// The blank nodes of a quad as (subject, object, graph name).
fn blank_nodes<'a>(quad: &QuadRef<'a>) -> [Option<BlankNodeRef<'a>>; 3] {
    [
        match quad.subject {
            NamedOrBlankNodeRef::BlankNode(b) => Some(b),
            NamedOrBlankNodeRef::NamedNode(_) => None,
        },
        match quad.object {
            TermRef::BlankNode(b) => Some(b),
            _ => None,
        },
        match quad.graph_name {
            GraphNameRef::BlankNode(b) => Some(b),
            _ => None,
        },
    ]
}

/// The next lexicographic permutation (false when `items` was the last).
fn next_permutation(items: &mut [usize]) -> bool {
    let Some(pivot) = (1..items.len()).rev().find(|&i| items[i - 1] < items[i]) else {
        return false;
    };
    let successor = (pivot..items.len()).rev().find(|&i| items[i] > items[pivot - 1]).unwrap_or(pivot);
    items.swap(pivot - 1, successor);
    items[pivot..].reverse();
    true
}

fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        write!(out, "{b:02x}").unwrap_or_default();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutations_of_a_multiset_are_each_visited_once() {
        let mut items = vec![1, 1, 2];
        let mut seen = vec![items.clone()];
        while next_permutation(&mut items) {
            seen.push(items.clone());
        }
        assert_eq!(seen, vec![vec![1, 1, 2], vec![1, 2, 1], vec![2, 1, 1]]);
        let mut items = vec![0, 1, 2, 3];
        let mut count = 1;
        while next_permutation(&mut items) {
            count += 1;
        }
        assert_eq!(count, 24);
        let mut same = vec![7, 7, 7, 7, 7, 7];
        assert!(!next_permutation(&mut same));
    }
}

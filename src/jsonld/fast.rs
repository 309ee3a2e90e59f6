//! Canonical N-Quads straight from a template, for documents whose blank
//! nodes RDFC-1.0 tells apart by their first-degree hashes alone.
//!
//! In that case RDFC-1.0 is: hash each blank node's quads (itself as `_:a`,
//! others as `_:z`, lines sorted), label blank nodes `c14n0…` in hash order,
//! write every quad with those labels, sort the lines (RDFC-1.0 §4.4 steps
//! 2–4 and 7; the n-degree step 5 never runs). Building an indexed dataset
//! for that costs more than the work itself, so this renders the template's
//! quads once per document, with the constant terms pre-rendered per shape.
//! Anything else (equal first-degree hashes) returns `None` and takes the
//! general path (`nquads`). Each template's result is compared with the
//! general path when the template is learned (`Canonicalizer::learn`).

use super::scan::Slot;
use super::template::{Graph, Node, Object, Template};
use oxrdf::{BlankNode, LiteralRef, NamedNode};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt::Write;

enum Piece {
    Text(String),
    Blank(usize),
    Iri(usize),
    Literal { slot: usize, datatype: NamedNode, language: Option<String> },
}

/// A template's quads as pre-rendered canonical N-Quads pieces.
pub(crate) struct Rendered {
    quads: Vec<Vec<Piece>>,
    /// Per blank node, the template quads that mention it.
    quads_of: Vec<Vec<usize>>,
}

/// One quad of one document: its line without blank node labels, and where
/// each blank node's label goes.
struct Line {
    text: String,
    blanks: Vec<(usize, usize)>,
}

impl Line {
    fn with_labels<'a>(&self, label: impl Fn(usize) -> &'a str) -> String {
        let extra: usize = self.blanks.iter().map(|&(_, b)| label(b).len()).sum();
        let mut out = String::with_capacity(self.text.len() + extra);
        let mut at = 0;
        for &(position, blank) in &self.blanks {
            out.push_str(&self.text[at..position]);
            out.push_str(label(blank));
            at = position;
        }
        out.push_str(&self.text[at..]);
        out
    }
}

impl Rendered {
    pub fn new(template: &Template) -> Self {
        let mut blank_index: HashMap<BlankNode, usize> = HashMap::new();
        let mut quads_of: Vec<Vec<usize>> = Vec::new();
        let mut quads = Vec::with_capacity(template.quads().len());
        for (q, quad) in template.quads().iter().enumerate() {
            let mut pieces: Vec<Piece> = Vec::with_capacity(8);
            let mut blank = |b: &BlankNode, pieces: &mut Vec<Piece>| {
                let next = blank_index.len();
                let index = *blank_index.entry(b.clone()).or_insert(next);
                if index == quads_of.len() {
                    quads_of.push(Vec::new());
                }
                if quads_of[index].last() != Some(&q) {
                    quads_of[index].push(q);
                }
                pieces.push(Piece::Blank(index));
            };
            let mut node = |n: &Node, pieces: &mut Vec<Piece>| match n {
                Node::Named(n) => text(pieces, &n.to_string()),
                Node::Blank(b) => blank(b, pieces),
                Node::Slot(slot) => pieces.push(Piece::Iri(*slot)),
            };
            node(&quad.subject, &mut pieces);
            text(&mut pieces, &format!(" {} ", quad.predicate));
            match &quad.object {
                Object::Node(n) => node(n, &mut pieces),
                Object::Literal(l) => text(&mut pieces, &l.to_string()),
                Object::SlotLiteral { slot, datatype, language } => {
                    pieces.push(Piece::Literal { slot: *slot, datatype: datatype.clone(), language: language.clone() })
                }
            }
            if let Graph::Node(g) = &quad.graph {
                text(&mut pieces, " ");
                node(g, &mut pieces);
            }
            text(&mut pieces, " .\n");
            quads.push(pieces);
        }
        Self { quads, quads_of }
    }

    /// The canonical N-Quads, or `None` when two blank nodes share a
    /// first-degree hash.
    pub fn canonical_nquads(&self, slots: &[Slot<'_>]) -> Option<String> {
        let lines: Vec<Line> = self.quads.iter().map(|pieces| render(pieces, slots)).collect();
        // A quad the document states twice (equal values in two slots) counts once.
        let mut distinct: Vec<bool> = vec![true; lines.len()];
        let mut order: Vec<usize> = (0..lines.len()).collect();
        order.sort_unstable_by(|&a, &b| (&lines[a].text, &lines[a].blanks).cmp(&(&lines[b].text, &lines[b].blanks)));
        for pair in order.windows(2) {
            if lines[pair[0]].text == lines[pair[1]].text && lines[pair[0]].blanks == lines[pair[1]].blanks {
                distinct[pair[1]] = false;
            }
        }

        // First-degree hashes (RDFC-1.0 §4.6.3).
        let mut hashes: Vec<([u8; 32], usize)> = Vec::with_capacity(self.quads_of.len());
        let mut node_lines: Vec<String> = Vec::new();
        for (node, quads) in self.quads_of.iter().enumerate() {
            node_lines.clear();
            node_lines.extend(
                quads
                    .iter()
                    .filter(|&&q| distinct[q])
                    .map(|&q| lines[q].with_labels(|b| if b == node { "_:a" } else { "_:z" })),
            );
            node_lines.sort_unstable();
            let mut hasher = Sha256::new();
            node_lines.iter().for_each(|line| hasher.update(line.as_bytes()));
            hashes.push((hasher.finalize().into(), node));
        }
        // Byte order of the digests is the code point order of their hex.
        hashes.sort_unstable();
        if hashes.windows(2).any(|pair| pair[0].0 == pair[1].0) {
            return None;
        }
        let mut labels: Vec<String> = vec![String::new(); hashes.len()];
        for (rank, &(_, node)) in hashes.iter().enumerate() {
            labels[node] = format!("_:c14n{rank}");
        }

        let mut canonical: Vec<String> = lines
            .iter()
            .zip(&distinct)
            .filter(|(_, d)| **d)
            .map(|(line, _)| line.with_labels(|b| &labels[b]))
            .collect();
        canonical.sort_unstable();
        Some(canonical.concat())
    }
}

fn text(pieces: &mut Vec<Piece>, s: &str) {
    if let Some(Piece::Text(last)) = pieces.last_mut() {
        last.push_str(s);
    } else {
        pieces.push(Piece::Text(s.to_owned()));
    }
}

fn render(pieces: &[Piece], slots: &[Slot<'_>]) -> Line {
    let mut line = Line { text: String::with_capacity(160), blanks: Vec::new() };
    for piece in pieces {
        match piece {
            Piece::Text(s) => line.text.push_str(s),
            Piece::Blank(b) => line.blanks.push((line.text.len(), *b)),
            Piece::Iri(slot) => {
                // Checked with oxiri at scan time (`Slot::iri_like`); IRIs need no escaping.
                line.text.push('<');
                line.text.push_str(&slots[*slot].value);
                line.text.push('>');
            }
            Piece::Literal { slot, datatype, language } => {
                let value = &slots[*slot].value;
                let literal = match language {
                    Some(language) => LiteralRef::new_language_tagged_literal_unchecked(value, language),
                    None => LiteralRef::new_typed_literal(value, datatype.as_ref()),
                };
                // oxrdf writes literals in canonical N-Quads form (escapes included).
                let _ = write!(line.text, "{literal}");
            }
        }
    }
    line
}

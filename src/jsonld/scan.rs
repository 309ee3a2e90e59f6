//! One pass over the raw JSON bytes, with the same tokenizer oxjsonld uses.
//!
//! The walk splits a document into its *shape* (structure, keys, numbers,
//! booleans, every `@context` verbatim) and its *slots* (all other string
//! values, in document order). Canonicalisation results are memoised per shape
//! (see `template.rs`). The walk also enforces the input limits and the
//! checks that need the raw text: duplicate members, keyword-like keys and the
//! nesting depth.

use super::{DataLossIssue, JsonLdError};
use json_event_parser::{JsonEvent, SliceJsonParser};
use std::borrow::Cow;
use std::collections::HashSet;

/// JSON-LD 1.1 keywords.
const KEYWORDS: &[&str] = &[
    "@base",
    "@container",
    "@context",
    "@direction",
    "@graph",
    "@id",
    "@import",
    "@included",
    "@index",
    "@json",
    "@language",
    "@list",
    "@nest",
    "@none",
    "@prefix",
    "@propagate",
    "@protected",
    "@reverse",
    "@set",
    "@type",
    "@value",
    "@version",
    "@vocab",
];

/// A token of the walk, with its role for canonicalisation.
pub(crate) enum Token<'a> {
    StartObject,
    EndObject,
    StartArray,
    EndArray,
    Key(Cow<'a, str>),
    /// A string value outside any `@context`: a slot, with its index.
    Slot(usize, Cow<'a, str>),
    /// A scalar that is part of the shape (numbers, booleans, null, strings inside `@context`).
    Fixed(JsonEvent<'a>),
}

pub(crate) struct Slot<'a> {
    pub value: Cow<'a, str>,
    /// The value is an absolute IRI that no context could rewrite, so wherever
    /// JSON-LD treats it as an IRI it stays exactly itself.
    pub iri_like: bool,
    /// Held by a key that usually steers processing (`type`, keywords): start
    /// by keeping its value in the shape instead of learning that it must be.
    pub steering: bool,
}

pub(crate) struct Scan<'a> {
    /// Structure, keys and fixed values; strings carry a length prefix so no
    /// two different shapes encode alike.
    pub shape: Vec<u8>,
    pub slots: Vec<Slot<'a>>,
    pub issues: Vec<DataLossIssue>,
    pub has_top_level_context: bool,
}

#[derive(Clone, Copy)]
pub(crate) struct WalkOptions {
    pub skip_top_level_proof: bool,
    pub max_depth: usize,
}

enum Frame<'a> {
    Object { in_context: bool, keys: Keys<'a>, pending: Option<Cow<'a, str>> },
    Array { in_context: bool, owner: Option<Cow<'a, str>> },
}

/// Member names seen in one object, for duplicate detection.
#[derive(Default)]
struct Keys<'a> {
    small: Vec<Cow<'a, str>>,
    large: Option<HashSet<Cow<'a, str>>>,
}

impl<'a> Keys<'a> {
    /// Returns false when `key` was already present.
    fn insert(&mut self, key: Cow<'a, str>) -> bool {
        if let Some(large) = &mut self.large {
            return large.insert(key);
        }
        if self.small.contains(&key) {
            return false;
        }
        self.small.push(key);
        if self.small.len() > 16 {
            self.large = Some(self.small.drain(..).collect());
        }
        true
    }
}

/// Walks `json`, calling `emit` for every token. Returns whether the top-level
/// object has a `@context` member.
pub(crate) fn walk<'a>(
    json: &'a [u8],
    options: WalkOptions,
    issues: &mut Vec<DataLossIssue>,
    mut emit: impl FnMut(Token<'a>, Option<&str>),
) -> Result<bool, JsonLdError> {
    let mut parser = SliceJsonParser::new(json);
    let mut stack: Vec<Frame<'a>> = Vec::new();
    let mut slot_index = 0usize;
    let mut skip_depth: Option<usize> = None;
    let mut has_top_level_context = false;
    let mut seen_root = false;
    loop {
        let event = parser.parse_next().map_err(|e| json_error(json, &e))?;
        if matches!(event, JsonEvent::Eof) {
            break;
        }
        if stack.is_empty() {
            if seen_root {
                return Err(JsonLdError::Json("more than one JSON value".into()));
            }
            seen_root = true;
            if !matches!(event, JsonEvent::StartObject) {
                return Err(JsonLdError::NotAnObject);
            }
        }
        // Skipping the top-level `proof` member: only track nesting.
        if let Some(depth) = skip_depth {
            match event {
                JsonEvent::StartObject | JsonEvent::StartArray => skip_depth = Some(depth + 1),
                JsonEvent::EndObject | JsonEvent::EndArray => skip_depth = Some(depth - 1),
                _ => {}
            }
            if skip_depth == Some(0) {
                skip_depth = None;
                end_value(&mut stack);
            }
            continue;
        }
        // Where does this value sit?
        let (in_context, owner): (bool, Option<Cow<'a, str>>) = match stack.last() {
            None => (false, None),
            Some(Frame::Object { in_context, pending, .. }) => {
                (*in_context || pending.as_deref() == Some("@context"), pending.clone())
            }
            Some(Frame::Array { in_context, owner }) => (*in_context, owner.clone()),
        };
        match event {
            JsonEvent::StartObject | JsonEvent::StartArray => {
                if stack.len() >= options.max_depth {
                    return Err(JsonLdError::TooDeep(options.max_depth));
                }
                if matches!(event, JsonEvent::StartObject) {
                    emit(Token::StartObject, owner.as_deref());
                    stack.push(Frame::Object { in_context, keys: Keys::default(), pending: None });
                } else {
                    emit(Token::StartArray, owner.as_deref());
                    stack.push(Frame::Array { in_context, owner });
                }
            }
            JsonEvent::EndObject | JsonEvent::EndArray => {
                stack.pop();
                emit(if matches!(event, JsonEvent::EndObject) { Token::EndObject } else { Token::EndArray }, None);
                end_value(&mut stack);
            }
            JsonEvent::ObjectKey(key) => {
                let depth = stack.len();
                let Some(Frame::Object { in_context, keys, pending }) = stack.last_mut() else {
                    return Err(JsonLdError::Json("object key outside an object".into()));
                };
                if !keys.insert(key.clone()) {
                    return Err(JsonLdError::DuplicateKey(key.into_owned()));
                }
                if depth == 1 && options.skip_top_level_proof && key == "proof" {
                    *pending = Some(key);
                    // The value follows; start skipping at its first event.
                    let next = parser.parse_next().map_err(|e| JsonLdError::Json(e.message().to_owned()))?;
                    match next {
                        JsonEvent::StartObject | JsonEvent::StartArray => skip_depth = Some(1),
                        JsonEvent::Eof => return Err(JsonLdError::Json("unexpected end of input".into())),
                        _ => {
                            skip_depth = None;
                            end_value(&mut stack);
                        }
                    }
                    continue;
                }
                if depth == 1 && key == "@context" {
                    has_top_level_context = true;
                }
                if !*in_context && has_keyword_form(&key) && !KEYWORDS.contains(&key.as_ref()) {
                    issues.push(DataLossIssue::InvalidKeyword(key.to_string()));
                }
                // Base direction is turned into RDF differently by different
                // processors (and dropped by oxjsonld): never sign it.
                if key == "@direction" {
                    push_once(issues, DataLossIssue::BaseDirection);
                }
                emit(Token::Key(key.clone()), None);
                *pending = Some(key);
            }
            JsonEvent::String(value) if !in_context => {
                emit(Token::Slot(slot_index, value), owner.as_deref());
                slot_index += 1;
                end_value(&mut stack);
            }
            JsonEvent::String(value) => {
                // A context that makes a term an alias of @direction.
                if value == "@direction" {
                    push_once(issues, DataLossIssue::BaseDirection);
                }
                emit(Token::Fixed(JsonEvent::String(value)), owner.as_deref());
                end_value(&mut stack);
            }
            JsonEvent::Number(number) if !in_context => {
                if !is_portable_number(&number) {
                    issues.push(DataLossIssue::UnportableNumber(number.to_string()));
                }
                emit(Token::Fixed(JsonEvent::Number(number)), owner.as_deref());
                end_value(&mut stack);
            }
            scalar => {
                emit(Token::Fixed(scalar), owner.as_deref());
                end_value(&mut stack);
            }
        }
    }
    Ok(has_top_level_context)
}

/// The tokenizer's message, unless serde_json explains the same input better
/// (it names lone surrogates and bad escapes where the tokenizer sees "end of
/// file"). Only runs on the error path.
fn json_error(json: &[u8], error: &json_event_parser::JsonSyntaxError) -> JsonLdError {
    // A full parse: unlike IgnoredAny, it checks \u escapes (lone surrogates).
    if let Err(e) = serde_json::from_slice::<serde_json::Value>(json) {
        return JsonLdError::Json(e.to_string());
    }
    let at = error.location().start;
    JsonLdError::Json(format!("{} (line {}, column {})", error.message(), at.line + 1, at.column + 1))
}

fn end_value(stack: &mut [Frame<'_>]) {
    if let Some(Frame::Object { pending, .. }) = stack.last_mut() {
        *pending = None;
    }
}

fn push_once(issues: &mut Vec<DataLossIssue>, issue: DataLossIssue) {
    if !issues.contains(&issue) {
        issues.push(issue);
    }
}

/// Whether every JSON-LD processor in use writes this JSON number the same way
/// in RDF. oxjsonld works on the decimal text; jsonld.js (what most verifiers
/// run) on an IEEE double: integers as `toFixed(0)`, other numbers and
/// anything from 1e21 on as `toExponential(15)`, and "integer" means the
/// double's shortest form has no decimal point (so `1e-7` becomes `"0"`).
/// They agree for integers up to 2^53 and for other numbers with at most 15
/// significant digits and a magnitude from 1e-6 on; zegel refuses to sign
/// anything else.
pub(crate) fn is_portable_number(text: &str) -> bool {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => match e.parse::<i32>() {
            Ok(e) => (m, e),
            Err(_) => return false,
        },
        None => (unsigned, 0),
    };
    let (integer, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: String = format!("{integer}{fraction}");
    let significant = digits.trim_start_matches('0');
    if significant.is_empty() {
        return true; // zero
    }
    // Value = 0.<significant> × 10^point
    let leading_zeros = i64::try_from(digits.len() - significant.len()).unwrap_or(i64::MAX);
    let point = i64::try_from(integer.len()).unwrap_or(i64::MAX) - leading_zeros + i64::from(exponent);
    let significant = significant.trim_end_matches('0');
    let count = i64::try_from(significant.len()).unwrap_or(i64::MAX);
    if point >= count && point <= 21 {
        // An integer below 1e21: exact in a double up to 2^53 (16 digits at most).
        return point < 16 || (point == 16 && format!("{significant:0<16}").as_str() <= "9007199254740992");
    }
    // Written as a double (not an integer, or from 1e21 on): at most 15
    // significant digits, not below 1e-6.
    count <= 15 && point > -6
}

/// `@` followed by one or more ASCII letters (JSON-LD 1.1 §9.1 "keyword form").
fn has_keyword_form(key: &str) -> bool {
    key.len() > 1 && key.starts_with('@') && key[1..].bytes().all(|b| b.is_ascii_alphabetic())
}

/// Splits `json` into shape and slots.
pub(crate) fn scan<'a>(
    json: &'a [u8],
    options: WalkOptions,
    defines_term: impl Fn(&str) -> bool,
) -> Result<Scan<'a>, JsonLdError> {
    let mut shape: Vec<u8> = Vec::with_capacity(json.len() / 2);
    let mut slots: Vec<Slot<'a>> = Vec::new();
    let mut issues = Vec::new();
    let mut inline_terms: HashSet<String> = HashSet::new();
    let mut context_depth = 0usize; // >0 while inside a @context value
    let mut pending_context_key = false;
    let has_top_level_context = walk(json, options, &mut issues, |token, owner| {
        let entering_context = pending_context_key;
        pending_context_key = false;
        match token {
            Token::StartObject | Token::StartArray => {
                if context_depth > 0 || entering_context {
                    context_depth += 1;
                }
                shape.push(if matches!(token, Token::StartObject) { b'{' } else { b'[' });
            }
            Token::EndObject | Token::EndArray => {
                context_depth = context_depth.saturating_sub(1);
                shape.push(if matches!(token, Token::EndObject) { b'}' } else { b']' });
            }
            Token::Key(key) => {
                if context_depth > 0 && !key.starts_with('@') {
                    inline_terms.insert(key.to_string());
                }
                if context_depth == 0 && key == "@context" {
                    pending_context_key = true;
                }
                push_text(&mut shape, b'k', &key);
            }
            Token::Slot(_, value) => {
                shape.push(b's');
                let steering =
                    owner.is_some_and(|k| k == "type" || (k.starts_with('@') && k != "@id" && k != "@value"));
                slots.push(Slot { value, iri_like: false, steering });
            }
            Token::Fixed(event) => match event {
                JsonEvent::String(s) => push_text(&mut shape, b'S', &s),
                JsonEvent::Number(n) => push_text(&mut shape, b'n', &n),
                JsonEvent::Boolean(b) => shape.push(if b { b't' } else { b'f' }),
                JsonEvent::Null => shape.push(b'z'),
                _ => {}
            },
        }
    })?;
    // Classes are decided after the walk: inline contexts may come later.
    shape.push(0);
    for slot in &mut slots {
        slot.iri_like = is_iri_like(&slot.value, |t| defines_term(t) || inline_terms.contains(t));
        shape.push(if slot.iri_like { b'I' } else { b'T' });
    }
    Ok(Scan { shape, slots, issues, has_top_level_context })
}

/// `tag`, the length as 4 bytes, the text.
fn push_text(shape: &mut Vec<u8>, tag: u8, text: &str) {
    shape.push(tag);
    shape.extend_from_slice(&u32::try_from(text.len()).unwrap_or(u32::MAX).to_le_bytes());
    shape.extend_from_slice(text.as_bytes());
}

/// True when JSON-LD IRI expansion can only return `value` unchanged: an
/// absolute IRI whose scheme is not a term (so it is not a compact IRI) and
/// which is not itself a term (so `@vocab`-typed positions do not map it).
fn is_iri_like(value: &str, is_term: impl Fn(&str) -> bool) -> bool {
    let Some((scheme, _)) = value.split_once(':') else {
        return false;
    };
    !scheme.is_empty()
        && scheme != "_"
        && !value.starts_with('@')
        && !is_term(scheme)
        && !is_term(value)
        && oxiri::Iri::parse(value).is_ok()
}

/// Writes the document back as JSON, with each slot rendered by `slot`
/// (given its index and original value). `probe_vocab`, when given, is
/// prepended to the top-level `@context` (or becomes it) as `{"@vocab": …}`
/// so that the safe-mode probe can see undefined terms.
pub(crate) fn write_skeleton<'a>(
    json: &'a [u8],
    options: WalkOptions,
    has_top_level_context: bool,
    probe_vocab: Option<&str>,
    mut slot: impl FnMut(usize, &Cow<'a, str>) -> Cow<'a, str>,
) -> Result<Vec<u8>, JsonLdError> {
    let mut writer = SkeletonWriter {
        out: json_event_parser::WriterJsonSerializer::new(Vec::with_capacity(json.len() + 256)),
        error: None,
        depth: 0,
    };
    let mut issues = Vec::new();
    let mut context_value_next = false;
    let mut close_array_at_depth: Option<usize> = None;
    walk(json, options, &mut issues, |token, _| {
        if std::mem::take(&mut context_value_next)
            && let Some(probe) = probe_vocab
        {
            writer.event(JsonEvent::StartArray);
            writer.probe(probe);
            if matches!(token, Token::StartArray) {
                // The context is already an array: the probe is its first entry.
                writer.depth += 1;
                return;
            }
            close_array_at_depth = Some(writer.depth);
        }
        match token {
            Token::StartObject => {
                writer.event(JsonEvent::StartObject);
                if writer.depth == 0
                    && !has_top_level_context
                    && let Some(probe) = probe_vocab
                {
                    writer.event(JsonEvent::ObjectKey("@context".into()));
                    writer.probe(probe);
                }
                writer.depth += 1;
            }
            Token::StartArray => {
                writer.event(JsonEvent::StartArray);
                writer.depth += 1;
            }
            Token::EndObject => {
                writer.depth -= 1;
                writer.event(JsonEvent::EndObject);
            }
            Token::EndArray => {
                writer.depth -= 1;
                writer.event(JsonEvent::EndArray);
            }
            Token::Key(key) => {
                context_value_next = writer.depth == 1 && key == "@context";
                writer.event(JsonEvent::ObjectKey(key));
            }
            Token::Slot(index, value) => {
                let rendered = slot(index, &value);
                writer.event(JsonEvent::String(rendered));
            }
            Token::Fixed(event) => writer.event(event),
        }
        if close_array_at_depth == Some(writer.depth) {
            close_array_at_depth = None;
            writer.event(JsonEvent::EndArray);
        }
    })?;
    if let Some(e) = writer.error {
        return Err(JsonLdError::Json(e));
    }
    writer.out.finish().map_err(|e| JsonLdError::Json(e.to_string()))
}

struct SkeletonWriter {
    out: json_event_parser::WriterJsonSerializer<Vec<u8>>,
    error: Option<String>,
    depth: usize,
}

impl SkeletonWriter {
    fn event(&mut self, event: JsonEvent<'_>) {
        if let Err(e) = self.out.serialize_event(event) {
            self.error.get_or_insert(e.to_string());
        }
    }

    fn probe(&mut self, vocab: &str) {
        self.event(JsonEvent::StartObject);
        self.event(JsonEvent::ObjectKey("@vocab".into()));
        self.event(JsonEvent::String(vocab.into()));
        self.event(JsonEvent::EndObject);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_json_ld_processors_agree_on_are_portable() {
        for ok in [
            "0",
            "-0",
            "0.0",
            "5",
            "5.0",
            "-12",
            "2.5",
            "120.75",
            "0.1",
            "-0.0001",
            "1e2",
            "1.5e3",
            "1e21",
            "1.5E21",
            "9007199254740992",
            "-9007199254740992",
            "0.000001",
            "123456789012345",
            "1.23456789012345",
            "1.5e-6",
            "7.5",
        ] {
            assert!(is_portable_number(ok), "{ok}");
        }
        for bad in [
            "9007199254740993",
            "1e20",
            "100000000000000000000",
            "0.30000000000000004",
            "1.7976931348623157e308",
            "1e-7",
            "1.5e-7",
            "0.0000001",
            "1234567890123456.5",
            "3.1415926535897932",
        ] {
            assert!(!is_portable_number(bad), "{bad}");
        }
    }
}

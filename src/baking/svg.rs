//! The SVG side: just enough XML to find, replace and add the credential
//! element. A scanner gives tags, text and CDATA with their byte spans
//! (skipping the XML declaration, processing instructions, comments and
//! the DOCTYPE); a walk over it checks nesting, resolves namespace
//! prefixes as the document declares them, and finds every OB 3.0
//! `credential` element. No DTD is processed and no entity but XML's own
//! five and character references is expanded, so no document can make
//! zegel fetch anything or grow without bound.

use super::{Embedded, Found, OB3_NAMESPACE};
use std::borrow::Cow;
use std::ops::Range;

/// Deeper nesting than this is refused (real badges are a few levels deep).
const MAX_DEPTH: usize = 256;

/// The namespace of the Open Badges 2.0 `<openbadges:assertion>`.
const OB2_NAMESPACE: &str = "http://openbadges.org";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SvgError {
    #[error("the SVG image is not UTF-8 text")]
    NotUtf8,
    #[error("this is not an SVG image (its root element is not <svg>)")]
    NotSvg,
    #[error("the SVG image is not well-formed XML (at byte {at}): {what}")]
    Malformed { at: usize, what: &'static str },
    #[error("the SVG image nests elements more than {MAX_DEPTH} deep")]
    TooDeep,
}

fn malformed(at: usize, what: &'static str) -> SvgError {
    SvgError::Malformed { at, what }
}

/// A character XML 1.0 allows in a document (§2.2).
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

/// `text` for XML element content or an attribute value in either kind of
/// quotes: markup characters escaped, characters XML cannot carry at all
/// (most control characters) left out.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if is_xml_char(c) => out.push(c),
            _ => {}
        }
    }
    out
}

/// Text with its references expanded: `&lt;` `&gt;` `&amp;` `&quot;`
/// `&apos;` and `&#…;`/`&#x…;`. Any other entity is refused (it would need
/// the DTD, which zegel never reads).
fn unescape(raw: &str, at: usize) -> Result<Cow<'_, str>, SvgError> {
    if !raw.contains('&') {
        return Ok(Cow::Borrowed(raw));
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        let end = rest.find(';').ok_or_else(|| malformed(at, "an '&' that starts no reference"))?;
        let name = &rest[..end];
        let c = match name {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => match name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                Some(hex) => u32::from_str_radix(hex, 16).ok().and_then(char::from_u32),
                None => match name.strip_prefix('#') {
                    Some(decimal) => decimal.parse::<u32>().ok().and_then(char::from_u32),
                    None => return Err(malformed(at, "an entity other than XML's own (zegel reads no DTD)")),
                },
            },
        };
        match c.filter(|c| is_xml_char(*c)) {
            Some(c) => out.push(c),
            None => return Err(malformed(at, "a character reference to no XML character")),
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

// ---------------------------------------------------------------------------
// Scanning
// ---------------------------------------------------------------------------

#[derive(Debug)]
struct Tag<'a> {
    name: &'a str,
    /// (name, value as written: references not expanded).
    attributes: Vec<(&'a str, &'a str)>,
    /// `<x/>`.
    empty: bool,
    span: Range<usize>,
}

impl<'a> Tag<'a> {
    fn attribute(&self, name: &str) -> Option<&'a str> {
        self.attributes.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    /// The namespace declarations on this tag: (prefix, "" for the default
    /// namespace; URI as written).
    fn bindings(&self) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        self.attributes.iter().filter_map(|(name, value)| {
            if *name == "xmlns" {
                Some(("", *value))
            } else {
                name.strip_prefix("xmlns:").map(|prefix| (prefix, *value))
            }
        })
    }
}

#[derive(Debug)]
enum Event<'a> {
    Start(Tag<'a>),
    End { name: &'a str, span: Range<usize> },
    Text { raw: &'a str, at: usize },
    CData(&'a str),
}

struct Scanner<'a> {
    text: &'a str,
    at: usize,
}

/// Ends a name (XML names contain none of these).
fn ends_name(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b'/' | b'>' | b'=' | b'<' | b'"' | b'\'' | b'?' | b'!')
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        // A byte order mark is not part of the document.
        let at = if text.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
        Self { text, at }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// Moves past the next `end` (from the current position), or fails
    /// with `what`.
    fn skip_past(&mut self, from: usize, end: &str, what: &'static str) -> Result<(), SvgError> {
        match self.text[from..].find(end) {
            Some(i) => {
                self.at = from + i + end.len();
                Ok(())
            }
            None => Err(malformed(self.at, what)),
        }
    }

    fn skip_whitespace(&self, mut i: usize) -> usize {
        while self.bytes().get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        i
    }

    fn name(&self, start: usize) -> &'a str {
        let bytes = self.bytes();
        let mut end = start;
        while end < bytes.len() && !ends_name(bytes[end]) {
            end += 1;
        }
        // Names end at ASCII bytes, so this is a char boundary.
        &self.text[start..end]
    }

    /// `<!DOCTYPE …>` and other `<!…>` declarations, with an internal
    /// subset in brackets (quoted strings and comments in it may hold any
    /// of the characters that end it).
    fn skip_declaration(&mut self) -> Result<(), SvgError> {
        let bytes = self.bytes();
        let start = self.at;
        let mut i = start + 2;
        let mut depth = 0usize;
        while i < bytes.len() {
            match bytes[i] {
                b'"' | b'\'' => {
                    let quote = bytes[i];
                    i += 1;
                    while i < bytes.len() && bytes[i] != quote {
                        i += 1;
                    }
                }
                b'<' if bytes[i..].starts_with(b"<!--") => match self.text[i + 4..].find("-->") {
                    Some(end) => i += 4 + end + 2,
                    None => break,
                },
                b'[' => depth += 1,
                b']' => depth = depth.saturating_sub(1),
                b'>' if depth == 0 => {
                    self.at = i + 1;
                    return Ok(());
                }
                _ => {}
            }
            i += 1;
        }
        Err(malformed(start, "an unclosed declaration"))
    }

    fn start_tag(&mut self) -> Result<Tag<'a>, SvgError> {
        let bytes = self.bytes();
        let start = self.at;
        let name = self.name(start + 1);
        if name.is_empty() {
            return Err(malformed(start, "a '<' that starts no tag"));
        }
        let mut i = start + 1 + name.len();
        let mut attributes = Vec::new();
        loop {
            let after_space = self.skip_whitespace(i);
            match bytes.get(after_space) {
                None => return Err(malformed(start, "an unclosed tag")),
                Some(b'>') => {
                    self.at = after_space + 1;
                    break;
                }
                Some(b'/') if bytes.get(after_space + 1) == Some(&b'>') => {
                    self.at = after_space + 2;
                    return self.check(Tag { name, attributes, empty: true, span: start..self.at });
                }
                Some(_) if after_space == i => return Err(malformed(i, "no space before an attribute")),
                Some(_) => {}
            }
            let attribute = self.name(after_space);
            if attribute.is_empty() {
                return Err(malformed(after_space, "a character that starts no attribute"));
            }
            i = self.skip_whitespace(after_space + attribute.len());
            if bytes.get(i) != Some(&b'=') {
                return Err(malformed(i, "an attribute without a value"));
            }
            i = self.skip_whitespace(i + 1);
            let quote = match bytes.get(i) {
                Some(q @ (b'"' | b'\'')) => *q,
                _ => return Err(malformed(i, "an attribute value without quotes")),
            };
            let value_start = i + 1;
            let Some(length) = bytes[value_start..].iter().position(|&b| b == quote) else {
                return Err(malformed(i, "an unclosed attribute value"));
            };
            let value = &self.text[value_start..value_start + length];
            if value.contains('<') {
                return Err(malformed(value_start, "a '<' in an attribute value"));
            }
            attributes.push((attribute, value));
            i = value_start + length + 1;
        }
        self.check(Tag { name, attributes, empty: false, span: start..self.at })
    }

    /// No attribute twice.
    fn check(&self, tag: Tag<'a>) -> Result<Tag<'a>, SvgError> {
        let mut names: Vec<&str> = tag.attributes.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return Err(malformed(tag.span.start, "an attribute given twice"));
        }
        Ok(tag)
    }

    fn next(&mut self) -> Result<Option<Event<'a>>, SvgError> {
        loop {
            let at = self.at;
            let rest = &self.text[at..];
            if rest.is_empty() {
                return Ok(None);
            }
            if !rest.starts_with('<') {
                let end = rest.find('<').unwrap_or(rest.len());
                self.at += end;
                return Ok(Some(Event::Text { raw: &rest[..end], at }));
            }
            if rest.starts_with("<?") {
                self.skip_past(at + 2, "?>", "an unclosed processing instruction")?;
            } else if rest.starts_with("<!--") {
                self.skip_past(at + 4, "-->", "an unclosed comment")?;
            } else if let Some(body) = rest.strip_prefix("<![CDATA[") {
                let end = body.find("]]>").ok_or_else(|| malformed(at, "an unclosed CDATA section"))?;
                self.at = at + 9 + end + 3;
                return Ok(Some(Event::CData(&body[..end])));
            } else if rest.starts_with("<!") {
                self.skip_declaration()?;
            } else if rest.starts_with("</") {
                let name = self.name(at + 2);
                let close = self.skip_whitespace(at + 2 + name.len());
                if name.is_empty() || self.bytes().get(close) != Some(&b'>') {
                    return Err(malformed(at, "a malformed end tag"));
                }
                self.at = close + 1;
                return Ok(Some(Event::End { name, span: at..self.at }));
            } else {
                return self.start_tag().map(|tag| Some(Event::Start(tag)));
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The document
// ---------------------------------------------------------------------------

/// What a credential element holds.
#[derive(Debug)]
enum Content {
    /// The `verify` attribute (a compact JWS), expanded.
    Verify(String),
    /// The text and CDATA inside, expanded and joined.
    Text(String),
}

/// A credential element: where it is (start tag to end tag) and what it holds.
#[derive(Debug)]
struct CredentialElement {
    span: Range<usize>,
    content: Content,
}

/// What a walk over the document found.
#[derive(Debug)]
struct Document<'a> {
    root: Tag<'a>,
    credentials: Vec<CredentialElement>,
    /// An Open Badges 2.0 assertion element.
    ob2: bool,
}

/// An open element: its name and its namespace declarations.
struct Open<'a> {
    name: &'a str,
    bindings: Vec<(&'a str, Cow<'a, str>)>,
}

/// The namespace `prefix` ("" for none) is bound to, innermost first;
/// `None` when undeclared (and for no prefix without a default namespace).
fn resolve<'s>(open: &'s [Open<'_>], prefix: &str) -> Option<&'s str> {
    open.iter().rev().find_map(|o| o.bindings.iter().find(|(p, _)| *p == prefix).map(|(_, uri)| uri.as_ref()))
}

/// Whether `tag` (already pushed as the innermost open element) is the OB
/// 3.0 credential element. An undeclared `openbadges` prefix is taken to
/// mean OB 3.0's: a baker that forgot the declaration still made a badge.
fn is_credential(open: &[Open<'_>], tag: &Tag<'_>) -> bool {
    let (prefix, local) = tag.name.split_once(':').unwrap_or(("", tag.name));
    local == "credential"
        && match resolve(open, prefix) {
            Some(uri) => uri == OB3_NAMESPACE,
            None => prefix == "openbadges",
        }
}

fn is_ob2_assertion(open: &[Open<'_>], tag: &Tag<'_>) -> bool {
    let (prefix, local) = tag.name.split_once(':').unwrap_or(("", tag.name));
    local == "assertion" && resolve(open, prefix).is_some_and(|uri| uri.trim_end_matches('/') == OB2_NAMESPACE)
}

/// A credential element being read.
struct Reading {
    /// Its depth (the number of open elements with it).
    depth: usize,
    start: usize,
    content: Content,
}

fn walk(text: &str) -> Result<Document<'_>, SvgError> {
    let mut scanner = Scanner::new(text);
    let mut open: Vec<Open<'_>> = Vec::new();
    let mut root: Option<Tag<'_>> = None;
    let mut credentials = Vec::new();
    let mut ob2 = false;
    let mut reading: Option<Reading> = None;
    while let Some(event) = scanner.next()? {
        match event {
            Event::Start(tag) => {
                let at = tag.span.start;
                if open.is_empty() && root.is_some() {
                    return Err(malformed(at, "a second root element"));
                }
                if root.is_none() && tag.name.rsplit(':').next() != Some("svg") {
                    return Err(SvgError::NotSvg);
                }
                let bindings =
                    tag.bindings().map(|(p, uri)| Ok((p, unescape(uri, at)?))).collect::<Result<Vec<_>, _>>()?;
                open.push(Open { name: tag.name, bindings });
                if open.len() > MAX_DEPTH {
                    return Err(SvgError::TooDeep);
                }
                match &reading {
                    // A JWS in `verify`: what is inside does not count.
                    Some(Reading { content: Content::Verify(_), .. }) => {}
                    Some(Reading { content: Content::Text(_), .. }) => {
                        return Err(malformed(at, "an element inside the credential element"));
                    }
                    None if is_credential(&open, &tag) => {
                        let content = match tag.attribute("verify") {
                            Some(jws) => Content::Verify(unescape(jws, at)?.into_owned()),
                            None => Content::Text(String::new()),
                        };
                        if tag.empty {
                            credentials.push(CredentialElement { span: tag.span.clone(), content });
                        } else {
                            reading = Some(Reading { depth: open.len(), start: at, content });
                        }
                    }
                    None => ob2 |= is_ob2_assertion(&open, &tag),
                }
                if tag.empty {
                    open.pop();
                }
                if root.is_none() {
                    root = Some(tag);
                }
            }
            Event::End { name, span } => {
                let Some(element) = open.pop() else {
                    return Err(malformed(span.start, "an end tag with no element open"));
                };
                if element.name != name {
                    return Err(malformed(span.start, "an end tag that does not match the open element"));
                }
                if let Some(done) = reading.take_if(|r| r.depth == open.len() + 1) {
                    credentials.push(CredentialElement { span: done.start..span.end, content: done.content });
                }
            }
            Event::Text { raw, at } => match &mut reading {
                Some(Reading { content: Content::Text(content), .. }) => content.push_str(&unescape(raw, at)?),
                _ if open.is_empty() && !raw.trim_ascii().is_empty() => {
                    return Err(malformed(at, "text outside the root element"));
                }
                _ => {}
            },
            Event::CData(raw) => match &mut reading {
                Some(Reading { content: Content::Text(content), .. }) => content.push_str(raw),
                _ if open.is_empty() => return Err(malformed(scanner.at, "a CDATA section outside the root element")),
                _ => {}
            },
        }
    }
    if !open.is_empty() {
        return Err(malformed(text.len(), "the document ends inside an element"));
    }
    let root = root.ok_or(SvgError::NotSvg)?;
    Ok(Document { root, credentials, ob2 })
}

pub(super) fn extract(text: &str) -> Result<Found, SvgError> {
    let document = walk(text)?;
    Ok(match document.credentials.as_slice() {
        [] if document.ob2 => Found::OpenBadges2,
        [] => Found::Nothing,
        [one] => match &one.content {
            Content::Verify(jws) => Found::Credential(jws.clone()),
            Content::Text(text) if text.len() > super::MAX_CREDENTIAL_BYTES => Found::TooLarge,
            Content::Text(text) => Found::Credential(text.clone()),
        },
        _ => Found::Several,
    })
}

/// `svg` with the credential element for `credential` (whose checked text
/// is `text`) first in the root element, and no other credential element.
pub(super) fn bake(svg: &str, credential: Embedded<'_>, text: &str) -> Result<String, SvgError> {
    let document = walk(svg)?;
    let root = &document.root;
    let declared: Vec<(&str, Cow<'_, str>)> =
        root.bindings().map(|(p, uri)| Ok((p, unescape(uri, root.span.start)?))).collect::<Result<_, SvgError>>()?;
    // The prefix the root already binds to OB 3.0, else `openbadges` (or,
    // if the root binds that to something else, the first free variant).
    let existing = declared.iter().find(|(p, uri)| !p.is_empty() && uri == OB3_NAMESPACE).map(|(p, _)| (*p).to_owned());
    let (prefix, declare) = match existing {
        Some(prefix) => (prefix, false),
        None => {
            let taken = |p: &str| declared.iter().any(|(d, _)| *d == p);
            let prefix = std::iter::once("openbadges".to_owned())
                .chain((3..).map(|n| format!("openbadges{n}")))
                .find(|p| !taken(p))
                .unwrap_or_default();
            (prefix, true)
        }
    };
    let element = match credential {
        Embedded::Json(_) => {
            format!("<{prefix}:credential><![CDATA[{}]]></{prefix}:credential>", text.replace("]]>", "]]]]><![CDATA[>"))
        }
        Embedded::Jwt(_) => format!(r#"<{prefix}:credential verify="{}"/>"#, escape(text)),
    };
    let mut out = String::with_capacity(svg.len() + element.len() + 64);
    let closing = if root.empty { 2 } else { 1 };
    out.push_str(&svg[..root.span.end - closing]);
    if declare {
        out.push_str(&format!(r#" xmlns:{prefix}="{OB3_NAMESPACE}""#));
    }
    out.push_str(">\n");
    out.push_str(&element);
    let mut at = root.span.end;
    if root.empty {
        out.push_str("\n</");
        out.push_str(root.name);
        out.push('>');
    } else {
        for old in &document.credentials {
            out.push_str(&svg[at..old.span.start]);
            at = old.span.end;
        }
    }
    out.push_str(&svg[at..]);
    Ok(out)
}

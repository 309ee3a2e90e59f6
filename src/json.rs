//! JSON helpers that never change what a signature covers: signed documents
//! are edited at the top level only, with every member's raw text kept as is
//! (numbers are not re-printed through `f64`), and pretty-printing works on
//! tokens, not on parsed values.

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;

/// A JSON object whose member values are kept as their original text.
#[derive(Debug)]
pub struct RawObject {
    members: Vec<(String, Box<RawValue>)>,
}

impl RawObject {
    /// Parses a JSON object. Duplicate member names are an error.
    pub fn parse(json: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(json)
    }

    pub fn get(&self, name: &str) -> Option<&RawValue> {
        self.members.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_ref())
    }

    /// Parses one member into a value (for small members such as `@context`).
    pub fn value(&self, name: &str) -> Option<serde_json::Value> {
        self.get(name).and_then(|raw| serde_json::from_str(raw.get()).ok())
    }

    pub fn remove(&mut self, name: &str) -> Option<Box<RawValue>> {
        let at = self.members.iter().position(|(k, _)| k == name)?;
        Some(self.members.remove(at).1)
    }

    /// Appends (or replaces in place) a member.
    pub fn set(&mut self, name: &str, value: Box<RawValue>) {
        match self.members.iter_mut().find(|(k, _)| k == name) {
            Some((_, slot)) => *slot = value,
            None => self.members.push((name.to_owned(), value)),
        }
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.members.iter().map(|(k, _)| k.as_str())
    }

    /// Compact serialisation; member values are written verbatim.
    pub fn to_vec(&self) -> Vec<u8> {
        let size: usize = self.members.iter().map(|(k, v)| k.len() + v.get().len() + 4).sum();
        let mut out = Vec::with_capacity(size + 2);
        out.push(b'{');
        for (i, (name, value)) in self.members.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            // Serialising a &str cannot fail.
            out.extend_from_slice(serde_json::to_string(name).unwrap_or_default().as_bytes());
            out.push(b':');
            out.extend_from_slice(value.get().as_bytes());
        }
        out.push(b'}');
        out
    }
}

impl<'de> serde::Deserialize<'de> for RawObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RawObjectVisitor;
        impl<'de> Visitor<'de> for RawObjectVisitor {
            type Value = RawObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawObject, A::Error> {
                let mut members: Vec<(String, Box<RawValue>)> = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    if members.iter().any(|(k, _)| *k == name) {
                        return Err(de::Error::custom(format!("the member \"{name}\" appears twice")));
                    }
                    let value: Box<RawValue> = map.next_value()?;
                    members.push((name, value));
                }
                Ok(RawObject { members })
            }
        }
        deserializer.deserialize_map(RawObjectVisitor)
    }
}

/// Re-indents JSON text token by token: strings and numbers are copied
/// exactly as written.
pub fn pretty(json: &[u8]) -> Result<String, String> {
    use json_event_parser::{JsonEvent, SliceJsonParser};
    let mut parser = SliceJsonParser::new(json);
    let mut out = String::with_capacity(json.len() * 2);
    let mut depth = 0usize;
    // True right after an opening bracket (no member/element yet).
    let mut first = true;
    let mut after_key = false;
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        (0..depth).for_each(|_| out.push_str("  "));
    };
    loop {
        let event = parser.parse_next().map_err(|e| e.message().to_owned())?;
        let is_end = matches!(event, JsonEvent::EndObject | JsonEvent::EndArray);
        if matches!(event, JsonEvent::Eof) {
            break;
        }
        if is_end {
            depth -= 1;
            if !first {
                newline(&mut out, depth);
            }
        } else if !after_key && depth > 0 {
            if !first {
                out.push(',');
            }
            newline(&mut out, depth);
        }
        after_key = false;
        first = false;
        match event {
            JsonEvent::StartObject | JsonEvent::StartArray => {
                out.push(if matches!(event, JsonEvent::StartObject) { '{' } else { '[' });
                depth += 1;
                first = true;
            }
            JsonEvent::EndObject => out.push('}'),
            JsonEvent::EndArray => out.push(']'),
            JsonEvent::ObjectKey(key) => {
                out.push_str(&serde_json::to_string(key.as_ref()).map_err(|e| e.to_string())?);
                out.push_str(": ");
                after_key = true;
            }
            JsonEvent::String(s) => out.push_str(&serde_json::to_string(s.as_ref()).map_err(|e| e.to_string())?),
            JsonEvent::Number(n) => out.push_str(&n),
            JsonEvent::Boolean(b) => out.push_str(if b { "true" } else { "false" }),
            JsonEvent::Null => out.push_str("null"),
            JsonEvent::Eof => {}
        }
    }
    out.push('\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_keep_their_exact_text_and_order() {
        let mut object =
            RawObject::parse(br#"{"b": 1.50, "a": [1e2, "x"], "c": {"d": 12345678901234567890123}}"#).unwrap();
        object.set("proof", RawValue::from_string("{\"p\":1}".into()).unwrap());
        assert_eq!(
            String::from_utf8(object.to_vec()).unwrap(),
            r#"{"b":1.50,"a":[1e2, "x"],"c":{"d": 12345678901234567890123},"proof":{"p":1}}"#
        );
    }

    #[test]
    fn duplicate_members_are_refused() {
        let err = RawObject::parse(br#"{"a":1,"a":2}"#).unwrap_err();
        assert!(err.to_string().contains("\"a\" appears twice"), "{err}");
    }

    #[test]
    fn pretty_printing_keeps_numbers_and_strings_exact() {
        let text = pretty(br#"{"a":[1.50,{}],"b":{"c":"\u00e9\n"},"d":[],"e":12345678901234567890123}"#).unwrap();
        assert_eq!(
            text,
            "{\n  \"a\": [\n    1.50,\n    {}\n  ],\n  \"b\": {\n    \"c\": \"é\\n\"\n  },\n  \"d\": [],\n  \"e\": 12345678901234567890123\n}\n"
        );
    }
}

//! The national microcredentials pilot's quality framework (kwaliteitskader)
//! as validated data, and the value types it is made of.
//!
//! Every type here is "parse, don't validate": fields are private and the only
//! ways in are `parse`, `FromStr`/`TryFrom` and `Deserialize`, which all run
//! the same checks. Field names and vocabularies follow Edubadges' badge class
//! (`badge_class_type`, `participation`, `assessment_type`, quality assurance,
//! `ECTSExtension`, `EQFExtension`, …) so that a definition maps onto an
//! Edubadges badge class one to one.
//!
//! [`MicrocredentialDefinition::parse`] reports every problem of an input at
//! once, as a [`ValidationErrors`] list of `{field, message}` pairs.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// Why a single value was refused. The message says what is wanted, without
/// naming the field: the caller knows which field it parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(String);

impl ValueError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    pub fn message(&self) -> &str {
        &self.0
    }
}

/// One problem with one field of an input.
///
/// `field` is a path into the input: `study_load`, `assessment_types[2]`,
/// `quality_assurance.url`, `learner.email`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Every problem found in an input, in field order. Serialises as
/// `{"errors": [{"field": "study_load", "message": "must be between 1 and 30 EC"}, …]}`,
/// the body the HTTP layer returns with a 4xx.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationErrors {
    errors: Vec<FieldError>,
}

impl ValidationErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError { field: field.into(), message: message.into() });
    }

    /// Adds every problem of `other`, with `prefix.` in front of its fields.
    pub fn extend_nested(&mut self, prefix: &str, other: ValidationErrors) {
        for e in other.errors {
            self.errors.push(FieldError { field: format!("{prefix}.{}", e.field), message: e.message });
        }
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn len(&self) -> usize {
        self.errors.len()
    }

    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }

    pub fn iter(&self) -> std::slice::Iter<'_, FieldError> {
        self.errors.iter()
    }

    /// Whether `field`, or a field containing it, already has a problem
    /// (`learner` covers `learner.email`).
    pub fn covers(&self, field: &str) -> bool {
        self.errors.iter().any(|e| {
            field.strip_prefix(e.field.as_str()).is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
        })
    }

    /// The message for `field`, if that field has a problem.
    pub fn message_for(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }

    /// Parses `value` (if the field is present) and records a problem under
    /// `field` when it is refused.
    pub(crate) fn check<T>(&mut self, field: &str, result: Result<T, ValueError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(field, e.0);
                None
            }
        }
    }

    pub(crate) fn required<T>(&mut self, field: &str, value: Option<T>) -> Option<T> {
        if value.is_none() {
            self.push(field, "is required");
        }
        value
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errors.len() {
            0 => f.write_str("no problems"),
            1 => write!(f, "1 problem: {}", self.errors[0]),
            n => {
                write!(f, "{n} problems: ")?;
                for (i, e) in self.errors.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ValidationErrors {}

impl<'a> IntoIterator for &'a ValidationErrors {
    type Item = &'a FieldError;
    type IntoIter = std::slice::Iter<'a, FieldError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

// ---------------------------------------------------------------------------
// Raw input helpers
// ---------------------------------------------------------------------------

/// A raw input value that may arrive as a JSON number or as text (`5`,
/// `"5"`, `"2,5"`, `"4+"`): SIS exports and CSV files disagree on which.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NumberOrText {
    Number(serde_json::Number),
    Text(String),
}

impl From<&str> for NumberOrText {
    fn from(s: &str) -> Self {
        Self::Text(s.to_owned())
    }
}

impl From<u32> for NumberOrText {
    fn from(n: u32) -> Self {
        Self::Number(n.into())
    }
}

/// `Some(trimmed)` unless absent or only whitespace: optional fields sent as
/// `""` by an SIS export mean "not given".
pub(crate) fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Implements `Display`, `AsRef<str>`, `FromStr`, `TryFrom<&str>`,
/// `TryFrom<String>`, `Serialize` and (parsing) `Deserialize` for a newtype
/// over `String` with a `parse(&str) -> Result<Self, ValueError>`.
macro_rules! text_newtype {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl ::std::str::FromStr for $name {
            type Err = $crate::domain::microcredential::ValueError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
        impl TryFrom<&str> for $name {
            type Error = $crate::domain::microcredential::ValueError;
            fn try_from(s: &str) -> Result<Self, Self::Error> {
                Self::parse(s)
            }
        }
        impl TryFrom<String> for $name {
            type Error = $crate::domain::microcredential::ValueError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }
        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(::serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use text_newtype;

// ---------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------

/// Text that is not empty after trimming, at most `MAX` characters (Unicode
/// scalar values, as Edubadges' Django `max_length` counts them), and free of
/// control characters other than tab, line feed and carriage return (which
/// Markdown needs). Leading and trailing whitespace is removed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NonEmptyText<const MAX: usize>(String);

/// A name or title: at most 255 characters, like Edubadges' `name`.
pub type Name = NonEmptyText<255>;
/// A description, criteria or other Markdown text: at most 16,384 characters,
/// like Edubadges' `description`.
pub type LongText = NonEmptyText<16384>;

impl<const MAX: usize> NonEmptyText<MAX> {
    pub const MAX_CHARS: usize = MAX;

    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ValueError::new("must not be empty"));
        }
        let count = s.chars().count();
        if count > MAX {
            return Err(ValueError::new(format!("must be at most {MAX} characters (it has {count})")));
        }
        if let Some(c) = s.chars().find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
            return Err(ValueError::new(format!("must not contain control characters (found U+{:04X})", u32::from(c))));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> fmt::Display for NonEmptyText<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<const MAX: usize> AsRef<str> for NonEmptyText<MAX> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> FromStr for NonEmptyText<MAX> {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl<const MAX: usize> TryFrom<&str> for NonEmptyText<MAX> {
    type Error = ValueError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl<const MAX: usize> Serialize for NonEmptyText<MAX> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de, const MAX: usize> Deserialize<'de> for NonEmptyText<MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------
// Study load, levels
// ---------------------------------------------------------------------------

/// Study load in EC (ECTS credits). The pilot allows 1 to 30 EC; like
/// Edubadges' `ECTSExtension` at most one decimal is kept. Stored exactly, in
/// tenths of an EC, so `2.5` is never `2.4999…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StudyLoad {
    tenths: u16,
}

impl StudyLoad {
    pub const MIN: StudyLoad = StudyLoad { tenths: 10 };
    pub const MAX: StudyLoad = StudyLoad { tenths: 300 };

    const RANGE_MESSAGE: &'static str = "must be between 1 and 30 EC";

    /// Parses decimal text: `"5"`, `"2.5"`, `"2,5"` (Dutch decimal comma),
    /// `"2.50"`. More than one significant decimal is refused, not rounded.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        let not_a_number = || ValueError::new("must be a number of EC, like 5 or 2.5");
        let unsigned = s.strip_prefix('+').unwrap_or(s);
        if let Some(rest) = unsigned.strip_prefix('-') {
            // A well-formed negative number is out of range, not malformed.
            return if Self::split_decimal(rest).is_some() {
                Err(ValueError::new(Self::RANGE_MESSAGE))
            } else {
                Err(not_a_number())
            };
        }
        let (whole, fraction) = Self::split_decimal(unsigned).ok_or_else(not_a_number)?;
        let fraction = fraction.trim_end_matches('0');
        if fraction.len() > 1 {
            return Err(ValueError::new("must have at most one decimal, like 2.5"));
        }
        let whole = whole.trim_start_matches('0');
        if whole.len() > 3 {
            return Err(ValueError::new(Self::RANGE_MESSAGE));
        }
        let whole: u16 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| not_a_number())? };
        let tenth: u16 = fraction.parse().unwrap_or(0);
        Self::from_tenths(whole * 10 + tenth)
    }

    /// `("2", "5")` for `"2.5"`; `None` unless digits with an optional
    /// `.`/`,` and more digits.
    fn split_decimal(s: &str) -> Option<(&str, &str)> {
        let (whole, fraction) = match s.find(['.', ',']) {
            Some(i) => (&s[..i], &s[i + 1..]),
            None => (s, ""),
        };
        let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
            return None;
        }
        if s.contains(['.', ',']) && fraction.is_empty() {
            return None;
        }
        Some((whole, fraction))
    }

    /// From a JSON number. The number's shortest decimal form is what counts:
    /// `2.5` is accepted, `2.55` is refused.
    pub fn from_f64(value: f64) -> Result<Self, ValueError> {
        if !value.is_finite() {
            return Err(ValueError::new("must be a number of EC, like 5 or 2.5"));
        }
        // Rust prints the shortest text that reads back as the same f64,
        // never in exponent form, so this is the number the client wrote.
        Self::parse(&format!("{value}"))
    }

    pub fn from_tenths(tenths: u16) -> Result<Self, ValueError> {
        if (Self::MIN.tenths..=Self::MAX.tenths).contains(&tenths) {
            Ok(Self { tenths })
        } else {
            Err(ValueError::new(Self::RANGE_MESSAGE))
        }
    }

    fn from_raw(raw: &NumberOrText) -> Result<Self, ValueError> {
        match raw {
            NumberOrText::Number(n) => match n.as_f64() {
                Some(f) => Self::from_f64(f),
                None => Err(ValueError::new(Self::RANGE_MESSAGE)),
            },
            NumberOrText::Text(t) => Self::parse(t),
        }
    }

    pub fn tenths(self) -> u16 {
        self.tenths
    }

    /// The nearest `f64`, which prints back as the same decimal (`2.5`).
    pub fn as_f64(self) -> f64 {
        f64::from(self.tenths) / 10.0
    }

    /// A JSON number written like [`Display`](fmt::Display): `5` for whole EC,
    /// `2.5` otherwise.
    pub fn to_json_number(self) -> serde_json::Number {
        if self.tenths.is_multiple_of(10) {
            serde_json::Number::from(self.tenths / 10)
        } else {
            // Finite by construction, so `from_f64` always succeeds.
            serde_json::Number::from_f64(self.as_f64()).unwrap_or_else(|| serde_json::Number::from(0))
        }
    }
}

impl fmt::Display for StudyLoad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.tenths % 10 {
            0 => write!(f, "{}", self.tenths / 10),
            t => write!(f, "{}.{t}", self.tenths / 10),
        }
    }
}

impl FromStr for StudyLoad {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<f64> for StudyLoad {
    type Error = ValueError;
    fn try_from(v: f64) -> Result<Self, Self::Error> {
        Self::from_f64(v)
    }
}

impl Serialize for StudyLoad {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json_number().serialize(s)
    }
}

impl<'de> Deserialize<'de> for StudyLoad {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::from_raw(&NumberOrText::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A level of the European Qualifications Framework, 1 to 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EqfLevel(u8);

impl EqfLevel {
    const MESSAGE: &'static str = "must be an EQF level from 1 to 8";

    pub fn new(level: u8) -> Result<Self, ValueError> {
        if (1..=8).contains(&level) { Ok(Self(level)) } else { Err(ValueError::new(Self::MESSAGE)) }
    }

    pub fn parse(s: &str) -> Result<Self, ValueError> {
        s.trim().parse::<u8>().map_err(|_| ValueError::new(Self::MESSAGE)).and_then(Self::new)
    }

    fn from_raw(raw: &NumberOrText) -> Result<Self, ValueError> {
        match raw {
            NumberOrText::Number(n) => match n.as_u64().and_then(|n| u8::try_from(n).ok()) {
                Some(level) => Self::new(level),
                None => Err(ValueError::new(Self::MESSAGE)),
            },
            NumberOrText::Text(t) => Self::parse(t),
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl fmt::Display for EqfLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for EqfLevel {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<u8> for EqfLevel {
    type Error = ValueError;
    fn try_from(level: u8) -> Result<Self, Self::Error> {
        Self::new(level)
    }
}

impl Serialize for EqfLevel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.0)
    }
}

impl<'de> Deserialize<'de> for EqfLevel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::from_raw(&NumberOrText::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A level of the Dutch Qualifications Framework (NLQF): the entry level
/// ("instroomniveau"), 1 to 8, or the intermediate level 4+.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NlqfLevel(Nlqf);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Nlqf {
    Entry,
    Level(u8),
    FourPlus,
}

impl NlqfLevel {
    const MESSAGE: &'static str = "must be an NLQF level: entry, 1 to 8, or 4+";

    /// Accepts `"entry"` (also `"instroom"`, `"instroomniveau"`), `"1"`…`"8"`
    /// and `"4+"`, in any case and with surrounding spaces.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim().to_ascii_lowercase();
        let level = match s.as_str() {
            "entry" | "instroom" | "instroomniveau" => Nlqf::Entry,
            "4+" => Nlqf::FourPlus,
            _ => match s.parse::<u8>() {
                Ok(n @ 1..=8) => Nlqf::Level(n),
                _ => return Err(ValueError::new(Self::MESSAGE)),
            },
        };
        Ok(Self(level))
    }

    fn from_raw(raw: &NumberOrText) -> Result<Self, ValueError> {
        match raw {
            NumberOrText::Number(n) => match n.as_u64() {
                Some(n @ 1..=8) => Ok(Self(Nlqf::Level(n as u8))),
                _ => Err(ValueError::new(Self::MESSAGE)),
            },
            NumberOrText::Text(t) => Self::parse(t),
        }
    }

    /// The level as NLQF writes it: `"entry"`, `"1"`…`"8"`, `"4+"`.
    pub fn code(self) -> String {
        match self.0 {
            Nlqf::Entry => "entry".to_owned(),
            Nlqf::Level(n) => n.to_string(),
            Nlqf::FourPlus => "4+".to_owned(),
        }
    }

    /// "NLQF level 6", "NLQF level 4+", "NLQF entry level".
    pub fn label_en(self) -> String {
        match self.0 {
            Nlqf::Entry => "NLQF entry level".to_owned(),
            _ => format!("NLQF level {}", self.code()),
        }
    }

    /// "NLQF-niveau 6", "NLQF-niveau 4+", "NLQF-instroomniveau".
    pub fn label_nl(self) -> String {
        match self.0 {
            Nlqf::Entry => "NLQF-instroomniveau".to_owned(),
            _ => format!("NLQF-niveau {}", self.code()),
        }
    }
}

impl fmt::Display for NlqfLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code())
    }
}

impl FromStr for NlqfLevel {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for NlqfLevel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.code())
    }
}

impl<'de> Deserialize<'de> for NlqfLevel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::from_raw(&NumberOrText::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------
// Codes, languages, URLs
// ---------------------------------------------------------------------------

/// A Dutch institution code (BRIN, "Basisregistratie Instellingen"): two
/// digits and two letters, e.g. `21PB`. Lowercase input is upper-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Brin(String);

impl Brin {
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        if b.len() == 4 && b[..2].iter().all(u8::is_ascii_digit) && b[2..].iter().all(u8::is_ascii_uppercase) {
            Ok(Self(s))
        } else {
            Err(ValueError::new("must be a BRIN code: 2 digits and 2 letters, like 21PB"))
        }
    }
}
text_newtype!(Brin);

/// A language tag in the shape OB 3.0's `inLanguage` allows (BCP 47
/// language, optional script, optional region: `nl`, `en`, `nl-NL`,
/// `zh-Hant-TW`, `es-419`), normalised to the conventional case. Edubadges'
/// `nl_NL` form is accepted and written `nl-NL`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LanguageTag(String);

impl LanguageTag {
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let invalid = || ValueError::new("must be a language tag like nl, en or nl-NL");
        let s = s.trim().replace('_', "-");
        let mut parts = s.split('-');
        let language = parts.next().filter(|l| (2..=3).contains(&l.len())).ok_or_else(invalid)?;
        if !language.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(invalid());
        }
        let mut tag = language.to_ascii_lowercase();
        let mut rest: Vec<&str> = parts.collect();
        if let Some(script) = rest.first().filter(|p| p.len() == 4 && p.bytes().all(|b| b.is_ascii_alphabetic())) {
            tag.push('-');
            tag.push_str(&script[..1].to_ascii_uppercase());
            tag.push_str(&script[1..].to_ascii_lowercase());
            rest.remove(0);
        }
        match rest.as_slice() {
            [] => {}
            [region] if region.len() == 2 && region.bytes().all(|b| b.is_ascii_alphabetic()) => {
                tag.push('-');
                tag.push_str(&region.to_ascii_uppercase());
            }
            [region] if region.len() == 3 && region.bytes().all(|b| b.is_ascii_digit()) => {
                tag.push('-');
                tag.push_str(region);
            }
            _ => return Err(invalid()),
        }
        Ok(Self(tag))
    }

    /// The primary language subtag: `nl` for `nl-NL`.
    pub fn language(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }
}
text_newtype!(LanguageTag);

/// An absolute `https` URL (any IRI that [`oxiri`] accepts).
///
/// Plain `http` is refused except on loopback hosts (`localhost`,
/// `127.0.0.0/8`, `[::1]`), so that a development instance on
/// `http://127.0.0.1:8080` works while nothing public can point a credential
/// at a link anyone on the path could rewrite. User names and passwords in the
/// URL are refused (they would be published in every credential). The scheme
/// and host are lower-cased; the rest is kept as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HttpsUrl(String);

impl HttpsUrl {
    pub const MAX_LEN: usize = 2048;

    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        let absolute = || ValueError::new("must be an absolute https URL, like https://example.edu/page");
        if s.len() > Self::MAX_LEN {
            return Err(ValueError::new(format!("must be at most {} characters long", Self::MAX_LEN)));
        }
        let iri = oxiri::Iri::parse(s).map_err(|_| absolute())?;
        let scheme = iri.scheme().to_ascii_lowercase();
        let authority = iri.authority().filter(|a| !a.is_empty()).ok_or_else(absolute)?;
        if authority.contains('@') {
            return Err(ValueError::new("must not contain a user name or password"));
        }
        let authority = authority.to_lowercase();
        let host = host_of(&authority);
        if host.is_empty() {
            return Err(absolute());
        }
        match scheme.as_str() {
            "https" => {}
            "http" if is_loopback(host) => {}
            "http" => {
                return Err(ValueError::new("must use https (plain http is only allowed for localhost)"));
            }
            _ => return Err(absolute()),
        }
        let mut url = format!("{scheme}://{authority}{}", iri.path());
        if let Some(q) = iri.query() {
            url.push('?');
            url.push_str(q);
        }
        if let Some(f) = iri.fragment() {
            url.push('#');
            url.push_str(f);
        }
        Ok(Self(url))
    }
}
text_newtype!(HttpsUrl);

fn host_of(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority.find(']').map_or(authority, |i| &authority[..=i]);
    }
    authority.rsplit_once(':').map_or(authority, |(host, _port)| host)
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host == "[::1]" || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// A CROHO or CREBO code of an education programme (Edubadges'
/// `EducationProgramIdentifierExtension`): digits only, at most 10.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EducationProgramIdentifier(String);

impl EducationProgramIdentifier {
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        if !s.is_empty() && s.len() <= 10 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ValueError::new("must be a CROHO or CREBO code: 1 to 10 digits, like 34479"))
        }
    }

    fn from_raw(raw: &NumberOrText) -> Result<Self, ValueError> {
        match raw {
            NumberOrText::Number(n) if n.is_u64() => Self::parse(&n.to_string()),
            NumberOrText::Number(_) => {
                Err(ValueError::new("must be a CROHO or CREBO code: 1 to 10 digits, like 34479"))
            }
            NumberOrText::Text(t) => Self::parse(t),
        }
    }
}
text_newtype!(EducationProgramIdentifier);

// ---------------------------------------------------------------------------
// Vocabularies
// ---------------------------------------------------------------------------

/// Declares a closed vocabulary with stable snake_case wire names, English
/// and Dutch labels, `ALL`, `as_str`, `Display`, `FromStr` (naming every
/// allowed value when refusing one) and serde.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, $en:literal, $nl:literal; )+
        }
        $( aliases { $( $alias:literal => $target:ident ),+ } )?
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in the order of the vocabulary.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire,)+ }
            }

            /// A short English label for pages.
            pub fn label_en(self) -> &'static str {
                match self { $($name::$variant => $en,)+ }
            }

            /// A short Dutch label for pages.
            pub fn label_nl(self) -> &'static str {
                match self { $($name::$variant => $nl,)+ }
            }

            /// Parses a wire name, in any case.
            pub fn parse(s: &str) -> Result<Self, ValueError> {
                // Case-insensitive: CSV exports write "Online" as often as "online".
                let t = s.trim();
                $( if t.eq_ignore_ascii_case($wire) { return Ok($name::$variant); } )+
                $( $( if t.eq_ignore_ascii_case($alias) { return Ok($name::$target); } )+ )?
                let allowed: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                Err(ValueError::new(format!(
                    concat!("unknown ", $what, " \"{}\"; allowed: {}"),
                    t,
                    allowed.join(", ")
                )))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ValueError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

vocabulary! {
    /// Edubadges' `badge_class_type`.
    AchievementKind, "kind" {
        MicroCredential = "micro_credential", "Microcredential", "Microcredential";
        Regular = "regular", "Regular education", "Regulier onderwijs";
        ExtraCurricular = "extra_curricular", "Extracurricular activity", "Extracurriculaire activiteit";
    }
}

vocabulary! {
    /// How the learning outcomes were assessed: Edubadges' `assessment_type`
    /// vocabulary. Edubadges spells the oral exam `oram_exam`; zegel writes
    /// `oral_exam`, accepts both, and gives Edubadges its own spelling through
    /// [`AssessmentType::edubadges_code`].
    AssessmentType, "assessment type" {
        WrittenExam = "written_exam", "Written exam", "Schriftelijk tentamen";
        ReportPaper = "report_paper", "Report or paper", "Rapport of paper";
        BehaviouralAssessment = "behavioural_assessment", "Behavioural assessment", "Gedragsassessment";
        ProfessionalProduct = "professional_product", "Professional product", "Beroepsproduct";
        DevelopmentReport = "development_report", "Development or reflection report", "Ontwikkel- of reflectieverslag";
        PortfolioAssessment = "portfolio_assessment", "Portfolio assessment", "Portfolio-assessment";
        OralExam = "oral_exam", "Presentation or oral exam", "Presentatie of mondeling examen";
        PersonalizedAssessment = "personalized_assessment", "Personalised assessment", "Gepersonaliseerde toetsing";
    }
    aliases { "oram_exam" => OralExam }
}

impl AssessmentType {
    /// The value Edubadges stores for this type (`oram_exam` for the oral
    /// exam, sic).
    pub fn edubadges_code(self) -> &'static str {
        match self {
            AssessmentType::OralExam => "oram_exam",
            other => other.as_str(),
        }
    }
}

vocabulary! {
    /// How the learner took part: Edubadges' `participation` vocabulary.
    ParticipationType, "participation type" {
        Online = "online", "Online", "Online";
        Onsite = "onsite", "On-site", "Op locatie";
        Blended = "blended", "Blended", "Blended";
        WorkExperience = "work_experience", "Work experience", "Werkervaring";
    }
}

vocabulary! {
    /// How the assessment was supervised.
    SupervisionType, "supervision type" {
        Unsupervised = "unsupervised", "Unsupervised", "Zonder toezicht";
        SupervisedOnline = "supervised_online", "Supervised online (proctored)", "Online onder toezicht";
        SupervisedOnsite = "supervised_onsite", "Supervised on-site", "Op locatie onder toezicht";
    }
}

impl SupervisionType {
    /// Edubadges' `assessment_supervised` flag.
    pub fn edubadges_assessment_supervised(self) -> bool {
        self != SupervisionType::Unsupervised
    }
}

// ---------------------------------------------------------------------------
// Parts of a definition
// ---------------------------------------------------------------------------

/// The quality assurance behind a microcredential (Edubadges'
/// `quality_assurance_name`, `_url`, `_description`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QualityAssurance {
    pub name: Name,
    pub url: HttpsUrl,
    pub description: LongText,
}

/// The awarding institution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Institution {
    pub name: Name,
    pub brin: Brin,
}

/// An alignment to an educational framework beyond EQF, NLQF and quality
/// assurance (Edubadges' `alignments`, fewer than 8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlignmentDefinition {
    pub target_name: Name,
    pub target_url: HttpsUrl,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_code: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_framework: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_description: Option<LongText>,
}

/// Raw quality assurance, as received.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QualityAssuranceInput {
    pub name: Option<String>,
    pub url: Option<String>,
    pub description: Option<String>,
}

/// Raw institution, as received.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InstitutionInput {
    pub name: Option<String>,
    pub brin: Option<String>,
}

/// Raw alignment, as received.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlignmentInput {
    pub target_name: Option<String>,
    pub target_url: Option<String>,
    pub target_code: Option<String>,
    pub target_framework: Option<String>,
    pub target_description: Option<String>,
}

/// A microcredential (or other achievement) definition as received from the
/// admin API, a CSV row or an OOAPI mapping: every field optional and raw, so
/// that [`MicrocredentialDefinition::parse`] can report all problems at once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MicrocredentialDefinitionInput {
    /// `micro_credential`, `regular` or `extra_curricular`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    /// Markdown: what a learner must do to earn it.
    pub criteria: Option<String>,
    pub learning_outcomes: Option<Vec<String>>,
    /// Study load in EC, as a number or text.
    #[serde(rename = "ects")]
    pub study_load: Option<NumberOrText>,
    pub eqf_level: Option<NumberOrText>,
    pub nlqf_level: Option<NumberOrText>,
    #[serde(rename = "assessment_type")]
    pub assessment_types: Option<Vec<String>>,
    /// One or more of Edubadges' participation values.
    #[serde(rename = "participation_type")]
    pub participation: Option<Vec<String>>,
    pub identity_checked: Option<bool>,
    /// Whether the assessment was supervised (Edubadges' `assessment_supervised`).
    pub assessment_supervised: Option<bool>,
    /// Optionally, how: `supervised_onsite`, `supervised_online` or `unsupervised`.
    #[serde(rename = "supervision_type")]
    pub supervision: Option<String>,
    pub quality_assurance: Option<QualityAssuranceInput>,
    pub language: Option<String>,
    pub institution: Option<InstitutionInput>,
    pub image: Option<String>,
    pub education_program_identifiers: Option<Vec<NumberOrText>>,
    pub tags: Option<Vec<String>>,
    pub validity_days: Option<NumberOrText>,
    pub alignments: Option<Vec<AlignmentInput>>,
}

/// A validated achievement definition. For kind
/// [`AchievementKind::MicroCredential`] every field of the pilot's quality
/// framework is present (see `design.md`, "The quality framework, as data");
/// for `regular` and `extra_curricular` those fields are optional, as in
/// Edubadges, but valid when given.
///
/// Always required: kind, name, description, criteria and language (Edubadges
/// requires a language for every badge class; OB 3.0 requires name,
/// description and criteria of every Achievement).
/// Serialises with the field names of [`MicrocredentialDefinitionInput`], and
/// deserialises through [`MicrocredentialDefinition::parse`], so a stored
/// definition is validated again when loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "MicrocredentialDefinitionInput")]
pub struct MicrocredentialDefinition {
    #[serde(rename = "type")]
    kind: AchievementKind,
    name: Name,
    description: LongText,
    criteria: LongText,
    learning_outcomes: Vec<LongText>,
    #[serde(rename = "ects")]
    study_load: Option<StudyLoad>,
    eqf_level: Option<EqfLevel>,
    nlqf_level: Option<NlqfLevel>,
    #[serde(rename = "assessment_type")]
    assessment_types: Vec<AssessmentType>,
    #[serde(rename = "participation_type")]
    participation: Vec<ParticipationType>,
    identity_checked: Option<bool>,
    assessment_supervised: Option<bool>,
    #[serde(rename = "supervision_type")]
    supervision: Option<SupervisionType>,
    quality_assurance: Option<QualityAssurance>,
    language: LanguageTag,
    institution: Option<Institution>,
    image: Option<HttpsUrl>,
    education_program_identifiers: Vec<EducationProgramIdentifier>,
    tags: Vec<Name>,
    validity_days: Option<u32>,
    alignments: Vec<AlignmentDefinition>,
}

impl TryFrom<MicrocredentialDefinitionInput> for MicrocredentialDefinition {
    type Error = ValidationErrors;

    fn try_from(input: MicrocredentialDefinitionInput) -> Result<Self, Self::Error> {
        Self::parse(input)
    }
}

impl MicrocredentialDefinition {
    /// Fewer than 8 extra alignments, like Edubadges.
    pub const MAX_ALIGNMENTS: usize = 7;
    /// A validity period of at most 100 years.
    pub const MAX_VALIDITY_DAYS: u32 = 36_525;

    /// Validates `input`, listing every problem found.
    pub fn parse(input: MicrocredentialDefinitionInput) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let e = &mut errors;

        let kind = match given(&input.kind) {
            Some(k) => e.check("type", AchievementKind::parse(k)),
            None => {
                e.push("type", "is required (micro_credential, regular or extra_curricular)");
                None
            }
        };
        // The strict rules apply only when the kind is known to be a
        // microcredential; an unknown kind is already an error of its own.
        let micro = kind == Some(AchievementKind::MicroCredential);

        let name = text::<255>(e, "name", &input.name, true);
        let description = text::<16384>(e, "description", &input.description, true);
        let criteria = text::<16384>(e, "criteria", &input.criteria, true);

        let learning_outcomes = match &input.learning_outcomes {
            Some(items) => {
                let parsed = list(e, "learning_outcomes", items, |s| LongText::parse(s));
                if items.is_empty() && micro {
                    e.push("learning_outcomes", "must list at least one learning outcome");
                }
                parsed
            }
            None => {
                if micro {
                    e.push("learning_outcomes", "is required: at least one learning outcome");
                }
                Vec::new()
            }
        };

        let study_load = optional_raw(e, "ects", &input.study_load, micro, StudyLoad::from_raw);
        let eqf_level = optional_raw(e, "eqf_level", &input.eqf_level, micro, EqfLevel::from_raw);
        let nlqf_level = optional_raw(e, "nlqf_level", &input.nlqf_level, false, NlqfLevel::from_raw);

        let assessment_types = match &input.assessment_types {
            Some(items) => {
                let parsed = list(e, "assessment_type", items, |s| AssessmentType::parse(s));
                if items.is_empty() && micro {
                    e.push("assessment_type", "must list at least one assessment type");
                }
                parsed
            }
            None => {
                if micro {
                    e.push("assessment_type", "is required: at least one assessment type");
                }
                Vec::new()
            }
        };

        let participation = match &input.participation {
            Some(items) => {
                let parsed = list(e, "participation_type", items, |s| ParticipationType::parse(s));
                if items.is_empty() && micro {
                    e.push("participation_type", "must list at least one participation type");
                }
                parsed
            }
            None => {
                if micro {
                    e.push("participation_type", "is required: at least one participation type");
                }
                Vec::new()
            }
        };
        let identity_checked = input.identity_checked;
        if micro && identity_checked.is_none() {
            e.push("identity_checked", "is required (true or false)");
        }
        let supervision = optional_text(e, "supervision_type", &input.supervision, false, SupervisionType::parse);
        // The detail implies the yes/no; both given must agree.
        let assessment_supervised = match (input.assessment_supervised, supervision) {
            (Some(supervised), Some(detail)) if supervised != detail.edubadges_assessment_supervised() => {
                e.push(
                    "supervision_type",
                    format!("{} contradicts assessment_supervised: {supervised}", detail.as_str()),
                );
                None
            }
            (Some(supervised), _) => Some(supervised),
            (None, Some(detail)) => Some(detail.edubadges_assessment_supervised()),
            (None, None) => {
                if micro {
                    e.push("assessment_supervised", "is required (true or false)");
                }
                None
            }
        };

        let quality_assurance = match &input.quality_assurance {
            Some(qa) => {
                let name = text::<255>(e, "quality_assurance.name", &qa.name, true);
                let url = optional_text(e, "quality_assurance.url", &qa.url, true, HttpsUrl::parse);
                let description = text::<16384>(e, "quality_assurance.description", &qa.description, true);
                match (name, url, description) {
                    (Some(name), Some(url), Some(description)) => Some(QualityAssurance { name, url, description }),
                    _ => None,
                }
            }
            None => {
                if micro {
                    e.push("quality_assurance", "is required (name, url and description)");
                }
                None
            }
        };

        let language = optional_text(e, "language", &input.language, true, LanguageTag::parse);

        let institution = match &input.institution {
            Some(i) => {
                let name = text::<255>(e, "institution.name", &i.name, true);
                let brin = optional_text(e, "institution.brin", &i.brin, true, Brin::parse);
                name.zip(brin).map(|(name, brin)| Institution { name, brin })
            }
            None => {
                if micro {
                    e.push("institution", "is required (name and BRIN code)");
                }
                None
            }
        };

        let image = optional_text(e, "image", &input.image, false, HttpsUrl::parse);

        let education_program_identifiers = match &input.education_program_identifiers {
            Some(items) => list(e, "education_program_identifiers", items, EducationProgramIdentifier::from_raw),
            None => Vec::new(),
        };

        let tags = match &input.tags {
            Some(items) => list(e, "tags", items, |s| Name::parse(s)),
            None => Vec::new(),
        };

        let validity_days = input.validity_days.as_ref().and_then(|raw| {
            let message = format!("must be a whole number of days from 1 to {}", Self::MAX_VALIDITY_DAYS);
            let days = match raw {
                NumberOrText::Number(n) => n.as_u64(),
                NumberOrText::Text(t) => t.trim().parse::<u64>().ok(),
            };
            match days.and_then(|d| u32::try_from(d).ok()).filter(|d| (1..=Self::MAX_VALIDITY_DAYS).contains(d)) {
                Some(d) => Some(d),
                None => {
                    e.push("validity_days", message);
                    None
                }
            }
        });

        let alignments = match &input.alignments {
            Some(items) => {
                if items.len() > Self::MAX_ALIGNMENTS {
                    e.push(
                        "alignments",
                        format!("must have at most {} entries (it has {})", Self::MAX_ALIGNMENTS, items.len()),
                    );
                }
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, a)| {
                        let at = |f: &str| format!("alignments[{i}].{f}");
                        let target_name = text::<255>(e, &at("target_name"), &a.target_name, true);
                        let target_url = optional_text(e, &at("target_url"), &a.target_url, true, HttpsUrl::parse);
                        let target_code = text::<255>(e, &at("target_code"), &a.target_code, false);
                        let target_framework = text::<255>(e, &at("target_framework"), &a.target_framework, false);
                        let target_description =
                            text::<16384>(e, &at("target_description"), &a.target_description, false);
                        Some(AlignmentDefinition {
                            target_name: target_name?,
                            target_url: target_url?,
                            target_code,
                            target_framework,
                            target_description,
                        })
                    })
                    .collect()
            }
            None => Vec::new(),
        };

        match (kind, name, description, criteria, language) {
            (Some(kind), Some(name), Some(description), Some(criteria), Some(language)) if errors.is_empty() => {
                Ok(Self {
                    kind,
                    name,
                    description,
                    criteria,
                    learning_outcomes,
                    study_load,
                    eqf_level,
                    nlqf_level,
                    assessment_types,
                    participation,
                    identity_checked,
                    assessment_supervised,
                    supervision,
                    quality_assurance,
                    language,
                    institution,
                    image,
                    education_program_identifiers,
                    tags,
                    validity_days,
                    alignments,
                })
            }
            // Every missing required value above has recorded its error.
            _ => Err(errors),
        }
    }

    pub fn kind(&self) -> AchievementKind {
        self.kind
    }

    pub fn is_micro_credential(&self) -> bool {
        self.kind == AchievementKind::MicroCredential
    }

    pub fn name(&self) -> &Name {
        &self.name
    }

    pub fn description(&self) -> &LongText {
        &self.description
    }

    pub fn criteria(&self) -> &LongText {
        &self.criteria
    }

    pub fn learning_outcomes(&self) -> &[LongText] {
        &self.learning_outcomes
    }

    /// Always `Some` for a microcredential.
    pub fn study_load(&self) -> Option<StudyLoad> {
        self.study_load
    }

    /// Always `Some` for a microcredential.
    pub fn eqf_level(&self) -> Option<EqfLevel> {
        self.eqf_level
    }

    pub fn nlqf_level(&self) -> Option<NlqfLevel> {
        self.nlqf_level
    }

    /// At least one, without duplicates, for a microcredential.
    pub fn assessment_types(&self) -> &[AssessmentType] {
        &self.assessment_types
    }

    /// At least one, without duplicates, for a microcredential.
    pub fn participation(&self) -> &[ParticipationType] {
        &self.participation
    }

    /// Always `Some` for a microcredential.
    pub fn identity_checked(&self) -> Option<bool> {
        self.identity_checked
    }

    /// Always `Some` for a microcredential.
    pub fn assessment_supervised(&self) -> Option<bool> {
        self.assessment_supervised
    }

    /// How the assessment was supervised, when the definition says.
    pub fn supervision(&self) -> Option<SupervisionType> {
        self.supervision
    }

    /// Always `Some` for a microcredential.
    pub fn quality_assurance(&self) -> Option<&QualityAssurance> {
        self.quality_assurance.as_ref()
    }

    pub fn language(&self) -> &LanguageTag {
        &self.language
    }

    /// Always `Some` for a microcredential.
    pub fn institution(&self) -> Option<&Institution> {
        self.institution.as_ref()
    }

    pub fn image(&self) -> Option<&HttpsUrl> {
        self.image.as_ref()
    }

    pub fn education_program_identifiers(&self) -> &[EducationProgramIdentifier] {
        &self.education_program_identifiers
    }

    pub fn tags(&self) -> &[Name] {
        &self.tags
    }

    /// How many days an award stays valid, if it expires (Edubadges'
    /// `expiration_period`).
    pub fn validity_days(&self) -> Option<u32> {
        self.validity_days
    }

    /// When an award made at `awarded` expires. Counted from the original
    /// award, so a reissue does not extend the validity.
    pub fn valid_until(&self, awarded: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.validity_days.and_then(|d| awarded.checked_add_signed(Duration::days(i64::from(d))))
    }

    pub fn alignments(&self) -> &[AlignmentDefinition] {
        &self.alignments
    }
}

/// Required (`required`) or optional text of at most `MAX` characters.
fn text<const MAX: usize>(
    e: &mut ValidationErrors,
    field: &str,
    value: &Option<String>,
    required: bool,
) -> Option<NonEmptyText<MAX>> {
    match value {
        // A required field sent as "" gets "must not be empty", an optional
        // one counts as not given.
        Some(s) if required || !s.trim().is_empty() => e.check(field, NonEmptyText::parse(s)),
        _ if required => e.required(field, None),
        _ => None,
    }
}

/// Optional (or, with `required`, required) text parsed by `parse`.
fn optional_text<T>(
    e: &mut ValidationErrors,
    field: &str,
    value: &Option<String>,
    required: bool,
    parse: impl Fn(&str) -> Result<T, ValueError>,
) -> Option<T> {
    match given(value) {
        Some(s) => e.check(field, parse(s)),
        None if required => e.required(field, None),
        None => None,
    }
}

fn optional_raw<T>(
    e: &mut ValidationErrors,
    field: &str,
    value: &Option<NumberOrText>,
    required: bool,
    parse: impl Fn(&NumberOrText) -> Result<T, ValueError>,
) -> Option<T> {
    match value {
        Some(NumberOrText::Text(t)) if t.trim().is_empty() && !required => None,
        Some(raw) => e.check(field, parse(raw)),
        None if required => e.required(field, None),
        None => None,
    }
}

/// Parses every item, recording problems as `field[i]`, and refuses
/// duplicates (after normalisation).
fn list<R, T: PartialEq>(
    e: &mut ValidationErrors,
    field: &str,
    items: &[R],
    parse: impl Fn(&R) -> Result<T, ValueError>,
) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("{field}[{i}]");
        match parse(item) {
            Ok(v) if out.contains(&v) => e.push(at, "is listed twice"),
            Ok(v) => out.push(v),
            Err(err) => e.push(at, err.0),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn study_load_is_displayed_without_a_trailing_zero() {
        assert_eq!(StudyLoad::parse("5").map(|s| s.to_string()), Ok("5".to_owned()));
        assert_eq!(StudyLoad::parse("2.5").map(|s| s.to_string()), Ok("2.5".to_owned()));
        assert_eq!(StudyLoad::parse("2,50").map(|s| s.to_string()), Ok("2.5".to_owned()));
        assert_eq!(StudyLoad::parse("07.0").map(|s| s.tenths()), Ok(70));
    }

    #[test]
    fn study_load_refuses_malformed_text_as_not_a_number() {
        for bad in ["", "abc", "2.", ".", "1e1", "2.5.1", "--3", "2 5"] {
            let err = StudyLoad::parse(bad).expect_err(bad);
            assert!(err.message().contains("must be a number"), "{bad}: {err}");
        }
        assert_eq!(StudyLoad::parse(".5").map(|s| s.tenths()).ok(), None, "0.5 is out of range");
    }

    #[test]
    fn study_load_from_a_float_uses_its_shortest_decimal_form() {
        assert_eq!(StudyLoad::from_f64(1.1).map(|s| s.tenths()), Ok(11));
        assert!(StudyLoad::from_f64(2.499_999_999_999_999_6).is_err(), "not 2.5");
        assert!(StudyLoad::from_f64(2.55).is_err());
        assert!(StudyLoad::from_f64(f64::NAN).is_err());
        assert!(StudyLoad::from_f64(1e300).is_err());
    }

    #[test]
    fn study_load_as_a_json_number_is_an_integer_when_whole() {
        assert_eq!(StudyLoad::parse("5").map(|s| s.to_json_number().to_string()), Ok("5".to_owned()));
        assert_eq!(StudyLoad::parse("7.5").map(|s| s.to_json_number().to_string()), Ok("7.5".to_owned()));
        assert_eq!(StudyLoad::parse("1.1").map(|s| s.to_json_number().to_string()), Ok("1.1".to_owned()));
    }

    #[test]
    fn language_tags_are_normalised_to_conventional_case() {
        for (input, expected) in
            [("NL", "nl"), ("nl_nl", "nl-NL"), ("en-gb", "en-GB"), ("zh-hant-tw", "zh-Hant-TW"), ("es-419", "es-419")]
        {
            assert_eq!(LanguageTag::parse(input).map(|t| t.to_string()), Ok(expected.to_owned()), "{input}");
        }
        for bad in ["", "n", "dutch", "nl-", "nl-NLD", "nl-NL-x", "1l"] {
            assert!(LanguageTag::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn https_urls_are_required_except_on_loopback() {
        assert!(HttpsUrl::parse("https://example.edu/a?b=c#d").is_ok());
        assert_eq!(
            HttpsUrl::parse("HTTPS://Example.EDU/Path").map(|u| u.to_string()),
            Ok("https://example.edu/Path".to_owned())
        );
        for ok in ["http://localhost:8080/x", "http://127.0.0.1/x", "http://[::1]:8080/"] {
            assert!(HttpsUrl::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.edu/",
            "ftp://example.edu/",
            "/relative",
            "https://",
            "https://user:pw@example.edu/",
            "mailto:a@example.edu",
            "not a url",
        ] {
            assert!(HttpsUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn assessment_types_accept_edubadges_misspelling_of_oral_exam() {
        assert_eq!(AssessmentType::parse("oram_exam"), Ok(AssessmentType::OralExam));
        assert_eq!(AssessmentType::OralExam.as_str(), "oral_exam");
        assert_eq!(AssessmentType::OralExam.edubadges_code(), "oram_exam");
        assert_eq!(AssessmentType::WrittenExam.edubadges_code(), "written_exam");
    }

    #[test]
    fn every_vocabulary_value_round_trips_through_its_wire_name() {
        for v in AssessmentType::ALL {
            assert_eq!(AssessmentType::parse(v.as_str()), Ok(*v));
            assert!(!v.label_en().is_empty() && !v.label_nl().is_empty());
        }
        for v in ParticipationType::ALL {
            assert_eq!(ParticipationType::parse(v.as_str()), Ok(*v));
        }
        for v in SupervisionType::ALL {
            assert_eq!(SupervisionType::parse(v.as_str()), Ok(*v));
        }
        for v in AchievementKind::ALL {
            assert_eq!(AchievementKind::parse(v.as_str()), Ok(*v));
        }
    }

    #[test]
    fn validation_errors_display_lists_every_problem() {
        let mut e = ValidationErrors::new();
        e.push("a", "x");
        e.push("b[1]", "y");
        assert_eq!(e.to_string(), "2 problems: a: x; b[1]: y");
        assert_eq!(
            serde_json::to_value(&e).ok(),
            Some(serde_json::json!({"errors": [{"field": "a", "message": "x"}, {"field": "b[1]", "message": "y"}]}))
        );
    }
}
